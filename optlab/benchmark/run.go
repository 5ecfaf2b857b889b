package benchmark

import (
	stdctx "context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gomlx/compute"

	"optlab.dev/internal/fingerprint"
	"optlab.dev/internal/progress"
	"optlab.dev/optlab"
	"optlab.dev/optlab/sweep"
)

// TrialRunner trains benchmark trials. Train runs every trial (in any order,
// several at once if it can) and calls done with each finished trial's
// record, one call at a time; it stops at the first error done returns.
// Sequential trains one trial after another. A runner built on
// optlab/population could train the trials that share a workload and an
// optimizer family as one population behind the same interface; it needs the
// workloads' networks in member mode (models.Model.Members) and evaluations
// on a step interval in the population's loop.
type TrialRunner interface {
	Train(ctx stdctx.Context, trials []Trial, done func(sweep.Record) error) error
}

// Sequential trains trials one at a time on one backend (the pure-Go
// backend already uses every core for one trial).
type Sequential struct {
	Backend compute.Backend
	Data    *Data
	// Code is the code fingerprint recorded in every record's Env.Code; empty
	// means the running program's (fingerprint.Running), as sweeps record it.
	Code string
}

// Train implements TrialRunner.
func (s Sequential) Train(ctx stdctx.Context, trials []Trial, done func(sweep.Record) error) error {
	if s.Backend == nil || s.Data == nil {
		return errors.New("benchmark: the sequential runner needs a backend and data")
	}
	env, err := runEnv(s.Backend, s.Code)
	if err != nil {
		return err
	}
	for _, t := range trials {
		rec, err := runTrial(ctx, s.Backend, s.Data, t, env)
		if err != nil {
			return err
		}
		if err := done(*rec); err != nil {
			return err
		}
	}
	return nil
}

// RunTrial trains one trial and returns its record (not yet stored): what
// `optlab train --trial FILE` runs for a benchmark trial.
func RunTrial(ctx stdctx.Context, backend compute.Backend, data *Data, t Trial) (*sweep.Record, error) {
	env, err := runEnv(backend, "")
	if err != nil {
		return nil, err
	}
	return runTrial(ctx, backend, data, t, env)
}

// runEnv describes where trials run, with the code fingerprint (the running
// program's when code is empty).
func runEnv(backend compute.Backend, code string) (optlab.RunEnv, error) {
	env := optlab.CurrentEnv(optlab.DescribeBackend(backend))
	if code == "" {
		var err error
		if code, err = fingerprint.Running(); err != nil {
			return env, fmt.Errorf("benchmark: fingerprinting the code: %w", err)
		}
	}
	env.Code = code
	return env, nil
}

func runTrial(ctx stdctx.Context, backend compute.Backend, data *Data, t Trial, env optlab.RunEnv) (*sweep.Record, error) {
	start := time.Now()
	h, err := TrainTrial(ctx, backend, data, t)
	if err != nil {
		return nil, fmt.Errorf("trial %s (%s): %w", t.ID(), t, err)
	}
	st := t.Sweep()
	return &sweep.Record{ID: st.ID(), Trial: st, Hist: h, Finished: time.Now().UTC(),
		Seconds: time.Since(start).Seconds(), Env: env}, nil
}

// Options configures Run.
type Options struct {
	// Runner trains the trials (required).
	Runner TrialRunner
	// Progress, if set, receives a progress bar over the trials (a terminal).
	Progress io.Writer
	// Log, if set, receives one line per finished trial.
	Log io.Writer
}

// Result counts what Run did.
type Result struct {
	Total, Skipped, Ran, Diverged int
	Elapsed                       time.Duration
}

// Run trains every trial the store does not hold yet and appends each record
// the moment its trial finishes, so a benchmark that is interrupted or killed
// resumes by running it again (trial IDs are stable). A diverged trial is
// finished (its record has the error); any other failure stops the run.
// Cancelling ctx stops the running trial without storing it.
func Run(ctx stdctx.Context, store sweep.Store, trials []Trial, opts Options) (Result, error) {
	start := time.Now()
	res := Result{Total: len(trials)}
	if opts.Runner == nil {
		return res, errors.New("benchmark: no trial runner")
	}
	var pending []Trial
	seen := map[string]bool{}
	for i, t := range trials {
		if err := t.Validate(); err != nil {
			return res, fmt.Errorf("trial %d: %w", i+1, err)
		}
		id := t.ID()
		if seen[id] {
			return res, fmt.Errorf("trial %d (%s) is given twice", i+1, t)
		}
		seen[id] = true
		if store.Has(id) {
			res.Skipped++
			continue
		}
		pending = append(pending, t)
	}
	bar := progress.New(opts.Progress, len(pending))
	defer bar.Finish()
	err := opts.Runner.Train(ctx, pending, func(r sweep.Record) error {
		if _, err := store.Append(r); err != nil {
			return err
		}
		res.Ran++
		if r.Hist.Err != "" {
			res.Diverged++
		}
		if opts.Log != nil {
			bar.Clear()
			fmt.Fprintf(opts.Log, "[%d/%d] %s\n", res.Skipped+res.Ran, res.Total, describe(r))
		}
		bar.Redraw(res.Ran, fmt.Sprintf("trial %d/%d", res.Skipped+res.Ran, res.Total))
		return nil
	})
	res.Elapsed = time.Since(start)
	if err != nil && ctx.Err() != nil {
		return res, fmt.Errorf("benchmark interrupted after %d of %d pending trials (run it again to resume): %w", res.Ran, len(pending), ctx.Err())
	}
	return res, err
}

