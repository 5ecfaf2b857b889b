package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"optlab.dev/internal/lists"
	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/runs"
	"optlab.dev/optlab/store"
	"optlab.dev/optlab/sweep"
)

const sweepSynopsis = `Run a grid of trials (models × optimizers × learning rates × batch sizes × seeds) and store each
finished trial in a results store: a SQLite file with one row per trial, written in a transaction the
moment the trial ends. Running the same sweep again skips the finished trials, so an interrupted or
killed sweep resumes where it stopped. The grid comes from flags or from --config FILE (JSON with the
keys models, optimizers, lrs, seeds, batch_sizes, epochs, split, limit, non_finite). Summarise the
store with 'optlab report'; query it with SQL (docs/results-store.md).

To fan a sweep out over machines: give each machine a --shard K/N (or export one file per trial with
--export-trials DIR and run each with 'optlab train --trial FILE --store ...'), then bring the stores
together with 'optlab merge'.`

// sweepFlags are the flags of the sweep command.
type sweepFlags struct {
	config, models, optimizers, lrs, seeds, batchSizes, split, nonFinite string
	epochs, limit                                                        int
	store, backend, data, shard, exportTrials, checkpointDir             string
	workers, population, checkpointEvery                                 int
	memoryLimit                                                          string
	dryRun, quiet, json                                                  bool
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
	fs.StringVar(&f.store, "store", "results/sweep.db", "results store (SQLite) to add to and resume from")
	fs.IntVar(&f.workers, "workers", 1, "trials run at once, each with its own backend (the pure-Go backend already uses every core)")
	fs.StringVar(&f.backend, "backend", "", "GoMLX backend: go (pure Go, default), xla:cpu, xla:cuda (default $GOMLX_BACKEND or go)")
	fs.StringVar(&f.data, "data", "", "directory with the four MNIST .gz files (default: $OPTLAB_DATA, ./data/mnist, then the GoMNIST module)")
	fs.IntVar(&f.population, "population", 1, "train up to K trials at once as one population (same model, batch size, epochs and optimizer structure; numeric hyperparameters and seeds may differ): one compiled graph, K times the work per step")
	fs.StringVar(&f.memoryLimit, "memory-limit", "", memoryLimitUsage)
	fs.StringVar(&f.shard, "shard", "", "run only shard K of N (K/N, 0 ≤ K < N): trial i belongs to shard i mod N")
	fs.StringVar(&f.exportTrials, "export-trials", "", "write one JSON file per trial (DIR/0000.json, ...) for 'optlab train --trial' and exit")
	fs.BoolVar(&f.dryRun, "dry-run", false, "list the trials, their IDs and whether the store has them, and exit")
	fs.BoolVar(&f.json, "json", false, "with --dry-run: print the list and the counts as one JSON object")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	fs.StringVar(&f.checkpointDir, "checkpoint-dir", "", "checkpoint each running trial in DIR/<trial ID> (every epoch's end), so that a killed trial resumes mid-run when the sweep runs again")
	fs.IntVar(&f.checkpointEvery, "checkpoint-every", 0, "with --checkpoint-dir: also checkpoint every N optimizer steps")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.checkpointEvery < 0 {
		return usageError("--checkpoint-every must be ≥ 0, got %d", f.checkpointEvery)
	}
	if f.checkpointDir != "" {
		if err := checkWritableDir("--checkpoint-dir", f.checkpointDir); err != nil {
			return err
		}
	}
	trials, err := f.trials(fs)
	if err != nil {
		return err
	}
	if f.workers < 1 {
		return usageError("--workers must be ≥ 1, got %d", f.workers)
	}
	if f.population < 1 {
		return usageError("--population must be ≥ 1, got %d", f.population)
	}
	limit, err := parseMemoryLimit(f.memoryLimit)
	if err != nil {
		return err
	}
	if f.population > 1 && limit == 0 {
		batch := 0
		for _, t := range trials {
			batch = max(batch, t.BatchSize)
		}
		// A lower bound now; each population's full estimate before it starts.
		if err := optlab.CheckMemory(batch, f.population); err != nil {
			return err
		}
	}
	if f.store == "" {
		return usageError("--store must not be empty")
	}
	if f.shard != "" {
		k, n, err := sweep.ParseShard(f.shard)
		if err != nil {
			return usageError("--shard: %v", err)
		}
		trials = sweep.Shard(trials, k, n)
	}
	if f.exportTrials != "" {
		return exportTrialFiles(f.exportTrials, trials, stdout)
	}
	if f.dryRun {
		return dryRun(stdout, trials, f.store, f.json, f.population)
	}
	if f.json {
		return usageError("--json goes with --dry-run")
	}
	if err := checkStorePath("--store", f.store); err != nil {
		return err
	}

	results, err := store.Open(f.store, store.Options{})
	if err != nil {
		return err
	}
	defer results.Close()
	n, err := results.Len()
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "store: %s (%d records)\n", results.Path(), n)
	backendName := optlab.BackendName(f.backend)
	if _, err := optlab.NewBackend(backendName); err != nil {
		return err
	}
	opts := sweep.Options{
		Workers: f.workers, DataDir: f.data, Log: stdout, CheckpointDir: f.checkpointDir, CheckpointEvery: f.checkpointEvery,
		NewBackend: func() (compute.Backend, error) { return optlab.NewBackend(backendName) },
		Population: f.population, TrainPopulation: populationTrainer(limit),
	}
	if !f.quiet && isTerminal(stderr) {
		opts.Progress = stderr
	}
	fmt.Fprintf(stdout, "sweep: %d trials, %d worker(s), backend %s", len(trials), f.workers, backendName)
	if f.population > 1 {
		fmt.Fprintf(stdout, ", populations of up to %d", f.population)
		if f.checkpointDir != "" {
			fmt.Fprint(stdout, " (checkpoints: trials that run alone; an unfinished population runs again whole)")
		}
	}
	fmt.Fprintln(stdout)
	ctx, stop := interruptible()
	defer stop()
	res, runErr := sweep.Run(ctx, results, trials, opts)
	fmt.Fprintf(stdout, "done: %d ran (%d diverged), %d already in the store, %d of %d finished, %s\n",
		res.Ran, res.Diverged, res.Skipped, res.Ran+res.Skipped, res.Total, res.Elapsed.Round(time.Millisecond))
	if runErr == nil {
		fmt.Fprintf(stdout, "summarise with: optlab report --store %s\n", f.store)
	}
	if err := results.Close(); err != nil {
		return errors.Join(runErr, err)
	}
	return runErr
}

