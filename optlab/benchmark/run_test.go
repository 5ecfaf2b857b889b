package benchmark

import (
	stdctx "context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/sweep"
)

// memStore is a sweep.Store in memory; after stopAfter appends (when > 0) it
// cancels cancel, as a Ctrl-C between two trials would.
type memStore struct {
	mu        sync.Mutex
	recs      []sweep.Record
	ids       map[string]bool
	stopAfter int
	cancel    func()
}

func (m *memStore) Has(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ids[id]
}

func (m *memStore) Append(r sweep.Record) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ids == nil {
		m.ids = map[string]bool{}
	}
	if m.ids[r.ID] {
		return false, nil
	}
	m.ids[r.ID] = true
	m.recs = append(m.recs, r)
	if m.stopAfter > 0 && len(m.recs) == m.stopAfter {
		m.cancel()
	}
	return true, nil
}

func (m *memStore) Records() ([]sweep.Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.recs), nil
}

func (m *memStore) Prune(keep func(sweep.Record) bool) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	kept := m.recs[:0]
	for _, r := range m.recs {
		if keep(r) {
			kept = append(kept, r)
		} else {
			delete(m.ids, r.ID)
		}
	}
	removed := len(m.recs) - len(kept)
	m.recs = kept
	return removed, nil
}

// smallBenchmark is a benchmark of a few seconds: the noisy 2-D workloads.
func smallBenchmark(t *testing.T) []Trial {
	t.Helper()
	cfg := Config{Workloads: []string{"noisy_rosenbrock", "noisy_beale"}, Optimizers: []string{"sgd", "momentum", "adam"},
		Ruleset: ExternalTuning, Budget: 2, Studies: 2}
	trials, err := cfg.Trials()
	if err != nil {
		t.Fatal(err)
	}
	return trials
}

func sequential(t *testing.T) Sequential {
	t.Helper()
	backend, err := optlab.NewBackend("")
	if err != nil {
		t.Fatal(err)
	}
	return Sequential{Backend: backend, Data: NewData(nil)}
}

