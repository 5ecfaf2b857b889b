package optimizers

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
) //nolint:revive // graph code reads like the equations.

// Transform is one gradient transformation: it maps the updates u_i (one per
// trainable variable, initially the gradients g_i) to new updates, reading and
// writing its own state through the Step. A chain of transforms ends with the
// update that is added to the parameters: p ← p + u.
//
// The notation in the doc comments: g gradient, p parameter, u incoming update,
// t the optimizer's step (1-based), η the learning rate of the step.
type Transform interface {
	// Slots is the number of per-parameter float buffers the transform keeps.
	Slots() int
	// Apply builds the graph of the transformation.
	Apply(s *Step, u []*Node) []*Node
}

// Perturber is implemented by transforms whose update needs the gradient at
// a point other than the parameters: sharpness-aware minimization (SAMUpdate)
// takes it at p + e. An optimizer whose chain holds one (at any depth of
// wrappers) needs two gradient evaluations per step: see
// Optimizer.GradientsPerStep and Optimizer.UpdateGraphWithLossFunc. The
// transform's Apply then receives the gradient at the perturbed point.
type Perturber interface {
	Transform
	// Perturb returns the point at which to take the gradient that the chain
	// receives, given the parameters and the loss gradient at them (one node per
	// trainable variable, in the update's dtype).
	Perturb(params, grads []*Node) []*Node
}

// StateSizer is implemented by transforms whose state is not a whole number of
// buffers of the parameter's shape: Shampoo's and SOAP's preconditioner
// matrices, Adafactor's row and column statistics, Muon's per-kind buffers,
// and wrappers and chains that hold such transforms. Optimizer.StateBytesFor
// uses it; for other transforms the state of a parameter is Slots() buffers of
// its shape.
type StateSizer interface {
	// StateSize returns the number of scalars of state kept for a parameter of
	// the given dimensions (scalar state shared by all parameters not included).
	StateSize(dims []int) int64
}

// stateSize is the number of state scalars t keeps for a parameter of the given
// dimensions.
func stateSize(t Transform, dims []int) int64 {
	if z, ok := t.(StateSizer); ok {
		return z.StateSize(dims)
	}
	return int64(t.Slots()) * numElems(dims)
}

// numElems is the number of elements of a tensor of the given dimensions.
func numElems(dims []int) int64 {
	n := int64(1)
	for _, d := range dims {
		n *= int64(d)
	}
	return n
}

// wrapping is a transform that applies other transforms (Chain and the
// wrappers): findPerturber looks through it.
type wrapping interface {
	inner() []Transform
}

// findPerturber returns the Perturber among ts (looking inside chains and
// wrappers), or nil.
func findPerturber(ts []Transform) Perturber {
	for _, t := range ts {
		if p, ok := t.(Perturber); ok {
			return p
		}
		if w, ok := t.(wrapping); ok {
			if p := findPerturber(w.inner()); p != nil {
				return p
			}
		}
	}
	return nil
}

// mapEach applies fn to every update.
func mapEach(u []*Node, fn func(i int, u *Node) *Node) []*Node {
	out := make([]*Node, len(u))
	for i := range u {
		out[i] = fn(i, u[i])
	}
	return out
}

// ScaleByLearningRate is the last link of most chains: u ← −η·u.
type ScaleByLearningRate struct{}

// Slots implements Transform.
func (ScaleByLearningRate) Slots() int { return 0 }

// Stackable implements Stackable.
func (ScaleByLearningRate) Stackable() bool { return true }

// Apply implements Transform.
func (ScaleByLearningRate) Apply(s *Step, u []*Node) []*Node {
	negLR := Neg(s.LR)
	return mapEach(u, func(_ int, x *Node) *Node { return Mul(negLR, x) })
}

// AddWeightDecay is coupled (L2) weight decay, added to the gradient before the
// rule sees it: u ← u + λ·p. (In Lion and LAMB it is applied after the rule's
// direction, where the papers put it.)
type AddWeightDecay struct{ Lambda float64 }

// Slots implements Transform.
func (AddWeightDecay) Slots() int { return 0 }

// Stackable implements Stackable.
func (AddWeightDecay) Stackable() bool { return true }

// Apply implements Transform.
func (w AddWeightDecay) Apply(s *Step, u []*Node) []*Node {
	if s.Zero("weight_decay", w.Lambda) {
		return u
	}
	lambda := s.Hyper("weight_decay", w.Lambda)
	return mapEach(u, func(i int, x *Node) *Node { return Add(x, Mul(lambda, s.Param(i))) })
}

