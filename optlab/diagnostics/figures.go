package diagnostics

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"

	"optlab.dev/optlab"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/plots"
)

func fmtF(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }

func writeRows(w io.Writer, header []string, rows [][]string) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return err
	}
	if err := cw.WriteAll(rows); err != nil {
		return err
	}
	return cw.Error()
}

// WriteCSV writes one row per step: step, lr, loss, smoothed loss.
func (r *LRRange) WriteCSV(w io.Writer) error {
	rows := make([][]string, len(r.LR))
	for k := range r.LR {
		rows[k] = []string{strconv.Itoa(k + 1), fmtF(r.LR[k]), fmtF(r.Loss[k]), fmtF(r.Smoothed[k])}
	}
	return writeRows(w, []string{"step", "lr", "loss", "smoothed_loss"}, rows)
}

// Summary states the three rates and the rule in a few lines of text.
func (r *LRRange) Summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "steepest descent: lr %.3g\n", r.Steepest)
	fmt.Fprintf(&b, "minimum of the smoothed loss: lr %.3g\n", r.Minimum)
	if r.Diverged {
		fmt.Fprintf(&b, "divergence: lr %.3g (stopped after %d steps, at lr %.3g)\n", r.Divergence, len(r.LR), r.LR[len(r.LR)-1])
	} else {
		fmt.Fprintf(&b, "divergence: none up to lr %.3g\n", r.LR[len(r.LR)-1])
	}
	fmt.Fprintf(&b, "suggested range: %.3g to %.3g\n", r.Steepest, r.upper())
	fmt.Fprintf(&b, "rule: %s (N = %d, factor %g)\n", r.Rule, r.Smoothing, r.DivergeFactor)
	return b.String()
}

// upper is the top of the suggested range: the divergence point, or the
// largest rate tried.
func (r *LRRange) upper() float64 {
	if r.Diverged {
		return r.Divergence
	}
	return r.LR[len(r.LR)-1]
}

// vline is a vertical segment at x spanning [lo, hi], drawn as a dashed series.
func vline(name string, x, lo, hi float64) plots.Series {
	return plots.Series{Name: name, X: []float64{x, x}, Y: []float64{lo, hi}, Dashed: true}
}

// Figure draws the loss and the smoothed loss against the learning rate (log
// scale), with the steepest descent and divergence points marked.
func (r *LRRange) Figure() (*plots.Figure, error) {
	// The y axis spans the smoothed curve up to twice its start: the descent
	// and the start of the divergence, not the blow-up that ends the test.
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, s := range r.Smoothed {
		lo, hi = math.Min(lo, s), math.Max(hi, s)
	}
	hi = math.Min(hi, 2*r.Smoothed[0])
	for _, l := range r.Loss {
		lo = math.Min(lo, l)
	}
	if !(hi > lo) {
		hi = lo + 1
	}
	series := []plots.Series{
		{Name: "batch loss", X: r.LR, Y: r.Loss, Group: "loss"},
		{Name: fmt.Sprintf("smoothed (EMA, N = %d)", r.Smoothing), X: r.LR, Y: r.Smoothed},
		vline(fmt.Sprintf("steepest: lr %.3g", r.Steepest), r.Steepest, lo, hi),
	}
	if r.Diverged {
		series = append(series, vline(fmt.Sprintf("divergence: lr %.3g", r.Divergence), r.Divergence, lo, hi))
	}
	title := "Learning-rate range test"
	if r.Label != "" {
		title += ": " + r.Label
	}
	return plots.Lines(plots.Axes{Title: title, XLabel: "learning rate", YLabel: "training loss", LogX: true, YMin: math.Max(0, lo-0.05*(hi-lo)), YMax: hi}, series...)
}

