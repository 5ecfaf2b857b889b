package landscape

import (
	"math"

	"optlab.dev/optlab/plots"
)

// StepsTo returns the first step k whose loss is at most target (0 when the
// start already is), or −1 when no recorded step reaches it.
func (t *Trajectory) StepsTo(target float64) int {
	for k, l := range t.Loss {
		if l <= target {
			return k
		}
	}
	return -1
}

// Coord returns coordinate i of every recorded point, start included.
func (t *Trajectory) Coord(i int) []float64 {
	out := make([]float64, len(t.Params))
	for k, p := range t.Params {
		out[k] = p[i]
	}
	return out
}

// StepLengths returns the Euclidean length of every update: element k−1 is
// ‖Params[k] − Params[k−1]‖.
func (t *Trajectory) StepLengths() []float64 {
	var out []float64
	for k := 1; k < len(t.Params); k++ {
		s := 0.0
		for i, x := range t.Params[k] {
			d := x - t.Params[k-1][i]
			s += d * d
		}
		out = append(out, math.Sqrt(s))
	}
	return out
}

// SettlesAt returns the first step from which coordinate i stays within tol
// of target for every remaining recorded step, or −1 when the last step is
// still outside.
func (t *Trajectory) SettlesAt(i int, target, tol float64) int {
	at := -1
	for k, p := range t.Params {
		if math.Abs(p[i]-target) >= tol {
			at = -1
		} else if at < 0 {
			at = k
		}
	}
	return at
}

// Crossings counts how often coordinate i changes side of target: each
// crossing is an overshoot past it.
func (t *Trajectory) Crossings(i int, target float64) int {
	n := 0
	for k := 1; k < len(t.Params); k++ {
		if (t.Params[k][i] < target) != (t.Params[k-1][i] < target) {
			n++
		}
	}
	return n
}

// Path returns the trajectory's first two coordinates as a path for
// plots.Contour.
func (t *Trajectory) Path(name string) plots.Path {
	return plots.Path{Name: name, X: t.Coord(0), Y: t.Coord(1)}
}

// LossSeries returns the loss minus floor against the step number, as a
// line for plots.Lines: floor 0 draws the loss itself, the minimum value
// draws the gap to it (for a log axis).
func (t *Trajectory) LossSeries(name string, floor float64) plots.Series {
	s := plots.Series{Name: name}
	for k, l := range t.Loss {
		s.X = append(s.X, float64(k))
		s.Y = append(s.Y, l-floor)
	}
	return s
}
