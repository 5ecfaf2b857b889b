package optlab

import (
	"fmt"
	"testing"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"optlab.dev/internal/graphexec"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

// BenchmarkStepTelemetry measures one training update (mlp-small, Adam, batch
// 32 and 256) four ways, to show what telemetry costs:
//
//	plain       the update graph built inline as Fit built it before the
//	            Stepper existed (loss, right predictions, update; the batch
//	            gathered on the host): the baseline
//	off         Stepper.Step, telemetry off (what Fit runs with Telemetry 0)
//	every=100   telemetry on one update in 100 (Config.Telemetry 100)
//	every=1     telemetry on every update
//
// The overhead of telemetry off is (off − plain)/plain; it should be < 2%.
// Run on a quiet machine:
//
//	GOEXPERIMENT=simd go test ./optlab -run '^$' -bench BenchmarkStepTelemetry -benchtime 400x -count 8 | tee bench.txt
//	benchstat -col /mode bench.txt    # or compare the ns/op of the modes by eye
func BenchmarkStepTelemetry(b *testing.B) {
	backend, err := NewBackend("")
	if err != nil {
		b.Fatal(err)
	}
	m, err := datasets.LoadMNIST("")
	if err != nil {
		b.Fatal(err)
	}
	ds := m.Train
	opt := optimizers.MustParse("adam(lr=1e-3)")
	for _, batch := range []int{32, 256} {
		perm := datasets.Permutation(ds.Len(), 1, 1)
		batches := ds.Len() / batch
		idx := func(i int) []int { k := i % batches; return perm[k*batch : (k+1)*batch] }
		for _, mode := range []string{"plain", "off", "every=100", "every=1"} {
			b.Run(fmt.Sprintf("batch=%d/mode=%s", batch, mode), func(b *testing.B) {
				n, err := NewNetwork(backend, "mlp-small", 1, nil)
				if err != nil {
					b.Fatal(err)
				}
				var step func(i int) error
				if mode == "plain" {
					step = plainStep(b, n, opt, ds, batch, idx)
				} else {
					st, err := n.NewStepper(opt, batch, 1)
					if err != nil {
						b.Fatal(err)
					}
					every := map[string]int{"off": 0, "every=100": 100, "every=1": 1}[mode]
					step = func(i int) error {
						_, err := st.step(ds, idx(i), every > 0 && (i+1)%every == 0)
						return err
					}
				}
				// Compile both graph variants (full batch) before timing.
				for i := 0; i < 3; i++ {
					if err := step(i); err != nil {
						b.Fatal(err)
					}
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					if err := step(i); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "samples/s")
			})
		}
	}
}

// plainStep is the runner's update as Fit ran it before telemetry, gradient
// accumulation and the Stepper: the baseline of BenchmarkStepTelemetry.
func plainStep(b *testing.B, n *Network, opt *optimizers.Optimizer, ds *datasets.Dataset, batch int, idx func(int) []int) func(int) error {
	exec, err := model.NewExec(n.backend, n.store, func(scope *model.Scope, x, y *Node) []*Node {
		g := x.Graph()
		n.store.SetTraining(g, true)
		ce, correct := CrossEntropy(n.modelGraph(scope, x), y)
		train.AddMainLoss(ReduceAllMean(ce))
		loss := train.TotalLoss(g)
		opt.UpdateGraph(scope, g, loss)
		return []*Node{loss, ReduceAllSum(correct)}
	})
	if err != nil {
		b.Fatal(err)
	}
	feat := make([]float32, batch*ds.Width)
	lab := make([]int32, batch)
	return func(i int) error {
		ds.Gather(idx(i), feat, lab)
		outs, err := graphexec.Call(exec, tensors.FromFlatDataAndDimensions(feat, batch, ds.Width), tensors.FromFlatDataAndDimensions(lab, batch))
		if err != nil {
			return err
		}
		_ = graphexec.Scalar(outs[0]) + graphexec.Scalar(outs[1])
		return nil
	}
}
