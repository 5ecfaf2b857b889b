package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"optlab.dev/optlab/store"
)

// committedShards are the full benchmark's committed results: one results
// store per shard of the default `optlab benchmark`, each made by
// `optlab benchmark --shard K/N --store data/benchmark/full-shard-K-of-N.db`
// on the machine docs/benchmark.md names (which also gives each shard's wall
// time).
const committedShards = "../../data/benchmark/full-shard-*-of-*.db"

// TestCommittedFullBenchmark checks that every committed shard store holds
// exactly its shard's trials of today's default benchmark, each one finished
// on a 2-core machine. A change to the benchmark's definition (its workloads,
// targets, step budgets, search spaces or seeds) changes the trial IDs, so
// results that no longer describe the benchmark fail here instead of being
// reported as its baseline.
func TestCommittedFullBenchmark(t *testing.T) {
	files, err := filepath.Glob(committedShards)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Skip("no committed full-benchmark shards")
	}
	seen := map[int]int{} // shard index → N
	for _, f := range files {
		var k, n int
		if _, err := fmt.Sscanf(filepath.Base(f), "full-shard-%d-of-%d.db", &k, &n); err != nil || k < 0 || k >= n {
			t.Errorf("%s: the name is not full-shard-K-of-N.db with 0 ≤ K < N", f)
			continue
		}
		if prev, ok := seen[k]; ok && prev != n {
			t.Errorf("%s: shard %d is committed for two shard counts (%d and %d)", f, k, prev, n)
		}
		seen[k] = n
		out, errs, code := sweepCLI(t, "benchmark", "--dry-run", "--shard", fmt.Sprintf("%d/%d", k, n), "--store", f)
		if code != 0 {
			t.Fatalf("%s: dry run: exit %d: %s", f, code, errs)
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		last := lines[len(lines)-1]
		want := fmt.Sprintf("%d trials, %d in %s, 0 to run", len(lines)-1, len(lines)-1, f)
		if last != want {
			t.Errorf("%s: holds other trials than shard %d/%d of the default benchmark:\n%s\nwant %q", f, k, n, last, want)
		}
		c, err := store.Read(f)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Records) != len(lines)-1 {
			t.Errorf("%s: %d records, want the shard's %d trials and nothing else", f, len(c.Records), len(lines)-1)
		}
		for _, r := range c.Records {
			if r.Env.CPUs != 2 || r.Seconds <= 0 {
				t.Errorf("%s: trial %s ran on %d CPUs in %g s; the stated time is for 2 cores", f, r.ID, r.Env.CPUs, r.Seconds)
				break
			}
		}
	}
}

// committedBaseline is the full benchmark's score, made from the committed
// shards with `optlab merge` and `optlab benchmark report` (its README.md
// gives the commands, the commit and the machine).
const committedBaseline = "../../data/benchmark/baseline"

// TestCommittedBaseline rebuilds the full benchmark's score from the committed
// shards, as the baseline's README says, and checks that the committed tables
// are what today's scoring makes of them: a change to the scoring, the tables
// or the stores that would change the published baseline fails here instead
// of leaving it stale.
func TestCommittedBaseline(t *testing.T) {
	if _, err := os.Stat(committedBaseline); errors.Is(err, fs.ErrNotExist) {
		t.Skip("no committed baseline")
	}
	files, err := filepath.Glob(committedShards)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatalf("%s is committed but no shard is", committedBaseline)
	}
	var n int
	if _, err := fmt.Sscanf(filepath.Base(files[0]), "full-shard-%d-of-%d.db", new(int), &n); err != nil {
		t.Fatalf("%s: %v", files[0], err)
	}
	for k := range n {
		if _, err := os.Stat(filepath.Join(filepath.Dir(committedShards), fmt.Sprintf("full-shard-%d-of-%d.db", k, n))); err != nil {
			t.Fatalf("the baseline is committed but shard %d of %d is not: %v", k, n, err)
		}
	}
	dir := t.TempDir()
	merged := filepath.Join(dir, "full.db")
	if out, errs, code := sweepCLI(t, append([]string{"merge", "--into", merged}, files...)...); code != 0 {
		t.Fatalf("merge: exit %d\n%s%s", code, out, errs)
	}
	rep := filepath.Join(dir, "report")
	if out, errs, code := sweepCLI(t, "benchmark", "report", "--store", merged, "--out", rep); code != 0 {
		t.Fatalf("benchmark report: exit %d\n%s%s", code, out, errs)
	}
	made, err := os.ReadDir(rep)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range made {
		committed := filepath.Join(committedBaseline, f.Name())
		want, err := os.ReadFile(committed)
		if err != nil {
			t.Errorf("the report writes %s but the baseline lacks it: %v", f.Name(), err)
			continue
		}
		if filepath.Ext(f.Name()) == ".png" {
			continue // figures: present is enough; the tables carry the numbers
		}
		got, err := os.ReadFile(filepath.Join(rep, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the committed shards score to today; rebuild the baseline with the commands in %s/README.md", committed, committedBaseline)
		}
	}
}
