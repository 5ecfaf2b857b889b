package benchmark

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"optlab.dev/internal/stats"
	"optlab.dev/optlab/sweep"
)

// TargetConfig is a target-setting run, AlgoPerf's procedure at a smaller
// scale: each baseline optimizer family is tuned on each workload with
// Trials quasi-random trials that run to the end of TargetBudget of the
// workload's steps (no target to stop at); the configuration whose best validation metric is best is rerun Reruns
// times with other seeds; a baseline's value is the median over its reruns of
// the best validation metric each reached, and the workload's target is the
// best baseline value. (AlgoPerf tunes AdamW, NAdamW, Nesterov and heavy-ball
// momentum with 200 trials and reruns the best 20 times.)
type TargetConfig struct {
	Workloads []string
	// Baselines are optimizer families with a search space (default
	// DefaultBaselines).
	Baselines []string
	Trials    int
	Reruns    int
}

// TargetBudget is the fraction of a workload's step budget that target
// setting trains for: AlgoPerf gives submissions a third more runtime than
// its target-setting runs took, so that the baselines' targets are reachable
// within a submission's budget.
const TargetBudget = 0.75

// targetSteps is the step budget of a workload's target-setting runs.
func targetSteps(w Workload) int { return int(math.Ceil(TargetBudget * float64(w.Steps))) }

// DefaultBaselines are AlgoPerf's target-setting algorithms, by optlab's
// family names: AdamW, NAdam (AlgoPerf's NAdamW with weight decay; optlab's
// nadam takes weight_decay only coupled, so its space has none), Nesterov and
// heavy-ball momentum.
var DefaultBaselines = []string{"adamw", "nadam", "nesterov", "momentum"}

// rerunSeed is the seed of rerun r, far from the tuning trials' seeds.
func rerunSeed(r int) int64 { return int64(900001 + r) }

func (c TargetConfig) check() ([]Workload, []SearchSpace, error) {
	if len(c.Workloads) == 0 {
		return nil, nil, errors.New("target setting: no workloads")
	}
	if c.Trials < 1 || c.Trials > MaxBudget || c.Reruns < 1 || c.Reruns > MaxStudies {
		return nil, nil, fmt.Errorf("target setting: trials must be in [1, %d] and reruns in [1, %d], got %d and %d", MaxBudget, MaxStudies, c.Trials, c.Reruns)
	}
	var ws []Workload
	for _, name := range c.Workloads {
		w, err := GetWorkload(name)
		if err != nil {
			return nil, nil, err
		}
		if w.FixedTarget {
			return nil, nil, fmt.Errorf("target setting: workload %s keeps its published target (%s)", name, w.TargetSource.How)
		}
		ws = append(ws, w)
	}
	bs := c.Baselines
	if len(bs) == 0 {
		bs = DefaultBaselines
	}
	var spaces []SearchSpace
	for _, b := range bs {
		s, err := Space(b)
		if err != nil {
			return nil, nil, err
		}
		spaces = append(spaces, s)
	}
	return ws, spaces, nil
}

// TuningTrials returns the first stage's trials: every baseline tuned on
// every workload, whole budgets.
func (c TargetConfig) TuningTrials() ([]Trial, error) {
	ws, spaces, err := c.check()
	if err != nil {
		return nil, err
	}
	var trials []Trial
	for i := 0; i < c.Trials; i++ {
		for _, w := range ws {
			for _, s := range spaces {
				opt, err := s.Sample(0, i)
				if err != nil {
					return nil, err
				}
				trials = append(trials, Trial{Workload: w.Name, Ruleset: TargetTuning, Submission: s.Name, Index: i, Optimizer: opt,
					Seed: int64(1 + i), Model: w.Model, BatchSize: w.BatchSize, Steps: targetSteps(w), EvalEvery: w.EvalEvery, Metric: w.Metric})
			}
		}
	}
	return trials, nil
}

// bestTuning returns, per workload and baseline, the tuning trial whose best
// validation metric is best (the lower index on a tie), from the records.
func (c TargetConfig) bestTuning(recs []sweep.Record) (map[[2]string]Outcome, error) {
	want, err := c.TuningTrials()
	if err != nil {
		return nil, err
	}
	byID := outcomesByID(recs)
	best := map[[2]string]Outcome{}
	missing := 0
	for _, t := range want {
		o, ok := byID[t.ID()]
		if !ok {
			missing++
			continue
		}
		k := [2]string{t.Workload, t.Submission}
		if cur, ok := best[k]; !ok || t.Metric.Better(o.Best, cur.Best) {
			best[k] = o
		}
	}
	if missing > 0 {
		return nil, fmt.Errorf("target setting: %d of %d tuning trials are not in the store yet", missing, len(want))
	}
	return best, nil
}

