package diagnostics

import (
	stdctx "context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/plots"
)

// SolutionsConfig configures CompareSolutions.
type SolutionsConfig struct {
	// Train is the training run every solution shares (model, epochs, batch
	// size, telemetry, ...); each run sets its Optimizer, Label and Seed.
	Train optlab.Config
	// Optimizers are trained from each seed's initial weights.
	Optimizers []optlab.Spec
	// Seeds draw the initial weights and the batch order. The runs of one
	// seed share both, so that differences between optimizers can be paired
	// by seed.
	Seeds []int64
	// Sharpness measures each solution's training loss on the first
	// Sharpness.Hessian.Examples training examples.
	Sharpness SharpnessConfig
	// Slices, when true, also measures the first seed's landscape (it needs
	// two optimizers or more): the line from the first optimizer's solution
	// to the second's, on training and test examples (Interpolate); a plane
	// of filter-normalised random directions around every solution, all drawn
	// with Slice.Seed, so that each plane holds the same Gaussian draw scaled
	// to its own solution's filters (RandomPlane); and the plane of every
	// run's trajectory's top two principal directions (TrajectoryPlane).
	Slices bool
	// Slice is the slices' grid and examples (Train and Test default to the
	// data's training and test splits).
	Slice SliceConfig
	// Snapshots is the number of weight snapshots taken over each of the
	// first seed's runs for its trajectory plane (0: 40).
	Snapshots int
	// OnSeed, if set, is called after each seed with the result so far, so
	// that a caller can save it and pass it back as Resume after an
	// interruption.
	OnSeed func(*Solutions) error
	// Resume, if set, is an earlier partial result of the same configuration:
	// its finished seeds are kept and not trained again.
	Resume *Solutions
}

// Solution is one trained network's record: its training run, the
// sharpness at its final weights, and its accuracy on the training and test
// splits.
type Solution struct {
	Seed  int64  `json:"seed"`
	Label string `json:"label"`
	// History is the training run (test metrics: History.TestLoss and
	// TestAccuracy).
	History *optlab.History `json:"history"`
	// Sharpness is measured at the final weights.
	Sharpness *Sharpness `json:"sharpness"`
	// TrainLoss and TrainAccuracy are measured at the final weights on the
	// whole training split, in inference mode, as the test metrics are.
	TrainLoss     float64 `json:"train_loss"`
	TrainAccuracy float64 `json:"train_accuracy"`
}

// Gap returns the generalisation gap: training accuracy minus test accuracy.
func (s Solution) Gap() float64 { return s.TrainAccuracy - s.History.TestAccuracy }

// Solutions is what CompareSolutions measured.
type Solutions struct {
	// Labels are the optimizers' labels, in the configuration's order.
	Labels []string `json:"labels"`
	// Seeds are the seeds finished, in order; Runs holds their solutions,
	// seed by seed, each seed's in the order of Labels.
	Seeds []int64    `json:"seeds"`
	Runs  []Solution `json:"runs"`
	// Line, Planes and Trajectories are the first seed's slices (with
	// Slices): the line from the first solution to the second, and one random
	// plane and one trajectory plane per optimizer, in the order of Labels.
	// Their directions (Plane.D1, D2) are dropped: they are as large as the
	// network.
	Line         *Line    `json:"line,omitempty"`
	Planes       []*Plane `json:"planes,omitempty"`
	Trajectories []*Plane `json:"trajectories,omitempty"`
}

// Values returns f of the label's solutions, one per seed in the order of
// Seeds: with the same call for another label, the values pair by seed.
func (s *Solutions) Values(label string, f func(Solution) float64) ([]float64, error) {
	if !slices.Contains(s.Labels, label) {
		return nil, fmt.Errorf("solutions: no optimizer labelled %q (have %q)", label, s.Labels)
	}
	var out []float64
	for _, seed := range s.Seeds {
		sol, ok := s.Find(label, seed)
		if !ok {
			return nil, fmt.Errorf("solutions: %s has no run with seed %d", label, seed)
		}
		out = append(out, f(sol))
	}
	return out, nil
}

