package optimizers

import (
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// testBackend returns the pure-Go backend shared by the tests of this package.
func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := compute.NewWithConfig("go")
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
func runTrajectory(t testing.TB, backend compute.Backend, opt *Optimizer, f func(w *Node) *Node, w0 []float64, steps int) [][]float64 {
	return runShapedTrajectory(t, backend, opt, f, w0, []int{len(w0)}, steps)
}

// runShapedTrajectory is runTrajectory for a parameter of the given shape
// (w0 and the returned rows are flattened row-major).
func runShapedTrajectory(t testing.TB, backend compute.Backend, opt *Optimizer, f func(w *Node) *Node, w0 []float64, shape []int, steps int) [][]float64 {
	t.Helper()
	traj, _ := runTrajectoryWithAverage(t, backend, opt, f, w0, shape, steps)
	return traj
}

// runTrajectoryWithAverage is runShapedTrajectory that also returns, for an
// optimizer with an ema wrapper, the moving average after every update (row 0
// is w0; nil for other optimizers). The update is built with
// UpdateGraphWithLossFunc, so sam takes its second gradient at p + e.
func runTrajectoryWithAverage(t testing.TB, backend compute.Backend, opt *Optimizer, f func(w *Node) *Node, w0 []float64, shape []int, steps int) (traj, avg [][]float64) {
	t.Helper()
	store := model.NewStore()
	wVar := store.VariableWithValue("/w", tensors.FromFlatDataAndDimensions(append([]float64(nil), w0...), shape...))
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) *Node {
		scope.Store().SetTraining(g, true)
		return opt.UpdateGraphWithLossFunc(scope, g, func() *Node { return f(wVar.NodeValue(g)) })
	})
	if err != nil {
		t.Fatalf("exec: %v", err)
	}
	_, hasAvg := opt.emaPrefix()
	traj = [][]float64{append([]float64(nil), w0...)}
	if hasAvg {
		avg = [][]float64{append([]float64(nil), w0...)}
	}
	for k := 0; k < steps; k++ {
		if _, err := exec.Call(); err != nil {
			t.Fatalf("%s step %d: %v", opt, k+1, err)
		}
		traj = append(traj, tensors.MustCopyFlatData[float64](wVar.MustValue()))
		if hasAvg {
			v := opt.AveragedVariable(store, wVar)
			if v == nil {
				t.Fatalf("%s: no moving average after step %d", opt, k+1)
			}
			avg = append(avg, tensors.MustCopyFlatData[float64](v.MustValue()))
		}
	}
	return traj, avg
}
