package notebook

import (
	stdctx "context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
)

func TestCompareCachedReusesAndResumes(t *testing.T) {
	t.Setenv(QuickEnv, "")
	b, err := optlab.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	m, err := datasets.LoadMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := optlab.SplitData(m, datasets.SplitTest, 300)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "cache", "c.json")
	trained := 0
	specs, err := optlab.ParseSpecs("sgd(lr=0.1)", "adam(lr=0.01)")
	if err != nil {
		t.Fatal(err)
	}
	cc := func() optlab.CompareConfig {
		return optlab.CompareConfig{
			Base:       optlab.Config{Model: "logreg", Epochs: 1, BatchSize: 32},
			Optimizers: specs, Seeds: []int64{1, 2},
			OnRunStart: func(string, int64) { trained++ },
		}
	}
	first, err := CompareCached(stdctx.Background(), b, data, cc(), path)
	if err != nil || len(first) != 4 || trained != 4 {
		t.Fatalf("first call: %d runs, %d trained, %v", len(first), trained, err)
	}
	// A second call reads the cache.
	again, err := CompareCached(stdctx.Background(), b, data, cc(), path)
	if err != nil || trained != 4 || again[3].TestAccuracy != first[3].TestAccuracy {
		t.Fatalf("second call trained %d more runs (err %v)", trained-4, err)
	}
	// An interrupted comparison (two runs saved, not complete) trains only the rest.
	var c cachedRuns
	raw, _ := os.ReadFile(path)
	json.Unmarshal(raw, &c)
	c.Runs, c.Complete = c.Runs[:2], false
	raw, _ = json.Marshal(c)
	os.WriteFile(path, raw, 0o644)
	trained = 0
	resumed, err := CompareCached(stdctx.Background(), b, data, cc(), path)
	if err != nil || trained != 2 || len(resumed) != 4 {
		t.Fatalf("resume trained %d runs (want 2), got %d runs, %v", trained, len(resumed), err)
	}
	if resumed[3].TestAccuracy != first[3].TestAccuracy {
		t.Errorf("resumed run differs from the original: same seed must give the same numbers")
	}
	// A cache that other code computed is recomputed, not shown.
	raw, _ = os.ReadFile(path)
	json.Unmarshal(raw, &c)
	if !strings.HasPrefix(c.Code, "sha256:") {
		t.Fatalf("cache records code %q, want a fingerprint", c.Code)
	}
	c.Code = "sha256:0000"
	raw, _ = json.Marshal(c)
	os.WriteFile(path, raw, 0o644)
	trained = 0
	if _, err := CompareCached(stdctx.Background(), b, data, cc(), path); err != nil || trained != 4 {
		t.Errorf("stale cache: trained %d runs (want 4): %v", trained, err)
	}
	// A different configuration does not reuse the cache.
	other := cc()
	other.Base.Epochs = 2
	trained = 0
	if _, err := CompareCached(stdctx.Background(), b, data, other, path); err != nil || trained != 4 {
		t.Errorf("changed config trained %d runs (want 4): %v", trained, err)
	}
}

