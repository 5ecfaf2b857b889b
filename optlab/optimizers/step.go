package optimizers

import (
	"fmt"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/context/initializers"
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
	ctx    *context.Context
	g      *Graph
	dtype  dtypes.DType
	vars   []*context.Variable
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
	First *Node

	writes []stateWrite
}

type stateWrite struct {
	v        *context.Variable
	old, new *Node
}

// Graph returns the graph being built.
func (s *Step) Graph() *Graph { return s.g }

// DType returns the float dtype the update is computed in.
func (s *Step) DType() dtypes.DType { return s.dtype }

// NumParams returns the number of trainable variables being updated.
func (s *Step) NumParams() int { return len(s.params) }

// Param returns the current value of the i-th trainable variable.
func (s *Step) Param(i int) *Node { return s.params[i] }

// Const returns a scalar constant in the update's dtype.
func (s *Step) Const(v float64) *Node { return Scalar(s.g, s.dtype, v) }

// Slot returns the current value of the per-parameter state buffer called name
// for the i-th trainable variable, creating it if needed. A fresh buffer reads as
// init on the optimizer's first update (zero-initialized buffers cost nothing
// extra). Write the new value with SetSlot.
func (s *Step) Slot(name string, i int, init float64) *Node {
	v := s.slotVar(name, i)
	old := v.ValueGraph(s.g)
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
	s.writes = append(s.writes, stateWrite{v: v, old: v.ValueGraph(s.g), new: value})
}

func (s *Step) slotVar(name string, i int) *context.Variable {
	tv := s.vars[i]
	shape := tv.Shape().Clone()
	return s.ctx.Checked(false).InAbsPath(StateScope+tv.Scope()).
		WithInitializer(initializers.Zero).
		VariableWithShape(fmt.Sprintf("%s~%s", tv.Name(), name), shape).
		SetTrainable(false)
}

// ScalarState returns a scalar state variable shared by all parameters (for
// example NAdam's running product of momentum coefficients), initialized to init.
func (s *Step) ScalarState(name string, init float64) *Node {
	v := s.scalarVar(name, init)
	x := v.ValueGraph(s.g)
	if x.DType() != s.dtype {
		x = ConvertDType(x, s.dtype)
	}
	return x
}

// SetScalarState records the new value of a scalar state variable.
func (s *Step) SetScalarState(name string, value *Node) {
	v := s.scalarVar(name, 0)
	s.writes = append(s.writes, stateWrite{v: v, old: v.ValueGraph(s.g), new: value})
}

func (s *Step) scalarVar(name string, init float64) *context.Variable {
	return s.ctx.Checked(false).InAbsPath(StateScope).
		VariableWithValue(name, scalarOf(s.dtype, init)).SetTrainable(false)
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
		w.v.SetValueGraph(guarded(guard, w.new, w.old))
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
	v := s.slotVarShaped(name, i, dims)
	old := v.ValueGraph(s.g)
	if old.DType() != s.dtype {
		old = ConvertDType(old, s.dtype)
	}
	return old
}

// SetSlotWithShape records the new value of a buffer created by SlotWithShape.
func (s *Step) SetSlotWithShape(name string, i int, value *Node) {
	v := s.slotVarShaped(name, i, value.Shape().Dimensions)
	s.writes = append(s.writes, stateWrite{v: v, old: v.ValueGraph(s.g), new: value})
}

func (s *Step) slotVarShaped(name string, i int, dims []int) *context.Variable {
	tv := s.vars[i]
	return s.ctx.Checked(false).InAbsPath(StateScope+tv.Scope()).
		WithInitializer(initializers.Zero).
		VariableWithShape(fmt.Sprintf("%s~%s", tv.Name(), name), shapes.Make(tv.Shape().DType, dims...)).
		SetTrainable(false)
}
