package reportcard

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"optlab.dev/internal/stats"
	"optlab.dev/optlab/plots"
)

// Measure selects what Paired compares between two optimizers.
type Measure int

const (
	// TestAccuracy is the final test accuracy at each card's best rate.
	TestAccuracy Measure = iota
	// StepsToTarget is the optimizer steps to the report's target validation
	// accuracy (only seeds where both runs reached it).
	StepsToTarget
)

// Diff is a paired difference a − b over the seeds both cards ran at their
// best rates, with its Student-t confidence interval: runs with one seed
// share their data order (and, on one model, their initial weights), so
// their difference cancels that seed's luck.
type Diff struct {
	Mean, Lo, Hi float64
	// N is the number of seeds compared; Level the interval's confidence.
	N     int
	Level float64
}

// Resolved reports whether the interval excludes 0: the sign of the
// difference is established at the report's confidence level.
func (d Diff) Resolved() bool { return d.N >= 2 && (d.Lo > 0 || d.Hi < 0) }

// Paired returns a's measure minus b's, paired by seed at each card's best
// learning rate, over the seeds where both have a value (finished runs; for
// StepsToTarget, runs that reached the target). With fewer than two pairs the
// interval is NaN.
func (r *Report) Paired(a, b Card, m Measure) Diff {
	vals := func(c Card) map[int64]float64 {
		out := map[int64]float64{}
		for _, s := range c.Seeds {
			v := s.TestAcc
			if m == StepsToTarget {
				v = s.Steps
			}
			if !math.IsNaN(v) {
				out[s.Seed] = v
			}
		}
		return out
	}
	va, vb := vals(a), vals(b)
	var seeds []int64
	for s := range va {
		if _, ok := vb[s]; ok {
			seeds = append(seeds, s)
		}
	}
	sort.Slice(seeds, func(i, j int) bool { return seeds[i] < seeds[j] })
	d := make([]float64, len(seeds))
	for i, s := range seeds {
		d[i] = va[s] - vb[s]
	}
	mean, half := stats.MeanCI(d, r.Options.Level)
	return Diff{Mean: mean, Lo: mean - half, Hi: mean + half, N: len(d), Level: r.Options.Level}
}

// Leader returns the card with the highest mean final validation accuracy at
// its best rate: the optimizer the sweep would choose, without looking at
// the test split. It is false when no optimizer finished a run.
func (r *Report) Leader() (Card, bool) {
	best, found := Card{}, false
	for _, c := range r.Cards {
		if !math.IsNaN(c.Best.ValAccMean) && (!found || c.Best.ValAccMean > best.Best.ValAccMean) {
			best, found = c, true
		}
	}
	return best, found
}

