package sweep_test

import (
	stdctx "context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/compute"

	"optlab.dev/internal/fingerprint"
	"optlab.dev/optlab"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/population"
	"optlab.dev/optlab/store"
	"optlab.dev/optlab/sweep"
	"optlab.dev/optlab/sweep/sweeptest"
)

func TestSweepRunsResumesAndParallelWorkersAgree(t *testing.T) {
	m := sweeptest.MNIST(t)
	trials, err := sweeptest.TinyGrid.Trials()
	if err != nil {
		t.Fatal(err)
	}
	ref := sweeptest.TinySweep(t)
	if len(ref) != len(trials) {
		t.Fatalf("%d records for %d trials", len(ref), len(trials))
	}
	for _, r := range ref {
		if r.Hist.Err != "" || len(r.Hist.Epochs) != 2 || r.Hist.TestAccuracy < 0.3 || r.Env.Backend == "" || r.Env.GoVersion == "" {
			t.Fatalf("implausible record %s: %+v", r.ID, r.Hist)
		}
	}

	// A sweep interrupted after three trials keeps exactly those three; running
	// it again (with two workers) runs only the rest, and every record equals
	// the uninterrupted sequential run's.
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	count := func() int {
		n, err := s.Len()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	ctx, cancel := stdctx.WithCancel(stdctx.Background())
	res, err := sweep.Run(ctx, s, trials, sweep.Options{MNIST: m, OnRecord: func(sweep.Record) {
		if count() == 3 {
			cancel()
		}
	}})
	if err == nil || res.Ran != 3 || count() != 3 {
		t.Fatalf("interrupted sweep: %+v, %v, %d records", res, err, count())
	}
	var log strings.Builder
	res, err = sweep.Run(stdctx.Background(), s, trials, sweep.Options{MNIST: m, Workers: 2, Log: &log,
		NewBackend: func() (compute.Backend, error) { return optlab.NewBackend("go") }})
	if err != nil || res.Skipped != 3 || res.Ran != len(trials)-3 {
		t.Fatalf("resumed sweep: %+v, %v", res, err)
	}
	if n := strings.Count(log.String(), "\n"); n != len(trials)-3 {
		t.Errorf("log has %d lines, want %d:\n%s", n, len(trials)-3, log.String())
	}
	res, err = sweep.Run(stdctx.Background(), s, trials, sweep.Options{MNIST: m})
	if err != nil || res.Ran != 0 || res.Skipped != len(trials) {
		t.Fatalf("finished sweep re-run: %+v, %v", res, err)
	}
	s.Close()
	got, err := store.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	assertSameResults(t, ref, got.Records)
}

// assertSameResults checks two record sets hold the same trials with the same
// metrics (timings aside: they differ from run to run).
func assertSameResults(t *testing.T, want, got []sweep.Record) {
	t.Helper()
	byID := map[string]sweep.Record{}
	for _, r := range got {
		if _, dup := byID[r.ID]; dup {
			t.Fatalf("trial %s recorded twice", r.ID)
		}
		byID[r.ID] = r
	}
	if len(byID) != len(want) {
		t.Fatalf("%d trials, want %d", len(byID), len(want))
	}
	for _, w := range want {
		g, ok := byID[w.ID]
		if !ok {
			t.Fatalf("trial %s (%s) missing", w.ID, w.Trial)
		}
		if g.Hist.TestAccuracy != w.Hist.TestAccuracy || g.Hist.TestLoss != w.Hist.TestLoss || len(g.Hist.Epochs) != len(w.Hist.Epochs) {
			t.Fatalf("trial %s: test %v/%v, want %v/%v", w.ID, g.Hist.TestAccuracy, g.Hist.TestLoss, w.Hist.TestAccuracy, w.Hist.TestLoss)
		}
		for i := range w.Hist.Epochs {
			if g.Hist.Epochs[i].Loss != w.Hist.Epochs[i].Loss || g.Hist.Epochs[i].ValAccuracy != w.Hist.Epochs[i].ValAccuracy {
				t.Fatalf("trial %s epoch %d differs", w.ID, i+1)
			}
		}
	}
}

func TestSweepStoresDivergedTrialsAsFinished(t *testing.T) {
	m := sweeptest.MNIST(t)
	trials, err := sweep.Grid{Models: []string{"mlp-small"}, Optimizers: []string{"sgd(lr=1e4)"}, Seeds: []int64{1},
		Epochs: 1, Limit: 300}.Trials()
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(filepath.Join(t.TempDir(), "s.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := sweep.Run(stdctx.Background(), s, trials, sweep.Options{MNIST: m})
	recs, rerr := s.Records()
	if err != nil || rerr != nil || res.Diverged != 1 || len(recs) != 1 {
		t.Fatalf("%+v, %v, %v", res, err, rerr)
	}
	if r := recs[0]; !r.Hist.Diverged() {
		t.Fatalf("record error %q, want a divergence", r.Hist.Err)
	}
	// A test binary was built from this working tree: its records carry the
	// runner's fingerprint, which the store keeps (read back from the file).
	want, err := fingerprint.Runner(".")
	if err != nil {
		t.Fatal(err)
	}
	path2 := filepath.Join(t.TempDir(), "s2.db")
	for _, tc := range []struct{ given, want string }{{"", want}, {"sha256:given", "sha256:given"}} {
		os.Remove(path2)
		s2, err := store.Open(path2, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		_, err = sweep.Run(stdctx.Background(), s2, trials, sweep.Options{MNIST: m, Code: tc.given})
		s2.Close()
		if err != nil {
			t.Fatal(err)
		}
		c, err := store.Read(path2)
		if err != nil || len(c.Records) != 1 {
			t.Fatalf("reading the store: %v", err)
		}
		if got := c.Records[0].Env.Code; got != tc.want {
			t.Errorf("Options.Code %q: stored code %q, want %q", tc.given, got, tc.want)
		}
	}
}

// TestCommittedStoreIDsHold reads the sweep committed with notebook 09 (its
// size changes with the notebook's grid): every record's ID is its trial's ID
// as this version computes it, so resuming that sweep runs nothing again.
func TestCommittedStoreIDsHold(t *testing.T) {
	c, err := store.Read(filepath.Join("..", "..", "data", "cache", "09_sweep.db"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Records) == 0 || c.Version != store.CurrentVersion {
		t.Fatalf("%d records, schema version %d", len(c.Records), c.Version)
	}
	for _, r := range c.Records {
		if id := r.Trial.ID(); id != r.ID {
			t.Errorf("record %s: its trial's ID is now %s (%s)", r.ID, id, r.Trial)
		}
	}
}

// TestPopulationSweepMatchesAndResumes runs TinyGrid two populations at a
// time: the records hold the same trials and metrics as the sequential
// sweep's (to the summation-order noise of the population), and a population
// sweep killed after its first population resumes like a sweep.
func TestPopulationSweepMatchesAndResumes(t *testing.T) {
	m := sweeptest.MNIST(t)
	trials, err := sweeptest.TinyGrid.Trials()
	if err != nil {
		t.Fatal(err)
	}
	ref := sweeptest.TinySweep(t)
	path := filepath.Join(t.TempDir(), "p.db")
	s, err := store.Open(path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	count := func() int {
		n, err := s.Len()
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	opts := sweep.Options{MNIST: m, Population: 4, TrainPopulation: population.Train}
	ctx, cancel := stdctx.WithCancel(stdctx.Background())
	opts.OnRecord = func(sweep.Record) {
		if count() == 4 {
			cancel()
		}
	}
	res, err := sweep.Run(ctx, s, trials, opts)
	if err == nil || res.Ran != 4 || count() != 4 {
		t.Fatalf("interrupted population sweep: %+v, %v, %d records", res, err, count())
	}
	opts.OnRecord = nil
	var log strings.Builder
	opts.Log = &log
	res, err = sweep.Run(stdctx.Background(), s, trials, opts)
	if err != nil || res.Skipped != 4 || res.Ran != len(trials)-4 {
		t.Fatalf("resumed population sweep: %+v, %v", res, err)
	}
	if !strings.Contains(log.String(), "(population of 4)") {
		t.Errorf("log does not say the trials ran as populations:\n%s", log.String())
	}
	recs, err := s.Records()
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]sweep.Record{}
	for _, r := range recs {
		byID[r.ID] = r
	}
	if len(byID) != len(ref) {
		t.Fatalf("%d records, want %d", len(byID), len(ref))
	}
	for _, w := range ref {
		g, ok := byID[w.ID]
		if !ok {
			t.Fatalf("trial %s missing", w.ID)
		}
		if g.Hist.Members != 4 || len(g.Hist.Epochs) != len(w.Hist.Epochs) || g.Seconds <= 0 {
			t.Fatalf("trial %s: %+v", w.ID, g.Hist)
		}
		if d := math.Abs(g.Hist.TestAccuracy - w.Hist.TestAccuracy); d > 0.01 {
			t.Errorf("trial %s (%s): test accuracy %.4f in a population, %.4f alone", w.ID, w.Trial, g.Hist.TestAccuracy, w.Hist.TestAccuracy)
		}
	}
}

// TestPopulations groups trials that can share a population, in order, and
// leaves the others alone.
func TestPopulations(t *testing.T) {
	trial := func(model, spec string, batch int, seed int64) sweep.Trial {
		tr, err := sweep.Trial{Model: model, Optimizer: optimizers.MustParse(spec), Seed: seed, BatchSize: batch, Epochs: 1}.Canonical()
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	trials := []sweep.Trial{
		trial("mlp-small", "adam(lr=1e-3)", 32, 1),        // a
		trial("mlp-small", "sgd(lr=0.1)", 32, 1),          // b
		trial("mlp-small", "adam(lr=1e-2)", 32, 2),        // a
		trial("mlp-small", "adam(lr=1e-2)", 64, 1),        // c: another batch size
		trial("cnn-small", "adam(lr=1e-3)", 32, 1),        // alone: no member form
		trial("mlp-small", "muon", 32, 1),                 // alone: not stackable
		trial("mlp-small", "adam(lr=1e-1,b1=0.8)", 32, 3), // a
		trial("mlp-small", "sgd(lr=0.2)", 32, 1),          // b
		trial("mlp-small", "adam(amsgrad=true)", 32, 1),   // d: another structure
	}
	describe := func(jobs [][]sweep.Trial) string {
		idx := map[string]int{}
		for i, tr := range trials {
			idx[tr.ID()] = i
		}
		var parts []string
		for _, j := range jobs {
			var ids []string
			for _, tr := range j {
				ids = append(ids, fmt.Sprint(idx[tr.ID()]))
			}
			parts = append(parts, "["+strings.Join(ids, " ")+"]")
		}
		return strings.Join(parts, " ")
	}
	for _, tc := range []struct {
		size int
		want string
	}{
		{1, "[0] [1] [2] [3] [4] [5] [6] [7] [8]"},
		{2, "[0 2] [6] [1 7] [3] [4] [5] [8]"},
		{16, "[0 2 6] [1 7] [3] [4] [5] [8]"},
	} {
		if got := describe(sweep.Populations(trials, tc.size)); got != tc.want {
			t.Errorf("Populations(%d) = %s, want %s", tc.size, got, tc.want)
		}
	}
}

// TestSweepEvaluatesEveryNStepsOnTheWholeSplit: a grid with EvalEvery and
// FullEval gives trials whose histories hold their evaluations within
// epochs, measured on the whole validation split (5,000 held-out images,
// however few training images the limit keeps), whether they train alone or
// as a population.
func TestSweepEvaluatesEveryNStepsOnTheWholeSplit(t *testing.T) {
	m := sweeptest.MNIST(t)
	g := sweep.Grid{Models: []string{"logreg"}, Optimizers: []string{"adam"}, LRs: []float64{0.01, 0.03},
		Seeds: []int64{1}, BatchSizes: []int{32}, Epochs: 1, Split: "holdout5k", Limit: 320, EvalEvery: 4, FullEval: true}
	trials, err := g.Trials()
	if err != nil {
		t.Fatal(err)
	}
	for _, opts := range []sweep.Options{{MNIST: m}, {MNIST: m, Population: 2, TrainPopulation: population.Train}} {
		s := &sweeptest.MemStore{}
		if _, err := sweep.Run(stdctx.Background(), s, trials, opts); err != nil {
			t.Fatal(err)
		}
		// Accuracies on 5,000 images are counts out of 5,000; Splits' cut
		// (limit/6, at least 100 images) would make every one a count out of 100.
		fine := 0
		for _, r := range s.Records() {
			var steps []int
			for _, e := range r.Hist.Evals {
				steps = append(steps, e.Step)
				if n := e.ValAccuracy * 5000; math.Abs(n-math.Round(n)) > 1e-6 {
					t.Errorf("population %d: validation accuracy %v is not a count out of 5,000", opts.Population, e.ValAccuracy)
				}
				if n := e.ValAccuracy * 100; math.Abs(n-math.Round(n)) > 1e-6 {
					fine++
				}
			}
			if fmt.Sprint(steps) != "[4 8 10]" {
				t.Errorf("population %d, trial %s: evaluations at steps %v, want [4 8 10]", opts.Population, r.Trial, steps)
			}
		}
		if fine == 0 {
			t.Errorf("population %d: every validation accuracy is a count out of 100: the validation split was cut", opts.Population)
		}
	}
}
