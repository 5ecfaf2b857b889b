package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"optlab.dev/internal/atomicfile"
	"optlab.dev/internal/lists"
	"optlab.dev/optlab"
	"optlab.dev/optlab/benchmark"
	"optlab.dev/optlab/store"
	"optlab.dev/optlab/sweep"
)

const benchmarkSynopsis = `Score optimizers the AlgoPerf way on CPU-sized workloads: each optimizer is tuned (external
ruleset: --budget quasi-random trials from its family's search space in each of --studies studies) or run
at its settings (self ruleset), on each workload, until the workload's validation target is reached or its
step budget ends. A study's time is its fastest trial's, a workload's the median over studies; the score is
AlgoPerf's integrated performance profile (ratios to the fastest optimizer up to 4). Every trial is appended
to --store as it finishes: run the same command again to resume after an interruption or a kill.

  optlab benchmark [flags]             run (or resume) a benchmark, then print and save its score
  optlab benchmark report --store S    rebuild the score from a store (also a merged one)
  optlab benchmark targets [flags]     set the workloads' validation targets (AlgoPerf's procedure)
  optlab benchmark list                list the workloads, their targets and the search spaces

--quick is the small end-to-end benchmark: quadratic_deep and mnist_logreg, sgd, momentum and adam,
external tuning with 3 trials in each of 3 studies. Fan out over machines with --shard K/N or
--export-trials DIR ('optlab train --trial FILE --store S' runs one), then 'optlab merge'.`

// quickWorkloads and the rest are the --quick benchmark.
var (
	quickWorkloads  = "quadratic_deep,mnist_logreg"
	quickOptimizers = "sgd,momentum,adam"
	quickBudget     = 3
	quickStudies    = 3
)

type benchFlags struct {
	workloads, optimizers, ruleset, measure, store, out, shard, exportTrials, backend, data string
	budget, studies                                                                         int
	fullBudget, quick, dryRun, quiet                                                        bool
}

