package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// MADGRADConfig configures MADGRAD. Start from DefaultMADGRADConfig: a zero
// field is taken as given. Each field's spec key is in its comment.
type MADGRADConfig struct {
	LR          float64 // lr: learning rate η
	Momentum    float64 // momentum: momentum μ (the averaging weight is c = 1 − μ)
	Eps         float64 // eps: ε added to the cube root
	WeightDecay float64 // weight_decay: coupled L2 penalty λ
}

// DefaultMADGRADConfig returns the authors' defaults: lr 1e-2, momentum 0.9,
// ε 1e-6, no weight decay.
func DefaultMADGRADConfig() MADGRADConfig { return MADGRADConfig{LR: 1e-2, Momentum: 0.9, Eps: 1e-6} }

func (c *MADGRADConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		floatParam("momentum", &c.Momentum, "momentum μ (averaging weight c = 1 − μ)", beta),
		epsParam(&c.Eps, "added to the cube root of ν"),
		weightDecayParam(&c.WeightDecay, docCoupledWD),
	}
}

// MADGRAD is momentumized dual averaging with AdaGrad-style cube-root scaling
// (Defazio & Jelassi 2021, "Adaptivity without Compromise: A Momentumized,
// Adaptive, Dual Averaged Gradient Method for Stochastic Optimization", JMLR
// 2022, arXiv 2101.11075, Algorithm 1):
//
//	g ← g + λp;
//	λₜ = η·√t;
//	s = s + λₜ·g,  ν = ν + λₜ·g²;
//	z = p₀ − s/(∛ν + ε);
//	p ← (1 − c)·p + c·z,  c = 1 − μ
//
// p₀ is the parameter at t = 1; with μ = 0 the iterate is z. The authors' code
// and optax use η + ε in place of η in λₜ; their decoupled weight decay is not
// offered.
//
// Chain: MADGRADUpdate.
func MADGRAD(c MADGRADConfig) (*Optimizer, error) {
	return named("madgrad", &c, AddWeightDecay{c.WeightDecay}, MADGRADUpdate{Momentum: c.Momentum, Eps: c.Eps})
}

// MADGRADUpdate is MADGRAD's update after the coupled decay; see MADGRAD for
// the equations. It produces the final update itself; s, ν and p₀ are its
// buffers.
type MADGRADUpdate struct{ Momentum, Eps float64 }

// Slots implements Transform.
func (MADGRADUpdate) Slots() int { return 3 }

// Stackable implements Stackable.
func (MADGRADUpdate) Stackable() bool { return true }

// Apply implements Transform.
//
// With momentum 0 the update is z − p; the general form gives the same
// (0·p + 1·z − p), so members of a population may mix momentum 0 and not.
func (a MADGRADUpdate) Apply(s *Step, u []*Node) []*Node {
	lam := Mul(s.LR, Sqrt(s.T))
	eps, third := s.Hyper("eps", a.Eps), s.Const(1.0/3)
	c := s.OneMinusHyper("momentum", a.Momentum)
	noMomentum := s.Zero("momentum", a.Momentum)
	return mapEach(u, func(i int, g *Node) *Node {
		p := s.Param(i)
		p0 := Where(s.First, p, s.Slot("p0", i, 0))
		sum := Add(s.Slot("grad_sum", i, 0), Mul(lam, g))
		nu := Add(s.Slot("grad_sum_sq", i, 0), Mul(lam, Square(g)))
		s.SetSlot("p0", i, p0)
		s.SetSlot("grad_sum", i, sum)
		s.SetSlot("grad_sum_sq", i, nu)
		z := Sub(p0, Div(sum, Add(Pow(nu, third), eps)))
		if noMomentum {
			return Sub(z, p)
		}
		return Sub(Add(Mul(OneMinus(c), p), Mul(c, z)), p)
	})
}
