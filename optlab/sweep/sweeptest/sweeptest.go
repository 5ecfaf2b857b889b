// Package sweeptest holds fixtures for the tests of sweep and of the packages
// built on it (store, reportcard): records with plausible histories made
// without training, a tiny real sweep run once per test binary, and an
// in-memory store.
//
// It is for tests only; it imports sweep and the runner, never the packages
// whose tests use it.
package sweeptest

import (
	"context"
	"sync"
	"testing"
	"time"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/sweep"
)

// FakeRecord builds a record with a plausible history for tests that are
// about bytes on disk or summaries, not about training: logistic regression,
// 2 epochs, validation accuracy acc at the end.
func FakeRecord(t testing.TB, spec string, seed int64, acc float64) sweep.Record {
	t.Helper()
	opt, err := optimizers.Parse(spec)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := sweep.Trial{Model: "logreg", Optimizer: opt, Seed: seed, BatchSize: 32, Epochs: 2, Limit: 300}.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	h := &optlab.History{Model: tr.Model, Optimizer: opt.String(), Seed: seed, BatchSize: 32, Backend: "go", ValSplit: "test",
		Epochs: []optlab.Epoch{
			{Epoch: 1, Loss: 1.2, Accuracy: acc - 0.1, ValLoss: 1.0, ValAccuracy: acc - 0.05, Steps: 10, Seconds: 0.5, SamplesPerSec: 600},
			{Epoch: 2, Loss: 0.8, Accuracy: acc, ValLoss: 0.9, ValAccuracy: acc, Steps: 20, Seconds: 0.25, SamplesPerSec: 1200},
		},
		TestLoss: 0.9, TestAccuracy: acc - 0.01, Params: 7850, StateBytes: 62800, CompileSeconds: 0.3,
		Started: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), Elapsed: time.Second}
	return sweep.Record{ID: tr.ID(), Trial: tr, Hist: h, Finished: time.Date(2026, 11, 23, 12, 0, 1, 0, time.UTC),
		Seconds: 1, Env: optlab.RunEnv{Backend: "go", Host: "test"}}
}

var (
	mnistOnce sync.Once
	mnist     *datasets.Set
	mnistErr  error
)

// MNIST loads MNIST once per test binary.
func MNIST(t testing.TB) *datasets.Set {
	t.Helper()
	mnistOnce.Do(func() { mnist, mnistErr = datasets.LoadMNIST("") })
	if mnistErr != nil {
		t.Fatalf("LoadMNIST: %v", mnistErr)
	}
	return mnist
}

// TinyGrid is a sweep small enough for unit tests: logistic regression on 300
// images, two epochs, two optimizers × two rates × two seeds.
var TinyGrid = sweep.Grid{Models: []string{"logreg"}, Optimizers: []string{"sgd(momentum=0.9)", "adam"},
	LRs: []float64{0.01, 0.1}, Seeds: []int64{1, 2}, BatchSizes: []int{32}, Epochs: 2, Limit: 300}

var (
	tinyOnce sync.Once
	tinyRecs []sweep.Record
	tinyErr  error
)

// TinySweep runs TinyGrid once per test binary and returns its records.
func TinySweep(t testing.TB) []sweep.Record {
	t.Helper()
	m := MNIST(t)
	tinyOnce.Do(func() {
		trials, err := TinyGrid.Trials()
		if err != nil {
			tinyErr = err
			return
		}
		s := &MemStore{}
		if _, tinyErr = sweep.Run(context.Background(), s, trials, sweep.Options{MNIST: m}); tinyErr == nil {
			tinyRecs = s.Records()
		}
	})
	if tinyErr != nil {
		t.Fatal(tinyErr)
	}
	return tinyRecs
}

// MemStore is a sweep.Store in memory.
type MemStore struct {
	mu   sync.Mutex
	recs []sweep.Record
}

// Has reports whether the store holds a record for the trial ID.
func (s *MemStore) Has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.recs {
		if r.ID == id {
			return true
		}
	}
	return false
}

// Append adds r unless a record with its ID is stored already.
func (s *MemStore) Append(r sweep.Record) (bool, error) {
	if s.Has(r.ID) {
		return false, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, r)
	return true, nil
}

// Records returns a copy of the records, in the order they were added.
func (s *MemStore) Records() []sweep.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sweep.Record(nil), s.recs...)
}