// TestCompareCachedCheckpoints: a comparison killed in its first run (no run
// finished, so no result saved) resumes that run from its checkpoint; a
// comparison whose cache other code wrote starts its runs afresh, whatever
// checkpoints lie around.
func TestCompareCachedCheckpoints(t *testing.T) {
	t.Setenv(QuickEnv, "")
	b, err := optlab.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	m, err := datasets.LoadMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := optlab.SplitData(m, datasets.SplitTest, 300)
	if err != nil {
		t.Fatal(err)
	}
	specs, err := optlab.ParseSpecs("adam(lr=0.01)")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path, ckpts := filepath.Join(dir, "c.json"), filepath.Join(dir, "ckpt")
	epochsTrained := 0
	cc := func(ctx stdctx.Context, cancel func()) optlab.CompareConfig {
		return optlab.CompareConfig{
			Base: optlab.Config{Model: "logreg", Epochs: 3, BatchSize: 32, OnEpoch: func(h *optlab.History) {
				epochsTrained++
				if cancel != nil && len(h.Epochs) == 2 {
					cancel()
				}
			}},
			Optimizers: specs, Seeds: []int64{1}, CheckpointDir: ckpts,
		}
	}
	ctx, cancel := stdctx.WithCancel(stdctx.Background())
	if _, err := CompareCached(ctx, b, data, cc(ctx, cancel), path); !errors.Is(err, stdctx.Canceled) {
		t.Fatalf("interrupted comparison: %v", err)
	}
	runDir := optlab.RunCheckpointDir(ckpts, "logreg", "adam(lr=0.01)", 1)
	if left, _ := filepath.Glob(filepath.Join(runDir, "*")); len(left) == 0 {
		t.Fatal("the interrupted run left no checkpoint")
	}
	epochsTrained = 0
	hs, err := CompareCached(stdctx.Background(), b, data, cc(stdctx.Background(), nil), path)
	if err != nil || len(hs) != 1 || len(hs[0].Epochs) != 3 {
		t.Fatalf("resumed comparison: %v, %v", hs, err)
	}
	// The resumed run kept the two epochs trained before the kill: it
	// trained only the third (its history holds epochs 1–3 all the same).
	if epochsTrained != 1 {
		t.Errorf("the resumed run trained %d epochs, want 1 (the two before the kill come from the checkpoint)", epochsTrained)
	}
	if _, err := os.Stat(runDir); !os.IsNotExist(err) {
		t.Errorf("checkpoints left after the run finished: %v", err)
	}
	// A checkpoint lying around for a comparison whose cache other code
	// wrote is removed, not resumed.
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(runDir, "ckpt-000000000019.safetensors"), []byte("stale"), 0o644); err != nil {
		t.Fatal(err)
	}
	var c cachedRuns
	raw, _ := os.ReadFile(path)
	json.Unmarshal(raw, &c)
	c.Code, c.Complete = "sha256:0000", false
	raw, _ = json.Marshal(c)
	os.WriteFile(path, raw, 0o644)
	if _, err := CompareCached(stdctx.Background(), b, data, cc(stdctx.Background(), nil), path); err != nil {
		t.Errorf("a stale checkpoint was not discarded: %v", err)
	}
}

// TestCommittedCacheKeysStillMatch rebuilds the key of a comparison cache
// from the configuration that produced it: a key whose fields or spelling
// changed would make every committed cache in data/cache go stale. The key in
// testdata/cache_key_v1.json is the one notebook 04's first edition committed
// (data/cache/04_lr_sweep.json, removed with that edition).
func TestCommittedCacheKeysStillMatch(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "cache_key_v1.json"))
	if err != nil {
		t.Fatal(err)
	}
	var c cachedRuns
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	specs, err := optlab.ParseSpecs("sgd(lr=1e-3)", "sgd(lr=0.01)", "sgd(lr=0.05)", "sgd(lr=0.2)", "sgd(lr=1)")
	if err != nil {
		t.Fatal(err)
	}
	ds := func(n int) *datasets.Dataset { return &datasets.Dataset{Labels: make([]int32, n)} }
	data := &optlab.Data{Train: ds(4000), Val: ds(666), Test: ds(666), ValSplit: "test"}
	cc := optlab.CompareConfig{Base: optlab.Config{Model: "mlp-small", Epochs: 3, BatchSize: 32, Seed: 1}, Optimizers: specs}
	if got := cacheKey(cc.WithDefaults(), data, "SimpleGo (go)"); !reflect.DeepEqual(got, c.Key) {
		t.Errorf("key %+v, committed %+v", got, c.Key)
	}
	// Runs that evaluate within epochs hold other histories: their key differs.
	cc.Base.EvalEvery = 50
	if got := cacheKey(cc.WithDefaults(), data, "SimpleGo (go)"); reflect.DeepEqual(got, c.Key) || got.EvalEvery != 50 {
		t.Errorf("key with EvalEvery 50: %+v", got)
	}
}