// WriteCSV writes one row per point: t, loss, accuracy, and test_loss,
// test_accuracy when measured.
func (l *Line) WriteCSV(w io.Writer) error {
	header := []string{"t", "loss", "accuracy"}
	if l.TestLoss != nil {
		header = append(header, "test_loss", "test_accuracy")
	}
	rows := make([][]string, len(l.T))
	for i := range l.T {
		rows[i] = []string{fmtF(l.T[i]), fmtF(l.Loss[i]), fmtF(l.Accuracy[i])}
		if l.TestLoss != nil {
			rows[i] = append(rows[i], fmtF(l.TestLoss[i]), fmtF(l.TestAccuracy[i]))
		}
	}
	return writeRows(w, header, rows)
}

// Figure draws the loss (and accuracy) along the line, train solid and test
// dashed, with the endpoints at t = 0 and t = 1.
func (l *Line) Figure() (*plots.Figure, error) {
	if len(l.T) == 0 {
		return nil, errors.New("slice: an empty line")
	}
	xl := fmt.Sprintf("t  (0: %s, 1: %s)", l.FromName, l.ToName)
	loss := []plots.Series{{Name: "train", X: l.T, Y: l.Loss}}
	acc := []plots.Series{{Name: "train", X: l.T, Y: l.Accuracy}}
	if l.TestLoss != nil {
		loss = append(loss, plots.Series{Name: "test", X: l.T, Y: l.TestLoss, Dashed: true})
		acc = append(acc, plots.Series{Name: "test", X: l.T, Y: l.TestAccuracy, Dashed: true})
	}
	title := fmt.Sprintf("Loss from %s to %s", l.FromName, l.ToName)
	lf, err := plots.Lines(plots.Axes{Title: title, XLabel: xl, YLabel: "loss", LogY: true, HideLegend: true}, loss...)
	if err != nil {
		return nil, err
	}
	af, err := plots.Lines(plots.Axes{Title: "Accuracy", XLabel: xl, YLabel: "accuracy"}, acc...)
	if err != nil {
		return nil, err
	}
	return plots.Panels(2, lf, af)
}

// WriteCSV writes one row per grid point: alpha, beta, loss, accuracy.
func (p *Plane) WriteCSV(w io.Writer) error {
	var rows [][]string
	for r, b := range p.Y {
		for c, a := range p.X {
			rows = append(rows, []string{fmtF(a), fmtF(b), fmtF(p.Loss[r][c]), fmtF(p.Accuracy[r][c])})
		}
	}
	return writeRows(w, []string{"alpha", "beta", "loss", "accuracy"}, rows)
}

// WritePathCSV writes the projected trajectory: step, alpha, beta.
func (p *Plane) WritePathCSV(w io.Writer) error {
	rows := make([][]string, len(p.PathX))
	for i := range p.PathX {
		rows[i] = []string{strconv.Itoa(p.PathSteps[i]), fmtF(p.PathX[i]), fmtF(p.PathY[i])}
	}
	return writeRows(w, []string{"step", "alpha", "beta"}, rows)
}

// at interpolates the grid bilinearly (the figure samples it at its nodes).
func (p *Plane) at(x, y float64) float64 {
	c := locate(p.X, x)
	r := locate(p.Y, y)
	fx := (x - p.X[c]) / (p.X[c+1] - p.X[c])
	fy := (y - p.Y[r]) / (p.Y[r+1] - p.Y[r])
	z := p.Loss
	return (1-fx)*(1-fy)*z[r][c] + fx*(1-fy)*z[r][c+1] + (1-fx)*fy*z[r+1][c] + fx*fy*z[r+1][c+1]
}

// locate returns i with xs[i] ≤ x ≤ xs[i+1] (clamped).
func locate(xs []float64, x float64) int {
	i := sort.SearchFloat64s(xs, x) - 1
	return max(0, min(i, len(xs)-2))
}

