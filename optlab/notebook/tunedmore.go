package notebook

import (
	"fmt"
	"math"

	"optlab.dev/optlab"
)

// BatchMethod is one way of training in a batch-size comparison: a batch
// size (0: the whole training set), a number of epochs and the learning
// rates to try.
type BatchMethod struct {
	Batch, Epochs int
	LRs           []float64
}

// BatchCandidates turns batch-size methods into Tune's candidates for model
// on a training set of n examples: each is named by its batch size
// ("B = 32", "full batch (3000)") and tries specFormat (one %g for the
// learning rate, e.g. "sgd(lr=%g)") at each of its rates.
func BatchCandidates(model string, n int, specFormat string, methods []BatchMethod) ([]Candidate, error) {
	var out []Candidate
	for _, m := range methods {
		b := m.Batch
		if b == 0 {
			b = n
		}
		if b < 1 || b > n || m.Epochs < 1 || len(m.LRs) == 0 {
			return nil, fmt.Errorf("batch method %+v: want 0 ≤ batch ≤ %d (0: all), epochs ≥ 1 and at least one learning rate", m, n)
		}
		name := fmt.Sprintf("B = %d", b)
		if b == n {
			name = fmt.Sprintf("full batch (%d)", n)
		}
		c := Candidate{Name: name, Base: optlab.Config{Model: model, Epochs: m.Epochs, BatchSize: b}, X: m.LRs}
		for _, lr := range m.LRs {
			c.Specs = append(c.Specs, fmt.Sprintf(specFormat, lr))
		}
		out = append(out, c)
	}
	return out, nil
}

// Final is the best point's final metric over seeds (N = 0 when there is no
// best point).
func (t *Tuned) Final() Estimate {
	if t.Best < 0 {
		return Estimate{Mean: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}
	}
	return t.Sweep.Est[t.Best]
}

// Updates is the number of optimizer steps the best point's runs took.
func (t *Tuned) Updates() int {
	if t.Best < 0 || len(t.Runs.Runs) == 0 || len(t.Runs.Runs[0].Epochs) == 0 {
		return 0
	}
	return t.Runs.Runs[0].Last().Steps
}

// Spread is the ratio of the worst mean final metric over the grid to the
// best, for a metric where lower is better when lower is true (and the
// inverse ratio otherwise), +Inf when a run of the grid diverged: how much
// the choice of rate within the grid matters.
func (s *Sweep) Spread(lower bool) float64 {
	b := s.Best(lower)
	if b < 0 {
		return math.Inf(1)
	}
	worst := s.Est[b].Mean
	for i, e := range s.Est {
		if s.Diverged[i] > 0 || e.N == 0 {
			return math.Inf(1)
		}
		if (lower && e.Mean > worst) || (!lower && e.Mean < worst) {
			worst = e.Mean
		}
	}
	if lower {
		return worst / s.Est[b].Mean
	}
	return s.Est[b].Mean / worst
}

// Peak returns, over every grid point of t, the largest value metric m
// reached after the first epoch relative to the point's mean final value,
// and the grid value (learning rate) where it happened: how far a run
// climbed on its way (a loss that rose tenfold before coming down).
func (t *Tuned) Peak(m optlab.Metric) (ratio, x float64) {
	groups := Groups(t.All)
	for i, p := range t.Sweep.Points {
		g, err := Lookup(groups, p.Label)
		if err != nil || t.Sweep.Est[i].N == 0 {
			continue
		}
		_, _, top := Rises(g.Runs, m, 0)
		if r := top / t.Sweep.Est[i].Mean; r > ratio {
			ratio, x = r, p.X
		}
	}
	return ratio, x
}

// Lowest returns the candidate whose best point has the lowest final mean
// (the highest when lower is false); nil if none has a best point.
func Lowest(tuned []*Tuned, lower bool) *Tuned {
	var out *Tuned
	for _, t := range tuned {
		if t.Best < 0 {
			continue
		}
		if out == nil || (lower && t.Final().Mean < out.Final().Mean) || (!lower && t.Final().Mean > out.Final().Mean) {
			out = t
		}
	}
	return out
}

// Range returns the smallest and largest grid value among the points whose
// interval overlaps the best one's (Within): the "flat top" of a sweep.
func (s *Sweep) Range(lower bool) (lo, hi float64) {
	w := s.Within(lower)
	if len(w) == 0 {
		return math.NaN(), math.NaN()
	}
	lo, hi = s.Points[w[0]].X, s.Points[w[0]].X
	for _, i := range w {
		lo, hi = math.Min(lo, s.Points[i].X), math.Max(hi, s.Points[i].X)
	}
	return lo, hi
}
