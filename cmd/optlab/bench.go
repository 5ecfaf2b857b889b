package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"optlab.dev/optlab"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// benchReport is what `optlab bench --json` writes.
type benchReport struct {
	Date       string                    `json:"date"`
	Host       benchHost                 `json:"host"`
	Training   []*optlab.TrainBenchmark  `json:"training"`
	Updates    []*optlab.UpdateBenchmark `json:"updates"`
	FastDense  bool                      `json:"fast_dense"`
	BackendCfg string                    `json:"backend_config"`
}

type benchHost struct {
	GOOS      string `json:"goos"`
	GOARCH    string `json:"goarch"`
	NumCPU    int    `json:"num_cpu"`
	GoVersion string `json:"go_version"`
}

func runBench(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "Measure training throughput (samples/s) and time to first step of the models at the\n"+
		"given batch sizes, optimizer update throughput for the given parameter counts, and peak\n"+
		"resident memory, on the selected backend. scripts/bench/compare.py runs this and the\n"+
		"PyTorch reference back to back and prints the ratios.", stderr)
	var (
		modelList, batchList, optimizer, updateList, updateOpt, backend, data, jsonOut string
		steps, epochs, updateSteps                                                     int
		seed                                                                           int64
		fastDense                                                                      bool
	)
	fs.StringVar(&modelList, "models", "mlp-small,mlp-bn", "comma-separated models to train: "+strings.Join(models.ModelNames(), ", ")+` ("" for none)`)
	fs.StringVar(&batchList, "batch-sizes", "32,256", "comma-separated batch sizes")
	fs.StringVar(&optimizer, "optimizer", "adam", "optimizer spec for the training benchmark")
	fs.IntVar(&steps, "steps", 200, "timed training steps per epoch")
	fs.IntVar(&epochs, "epochs", 2, "timed epochs (an untimed first epoch compiles and warms up)")
	fs.StringVar(&updateList, "update-params", "1e6", `comma-separated parameter counts for the optimizer update benchmark, e.g. "1e6,1e8" ("" for none)`)
	fs.StringVar(&updateOpt, "update-optimizer", "adam", "optimizer spec for the update benchmark")
	fs.IntVar(&updateSteps, "update-steps", 20, "timed updates per parameter count")
	fs.StringVar(&backend, "backend", "", `GoMLX backend: go (pure Go, default), xla:cpu, xla:cuda; "go:ops_parallel" etc. pass options to the pure-Go backend (default $GOMLX_BACKEND or go)`)
	fs.StringVar(&data, "data", "", "directory with the four MNIST .gz files (default: $OPTLAB_DATA, ./data/mnist, then the Go module cache)")
	fs.StringVar(&jsonOut, "json", "", `also write the results as JSON to this file ("-" for stdout, replacing the table)`)
	fs.Int64Var(&seed, "seed", 1, "random seed of the weights and the batch order")
	fs.BoolVar(&fastDense, "fast-dense", true, "route dense layers' backward pass through explicit matrix products (models.Options.FastDense)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var names []string
	for _, m := range splitList(modelList) {
		if _, err := models.Get(m); err != nil {
			return usageError("--models: %v", err)
		}
		names = append(names, m)
	}
	batches, err := parseInts("--batch-sizes", batchList)
	if err != nil {
		return err
	}
	if len(names) > 0 && len(batches) == 0 {
		return usageError("--batch-sizes: no batch size given")
	}
	counts, err := parseCounts("--update-params", updateList)
	if err != nil {
		return err
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
	for flagName, spec := range map[string]string{"--optimizer": optimizer, "--update-optimizer": updateOpt} {
		if _, err := optimizers.Parse(spec); err != nil {
			return usageError("%s: %v", flagName, err)
		}
	}

	be, err := optlab.NewBackend(backend)
	if err != nil {
		return err
	}
	rep := &benchReport{
		Date:       time.Now().UTC().Format(time.RFC3339),
		Host:       benchHost{runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), runtime.Version()},
		FastDense:  fastDense,
		BackendCfg: optlab.BackendName(backend),
	}
	if rep.BackendCfg == "go" || rep.BackendCfg == "simplego" {
		rep.BackendCfg = optlab.PureGoConfig // what NewBackend made of it
	}
	table := jsonOut != "-"
	var tw *tabwriter.Writer
	if len(names) > 0 {
		m, err := models.LoadMNIST(data)
		if err != nil {
			return err
		}
		for _, b := range batches {
			if b*steps > m.Train.Len() {
				return usageError("--steps %d at batch size %d needs %d training images, MNIST has %d", steps, b, b*steps, m.Train.Len())
			}
		}
		opts := models.DefaultOptions()
		opts.FastDense = fastDense
		if table {
			fmt.Fprintf(stdout, "Training throughput: backend %s, optimizer %s, %d timed steps (after one untimed epoch)\n", be.Name(), optimizer, steps*epochs)
			tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "model\tbatch\tsamples/s\tfirst step\tCPU/wall\tpeak RSS\t")
		}
		for _, name := range names {
			for _, b := range batches {
				r, err := optlab.BenchTraining(be, m.Train, name, optimizer, b, steps, epochs, seed, &opts)
				if err != nil {
					return err
				}
				rep.Training = append(rep.Training, r)
				if table {
					fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.2f s\t%.2f\t%s\t\n", r.Model, r.BatchSize, r.SamplesPerSec, r.FirstStepSeconds, r.CPUSeconds/r.Seconds, mib(r.PeakRSSBytes))
					tw.Flush()
				}
			}
		}
	}
	if len(counts) > 0 {
		if table {
			fmt.Fprintf(stdout, "\nOptimizer update throughput: %s, float32, %d timed updates\n", updateOpt, updateSteps)
			tw = tabwriter.NewWriter(stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "params\tms/update\tparams/s\teffective GB/s\tstate (reported)\tstate (RSS growth)\tpeak RSS\t")
		}
		for _, n := range counts {
			r, err := optlab.BenchUpdate(be, updateOpt, n, updateSteps)
			if err != nil {
				return err
			}
			rep.Updates = append(rep.Updates, r)
			if table {
				fmt.Fprintf(tw, "%s\t%.3f\t%.3g\t%.2f\t%s\t%s\t%s\t\n", humanCount(n), 1e3*r.SecondsPerStep, r.ParamsPerSec,
					r.BytesPerSec/1e9, mib(r.StateBytes), mib(r.RSSGrowthBytes), mib(r.PeakRSSBytes))
				tw.Flush()
			}
		}
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

// parseInts reads a comma-separated list of positive integers.
func parseInts(flagName, s string) ([]int, error) {
	var out []int
	for _, p := range splitList(s) {
		v, err := strconv.Atoi(p)
		if err != nil || v < 1 {
			return nil, usageError("%s: %q is not a positive integer", flagName, p)
		}
		out = append(out, v)
	}
	return out, nil
}

// parseCounts reads a comma-separated list of positive counts, accepting
// exponent notation ("1e6").
func parseCounts(flagName, s string) ([]int64, error) {
	var out []int64
	for _, p := range splitList(s) {
		v, err := strconv.ParseFloat(p, 64)
		if err != nil || v < 1 || v > 1e10 || v != float64(int64(v)) {
			return nil, usageError("%s: %q is not a whole number between 1 and 1e10", flagName, p)
		}
		out = append(out, int64(v))
	}
	return out, nil
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

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
