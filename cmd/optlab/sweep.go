package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"

	"optlab.dev/optlab"
	"optlab.dev/optlab/models"
)

const sweepSynopsis = `Run a grid of trials (models × optimizers × learning rates × batch sizes × seeds) and append each
finished trial to a results store (JSON Lines, one checksummed record per line, fsync'ed). Running the
same sweep again skips the finished trials, so an interrupted or killed sweep resumes where it stopped.
The grid comes from flags or from --config FILE (JSON with the keys models, optimizers, lrs, seeds,
batch_sizes, epochs, split, limit, non_finite). Summarise the store with 'optlab report'.

To fan a sweep out over machines: give each machine a --shard K/N (or export one file per trial with
--export-trials DIR and run each with 'optlab train --trial FILE --store ...'), then bring the stores
together with 'optlab merge'.`

// sweepFlags are the flags of the sweep command.
type sweepFlags struct {
	config, models, optimizers, lrs, seeds, batchSizes, split, nonFinite string
	epochs, limit                                                        int
	store, backend, data, shard, exportTrials                            string
	workers                                                              int
	dryRun, quiet                                                        bool
}

// gridFlags are the flags that --config replaces.
var gridFlags = []string{"models", "optimizers", "lrs", "seeds", "batch-sizes", "epochs", "split", "limit", "non-finite"}

