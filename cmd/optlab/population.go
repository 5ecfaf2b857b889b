package main

import (
	stdctx "context"
	"fmt"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/population"
	"optlab.dev/optlab/sweep"
)

// memoryLimitUsage is the help of the --memory-limit flag of the commands
// that train populations.
const memoryLimitUsage = `memory a population may use, e.g. "8GB" or "512MiB" (default: the machine's MemAvailable on CPU backends, no check on GPUs; "off": no check)`

// parseMemoryLimit reads --memory-limit as population.Options.MemoryLimit.
func parseMemoryLimit(s string) (int64, error) {
	switch strings.TrimSpace(s) {
	case "":
		return 0, nil
	case "off":
		return -1, nil
	}
	n, err := humanize.ParseBytes(s)
	if err != nil || n == 0 || n > 1<<62 {
		return 0, usageError("--memory-limit: %q is not a size such as 8GB or 512MiB", s)
	}
	return int64(n), nil
}

// populationTrainer is population.Train with the given memory limit.
func populationTrainer(limit int64) func(stdctx.Context, compute.Backend, *optlab.Data, []optlab.Config) ([]*optlab.History, error) {
	return func(ctx stdctx.Context, b compute.Backend, d *optlab.Data, cfgs []optlab.Config) ([]*optlab.History, error) {
		return population.TrainWith(ctx, b, d, cfgs, population.Options{MemoryLimit: limit})
	}
}

// describeJobs summarises the populations of a sweep: "3 populations of 16,
// 1 of 4, 2 trials alone".
func describeJobs(jobs [][]sweep.Trial) string {
	sizes := map[int]int{}
	var order []int
	for _, j := range jobs {
		if sizes[len(j)] == 0 {
			order = append(order, len(j))
		}
		sizes[len(j)]++
	}
	var parts []string
	for _, n := range order {
		if n == 1 {
			parts = append(parts, fmt.Sprintf("%d trial(s) alone", sizes[n]))
		} else {
			parts = append(parts, fmt.Sprintf("%d population(s) of %d", sizes[n], n))
		}
	}
	return strings.Join(parts, ", ")
}
