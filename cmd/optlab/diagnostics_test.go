package main

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func exists(t *testing.T, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", p, err)
		}
	}
}

func TestLRFindCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI("lrfind", "--optimizers", "sgd(momentum=0.9)", "--limit", "1200", "--steps", "40",
		"--min-lr", "1e-4", "--max-lr", "100", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"steepest descent: lr", "divergence: lr", "suggested range:", "rule: loss smoothed by an exponential moving average with bias correction"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	rows := readCSV(t, filepath.Join(dir, "lrfind.csv"))
	if strings.Join(rows[0], ",") != "step,lr,loss,smoothed_loss" || rows[1][1] != "0.0001" || len(rows) > 41 {
		t.Errorf("lrfind.csv: %d rows, %v", len(rows), rows[:2])
	}
	exists(t, filepath.Join(dir, "lrfind.png"))
}

func TestSharpnessCommand(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI("sharpness", "--optimizers", "sgd(lr=0.1); adam(lr=1e-3)", "--limit", "300", "--batch-size", "300",
		"--epochs", "6", "--every", "3", "--examples", "100", "--trace-samples", "2", "--telemetry", "3", "--quiet", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"Sharpness (λ_max of the training loss)", "sgd(lr=0.1)", "adam(lr=1e-3)", "2/η", "sharpness.csv"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	rows := readCSV(t, filepath.Join(dir, "sharpness.csv"))
	// Two runs × (sharpness + hessian_trace) × measurements after 0, 3, 6 updates.
	if strings.Join(rows[0], ",") != "run,series,step,value" || len(rows) != 1+2*2*3 {
		t.Errorf("sharpness.csv: %d rows: %v", len(rows), rows)
	}
	exists(t, filepath.Join(dir, "sharpness.png"), filepath.Join(dir, "sharpness_runs.json"),
		filepath.Join(dir, "sharpness_telemetry_2.csv"), filepath.Join(dir, "sharpness_telemetry_2.png"))
}

func TestSliceCommand(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		want  string
		files []string
		rows  int
	}{
		{[]string{"--mode", "random", "--points", "5"}, "loss at the solution", []string{"slice.csv", "slice.png"}, 1 + 25},
		{[]string{"--mode", "pca", "--points", "5", "--snapshots", "6"}, "principal directions explain", []string{"slice.csv", "slice.png", "slice_path.csv"}, 1 + 25},
		{[]string{"--mode", "line", "--points", "7", "--optimizers", "sgd(lr=0.1); adam(lr=1e-3)"}, "highest between them", []string{"slice.csv", "slice.png"}, 1 + 7},
		{[]string{"--mode", "line", "--points", "7"}, "loss at initial weights", []string{"slice.csv"}, 1 + 7},
	} {
		dir := t.TempDir()
		args := append([]string{"slice", "--limit", "600", "--examples", "100", "--out", dir}, tc.args...)
		code, out, errOut := runCLI(args...)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, errOut)
		}
		if !strings.Contains(out, tc.want) {
			t.Errorf("%v: output lacks %q:\n%s", tc.args, tc.want, out)
		}
		for _, f := range tc.files {
			exists(t, filepath.Join(dir, f))
		}
		if rows := readCSV(t, filepath.Join(dir, "slice.csv")); len(rows) != tc.rows {
			t.Errorf("%v: slice.csv has %d rows, want %d", tc.args, len(rows), tc.rows)
		}
	}
}

func TestTrainTelemetryAndAccumulation(t *testing.T) {
	dir := t.TempDir()
	code, out, errOut := runCLI("train", "--optimizers", "adam(lr=1e-3)", "--limit", "600", "--epochs", "1", "--batch-size", "25",
		"--accumulate", "2", "--telemetry", "4", "--out", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "train_telemetry.csv") {
		t.Errorf("output lacks the telemetry files:\n%s", out)
	}
	// 600 examples in updates of 2 × 25: 12 updates, measured after 4, 8, 12.
	rows := readCSV(t, filepath.Join(dir, "train_telemetry.csv"))
	if len(rows) != 1+3*7 || rows[1][0] != "4" || rows[len(rows)-1][0] != "12" {
		t.Errorf("train_telemetry.csv: %d rows", len(rows))
	}
	exists(t, filepath.Join(dir, "train_telemetry.png"))
}

func TestDiagnosticsBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"lrfind", "--min-lr", "1", "--max-lr", "0.1"}, "need 0 < min lr < max lr, got 1 and 0.1"},
		{[]string{"lrfind", "--steps", "2"}, "steps must be ≥ 5, got 2"},
		{[]string{"lrfind", "--optimizers", "sgd; adam"}, "lrfind takes one optimizer, got 2"},
		{[]string{"lrfind", "--accumulate", "0"}, "--accumulate must be ≥ 1, got 0"},
		{[]string{"sharpness", "--every", "0"}, "--every must be ≥ 1, got 0"},
		{[]string{"sharpness", "--method", "lanczos"}, `unknown Hessian-vector product method "lanczos"`},
		{[]string{"sharpness", "--examples", "5000"}, "--examples 5000 exceeds the 1000 training examples"},
		{[]string{"slice", "--mode", "cube"}, `unknown mode "cube" (valid: line, random, pca)`},
		{[]string{"slice", "--mode", "random", "--optimizers", "sgd; adam"}, "mode random takes one optimizer, got 2"},
		{[]string{"slice", "--points", "2"}, "points per axis must be in [3, 201], got 2"},
		{[]string{"slice", "--biases", "some"}, `--biases: "some" is not zero or normalize`},
		{[]string{"slice", "--points", "201", "--examples", "5000", "--limit", "0"}, "exceed the limit"},
		{[]string{"train", "--telemetry", "-1"}, "--telemetry must be ≥ 0, got -1"},
		{[]string{"compare", "--accumulate", "0"}, "--accumulate must be ≥ 1, got 0"},
	} {
		code, _, stderr := runCLI(c.args...)
		if code != 2 {
			t.Errorf("%v: exit code %d, want 2 (stderr %q)", c.args, code, stderr)
		}
		if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr %q, want one line containing %q", c.args, stderr, c.want)
		}
	}
}
