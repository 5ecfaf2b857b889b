package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// ProdigyConfig configures Prodigy. Start from DefaultProdigyConfig: a zero
// field is taken as given. Each field's spec key is in its comment.
type ProdigyConfig struct {
	LR              float64 // lr: multiplier η of the estimated step d (1: no tuning)
	B1              float64 // b1: decay β₁ of the first moment
	B2              float64 // b2: decay β₂ of the second moment (√β₂ for r and s)
	Eps             float64 // eps: ε, added to √v as d·ε
	D0              float64 // d0: initial estimate d₀ of the distance to the solution
	DCoef           float64 // d_coef: multiplier of the estimate d̂
	Growth          float64 // growth: largest factor d may grow by in one step (0: no limit)
	SafeguardWarmup bool    // safeguard_warmup: d² in place of γd² in s
	WeightDecay     float64 // weight_decay: decoupled weight decay λ
	BiasCorrection  bool    // bias_correction: γ = η·√(1 − β₂ᵗ)/(1 − β₁ᵗ)
}

// DefaultProdigyConfig returns the paper's defaults: lr 1, β = (0.9, 0.999),
// ε 1e-8, d₀ 1e-6, d_coef 1, no growth limit, no weight decay, no bias
// correction.
func DefaultProdigyConfig() ProdigyConfig {
	return ProdigyConfig{LR: 1, B1: 0.9, B2: 0.999, Eps: 1e-8, D0: 1e-6, DCoef: 1}
}

func (c *ProdigyConfig) params() []param {
	return []param{
		floatParam("lr", &c.LR, "multiplier η of the estimated step d (1 needs no tuning)", positive).alias("learning_rate"),
		b1Param(&c.B1, docB1),
		b2Param(&c.B2, "decay of the second moment (√β₂ for r and s)"),
		epsParam(&c.Eps, "added to √v as d·ε"),
		floatParam("d0", &c.D0, "initial estimate d₀ of the distance to the solution", positive),
		floatParam("d_coef", &c.DCoef, "multiplier of the estimate d̂", positive),
		floatParam("growth", &c.Growth, "largest factor d may grow by in one step (0: no limit)", zeroOrAtLeastOne),
		boolParam("safeguard_warmup", &c.SafeguardWarmup, "d² in place of γd² in s (for warm-up schedules)"),
		weightDecayParam(&c.WeightDecay, docDecoupledWD),
		boolParam("bias_correction", &c.BiasCorrection, "γ = η·√(1 − β₂ᵗ)/(1 − β₁ᵗ) (prodigyopt's use_bias_correction)"),
	}
}

// zeroOrAtLeastOne is the check of Prodigy's growth limit.
func zeroOrAtLeastOne(v float64) string {
	if v == 0 || v >= 1 {
		return ""
	}
	return "must be 0 (no limit) or >= 1"
}

// Prodigy is a learning-rate-free Adam: it estimates d, the distance to the
// solution, from the correlation of the gradients with the distance travelled,
// and steps with η·d (Mishchenko & Defazio 2023/2024, "Prodigy: An
// Expeditiously Adaptive Parameter-Free Learner", ICML, arXiv 2306.06101,
// Algorithm 4, Adam version):
//
//	γ = η (bias_correction: η·√(1 − β₂ᵗ)/(1 − β₁ᵗ));
//	m = β₁m + (1 − β₁)·d·g,  v = β₂v + (1 − β₂)·d²g²;
//	r = √β₂·r + (1 − √β₂)·γd²·Σ⟨g, p₀ − p⟩,  s = √β₂·s + (1 − √β₂)·γd²·g;
//	d̂ = d_coef·r/Σ‖s‖₁,  d' = max(d, d̂) (growth: min(d', growth·d));
//	p ← p − γd·(m/(√v + d·ε) + λp);  d ← d'
//
// The sums run over all parameters together; d (from d₀) and r (from 0) are
// scalar state, p₀ is the parameter at t = 1, d̂ = 0 while Σ‖s‖₁ = 0, and the
// step uses the old d, as the paper (prodigyopt uses the new one in ε).
// safeguard_warmup puts d² in place of γd² in s. growth is not in the paper:
// it caps d' at growth·d (prodigyopt caps it relative to its d_max and not
// while d = d₀; optax has no cap and always bias-corrects).
//
// Chain: ProdigyUpdate.
func Prodigy(c ProdigyConfig) (*Optimizer, error) {
	return named("prodigy", &c, ProdigyUpdate{B1: c.B1, B2: c.B2, Eps: c.Eps, D0: c.D0, DCoef: c.DCoef,
		Growth: c.Growth, SafeguardWarmup: c.SafeguardWarmup, WeightDecay: c.WeightDecay, BiasCorrection: c.BiasCorrection})
}

