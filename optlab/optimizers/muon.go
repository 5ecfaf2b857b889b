package optimizers

import (
	"math"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
)

// MuonConfig configures Muon. Start from DefaultMuonConfig: a zero field is
// taken as given. Each field's spec key is in its comment.
type MuonConfig struct {
	LR          float64 // lr: learning rate η of the matrix parameters
	Momentum    float64 // momentum: momentum coefficient μ
	Nesterov    bool    // nesterov: Nesterov momentum
	NSSteps     int     // ns_steps: Newton–Schulz iterations, in [1, 50]
	WeightDecay float64 // weight_decay: decoupled weight decay λ
	AdamLR      float64 // adam_lr: base learning rate of the other parameters (AdamW)
	B1          float64 // b1: AdamW's β₁
	B2          float64 // b2: AdamW's β₂
	Eps         float64 // eps: AdamW's ε
}

// DefaultMuonConfig returns the reference implementation's defaults: lr 0.02,
// μ 0.95 with Nesterov, 5 Newton–Schulz steps; AdamW at 3e-4 for the others.
func DefaultMuonConfig() MuonConfig {
	return MuonConfig{LR: 0.02, Momentum: 0.95, Nesterov: true, NSSteps: 5, AdamLR: 3e-4, B1: 0.9, B2: 0.999, Eps: 1e-8}
}

func (c *MuonConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		floatParam("momentum", &c.Momentum, "momentum coefficient μ", beta),
		boolParam("nesterov", &c.Nesterov, "Nesterov momentum"),
		intParam("ns_steps", &c.NSSteps, "Newton–Schulz iterations (at most 50)", between(1, 50)),
		weightDecayParam(&c.WeightDecay, docDecoupledWD),
		floatParam("adam_lr", &c.AdamLR, "base learning rate of the non-matrix parameters (AdamW)", positive),
		b1Param(&c.B1, docB1),
		b2Param(&c.B2, docB2),
		epsParam(&c.Eps, "AdamW's ε for the non-matrix parameters"),
	}
}

// Muon orthogonalizes the momentum of every matrix parameter (Jordan et al.
// 2024, "Muon: An optimizer for hidden layers in neural networks", as in the
// reference implementation of modded-nanogpt) and updates every other
// parameter (vectors, scalars) with AdamW at its own rate:
//
//	matrices: b = μb + g, d = g + μb (Nesterov) or b, O = NewtonSchulz₅(d/‖d‖_F), p ← p(1 − ηλ) − η·√max(1, fan_out/fan_in)·O;
//	other parameters: AdamW with rate adam_lr·η/η₀
//
// NewtonSchulz₅ iterates X ← aX + (bA + cA²)X with A = XXᵀ and
// (a, b, c) = (3.4445, −4.7750, 2.0315), ns_steps times, from
// X₀ = d/(‖d‖_F + 1e-7). η/η₀ is the schedule's factor, so schedules apply to
// both kinds of parameter.
//
// Chain: MuonUpdate.
func Muon(c MuonConfig) (*Optimizer, error) {
	return named("muon", &c, MuonUpdate{Momentum: c.Momentum, Nesterov: c.Nesterov, NSSteps: c.NSSteps,
		WeightDecay: c.WeightDecay, AdamLR: c.AdamLR, B1: c.B1, B2: c.B2, Eps: c.Eps})
}

// MuonUpdate is Muon's update; see Muon for the equations. It produces the
// final update itself. Matrices are rank-2 parameters in GoMLX's [fan_in,
// fan_out] layout; higher ranks are flattened to [d₀, d₁·d₂·…]. The AdamW branch
// is p ← p·(1 − η_adam·λ) − η_adam·m̂/(√v̂ + ε).
type MuonUpdate struct {
	Momentum    float64
	Nesterov    bool
	NSSteps     int
	WeightDecay float64
	// AdamLR is η_adam, the base rate of the non-matrix parameters.
	AdamLR, B1, B2, Eps float64
}

// Slots implements Transform: one buffer (the momentum) per matrix parameter;
// other parameters keep AdamW's two.
func (MuonUpdate) Slots() int { return 1 }

// StateSize implements StateSizer: the momentum for a parameter of rank ≥ 2,
// AdamW's two buffers for the others.
func (MuonUpdate) StateSize(dims []int) int64 {
	if len(dims) >= 2 {
		return numElems(dims)
	}
	return 2 * numElems(dims)
}

// Apply implements Transform.
func (o MuonUpdate) Apply(s *Step, u []*Node) []*Node {
	mu := s.Const(o.Momentum)
	wd := s.Const(o.WeightDecay)
	adamLR := Mul(s.Const(o.AdamLR), Div(s.LR, s.Base))
	adam := ScaleByAdam{B1: o.B1, B2: o.B2, Eps: o.Eps}
	c, epsHat := adam.corrections(s)
	return mapEach(u, func(i int, x *Node) *Node {
		p := s.Param(i)
		if x.Rank() < 2 {
			dir := adam.applyOne(s, i, x, c, epsHat)
			return Neg(Mul(adamLR, Add(dir, Mul(wd, p))))
		}
		buf := Add(Mul(mu, s.Slot("momentum_buffer", i, 0)), x)
		s.SetSlot("momentum_buffer", i, buf)
		d := buf
		if o.Nesterov {
			d = Add(x, Mul(mu, buf))
		}
		dims := x.Shape().Dimensions
		rows, cols := dims[0], x.Shape().Size()/dims[0]
		m := Reshape(d, rows, cols)
		transposed := rows > cols
		if transposed {
			m = Transpose(m, 0, 1)
		}
		m = Div(m, Add(Sqrt(ReduceAllSum(Square(m))), s.Const(1e-7)))
		ca, cb, cc := s.Const(3.4445), s.Const(-4.7750), s.Const(2.0315)
		for k := 0; k < o.NSSteps; k++ {
			a := DotProduct(m, Transpose(m, 0, 1))
			b := Add(Mul(cb, a), Mul(cc, DotProduct(a, a)))
			m = Add(Mul(ca, m), DotProduct(b, m))
		}
		if transposed {
			m = Transpose(m, 0, 1)
		}
		scale := s.Const(math.Sqrt(math.Max(1, float64(cols)/float64(rows))))
		update := Mul(Mul(s.LR, scale), Reshape(m, dims...))
		return Neg(Add(update, Mul(Mul(s.LR, wd), p)))
	})
}
