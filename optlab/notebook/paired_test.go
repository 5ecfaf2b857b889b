package notebook

import (
	"math"
	"testing"

	"optlab.dev/optlab"
)

func TestPairedAtAndTest(t *testing.T) {
	mk := func(label string, seed int64, l1, l2, test float64) *optlab.History {
		return &optlab.History{Label: label, Seed: seed, TestAccuracy: test,
			Epochs: []optlab.Epoch{{Epoch: 1, ValLoss: l1}, {Epoch: 2, ValLoss: l2}}}
	}
	a := Group{Label: "a", Runs: []*optlab.History{mk("a", 1, 1.0, 0.5, 0.90), mk("a", 2, 1.2, 0.6, 0.92), mk("a", 3, 0.9, 0.4, 0.91)}}
	// b's runs in another order: pairing goes by seed.
	b := Group{Label: "b", Runs: []*optlab.History{mk("b", 3, 1.0, 0.5, 0.90), mk("b", 1, 1.1, 0.6, 0.89), mk("b", 2, 1.3, 0.7, 0.91)}}
	if d := PairedAt(a, b, optlab.MetricValLoss, 1); d.N != 3 || math.Abs(d.Mean-(-0.1)) > 1e-12 {
		t.Errorf("epoch 1: %+v, want mean −0.1 over 3 seeds", d)
	}
	if d := PairedAt(a, b, optlab.MetricValLoss, -1); d.N != 3 || math.Abs(d.Mean-(-0.1)) > 1e-12 {
		t.Errorf("last epoch: %+v", d)
	}
	if d := PairedTest(a, b); d.N != 3 || math.Abs(d.Mean-(0.01)) > 1e-12 {
		t.Errorf("test: %+v, want mean 0.01", d)
	}
	a.Runs[0].Err = "diverged: NaN"
	if d := PairedTest(a, b); d.N != 2 {
		t.Errorf("a diverged run is paired: %+v", d)
	}
	if x, y := Must2(1, "a", nil); x != 1 || y != "a" {
		t.Errorf("Must2: %v %v", x, y)
	}
}
