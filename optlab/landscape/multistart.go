package landscape

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute"

	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/plots"
)

// MultiStart is the outcome of the same optimizers started from many random
// points of a test function: where local minima stop them.
type MultiStart struct {
	Function functions.TestFunction
	// Starts are the start points, drawn uniformly in the window.
	Starts [][2]float64
	// Runs[i][k] is optimizer i's outcome from start k.
	Runs [][]Outcome
	// Specs are the optimizers' labels, as in cfg.
	Specs []string
	// Radius is the distance to a global minimum that counts as found.
	Radius float64
}

// RunMultiStart runs cfg's optimizers (Steps, Tolerance and DType apply;
// Start is ignored) from n start points drawn uniformly from window with
// seed. A run counts as finding a global minimum when it ends within radius
// of one (default 0.1).
func RunMultiStart(backend compute.Backend, cfg Config, n int, window functions.Domain, seed uint64, radius float64) (*MultiStart, error) {
	if n < 1 || n > 10000 {
		return nil, fmt.Errorf("multi-start: %d starts, need 1 to 10,000", n)
	}
	if !(window.XMin < window.XMax && window.YMin < window.YMax) {
		return nil, fmt.Errorf("multi-start: window %+v is empty", window)
	}
	if radius == 0 {
		radius = 0.1
	}
	r := rand.New(rand.NewPCG(seed, 0x57a7))
	ms := &MultiStart{Radius: radius}
	for k := 0; k < n; k++ {
		ms.Starts = append(ms.Starts, [2]float64{
			window.XMin + (window.XMax-window.XMin)*r.Float64(),
			window.YMin + (window.YMax-window.YMin)*r.Float64()})
	}
	for k, s := range ms.Starts {
		c := cfg
		c.Start = s[:]
		res, err := Run(backend, c)
		if err != nil {
			return nil, fmt.Errorf("multi-start %d of %d: %w", k+1, n, err)
		}
		if k == 0 {
			ms.Function = res.Function
			ms.Runs = make([][]Outcome, len(res.Runs))
			for _, run := range res.Runs {
				ms.Specs = append(ms.Specs, run.Spec)
			}
		}
		for i, run := range res.Runs {
			ms.Runs[i] = append(ms.Runs[i], run)
		}
	}
	return ms, nil
}

// Found returns how many runs of optimizer i ended within Radius of a global
// minimum.
func (m *MultiStart) Found(i int) int {
	n := 0
	for _, run := range m.Runs[i] {
		if run.Diverged == "" && run.DistToMin < m.Radius {
			n++
		}
	}
	return n
}

// Losses returns the final losses of optimizer i's runs (NaN for a diverged
// run), in start order.
func (m *MultiStart) Losses(i int) []float64 {
	out := make([]float64, len(m.Runs[i]))
	for k, run := range m.Runs[i] {
		out[k] = run.Loss
		if run.Diverged != "" {
			out[k] = math.NaN()
		}
	}
	return out
}

// Improvement returns, for optimizer i, the mean drop of the loss from the
// start to the end, over the runs that did not diverge.
func (m *MultiStart) Improvement(i int) float64 {
	s, n := 0.0, 0
	for k, run := range m.Runs[i] {
		if run.Diverged != "" || math.IsNaN(run.Loss) {
			continue
		}
		st := m.Starts[k]
		s += m.Function.Eval(st[0], st[1]) - run.Loss
		n++
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// Median returns the median of the finite values of xs (NaN if none).
func Median(xs []float64) float64 {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if len(v)%2 == 1 {
		return v[len(v)/2]
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2
}

// Table summarises the runs per optimizer: global minima found, median final
// loss and the mean improvement over the start.
func (m *MultiStart) Table() *plots.Table {
	t := plots.NewTable(fmt.Sprintf("%s from %d random starts", m.Function.Name, len(m.Starts)),
		"optimizer", "runs ending at a global minimum", "median final loss", "mean loss drop from the start")
	for i, spec := range m.Specs {
		_ = t.AddRow(spec, fmt.Sprintf("%d of %d", m.Found(i), len(m.Starts)), Median(m.Losses(i)), m.Improvement(i))
	}
	return t
}

// WindowAround returns the result's landscape (as Landscape) in the
// smallest square window that holds every path and the start with pad added
// on each side, clipped to the function's window; minima outside it are
// left out.
func (r *Result) WindowAround(pad float64) (plots.Landscape, error) {
	l := r.Landscape()
	if !(pad >= 0) || math.IsInf(pad, 0) {
		return l, fmt.Errorf("landscape window: pad %g must be a finite number ≥ 0", pad)
	}
	x0, x1, y0, y1 := r.Start[0], r.Start[0], r.Start[1], r.Start[1]
	for _, run := range r.Runs {
		for _, q := range run.Trace.Params {
			if math.IsNaN(q[0]) || math.IsNaN(q[1]) || math.IsInf(q[0], 0) || math.IsInf(q[1], 0) {
				break
			}
			x0, x1, y0, y1 = math.Min(x0, q[0]), math.Max(x1, q[0]), math.Min(y0, q[1]), math.Max(y1, q[1])
		}
	}
	// A square window, so that circles look round.
	half := math.Max(x1-x0, y1-y0)/2 + pad
	cx, cy := (x0+x1)/2, (y0+y1)/2
	l.XMin, l.XMax = math.Max(l.XMin, cx-half), math.Min(l.XMax, cx+half)
	l.YMin, l.YMax = math.Max(l.YMin, cy-half), math.Min(l.YMax, cy+half)
	var minima [][2]float64
	for _, m := range l.Minima {
		if m[0] >= l.XMin && m[0] <= l.XMax && m[1] >= l.YMin && m[1] <= l.YMax {
			minima = append(minima, m)
		}
	}
	l.Minima = minima
	return l, nil
}

// FigureAround draws the result like Figure, in WindowAround(pad): for
// paths too short to see in the function's whole window (gradient descent
// stopping in a nearby local minimum).
func (r *Result) FigureAround(pad float64) (*plots.Figure, error) {
	l, err := r.WindowAround(pad)
	if err != nil {
		return nil, err
	}
	return plots.Contour(l, r.trajectories()...)
}