func runBenchmark(args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "report":
			return runBenchmarkReport(args[1:], stdout, stderr)
		case "targets":
			return runBenchmarkTargets(args[1:], stdout, stderr)
		case "list":
			return runBenchmarkList(args[1:], stdout, stderr)
		}
		return usageError("unknown benchmark sub-command %q (valid: report, targets, list)", args[0])
	}
	var f benchFlags
	fs := newFlagSet("benchmark", benchmarkSynopsis, stderr)
	fs.StringVar(&f.workloads, "workloads", "", "workloads, comma-separated (default: every workload with a target): "+strings.Join(benchmark.WorkloadNames(), ", "))
	fs.StringVar(&f.optimizers, "optimizers", "sgd,momentum,nesterov,adam,adamw,nadam", "external ruleset: optimizer families, comma-separated; self ruleset: optimizer specs separated by ';'")
	fs.StringVar(&f.ruleset, "ruleset", "external", "tuning ruleset: external (tune each family in its search space) or self (each optimizer as given, 1.5× the steps)")
	fs.IntVar(&f.budget, "budget", 5, "external ruleset: trials per study (AlgoPerf: 5)")
	fs.IntVar(&f.studies, "studies", 3, "independent studies (AlgoPerf: 5); the median over studies is scored")
	fs.BoolVar(&f.fullBudget, "full-budget", false, "run every trial to the end of its budget instead of stopping at the target (slower; shows how far each configuration gets)")
	fs.StringVar(&f.measure, "measure", "steps", "time to target in: steps (deterministic: the same after a resume and on any machine) or time (seconds of training, AlgoPerf's measure; needs a quiet machine)")
	fs.StringVar(&f.store, "store", "results/benchmark.db", "results store (SQLite) to append to and resume from")
	fs.StringVar(&f.out, "out", "results/benchmark", "folder for the score tables (text, Markdown, CSV) and figures (PNG)")
	fs.StringVar(&f.shard, "shard", "", "run only shard K of N (K/N): trial i belongs to shard i mod N")
	fs.StringVar(&f.exportTrials, "export-trials", "", "write one JSON file per trial (DIR/0000.json, ...) for 'optlab train --trial' and exit")
	fs.BoolVar(&f.dryRun, "dry-run", false, "list the trials, their IDs and whether the store has them, and exit")
	fs.BoolVar(&f.quick, "quick", false, "the quick benchmark: --workloads "+quickWorkloads+" --optimizers "+quickOptimizers+
		fmt.Sprintf(" --budget %d --studies %d (flags given explicitly win)", quickBudget, quickStudies))
	fs.StringVar(&f.backend, "backend", "", "GoMLX backend: go (pure Go, default), xla:cpu, xla:cuda (default $GOMLX_BACKEND or go)")
	fs.StringVar(&f.data, "data", "", "directory with the four MNIST .gz files (default: $OPTLAB_DATA, ./data/mnist, then the GoMNIST module); Fashion-MNIST comes from Debian's dataset-fashion-mnist")
	fs.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if f.quick {
		set := map[string]bool{}
		fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
		for name, v := range map[string]string{"workloads": quickWorkloads, "optimizers": quickOptimizers,
			"budget": fmt.Sprint(quickBudget), "studies": fmt.Sprint(quickStudies), "ruleset": "external"} {
			if !set[name] {
				_ = fs.Set(name, v)
			}
		}
	}
	cfg, err := f.config()
	if err != nil {
		return err
	}
	measure, err := benchmark.ParseMeasure(f.measure)
	if err != nil {
		return usageError("--measure: %v", err)
	}
	if f.store == "" {
		return usageError("--store must not be empty")
	}
	trials, err := cfg.Trials()
	if err != nil {
		return usageError("%v", err)
	}
	if f.shard != "" {
		k, n, err := sweep.ParseShard(f.shard)
		if err != nil {
			return usageError("--shard: %v", err)
		}
		trials = benchmark.Shard(trials, k, n)
	}
	if f.exportTrials != "" {
		sw := make([]sweep.Trial, len(trials))
		for i, t := range trials {
			sw[i] = t.Sweep()
		}
		return exportTrialFiles(f.exportTrials, sw, stdout)
	}
	if f.dryRun {
		done, err := store.StoredIDs(f.store)
		if err != nil {
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

	if err := checkStorePath("--store", f.store); err != nil {
		return err
	}
	if err := checkWritableDir("--out", f.out); err != nil {
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
	backend, err := optlab.NewBackend(f.backend)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backend: %s\nstore: %s (%d records)\n", optlab.DescribeBackend(backend), results.Path(), n)
	fmt.Fprintf(stdout, "benchmark: %s tuning, %d workload(s) × %d optimizer(s), %d trial(s)\n", cfg.Ruleset, len(cfg.Workloads), len(cfg.Optimizers), len(trials))
	opts := benchmark.Options{Runner: benchmark.Sequential{Backend: backend, Data: benchmark.NewData(dataDirs(f.data))}, Log: stdout}
	if !f.quiet && isTerminal(stderr) {
		opts.Progress = stderr
	}
	ctx, stop := interruptible()
	defer stop()
	res, runErr := benchmark.Run(ctx, results, trials, opts)
	fmt.Fprintf(stdout, "done: %d ran (%d diverged), %d already in the store, %d of %d finished, %s\n",
		res.Ran, res.Diverged, res.Skipped, res.Ran+res.Skipped, res.Total, res.Elapsed.Round(time.Millisecond))
	recs, err := results.Records()
	if err != nil {
		return errors.Join(runErr, err)
	}
	if err := results.Close(); err != nil {
		return errors.Join(runErr, err)
	}
	if runErr != nil {
		return runErr
	}
	sopts := benchmark.ScoreOptions{Ruleset: cfg.Ruleset, Measure: measure, Budget: cfg.Budget, Studies: cfg.Studies, FullBudget: cfg.FullBudget}
	if f.shard != "" {
		fmt.Fprintf(stdout, "shard %s done; merge the shards' stores with 'optlab merge', then 'optlab benchmark report'\n", f.shard)
		return nil
	}
	return scoreAndSave(stdout, recs, sopts, f.out)
}

// config builds the benchmark's configuration from the flags.
func (f *benchFlags) config() (benchmark.Config, error) {
	rs, err := benchmark.ParseRuleset(f.ruleset)
	if err != nil {
		return benchmark.Config{}, usageError("--ruleset: %v", err)
	}
	ws := lists.Split(f.workloads, ",")
	if len(ws) == 0 && f.workloads != "" {
		return benchmark.Config{}, usageError("--workloads: no workload given in %q", f.workloads)
	}
	if len(ws) == 0 {
		for _, w := range benchmark.Workloads() {
			if w.TargetSource != nil {
				ws = append(ws, w.Name)
			}
		}
	}
	opts := splitOptimizers(f.optimizers)
	if len(opts) == 0 {
		return benchmark.Config{}, usageError("--optimizers: no optimizer given")
	}
	return benchmark.Config{Workloads: ws, Optimizers: opts, Ruleset: rs, Budget: f.budget, Studies: f.studies, FullBudget: f.fullBudget}, nil
}

// splitOptimizers splits a list of families ("sgd,adam") or specs
// ("sgd(lr=0.1,momentum=0.9); adam"): at ';' when the list has one or a
// parenthesis, else at ','.
func splitOptimizers(s string) []string {
	if strings.ContainsAny(s, ";(") {
		return lists.Split(s, ";")
	}
	return lists.Split(s, ",")
}

// dataDirs maps --data (MNIST's folder) to the benchmark's data folders.
func dataDirs(mnist string) map[string]string {
	if mnist == "" {
		return nil
	}
	return map[string]string{"mnist": mnist}
}

// scoreAndSave scores the records, prints the tables and writes the report.
func scoreAndSave(stdout io.Writer, recs []sweep.Record, opts benchmark.ScoreOptions, out string) error {
	sc, err := benchmark.Compute(recs, opts)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\n%s", sc.Text())
	paths, err := sc.Save(out)
	for _, p := range paths {
		fmt.Fprintf(stdout, "wrote %s\n", p)
	}
	return err
}

func runBenchmarkReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("benchmark report", "Rebuild a benchmark's score from a results store (one store: merge the stores of several\nmachines with 'optlab merge' first) and write its tables and figures to --out.", stderr)
	st := fs.String("store", "results/benchmark.db", "results store holding the benchmark's trials")
	out := fs.String("out", "results/benchmark", "folder for the score tables and figures")
	ruleset := fs.String("ruleset", "", "ruleset to score: external or self (default: the one the store holds)")
	measure := fs.String("measure", "steps", "time to target in: steps or time (seconds of training)")
	budget := fs.Int("budget", 0, "score only the first N trials of each study (0: all in the store)")
	studies := fs.Int("studies", 0, "score only the first S studies (0: all in the store)")
	full := fs.Bool("full-budget", false, "score the trials run with --full-budget")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	m, err := benchmark.ParseMeasure(*measure)
	if err != nil {
		return usageError("--measure: %v", err)
	}
	var rs benchmark.Ruleset
	if *ruleset != "" {
		if rs, err = benchmark.ParseRuleset(*ruleset); err != nil {
			return usageError("--ruleset: %v", err)
		}
	}
	if *budget < 0 || *studies < 0 {
		return usageError("--budget and --studies must be ≥ 0, got %d and %d", *budget, *studies)
	}
	if err := checkWritableDir("--out", *out); err != nil {
		return err
	}
	c, err := store.Read(*st)
	if err != nil {
		return err
	}
	for _, d := range c.Damage {
		fmt.Fprintf(stderr, "optlab benchmark report: %s: skipped damaged %s\n", *st, d)
	}
	fmt.Fprintf(stdout, "store: %s (%d records)\n", *st, len(c.Records))
	return scoreAndSave(stdout, c.Records, benchmark.ScoreOptions{Ruleset: rs, Measure: m, Budget: *budget, Studies: *studies, FullBudget: *full}, *out)
}

func runBenchmarkList(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("benchmark list", "List the benchmark's workloads with their targets and the optimizer families' search spaces.", stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Workloads:")
	for _, w := range benchmark.Workloads() {
		target := "no target yet (optlab benchmark targets)"
		if w.TargetSource != nil {
			op := map[bool]string{true: "≤", false: "≥"}[w.Metric == benchmark.ValLoss]
			target = fmt.Sprintf("target %s %s %g", w.Metric, op, w.Target)
		}
		fmt.Fprintf(stdout, "\n  %s — %s\n    %s; batch %d, %d steps (self-tuning %d), evaluated every %d steps\n    %s\n",
			w.Name, w.Description, target, w.BatchSize, w.Steps, w.Budget(benchmark.SelfTuning), w.EvalEvery, w.Source)
		if w.TargetSource != nil {
			fmt.Fprintf(stdout, "    target: %s\n", w.TargetSource.How)
		}
	}
	fmt.Fprintln(stdout, "\nSearch spaces (external tuning; each trial draws the dimensions quasi-randomly, the rest keep the base's values):")
	for _, s := range benchmark.SearchSpaces() {
		fmt.Fprintf(stdout, "  %s\n", s)
	}
	return nil
}

func runBenchmarkTargets(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("benchmark targets", "Set the workloads' validation targets as AlgoPerf does, at a smaller scale: tune each baseline family\n(--trials trials, whole budgets), rerun each one's best configuration --reruns times, and take the best\nbaseline's median over reruns of the best validation metric. Resumable through --store; writes the\ntargets with their provenance into --write (a targets.json, merged with what it holds).", stderr)
	workloads := fs.String("workloads", "", "workloads, comma-separated (required)")
	baselines := fs.String("baselines", strings.Join(benchmark.DefaultBaselines, ","), "baseline optimizer families, comma-separated")
	trialsN := fs.Int("trials", 16, "tuning trials per baseline and workload")
	reruns := fs.Int("reruns", 5, "reruns of each baseline's best configuration")
	st := fs.String("store", "results/targets.db", "results store for the target-setting trials (resumable)")
	write := fs.String("write", "optlab/benchmark/targets.json", "targets file to update")
	backendName := fs.String("backend", "", "GoMLX backend (default $GOMLX_BACKEND or go)")
	data := fs.String("data", "", "directory with the four MNIST .gz files")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg := benchmark.TargetConfig{Workloads: lists.Split(*workloads, ","), Baselines: lists.Split(*baselines, ","), Trials: *trialsN, Reruns: *reruns}
	tuning, err := cfg.TuningTrials()
	if err != nil {
		return usageError("%v", err)
	}
	if err := checkStorePath("--store", *st); err != nil {
		return err
	}
	if err := checkWritableFile("--write", *write); err != nil {
		return err
	}
	results, err := store.Open(*st, store.Options{})
	if err != nil {
		return err
	}
	defer results.Close()
	n, err := results.Len()
	if err != nil {
		return err
	}
	backend, err := optlab.NewBackend(*backendName)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "backend: %s\nstore: %s (%d records)\n", optlab.DescribeBackend(backend), results.Path(), n)
	opts := benchmark.Options{Runner: benchmark.Sequential{Backend: backend, Data: benchmark.NewData(dataDirs(*data))}, Log: stdout}
	ctx, stop := interruptible()
	defer stop()
	fmt.Fprintf(stdout, "stage 1: %d tuning trials\n", len(tuning))
	if _, err := benchmark.Run(ctx, results, tuning, opts); err != nil {
		return err
	}
	recs, err := results.Records()
	if err != nil {
		return err
	}
	reruns2, err := cfg.RerunTrials(recs)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stage 2: %d reruns\n", len(reruns2))
	if _, err := benchmark.Run(ctx, results, reruns2, opts); err != nil {
		return err
	}
	host, _ := os.Hostname()
	machine := fmt.Sprintf("%s, %d CPUs (%s/%s), %s", host, runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, optlab.DescribeBackend(backend))
	command := "optlab benchmark targets " + strings.Join(args, " ")
	if recs, err = results.Records(); err != nil {
		return err
	}
	got, err := cfg.Build(recs, command, time.Now().UTC().Format("2006-01-02"), machine)
	if err != nil {
		return err
	}
	table := benchmark.Targets()
	if raw, err := os.ReadFile(*write); err == nil {
		if err := json.Unmarshal(raw, &table); err != nil {
			return fmt.Errorf("%s: %w", *write, err)
		}
	}
	if table.Targets == nil {
		table.Targets = map[string]benchmark.TargetRecord{}
	}
	names := make([]string, 0, len(got))
	for name, rec := range got {
		table.Targets[name] = rec
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		rec := got[name]
		fmt.Fprintf(stdout, "%s: target %s %.6g\n", name, rec.Metric, rec.Value)
		for b, r := range rec.Baselines {
			fmt.Fprintf(stdout, "    %-10s median %.6g over %d reruns of %s\n", b, r.Median, r.Reruns, r.Optimizer)
		}
	}
	err = atomicfile.Write(*write, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(table)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s (rebuild optlab to embed it)\n", *write)
	return results.Close()
}

// runBenchmarkTrialFile is `optlab train --trial FILE` for a benchmark
// trial (one exported by 'optlab benchmark --export-trials'): run it and
// append its record to the store, unless the store has it already.
func runBenchmarkTrialFile(f *runFlags, st sweep.Trial, storePath string, stdout, stderr io.Writer) error {
	t, ok, err := benchmark.FromSweep(st)
	if err != nil {
		return usageError("--trial: %v", err)
	}
	if !ok {
		return usageError("--trial: trial %s belongs to a protocol optlab does not know: %s", st.ID(), st.Protocol)
	}
	if err := t.Validate(); err != nil {
		return usageError("--trial: %v", err)
	}
	backend, err := trialBackend(f.backend, t.ID(), t, storePath, stdout)
	if err != nil || backend == nil {
		return err
	}
	fmt.Fprintf(stdout, "\n== trial %s: %s\n", t.ID(), t)
	ctx, stop := interruptible()
	defer stop()
	rec, err := benchmark.RunTrial(ctx, backend, benchmark.NewData(dataDirs(f.data)), t)
	if err != nil {
		return err
	}
	for _, e := range rec.Hist.Evals {
		fmt.Fprintf(stdout, "step %d - %.1fs - loss: %.4f - val_loss: %.4f - val_accuracy: %.4f\n", e.Step, e.Seconds, e.Loss, e.ValLoss, e.ValAccuracy)
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
	o := benchmark.OutcomeOf(t, rec.Hist)
	switch {
	case rec.Hist.Err != "":
		fmt.Fprintf(stdout, "stopped: %s\n", rec.Hist.Err)
	case o.Reached:
		fmt.Fprintf(stdout, "reached %s %g at step %d (%.1fs of training)\n", t.Metric, t.Target, o.Steps, o.Seconds)
	default:
		fmt.Fprintf(stdout, "target %s %g not reached in %d steps (best %.4g)\n", t.Metric, t.Target, t.Steps, o.Best)
	}
	if added {
		fmt.Fprintf(stdout, "stored in %s\n", storePath)
	} else {
		fmt.Fprintf(stdout, "%s got this trial from another process meanwhile; not stored twice\n", storePath)
	}
	return results.Close()
}