// Figure draws the loss on the plane as filled contours (levels on a log
// scale of the loss above its minimum), with the projected trajectory for a
// trajectory plane.
func (p *Plane) Figure() (*plots.Figure, error) {
	title := "Loss on a plane of filter-normalised random directions"
	xl, yl := "α (direction 1)", "β (direction 2)"
	if p.Kind == "pca" {
		title = "Loss on the plane of the trajectory's principal directions"
		xl = fmt.Sprintf("PC 1 (%.1f%% of variance)", 100*p.Explained[0])
		yl = fmt.Sprintf("PC 2 (%.1f%% of variance)", 100*p.Explained[1])
	}
	if p.Label != "" {
		title += ": " + p.Label
	}
	l := plots.Landscape{Title: title, F: p.at, XMin: p.X[0], XMax: p.X[len(p.X)-1], YMin: p.Y[0], YMax: p.Y[len(p.Y)-1],
		Resolution: max(len(p.X), 8), LogScale: true, XLabel: xl, YLabel: yl}
	paths := []plots.Path{{Name: "trained weights", X: []float64{0}, Y: []float64{0}}}
	if len(p.PathX) > 0 {
		paths = nil
		name := p.Label
		if name == "" {
			name = "trajectory"
		}
		paths = append(paths, plots.Path{Name: name, X: p.PathX, Y: p.PathY})
	}
	return plots.Contour(l, paths...)
}

// SharpnessFigure draws the "sharpness" series of runs (SharpnessProbe)
// against the update count, each with a dashed line at 2/η, η being the run's
// base learning rate of its first epoch: full-batch gradient descent is
// stable on a quadratic only while its sharpness stays below 2/η (Cohen et
// al. 2021, "Gradient Descent on Neural Networks Typically Occurs at the Edge
// of Stability").
func SharpnessFigure(hs ...*optlab.History) (*plots.Figure, error) {
	var series []plots.Series
	for _, h := range hs {
		s := h.Probe("sharpness")
		if s == nil {
			continue
		}
		x := make([]float64, len(s.Steps))
		for i, st := range s.Steps {
			x[i] = float64(st)
		}
		name := h.Name()
		series = append(series, plots.Series{Name: name, X: x, Y: s.Values, Group: name})
		if len(h.Epochs) > 0 && h.Epochs[0].LR > 0 && len(x) > 1 {
			lim := 2 / h.Epochs[0].LR
			series = append(series, plots.Series{Name: fmt.Sprintf("2/η = %.3g", lim), X: []float64{x[0], x[len(x)-1]},
				Y: []float64{lim, lim}, Group: name, Dashed: true})
		}
	}
	if len(series) == 0 {
		return nil, errors.New("no run has a sharpness series (add a SharpnessProbe)")
	}
	return plots.Lines(plots.Axes{Title: "Sharpness (top Hessian eigenvalue) during training", XLabel: "step",
		YLabel: "λ_max of the training loss", Markers: len(series[0].X) <= 30}, series...)
}

// WriteProbesCSV writes the probe series of runs in long form: run, series,
// step, value.
func WriteProbesCSV(w io.Writer, hs ...*optlab.History) error {
	var rows [][]string
	for _, h := range hs {
		for _, s := range h.Probes {
			for i := range s.Steps {
				rows = append(rows, []string{h.Name(), s.Name, strconv.Itoa(s.Steps[i]), fmtF(s.Values[i])})
			}
		}
	}
	return writeRows(w, []string{"run", "series", "step", "value"}, rows)
}

