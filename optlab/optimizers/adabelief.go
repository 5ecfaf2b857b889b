package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// AdaBeliefConfig configures AdaBelief. Start from DefaultAdaBeliefConfig: a
// zero field is taken as given. Each field's spec key is in its comment.
type AdaBeliefConfig struct {
	LR          float64 // lr: learning rate η
	B1          float64 // b1: decay β₁ of the first moment
	B2          float64 // b2: decay β₂ of the belief s
	Eps         float64 // eps: ε, added in s's recursion, inside ŝ (form paper) and to √ŝ
	WeightDecay float64 // weight_decay: λ, coupled unless Decoupled
	Decoupled   bool    // decoupled: AdamW-style decay p ← p − ηλp instead of g ← g + λp
	Form        string  // form: "paper" (Algorithm 2 of v2+) or "authors" (adabelief-pytorch, optax: no ε inside ŝ)
}

// DefaultAdaBeliefConfig returns the authors' recommended defaults: lr 1e-3,
// β = (0.9, 0.999), ε 1e-16, no weight decay, the paper's form.
func DefaultAdaBeliefConfig() AdaBeliefConfig {
	return AdaBeliefConfig{LR: 1e-3, B1: 0.9, B2: 0.999, Eps: 1e-16, Form: "paper"}
}

func (c *AdaBeliefConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		b1Param(&c.B1, docB1),
		b2Param(&c.B2, "decay of the belief s (the second moment of g − m)"),
		epsParam(&c.Eps, "ε: added to s at each step, inside ŝ (form=paper) and to √ŝ"),
		weightDecayParam(&c.WeightDecay, "weight decay λ (coupled, or decoupled with decoupled=true)"),
		boolParam("decoupled", &c.Decoupled, "decoupled (AdamW-style) weight decay"),
		enumParam("form", &c.Form, "paper: Algorithm 2 of arXiv v2+ (ε also inside ŝ); authors: adabelief-pytorch and optax (no ε inside ŝ)",
			"paper", "authors"),
	}
}

// AdaBelief is Adam whose second moment tracks the squared deviation of the
// gradient from its momentum, the "belief" (Zhuang et al. 2020, "AdaBelief
// Optimizer: Adapting Stepsizes by the Belief in Observed Gradients", NeurIPS,
// arXiv 2010.07468 v2+, Algorithm 2):
//
//	g ← g + λp (decoupled: p ← p − ηλp instead);
//	m = β₁m + (1 − β₁)g,  s = β₂s + (1 − β₂)(g − m)² + ε;
//	m̂ = m/(1 − β₁ᵗ),  ŝ = (s + ε)/(1 − β₂ᵗ) (form=authors: s/(1 − β₂ᵗ));
//	p ← p − η·m̂/(√ŝ + ε)
//
// s uses the new m. The paper (v2+) adds ε three times: in the recursion (so
// it accumulates in s), inside the bias-corrected ŝ and outside the root; the
// authors' adabelief-pytorch and optax (since PR 1130) leave out the one inside
// ŝ (form=authors). The authors' package also defaults to decoupled decay and
// to RAdam's rectification; the rectification and Algorithm 2's AMSGrad branch
// are not offered.
//
// Chain: AddWeightDecay, ScaleByBelief, ScaleByLearningRate; decoupled:
// ScaleByBelief, ScaleByLearningRate, DecoupledWeightDecay.
func AdaBelief(c AdaBeliefConfig) (*Optimizer, error) {
	dir := ScaleByBelief{B1: c.B1, B2: c.B2, Eps: c.Eps, Authors: c.Form == "authors"}
	if c.Decoupled {
		return named("adabelief", &c, dir, ScaleByLearningRate{}, DecoupledWeightDecay{c.WeightDecay})
	}
	return named("adabelief", &c, AddWeightDecay{c.WeightDecay}, dir, ScaleByLearningRate{})
}

// ScaleByBelief is AdaBelief's direction m̂/(√ŝ + ε), before the learning
// rate; m and s are its buffers. Authors leaves ε out of ŝ. See AdaBelief.
type ScaleByBelief struct {
	B1, B2, Eps float64
	Authors     bool
}

// Slots implements Transform.
func (ScaleByBelief) Slots() int { return 2 }

// Stackable implements Stackable.
func (ScaleByBelief) Stackable() bool { return true }

// Apply implements Transform.
func (a ScaleByBelief) Apply(s *Step, u []*Node) []*Node {
	b1, b2, eps := s.Hyper("b1", a.B1), s.Hyper("b2", a.B2), s.Hyper("eps", a.Eps)
	oneMinusB1, oneMinusB2 := s.OneMinusHyper("b1", a.B1), s.OneMinusHyper("b2", a.B2)
	bc1, bc2 := s.OneMinusPow("b1", a.B1), s.OneMinusPow("b2", a.B2)
	return mapEach(u, func(i int, g *Node) *Node {
		m := Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(oneMinusB1, g))
		v := Add(Add(Mul(b2, s.Slot("exp_avg_var", i, 0)), Mul(oneMinusB2, Square(Sub(g, m)))), eps)
		s.SetSlot("exp_avg", i, m)
		s.SetSlot("exp_avg_var", i, v)
		sHat := v
		if !a.Authors {
			sHat = Add(v, eps)
		}
		sHat = Div(sHat, bc2)
		den := Add(Sqrt(sHat), eps)
		s.ObserveStepSize(i, func() *Node { return Div(s.LR, den) })
		return Div(Div(m, bc1), den)
	})
}
