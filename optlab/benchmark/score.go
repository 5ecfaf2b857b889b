package benchmark

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"

	"optlab.dev/internal/stats"
	"optlab.dev/optlab"
	"optlab.dev/optlab/sweep"
)

// Measure is how time to target is counted.
type Measure string

const (
	// Steps counts optimizer steps: deterministic, the same on every machine
	// and after a resume, blind to the cost of a step.
	Steps Measure = "steps"
	// Seconds counts seconds of training (evaluations excluded, the first
	// step's compilation included), as AlgoPerf does; it needs a quiet machine.
	Seconds Measure = "time"
)

// ParseMeasure validates a measure name ("steps" or "time").
func ParseMeasure(s string) (Measure, error) {
	switch m := Measure(s); m {
	case Steps, Seconds:
		return m, nil
	}
	return "", fmt.Errorf("unknown measure %q (valid: steps, time)", s)
}

// RMax is the upper end of the performance profiles and of the benchmark
// score's integral (AlgoPerf's r_max = 4: a submission more than 4 times
// slower than the fastest on a workload gets no credit for it).
const RMax = 4.0

// Outcome is what scoring needs of one finished trial.
type Outcome struct {
	Trial Trial
	// Reached reports whether an evaluation met the target; Steps and
	// Seconds are the step count and the training time at the first one that
	// did.
	Reached bool
	Steps   int
	Seconds float64
	// Best is the best value of the metric over the evaluations (NaN when
	// there were none); Diverged reports a run stopped by a non-finite loss.
	Best     float64
	Diverged bool
}

// OutcomeOf reads a trial's outcome from its history.
func OutcomeOf(t Trial, h *optlab.History) Outcome {
	o := Outcome{Trial: t, Best: math.NaN(), Diverged: h.Err != ""}
	for _, e := range h.Evals {
		v := metricOf(t.Metric, e)
		if t.Metric.Better(v, o.Best) {
			o.Best = v
		}
		if !o.Reached && t.Metric.Reached(v, t.Target) {
			o.Reached, o.Steps, o.Seconds = true, e.Step, e.Seconds
		}
	}
	return o
}

// Time returns the outcome's time to target in the measure, +Inf when the
// target was not reached.
func (o Outcome) Time(m Measure) float64 {
	if !o.Reached {
		return math.Inf(1)
	}
	if m == Seconds {
		return o.Seconds
	}
	return float64(o.Steps)
}

// StudyTime is the time of one study: the fastest of its trials' times to
// target (+Inf when none reached it, or there are none).
func StudyTime(times []float64) float64 {
	best := math.Inf(1)
	for _, t := range times {
		if t < best {
			best = t
		}
	}
	return best
}

// WorkloadTime is a submission's time on a workload: the median of its
// studies' times (+Inf when the middle studies did not reach the target).
func WorkloadTime(studyTimes []float64) float64 {
	if len(studyTimes) == 0 {
		return math.Inf(1)
	}
	return stats.Median(studyTimes)
}

// Ratios returns the performance ratios r[s][w] = t[s][w] / min over
// submissions of t[·][w] of a times table t[submission][workload]: 1 for the
// fastest, +Inf for a submission that did not reach the target (and for every
// submission on a workload none reached).
func Ratios(times [][]float64) [][]float64 {
	r := make([][]float64, len(times))
	for s := range times {
		r[s] = make([]float64, len(times[s]))
	}
	if len(times) == 0 {
		return r
	}
	for w := range times[0] {
		best := math.Inf(1)
		for s := range times {
			best = min(best, times[s][w])
		}
		for s := range times {
			switch t := times[s][w]; {
			case math.IsInf(t, 1) || math.IsInf(best, 1) || math.IsNaN(t):
				r[s][w] = math.Inf(1)
			case best <= 0:
				r[s][w] = 1 // an instant target (reached at step 0) cannot be beaten
				if t > 0 {
					r[s][w] = math.Inf(1)
				}
			default:
				r[s][w] = t / best
			}
		}
	}
	return r
}

