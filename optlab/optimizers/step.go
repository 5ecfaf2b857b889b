package optimizers

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// StateScope is the absolute context scope under which optimizers of this package
// keep their state: one sub-scope per trainable variable's scope, plus the step
// counter and any scalar state.
const StateScope = "/optimizers/optlab"

// Step is the graph-building view of one optimizer update, handed to every
// Transform of a chain. All nodes are in the update's float dtype (the dtype of the
// loss): parameters and gradients of other dtypes are converted on the way in and
// the results converted back when written.
type Step struct {
	scope  *model.Scope
	g      *Graph
	dtype  dtypes.DType
	vars   []*model.Variable
	params []*Node

	// T is the optimizer's own step counter for this update: 1 at the first update.
	// Bias corrections use it.
	T *Node
	// K is GoMLX's global step before this update (0 at the first update); schedules
	// are functions of it.
	K *Node
	// LR is the learning rate of this update: the learning-rate variable's value,
	// passed through the schedule when there is one.
	LR *Node
	// Base is the learning-rate variable's value (the base rate before the
	// schedule), so LR/Base is the schedule's factor.
	Base *Node
	// First is a boolean scalar, true on the optimizer's first update (T == 1).
	// In a population update it is a [K] vector, one per member, which Where
	// broadcasts over any [K, ...] operand.
	First *Node

	// step is T as an int64 scalar (exact for any number of steps, for
	// periodic decisions such as Lookahead's synchronisations).
	step *Node
	// prefix is prepended to the name of every state buffer and scalar this
	// step creates: "base." per wrapper a transform runs inside (Nested),
	// "group_NAME." for the variables of a parameter group (groups.go).
	prefix string
	// serial orders the update's While loops and matrix products
	// (Shampoo's and SOAP's) one after the other, across parameter groups
	// too: see loopOrder.
	serial *loopOrder

	writes []stateWrite
	// pop is set in a population update (see Population): parameters,
	// updates and state are then stacked along a leading member axis.
	pop *members

	// index holds the indices of this step's variables in the whole update
	// (parameter groups, groups.go; nil: the identity).
	index []int
	// telemetry is set while an update is built with telemetry (telemetry.go).
	telemetry *Telemetry
}

// Nested applies t to u with t's state kept apart from the state of the same
// transforms elsewhere in the chain: while t builds its graph, every state
// name it uses (Slot, SlotWithShape, ScalarState) is prefixed by name + ".".
// Wrappers (Lookahead, EMA, SAM, Cautious) apply their base this way, so that
// lookahead(base=lookahead(base=adam)) keeps two sets of slow weights and
// Adam's buffers once. Parameter groups use the same prefix: the state of a
// group's chain is named "group_NAME." + name (see Group).
func (s *Step) Nested(name string, t Transform, u []*Node) []*Node {
	old := s.prefix
	s.prefix = old + name + "."
	defer func() { s.prefix = old }()
	return t.Apply(s, u)
}

// StepInt returns the optimizer's step counter T as an int64 scalar (1 at the
// first update), for decisions that must stay exact however long training
// runs (every k-th step). In a population update with skip_nonfinite it is a
// [K] vector, one counter per member.
func (s *Step) StepInt() *Node { return s.step }

// stateWrite is a state variable's new value, recorded until the update is
// committed.
type stateWrite struct {
	v        *model.Variable
	old, new *Node
	// shared marks state all members of a population share (its step
	// counter): a member's guard does not apply to it.
	shared bool
}

// Graph returns the graph being built.
func (s *Step) Graph() *Graph { return s.g }

// DType returns the float dtype the update is computed in.
func (s *Step) DType() dtypes.DType { return s.dtype }

// NumParams returns the number of trainable variables being updated.
func (s *Step) NumParams() int { return len(s.params) }

// Param returns the current value of the i-th trainable variable (in a
// population update, the members' values as a [K, n] matrix).
func (s *Step) Param(i int) *Node { return s.params[i] }

// Const returns a scalar constant in the update's dtype.
func (s *Step) Const(v float64) *Node { return Scalar(s.g, s.dtype, v) }

// Slot returns the current value of the per-parameter state buffer called name
// for the i-th trainable variable, creating it if needed. A fresh buffer reads as
// init on the optimizer's first update (zero-initialized buffers cost nothing
// extra). Write the new value with SetSlot.
func (s *Step) Slot(name string, i int, init float64) *Node {
	v := s.slotVar(name, i)
	old := s.flat(v.NodeValue(s.g))
	if old.DType() != s.dtype {
		old = ConvertDType(old, s.dtype)
	}
	if init != 0 {
		return Where(s.First, BroadcastToShape(s.Const(init), old.Shape()), old)
	}
	return old
}

// SetSlot records the new value of the per-parameter state buffer called name
// for the i-th trainable variable. The write happens when the update is
// committed (and not at all when a non-finite step is skipped).
func (s *Step) SetSlot(name string, i int, value *Node) {
	v := s.slotVar(name, i)
	s.writes = append(s.writes, stateWrite{v: v, old: v.NodeValue(s.g), new: s.unflat(value, v.Shape())})
}

func (s *Step) slotVar(name string, i int) *model.Variable {
	tv := s.vars[i]
	shape := tv.Shape().Clone()
	return s.scope.Store().VariableWithShape(slotPath(tv, s.prefix+name), shape, initializer.Zero).SetTrainable(false)
}

