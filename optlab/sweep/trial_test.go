package sweep

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"optlab.dev/optlab/optimizers"
)

// trialOf is a valid trial with the optimizer spec.
func trialOf(spec string) Trial {
	return Trial{Model: "logreg", Optimizer: optimizers.MustParse(spec), BatchSize: 32, Epochs: 1}
}

func ExampleTrial_Label() {
	t := Trial{Model: "logreg", Optimizer: optimizers.MustParse("sgd(lr=0.01,momentum=0.9)"), Seed: 1, BatchSize: 32, Epochs: 1}
	fmt.Println(t.Optimizer)
	fmt.Println(t.Label())
	// Output:
	// sgd(lr=0.01,momentum=0.9,dampening=0,nesterov=false,weight_decay=0)
	// sgd(momentum=0.9)
}

// TestTrialIDsArePinned: trial IDs are the keys of committed stores and of
// resumable sweeps, so the same trial must keep its ID byte for byte.
func TestTrialIDsArePinned(t *testing.T) {
	for _, tc := range []struct {
		trial Trial
		spec  string
		id    string
	}{
		{Trial{Model: "logreg", Optimizer: optimizers.MustParse("adam(lr=1e-3)"), Seed: 1, BatchSize: 32, Epochs: 1},
			"adam(lr=0.001,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0,amsgrad=false,bias_correction=true,keras=false)", "88dd67981c7ce0af"},
		{Trial{Model: "mlp-small", Optimizer: optimizers.MustParse("sgd(lr=0.01,momentum=0.9)"), Seed: 3, BatchSize: 32, Epochs: 5, Split: "holdout5k"},
			"sgd(lr=0.01,momentum=0.9,dampening=0,nesterov=false,weight_decay=0)", "790b00685454a832"},
		{Trial{Model: "mlp-bn", Optimizer: optimizers.MustParse("rmsprop(lr=0.001,keras=true)"), Seed: 2, BatchSize: 128, Epochs: 2,
			Split: "holdout5k", Limit: 6000, NonFinite: "skip"},
			"rmsprop(lr=0.001,rho=0.9,eps=1e-07,weight_decay=0,momentum=0,centered=false,keras=true)", "f9a527afb2013f6c"},
		{Trial{Model: "mlp-small", Optimizer: optimizers.MustParse("adamw(lr=3e-4,weight_decay=0.05,schedule=cosine(steps=10000,warmup=500),clip_norm=1)"),
			Seed: 1, BatchSize: 64, Epochs: 3},
			"adamw(lr=0.0003,b1=0.9,b2=0.999,eps=1e-08,weight_decay=0.05,amsgrad=false,bias_correction=true,keras=false,schedule=cosine(steps=10000,warmup=500,min_lr=0),clip_norm=1)",
			"7d7167fb9638ff92"},
	} {
		if got := tc.trial.Optimizer.String(); got != tc.spec {
			t.Errorf("canonical spec %q, want %q", got, tc.spec)
		}
		if got := tc.trial.ID(); got != tc.id {
			t.Errorf("trial %s: ID %s, want %s", tc.trial, got, tc.id)
		}
	}
}

func TestLabelAndFamily(t *testing.T) {
	for spec, want := range map[string]string{
		"adam(lr=0.01)":                    "adam",
		"adam(lr=1e-3,b1=0.8)":             "adam(b1=0.8)",
		"sgd(lr=0.1,momentum=0.9)":         "sgd(momentum=0.9)",
		"rmsprop(keras=true)":              "rmsprop(keras=true)",
		"rmsprop(keras=true,rho=0.95)":     "rmsprop(rho=0.95,keras=true)",
		"sgd(momentum=0.9,nesterov=true)":  "sgd(momentum=0.9,nesterov=true)",
		"lookahead(base=adam(lr=0.01))":    "lookahead(base=adam)",
		"lookahead(base=adam(b1=0.8),k=9)": "lookahead(base=adam(b1=0.8),k=9)",
		"ema(base=sam(base=sgd(lr=0.1)))":  "ema(base=sam(base=sgd))",
	} {
		if got := trialOf(spec).Label(); got != want {
			t.Errorf("Label of %q = %q, want %q", spec, got, want)
		}
	}
	if a, b := trialOf("adam(lr=0.1)").Family(), trialOf("adam(lr=0.001)").Family(); a != b || strings.Contains(a, "lr=") {
		t.Errorf("families of two adam rates: %q and %q", a, b)
	}
	// A wrapper's learning rate is its base's: a grid's lrs make one family.
	if a, b := trialOf("lookahead(base=adam(lr=0.1))").Family(), trialOf("lookahead(base=adam(lr=0.001))").Family(); a != b || strings.Contains(a, "lr=") {
		t.Errorf("families of two lookahead rates: %q and %q", a, b)
	}
	if trialOf("lookahead(base=adam)").Family() == trialOf("lookahead(base=adam(b1=0.8))").Family() {
		t.Error("different base b1 should be different families")
	}
	if trialOf("adam").Family() == trialOf("adam(b1=0.8)").Family() {
		t.Error("different b1 should be different families")
	}
}

