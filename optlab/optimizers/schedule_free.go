package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// ScheduleFreeAdamWConfig configures ScheduleFreeAdamW. Start from
// DefaultScheduleFreeAdamWConfig: a zero field is taken as given. Each field's
// spec key is in its comment.
type ScheduleFreeAdamWConfig struct {
	LR          float64 // lr: learning rate η
	B1          float64 // b1: decay β₁ of the first moment
	B2          float64 // b2: decay β₂ of the second moment
	Eps         float64 // eps: ε added to the denominator
	WeightDecay float64 // weight_decay: weight decay λ, applied at y
	Warmup      int     // warmup: linear warm-up updates of γ
}

// DefaultScheduleFreeAdamWConfig returns the paper's defaults: lr 0.0025,
// β = (0.9, 0.999), ε 1e-8, no warm-up.
func DefaultScheduleFreeAdamWConfig() ScheduleFreeAdamWConfig {
	return ScheduleFreeAdamWConfig{LR: 0.0025, B1: 0.9, B2: 0.999, Eps: 1e-8}
}

func (c *ScheduleFreeAdamWConfig) params() []param {
	return []param{lrParam(&c.LR), b1Param(&c.B1, docB1), b2Param(&c.B2, docB2),
		epsParam(&c.Eps, docEpsDenom),
		weightDecayParam(&c.WeightDecay, "weight decay λ (applied at y)"),
		intParam("warmup", &c.Warmup, "linear warm-up updates of γ", nonNegative)}
}

// ScheduleFreeAdamW is schedule-free AdamW (Defazio et al. 2024, "The Road Less
// Scheduled", Algorithm 1): it interpolates an SGD-like sequence z and its
// running average x, so no decay schedule is needed:
//
//	y = (1 − β₁)z + β₁x;
//	v = β₂v + (1 − β₂)g²;
//	γ_t = η√(1 − β₂ᵗ)·min(1, t/warmup);
//	z ← z − γ_t·g/(√v + ε) − γ_tλy;
//	c = γ_t²/Σγ_i²;
//	x ← (1 − c)x + c·z;
//	p holds y
//
// Gradients are taken at y, which the parameters hold (z₁ = x₁ = p₀); x, the
// point the paper evaluates, is state.
//
// Chain: ScheduleFreeAdamWUpdate.
func ScheduleFreeAdamW(c ScheduleFreeAdamWConfig) (*Optimizer, error) {
	return named("schedule_free_adamw", &c, ScheduleFreeAdamWUpdate{B1: c.B1, B2: c.B2, Eps: c.Eps,
		WeightDecay: c.WeightDecay, Warmup: c.Warmup})
}

// ScheduleFreeAdamWUpdate is ScheduleFreeAdamW's update; see ScheduleFreeAdamW
// for the equations. It produces the final update itself (y_{t+1} − y_t), keeps
// z, x and v per parameter and Σγ² as scalar state.
type ScheduleFreeAdamWUpdate struct {
	B1, B2, Eps, WeightDecay float64
	Warmup                   int
}

// Slots implements Transform (z, x and v).
func (ScheduleFreeAdamWUpdate) Slots() int { return 3 }

// Stackable implements Stackable.
func (ScheduleFreeAdamWUpdate) Stackable() bool { return true }

// Apply implements Transform.
func (o ScheduleFreeAdamWUpdate) Apply(s *Step, u []*Node) []*Node {
	b1, b2, eps, wd := s.Hyper("b1", o.B1), s.Hyper("b2", o.B2), s.Hyper("eps", o.Eps), s.Hyper("weight_decay", o.WeightDecay)
	gamma := Mul(s.LR, Sqrt(OneMinus(Pow(b2, s.T))))
	if !s.Zero("warmup", float64(o.Warmup)) {
		// A member without warm-up divides by 0: min(1, t/0) = min(1, +∞) = 1.
		gamma = Mul(gamma, Min(s.Const(1), Div(s.T, s.Hyper("warmup", float64(o.Warmup)))))
	}
	gamma2 := Square(gamma)
	sum := Add(s.ScalarState("schedule_free_gamma2_sum", 0), gamma2)
	s.SetScalarState("schedule_free_gamma2_sum", sum)
	c := Div(gamma2, sum)
	return mapEach(u, func(i int, g *Node) *Node {
		y := s.Param(i)
		z := Where(s.First, y, s.Slot("z", i, 0))
		x := Where(s.First, y, s.Slot("x", i, 0))
		v := Add(Mul(b2, s.Slot("exp_avg_sq", i, 0)), Mul(OneMinus(b2), Square(g)))
		z = Sub(z, Add(Mul(gamma, Div(g, Add(Sqrt(v), eps))), Mul(Mul(gamma, wd), y)))
		x = Add(Mul(OneMinus(c), x), Mul(c, z))
		s.SetSlot("exp_avg_sq", i, v)
		s.SetSlot("z", i, z)
		s.SetSlot("x", i, x)
		yNext := Add(Mul(OneMinus(b1), z), Mul(b1, x))
		return Sub(yNext, y)
	})
}
