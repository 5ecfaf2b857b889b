package main

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/dustin/go-humanize"
	"optlab.dev/optlab/optimizers"
)

const optimizersSynopsis = `Lists every optimizer and wrapper with its hyperparameters, defaults and a
one-line description, then the learning-rate schedules and the options every
optimizer accepts. Specs read name(key=value,...), e.g. adam(lr=1e-3,b1=0.9);
wrappers take the optimizer they wrap as base=SPEC, e.g.
lookahead(base=adam(lr=1e-3),k=5).`

// runOptimizers implements `optlab optimizers`.
func runOptimizers(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("optimizers", optimizersSynopsis, stderr)
	equations := fs.Bool("equations", false, "also print each update rule's equations and reference")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "Optimizers (spec: name(key=value,...); defaults follow PyTorch, or the paper for rules PyTorch lacks;")
	fmt.Fprintln(stdout, "keras=true switches to Keras's; wrappers take the optimizer they wrap as base=SPEC):")
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

func printInfo(w io.Writer, info optimizers.Info, equations bool) {
	fmt.Fprintf(w, "\n  %s — %s\n", info.Name, info.Summary)
	if info.Params != nil && info.Reference != "" {
		switch {
		case info.Wrapper:
			fmt.Fprintf(w, "    state with the defaults: %d buffer(s) per parameter on top of the base's\n", info.StateSlots)
		case info.StateBytes1000x1000 != int64(info.StateSlots)*4_000_000:
			// factored or per-block state: the size depends on the shapes
			fmt.Fprintf(w, "    state with the defaults: %s for a 1000×1000 float32 matrix (%d buffer(s) per parameter plus per-shape statistics)\n",
				humanize.IBytes(uint64(info.StateBytes1000x1000)), info.StateSlots)
		default:
			fmt.Fprintf(w, "    state with the defaults: %d buffer(s) per parameter (%s per 1M float32 parameters)\n",
				info.StateSlots, humanize.IBytes(uint64(info.StateSlots)*4_000_000))
		}
		if !info.Population {
			fmt.Fprintln(w, "    trains alone: not in a population (--population)")
		}
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
