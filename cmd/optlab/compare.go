package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/dustin/go-humanize"

	"optlab.dev/internal/lists"
	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/diagnostics"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/plots"
	"optlab.dev/optlab/runs"
)

// defaultOptimizers are the walkthrough's Q8 settings (answer B: SGD lr 0.01
// without momentum, Adam and RMSprop with lr 0.001 and Keras' conventions
// otherwise: ε = 1e-7, RMSprop's ρ = 0.9).
const defaultOptimizers = "sgd(lr=0.01); adam(lr=0.001,keras=true); rmsprop(lr=0.001,keras=true)"

// runFlags are the flags shared by compare and train.
type runFlags struct {
	model, optimizers, backend, out, split, data, nonFinite, protocol, seeds string
	epochs, batchSize, limit, plateauPatience, accumulate, telemetry         int
	plateauFactor                                                            float64
	seed                                                                     int64
	quiet                                                                    bool
}

func (f *runFlags) register(fs *flag.FlagSet, optimizersUsage, optimizersDefault string) {
	fs.StringVar(&f.model, "model", "mlp-small", "model: "+strings.Join(models.ModelNames(), ", "))
	fs.StringVar(&f.optimizers, "optimizers", optimizersDefault, optimizersUsage)
	fs.IntVar(&f.epochs, "epochs", 5, "epochs per run")
	fs.IntVar(&f.batchSize, "batch-size", 32, "mini-batch size")
	fs.Int64Var(&f.seed, "seed", 1, "random seed (weights, shuffling, dropout)")
	fs.IntVar(&f.limit, "limit", 0, "use only the first N training examples (0: all) and N/6 validation/test examples, for quick runs")
	fs.StringVar(&f.backend, "backend", "", "GoMLX backend: go (pure Go, default), xla:cpu, xla:cuda (default $GOMLX_BACKEND or go)")
	fs.StringVar(&f.out, "out", "results", "directory for the CSV, JSON and figures")
	fs.StringVar(&f.split, "split", "test", "validation data: test (train on 60,000, validate on the 10,000 test images, answer B) or holdout5k (hold out the first 5,000 training images, answer A)")
	fs.StringVar(&f.data, "data", "", "directory with the four MNIST .gz files (default: $OPTLAB_DATA, ./data/mnist, then the GoMNIST module in the Go module cache)")
	fs.StringVar(&f.nonFinite, "non-finite", "stop", "what to do when the loss is NaN or infinite: stop (error naming the step) or skip (leave the weights unchanged for that step)")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	fs.Float64Var(&f.plateauFactor, "plateau-factor", 0, "reduce-on-plateau: multiply the learning rate by this factor in (0,1) when the validation loss has not improved for --plateau-patience epochs (0: off)")
	fs.IntVar(&f.plateauPatience, "plateau-patience", 2, "reduce-on-plateau: epochs without improvement before the learning rate is reduced")
	fs.IntVar(&f.accumulate, "accumulate", 1, "micro-batches of --batch-size examples whose gradients make one update (gradient accumulation)")
	fs.IntVar(&f.telemetry, "telemetry", 0, "record the learning rate applied, gradient and update norms and adaptive step sizes every N updates (0: off)")
}

// validate checks the flags that can be checked without loading anything.
func (f *runFlags) validate() error {
	s := optlab.Settings{Model: f.model, Epochs: f.epochs, BatchSize: f.batchSize, Limit: f.limit, Split: f.split,
		NonFinite: optlab.NonFinitePolicy(f.nonFinite), Plateau: f.plateau()}
	if err := s.Validate(); err != nil {
		return settingError(err)
	}
	if f.out == "" {
		return usageError("--out must not be empty")
	}
	if f.accumulate < 1 {
		return usageError("--accumulate must be ≥ 1, got %d", f.accumulate)
	}
	if f.telemetry < 0 {
		return usageError("--telemetry must be ≥ 0, got %d", f.telemetry)
	}
	if err := optlab.CheckMemory(f.batchSize, 1); err != nil {
		return usageError("--batch-size: %v", err)
	}
	return nil
}

// settingError turns the error of a run setting into a usage error that
// names its flag: "--epochs must be ≥ 1, got 0", "--split: unknown split ...".
func settingError(err error) error {
	var se *optlab.SettingError
	if !errors.As(err, &se) {
		return usageError("%v", err)
	}
	flag := "--" + strings.ReplaceAll(se.Key, "_", "-")
	if se.Key == "plateau" {
		flag = "--plateau-factor/--plateau-patience"
	}
	if se.Predicate {
		return usageError("%s %s", flag, se.Problem)
	}
	return usageError("%s: %s", flag, se.Problem)
}

