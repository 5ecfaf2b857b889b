package main

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smallBenchmarkArgs is a benchmark of 12 trials of a few tenths of a second
// (the noisy Rosenbrock workload, three optimizer families, 2 trials in each
// of 2 studies).
func smallBenchmarkArgs(store, out string) []string {
	return []string{"benchmark", "--workloads", "noisy_rosenbrock", "--optimizers", "sgd,momentum,adam", "--budget", "2", "--studies", "2",
		"--quiet", "--store", store, "--out", out}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(raw)
}

// TestBenchmarkSurvivesKill kills a benchmark with SIGKILL at random points,
// resumes it, and checks that the score rebuilt from the store (scores.csv,
// steps to target) is the uninterrupted run's, and that the report command
// rebuilds the same score from the store alone.
func TestBenchmarkSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a benchmark several times in child processes")
	}
	dir := t.TempDir()
	refStore, refOut := filepath.Join(dir, "ref.db"), filepath.Join(dir, "ref")
	if out, err := cliProcess(smallBenchmarkArgs(refStore, refOut)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted benchmark: %v\n%s", err, out)
	}
	want := readFile(t, filepath.Join(refOut, "scores.csv"))

	path, out := filepath.Join(dir, "killed.db"), filepath.Join(dir, "killed")
	total := len(readStore(t, refStore).Records)
	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	kills, restarts := 0, 0
	for round := 0; round < 24 && kills < 3; round++ {
		// Kill after 1–3 newly finished trials plus a random delay; when no
		// more than that is left, during the first trial this run starts, so
		// that the kill lands on work still to do (a fast machine finishes a
		// trial in milliseconds).
		waitFor := 1 + rng.IntN(3)
		done := 0
		if _, err := os.Stat(path); err == nil {
			done = len(readStore(t, path).Records)
		}
		if total-done <= waitFor {
			waitFor = 0
		}
		cmd := cliProcess(smallBenchmarkArgs(path, out)...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		reported := 0
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "[") {
				reported++
			}
			// waitFor 0: kill once the trials start ("benchmark: ..."
			// precedes the first).
			if reported >= waitFor && (waitFor > 0 || strings.HasPrefix(sc.Text(), "benchmark: ")) {
				time.Sleep(time.Duration(rng.IntN(200)) * time.Millisecond)
				if cmd.Process.Signal(syscall.SIGKILL) == nil {
					kills++
				}
				break
			}
		}
		go func() { _, _ = bufio.NewReader(stdout).WriteTo(&bytes.Buffer{}) }()
		if err := cmd.Wait(); err == nil {
			if kills > 0 {
				break // it finished before the kill
			}
			// It finished before any kill landed (a fast machine): start
			// again from an empty store.
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			restarts++
			continue
		}
		if c := readStore(t, path); len(c.Records) < done+reported {
			t.Fatalf("round %d: %d trials reported finished, %d in the store", round, done+reported, len(c.Records))
		}
	}
	if kills == 0 {
		t.Fatal("no kill landed")
	}
	if o, err := cliProcess(smallBenchmarkArgs(path, out)...).CombinedOutput(); err != nil {
		t.Fatalf("final resume: %v\n%s", err, o)
	}
	if got := readFile(t, filepath.Join(out, "scores.csv")); got != want {
		t.Errorf("after %d kills the score differs:\n%s\nuninterrupted:\n%s", kills, got, want)
	}
	// Every trial's evaluations are those of the uninterrupted run, bit for bit.
	refTable, _, code1 := sweepCLI(t, "report", "--store", refStore, "--trials")
	gotTable, _, code2 := sweepCLI(t, "report", "--store", path, "--trials")
	if code1 != 0 || code2 != 0 || strings.Count(refTable, "\n") != 13 || gotTable != refTable {
		t.Errorf("report --trials (exit %d, %d) differs after the kills:\n%s\nuninterrupted:\n%s", code1, code2, gotTable, refTable)
	}
	rep := filepath.Join(dir, "report")
	if o, err := cliProcess("benchmark", "report", "--store", path, "--out", rep).CombinedOutput(); err != nil {
		t.Fatalf("benchmark report: %v\n%s", err, o)
	}
	if got := readFile(t, filepath.Join(rep, "scores.csv")); got != want {
		t.Errorf("benchmark report rebuilt another score:\n%s\nwant:\n%s", got, want)
	}
	t.Logf("%d kills (%d restarts from an empty store)", kills, restarts)
}

