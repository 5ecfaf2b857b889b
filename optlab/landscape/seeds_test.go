package landscape

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/optimizers"
)

// TestRunSeeds: one trajectory per seed, different seeds draw different
// batches, a diverging rate is kept as a diverged run, and the summaries
// (tail means, first steps below a target, counts) read the trajectories.
func TestRunSeeds(t *testing.T) {
	backend := goBackend(t)
	f, err := functions.Get("ill-conditioned(kappa=10,angle=20)")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NoisyFunction(f, 64, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := RunSeeds(backend, optimizers.MustParse("sgd(lr=0.05)"), p, StochasticConfig{Steps: 200, BatchSize: 1}, Seeds(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Traces) != 3 || r.DivergedRuns() != 0 || r.Steps != 200 || r.BatchSize != 1 {
		t.Fatalf("runs %d, diverged %d, steps %d, batch %d", len(r.Traces), r.DivergedRuns(), r.Steps, r.BatchSize)
	}
	if r.Traces[0].Final()[0] == r.Traces[1].Final()[0] {
		t.Errorf("seeds 1 and 2 ended at the same point %v: the seed is not used", r.Traces[0].Final())
	}
	tails := r.TailMeans(50)
	for i, tr := range r.Traces {
		want := 0.0
		for _, l := range tr.Loss[len(tr.Loss)-50:] {
			want += l / 50
		}
		if math.Abs(tails[i]-want) > 1e-12*math.Abs(want) {
			t.Errorf("seed %d: tail mean %v, want %v", r.Seeds[i], tails[i], want)
		}
		if got := r.FinalLosses()[i]; got != tr.Loss[len(tr.Loss)-1] {
			t.Errorf("seed %d: final loss %v, want %v", r.Seeds[i], got, tr.Loss[len(tr.Loss)-1])
		}
	}
	start := r.Traces[0].Loss[0]
	n, steps := r.Reached(start / 10)
	if n != 3 || len(steps) != 3 {
		t.Fatalf("runs reaching a tenth of the start: %d (%v), want 3", n, steps)
	}
	for i, k := range r.FirstBelow(start / 10) {
		l := r.Traces[i].Loss
		if l[k] > start/10 || (k > 0 && l[k-1] <= start/10) {
			t.Errorf("seed %d: first step below %v is %d, losses around it %v", r.Seeds[i], start/10, k, l[max(0, k-1):k+1])
		}
	}
	if n, _ := r.Reached(-1); n != 0 {
		t.Errorf("%d runs reached a loss below the minimum", n)
	}
	if got := r.Count(func(w []float64) bool { return math.Hypot(w[0], w[1]) < 1 }); got != 3 {
		t.Errorf("%d runs ended within 1 of the minimum, want 3", got)
	}

	if paths := r.Paths(2); len(paths) != 2 || paths[1].Name != "seed 2" || len(paths[0].X) != 201 || paths[0].X[0] != p.W0[0] {
		t.Errorf("paths: %d, first %+v", len(paths), paths[0].Name)
	}
	fig, err := r.Figure(f, "noisy bowl", 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fig.PNG(); err != nil {
		t.Fatal(err)
	}

	tab := ReachTable("reach", start/10, r).String()
	if !strings.Contains(tab, "3 of 3") || !strings.Contains(tab, "updates (median)") {
		t.Errorf("reach table:\n%s", tab)
	}
	if med, n := r.MedianReach(start / 10); n != 3 || !(med > 0) {
		t.Errorf("median reach %v over %d runs", med, n)
	}
	if m := r.MeanFinal(); !(m > 0) {
		t.Errorf("mean final %v", m)
	}

	bad, err := RunSeeds(backend, optimizers.MustParse("sgd(lr=0.5)"), p, StochasticConfig{Steps: 300, BatchSize: 1}, Seeds(1, 2))
	if err != nil {
		t.Fatal(err)
	}
	if bad.DivergedRuns() != 2 || !math.IsInf(bad.TailMeans(10)[0], 1) || bad.Count(func([]float64) bool { return true }) != 0 {
		t.Errorf("lr 0.5 (> 2/λmax = 0.2): diverged %d, tail %v", bad.DivergedRuns(), bad.TailMeans(10))
	}
	if _, err := RunSeeds(backend, optimizers.MustParse("sgd(lr=0.05)"), p, StochasticConfig{Steps: 10}, nil); err == nil {
		t.Error("no seeds: no error")
	}
	bs, err := RunBatches(backend, optimizers.MustParse("sgd(lr=0.05)"), p, StochasticConfig{Steps: 20}, []int{1, 0}, Seeds(1, 3))
	if err != nil {
		t.Fatal(err)
	}
	if len(bs) != 2 || len(bs[0].Traces) != 3 || len(bs[1].Traces) != 1 || bs[1].BatchSize != 0 || bs[0].BatchSize != 1 {
		t.Errorf("batches: %d results, %d and %d runs", len(bs), len(bs[0].Traces), len(bs[1].Traces))
	}
	if BatchName(0, 64) != "full batch (64)" || BatchName(64, 64) != "full batch (64)" || BatchName(4, 64) != "B = 4" {
		t.Errorf("batch names %q %q", BatchName(0, 64), BatchName(4, 64))
	}
	if bad.Grew() != 2 || r.Grew() != 0 {
		t.Errorf("grew: %d and %d, want 2 and 0", bad.Grew(), r.Grew())
	}
	for in, want := range map[string]string{
		"sgd(lr=0.05,momentum=0,dampening=0,nesterov=false,weight_decay=0)": "sgd(lr=0.05)",
		"adam(lr=0.001,b1=0.9,weight_decay=0)":                              "adam(lr=0.001,b1=0.9)",
		"sgd(lr=0.1,schedule=cosine(steps=10))":                             "sgd(lr=0.1,schedule=cosine(steps=10))",
	} {
		if got := CompactSpec(in); got != want {
			t.Errorf("CompactSpec(%q) = %q, want %q", in, got, want)
		}
	}
	if got := Seeds(3, 3); len(got) != 3 || got[0] != 3 || got[2] != 5 {
		t.Errorf("Seeds(3, 3) = %v", got)
	}
	var empty *Trajectory
	if !math.IsNaN(empty.TailMean(5)) {
		t.Error("TailMean of nil is not NaN")
	}
}

// TestLinear: on a linear objective plain gradient descent moves by exactly
// η·c per step, in float32 and float64.
func TestLinear(t *testing.T) {
	backend := goBackend(t)
	for _, dt := range []dtypes.DType{dtypes.Float32, dtypes.Float64} {
		tr, err := Trace(backend, optimizers.MustParse("sgd(lr=0.5)"), Linear(2, -1), []float64{0, 0}, 3, dt)
		if err != nil {
			t.Fatal(err)
		}
		if w := tr.Final(); math.Abs(w[0]+3) > 1e-6 || math.Abs(w[1]-1.5) > 1e-6 || math.Abs(tr.Loss[3]-(2*w[0]-w[1])) > 1e-5 {
			t.Errorf("%s: after 3 steps w = %v, loss %v; want (−3, 1.5)", dt, w, tr.Loss[3])
		}
	}
}
