package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// AdamaxConfig configures Adamax. Start from DefaultAdamaxConfig: a zero field
// is taken as given. Each field's spec key is in its comment.
type AdamaxConfig struct {
	LR          float64 // lr: learning rate η
	B1          float64 // b1: decay β₁ of the first moment
	B2          float64 // b2: decay β₂ of the second moment
	Eps         float64 // eps: ε added to |g|
	WeightDecay float64 // weight_decay: coupled L2 penalty λ
}

// DefaultAdamaxConfig returns PyTorch's defaults: lr 2e-3, β = (0.9, 0.999), ε 1e-8.
func DefaultAdamaxConfig() AdamaxConfig { return AdamaxConfig{LR: 2e-3, B1: 0.9, B2: 0.999, Eps: 1e-8} }

func (c *AdamaxConfig) params() []param {
	return []param{lrParam(&c.LR), b1Param(&c.B1, docB1), b2Param(&c.B2, docB2),
		epsParam(&c.Eps, "added to |g|"), weightDecayParam(&c.WeightDecay, docCoupledWD)}
}

// Adamax is Adam with the infinity norm in place of the second moment (Kingma
// & Ba 2015, section 7), as torch.optim.Adamax computes it (ε inside the max):
//
//	g ← g + λp;
//	m = β₁m + (1 − β₁)g;
//	u = max(β₂u, |g| + ε);
//	p ← p − η/(1 − β₁ᵗ)·m/u
//
// Chain: AddWeightDecay, ScaleByAdamax, ScaleByLearningRate.
func Adamax(c AdamaxConfig) (*Optimizer, error) {
	return named("adamax", &c, AddWeightDecay{c.WeightDecay}, ScaleByAdamax{B1: c.B1, B2: c.B2, Eps: c.Eps}, ScaleByLearningRate{})
}

// ScaleByAdamax is Adamax's direction m/((1 − β₁ᵗ)·u), before the learning
// rate; see Adamax for the equations.
type ScaleByAdamax struct{ B1, B2, Eps float64 }

// Slots implements Transform.
func (ScaleByAdamax) Slots() int { return 2 }

// Stackable implements Stackable.
func (ScaleByAdamax) Stackable() bool { return true }

// Apply implements Transform.
func (a ScaleByAdamax) Apply(s *Step, u []*Node) []*Node {
	b1, b2, eps := s.Hyper("b1", a.B1), s.Hyper("b2", a.B2), s.Hyper("eps", a.Eps)
	bc1 := OneMinus(Pow(b1, s.T))
	return mapEach(u, func(i int, x *Node) *Node {
		m := Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(OneMinus(b1), x))
		n := Max(Mul(b2, s.Slot("exp_inf", i, 0)), Add(Abs(x), eps))
		s.SetSlot("exp_avg", i, m)
		s.SetSlot("exp_inf", i, n)
		return Div(Div(m, bc1), n)
	})
}
