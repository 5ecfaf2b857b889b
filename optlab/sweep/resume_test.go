package sweep_test

import (
	stdctx "context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"optlab.dev/optlab"
	"optlab.dev/optlab/checkpoint"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/sweep"
	"optlab.dev/optlab/sweep/sweeptest"
)

// TestSweepResumesATrialFromItsCheckpoint leaves a trial as a killed sweep
// would (stopped after its first epoch, with a checkpoint in
// CheckpointDir/<trial ID>), runs the sweep with CheckpointDir, and checks
// that the trial continued from the checkpoint (its history's start time is
// the first session's), that its record equals the uninterrupted sweep's,
// and that its checkpoint directory is gone once the record is stored.
func TestSweepResumesATrialFromItsCheckpoint(t *testing.T) {
	m := sweeptest.MNIST(t)
	trials, err := sweeptest.TinyGrid.Trials()
	if err != nil {
		t.Fatal(err)
	}
	ref := sweeptest.TinySweep(t)
	tr, err := trials[3].Canonical()
	if err != nil {
		t.Fatal(err)
	}
	ckDir := t.TempDir()
	data, err := optlab.SplitData(m, datasets.DataSplit(tr.Split), tr.Limit)
	if err != nil {
		t.Fatal(err)
	}
	backend, err := optlab.NewBackend("")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := stdctx.WithCancel(stdctx.Background())
	cfg := tr.Config()
	cfg.Checkpoint = &optlab.Checkpointing{Dir: filepath.Join(ckDir, tr.ID())}
	cfg.OnEpoch = func(*optlab.History) { cancel() }
	first, err := optlab.Train(ctx, backend, data, cfg)
	if err == nil || len(first.Epochs) != 1 {
		t.Fatalf("interrupted trial: %v, %d epochs", err, len(first.Epochs))
	}
	if paths, _ := checkpoint.List(cfg.Checkpoint.Dir); len(paths) == 0 {
		t.Fatal("the interrupted trial left no checkpoint")
	}

	s := &sweeptest.MemStore{}
	if _, err := sweep.Run(stdctx.Background(), s, trials, sweep.Options{MNIST: m, CheckpointDir: ckDir}); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Records() {
		if r.ID != tr.ID() {
			continue
		}
		if !r.Hist.Started.Equal(first.Started) {
			t.Errorf("the trial started again (%v) instead of resuming the run started at %v", r.Hist.Started, first.Started)
		}
		var want *sweep.Record
		for i := range ref {
			if ref[i].ID == r.ID {
				want = &ref[i]
			}
		}
		if want == nil {
			t.Fatal("trial missing from the reference sweep")
		}
		if diffs := checkpoint.Differences(untimed(want.Hist), untimed(r.Hist)); len(diffs) > 0 {
			t.Errorf("resumed trial differs from the uninterrupted sweep's: %s", strings.Join(diffs, "; "))
		}
	}
	if entries, _ := os.ReadDir(ckDir); len(entries) != 0 {
		t.Errorf("checkpoint directories left after the sweep: %v", entries)
	}
}

// untimed returns h without its timings.
func untimed(h *optlab.History) optlab.History {
	c := *h
	c.Epochs = append([]optlab.Epoch(nil), h.Epochs...)
	for i := range c.Epochs {
		c.Epochs[i].Seconds, c.Epochs[i].SamplesPerSec = 0, 0
	}
	c.CompileSeconds, c.Started, c.Elapsed = 0, time.Time{}, 0
	return c
}
