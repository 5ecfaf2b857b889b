package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// AdanConfig configures Adan. Start from DefaultAdanConfig: a zero field is
// taken as given. Each field's spec key is in its comment. The β's are decays
// (b·old + (1 − b)·new), 1 minus the paper's.
type AdanConfig struct {
	LR          float64 // lr: learning rate η
	B1          float64 // b1: decay of the gradient average m (paper: 1 − β₁)
	B2          float64 // b2: decay of the gradient-difference average v (paper: 1 − β₂)
	B3          float64 // b3: decay of the second moment n (paper: 1 − β₃)
	Eps         float64 // eps: ε (inside the root in form paper, added to it in form authors)
	WeightDecay float64 // weight_decay: λ of the proximal (or decoupled) decay
	NoProx      bool    // no_prox: p ← p(1 − ηλ) − ηu instead of the proximal (p − ηu)/(1 + ηλ)
	Form        string  // form: "paper" (Algorithm 1) or "authors" (sail-sg/Adan, timm)
}

// DefaultAdanConfig returns the paper's defaults: lr 1e-3, decays (0.98, 0.92,
// 0.99) (the paper's β = (0.02, 0.08, 0.01)), ε 1e-8, weight decay 0.02 (the
// paper's; the authors' code defaults to 0), the paper's form.
func DefaultAdanConfig() AdanConfig {
	return AdanConfig{LR: 1e-3, B1: 0.98, B2: 0.92, B3: 0.99, Eps: 1e-8, WeightDecay: 0.02, Form: "paper"}
}

func (c *AdanConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		b1Param(&c.B1, "decay of the gradient average m (the paper's 1 − β₁)"),
		b2Param(&c.B2, "decay of the gradient-difference average v (the paper's 1 − β₂)"),
		floatParam("b3", &c.B3, "decay of the second moment n (the paper's 1 − β₃)", beta).alias("beta3"),
		epsParam(&c.Eps, "ε: inside the root (form=paper) or added to it (form=authors)"),
		weightDecayParam(&c.WeightDecay, "weight decay λ, proximal (or decoupled with no_prox=true)"),
		boolParam("no_prox", &c.NoProx, "decoupled decay p(1 − ηλ) in place of the proximal step"),
		enumParam("form", &c.Form, "paper: Algorithm 1's initialisation, ε inside the root; authors: sail-sg/Adan's zero init, bias corrections, ε outside",
			"paper", "authors"),
	}
}

// Adan is adaptive Nesterov momentum estimated from gradient differences (Xie
// et al. 2022/2024, "Adan: Adaptive Nesterov Momentum Algorithm for Faster
// Optimizing Deep Models", IEEE TPAMI, arXiv 2208.06677 v4, Algorithm 1), in
// decay notation (b = 1 − the paper's β):
//
//	Δ = g − g_prev;
//	m = b₁m + (1 − b₁)g,  v = b₂v + (1 − b₂)Δ,  n = b₃n + (1 − b₃)(g + b₂Δ)²;
//	u = (m + b₂v)/√(n + ε);
//	p ← (p − η·u)/(1 + ηλ)   (no_prox: p ← p(1 − ηλ) − η·u)
//
// with the paper's initialisation m = g, v = 0, n = g² at t = 1 and v = Δ at
// t = 2. form=authors is the authors' code (sail-sg/Adan, timm): m, v, n start
// at 0, Δ = 0 at t = 1, and u = [m/(1 − b₁ᵗ) + b₂v/(1 − b₂ᵗ)]/(√n/√(1 − b₃ᵗ) + ε).
// (optax.adan multiplies the difference terms by 1 − b₂ in place of b₂.) The
// restart condition of Algorithm 1 is not offered.
//
// Chain: AdanUpdate.
func Adan(c AdanConfig) (*Optimizer, error) {
	return named("adan", &c, AdanUpdate{B1: c.B1, B2: c.B2, B3: c.B3, Eps: c.Eps, WeightDecay: c.WeightDecay,
		NoProx: c.NoProx, Authors: c.Form == "authors"})
}

// AdanUpdate is Adan's update; see Adan for the equations. It produces the
// final update itself (the proximal decay divides the whole step); m, v, n
// and the previous gradient are its buffers.
type AdanUpdate struct {
	B1, B2, B3, Eps, WeightDecay float64
	NoProx, Authors              bool
}

// Slots implements Transform.
func (AdanUpdate) Slots() int { return 4 }

// Stackable implements Stackable.
func (AdanUpdate) Stackable() bool { return true }

// Apply implements Transform.
func (a AdanUpdate) Apply(s *Step, u []*Node) []*Node {
	b1, b2, b3, eps := s.Hyper("b1", a.B1), s.Hyper("b2", a.B2), s.Hyper("b3", a.B3), s.Hyper("eps", a.Eps)
	oneMinusB1, oneMinusB2, oneMinusB3 := s.OneMinusHyper("b1", a.B1), s.OneMinusHyper("b2", a.B2), s.OneMinusHyper("b3", a.B3)
	second := Equal(s.T, s.Const(2))
	lrWD := Mul(s.LR, s.Hyper("weight_decay", a.WeightDecay))
	var bc1, bc2, bc3Sqrt *Node
	if a.Authors {
		bc1, bc2, bc3Sqrt = s.OneMinusPow("b1", a.B1), s.OneMinusPow("b2", a.B2), Sqrt(s.OneMinusPow("b3", a.B3))
	}
	return mapEach(u, func(i int, g *Node) *Node {
		p := s.Param(i)
		prev := Where(s.First, g, s.Slot("prev_grad", i, 0))
		diff := Sub(g, prev)
		m := Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(oneMinusB1, g))
		v := Add(Mul(b2, s.Slot("exp_avg_diff", i, 0)), Mul(oneMinusB2, diff))
		n := Add(Mul(b3, s.Slot("exp_avg_sq", i, 0)), Mul(oneMinusB3, Square(Add(g, Mul(b2, diff)))))
		var dir, den *Node
		if a.Authors {
			den = Add(Div(Sqrt(n), bc3Sqrt), eps)
			dir = Div(Add(Div(m, bc1), Div(Mul(b2, v), bc2)), den)
		} else {
			m = Where(s.First, g, m)
			v = Where(s.First, ZerosLike(g), s.Select(second, diff, v))
			n = Where(s.First, Square(g), n)
			den = Sqrt(Add(n, eps))
			dir = Div(Add(m, Mul(b2, v)), den)
		}
		s.ObserveStepSize(i, func() *Node { return Div(s.LR, den) })
		s.SetSlot("exp_avg", i, m)
		s.SetSlot("exp_avg_diff", i, v)
		s.SetSlot("exp_avg_sq", i, n)
		s.SetSlot("prev_grad", i, g)
		var next *Node
		if a.NoProx {
			next = Sub(Mul(p, OneMinus(lrWD)), Mul(s.LR, dir))
		} else {
			next = Div(Sub(p, Mul(s.LR, dir)), OnePlus(lrWD))
		}
		return Sub(next, p)
	})
}