// Card returns the card whose optimizer label (Card.Optimizer) is name, when
// the report has exactly one setting for it.
func (r *Report) Card(name string) (Card, error) {
	var found []Card
	var names []string
	for _, c := range r.Cards {
		names = append(names, c.Optimizer)
		if c.Optimizer == name {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 1:
		return found[0], nil
	case 0:
		return Card{}, fmt.Errorf("report: no card for optimizer %q (cards: %s)", name, strings.Join(names, ", "))
	default:
		return Card{}, fmt.Errorf("report: %d cards for optimizer %q (several settings): choose one from Cards", len(found), name)
	}
}

// levelPct formats a confidence level: 0.95 → "95%".
func levelPct(l float64) string { return fmt.Sprintf("%g%%", 100*l) }

// AccuracyFigure draws every optimizer's mean test accuracy at its best rate
// with its confidence interval, as dots and intervals on an axis fitted to
// the data (bars from zero would hide differences of a point), best first.
func (r *Report) AccuracyFigure() (*plots.Figure, error) {
	cards := append([]Card(nil), r.Cards...)
	sort.SliceStable(cards, func(i, j int) bool { return nanLast(cards[i].Best.TestAccMean, cards[j].Best.TestAccMean, true) })
	var rows []plots.Interval
	for _, c := range cards {
		row := plots.Interval{Name: r.name(c), Value: c.Best.TestAccMean, Lo: math.NaN(), Hi: math.NaN()}
		ok := c.Best.Runs - c.Best.Diverged
		switch {
		case ok == 0:
			row.Label = "every run diverged"
		case !math.IsNaN(c.Best.TestAccCI):
			row.Lo, row.Hi = c.Best.TestAccMean-c.Best.TestAccCI, c.Best.TestAccMean+c.Best.TestAccCI
			row.Label = fmt.Sprintf("%.2f ± %.2f%% (lr %s)", 100*c.Best.TestAccMean, 100*c.Best.TestAccCI, fmtLR(c.BestLR))
		default:
			row.Label = fmt.Sprintf("%.2f%% (lr %s, one run)", 100*c.Best.TestAccMean, fmtLR(c.BestLR))
		}
		rows = append(rows, row)
	}
	return plots.Intervals(plots.IntervalChart{
		Title:      fmt.Sprintf("Test accuracy at the best learning rate (mean, %s CI over seeds)", levelPct(r.Options.Level)),
		ValueLabel: "test accuracy (axis zoomed to the data, not from 0)",
		Rows:       rows, Reference: math.NaN(),
		Format: func(v float64) string { return fmt.Sprintf("%.1f%%", 100*v) },
	})
}

// StepsFigure draws the optimizer steps each optimizer needed, at its best
// rate, to reach the target validation accuracy: the mean over the runs that
// reached it with its confidence interval, and how many did.
func (r *Report) StepsFigure() (*plots.Figure, error) {
	cards := append([]Card(nil), r.Cards...)
	sort.SliceStable(cards, func(i, j int) bool { return nanLast(cards[i].StepsToTarget, cards[j].StepsToTarget, false) })
	var rows []plots.Interval
	for _, c := range cards {
		row := plots.Interval{Name: r.name(c), Value: c.StepsToTarget, Lo: math.NaN(), Hi: math.NaN()}
		runs := c.Reached + c.NotReached
		switch {
		case c.Reached == 0:
			row.Label = fmt.Sprintf("not reached (0/%d runs)", runs)
		case !math.IsNaN(c.StepsCI):
			row.Lo, row.Hi = c.StepsToTarget-c.StepsCI, c.StepsToTarget+c.StepsCI
			row.Label = fmt.Sprintf("%.0f ± %.0f (%d/%d runs)", c.StepsToTarget, c.StepsCI, c.Reached, runs)
		default:
			row.Label = fmt.Sprintf("%.0f (%d/%d runs)", c.StepsToTarget, c.Reached, runs)
		}
		rows = append(rows, row)
	}
	how := "evaluated at epoch ends"
	if e := r.evalEvery(); e > 0 {
		how = fmt.Sprintf("evaluated every %d steps", e)
	}
	return plots.Intervals(plots.IntervalChart{
		Title:      fmt.Sprintf("Steps to %.1f%% validation accuracy (mean, %s CI over the runs that reached it)", 100*r.Options.Target, levelPct(r.Options.Level)),
		ValueLabel: "optimizer steps (" + how + "; axis zoomed to the data)",
		Rows:       rows, Reference: math.NaN(),
		Format: func(v float64) string { return fmt.Sprintf("%.0f", v) },
	})
}

// evalEvery returns the evaluation interval shared by the cards (0 when
// they evaluated at epoch ends, or differ).
func (r *Report) evalEvery() int {
	e := -1
	for _, c := range r.Cards {
		if e >= 0 && c.EvalEvery != e {
			return 0
		}
		e = c.EvalEvery
	}
	return max(e, 0)
}

// nanLast orders a before b by value (descending when desc), NaN last.
func nanLast(a, b float64, desc bool) bool {
	switch {
	case math.IsNaN(a):
		return false
	case math.IsNaN(b):
		return true
	case desc:
		return a > b
	default:
		return a < b
	}
}

// GoodWindow returns the width, in decades, of the card's good learning
// rates (log10(GoodHi/GoodLo): 0 for a single good rate, NaN for none). With
// GoodAtEdge it is a lower bound: the grid may have cut the window short.
func (c Card) GoodWindow() float64 {
	if c.GoodLRs == 0 || !(c.GoodLo > 0) {
		return math.NaN()
	}
	return math.Log10(c.GoodHi / c.GoodLo)
}

// WiderWindow compares the good-rate windows of two cards (GoodWindow):
// +1 when a's is wider than b's, −1 when it is narrower, 0 when they are
// equal or the grids cannot tell. A window that touches its grid's edge
// (GoodAtEdge) is a lower bound, so it is never called narrower than
// another, and another is never called wider than it; a card without good
// rates has no window to compare.
func WiderWindow(a, b Card) int {
	wa, wb := a.GoodWindow(), b.GoodWindow()
	switch {
	case math.IsNaN(wa) || math.IsNaN(wb):
		return 0
	case wa > wb && !b.GoodAtEdge:
		return 1
	case wa < wb && !a.GoodAtEdge:
		return -1
	}
	return 0
}
