package benchmark

import (
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/optimizers"
)

// BenchmarkWorkloadSteps trains each workload with Adam for a few steps and
// reports its training throughput in steps per second (the clock of time to
// target: evaluations excluded, the first step's compilation included, so
// the figure is for short runs): what sizes the workloads' budgets and the
// benchmark's run time. Run it on an idle machine:
//
//	GOEXPERIMENT=simd go test ./optlab/benchmark -run '^$' -bench WorkloadSteps -benchtime 3x
func BenchmarkWorkloadSteps(b *testing.B) {
	backend, err := optlab.NewBackend("")
	if err != nil {
		b.Fatal(err)
	}
	data := NewData(nil)
	for _, w := range workloadDefs() {
		b.Run(w.Name, func(b *testing.B) {
			steps := 50
			if w.Name == "fmnist_2c2d" {
				steps = 10
			}
			t := Trial{Workload: w.Name, Ruleset: SelfTuning, Submission: "adam", Optimizer: optimizers.MustParse("adam"), Seed: 1,
				Model: w.Model, BatchSize: w.BatchSize, Steps: steps, EvalEvery: steps, Metric: w.Metric}
			var train float64
			for range b.N {
				h, err := TrainTrial(b.Context(), backend, data, t)
				if err != nil {
					b.Fatal(err)
				}
				train += h.Evals[len(h.Evals)-1].Seconds
			}
			b.ReportMetric(float64(steps*b.N)/train, "steps/s")
		})
	}
}
