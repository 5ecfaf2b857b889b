package optimizers

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
)

// SAMConfig configures SAM. Start from DefaultSAMConfig and set Base. Each
// field's spec key is in its comment.
type SAMConfig struct {
	Base        *Optimizer // base: the optimizer that steps with the perturbed gradient (required)
	Rho         float64    // rho: radius ρ of the perturbation
	Adaptive    bool       // adaptive: ASAM's scale-invariant perturbation
	AdaptiveEta float64    // adaptive_eta: η_a in ASAM's T = |p| + η_a
}

// DefaultSAMConfig returns Foret et al.'s default ρ 0.05, plain (not adaptive)
// SAM, and ASAM's η_a 0.01, without a base.
func DefaultSAMConfig() SAMConfig { return SAMConfig{Rho: 0.05, AdaptiveEta: 0.01} }

func (c *SAMConfig) params() []param {
	return []param{
		optParam("base", &c.Base, docBase),
		floatParam("rho", &c.Rho, "radius ρ of the perturbation (ASAM papers use 0.5–2)", nonNegative),
		boolParam("adaptive", &c.Adaptive, "ASAM: perturbation scaled by T = |p| + adaptive_eta"),
		floatParam("adaptive_eta", &c.AdaptiveEta, "η_a of ASAM's T = |p| + η_a (davda54/sam: 0)", nonNegative),
	}
}

func (c *SAMConfig) check() (string, string) {
	if c.Base != nil && c.Base.GradientsPerStep() > 1 {
		return "base", "must not itself need a second gradient (sam inside sam)"
	}
	return "", ""
}

// SAM is sharpness-aware minimization: the base optimizer steps from p with
// the gradient taken at the worst nearby point p + e of radius ρ (Foret,
// Kleiner, Mobahi & Neyshabur 2021, "Sharpness-Aware Minimization for
// Efficiently Improving Generalization", ICLR, arXiv 2010.01412, Algorithm 1
// with p = 2; adaptive: Kwon et al. 2021, "ASAM", ICML, arXiv 2102.11600):
//
//	g = ∇f(p);
//	e = ρ·g/‖g‖   (adaptive: e = ρ·T²g/‖Tg‖, T = |p| + η_a);
//	p ← base step from p with the gradient ∇f(p + e)
//
// The norm runs over all parameters together, and e = 0 when it is 0
// (implementations add 1e-12 to it instead). Each step needs two gradient
// evaluations: drive it with Optimizer.UpdateGraphWithLossFunc (UpdateGraph
// alone has one gradient and panics). The base's clipping applies to the
// second gradient; e uses the raw first one. With ρ = 0 it is the base.
//
// Chain: SAMUpdate around the base's chain.
func SAM(c SAMConfig) (*Optimizer, error) {
	return wrap("sam", &c, SAMUpdate{Base: baseOf(c.Base), Rho: c.Rho, Adaptive: c.Adaptive, AdaptiveEta: c.AdaptiveEta})
}

// SAMUpdate is SAM around the transform Base: it is a Perturber, whose
// Perturb gives the point p + e, and its Apply hands the gradient taken there
// to Base (state under "base."). See SAM for the equations.
type SAMUpdate struct {
	Base        Transform
	Rho         float64
	Adaptive    bool
	AdaptiveEta float64
}

// Slots implements Transform.
func (a SAMUpdate) Slots() int { return a.Base.Slots() }

// StateSize implements StateSizer.
func (a SAMUpdate) StateSize(dims []int) int64 { return stateSize(a.Base, dims) }

func (a SAMUpdate) inner() []Transform { return []Transform{a.Base} }

// Apply implements Transform: u is the gradient at the perturbed point.
func (a SAMUpdate) Apply(s *Step, u []*Node) []*Node { return s.Nested("base", a.Base, u) }

// Perturb implements Perturber: it returns p + e.
func (a SAMUpdate) Perturb(params, grads []*Node) []*Node {
	if len(params) == 0 {
		panic(fmt.Errorf("sam: no parameters"))
	}
	g := params[0].Graph()
	dtype := params[0].DType()
	scaled := grads // T·g (adaptive) or g
	var ts []*Node
	if a.Adaptive {
		ts = make([]*Node, len(params))
		scaled = make([]*Node, len(params))
		for i, p := range params {
			ts[i] = Add(Abs(p), Scalar(g, dtype, a.AdaptiveEta))
			scaled[i] = Mul(ts[i], grads[i])
		}
	}
	var sq *Node
	for _, x := range scaled {
		sq = addOrSet(sq, ReduceAllSum(Square(x)))
	}
	norm := Sqrt(sq)
	zero := Scalar(g, dtype, 0)
	pos := GreaterThan(norm, zero)
	coef := Where(pos, Div(Scalar(g, dtype, a.Rho), Where(pos, norm, Scalar(g, dtype, 1))), zero)
	out := make([]*Node, len(params))
	for i, p := range params {
		e := Mul(coef, grads[i])
		if a.Adaptive {
			e = Mul(coef, Mul(Square(ts[i]), grads[i]))
		}
		out[i] = Add(p, e)
	}
	return out
}
