package optlab

import (
	stdctx "context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/backends"

	"optlab.dev/optlab/optimizers"
)

func TestWithHyperparameter(t *testing.T) {
	for _, tc := range []struct {
		spec, key string
		value     float64
		want      string // substring of the result, or of the error
		err       bool
	}{
		{"adam", "lr", 0.01, "adam(lr=0.01,b1=0.9,", false},
		{"adam(lr=1e-3,b1=0.8)", "lr", 3e-4, "adam(lr=0.0003,b1=0.8,", false},
		{"adam(learning_rate=1e-3)", "lr", 0.1, "adam(lr=0.1,", false},
		{"sgd(lr=0.5,momentum=0.9)", "momentum", 0.5, "sgd(lr=0.5,momentum=0.5,", false},
		{"adamw(lr=3e-4,schedule=cosine(steps=100,warmup=10),clip_norm=1)", "lr", 1e-3, "schedule=cosine(steps=100,warmup=10", false},
		{"adam", "nope", 1, `no hyperparameter "nope"`, true},
		{"adam", "lr", -1, "lr", true},
		{"adum", "lr", 1, "adum", true},
	} {
		got, err := WithHyperparameter(tc.spec, tc.key, tc.value)
		if tc.err {
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("WithHyperparameter(%q, %q, %v) = %q, %v; want an error containing %q", tc.spec, tc.key, tc.value, got, err, tc.want)
			}
			continue
		}
		if err != nil || !strings.Contains(got, tc.want) {
			t.Errorf("WithHyperparameter(%q, %q, %v) = %q, %v; want it to contain %q", tc.spec, tc.key, tc.value, got, err, tc.want)
			continue
		}
		o := optimizers.MustParse(got)
		if v, _ := o.Hyperparameter(tc.key); v != tc.value {
			t.Errorf("%q: %s = %v, want %v", got, tc.key, v, tc.value)
		}
	}
}

func TestSpecLabelAndFamily(t *testing.T) {
	for spec, want := range map[string]string{
		"adam(lr=0.01)":                   "adam",
		"adam(lr=1e-3,b1=0.8)":            "adam(b1=0.8)",
		"sgd(lr=0.1,momentum=0.9)":        "sgd(momentum=0.9)",
		"rmsprop(keras=true)":             "rmsprop(keras=true)",
		"rmsprop(keras=true,rho=0.95)":    "rmsprop(rho=0.95,keras=true)",
		"sgd(momentum=0.9,nesterov=true)": "sgd(momentum=0.9,nesterov=true)",
	} {
		if got := SpecLabel(spec); got != want {
			t.Errorf("SpecLabel(%q) = %q, want %q", spec, got, want)
		}
	}
	if a, b := SpecFamily("adam(lr=0.1)"), SpecFamily("adam(lr=0.001)"); a != b || strings.Contains(a, "lr=") {
		t.Errorf("families of two adam rates: %q and %q", a, b)
	}
	if SpecFamily("adam") == SpecFamily("adam(b1=0.8)") {
		t.Error("different b1 should be different families")
	}
}

func TestTrialIDIsStableAndCanonical(t *testing.T) {
	base := Trial{Model: "logreg", Optimizer: "adam(lr=1e-3)", Seed: 1, BatchSize: 32, Epochs: 1}
	same := base
	same.Optimizer = "adam(lr=0.001,b1=0.9)"
	same.Split, same.NonFinite = "test", "stop"
	if base.ID() != same.ID() {
		t.Errorf("equivalent trials have different IDs: %s, %s", base.ID(), same.ID())
	}
	if len(base.ID()) != 16 {
		t.Errorf("ID %q is not 16 hex digits", base.ID())
	}
	for _, mod := range []func(*Trial){
		func(t *Trial) { t.Seed = 2 }, func(t *Trial) { t.Optimizer = "adam(lr=2e-3)" }, func(t *Trial) { t.Model = "mlp-small" },
		func(t *Trial) { t.BatchSize = 64 }, func(t *Trial) { t.Epochs = 2 }, func(t *Trial) { t.Limit = 300 },
		func(t *Trial) { t.Split = "holdout5k" }, func(t *Trial) { t.NonFinite = "skip" },
	} {
		other := base
		mod(&other)
		if other.ID() == base.ID() {
			t.Errorf("trial %+v shares the ID of %+v", other, base)
		}
	}
	for _, bad := range []Trial{
		{Model: "nope", Optimizer: "adam", BatchSize: 1, Epochs: 1},
		{Model: "logreg", Optimizer: "adam(lr=-1)", BatchSize: 1, Epochs: 1},
		{Model: "logreg", Optimizer: "adam", BatchSize: 0, Epochs: 1},
		{Model: "logreg", Optimizer: "adam", BatchSize: 1, Epochs: 0},
		{Model: "logreg", Optimizer: "adam", BatchSize: 1, Epochs: 1, Split: "x"},
		{Model: "logreg", Optimizer: "adam", BatchSize: 1, Epochs: 1, NonFinite: "x"},
		{Model: "logreg", Optimizer: "adam", BatchSize: 1, Epochs: 1, Limit: -1},
	} {
		if _, err := bad.Canonical(); err == nil {
			t.Errorf("trial %+v accepted", bad)
		}
	}
	// A trial survives a JSON file round trip.
	path := filepath.Join(t.TempDir(), "trial.json")
	if err := WriteTrial(path, base); err != nil {
		t.Fatal(err)
	}
	got, err := ReadTrial(path)
	if err != nil || got.ID() != base.ID() {
		t.Fatalf("ReadTrial: %+v, %v", got, err)
	}
}