// Profile returns a submission's performance profile at each τ: the fraction
// of workloads whose ratio is at most τ (Dolan and Moré 2002, as AlgoPerf
// defines ρ).
func Profile(ratios []float64, taus []float64) []float64 {
	out := make([]float64, len(taus))
	if len(ratios) == 0 {
		return out
	}
	for i, tau := range taus {
		n := 0
		for _, r := range ratios {
			if r <= tau {
				n++
			}
		}
		out[i] = float64(n) / float64(len(ratios))
	}
	return out
}

// BenchmarkScore is AlgoPerf's integrated score of a submission's ratios:
// B = 1/(r_max − 1) · ∫₁^r_max ρ(τ) dτ ∈ [0, 1]. ρ is a step function, so the
// integral is exact: each workload with ratio r ≤ r_max contributes
// (r_max − r)/n. (AlgoPerf's scoring code approximates it with the trapezoid
// rule on a grid of τ.)
func BenchmarkScore(ratios []float64, rmax float64) float64 {
	if len(ratios) == 0 || rmax <= 1 {
		return 0
	}
	sum := 0.0
	for _, r := range ratios {
		if r <= rmax {
			sum += rmax - max(r, 1)
		}
	}
	return sum / (float64(len(ratios)) * (rmax - 1))
}

// BudgetCurve returns, for k = 1 … N, the median over studies of the
// fastest time to target among each study's first k trials (studyTimes[s][i]
// is trial i of study s; studies may differ in length, a missing trial counts
// as not reaching the target): the curve of the best result against the
// tuning budget that Crowded Valley (Schmidt et al. 2021) draws.
func BudgetCurve(studyTimes [][]float64) []float64 {
	n := 0
	for _, st := range studyTimes {
		n = max(n, len(st))
	}
	out := make([]float64, n)
	for k := 1; k <= n; k++ {
		per := make([]float64, len(studyTimes))
		for s, st := range studyTimes {
			per[s] = StudyTime(st[:min(k, len(st))])
		}
		out[k-1] = WorkloadTime(per)
	}
	return out
}

// Cell is one submission on one workload: its trials by study and index, each
// study's time and fastest trial, and the median time.
type Cell struct {
	Workload, Submission string
	// Trials[s][i] is trial i of study s (missing trials are left out).
	Trials [][]Outcome
	// StudyTimes[s] is study s's time; Fastest[s] its fastest trial (nil
	// when none reached the target).
	StudyTimes []float64
	Fastest    []*Outcome
	// Time is the median of StudyTimes.
	Time float64
	// Missing counts trials of the benchmark absent from the store.
	Missing int
}

// Score is a benchmark's result: every cell, the times, ratios, profiles and
// benchmark scores of its submissions.
type Score struct {
	Ruleset Ruleset
	Measure Measure
	// Workloads and Submissions are sorted by name; Times[s][w], Ratios[s][w]
	// and Cells[s][w] follow their order.
	Workloads   []string
	Submissions []string
	Cells       [][]*Cell
	Times       [][]float64
	Ratios      [][]float64
	// Scores[s] is submission s's benchmark score; StudyScores[s][k] the
	// score computed from study k's times alone (every submission's, ratios
	// taken within the study), whose spread shows how much the score depends
	// on the luck of one tuning study.
	Scores      []float64
	StudyScores [][]float64
	// Studies and Budget are the benchmark's size as found in the store.
	Studies, Budget int
	// Notes lists what the store lacked or held besides (missing trials,
	// records of other rulesets or variants).
	Notes []string
}

// ScoreOptions selects what Compute scores.
type ScoreOptions struct {
	// Ruleset to score; empty picks the one ruleset (external or self) the
	// records hold and is an error when they hold both.
	Ruleset Ruleset
	Measure Measure // default Steps
	// Budget and Studies, when > 0, keep only trials with Index < Budget and
	// Study < Studies (a smaller benchmark is a prefix of a larger one).
	Budget, Studies int
	// FullBudget scores the trials run with Config.FullBudget (which a store
	// may hold besides the default ones).
	FullBudget bool
}