// RerunTrials returns the second stage's trials: each workload's and
// baseline's best tuning configuration (read from recs, which must hold
// every tuning trial) rerun with Reruns other seeds.
func (c TargetConfig) RerunTrials(recs []sweep.Record) ([]Trial, error) {
	best, err := c.bestTuning(recs)
	if err != nil {
		return nil, err
	}
	keys := make([][2]string, 0, len(best))
	for k := range best {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"/"+keys[i][1] < keys[j][0]+"/"+keys[j][1] })
	var trials []Trial
	for r := 0; r < c.Reruns; r++ {
		for _, k := range keys {
			t := best[k].Trial
			t.Ruleset, t.Study, t.Index, t.Seed = TargetRerun, r, 0, rerunSeed(r)
			trials = append(trials, t)
		}
	}
	return trials, nil
}

// Build computes the targets from recs (which must hold every tuning and
// rerun trial): per workload, each baseline's median over reruns of the best
// validation metric, and the best of those as the target. how, command, date
// and machine are recorded as the targets' provenance.
func (c TargetConfig) Build(recs []sweep.Record, command, date, machine string) (map[string]TargetRecord, error) {
	reruns, err := c.RerunTrials(recs)
	if err != nil {
		return nil, err
	}
	byID := outcomesByID(recs)
	vals := map[[2]string][]float64{}
	specs := map[[2]string]string{}
	for _, t := range reruns {
		o, ok := byID[t.ID()]
		if !ok {
			return nil, fmt.Errorf("target setting: rerun %s is not in the store yet", t)
		}
		k := [2]string{t.Workload, t.Submission}
		b := o.Best
		if math.IsNaN(b) {
			b = map[bool]float64{true: math.Inf(1), false: math.Inf(-1)}[t.Metric == ValLoss] // a diverged rerun counts as the worst
		}
		vals[k] = append(vals[k], b)
		specs[k] = t.Optimizer.String()
	}
	var seeds []int64
	for r := 0; r < c.Reruns; r++ {
		seeds = append(seeds, rerunSeed(r))
	}
	out := map[string]TargetRecord{}
	ws, spaces, _ := c.check()
	for _, w := range ws {
		rec := TargetRecord{Metric: w.Metric, Value: math.NaN(), Command: command, Date: date, Machine: machine, Seeds: seeds,
			Baselines: map[string]BaselineResult{}}
		var names []string
		for _, s := range spaces {
			k := [2]string{w.Name, s.Name}
			med := stats.Median(vals[k])
			br := BaselineResult{Optimizer: specs[k], Median: med, Reruns: len(vals[k])}
			if math.IsNaN(med) || math.IsInf(med, 0) {
				br.Median, br.Note = 0, "the median rerun diverged" // JSON has no infinities
			} else if math.IsNaN(rec.Value) || w.Metric.Better(med, rec.Value) {
				rec.Value = med
			}
			rec.Baselines[s.Name] = br
			names = append(names, s.Name)
		}
		if math.IsNaN(rec.Value) || math.IsInf(rec.Value, 0) {
			return nil, fmt.Errorf("target setting: no baseline reached a finite %s on %s", w.Metric, w.Name)
		}
		rec.Value = RoundTarget(rec.Value, w.Metric)
		rec.How = fmt.Sprintf("AlgoPerf's procedure, smaller: %s each tuned with %d quasi-random trials of %d steps (3/4 of the workload's %d: AlgoPerf gives submissions 4/3 of the target-setting runtime), run to the end, the best rerun %d times; target = best over baselines of the median over reruns of the best %s",
			strings.Join(names, ", "), c.Trials, targetSteps(w), w.Steps, c.Reruns, w.Metric)
		out[w.Name] = rec
	}
	return out, nil
}

// RoundTarget rounds a target to 4 significant digits towards the easier
// side (a loss up, an accuracy down), so that the median run it comes from
// still reaches it and tables show it briefly.
func RoundTarget(v float64, m Metric) float64 {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return v
	}
	scale := math.Pow(10, 3-math.Floor(math.Log10(math.Abs(v))))
	var r float64
	if m == ValLoss {
		r = math.Ceil(v*scale-1e-9) / scale
	} else {
		r = math.Floor(v*scale+1e-9) / scale
	}
	return roundSig(r, 4) // the division's rounding noise
}

// outcomesByID reads the benchmark trials among recs.
func outcomesByID(recs []sweep.Record) map[string]Outcome {
	out := map[string]Outcome{}
	for _, r := range recs {
		t, ok, err := FromSweep(r.Trial)
		if err != nil || !ok || r.Hist == nil {
			continue
		}
		out[r.ID] = OutcomeOf(t, r.Hist)
	}
	return out
}
