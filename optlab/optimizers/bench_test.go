package optimizers_test

import (
	"fmt"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"

	"optlab.dev/optlab"
	"optlab.dev/optlab/optimizers"
)

// BenchmarkAdamUpdate measures one Adam update of n float32 parameters on the
// backend selected by $GOMLX_BACKEND (default: the pure-Go backend). The
// gradient is made inside the graph (g = 0.01·p, the gradient of 0.005·‖p‖²), so
// the time is the update's: read p, m, v and write them back. It reports
// parameters per second and effective bytes per second counting those 24 bytes
// per parameter (28 if one also counts reading a stored gradient, as PyTorch's
// fused Adam does). Compare with scripts/reference/bench_adam.py.
func BenchmarkAdamUpdate(b *testing.B) {
	backend, err := optlab.NewBackend("")
	if err != nil {
		b.Fatal(err)
	}
	// 109,386 is the size of the 784-128-64-10 MLP of the walkthrough.
	for _, n := range []int{109_386, 1_000_000, 100_000_000} {
		b.Run(fmt.Sprintf("params=%s/%s", sizeName(n), backend.Name()), func(b *testing.B) {
			opt := optimizers.MustParse("adam(lr=1e-3)")
			store := model.NewStore()
			w := store.VariableWithShape("/w", shapes.Make(dtypes.Float32, n), initializer.RandomNormalFn(store.RootScope(), 1))
			exec, err := model.NewExec(backend, store, func(scope *model.Scope, g *Graph) {
				p := w.NodeValue(g)
				opt.UpdateGraphWithGradients(scope, []*Node{MulScalar(p, 0.01)}, dtypes.Float32)
			})
			if err != nil {
				b.Fatal(err)
			}
			// The first call compiles and allocates the state.
			if _, err := exec.Call(); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := exec.Call(); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			// Read the value back so asynchronous backends have finished.
			if _, err := w.Value(); err != nil {
				b.Fatal(err)
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(float64(n)/sec, "params/s")
			b.ReportMetric(24*float64(n)/sec/1e9, "GB/s")
			b.ReportMetric(sec*1e3, "ms/update")
			exec.Finalize()
			store.Finalize()
		})
	}
}

// sizeName prints 1000000 as "1M" and 109386 as "109386".
func sizeName(n int) string {
	if n%1_000_000 == 0 {
		return fmt.Sprintf("%dM", n/1_000_000)
	}
	return fmt.Sprint(n)
}
