package store

import (
	"context"
	"path/filepath"
	"testing"

	"optlab.dev/optlab/sweep"
	"optlab.dev/optlab/sweep/sweeptest"
)

// TestRunCachedRecomputesOtherCodesRecords: a store used as a notebook's
// cache runs its sweep once; records that other code computed (or that carry
// no fingerprint) are removed and their trials run again, records of trials
// outside the sweep are kept unless stale, and the sweep's records come back
// in its trials' order.
func TestRunCachedRecomputesOtherCodesRecords(t *testing.T) {
	trials, err := sweeptest.TinyGrid.Trials()
	if err != nil {
		t.Fatal(err)
	}
	trials = trials[:3]
	path := filepath.Join(t.TempDir(), "cache.db")
	opts := sweep.Options{MNIST: sweeptest.MNIST(t), Code: "sha256:current"}
	recs, res, err := RunCached(context.Background(), path, trials, opts)
	if err != nil || res.Ran != 3 || res.Stale != 0 || len(recs) != 3 {
		t.Fatalf("first run: %+v, %d records, %v", res, len(recs), err)
	}
	for i, r := range recs {
		if r.ID != trials[i].ID() || r.Env.Code != "sha256:current" {
			t.Errorf("record %d: %s with code %q, want trial %s and the given code", i, r.ID, r.Env.Code, trials[i].ID())
		}
	}
	// Mark one record as other code's, another as fingerprint-less, and add
	// a current record of a trial outside the sweep.
	s := openStore(t, path)
	if n, err := s.Prune(func(r sweep.Record) bool { return r.ID != recs[0].ID && r.ID != recs[2].ID }); err != nil || n != 2 {
		t.Fatalf("Prune removed %d, %v", n, err)
	}
	old, none, outside := recs[0], recs[2], sweeptest.FakeRecord(t, "adam(lr=0.5)", 9, 0.9)
	old.Env.Code, none.Env.Code, outside.Env.Code = "sha256:old", "", "sha256:current"
	if _, err := s.AppendAll([]sweep.Record{old, none, outside}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	recs, res, err = RunCached(context.Background(), path, trials, opts)
	if err != nil || res.Ran != 2 || res.Skipped != 1 || res.Stale != 2 || len(recs) != 3 {
		t.Fatalf("second run: %+v, %d records, %v (want 2 stale records rerun, 1 kept)", res, len(recs), err)
	}
	for _, r := range recs {
		if r.Env.Code != "sha256:current" {
			t.Errorf("record %s still has code %q", r.ID, r.Env.Code)
		}
	}
	all, err := openStore(t, path).Records()
	if err != nil || len(all) != 4 {
		t.Errorf("store holds %d records (want the sweep's 3 and the current one outside it), %v", len(all), err)
	}
}
