package landscape

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

	"optlab.dev/optlab"
	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/plots"
)

// Config describes a landscape experiment: several optimizers started
// from one point of a 2-D test function (see functions.Get).
type Config struct {
	// Function is a test function name, e.g. "rosenbrock" or
	// "ill-conditioned(kappa=100,angle=30)".
	Function string
	// Optimizers are the parsed optimizers with their labels (see
	// optlab.ParseSpecs); empty means the function's defaults (Defaults).
	Optimizers []optlab.Spec
	// Steps is the number of updates per optimizer; 0 means the default.
	Steps int
	// Start is the start point (x, y); nil means the function's default.
	Start []float64
	// Tolerance defines "converged": the first step whose loss is within
	// Tolerance of the global minimum value (default 1e-2). For functions
	// without a minimum (the saddles) it counts the steps until the loss falls
	// 1 below the saddle's value instead ("escaped").
	Tolerance float64
	// DType is the float type of the parameters (default float64).
	DType dtypes.DType
}

// Outcome is one optimizer's outcome on a landscape.
type Outcome struct {
	// Spec is the optimizer's label (the spec as given); Trace.Optimizer holds the
	// canonical form with every hyperparameter.
	Spec  string
	Trace *Trajectory
	// Final is the last finite point and Loss the objective there.
	Final [2]float64
	Loss  float64
	// StepsToTol is the first step meeting the tolerance, or −1 if none did.
	StepsToTol int
	// DistToMin is the distance from Final to the nearest global minimum
	// (NaN for functions without one).
	DistToMin float64
	// Diverged holds Trace's message when the parameters or the loss stopped
	// being finite; the trajectory then ends at the last finite step.
	Diverged string
}

// Result is the record of a landscape experiment.
type Result struct {
	Function  functions.TestFunction
	Start     [2]float64
	Steps     int
	Tolerance float64
	// Target is the loss that counts as converged (or escaped, for saddles).
	Target float64
	Runs   []Outcome
}

// landscapeDefault holds the default optimizers and step count of one
// function, chosen so that the default figure separates the methods: every
// trajectory stays readable (no method explodes off the window unless that is
// the point), and their end points differ.
type landscapeDefault struct {
	steps int
	specs []string
}

// landscapeDefaults returns the default experiment of every test function.
// The learning rates are those of PyTorch's update rules (momentum 0.9,
// RMSprop ρ = 0.99, Adam β = (0.9, 0.999)), chosen per function.
func landscapeDefaults() map[string]landscapeDefault {
	six := func(steps int, sgd, mom, adagrad, rmsprop, adam string) landscapeDefault {
		return landscapeDefault{steps: steps, specs: []string{
			"sgd(lr=" + sgd + ")", "momentum(lr=" + mom + ")", "nesterov(lr=" + mom + ")",
			"adagrad(lr=" + adagrad + ")", "rmsprop(lr=" + rmsprop + ")", "adam(lr=" + adam + ")"}}
	}
	return map[string]landscapeDefault{
		// SGD zigzags across the valley then crawls; momentum and Nesterov
		// follow the valley; Adagrad's step shrinks until it stalls; Adam gets
		// closest. SGD's rate is near its stability limit (2/λmax ≈ 1e-3 at the
		// start); Nesterov diverges at 1e-3, so both momentum methods use 5e-4.
		"rosenbrock":      six(500, "1e-3", "5e-4", "0.5", "0.01", "0.1"),
		"beale":           six(500, "1e-3", "2e-4", "0.5", "0.01", "0.05"),
		"booth":           six(100, "0.05", "0.01", "2", "0.2", "0.5"),
		"ill-conditioned": six(150, "0.09", "0.02", "1", "0.05", "0.2"),
		"himmelblau":      six(300, "0.01", "2e-3", "0.5", "0.05", "0.1"),
		"six-hump-camel":  six(300, "0.02", "5e-3", "0.3", "0.02", "0.05"),
		"rastrigin":       six(300, "2e-3", "1e-3", "0.5", "0.05", "0.1"),
		"saddle":          six(100, "0.05", "0.01", "0.1", "0.01", "0.05"),
		"monkey-saddle":   six(60, "0.05", "0.01", "0.1", "0.01", "0.02"),
		"plateau":         six(300, "0.5", "0.5", "0.5", "0.05", "0.1"),
	}
}

