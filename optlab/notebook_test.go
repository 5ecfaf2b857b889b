package optlab

import (
	stdctx "context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"optlab.dev/optlab/models"
)

func TestCompareCachedReusesAndResumes(t *testing.T) {
	t.Setenv(QuickEnv, "")
	b := testBackend(t)
	data := testData(t, models.SplitTest, 300)
	path := filepath.Join(t.TempDir(), "cache", "c.json")
	trained := 0
	cc := func() CompareConfig {
		return CompareConfig{
			Base:       Config{Model: "logreg", Epochs: 1, BatchSize: 32},
			Optimizers: []string{"sgd(lr=0.1)", "adam(lr=0.01)"}, Seeds: []int64{1, 2},
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
	// A different configuration does not reuse the cache.
	other := cc()
	other.Base.Epochs = 2
	trained = 0
	if _, err := CompareCached(stdctx.Background(), b, data, other, path); err != nil || trained != 4 {
		t.Errorf("changed config trained %d runs (want 4): %v", trained, err)
	}
}