// ScalarState returns a scalar state variable shared by all parameters (for
// example NAdam's running product of momentum coefficients), initialized to init.
// In a population update each member has its own: the value is [K, 1].
func (s *Step) ScalarState(name string, init float64) *Node {
	v := s.scalarVar(name, init)
	x := v.NodeValue(s.g)
	if x.DType() != s.dtype {
		x = ConvertDType(x, s.dtype)
	}
	if s.pop != nil {
		x = Reshape(x, s.pop.k, 1)
	}
	return x
}

// SetScalarState records the new value of a scalar state variable.
func (s *Step) SetScalarState(name string, value *Node) {
	v := s.scalarVar(name, 0)
	if s.pop != nil {
		value = Reshape(BroadcastToDims(value, s.pop.k, 1), s.pop.k)
	}
	s.writes = append(s.writes, stateWrite{v: v, old: v.NodeValue(s.g), new: value})
}

func (s *Step) scalarVar(name string, init float64) *model.Variable {
	path := model.JoinPath(StateScope, s.prefix+name)
	if s.pop != nil {
		return s.scope.Store().VariableWithValue(path, vectorOf(s.dtype, s.pop.k, init)).SetTrainable(false)
	}
	return s.scope.Store().VariableWithValue(path, scalarOf(s.dtype, init)).SetTrainable(false)
}

// vectorOf returns n copies of v as a Go slice of the given float dtype.
func vectorOf(dtype dtypes.DType, n int, v float64) any {
	if dtype == dtypes.Float64 {
		out := make([]float64, n)
		for i := range out {
			out[i] = v
		}
		return out
	}
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(v)
	}
	return out
}

// scalarOf returns init as a Go scalar of the given float dtype.
func scalarOf(dtype dtypes.DType, v float64) any {
	switch dtype {
	case dtypes.Float32:
		return float32(v)
	case dtypes.Float16, dtypes.BFloat16:
		return float32(v)
	default:
		return v
	}
}

// commit writes every recorded state value and the new parameter values. When
// guard is not nil (a boolean scalar), the writes only take effect where it is
// true: otherwise variables keep their old values.
func (s *Step) commit(guard *Node) {
	for _, w := range s.writes {
		g := guard
		if w.shared {
			g = nil
		}
		w.v.SetNodeValue(guarded(g, w.new, w.old))
	}
}

// guarded converts value to old's dtype and, when guard is set, selects old where
// guard is false.
func guarded(guard, value, old *Node) *Node {
	if value.DType() != old.DType() {
		value = ConvertDType(value, old.DType())
	}
	if guard == nil {
		return value
	}
	return Where(guard, value, old)
}

// SlotWithShape is Slot for a state buffer whose shape differs from the
// parameter's (Adafactor's row and column statistics); it is zero-initialized.
func (s *Step) SlotWithShape(name string, i int, dims ...int) *Node {
	if s.pop != nil {
		panic(fmt.Errorf("optimizers: SlotWithShape(%q) in a population update: shaped state needs the parameter's own shape (the transform is not Stackable)", name))
	}
	v := s.slotVarShaped(name, i, dims)
	old := v.NodeValue(s.g)
	if old.DType() != s.dtype {
		old = ConvertDType(old, s.dtype)
	}
	return old
}

// SetSlotWithShape records the new value of a buffer created by SlotWithShape.
func (s *Step) SetSlotWithShape(name string, i int, value *Node) {
	v := s.slotVarShaped(name, i, value.Shape().Dimensions)
	s.writes = append(s.writes, stateWrite{v: v, old: v.NodeValue(s.g), new: value})
}

func (s *Step) slotVarShaped(name string, i int, dims []int) *model.Variable {
	tv := s.vars[i]
	return s.scope.Store().VariableWithShape(slotPath(tv, s.prefix+name), shapes.Make(tv.Shape().DType, dims...), initializer.Zero).
		SetTrainable(false)
}

// slotPath is the full path of the state buffer called name of the trainable
// variable tv: StateScope followed by tv's scope, and the buffer named
// "<variable>~<name>".
func slotPath(tv *model.Variable, name string) string {
	return model.JoinPath(StateScope, tv.Scope(), fmt.Sprintf("%s~%s", tv.Name(), name))
}

// Einsum is GoMLX's Einsum run after the update's previous matrix product or
// loop, never alongside it (see loopOrder): rules with many products per
// parameter (Shampoo, SOAP) use it.
func (s *Step) Einsum(equation string, a, b *Node) *Node { return s.serial.einsum(equation, a, b) }

// OneMinusPow returns 1 − βᵗ at the step's t (a bias correction) for the
// hyperparameter key whose value is beta (read through Hyper64, so a
// population gives each member its own), computed in float64 and converted
// to the update's dtype: in float32, 1 − 0.999ᵗ computed directly loses
// about 1e-5 relative.
func (s *Step) OneMinusPow(key string, beta float64) *Node {
	return s.ToDType(OneMinus(Pow(s.Hyper64(key, beta), s.float64T())))
}

// OneMinusHyper returns 1 − v for the hyperparameter key whose value is v (read
// through Hyper64), computed in float64 and rounded once to the update's
// dtype, as PyTorch computes 1 − β on the host.
func (s *Step) OneMinusHyper(key string, v float64) *Node {
	return s.ToDType(OneMinus(s.Hyper64(key, v)))
}

// float64T returns the step counter T in float64 (a scalar, or a [K, 1]
// column in a population update with skip_nonfinite), for scalar factors
// (bias corrections, schedules) computed once per step in full precision.
func (s *Step) float64T() *Node { return ConvertDType(s.T, dtypes.Float64) }