// plateau returns the reduce-on-plateau setting, nil when off.
func (f *runFlags) plateau() *optlab.Plateau {
	if f.plateauFactor == 0 {
		return nil
	}
	return &optlab.Plateau{Factor: f.plateauFactor, Patience: f.plateauPatience}
}

// parseSpecs parses a ';'-separated list of optimizer specs, each once.
func parseSpecs(list string) ([]optlab.Spec, error) {
	specs, err := optlab.ParseSpecs(lists.Split(list, ";")...)
	if err != nil {
		return nil, usageError("--optimizers: %v", err)
	}
	if len(specs) == 0 {
		return nil, usageError("--optimizers: no optimizer given")
	}
	return specs, nil
}

// parseSpecsAccumulating is parseSpecs for runs of accumulate micro-batches
// per update, which every optimizer must allow (sam does not).
func parseSpecsAccumulating(list string, accumulate int) ([]optlab.Spec, error) {
	specs, err := parseSpecs(list)
	if err != nil {
		return nil, err
	}
	for _, s := range specs {
		if err := optlab.CheckAccumulate(s.Optimizer, accumulate); err != nil {
			return nil, usageError("--%v", err)
		}
	}
	return specs, nil
}

// parseSeeds reads "1,2,3" or "1-5".
func parseSeeds(s string) ([]int64, error) {
	seeds, err := lists.Seeds(s)
	if err != nil {
		return nil, usageError("--seeds: %v", err)
	}
	return seeds, nil
}

// setup checks that --out can be written, then loads the backend and the
// data, printing what it uses.
func (f *runFlags) setup(stdout io.Writer) (*optlab.Env, error) {
	if err := checkWritableDir("--out", f.out); err != nil {
		return nil, err
	}
	split, _ := datasets.ParseSplit(f.split)
	backend, err := optlab.NewBackend(f.backend)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "backend: %s\n", optlab.DescribeBackend(backend))
	data, err := optlab.LoadData(f.data, split, f.limit)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "data: MNIST, %s\n", data)
	return &optlab.Env{Backend: backend, Data: data}, nil
}

func (f *runFlags) config(stderr io.Writer) optlab.Config {
	cfg := optlab.Config{
		Model: f.model, Epochs: f.epochs, BatchSize: f.batchSize, Seed: f.seed,
		NonFinite: optlab.NonFinitePolicy(f.nonFinite), Plateau: f.plateau(),
		Accumulate: f.accumulate, Telemetry: f.telemetry,
	}
	if !f.quiet && isTerminal(stderr) {
		cfg.Progress = stderr
	}
	return cfg
}