// Compute scores the benchmark trials among recs (other records are
// skipped): trials of the chosen ruleset whose settings match their
// workload's current definition (target, budget, evaluation interval), so a
// store that also holds trials of an older definition is scored on the
// current one.
func Compute(recs []sweep.Record, opts ScoreOptions) (*Score, error) {
	m := opts.Measure
	if m == "" {
		m = Steps
	}
	if _, err := ParseMeasure(string(m)); err != nil {
		return nil, err
	}
	type key struct{ w, s string }
	byRuleset := map[Ruleset][]Outcome{}
	skipped := 0
	for _, r := range recs {
		t, ok, err := FromSweep(r.Trial)
		if err != nil {
			return nil, fmt.Errorf("record %s: %w", r.ID, err)
		}
		if !ok {
			skipped++
			continue
		}
		if r.Hist == nil {
			return nil, fmt.Errorf("record %s has no history", r.ID)
		}
		byRuleset[t.Ruleset] = append(byRuleset[t.Ruleset], OutcomeOf(t, r.Hist))
	}
	rs := opts.Ruleset
	if rs == "" {
		switch {
		case len(byRuleset[ExternalTuning]) > 0 && len(byRuleset[SelfTuning]) > 0:
			return nil, fmt.Errorf("the records hold both rulesets (%d external-tuning and %d self-tuning trials): choose one", len(byRuleset[ExternalTuning]), len(byRuleset[SelfTuning]))
		case len(byRuleset[SelfTuning]) > 0:
			rs = SelfTuning
		default:
			rs = ExternalTuning
		}
	}
	sc := &Score{Ruleset: rs, Measure: m}
	if skipped > 0 {
		sc.Notes = append(sc.Notes, fmt.Sprintf("%d records are not benchmark trials (sweeps): left out", skipped))
	}
	for other, os := range byRuleset {
		if other != rs {
			sc.Notes = append(sc.Notes, fmt.Sprintf("%d trials of ruleset %s: left out", len(os), other))
		}
	}
	cells := map[key]*Cell{}
	variants := 0
	for _, o := range byRuleset[rs] {
		t := o.Trial
		w, err := GetWorkload(t.Workload)
		if err != nil || t.Steps != w.Budget(rs) || t.EvalEvery != w.EvalEvery || t.Target != w.Target || t.StopAtTarget == opts.FullBudget {
			variants++
			continue
		}
		if (opts.Budget > 0 && t.Index >= opts.Budget) || (opts.Studies > 0 && t.Study >= opts.Studies) {
			continue
		}
		k := key{t.Workload, t.Submission}
		c := cells[k]
		if c == nil {
			c = &Cell{Workload: t.Workload, Submission: t.Submission}
			cells[k] = c
		}
		for len(c.Trials) <= t.Study {
			c.Trials = append(c.Trials, nil)
		}
		c.Trials[t.Study] = append(c.Trials[t.Study], o)
	}
	if variants > 0 {
		sc.Notes = append(sc.Notes, fmt.Sprintf("%d trials of another variant of their workload (an older target, budget or evaluation interval, or %s): left out", variants,
			map[bool]string{false: "run with --full-budget", true: "stopped at the target"}[opts.FullBudget]))
	}
	if len(cells) == 0 {
		return nil, fmt.Errorf("no %s-ruleset benchmark trials to score", rs)
	}
	ws, subs := map[string]bool{}, map[string]bool{}
	for k, c := range cells {
		ws[k.w], subs[k.s] = true, true
		sc.Studies = max(sc.Studies, len(c.Trials))
		for _, st := range c.Trials {
			sc.Budget = max(sc.Budget, len(st))
		}
	}
	if opts.Studies > 0 {
		sc.Studies = opts.Studies
	}
	if opts.Budget > 0 && rs == ExternalTuning {
		sc.Budget = opts.Budget
	}
	sc.Workloads, sc.Submissions = sortedKeys(ws), sortedKeys(subs)
	for _, s := range sc.Submissions {
		var row []*Cell
		var times []float64
		for _, w := range sc.Workloads {
			c := cells[key{w, s}]
			if c == nil {
				c = &Cell{Workload: w, Submission: s}
			}
			c.finish(sc.Studies, sc.Budget, m)
			if c.Missing > 0 {
				sc.Notes = append(sc.Notes, fmt.Sprintf("%s on %s: %d of %d trials missing (the benchmark is not finished; missing trials count as not reaching the target)",
					s, w, c.Missing, sc.Studies*sc.Budget))
			}
			row = append(row, c)
			times = append(times, c.Time)
		}
		sc.Cells = append(sc.Cells, row)
		sc.Times = append(sc.Times, times)
	}
	sc.Ratios = Ratios(sc.Times)
	for s := range sc.Submissions {
		sc.Scores = append(sc.Scores, BenchmarkScore(sc.Ratios[s], RMax))
	}
	sc.StudyScores = make([][]float64, len(sc.Submissions))
	for k := 0; k < sc.Studies; k++ {
		times := make([][]float64, len(sc.Submissions))
		for s := range sc.Submissions {
			for w := range sc.Workloads {
				times[s] = append(times[s], sc.Cells[s][w].StudyTimes[k])
			}
		}
		ratios := Ratios(times)
		for s := range sc.Submissions {
			sc.StudyScores[s] = append(sc.StudyScores[s], BenchmarkScore(ratios[s], RMax))
		}
	}
	sort.Strings(sc.Notes)
	return sc, nil
}

