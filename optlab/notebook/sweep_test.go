package notebook

import (
	"math"
	"reflect"
	"strings"
	"testing"

	"optlab.dev/optlab"
)

func TestLogGrid(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		per    int
		want   []float64
	}{
		{1e-3, 1e-2, 4, []float64{0.001, 0.0018, 0.0032, 0.0056, 0.01}},
		{1e-3, 1, 3, []float64{0.001, 0.0022, 0.0046, 0.01, 0.022, 0.046, 0.1, 0.22, 0.46, 1}},
		{0.015, 0.05, 2, []float64{0.032}},
		{0.5, 0.5, 1, nil},
	} {
		got, err := LogGrid(tc.lo, tc.hi, tc.per)
		if err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("LogGrid(%v, %v, %d) = %v, %v; want %v", tc.lo, tc.hi, tc.per, got, err, tc.want)
		}
	}
	for _, bad := range [][3]float64{{0, 1, 3}, {1, 0.1, 3}, {1e-3, 1, 0}, {1e-300, 1e300, 100}} {
		if _, err := LogGrid(bad[0], bad[1], int(bad[2])); err == nil {
			t.Errorf("LogGrid(%v) gave no error", bad)
		}
	}
}

// fakeRuns returns runs labelled label with the given final validation
// accuracies (NaN: a diverged run).
func fakeRuns(label string, accs ...float64) []*optlab.History {
	var hs []*optlab.History
	for i, a := range accs {
		h := &optlab.History{Label: label, Seed: int64(i + 1), Epochs: []optlab.Epoch{{Epoch: 1, ValAccuracy: a}}}
		if math.IsNaN(a) {
			h.Err = "diverged: loss is NaN"
			h.Epochs = nil
		}
		hs = append(hs, h)
	}
	return hs
}

func TestSweep(t *testing.T) {
	var hs []*optlab.History
	hs = append(hs, fakeRuns("a", 0.80, 0.82, 0.81)...)
	hs = append(hs, fakeRuns("b", 0.90, 0.91, 0.92)...)
	hs = append(hs, fakeRuns("c", 0.905, 0.915, 0.895)...)
	hs = append(hs, fakeRuns("d", 0.95, math.NaN(), 0.96)...)
	hs = append(hs, fakeRuns("e", math.NaN(), math.NaN())...)
	pts := []SweepPoint{{0.01, "a"}, {0.1, "b"}, {0.2, "c"}, {0.5, "d"}, {1, "e"}}
	s, err := NewSweep("sgd", hs, pts, optlab.MetricValAccuracy)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.Est[1].Mean-0.91) > 1e-12 || s.Est[1].N != 3 || !(s.Est[1].Lo < 0.91 && s.Est[1].Hi > 0.91) {
		t.Errorf("point b: %+v", s.Est[1])
	}
	if s.Diverged[3] != 1 || s.Est[3].N != 2 || s.Diverged[4] != 2 || s.Est[4].N != 0 {
		t.Errorf("diverged counts %v, estimates %+v %+v", s.Diverged, s.Est[3], s.Est[4])
	}
	// d has the highest mean but a run diverged: b is the best.
	if b := s.Best(false); b != 1 {
		t.Errorf("best %d, want 1 (b)", b)
	}
	if b := s.Best(true); b != 0 {
		t.Errorf("lowest %d, want 0 (a)", b)
	}
	if w := s.Within(false); !reflect.DeepEqual(w, []int{1, 2}) {
		t.Errorf("within the best's interval: %v, want [1 2]", w)
	}
	if got := s.AllDiverged(); !reflect.DeepEqual(got, []int{4}) {
		t.Errorf("all diverged at %v, want [4]", got)
	}
	ser := s.Series(10)
	if ser.X[1] != 1 || ser.Y[1] != s.Est[1].Mean || ser.Lo[1] != s.Est[1].Lo || !math.IsNaN(ser.Y[4]) {
		t.Errorf("series %+v", ser)
	}
	tab := SweepTable("t", "lr", true, s, s).String()
	for _, want := range []string{"91.0 ±", "all diverged", "(1 of 3 diverged)", "95% confidence"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}
	if _, err := NewSweep("x", hs, []SweepPoint{{1, "missing"}}, optlab.MetricValAccuracy); err == nil || !strings.Contains(err.Error(), `"missing"`) {
		t.Errorf("a point without runs: %v", err)
	}
}

func TestFindingsOf(t *testing.T) {
	st := []ClaimStatus{{Claim: Claim{ID: "Q4.1", Notebook: "04_momentum_and_learning_rate"}},
		{Claim: Claim{ID: "Q4.9", Notebook: "04b_explore_momentum"}}, {Claim: Claim{ID: "Q5.1", Notebook: "05_sgd_vs_full_batch"}}}
	if got := findingsOf(st, "04"); len(got) != 1 || got[0].ID != "Q4.1" {
		t.Errorf("findings of 04: %+v", got)
	}
	if got := findingsOf(st, "05_sgd_vs_full_batch"); len(got) != 1 || got[0].ID != "Q5.1" {
		t.Errorf("findings of 05: %+v", got)
	}
}

func TestDurationAndBytes(t *testing.T) {
	for in, want := range map[float64]string{3.2e-6: "3.2 µs", 0.0041: "4.1 ms", 1.37: "1.4 s", 0: "0 s", 200: "3 min", -1: "n/a"} {
		if got := Duration(in); got != want {
			t.Errorf("Duration(%v) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[float64]string{8: "8 B", 855040: "835 KiB", 3 << 20: "3.00 MiB", 1023: "1023 B"} {
		if got := Bytes(in); got != want {
			t.Errorf("Bytes(%v) = %q, want %q", in, got, want)
		}
	}
}