// WriteTelemetryCSV writes a run's telemetry in long form, one row per step
// and variable: step, lr, grad_norm, variable, param_norm, update_norm,
// ratio, and the quantiles of the effective step sizes when the rule has them
// (the row with variable "all" summarises every parameter).
func WriteTelemetryCSV(w io.Writer, h *optlab.History) error {
	q := func(x *optimizers.Quantiles) []string {
		if x == nil {
			return []string{"", "", "", "", ""}
		}
		return []string{fmtF(x.Min), fmtF(x.P10), fmtF(x.Median), fmtF(x.P90), fmtF(x.Max)}
	}
	var rows [][]string
	for _, t := range h.Telemetry {
		head := []string{strconv.Itoa(t.Step), fmtF(t.LR), fmtF(t.GradNorm)}
		for _, v := range t.Vars {
			row := append(append([]string(nil), head...), v.Name, fmtF(v.ParamNorm), fmtF(v.UpdateNorm), fmtF(v.Ratio))
			rows = append(rows, append(row, q(v.StepSize)...))
		}
		row := append(append([]string(nil), head...), "all", "", "", "")
		rows = append(rows, append(row, q(t.StepSize)...))
	}
	return writeRows(w, []string{"step", "lr", "grad_norm", "variable", "param_norm", "update_norm", "ratio",
		"step_size_min", "step_size_p10", "step_size_median", "step_size_p90", "step_size_max"}, rows)
}

// TelemetryFigure draws a run's telemetry (Config.Telemetry) in panels: the
// learning rate applied and the gradient norm; each variable's update/weight
// norm ratio ‖Δp‖/‖p‖; and, for adaptive rules, each variable's median
// effective step size with its 10–90% band (η/(√v̂ + ε) for Adam).
func TelemetryFigure(h *optlab.History) (*plots.Figure, error) {
	if len(h.Telemetry) == 0 {
		return nil, errors.New("the run has no telemetry (set Config.Telemetry)")
	}
	n := len(h.Telemetry)
	steps, lr, gn := make([]float64, n), make([]float64, n), make([]float64, n)
	for i, t := range h.Telemetry {
		steps[i], lr[i], gn[i] = float64(t.Step), t.LR, t.GradNorm
	}
	title := h.Name()
	var figs []*plots.Figure
	top := 0.0
	for _, x := range lr {
		top = math.Max(top, x)
	}
	if !(top > 0) {
		top = 1
	}
	f, err := plots.Lines(plots.Axes{Title: "Learning rate applied: " + title, XLabel: "step", YLabel: "η", HideLegend: true, YMin: 0, YMax: 1.15 * top},
		plots.Series{Name: "lr", X: steps, Y: lr})
	if err != nil {
		return nil, err
	}
	figs = append(figs, f)
	if f, err = plots.Lines(plots.Axes{Title: "Gradient norm", XLabel: "step", YLabel: "‖g‖", LogY: true, HideLegend: true},
		plots.Series{Name: "‖g‖", X: steps, Y: gn}); err != nil {
		return nil, err
	}
	figs = append(figs, f)
	vars := h.Telemetry[0].Vars
	var ratios, sizes []plots.Series
	for j, v := range vars {
		name := strings.TrimPrefix(v.Name, modelScope+"/")
		ratio, med, lo, hi := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
		hasSize := true
		for i, t := range h.Telemetry {
			ratio[i] = math.NaN()
			if j < len(t.Vars) {
				ratio[i] = positiveOrNaN(t.Vars[j].Ratio)
				if s := t.Vars[j].StepSize; s != nil {
					med[i], lo[i], hi[i] = s.Median, s.P10, s.P90
					continue
				}
			}
			hasSize = false
		}
		ratios = append(ratios, plots.Series{Name: name, X: steps, Y: ratio})
		if hasSize {
			sizes = append(sizes, plots.Series{Name: name, X: steps, Y: med, Lo: lo, Hi: hi})
		}
	}
	if f, err = plots.Lines(plots.Axes{Title: "Update / weight norm per variable", XLabel: "step", YLabel: "‖Δp‖ / ‖p‖", LogY: true}, ratios...); err != nil {
		return nil, err
	}
	figs = append(figs, f)
	if len(sizes) > 0 {
		if f, err = plots.Lines(plots.Axes{Title: "Effective step size η/(√v̂+ε): median, 10–90%", XLabel: "step", YLabel: "step size", LogY: true}, sizes...); err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	return plots.Panels(2, figs...)
}

func positiveOrNaN(x float64) float64 {
	if x > 0 {
		return x
	}
	return math.NaN()
}
