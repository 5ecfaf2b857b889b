package main

import (
	"fmt"
	"io"

	"optlab.dev/optlab"
)

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", "Summarise sweep results as an optimizer report card: per optimizer, the best learning rate, test\naccuracy (mean ± std over seeds), train–test gap, epochs to a target validation accuracy, learning-rate\nsensitivity, optimizer state and time per step. Prints the tables and writes report.md, lr.png and\nbars.png under --out. Several stores are combined as 'optlab merge' would (one record per trial).", stderr)
	stores := fs.String("store", "results/sweep.jsonl", "results store(s), comma-separated")
	out := fs.String("out", "results/report", "directory for report.md and the figures")
	target := fs.Float64("target", 0, "validation accuracy for 'epochs to target' (0: the lowest best-lr accuracy among the optimizers, rounded down to 0.005)")
	tol := fs.Float64("tolerance", 0.01, "a learning rate is 'good' when its mean validation accuracy is within this of the best")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *target < 0 || *target >= 1 {
		return usageError("--target must be in [0, 1), got %v", *target)
	}
	if !(*tol > 0) || *tol >= 1 {
		return usageError("--tolerance must be in (0, 1), got %v", *tol)
	}
	paths := splitList(*stores)
	if len(paths) == 0 {
		return usageError("--store: no store given")
	}
	recs, damage, err := optlab.ReadStores(paths...)
	if err != nil {
		return err
	}
	for p, ds := range damage {
		for _, d := range ds {
			fmt.Fprintf(stderr, "optlab report: %s: skipped damaged %s\n", p, d)
		}
	}
	if len(recs) == 0 {
		return fmt.Errorf("no finished trials in %v", paths)
	}
	rep := optlab.BuildReport(recs, optlab.ReportOptions{Target: *target, Tolerance: *tol})
	fmt.Fprintf(stdout, "%d trials from %d store(s)\n\n%s\n", rep.Trials, len(paths), rep.Table().String())
	fmt.Fprintf(stdout, "%s\n", rep.LRTable().String())
	for _, h := range rep.Highlights() {
		fmt.Fprintf(stdout, "- %s\n", h)
	}
	files, err := rep.Save(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nwrote %v\n", files)
	return nil
}
