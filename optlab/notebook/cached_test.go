package notebook

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"testing"
)

type testResult struct {
	Values []float64 `json:"values"`
	Done   int       `json:"done"`
}

func TestCachedReusesResumesAndRecomputes(t *testing.T) {
	t.Setenv(QuickEnv, "")
	t.Setenv(CacheDirEnv, "")
	path := filepath.Join(t.TempDir(), "r.json")
	calls := 0
	// compute does three pieces of work, saving after each; failAt stops it
	// before a piece (as an interruption would).
	compute := func(failAt int) func(*testResult, func(testResult) error) (testResult, error) {
		return func(partial *testResult, save func(testResult) error) (testResult, error) {
			calls++
			r := testResult{}
			if partial != nil {
				r = *partial
			}
			for r.Done < 3 {
				if r.Done == failAt {
					return r, errors.New("interrupted")
				}
				r.Values = append(r.Values, float64(r.Done)+0.5)
				r.Done++
				if err := save(r); err != nil {
					return r, err
				}
			}
			r.Values = append(r.Values, math.NaN()) // NaN must survive the file
			return r, nil
		}
	}
	key := map[string]any{"model": "mlp-small", "seeds": []int{1, 2}}
	// An interrupted computation keeps what it finished...
	if _, err := Cached(path, key, compute(2)); err == nil {
		t.Fatal("interrupted computation: no error")
	}
	// ...and the next call resumes from it.
	var resumedFrom int
	r, err := Cached(path, key, func(p *testResult, save func(testResult) error) (testResult, error) {
		if p == nil {
			t.Fatal("resume: no partial result")
		}
		resumedFrom = p.Done
		return compute(-1)(p, save)
	})
	if err != nil || resumedFrom != 2 || r.Done != 3 || len(r.Values) != 4 {
		t.Fatalf("resume: from %d, got %+v, %v", resumedFrom, r, err)
	}
	// A complete result is read back, NaN included, without computing.
	calls = 0
	again, err := Cached(path, key, compute(-1))
	if err != nil || calls != 0 || again.Done != 3 || !math.IsNaN(again.Values[3]) || again.Values[1] != 1.5 {
		t.Fatalf("cached read: %d calls, %+v, %v", calls, again, err)
	}
	if st, err := CheckCache(path, "ignored"); err != nil || !st.Current {
		t.Errorf("CheckCache of a current result: %+v, %v", st, err)
	}
	// Another key recomputes.
	if _, err := Cached(path, map[string]any{"model": "mlp-bn"}, compute(-1)); err != nil || calls != 1 {
		t.Errorf("other key: %d calls, %v", calls, err)
	}
	// A result of other code is recomputed, and CheckCache calls it stale.
	var c cachedResult
	raw, _ := os.ReadFile(path)
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	c.Code = "sha256:0000"
	raw, _ = json.Marshal(c)
	if err := os.WriteFile(path, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	if st, err := CheckCache(path, ""); err != nil || st.Current || st.Reason == "" {
		t.Errorf("CheckCache of a stale result: %+v, %v", st, err)
	}
	calls = 0
	if _, err := Cached(path, map[string]any{"model": "mlp-bn"}, compute(-1)); err != nil || calls != 1 {
		t.Errorf("stale result: %d calls (want 1), %v", calls, err)
	}
	// A damaged file is an error naming it, not a silent recomputation.
	if err := os.WriteFile(path, []byte("{"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Cached(path, key, compute(-1)); err == nil {
		t.Error("damaged cache: no error")
	}
}

func TestCachedWithoutPathComputes(t *testing.T) {
	calls := 0
	v, err := Cached("", 1, func(p *int, save func(int) error) (int, error) {
		calls++
		if p != nil {
			t.Error("no cache, but a partial result")
		}
		return 7, save(3)
	})
	if v != 7 || err != nil || calls != 1 {
		t.Errorf("got %d, %v after %d calls", v, err, calls)
	}
}
