package notebook

import (
	"math"
	"strings"
	"testing"

	"optlab.dev/optlab"
)

// run is a fake finished run: val accuracies per epoch, test accuracy.
func run(label string, seed int64, test float64, val ...float64) *optlab.History {
	h := &optlab.History{Label: label, Seed: seed, TestAccuracy: test}
	for i, v := range val {
		h.Epochs = append(h.Epochs, optlab.Epoch{Epoch: i + 1, ValAccuracy: v, Loss: 1 / float64(i+1)})
	}
	return h
}

// TestSeedEstimates checks Over, Versus and SeedTable on runs whose numbers
// are known: Adam beats SGD by 1 to 3 points run for run.
func TestSeedEstimates(t *testing.T) {
	var hs []*optlab.History
	for s, d := range []float64{0.01, 0.02, 0.03} {
		hs = append(hs, run("SGD", int64(s+1), 0.95, 0.9, 0.94), run("Adam", int64(s+1), 0.95+d, 0.92, 0.95+d))
	}
	failed := run("Adam", 4, math.NaN())
	failed.Err = "diverged: loss is NaN"
	hs = append(hs, failed)

	e, err := Over(hs, "Adam", TestAccuracy, 0.95)
	if err != nil || e.N != 3 || math.Abs(e.Mean-0.97) > 1e-12 {
		t.Fatalf("Over: %+v, %v", e, err)
	}
	d, err := Versus(hs, "Adam", hs, "SGD", TestAccuracy, 0.95)
	// Differences 0.01, 0.02, 0.03: mean 0.02, s = 0.01, t(0.975, 2) = 4.3027.
	if err != nil || d.N != 3 || math.Abs(d.Mean-0.02) > 1e-12 || math.Abs(d.HalfWidth()-4.302652729911275*0.01/math.Sqrt(3)) > 1e-9 {
		t.Fatalf("Versus: %+v, %v", d, err)
	}
	if _, err := Versus(hs, "Adam", hs[:1], "SGD", TestAccuracy, 0.95); err == nil || !strings.Contains(err.Error(), "at least 2") {
		t.Errorf("one common seed: error %v, want one asking for two", err)
	}
	if v := ValAccuracyAt(1).Of(hs[1]); v != 0.92 {
		t.Errorf("ValAccuracyAt(1) = %v", v)
	}
	if v := ValAccuracyAt(3).Of(hs[1]); !math.IsNaN(v) {
		t.Errorf("ValAccuracyAt(3) of a 2-epoch run = %v, want NaN", v)
	}
	if _, err := BySeed(append(hs, run("SGD", 1, 0.9)), "SGD", TestAccuracy); err == nil || !strings.Contains(err.Error(), "seed 1") {
		t.Errorf("two runs of one seed: error %v", err)
	}

	// Pooled over labels: the same seeds of SGD and Adam against themselves
	// shifted by 0.01.
	var shifted []*optlab.History
	for _, h := range hs {
		c := *h
		c.TestAccuracy -= 0.01
		shifted = append(shifted, &c)
	}
	if p, err := VersusPooled(hs, shifted, TestAccuracy, 0.95); err != nil || p.N != 6 || math.Abs(p.Mean-0.01) > 1e-12 || p.HalfWidth() > 1e-12 {
		t.Errorf("VersusPooled: %+v, %v; want +0.01 exactly over 6 pairs", p, err)
	}
	rows, err := IntervalRows(hs, TestAccuracy, 0.95, "B: ", "model B")
	if err != nil || len(rows) != 2 || rows[1].Name != "B: Adam" || math.Abs(rows[1].Hi-rows[1].Value-4.302652729911275*0.01/math.Sqrt(3)) > 1e-9 {
		t.Errorf("IntervalRows: %+v, %v", rows, err)
	}
	st, err := Standings(hs, TestAccuracy, 0.95)
	if err != nil || len(st) != 2 || st[0].Label != "Adam" || st[1].VsLeader.N != 3 || math.Abs(st[1].VsLeader.Mean+0.02) > 1e-12 {
		t.Fatalf("Standings: %+v, %v", st, err)
	}
	if got, want := DescribeStandings(st, TestAccuracy), "Adam has the highest mean test accuracy, 97.0 ± 2.5% (95% CI, n = 3); SGD cannot be separated from it (−2.0 ± 2.5 points (95% CI, n = 3))"; got != want {
		t.Errorf("DescribeStandings:\n got %s\nwant %s", got, want)
	}
	if d := Deviation(hs, TestAccuracy, map[string]float64{"SGD": 0.96}); math.Abs(d-0.01) > 1e-12 {
		t.Errorf("Deviation = %v, want 0.01", d)
	}
	if r := SeedRange(hs, TestAccuracy); math.Abs(r-0.02) > 1e-12 {
		t.Errorf("SeedRange = %v, want 0.02 (Adam's seeds)", r)
	}
	tab := SeedTable(hs, TestAccuracy, SeedTableOptions{Against: "SGD", Reference: map[string]float64{"Adam": 0.9769}, ReferenceName: "reference"}).String()
	for _, want := range []string{"95.0 ± 0.0%", "97.0", "4 (1 stopped)", "+2.0 ± 2.5 points (95% CI, n = 3)", "97.69%", "paired by seed"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
}

// TestReferenceFigures reads the walkthrough's reference figures.
func TestReferenceFigures(t *testing.T) {
	ref, src, err := ReferenceFigures("q8_test_results.csv", map[string]string{"source": "reference-fresh", "model": "mlp-small"}, "optimizer", "test_accuracy")
	if err != nil || ref["SGD"] != 0.9506 || ref["RMSprop"] != 0.9750 || len(ref) != 3 || !strings.Contains(src, "walkthrough") {
		t.Fatalf("reference figures %v (%q), %v", ref, src, err)
	}
	if _, _, err := ReferenceFigures("q8_test_results.csv", map[string]string{"source": "nobody"}, "optimizer", "test_accuracy"); err == nil {
		t.Error("no matching row: want an error")
	}
	if _, _, err := ReferenceFigures("q8_test_results.csv", nil, "optimizer", "speed"); err == nil || !strings.Contains(err.Error(), `"speed"`) {
		t.Errorf("unknown column: error %v", err)
	}
}