func TestTrialIDIsStableAndCanonical(t *testing.T) {
	base := Trial{Model: "logreg", Optimizer: optimizers.MustParse("adam(lr=1e-3)"), Seed: 1, BatchSize: 32, Epochs: 1}
	same := base
	same.Optimizer = optimizers.MustParse("adam(lr=0.001,b1=0.9)")
	same.Split, same.NonFinite = "test", "stop"
	if base.ID() != same.ID() {
		t.Errorf("equivalent trials have different IDs: %s, %s", base.ID(), same.ID())
	}
	if len(base.ID()) != 16 {
		t.Errorf("ID %q is not 16 hex digits", base.ID())
	}
	for _, mod := range []func(*Trial){
		func(t *Trial) { t.Seed = 2 }, func(t *Trial) { t.Optimizer = optimizers.MustParse("adam(lr=2e-3)") }, func(t *Trial) { t.Model = "mlp-small" },
		func(t *Trial) { t.BatchSize = 64 }, func(t *Trial) { t.Epochs = 2 }, func(t *Trial) { t.Limit = 300 },
		func(t *Trial) { t.Split = "holdout5k" }, func(t *Trial) { t.NonFinite = "skip" },
		func(t *Trial) { t.EvalEvery = 50 }, func(t *Trial) { t.Limit, t.FullEval = 300, true },
	} {
		other := base
		mod(&other)
		if other.ID() == base.ID() {
			t.Errorf("trial %+v shares the ID of %+v", other, base)
		}
	}
	adam := optimizers.MustParse("adam")
	for _, bad := range []Trial{
		{Model: "nope", Optimizer: adam, BatchSize: 1, Epochs: 1},
		{Model: "logreg", BatchSize: 1, Epochs: 1},
		{Model: "logreg", Optimizer: adam, BatchSize: 0, Epochs: 1},
		{Model: "logreg", Optimizer: adam, BatchSize: 1, Epochs: 0},
		{Model: "logreg", Optimizer: adam, BatchSize: 1, Epochs: 1, Split: "x"},
		{Model: "logreg", Optimizer: adam, BatchSize: 1, Epochs: 1, NonFinite: "x"},
		{Model: "logreg", Optimizer: adam, BatchSize: 1, Epochs: 1, Limit: -1},
		{Model: "logreg", Optimizer: adam, BatchSize: 1, Epochs: 1, EvalEvery: -1},
	} {
		if _, err := bad.Canonical(); err == nil {
			t.Errorf("trial %+v accepted", bad)
		}
	}
	// The whole evaluation splits without a limit are the default splits:
	// the same trial.
	full := base
	full.FullEval = true
	if full.ID() != base.ID() {
		t.Errorf("FullEval without a limit changed the ID: %s, %s", full.ID(), base.ID())
	}
	// A trial survives a JSON file round trip, new fields included.
	withEvals := base
	withEvals.EvalEvery, withEvals.Limit, withEvals.FullEval = 25, 8000, true
	for _, tr := range []Trial{base, withEvals} {
		path := filepath.Join(t.TempDir(), "trial.json")
		if err := WriteTrial(path, tr); err != nil {
			t.Fatal(err)
		}
		got, err := ReadTrial(path)
		if err != nil || got.ID() != tr.ID() || got.EvalEvery != tr.EvalEvery || got.FullEval != tr.FullEval {
			t.Fatalf("ReadTrial: %+v, %v", got, err)
		}
	}
	if cfg := withEvals.Config(); cfg.EvalEvery != 25 {
		t.Errorf("Config().EvalEvery = %d, want 25", cfg.EvalEvery)
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

func ExampleGrid_Trials() {
	g := Grid{Models: []string{"logreg"}, Optimizers: []string{"sgd(momentum=0.9)", "adam"},
		LRs: []float64{1e-3, 1e-2}, Seeds: []int64{1, 2}, Epochs: 1}
	trials, err := g.Trials()
	if err != nil {
		panic(err)
	}
	fmt.Println(len(trials), "trials; the first:", trials[0].Label(), trials[0].LR(), trials[0].Seed)
	// Output:
	// 8 trials; the first: sgd(momentum=0.9) 0.001 1
}

func TestExampleGridFileIsValid(t *testing.T) {
	g, err := LoadGrid(filepath.Join("..", "..", "docs", "sweeps", "grid.json"))
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

func ExampleLogSpace() {
	lrs, err := LogSpace(1e-3, 1e-2, 4)
	if err != nil {
		panic(err)
	}
	fmt.Println(lrs)
	// Output: [0.001 0.00178 0.00316 0.00562 0.01]
}

func TestLogSpace(t *testing.T) {
	lrs, err := LogSpace(0.1, 10, 4)
	if err != nil || len(lrs) != 9 || lrs[0] != 0.1 || lrs[4] != 1 || lrs[8] != 10 || lrs[1] != 0.178 {
		t.Errorf("LogSpace(0.1, 10, 4) = %v, %v: want 9 rates from 0.1 to 10 through 0.178 and 1", lrs, err)
	}
	if lrs, err := LogSpace(0.5, 0.5, 4); err != nil || len(lrs) != 1 || lrs[0] != 0.5 {
		t.Errorf("one rate: %v, %v", lrs, err)
	}
	for _, bad := range []struct {
		lo, hi float64
		per    int
		want   string
	}{{0, 1, 4, "lo 0"}, {1, 0.5, 4, "hi 0.5"}, {1e-3, 1, 0, "0 rates"}, {1e-300, 1e300, 100, "too many"}} {
		if _, err := LogSpace(bad.lo, bad.hi, bad.per); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("LogSpace(%v, %v, %d): error %v, want one mentioning %q", bad.lo, bad.hi, bad.per, err, bad.want)
		}
	}
}

// TestProtocolTrials: a trial with a Protocol keeps the IDs of trials without
// one, has an ID of its own that its protocol object decides, survives a trial
// file (indented there) with the same ID, and is refused by the sweep runner.
func TestProtocolTrials(t *testing.T) {
	plain := Trial{Model: "logreg", Optimizer: optimizers.MustParse("adam(lr=1e-3)"), Seed: 1, BatchSize: 32, Epochs: 1}
	if plain.ID() != "88dd67981c7ce0af" {
		t.Fatalf("a trial without a protocol changed its ID: %s", plain.ID())
	}
	p := Trial{Model: "mlp-algoperf", Optimizer: optimizers.MustParse("adam"), Seed: 1, BatchSize: 128,
		Protocol: []byte(`{"workload":"mnist_algoperf","study":0}`)}
	q := p
	q.Protocol = []byte(`{"workload":"mnist_algoperf","study":1}`)
	if p.ID() == q.ID() || p.ID() == plain.ID() {
		t.Errorf("protocol trials share IDs: %s, %s, %s", p.ID(), q.ID(), plain.ID())
	}
	if c, err := p.Canonical(); err != nil || c.Split != "" || c.NonFinite != "" {
		t.Errorf("Canonical of a protocol trial: %+v, %v; want it unchanged", c, err)
	}
	path := filepath.Join(t.TempDir(), "trial.json")
	if err := WriteTrial(path, p); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	if !strings.Contains(string(raw), `"protocol": {`) {
		t.Errorf("trial file does not show the protocol object:\n%s", raw)
	}
	got, err := ReadTrial(path)
	if err != nil || got.ID() != p.ID() {
		t.Fatalf("ReadTrial: %+v, %v; want ID %s", got, err, p.ID())
	}
	if _, err := Run(t.Context(), nil, []Trial{p}, Options{}); err == nil || !strings.Contains(err.Error(), "protocol") {
		t.Errorf("Run accepted a protocol trial: %v", err)
	}
	if _, err := RunTrial(t.Context(), nil, nil, p); err == nil || !strings.Contains(err.Error(), "protocol") {
		t.Errorf("RunTrial accepted a protocol trial: %v", err)
	}
}
