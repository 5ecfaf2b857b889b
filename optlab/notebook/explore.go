package notebook

import (
	stdctx "context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/landscape"
	"optlab.dev/optlab/plots"
)

// ExplorerFunction is one test function an Explorer offers, with the range of
// its learning-rate slider and where the sliders start.
type ExplorerFunction struct {
	// Function is a test function name (functions.Get), e.g. "rosenbrock" or
	// "ill-conditioned(kappa=50)".
	Function string
	// LRMin and LRMax bound the learning-rate slider (log scale).
	LRMin, LRMax float64
	// LR and Momentum are the sliders' starting values (snapped to the grid).
	LR, Momentum float64
	// Steps is the number of updates drawn.
	Steps int
}

// DefaultExplorerFunctions are the functions of ExploreMomentum: the
// ill-conditioned quadratic (condition number 20), where the rates of
// gradient descent and momentum are known in closed form, and Rosenbrock's
// curved valley.
func DefaultExplorerFunctions() []ExplorerFunction {
	return []ExplorerFunction{
		{Function: "ill-conditioned", LRMin: 1e-3, LRMax: 1, LR: 0.05, Momentum: 0.5, Steps: 150},
		{Function: "rosenbrock", LRMin: 1e-5, LRMax: 1e-2, LR: 5e-4, Momentum: 0.9, Steps: 500},
	}
}

// ExplorerConfig configures an Explorer. The zero value is ExploreMomentum's.
type ExplorerConfig struct {
	// Functions to choose from (default DefaultExplorerFunctions).
	Functions []ExplorerFunction
	// Optimizer is the family whose learning rate and momentum the sliders
	// set: "momentum" (heavy ball, the default) or "nesterov". Momentum 0 is
	// plain gradient descent (sgd) for both.
	Optimizer string
	// PerDecade is the number of learning-rate slider positions per decade
	// (default 12).
	PerDecade int
	// ConnectTimeout bounds the wait for the browser to answer when the
	// widgets are created (default 20 s). Without a browser (a notebook
	// executed headless) Show then keeps the first figure as the output.
	ConnectTimeout time.Duration
	// Idle ends Show after this long without a change (default 15 min), so a
	// forgotten explorer does not hold the kernel for ever.
	Idle time.Duration
}

// Explorer draws one optimizer's path over a 2-D test function for a chosen
// learning rate and momentum: the figure of "Why Momentum Really Works"
// (Goh, 2017), with sliders in a running GoNB notebook (Show) and as a plain
// function of the sliders' positions for everything else (Render).
type Explorer struct {
	backend compute.Backend
	cfg     ExplorerConfig
	funcs   []functions.TestFunction
}

// ExplorerState is a position of the explorer's controls: the function's
// index and the two sliders' positions.
type ExplorerState struct {
	Function, LR, Momentum int
}

// momentumPositions is the number of momentum slider positions: 0 to 0.99 in
// steps of 0.01.
const momentumPositions = 100

