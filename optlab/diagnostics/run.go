package diagnostics

import (
	stdctx "context"
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
)

// TrackSharpness trains a fresh network (weights from base.Seed) with each
// optimizer and a SharpnessProbe measuring every `every` updates on the first
// examples of the training split, as `optlab sharpness` does; the series is
// each history's Probe("sharpness"). Histories of the runs that finished (or
// stopped with an error, keeping what they measured) are returned with the
// first error.
func TrackSharpness(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, base optlab.Config, specs []optlab.Spec, every int, cfg SharpnessConfig) ([]*optlab.History, error) {
	if len(specs) == 0 {
		return nil, errors.New("sharpness: no optimizer")
	}
	if every < 1 {
		return nil, fmt.Errorf("sharpness: the interval must be ≥ 1 update, got %d", every)
	}
	if data == nil || data.Train == nil {
		return nil, errors.New("sharpness: no training data")
	}
	var hs []*optlab.History
	for _, s := range specs {
		c := base
		c.Optimizer, c.Label = s.Optimizer, s.Label
		c.Probes = append(append([]optlab.Probe(nil), base.Probes...), &SharpnessProbe{Interval: every, Data: data.Train, Config: cfg})
		h, err := optlab.Train(ctx, backend, data, c)
		if h != nil {
			hs = append(hs, h)
		}
		if err != nil {
			return hs, err
		}
	}
	return hs, nil
}

// Slice modes of RunSlice and `optlab slice`.
const (
	// SliceLine interpolates between two optimizers' solutions from the same
	// initial weights, or, with one optimizer, from the initial to the final
	// weights.
	SliceLine = "line"
	// SliceRandom measures a plane of filter-normalised random directions
	// around one optimizer's solution.
	SliceRandom = "random"
	// SlicePCA measures the plane of one optimizer's trajectory's top two
	// principal directions, with the trajectory drawn on it.
	SlicePCA = "pca"
)

// SliceRun is the experiment of `optlab slice`: train, then slice.
type SliceRun struct {
	// Mode is SliceLine, SliceRandom or SlicePCA.
	Mode string
	// Train is the training run (model, epochs, batch size, seed, ...); its
	// Optimizer is replaced by each of Optimizers.
	Train optlab.Config
	// Optimizers: SliceLine takes one or two, the other modes one.
	Optimizers []optlab.Spec
	// Slice is the slice's grid and examples; Train and Test default to the
	// data's training and test splits.
	Slice SliceConfig
	// Snapshots is the number of weight snapshots SlicePCA aims for over
	// training (0: 40).
	Snapshots int
}

// SliceResult is what RunSlice measured.
type SliceResult struct {
	Line  *Line  // SliceLine
	Plane *Plane // SliceRandom, SlicePCA
	// Histories are the training runs.
	Histories []*optlab.History
}

// Check validates the mode, the optimizers, the snapshots and the grid
// (without data: see SliceConfig for the limit on the work).
func (run *SliceRun) Check() error {
	switch {
	case run.Mode != SliceLine && run.Mode != SliceRandom && run.Mode != SlicePCA:
		return fmt.Errorf("slice: unknown mode %q (valid: line, random, pca)", run.Mode)
	case len(run.Optimizers) == 0:
		return errors.New("slice: no optimizer")
	case run.Mode == SliceLine && len(run.Optimizers) > 2:
		return fmt.Errorf("slice: a line takes one optimizer (initial → final weights) or two (one solution → the other), got %d", len(run.Optimizers))
	case run.Mode != SliceLine && len(run.Optimizers) != 1:
		return fmt.Errorf("slice: mode %s takes one optimizer, got %d", run.Mode, len(run.Optimizers))
	case run.Snapshots < 0:
		return fmt.Errorf("slice: snapshots must be ≥ 0, got %d", run.Snapshots)
	}
	c := run.Slice
	if c.Points < 0 || (c.Points > 0 && (c.Points < 3 || c.Points > 201)) {
		return fmt.Errorf("slice: points per axis must be in [3, 201], got %d", c.Points)
	}
	if c.Examples < 0 {
		return fmt.Errorf("slice: examples must be ≥ 0 (0: 1000), got %d", c.Examples)
	}
	if !(c.Range >= 0) || math.IsInf(c.Range, 0) {
		return fmt.Errorf("slice: range must be a number ≥ 0, got %g", c.Range)
	}
	// The largest work the grid can take (with the test examples on a line).
	points, sets, m := c.Points, 1, c.Examples
	if m == 0 {
		m = 1000
	}
	if points == 0 {
		points = 21
		if run.Mode == SliceLine {
			points = 25
		}
	}
	evals := points * points
	if run.Mode == SliceLine {
		evals, sets = points, 2
	}
	if evals*m*sets > MaxSliceEvaluations {
		return fmt.Errorf("slice: %d evaluations of %d examples exceed the limit of %d example-evaluations (fewer points or examples)", evals, m, MaxSliceEvaluations)
	}
	return nil
}

