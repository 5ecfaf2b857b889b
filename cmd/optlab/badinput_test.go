package main

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/runs"
	"optlab.dev/optlab/store"
	"optlab.dev/optlab/sweep/sweeptest"
)

// runCaught runs the CLI in-process and turns a panic into a failure that
// names the arguments.
func runCaught(t *testing.T, args []string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	func() {
		defer func() {
			if p := recover(); p != nil {
				t.Errorf("optlab %s: panic: %v", strings.Join(quoteArgs(args), " "), p)
				code = -1
			}
		}()
		code = run(args, &out, &errb)
	}()
	return out.String(), errb.String(), code
}

func quoteArgs(args []string) []string {
	q := make([]string, len(args))
	for i, a := range args {
		q[i] = fmt.Sprintf("%q", a)
	}
	return q
}

// checkRejected asserts what a user must see for bad input: a non-zero exit,
// exactly one line on stderr that names the command, and no Go stack trace.
func checkRejected(t *testing.T, args []string) {
	t.Helper()
	out, errs, code := runCaught(t, args)
	if code == -1 {
		return
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(errs), "\n") {
		if hint := optlab.SIMDHint(); l != "" && (hint == "" || l != hint) {
			lines = append(lines, l)
		}
	}
	both := out + errs
	switch {
	case code == 0:
		t.Errorf("optlab %s: exit 0, want an error (stdout %q)", strings.Join(quoteArgs(args), " "), lastLines(out))
	case len(lines) != 1 || !strings.HasPrefix(lines[0], "optlab"):
		t.Errorf("optlab %s: stderr has %d lines, want one \"optlab...\" line:\n%s", strings.Join(quoteArgs(args), " "), len(lines), errs)
	case strings.Contains(both, "goroutine ") || strings.Contains(both, "panic:"):
		t.Errorf("optlab %s: Go stack trace in the output:\n%s", strings.Join(quoteArgs(args), " "), both)
	}
}

func lastLines(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-3):], "\n")
}

// badInputFixtures makes the files the cases below name.
type badInputFixtures struct {
	dir, store, garbage, empty, trial, jsonl string
}

