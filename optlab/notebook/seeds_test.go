package notebook

import (
	stdctx "context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
)

func TestJudgeNegligibleAndAll(t *testing.T) {
	est := func(xs ...float64) Estimate { return CI(xs) }
	for _, tc := range []struct {
		name   string
		d      Estimate
		margin float64
		want   Verdict
	}{
		{"inside the margin", est(0.001, -0.001, 0.002, 0, 0.001), 0.005, Shown},
		{"clearly above the margin", est(0.02, 0.021, 0.019, 0.02), 0.005, Contradicted},
		{"clearly below the margin", est(-0.02, -0.021, -0.019), 0.005, Contradicted},
		{"reaches past the margin", est(0.004, -0.004, 0.01, -0.01), 0.005, NotShown},
		{"resolved but not beyond the margin", est(0.006, 0.004, 0.005, 0.005), 0.005, NotShown},
		{"one value", est(0), 0.005, NotShown},
		{"no margin", est(0, 0, 0.001), 0, NotShown},
	} {
		if got := JudgeNegligible(tc.d, tc.margin); got != tc.want {
			t.Errorf("%s: JudgeNegligible = %q, want %q (%+v)", tc.name, got, tc.want, tc.d)
		}
	}
	for _, tc := range []struct {
		parts []Verdict
		want  Verdict
	}{
		{[]Verdict{Shown, Shown}, Shown},
		{[]Verdict{Shown, NotShown}, NotShown},
		{[]Verdict{Shown, Contradicted}, Contradicted},
		{[]Verdict{NotShown, Contradicted, Shown}, Contradicted},
		{[]Verdict{Shown}, Shown},
		{nil, NotShown},
	} {
		if got := JudgeAll(tc.parts...); got != tc.want {
			t.Errorf("JudgeAll(%v) = %q, want %q", tc.parts, got, tc.want)
		}
	}
}

func TestJudgeAndWord(t *testing.T) {
	est := func(xs ...float64) Estimate { return CI(xs) }
	for _, tc := range []struct {
		name string
		d    Estimate
		sign int
		want Verdict
		word string
	}{
		{"clearly positive, claimed positive", est(1, 1.1, 0.9, 1.05, 0.95), +1, Shown, "higher"},
		{"clearly positive, claimed negative", est(1, 1.1, 0.9, 1.05, 0.95), -1, Contradicted, "higher"},
		{"clearly negative, claimed negative", est(-1, -1.1, -0.9), -1, Shown, "lower"},
		{"straddles zero", est(-1, 1, 0.5, -0.5), +1, NotShown, "no different"},
		{"one value", est(3), +1, NotShown, "no different"},
		{"NaNs left out", est(1, math.NaN(), 1.1, 0.9), +1, Shown, "higher"},
	} {
		if got := Judge(tc.d, tc.sign); got != tc.want {
			t.Errorf("%s: Judge = %q, want %q (%+v)", tc.name, got, tc.want, tc.d)
		}
		if got := Word(tc.d, "higher", "lower", "no different"); got != tc.word {
			t.Errorf("%s: Word = %q, want %q", tc.name, got, tc.word)
		}
	}
	if got := JudgeAny(est(1, 1.1, 0.9)); got != Shown {
		t.Errorf("JudgeAny of a clear difference: %q", got)
	}
	if got := JudgeAny(est(-1, 1, 0.2)); got != NotShown {
		t.Errorf("JudgeAny within noise: %q", got)
	}
	if got := est(0.91, 0.92, 0.93).ShortPercent(); got != "92.0 ± 2.5%" {
		t.Errorf("ShortPercent = %q", got)
	}
	if got := est(7.1e-5, 7.1e-5, 7.1e-5+1e-19).Short(); got != "7.100e-5 ± 1e-19" {
		t.Errorf("Short of a tiny estimate = %q", got)
	}
	if got := est(0.00123, 0.00125, 0.00121).Short(); got != "0.00123 ± 5e-5" {
		t.Errorf("Short of a small estimate = %q", got)
	}
	if got := est(3).Short(); got != "3.00" {
		t.Errorf("Short of one value = %q", got)
	}
}