// TestRunResumesToTheSameScore runs a small benchmark straight through, and
// again interrupted after 5 trials and resumed: the resumed run trains only
// the missing trials, every trial's evaluations are the same bit for bit, and
// the score rebuilt from each store is the same.
func TestRunResumesToTheSameScore(t *testing.T) {
	trials := smallBenchmark(t)
	runner := sequential(t)
	full := &memStore{}
	res, err := Run(t.Context(), full, trials, Options{Runner: runner})
	if err != nil || res.Ran != len(trials) || res.Skipped != 0 {
		t.Fatalf("uninterrupted run: %+v, %v", res, err)
	}
	if res, err := Run(t.Context(), full, trials, Options{Runner: runner}); err != nil || res.Ran != 0 || res.Skipped != len(trials) {
		t.Fatalf("rerun of a finished benchmark: %+v, %v; want everything skipped", res, err)
	}

	ctx, cancel := stdctx.WithCancel(t.Context())
	cut := &memStore{stopAfter: 5, cancel: cancel}
	res, err = Run(ctx, cut, trials, Options{Runner: runner})
	if err == nil || !strings.Contains(err.Error(), "interrupted") || len(cut.recs) != 5 {
		t.Fatalf("interrupted run: %+v, %v, %d records; want an interruption after 5", res, err, len(cut.recs))
	}
	res, err = Run(t.Context(), cut, trials, Options{Runner: runner})
	if err != nil || res.Skipped != 5 || res.Ran != len(trials)-5 {
		t.Fatalf("resumed run: %+v, %v", res, err)
	}

	byID := map[string]sweep.Record{}
	for _, r := range full.recs {
		byID[r.ID] = r
	}
	for _, r := range cut.recs {
		w, ok := byID[r.ID]
		if !ok {
			t.Fatalf("resumed store has trial %s the full run lacks", r.ID)
		}
		if !slices.EqualFunc(r.Hist.Evals, w.Hist.Evals, func(a, b optlab.Eval) bool {
			return a.Step == b.Step && a.Loss == b.Loss && a.ValLoss == b.ValLoss
		}) {
			t.Errorf("trial %s: evaluations differ between the runs", r.ID)
		}
	}
	a, err := Compute(full.recs, ScoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Compute(cut.recs, ScoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Text() != b.Text() || !slices.Equal(a.Scores, b.Scores) {
		t.Errorf("scores differ:\n%s\nvs\n%s", a.Text(), b.Text())
	}
	if a.Studies != 2 || a.Budget != 2 || len(a.Workloads) != 2 || len(a.Submissions) != 3 || len(a.Notes) != 0 {
		t.Errorf("score of the small benchmark: %d studies × %d, workloads %v, submissions %v, notes %v", a.Studies, a.Budget, a.Workloads, a.Submissions, a.Notes)
	}
	// The time measure scores the same trials, in seconds.
	if s, err := Compute(full.recs, ScoreOptions{Measure: Seconds}); err != nil || len(s.Scores) != 3 {
		t.Errorf("time-measured score: %v", err)
	}

	dir := t.TempDir()
	paths, err := a.Save(dir)
	if err != nil {
		t.Fatal(err)
	}
	// (budget.png needs a target reached by every study's median: the hand
	// example of score_test.go checks it.)
	for _, name := range []string{"scores.txt", "scores.md", "scores.csv", "trials.csv", "profile.png", "lr.png"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.Size() == 0 || !slices.Contains(paths, filepath.Join(dir, name)) {
			t.Errorf("%s: %v (written: %v)", name, err, paths)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "trials.csv"))
	if n := strings.Count(string(raw), "\n"); n != len(trials)+1 {
		t.Errorf("trials.csv has %d lines, want a header and %d trials", n, len(trials))
	}
}

// TestComputeSelectsWhatToScore: a store may hold both rulesets, other
// variants of a workload and unfinished benchmarks; Compute scores what it
// is asked and says what it left out.
func TestComputeSelectsWhatToScore(t *testing.T) {
	runner := sequential(t)
	store := &memStore{}
	ext := Config{Workloads: []string{"noisy_rosenbrock"}, Optimizers: []string{"adam", "sgd"}, Ruleset: ExternalTuning, Budget: 2, Studies: 1}
	self := Config{Workloads: []string{"noisy_rosenbrock"}, Optimizers: []string{"adam", "sgd"}, Ruleset: SelfTuning, Studies: 1}
	full := ext
	full.FullBudget = true
	var all []Trial
	for _, c := range []Config{ext, self, full} {
		ts, err := c.Trials()
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, ts...)
	}
	if _, err := Run(t.Context(), store, all, Options{Runner: runner}); err != nil {
		t.Fatal(err)
	}
	if _, err := Compute(store.recs, ScoreOptions{}); err == nil || !strings.Contains(err.Error(), "both rulesets") {
		t.Errorf("a store with both rulesets scored without a choice: %v", err)
	}
	sc, err := Compute(store.recs, ScoreOptions{Ruleset: ExternalTuning})
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(sc.Notes, "\n")
	if sc.Budget != 2 || !strings.Contains(notes, "2 trials of ruleset self") || !strings.Contains(notes, "4 trials of another variant") {
		t.Errorf("external score: budget %d, notes:\n%s", sc.Budget, notes)
	}
	if sc, err := Compute(store.recs, ScoreOptions{Ruleset: ExternalTuning, FullBudget: true}); err != nil || sc.Budget != 2 {
		t.Errorf("full-budget score: %v", err)
	}
	// Asking for a larger budget than was run reports the missing trials.
	sc, err = Compute(store.recs, ScoreOptions{Ruleset: ExternalTuning, Budget: 3})
	if err != nil || !strings.Contains(strings.Join(sc.Notes, "\n"), "1 of 3 trials missing") {
		t.Errorf("budget 3 of a budget-2 benchmark: %v, notes %v", err, sc.Notes)
	}
	if _, err := Compute(nil, ScoreOptions{}); err == nil {
		t.Error("no records scored")
	}
}

// TestRunCached runs a benchmark through a store as a cache, step by step:
// a larger budget trains only the trials the smaller one lacked, records of
// other code are removed and recomputed, and a runner that records another
// fingerprint than the cache's stores nothing.
func TestRunCached(t *testing.T) {
	runner := sequential(t)
	trials := func(budget int) []Trial {
		ts, err := Config{Workloads: []string{"noisy_rosenbrock"}, Optimizers: []string{"sgd", "adam"}, Ruleset: ExternalTuning, Budget: budget, Studies: 1}.Trials()
		if err != nil {
			t.Fatal(err)
		}
		return ts
	}
	st := &memStore{}
	steps := []struct {
		name           string
		trials         []Trial
		code, recorded string // the cache's fingerprint, the runner's
		ran, skipped   int
		stale          int
		err            string
	}{
		{name: "budget 1", trials: trials(1), code: "A", recorded: "A", ran: 2},
		{name: "budget 2 extends it", trials: trials(2), code: "A", recorded: "A", ran: 2, skipped: 2},
		{name: "the same again", trials: trials(2), code: "A", recorded: "A", skipped: 4},
		{name: "a runner of other code", trials: trials(2), code: "B", recorded: "A", stale: 4, err: "code fingerprint"},
		{name: "other code", trials: trials(2), code: "B", recorded: "B", ran: 4},
		{name: "no fingerprint", trials: trials(1), code: "", recorded: "B", err: "needs the code fingerprint"},
	}
	for _, s := range steps {
		runner.Code = s.recorded
		recs, res, err := RunCached(t.Context(), st, s.trials, s.code, Options{Runner: runner})
		if s.err != "" {
			if err == nil || !strings.Contains(err.Error(), s.err) {
				t.Fatalf("%s: error %v, want one about %q", s.name, err, s.err)
			}
			if res.Stale != s.stale {
				t.Errorf("%s: %d stale records removed, want %d", s.name, res.Stale, s.stale)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if res.Ran != s.ran || res.Skipped != s.skipped || res.Stale != s.stale || res.Total != len(s.trials) {
			t.Errorf("%s: %+v, want %d ran, %d skipped, %d stale", s.name, res, s.ran, s.skipped, s.stale)
		}
		if len(recs) != len(s.trials) {
			t.Fatalf("%s: %d records for %d trials", s.name, len(recs), len(s.trials))
		}
		for i, r := range recs {
			if r.ID != s.trials[i].ID() || r.Env.Code != s.code {
				t.Errorf("%s: record %d is %s of code %q, want trial %s of code %q", s.name, i, r.ID, r.Env.Code, s.trials[i].ID(), s.code)
			}
		}
	}
	if len(st.recs) != 4 {
		t.Errorf("the store holds %d records, want the 4 trials of budget 2", len(st.recs))
	}
}
