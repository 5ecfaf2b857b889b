package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// RpropConfig configures Rprop. Start from DefaultRpropConfig: a zero field is
// taken as given. Each field's spec key is in its comment.
type RpropConfig struct {
	LR       float64 // lr: initial step size Δ_0 = η
	EtaMinus float64 // eta_minus: step-size shrink factor η₋
	EtaPlus  float64 // eta_plus: step-size growth factor η₊
	StepMin  float64 // step_min: smallest step size Δmin
	StepMax  float64 // step_max: largest step size Δmax
}

// DefaultRpropConfig returns PyTorch's defaults: lr 0.01, η± = (0.5, 1.2),
// step sizes in [1e-6, 50].
func DefaultRpropConfig() RpropConfig {
	return RpropConfig{LR: 0.01, EtaMinus: 0.5, EtaPlus: 1.2, StepMin: 1e-6, StepMax: 50}
}

func (c *RpropConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		floatParam("eta_minus", &c.EtaMinus, "step-size shrink factor η₋", unitOpen),
		floatParam("eta_plus", &c.EtaPlus, "step-size growth factor η₊", greaterThanOne),
		floatParam("step_min", &c.StepMin, "smallest step size", positive),
		floatParam("step_max", &c.StepMax, "largest step size", positive),
	}
}

func (c *RpropConfig) check() (string, string) {
	if c.StepMin > c.StepMax {
		return "step_min", "must not exceed step_max"
	}
	return "", ""
}

// Rprop is resilient propagation (PyTorch's variant, iRprop−): sign-based steps
// whose per-element sizes grow while the gradient keeps its sign and shrink when
// it flips, for full-batch training, as torch.optim.Rprop computes it:
//
//	s = sign(g·g_prev);
//	Δ ← clip(Δ·(η₊ if s>0, η₋ if s<0, 1), Δmin, Δmax), Δ_0 = η;
//	g ← 0 where s<0;
//	p ← p − sign(g)·Δ
//
// Chain: RpropUpdate.
func Rprop(c RpropConfig) (*Optimizer, error) {
	return named("rprop", &c, RpropUpdate{EtaMinus: c.EtaMinus, EtaPlus: c.EtaPlus, StepMin: c.StepMin, StepMax: c.StepMax})
}

// RpropUpdate is Rprop's update; see Rprop for the equations. It produces the
// final update itself: the learning rate only initializes the step sizes Δ, and
// g_prev (zeroed where the sign flipped) and Δ are its two buffers.
type RpropUpdate struct{ EtaMinus, EtaPlus, StepMin, StepMax float64 }

// Slots implements Transform.
func (RpropUpdate) Slots() int { return 2 }

// Stackable implements Stackable.
func (RpropUpdate) Stackable() bool { return true }

// Apply implements Transform.
func (r RpropUpdate) Apply(s *Step, u []*Node) []*Node {
	return mapEach(u, func(i int, x *Node) *Node {
		prev := s.Slot("prev", i, 0)
		size := s.Slot("step_size", i, 0)
		size = Where(s.First, BroadcastToShape(s.LR, size.Shape()), size)
		sgn := Sign(Mul(x, prev))
		zero := ZerosLike(x)
		factor := Where(GreaterThan(sgn, zero), BroadcastToShape(s.Hyper("eta_plus", r.EtaPlus), x.Shape()),
			Where(LessThan(sgn, zero), BroadcastToShape(s.Hyper("eta_minus", r.EtaMinus), x.Shape()),
				OnesLike(x)))
		size = s.clip(Mul(size, factor), s.Hyper("step_min", r.StepMin), s.Hyper("step_max", r.StepMax))
		g := Where(LessThan(sgn, zero), zero, x)
		s.SetSlot("step_size", i, size)
		s.SetSlot("prev", i, g)
		return Neg(Mul(Sign(g), size))
	})
}