// Find returns the solution of the label and seed.
func (s *Solutions) Find(label string, seed int64) (Solution, bool) {
	for _, r := range s.Runs {
		if r.Label == label && r.Seed == seed {
			return r, true
		}
	}
	return Solution{}, false
}

// Sharpest returns the sharpness of a solution (its TopEigenvalue), for
// Values.
func Sharpest(s Solution) float64 { return s.Sharpness.TopEigenvalue }

// TestAccuracy returns a solution's test accuracy, for Values.
func TestAccuracy(s Solution) float64 { return s.History.TestAccuracy }

// GapOf returns a solution's generalisation gap (Solution.Gap), for Values.
func GapOf(s Solution) float64 { return s.Gap() }

// check validates the configuration before any training.
func (c *SolutionsConfig) check(data *optlab.Data) error {
	switch {
	case data == nil || data.Train == nil || data.Test == nil:
		return errors.New("solutions: the data needs training and test splits")
	case len(c.Optimizers) == 0:
		return errors.New("solutions: no optimizer")
	case len(c.Seeds) == 0:
		return errors.New("solutions: no seed")
	case c.Slices && len(c.Optimizers) < 2:
		return fmt.Errorf("solutions: the slices compare two solutions; got %d optimizer", len(c.Optimizers))
	case c.Snapshots < 0:
		return fmt.Errorf("solutions: snapshots must be ≥ 0, got %d", c.Snapshots)
	}
	seen := map[string]bool{}
	for _, s := range c.Optimizers {
		if s.Optimizer == nil {
			return fmt.Errorf("solutions: optimizer %q is not parsed", s.Label)
		}
		if seen[s.Label] {
			return fmt.Errorf("solutions: two optimizers are labelled %q", s.Label)
		}
		seen[s.Label] = true
	}
	if c.Resume != nil && !slices.Equal(c.Resume.Labels, labelsOf(c.Optimizers)) {
		return fmt.Errorf("solutions: the result to resume compares %q, not %q", c.Resume.Labels, labelsOf(c.Optimizers))
	}
	if c.Slices {
		run := SliceRun{Mode: SlicePCA, Optimizers: c.Optimizers[:1], Slice: c.Slice}
		if err := run.Check(); err != nil {
			return err
		}
	}
	return nil
}

func labelsOf(specs []optlab.Spec) []string {
	out := make([]string, len(specs))
	for i, s := range specs {
		out[i] = s.Label
	}
	return out
}

