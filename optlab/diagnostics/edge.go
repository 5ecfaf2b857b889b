package diagnostics

import (
	"errors"
	"fmt"
	"math"

	"optlab.dev/optlab"
)

// Edge summarises a gradient-descent run's sharpness series (SharpnessProbe)
// against its stability limit 2/η: on a quadratic, gradient descent with
// step η diverges along any direction whose curvature exceeds 2/η. Cohen et
// al. (2021) found that full-batch gradient descent on neural networks
// raises the sharpness until it reaches 2/η ("progressive sharpening") and
// then keeps it hovering there while the loss goes on falling, unevenly
// ("the edge of stability").
type Edge struct {
	// Limit is 2/η, η the run's base learning rate (of its first epoch).
	Limit float64
	// Start is the first measurement (before the first update).
	Start float64
	// Fraction is the share of Limit that counts as reaching it; Reached is
	// the first measured step at which λ_max ≥ Fraction·Limit (−1: never).
	Fraction float64
	Reached  int
	// Mean, Min and Max are the measurements from Reached on, divided by
	// Limit; N counts them (0 when the limit was not reached).
	Mean, Min, Max float64
	N              int
	// Rises counts the epochs from Reached on whose training loss was higher
	// than the epoch's before, out of Epochs such epochs (with full-batch
	// gradient descent an epoch is one update, and its loss the loss before
	// it).
	Rises, Epochs int
}

// EdgeOfStability reads the "sharpness" series of h against 2/η. fraction
// (in (0, 1]) is the share of 2/η that counts as having reached it: 0.9 lets
// the measurements, which hover around the limit, count from their first
// approach.
func EdgeOfStability(h *optlab.History, fraction float64) (Edge, error) {
	if h == nil {
		return Edge{}, errors.New("edge of stability: no run")
	}
	if !(fraction > 0 && fraction <= 1) {
		return Edge{}, fmt.Errorf("edge of stability: the fraction of 2/η must be in (0, 1], got %g", fraction)
	}
	s := h.Probe("sharpness")
	if s == nil || len(s.Values) == 0 {
		return Edge{}, fmt.Errorf("edge of stability: run %s has no sharpness series (add a SharpnessProbe)", h.Name())
	}
	if len(h.Epochs) == 0 || !(h.Epochs[0].LR > 0) {
		return Edge{}, fmt.Errorf("edge of stability: run %s records no learning rate", h.Name())
	}
	e := Edge{Limit: 2 / h.Epochs[0].LR, Start: s.Values[0], Fraction: fraction, Reached: -1}
	for i, v := range s.Values {
		if e.Reached < 0 && v >= fraction*e.Limit {
			e.Reached = s.Steps[i]
			e.Min, e.Max = math.Inf(1), math.Inf(-1)
		}
		if e.Reached >= 0 {
			r := v / e.Limit
			e.Mean += r
			e.Min, e.Max = math.Min(e.Min, r), math.Max(e.Max, r)
			e.N++
		}
	}
	if e.N > 0 {
		e.Mean /= float64(e.N)
	}
	if e.Reached < 0 {
		return e, nil
	}
	for i := 1; i < len(h.Epochs); i++ {
		// Epoch i's loss was measured over its updates, from step Steps[i−1].
		if h.Epochs[i-1].Steps < e.Reached {
			continue
		}
		e.Epochs++
		if h.Epochs[i].Loss > h.Epochs[i-1].Loss {
			e.Rises++
		}
	}
	return e, nil
}
