package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"optlab.dev/optlab/store"
	"optlab.dev/optlab/sweep"
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

func readStore(t *testing.T, path string) *store.Contents {
	t.Helper()
	c, err := store.Read(path)
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
	testSurvivesKill(t, killSweepArgs, 1, 0)
}

// TestPopulationSweepSurvivesKill is TestSweepSurvivesKill for a sweep run
// as populations (--population 4): a killed population sweep resumes like a
// sweep. The trials left after a kill form other populations than in the
// uninterrupted run, so results may differ by summation order (tolerance).
func TestPopulationSweepSurvivesKill(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the sweep several times in child processes")
	}
	testSurvivesKill(t, func(store string) []string {
		return append(killSweepArgs(store), "--population", "4")
	}, 4, 0.01)
}

// testSurvivesKill runs the sweep args(store) uninterrupted, then kills and
// resumes it several times, and checks the stores agree: the same trials,
// none lost or duplicated, test accuracies within tol. batch is how many
// trials finish together (the population size), so that a kill is aimed at
// the last batch rather than after it.
func testSurvivesKill(t *testing.T, killSweepArgs func(string) []string, batch int, tol float64) {
	start := time.Now()
	dir := t.TempDir()
	refPath, path := filepath.Join(dir, "ref.db"), filepath.Join(dir, "killed.db")
	if out, err := cliProcess(killSweepArgs(refPath)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted sweep: %v\n%s", err, out)
	}
	ref := readStore(t, refPath)
	if len(ref.Records) != 12 {
		t.Fatalf("reference store: %d records", len(ref.Records))
	}
	refTime := time.Since(start)

	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	kills, tornWAL, restarts := 0, false, 0
	for round := 0; round < 24 && kills < 5; round++ {
		// Kill after a random number (0–2) of newly finished trials plus a
		// random delay, so the kill lands anywhere in a trial, including the
		// commit of its record; when only the last batch of trials is left,
		// kill during it.
		waitFor := rng.IntN(3)
		done := 0
		if _, err := os.Stat(path); err == nil {
			done = len(readStore(t, path).Records)
		}
		if len(ref.Records)-done <= batch {
			waitFor = 0
		}
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
		if err == nil {
			if kills >= 3 {
				break // it finished before the kill
			}
			// It finished before the kill with too few kills behind it (a
			// fast machine): start again from an empty store.
			for _, f := range []string{path, path + "-wal", path + "-shm"} {
				if err := os.Remove(f); err != nil && !os.IsNotExist(err) {
					t.Fatal(err)
				}
			}
			kills, tornWAL = 0, false
			restarts++
			continue
		}
		c := readStore(t, path)
		// Every trial the process reported as finished is in the store.
		if len(c.Records) < reported {
			t.Fatalf("round %d: %d trials reported finished, %d in the store\n%s", round, reported, len(c.Records), stderr.String())
		}
		// Once, cut the write-ahead log that the killed process left short
		// at a random byte after its header, as a write torn by a crash of
		// the machine would leave it: SQLite drops the frames after the last
		// whole transaction, and those trials run again.
		if wal := path + "-wal"; !tornWAL {
			if st, err := os.Stat(wal); err == nil && st.Size() > 32+24 {
				cut := 32 + rng.Int64N(st.Size()-32)
				if err := os.Truncate(wal, cut); err != nil {
					t.Fatal(err)
				}
				tornWAL = true
				t.Logf("round %d: cut the write-ahead log from %d to %d bytes", round, st.Size(), cut)
			}
		}
	}
	if kills < 3 {
		t.Fatalf("only %d kills landed", kills)
	}
	out, err := cliProcess(killSweepArgs(path)...).CombinedOutput()
	if err != nil {
		t.Fatalf("final resume: %v\n%s", err, out)
	}
	got := readStore(t, path)
	want := map[string]sweep.Record{}
	for _, r := range ref.Records {
		want[r.ID] = r
	}
	if len(got.Records) != len(want) {
		t.Fatalf("%d records after %d kills, want %d", len(got.Records), kills, len(want))
	}
	seen := map[string]bool{}
	for _, r := range got.Records {
		w, ok := want[r.ID]
		if !ok || seen[r.ID] {
			t.Fatalf("unexpected or repeated trial %s", r.ID)
		}
		seen[r.ID] = true
		if math.Abs(r.Hist.TestAccuracy-w.Hist.TestAccuracy) > tol || (tol == 0 && r.Hist.Last().Loss != w.Hist.Last().Loss) {
			t.Errorf("trial %s: test accuracy %v loss %v, uninterrupted run %v %v", r.ID,
				r.Hist.TestAccuracy, r.Hist.Last().Loss, w.Hist.TestAccuracy, w.Hist.Last().Loss)
		}
	}
	// The per-trial tables (every metric of every epoch, no timings) agree
	// byte for byte.
	tsv := func(p string) string {
		out, errs, code := sweepCLI(t, "report", "--store", p, "--trials")
		if code != 0 {
			t.Fatalf("report --trials: %s", errs)
		}
		return out
	}
	if a, b := tsv(refPath), tsv(path); a != b {
		t.Errorf("per-trial tables differ:\n%s\nwant\n%s", b, a)
	}
	t.Logf("%d kills (%d restarts from an empty store); uninterrupted sweep %.1fs, whole test %.1fs", kills, restarts, refTime.Seconds(), time.Since(start).Seconds())
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
	one := filepath.Join(dir, "one.db")
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
	a := filepath.Join(dir, "a.db")
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
	b := filepath.Join(dir, "b.db")
	if out, errs, code := sweepCLI(t, "sweep", "--config", grid, "--shard", "1/2", "--store", b, "--quiet"); code != 0 {
		t.Fatalf("shard 1/2: %d\n%s%s", code, out, errs)
	}
	all := filepath.Join(dir, "all.db")
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
		{[]string{"sweep", "--population", "0"}, "--population must be ≥ 1, got 0"},
		{[]string{"sweep", "--memory-limit", "lots"}, `--memory-limit: "lots" is not a size`},
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
		{[]string{"merge", filepath.Join(dir, "x.db")}, "--into"},
		{[]string{"merge", "--into", filepath.Join(dir, "x.db")}, "no source"},
		{[]string{"report", "--target", "2"}, "--target"},
		{[]string{"report", "--tolerance", "0"}, "--tolerance"},
	} {
		out, errs, code := sweepCLI(t, tc.args...)
		if code != 2 || !strings.Contains(errs, tc.want) || strings.Count(strings.TrimSpace(errs), "\n") != 0 {
			t.Errorf("%v: exit %d, stderr %q (stdout %q); want exit 2 and a one-line error containing %q", tc.args, code, errs, out, tc.want)
		}
	}
}

