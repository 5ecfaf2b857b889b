package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// NAdamConfig configures NAdam. Start from DefaultNAdamConfig: a zero field is
// taken as given. Each field's spec key is in its comment.
type NAdamConfig struct {
	LR            float64 // lr: learning rate η
	B1            float64 // b1: decay β₁ of the first moment
	B2            float64 // b2: decay β₂ of the second moment
	Eps           float64 // eps: ε added to the denominator
	WeightDecay   float64 // weight_decay: coupled L2 penalty λ
	MomentumDecay float64 // momentum_decay: ψ of the momentum schedule
}

// DefaultNAdamConfig returns PyTorch's defaults: lr 2e-3, β = (0.9, 0.999),
// ε 1e-8, ψ 4e-3.
func DefaultNAdamConfig() NAdamConfig {
	return NAdamConfig{LR: 2e-3, B1: 0.9, B2: 0.999, Eps: 1e-8, MomentumDecay: 4e-3}
}

func (c *NAdamConfig) params() []param {
	return []param{lrParam(&c.LR), b1Param(&c.B1, docB1), b2Param(&c.B2, docB2),
		epsParam(&c.Eps, docEpsDenom), weightDecayParam(&c.WeightDecay, docCoupledWD),
		floatParam("momentum_decay", &c.MomentumDecay, "ψ of the momentum schedule", nonNegative)}
}

// NAdam is Dozat's Adam with Nesterov momentum and a warming momentum schedule,
// as torch.optim.NAdam computes it:
//
//	g ← g + λp;
//	μ_t = β₁(1 − ½·0.96^(tψ)),  Π_t = Π_{t−1}μ_t;
//	m, v as Adam;
//	d = √(v/(1 − β₂ᵗ)) + ε;
//	p ← p − η·[(1 − μ_t)/(1 − Π_t)·g/d + μ_{t+1}/(1 − Π_tμ_{t+1})·m/d]
//
// This is the equation of the paper, of PyTorch ≥ 2.0 and of PyTorch 1.13's
// foreach code path; PyTorch 1.13's default (single-tensor) path multiplies μ_t
// into Π twice in the second term, a bug fixed in 2.0.
//
// Chain: AddWeightDecay, ScaleByNAdam, ScaleByLearningRate.
func NAdam(c NAdamConfig) (*Optimizer, error) {
	return named("nadam", &c, AddWeightDecay{c.WeightDecay},
		ScaleByNAdam{B1: c.B1, B2: c.B2, Eps: c.Eps, MomentumDecay: c.MomentumDecay}, ScaleByLearningRate{})
}

// ScaleByNAdam is NAdam's direction (the bracket of its update), before the
// learning rate; see NAdam for the equations. Π is scalar state shared by all
// parameters.
type ScaleByNAdam struct{ B1, B2, Eps, MomentumDecay float64 }

// Slots implements Transform.
func (ScaleByNAdam) Slots() int { return 2 }

// Stackable implements Stackable.
func (ScaleByNAdam) Stackable() bool { return true }

// Apply implements Transform.
func (a ScaleByNAdam) Apply(s *Step, u []*Node) []*Node {
	b1, b2, eps := s.Hyper("b1", a.B1), s.Hyper("b2", a.B2), s.Hyper("eps", a.Eps)
	c096 := s.Const(0.96)
	psi := s.Hyper("momentum_decay", a.MomentumDecay)
	mu := Mul(b1, Sub(s.Const(1), Mul(s.Const(0.5), Pow(c096, Mul(s.T, psi)))))
	muNext := Mul(b1, Sub(s.Const(1), Mul(s.Const(0.5), Pow(c096, Mul(Add(s.T, s.Const(1)), psi)))))
	prod := Mul(s.ScalarState("nadam_mu_product", 1), mu)
	s.SetScalarState("nadam_mu_product", prod)
	prodNext := Mul(prod, muNext)
	bc2 := OneMinus(Pow(b2, s.T))
	cGrad := Div(OneMinus(mu), OneMinus(prod))
	cAvg := Div(muNext, OneMinus(prodNext))
	return mapEach(u, func(i int, x *Node) *Node {
		m := Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(OneMinus(b1), x))
		v := Add(Mul(b2, s.Slot("exp_avg_sq", i, 0)), Mul(OneMinus(b2), Square(x)))
		s.SetSlot("exp_avg", i, m)
		s.SetSlot("exp_avg_sq", i, v)
		d := Add(Sqrt(Div(v, bc2)), eps)
		return Add(Mul(cGrad, Div(x, d)), Mul(cAvg, Div(m, d)))
	})
}