// TestBenchmarkFanOut runs the small benchmark on "two machines", one running
// exported trial files with train --trial, one a shard, merges their stores
// and checks that the report equals the one-machine score.
func TestBenchmarkFanOut(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the benchmark twice")
	}
	dir := t.TempDir()
	one, oneOut := filepath.Join(dir, "one.db"), filepath.Join(dir, "one")
	if _, errs, code := sweepCLI(t, smallBenchmarkArgs(one, oneOut)...); code != 0 {
		t.Fatalf("one-machine benchmark: exit %d: %s", code, errs)
	}
	trialsDir := filepath.Join(dir, "trials")
	args := append(smallBenchmarkArgs(one, oneOut), "--shard", "0/2", "--export-trials", trialsDir)
	if o, errs, code := sweepCLI(t, args...); code != 0 || !strings.Contains(o, "wrote 6 trial files") {
		t.Fatalf("export: exit %d: %s%s", code, o, errs)
	}
	a := filepath.Join(dir, "a.db")
	files, _ := filepath.Glob(filepath.Join(trialsDir, "*.json"))
	for _, f := range files {
		if o, errs, code := sweepCLI(t, "train", "--trial", f, "--store", a); code != 0 || !strings.Contains(o, "stored in") {
			t.Fatalf("train --trial %s: exit %d: %s%s", f, code, o, errs)
		}
	}
	// Running a stored trial again stores nothing.
	if o, _, code := sweepCLI(t, "train", "--trial", files[0], "--store", a); code != 0 || !strings.Contains(o, "already in") {
		t.Errorf("train --trial of a stored trial: exit %d: %s", code, o)
	}
	b := filepath.Join(dir, "b.db")
	if o, errs, code := sweepCLI(t, append(smallBenchmarkArgs(b, filepath.Join(dir, "b")), "--shard", "1/2")...); code != 0 || !strings.Contains(o, "shard 1/2 done") {
		t.Fatalf("shard 1/2: exit %d: %s%s", code, o, errs)
	}
	merged := filepath.Join(dir, "merged.db")
	if o, errs, code := sweepCLI(t, "merge", "--into", merged, a, b); code != 0 || !strings.Contains(o, "12 records added") {
		t.Fatalf("merge: exit %d: %s%s", code, o, errs)
	}
	rep := filepath.Join(dir, "report")
	if o, errs, code := sweepCLI(t, "benchmark", "report", "--store", merged, "--out", rep); code != 0 {
		t.Fatalf("report: exit %d: %s%s", code, o, errs)
	}
	if got, want := readFile(t, filepath.Join(rep, "scores.csv")), readFile(t, filepath.Join(oneOut, "scores.csv")); got != want {
		t.Errorf("merged score differs from the one-machine score:\n%s\nwant:\n%s", got, want)
	}
}

func TestBenchmarkCommandErrors(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "s.db")
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"benchmark", "--workloads", "cifar10", "--store", st}, 2, `"cifar10"`},
		{[]string{"benchmark", "--ruleset", "random", "--store", st}, 2, `"random"`},
		{[]string{"benchmark", "--measure", "hours", "--store", st}, 2, `"hours"`},
		{[]string{"benchmark", "--budget", "0", "--workloads", "mnist_algoperf", "--store", st}, 2, "budget"},
		{[]string{"benchmark", "--optimizers", "adamm", "--workloads", "mnist_algoperf", "--store", st}, 2, `"adamm"`},
		{[]string{"benchmark", "--shard", "2/2", "--workloads", "mnist_algoperf", "--store", st}, 2, "2/2"},
		{[]string{"benchmark", "frobnicate"}, 2, `"frobnicate"`},
		{[]string{"benchmark", "--optimizers", "sam", "--workloads", "noisy_rosenbrock", "--store", st}, 2, `"sam"`},
		{[]string{"benchmark", "--ruleset", "self", "--optimizers", "sam(base=adam)", "--workloads", "noisy_rosenbrock", "--store", st}, 2, "sam(base=adam("},
		{[]string{"benchmark", "report", "--store", filepath.Join(dir, "missing.db")}, 1, "missing.db"},
		{[]string{"benchmark", "report", "--measure", "x"}, 2, `"x"`},
		{[]string{"benchmark", "targets", "--workloads", "mnist_algoperf", "--store", st}, 2, "published target"},
	} {
		out, errs, code := sweepCLI(t, c.args...)
		if code != c.code || !strings.Contains(errs, c.want) || strings.Count(strings.TrimSpace(errs), "\n") > 0 {
			t.Errorf("%v: exit %d, stderr %q, stdout %q; want exit %d and one line containing %q", c.args, code, errs, out, c.code, c.want)
		}
	}
	out, _, code := sweepCLI(t, "benchmark", "list")
	if code != 0 || !strings.Contains(out, "mnist_algoperf") || !strings.Contains(out, "target val_accuracy ≥ 0.97") || !strings.Contains(out, "lion:") {
		t.Errorf("benchmark list: exit %d:\n%s", code, out)
	}
	out, _, code = sweepCLI(t, append(smallBenchmarkArgs(st, dir), "--dry-run")...)
	if code != 0 || !strings.Contains(out, "12 trials, 0 in") {
		t.Errorf("dry run: exit %d:\n%s", code, out)
	}
}
