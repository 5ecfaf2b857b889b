package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"

	"optlab.dev/internal/atomicfile"
	"optlab.dev/optlab"
	"optlab.dev/optlab/diagnostics"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/plots"
	"optlab.dev/optlab/runs"
)

// diagFlags are the flags the diagnostics commands share.
type diagFlags struct {
	model, optimizers, backend, out, split, data string
	batchSize, limit, accumulate                 int
	seed                                         int64
}

func (f *diagFlags) register(fs *flag.FlagSet, optimizersUsage, optimizersDefault string, limit, batch int) {
	fs.StringVar(&f.model, "model", "mlp-small", "model: "+strings.Join(models.ModelNames(), ", "))
	fs.StringVar(&f.optimizers, "optimizers", optimizersDefault, optimizersUsage)
	fs.IntVar(&f.batchSize, "batch-size", batch, "mini-batch size")
	fs.IntVar(&f.accumulate, "accumulate", 1, "micro-batches of --batch-size examples whose gradients make one update")
	fs.Int64Var(&f.seed, "seed", 1, "random seed (weights, shuffling, random directions)")
	fs.IntVar(&f.limit, "limit", limit, "use only the first N training examples (0: all) and N/6 validation/test examples")
	fs.StringVar(&f.backend, "backend", "", "GoMLX backend: go (pure Go, default), xla:cpu, xla:cuda (default $GOMLX_BACKEND or go)")
	fs.StringVar(&f.out, "out", "results", "directory for the CSV and the figure")
	fs.StringVar(&f.split, "split", "test", "validation data: test or holdout5k")
	fs.StringVar(&f.data, "data", "", "directory with the four MNIST .gz files (default: $OPTLAB_DATA, ./data/mnist, then the Go module cache)")
}

// validate checks the shared flags; epochs is the command's, or 1.
func (f *diagFlags) validate(epochs int) error {
	s := optlab.Settings{Model: f.model, Epochs: epochs, BatchSize: f.batchSize, Limit: f.limit, Split: f.split}
	if err := s.Validate(); err != nil {
		return settingError(err)
	}
	if f.accumulate < 1 {
		return usageError("--accumulate must be ≥ 1, got %d", f.accumulate)
	}
	if f.out == "" {
		return usageError("--out must not be empty")
	}
	return nil
}

// setup loads the backend and the data, printing what it uses.
func (f *diagFlags) setup(stdout io.Writer) (*optlab.Env, error) {
	rf := runFlags{backend: f.backend, split: f.split, data: f.data, limit: f.limit}
	return rf.setup(stdout)
}

// writeOutputs writes name.csv with csvFn and name.png with fig under dir and
// prints where; a figure that cannot be drawn is reported, not fatal.
func writeOutputs(stdout, stderr io.Writer, dir, name string, csvFn func(io.Writer) error, fig func() (*plots.Figure, error)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	csvPath := filepath.Join(dir, name+".csv")
	if err := atomicfile.Write(csvPath, csvFn); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "results: %s", csvPath)
	f, err := fig()
	if err == nil {
		png := filepath.Join(dir, name+".png")
		if err = f.Save(png); err == nil {
			fmt.Fprintf(stdout, ", %s", png)
		}
	}
	fmt.Fprintln(stdout)
	if err != nil {
		fmt.Fprintf(stderr, "optlab: figure %s.png not written: %v\n", name, err)
	}
	return nil
}

const lrfindSynopsis = `The learning-rate range test (Smith 2017): trains a fresh network for --steps
updates while the learning rate grows exponentially from --min-lr to --max-lr,
records each batch's loss, smooths it (EMA with bias correction over --smoothing
steps) and prints the steepest-descent, minimum and divergence points with the
rule used. Writes lrfind.csv and lrfind.png under --out.

Examples:
  optlab lrfind --optimizers 'sgd(momentum=0.9)'
  optlab lrfind --optimizers 'adam' --min-lr 1e-6 --max-lr 1 --steps 200 --limit 0`

