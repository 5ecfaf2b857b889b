package notebook

import (
	"fmt"
	"math"
	"strconv"

	"optlab.dev/optlab"
	"optlab.dev/optlab/plots"
)

// LogGrid returns the values from lo to hi (both included when they fall on
// the grid) spaced evenly on a log scale with perDecade values per decade,
// anchored at powers of ten and rounded to two significant digits:
// LogGrid(1e-3, 1e-2, 4) = [0.001 0.0018 0.0032 0.0056 0.01].
func LogGrid(lo, hi float64, perDecade int) ([]float64, error) {
	if !(lo > 0 && hi >= lo) || math.IsInf(hi, 0) || perDecade < 1 || perDecade > 100 {
		return nil, fmt.Errorf("log grid [%v, %v] with %d per decade: want 0 < lo ≤ hi < ∞ and 1 to 100 per decade", lo, hi, perDecade)
	}
	start := int(math.Ceil(math.Log10(lo)*float64(perDecade) - 1e-9))
	end := int(math.Floor(math.Log10(hi)*float64(perDecade) + 1e-9))
	if end-start > 1000 {
		return nil, fmt.Errorf("log grid [%v, %v] with %d per decade has more than 1,000 values", lo, hi, perDecade)
	}
	var out []float64
	for k := start; k <= end; k++ {
		v, _ := strconv.ParseFloat(strconv.FormatFloat(math.Pow(10, float64(k)/float64(perDecade)), 'g', 2, 64), 64)
		out = append(out, v)
	}
	return out, nil
}

// SweepPoint is one point of a hyperparameter sweep: its value on the
// sweep's axis (a learning rate, a momentum) and the label of its runs.
type SweepPoint struct {
	X     float64
	Label string
}

// Sweep is a final metric across the points of a sweep, each point a mean
// over its seeds with a confidence interval: the data of a learning-rate or
// momentum curve with error bands.
type Sweep struct {
	Name   string
	Metric optlab.Metric
	Points []SweepPoint
	// Est is each point's mean and interval over the runs that did not
	// diverge (N < 2: no interval; N = 0: every run diverged).
	Est []Estimate
	// Runs and Diverged count each point's runs and those that diverged.
	Runs, Diverged []int
}

// NewSweep collects, for each point, the final value of metric m of the
// runs labelled with the point's label (History.Name), at confidence level
// Level. A point without runs is an error: the grid and the runs disagree.
func NewSweep(name string, hs []*optlab.History, points []SweepPoint, m optlab.Metric) (*Sweep, error) {
	_, byName := optlab.GroupByName(hs)
	s := &Sweep{Name: name, Metric: m, Points: points}
	for _, p := range points {
		runs := byName[p.Label]
		if len(runs) == 0 {
			return nil, fmt.Errorf("sweep %s: no runs labelled %q", name, p.Label)
		}
		var vals []float64
		div := 0
		for _, h := range runs {
			if h.Diverged() || len(h.Epochs) == 0 || !finite(h.Last().Value(m)) {
				div++
				continue
			}
			vals = append(vals, h.Last().Value(m))
		}
		s.Est = append(s.Est, CI(vals))
		s.Runs = append(s.Runs, len(runs))
		s.Diverged = append(s.Diverged, div)
	}
	return s, nil
}

// Series returns the sweep as a line with its confidence band, x from the
// points (scaled by xScale, 1 for none: a learning rate shown as
// η/(1 − β) for instance) and y the means. A point whose runs all diverged
// is NaN: the line breaks there and the figure marks it.
func (s *Sweep) Series(xScale float64) plots.Series {
	if xScale == 0 {
		xScale = 1
	}
	out := plots.Series{Name: s.Name}
	for i, p := range s.Points {
		e := s.Est[i]
		out.X = append(out.X, p.X*xScale)
		out.Y = append(out.Y, e.Mean)
		out.Lo = append(out.Lo, e.Lo)
		out.Hi = append(out.Hi, e.Hi)
	}
	return out
}

// Best returns the index of the point with the highest mean (lowest when
// lower is true), among points where no run diverged; −1 if there is none.
func (s *Sweep) Best(lower bool) int {
	best := -1
	for i, e := range s.Est {
		if s.Diverged[i] > 0 || e.N == 0 || !finite(e.Mean) {
			continue
		}
		if best < 0 || (!lower && e.Mean > s.Est[best].Mean) || (lower && e.Mean < s.Est[best].Mean) {
			best = i
		}
	}
	return best
}

// Within returns the indices of the points whose interval overlaps the best
// point's (Best(lower)): the settings a re-run with other seeds could also
// rank first. Their span is the sweep's "flat top".
func (s *Sweep) Within(lower bool) []int {
	b := s.Best(lower)
	if b < 0 {
		return nil
	}
	var out []int
	for i, e := range s.Est {
		if s.Diverged[i] > 0 || e.N == 0 {
			continue
		}
		if e.Hi >= s.Est[b].Lo && e.Lo <= s.Est[b].Hi {
			out = append(out, i)
		}
	}
	return out
}

// SweepTable shows sweeps over the same points side by side: one row per
// point (the first sweep's values on the axis, named xName), one column per
// sweep with the mean and the half-width of its interval ("91.2 ± 0.4%"
// when percent), and how many of its runs diverged.
func SweepTable(title, xName string, percent bool, sweeps ...*Sweep) *plots.Table {
	header := []string{xName}
	for _, s := range sweeps {
		header = append(header, s.Name)
	}
	t := plots.NewTable(title, header...)
	if len(sweeps) == 0 {
		return t
	}
	for i, p := range sweeps[0].Points {
		row := []any{p.X}
		for _, s := range sweeps {
			if i >= len(s.Est) {
				row = append(row, "")
				continue
			}
			cell := "all diverged"
			if e := s.Est[i]; e.N > 0 {
				cell = short95(e, percent)
				if s.Diverged[i] > 0 {
					cell += fmt.Sprintf(" (%d of %d diverged)", s.Diverged[i], s.Runs[i])
				}
			}
			row = append(row, cell)
		}
		_ = t.AddRow(row...)
	}
	t.Note = fmt.Sprintf("%s at the last epoch: mean ± half-width of the %s%% confidence interval over seeds (Student t).",
		sweeps[0].Metric, strconv.FormatFloat(100*Level, 'f', -1, 64))
	return t
}

// AllDiverged returns the indices of the points whose every run diverged.
func (s *Sweep) AllDiverged() []int {
	var out []int
	for i := range s.Points {
		if s.Runs[i] > 0 && s.Diverged[i] == s.Runs[i] {
			out = append(out, i)
		}
	}
	return out
}
