package bench

import (
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"

	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/plots"
)

// BatchCost is the measured cost of training one model at one batch size:
// what an update costs and what an epoch over the data set costs.
type BatchCost struct {
	Model string
	Batch int
	// UpdatesPerEpoch is the data set's size divided by Batch (rounded down).
	UpdatesPerEpoch int
	// SecondsPerUpdate is the mean wall time of a timed update.
	SecondsPerUpdate float64
	// SamplesPerSec is Batch / SecondsPerUpdate.
	SamplesPerSec float64
	// PeakRSSBytes is the process's peak resident memory during the run (see
	// TrainResult).
	PeakRSSBytes int64
}

// SecondsPerEpoch is the time of one pass over the data set:
// UpdatesPerEpoch × SecondsPerUpdate.
func (c BatchCost) SecondsPerEpoch() float64 { return float64(c.UpdatesPerEpoch) * c.SecondsPerUpdate }

// BatchCosts times training model with opt on all of ds at each batch size
// (Training: one untimed epoch, then epochs timed ones over the
// len(ds)/batch updates of an epoch): the cost of an update and of an epoch
// as the batch grows from one example to the whole data set.
func BatchCosts(backend compute.Backend, ds *datasets.Dataset, model string, opt *optimizers.Optimizer, batches []int, epochs int) ([]BatchCost, error) {
	if ds == nil || ds.Len() == 0 {
		return nil, errors.New("batch costs: no data")
	}
	if len(batches) == 0 {
		return nil, errors.New("batch costs: no batch sizes")
	}
	out := make([]BatchCost, 0, len(batches))
	for _, b := range batches {
		if b < 1 || b > ds.Len() {
			return nil, fmt.Errorf("batch costs: batch size %d: want 1 to the data set's %d examples", b, ds.Len())
		}
		r, err := Training(backend, ds, model, opt, b, ds.Len()/b, epochs, 1, nil)
		if err != nil {
			return nil, fmt.Errorf("batch costs: %w", err)
		}
		spu := r.Seconds / float64(r.Steps)
		out = append(out, BatchCost{Model: model, Batch: b, UpdatesPerEpoch: ds.Len() / b, SecondsPerUpdate: spu,
			SamplesPerSec: float64(b) / spu, PeakRSSBytes: r.PeakRSSBytes})
	}
	return out, nil
}

// FitUpdateCost fits SecondsPerUpdate ≈ fixed + perExample·Batch to costs by
// least squares on the relative error (each batch size counts alike, small
// and large): the fixed cost of a step (launching the compiled graph, moving
// the batch in and the loss out) and the cost of each example in it.
func FitUpdateCost(costs []BatchCost) (fixed, perExample float64, err error) {
	if len(costs) < 2 {
		return 0, 0, fmt.Errorf("fit update cost: %d batch sizes, need at least 2", len(costs))
	}
	// Weighted least squares with weights 1/y².
	var sw, sx, sy, sxx, sxy float64
	for _, c := range costs {
		y, x := c.SecondsPerUpdate, float64(c.Batch)
		if !(y > 0) || math.IsInf(y, 0) {
			return 0, 0, fmt.Errorf("fit update cost: batch %d took %v s per update", c.Batch, y)
		}
		w := 1 / (y * y)
		sw, sx, sy, sxx, sxy = sw+w, sx+w*x, sy+w*y, sxx+w*x*x, sxy+w*x*y
	}
	det := sw*sxx - sx*sx
	if det == 0 {
		return 0, 0, errors.New("fit update cost: need at least two different batch sizes")
	}
	perExample = (sw*sxy - sx*sy) / det
	fixed = (sy - perExample*sx) / sw
	return fixed, perExample, nil
}

// BatchCostTable shows costs: per batch size, updates per epoch, time per
// update and per epoch, and throughput.
func BatchCostTable(title string, costs []BatchCost) *plots.Table {
	t := plots.NewTable(title, "model", "batch", "updates / epoch", "ms / update", "s / epoch", "examples / s")
	for _, c := range costs {
		_ = t.AddRow(c.Model, c.Batch, c.UpdatesPerEpoch, 1000*c.SecondsPerUpdate, c.SecondsPerEpoch(), c.SamplesPerSec)
	}
	return t
}

// BatchCostFigure draws, for each model's costs, the time of an update
// (solid) and of an epoch (dashed, same colour) against the batch size, on
// log–log axes.
func BatchCostFigure(title string, costs ...[]BatchCost) (*plots.Figure, error) {
	var ss []plots.Series
	for _, cs := range costs {
		if len(cs) == 0 {
			continue
		}
		name := cs[0].Model
		u := plots.Series{Name: name + ": one update", Group: name}
		e := plots.Series{Name: name + ": one epoch", Group: name, Dashed: true}
		for _, c := range cs {
			u.X, u.Y = append(u.X, float64(c.Batch)), append(u.Y, c.SecondsPerUpdate)
			e.X, e.Y = append(e.X, float64(c.Batch)), append(e.Y, c.SecondsPerEpoch())
		}
		ss = append(ss, u, e)
	}
	return plots.Lines(plots.Axes{Title: title, XLabel: "batch size B", YLabel: "seconds", LogX: true, LogY: true, Markers: true}, ss...)
}

// FastestEpoch returns the cost with the shortest epoch.
func FastestEpoch(costs []BatchCost) BatchCost {
	var best BatchCost
	for i, c := range costs {
		if i == 0 || c.SecondsPerEpoch() < best.SecondsPerEpoch() {
			best = c
		}
	}
	return best
}

// SecondsPerUpdate times up to maxSteps updates of model with opt at the
// given batch size on the first examples of ds (one untimed epoch of those
// steps first, as Training does) and returns the mean wall time of one: the
// cost of an update in a run of its own, for drawing training curves of
// population members against time.
func SecondsPerUpdate(backend compute.Backend, ds *datasets.Dataset, model string, opt *optimizers.Optimizer, batch, maxSteps int) (float64, error) {
	if ds == nil || batch < 1 || batch > ds.Len() || maxSteps < 1 {
		return 0, fmt.Errorf("seconds per update: batch %d, %d steps: want 1 ≤ batch ≤ the data set's examples and steps ≥ 1", batch, maxSteps)
	}
	r, err := Training(backend, ds, model, opt, batch, min(maxSteps, ds.Len()/batch), 1, 1, nil)
	if err != nil {
		return 0, fmt.Errorf("seconds per update: %w", err)
	}
	return r.Seconds / float64(r.Steps), nil
}