// CompareSolutions trains every optimizer from every seed's initial weights
// and measures each solution: the sharpness of its training loss (top Hessian
// eigenvalue, and the trace with Sharpness.TraceSamples), its accuracy on the
// whole training split and on the test split, and, with Slices, the first
// seed's loss landscape between and around the solutions. It is the
// experiment behind the walkthrough's claim that SGD finds flatter minima
// that generalise better than Adam's: every property is measured per seed,
// so the optimizers' differences pair by seed.
//
// A run that fails or diverges stops the comparison with an error naming
// it; the seeds finished before are returned with it (and were passed to
// OnSeed), and Resume continues from them.
func CompareSolutions(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, cfg SolutionsConfig) (*Solutions, error) {
	if err := cfg.check(data); err != nil {
		return nil, err
	}
	res := &Solutions{Labels: labelsOf(cfg.Optimizers)}
	if r := cfg.Resume; r != nil {
		for _, seed := range r.Seeds {
			if !slices.Contains(cfg.Seeds, seed) {
				continue
			}
			res.Seeds = append(res.Seeds, seed)
			for _, l := range res.Labels {
				sol, ok := r.Find(l, seed)
				if !ok {
					return nil, fmt.Errorf("solutions: the result to resume has no run of %s with seed %d", l, seed)
				}
				res.Runs = append(res.Runs, sol)
			}
		}
		if len(res.Seeds) > 0 && res.Seeds[0] == cfg.Seeds[0] {
			res.Line, res.Planes, res.Trajectories = r.Line, r.Planes, r.Trajectories
		}
	}
	evalBatch := cfg.Train.EvalBatchSize
	if evalBatch == 0 {
		evalBatch = 500
	}
	for i, seed := range cfg.Seeds {
		if slices.Contains(res.Seeds, seed) {
			continue
		}
		withSlices := cfg.Slices && i == 0
		var nets []*optlab.Network
		var recs []*TrajectoryRecorder
		var runs []Solution
		for _, s := range cfg.Optimizers {
			c := cfg.Train
			c.Optimizer, c.Label, c.Seed = s.Optimizer, s.Label, seed
			n, err := optlab.NewNetwork(backend, c.Model, seed, c.ModelOptions)
			if err != nil {
				return res, err
			}
			var rec *TrajectoryRecorder
			if withSlices {
				snaps := cfg.Snapshots
				if snaps == 0 {
					snaps = 40
				}
				bs := max(c.BatchSize, 1) * max(c.Accumulate, 1)
				steps := c.Epochs * ((data.Train.Len() + bs - 1) / bs)
				rec = &TrajectoryRecorder{Interval: max(1, steps/snaps), MaxSnapshots: max(4, 2*snaps), Label: s.Label}
				c.Probes = append(slices.Clone(c.Probes), rec)
			}
			h, err := n.Fit(ctx, data, c)
			if err == nil && h.Err != "" {
				err = errors.New(h.Err)
			}
			if err != nil {
				return res, fmt.Errorf("solutions: %s, seed %d: %w", s.Label, seed, err)
			}
			sh, err := MeasureSharpness(ctx, n, data.Train, cfg.Sharpness)
			if err != nil {
				return res, fmt.Errorf("solutions: %s, seed %d: %w", s.Label, seed, err)
			}
			tl, ta, err := n.Evaluate(data.Train, evalBatch)
			if err != nil {
				return res, fmt.Errorf("solutions: %s, seed %d: %w", s.Label, seed, err)
			}
			runs = append(runs, Solution{Seed: seed, Label: s.Label, History: h, Sharpness: sh, TrainLoss: tl, TrainAccuracy: ta})
			if withSlices {
				if err := rec.Record(n, h.Last().Steps); err != nil {
					return res, err
				}
				nets, recs = append(nets, n), append(recs, rec)
			}
		}
		if withSlices {
			if err := res.measureSlices(ctx, nets, recs, cfg, data); err != nil {
				return res, err
			}
		}
		res.Seeds = append(res.Seeds, seed)
		res.Runs = append(res.Runs, runs...)
		if cfg.OnSeed != nil {
			if err := cfg.OnSeed(res); err != nil {
				return res, err
			}
		}
	}
	return res, nil
}

// measureSlices measures the first seed's line and planes.
func (s *Solutions) measureSlices(ctx stdctx.Context, nets []*optlab.Network, recs []*TrajectoryRecorder, cfg SolutionsConfig, data *optlab.Data) error {
	sc := cfg.Slice
	if sc.Train == nil {
		sc.Train = data.Train
	}
	lc := sc
	if lc.Test == nil {
		lc.Test = data.Test
	}
	lc.Range = 0 // the line's own default (t ∈ [−0.5, 1.5])
	a, err := WeightsOf(nets[0])
	if err != nil {
		return err
	}
	b, err := WeightsOf(nets[1])
	if err != nil {
		return err
	}
	line, err := Interpolate(ctx, nets[0], a, b, lc)
	if err != nil {
		return fmt.Errorf("solutions: line: %w", err)
	}
	line.FromName, line.ToName = s.Labels[0], s.Labels[1]
	var planes, paths []*Plane
	for i, n := range nets {
		p, err := RandomPlane(ctx, n, sc)
		if err != nil {
			return fmt.Errorf("solutions: random plane of %s: %w", s.Labels[i], err)
		}
		q, err := TrajectoryPlane(ctx, n, recs[i], sc)
		if err != nil {
			return fmt.Errorf("solutions: trajectory plane of %s: %w", s.Labels[i], err)
		}
		p.Label, q.Label = s.Labels[i], s.Labels[i]
		p.D1, p.D2, q.D1, q.D2 = nil, nil, nil, nil
		planes, paths = append(planes, p), append(paths, q)
	}
	s.Line, s.Planes, s.Trajectories = line, planes, paths
	return nil
}

