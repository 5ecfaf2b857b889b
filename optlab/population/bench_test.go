package population

import (
	stdctx "context"
	"fmt"
	"math"
	"runtime"
	"testing"
	"time"

	"optlab.dev/internal/stats"
	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

// BenchmarkPopulationSweep times the target: a 16-member
// learning-rate sweep (Adam, lr 1e-4 … 1e-2 log-spaced, seed 1) at batch 32,
// one epoch, trained as one population and as 16 runs of optlab.Train one by
// one, whole trials each way (compilation and evaluation included). It
// reports trials/hour; the "interleaved" variant runs both in turn, b.N
// times, and reports their medians and the speedup, so that load on a shared
// machine hits both alike. Each model has a quick variant (6,000 images) and
// the full one (60,000 images, one epoch of MNIST, validation and test on the
// 10,000 test images):
//
//	GOEXPERIMENT=simd go test ./optlab/population -run '^$' -bench 'PopulationSweep/.*/full/interleaved' -benchtime 1x -timeout 2h
//
// scripts/bench/torch_sweep.py times the same 16 trials with PyTorch.
func BenchmarkPopulationSweep(b *testing.B) {
	const K, batch = 16, 32
	backend, err := optlab.NewBackend("")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("backend %s, %d CPUs", optlab.DescribeBackend(backend), runtime.NumCPU())
	m, err := datasets.LoadMNIST("")
	if err != nil {
		b.Fatal(err)
	}
	for _, model := range []string{"mlp-small", "mlp-bn"} {
		for _, size := range []struct {
			name  string
			limit int
		}{{"6000", 6000}, {"full", 0}} {
			data, err := optlab.SplitData(m, datasets.SplitTest, size.limit)
			if err != nil {
				b.Fatal(err)
			}
			cfgs := make([]optlab.Config, K)
			for k := range cfgs {
				lr := 1e-3 * math.Pow(10, -1+2*float64(k)/float64(K-1))
				cfgs[k] = optlab.Config{Model: model, Optimizer: optimizers.MustParse(fmt.Sprintf("adam(lr=%g)", lr)),
					Epochs: 1, BatchSize: batch, Seed: 1}
			}
			population := func(b *testing.B) time.Duration {
				start := time.Now()
				if _, err := Train(stdctx.Background(), backend, data, cfgs); err != nil {
					b.Fatal(err)
				}
				return time.Since(start)
			}
			oneByOne := func(b *testing.B) time.Duration {
				start := time.Now()
				for _, c := range cfgs {
					if _, err := optlab.Train(stdctx.Background(), backend, data, c); err != nil {
						b.Fatal(err)
					}
				}
				return time.Since(start)
			}
			perHour := func(d time.Duration) float64 { return K * 3600 / d.Seconds() }
			b.Run(model+"/"+size.name+"/population", func(b *testing.B) {
				var total time.Duration
				for range b.N {
					total += population(b)
				}
				b.ReportMetric(perHour(total/time.Duration(b.N)), "trials/h")
			})
			b.Run(model+"/"+size.name+"/sequential", func(b *testing.B) {
				var total time.Duration
				for range b.N {
					total += oneByOne(b)
				}
				b.ReportMetric(perHour(total/time.Duration(b.N)), "trials/h")
			})
			b.Run(model+"/"+size.name+"/interleaved", func(b *testing.B) {
				var pop, seq []float64
				for range b.N {
					pop = append(pop, population(b).Seconds())
					seq = append(seq, oneByOne(b).Seconds())
				}
				mp, ms := stats.Median(pop), stats.Median(seq)
				b.ReportMetric(K*3600/mp, "population-trials/h")
				b.ReportMetric(K*3600/ms, "sequential-trials/h")
				b.ReportMetric(ms/mp, "speedup")
			})
		}
	}
}
