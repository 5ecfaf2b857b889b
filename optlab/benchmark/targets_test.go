package benchmark

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/sweep"
)

// TestCommittedTargets checks targets.json: it parses, every target belongs
// to a workload with the same metric, is a finite number a run can reach, and
// says how it was obtained (the set ones: command, date, machine, seeds and
// every baseline's result).
func TestCommittedTargets(t *testing.T) {
	var table TargetTable
	if err := json.Unmarshal(targetsJSON, &table); err != nil {
		t.Fatalf("targets.json: %v", err)
	}
	if len(table.Targets) == 0 {
		t.Fatal("targets.json holds no targets")
	}
	for name, rec := range table.Targets {
		w, err := GetWorkload(name)
		if err != nil {
			t.Errorf("target for %v", err)
			continue
		}
		if rec.Metric != w.Metric || w.Target != rec.Value || math.IsNaN(rec.Value) || math.IsInf(rec.Value, 0) || rec.How == "" {
			t.Errorf("%s: target %+v for a workload measuring %s", name, rec, w.Metric)
		}
		if w.Metric == ValAccuracy && !(rec.Value > 0 && rec.Value < 1) {
			t.Errorf("%s: accuracy target %v", name, rec.Value)
		}
		if w.FixedTarget {
			continue
		}
		if rec.Command == "" || rec.Date == "" || rec.Machine == "" || len(rec.Seeds) == 0 || len(rec.Baselines) == 0 {
			t.Errorf("%s: target without its provenance: %+v", name, rec)
		}
		best := math.NaN()
		for b, r := range rec.Baselines {
			if r.Optimizer == "" || r.Reruns != len(rec.Seeds) || !strings.HasPrefix(r.Optimizer, b+"(") {
				t.Errorf("%s: baseline %s: %+v", name, b, r)
			}
			if r.Note == "" && (math.IsNaN(best) || w.Metric.Better(r.Median, best)) {
				best = r.Median
			}
		}
		if RoundTarget(best, w.Metric) != rec.Value {
			t.Errorf("%s: target %v is not the best baseline median %v rounded (%v)", name, rec.Value, best, RoundTarget(best, w.Metric))
		}
	}
	// The quadratic's target lies above the lowest loss any θ reaches.
	if w, err := GetWorkload("quadratic_deep"); err == nil && w.TargetSource != nil {
		q := NewNoisyQuadratic()
		if floor, _ := q.MinLoss(q.Val); !(w.Target > floor) {
			t.Errorf("quadratic_deep's target %v is at or below the minimum validation loss %v", w.Target, floor)
		}
	}
}

// TestTargetSetting runs the procedure on fabricated records: the tuning
// trial with the best metric is rerun, a baseline's value is the median of
// its reruns, and the target is the best baseline's.
func TestRoundTarget(t *testing.T) {
	for _, c := range []struct {
		v    float64
		m    Metric
		want float64
	}{
		{89.93951, ValLoss, 89.94}, {89.93, ValLoss, 89.93}, {4.544413968687877e-05, ValLoss, 4.545e-05},
		{0.000149083, ValLoss, 0.0001491}, {0.92187, ValAccuracy, 0.9218}, {0.97, ValAccuracy, 0.97}, {0.98765, ValAccuracy, 0.9876},
	} {
		if got := RoundTarget(c.v, c.m); got != c.want {
			t.Errorf("RoundTarget(%v, %s) = %v, want %v", c.v, c.m, got, c.want)
		}
	}
}