// DecoupledWeightDecay is AdamW's weight decay, applied after the learning-rate
// scaling: u ← u − η·λ·p, i.e. p ← p·(1 − η·λ) + u.
type DecoupledWeightDecay struct{ Lambda float64 }

// Slots implements Transform.
func (DecoupledWeightDecay) Slots() int { return 0 }

// Stackable implements Stackable.
func (DecoupledWeightDecay) Stackable() bool { return true }

// Apply implements Transform.
func (w DecoupledWeightDecay) Apply(s *Step, u []*Node) []*Node {
	if s.Zero("weight_decay", w.Lambda) {
		return u
	}
	c := Mul(s.LR, s.Hyper("weight_decay", w.Lambda))
	return mapEach(u, func(i int, x *Node) *Node { return Sub(x, Mul(c, s.Param(i))) })
}

// ClipByValue clamps every element: u ← clip(u, −c, c)
// (torch.nn.utils.clip_grad_value_).
type ClipByValue struct{ C float64 }

// Slots implements Transform.
func (ClipByValue) Slots() int { return 0 }

// Stackable implements Stackable.
func (ClipByValue) Stackable() bool { return true }

// Apply implements Transform.
func (c ClipByValue) Apply(s *Step, u []*Node) []*Node {
	if s.Members() == 0 {
		return mapEach(u, func(_ int, x *Node) *Node { return ClipScalar(x, -c.C, c.C) })
	}
	hi := s.Hyper("clip_value", c.C)
	return mapEach(u, func(_ int, x *Node) *Node { return s.clip(x, Neg(hi), hi) })
}

// ClipByGlobalNorm rescales all updates together when their joint L2 norm exceeds
// Max, as torch.nn.utils.clip_grad_norm_ does:
//
//	n = sqrt(Σ_i ‖u_i‖²),  u ← u · min(1, Max/(n + 1e-6)).
type ClipByGlobalNorm struct{ Max float64 }

// Slots implements Transform.
func (ClipByGlobalNorm) Slots() int { return 0 }

// Stackable implements Stackable.
func (ClipByGlobalNorm) Stackable() bool { return true }

// Apply implements Transform.
func (c ClipByGlobalNorm) Apply(s *Step, u []*Node) []*Node {
	if len(u) == 0 {
		return u
	}
	var sq *Node
	for _, x := range u {
		n := s.SumAll(Square(x))
		if sq == nil {
			sq = n
		} else {
			sq = Add(sq, n)
		}
	}
	norm := Sqrt(sq)
	coef := Div(s.Hyper("clip_norm", c.Max), Add(norm, s.Const(1e-6)))
	coef = Min(coef, s.Const(1))
	return mapEach(u, func(_ int, x *Node) *Node { return Mul(x, coef) })
}

// TraceMomentum is the heavy-ball momentum of PyTorch's SGD:
//
//	b_1 = u_1,  b_t = μ·b_{t−1} + (1 − τ)·u_t   (τ: dampening)
//	u ← b_t, or with Nesterov u ← u_t + μ·b_t.
type TraceMomentum struct {
	Momentum, Dampening float64
	Nesterov            bool
}

// Slots implements Transform.
func (m TraceMomentum) Slots() int {
	if m.Momentum == 0 {
		return 0
	}
	return 1
}

// Stackable implements Stackable.
func (TraceMomentum) Stackable() bool { return true }

// Apply implements Transform.
func (m TraceMomentum) Apply(s *Step, u []*Node) []*Node {
	if s.Zero("momentum", m.Momentum) {
		return u
	}
	mu := s.Hyper("momentum", m.Momentum)
	damp := s.ToDType(OneMinus(s.Hyper64("dampening", m.Dampening)))
	if s.Members() > 0 {
		// A member without momentum steps by u itself (PyTorch ignores its
		// dampening): b_t = 0·b + 1·u.
		damp = Where(Equal(mu, ZerosLike(mu)), s.Const(1), BroadcastToShape(damp, mu.Shape()))
	}
	return mapEach(u, func(i int, x *Node) *Node {
		buf := s.Slot("momentum_buffer", i, 0)
		buf = Where(s.First, x, Add(Mul(mu, buf), Mul(damp, x)))
		s.SetSlot("momentum_buffer", i, buf)
		if m.Nesterov {
			return Add(x, Mul(mu, buf))
		}
		return buf
	})
}

// ScaleByAdagrad divides by the root of the sum of squared gradients:
//
//	G_t = G_{t−1} + u²  (G_0 = InitialAccumulator),  u ← u / (√G_t + ε).
type ScaleByAdagrad struct{ InitialAccumulator, Eps float64 }