// Defaults returns the default optimizer specs and number of steps
// for a test function (parameters in the name, as in "ill-conditioned(kappa=50)",
// are ignored for the lookup).
func Defaults(function string) (specs []string, steps int, err error) {
	base, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(function)), "(")
	d, ok := landscapeDefaults()[strings.TrimSpace(base)]
	if !ok {
		return nil, 0, fmt.Errorf("landscape: unknown test function %q (known: %s)", function, strings.Join(functions.Names(), ", "))
	}
	return append([]string(nil), d.specs...), d.steps, nil
}

// Run traces every optimizer of cfg on its test function with Trace,
// from the same start point, and measures where each one ends.
func Run(backend compute.Backend, cfg Config) (*Result, error) {
	f, err := functions.Get(cfg.Function)
	if err != nil {
		return nil, fmt.Errorf("landscape: %w", err)
	}
	defaults, steps, err := Defaults(cfg.Function)
	if err != nil {
		return nil, err
	}
	specs := cfg.Optimizers
	if len(specs) == 0 {
		if specs, err = optlab.ParseSpecs(defaults...); err != nil {
			return nil, fmt.Errorf("landscape: %w", err)
		}
	}
	for i, s := range specs {
		if s.Optimizer == nil {
			return nil, fmt.Errorf("landscape: optimizer %d (%q) is nil", i+1, s.Label)
		}
	}
	if cfg.Steps < 0 {
		return nil, fmt.Errorf("landscape: steps=%d must be >= 0", cfg.Steps)
	}
	if cfg.Steps > 0 {
		steps = cfg.Steps
	}
	start := f.Start
	if cfg.Start != nil {
		if len(cfg.Start) != 2 {
			return nil, fmt.Errorf("landscape: start point needs 2 coordinates, got %d", len(cfg.Start))
		}
		for i, v := range cfg.Start {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("landscape: start[%d] = %g is not finite", i, v)
			}
		}
		start = [2]float64{cfg.Start[0], cfg.Start[1]}
	}
	tol := cfg.Tolerance
	if tol == 0 {
		tol = 1e-2
	}
	if !(tol > 0) || math.IsInf(tol, 0) {
		return nil, fmt.Errorf("landscape: tolerance %g must be a positive number", tol)
	}
	dtype := cfg.DType
	if dtype == dtypes.InvalidDType {
		dtype = dtypes.Float64
	}
	res := &Result{Function: f, Start: start, Steps: steps, Tolerance: tol}
	if len(f.Minima) > 0 {
		res.Target = f.MinValue + tol
	} else {
		res.Target = f.Eval(f.Saddles[0][0], f.Saddles[0][1]) - 1
	}
	for _, spec := range specs {
		tr, err := Trace(backend, spec.Optimizer, f.Graph, start[:], steps, dtype)
		run := Outcome{Spec: strings.TrimSpace(spec.Label), Trace: tr, StepsToTol: -1, DistToMin: math.NaN()}
		if err != nil {
			if tr == nil {
				return nil, fmt.Errorf("landscape %s: %w", f.Name, err)
			}
			run.Diverged = err.Error()
		}
		last := tr.Final()
		run.Final = [2]float64{last[0], last[1]}
		run.Loss = tr.Loss[len(tr.Loss)-1]
		for k, l := range tr.Loss {
			if l <= res.Target {
				run.StepsToTol = k
				break
			}
		}
		for _, m := range f.Minima {
			d := math.Hypot(run.Final[0]-m[0], run.Final[1]-m[1])
			if math.IsNaN(run.DistToMin) || d < run.DistToMin {
				run.DistToMin = d
			}
		}
		res.Runs = append(res.Runs, run)
	}
	return res, nil
}

