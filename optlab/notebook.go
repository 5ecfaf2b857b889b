package optlab

import (
	stdctx "context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"

	"github.com/gomlx/gomlx/backends"
)

// QuickEnv is the environment variable that switches notebooks and examples to
// quick mode: less data and fewer epochs, for CI and a first look.
const QuickEnv = "OPTLAB_QUICK"

// Quick reports whether quick mode is on (OPTLAB_QUICK set to anything but "" or "0").
func Quick() bool {
	v := os.Getenv(QuickEnv)
	return v != "" && v != "0"
}

// Pick returns full, or quick in quick mode: notebooks size their experiments with it.
func Pick[T any](full, quick T) T {
	if Quick() {
		return quick
	}
	return full
}

// cachedRuns is the file format of CompareCached: the comparison it answers and its runs.
type cachedRuns struct {
	Key      compareKey `json:"key"`
	Runs     []*History `json:"runs"`
	Complete bool       `json:"complete"`
}

// compareKey is everything that determines a comparison's results.
type compareKey struct {
	Model      string   `json:"model"`
	Optimizers []string `json:"optimizers"`
	Seeds      []int64  `json:"seeds"`
	Protocol   Protocol `json:"protocol"`
	Epochs     int      `json:"epochs"`
	BatchSize  int      `json:"batch_size"`
	Train      int      `json:"train_examples"`
	Val        int      `json:"val_examples"`
	ValSplit   string   `json:"val_split"`
	Backend    string   `json:"backend"`
}

// CompareCached runs Compare, or, when path holds the results of the same
// comparison (same model, optimizers, seeds, protocol, epochs, batch size, data
// sizes and backend), returns those without training. Results are saved to
// path (atomically) after every run, so re-executing a notebook, or calling
// CompareCached again from a later cell, does not retrain, and an interrupted
// comparison resumes with the runs it had not finished. In quick mode the cache lives in
// the system's temporary folder instead, so quick runs never touch the
// committed full-mode results. An empty path disables caching.
func CompareCached(ctx stdctx.Context, backend backends.Backend, data *Data, cc CompareConfig, path string) ([]*History, error) {
	seeds := cc.Seeds
	if len(seeds) == 0 {
		seeds = []int64{cc.Base.Seed}
	}
	proto := cc.Protocol
	if proto == "" {
		proto = Fresh
	}
	key := compareKey{Model: cc.Base.Model, Optimizers: cc.Optimizers, Seeds: seeds, Protocol: proto,
		Epochs: cc.Base.Epochs, BatchSize: cc.Base.BatchSize, Train: data.Train.Len(), Val: data.Val.Len(),
		ValSplit: data.ValSplit, Backend: backend.Name()}
	useCache := path != ""
	if useCache && Quick() {
		path = filepath.Join(os.TempDir(), "optlab-quick-cache", filepath.Base(path))
	}
	if !useCache {
		return Compare(ctx, backend, data, cc)
	}
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		var c cachedRuns
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("cache %s is damaged (%v): delete it to recompute", path, err)
		}
		if reflect.DeepEqual(c.Key, key) {
			if c.Complete {
				return c.Runs, nil
			}
			cc.Done = c.Runs // resume an interrupted comparison
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating cache directory: %w", err)
	}
	save := func(runs []*History, complete bool) error {
		raw, err := json.MarshalIndent(cachedRuns{Key: key, Runs: runs, Complete: complete}, "", " ")
		if err != nil {
			return err
		}
		return writeAtomic(path, func(w io.Writer) error {
			_, err := w.Write(raw)
			return err
		})
	}
	// Save after every finished run, so an interrupted comparison resumes.
	var done []*History
	userEnd := cc.OnRunEnd
	cc.OnRunEnd = func(h *History, err error) {
		if userEnd != nil {
			userEnd(h, err)
		}
		if err == nil && h != nil {
			done = append(done, h)
			_ = save(append(append([]*History(nil), cc.Done...), done...), false)
		}
	}
	hs, err := Compare(ctx, backend, data, cc)
	if err != nil {
		return hs, err
	}
	return hs, save(hs, true)
}
