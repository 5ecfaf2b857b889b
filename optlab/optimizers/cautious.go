package optimizers

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
)

// CautiousConfig configures Cautious. Start from DefaultCautiousConfig and set
// Base. Each field's spec key is in its comment.
type CautiousConfig struct {
	Base *Optimizer // base: the optimizer whose direction is masked (required; see Cautious)
	Eps  float64    // eps: ε added to the fraction of entries kept
}

// DefaultCautiousConfig returns ε 1e-8 (the paper gives none), without a base.
func DefaultCautiousConfig() CautiousConfig { return CautiousConfig{Eps: 1e-8} }

func (c *CautiousConfig) params() []param {
	return []param{
		optParam("base", &c.Base, "the optimizer to wrap, one whose update is p ← p − η·d: "+
			"sgd, momentum, nesterov, adagrad, adadelta, rmsprop, adam, amsgrad, adamw, adamax, nadam, radam, lion, adabelief, yogi, ademamix"),
		floatParam("eps", &c.Eps, "added to the fraction of entries kept (0 allowed)", nonNegative).alias("epsilon"),
	}
}

func (c *CautiousConfig) check() (string, string) {
	if c.Base == nil {
		return "", ""
	}
	if len(c.Base.groups) > 0 {
		return "base", fmt.Sprintf("must have no parameter groups (%s has %d): cautious masks one direction for all variables; "+
			"wrap an optimizer without group=... keys", c.Base.name, len(c.Base.groups))
	}
	if c.Base.family == nil || !c.Base.family.isDirectional() {
		return "base", fmt.Sprintf("must be an optimizer whose update is p ← p − η·d (%s is not: its trust ratio, "+
			"proximal step or own update leaves no direction to mask)", c.Base.name)
	}
	return "", ""
}

// Cautious masks the base optimizer's direction where its sign disagrees
// with the gradient's, and rescales what is left (Liang, Chen, Liu & Liu 2024,
// "Cautious Optimizers: Improving Training with One Line of Code", arXiv
// 2411.16085 v4, Algorithm 1):
//
//	φ = 1[d ⊙ g > 0];
//	d ← d ⊙ φ/(mean(φ) + ε);
//	p ← p − η·d (then the base's decoupled decay, unmasked)
//
// d is the base's direction (the update before the learning rate: Adam's
// m̂/(√v̂ + ε), Lion's sign, SGD's momentum), g the gradient after clipping and
// before coupled decay, the mean over each parameter tensor's entries, and d
// = 0 where nothing is kept. Bases: the rules whose update is p ← p − η·d
// (sgd … radam, lion, adabelief, yogi, ademamix); the others are rejected.
// Paper v1 and the authors' C-Lion scale by dim/(nnz + 1); their C-AdamW and
// timm divide by max(mean(φ), 1e-3) and build the mask from Adam's m (same
// signs as d).
//
// Chain: CautiousUpdate splitting the base's chain into its direction and
// the rest (the learning-rate scaling and any weight decay after d).
func Cautious(c CautiousConfig) (*Optimizer, error) {
	var dir, rest Transform
	if c.Base != nil {
		dir, rest = splitDirection(c.Base.body)
	}
	return wrap("cautious", &c, CautiousUpdate{Direction: dir, Rest: rest, Eps: c.Eps})
}

// splitDirection splits a directional chain before its learning-rate scaling,
// or before the weight decay that follows the direction (Lion's).
func splitDirection(body []Transform) (dir, rest Transform) {
	k := len(body)
	for i, t := range body {
		if _, ok := t.(ScaleByLearningRate); ok {
			k = i
			break
		}
	}
	if k >= 2 {
		if _, ok := body[k-1].(AddWeightDecay); ok {
			k--
		}
	}
	return chain(append([]Transform(nil), body[:k]...)), chain(append([]Transform(nil), body[k:]...))
}

// CautiousUpdate applies Direction, masks it where its sign disagrees with
// the incoming gradient's (see Cautious), then applies Rest. Both keep their
// state under "base.", where their optimizer keeps it unwrapped.
type CautiousUpdate struct {
	Direction, Rest Transform
	Eps             float64
}

// Slots implements Transform.
func (c CautiousUpdate) Slots() int { return c.Direction.Slots() + c.Rest.Slots() }

// StateSize implements StateSizer.
func (c CautiousUpdate) StateSize(dims []int) int64 {
	return stateSize(c.Direction, dims) + stateSize(c.Rest, dims)
}

func (c CautiousUpdate) inner() []Transform { return []Transform{c.Direction, c.Rest} }

// Apply implements Transform.
func (c CautiousUpdate) Apply(s *Step, u []*Node) []*Node {
	d := s.Nested("base", c.Direction, u)
	zero, eps := s.Const(0), s.Const(c.Eps)
	masked := mapEach(d, func(i int, x *Node) *Node {
		keep := GreaterThan(Mul(x, u[i]), zero)
		phi := ConvertDType(keep, s.DType())
		mean := ReduceAllMean(phi)
		kept := GreaterThan(mean, zero)
		den := Where(kept, Add(mean, eps), s.Const(1))
		return Where(kept, Div(Mul(x, phi), den), ZerosLike(x))
	})
	return s.Nested("base", c.Rest, masked)
}