// Landscape returns the plots description of the result's function (title,
// window, minima, contour scale), for figures that draw their own paths over
// it.
func (r *Result) Landscape() plots.Landscape {
	return ContourOf(r.Function, fmt.Sprintf("%s: %s, %d steps", r.Function.Name, r.Function.Formula, r.Steps))
}

// ContourOf returns f drawn over its default window, with its minima and
// saddles marked and its suggested contour levels, under the given title:
// the background of plots.Contour for paths that did not come from Run.
func ContourOf(f functions.TestFunction, title string) plots.Landscape {
	d := f.Domain
	return plots.Landscape{
		Title: title,
		F:     f.Eval,
		XMin:  d.XMin, XMax: d.XMax, YMin: d.YMin, YMax: d.YMax,
		Minima: f.Minima, Saddles: f.Saddles, LogScale: f.LogLevels, LinearLevels: f.LinearLevels,
	}
}

// trajectories converts the runs for plotting; each legend entry carries the
// final loss.
func (r *Result) trajectories() []plots.Path {
	out := make([]plots.Path, len(r.Runs))
	for i, run := range r.Runs {
		name := run.Spec
		if run.Diverged == "" && !math.IsNaN(run.Loss) && !math.IsInf(run.Loss, 0) {
			name += "  f=" + plots.FormatCell(run.Loss)
		}
		t := plots.Path{Name: name}
		for _, p := range run.Trace.Params {
			t.X = append(t.X, p[0])
			t.Y = append(t.Y, p[1])
		}
		if run.Diverged != "" {
			// Mark the divergence for the figure: the step after the last finite one.
			t.X = append(t.X, math.NaN())
			t.Y = append(t.Y, math.NaN())
		}
		out[i] = t
	}
	return out
}

// Figure draws the landscape with one trajectory per optimizer (see
// plots.Contour).
func (r *Result) Figure() (*plots.Figure, error) {
	return plots.Contour(r.Landscape(), r.trajectories()...)
}

// Animation draws the trajectories moving over the landscape as a GIF (see
// plots.Animate).
func (r *Result) Animation(opt plots.AnimOptions) (*plots.Animation, error) {
	return plots.Animate(r.Landscape(), r.trajectories(), opt)
}

// Table summarises the runs: final point, loss, distance to the nearest
// minimum and steps to reach the tolerance.
func (r *Result) Table() *plots.Table {
	target := fmt.Sprintf("steps to f ≤ %.3g", r.Target)
	if len(r.Function.Minima) == 0 {
		target = fmt.Sprintf("steps to escape (f ≤ %.3g)", r.Target)
	}
	t := plots.NewTable(fmt.Sprintf("%s from (%.4g, %.4g), %d steps", r.Function.Name, r.Start[0], r.Start[1], r.Steps),
		"optimizer", "final x", "final y", "loss", "dist. to min", target, "note")
	for _, run := range r.Runs {
		steps := "-"
		if run.StepsToTol >= 0 {
			steps = fmt.Sprint(run.StepsToTol)
		}
		dist := "-"
		if !math.IsNaN(run.DistToMin) {
			dist = plots.FormatCell(run.DistToMin)
		}
		note := ""
		if run.Diverged != "" {
			note = fmt.Sprintf("diverged after step %d", run.Trace.Steps())
		} else if d := r.Function.Domain; !d.Contains(run.Final[0], run.Final[1]) {
			note = "left the window"
		}
		_ = t.AddRow(run.Spec, plots.FormatCell(run.Final[0]), plots.FormatCell(run.Final[1]),
			plots.FormatCell(run.Loss), dist, steps, note)
	}
	if len(r.Function.Minima) > 0 {
		t.Note = fmt.Sprintf("global minimum f = %.6g at %v", r.Function.MinValue, r.Function.Minima)
	}
	return t
}
