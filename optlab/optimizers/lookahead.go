package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// LookaheadConfig configures Lookahead. Start from DefaultLookaheadConfig and
// set Base. Each field's spec key is in its comment.
type LookaheadConfig struct {
	Base  *Optimizer // base: the optimizer taking the fast steps (required)
	K     int        // k: fast steps between synchronisations
	Alpha float64    // alpha: fraction α of the way the slow weights move
}

// DefaultLookaheadConfig returns the paper's defaults, k 5 and α 0.5, without
// a base.
func DefaultLookaheadConfig() LookaheadConfig { return LookaheadConfig{K: 5, Alpha: 0.5} }

func (c *LookaheadConfig) params() []param {
	return []param{
		optParam("base", &c.Base, docBase),
		intParam("k", &c.K, "fast steps between synchronisations", atLeastOne),
		floatParam("alpha", &c.Alpha, "fraction of the way the slow weights move to the fast ones", unitOpenClosed),
	}
}

// atLeastOne is the check of counts such as lookahead's k.
func atLeastOne(v float64) string {
	if v >= 1 {
		return ""
	}
	return "must be >= 1"
}

// Lookahead lets the base optimizer take k fast steps, then moves the slow
// weights φ a fraction α of the way to the fast weights and restarts the fast
// weights from there (Zhang, Lucas, Hinton & Ba 2019, "Lookahead Optimizer: k
// steps forward, 1 step back", NeurIPS, arXiv 1907.08610, Algorithm 1):
//
//	θ ← base step from p;
//	t mod k = 0: φ ← φ + α(θ − φ), θ ← φ;
//	p ← θ
//
// The parameter holds the fast weights θ; φ (state, φ = p₀ at t = 1) equals
// them right after a synchronisation, which is where to evaluate. The base's
// state and step counter carry on across synchronisations (optax's
// reset_state is not offered). With k = 1 and α = 1 it is the base exactly.
//
// Chain: LookaheadUpdate around the base's chain.
func Lookahead(c LookaheadConfig) (*Optimizer, error) {
	return wrap("lookahead", &c, LookaheadUpdate{Base: baseOf(c.Base), K: c.K, Alpha: c.Alpha})
}

// LookaheadUpdate is Lookahead around the transform Base; see Lookahead for
// the equations. φ is its buffer; Base's state is kept under "base.".
type LookaheadUpdate struct {
	Base  Transform
	K     int
	Alpha float64
}

// Slots implements Transform.
func (l LookaheadUpdate) Slots() int { return 1 + l.Base.Slots() }

// StateSize implements StateSizer.
func (l LookaheadUpdate) StateSize(dims []int) int64 { return numElems(dims) + stateSize(l.Base, dims) }

func (l LookaheadUpdate) inner() []Transform { return []Transform{l.Base} }

// Apply implements Transform.
//
// At a synchronisation the update is (1 − α)(φ − p) + α·u, which is
// φ + α(θ − φ) − p and, with α = 1, u itself: so k = 1, α = 1 reproduces the
// base bit for bit. φ then takes p + update, the value the parameter gets.
func (l LookaheadUpdate) Apply(s *Step, u []*Node) []*Node {
	phis := make([]*Node, len(u))
	for i := range u {
		phis[i] = Where(s.First, s.Param(i), s.Slot("slow", i, 0))
	}
	u = s.Nested("base", l.Base, u)
	step := s.StepInt()
	sync := Equal(Rem(step, Scalar(s.Graph(), step.DType(), l.K)), ZerosLike(step))
	alpha := s.Const(l.Alpha)
	return mapEach(u, func(i int, x *Node) *Node {
		p := s.Param(i)
		synced := Add(Mul(OneMinus(alpha), Sub(phis[i], p)), Mul(alpha, x))
		x = Where(sync, synced, x)
		s.SetSlot("slow", i, Where(sync, Add(p, x), phis[i]))
		return x
	})
}
