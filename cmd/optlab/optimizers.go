package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"optlab.dev/optlab/optimizers"
)

const optimizersSynopsis = `Lists every optimizer with its hyperparameters, defaults and a one-line
description, then the learning-rate schedules and the options every optimizer
accepts. Specs read name(key=value,...), e.g. adam(lr=1e-3,b1=0.9).`

// runOptimizers implements `optlab optimizers`.
func runOptimizers(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("optimizers", optimizersSynopsis, stderr)
	equations := fs.Bool("equations", false, "also print each update rule's equations and reference")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Optimizers (spec: name(key=value,...); defaults follow PyTorch, keras=true switches to Keras's):")
	for _, info := range optimizers.List() {
		printInfo(stdout, info, *equations)
	}
	fmt.Fprintln(stdout, "\nSchedules (schedule=NAME(...) in any optimizer spec; k counts updates from 0):")
	for _, info := range optimizers.ListSchedules() {
		printInfo(stdout, info, *equations)
	}
	fmt.Fprintln(stdout, "\nOptions accepted by every optimizer:")
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	for _, p := range optimizers.GeneralOptions() {
		fmt.Fprintf(tw, "    %s\t= %s\t%s\n", p.Key, p.Default, p.Doc)
	}
	return tw.Flush()
}

// stateMiB formats a byte count in MiB.
func stateMiB(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

func printInfo(w io.Writer, info optimizers.Info, equations bool) {
	fmt.Fprintf(w, "\n  %s — %s\n", info.Name, info.Summary)
	if info.Params != nil && info.Reference != "" {
		fmt.Fprintf(w, "    state with the defaults: %d buffer(s) per parameter (%s per 1M float32 parameters)\n",
			info.StateSlots, stateMiB(int64(info.StateSlots)*4_000_000))
	}
	if equations {
		fmt.Fprintf(w, "    %s\n", info.Equations)
		if info.Reference != "" {
			fmt.Fprintf(w, "    reference: %s\n", info.Reference)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range info.Params {
		key := p.Key
		if len(p.Aliases) > 0 {
			key += " (" + strings.Join(p.Aliases, ", ") + ")"
		}
		fmt.Fprintf(tw, "    %s\t= %s\t%s\n", key, p.Default, p.Doc)
	}
	tw.Flush() //nolint:errcheck // the caller's writer reports errors on its own flush
}
