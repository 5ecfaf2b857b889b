package notebook

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// CacheState says whether CompareCached would show a cache file or
// recompute it.
type CacheState struct {
	Path string
	// Runs is the number of runs the file holds.
	Runs int
	// Current is true when the cache is complete, consistent with its key and
	// computed by the code whose fingerprint was given.
	Current bool
	// Reason says why a cache is not current (empty when it is).
	Reason string
}

// CheckCache reads a comparison cache written by CompareCached and reports
// whether CompareCached, run with code as the current fingerprint
// (CodeFingerprint), would show it rather than recompute it. Beyond the
// fingerprint it checks what a reader relies on: the file names its
// comparison (model, optimizers, seeds, epochs, batch size, data sizes,
// backend), is complete, and holds exactly one run per optimizer and seed of
// that key. A file that Cached wrote is checked against the fingerprint of
// the packages it names (code is not used; Runs is 1 for a complete result).
// A file that cannot be read or is not a cache is an error.
func CheckCache(path, code string) (CacheState, error) {
	st := CacheState{Path: path}
	raw, err := os.ReadFile(path)
	if err != nil {
		return st, fmt.Errorf("cache: %w", err)
	}
	var kind struct {
		Kind string `json:"kind"`
	}
	if json.Unmarshal(raw, &kind) == nil && kind.Kind == ResultKind {
		return checkResult(path, raw)
	}
	var c cachedRuns
	if err := json.Unmarshal(raw, &c); err != nil {
		return st, fmt.Errorf("cache %s is not a comparison cache: %v", path, err)
	}
	st.Runs = len(c.Runs)
	if reason := c.problem(); reason != "" {
		st.Reason = reason
		return st, nil
	}
	switch {
	case c.Code == "":
		st.Reason = "no code fingerprint (computed before caches recorded one)"
	case c.Code != code:
		st.Reason = fmt.Sprintf("computed by other code (%s, current %s)", short(c.Code), short(code))
	default:
		st.Current = true
	}
	return st, nil
}

// problem returns what makes a cache unusable whatever code computed it, or "".
func (c *cachedRuns) problem() string {
	k := c.Key
	var missing []string
	for _, f := range []struct {
		name string
		ok   bool
	}{
		{"model", k.Model != ""}, {"optimizers", len(k.Optimizers) > 0}, {"seeds", len(k.Seeds) > 0},
		{"protocol", k.Protocol != ""}, {"epochs", k.Epochs > 0}, {"batch_size", k.BatchSize > 0},
		{"train_examples", k.Train > 0}, {"backend", k.Backend != ""},
	} {
		if !f.ok {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return "its key lacks " + strings.Join(missing, ", ")
	}
	if !c.Complete {
		return "incomplete (an interrupted comparison: re-executing the notebook resumes it)"
	}
	type run struct {
		label string
		seed  int64
	}
	want := map[run]bool{}
	for _, o := range k.Optimizers {
		for _, s := range k.Seeds {
			want[run{o, s}] = true
		}
	}
	seen := map[run]bool{}
	for i, h := range c.Runs {
		if h == nil {
			return fmt.Sprintf("run %d is empty", i+1)
		}
		r := run{h.Label, h.Seed}
		switch {
		case !want[r]:
			return fmt.Sprintf("run %d (%s, seed %d) is not in its key", i+1, h.Label, h.Seed)
		case seen[r]:
			return fmt.Sprintf("run %d (%s, seed %d) appears twice", i+1, h.Label, h.Seed)
		case h.Model != k.Model:
			return fmt.Sprintf("run %d trained model %q, its key says %q", i+1, h.Model, k.Model)
		}
		seen[r] = true
	}
	if len(seen) != len(want) {
		return fmt.Sprintf("%d of the %d runs its key names are missing", len(want)-len(seen), len(want))
	}
	return ""
}

// short abbreviates a fingerprint for messages.
func short(code string) string {
	if len(code) > len("sha256:")+12 {
		return code[:len("sha256:")+12]
	}
	return code
}
