package store

import (
	stdctx "context"
	"fmt"

	"optlab.dev/internal/fingerprint"
	"optlab.dev/optlab/sweep"
)

// Prune removes, in one transaction, every record that keep rejects, and
// returns how many it removed. A notebook uses it to drop the records that
// other code computed (keep: r.Env.Code is the current fingerprint), so that
// they are recomputed rather than shown.
func (s *Store) Prune(keep func(r sweep.Record) bool) (removed int, err error) {
	recs, err := s.Records()
	if err != nil {
		return 0, err
	}
	tx, err := s.db.Begin()
	if err != nil {
		return 0, fmt.Errorf("store %s: %w", s.path, err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
			removed = 0
		}
	}()
	for _, r := range recs {
		if keep(r) {
			continue
		}
		if _, err := tx.Exec(`DELETE FROM trials WHERE id = ?`, r.ID); err != nil {
			return 0, fmt.Errorf("store %s: removing trial %s: %w", s.path, r.ID, err)
		}
		removed++
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("store %s: %w", s.path, err)
	}
	return removed, nil
}

// CachedResult says what RunCached did.
type CachedResult struct {
	sweep.Result
	// Stale counts the records of other code that were removed (and whose
	// trials, when they belong to this sweep, ran again).
	Stale int
}

// RunCached runs a sweep with the store at path as a notebook's cache: it
// opens (or creates) the store, removes every record that code other than
// the running program's computed (opts.Code; empty means the running
// program's fingerprint, as sweep.Run records it), runs the trials the store
// does not hold (sweep.Run with opts) and returns the sweep's records in the
// trials' order. A record without a fingerprint counts as other code's. As
// with sweep.Run, an interrupted call keeps every finished trial and the next
// call runs the rest.
func RunCached(ctx stdctx.Context, path string, trials []sweep.Trial, opts sweep.Options) ([]sweep.Record, CachedResult, error) {
	var res CachedResult
	code := opts.Code
	if code == "" {
		var err error
		if code, err = fingerprint.Running(); err != nil {
			return nil, res, fmt.Errorf("store %s: fingerprinting the code: %w", path, err)
		}
		if code == "" {
			return nil, res, fmt.Errorf("store %s: the running program does not know its source (a built binary): give sweep.Options.Code", path)
		}
		opts.Code = code
	}
	s, err := Open(path, Options{})
	if err != nil {
		return nil, res, err
	}
	closed := false
	defer func() {
		if !closed {
			_ = s.Close()
		}
	}()
	if res.Stale, err = s.Prune(func(r sweep.Record) bool { return r.Env.Code == code }); err != nil {
		return nil, res, err
	}
	res.Result, err = sweep.Run(ctx, s, trials, opts)
	if err != nil {
		return nil, res, err
	}
	recs, err := s.Records()
	if err != nil {
		return nil, res, err
	}
	canon := make([]sweep.Trial, 0, len(trials))
	for _, t := range trials {
		c, err := t.Canonical()
		if err != nil {
			return nil, res, err
		}
		canon = append(canon, c)
	}
	closed = true
	return sweep.RecordsFor(recs, canon), res, s.Close()
}
