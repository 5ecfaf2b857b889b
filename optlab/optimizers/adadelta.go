package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// AdadeltaConfig configures Adadelta. Start from DefaultAdadeltaConfig: a zero
// field is taken as given. Each field's spec key is in its comment.
type AdadeltaConfig struct {
	LR          float64 // lr: learning rate η
	Rho         float64 // rho: decay ρ of the running averages
	Eps         float64 // eps: ε added inside both square roots
	WeightDecay float64 // weight_decay: coupled L2 penalty λ
}

// DefaultAdadeltaConfig returns PyTorch's defaults: lr 1, ρ 0.9, ε 1e-6.
func DefaultAdadeltaConfig() AdadeltaConfig { return AdadeltaConfig{LR: 1.0, Rho: 0.9, Eps: 1e-6} }

func (c *AdadeltaConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		floatParam("rho", &c.Rho, "decay of the running averages", beta),
		epsParam(&c.Eps, "added inside both square roots"),
		weightDecayParam(&c.WeightDecay, docCoupledWD),
	}
}

// Adadelta is Zeiler's Adagrad successor with no global rate, as
// torch.optim.Adadelta computes it: the step is the ratio of running RMS of
// past updates (a) and of gradients (v):
//
//	g ← g + λp;
//	v = ρv + (1 − ρ)g²;
//	δ = √(a + ε)/√(v + ε)·g;
//	a = ρa + (1 − ρ)δ²;
//	p ← p − η·δ
//
// Chain: AddWeightDecay, ScaleByAdadelta, ScaleByLearningRate.
func Adadelta(c AdadeltaConfig) (*Optimizer, error) {
	return named("adadelta", &c, AddWeightDecay{c.WeightDecay}, ScaleByAdadelta{Rho: c.Rho, Eps: c.Eps}, ScaleByLearningRate{})
}

// ScaleByAdadelta is Adadelta's step δ (v and a are its two buffers); see
// Adadelta for the equations.
type ScaleByAdadelta struct{ Rho, Eps float64 }

// Slots implements Transform.
func (ScaleByAdadelta) Slots() int { return 2 }

// Stackable implements Stackable.
func (ScaleByAdadelta) Stackable() bool { return true }

// Apply implements Transform.
func (a ScaleByAdadelta) Apply(s *Step, u []*Node) []*Node {
	rho, eps := s.Hyper("rho", a.Rho), s.Hyper("eps", a.Eps)
	oneMinusRho := s.ToDType(OneMinus(s.Hyper64("rho", a.Rho)))
	return mapEach(u, func(i int, x *Node) *Node {
		v := Add(Mul(rho, s.Slot("square_avg", i, 0)), Mul(oneMinusRho, Square(x)))
		acc := s.Slot("acc_delta", i, 0)
		delta := Mul(Div(Sqrt(Add(acc, eps)), Sqrt(Add(v, eps))), x)
		s.SetSlot("square_avg", i, v)
		s.SetSlot("acc_delta", i, Add(Mul(rho, acc), Mul(oneMinusRho, Square(delta))))
		return delta
	})
}
