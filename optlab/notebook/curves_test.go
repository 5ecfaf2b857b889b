package notebook

import (
	"math"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/plots"
)

// runOf is a run with the given validation losses per epoch and updates per epoch.
func runOf(seed int64, perEpoch int, losses ...float64) *optlab.History {
	h := &optlab.History{Label: "x", Seed: seed}
	for i, l := range losses {
		h.Epochs = append(h.Epochs, optlab.Epoch{Epoch: i + 1, ValLoss: l, Steps: (i + 1) * perEpoch})
	}
	return h
}

func TestMeanCurve(t *testing.T) {
	runs := []*optlab.History{runOf(1, 10, 1, 0.5, 0.4), runOf(2, 10, 1.2, 0.7, 0.6), runOf(3, 10, 0.8, 0.3)}
	s, err := MeanCurve("x", runs, optlab.MetricValLoss, ByUpdate, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.X) != 3 || s.X[1] != 20 || math.Abs(s.Y[0]-1) > 1e-12 || math.Abs(s.Y[2]-0.5) > 1e-12 || !(s.Lo[0] < 1 && s.Hi[0] > 1) {
		t.Errorf("curve %+v", s)
	}
	sec, err := MeanCurve("x", runs, optlab.MetricValLoss, BySeconds, 0.01)
	if err != nil || math.Abs(sec.X[0]-0.1) > 1e-12 {
		t.Errorf("against seconds: %v, %v", sec.X, err)
	}
	if _, err := MeanCurve("x", runs, optlab.MetricValLoss, BySeconds, 0); err == nil {
		t.Error("seconds without a time per update: no error")
	}
	if _, err := MeanCurve("x", nil, optlab.MetricValLoss, ByEpoch, 0); err == nil {
		t.Error("no runs: no error")
	}
	rises, epochs, peak := Rises(runs, optlab.MetricValLoss, 0.05)
	if rises != 0 || epochs != 5 || peak != 0.7 {
		t.Errorf("rises %d of %d, peak %v; want 0 of 5, 0.7", rises, epochs, peak)
	}
	spiky := []*optlab.History{runOf(1, 1, 1, 2, 0.5, 0.52, 10, 0.1)}
	if rises, epochs, peak := Rises(spiky, optlab.MetricValLoss, 0.05); rises != 2 || epochs != 5 || peak != 10 {
		t.Errorf("spiky: rises %d of %d, peak %v; want 2 of 5, 10", rises, epochs, peak)
	}
}

// TestEvalCurves: one series per label, the mean over its finished runs at
// the evaluations they share, and an error when no run evaluated within
// its epochs.
func TestEvalCurves(t *testing.T) {
	run := func(label string, seed int64, acc ...float64) *optlab.History {
		h := &optlab.History{Label: label, Seed: seed, ValSplit: "validation"}
		for i, a := range acc {
			h.Evals = append(h.Evals, optlab.Eval{Step: 50 * (i + 1), Loss: 1 - a, ValAccuracy: a})
		}
		return h
	}
	failed := run("adam", 3, 0.1)
	failed.Err = "diverged: loss is NaN"
	hs := []*optlab.History{run("sgd", 1, 0.5, 0.7, 0.8), run("sgd", 2, 0.6, 0.9), run("adam", 1, 0.8, 0.9, 0.95), failed}
	loss, acc := evalSeries(hs)
	if len(loss) != 2 || len(acc) != 2 {
		t.Fatalf("%d loss and %d accuracy series, want 2 each", len(loss), len(acc))
	}
	for _, tc := range []struct {
		s    plots.Series
		name string
		x, y []float64
	}{
		{acc[0], "sgd (2 seeds)", []float64{50, 100}, []float64{0.55, 0.8}},
		{acc[1], "adam", []float64{50, 100, 150}, []float64{0.8, 0.9, 0.95}},
		{loss[1], "adam", []float64{50, 100, 150}, []float64{0.2, 0.1, 0.05}},
	} {
		if tc.s.Name != tc.name || len(tc.s.X) != len(tc.x) {
			t.Errorf("series %q with %d points, want %q with %d", tc.s.Name, len(tc.s.X), tc.name, len(tc.x))
			continue
		}
		for i := range tc.x {
			if tc.s.X[i] != tc.x[i] || math.Abs(tc.s.Y[i]-tc.y[i]) > 1e-12 {
				t.Errorf("%s point %d: (%v, %v), want (%v, %v)", tc.name, i, tc.s.X[i], tc.s.Y[i], tc.x[i], tc.y[i])
			}
		}
	}
	if _, err := EvalCurves(hs); err != nil {
		t.Errorf("EvalCurves: %v", err)
	}
	if _, err := EvalCurves([]*optlab.History{{Label: "x", Epochs: []optlab.Epoch{{Epoch: 1}}}}); err == nil {
		t.Error("runs without evaluations within epochs: no error")
	}
}
