package landscape

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/graphexec"
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
func Trace(backend compute.Backend, opt *optimizers.Optimizer, f Objective, w0 []float64, steps int, dtype dtypes.DType) (*Trajectory, error) {
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

	t := newTracer("trace", opt, w0, dtype)
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
	stepExec, err := model.NewExec(backend, t.store, func(scope *model.Scope, g *Graph) *Node {
		t.store.SetTraining(g, true)
		// A loss function, so that sam can take its second gradient.
		return opt.UpdateGraphWithLossFunc(scope, g, func() *Node { return objective(t.w.NodeValue(g)) })
	})
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	evalExec, err := model.NewExec(backend, t.store, func(scope *model.Scope, g *Graph) *Node {
		return objective(t.w.NodeValue(g))
	})
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	// The step graph returns the objective before its update, so the loss of
	// each step's parameters comes with the next step, and the last one from
	// the evaluation graph.
	return t.run(steps, true,
		func(int) ([]*tensors.Tensor, error) { return graphexec.Call(stepExec) },
		func() ([]*tensors.Tensor, error) { return graphexec.Call(evalExec) })
}

// tracer holds what Trace and TraceStochastic share: the parameter variable,
// in its dtype, and the trajectory being recorded.
type tracer struct {
	what  string // "trace" or "stochastic trace", to begin messages
	opt   *optimizers.Optimizer
	store *model.Store
	w     *model.Variable
	tr    *Trajectory
}

// newTracer creates the store holding the parameters w0 in dtype.
func newTracer(what string, opt *optimizers.Optimizer, w0 []float64, dtype dtypes.DType) *tracer {
	t := &tracer{what: what, opt: opt, store: model.NewStore(),
		tr: &Trajectory{Optimizer: opt.String(), DType: strings.ToLower(dtype.String())}}
	if dtype == dtypes.Float32 {
		w32 := make([]float32, len(w0))
		for i, x := range w0 {
			w32[i] = float32(x)
		}
		t.w = t.store.VariableWithValue("/w", w32)
	} else {
		t.w = t.store.VariableWithValue("/w", append([]float64(nil), w0...))
	}
	return t
}

// params reads the current parameters.
func (t *tracer) params() ([]float64, error) {
	v, err := t.w.Value()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.what, err)
	}
	w, err := toFloat64s(v)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", t.what, err)
	}
	return w, nil
}

// run records the start point and takes steps updates: step(k) applies update
// k and evaluate computes the objective at the current parameters. With
// lossBefore, step's first output is the objective at the parameters before
// its update and evaluate is called once, after the last step; otherwise
// evaluate is called at the start and after every step, and a non-finite
// objective ends the run there. A run whose parameters or objective stop being
// finite returns the trajectory up to its last finite step and an error.
func (t *tracer) run(steps int, lossBefore bool, step func(k int) ([]*tensors.Tensor, error), evaluate func() ([]*tensors.Tensor, error)) (*Trajectory, error) {
	tr := t.tr
	loss := func() (float64, error) {
		outs, err := evaluate()
		if err != nil {
			return 0, fmt.Errorf("%s: evaluating the objective: %w", t.what, err)
		}
		return graphexec.Scalar(outs[0]), nil
	}
	// lossAfter records the objective after k updates; a failed evaluation
	// returns no trajectory, a non-finite objective the trajectory so far.
	lossAfter := func(k int) (*Trajectory, error) {
		l, err := loss()
		if err != nil {
			return nil, err
		}
		tr.Loss = append(tr.Loss, l)
		if math.IsNaN(l) || math.IsInf(l, 0) {
			return tr, fmt.Errorf("%s %s: objective is %g after step %d", t.what, t.opt, l, k)
		}
		return tr, nil
	}
	w, err := t.params()
	if err != nil {
		return nil, err
	}
	tr.Params = append(tr.Params, w)
	if !lossBefore {
		l, err := loss()
		if err != nil {
			return nil, err
		}
		tr.Loss = append(tr.Loss, l)
	}
	for k := 1; k <= steps; k++ {
		outs, err := step(k)
		if err != nil {
			return nil, fmt.Errorf("%s %s: step %d: %w", t.what, t.opt, k, err)
		}
		if lossBefore {
			tr.Loss = append(tr.Loss, graphexec.Scalar(outs[0]))
		}
		w, err := t.params()
		if err != nil {
			return nil, err
		}
		if i := firstNonFinite(w); i >= 0 {
			// With lossBefore, the loss just recorded is f at the last finite
			// parameters, so Params and Loss stay aligned without this step.
			return tr, fmt.Errorf("%s %s: diverged at step %d: w[%d] = %g", t.what, t.opt, k, i, w[i])
		}
		tr.Params = append(tr.Params, w)
		if !lossBefore {
			if res, err := lossAfter(k); err != nil {
				return res, err
			}
		}
	}
	if lossBefore {
		return lossAfter(tr.Steps())
	}
	return tr, nil
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
func (q Quadratic) Trace(backend compute.Backend, opt *optimizers.Optimizer, steps int, dtype dtypes.DType) (*Trajectory, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return Trace(backend, opt, q.Objective(), q.W0, steps, dtype)
}

// WriteCSV writes the trajectory as CSV: a header step,w0,w1,...[,loss], then
// one row per recorded step (row 0 is the start point), each number in the
// shortest decimal that reads back exactly in the run's dtype.
func (t *Trajectory) WriteCSV(w io.Writer, withLoss bool) error {
	bw := bufio.NewWriter(w)
	n := len(t.Params[0])
	header := []string{"step"}
	for i := 0; i < n; i++ {
		header = append(header, "w"+strconv.Itoa(i))
	}
	if withLoss {
		header = append(header, "loss")
	}
	fmt.Fprintln(bw, strings.Join(header, ","))
	bits := 64
	if t.DType == "float32" {
		bits = 32
	}
	row := make([]string, 0, n+2)
	for k, p := range t.Params {
		row = append(row[:0], strconv.Itoa(k))
		for _, x := range p {
			row = append(row, strconv.FormatFloat(x, 'g', -1, bits))
		}
		if withLoss {
			row = append(row, strconv.FormatFloat(t.Loss[k], 'g', -1, bits))
		}
		fmt.Fprintln(bw, strings.Join(row, ","))
	}
	return bw.Flush()
}
