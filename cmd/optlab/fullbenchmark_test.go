package main

import (
	"fmt"
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