// trials builds the sweep's trials from --config or the grid flags.
func (f *sweepFlags) trials(fs *flag.FlagSet) ([]sweep.Trial, error) {
	var g sweep.Grid
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
		if g, err = sweep.LoadGrid(f.config); err != nil {
			return nil, usageError("--config: %v", err)
		}
	} else {
		// The specs stay strings here: Grid.Trials parses each once.
		specs := lists.Split(f.optimizers, ";")
		if len(specs) == 0 {
			return nil, usageError("--optimizers: no optimizer given")
		}
		seeds, err := parseSeeds(f.seeds)
		if err != nil {
			return nil, err
		}
		if len(seeds) == 0 {
			return nil, usageError("--seeds: no seed given")
		}
		lrs, err := lists.Floats(f.lrs)
		if err != nil {
			return nil, usageError("--lrs: %v", err)
		}
		bs, err := lists.Ints(f.batchSizes)
		if err != nil {
			return nil, usageError("--batch-sizes: %v", err)
		}
		if len(bs) == 0 {
			return nil, usageError("--batch-sizes: no batch size given")
		}
		g = sweep.Grid{Models: lists.Split(f.models, ","), Optimizers: specs, LRs: lrs, Seeds: seeds, BatchSizes: bs,
			Epochs: f.epochs, Split: f.split, Limit: f.limit, NonFinite: f.nonFinite}
	}
	trials, err := g.Trials()
	if err != nil {
		return nil, usageError("%v", err)
	}
	return trials, nil
}

// dryRunTrial is one trial of `sweep --dry-run --json`.
type dryRunTrial struct {
	Index  int         `json:"index"`
	ID     string      `json:"id"`
	Stored bool        `json:"stored"`
	Trial  sweep.Trial `json:"trial"`
}