func runLRFind(args []string, stdout, stderr io.Writer) error {
	var f diagFlags
	fs := newFlagSet("lrfind", lrfindSynopsis, stderr)
	f.register(fs, "one optimizer spec (its lr is replaced; no schedule)", "sgd(momentum=0.9)", 6000, 32)
	minLR := fs.Float64("min-lr", 1e-6, "first learning rate")
	maxLR := fs.Float64("max-lr", 10, "last learning rate")
	steps := fs.Int("steps", 100, "updates (≥ 5)")
	smoothing := fs.Int("smoothing", 10, "EMA horizon N in steps (β = 1 − 1/N; 1: no smoothing)")
	factor := fs.Float64("diverge-factor", 4, "stop when the smoothed loss exceeds this multiple of its minimum")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.validate(1); err != nil {
		return err
	}
	specs, err := parseSpecsAccumulating(f.optimizers, f.accumulate)
	if err != nil {
		return err
	}
	if len(specs) != 1 {
		return usageError("--optimizers: lrfind takes one optimizer, got %d", len(specs))
	}
	rc := diagnostics.RangeConfig{MinLR: *minLR, MaxLR: *maxLR, Steps: *steps, Smoothing: *smoothing, DivergeFactor: *factor}
	if err := rc.Validate(); err != nil {
		return usageError("%v", strings.TrimPrefix(err.Error(), "lr range: "))
	}
	env, err := f.setup(stdout)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	fmt.Fprintf(stdout, "\n== lrfind · %s · %s · %d steps from lr %g to %g\n", f.model, specs[0].Label, *steps, *minLR, *maxLR)
	r, runErr := diagnostics.LRFind(ctx, env.Backend, env.Data.Train, diagnostics.LRFindConfig{
		RangeConfig: rc, Model: f.model, Seed: f.seed, Optimizer: specs[0].Optimizer,
		BatchSize: f.batchSize, Accumulate: f.accumulate})
	if r == nil {
		return runErr
	}
	r.Label = f.model + " · " + specs[0].Label
	fmt.Fprint(stdout, r.Summary())
	if err := writeOutputs(stdout, stderr, f.out, "lrfind", r.WriteCSV, r.Figure); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

const sharpnessSynopsis = `Tracks the sharpness (the top eigenvalue of the Hessian of the training loss,
by Lanczos iteration on Hessian-vector products) while a fresh network trains,
once per optimizer: before the first update and every --every updates, on the
first --examples training examples. The defaults run full-batch gradient descent
on 1,000 images, where the sharpness rises towards 2/η and hovers there (the
"edge of stability", Cohen et al. 2021); the figure draws 2/η beside each run.
Writes sharpness.csv (the series), sharpness.png and sharpness_runs.csv/.json
(the training histories) under --out.

Examples:
  optlab sharpness
  optlab sharpness --optimizers 'sgd(lr=0.05); sgd(lr=0.2)' --epochs 300
  optlab sharpness --optimizers 'sgd(lr=0.1,momentum=0.9); adam(lr=1e-3)' --limit 6000 --batch-size 32 --epochs 2 --every 50`

func runSharpness(args []string, stdout, stderr io.Writer) error {
	var f diagFlags
	fs := newFlagSet("sharpness", sharpnessSynopsis, stderr)
	f.register(fs, "optimizer specs separated by ';'", "sgd(lr=0.2)", 1000, 1000)
	epochs := fs.Int("epochs", 100, "epochs per run")
	every := fs.Int("every", 10, "updates between measurements")
	examples := fs.Int("examples", 1000, "training examples the loss is measured on")
	iters := fs.Int("iters", 20, "Hessian-vector products per measurement, at most")
	tol := fs.Float64("tol", 1e-3, "relative residual at which a measurement stops")
	trace := fs.Int("trace-samples", 0, "also estimate the Hessian's trace with this many Hutchinson samples")
	method := fs.String("method", "auto", "Hessian-vector products: auto, exact or finite-difference")
	telemetry := fs.Int("telemetry", 0, "also record the optimizer's telemetry every N updates (0: off)")
	quiet := fs.Bool("quiet", false, "no per-epoch lines")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.validate(*epochs); err != nil {
		return err
	}
	m, err := diagnostics.ParseHVPMethod(*method)
	if err != nil {
		return usageError("--method: %v", err)
	}
	switch {
	case *every < 1:
		return usageError("--every must be ≥ 1, got %d", *every)
	case *examples < 1:
		return usageError("--examples must be ≥ 1, got %d", *examples)
	case *iters < 1:
		return usageError("--iters must be ≥ 1, got %d", *iters)
	case !(*tol > 0):
		return usageError("--tol must be > 0, got %g", *tol)
	case *trace < 0:
		return usageError("--trace-samples must be ≥ 0, got %d", *trace)
	case *telemetry < 0:
		return usageError("--telemetry must be ≥ 0, got %d", *telemetry)
	}
	specs, err := parseSpecsAccumulating(f.optimizers, f.accumulate)
	if err != nil {
		return err
	}
	env, err := f.setup(stdout)
	if err != nil {
		return err
	}
	if *examples > env.Data.Train.Len() {
		return usageError("--examples %d exceeds the %d training examples (raise --limit)", *examples, env.Data.Train.Len())
	}
	ctx, stop := interruptible()
	defer stop()
	base := optlab.Config{Model: f.model, Epochs: *epochs, BatchSize: f.batchSize, Seed: f.seed, Accumulate: f.accumulate, Telemetry: *telemetry}
	if !*quiet {
		base.OnEpoch = func(h *optlab.History) {
			if e := h.Last(); e.Epoch == 1 || e.Epoch == *epochs || e.Epoch%max(1, *epochs/10) == 0 {
				fmt.Fprintln(stdout, runs.FormatEpoch(e, *epochs))
			}
		}
	}
	fmt.Fprintf(stdout, "\n== sharpness · %s · every %d updates on %d examples\n", f.model, *every, *examples)
	hs, runErr := diagnostics.TrackSharpness(ctx, env.Backend, env.Data, base, specs, *every, diagnostics.SharpnessConfig{
		Hessian: diagnostics.HessianConfig{Examples: *examples, Method: m},
		Eigen:   diagnostics.EigenConfig{MaxIters: *iters, Tol: *tol, Seed: f.seed}, TraceSamples: *trace})
	if len(hs) == 0 {
		return runErr
	}
	t := plots.NewTable("Sharpness (λ_max of the training loss)", "run", "2/η", "at start", "max", "at end", "measurements")
	for _, h := range hs {
		s := h.Probe("sharpness")
		if s == nil || len(s.Values) == 0 {
			continue
		}
		hi := s.Values[0]
		for _, v := range s.Values {
			hi = max(hi, v)
		}
		limit := "-"
		if len(h.Epochs) > 0 && h.Epochs[0].LR > 0 {
			limit = fmt.Sprintf("%.4g", 2/h.Epochs[0].LR)
		}
		if err := t.AddRow(h.Name(), limit, s.Values[0], hi, s.Values[len(s.Values)-1], len(s.Values)); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "\n%s", t.String())
	if _, _, err := runs.SaveResults(f.out, "sharpness_runs", hs); err != nil {
		return errors.Join(runErr, err)
	}
	err = writeOutputs(stdout, stderr, f.out, "sharpness", func(w io.Writer) error { return diagnostics.WriteProbesCSV(w, hs...) },
		func() (*plots.Figure, error) { return diagnostics.SharpnessFigure(hs...) })
	if err == nil && *telemetry > 0 {
		for i, h := range hs {
			name := fmt.Sprintf("sharpness_telemetry_%d", i+1)
			if err = writeOutputs(stdout, stderr, f.out, name, func(w io.Writer) error { return diagnostics.WriteTelemetryCSV(w, h) },
				func() (*plots.Figure, error) { return diagnostics.TelemetryFigure(h) }); err != nil {
				break
			}
		}
	}
	return errors.Join(runErr, err)
}

const sliceSynopsis = `Trains a network and measures its loss on a slice of weight space (Li et al.
2018): --mode random, a plane through the solution spanned by two filter-normalised
random directions (biases and batch-norm parameters left out, as the paper does,
unless --biases normalize); --mode pca, the plane of the training trajectory's top
two principal directions, with the trajectory drawn on it; --mode line, the segment
between two optimizers' solutions (trained from the same initial weights), or,
with one optimizer, from the initial to the final weights, extended by --range on
both sides. Writes slice.csv (and slice_path.csv for pca) and slice.png under --out.

Examples:
  optlab slice
  optlab slice --mode line --optimizers 'sgd(lr=0.1); adam(lr=1e-3)' --epochs 3
  optlab slice --mode pca --optimizers 'sgd(lr=0.1,momentum=0.9)' --points 31`

func runSlice(args []string, stdout, stderr io.Writer) error {
	var f diagFlags
	fs := newFlagSet("slice", sliceSynopsis, stderr)
	f.register(fs, "optimizer spec(s) separated by ';' (line: one or two; random, pca: one)", "adam(lr=1e-3)", 6000, 32)
	mode := fs.String("mode", "random", "random, pca or line")
	epochs := fs.Int("epochs", 1, "epochs of training before slicing")
	points := fs.Int("points", 0, "grid points per axis (0: 21 on a plane, 25 on a line)")
	rng := fs.Float64("range", 0, "plane: α, β ∈ [−range, range] (0: 1); line: t ∈ [−range, 1 + range] (0: 0.5)")
	examples := fs.Int("examples", 1000, "examples the loss is measured on at each point")
	biases := fs.String("biases", "zero", "random directions in biases and batch-norm parameters: zero (Li et al.) or normalize")
	snapshots := fs.Int("snapshots", 40, "pca: weight snapshots to take over training")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.validate(*epochs); err != nil {
		return err
	}
	specs, err := parseSpecsAccumulating(f.optimizers, f.accumulate)
	if err != nil {
		return err
	}
	var b diagnostics.Biases
	switch *biases {
	case "zero":
		b = diagnostics.ZeroBiases
	case "normalize":
		b = diagnostics.NormalizeBiases
	default:
		return usageError("--biases: %q is not zero or normalize", *biases)
	}
	if *examples < 1 {
		return usageError("--examples must be ≥ 1, got %d", *examples)
	}
	if *snapshots < 3 {
		return usageError("--snapshots must be ≥ 3, got %d", *snapshots)
	}
	run := diagnostics.SliceRun{Mode: *mode, Optimizers: specs, Snapshots: *snapshots,
		Train: optlab.Config{Model: f.model, Epochs: *epochs, BatchSize: f.batchSize, Seed: f.seed, Accumulate: f.accumulate},
		Slice: diagnostics.SliceConfig{Examples: *examples, Points: *points, Range: *rng, Seed: f.seed, Biases: b}}
	// Check the mode, the optimizers and the grid before loading anything.
	if err := run.Check(); err != nil {
		return usageError("%v", strings.TrimPrefix(err.Error(), "slice: "))
	}
	env, err := f.setup(stdout)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	fmt.Fprintf(stdout, "\n== slice (%s) · %s · %s\n", *mode, f.model, f.optimizers)
	res, runErr := diagnostics.RunSlice(ctx, env.Backend, env.Data, run)
	if res == nil {
		return runErr
	}
	for _, h := range res.Histories {
		if h.Err == "" {
			fmt.Fprintf(stdout, "trained %s: %d steps, test_accuracy %.4f\n", h.Name(), h.Last().Steps, h.TestAccuracy)
		}
	}
	var outErr error
	switch {
	case res.Line != nil && len(res.Line.T) > 0:
		l := res.Line
		i0, i1 := nearest(l.T, 0), nearest(l.T, 1)
		fmt.Fprintf(stdout, "loss at %s %.4f, at %s %.4f, highest between them %.4f (%d examples)\n",
			l.FromName, l.Loss[i0], l.ToName, l.Loss[i1], maxBetween(l.Loss, i0, i1), l.Examples)
		outErr = writeOutputs(stdout, stderr, f.out, "slice", l.WriteCSV, l.Figure)
	case res.Plane != nil && res.Plane.Loss != nil:
		p := res.Plane
		c, r := nearest(p.X, 0), nearest(p.Y, 0)
		fmt.Fprintf(stdout, "loss at the solution %.4f; grid %d × %d, loss from %.4f to %.4f (%d examples)\n",
			p.Loss[r][c], len(p.X), len(p.Y), minGrid(p.Loss), maxGrid(p.Loss), p.Examples)
		outErr = writeOutputs(stdout, stderr, f.out, "slice", p.WriteCSV, p.Figure)
		if p.Kind == "pca" && outErr == nil {
			fmt.Fprintf(stdout, "principal directions explain %.1f%% and %.1f%% of the trajectory's variance\n", 100*p.Explained[0], 100*p.Explained[1])
			path := filepath.Join(f.out, "slice_path.csv")
			if outErr = atomicfile.Write(path, p.WritePathCSV); outErr == nil {
				fmt.Fprintf(stdout, "trajectory: %s\n", path)
			}
		}
	}
	return errors.Join(runErr, outErr)
}

func nearest(xs []float64, x float64) int {
	best := 0
	for i := range xs {
		if abs(xs[i]-x) < abs(xs[best]-x) {
			best = i
		}
	}
	return best
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

func maxBetween(xs []float64, i, j int) float64 {
	m := xs[i]
	for k := min(i, j); k <= max(i, j); k++ {
		m = max(m, xs[k])
	}
	return m
}

// minGrid and maxGrid skip values that are not finite (a point where the loss overflowed).
func minGrid(z [][]float64) float64 {
	m := math.Inf(1)
	for _, row := range z {
		for _, v := range row {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				m = min(m, v)
			}
		}
	}
	return m
}

func maxGrid(z [][]float64) float64 {
	m := math.Inf(-1)
	for _, row := range z {
		for _, v := range row {
			if !math.IsNaN(v) && !math.IsInf(v, 0) {
				m = max(m, v)
			}
		}
	}
	return m
}
