package notebook

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"optlab.dev/optlab"
)

func TestCheckCache(t *testing.T) {
	const code = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
	good := func() cachedRuns {
		return cachedRuns{
			Key: compareKey{Model: "logreg", Optimizers: []string{"sgd(lr=0.1)", "adam"}, Seeds: []int64{1, 2},
				Protocol: optlab.Fresh, Epochs: 1, BatchSize: 32, Train: 300, Val: 100, ValSplit: "test", Backend: "SimpleGo (go)"},
			Code: code, Complete: true,
			Runs: []*optlab.History{
				{Model: "logreg", Label: "sgd(lr=0.1)", Seed: 1}, {Model: "logreg", Label: "sgd(lr=0.1)", Seed: 2},
				{Model: "logreg", Label: "adam", Seed: 1}, {Model: "logreg", Label: "adam", Seed: 2},
			},
		}
	}
	for _, tc := range []struct {
		name   string
		change func(c *cachedRuns)
		reason string // empty: current
	}{
		{"current", func(*cachedRuns) {}, ""},
		{"no fingerprint", func(c *cachedRuns) { c.Code = "" }, "no code fingerprint"},
		{"other code", func(c *cachedRuns) { c.Code = "sha256:2222222222222222" }, "computed by other code (sha256:222222222222, current sha256:111111111111)"},
		{"interrupted", func(c *cachedRuns) { c.Complete = false }, "incomplete"},
		{"a run missing", func(c *cachedRuns) { c.Runs = c.Runs[:3] }, "1 of the 4 runs its key names are missing"},
		{"a run twice", func(c *cachedRuns) { c.Runs[1] = c.Runs[0] }, "run 2 (sgd(lr=0.1), seed 1) appears twice"},
		{"a run not in the key", func(c *cachedRuns) { c.Runs[3].Seed = 3 }, "run 4 (adam, seed 3) is not in its key"},
		{"another model", func(c *cachedRuns) { c.Runs[0].Model = "mlp-small" }, `run 1 trained model "mlp-small", its key says "logreg"`},
		{"no key", func(c *cachedRuns) { c.Key = compareKey{} }, "its key lacks model, optimizers, seeds, protocol, epochs, batch_size, train_examples, backend"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.change(&c)
			raw, err := json.Marshal(c)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "c.json")
			if err := os.WriteFile(path, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			st, err := CheckCache(path, code)
			if err != nil {
				t.Fatal(err)
			}
			if st.Current != (tc.reason == "") || !strings.Contains(st.Reason, tc.reason) || st.Runs != len(c.Runs) {
				t.Errorf("got %+v, want reason %q", st, tc.reason)
			}
		})
	}
	// Files that are not caches are errors, not stale caches.
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte("{not json"), 0o644)
	for _, p := range []string{bad, filepath.Join(dir, "missing.json")} {
		if _, err := CheckCache(p, code); err == nil {
			t.Errorf("CheckCache(%s): no error", p)
		}
	}
}

// TestCommittedCachesAreConsistent checks every committed comparison cache
// for what does not depend on the code: a key, completeness, one run per
// optimizer and seed; and every notebook's findings file for findings. (Whether each is current is `optlab caches`' job: the
// caches are recomputed when the notebooks are re-executed.)
func TestCommittedCachesAreConsistent(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "data", "cache", "*.json"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no committed caches (%v)", err)
	}
	for _, p := range paths {
		if strings.HasSuffix(p, "_claims.json") {
			// A notebook's findings about the walkthrough's claims, not a cache.
			fs, err := CheckFindings(p, "sha256:none")
			if err != nil {
				t.Error(err)
			} else if fs.Findings == 0 {
				t.Errorf("%s: no findings", p)
			}
			continue
		}
		st, err := CheckCache(p, "sha256:none")
		if err != nil {
			t.Error(err)
			continue
		}
		// A result cache (notebook.Cached) fingerprints its own packages, so
		// it may be current; a comparison cache never matches "sha256:none".
		// Either way the only acceptable problem is the code that computed it.
		if !st.Current && !strings.HasPrefix(st.Reason, "no code fingerprint") && !strings.HasPrefix(st.Reason, "computed by other code") {
			t.Errorf("%s: %s", p, st.Reason)
		}
	}
}