func TestGridTrials(t *testing.T) {
	g := Grid{Models: []string{"logreg"}, Optimizers: []string{"sgd(momentum=0.9)", "adam", "adam(lr=5)"},
		LRs: []float64{0.01, 0.1}, Seeds: []int64{1, 2}, BatchSizes: []int{32}, Epochs: 1, Limit: 300}
	trials, err := g.Trials()
	if err != nil {
		t.Fatal(err)
	}
	// "adam" and "adam(lr=5)" are one family once the lr is replaced.
	if len(trials) != 2*2*2 {
		t.Fatalf("%d trials, want 8", len(trials))
	}
	if trials[0].LR() != 0.01 || trials[2].LR() != 0.1 || trials[1].Seed != 2 {
		t.Errorf("unexpected order: %v, %v, %v", trials[0], trials[1], trials[2])
	}
	for _, tc := range []struct {
		mod  func(*Grid)
		want string
	}{
		{func(g *Grid) { g.Models = nil }, "no models"},
		{func(g *Grid) { g.Optimizers = nil }, "no optimizers"},
		{func(g *Grid) { g.LRs = []float64{0} }, "learning rate 0"},
		{func(g *Grid) { g.Optimizers = []string{"adam(b9=1)"} }, "b9"},
		{func(g *Grid) { g.Epochs = 0 }, "epochs"},
	} {
		bad := g
		tc.mod(&bad)
		if _, err := bad.Trials(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", err, tc.want)
		}
	}
	path := filepath.Join(t.TempDir(), "grid.json")
	os.WriteFile(path, []byte(`{"models":["logreg"],"optimizers":["adam"],"lr":[0.1]}`), 0o644)
	if _, err := LoadGrid(path); err == nil || !strings.Contains(err.Error(), `"lr"`) {
		t.Errorf("unknown key: got %v", err)
	}
	os.WriteFile(path, []byte(`{"models":["logreg"],"optimizers":["adam"],"lrs":[0.1],"seeds":[1,2],"epochs":1}`), 0o644)
	if g, err := LoadGrid(path); err != nil || len(g.LRs) != 1 || len(g.Seeds) != 2 {
		t.Errorf("LoadGrid: %+v, %v", g, err)
	}
}

// tinyGrid is a sweep small enough for unit tests: logistic regression on 300
// images, one epoch, two optimizers × two rates × two seeds.
var tinyGrid = Grid{Models: []string{"logreg"}, Optimizers: []string{"sgd(momentum=0.9)", "adam"},
	LRs: []float64{0.01, 0.1}, Seeds: []int64{1, 2}, BatchSizes: []int{32}, Epochs: 2, Limit: 300}

var (
	tinySweepOnce sync.Once
	tinySweepRecs []Record
	tinySweepErr  error
)

// tinySweep runs tinyGrid once per test binary and returns its records.
func tinySweep(t *testing.T) []Record {
	t.Helper()
	m := testMNIST(t)
	tinySweepOnce.Do(func() {
		trials, err := tinyGrid.Trials()
		if err != nil {
			tinySweepErr = err
			return
		}
		dir, err := os.MkdirTemp("", "optlab-sweep")
		if err != nil {
			tinySweepErr = err
			return
		}
		defer os.RemoveAll(dir)
		s, err := OpenStore(filepath.Join(dir, "tiny.jsonl"), StoreOptions{})
		if err != nil {
			tinySweepErr = err
			return
		}
		defer s.Close()
		if _, tinySweepErr = RunSweep(stdctx.Background(), s, trials, SweepOptions{MNIST: m}); tinySweepErr == nil {
			tinySweepRecs = s.Records()
		}
	})
	if tinySweepErr != nil {
		t.Fatal(tinySweepErr)
	}
	return tinySweepRecs
}