// RunSlice trains a network per optimizer (all from the weights drawn from
// Train.Seed) and measures the slice Mode asks for. The grid's work is checked
// against MaxSliceEvaluations before any training.
func RunSlice(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, run SliceRun) (*SliceResult, error) {
	if err := run.Check(); err != nil {
		return nil, err
	}
	if data == nil || data.Train == nil {
		return nil, errors.New("slice: no training data")
	}
	cfg := run.Slice
	if cfg.Train == nil {
		cfg.Train = data.Train
	}
	if cfg.Test == nil && run.Mode == SliceLine {
		cfg.Test = data.Test
	}
	points := cfg.Points
	if points == 0 {
		points = 21
		if run.Mode == SliceLine {
			points = 25
		}
	}
	evals := points * points
	if run.Mode == SliceLine {
		evals = points
	}
	if _, _, err := cfg.check(evals); err != nil { // before any training
		return nil, err
	}
	res := &SliceResult{}
	var nets []*optlab.Network
	var rec *TrajectoryRecorder
	var init *Weights
	for _, s := range run.Optimizers {
		c := run.Train
		c.Optimizer, c.Label = s.Optimizer, s.Label
		n, err := optlab.NewNetwork(backend, c.Model, c.Seed, c.ModelOptions)
		if err != nil {
			return nil, err
		}
		if init == nil {
			if err := Materialize(n, data.Train); err != nil {
				return nil, err
			}
			if init, err = WeightsOf(n); err != nil {
				return nil, err
			}
		}
		if run.Mode == SlicePCA {
			snaps := run.Snapshots
			if snaps == 0 {
				snaps = 40
			}
			steps := c.Epochs * ((data.Train.Len() + c.BatchSize*max(c.Accumulate, 1) - 1) / (c.BatchSize * max(c.Accumulate, 1)))
			rec = &TrajectoryRecorder{Interval: max(1, steps/snaps), MaxSnapshots: max(4, 2*snaps), Label: s.Label}
			c.Probes = append(append([]optlab.Probe(nil), c.Probes...), rec)
		}
		h, err := n.Fit(ctx, data, c)
		if h != nil {
			res.Histories = append(res.Histories, h)
		}
		if err != nil {
			return res, err
		}
		if rec != nil {
			if err := rec.Record(n, h.Last().Steps); err != nil {
				return res, err
			}
		}
		nets = append(nets, n)
	}
	var err error
	switch run.Mode {
	case SliceLine:
		a, b := init, (*Weights)(nil)
		from, to := "initial weights", run.Optimizers[0].Label
		if b, err = WeightsOf(nets[0]); err != nil {
			return res, err
		}
		if len(nets) == 2 {
			a = b
			from = run.Optimizers[0].Label
			to = run.Optimizers[1].Label
			if b, err = WeightsOf(nets[1]); err != nil {
				return res, err
			}
		}
		res.Line, err = Interpolate(ctx, nets[0], a, b, cfg)
		if res.Line != nil {
			res.Line.FromName, res.Line.ToName = from, to
		}
	case SliceRandom:
		res.Plane, err = RandomPlane(ctx, nets[0], cfg)
		if res.Plane != nil {
			res.Plane.Label = run.Optimizers[0].Label
		}
	case SlicePCA:
		res.Plane, err = TrajectoryPlane(ctx, nets[0], rec, cfg)
	}
	return res, err
}
