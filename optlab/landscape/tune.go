package landscape

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
)

// BestRates runs, on one test function, every optimizer family of formats
// (specs with one %g for the learning rate, e.g. "adam(lr=%g)") at every
// learning rate of lrs, and returns the result of all runs together with,
// per format, the index in Result.Runs of its best run: the lowest final
// loss among the runs that did not diverge, ties (within 1e-9) broken by
// fewer steps to the tolerance. An index is −1 when every rate of a format
// diverged. It is the fair side-by-side: each method at its own best rate.
func BestRates(backend compute.Backend, function string, formats []string, lrs []float64, steps int) (*Result, []int, error) {
	if len(formats) == 0 || len(lrs) == 0 {
		return nil, nil, errors.New("best rates: need at least one optimizer and one learning rate")
	}
	var labels []string
	for _, f := range formats {
		for _, lr := range lrs {
			labels = append(labels, fmt.Sprintf(f, lr))
		}
	}
	specs, err := optlab.ParseSpecs(labels...)
	if err != nil {
		return nil, nil, fmt.Errorf("best rates: %w", err)
	}
	res, err := Run(backend, Config{Function: function, Optimizers: specs, Steps: steps})
	if err != nil {
		return nil, nil, fmt.Errorf("best rates: %w", err)
	}
	best := make([]int, len(formats))
	for m := range formats {
		best[m] = -1
		for i := m * len(lrs); i < (m+1)*len(lrs); i++ {
			r := res.Runs[i]
			if r.Diverged != "" || math.IsNaN(r.Loss) {
				continue
			}
			if best[m] < 0 {
				best[m] = i
				continue
			}
			b := res.Runs[best[m]]
			tie := math.Abs(r.Loss-b.Loss) <= 1e-9
			if (!tie && r.Loss < b.Loss) || (tie && r.StepsToTol >= 0 && (b.StepsToTol < 0 || r.StepsToTol < b.StepsToTol)) {
				best[m] = i
			}
		}
	}
	return res, best, nil
}

// Subset returns a copy of r holding only the runs at the given indices
// (negative ones skipped), for a figure of the chosen runs.
func (r *Result) Subset(idx []int) *Result {
	out := *r
	out.Runs = nil
	for _, i := range idx {
		if i >= 0 && i < len(r.Runs) {
			out.Runs = append(out.Runs, r.Runs[i])
		}
	}
	return &out
}