// NewExplorer checks cfg and returns an explorer that runs the optimizers on
// backend.
func NewExplorer(backend compute.Backend, cfg ExplorerConfig) (*Explorer, error) {
	if backend == nil {
		return nil, fmt.Errorf("explorer: no backend")
	}
	if len(cfg.Functions) == 0 {
		cfg.Functions = DefaultExplorerFunctions()
	}
	if cfg.Optimizer == "" {
		cfg.Optimizer = "momentum"
	}
	if cfg.Optimizer != "momentum" && cfg.Optimizer != "nesterov" {
		return nil, fmt.Errorf("explorer: optimizer %q: want momentum or nesterov", cfg.Optimizer)
	}
	if cfg.PerDecade == 0 {
		cfg.PerDecade = 12
	}
	if cfg.PerDecade < 1 || cfg.PerDecade > 100 {
		return nil, fmt.Errorf("explorer: %d learning-rate positions per decade: want 1 to 100", cfg.PerDecade)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 20 * time.Second
	}
	if cfg.Idle == 0 {
		cfg.Idle = 15 * time.Minute
	}
	if cfg.ConnectTimeout < 0 || cfg.Idle < 0 {
		return nil, fmt.Errorf("explorer: negative timeout (connect %v, idle %v)", cfg.ConnectTimeout, cfg.Idle)
	}
	e := &Explorer{backend: backend, cfg: cfg}
	for i, f := range cfg.Functions {
		tf, err := functions.Get(f.Function)
		if err != nil {
			return nil, fmt.Errorf("explorer: function %d: %w", i+1, err)
		}
		switch {
		case !(f.LRMin > 0 && f.LRMin < f.LRMax) || math.IsInf(f.LRMax, 0):
			return nil, fmt.Errorf("explorer: %s: learning-rate range [%g, %g]: want 0 < min < max < ∞", f.Function, f.LRMin, f.LRMax)
		case math.Log10(f.LRMax/f.LRMin)*float64(cfg.PerDecade) > 1000:
			return nil, fmt.Errorf("explorer: %s: learning-rate range [%g, %g] spans too many decades for a slider", f.Function, f.LRMin, f.LRMax)
		case !(f.LR >= f.LRMin && f.LR <= f.LRMax):
			return nil, fmt.Errorf("explorer: %s: starting learning rate %g is outside [%g, %g]", f.Function, f.LR, f.LRMin, f.LRMax)
		case !(f.Momentum >= 0 && f.Momentum < 1):
			return nil, fmt.Errorf("explorer: %s: starting momentum %g: want 0 ≤ momentum < 1", f.Function, f.Momentum)
		case f.Steps < 1 || f.Steps > 100000:
			return nil, fmt.Errorf("explorer: %s: %d steps: want 1 to 100000", f.Function, f.Steps)
		}
		e.funcs = append(e.funcs, tf)
	}
	return e, nil
}

// Names returns the functions' names, in the order of the select box.
func (e *Explorer) Names() []string {
	out := make([]string, len(e.funcs))
	for i, f := range e.funcs {
		out[i] = f.Name
	}
	return out
}

// LRPositions returns the number of learning-rate slider positions (the
// slider runs from 0 to LRPositions−1). The slider spans each function's own
// range, log-spaced, with PerDecade positions per decade for the widest one.
func (e *Explorer) LRPositions() int {
	decades := 0.0
	for _, f := range e.cfg.Functions {
		decades = math.Max(decades, math.Log10(f.LRMax/f.LRMin))
	}
	return int(math.Round(decades*float64(e.cfg.PerDecade))) + 1
}

// Start returns the state the controls take when function i is chosen: its
// starting learning rate and momentum.
func (e *Explorer) Start(i int) ExplorerState {
	i = min(max(i, 0), len(e.funcs)-1)
	f := e.cfg.Functions[i]
	return ExplorerState{
		Function: i,
		LR:       int(math.Round(math.Log10(f.LR/f.LRMin) / math.Log10(f.LRMax/f.LRMin) * float64(e.LRPositions()-1))),
		Momentum: int(math.Round(f.Momentum * 100)),
	}
}

// Initial returns the state the controls start in: Start(0).
func (e *Explorer) Initial() ExplorerState { return e.Start(0) }

// clamp brings a state's positions into range.
func (e *Explorer) clamp(s ExplorerState) ExplorerState {
	s.Function = min(max(s.Function, 0), len(e.funcs)-1)
	s.LR = min(max(s.LR, 0), e.LRPositions()-1)
	s.Momentum = min(max(s.Momentum, 0), momentumPositions-1)
	return s
}

