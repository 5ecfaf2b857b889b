package optimizers

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
)

// AdEMAMixConfig configures AdEMAMix. Start from DefaultAdEMAMixConfig: a zero
// field is taken as given. Each field's spec key is in its comment.
type AdEMAMixConfig struct {
	LR          float64 // lr: learning rate η
	B1          float64 // b1: decay β₁ of the fast momentum m1
	B2          float64 // b2: decay β₂ of the second moment ν
	B3          float64 // b3: decay β₃ of the slow momentum m2
	Alpha       float64 // alpha: weight α of the slow momentum
	Eps         float64 // eps: ε added to √ν̂
	WeightDecay float64 // weight_decay: decoupled weight decay λ
	AlphaWarmup int     // alpha_warmup: steps T_α of α's linear warm-up (0: none)
	B3Warmup    int     // b3_warmup: steps T_β₃ of β₃'s warm-up (0: none)
}

// DefaultAdEMAMixConfig returns the paper's defaults: lr 1e-3, β = (0.9,
// 0.999, 0.9999), α 5, ε 1e-8, no weight decay and no warm-ups.
func DefaultAdEMAMixConfig() AdEMAMixConfig {
	return AdEMAMixConfig{LR: 1e-3, B1: 0.9, B2: 0.999, B3: 0.9999, Alpha: 5, Eps: 1e-8}
}

func (c *AdEMAMixConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		b1Param(&c.B1, "decay of the fast momentum m1 (and β₃'s warm-up start)"),
		b2Param(&c.B2, docB2),
		floatParam("b3", &c.B3, "decay of the slow momentum m2", beta).alias("beta3"),
		floatParam("alpha", &c.Alpha, "weight α of the slow momentum", nonNegative),
		epsParam(&c.Eps, docEpsDenom),
		weightDecayParam(&c.WeightDecay, docDecoupledWD),
		intParam("alpha_warmup", &c.AlphaWarmup, "steps of α's linear warm-up (0: none)", nonNegative),
		intParam("b3_warmup", &c.B3Warmup, "steps of β₃'s warm-up from β₁ (0: none)", nonNegative),
	}
}

func (c *AdEMAMixConfig) check() (string, string) {
	if c.B3Warmup > 0 && (c.B1 == 0 || c.B3 == 0) {
		return "b3_warmup", "needs b1 > 0 and b3 > 0 (the warm-up interpolates their half-lives)"
	}
	return "", ""
}

// AdEMAMix adds to Adam a slow momentum (β₃ ≈ 0.9999) weighted by α, which
// keeps using gradients thousands of steps old (Pagliardini, Ablin & Grangier
// 2024, "The AdEMAMix Optimizer: Better, Faster, Older", arXiv 2409.03137,
// Algorithm 1):
//
//	m1 = β₁m1 + (1 − β₁)g,  m2 = β₃ₜm2 + (1 − β₃ₜ)g,  ν = β₂ν + (1 − β₂)g²;
//	m̂1 = m1/(1 − β₁ᵗ),  ν̂ = ν/(1 − β₂ᵗ);
//	p ← p − η·((m̂1 + αₜ·m2)/(√ν̂ + ε) + λp)
//
// m2 is not bias-corrected. The schedulers of Section 3 warm α and β₃ up:
// αₜ = min(t·α/T_α, α), and β₃ₜ = min(exp(ln β₁·ln β₃/((1 − t/T)·ln β₃ +
// (t/T)·ln β₁)), β₃), which grows the half-life linearly from β₁'s to β₃'s
// over T = b3_warmup steps; both are evaluated at the paper's t (optax: t − 1).
// With α = 0 it is AdamW.
//
// Chain: ScaleByAdEMAMix, ScaleByLearningRate, DecoupledWeightDecay.
func AdEMAMix(c AdEMAMixConfig) (*Optimizer, error) {
	return named("ademamix", &c, ScaleByAdEMAMix{B1: c.B1, B2: c.B2, B3: c.B3, Alpha: c.Alpha, Eps: c.Eps,
		AlphaWarmup: c.AlphaWarmup, B3Warmup: c.B3Warmup}, ScaleByLearningRate{}, DecoupledWeightDecay{c.WeightDecay})
}

// ScaleByAdEMAMix is AdEMAMix's direction (m̂1 + αₜm2)/(√ν̂ + ε), before the
// learning rate; m1, m2 and ν are its buffers. See AdEMAMix.
type ScaleByAdEMAMix struct {
	B1, B2, B3, Alpha, Eps float64
	AlphaWarmup, B3Warmup  int
}

// Slots implements Transform.
func (ScaleByAdEMAMix) Slots() int { return 3 }

// Stackable implements Stackable.
func (ScaleByAdEMAMix) Stackable() bool { return true }

// Apply implements Transform.
//
// The schedulers are computed in float64. In a population, a member without
// warm-up (T = 0) takes the constant α or β₃: the general form selects it.
func (a ScaleByAdEMAMix) Apply(s *Step, u []*Node) []*Node {
	g64 := s.Graph()
	t := s.float64T()
	c64 := func(v float64) *Node { return Scalar(g64, dtypes.Float64, v) }
	alpha := s.Hyper64("alpha", a.Alpha)
	if !s.Zero("alpha_warmup", float64(a.AlphaWarmup)) {
		ta := s.Hyper64("alpha_warmup", float64(a.AlphaWarmup))
		warm := Min(Div(Mul(t, alpha), Max(ta, c64(1))), alpha)
		alpha = Where(GreaterThan(ta, c64(0)), warm, alpha)
	}
	b3 := s.Hyper64("b3", a.B3)
	if !s.Zero("b3_warmup", float64(a.B3Warmup)) {
		tb := s.Hyper64("b3_warmup", float64(a.B3Warmup))
		x := Div(t, Max(tb, c64(1)))
		l1, l3 := Log(s.Hyper64("b1", a.B1)), Log(b3)
		den := Add(Mul(OneMinus(x), l3), Mul(x, l1))
		b3 = Where(GreaterThan(tb, c64(0)), Min(Exp(Div(Mul(l1, l3), den)), b3), b3)
	}
	oneMinusB3 := s.ToDType(OneMinus(b3))
	alpha, b3 = s.ToDType(alpha), s.ToDType(b3)
	b1, b2, eps := s.Hyper("b1", a.B1), s.Hyper("b2", a.B2), s.Hyper("eps", a.Eps)
	oneMinusB1, oneMinusB2 := s.OneMinusHyper("b1", a.B1), s.OneMinusHyper("b2", a.B2)
	bc1, bc2 := s.OneMinusPow("b1", a.B1), s.OneMinusPow("b2", a.B2)
	return mapEach(u, func(i int, g *Node) *Node {
		m1 := Add(Mul(b1, s.Slot("exp_avg_fast", i, 0)), Mul(oneMinusB1, g))
		m2 := Add(Mul(b3, s.Slot("exp_avg_slow", i, 0)), Mul(oneMinusB3, g))
		nu := Add(Mul(b2, s.Slot("exp_avg_sq", i, 0)), Mul(oneMinusB2, Square(g)))
		s.SetSlot("exp_avg_fast", i, m1)
		s.SetSlot("exp_avg_slow", i, m2)
		s.SetSlot("exp_avg_sq", i, nu)
		den := Add(Sqrt(Div(nu, bc2)), eps)
		s.ObserveStepSize(i, func() *Node { return Div(s.LR, den) })
		return Div(Add(Div(m1, bc1), Mul(alpha, m2)), den)
	})
}
