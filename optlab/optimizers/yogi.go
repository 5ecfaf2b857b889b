package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// YogiConfig configures Yogi. Start from DefaultYogiConfig: a zero field is
// taken as given. Each field's spec key is in its comment.
type YogiConfig struct {
	LR                      float64 // lr: learning rate η
	B1                      float64 // b1: decay β₁ of the first moment
	B2                      float64 // b2: rate β₂ of the additive second-moment change
	Eps                     float64 // eps: ε added to √v
	InitialAccumulatorValue float64 // initial_accumulator_value: v₀
	BiasCorrection          bool    // bias_correction: divide m by 1 − β₁ᵗ and √v by √(1 − β₂ᵗ), as optax
	WeightDecay             float64 // weight_decay: coupled L2 penalty λ
}

// DefaultYogiConfig returns the paper's defaults: lr 1e-2, β = (0.9, 0.999),
// ε 1e-3, v₀ = 0, no bias correction.
func DefaultYogiConfig() YogiConfig { return YogiConfig{LR: 1e-2, B1: 0.9, B2: 0.999, Eps: 1e-3} }

func (c *YogiConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		b1Param(&c.B1, docB1),
		b2Param(&c.B2, "rate of the additive second-moment change"),
		epsParam(&c.Eps, "added to √v"),
		floatParam("initial_accumulator_value", &c.InitialAccumulatorValue, "v₀ (optax: 1e-6)", nonNegative),
		boolParam("bias_correction", &c.BiasCorrection, "Adam's bias corrections (not in Algorithm 2; optax uses them)"),
		weightDecayParam(&c.WeightDecay, docCoupledWD),
	}
}

// Yogi is Adam whose second moment moves additively, by at most (1 − β₂)g²
// per step and in the direction of g², so it cannot grow too fast and forget
// (Zaheer et al. 2018, "Adaptive Methods for Nonconvex Optimization", NeurIPS,
// Algorithm 2):
//
//	g ← g + λp;
//	m = β₁m + (1 − β₁)g;
//	v = v − (1 − β₂)·sign(v − g²)·g²;
//	p ← p − η·m/(√v + ε)   (bias_correction: p ← p − η·(m/(1 − β₁ᵗ))/(√v/√(1 − β₂ᵗ) + ε))
//
// with m₀ = 0, v₀ = initial_accumulator_value and sign(0) = 0. optax.yogi is
// bias_correction=true, initial_accumulator_value=1e-6, except that it also
// starts m at 1e-6 (here m₀ = 0).
//
// Chain: AddWeightDecay, ScaleByYogi, ScaleByLearningRate.
func Yogi(c YogiConfig) (*Optimizer, error) {
	return named("yogi", &c, AddWeightDecay{c.WeightDecay},
		ScaleByYogi{B1: c.B1, B2: c.B2, Eps: c.Eps, InitialAccumulator: c.InitialAccumulatorValue, BiasCorrection: c.BiasCorrection},
		ScaleByLearningRate{})
}

// ScaleByYogi is Yogi's direction, before the learning rate; m and v are its
// buffers. See Yogi.
type ScaleByYogi struct {
	B1, B2, Eps, InitialAccumulator float64
	BiasCorrection                  bool
}

// Slots implements Transform.
func (ScaleByYogi) Slots() int { return 2 }

// Stackable implements Stackable.
func (ScaleByYogi) Stackable() bool { return true }

// Apply implements Transform.
func (a ScaleByYogi) Apply(s *Step, u []*Node) []*Node {
	b1, eps := s.Hyper("b1", a.B1), s.Hyper("eps", a.Eps)
	oneMinusB1, oneMinusB2 := s.OneMinusHyper("b1", a.B1), s.OneMinusHyper("b2", a.B2)
	var bc1, bc2Sqrt *Node
	if a.BiasCorrection {
		bc1, bc2Sqrt = s.OneMinusPow("b1", a.B1), Sqrt(s.OneMinusPow("b2", a.B2))
	}
	noInit := s.Zero("initial_accumulator_value", a.InitialAccumulator)
	return mapEach(u, func(i int, g *Node) *Node {
		m := Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(oneMinusB1, g))
		v := s.Slot("exp_avg_sq", i, 0)
		if !noInit {
			v0 := s.Hyper("initial_accumulator_value", a.InitialAccumulator)
			v = Where(s.First, BroadcastToShape(v0, v.Shape()), v)
		}
		g2 := Square(g)
		v = Sub(v, Mul(Mul(oneMinusB2, Sign(Sub(v, g2))), g2))
		s.SetSlot("exp_avg", i, m)
		s.SetSlot("exp_avg_sq", i, v)
		var den *Node
		if a.BiasCorrection {
			den, m = Add(Div(Sqrt(v), bc2Sqrt), eps), Div(m, bc1)
		} else {
			den = Add(Sqrt(v), eps)
		}
		s.ObserveStepSize(i, func() *Node { return Div(s.LR, den) })
		return Div(m, den)
	})
}