func TestGroupsAndPaired(t *testing.T) {
	h := func(label string, seed int64, acc float64, err string) *optlab.History {
		return &optlab.History{Label: label, Seed: seed, Err: err, Epochs: []optlab.Epoch{{Epoch: 1, ValAccuracy: acc / 2}, {Epoch: 2, ValAccuracy: acc}}}
	}
	hs := []*optlab.History{
		h("a", 2, 0.92, ""), h("b", 2, 0.90, ""), h("a", 1, 0.91, ""), h("b", 1, 0.88, ""),
		h("a", 3, 0.93, ""), h("b", 3, 0.5, "diverged: loss is NaN"),
	}
	gs := Groups(hs)
	if len(gs) != 2 || gs[0].Label != "a" || gs[0].Runs[0].Seed != 1 {
		t.Fatalf("groups %+v", gs)
	}
	a, _ := Lookup(gs, "a")
	b, _ := Lookup(gs, "b")
	if _, err := Lookup(gs, "c"); err == nil {
		t.Error("unknown label found")
	}
	if got := b.Final(optlab.MetricValAccuracy); got[0] != 0.88 || !math.IsNaN(got[2]) || b.Diverged() != 1 {
		t.Errorf("b's finals %v (a diverged run is NaN), diverged %d", got, b.Diverged())
	}
	if got := a.At(optlab.MetricValAccuracy, 1); got[0] != 0.455 {
		t.Errorf("a after epoch 1: %v", got)
	}
	// Paired over the seeds both finished: (0.91−0.88, 0.92−0.90).
	d := Paired(a, b, optlab.MetricValAccuracy)
	if d.N != 2 || math.Abs(d.Mean-0.025) > 1e-12 {
		t.Errorf("paired difference %+v, want mean 0.025 over 2 seeds", d)
	}
	tab := CITable("t", hs, optlab.MetricValAccuracy)
	if len(tab.Rows) != 2 || tab.Rows[1][3] != "1" || !strings.HasSuffix(tab.Rows[0][2], "%") {
		t.Errorf("CI table rows %v", tab.Rows)
	}
}

// TestCompareCachedPopulations: the runs come back in Compare's order (seeds
// outside), a second call reads the cache, and each member matches its run
// alone to float32 noise.
func TestCompareCachedPopulations(t *testing.T) {
	t.Setenv(QuickEnv, "")
	t.Setenv(CacheDirEnv, "")
	b, err := optlab.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	m, err := datasets.LoadMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := optlab.SplitData(m, datasets.SplitTest, 300)
	if err != nil {
		t.Fatal(err)
	}
	specs, err := optlab.ParseSpecs("sgd(lr=0.1)", "sgd(lr=0.01)", "adam(lr=0.01)")
	if err != nil {
		t.Fatal(err)
	}
	cc := optlab.CompareConfig{Base: optlab.Config{Model: "logreg", Epochs: 1, BatchSize: 32}, Optimizers: specs, Seeds: []int64{1, 2}}
	path := filepath.Join(t.TempDir(), "p.json")
	hs, err := CompareCachedPopulations(stdctx.Background(), b, data, cc, path, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		label string
		seed  int64
	}{{"sgd(lr=0.1)", 1}, {"sgd(lr=0.01)", 1}, {"adam(lr=0.01)", 1}, {"sgd(lr=0.1)", 2}, {"sgd(lr=0.01)", 2}, {"adam(lr=0.01)", 2}}
	if len(hs) != len(want) {
		t.Fatalf("%d runs, want %d", len(hs), len(want))
	}
	for i, w := range want {
		if hs[i].Label != w.label || hs[i].Seed != w.seed || hs[i].Members < 2 {
			t.Errorf("run %d: %s seed %d (members %d), want %s seed %d in a population", i, hs[i].Label, hs[i].Seed, hs[i].Members, w.label, w.seed)
		}
	}
	alone, err := optlab.Train(stdctx.Background(), b, data, optlab.Config{Model: "logreg", Epochs: 1, BatchSize: 32, Optimizer: specs[0].Optimizer, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if d := math.Abs(alone.Last().Loss - hs[3].Last().Loss); d > 1e-3*alone.Last().Loss {
		t.Errorf("member's loss %v, alone %v", hs[3].Last().Loss, alone.Last().Loss)
	}
	st, err := CheckCache(path, mustCode(t))
	if err != nil || !st.Current || st.Runs != 6 {
		t.Fatalf("cache state %+v, %v", st, err)
	}
	again, err := CompareCachedPopulations(stdctx.Background(), b, data, cc, path, 0)
	if err != nil || again[5].Last().Loss != hs[5].Last().Loss || again[5].Elapsed != hs[5].Elapsed {
		t.Errorf("second call did not read the cache: %v", err)
	}
	// A cache of runs trained one by one is not confused with it.
	if _, err := CompareCached(stdctx.Background(), b, data, cc, path); err != nil {
		t.Fatal(err)
	}
	if again, _ := CompareCachedPopulations(stdctx.Background(), b, data, cc, path, 0); again[0].Members < 2 {
		t.Error("a population comparison returned runs trained alone")
	}
	cc.Protocol = optlab.Sequential
	if _, err := CompareCachedPopulations(stdctx.Background(), b, data, cc, "", 0); err == nil || !strings.Contains(err.Error(), "sequential") {
		t.Errorf("sequential protocol: %v", err)
	}
}

func mustCode(t *testing.T) string {
	t.Helper()
	code, err := CodeFingerprint(".")
	if err != nil {
		t.Fatal(err)
	}
	return code
}
