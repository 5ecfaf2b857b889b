package notebook

import (
	stdctx "context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"

	"github.com/gomlx/compute"

	"optlab.dev/internal/atomicfile"
	"optlab.dev/internal/fingerprint"
	"optlab.dev/optlab"
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

// cachedRuns is the file format of CompareCached: the comparison it answers,
// the code that computed it and its runs.
type cachedRuns struct {
	Key compareKey `json:"key"`
	// Code is the fingerprint of the runner and everything it imports (update
	// rules, models, data sets, GoMLX's version): see CodeFingerprint.
	Code     string            `json:"code"`
	Runs     []*optlab.History `json:"runs"`
	Complete bool              `json:"complete"`
}

// RunnerPackage is the package whose code, with everything it imports,
// determines a cached comparison's numbers.
const RunnerPackage = fingerprint.RunnerPackage

// CodeFingerprint returns the fingerprint of the training packages
// (RunnerPackage, population training, sweeps, the benchmark protocol) and
// their dependencies as the go command resolves them from the module holding dir
// (see internal/fingerprint): caches record it and are recomputed when it
// changes.
func CodeFingerprint(dir string) (string, error) {
	return fingerprint.Runner(dir)
}

// CacheDirEnv is the environment variable that moves every cache into one
// folder: CachePath keeps a cache's file name and replaces its folder.
// `scripts/notebooks.sh execute --cold` sets it to an empty folder to
// recompute every cache of a notebook (and time the notebook from scratch).
const CacheDirEnv = "OPTLAB_CACHE_DIR"

// CachePath returns the file a cache named path is read from and written to:
// path itself in full mode; with OPTLAB_CACHE_DIR set, the file of the same
// name in that folder; otherwise, in quick mode, the file of the same name in
// the system's temporary folder (optlab-quick-cache), so quick runs never
// touch the committed full-mode results. CompareCached uses it; a notebook
// that keeps other results (a sweep's store) should too.
func CachePath(path string) string {
	if dir := os.Getenv(CacheDirEnv); dir != "" {
		return filepath.Join(dir, filepath.Base(path))
	}
	if Quick() {
		return filepath.Join(os.TempDir(), "optlab-quick-cache", filepath.Base(path))
	}
	return path
}

// compareKey is everything that determines a comparison's results. Its JSON
// form is compared with the cached file's, so its fields and their spelling
// must not change (the committed caches in data/cache would all go stale).
type compareKey struct {
	Model string `json:"model"`
	// Optimizers are the optimizers' labels: the specs as written.
	Optimizers []string        `json:"optimizers"`
	Seeds      []int64         `json:"seeds"`
	Protocol   optlab.Protocol `json:"protocol"`
	Epochs     int             `json:"epochs"`
	BatchSize  int             `json:"batch_size"`
	Train      int             `json:"train_examples"`
	Val        int             `json:"val_examples"`
	ValSplit   string          `json:"val_split"`
	Backend    string          `json:"backend"`
	// Accumulate and Telemetry are omitted when 0, so that keys of runs
	// without them read as they always did.
	Accumulate int `json:"accumulate,omitempty"`
	Telemetry  int `json:"telemetry,omitempty"`
	// EvalEvery is the runs' evaluation interval within epochs
	// (optlab.Config.EvalEvery), omitted when 0 like Accumulate.
	EvalEvery int `json:"eval_every,omitempty"`
	// Population is the largest population the runs were trained in
	// (CompareCachedPopulations); omitted for runs trained one by one, so
	// the keys of earlier caches are unchanged.
	Population int `json:"population,omitempty"`
}

// CompareCached runs optlab.Compare, or, when path holds the results of the same
// comparison (same model, optimizers, seeds, protocol, epochs, batch size, data
// sizes and backend) computed by the same code (CodeFingerprint), returns
// those without training; a cache written by other code is recomputed, never
// shown. Results are saved to
// path (atomically) after every run, so re-executing a notebook, or calling
// CompareCached again from a later cell, does not retrain, and an interrupted
// comparison resumes with the runs it had not finished. The file actually used
// is CachePath(path): in quick mode it lives in the system's temporary folder,
// so quick runs never touch the committed full-mode results. An empty path
// disables caching. With cc.CheckpointDir set, a run interrupted mid-way
// (a kernel restart) resumes from its last checkpoint as well; checkpoints
// are kept only while the cache says the comparison is unfinished and
// computed by the same code.
func CompareCached(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, cc optlab.CompareConfig, path string) ([]*optlab.History, error) {
	cc = cc.WithDefaults()
	if path == "" {
		return optlab.Compare(ctx, backend, data, cc)
	}
	key := cacheKey(cc, data, backend.Name())
	return cached(path, key, func(done []*optlab.History, save func([]*optlab.History) error) ([]*optlab.History, error) {
		cc.Done = done // resume an interrupted comparison
		// Checkpoints of runs this comparison did not record as started were
		// written by other code or for another comparison: start those runs afresh.
		if cc.CheckpointDir != "" && done == nil {
			for _, s := range cc.Optimizers {
				for _, seed := range cc.Seeds {
					if err := os.RemoveAll(optlab.RunCheckpointDir(cc.CheckpointDir, cc.Base.Model, s.Label, seed)); err != nil {
						return nil, fmt.Errorf("removing stale checkpoints: %w", err)
					}
				}
			}
		}
		// Save after every finished run, so an interrupted comparison resumes.
		var finished []*optlab.History
		userEnd := cc.OnRunEnd
		cc.OnRunEnd = func(h *optlab.History, err error) {
			if userEnd != nil {
				userEnd(h, err)
			}
			if err == nil && h != nil {
				finished = append(finished, h)
				_ = save(append(append([]*optlab.History(nil), done...), finished...))
			}
		}
		return optlab.Compare(ctx, backend, data, cc)
	})
}

// cached returns the complete runs of the cache at CachePath(path) when it
// holds key's results computed by the current code; otherwise it calls run
// with the runs of an interrupted computation of the same key (nil if none)
// and a function that saves partial results, and saves what run returns
// (complete when run returns no error). done is nil only for a computation
// that starts afresh (non-nil and empty for one started by the same code that
// finished nothing): before such a start, cached marks the computation as
// started, so that a restart resumes it, checkpoints included.
func cached(path string, key compareKey, run func(done []*optlab.History, save func([]*optlab.History) error) ([]*optlab.History, error)) ([]*optlab.History, error) {
	code, err := CodeFingerprint(filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("cache %s: %w", path, err)
	}
	path = CachePath(path)
	var done []*optlab.History
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		var c cachedRuns
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, fmt.Errorf("cache %s is damaged (%v): delete it to recompute", path, err)
		}
		if reflect.DeepEqual(c.Key, key) && c.Code == code {
			if c.Complete {
				return c.Runs, nil
			}
			if done = c.Runs; done == nil {
				done = []*optlab.History{}
			}
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("reading cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("creating cache directory: %w", err)
	}
	save := func(runs []*optlab.History, complete bool) error {
		raw, err := json.MarshalIndent(cachedRuns{Key: key, Code: code, Runs: runs, Complete: complete}, "", " ")
		if err != nil {
			return err
		}
		return atomicfile.WriteBytes(path, raw)
	}
	if done == nil {
		if err := save(nil, false); err != nil {
			return nil, fmt.Errorf("writing cache: %w", err)
		}
	}
	hs, err := run(done, func(runs []*optlab.History) error { return save(runs, false) })
	if err != nil {
		return hs, err
	}
	return hs, save(hs, true)
}

// cacheKey is the key of a comparison (cc with its defaults filled in) on
// data and a backend.
func cacheKey(cc optlab.CompareConfig, data *optlab.Data, backend string) compareKey {
	labels := make([]string, len(cc.Optimizers))
	for i, s := range cc.Optimizers {
		labels[i] = s.Label
	}
	k := compareKey{Model: cc.Base.Model, Optimizers: labels, Seeds: cc.Seeds, Protocol: cc.Protocol,
		Epochs: cc.Base.Epochs, BatchSize: cc.Base.BatchSize, Train: data.Train.Len(), Val: data.Val.Len(),
		ValSplit: data.ValSplit, Backend: backend, Telemetry: cc.Base.Telemetry, EvalEvery: cc.Base.EvalEvery}
	if cc.Base.Accumulate > 1 {
		k.Accumulate = cc.Base.Accumulate
	}
	return k
}
