package optimizers

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
)

// Wrappers (lookahead, sam, cautious, ema) take the optimizer they wrap as
// their configuration's Base, spelled base=SPEC in a spec. They share the
// base's step counter t and learning rate, keep the base's state as it is
// (under the prefix "base." of their own state: see Step.Nested), and leave
// the schedule, clipping and skipping of non-finite steps to the base, whose
// spec holds them.

const docBase = "the optimizer to wrap, a nested spec: base=adam(lr=1e-3)"

// wrap returns the wrapper of the registered family name with configuration c
// (whose base key holds the wrapped optimizer) and the given chain, after
// validating c. Wrappers' typed constructors end with it.
func wrap(name string, c configuration, chain ...Transform) (*Optimizer, error) {
	f := findFamily(name)
	if f == nil {
		panic(fmt.Sprintf("optimizers: %q is not registered (see families)", name))
	}
	if err := validate(c); err != nil {
		err.Name = name
		return nil, err
	}
	bp, _ := findParam(c.params(), "base")
	base := *bp.opt
	return &Optimizer{name: name, family: f, cfg: c, lr: base.lr, body: chain, opts: base.opts, base: base}, nil
}

// baseOf returns the wrapped optimizer's chain (its transforms without the
// clipping, which the wrapper places at the head of its own chain), or nil
// when b is nil (the constructor's validation then reports it). A base with
// parameter groups applies each group's chain to its variables.
func baseOf(b *Optimizer) Transform {
	if b == nil {
		return nil
	}
	if len(b.groups) > 0 {
		return groupedBody{b}
	}
	return chain(append([]Transform(nil), b.body...))
}

// groupedBody is the chain of a wrapped optimizer with parameter groups:
// its Apply sends each group's variables through the group's own chain
// (Optimizer.applyBody), with the group's state under "group_NAME." inside
// the wrapper's "base.".
type groupedBody struct{ o *Optimizer }

// Slots implements Transform: the buffers of the variables outside the
// groups (as Optimizer.StateSlots counts them).
func (b groupedBody) Slots() int { return chain(b.o.body).Slots() }

// StateSize implements StateSizer, as Slots does.
func (b groupedBody) StateSize(dims []int) int64 { return chain(b.o.body).StateSize(dims) }

func (b groupedBody) inner() []Transform { return b.o.body }

// Apply implements Transform.
func (b groupedBody) Apply(s *Step, u []*Node) []*Node { return b.o.applyBody(s, u) }

// wrapperNames returns the spec names of the wrappers, in the order of the
// listing.
func wrapperNames() []string {
	var out []string
	for _, f := range families {
		if isWrapper(f.config(false)) {
			out = append(out, f.name())
		}
	}
	return out
}
