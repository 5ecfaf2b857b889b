package benchmark

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"optlab.dev/optlab/optimizers"
)

func TestHalton(t *testing.T) {
	for _, c := range []struct {
		i, b int
		want float64
	}{
		{1, 2, 0.5}, {2, 2, 0.25}, {3, 2, 0.75}, {4, 2, 0.125},
		{1, 3, 1.0 / 3}, {2, 3, 2.0 / 3}, {3, 3, 1.0 / 9}, {5, 3, 2.0/3 + 1.0/9}, // 5 = 12₃ → 0.21₃
	} {
		if got := halton(c.i, c.b); math.Abs(got-c.want) > 1e-15 {
			t.Errorf("halton(%d, %d) = %v, want %v", c.i, c.b, got, c.want)
		}
	}
}

func TestDimValues(t *testing.T) {
	for _, c := range []struct {
		d    Dim
		u    float64
		want float64
	}{
		{Dim{Key: "lr", Min: 1e-4, Max: 1, Log: true}, 0, 1e-4},
		{Dim{Key: "lr", Min: 1e-4, Max: 1, Log: true}, 0.5, 0.01},
		{Dim{Key: "lr", Min: 1e-4, Max: 1, Log: true}, 0.25, 0.001},
		{Dim{Key: "x", Min: 2, Max: 4}, 0.5, 3},
		{Dim{Key: "b1", Min: 0.01, Max: 0.5, Log: true, OneMinus: true}, 0, 0.99},
		{Dim{Key: "b2", Min: 1e-3, Max: 0.1, Log: true, OneMinus: true}, 0.5, 0.99},
		{Dim{Key: "lr", Min: 1e-5, Max: 1e-1, Log: true}, 0.123456, 3.12e-5}, // 10^(−5 + 4·0.123456) = 3.1206e-5, three significant digits
	} {
		if got := c.d.value(c.u); math.Abs(got-c.want) > 1e-12*math.Max(1, c.want) {
			t.Errorf("%s at u=%v: %v, want %v", c.d, c.u, got, c.want)
		}
	}
}

// TestSearchSpaces: every registered optimizer family has a search space
// whose points are valid optimizers of that family, inside the ranges.
func TestSearchSpaces(t *testing.T) {
	spaces := SearchSpaces()
	var families, wrappers []string
	for _, name := range optimizers.Names() {
		if w, err := optimizers.Parse(name + "(base=sgd)"); err == nil && w.Base() != nil {
			wrappers = append(wrappers, name)
		} else {
			families = append(families, name)
		}
	}
	if len(spaces) != len(families) || len(wrappers) == 0 {
		t.Errorf("%d search spaces for %d families (and wrappers %v)", len(spaces), len(families), wrappers)
	}
	for _, w := range wrappers {
		if _, err := Space(w); err == nil || !strings.Contains(err.Error(), `"`+w+`"`) || !strings.Contains(err.Error(), "wraps") {
			t.Errorf("Space(%s): %v, want an error saying it is a wrapper", w, err)
		}
	}
	for _, s := range spaces {
		for study := 0; study < 2; study++ {
			for i := 0; i < 5; i++ {
				opt, err := s.Sample(study, i)
				if err != nil {
					t.Fatalf("%s study %d trial %d: %v", s.Name, study, i, err)
				}
				if opt.Family() != s.Name {
					t.Errorf("%s: sampled a %s", s.Name, opt.Family())
				}
				for _, d := range s.Dims {
					v, ok := opt.Get(d.Key)
					if d.OneMinus {
						v = 1 - v
					}
					if !ok || v < d.Min*(1-2e-3) || v > d.Max*(1+2e-3) {
						t.Errorf("%s: %s = %v outside [%g, %g]", s.Name, d.Key, v, d.Min, d.Max)
					}
				}
			}
		}
	}
	if _, err := Space("nope"); err == nil || !strings.Contains(err.Error(), `"nope"`) || !strings.Contains(err.Error(), "adam") {
		t.Errorf("Space(nope): %v, want an error naming it and the families", err)
	}
}