// finish sorts the cell's trials, pads it to studies studies and computes
// its study times and median time.
func (c *Cell) finish(studies, budget int, m Measure) {
	for len(c.Trials) < studies {
		c.Trials = append(c.Trials, nil)
	}
	c.StudyTimes, c.Fastest, c.Missing = nil, nil, 0
	for s := range c.Trials {
		sort.Slice(c.Trials[s], func(i, j int) bool { return c.Trials[s][i].Trial.Index < c.Trials[s][j].Trial.Index })
		c.Missing += max(0, budget-len(c.Trials[s]))
		best := math.Inf(1)
		var fastest *Outcome
		for i := range c.Trials[s] {
			if t := c.Trials[s][i].Time(m); t < best {
				best, fastest = t, &c.Trials[s][i]
			}
		}
		c.StudyTimes = append(c.StudyTimes, best)
		c.Fastest = append(c.Fastest, fastest)
	}
	c.Time = WorkloadTime(c.StudyTimes)
}

// Budget returns the cell's budget curve (BudgetCurve of its trials' times).
func (c *Cell) BudgetCurve(m Measure) []float64 {
	var st [][]float64
	for _, trials := range c.Trials {
		var ts []float64
		for _, o := range trials {
			ts = append(ts, o.Time(m))
		}
		st = append(st, ts)
	}
	return BudgetCurve(st)
}

// Reached counts the studies whose time is finite.
func (c *Cell) Reached() int {
	n := 0
	for _, t := range c.StudyTimes {
		if !math.IsInf(t, 1) {
			n++
		}
	}
	return n
}

// Best returns the submission with the highest benchmark score (the first in
// name order on a tie).
func (sc *Score) Best() string {
	best := -1
	for s, v := range sc.Scores {
		if best < 0 || v > sc.Scores[best] {
			best = s
		}
	}
	if best < 0 {
		return ""
	}
	return sc.Submissions[best]
}

// ScoreRange returns the smallest and largest of a submission's per-study
// scores.
func (sc *Score) ScoreRange(s int) (lo, hi float64) {
	if len(sc.StudyScores[s]) == 0 {
		return math.NaN(), math.NaN()
	}
	return slices.Min(sc.StudyScores[s]), slices.Max(sc.StudyScores[s])
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// formatTime formats a time to target in the measure ("∞" when infinite).
func formatTime(t float64, m Measure) string {
	switch {
	case math.IsInf(t, 1):
		return "∞"
	case m == Seconds:
		return fmt.Sprintf("%.3gs", t)
	default:
		return strings.TrimSuffix(fmt.Sprintf("%.1f", t), ".0")
	}
}