// describe formats a finished trial for the log.
func describe(r sweep.Record) string {
	t, _, err := FromSweep(r.Trial)
	if err != nil {
		return r.ID + ": " + err.Error()
	}
	what := fmt.Sprintf("%s %s %s study %d trial %d (%s)", r.ID, t.Workload, t.Submission, t.Study, t.Index, t.Optimizer)
	if r.Hist.Err != "" {
		return fmt.Sprintf("%s: %s (%.1fs)", what, r.Hist.Err, r.Seconds)
	}
	o := OutcomeOf(t, r.Hist)
	if t.Ruleset == TargetTuning || t.Ruleset == TargetRerun {
		return fmt.Sprintf("%s: best %s %.6g in %d steps (%.1fs)", what, t.Metric, o.Best, t.Steps, r.Seconds)
	}
	if o.Reached {
		return fmt.Sprintf("%s: reached %s %g at step %d (%.1fs of training)", what, t.Metric, t.Target, o.Steps, o.Seconds)
	}
	return fmt.Sprintf("%s: best %s %.4g, target %g not reached in %d steps (%.1fs)", what, t.Metric, o.Best, t.Target, t.Steps, r.Seconds)
}

// CacheStore is what RunCached needs of a results store: a sweep.Store that
// also lists its records and removes those a predicate rejects. optlab/store's
// *Store is one.
type CacheStore interface {
	sweep.Store
	Records() ([]sweep.Record, error)
	Prune(keep func(sweep.Record) bool) (removed int, err error)
}

// CachedResult says what RunCached did: Run's counts, and the records of
// other code it removed first (Stale).
type CachedResult struct {
	Result
	Stale int
}

// RunCached runs a benchmark with st as a notebook's cache of its trials, as
// store.RunCached does for sweeps: it removes every record whose code
// fingerprint (Env.Code) is not code, so that results of other code are
// recomputed rather than shown, trains the trials st does not hold (Run with
// opts) and returns the records of trials in their order, with what it did.
//
// A record is stored only if the runner recorded code in it (give
// Sequential.Code the same fingerprint); any other is an error, so a cache
// never holds a result under a fingerprint that did not compute it. The
// trial ID is the trial's whole configuration, so, as with Run, an
// interrupted call keeps every finished trial and the next call trains only
// the rest, and a benchmark with a larger budget or more studies over the
// same store trains only the trials the smaller one lacked.
func RunCached(ctx stdctx.Context, st CacheStore, trials []Trial, code string, opts Options) ([]sweep.Record, CachedResult, error) {
	var res CachedResult
	if code == "" {
		return nil, res, errors.New("benchmark: RunCached needs the code fingerprint that its records carry")
	}
	var err error
	if res.Stale, err = st.Prune(func(r sweep.Record) bool { return r.Env.Code == code }); err != nil {
		return nil, res, fmt.Errorf("removing the records of other code: %w", err)
	}
	res.Result, err = Run(ctx, codeChecked{CacheStore: st, code: code}, trials, opts)
	if err != nil {
		return nil, res, err
	}
	recs, err := st.Records()
	if err != nil {
		return nil, res, fmt.Errorf("reading the benchmark's records: %w", err)
	}
	want := make([]sweep.Trial, len(trials))
	for i, t := range trials {
		want[i] = t.Sweep()
	}
	out := sweep.RecordsFor(recs, want)
	if len(out) != len(trials) {
		return out, res, fmt.Errorf("benchmark: the store holds %d of the %d trials after the run", len(out), len(trials))
	}
	return out, res, nil
}

// codeChecked is a store that refuses records of code other than its own.
type codeChecked struct {
	CacheStore
	code string
}

func (c codeChecked) Append(r sweep.Record) (bool, error) {
	if r.Env.Code != c.code {
		return false, fmt.Errorf("trial %s: the runner recorded the code fingerprint %q, the cache holds %q's results (give the runner the same fingerprint)", r.ID, r.Env.Code, c.code)
	}
	return c.CacheStore.Append(r)
}
