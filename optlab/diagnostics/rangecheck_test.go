package diagnostics

import (
	"math"
	"strings"
	"testing"

	"optlab.dev/optlab"
)

// sweepRun is a finished run of sgd at lr with a last epoch's training loss
// and validation accuracy.
func sweepRun(lr, loss, acc float64, diverged bool) *optlab.History {
	h := &optlab.History{Optimizer: "sgd(lr=" + strconvG(lr) + ")", Epochs: []optlab.Epoch{{Epoch: 1, Loss: loss, ValAccuracy: acc, ValLoss: 1 - acc}}}
	if diverged {
		h.Err = "diverged: loss is NaN at epoch 1"
		h.Epochs[0].Loss, h.Epochs[0].ValAccuracy = math.NaN(), math.NaN()
	}
	return h
}

func strconvG(x float64) string { return fmtF(x) }

func TestCheckRange(t *testing.T) {
	r := &LRRange{LR: []float64{1e-4, 1e-3, 1e-2, 1e-1, 1}, Steepest: 3e-3, Divergence: 0.2, Diverged: true, Label: "sgd"}
	sweep := []*optlab.History{
		sweepRun(1e-3, 0.9, 0.80, false), sweepRun(1e-3, 0.8, 0.82, false),
		sweepRun(1e-2, 0.3, 0.91, false), sweepRun(1e-2, 0.3, 0.93, false),
		sweepRun(0.1, 0.2, 0.90, false), sweepRun(0.1, 0.2, 0.94, false),
		// At 0.3 one run is dead (a finite loss no lower than guessing), one diverged.
		sweepRun(0.3, 2.31, 0.10, false), sweepRun(0.3, 0, 0, true),
	}
	c, err := CheckRange(r, sweep, optlab.MetricValAccuracy, math.Log(10))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.LRs) != 4 || c.LRs[0] != 1e-3 || c.Runs[3] != 2 || c.Failed[3] != 2 || !math.IsNaN(c.Score[3]) {
		t.Fatalf("check %+v", c)
	}
	if c.Best != 1e-2 || math.Abs(c.Score[1]-0.92) > 1e-12 || c.FirstFailed != 0.3 {
		t.Errorf("best %v (score %v), first failure %v", c.Best, c.Score[1], c.FirstFailed)
	}
	if c.Low != 3e-3 || c.High != 0.2 || !c.BestInRange {
		t.Errorf("range [%v, %v], best in range %v", c.Low, c.High, c.BestInRange)
	}
	// Without a failing loss the dead run counts, with its score.
	c, err = CheckRange(r, sweep, optlab.MetricValAccuracy, 0)
	if err != nil || c.Failed[3] != 1 || c.Score[3] != 0.10 || c.FirstFailed != 0.3 {
		t.Errorf("failLoss 0: failed %v, score %v, %v", c.Failed, c.Score, err)
	}
	// A loss is better when lower: the validation losses 1 − acc pick 0.1.
	c, err = CheckRange(r, sweep, optlab.MetricValLoss, math.Log(10))
	if err != nil || c.Best != 1e-2 {
		t.Errorf("val_loss: best %v, %v", c.Best, err)
	}
	// A range test that never diverged ends its range at its last rate:
	// a best rate above the suggestion is outside it.
	r2 := &LRRange{LR: []float64{1e-4, 1e-3}, Steepest: 1e-4}
	if c, err := CheckRange(r2, sweep, optlab.MetricValAccuracy, math.Log(10)); err != nil || c.High != 1e-3 || c.BestInRange {
		t.Errorf("no divergence: %+v, %v", c, err)
	}
	if _, err := c.Figure(); err != nil {
		t.Errorf("figure: %v", err)
	}
	for _, bad := range []struct {
		name  string
		r     *LRRange
		sweep []*optlab.History
		fail  float64
		want  string
	}{
		{"no range test", nil, sweep, 0, "no range test"},
		{"no sweep", r, nil, 0, "no sweep"},
		{"every run failed", r, sweep[6:], math.Log(10), "every run"},
		{"negative failing loss", r, sweep, -1, "failing loss"},
		{"unparsable optimizer", r, []*optlab.History{{Optimizer: "nosuch(lr=1)"}}, 0, "nosuch"},
	} {
		if _, err := CheckRange(bad.r, bad.sweep, optlab.MetricValAccuracy, bad.fail); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: %v, want an error saying %q", bad.name, err, bad.want)
		}
	}
}
