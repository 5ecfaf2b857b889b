package notebook

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"

	"optlab.dev/internal/atomicfile"
	"optlab.dev/internal/fingerprint"
	"optlab.dev/internal/jsonfloat"
)

// ResultKind marks the files Cached writes, so that CheckCache (and `optlab
// caches`) tells them from CompareCached's comparisons.
const ResultKind = "optlab/notebook.Cached"

// cachedResult is the file format of Cached: what the result answers (Key),
// the packages whose code computed it with their fingerprint, and the result.
type cachedResult struct {
	Kind string          `json:"kind"`
	Key  json.RawMessage `json:"key"`
	// Packages are the import paths fingerprinted in Code (the runner
	// first).
	Packages []string        `json:"packages"`
	Code     string          `json:"code"`
	Complete bool            `json:"complete"`
	Result   json.RawMessage `json:"result"`
}

// Cached returns what compute returns, or, when the file CachePath(path)
// holds the complete result of the same key computed by the same code, that
// result without computing anything; a result of other code is recomputed,
// never shown. It is CompareCached for any experiment a notebook runs (a
// sweep, a diagnostic): key is everything that determines the result (any
// value with a JSON form: the configuration, data sizes, the backend), and the
// code is the fingerprint of the training packages (as in CodeFingerprint)
// and of packages (import paths such as "optlab.dev/optlab/diagnostics") with
// everything they import.
//
// compute receives the partial result an earlier, interrupted call saved for
// the same key and code (nil when there is none) and save, which writes a
// partial result to the file: a long computation that saves as it goes
// resumes where it stopped, and nothing it finished is lost. The complete
// result is saved when compute returns without error. Results are written
// with jsonfloat, so NaN and infinite values survive. An empty path disables
// caching (compute gets nil and a save that does nothing).
func Cached[T any](path string, key any, compute func(partial *T, save func(T) error) (T, error), packages ...string) (T, error) {
	var zero T
	noSave := func(T) error { return nil }
	if path == "" {
		return compute(nil, noSave)
	}
	rawKey, err := canonicalJSON(key)
	if err != nil {
		return zero, fmt.Errorf("cache %s: the key has no JSON form: %w", path, err)
	}
	pkgs := append(fingerprint.TrainingPackages(), packages...)
	code, err := fingerprint.Of(fingerprint.ModuleDir(filepath.Dir(path)), pkgs...)
	if err != nil {
		return zero, fmt.Errorf("cache %s: %w", path, err)
	}
	path = CachePath(path)
	var partial *T
	raw, err := os.ReadFile(path)
	switch {
	case err == nil:
		var c cachedResult
		if err := json.Unmarshal(raw, &c); err != nil || c.Kind != ResultKind {
			return zero, fmt.Errorf("cache %s is damaged or not a result cache (%v): delete it to recompute", path, err)
		}
		var stored bytes.Buffer
		if json.Compact(&stored, c.Key) == nil && bytes.Equal(stored.Bytes(), rawKey) && c.Code == code && slices.Equal(c.Packages, pkgs) {
			var v T
			if err := jsonfloat.Unmarshal(c.Result, &v); err != nil {
				return zero, fmt.Errorf("cache %s is damaged (%v): delete it to recompute", path, err)
			}
			if c.Complete {
				return v, nil
			}
			partial = &v
		}
	case !errors.Is(err, fs.ErrNotExist):
		return zero, fmt.Errorf("reading cache: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return zero, fmt.Errorf("creating cache directory: %w", err)
	}
	write := func(v T, complete bool) error {
		res, err := jsonfloat.Marshal(v)
		if err != nil {
			return fmt.Errorf("cache %s: %w", path, err)
		}
		raw, err := json.MarshalIndent(cachedResult{Kind: ResultKind, Key: rawKey, Packages: pkgs, Code: code,
			Complete: complete, Result: res}, "", " ")
		if err != nil {
			return fmt.Errorf("cache %s: %w", path, err)
		}
		return atomicfile.WriteBytes(path, raw)
	}
	v, err := compute(partial, func(v T) error { return write(v, false) })
	if err != nil {
		return v, err
	}
	return v, write(v, true)
}

// canonicalJSON returns v's JSON form with object keys sorted (as
// encoding/json writes maps), so that two equal keys compare equal byte for
// byte whatever their Go type.
func canonicalJSON(v any) (json.RawMessage, error) {
	raw, err := jsonfloat.Marshal(v)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(raw, &generic); err != nil {
		return nil, err
	}
	return json.Marshal(generic)
}

// checkResult reports whether a file Cached wrote is current: complete and
// computed by the code of its packages as the module holding it defines them
// now.
func checkResult(path string, raw []byte) (CacheState, error) {
	st := CacheState{Path: path}
	var c cachedResult
	if err := json.Unmarshal(raw, &c); err != nil {
		return st, fmt.Errorf("cache %s is not a result cache: %v", path, err)
	}
	if c.Complete {
		st.Runs = 1
	}
	switch {
	case !c.Complete:
		st.Reason = "incomplete (an interrupted computation)"
		return st, nil
	case len(c.Packages) == 0 || c.Code == "":
		st.Reason = "no code fingerprint"
		return st, nil
	}
	code, err := fingerprint.Of(fingerprint.ModuleDir(filepath.Dir(path)), c.Packages...)
	if err != nil {
		return st, fmt.Errorf("cache %s: %w", path, err)
	}
	if c.Code != code {
		st.Reason = fmt.Sprintf("computed by other code (%s, current %s)", short(c.Code), short(code))
		return st, nil
	}
	st.Current = true
	return st, nil
}
