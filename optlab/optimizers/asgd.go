package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// ASGDConfig configures ASGD. Start from DefaultASGDConfig: a zero field is
// taken as given. Each field's spec key is in its comment.
type ASGDConfig struct {
	LR          float64 // lr: learning rate η
	Lambd       float64 // lambd: decay term λ
	Alpha       float64 // alpha: power α of the rate decay
	T0          float64 // t0: update at which averaging starts
	WeightDecay float64 // weight_decay: coupled L2 penalty λ_wd
}

// DefaultASGDConfig returns PyTorch's defaults: lr 0.01, λ 1e-4, α 0.75, t0 1e6.
func DefaultASGDConfig() ASGDConfig { return ASGDConfig{LR: 0.01, Lambd: 1e-4, Alpha: 0.75, T0: 1e6} }

func (c *ASGDConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		floatParam("lambd", &c.Lambd, "decay term λ", nonNegative),
		floatParam("alpha", &c.Alpha, "power α of the rate decay", nonNegative),
		floatParam("t0", &c.T0, "update at which averaging starts", nonNegative),
		weightDecayParam(&c.WeightDecay, docCoupledWD),
	}
}

// ASGD is averaged SGD (Polyak & Juditsky 1992): decaying-rate SGD that also
// keeps a running average of the iterates, as torch.optim.ASGD computes it:
//
//	g ← g + λ_wd·p;
//	η_t = η/(1 + λη(t − 1))^α;
//	p ← p(1 − λη_t) − η_t·g;
//	ā ← ā + μ_t(p − ā)
//
// where μ_t = 1/max(1, t − 1 − t₀) (μ_1 = 1). The average ā is state; the
// parameters hold p.
//
// Chain: AddWeightDecay, ASGDUpdate.
func ASGD(c ASGDConfig) (*Optimizer, error) {
	return named("asgd", &c, AddWeightDecay{c.WeightDecay}, ASGDUpdate{Lambda: c.Lambd, Alpha: c.Alpha, T0: c.T0})
}

// ASGDUpdate is ASGD's update; see ASGD for the equations. It produces the
// final update itself (η_t replaces the learning rate) and keeps ā as its
// buffer.
type ASGDUpdate struct{ Lambda, Alpha, T0 float64 }

// Slots implements Transform.
func (ASGDUpdate) Slots() int { return 1 }

// Stackable implements Stackable.
func (ASGDUpdate) Stackable() bool { return true }

// Apply implements Transform.
func (a ASGDUpdate) Apply(s *Step, u []*Node) []*Node {
	lambda := s.Hyper("lambd", a.Lambda)
	tm1 := Sub(s.T, s.Const(1))
	eta := Div(s.LR, Pow(Add(s.Const(1), Mul(Mul(lambda, s.LR), tm1)), s.Hyper("alpha", a.Alpha)))
	mu := Where(s.First, s.Const(1), Reciprocal(Max(s.Const(1), Sub(tm1, s.Hyper("t0", a.T0)))))
	return mapEach(u, func(i int, x *Node) *Node {
		p := s.Param(i)
		update := Neg(Add(Mul(Mul(lambda, eta), p), Mul(eta, x)))
		newP := Add(p, update)
		ax := s.Slot("ax", i, 0)
		s.SetSlot("ax", i, Add(ax, Mul(Sub(newP, ax), mu)))
		return update
	})
}