// MeanRise returns the mean, over the plane's grid points within radius of
// the origin (√(α² + β²) ≤ radius), of the loss minus the loss at the origin
// (the grid point nearest to it): how much the loss rises, on average, when
// the weights move that far in the plane's directions. On planes of
// filter-normalised directions it compares the flatness of solutions of
// different scales (Li et al. 2018); a smaller rise is a flatter basin.
func (p *Plane) MeanRise(radius float64) (float64, error) {
	if len(p.X) == 0 || len(p.Y) == 0 || len(p.Loss) != len(p.Y) {
		return 0, errors.New("plane: no grid")
	}
	if !(radius > 0) {
		return 0, fmt.Errorf("plane: the radius must be > 0, got %g", radius)
	}
	c, r := nearestIndex(p.X, 0), nearestIndex(p.Y, 0)
	center := p.Loss[r][c]
	var sum float64
	n := 0
	for i, b := range p.Y {
		for j, a := range p.X {
			if math.Hypot(a, b) <= radius {
				sum += p.Loss[i][j] - center
				n++
			}
		}
	}
	if n == 0 {
		return 0, fmt.Errorf("plane: no grid point within radius %g of the origin", radius)
	}
	return sum / float64(n), nil
}

func nearestIndex(xs []float64, x float64) int {
	best := 0
	for i := range xs {
		if math.Abs(xs[i]-x) < math.Abs(xs[best]-x) {
			best = i
		}
	}
	return best
}

// Figure draws each solution's properties by optimizer, one line per seed
// joining that seed's solutions (a paired comparison: lines that slope the
// same way say the seeds agree): the sharpness λ_max (log scale), the
// Hessian's trace when it was measured, the test accuracy and the
// generalisation gap (training minus test accuracy). The x axis numbers the
// optimizers in the order of Labels.
func (s *Solutions) Figure() (*plots.Figure, error) {
	if len(s.Seeds) == 0 {
		return nil, errors.New("solutions: nothing measured")
	}
	xl := ""
	for i, l := range s.Labels {
		if i > 0 {
			xl += ",  "
		}
		xl += fmt.Sprintf("%d: %s", i, l)
	}
	type panel struct {
		title, y string
		log      bool
		f        func(Solution) float64
	}
	panels := []panel{{"Sharpness λ_max", "top Hessian eigenvalue", true, Sharpest}}
	if s.Runs[0].Sharpness.Trace != 0 {
		panels = append(panels, panel{"Hessian trace (Hutchinson)", "tr H", true, func(r Solution) float64 { return r.Sharpness.Trace }})
	}
	panels = append(panels, panel{"Test accuracy", "accuracy", false, TestAccuracy},
		panel{"Generalisation gap", "train − test accuracy", false, GapOf})
	var figs []*plots.Figure
	for k, p := range panels {
		var series []plots.Series
		for _, seed := range s.Seeds {
			sr := plots.Series{Name: fmt.Sprintf("seed %d", seed)}
			for i, l := range s.Labels {
				sol, ok := s.Find(l, seed)
				if !ok {
					return nil, fmt.Errorf("solutions: %s has no run with seed %d", l, seed)
				}
				sr.X, sr.Y = append(sr.X, float64(i)), append(sr.Y, p.f(sol))
			}
			series = append(series, sr)
		}
		f, err := plots.Lines(plots.Axes{Title: p.title, XLabel: xl, YLabel: p.y, LogY: p.log, Markers: true,
			HideLegend: k != len(panels)-1}, series...)
		if err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	return plots.Panels(2, figs...)
}

// PlanesFigure draws the random planes (or, with trajectories, the
// trajectory planes) of the solutions side by side.
func (s *Solutions) PlanesFigure(trajectories bool) (*plots.Figure, error) {
	ps := s.Planes
	if trajectories {
		ps = s.Trajectories
	}
	if len(ps) == 0 {
		return nil, errors.New("solutions: no slices measured (set Slices)")
	}
	var figs []*plots.Figure
	for _, p := range ps {
		f, err := p.Figure()
		if err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	return plots.Panels(len(figs), figs...)
}