// ProdigyUpdate is Prodigy's update; see Prodigy for the equations. It
// produces the final update itself, keeps m, v, s and p₀ per parameter and d
// and r as scalar state.
type ProdigyUpdate struct {
	B1, B2, Eps, D0, DCoef, Growth, WeightDecay float64
	SafeguardWarmup, BiasCorrection             bool
}

// Slots implements Transform.
func (ProdigyUpdate) Slots() int { return 4 }

// Stackable implements Stackable.
func (ProdigyUpdate) Stackable() bool { return true }

// Apply implements Transform.
func (a ProdigyUpdate) Apply(s *Step, u []*Node) []*Node {
	b1, b2, eps, wd := s.Hyper("b1", a.B1), s.Hyper("b2", a.B2), s.Hyper("eps", a.Eps), s.Hyper("weight_decay", a.WeightDecay)
	oneMinusB1, oneMinusB2 := s.OneMinusHyper("b1", a.B1), s.OneMinusHyper("b2", a.B2)
	sb2 := Sqrt(b2)
	gamma := s.LR
	if a.BiasCorrection {
		gamma = Mul(gamma, Div(Sqrt(s.OneMinusPow("b2", a.B2)), s.OneMinusPow("b1", a.B1)))
	}
	// d starts at d₀ (each member's own, in a population).
	d := s.ScalarState("prodigy_d", 0)
	d = Where(s.First, BroadcastToShape(s.Hyper("d0", a.D0), d.Shape()), d)
	d2 := Square(d)
	gd2 := Mul(gamma, d2)
	sw := gd2
	if a.SafeguardWarmup {
		sw = d2
	}
	n := len(u)
	ms, vs, ss, p0s := make([]*Node, n), make([]*Node, n), make([]*Node, n), make([]*Node, n)
	var dot, l1 *Node
	for i, g := range u {
		p := s.Param(i)
		p0s[i] = Where(s.First, p, s.Slot("p0", i, 0))
		ms[i] = Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(Mul(oneMinusB1, d), g))
		vs[i] = Add(Mul(b2, s.Slot("exp_avg_sq", i, 0)), Mul(Mul(oneMinusB2, d2), Square(g)))
		ss[i] = Add(Mul(sb2, s.Slot("s", i, 0)), Mul(Mul(OneMinus(sb2), sw), g))
		dot = addOrSet(dot, s.SumAll(Mul(g, Sub(p0s[i], p))))
		l1 = addOrSet(l1, s.SumAll(Abs(ss[i])))
	}
	r := Add(Mul(sb2, s.ScalarState("prodigy_r", 0)), Mul(Mul(OneMinus(sb2), gd2), dot))
	zero := s.Const(0)
	pos := GreaterThan(l1, zero)
	dHat := Where(pos, Div(Mul(s.Hyper("d_coef", a.DCoef), r), Where(pos, l1, s.Const(1))), zero)
	dNew := Max(d, dHat)
	if !s.Zero("growth", a.Growth) {
		growth := s.Hyper("growth", a.Growth)
		dNew = Where(GreaterThan(growth, zero), Min(dNew, Mul(growth, d)), dNew)
	}
	s.SetScalarState("prodigy_d", dNew)
	s.SetScalarState("prodigy_r", r)
	gammaD, dEps := Mul(gamma, d), Mul(d, eps)
	out := make([]*Node, n)
	for i := range u {
		s.SetSlot("exp_avg", i, ms[i])
		s.SetSlot("exp_avg_sq", i, vs[i])
		s.SetSlot("s", i, ss[i])
		s.SetSlot("p0", i, p0s[i])
		den := Add(Sqrt(vs[i]), dEps)
		s.ObserveStepSize(i, func() *Node { return Div(gammaD, den) })
		out[i] = Neg(Mul(gammaD, Add(Div(ms[i], den), Mul(wd, s.Param(i)))))
	}
	return out
}

// addOrSet returns a + b, or b when a is nil.
func addOrSet(a, b *Node) *Node {
	if a == nil {
		return b
	}
	return Add(a, b)
}