func isTerminal(w io.Writer) bool {
	file, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := file.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// interruptible returns a context cancelled by SIGINT or SIGTERM.
func interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func runCompare(args []string, stdout, stderr io.Writer) error {
	var f runFlags
	fs := newFlagSet("compare", "Train a fresh model with each optimizer (the walkthrough's Q8 experiment by default: the\n784-128-64-10 MLP, 5 epochs, batch 32) and compare them. Prints Keras-like per-epoch lines and a\nfinal table; writes compare.csv, compare.json and compare.png under --out.", stderr)
	f.register(fs, "optimizer specs separated by ';', e.g. 'sgd(lr=0.01,momentum=0.9); adam(lr=1e-3)'", defaultOptimizers)
	fs.StringVar(&f.seeds, "seeds", "", "several seeds, '1,2,3' or '1-3' (overrides --seed): one run per optimizer and seed")
	fs.StringVar(&f.protocol, "protocol", "fresh", "fresh (a new model per optimizer) or sequential (one model trained by each optimizer in turn, as the walkthrough's answer B did)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	specs, err := parseSpecsAccumulating(f.optimizers, f.accumulate)
	if err != nil {
		return err
	}
	seeds, err := parseSeeds(f.seeds)
	if err != nil {
		return err
	}
	proto, err := optlab.ParseProtocol(f.protocol)
	if err != nil {
		return usageError("--protocol: %v", err)
	}
	env, err := f.setup(stdout)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()

	var done []*optlab.History
	save := func() error {
		csvPath, jsonPath, err := runs.SaveResults(f.out, "compare", done)
		if err != nil {
			return err
		}
		figPath, ferr := runs.SaveCurves(done, f.out, "compare")
		fmt.Fprintf(stdout, "results: %s, %s", csvPath, jsonPath)
		if ferr == nil && figPath != "" {
			fmt.Fprintf(stdout, ", %s", figPath)
		}
		fmt.Fprintln(stdout)
		if ferr != nil {
			fmt.Fprintf(stderr, "optlab compare: figure not written: %v\n", ferr)
		}
		return nil
	}
	cc := optlab.CompareConfig{
		Base: f.config(stderr), Optimizers: specs, Seeds: seeds, Protocol: proto,
		OnRunStart: func(label string, seed int64) {
			fmt.Fprintf(stdout, "\n== %s · %s · seed %d · %s protocol\n", f.model, label, seed, proto)
		},
		OnRunEnd: func(h *optlab.History, err error) {
			if h == nil {
				return
			}
			if h.Err == "" {
				fmt.Fprintf(stdout, "test_loss: %.4f - test_accuracy: %.4f - state: %s - %.1fs\n",
					h.TestLoss, h.TestAccuracy, humanize.IBytes(uint64(h.StateBytes)), h.Elapsed.Seconds())
			} else {
				fmt.Fprintf(stdout, "stopped: %s\n", h.Err)
			}
		},
	}
	cc.Base.OnEpoch = func(h *optlab.History) {
		fmt.Fprintln(stdout, runs.FormatEpoch(h.Last(), f.epochs))
	}
	start := time.Now()
	hs, runErr := optlab.Compare(ctx, env.Backend, env.Data, cc)
	done = hs
	if len(done) > 0 {
		fmt.Fprintf(stdout, "\n%s", runs.SummaryTable(optlab.Summarize(done)).String())
		if err := save(); err != nil {
			return errors.Join(runErr, err)
		}
	}
	fmt.Fprintf(stdout, "total time: %s\n", time.Since(start).Round(time.Second))
	return runErr
}

func runTrain(args []string, stdout, stderr io.Writer) error {
	var f runFlags
	fs := newFlagSet("train", "Train one model with one optimizer and report its Keras-like history; writes train.csv,\ntrain.json and train.png under --out.", stderr)
	f.register(fs, "one optimizer spec, e.g. 'adam(lr=1e-3,b1=0.9,b2=0.999)'", "adam(lr=0.001)")
	trial := fs.String("trial", "", "run the trial described by this JSON file (from 'optlab sweep --export-trials') and append it to --store")
	store := fs.String("store", "results/sweep.db", "with --trial: the results store (SQLite) to add the trial to")
	var ck ckptFlags
	ck.register(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if err := ck.validate(); err != nil {
		return err
	}
	if *trial != "" {
		return runTrialFile(fs, &f, &ck, *trial, *store, stdout, stderr)
	}
	label, err := ck.resolve(fs, &f, stdout)
	if err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	specs, err := parseSpecsAccumulating(f.optimizers, f.accumulate)
	if err != nil {
		return err
	}
	if label != "" {
		specs[0].Label = label
	}
	if len(specs) != 1 {
		return usageError("--optimizers: train takes one optimizer, got %d (use compare for several)", len(specs))
	}
	env, err := f.setup(stdout)
	if err != nil {
		return err
	}
	ctx, stop := interruptible()
	defer stop()
	cfg := f.config(stderr)
	cfg.Optimizer, cfg.Label = specs[0].Optimizer, specs[0].Label
	ck.apply(&cfg)
	cfg.OnEpoch = func(h *optlab.History) { fmt.Fprintln(stdout, runs.FormatEpoch(h.Last(), f.epochs)) }
	fmt.Fprintf(stdout, "\n== %s · %s · seed %d\n", f.model, specs[0].Label, f.seed)
	h, runErr := optlab.Train(ctx, env.Backend, env.Data, cfg)
	if h == nil {
		return runErr
	}
	if runErr == nil {
		fmt.Fprintf(stdout, "test_loss: %.4f - test_accuracy: %.4f - params: %d - optimizer state: %s\n",
			h.TestLoss, h.TestAccuracy, h.Params, humanize.IBytes(uint64(h.StateBytes)))
	}
	csvPath, jsonPath, err := runs.SaveResults(f.out, "train", []*optlab.History{h})
	if err != nil {
		return errors.Join(runErr, err)
	}
	fmt.Fprintf(stdout, "results: %s, %s\n", csvPath, jsonPath)
	if figPath, err := runs.SaveCurves([]*optlab.History{h}, f.out, "train"); err == nil && figPath != "" {
		fmt.Fprintf(stdout, "figure: %s\n", figPath)
	}
	if len(h.Telemetry) > 0 {
		if err := writeOutputs(stdout, stderr, f.out, "train_telemetry", func(w io.Writer) error { return diagnostics.WriteTelemetryCSV(w, h) },
			func() (*plots.Figure, error) { return diagnostics.TelemetryFigure(h) }); err != nil {
			return errors.Join(runErr, err)
		}
	}
	if runErr == nil && ck.saveWeights != "" {
		fmt.Fprintf(stdout, "weights: %s\n", ck.saveWeights)
	}
	return runErr
}