// dryRun lists the trials and whether the store holds them.
func dryRun(stdout io.Writer, trials []sweep.Trial, storePath string, asJSON bool, population int) error {
	done, err := store.StoredIDs(storePath)
	if err != nil {
		return err
	}
	list := make([]dryRunTrial, len(trials))
	n := 0
	for i, t := range trials {
		list[i] = dryRunTrial{Index: i, ID: t.ID(), Stored: done[t.ID()], Trial: t}
		if list[i].Stored {
			n++
		}
	}
	var jobs [][]sweep.Trial
	var runs [][]int // with --population: the trials' indices, run by run
	if population > 1 {
		jobs = sweep.Populations(trials, population)
		index := make(map[string]int, len(trials))
		for i, t := range trials {
			index[t.ID()] = i
		}
		for _, j := range jobs {
			var r []int
			for _, t := range j {
				r = append(r, index[t.ID()])
			}
			runs = append(runs, r)
		}
	}
	if asJSON {
		return writeJSON(stdout, struct {
			Store  string        `json:"store"`
			Trials int           `json:"trials"`
			Stored int           `json:"stored"`
			ToRun  int           `json:"to_run"`
			List   []dryRunTrial `json:"list"`
			Runs   [][]int       `json:"population_runs,omitempty"`
		}{storePath, len(trials), n, len(trials) - n, list, runs})
	}
	for _, t := range list {
		status := "todo"
		if t.Stored {
			status = "done"
		}
		fmt.Fprintf(stdout, "%4d %s %-4s %s\n", t.Index, t.ID, status, t.Trial)
	}
	fmt.Fprintf(stdout, "%d trials, %d in %s, %d to run\n", len(trials), n, storePath, len(trials)-n)
	if population > 1 {
		fmt.Fprintf(stdout, "with --population %d: %d runs (%s)\n", population, len(jobs), describeJobs(jobs))
	}
	return nil
}

// writeJSON prints v as indented JSON.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// runTrialFile is `optlab train --trial FILE`: run one trial standalone and
// append its record to a store (waiting for the store's lock), unless the
// store already has it.
func runTrialFile(fs *flag.FlagSet, f *runFlags, ck *ckptFlags, trialPath, storePath string, stdout, stderr io.Writer) error {
	var clash []string
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "trial", "store", "backend", "data", "quiet", "checkpoint-dir", "checkpoint-every":
		default:
			clash = append(clash, "--"+fl.Name)
		}
	})
	if len(clash) > 0 {
		return usageError("--trial sets the whole configuration; drop %s", strings.Join(clash, ", "))
	}
	if err := checkStorePath("--store", storePath); err != nil {
		return err
	}
	t, err := sweep.ReadTrial(trialPath)
	if err != nil {
		return usageError("--trial: %v", err)
	}
	if len(t.Protocol) > 0 {
		return runBenchmarkTrialFile(f, t, storePath, stdout, stderr)
	}
	backend, err := trialBackend(f.backend, t.ID(), t, storePath, stdout)
	if err != nil || backend == nil {
		return err
	}
	data, err := optlab.LoadData(f.data, datasets.DataSplit(t.Split), t.Limit)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n== trial %s: %s\n", t.ID(), t)
	ctx, stop := interruptible()
	defer stop()
	rec, err := sweep.RunTrialWithCheckpoints(ctx, backend, data, t, ck.dir, ck.every)
	if err != nil {
		return err
	}
	for _, e := range rec.Hist.Epochs {
		fmt.Fprintln(stdout, runs.FormatEpoch(e, t.Epochs))
	}
	results, err := store.Open(storePath, store.Options{})
	if err != nil {
		return err
	}
	defer results.Close()
	added, err := results.Append(*rec)
	if err != nil {
		return err
	}
	if err := sweep.RemoveTrialCheckpoints(ck.dir, t); err != nil {
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
	return results.Close()
}

func runMerge(args []string, stdout, stderr io.Writer) error {
	return mergeCommand("merge", args, stdout, stderr)
}

func runImport(args []string, stdout, stderr io.Writer) error {
	return mergeCommand("import", args, stdout, stderr)
}

const mergeSynopsis = `Arguments: STORE... (stores, or folders of stores, to merge).

Add to the store --into (a SQLite file, created if missing) every record of the given stores whose
trial it does not hold yet (one record per trial ID; the first wins). SQLite sources are copied by
SQLite itself (ATTACH + INSERT OR IGNORE); JSON Lines stores of earlier optlab versions are imported,
their damaged lines skipped and reported. Sources are only read. Use it to gather the stores of
several machines or array tasks (a folder is read as all its *.db and *.jsonl files).`

