package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"

	"optlab.dev/internal/lists"
	"optlab.dev/internal/sysmem"
	"optlab.dev/optlab"
	"optlab.dev/optlab/bench"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/plots"
)

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "Measure training throughput (samples/s) and time to first step of the models at the\n"+
		"given batch sizes, optimizer update throughput for the given parameter counts, and peak\n"+
		"resident memory, on the selected backend. scripts/bench/compare.py runs this and the\n"+
		"PyTorch reference back to back and prints the ratios.", stderr)
	var (
		modelList, batchList, optimizer, updateList, updateOpt, backend, data, jsonOut string
		updateShapes                                                                   string
		steps, epochs, updateSteps, members                                            int
		memoryLimit                                                                    string
		seed                                                                           int64
		fastDense                                                                      bool
	)
	fs.StringVar(&modelList, "models", "mlp-small,mlp-bn", "comma-separated models to train: "+strings.Join(models.ModelNames(), ", ")+` ("" for none)`)
	fs.StringVar(&batchList, "batch-sizes", "32,256", "comma-separated batch sizes")
	fs.StringVar(&optimizer, "optimizer", "adam", "optimizer spec for the training benchmark")
	fs.IntVar(&steps, "steps", 200, "timed training steps per epoch")
	fs.IntVar(&epochs, "epochs", 2, "timed epochs (an untimed first epoch compiles and warms up)")
	fs.StringVar(&updateList, "update-params", "1e6", `comma-separated parameter counts for the optimizer update benchmark, e.g. "1e6,1e8" ("" for none)`)
	fs.StringVar(&updateShapes, "update-shapes", "", `comma-separated shapes of one matrix each for more update benchmarks, e.g. "1000x1000,4096x1024" (shampoo and soap precondition rows and columns: a flat vector is their worst case)`)
	fs.StringVar(&updateOpt, "update-optimizer", "adam", "optimizer spec for the update benchmark")
	fs.IntVar(&updateSteps, "update-steps", 20, "timed updates per parameter count")
	fs.StringVar(&backend, "backend", "", `GoMLX backend: go (pure Go, default), xla:cpu, xla:cuda; "go:ops_parallel" etc. pass options to the pure-Go backend (default $GOMLX_BACKEND or go)`)
	fs.StringVar(&data, "data", "", "directory with the four MNIST .gz files (default: $OPTLAB_DATA, ./data/mnist, then the Go module cache)")
	fs.StringVar(&jsonOut, "json", "", `also write the results as JSON to this file ("-" for stdout, replacing the table)`)
	fs.Int64Var(&seed, "seed", 1, "random seed of the weights and the batch order")
	fs.BoolVar(&fastDense, "fast-dense", true, "route dense layers' backward pass through explicit matrix products (models.Options.FastDense)")
	fs.IntVar(&members, "population", 1, "also train each model and batch size as a learning-rate sweep of this many members in one population and report trials/hour next to one-by-one training (1: off)")
	fs.StringVar(&memoryLimit, "memory-limit", "", memoryLimitUsage)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	names := lists.Split(modelList, ",")
	for _, m := range names {
		if _, err := models.Get(m); err != nil {
			return usageError("--models: %v", err)
		}
	}
	batches, err := lists.PositiveInts(batchList)
	if err != nil {
		return usageError("--batch-sizes: %v", err)
	}
	if len(names) > 0 && len(batches) == 0 {
		return usageError("--batch-sizes: no batch size given")
	}
	counts, err := lists.Counts(updateList)
	if err != nil {
		return usageError("--update-params: %v", err)
	}
	shapeList, err := parseShapes(updateShapes)
	if err != nil {
		return usageError("--update-shapes: %v", err)
	}
	if steps < 1 {
		return usageError("--steps must be ≥ 1, got %d", steps)
	}
	if epochs < 1 {
		return usageError("--epochs must be ≥ 1, got %d", epochs)
	}
	if updateSteps < 1 {
		return usageError("--update-steps must be ≥ 1, got %d", updateSteps)
	}
	if members < 1 {
		return usageError("--population must be ≥ 1, got %d", members)
	}
	limit, err := parseMemoryLimit(memoryLimit)
	if err != nil {
		return err
	}
	opt, err := optimizers.Parse(optimizer)
	if err != nil {
		return usageError("--optimizer: %v", err)
	}
	updateOptimizer, err := optimizers.Parse(updateOpt)
	if err != nil {
		return usageError("--update-optimizer: %v", err)
	}

	if len(names) > 0 {
		for _, b := range batches {
			if n := datasets.MNISTTrainSize; b > n/steps {
				return usageError("--steps %d at batch size %d needs %d training images, MNIST has %d", steps, b, b*steps, n)
			}
		}
	}
	for _, dims := range append(shapesOf(counts), shapeList...) {
		// Parameters, gradients, the update and the optimizer's state, in float32.
		n := int64(1)
		for _, d := range dims {
			n *= int64(d)
		}
		need := uint64(n)*4*3 + uint64(updateOptimizer.StateBytesFor(shapes.Make(dtypes.Float32, dims...)))
		if limit := sysmem.Limit(); limit > 0 && need > limit {
			return usageError("update benchmark of shape %s needs at least %s of memory for %s, this machine allows %s",
				formatShape(dims), humanize.IBytes(need), updateOpt, humanize.IBytes(limit))
		}
	}
	if jsonOut != "" && jsonOut != "-" {
		if err := checkWritableFile("--json", jsonOut); err != nil {
			return err
		}
	}
	be, err := optlab.NewBackend(backend)
	if err != nil {
		return err
	}
	cfg := bench.Config{Models: names, BatchSizes: batches, Optimizer: opt, Steps: steps, Epochs: epochs, Seed: seed,
		FastDense: fastDense, UpdateParams: counts, UpdateShapes: shapeList, UpdateOptimizer: updateOptimizer, UpdateSteps: updateSteps,
		BackendConfig: optlab.BackendName(backend), Population: members, TrainPopulation: populationTrainer(limit)}
	if len(names) > 0 {
		m, err := datasets.LoadMNIST(data)
		if err != nil {
			return err
		}
		cfg.Train = m.Train
	}
	table := jsonOut != "-"
	var onTrain func(*bench.TrainResult)
	var onUpdate func(*bench.UpdateResult)
	if table {
		var tw *tabwriter.Writer
		onTrain = func(r *bench.TrainResult) {
			if tw == nil {
				fmt.Fprintf(stdout, "Training throughput: backend %s, optimizer %s, %d timed steps (after one untimed epoch)\n", be.Name(), optimizer, steps*epochs)
				tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(tw, "model\tbatch\tsamples/s\tfirst step\tCPU/wall\tpeak RSS\t")
			}
			fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f s\t%.2f\t%s\t\n", r.Model, r.BatchSize, r.SamplesPerSec, r.FirstStepSeconds, r.CPUSeconds/r.Seconds, plots.FormatBytes(float64(r.PeakRSSBytes)))
			tw.Flush()
		}
		var uw *tabwriter.Writer
		onUpdate = func(r *bench.UpdateResult) {
			if uw == nil {
				fmt.Fprintf(stdout, "\nOptimizer update throughput: %s, float32, %d timed updates\n", updateOpt, updateSteps)
				uw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(uw, "params\tms/update\tparams/s\teffective GB/s\tstate (reported)\tstate (RSS growth)\tpeak RSS\t")
			}
			params := humanCount(r.Params)
			if len(r.Shape) > 1 {
				params = formatShape(r.Shape)
			}
			fmt.Fprintf(uw, "%s\t%.3f\t%.3g\t%.2f\t%s\t%s\t%s\t\n", params, 1e3*r.SecondsPerStep, r.ParamsPerSec,
				r.BytesPerSec/1e9, plots.FormatBytes(float64(r.StateBytes)), plots.FormatBytes(float64(r.RSSGrowthBytes)), plots.FormatBytes(float64(r.PeakRSSBytes)))
			uw.Flush()
		}
	}
	if table && members > 1 {
		var pw *tabwriter.Writer
		cfg.OnPopulation = func(r *bench.PopulationResult) {
			if pw == nil {
				fmt.Fprintf(stdout, "\nPopulation throughput: learning-rate sweeps of %d members (lr/10 … lr·10) in one graph vs one by one; trials of %d examples (one MNIST epoch), training steps only\n",
					members, bench.TrialExamples)
				pw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
				fmt.Fprintln(pw, "model\tbatch\tmembers\tsamples/s (all members)\ttrials/h\ttrials/h one by one\tspeedup\tfirst step\tpeak RSS\t")
			}
			fmt.Fprintf(pw, "%s\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.2f×\t%.2f s\t%s\t\n", r.Model, r.BatchSize, r.Members, r.MemberSamplesPerSec,
				r.TrialsPerHour, r.SequentialTrialsPerHour, r.Speedup, r.FirstStepSeconds, plots.FormatBytes(float64(r.PeakRSSBytes)))
			pw.Flush()
		}
	}
	rep, err := bench.Run(be, cfg, onTrain, onUpdate)
	if err != nil {
		return err
	}
	if jsonOut != "" {
		enc, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		enc = append(enc, '\n')
		if jsonOut == "-" {
			_, err = stdout.Write(enc)
			return err
		}
		if err := os.WriteFile(jsonOut, enc, 0o644); err != nil {
			return fmt.Errorf("writing %s: %w", jsonOut, err)
		}
	}
	return nil
}

