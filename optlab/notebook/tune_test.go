package notebook

import (
	stdctx "context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
)

// TestTune: each candidate's grid is trained over the seeds, its best point
// is the one with the lowest mean validation loss, its runs are that
// point's seeds in order, and each candidate has its own cache file.
func TestTune(t *testing.T) {
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
	base := optlab.Config{Model: "logreg", Epochs: 1, BatchSize: 32}
	cands := []Candidate{
		{Name: "sgd, B = 32", Base: base, Specs: []string{"sgd(lr=1e-4)", "sgd(lr=0.1)"}, X: []float64{1e-4, 0.1}},
		{Name: "adam", Base: base, Specs: []string{"adam(lr=1e-5)", "adam(lr=0.01)"}, X: []float64{1e-5, 0.01}},
	}
	dir := t.TempDir()
	tuned, err := Tune(stdctx.Background(), b, data, cands, []int64{1, 2}, optlab.MetricValLoss, true, filepath.Join(dir, "t"))
	if err != nil {
		t.Fatal(err)
	}
	for i, tu := range tuned {
		// The tiny rate barely moves from the initial weights: the larger one wins.
		if tu.Best != 1 || tu.BestX() != cands[i].X[1] || tu.BestLabel() != cands[i].Specs[1] {
			t.Errorf("%s: best %d (%v, %q), want 1", tu.Name, tu.Best, tu.BestX(), tu.BestLabel())
		}
		if len(tu.Runs.Runs) != 2 || tu.Runs.Runs[0].Seed != 1 || tu.Runs.Runs[1].Seed != 2 || len(tu.All) != 4 {
			t.Errorf("%s: best runs %d (seeds %d, %d), all %d", tu.Name, len(tu.Runs.Runs), tu.Runs.Runs[0].Seed, tu.Runs.Runs[1].Seed, len(tu.All))
		}
	}
	for _, f := range []string{"t_sgd_b_32.json", "t_adam.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Errorf("cache %s: %v", f, err)
		}
	}
	if d := Paired(tuned[1].Runs, tuned[0].Runs, optlab.MetricValLoss); d.N != 2 {
		t.Errorf("paired difference over %d seeds, want 2", d.N)
	}
	if tab := TunedTable("grid", "lr", false, tuned).String(); !strings.Contains(tab, "◀ best") || !strings.Contains(tab, "0 of 2") {
		t.Errorf("tuned table:\n%s", tab)
	}
	fig, err := TunedCurves(tuned, optlab.MetricValLoss, []XAxis{ByEpoch, ByUpdate, BySeconds}, []float64{1e-3, 2e-3}, false, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fig.PNG(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]Candidate{
		nil,
		{{Name: "x", Base: base, Specs: []string{"sgd(lr=0.1)"}}},
		{{Name: "x", Base: base, Specs: []string{"sgd(lr=0.1)"}, X: []float64{0.1}}, {Name: "X", Base: base, Specs: []string{"sgd(lr=0.1)"}, X: []float64{0.1}}},
	} {
		if _, err := Tune(stdctx.Background(), b, data, bad, []int64{1}, optlab.MetricValLoss, true, ""); err == nil {
			t.Errorf("candidates %+v: no error", bad)
		}
	}
	if got := cacheName("Full batch (3,000), B = 1!"); got != "full_batch_3_000_b_1" || strings.Contains(got, " ") {
		t.Errorf("cacheName = %q", got)
	}
}