const importSynopsis = `Arguments: STORE.jsonl... (JSON Lines stores written by earlier optlab versions).

Convert JSON Lines results stores into the SQLite store --into (created if missing), one record per
trial ID; damaged lines (a torn last line, a failed checksum) are skipped and reported. The JSON Lines
files are only read.`

// mergeCommand is merge, and import (merge restricted to JSON Lines sources).
func mergeCommand(name string, args []string, stdout, stderr io.Writer) error {
	synopsis := mergeSynopsis
	if name == "import" {
		synopsis = importSynopsis
	}
	fs := newFlagSet(name, synopsis, stderr)
	into := fs.String("into", "", "destination SQLite store (created if missing)")
	asJSON := fs.Bool("json", false, "print the counts (added, duplicates, damaged, per source) as one JSON object")
	sources, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *into == "" {
		return usageError("--into is required")
	}
	if len(sources) == 0 {
		return usageError("no source stores given")
	}
	if err := checkStorePath("--into", *into); err != nil {
		return err
	}
	srcs, err := store.Expand(sources)
	if err != nil {
		return usageError("%v", err)
	}
	for _, src := range srcs {
		f, err := store.DetectFormat(src)
		if err != nil {
			return usageError("%v", err)
		}
		if name == "import" && f != store.FormatJSONL {
			return usageError("%s is a SQLite store already: merge it with 'optlab merge --into %s %s'", src, *into, src)
		}
	}
	st, err := store.Merge(*into, srcs, func(src string, d store.Damage) {
		fmt.Fprintf(stderr, "optlab %s: %s: skipped damaged %s\n", name, src, d)
	})
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(stdout, st)
	}
	fmt.Fprintf(stdout, "merged %d store(s) into %s: %d records added, %d duplicates skipped, %d damaged lines skipped\n",
		len(srcs), *into, st.Added, st.Duplicates, st.Damaged)
	return nil
}

// parseInterleaved is parseFlags for commands whose arguments are files:
// flags may come before, between or after them (`merge a.db b.db --json`).
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	usage := fs.Usage
	fs.Usage = func() {}
	fs.SetOutput(io.Discard)
	defer func() { fs.Usage = usage }()
	var positional []string
	for {
		err := fs.Parse(args)
		if errors.Is(err, flag.ErrHelp) {
			usage()
			return nil, err
		}
		if err != nil {
			return nil, usageError("%v", err)
		}
		if fs.NArg() == 0 {
			return positional, nil
		}
		positional = append(positional, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// checkStorePath checks a store path given by a flag before any work: not
// empty, not a JSON Lines name (stores are SQLite now), and in a folder that
// can be created and written.
func checkStorePath(flagName, path string) error {
	if path == "" {
		return usageError("%s must not be empty", flagName)
	}
	if strings.HasSuffix(path, ".jsonl") {
		return usageError("%s %s: results stores are SQLite files now: use a .db name (import a JSON Lines store with 'optlab import --into NEW.db %s')", flagName, path, path)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usageError("%s %s is a folder, not a store file", flagName, path)
	}
	return checkWritableDir(flagName, filepath.Dir(path))
}

// trialBackend prepares `train --trial`: it returns nil and no error when the
// store already holds the trial (and says so), else the backend to run it on,
// named on stdout.
func trialBackend(name, id string, t fmt.Stringer, storePath string, stdout io.Writer) (compute.Backend, error) {
	stored, err := store.StoredIDs(storePath)
	if err != nil {
		return nil, err
	}
	if stored[id] {
		fmt.Fprintf(stdout, "trial %s (%s) is already in %s\n", id, t, storePath)
		return nil, nil
	}
	backend, err := optlab.NewBackend(name)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stdout, "backend: %s\n", optlab.DescribeBackend(backend))
	return backend, nil
}

// exportTrialFiles writes one trial file per trial into dir (0000.json, …)
// for `train --trial` on other machines, and says what it wrote.
func exportTrialFiles(dir string, trials []sweep.Trial, stdout io.Writer) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, t := range trials {
		if err := sweep.WriteTrial(filepath.Join(dir, fmt.Sprintf("%04d.json", i)), t); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "wrote %d trial files %s/0000.json … %s/%04d.json\n", len(trials), dir, dir, len(trials)-1)
	return nil
}
