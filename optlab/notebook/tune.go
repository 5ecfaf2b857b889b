package notebook

import (
	stdctx "context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/plots"
)

// Candidate is one contender of a tuned comparison: a base configuration
// (model, epochs, batch size) and a grid of optimizer specs, one per value
// on the grid's axis (usually the learning rate).
type Candidate struct {
	// Name names the candidate in tables and legends ("B = 32", "adam").
	Name string
	// Base holds everything but the optimizer and the seed.
	Base optlab.Config
	// Specs are the grid's optimizer specs and X their values on its axis.
	Specs []string
	X     []float64
}

// Tuned is a candidate after its sweep: the metric over the grid, the best
// point, and the runs of that point in seed order.
type Tuned struct {
	Candidate
	Sweep *Sweep
	// Best is the index of the best point (see Sweep.Best); −1 when every
	// point had a diverged run.
	Best int
	// Runs are the best point's runs (empty when Best is −1).
	Runs Group
	// All is every run of the candidate.
	All []*optlab.History
}

// Tune trains each candidate's grid with every seed, as populations and
// cached (CompareCachedPopulations; candidate i's cache is
// cachePrefix + "_" + its sanitised name + ".json"), and picks each
// candidate's best point by the mean over seeds of the final metric m (the
// lowest when lower). Every candidate runs with the same seeds, so the best
// points can be compared seed by seed (Paired). Choosing the best of a grid
// on the same runs that are then compared flatters every candidate a little,
// and each by a similar amount when their grids are alike.
func Tune(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, cands []Candidate, seeds []int64, m optlab.Metric, lower bool, cachePrefix string) ([]*Tuned, error) {
	if len(cands) == 0 {
		return nil, errors.New("tune: no candidates")
	}
	out := make([]*Tuned, 0, len(cands))
	seen := map[string]bool{}
	for _, c := range cands {
		if len(c.Specs) == 0 || len(c.Specs) != len(c.X) {
			return nil, fmt.Errorf("tune %s: %d specs for %d grid values (want as many, at least one)", c.Name, len(c.Specs), len(c.X))
		}
		file := cacheName(c.Name)
		if seen[file] {
			return nil, fmt.Errorf("tune: two candidates named %q", c.Name)
		}
		seen[file] = true
		specs, err := optlab.ParseSpecs(c.Specs...)
		if err != nil {
			return nil, fmt.Errorf("tune %s: %w", c.Name, err)
		}
		path := ""
		if cachePrefix != "" {
			path = cachePrefix + "_" + file + ".json"
		}
		hs, err := CompareCachedPopulations(ctx, backend, data, optlab.CompareConfig{Base: c.Base, Optimizers: specs, Seeds: seeds}, path, 0)
		if err != nil {
			return nil, fmt.Errorf("tune %s: %w", c.Name, err)
		}
		pts := make([]SweepPoint, len(c.Specs))
		for i, s := range specs {
			pts[i] = SweepPoint{X: c.X[i], Label: s.Label}
		}
		sw, err := NewSweep(c.Name, hs, pts, m)
		if err != nil {
			return nil, fmt.Errorf("tune %s: %w", c.Name, err)
		}
		t := &Tuned{Candidate: c, Sweep: sw, Best: sw.Best(lower), All: hs}
		if t.Best >= 0 {
			if t.Runs, err = Lookup(Groups(hs), pts[t.Best].Label); err != nil {
				return nil, fmt.Errorf("tune %s: %w", c.Name, err)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// BestLabel is the best point's label ("" when there is none).
func (t *Tuned) BestLabel() string {
	if t.Best < 0 {
		return ""
	}
	return t.Sweep.Points[t.Best].Label
}

// BestX is the best point's value on the grid's axis (NaN when none).
func (t *Tuned) BestX() float64 {
	if t.Best < 0 {
		return math.NaN()
	}
	return t.X[t.Best]
}

// cacheName turns a candidate's name into a file-name part: letters and
// digits kept, every other run of characters one underscore.
func cacheName(name string) string {
	var b strings.Builder
	under := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			under = false
		} else if !under && b.Len() > 0 {
			b.WriteByte('_')
			under = true
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

// TunedTable shows every candidate's grid, one row per point: the value on
// the grid's axis (named xName), the mean final metric with its interval
// ("91.2 ± 0.4%" when percent), diverged runs, and a mark on each
// candidate's best point.
func TunedTable(title, xName string, percent bool, tuned []*Tuned) *plots.Table {
	t := plots.NewTable(title, "candidate", xName, string(metricOf(tuned)), "diverged", "best")
	for _, tu := range tuned {
		for i, p := range tu.Sweep.Points {
			cell := "all diverged"
			if e := tu.Sweep.Est[i]; e.N > 0 {
				cell = short95(e, percent)
			}
			best := ""
			if i == tu.Best {
				best = "◀ best"
			}
			_ = t.AddRow(tu.Name, p.X, cell, fmt.Sprintf("%d of %d", tu.Sweep.Diverged[i], tu.Sweep.Runs[i]), best)
		}
	}
	t.Note = fmt.Sprintf("Last epoch: mean ± half-width of the %s%% confidence interval over seeds; the best point has the best mean among those where no run diverged.",
		strconv.FormatFloat(100*Level, 'f', -1, 64))
	return t
}

func metricOf(tuned []*Tuned) optlab.Metric {
	if len(tuned) == 0 {
		return ""
	}
	return tuned[0].Sweep.Metric
}

// TunedCurves draws metric m of each candidate's best runs, the mean over
// seeds with its confidence band (MeanCurve), against each x axis in xs: one
// panel per axis, the legend on the last. secondsPerUpdate[i] converts
// candidate i's updates into time (needed only for BySeconds).
func TunedCurves(tuned []*Tuned, m optlab.Metric, xs []XAxis, secondsPerUpdate []float64, logX, logY bool) (*plots.Figure, error) {
	var panels []*plots.Figure
	for j, x := range xs {
		var ss []plots.Series
		for i, tu := range tuned {
			if tu.Best < 0 {
				continue
			}
			spu := 0.0
			if i < len(secondsPerUpdate) {
				spu = secondsPerUpdate[i]
			}
			s, err := MeanCurve(fmt.Sprintf("%s, lr = %g", tu.Name, tu.BestX()), tu.Runs.Runs, m, x, spu)
			if err != nil {
				return nil, err
			}
			ss = append(ss, s)
		}
		label := map[XAxis]string{ByEpoch: "epoch", ByUpdate: "updates", BySeconds: "training seconds (one run alone)"}[x]
		fig, err := plots.Lines(plots.Axes{Title: "against " + string(x), XLabel: label, YLabel: string(m), LogX: logX, LogY: logY, Markers: true, HideLegend: j < len(xs)-1}, ss...)
		if err != nil {
			return nil, err
		}
		panels = append(panels, fig)
	}
	return plots.Panels(len(panels), panels...)
}