func newBadInputFixtures(t *testing.T) badInputFixtures {
	dir := t.TempDir()
	f := badInputFixtures{dir: dir, store: filepath.Join(dir, "s.db"), garbage: filepath.Join(dir, "garbage.db"),
		empty: filepath.Join(dir, "empty"), trial: filepath.Join(dir, "t.json"), jsonl: filepath.Join(dir, "old.jsonl")}
	s, err := store.Open(f.store, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(sweeptest.FakeRecord(t, "adam", 1, 0.9)); err != nil {
		t.Fatal(err)
	}
	s.Close()
	os.WriteFile(f.garbage, []byte("definitely not a database, just some text that is long enough"), 0o644)
	os.WriteFile(f.jsonl, []byte("{\"id\":\"torn"), 0o644)
	os.MkdirAll(f.empty, 0o755)
	os.WriteFile(f.trial, []byte(`{"model":"logreg","optimizer":"adam","seed":1,"batch_size":32,"epochs":1,"limit":300}`), 0o644)
	return f
}

// TestBadInputFailsCleanly runs every subcommand with malformed, extreme and
// contradictory flag values: zero, negative, huge, NaN, empty lists, unknown
// names, unwritable paths. Each must fail before doing any work with one
// line and no stack trace. The commands that train get a tiny base
// configuration, so a case that is wrongly accepted costs seconds, not hours.
func TestBadInputFailsCleanly(t *testing.T) {
	f := newBadInputFixtures(t)
	unwritable := "/proc/optlab-nope"
	cases := map[string][][]string{
		"compare": {
			{"--epochs", "0"}, {"--epochs", "-1"}, {"--epochs", "99999999999999999999"}, {"--epochs", "x"},
			{"--batch-size", "0"}, {"--batch-size", "-5"}, {"--batch-size", "1000000000"}, {"--batch-size", "301"},
			{"--limit", "-1"}, {"--model", "nope"}, {"--model", ""}, {"--split", "half"}, {"--non-finite", "ignore"},
			{"--optimizers", ""}, {"--optimizers", ";;"}, {"--optimizers", "adum"}, {"--optimizers", "sgd(lr=NaN)"},
			{"--optimizers", "sgd(lr=-1)"}, {"--optimizers", "sgd(lr=1e999)"}, {"--optimizers", "adam(b1=2)"},
			{"--optimizers", "sgd(lr=0.1"}, {"--plateau-factor", "NaN"}, {"--plateau-factor", "2"},
			{"--plateau-factor", "0.5", "--plateau-patience", "0"}, {"--seeds", "3-1"}, {"--seeds", "x"}, {"--seeds", ","},
			{"--protocol", "nope"}, {"--seed", "1.5"}, {"--out", ""}, {"--out", unwritable}, {"--out", f.garbage},
			{"--backend", "nope"}, {"--data", filepath.Join(f.dir, "no-mnist-here")},
		},
		"train": {
			{"--optimizers", "adam; sgd"}, {"--batch-size", "1000000000"}, {"--out", unwritable}, {"--epochs", "0"},
			{"--trial", filepath.Join(f.dir, "missing.json")}, {"--trial", f.garbage}, {"--trial", f.trial, "--model", "logreg"},
			{"--checkpoint-dir", unwritable}, {"--checkpoint-dir", f.garbage}, {"--checkpoint-dir", filepath.Join(f.dir, "ck"), "--checkpoint-every", "-1"},
			{"--keep", "0"}, {"--resume", filepath.Join(f.dir, "no-checkpoints")}, {"--resume", unwritable},
			{"--resume", filepath.Join(f.dir, "ck2"), "--init-weights", f.garbage}, {"--init-weights", filepath.Join(f.dir, "missing.safetensors")},
			{"--init-weights", f.garbage}, {"--init-weights", f.empty}, {"--save-weights", unwritable + "/w.safetensors"}, {"--save-weights", f.dir},
		},
		"sweep": {
			{"--workers", "0"}, {"--workers", "-3"}, {"--epochs", "0"}, {"--lrs", "NaN"}, {"--lrs", "-1"}, {"--lrs", "0"},
			{"--lrs", "1,,x"}, {"--seeds", ""}, {"--seeds", "5-1"}, {"--batch-sizes", ""}, {"--batch-sizes", "0"},
			{"--batch-sizes", "1000000"}, {"--models", ""}, {"--models", "nope"}, {"--optimizers", ""}, {"--optimizers", "adum"},
			{"--split", "half"}, {"--limit", "-1"}, {"--non-finite", "x"}, {"--shard", "2/2"}, {"--shard", "x"},
			{"--shard", "0/0"}, {"--shard", "-1/2"}, {"--store", ""}, {"--store", unwritable + "/s.db"},
			{"--store", filepath.Join(f.dir, "s.jsonl")}, {"--store", f.garbage}, {"--store", f.empty}, {"--config", filepath.Join(f.dir, "missing.json")},
			{"--config", f.garbage}, {"--config", f.trial, "--models", "logreg"}, {"--json"},
			{"--export-trials", unwritable}, {"--backend", "nope"}, {"--checkpoint-dir", unwritable}, {"--checkpoint-every", "-2"},
		},
		"merge": {
			{}, {f.store}, {"--into", filepath.Join(f.dir, "all.db")}, {"--into", unwritable + "/all.db", f.store},
			{"--into", filepath.Join(f.dir, "all.db"), filepath.Join(f.dir, "missing.db")},
			{"--into", f.store, f.store}, {"--into", filepath.Join(f.dir, "all.db"), f.empty},
			{"--into", filepath.Join(f.dir, "all.db"), f.garbage}, {"--into", filepath.Join(f.dir, "all.jsonl"), f.store},
			{"--into", f.garbage, f.store}, {"--into", ""},
		},
		"import": {
			{"--into", filepath.Join(f.dir, "all.db"), f.store}, {"--into", filepath.Join(f.dir, "all.db"), f.garbage},
			{"--into", filepath.Join(f.dir, "all.db")}, {f.jsonl},
		},
		"report": {
			{"--target", "NaN"}, {"--target", "2"}, {"--target", "-1"}, {"--tolerance", "0"}, {"--tolerance", "NaN"},
			{"--tolerance", "1"}, {"--store", ""}, {"--store", ","}, {"--store", filepath.Join(f.dir, "missing.db")},
			{"--store", f.garbage}, {"--store", f.empty}, {"--format", "xml", "--trials"}, {"--store", f.store, "--out", unwritable},
			{"--store", f.store, "--out", f.garbage},
		},
		"bench": {
			{"--steps", "0"}, {"--steps", "-1"}, {"--epochs", "0"}, {"--batch-sizes", ""}, {"--batch-sizes", "0"},
			{"--batch-sizes", "-5"}, {"--batch-sizes", "1000000000000"}, {"--models", "nope"}, {"--optimizer", "adum"},
			{"--update-params", "-1"}, {"--update-params", "NaN"}, {"--update-params", "1e15"}, {"--update-optimizer", "x"},
			{"--update-steps", "0"}, {"--backend", "nope"}, {"--json", unwritable + "/b.json"}, {"--seed", "x"},
		},
		"trace": {
			{"--steps", "0"}, {"--steps", "-1"}, {"--steps", "99999999999"}, {"--function", "nope"}, {"--optimizer", "adum"},
			{"--optimizer", ""}, {"--dtype", "float8"}, {"--w0", "x"}, {"--w0", "NaN"}, {"--a", "x"}, {"--out", unwritable + "/t.csv"},
			{"--backend", "nope"},
		},
		"landscape": {
			{"--steps", "-1"}, {"--frames", "-1"}, {"--width", "0"}, {"--width", "1000000000"}, {"--tol", "NaN"}, {"--tol", "0"},
			{"--function", "nope"}, {"--optimizers", ";"}, {"--optimizers", "adum"}, {"--start", "1"}, {"--start", "NaN,1"},
			{"--out", "x.jpg"}, {"--out", unwritable + "/x.png"}, {"--gif", unwritable + "/x.gif"}, {"--backend", "nope"},
		},
		"optimizers": {{"--equations=maybe"}, {"extra"}},
		"benchmark": {
			{"--budget", "0"}, {"--budget", "-1"}, {"--budget", "1001"}, {"--studies", "0"}, {"--studies", "101"},
			{"--workloads", "nope"}, {"--workloads", ","}, {"--workloads", "mnist_algoperf,mnist_algoperf"}, {"--optimizers", ";"},
			{"--optimizers", "adum"}, {"--ruleset", "x"}, {"--ruleset", "self", "--optimizers", "adam(lr=NaN)"}, {"--measure", "x"},
			{"--shard", "2/2"}, {"--shard", "x"}, {"--store", ""}, {"--store", unwritable + "/b.db"}, {"--store", f.garbage},
			{"--store", f.jsonl}, {"--store", f.empty}, {"--out", unwritable}, {"--out", f.garbage}, {"--export-trials", unwritable},
			{"--backend", "nope"}, {"frobnicate"},
			{"report", "--measure", "x"}, {"report", "--store", filepath.Join(f.dir, "missing.db")}, {"report", "--store", f.garbage},
			{"report", "--budget", "-1"}, {"report", "--ruleset", "x"}, {"report", "--store", f.store, "--out", unwritable},
			{"report", "--store", f.store, "--out", filepath.Join(f.dir, "rep")},
			{"targets"}, {"targets", "--workloads", "mnist_algoperf"}, {"targets", "--workloads", "nope"},
			{"targets", "--workloads", "quadratic_deep", "--trials", "0"}, {"targets", "--workloads", "quadratic_deep", "--baselines", "adum"},
			{"targets", "--workloads", "quadratic_deep", "--write", unwritable + "/t.json", "--store", filepath.Join(f.dir, "t.db")},
			{"list", "extra"},
		},
	}
	base := cheapBase(f.dir)
	for cmd, list := range cases {
		for _, flags := range list {
			args := append([]string{cmd}, base[cmd]...)
			if cmd == "train" && len(flags) > 0 && flags[0] == "--trial" {
				args = []string{cmd} // --trial takes no other flags
			}
			if cmd == "benchmark" && len(flags) > 0 && !strings.HasPrefix(flags[0], "-") {
				args = []string{cmd} // a sub-command: report, targets, list
			}
			checkRejected(t, append(args, flags...))
		}
	}
	checkRejected(t, []string{"nope"})
}

// cheapBase returns, per command, flags that make an accepted run take
// seconds: each case's own flags come after them and override them.
func cheapBase(dir string) map[string][]string {
	train := []string{"--limit", "300", "--epochs", "1", "--out", filepath.Join(dir, "out"), "--quiet"}
	return map[string][]string{
		"compare": train, "train": train,
		"sweep": {"--models", "logreg", "--optimizers", "adam", "--epochs", "1", "--limit", "300", "--quiet", "--store", filepath.Join(dir, "sweep.db")},
		"bench": {"--models", "logreg", "--batch-sizes", "32", "--steps", "2", "--epochs", "1", "--update-params", "1000", "--update-steps", "1"},
		"trace": {"--steps", "3"}, "landscape": {"--steps", "5"},
		"report": {"--out", filepath.Join(dir, "report")},
		"benchmark": {"--workloads", "noisy_rosenbrock", "--optimizers", "adam", "--budget", "1", "--studies", "1", "--quiet",
			"--store", filepath.Join(dir, "bench.db"), "--out", filepath.Join(dir, "bench")},
	}
}

var flagLine = regexp.MustCompile(`^\s+-([a-z0-9-]+) (int|float)$`)

// TestMalformedNumbersFailCleanly finds every numeric flag of every command
// from its -h text and gives it values no number flag can take: words,
// fractions for integers, overflowing integers, and NaN for floats.
func TestMalformedNumbersFailCleanly(t *testing.T) {
	n := 0
	base := cheapBase(t.TempDir())
	for name := range commands() {
		_, help, _ := runCaught(t, []string{name, "-h"})
		for _, line := range strings.Split(help, "\n") {
			m := flagLine.FindStringSubmatch(line)
			if m == nil {
				continue
			}
			values := []string{"x", "", "1e999999"}
			if m[2] == "int" {
				values = append(values, "1.5", "99999999999999999999")
			} else {
				values = append(values, "NaN", "-Inf")
			}
			for _, v := range values {
				n++
				checkRejected(t, append(append([]string{name}, base[name]...), "--"+m[1], v))
			}
		}
	}
	if n < 60 {
		t.Fatalf("only %d cases: the -h text was not parsed", n)
	}
}

// TestDivergingSkipRunKeepsItsResults trains with a learning rate that makes
// the loss non-finite under the skip policy: the run finishes, and its JSON
// and CSV files hold the NaN and infinite metrics in a form both formats
// read back.
func TestDivergingSkipRunKeepsItsResults(t *testing.T) {
	dir := t.TempDir()
	out, errs, code := runCaught(t, []string{"train", "--optimizers", "sgd(lr=1e5)", "--non-finite", "skip",
		"--limit", "300", "--epochs", "1", "--out", dir, "--quiet"})
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	hs, err := runs.ReadResults(filepath.Join(dir, "train.json"))
	if err != nil || len(hs) != 1 || len(hs[0].Epochs) != 1 {
		t.Fatalf("train.json: %v, %+v", err, hs)
	}
	h, e := hs[0], hs[0].Epochs[0]
	nonFinite := func(x float64) bool { return math.IsNaN(x) || math.IsInf(x, 0) }
	if !nonFinite(h.TestLoss) && !nonFinite(e.ValLoss) && !nonFinite(e.Loss) {
		t.Fatalf("no non-finite metric: lr=1e5 no longer diverges? %+v", h)
	}
	raw, err := os.ReadFile(filepath.Join(dir, "train.csv"))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("train.csv: %v, %d rows", err, len(rows))
	}
	for i, name := range rows[0] {
		want, ok := map[string]float64{"loss": e.Loss, "val_loss": e.ValLoss, "test_loss": h.TestLoss, "accuracy": e.Accuracy}[name]
		if !ok {
			continue
		}
		got, err := strconv.ParseFloat(rows[1][i], 64)
		if err != nil || !(got == want || math.IsNaN(got) && math.IsNaN(want) || math.Abs(got-want) <= 1e-7*math.Abs(want)) {
			t.Errorf("CSV %s = %q (%v), JSON has %v", name, rows[1][i], err, want)
		}
	}
}
