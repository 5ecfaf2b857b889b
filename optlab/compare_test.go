package optlab

import (
	stdctx "context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"optlab.dev/optlab/datasets"
)

// TestCompareCheckpointsAndResumes interrupts a comparison in the second
// run's second epoch, then runs it again: the finished run is reused, the
// interrupted one resumes from its checkpoint and ends as an uninterrupted
// run does, and no checkpoint folder is left.
func TestCompareCheckpointsAndResumes(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 300)
	specs, err := ParseSpecs("sgd(lr=0.1)", "adam(lr=0.003)")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	base := Config{Model: "mlp-bn", Epochs: 3, BatchSize: 32}
	want, err := Compare(stdctx.Background(), b, data, CompareConfig{Base: base, Optimizers: specs, Seeds: []int64{4}})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := stdctx.WithCancel(stdctx.Background())
	stop := base
	stop.OnEpoch = func(h *History) {
		if h.Label == "adam(lr=0.003)" && len(h.Epochs) == 1 {
			cancel()
		}
	}
	cc := CompareConfig{Base: stop, Optimizers: specs, Seeds: []int64{4}, CheckpointDir: dir}
	done, err := Compare(ctx, b, data, cc)
	if !errors.Is(err, stdctx.Canceled) || len(done) != 2 || done[0].Err != "" {
		t.Fatalf("interrupted comparison: %v, %d runs", err, len(done))
	}
	adamDir := RunCheckpointDir(dir, "mlp-bn", "adam(lr=0.003)", 4)
	if _, err := os.Stat(adamDir); err != nil {
		t.Fatalf("the interrupted run left no checkpoint folder: %v", err)
	}
	if _, err := os.Stat(RunCheckpointDir(dir, "mlp-bn", "sgd(lr=0.1)", 4)); !os.IsNotExist(err) {
		t.Errorf("the finished run's checkpoint folder is still there (%v)", err)
	}

	cc.Base, cc.Done = base, done[:1]
	got, err := Compare(stdctx.Background(), b, data, cc)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != done[0] {
		t.Fatalf("resumed comparison: %d runs, the finished one retrained: %v", len(got), got[0] != done[0])
	}
	if g, w := deterministic(got[1]), deterministic(want[1]); !equalJSON(t, g, w) {
		t.Errorf("the resumed run differs from an uninterrupted one:\n got %+v\nwant %+v", g, w)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("checkpoint folders left after the comparison finished: %v", left)
	}
}
