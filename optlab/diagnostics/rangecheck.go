package diagnostics

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"

	"optlab.dev/optlab"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/plots"
)

// RangeCheck sets a learning-rate range test's suggestion beside a measured
// learning-rate sweep of the same optimizer: does the rate the sweep found
// best lie in the range the test suggested, and does the sweep start to
// diverge where the test said it would?
type RangeCheck struct {
	// Range is the range test.
	Range *LRRange
	// Metric is the score read from each run's last epoch (validation or
	// training accuracy: higher is better; a loss: lower is better).
	Metric optlab.Metric
	// FailLoss is the training loss at or above which a run counts as
	// failed though finite (0: only diverged runs fail).
	FailLoss float64
	// LRs are the sweep's rates, ascending. At LRs[i], Runs[i] runs were
	// trained, Failed[i] of them failed (diverged, or ended with a training
	// loss ≥ FailLoss), and Score[i] is the mean score of the others (NaN
	// when every run failed).
	LRs          []float64
	Score        []float64
	Runs, Failed []int
	// Best is the rate of the best mean score; FirstFailed the smallest
	// rate at which a run failed (0: none did).
	Best, FirstFailed float64
	// Low and High are the range test's suggestion: the steepest-descent
	// rate and the divergence point (the largest rate tried when it did not
	// diverge). BestInRange reports whether Low ≤ Best ≤ High.
	Low, High   float64
	BestInRange bool
}

// lowerIsBetter reports whether a smaller value of m is better (losses).
func lowerIsBetter(m optlab.Metric) bool {
	return m == optlab.MetricLoss || m == optlab.MetricValLoss
}

// CheckRange reads a sweep (runs of one optimizer at several learning rates,
// any number of seeds each; a run's rate is its optimizer's base rate) against
// the range test r, scoring each run by metric m of its last epoch. A run
// fails when it diverged or, with failLoss > 0, when its last epoch's
// training loss is at least failLoss: a rate too large can leave a ReLU
// network dead, its loss finite but no lower than guessing (ln 10 on ten
// classes), which is as much a failure as a NaN.
func CheckRange(r *LRRange, sweep []*optlab.History, m optlab.Metric, failLoss float64) (*RangeCheck, error) {
	if r == nil || len(r.LR) == 0 {
		return nil, errors.New("range check: no range test")
	}
	if !(failLoss >= 0) || math.IsInf(failLoss, 0) {
		return nil, fmt.Errorf("range check: the failing loss must be a number ≥ 0 (0: off), got %g", failLoss)
	}
	if len(sweep) == 0 {
		return nil, errors.New("range check: no sweep")
	}
	type point struct {
		scores      []float64
		runs, fails int
	}
	at := map[float64]*point{}
	for _, h := range sweep {
		if h == nil {
			return nil, errors.New("range check: a sweep run is missing")
		}
		o, err := optimizers.Parse(h.Optimizer)
		if err != nil {
			return nil, fmt.Errorf("range check: run %s: %w", h.Name(), err)
		}
		lr := o.LearningRate()
		p := at[lr]
		if p == nil {
			p = &point{}
			at[lr] = p
		}
		p.runs++
		v, loss := math.NaN(), math.NaN()
		if len(h.Epochs) > 0 {
			v, loss = h.Last().Value(m), h.Last().Loss
		}
		dead := failLoss > 0 && !(loss < failLoss)
		if h.Diverged() || dead || math.IsNaN(v) || math.IsInf(v, 0) {
			p.fails++
			continue
		}
		p.scores = append(p.scores, v)
	}
	c := &RangeCheck{Range: r, Metric: m, FailLoss: failLoss, Low: r.Steepest, High: r.upper()}
	for lr := range at {
		c.LRs = append(c.LRs, lr)
	}
	sort.Float64s(c.LRs)
	bestScore := math.NaN()
	for _, lr := range c.LRs {
		p := at[lr]
		s := math.NaN()
		if len(p.scores) > 0 {
			s = 0
			for _, v := range p.scores {
				s += v
			}
			s /= float64(len(p.scores))
		}
		c.Score, c.Runs, c.Failed = append(c.Score, s), append(c.Runs, p.runs), append(c.Failed, p.fails)
		if p.fails > 0 && c.FirstFailed == 0 {
			c.FirstFailed = lr
		}
		better := s > bestScore
		if lowerIsBetter(m) {
			better = s < bestScore
		}
		if !math.IsNaN(s) && (math.IsNaN(bestScore) || better) {
			bestScore, c.Best = s, lr
		}
	}
	if math.IsNaN(bestScore) {
		return nil, errors.New("range check: every run of the sweep failed")
	}
	c.BestInRange = c.Best >= c.Low && c.Best <= c.High
	return c, nil
}

// Figure draws the sweep's mean score against the learning rate (log
// scale), with the range test's suggested range marked by dashed lines at
// its ends; rates where every run failed leave a gap.
func (c *RangeCheck) Figure() (*plots.Figure, error) {
	if len(c.LRs) == 0 {
		return nil, errors.New("range check: no sweep")
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range c.Score {
		if !math.IsNaN(s) {
			lo, hi = math.Min(lo, s), math.Max(hi, s)
		}
	}
	if hi == lo {
		hi = lo + 1
	}
	name := c.Range.Label
	if name == "" {
		name = "sweep"
	}
	series := []plots.Series{
		{Name: name, X: slices.Clone(c.LRs), Y: slices.Clone(c.Score)},
		vline(fmt.Sprintf("steepest: %.3g", c.Low), c.Low, lo, hi),
		vline(fmt.Sprintf("divergence: %.3g", c.High), c.High, lo, hi),
	}
	return plots.Lines(plots.Axes{Title: "Sweep against the range test: " + name, XLabel: "learning rate",
		YLabel: string(c.Metric) + " (mean over seeds)", LogX: true, Markers: true}, series...)
}