// Values returns the learning rate and momentum of a state (positions out
// of range are clamped): learning rates are log-spaced from the function's
// LRMin to its LRMax, rounded to three significant digits; momentum runs
// from 0 to 0.99 in steps of 0.01.
func (e *Explorer) Values(s ExplorerState) (lr, momentum float64) {
	s = e.clamp(s)
	f := e.cfg.Functions[s.Function]
	frac := 0.0
	if n := e.LRPositions(); n > 1 {
		frac = float64(s.LR) / float64(n-1)
	}
	lr = f.LRMin * math.Pow(f.LRMax/f.LRMin, frac)
	p := math.Pow(10, 2-math.Floor(math.Log10(lr)))
	return math.Round(lr*p) / p, float64(s.Momentum) / 100
}

// Spec returns the optimizer spec of a state, e.g. "momentum(lr=0.05,momentum=0.5)";
// momentum 0 is "sgd(lr=0.05)".
func (e *Explorer) Spec(s ExplorerState) string {
	lr, m := e.Values(s)
	if m == 0 {
		return fmt.Sprintf("sgd(lr=%g)", lr)
	}
	return fmt.Sprintf("%s(lr=%g,momentum=%g)", e.cfg.Optimizer, lr, m)
}

// View is what the explorer shows for one state.
type View struct {
	State ExplorerState
	Spec  string
	// Figure has the path over the contours and the loss against the step.
	Figure *plots.Figure
	// Text is a Markdown paragraph: where the path ended and, on a quadratic,
	// the predicted and measured rate of convergence.
	Text string
	// Outcome is landscape.Run's record of the path.
	Outcome landscape.Outcome
	// Rate is the predicted asymptotic rate per step (distance to the minimum
	// shrinks by this factor each step) on a quadratic, NaN elsewhere;
	// MeasuredRate is the rate the path showed (NaN when it cannot tell).
	Rate, MeasuredRate float64
}

// Render runs the optimizer of state s and draws it. It fails only on bad
// input or a backend error; a path that diverges is drawn up to its last
// finite step.
func (e *Explorer) Render(s ExplorerState) (*View, error) {
	s = e.clamp(s)
	f, tf := e.cfg.Functions[s.Function], e.funcs[s.Function]
	spec := e.Spec(s)
	specs, err := optlab.ParseSpecs(spec)
	if err != nil {
		return nil, fmt.Errorf("explorer: %w", err)
	}
	res, err := landscape.Run(e.backend, landscape.Config{Function: f.Function, Optimizers: specs, Steps: f.Steps})
	if err != nil {
		return nil, fmt.Errorf("explorer: %w", err)
	}
	run := res.Runs[0]
	v := &View{State: s, Spec: spec, Outcome: run, Rate: math.NaN(), MeasuredRate: run.Rate(tf)}
	lr, m := e.Values(s)
	if lo, hi, ok := landscape.Curvatures(tf); ok {
		if v.Rate, err = landscape.MomentumRate(e.cfg.Optimizer, lr, m, lo, hi); err != nil {
			return nil, fmt.Errorf("explorer: %w", err)
		}
	}
	if v.Figure, err = e.figure(res, v); err != nil {
		return nil, err
	}
	v.Text = e.text(res, v)
	return v, nil
}