// Slots implements Transform.
func (ScaleByAdagrad) Slots() int { return 1 }

// Stackable implements Stackable.
func (ScaleByAdagrad) Stackable() bool { return true }

// Apply implements Transform.
func (a ScaleByAdagrad) Apply(s *Step, u []*Node) []*Node {
	eps := s.Hyper("eps", a.Eps)
	noInit := s.Zero("initial_accumulator_value", a.InitialAccumulator)
	return mapEach(u, func(i int, x *Node) *Node {
		sum := s.Slot("sum", i, 0)
		if !noInit {
			g0 := s.Hyper("initial_accumulator_value", a.InitialAccumulator)
			sum = Where(s.First, BroadcastToShape(g0, sum.Shape()), sum)
		}
		sum = Add(sum, Square(x))
		s.SetSlot("sum", i, sum)
		den := Add(Sqrt(sum), eps)
		s.ObserveStepSize(i, func() *Node { return Div(s.LR, den) })
		return Div(x, den)
	})
}

// ScaleByInverseTimeStep divides by 1 + (t−1)·Decay: Adagrad's lr_decay.
type ScaleByInverseTimeStep struct{ Decay float64 }

// Slots implements Transform.
func (ScaleByInverseTimeStep) Slots() int { return 0 }

// Stackable implements Stackable.
func (ScaleByInverseTimeStep) Stackable() bool { return true }

// Apply implements Transform.
func (d ScaleByInverseTimeStep) Apply(s *Step, u []*Node) []*Node {
	if s.Zero("lr_decay", d.Decay) {
		return u
	}
	f := Add(s.Const(1), Mul(Sub(s.T, s.Const(1)), s.Hyper("lr_decay", d.Decay)))
	return mapEach(u, func(_ int, x *Node) *Node { return Div(x, f) })
}

// ScaleByRMS is RMSprop's scaling by a decaying mean of squared gradients:
//
//	v_t = ρ·v_{t−1} + (1 − ρ)·u²
//	centered: m_t = ρ·m_{t−1} + (1 − ρ)·u,  v̄ = v_t − m_t², else v̄ = v_t
//	PyTorch: u ← u / (√v̄ + ε);  Keras (EpsInside): u ← u / √(v̄ + ε).
type ScaleByRMS struct {
	Rho, Eps            float64
	Centered, EpsInside bool
}

// Slots implements Transform.
func (r ScaleByRMS) Slots() int {
	if r.Centered {
		return 2
	}
	return 1
}

// Stackable implements Stackable.
func (ScaleByRMS) Stackable() bool { return true }

// Apply implements Transform.
func (r ScaleByRMS) Apply(s *Step, u []*Node) []*Node {
	rho, eps := s.Hyper("rho", r.Rho), s.Hyper("eps", r.Eps)
	oneMinusRho := s.ToDType(OneMinus(s.Hyper64("rho", r.Rho)))
	return mapEach(u, func(i int, x *Node) *Node {
		v := Add(Mul(rho, s.Slot("square_avg", i, 0)), Mul(oneMinusRho, Square(x)))
		s.SetSlot("square_avg", i, v)
		if r.Centered {
			m := Add(Mul(rho, s.Slot("grad_avg", i, 0)), Mul(oneMinusRho, x))
			s.SetSlot("grad_avg", i, m)
			v = Sub(v, Square(m))
		}
		var den *Node
		if r.EpsInside {
			den = Sqrt(Add(v, eps))
		} else {
			den = Add(Sqrt(v), eps)
		}
		s.ObserveStepSize(i, func() *Node { return Div(s.LR, den) })
		return Div(x, den)
	})
}

// AccumulateMomentum is RMSprop's momentum buffer: b_t = μ·b_{t−1} + u, u ← b_t.
// It runs before the learning-rate scaling, as in PyTorch; Keras accumulates
// η·u instead, which is the same update while η is constant.
type AccumulateMomentum struct{ Momentum float64 }

// Slots implements Transform.
func (m AccumulateMomentum) Slots() int {
	if m.Momentum == 0 {
		return 0
	}
	return 1
}

// Stackable implements Stackable.
func (AccumulateMomentum) Stackable() bool { return true }

// Apply implements Transform.
func (m AccumulateMomentum) Apply(s *Step, u []*Node) []*Node {
	if s.Zero("momentum", m.Momentum) {
		return u
	}
	mu := s.Hyper("momentum", m.Momentum)
	return mapEach(u, func(i int, x *Node) *Node {
		b := Add(Mul(mu, s.Slot("momentum_buffer", i, 0)), x)
		s.SetSlot("momentum_buffer", i, b)
		return b
	})
}

