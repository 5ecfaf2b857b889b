package main

import (
	"bufio"
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"optlab.dev/optlab"
)

// TestSweepHelperProcess is not a test: TestSweepSurvivesKill re-executes the
// test binary with OPTLAB_SWEEP_HELPER=1 to run the optlab CLI as a separate
// process it can kill.
func TestSweepHelperProcess(t *testing.T) {
	if os.Getenv("OPTLAB_SWEEP_HELPER") != "1" {
		t.Skip("helper process for TestSweepSurvivesKill")
	}
	args := os.Args
	for i, a := range args {
		if a == "--" {
			args = args[i+1:]
			break
		}
	}
	os.Exit(run(args, os.Stdout, os.Stderr))
}

// cliProcess returns a command running the optlab CLI in a child process.
func cliProcess(args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], append([]string{"-test.run=^TestSweepHelperProcess$", "--"}, args...)...)
	cmd.Env = append(os.Environ(), "OPTLAB_SWEEP_HELPER=1")
	return cmd
}

// killSweepArgs is a sweep of 12 tiny trials (logistic regression on 300
// images, one epoch).
func killSweepArgs(store string) []string {
	return []string{"sweep", "--models", "logreg", "--optimizers", "sgd(momentum=0.9); adam", "--lrs", "0.01,0.1",
		"--seeds", "1-3", "--epochs", "1", "--limit", "300", "--split", "test", "--quiet", "--store", store}
}

func readStore(t *testing.T, path string) *optlab.StoreContents {
	t.Helper()
	c, err := optlab.ReadStore(path)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSweepSurvivesKill kills a sweep with SIGKILL at random points, several
// times, resumes it, and checks the store ends with exactly the records of an
// uninterrupted run: none lost, none duplicated, the same results.
func TestSweepSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sweep several times in child processes")
	}
	start := time.Now()
	dir := t.TempDir()
	refPath, path := filepath.Join(dir, "ref.jsonl"), filepath.Join(dir, "killed.jsonl")
	if out, err := cliProcess(killSweepArgs(refPath)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted sweep: %v\n%s", err, out)
	}
	ref := readStore(t, refPath)
	if len(ref.Records) != 12 || len(ref.Damage) != 0 {
		t.Fatalf("reference store: %d records, damage %v", len(ref.Records), ref.Damage)
	}
	refTime := time.Since(start)

	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	kills, tornTail := 0, false
	for round := 0; round < 8 && kills < 5; round++ {
		cmd := cliProcess(killSweepArgs(path)...)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Kill after a random number (0–2) of newly finished trials plus a
		// random delay, so the kill lands anywhere in a trial, including the
		// write of its record.
		waitFor := rng.IntN(3)
		reported := 0
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if strings.HasPrefix(line, "[") {
				reported++
			}
			if reported >= waitFor && (strings.HasPrefix(line, "[") || strings.HasPrefix(line, "sweep:")) {
				time.Sleep(time.Duration(rng.IntN(120)) * time.Millisecond)
				if cmd.Process.Signal(syscall.SIGKILL) == nil {
					kills++
				}
				break
			}
		}
		go func() { _, _ = bufio.NewReader(stdout).WriteTo(&bytes.Buffer{}) }()
		err = cmd.Wait()
		if round > 0 && tornTail && !strings.Contains(stderr.String(), "removed a damaged tail") {
			t.Fatalf("the resumed sweep did not report the torn record:\n%s", stderr.String())
		}
		tornTail = false
		if err == nil {
			break // it finished before the kill
		}
		c := readStore(t, path)
		// Every trial the process reported as finished is in the store.
		if len(c.Records) < reported {
			t.Fatalf("round %d: %d trials reported finished, %d in the store", round, reported, len(c.Records))
		}
		// Once, cut the last record short, as a kill in the middle of its write would.
		if round == 1 && len(c.Records) > 0 {
			raw, _ := os.ReadFile(path)
			last := bytes.LastIndexByte(raw[:len(raw)-1], '\n') + 1
			cut := last + 1 + rng.IntN(len(raw)-last-1)
			if err := os.Truncate(path, int64(cut)); err != nil {
				t.Fatal(err)
			}
			tornTail = true
		}
	}
	if kills < 3 {
		t.Fatalf("only %d kills landed", kills)
	}
	out, err := cliProcess(killSweepArgs(path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("final resume: %v\n%s", err, out)
	}
	if tornTail && !strings.Contains(string(out), "removed a damaged tail") {
		t.Fatalf("the final resume did not report the torn record:\n%s", out)
	}
	got := readStore(t, path)
	if len(got.Damage) != 0 || got.Duplicates != 0 {
		t.Fatalf("final store: damage %v, %d duplicates", got.Damage, got.Duplicates)
	}
	want := map[string]optlab.Record{}
	for _, r := range ref.Records {
		want[r.ID] = r
	}
	if len(got.Records) != len(want) {
		t.Fatalf("%d records after %d kills, want %d", len(got.Records), kills, len(want))
	}
	for _, r := range got.Records {
		w, ok := want[r.ID]
		if !ok {
			t.Fatalf("unexpected trial %s", r.ID)
		}
		if r.Hist.TestAccuracy != w.Hist.TestAccuracy || r.Hist.Last().Loss != w.Hist.Last().Loss {
			t.Errorf("trial %s: test accuracy %v loss %v, uninterrupted run %v %v", r.ID,
				r.Hist.TestAccuracy, r.Hist.Last().Loss, w.Hist.TestAccuracy, w.Hist.Last().Loss)
		}
	}
	t.Logf("%d kills; uninterrupted sweep %.1fs, whole test %.1fs", kills, refTime.Seconds(), time.Since(start).Seconds())
}

func sweepCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// TestFanOutAndMergeReportLikeOneSweep runs a sweep as one job, and again as
// two "machines" (one running exported trial files with train --trial, one a
// shard of the sweep), merges their stores and checks both reports agree.
func TestFanOutAndMergeReportLikeOneSweep(t *testing.T) {
	dir := t.TempDir()
	grid := filepath.Join(dir, "grid.json")
	if err := os.WriteFile(grid, []byte(`{"models":["logreg"],"optimizers":["sgd","adam"],"lrs":[0.05],"seeds":[1,2],"epochs":1,"limit":300}`), 0o644); err != nil {
		t.Fatal(err)
	}
	one := filepath.Join(dir, "one.jsonl")
	if out, errs, code := sweepCLI(t, "sweep", "--config", grid, "--store", one, "--quiet"); code != 0 {
		t.Fatalf("sweep: %d\n%s%s", code, out, errs)
	}
	// Machine A: the trials of shard 0/2, one process per trial file.
	trials := filepath.Join(dir, "trials")
	if out, errs, code := sweepCLI(t, "sweep", "--config", grid, "--shard", "0/2", "--export-trials", trials); code != 0 {
		t.Fatalf("export: %d\n%s%s", code, out, errs)
	}
	files, _ := filepath.Glob(filepath.Join(trials, "*.json"))
	if len(files) != 2 {
		t.Fatalf("exported %v", files)
	}
	a := filepath.Join(dir, "a.jsonl")
	for _, f := range files {
		if out, errs, code := sweepCLI(t, "train", "--trial", f, "--store", a); code != 0 || !strings.Contains(out, "stored in") {
			t.Fatalf("train --trial: %d\n%s%s", code, out, errs)
		}
	}
	// Re-running a stored trial (a retried pod) does nothing.
	if out, _, code := sweepCLI(t, "train", "--trial", files[0], "--store", a); code != 0 || !strings.Contains(out, "already in") {
		t.Fatalf("rerun of a stored trial: %d\n%s", code, out)
	}
	// Machine B: shard 1/2.
	b := filepath.Join(dir, "b.jsonl")
	if out, errs, code := sweepCLI(t, "sweep", "--config", grid, "--shard", "1/2", "--store", b, "--quiet"); code != 0 {
		t.Fatalf("shard 1/2: %d\n%s%s", code, out, errs)
	}
	all := filepath.Join(dir, "all.jsonl")
	out, errs, code := sweepCLI(t, "merge", "--into", all, a, b)
	if code != 0 || !strings.Contains(out, "4 records added") {
		t.Fatalf("merge: %d\n%s%s", code, out, errs)
	}
	report := func(store, outDir string) string {
		out, errs, code := sweepCLI(t, "report", "--store", store, "--out", outDir)
		if code != 0 {
			t.Fatalf("report: %d\n%s%s", code, out, errs)
		}
		md, err := os.ReadFile(filepath.Join(outDir, "report.md"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"lr.png", "bars.png"} {
			if st, err := os.Stat(filepath.Join(outDir, f)); err != nil || st.Size() == 0 {
				t.Fatalf("%s not written: %v", f, err)
			}
		}
		if !strings.Contains(out, "Optimizer report card") || !strings.Contains(out, "adam") {
			t.Fatalf("report output:\n%s", out)
		}
		return string(md)
	}
	merged := report(all, filepath.Join(dir, "r-all"))
	// Reading the two machines' stores directly gives the same report.
	if got := report(a+","+b, filepath.Join(dir, "r-ab")); got != merged {
		t.Errorf("report of the two stores differs from the merged store's:\n%s\nwant:\n%s", got, merged)
	}
	// The one-job sweep ran the same trials with the same results; only the
	// step timings differ between executions.
	if got, want := withoutTimings(merged), withoutTimings(report(one, filepath.Join(dir, "r-one"))); got != want {
		t.Errorf("merged report differs from the one-job sweep's:\n%s\nwant:\n%s", got, want)
	}
}

// withoutTimings drops the time/step column and the step-time highlight of a
// Markdown report.
func withoutTimings(md string) string {
	var out []string
	for _, line := range strings.Split(md, "\n") {
		switch {
		case strings.HasPrefix(line, "- Fastest step"):
			continue
		case strings.HasPrefix(line, "|") && strings.Contains(md, "time/step |"):
			cells := strings.Split(strings.TrimSuffix(line, "|"), "|")
			if len(cells) > 10 {
				line = strings.Join(cells[:len(cells)-1], "|")
			}
		}
		out = append(out, line)
	}
	return strings.Join(out, "\n")
}

func TestSweepCommandErrors(t *testing.T) {
	dir := t.TempDir()
	trial := filepath.Join(dir, "t.json")
	os.WriteFile(trial, []byte(`{"model":"logreg","optimizer":"adam","seed":1,"batch_size":32,"epochs":1}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"sweep", "--workers", "0"}, "--workers"},
		{[]string{"sweep", "--config", trial, "--models", "logreg"}, "drop --models"},
		{[]string{"sweep", "--config", filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"sweep", "--shard", "2/2"}, "--shard"},
		{[]string{"sweep", "--lrs", "0.1,x"}, `"x"`},
		{[]string{"sweep", "--lrs", "-1"}, "learning rate -1"},
		{[]string{"sweep", "--models", "nope"}, `"nope"`},
		{[]string{"sweep", "--optimizers", "adum"}, "adum"},
		{[]string{"sweep", "--batch-sizes", "0"}, "batch size"},
		{[]string{"train", "--trial", trial, "--model", "mlp-small"}, "drop --model"},
		{[]string{"train", "--trial", filepath.Join(dir, "missing.json")}, "missing.json"},
		{[]string{"merge", filepath.Join(dir, "x.jsonl")}, "--into"},
		{[]string{"merge", "--into", filepath.Join(dir, "x.jsonl")}, "no source"},
		{[]string{"report", "--target", "2"}, "--target"},
		{[]string{"report", "--tolerance", "0"}, "--tolerance"},
	} {
		out, errs, code := sweepCLI(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q (stdout %q); want exit 2 and a one-line error containing %q", tc.args, code, errs, out, tc.want)
		}
	}
}
