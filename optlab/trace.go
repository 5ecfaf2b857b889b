package optlab

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"

	"optlab.dev/optlab/optimizers"
)

// Objective is a scalar function of a parameter vector w (shape [n]) written as
// GoMLX graph code. It must return a scalar of w's dtype.
type Objective func(w *Node) *Node

// Trajectory is the record of a Trace: the parameters and the objective after
// every update.
type Trajectory struct {
	// Optimizer is the canonical spec of the optimizer that ran.
	Optimizer string
	// DType is the float type the run used ("float32" or "float64").
	DType string
	// Params[k] are the parameters after k updates; Params[0] is the start point.
	Params [][]float64
	// Loss[k] is the objective at Params[k].
	Loss []float64
}

// Steps returns the number of updates recorded.
func (t *Trajectory) Steps() int { return len(t.Params) - 1 }

// Final returns the parameters after the last update.
func (t *Trajectory) Final() []float64 { return t.Params[len(t.Params)-1] }

// Trace runs steps updates of opt on f from w0, in dtype (dtypes.Float32 or
// dtypes.Float64), on backend, and returns every step's parameters and
// objective value. Each call starts from a fresh context, so optimizer state and
// the global step start at zero.
//
// If the parameters or the objective stop being finite, Trace returns the
// trajectory up to the last finite step together with an error naming the
// step and the coordinate.
func Trace(backend backends.Backend, opt *optimizers.Optimizer, f Objective, w0 []float64, steps int, dtype dtypes.DType) (*Trajectory, error) {
	if opt == nil || f == nil || backend == nil {
		return nil, fmt.Errorf("trace: optimizer, objective and backend must not be nil")
	}
	if len(w0) == 0 {
		return nil, fmt.Errorf("trace: empty start point w0")
	}
	for i, x := range w0 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("trace: w0[%d] = %g is not finite", i, x)
		}
	}
	if steps < 0 {
		return nil, fmt.Errorf("trace: steps = %d must be >= 0", steps)
	}
	if dtype != dtypes.Float32 && dtype != dtypes.Float64 {
		return nil, fmt.Errorf("trace: dtype %s not supported (use float32 or float64)", dtype)
	}

	ctx := context.New()
	var wVar *context.Variable
	if dtype == dtypes.Float32 {
		w32 := make([]float32, len(w0))
		for i, x := range w0 {
			w32[i] = float32(x)
		}
		wVar = ctx.VariableWithValue("w", w32)
	} else {
		wVar = ctx.VariableWithValue("w", append([]float64(nil), w0...))
	}

	objective := func(w *Node) *Node {
		loss := f(w)
		if !loss.Shape().IsScalar() {
			panic(fmt.Errorf("the objective must return a scalar, got shape %s", loss.Shape()))
		}
		if loss.DType() != w.DType() {
			loss = ConvertDType(loss, w.DType())
		}
		return loss
	}
	stepExec, err := context.NewExec(backend, ctx, func(ctx *context.Context, g *Graph) *Node {
		ctx.SetTraining(g, true)
		loss := objective(wVar.ValueGraph(g))
		opt.UpdateGraph(ctx, g, loss)
		return loss
	})
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	evalExec, err := context.NewExec(backend, ctx, func(ctx *context.Context, g *Graph) *Node {
		return objective(wVar.ValueGraph(g))
	})
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}

	tr := &Trajectory{Optimizer: opt.String(), DType: strings.ToLower(dtype.String())}
	read := func() ([]float64, error) {
		v, err := wVar.Value()
		if err != nil {
			return nil, err
		}
		return toFloat64s(v)
	}
	w, err := read()
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	tr.Params = append(tr.Params, w)
	for k := 1; k <= steps; k++ {
		outs, err := runSafely(stepExec)
		if err != nil {
			return nil, fmt.Errorf("trace %s: step %d: %w", opt, k, err)
		}
		tr.Loss = append(tr.Loss, scalar(outs[0]))
		w, err := read()
		if err != nil {
			return nil, fmt.Errorf("trace: %w", err)
		}
		if i := firstNonFinite(w); i >= 0 {
			// The loss just returned is f at the last finite parameters, so
			// Params and Loss stay aligned without that step.
			return tr, fmt.Errorf("trace %s: diverged at step %d: w[%d] = %g", opt, k, i, w[i])
		}
		tr.Params = append(tr.Params, w)
	}
	if err := finishLoss(tr, evalExec); err != nil {
		return nil, err
	}
	if last := tr.Loss[len(tr.Loss)-1]; math.IsNaN(last) || math.IsInf(last, 0) {
		return tr, fmt.Errorf("trace %s: objective is %g after step %d", opt, last, tr.Steps())
	}
	return tr, nil
}

