package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// ADOPTConfig configures ADOPT. Start from DefaultADOPTConfig: a zero field is
// taken as given. Each field's spec key is in its comment.
type ADOPTConfig struct {
	LR          float64 // lr: learning rate η
	B1          float64 // b1: decay β₁ of the momentum of the normalized gradient
	B2          float64 // b2: decay β₂ of the second moment
	Eps         float64 // eps: ε, lower bound of √v
	Clip        bool    // clip: clamp the normalized gradient to ±t^¼
	WeightDecay float64 // weight_decay: λ, coupled unless Decoupled
	Decoupled   bool    // decoupled: p ← p − ηλp instead of g ← g + λp
	Form        string  // form: "paper" (v₀ from the first gradient, update at t = 1) or "authors" (step 1 only sets v₀)
}

// DefaultADOPTConfig returns the paper's defaults: lr 1e-3, β = (0.9, 0.9999),
// ε 1e-6, no clipping (Algorithm 2 has none; the authors' code clips), no
// weight decay, the paper's form.
func DefaultADOPTConfig() ADOPTConfig {
	return ADOPTConfig{LR: 1e-3, B1: 0.9, B2: 0.9999, Eps: 1e-6, Form: "paper"}
}

func (c *ADOPTConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		b1Param(&c.B1, "decay of the momentum of the normalized gradient"),
		b2Param(&c.B2, docB2),
		epsParam(&c.Eps, "lower bound of √v"),
		boolParam("clip", &c.Clip, "clamp the normalized gradient to ±t^¼ (the authors' default)"),
		weightDecayParam(&c.WeightDecay, "weight decay λ (coupled, or decoupled with decoupled=true)"),
		boolParam("decoupled", &c.Decoupled, "decoupled (AdamW-style) weight decay"),
		enumParam("form", &c.Form, "paper: v₀ from the first gradient, which also updates; authors: the first step only sets v₀",
			"paper", "authors"),
	}
}

// ADOPT normalizes the gradient by the previous second moment before the
// momentum, which makes Adam converge for any β₂ (Taniguchi et al. 2024,
// "ADOPT: Modified Adam Can Converge with Any β₂ with the Optimal Rate",
// NeurIPS, arXiv 2411.02853, Algorithm 2):
//
//	g ← g + λp (decoupled: p ← p − ηλp instead);
//	x = g/max(√v, ε)   (clip: x ← clamp(x, −t^¼, t^¼));
//	m = β₁m + (1 − β₁)x;
//	p ← p − η·m;
//	v = β₂v + (1 − β₂)g²
//
// v is updated after the step, so the step uses v_{t−1}; v₀ = g₀², and with
// one gradient per step g₀ is the first step's gradient (taken at the same
// point p₀). form=authors (iShohei220/adopt, optax.contrib.adopt) spends the
// first step on v₀ alone and leaves p unchanged, and clips at (t − 1)^¼ (the
// number of updates, as the paper): it is the paper's form one step later.
//
// Chain: ADOPTUpdate.
func ADOPT(c ADOPTConfig) (*Optimizer, error) {
	return named("adopt", &c, ADOPTUpdate{B1: c.B1, B2: c.B2, Eps: c.Eps, Clip: c.Clip, WeightDecay: c.WeightDecay,
		Decoupled: c.Decoupled, Authors: c.Form == "authors"})
}

// ADOPTUpdate is ADOPT's update; see ADOPT for the equations. It produces the
// final update itself (form authors leaves p unchanged at t = 1); m and v are
// its buffers.
type ADOPTUpdate struct {
	B1, B2, Eps, WeightDecay float64
	Clip, Decoupled, Authors bool
}

// Slots implements Transform.
func (ADOPTUpdate) Slots() int { return 2 }

// Stackable implements Stackable.
func (ADOPTUpdate) Stackable() bool { return true }

// Apply implements Transform.
func (a ADOPTUpdate) Apply(s *Step, u []*Node) []*Node {
	b1, b2, eps, wd := s.Hyper("b1", a.B1), s.Hyper("b2", a.B2), s.Hyper("eps", a.Eps), s.Hyper("weight_decay", a.WeightDecay)
	oneMinusB1, oneMinusB2 := s.OneMinusHyper("b1", a.B1), s.OneMinusHyper("b2", a.B2)
	decay := !s.Zero("weight_decay", a.WeightDecay)
	// The bound is t^¼ with t the number of updates: the step in the paper's
	// form, the step before it in the authors' (whose first step is no update).
	updates := s.T
	if a.Authors {
		updates = Sub(s.T, s.Const(1))
	}
	c := Pow(updates, s.Const(0.25))
	return mapEach(u, func(i int, g *Node) *Node {
		p := s.Param(i)
		if decay && !a.Decoupled {
			g = Add(g, Mul(wd, p))
		}
		g2 := Square(g)
		vPrev := Where(s.First, g2, s.Slot("exp_avg_sq", i, 0))
		x := Div(g, Max(Sqrt(vPrev), eps))
		if a.Clip {
			x = Min(Max(x, Neg(c)), c) // c is a column in a population with skip_nonfinite
		}
		mOld := s.Slot("exp_avg", i, 0)
		m := Add(Mul(b1, mOld), Mul(oneMinusB1, x))
		v := Add(Mul(b2, vPrev), Mul(oneMinusB2, g2))
		d := m
		if decay && a.Decoupled {
			d = Add(m, Mul(wd, p))
		}
		delta := Neg(Mul(s.LR, d))
		if a.Authors {
			m = Where(s.First, mOld, m)
			v = Where(s.First, g2, v)
			delta = Where(s.First, ZerosLike(delta), delta)
		}
		s.SetSlot("exp_avg", i, m)
		s.SetSlot("exp_avg_sq", i, v)
		return delta
	})
}