// TestQuasiRandomStudies: studies are different sequences, each fixed, and
// the trials of a smaller budget are the first trials of a larger one.
func TestQuasiRandomStudies(t *testing.T) {
	s, _ := Space("adam")
	a, _ := s.Sample(0, 3)
	b, _ := s.Sample(0, 3)
	c, _ := s.Sample(1, 3)
	if a.String() != b.String() || a.String() == c.String() {
		t.Errorf("samples: %s, %s (same study) and %s (other study)", a, b, c)
	}
	// The learning rates of a study's first 16 trials cover the log range
	// [1e-4, 1e-2] evenly: every quarter of it holds 3 to 5 of them (a
	// low-discrepancy sequence; independent draws would often leave a quarter
	// with 1 or 7).
	var lrs []float64
	for i := 0; i < 16; i++ {
		o, _ := s.Sample(2, i)
		lrs = append(lrs, o.LearningRate())
	}
	var quarters [4]int
	for _, lr := range lrs {
		q := int((math.Log10(lr) + 4) / 0.5)
		quarters[min(max(q, 0), 3)]++
	}
	for q, n := range quarters {
		if n < 3 || n > 5 {
			t.Errorf("quarter %d of the log range holds %d of 16 learning rates: %v", q, n, lrs)
		}
	}
}

// TestConfigTrials checks a benchmark's trials: order, seeds, budgets,
// stable and distinct IDs, prefix stability, and the errors.
func TestConfigTrials(t *testing.T) {
	w, err := GetWorkload("mnist_algoperf")
	if err != nil || w.Target != 0.97 {
		t.Fatalf("mnist_algoperf: %+v, %v (want AlgoPerf's target 0.97)", w, err)
	}
	cfg := Config{Workloads: []string{"mnist_algoperf"}, Optimizers: []string{"sgd", "adam"}, Ruleset: ExternalTuning, Budget: 3, Studies: 2}
	trials, err := cfg.Trials()
	if err != nil {
		t.Fatal(err)
	}
	if len(trials) != 12 {
		t.Fatalf("%d trials, want 2 studies × 3 trials × 2 optimizers", len(trials))
	}
	ids := map[string]bool{}
	for i, tr := range trials {
		wantStudy, wantIndex := i/6, (i/2)%3
		if tr.Study != wantStudy || tr.Index != wantIndex || tr.Submission != []string{"sgd", "adam"}[i%2] {
			t.Errorf("trial %d is %s, want study %d trial %d", i, tr, wantStudy, wantIndex)
		}
		if tr.Seed != int64(1+1000*tr.Study+tr.Index) || tr.Steps != w.Steps || tr.Target != 0.97 || !tr.StopAtTarget {
			t.Errorf("trial %s: seed %d, steps %d, target %v, stop %v", tr, tr.Seed, tr.Steps, tr.Target, tr.StopAtTarget)
		}
		ids[tr.ID()] = true
		back, ok, err := FromSweep(tr.Sweep())
		if !ok || err != nil || back.ID() != tr.ID() || back.String() != tr.String() {
			t.Errorf("trial %s does not survive the sweep form: %+v, %v, %v", tr, back, ok, err)
		}
	}
	if len(ids) != 12 {
		t.Errorf("%d distinct IDs for 12 trials", len(ids))
	}
	cfg.Budget = 5
	more, _ := cfg.Trials()
	moreIDs := map[string]bool{}
	for _, tr := range more {
		moreIDs[tr.ID()] = true
	}
	for id := range ids {
		if !moreIDs[id] {
			t.Errorf("trial %s of the budget-3 benchmark is not in the budget-5 one", id)
		}
	}
	self := Config{Workloads: []string{"mnist_algoperf"}, Optimizers: []string{"adam", "sgd(lr=0.1,momentum=0.9)"}, Ruleset: SelfTuning, Studies: 3}
	st, err := self.Trials()
	if err != nil {
		t.Fatal(err)
	}
	if len(st) != 6 || st[1].Submission != "sgd(lr=0.1,momentum=0.9)" || st[0].Submission != "adam" || st[0].Steps != int(math.Ceil(1.5*float64(w.Steps))) {
		t.Errorf("self-tuning trials: %v", st)
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Workloads: []string{"mnist_cifar"}, Optimizers: []string{"adam"}, Ruleset: ExternalTuning, Budget: 1, Studies: 1}, `"mnist_cifar"`},
		{Config{Workloads: []string{"mnist_algoperf"}, Optimizers: []string{"adamm"}, Ruleset: ExternalTuning, Budget: 1, Studies: 1}, `"adamm"`},
		{Config{Workloads: []string{"mnist_algoperf"}, Optimizers: []string{"adam(lr=-1)"}, Ruleset: SelfTuning, Studies: 1}, "lr"},
		{Config{Workloads: []string{"mnist_algoperf"}, Optimizers: []string{"adam"}, Ruleset: ExternalTuning, Budget: 0, Studies: 1}, "budget"},
		{Config{Workloads: []string{"mnist_algoperf"}, Optimizers: []string{"adam"}, Ruleset: ExternalTuning, Budget: 1001, Studies: 1}, "1001"},
		{Config{Workloads: []string{"mnist_algoperf"}, Optimizers: []string{"adam"}, Ruleset: ExternalTuning, Budget: 1, Studies: 0}, "studies"},
		{Config{Workloads: []string{"mnist_algoperf"}, Optimizers: []string{"adam"}, Ruleset: "random", Budget: 1, Studies: 1}, `"random"`},
		{Config{Workloads: []string{"mnist_algoperf", "mnist_algoperf"}, Optimizers: []string{"adam"}, Ruleset: ExternalTuning, Budget: 1, Studies: 1}, "twice"},
		{Config{Workloads: []string{"mnist_algoperf"}, Optimizers: []string{"adam", "adam"}, Ruleset: ExternalTuning, Budget: 1, Studies: 1}, "twice"},
		{Config{Optimizers: []string{"adam"}, Ruleset: ExternalTuning, Budget: 1, Studies: 1}, "no workloads"},
	} {
		if _, err := c.cfg.Trials(); err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: error %v, want one line containing %q", c.cfg, err, c.want)
		}
	}
}