func TestSweepRunsResumesAndParallelWorkersAgree(t *testing.T) {
	m := testMNIST(t)
	trials, err := tinyGrid.Trials()
	if err != nil {
		t.Fatal(err)
	}
	ref := tinySweep(t)
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
	path := filepath.Join(t.TempDir(), "s.jsonl")
	s, err := OpenStore(path, StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := stdctx.WithCancel(stdctx.Background())
	res, err := RunSweep(ctx, s, trials, SweepOptions{MNIST: m, OnRecord: func(Record) {
		if s.Len() == 3 {
			cancel()
		}
	}})
	if err == nil || res.Ran != 3 || s.Len() != 3 {
		t.Fatalf("interrupted sweep: %+v, %v, %d records", res, err, s.Len())
	}
	var log strings.Builder
	res, err = RunSweep(stdctx.Background(), s, trials, SweepOptions{MNIST: m, Workers: 2, Log: &log,
		NewBackend: func() (backends.Backend, error) { return NewBackend("go") }})
	if err != nil || res.Skipped != 3 || res.Ran != len(trials)-3 {
		t.Fatalf("resumed sweep: %+v, %v", res, err)
	}
	if n := strings.Count(log.String(), "\n"); n != len(trials)-3 {
		t.Errorf("log has %d lines, want %d:\n%s", n, len(trials)-3, log.String())
	}
	res, err = RunSweep(stdctx.Background(), s, trials, SweepOptions{MNIST: m})
	if err != nil || res.Ran != 0 || res.Skipped != len(trials) {
		t.Fatalf("finished sweep re-run: %+v, %v", res, err)
	}
	s.Close()
	got, err := ReadStore(path)
	if err != nil {
		t.Fatal(err)
	}
	assertSameResults(t, ref, got.Records)
}

// assertSameResults checks two record sets hold the same trials with the same
// metrics (timings aside: they differ from run to run).
func assertSameResults(t *testing.T, want, got []Record) {
	t.Helper()
	byID := map[string]Record{}
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
	m := testMNIST(t)
	trials, err := Grid{Models: []string{"mlp-small"}, Optimizers: []string{"sgd(lr=1e4)"}, Seeds: []int64{1},
		Epochs: 1, Limit: 300}.Trials()
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(filepath.Join(t.TempDir(), "s.jsonl"), StoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	res, err := RunSweep(stdctx.Background(), s, trials, SweepOptions{MNIST: m})
	if err != nil || res.Diverged != 1 || s.Len() != 1 {
		t.Fatalf("%+v, %v", res, err)
	}
	if r := s.Records()[0]; !r.Hist.Diverged() {
		t.Fatalf("record error %q, want a divergence", r.Hist.Err)
	}
}

func ExampleWithHyperparameter() {
	spec, err := WithHyperparameter("sgd(lr=0.1,momentum=0.9)", "lr", 0.01)
	if err != nil {
		panic(err)
	}
	fmt.Println(spec)
	fmt.Println(SpecLabel(spec))
	// Output:
	// sgd(lr=0.01,momentum=0.9,dampening=0,nesterov=false,weight_decay=0)
	// sgd(momentum=0.9)
}

func ExampleGrid_Trials() {
	g := Grid{Models: []string{"logreg"}, Optimizers: []string{"sgd(momentum=0.9)", "adam"},
		LRs: []float64{1e-3, 1e-2}, Seeds: []int64{1, 2}, Epochs: 1}
	trials, err := g.Trials()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(trials), "trials; the first:", SpecLabel(trials[0].Optimizer), trials[0].LR(), trials[0].Seed)
	// Output:
	// 8 trials; the first: sgd(momentum=0.9) 0.001 1
}

func TestExampleGridFileIsValid(t *testing.T) {
	g, err := LoadGrid(filepath.Join("..", "docs", "sweeps", "grid.json"))
	if err != nil {
		t.Fatal(err)
	}
	trials, err := g.Trials()
	if err != nil {
		t.Fatal(err)
	}
	if want := len(g.Models) * len(g.Optimizers) * len(g.LRs) * len(g.Seeds) * len(g.BatchSizes); len(trials) != want {
		t.Errorf("%d trials, want %d", len(trials), want)
	}
}