func runSweep(args []string, stdout, stderr io.Writer) error {
	var f sweepFlags
	fs := newFlagSet("sweep", sweepSynopsis, stderr)
	fs.StringVar(&f.config, "config", "", "JSON file describing the grid (instead of the grid flags)")
	fs.StringVar(&f.models, "models", "mlp-small", "models, comma-separated: "+strings.Join(models.ModelNames(), ", "))
	fs.StringVar(&f.optimizers, "optimizers", "sgd(momentum=0.9); adam; rmsprop", "optimizer specs separated by ';'")
	fs.StringVar(&f.lrs, "lrs", "", "learning rates, comma-separated, put into every optimizer spec (empty: each spec's own lr)")
	fs.StringVar(&f.seeds, "seeds", "1", "seeds, '1,2,3' or '1-3'")
	fs.StringVar(&f.batchSizes, "batch-sizes", "32", "mini-batch sizes, comma-separated")
	fs.IntVar(&f.epochs, "epochs", 5, "epochs per trial")
	fs.StringVar(&f.split, "split", "holdout5k", "validation data: holdout5k (hold out 5,000 training images: the best lr is chosen without seeing the test set) or test")
	fs.IntVar(&f.limit, "limit", 0, "use only the first N training examples (0: all), for quick sweeps")
	fs.StringVar(&f.nonFinite, "non-finite", "stop", "what a trial does when its loss is NaN or infinite: stop (stored as diverged) or skip")
	fs.StringVar(&f.store, "store", "results/sweep.jsonl", "results store (JSON Lines) to append to and resume from")
	fs.IntVar(&f.workers, "workers", 1, "trials run at once, each with its own backend (the pure-Go backend already uses every core)")
	fs.StringVar(&f.backend, "backend", "", "GoMLX backend: go (pure Go, default), xla:cpu, xla:cuda (default $GOMLX_BACKEND or go)")
	fs.StringVar(&f.data, "data", "", "directory with the four MNIST .gz files (default: $OPTLAB_DATA, ./data/mnist, then the GoMNIST module)")
	fs.StringVar(&f.shard, "shard", "", "run only shard K of N (K/N, 0 ≤ K < N): trial i belongs to shard i mod N")
	fs.StringVar(&f.exportTrials, "export-trials", "", "write one JSON file per trial (DIR/0000.json, ...) for 'optlab train --trial' and exit")
	fs.BoolVar(&f.dryRun, "dry-run", false, "list the trials, their IDs and whether the store has them, and exit")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	trials, err := f.trials(fs)
	if err != nil {
		return err
	}
	if f.workers < 1 {
		return usageError("--workers must be ≥ 1, got %d", f.workers)
	}
	if f.store == "" {
		return usageError("--store must not be empty")
	}
	if f.shard != "" {
		k, n, err := parseShard(f.shard)
		if err != nil {
			return err
		}
		var mine []optlab.Trial
		for i, t := range trials {
			if i%n == k {
				mine = append(mine, t)
			}
		}
		trials = mine
	}
	if f.exportTrials != "" {
		if err := os.MkdirAll(f.exportTrials, 0o755); err != nil {
			return err
		}
		for i, t := range trials {
			if err := optlab.WriteTrial(filepath.Join(f.exportTrials, fmt.Sprintf("%04d.json", i)), t); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "wrote %d trial files %s/0000.json … %s/%04d.json\n", len(trials), f.exportTrials, f.exportTrials, len(trials)-1)
		return nil
	}
	if f.dryRun {
		done := map[string]bool{}
		if c, err := optlab.ReadStore(f.store); err == nil {
			for _, r := range c.Records {
				done[r.ID] = true
			}
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		n := 0
		for i, t := range trials {
			status := "todo"
			if done[t.ID()] {
				status, n = "done", n+1
			}
			fmt.Fprintf(stdout, "%4d %s %-4s %s\n", i, t.ID(), status, t)
		}
		fmt.Fprintf(stdout, "%d trials, %d in %s, %d to run\n", len(trials), n, f.store, len(trials)-n)
		return nil
	}

	store, err := optlab.OpenStore(f.store, optlab.StoreOptions{})
	if err != nil {
		return err
	}
	defer store.Close()
	reportRepair(stderr, store)
	fmt.Fprintf(stdout, "store: %s (%d records)\n", store.Path(), store.Len())
	backendName := optlab.BackendName(f.backend)
	if _, err := optlab.NewBackend(backendName); err != nil {
		return err
	}
	opts := optlab.SweepOptions{
		Workers: f.workers, DataDir: f.data, Log: stdout,
		NewBackend: func() (backends.Backend, error) { return optlab.NewBackend(backendName) },
	}
	if !f.quiet && isTerminal(stderr) {
		opts.Progress = stderr
	}
	fmt.Fprintf(stdout, "sweep: %d trials, %d worker(s), backend %s\n", len(trials), f.workers, backendName)
	ctx, stop := interruptible()
	defer stop()
	res, runErr := optlab.RunSweep(ctx, store, trials, opts)
	fmt.Fprintf(stdout, "done: %d ran (%d diverged), %d already in the store, %d of %d finished, %s\n",
		res.Ran, res.Diverged, res.Skipped, res.Ran+res.Skipped, res.Total, res.Elapsed.Round(time.Millisecond))
	if runErr == nil {
		fmt.Fprintf(stdout, "summarise with: optlab report --store %s\n", f.store)
	}
	if err := store.Close(); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

// trials builds the sweep's trials from --config or the grid flags.
func (f *sweepFlags) trials(fs *flag.FlagSet) ([]optlab.Trial, error) {
	var g optlab.Grid
	if f.config != "" {
		var clash []string
		fs.Visit(func(fl *flag.Flag) {
			for _, n := range gridFlags {
				if fl.Name == n {
					clash = append(clash, "--"+n)
				}
			}
		})
		if len(clash) > 0 {
			return nil, usageError("--config replaces the grid flags; drop %s", strings.Join(clash, ", "))
		}
		var err error
		if g, err = optlab.LoadGrid(f.config); err != nil {
			return nil, usageError("--config: %v", err)
		}
	} else {
		specs, err := splitSpecs(f.optimizers)
		if err != nil {
			return nil, err
		}
		seeds, err := parseSeeds(f.seeds)
		if err != nil {
			return nil, err
		}
		lrs, err := sweepFloats("lrs", f.lrs)
		if err != nil {
			return nil, err
		}
		bs, err := sweepInts("batch-sizes", f.batchSizes)
		if err != nil {
			return nil, err
		}
		g = optlab.Grid{Models: splitList(f.models), Optimizers: specs, LRs: lrs, Seeds: seeds, BatchSizes: bs,
			Epochs: f.epochs, Split: f.split, Limit: f.limit, NonFinite: f.nonFinite}
	}
	trials, err := g.Trials()
	if err != nil {
		return nil, usageError("%v", err)
	}
	return trials, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func sweepFloats(name, s string) ([]float64, error) {
	var out []float64
	for _, p := range splitList(s) {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil {
			return nil, usageError("--%s: %q is not a number", name, p)
		}
		out = append(out, v)
	}
	return out, nil
}

func sweepInts(name, s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		v, err := strconv.Atoi(p)
		if err != nil {
			return nil, usageError("--%s: %q is not an integer", name, p)
		}
		out = append(out, v)
	}
	return out, nil
}

// parseShard reads "K/N".
func parseShard(s string) (k, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n {
		return 0, 0, usageError("--shard: bad value %q (want K/N with 0 ≤ K < N, e.g. 0/4)", s)
	}
	return k, n, nil
}

// reportRepair tells the user about a damaged tail OpenStore cut off.
func reportRepair(w io.Writer, s *optlab.Store) {
	for _, d := range s.Repaired() {
		fmt.Fprintf(w, "optlab: store %s: removed a damaged tail, %s (the trial it belonged to will run again)\n", s.Path(), d)
	}
}

// runTrialFile is `optlab train --trial FILE`: run one trial standalone and
// append its record to a store (waiting for the store's lock), unless the
// store already has it.
func runTrialFile(fs *flag.FlagSet, f *runFlags, trialPath, storePath string, stdout, stderr io.Writer) error {
	var clash []string
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "trial", "store", "backend", "data", "quiet":
		default:
			clash = append(clash, "--"+fl.Name)
		}
	})
	if len(clash) > 0 {
		return usageError("--trial sets the whole configuration; drop %s", strings.Join(clash, ", "))
	}
	if storePath == "" {
		return usageError("--store must not be empty")
	}
	t, err := optlab.ReadTrial(trialPath)
	if err != nil {
		return usageError("--trial: %v", err)
	}
	if c, err := optlab.ReadStore(storePath); err == nil {
		for _, r := range c.Records {
			if r.ID == t.ID() {
				fmt.Fprintf(stdout, "trial %s (%s) is already in %s\n", t.ID(), t, storePath)
				return nil
			}
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	backend, err := optlab.NewBackend(f.backend)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backend: %s\n", optlab.DescribeBackend(backend))
	data, err := optlab.LoadData(f.data, models.DataSplit(t.Split), t.Limit)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n== trial %s: %s\n", t.ID(), t)
	ctx, stop := interruptible()
	defer stop()
	rec, err := optlab.RunTrial(ctx, backend, data, t)
	if err != nil {
		return err
	}
	for _, e := range rec.Hist.Epochs {
		fmt.Fprintln(stdout, optlab.FormatEpoch(e, t.Epochs))
	}
	store, err := optlab.OpenStore(storePath, optlab.StoreOptions{Wait: true})
	if err != nil {
		return err
	}
	defer store.Close()
	reportRepair(stderr, store)
	added, err := store.Append(*rec)
	if err != nil {
		return err
	}
	if rec.Hist.Err != "" {
		fmt.Fprintf(stdout, "stopped: %s\n", rec.Hist.Err)
	} else {
		fmt.Fprintf(stdout, "test_loss: %.4f - test_accuracy: %.4f - %.1fs\n", rec.Hist.TestLoss, rec.Hist.TestAccuracy, rec.Seconds)
	}
	if added {
		fmt.Fprintf(stdout, "stored in %s\n", storePath)
	} else {
		fmt.Fprintf(stdout, "%s got this trial from another process meanwhile; not stored twice\n", storePath)
	}
	return store.Close()
}

func runMerge(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("merge", "Arguments: STORE.jsonl... (the stores to merge).\n\nAppend to the store --into every record of the given stores whose trial it does not hold yet (one\nrecord per trial ID). Sources are only read; damaged lines in them are skipped and reported. Use it\nto gather the stores of several machines, or to salvage the good records of a damaged store.", stderr)
	into := fs.String("into", "", "destination store (created if missing)")
	// Like parseFlags, but the stores are positional arguments.
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		usage()
		return err
	}
	if err != nil {
		return usageError("%v", err)
	}
	if *into == "" {
		return usageError("--into is required")
	}
	if fs.NArg() == 0 {
		return usageError("no source stores given")
	}
	st, err := optlab.MergeStores(*into, fs.Args(), func(src string, d optlab.Damage) {
		fmt.Fprintf(stderr, "optlab merge: %s: skipped damaged %s\n", src, d)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "merged %d store(s) into %s: %d records added, %d duplicates skipped, %d damaged lines skipped\n",
		fs.NArg(), *into, st.Added, st.Duplicates, st.Damaged)
	return nil
}