// finishLoss appends the objective at the last recorded parameters (the step
// graph reports it before each update, so the last one is missing).
func finishLoss(tr *Trajectory, evalExec *context.Exec) error {
	outs, err := runSafely(evalExec)
	if err != nil {
		return fmt.Errorf("trace: evaluating the objective: %w", err)
	}
	tr.Loss = append(tr.Loss, scalar(outs[0]))
	return nil
}

func runSafely(e *context.Exec) (outs []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return e.Exec()
}

func toFloat64s(t *tensors.Tensor) ([]float64, error) {
	switch t.DType() {
	case dtypes.Float64:
		return tensors.MustCopyFlatData[float64](t), nil
	case dtypes.Float32:
		v := tensors.MustCopyFlatData[float32](t)
		out := make([]float64, len(v))
		for i, x := range v {
			out[i] = float64(x)
		}
		return out, nil
	}
	return nil, fmt.Errorf("unexpected dtype %s", t.DType())
}

func firstNonFinite(w []float64) int {
	for i, x := range w {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return i
		}
	}
	return -1
}

// Quadratic is the diagonal quadratic f(w) = Σ ½·a_i·w_i² + b_i·w_i with a start
// point: the simplest problem on which update rules can be compared exactly. Its
// minimum, when every a_i > 0, is at w_i = −b_i/a_i.
type Quadratic struct {
	A, B, W0 []float64
}

// Validate checks that A, B and W0 have the same, non-zero length and finite
// entries.
func (q Quadratic) Validate() error {
	n := len(q.A)
	if n == 0 {
		return fmt.Errorf("quadratic: a is empty")
	}
	if len(q.B) != n || len(q.W0) != n {
		return fmt.Errorf("quadratic: a, b and w0 must have the same length, got %d, %d and %d", n, len(q.B), len(q.W0))
	}
	for name, v := range map[string][]float64{"a": q.A, "b": q.B, "w0": q.W0} {
		if i := firstNonFinite(v); i >= 0 {
			return fmt.Errorf("quadratic: %s[%d] = %g is not finite", name, i, v[i])
		}
	}
	return nil
}

// Objective returns f as graph code.
func (q Quadratic) Objective() Objective {
	a := append([]float64(nil), q.A...)
	b := append([]float64(nil), q.B...)
	return func(w *Node) *Node {
		g := w.Graph()
		an := ConvertDType(Const(g, a), w.DType())
		bn := ConvertDType(Const(g, b), w.DType())
		half := Scalar(g, w.DType(), 0.5)
		return ReduceAllSum(Add(Mul(half, Mul(an, Square(w))), Mul(bn, w)))
	}
}

// Value evaluates f(w) in float64 on the host.
func (q Quadratic) Value(w []float64) float64 {
	s := 0.0
	for i := range w {
		s += 0.5*q.A[i]*w[i]*w[i] + q.B[i]*w[i]
	}
	return s
}

// Trace runs opt on the quadratic from W0: Trace(backend, opt, q.Objective(), q.W0, steps, dtype).
func (q Quadratic) Trace(backend backends.Backend, opt *optimizers.Optimizer, steps int, dtype dtypes.DType) (*Trajectory, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return Trace(backend, opt, q.Objective(), q.W0, steps, dtype)
}