func TestTargetSetting(t *testing.T) {
	cfg := TargetConfig{Workloads: []string{"quadratic_deep"}, Baselines: []string{"adam", "sgd"}, Trials: 3, Reruns: 3}
	tuning, err := cfg.TuningTrials()
	if err != nil {
		t.Fatal(err)
	}
	if len(tuning) != 6 || tuning[0].Steps != 525 || tuning[0].StopAtTarget { // 3/4 of 700
		t.Fatalf("tuning trials: %v", tuning)
	}
	record := func(tr Trial, best float64) sweep.Record {
		st := tr.Sweep()
		return sweep.Record{ID: st.ID(), Trial: st, Hist: &optlab.History{Evals: []optlab.Eval{{Step: 10, ValLoss: best + 1}, {Step: 20, ValLoss: best}}}}
	}
	// adam: trial 1 is best (loss 90); sgd: trial 2 (loss 95).
	bests := map[string][]float64{"adam": {100, 90, 92}, "sgd": {99, 97, 95}}
	var recs []sweep.Record
	for _, tr := range tuning {
		recs = append(recs, record(tr, bests[tr.Submission][tr.Index]))
	}
	if _, err := cfg.Build(recs, "", "", ""); err == nil {
		t.Error("targets built without the reruns")
	}
	reruns, err := cfg.RerunTrials(recs)
	if err != nil {
		t.Fatal(err)
	}
	if len(reruns) != 6 {
		t.Fatalf("%d reruns, want 2 baselines × 3", len(reruns))
	}
	rerunBests := map[string][]float64{"adam": {91, 89.5, 93}, "sgd": {94, 96, 95.5}}
	for _, tr := range reruns {
		want := tuning[2] // adam trial 1 (trials go index by index: adam 0, sgd 0, adam 1, …)
		if tr.Submission == "sgd" {
			want = tuning[5]
		}
		if tr.Optimizer.String() != want.Optimizer.String() || tr.Ruleset != TargetRerun || tr.Seed != rerunSeed(tr.Study) {
			t.Errorf("rerun %s: want the best tuning configuration %s with seed %d", tr, want.Optimizer, rerunSeed(tr.Study))
		}
		recs = append(recs, record(tr, rerunBests[tr.Submission][tr.Study]))
	}
	got, err := cfg.Build(recs, "cmd", "2026-12-01", "here")
	if err != nil {
		t.Fatal(err)
	}
	rec := got["quadratic_deep"]
	// Medians: adam 91, sgd 95.5; the target is the better (lower) loss.
	if rec.Value != 91 || rec.Baselines["adam"].Median != 91 || rec.Baselines["sgd"].Median != 95.5 || rec.Command != "cmd" || len(rec.Seeds) != 3 {
		t.Errorf("targets: %+v", rec)
	}
	if _, err := (TargetConfig{Workloads: []string{"mnist_algoperf"}, Trials: 1, Reruns: 1}).TuningTrials(); err == nil {
		t.Error("target setting accepted a workload with a published target")
	}
}

// TestProvenance: a target's provenance names its source, the best baseline
// (a diverged one never is), the tuning trials, the reruns and the date.
func TestProvenance(t *testing.T) {
	set := &TargetRecord{Metric: ValLoss, Value: 1.5, How: "set here", Date: "2026-12-01",
		Command: "optlab benchmark targets --workloads w --trials 16 --reruns 5",
		Baselines: map[string]BaselineResult{
			"adamw":    {Median: 2, Reruns: 5},
			"nesterov": {Median: 1.5, Reruns: 5},
			"momentum": {Median: 0, Reruns: 5, Note: "diverged"},
		}}
	cases := []struct {
		name   string
		w      Workload
		target string
		want   []string
	}{
		{"none", Workload{Name: "w", Metric: ValAccuracy}, "none yet", []string{"no target yet", "--workloads w"}},
		{"published", Workload{Name: "w", Metric: ValAccuracy, Target: 0.97, FixedTarget: true,
			TargetSource: &TargetRecord{Metric: ValAccuracy, Value: 0.97, How: "AlgoPerf's own target"}}, "val_accuracy ≥ 0.97", []string{"AlgoPerf's own target"}},
		{"set", Workload{Name: "w", Metric: ValLoss, Target: 1.5, TargetSource: set}, "val_loss ≤ 1.5",
			[]string{"nesterov's median over 5 reruns", "best of 3 baselines tuned with 16 trials each", "adamw, momentum, nesterov", "set 2026-12-01"}},
	}
	for _, c := range cases {
		if got := c.w.TargetText(); got != c.target {
			t.Errorf("%s: target %q, want %q", c.name, got, c.target)
		}
		p := c.w.Provenance()
		for _, s := range c.want {
			if !strings.Contains(p, s) {
				t.Errorf("%s: provenance %q lacks %q", c.name, p, s)
			}
		}
	}
	for _, c := range []struct{ cmd, want string }{
		{"x --trials 8 --reruns 3", "8"}, {"x --trials=12", "12"}, {"x --reruns 3", ""}, {"x --trials", ""},
	} {
		if got := commandFlag(c.cmd, "trials"); got != c.want {
			t.Errorf("commandFlag(%q) = %q, want %q", c.cmd, got, c.want)
		}
	}
	// The registry lists every workload with its provenance.
	table := RegistryTable().String()
	for _, w := range Workloads() {
		if !strings.Contains(table, w.Name) || !strings.Contains(table, w.Provenance()) {
			t.Errorf("the registry table lacks %s or its provenance", w.Name)
		}
	}
	// Its note counts the workloads without a target only when there are some.
	missing := 0
	for _, w := range Workloads() {
		if w.TargetSource == nil {
			missing++
		}
	}
	if says := strings.Contains(table, "no target yet and cannot be benchmarked"); says != (missing > 0) {
		t.Errorf("%d workloads lack a target, but the registry table's note reads %q", missing, RegistryTable().Note)
	}
}
