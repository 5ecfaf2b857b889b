package optimizers

import (
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

// testBackend returns the pure-Go backend shared by the tests of this package.
func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatalf("backend: %v", err)
	}
	return b
}

// quadratic is f(w) = Σ ½·a_i·w_i² + b_i·w_i.
func quadraticGraph(a, b []float64) func(w *Node) *Node {
	return func(w *Node) *Node {
		g := w.Graph()
		an := Reshape(ConvertDType(Const(g, a), w.DType()), w.Shape().Dimensions...)
		bn := Reshape(ConvertDType(Const(g, b), w.DType()), w.Shape().Dimensions...)
		return ReduceAllSum(Add(Mul(Scalar(g, w.DType(), 0.5), Mul(an, Square(w))), Mul(bn, w)))
	}
}

// runTrajectory runs steps updates of opt on f from w0 in float64 and returns
// the parameters after every update (row 0 is w0).
func runTrajectory(t testing.TB, backend backends.Backend, opt *Optimizer, f func(w *Node) *Node, w0 []float64, steps int) [][]float64 {
	return runShapedTrajectory(t, backend, opt, f, w0, []int{len(w0)}, steps)
}

// runShapedTrajectory is runTrajectory for a parameter of the given shape
// (w0 and the returned rows are flattened row-major).
func runShapedTrajectory(t testing.TB, backend backends.Backend, opt *Optimizer, f func(w *Node) *Node, w0 []float64, shape []int, steps int) [][]float64 {
	t.Helper()
	ctx := context.New()
	wVar := ctx.VariableWithValue("w", tensors.FromFlatDataAndDimensions(append([]float64(nil), w0...), shape...))
	exec, err := context.NewExec(backend, ctx, func(ctx *context.Context, g *Graph) *Node {
		ctx.SetTraining(g, true)
		w := wVar.ValueGraph(g)
		loss := f(w)
		opt.UpdateGraph(ctx, g, loss)
		return loss
	})
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	out := [][]float64{append([]float64(nil), w0...)}
	for k := 0; k < steps; k++ {
		if _, err := exec.Exec(); err != nil {
			t.Fatalf("%s step %d: %v", opt, k+1, err)
		}
		out = append(out, tensors.MustCopyFlatData[float64](wVar.MustValue()))
	}
	return out
}