// TestJSONSummaries checks the machine-readable output of sweep --dry-run
// and merge that scripts (the Slurm and Kubernetes checks) parse.
func TestJSONSummaries(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "tasks", "a.db")
	grid := []string{"--models", "logreg", "--optimizers", "adam", "--seeds", "1,2", "--epochs", "1", "--limit", "300", "--quiet"}
	if out, errs, code := sweepCLI(t, append(append([]string{"sweep", "--store", a}, grid...), "--seeds", "1")...); code != 0 {
		t.Fatalf("sweep: %d\n%s%s", code, out, errs)
	}
	out, errs, code := sweepCLI(t, append([]string{"sweep", "--store", a, "--dry-run", "--json"}, grid...)...)
	var dry struct {
		ToRun int `json:"to_run"`
		List  []struct {
			ID     string `json:"id"`
			Stored bool   `json:"stored"`
		} `json:"list"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &dry) != nil || dry.ToRun != 1 || len(dry.List) != 2 || dry.List[0].Stored == dry.List[1].Stored {
		t.Fatalf("dry run: %d %s %s → %+v", code, out, errs, dry)
	}
	all := filepath.Join(dir, "all.db")
	out, errs, code = sweepCLI(t, "merge", "--into", all, filepath.Join(dir, "tasks"), "--json")
	var st store.MergeStats
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || st.Added != 1 || len(st.Sources) != 1 || st.Sources[0].Path != a {
		t.Fatalf("merge --json: %d %s %s → %+v", code, out, errs, st)
	}
}

// TestPopulationSweepCommand: --dry-run shows how the trials group into
// populations, and a population sweep stores every trial, once.
func TestPopulationSweepCommand(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.db")
	args := []string{"sweep", "--models", "logreg", "--optimizers", "sgd(momentum=0.9); adam; muon", "--lrs", "0.01,0.1",
		"--seeds", "1-2", "--epochs", "1", "--limit", "300", "--split", "test", "--quiet", "--store", path, "--population", "3"}
	out, errs, code := sweepCLI(t, append(args, "--dry-run")...)
	// sgd and adam: a population of 3 and one trial left each; muon has no
	// population form: 4 trials alone.
	if code != 0 || !strings.Contains(out, "with --population 3: 8 runs (2 population(s) of 3, 6 trial(s) alone)") {
		t.Fatalf("dry run: exit %d, stderr %q\n%s", code, errs, out)
	}
	out, errs, code = sweepCLI(t, args...)
	if code != 0 || !strings.Contains(out, "populations of up to 3") || !strings.Contains(out, "(population of 3)") {
		t.Fatalf("population sweep: exit %d, stderr %q\n%s", code, errs, out)
	}
	c := readStore(t, path)
	if len(c.Records) != 12 || c.Duplicates != 0 {
		t.Fatalf("%d records, %d duplicates, want 12 and 0", len(c.Records), c.Duplicates)
	}
	out, _, code = sweepCLI(t, args...)
	if code != 0 || !strings.Contains(out, "done: 0 ran") {
		t.Fatalf("re-run of a finished population sweep: exit %d\n%s", code, out)
	}
}
