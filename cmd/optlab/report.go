package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strings"

	"optlab.dev/internal/lists"
	"optlab.dev/optlab/reportcard"
	"optlab.dev/optlab/store"
	"optlab.dev/optlab/sweep"
)

func runReport(args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("report", "Summarise sweep results as an optimizer report card: per optimizer, the best learning rate, test\naccuracy (mean ± std over seeds), train–test gap, epochs to a target validation accuracy, learning-rate\nsensitivity, optimizer state and time per step. Prints the tables and writes report.md, lr.png and\nbars.png under --out. Several stores (files or folders) are combined as 'optlab merge' would (one\nrecord per trial); JSON Lines stores of earlier versions are read too.\n\nWith --trials, print one row per trial instead (its configuration, final metrics and every epoch's\nmetrics, without timings or host: two runs of the same trials print the same table) and write nothing.", stderr)
	stores := fs.String("store", "results/sweep.db", "results store(s) or folders of stores, comma-separated")
	out := fs.String("out", "results/report", "directory for report.md and the figures")
	target := fs.Float64("target", 0, "validation accuracy for 'epochs to target' (0: the lowest best-lr accuracy among the optimizers, rounded down to 0.005)")
	tol := fs.Float64("tolerance", 0.01, "a learning rate is 'good' when its mean validation accuracy is within this of the best")
	trials := fs.Bool("trials", false, "print one row per trial, sorted by trial ID, instead of the report card")
	format := fs.String("format", "tsv", "with --trials: tsv or csv")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if !(*target >= 0 && *target < 1) {
		return usageError("--target must be in [0, 1), got %v", *target)
	}
	if !(*tol > 0) || *tol >= 1 {
		return usageError("--tolerance must be in (0, 1), got %v", *tol)
	}
	if *format != "tsv" && *format != "csv" {
		return usageError("--format: %q is not tsv or csv", *format)
	}
	paths := lists.Split(*stores, ",")
	if len(paths) == 0 {
		return usageError("--store: no store given")
	}
	recs, damage, err := store.ReadAll(paths...)
	if err != nil {
		return err
	}
	for p, ds := range damage {
		for _, d := range ds {
			fmt.Fprintf(stderr, "optlab report: %s: skipped damaged %s\n", p, d)
		}
	}
	if *trials {
		return printTrials(stdout, recs, *format)
	}
	// Benchmark trials (and those of any protocol) are scored by their own
	// report, not by the report card.
	sweeps := recs[:0:0]
	for _, r := range recs {
		if len(r.Trial.Protocol) == 0 {
			sweeps = append(sweeps, r)
		}
	}
	if n := len(recs) - len(sweeps); n > 0 {
		fmt.Fprintf(stderr, "optlab report: left out %d benchmark trial(s): score them with 'optlab benchmark report'\n", n)
	}
	recs = sweeps
	if len(recs) == 0 {
		return fmt.Errorf("no finished sweep trials in %s", strings.Join(paths, ", "))
	}
	if err := checkWritableDir("--out", *out); err != nil {
		return err
	}
	rep := reportcard.Build(recs, reportcard.Options{Target: *target, Tolerance: *tol})
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

// printTrials writes store.TrialTable, sorted by trial ID, as TSV or CSV.
func printTrials(w io.Writer, recs []sweep.Record, format string) error {
	header, rows, err := store.TrialTable(recs)
	if err != nil {
		return err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i][0] < rows[j][0] })
	if format == "csv" {
		cw := csv.NewWriter(w)
		if err := cw.Write(header); err != nil {
			return err
		}
		if err := cw.WriteAll(rows); err != nil {
			return err
		}
		return cw.Error()
	}
	// TSV: a tab or newline inside a cell (an error message) becomes a space.
	clean := strings.NewReplacer("\t", " ", "\n", " ", "\r", " ")
	for _, row := range append([][]string{header}, rows...) {
		for i, c := range row {
			row[i] = clean.Replace(c)
		}
		if _, err := fmt.Fprintln(w, strings.Join(row, "\t")); err != nil {
			return err
		}
	}
	return nil
}
