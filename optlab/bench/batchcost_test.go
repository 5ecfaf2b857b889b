package bench

import (
	"math"
	"strings"
	"testing"

	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

func TestFitUpdateCost(t *testing.T) {
	var costs []BatchCost
	for _, b := range []int{1, 8, 32, 256, 1000} {
		costs = append(costs, BatchCost{Batch: b, SecondsPerUpdate: 2e-3 + 5e-6*float64(b)})
	}
	fixed, per, err := FitUpdateCost(costs)
	if err != nil || math.Abs(fixed-2e-3) > 1e-12 || math.Abs(per-5e-6) > 1e-15 {
		t.Errorf("fit: %v, %v, %v; want 2e-3, 5e-6", fixed, per, err)
	}
	if _, _, err := FitUpdateCost(costs[:1]); err == nil {
		t.Error("one batch size: no error")
	}
	if _, _, err := FitUpdateCost([]BatchCost{{Batch: 4, SecondsPerUpdate: 1}, {Batch: 4, SecondsPerUpdate: 1}}); err == nil {
		t.Error("one distinct batch size: no error")
	}
}

// TestBatchCosts times logreg at three batch sizes on 64 MNIST images:
// the updates per epoch follow the batch size and every time is positive.
func TestBatchCosts(t *testing.T) {
	backend := testBackend(t)
	ds := testData(t, datasets.SplitTest, 64).Train
	costs, err := BatchCosts(backend, ds, "logreg", optimizers.MustParse("sgd(lr=0.01)"), []int{1, 16, 64}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int{64, 4, 1} {
		c := costs[i]
		if c.UpdatesPerEpoch != want || !(c.SecondsPerUpdate > 0) || math.Abs(c.SamplesPerSec*c.SecondsPerUpdate-float64(c.Batch)) > 1e-9*float64(c.Batch) {
			t.Errorf("batch %d: %+v", c.Batch, c)
		}
		if math.Abs(c.SecondsPerEpoch()-float64(want)*c.SecondsPerUpdate) > 1e-12 {
			t.Errorf("batch %d: seconds per epoch %v", c.Batch, c.SecondsPerEpoch())
		}
	}
	if tab := BatchCostTable("costs", costs).String(); !strings.Contains(tab, "ms / update") {
		t.Errorf("table:\n%s", tab)
	}
	if f := FastestEpoch(costs); f.SecondsPerEpoch() > costs[0].SecondsPerEpoch() || f.SecondsPerEpoch() > costs[2].SecondsPerEpoch() {
		t.Errorf("fastest epoch %+v", f)
	}
	if spu, err := SecondsPerUpdate(backend, ds, "logreg", optimizers.MustParse("sgd(lr=0.01)"), 16, 2); err != nil || !(spu > 0) {
		t.Errorf("seconds per update: %v, %v", spu, err)
	}
	if _, err := SecondsPerUpdate(backend, ds, "logreg", optimizers.MustParse("sgd(lr=0.01)"), 0, 2); err == nil {
		t.Error("batch 0: no error")
	}
	fig, err := BatchCostFigure("costs", costs, costs)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fig.PNG(); err != nil {
		t.Fatal(err)
	}
	if _, err := BatchCosts(backend, ds, "logreg", optimizers.MustParse("sgd"), []int{65}, 1); err == nil || !strings.Contains(err.Error(), "65") {
		t.Errorf("batch beyond the data: %v", err)
	}
}

func TestMemoryTable(t *testing.T) {
	uses, err := Memories(testBackend(t), []string{"logreg"}, []string{"sgd", "sgd(lr=0.1,momentum=0.9)", "adam", "rmsprop(centered=true,momentum=0.9)"})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{0, 4, 8, 12} {
		if got := uses[i].BytesPerParam(); got != want {
			t.Errorf("%s: %v bytes per parameter, want %v", uses[i].Optimizer, got, want)
		}
	}
	tab := MemoryTable("memory", uses).String()
	for _, want := range []string{"bytes per parameter", "sgd(momentum=0.9)", "rmsprop(momentum=0.9,centered=true)", "2×"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	if _, err := Memories(testBackend(t), []string{"logreg"}, []string{"nope"}); err == nil {
		t.Error("unknown optimizer: no error")
	}
}