// humanCount prints a parameter count as 1k, 1M or 1G when it is a round
// thousand, million or billion.
func humanCount(n int64) string {
	switch {
	case n >= 1e9 && n%1e9 == 0:
		return fmt.Sprintf("%dG", n/1e9)
	case n >= 1e6 && n%1e6 == 0:
		return fmt.Sprintf("%dM", n/1e6)
	case n >= 1e3 && n%1e3 == 0:
		return fmt.Sprintf("%dk", n/1e3)
	}
	return strconv.FormatInt(n, 10)
}

// parseShapes reads "1000x1000,4096x1024": shapes of 1 to 1e10 parameters.
func parseShapes(s string) ([][]int, error) {
	var out [][]int
	for _, part := range lists.Split(s, ",") {
		var dims []int
		n := int64(1)
		for _, d := range strings.Split(part, "x") {
			v, err := strconv.Atoi(strings.TrimSpace(d))
			if err != nil || v < 1 {
				return nil, fmt.Errorf("%q: want dimensions ≥ 1 separated by x, e.g. 1000x1000", part)
			}
			if n > 1e10/int64(v) {
				return nil, fmt.Errorf("%q has more than 1e10 parameters", part)
			}
			n *= int64(v)
			dims = append(dims, v)
		}
		out = append(out, dims)
	}
	return out, nil
}

// shapesOf turns parameter counts into the shapes of flat vectors.
func shapesOf(counts []int64) [][]int {
	out := make([][]int, len(counts))
	for i, n := range counts {
		out[i] = []int{int(n)}
	}
	return out
}

// formatShape prints dims as 1000x1000.
func formatShape(dims []int) string {
	parts := make([]string, len(dims))
	for i, d := range dims {
		parts[i] = strconv.Itoa(d)
	}
	return strings.Join(parts, "x")
}
