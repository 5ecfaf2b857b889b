package bench

import (
	"math"
	"strings"
	"testing"

	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/population"
)

func TestSweepLRs(t *testing.T) {
	for _, tc := range []struct {
		lr   float64
		n    int
		want []float64
	}{
		{1e-3, 1, []float64{1e-3}},
		{1e-3, 3, []float64{1e-4, 1e-3, 1e-2}},
		{0.1, 5, []float64{0.01, 0.1 / math.Sqrt(10), 0.1, 0.1 * math.Sqrt(10), 1}},
	} {
		got := SweepLRs(tc.lr, tc.n)
		for i := range tc.want {
			if math.Abs(got[i]-tc.want[i]) > 1e-12*tc.want[i] {
				t.Errorf("SweepLRs(%g, %d) = %v, want %v", tc.lr, tc.n, got, tc.want)
				break
			}
		}
	}
}

func TestBenchPopulationReportsThroughput(t *testing.T) {
	d := testData(t, datasets.SplitTest, 2000)
	r, err := Population(testBackend(t), d.Train, "mlp-small", optimizers.MustParse("adam"), 4, 32, 5, 1, 1, nil, 1000, population.Train)
	if err != nil {
		t.Fatal(err)
	}
	if r.Members != 4 || len(r.LRs) != 4 || r.Steps != 5 || r.BatchSize != 32 {
		t.Fatalf("result %+v", r)
	}
	if r.Seconds <= 0 || r.MemberSamplesPerSec <= 0 || r.FirstStepSeconds <= 0 {
		t.Errorf("non-positive timing: %+v", r)
	}
	if want := r.MemberSamplesPerSec * 3600 / TrialExamples; r.TrialsPerHour != want {
		t.Errorf("trials/hour %v, want %v", r.TrialsPerHour, want)
	}
	if r.SequentialTrialsPerHour != 60 || math.Abs(r.Speedup-r.TrialsPerHour/60) > 1e-9 {
		t.Errorf("sequential %v trials/hour, speedup %v: want 60 (1,000 samples/s) and their ratio", r.SequentialTrialsPerHour, r.Speedup)
	}
}

func TestBenchPopulationRejectsBadInput(t *testing.T) {
	d := testData(t, datasets.SplitTest, 100)
	b := testBackend(t)
	adam := optimizers.MustParse("adam")
	for _, c := range []struct {
		name                          string
		opt                           *optimizers.Optimizer
		members, batch, steps, epochs int
		train                         TrainPopulation
		want                          string
	}{
		{"no trainer", adam, 2, 10, 1, 1, nil, "no population trainer"},
		{"no optimizer", nil, 2, 10, 1, 1, population.Train, "no optimizer"},
		{"no members", adam, 0, 10, 1, 1, population.Train, "population size must be ≥ 1, got 0"},
		{"zero steps", adam, 2, 10, 0, 1, population.Train, "got 10, 0 and 1"},
		{"too few examples", adam, 2, 32, 10, 1, population.Train, "need 320 examples"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := Population(b, d.Train, "mlp-small", c.opt, c.members, c.batch, c.steps, c.epochs, 1, nil, 0, c.train)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
