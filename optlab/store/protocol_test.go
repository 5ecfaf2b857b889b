package store

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"optlab.dev/optlab"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/sweep"
)

// TestProtocolTrialsRoundTrip: a benchmark trial (sweep.Trial.Protocol) and
// its evaluations every N steps (History.Evals, a NaN among them) come back
// from a store as they went in, under the same ID, and TrialTable lists the
// evaluations.
func TestProtocolTrialsRoundTrip(t *testing.T) {
	tr := sweep.Trial{Model: "mlp-algoperf", Optimizer: optimizers.MustParse("adam(lr=3e-4)"), Seed: 7, BatchSize: 128,
		Protocol: []byte(`{"benchmark":1,"workload":"mnist_algoperf","study":2}`)}
	h := &optlab.History{Model: "mlp-algoperf", Optimizer: tr.Optimizer.String(), Seed: 7, BatchSize: 128,
		Evals: []optlab.Eval{{Step: 100, Seconds: 1.5, Loss: 0.9, ValLoss: 0.5, ValAccuracy: 0.91}, {Step: 200, Seconds: 3, Loss: math.NaN(), ValLoss: 0.25, ValAccuracy: 0.97}}}
	rec := sweep.Record{ID: tr.ID(), Trial: tr, Hist: h, Finished: time.Now().UTC()}
	path := filepath.Join(t.TempDir(), "b.db")
	writeStore(t, path, rec)
	c, err := Read(path)
	if err != nil || len(c.Records) != 1 {
		t.Fatalf("Read: %v, %d records", err, len(c.Records))
	}
	got := c.Records[0]
	if got.ID != tr.ID() || got.Trial.ID() != tr.ID() || string(got.Trial.Protocol) != string(tr.Protocol) {
		t.Fatalf("trial came back as %s with protocol %s, want %s and %s", got.Trial.ID(), got.Trial.Protocol, tr.ID(), tr.Protocol)
	}
	e := got.Hist.Evals
	if len(e) != 2 || e[0] != h.Evals[0] || e[1].Step != 200 || !math.IsNaN(e[1].Loss) || e[1].ValAccuracy != 0.97 {
		t.Fatalf("evaluations came back as %+v", e)
	}
	header, rows, err := TrialTable(c.Records)
	if err != nil {
		t.Fatal(err)
	}
	last := rows[0][len(header)-1]
	if header[len(header)-1] != "eval_metrics" || !strings.Contains(last, `"step":200`) || !strings.Contains(last, `"NaN"`) || strings.Contains(last, "seconds") {
		t.Errorf("TrialTable: %s = %s", header[len(header)-1], last)
	}
}
