package notebook

import (
	"math"
	"strings"
	"testing"

	"optlab.dev/optlab"
)

func TestBatchCandidates(t *testing.T) {
	cs, err := BatchCandidates("logreg", 300, "sgd(lr=%g)", []BatchMethod{{Batch: 0, Epochs: 5, LRs: []float64{1, 3}}, {Batch: 32, Epochs: 2, LRs: []float64{0.1}}})
	if err != nil {
		t.Fatal(err)
	}
	if cs[0].Name != "full batch (300)" || cs[0].Base.BatchSize != 300 || cs[0].Specs[1] != "sgd(lr=3)" || cs[1].Name != "B = 32" || cs[1].Base.Epochs != 2 {
		t.Errorf("candidates %+v", cs)
	}
	if _, err := BatchCandidates("logreg", 300, "sgd(lr=%g)", []BatchMethod{{Batch: 301, Epochs: 1, LRs: []float64{1}}}); err == nil || !strings.Contains(err.Error(), "300") {
		t.Errorf("batch beyond the data: %v", err)
	}
}

func TestSweepSpreadRangeAndTunedPeak(t *testing.T) {
	var hs []*optlab.History
	// Validation losses per epoch for three learning rates, two seeds.
	add := func(label string, seed int64, losses ...float64) {
		h := &optlab.History{Label: label, Seed: seed}
		for i, l := range losses {
			h.Epochs = append(h.Epochs, optlab.Epoch{Epoch: i + 1, ValLoss: l, Steps: 10 * (i + 1)})
		}
		hs = append(hs, h)
	}
	add("a", 1, 1, 0.8, 0.6)
	add("a", 2, 1, 0.8, 0.62)
	add("b", 1, 1, 0.5, 0.3)
	add("b", 2, 1, 0.5, 0.31)
	add("c", 1, 1, 6, 0.9) // climbed to 6 on the way
	add("c", 2, 1, 5, 0.9)
	pts := []SweepPoint{{0.1, "a"}, {1, "b"}, {3, "c"}}
	s, err := NewSweep("x", hs, pts, optlab.MetricValLoss)
	if err != nil {
		t.Fatal(err)
	}
	if got := s.Spread(true); math.Abs(got-0.9/0.305) > 1e-9 {
		t.Errorf("spread %v, want %v", got, 0.9/0.305)
	}
	if lo, hi := s.Range(true); lo != 1 || hi != 1 {
		t.Errorf("range %v–%v, want 1–1", lo, hi)
	}
	tu := &Tuned{Sweep: s, Best: s.Best(true), All: hs, Candidate: Candidate{X: []float64{0.1, 1, 3}}}
	tu.Runs, _ = Lookup(Groups(hs), "b")
	if r, x := tu.Peak(optlab.MetricValLoss); x != 3 || math.Abs(r-6/0.9) > 1e-9 {
		t.Errorf("peak %v at %v, want %v at 3", r, x, 6/0.9)
	}
	if tu.Final().Mean != s.Est[1].Mean || tu.Updates() != 30 {
		t.Errorf("final %v, updates %d", tu.Final(), tu.Updates())
	}
	other := &Tuned{Sweep: s, Best: 0}
	if Lowest([]*Tuned{other, tu}, true) != tu || Lowest([]*Tuned{other, tu}, false) != other {
		t.Error("Lowest picks the wrong candidate")
	}
}
