package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// LionConfig configures Lion. Start from DefaultLionConfig: a zero field is
// taken as given. Each field's spec key is in its comment.
type LionConfig struct {
	LR          float64 // lr: learning rate η
	B1          float64 // b1: interpolation β₁ of the update direction
	B2          float64 // b2: decay β₂ of the momentum
	WeightDecay float64 // weight_decay: decoupled weight decay λ
}

// DefaultLionConfig returns the paper's defaults: lr 1e-4, β = (0.9, 0.99).
func DefaultLionConfig() LionConfig { return LionConfig{LR: 1e-4, B1: 0.9, B2: 0.99} }

func (c *LionConfig) params() []param {
	return []param{lrParam(&c.LR), b1Param(&c.B1, "interpolation of the update direction"),
		b2Param(&c.B2, "decay of the momentum"), weightDecayParam(&c.WeightDecay, docDecoupledWD)}
}

// Lion is evolved sign momentum (Chen et al. 2023, "Symbolic Discovery of
// Optimization Algorithms", Algorithm 2): the update is the sign of an
// interpolated momentum:
//
//	c = β₁m + (1 − β₁)g;
//	p ← p − η·(sign(c) + λp);
//	m = β₂m + (1 − β₂)g
//
// Chain: ScaleByLion, AddWeightDecay, ScaleByLearningRate (the decay is added
// after the sign, where the paper puts it).
func Lion(c LionConfig) (*Optimizer, error) {
	return named("lion", &c, ScaleByLion{B1: c.B1, B2: c.B2}, AddWeightDecay{c.WeightDecay}, ScaleByLearningRate{})
}

// ScaleByLion is Lion's direction sign(c), before the weight decay and the
// learning rate; m is its buffer. See Lion for the equations.
type ScaleByLion struct{ B1, B2 float64 }

// Slots implements Transform.
func (ScaleByLion) Slots() int { return 1 }

// Stackable implements Stackable.
func (ScaleByLion) Stackable() bool { return true }

// Apply implements Transform.
func (l ScaleByLion) Apply(s *Step, u []*Node) []*Node {
	b1, b2 := s.Hyper("b1", l.B1), s.Hyper("b2", l.B2)
	return mapEach(u, func(i int, x *Node) *Node {
		m := s.Slot("exp_avg", i, 0)
		c := Add(Mul(b1, m), Mul(OneMinus(b1), x))
		s.SetSlot("exp_avg", i, Add(Mul(b2, m), Mul(OneMinus(b2), x)))
		return Sign(c)
	})
}
