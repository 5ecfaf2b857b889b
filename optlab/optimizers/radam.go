package optimizers

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
)

// RAdamConfig configures RAdam. Start from DefaultRAdamConfig: a zero field is
// taken as given. Each field's spec key is in its comment.
type RAdamConfig struct {
	LR          float64 // lr: learning rate η
	B1          float64 // b1: decay β₁ of the first moment
	B2          float64 // b2: decay β₂ of the second moment
	Eps         float64 // eps: ε added to the denominator
	WeightDecay float64 // weight_decay: coupled L2 penalty λ
}

// DefaultRAdamConfig returns PyTorch's defaults: lr 1e-3, β = (0.9, 0.999), ε 1e-8.
func DefaultRAdamConfig() RAdamConfig { return RAdamConfig{LR: 1e-3, B1: 0.9, B2: 0.999, Eps: 1e-8} }

func (c *RAdamConfig) params() []param {
	return []param{lrParam(&c.LR), b1Param(&c.B1, docB1), b2Param(&c.B2, docB2),
		epsParam(&c.Eps, docEpsDenom), weightDecayParam(&c.WeightDecay, docCoupledWD)}
}

// RAdam is rectified Adam (Liu et al. 2019), as torch.optim.RAdam computes it:
// plain momentum SGD until the variance estimate is trustworthy, then Adam with
// a rectified adaptive term:
//
//	g ← g + λp;
//	m, v as Adam;
//	ρ_t = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ);
//	ρ_t > 5: p ← p − η·r_t·m̂·√(1 − β₂ᵗ)/(√v + ε), else p ← p − η·m̂
//
// where m̂ = m/(1 − β₁ᵗ), ρ∞ = 2/(1 − β₂) − 1 and
// r_t = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t)).
//
// Chain: AddWeightDecay, ScaleByRAdam, ScaleByLearningRate.
func RAdam(c RAdamConfig) (*Optimizer, error) {
	return named("radam", &c, AddWeightDecay{c.WeightDecay}, ScaleByRAdam{B1: c.B1, B2: c.B2, Eps: c.Eps}, ScaleByLearningRate{})
}

// ScaleByRAdam is RAdam's direction, before the learning rate; see RAdam for
// the equations.
type ScaleByRAdam struct{ B1, B2, Eps float64 }

// Slots implements Transform.
func (ScaleByRAdam) Slots() int { return 2 }

// Stackable implements Stackable.
func (ScaleByRAdam) Stackable() bool { return true }

// Apply implements Transform.
func (a ScaleByRAdam) Apply(s *Step, u []*Node) []*Node {
	b1, b2, eps := s.Hyper("b1", a.B1), s.Hyper("b2", a.B2), s.Hyper("eps", a.Eps)
	bc1 := OneMinus(Pow(b1, s.T))
	b2t := Pow(b2, s.T)
	bc2 := OneMinus(b2t)
	// ρ∞ = 2/(1 − β₂) − 1 and (ρ∞ − 4)(ρ∞ − 2), in float64 as the host would.
	g := s.Graph()
	c64 := func(v float64) *Node { return Scalar(g, dtypes.Float64, v) }
	rhoInf64 := Sub(Div(c64(2), OneMinus(s.Hyper64("b2", a.B2))), c64(1))
	rhoInf := s.ToDType(rhoInf64)
	rhoDen := s.ToDType(Mul(Sub(rhoInf64, c64(4)), Sub(rhoInf64, c64(2))))
	rhoT := Sub(rhoInf, Div(Mul(Mul(s.Const(2), s.T), b2t), bc2))
	// Guard the rectifier's square root: it is only used where ρ_t > 5.
	safeRho := Max(rhoT, s.Const(5))
	rect := Sqrt(Div(Mul(Mul(Sub(safeRho, s.Const(4)), Sub(safeRho, s.Const(2))), rhoInf),
		Mul(rhoDen, safeRho)))
	useRect := GreaterThan(rhoT, s.Const(5))
	bc2Sqrt := Sqrt(bc2)
	return mapEach(u, func(i int, x *Node) *Node {
		m := Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(OneMinus(b1), x))
		v := Add(Mul(b2, s.Slot("exp_avg_sq", i, 0)), Mul(OneMinus(b2), Square(x)))
		s.SetSlot("exp_avg", i, m)
		s.SetSlot("exp_avg_sq", i, v)
		mHat := Div(m, bc1)
		adaptive := Div(bc2Sqrt, Add(Sqrt(v), eps))
		return s.Select(useRect, Mul(Mul(mHat, adaptive), rect), mHat)
	})
}