// figure draws the contour panel and the loss panel side by side.
func (e *Explorer) figure(res *landscape.Result, v *View) (*plots.Figure, error) {
	// Short legend entries (legends have a limited width); the spec is the
	// loss panel's title.
	path := plots.Path{Name: "path"}
	for _, p := range v.Outcome.Trace.Params {
		path.X = append(path.X, p[0])
		path.Y = append(path.Y, p[1])
	}
	if v.Outcome.Diverged != "" {
		// Marks the divergence, as landscape's own figures do.
		path.X, path.Y = append(path.X, math.NaN()), append(path.Y, math.NaN())
	}
	contour, err := plots.Contour(res.Landscape(), path)
	if err != nil {
		return nil, fmt.Errorf("explorer: %w", err)
	}
	run := v.Outcome
	floor := res.Function.MinValue
	if math.IsNaN(floor) {
		floor = 0
	}
	steps := make([]float64, len(run.Trace.Loss))
	gap := make([]float64, len(run.Trace.Loss))
	for k, l := range run.Trace.Loss {
		steps[k] = float64(k)
		gap[k] = math.Max(l-floor, 1e-300) // a path that lands exactly on the minimum stays on the log axis
		if math.IsNaN(l) || math.IsInf(l, 0) {
			gap[k] = math.NaN()
		}
	}
	series := []plots.Series{{Name: "measured", X: steps, Y: gap}}
	if !math.IsNaN(v.Rate) && v.Rate < 1 && len(gap) > 0 && gap[0] > 0 {
		// The loss gap of a quadratic shrinks as the squared distance: ρ^(2k).
		pred := make([]float64, len(steps))
		for k := range pred {
			pred[k] = math.Max(gap[0]*math.Pow(v.Rate, 2*float64(k)), 1e-300)
		}
		series = append(series, plots.Series{Name: fmt.Sprintf("predicted ρ^(2k), ρ=%s", Sig(v.Rate, 3)), X: steps, Y: pred, Dashed: true})
	}
	curve, err := plots.Lines(plots.Axes{Title: v.Spec, XLabel: "step", YLabel: "f − min f (loss above the minimum)", LogY: true}, series...)
	if err != nil {
		return nil, fmt.Errorf("explorer: %w", err)
	}
	fig, err := plots.Panels(2, contour.Resize(6.5, 4.5), curve.Resize(6.5, 4.5))
	if err != nil {
		return nil, fmt.Errorf("explorer: %w", err)
	}
	return fig, nil
}

// text writes the paragraph under the figure.
func (e *Explorer) text(res *landscape.Result, v *View) string {
	run := v.Outcome
	var b strings.Builder
	fmt.Fprintf(&b, "**`%s`** on `%s`: ", v.Spec, res.Function.Name)
	switch {
	case run.Diverged != "":
		fmt.Fprintf(&b, "diverged after step %d.", run.Trace.Steps())
	case run.StepsToTol >= 0:
		fmt.Fprintf(&b, "f ≤ %g first at step %d; after %d steps f = %s.", res.Target, run.StepsToTol, res.Steps, Sig(run.Loss, 3))
	default:
		fmt.Fprintf(&b, "after %d steps f = %s, not yet within %g of the minimum.", res.Steps, Sig(run.Loss, 3), res.Tolerance)
	}
	if lo, hi, ok := landscape.Curvatures(res.Function); ok {
		fmt.Fprintf(&b, " On this quadratic (curvatures %.3g and %.3g) theory predicts the distance to the minimum shrinks by ρ = %s per step", lo, hi, Sig(v.Rate, 3))
		if v.Rate >= 1 {
			b.WriteString(" (ρ ≥ 1: no convergence)")
		}
		if !math.IsNaN(v.MeasuredRate) {
			fmt.Fprintf(&b, "; the path shows %s", Sig(v.MeasuredRate, 3))
		}
		bestLR, bestM, bestRate := landscape.OptimalHeavyBall(lo, hi)
		_, gdRate := landscape.OptimalGD(lo, hi)
		fmt.Fprintf(&b, ". The best heavy-ball setting here is `lr=%s, momentum=%s` (ρ = %s); the best without momentum gives ρ = %s.",
			Sig(bestLR, 3), Sig(bestM, 2), Sig(bestRate, 3), Sig(gdRate, 3))
	}
	return b.String()
}

// ExploreMomentum shows the default Explorer (heavy-ball momentum on the
// ill-conditioned quadratic and Rosenbrock) in a GoNB cell: see
// Explorer.Show.
func ExploreMomentum(backend compute.Backend) error {
	e, err := NewExplorer(backend, ExplorerConfig{})
	if err != nil {
		return err
	}
	return e.Show(stdctx.Background())
}
