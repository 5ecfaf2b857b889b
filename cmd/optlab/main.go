// Command optlab runs optimizer experiments headlessly: it compares optimizers on
// MNIST, trains one configuration, traces update rules on analytic problems,
// draws loss landscapes, runs sweeps and benchmarks.
//
// Run `optlab help` for the list of commands and `optlab COMMAND -h` for the
// flags of one command.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"

	"optlab.dev/optlab"
)

// command is one sub-command of the CLI.
type command struct {
	summary string
	// trains is set for commands that run models on a backend: they print
	// optlab.SIMDHint when the binary lacks the SIMD kernels.
	trains bool
	// run executes the command with its arguments (the command name removed).
	// It returns errUsage (possibly wrapped) for bad flags or arguments.
	run func(args []string, stdout, stderr io.Writer) error
}

// errUsage marks errors caused by bad command-line input: they exit with code 2.
var errUsage = errors.New("usage")

// usageError formats a one-line usage error.
func usageError(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{errUsage}, args...)...)
}

// commands returns the table of sub-commands. Each file of this package that
// implements a command adds its entry here.
func commands() map[string]command {
	return map[string]command{
		"bench":      {"measure training and optimizer-update throughput, time to first step and peak memory", true, runBench},
		"benchmark":  {"score optimizers AlgoPerf-style: time to a validation target on CPU-sized workloads, tuned or not", true, runBenchmark},
		"compare":    {"train several optimizers on fresh models and compare them (the main job)", true, runCompare},
		"train":      {"train one model with one optimizer", true, runTrain},
		"trace":      {"print the parameters of N updates of an optimizer on a quadratic or 2-D test function (CSV)", true, runTrace},
		"optimizers": {"list the optimizers, their hyperparameters and defaults, and the schedules", false, runOptimizers},
		"landscape":  {"run optimizers on a 2-D test function; print where they end, draw contours and a GIF", true, runLandscape},
		"sweep":      {"run a resumable grid of trials into a results store", true, runSweep},
		"merge":      {"merge results stores (files or folders) from several machines, one record per trial", false, runMerge},
		"import":     {"convert JSON Lines results stores of earlier versions into a SQLite store", false, runImport},
		"report":     {"summarise a results store as an optimizer report card", false, runReport},
		"lrfind":     {"learning-rate range test: the loss as the rate grows, with the steepest and divergence points", true, runLRFind},
		"sharpness":  {"track the top Hessian eigenvalue while training (edge of stability, SGD vs Adam)", true, runSharpness},
		"slice":      {"loss-landscape slices: random or PCA planes around a solution, lines between solutions", true, runSlice},
		"caches":     {"check that the notebooks' committed results were computed by the current code", false, runCaches},
	}
}

func main() {
	threadsFromSlurm()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run dispatches to a sub-command and maps errors to exit codes:
// 0 success, 1 runtime failure, 2 bad usage.
func run(args []string, stdout, stderr io.Writer) int {
	cmds := commands()
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		printHelp(stdout, cmds)
		return 0
	}
	c, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "optlab: unknown command %q (run 'optlab help' for the list)\n", args[0])
		return 2
	}
	if hint := optlab.SIMDHint(); c.trains && hint != "" {
		fmt.Fprintln(stderr, hint)
	}
	err := c.run(args[1:], stdout, stderr)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "optlab %s: %v\n", args[0], err)
		return 2
	default:
		fmt.Fprintf(stderr, "optlab %s: %v\n", args[0], err)
		return 1
	}
}

func printHelp(w io.Writer, cmds map[string]command) {
	fmt.Fprintln(w, "optlab: a lab for studying neural-network optimizers (GoMLX).")
	fmt.Fprintln(w, "\nUsage: optlab COMMAND [flags]\n\nCommands:")
	names := make([]string, 0, len(cmds))
	for n := range cmds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, cmds[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'optlab COMMAND -h' for the flags of a command.")
	fmt.Fprintln(w, "Backends: the pure-Go backend (go) is the default; set --backend or GOMLX_BACKEND to xla:cpu or xla:cuda.")
}

// newFlagSet returns a FlagSet for a sub-command that reports errors instead of
// exiting. Its Usage prints the synopsis and the flags to stderr; parseFlags
// calls it only for -h, so a bad flag gives a one-line error.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("optlab "+name, flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: optlab %s [flags]\n\n%s\n\nFlags:\n", name, synopsis)
		fs.SetOutput(stderr)
		fs.PrintDefaults()
		fs.SetOutput(io.Discard)
	}
	return fs
}

// parseFlags parses args and turns flag errors into one-line usage errors.
func parseFlags(fs *flag.FlagSet, args []string) error {
	usage := fs.Usage
	fs.Usage = func() {} // the flag package calls it on every error; we print one line instead
	fs.SetOutput(io.Discard)
	err := fs.Parse(args)
	fs.Usage = usage
	if errors.Is(err, flag.ErrHelp) {
		usage()
		return flag.ErrHelp
	}
	if err != nil {
		return usageError("%v", err)
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	return nil
}
