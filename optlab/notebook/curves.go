package notebook

import (
	"errors"
	"fmt"
	"math"

	"optlab.dev/optlab"
	"optlab.dev/optlab/plots"
)

// XAxis is what a training curve is drawn against.
type XAxis string

const (
	// ByEpoch draws a curve against the epoch number.
	ByEpoch XAxis = "epoch"
	// ByUpdate draws it against the optimizer steps taken so far.
	ByUpdate XAxis = "updates"
	// BySeconds draws it against training time: the updates taken so far
	// times SecondsPerUpdate (MeanCurve's argument), since the wall times a
	// population records are shared by all its members.
	BySeconds XAxis = "seconds"
)

// MeanCurve returns metric m of runs (the seeds of one setting) per epoch:
// the mean over the runs that did not diverge, with the confidence band of
// the mean (Level), against x. For BySeconds, secondsPerUpdate converts
// updates into time (measure it on a run of its own, e.g. with
// bench.Training). An epoch where fewer than two runs are finite has no
// band; where none is, the line breaks.
func MeanCurve(name string, runs []*optlab.History, m optlab.Metric, x XAxis, secondsPerUpdate float64) (plots.Series, error) {
	s := plots.Series{Name: name}
	if len(runs) == 0 {
		return s, fmt.Errorf("curve %s: no runs", name)
	}
	if x == BySeconds && !(secondsPerUpdate > 0) {
		return s, fmt.Errorf("curve %s: seconds per update %v: want > 0 to draw against time", name, secondsPerUpdate)
	}
	epochs := 0
	for _, h := range runs {
		epochs = max(epochs, len(h.Epochs))
	}
	for e := range epochs {
		var vals, steps []float64
		for _, h := range runs {
			if e < len(h.Epochs) {
				steps = append(steps, float64(h.Epochs[e].Steps))
				if !h.Diverged() && finite(h.Epochs[e].Value(m)) {
					vals = append(vals, h.Epochs[e].Value(m))
				}
			}
		}
		var xv float64
		switch x {
		case ByEpoch:
			xv = float64(e + 1)
		case ByUpdate:
			xv = mean(steps)
		case BySeconds:
			xv = mean(steps) * secondsPerUpdate
		default:
			return s, fmt.Errorf("curve %s: unknown x axis %q (epoch, updates or seconds)", name, x)
		}
		est := CI(vals)
		y, lo, hi := est.Mean, est.Lo, est.Hi
		if est.N < 2 {
			lo, hi = y, y
		}
		if est.N == 0 {
			y, lo, hi = math.NaN(), math.NaN(), math.NaN()
		}
		s.X, s.Y, s.Lo, s.Hi = append(s.X, xv), append(s.Y, y), append(s.Lo, lo), append(s.Hi, hi)
	}
	return s, nil
}

// Rises counts, over the runs, the epochs after the first at which metric m
// rose by more than a fraction rel of its previous value (for a loss: a step
// backwards), and returns the largest value m took after the first epoch:
// the spikes of an unstable run, as numbers. Diverged runs count their
// finished epochs.
func Rises(runs []*optlab.History, m optlab.Metric, rel float64) (rises, epochs int, peak float64) {
	peak = math.Inf(-1)
	for _, h := range runs {
		for e := 1; e < len(h.Epochs); e++ {
			prev, cur := h.Epochs[e-1].Value(m), h.Epochs[e].Value(m)
			if !finite(prev) || !finite(cur) {
				continue
			}
			epochs++
			if cur > prev*(1+rel) {
				rises++
			}
			peak = math.Max(peak, cur)
		}
	}
	return rises, epochs, peak
}

// EvalCurves draws runs that evaluated within their epochs
// (optlab.Config.EvalEvery): the training loss since the previous
// evaluation and the validation accuracy against the optimizer steps taken,
// as two panels side by side, one colour per label. A label with several
// runs (seeds) is drawn as their mean with the range of the seeds shaded, up
// to the last evaluation they all reached; runs that stopped with an error
// are left out. It is how a notebook shows convergence within a single
// epoch, where per-epoch curves have one point.
func EvalCurves(hs []*optlab.History) (*plots.Figure, error) {
	loss, acc := evalSeries(hs)
	if len(acc) == 0 {
		return nil, errors.New("eval curves: no finished run evaluated within its epochs (optlab.Config.EvalEvery)")
	}
	val := "validation"
	if hs[0].ValSplit != "" {
		val = hs[0].ValSplit
	}
	lf, err := plots.Lines(plots.Axes{Title: "Training loss", XLabel: "optimizer steps", YLabel: "cross-entropy loss (since the previous evaluation)",
		Markers: true, HideLegend: true}, loss...)
	if err != nil {
		return nil, err
	}
	af, err := plots.Lines(plots.Axes{Title: "Accuracy on " + val, XLabel: "optimizer steps", YLabel: val + " accuracy (fraction correct)", Markers: true}, acc...)
	if err != nil {
		return nil, err
	}
	return plots.Panels(2, lf, af)
}

// evalSeries returns EvalCurves' series: per label, the training loss and the
// validation accuracy at each evaluation its finished runs share.
func evalSeries(hs []*optlab.History) (loss, acc []plots.Series) {
	order, groups := optlab.GroupByName(hs)
	for _, name := range order {
		var runs []*optlab.History
		n := math.MaxInt
		for _, h := range groups[name] {
			if h.Err == "" && len(h.Evals) > 0 {
				runs = append(runs, h)
				n = min(n, len(h.Evals))
			}
		}
		if len(runs) == 0 {
			continue
		}
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(runs[0].Evals[i].Step)
		}
		ls, as := make([][]float64, len(runs)), make([][]float64, len(runs))
		for j, h := range runs {
			for _, e := range h.Evals[:n] {
				ls[j], as[j] = append(ls[j], e.Loss), append(as[j], e.ValAccuracy)
			}
		}
		label := name
		if len(runs) > 1 {
			label = fmt.Sprintf("%s (%d seeds)", name, len(runs))
		}
		l, errL := plots.MeanBand(label, x, ls)
		a, errA := plots.MeanBand(label, x, as)
		if errL != nil || errA != nil {
			continue
		}
		l.Group, a.Group = name, name
		loss, acc = append(loss, l), append(acc, a)
	}
	return loss, acc
}