func TestSubmissionNames(t *testing.T) {
	for spec, want := range map[string]string{
		"adam":                     "adam",
		"adam(lr=0.001)":           "adam",
		"adam(lr=3e-4)":            "adam(lr=0.0003)",
		"sgd(lr=0.1,momentum=0.9)": "sgd(lr=0.1,momentum=0.9)",
		"momentum":                 "momentum",
	} {
		if got := Submission(optimizers.MustParse(spec)); got != want {
			t.Errorf("Submission(%s) = %q, want %q", spec, got, want)
		}
	}
}

func TestShard(t *testing.T) {
	cfg := Config{Workloads: []string{"mnist_algoperf"}, Optimizers: []string{"sgd", "adam", "lion"}, Ruleset: ExternalTuning, Budget: 2, Studies: 2}
	all, _ := cfg.Trials()
	var got []string
	for k := 0; k < 3; k++ {
		for _, tr := range Shard(all, k, 3) {
			got = append(got, tr.ID())
		}
	}
	var want []string
	for _, tr := range all {
		want = append(want, tr.ID())
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the shards do not partition the trials")
	}
}

func ExampleSearchSpace_Sample() {
	s, _ := Space("momentum")
	fmt.Println(s)
	for i := 0; i < 3; i++ {
		opt, _ := s.Sample(0, i)
		fmt.Println(opt)
	}
	// Output:
	// momentum: momentum; lr ∈ [0.001, 0.3] log, 1−momentum ∈ [0.005, 0.3] log
	// momentum(lr=0.0375,momentum=0.842,dampening=0,nesterov=false,weight_decay=0)
	// momentum(lr=0.00901,momentum=0.9897,dampening=0,nesterov=false,weight_decay=0)
	// momentum(lr=0.156,momentum=0.9365,dampening=0,nesterov=false,weight_decay=0)
}