// ScaleByAdam is Adam's direction:
//
//	m_t = β₁·m_{t−1} + (1 − β₁)·u,   v_t = β₂·v_{t−1} + (1 − β₂)·u²
//	AMSGrad: v̂max_t = max(v̂max_{t−1}, v_t) replaces v_t below
//	PyTorch: u ← (m_t / (1 − β₁ᵗ)) / (√v_t / √(1 − β₂ᵗ) + ε)
//	Keras:   u ← (√(1 − β₂ᵗ) / (1 − β₁ᵗ)) · m_t / (√v_t + ε)
//
// With BiasCorrection off the factors (1 − βᵗ) are replaced by 1.
type ScaleByAdam struct {
	B1, B2, Eps               float64
	AMSGrad, NoBiasCorrection bool
	Keras                     bool
}

// Slots implements Transform.
func (a ScaleByAdam) Slots() int {
	if a.AMSGrad {
		return 3
	}
	return 2
}

// Stackable implements Stackable.
func (ScaleByAdam) Stackable() bool { return true }

// Apply implements Transform.
//
// The bias corrections are scalars, computed once per step in float64 (in
// float32, 1 − β₂ᵗ loses about 1e-5 relative from the second step on) and
// folded into one factor c and one ε̂, so that the element-wise work after the
// moments is √v, + ε̂, ÷ and ×c:
//
//	(m/(1 − β₁ᵗ)) / (√v/√(1 − β₂ᵗ) + ε) = c·m/(√v + ε̂),  c = √(1 − β₂ᵗ)/(1 − β₁ᵗ),  ε̂ = ε·√(1 − β₂ᵗ)
//
// (Keras: ε̂ = ε.) Both forms are equal in exact arithmetic; the PyTorch
// goldens agree to 1e-10.
func (a ScaleByAdam) Apply(s *Step, u []*Node) []*Node {
	c, epsHat := a.corrections(s)
	var k *Node // √(1 − β₂ᵗ), or 1: η·k/(√v + ε̂) = η/(√v̂ + ε), the step size telemetry reports
	if s.Observing() {
		k = s.Const(1)
		if !a.NoBiasCorrection {
			k = s.ToDType(Sqrt(OneMinus(Pow(s.Hyper64("b2", a.B2), ConvertDType(s.T, dtypes.Float64)))))
		}
	}
	return mapEach(u, func(i int, x *Node) *Node {
		m, den := a.moments(s, i, x, epsHat)
		s.ObserveStepSize(i, func() *Node { return Div(Mul(s.LR, k), den) })
		return Mul(c, Div(m, den))
	})
}

// corrections returns the step's factor c and ε̂ (see Apply).
func (a ScaleByAdam) corrections(s *Step) (c, epsHat *Node) {
	c, epsHat = s.Const(1), s.Hyper("eps", a.Eps)
	if a.NoBiasCorrection {
		return c, epsHat
	}
	t := ConvertDType(s.T, dtypes.Float64)
	bc1 := OneMinus(Pow(s.Hyper64("b1", a.B1), t))
	bc2Sqrt := Sqrt(OneMinus(Pow(s.Hyper64("b2", a.B2), t)))
	c = s.ToDType(Div(bc2Sqrt, bc1))
	if !a.Keras {
		epsHat = s.ToDType(Mul(bc2Sqrt, s.Hyper64("eps", a.Eps)))
	}
	return c, epsHat
}

// applyOne is Apply for the i-th parameter alone, given the step's corrections.
func (a ScaleByAdam) applyOne(s *Step, i int, x, c, epsHat *Node) *Node {
	m, den := a.moments(s, i, x, epsHat)
	return Mul(c, Div(m, den))
}

// moments updates the i-th parameter's moments and returns m_t and the
// denominator √v_t + ε̂.
func (a ScaleByAdam) moments(s *Step, i int, x, epsHat *Node) (m, den *Node) {
	// 1 − β is computed in float64 and then rounded, as PyTorch does: in
	// float32, 1 − float32(0.999) is 1.3e-5 too small, which the float64 bias
	// correction no longer cancels (every step would be 6e-6 too large).
	b1, b2 := s.Hyper("b1", a.B1), s.Hyper("b2", a.B2)
	oneMinusB1 := s.ToDType(OneMinus(s.Hyper64("b1", a.B1)))
	oneMinusB2 := s.ToDType(OneMinus(s.Hyper64("b2", a.B2)))
	m = Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(oneMinusB1, x))
	v := Add(Mul(b2, s.Slot("exp_avg_sq", i, 0)), Mul(oneMinusB2, Square(x)))
	s.SetSlot("exp_avg", i, m)
	s.SetSlot("exp_avg_sq", i, v)
	if a.AMSGrad {
		v = Max(s.Slot("max_exp_avg_sq", i, 0), v)
		s.SetSlot("max_exp_avg_sq", i, v)
	}
	return m, Add(Sqrt(v), epsHat)
}

// ScaleByTrustRatio is LAMB's layer-wise trust ratio (You et al. 2019, "Large
// Batch Optimization for Deep Learning", Algorithm 2, φ = identity):
//
//	u ← (‖p‖/‖u‖)·u, with the ratio taken as 1 when either norm is 0.
type ScaleByTrustRatio struct{}

// Slots implements Transform.
func (ScaleByTrustRatio) Slots() int { return 0 }

// Stackable implements Stackable.
func (ScaleByTrustRatio) Stackable() bool { return true }

// Apply implements Transform.
func (ScaleByTrustRatio) Apply(s *Step, u []*Node) []*Node {
	return mapEach(u, func(i int, x *Node) *Node {
		pn := Sqrt(s.SumAll(Square(s.Param(i))))
		un := Sqrt(s.SumAll(Square(x)))
		zero := s.Const(0)
		ok := LogicalAnd(GreaterThan(pn, zero), GreaterThan(un, zero))
		ratio := Where(ok, Div(pn, Where(ok, un, s.Const(1))), s.Const(1))
		return Mul(ratio, x)
	})
}

// ScaleByLARS is LARS's local learning rate with weight decay (You et al. 2017,
// "Large Batch Training of Convolutional Networks", Algorithm 1):
//
//	λ = c·‖p‖/(‖u‖ + β·‖p‖)  (1 when ‖p‖ or ‖u‖ is 0),  u ← λ·(u + β·p)
//
// where c is the trust coefficient and β the weight decay.
type ScaleByLARS struct{ TrustCoefficient, WeightDecay float64 }

// Slots implements Transform.
func (ScaleByLARS) Slots() int { return 0 }

// Stackable implements Stackable.
func (ScaleByLARS) Stackable() bool { return true }

// Apply implements Transform.
func (l ScaleByLARS) Apply(s *Step, u []*Node) []*Node {
	beta := s.Hyper("weight_decay", l.WeightDecay)
	trust := s.Hyper("trust_coefficient", l.TrustCoefficient)
	return mapEach(u, func(i int, x *Node) *Node {
		p := s.Param(i)
		pn := Sqrt(s.SumAll(Square(p)))
		gn := Sqrt(s.SumAll(Square(x)))
		zero := s.Const(0)
		ok := LogicalAnd(GreaterThan(pn, zero), GreaterThan(gn, zero))
		den := Add(gn, Mul(beta, pn))
		local := Where(ok, Div(Mul(trust, pn), Where(ok, den, s.Const(1))), s.Const(1))
		return Mul(local, Add(x, Mul(beta, p)))
	})
}

// Chain returns transforms applied one after the other as one Transform, as
// optax's chain does: its state is the sum of theirs. New(name, lr, ts...) is
// New(name, lr, Chain(ts...)); Chain serves to nest a sub-chain, for example
// inside a wrapper that takes one Transform.
func Chain(transforms ...Transform) Transform {
	return chain(append([]Transform(nil), transforms...))
}

type chain []Transform

// Slots implements Transform.
func (c chain) Slots() int {
	n := 0
	for _, t := range c {
		n += t.Slots()
	}
	return n
}

// StateSize implements StateSizer.
func (c chain) StateSize(dims []int) int64 {
	var n int64
	for _, t := range c {
		n += stateSize(t, dims)
	}
	return n
}

func (c chain) inner() []Transform { return c }

// Stackable implements Stackable: a chain is stackable when all its
// transforms are.
func (c chain) Stackable() bool {
	for _, t := range c {
		if !stackable(t) {
			return false
		}
	}
	return true
}

// Apply implements Transform.
func (c chain) Apply(s *Step, u []*Node) []*Node {
	for _, t := range c {
		u = t.Apply(s, u)
	}
	return u
}

// clip clamps x to [lo, hi] element-wise; in a population update the bounds
// may be per-member columns.
func (s *Step) clip(x, lo, hi *Node) *Node {
	if s.Members() == 0 {
		return Clip(x, lo, hi)
	}
	return Min(Max(x, lo), hi)
}
