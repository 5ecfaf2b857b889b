package sweep

import (
	stdctx "context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gomlx/compute"

	"optlab.dev/internal/fingerprint"
	"optlab.dev/internal/progress"
	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// Record is what a results store keeps for one finished trial: its
// configuration, its full history (final metrics, timings) and where it ran.
// A trial whose loss diverged is finished too: its History has Err set.
type Record struct {
	// ID is Trial.ID(); a store rejects a record whose ID does not match its
	// trial.
	ID    string          `json:"id"`
	Trial Trial           `json:"trial"`
	Hist  *optlab.History `json:"history"`
	// Finished is when the record was written (UTC).
	Finished time.Time `json:"finished"`
	// Seconds is the trial's wall time, graph compilation and evaluation included.
	Seconds float64       `json:"seconds"`
	Env     optlab.RunEnv `json:"env"`
}

// Store is where Run keeps finished trials; optlab/store's JSON Lines store
// implements it. Both methods must be safe for concurrent use.
type Store interface {
	// Has reports whether the store holds a record for the trial ID.
	Has(id string) bool
	// Append stores r durably unless a record with its ID is stored already,
	// and reports whether it added r.
	Append(r Record) (bool, error)
}

// Options configures Run.
type Options struct {
	// Workers is the number of trials run at once (default 1). Each worker has
	// its own backend and network; the pure-Go backend already uses every core
	// for one trial, so more workers mainly help small models or many devices.
	Workers int
	// NewBackend creates one worker's backend (default optlab.NewBackend("")).
	NewBackend func() (compute.Backend, error)
	// MNIST is the data set (default: loaded with LoadMNIST(DataDir) when the
	// first trial starts).
	MNIST   *datasets.Set
	DataDir string
	// Progress, if set, receives a progress bar over the trials with an ETA,
	// rewritten in place (meant for a terminal).
	Progress io.Writer
	// Log, if set, receives one line per finished trial.
	Log io.Writer
	// OnRecord, if set, is called (from the worker's goroutine, serialised)
	// with each record after it is stored.
	OnRecord func(r Record)
	// CheckpointDir, if set, gives every running trial a checkpoint directory
	// CheckpointDir/<trial ID> (see optlab.Checkpointing): a trial that was
	// killed resumes from its newest checkpoint when the sweep runs again,
	// instead of starting over, and its directory is removed once its record
	// is stored. Trials trained as a population (Population) are not
	// checkpointed: an unfinished population runs again whole.
	CheckpointDir string
	// CheckpointEvery > 0 also checkpoints every CheckpointEvery steps
	// within an epoch (checkpoints are saved at every epoch's end).
	CheckpointEvery int
	// Population, when > 1, trains trials up to that many at a time as one
	// population (optlab/population, passed as TrainPopulation): trials that
	// share model, batch size, epochs, split, limit, non-finite policy and
	// optimizer structure (optimizers.Optimizer.Structure) are grouped, in the
	// order they come, and each group is cut into populations of at most
	// Population members. Trials that cannot train as a population (a model
	// without a member form, an optimizer with a transform that is not
	// Stackable) and groups of one run alone. Every member's record is stored
	// as soon as its population finishes, so an interrupted sweep resumes as
	// before (an unfinished population runs again whole). A member's
	// record.Seconds is its share of the population's wall time.
	Population int
	// TrainPopulation trains a population (population.Train); it must be set
	// when Population > 1.
	TrainPopulation func(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, cfgs []optlab.Config) ([]*optlab.History, error)
	// Code is the code fingerprint recorded in every record's Env.Code.
	// Empty means Run computes it for the program it runs in
	// (fingerprint.Running: notebooks, go run and go test know their source;
	// other binaries leave it empty).
	Code string
}

// Result counts what Run did.
type Result struct {
	Total    int // trials in the sweep
	Skipped  int // already in the store
	Ran      int // run and stored now
	Diverged int // of Ran, stopped by a non-finite loss (stored with their error)
	Elapsed  time.Duration
}

// Run runs every trial the store does not hold yet and appends each record
// the moment its trial finishes, so a sweep that is interrupted (or killed)
// resumes by running it again. A diverged trial is finished (its record has
// the error); any other failure stops the sweep with the trial's error.
// Cancelling ctx stops the running trials without storing them.
func Run(ctx stdctx.Context, store Store, trials []Trial, opts Options) (Result, error) {
	start := time.Now()
	res := Result{Total: len(trials)}
	var pending []Trial
	for i, t := range trials {
		c, err := t.Canonical()
		if err != nil {
			return res, fmt.Errorf("trial %d: %w", i+1, err)
		}
		if err := c.checkNoProtocol(); err != nil {
			return res, fmt.Errorf("trial %d: %w", i+1, err)
		}
		if store.Has(c.ID()) {
			res.Skipped++
			continue
		}
		pending = append(pending, c)
	}
	if len(pending) == 0 {
		res.Elapsed = time.Since(start)
		return res, nil
	}
	if opts.Population > 1 && opts.TrainPopulation == nil {
		return res, fmt.Errorf("sweep: population of %d without a TrainPopulation function (population.Train)", opts.Population)
	}
	code := opts.Code
	if code == "" {
		var err error
		if code, err = fingerprint.Running(); err != nil {
			return res, fmt.Errorf("sweep: fingerprinting the code: %w", err)
		}
	}
	jobs := Populations(pending, opts.Population)
	workers := max(1, min(opts.Workers, len(jobs)))
	newBackend := opts.NewBackend
	if newBackend == nil {
		newBackend = func() (compute.Backend, error) { return optlab.NewBackend("") }
	}
	src := &dataSource{mnist: opts.MNIST, dir: opts.DataDir}

	ctx, cancel := stdctx.WithCancel(ctx)
	defer cancel()
	queue := make(chan []Trial)
	var (
		mu       sync.Mutex // guards res, firstErr, the bar and the callbacks
		firstErr error
		wg       sync.WaitGroup
	)
	bar := progress.New(opts.Progress, len(pending))
	defer bar.Finish()
	fail := func(err error) {
		mu.Lock()
		if firstErr == nil {
			firstErr = err
		}
		mu.Unlock()
		cancel()
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			backend, err := newBackend()
			if err != nil {
				fail(err)
				return
			}
			envCache := optlab.CurrentEnv(optlab.DescribeBackend(backend))
			envCache.Code = code
			for job := range queue {
				data, err := src.get(job[0])
				if err != nil {
					fail(err)
					return
				}
				var recs []*Record
				if len(job) == 1 {
					var rec *Record
					rec, err = runTrial(ctx, backend, data, job[0], envCache, trialCheckpoints(opts.CheckpointDir, opts.CheckpointEvery, job[0]))
					recs = []*Record{rec}
				} else {
					recs, err = runPopulation(ctx, backend, data, job, envCache, opts.TrainPopulation)
				}
				if err != nil {
					if ctx.Err() == nil {
						fail(fmt.Errorf("trial %s (%s): %w", job[0].ID(), describeJob(job), err))
					}
					return
				}
				for _, rec := range recs {
					if _, err := store.Append(*rec); err != nil {
						fail(err)
						return
					}
					if err := RemoveTrialCheckpoints(opts.CheckpointDir, rec.Trial); err != nil {
						fail(err)
						return
					}
					mu.Lock()
					res.Ran++
					if rec.Hist.Err != "" {
						res.Diverged++
					}
					if opts.Log != nil {
						bar.Clear()
						fmt.Fprintf(opts.Log, "[%d/%d] %s\n", res.Skipped+res.Ran, res.Total, describeRecord(rec))
					}
					bar.Redraw(res.Ran, fmt.Sprintf("trial %d/%d", res.Skipped+res.Ran, res.Total))
					if opts.OnRecord != nil {
						opts.OnRecord(*rec)
					}
					mu.Unlock()
				}
			}
		}()
	}
feed:
	for _, job := range jobs {
		select {
		case queue <- job:
		case <-ctx.Done():
			break feed
		}
	}
	close(queue)
	wg.Wait()
	res.Elapsed = time.Since(start)
	if firstErr != nil {
		return res, firstErr
	}
	if err := ctx.Err(); err != nil && res.Ran < len(pending) {
		return res, fmt.Errorf("sweep interrupted after %d of %d pending trials (run it again to resume): %w", res.Ran, len(pending), err)
	}
	return res, nil
}

// describeJob names a trial, or a population by its first trial and size.
func describeJob(job []Trial) string {
	if len(job) == 1 {
		return job[0].String()
	}
	return fmt.Sprintf("%s and %d more in one population", job[0], len(job)-1)
}

// Populations groups trials into the jobs Run hands its workers: with
// size > 1, trials that can train together as one population (same model,
// batch size, epochs, data (split, limit, full evaluation), evaluation
// interval, non-finite policy and optimizer structure, with a model and optimizer that have a population form), in
// the order their groups first appear, cut into jobs of at most size trials;
// every other trial is a job of its own. With size ≤ 1 every trial is a job
// of its own.
func Populations(trials []Trial, size int) [][]Trial {
	var jobs [][]Trial
	if size <= 1 {
		for _, t := range trials {
			jobs = append(jobs, []Trial{t})
		}
		return jobs
	}
	var order []string
	groups := map[string][]Trial{}
	for _, t := range trials {
		key, ok := populationKey(t)
		if !ok {
			key = "alone " + t.ID()
		}
		if _, seen := groups[key]; !seen {
			order = append(order, key)
		}
		groups[key] = append(groups[key], t)
	}
	for _, key := range order {
		g := groups[key]
		for len(g) > 0 {
			n := min(size, len(g))
			jobs = append(jobs, g[:n:n])
			g = g[n:]
		}
	}
	return jobs
}

// populationKey returns what trials of one population share, and false for
// a trial that cannot train in a population.
func populationKey(t Trial) (string, bool) {
	m, err := models.Get(t.Model)
	if err != nil || !m.Members || t.Optimizer == nil {
		return "", false
	}
	if _, err := optimizers.NewPopulation(t.Optimizer); err != nil {
		return "", false
	}
	return fmt.Sprintf("%s|%d|%d|%s|%d|%t|%d|%s|%s", t.Model, t.BatchSize, t.Epochs, t.Split, t.Limit, t.FullEval, t.EvalEvery,
		t.NonFinite, t.Optimizer.Structure()), true
}

// runPopulation trains the trials of one job as a population and returns
// their records, in order (not yet stored).
func runPopulation(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, job []Trial, env optlab.RunEnv,
	train func(stdctx.Context, compute.Backend, *optlab.Data, []optlab.Config) ([]*optlab.History, error)) ([]*Record, error) {
	start := time.Now()
	cfgs := make([]optlab.Config, len(job))
	for i, t := range job {
		cfgs[i] = t.Config()
	}
	hs, err := train(ctx, backend, data, cfgs)
	if err != nil {
		return nil, err
	}
	if len(hs) != len(job) {
		return nil, fmt.Errorf("population of %d returned %d histories", len(job), len(hs))
	}
	share := time.Since(start).Seconds() / float64(len(job))
	finished := time.Now().UTC()
	recs := make([]*Record, len(job))
	for i, t := range job {
		recs[i] = &Record{ID: t.ID(), Trial: t, Hist: hs[i], Finished: finished, Seconds: share, Env: env}
	}
	return recs, nil
}

// describeRecord formats a finished trial for the sweep log.
func describeRecord(r *Record) string {
	h, t := r.Hist, r.Trial
	what := fmt.Sprintf("%s %s %s lr=%g seed %d batch %d", r.ID, t.Model, t.Label(), t.LR(), t.Seed, t.BatchSize)
	if h.Members > 1 {
		what += fmt.Sprintf(" (population of %d)", h.Members)
	}
	if h.Err != "" {
		return fmt.Sprintf("%s: stopped: %s (%.1fs)", what, h.Err, r.Seconds)
	}
	return fmt.Sprintf("%s: val_accuracy %.4f, test_accuracy %.4f (%.1fs)", what, h.Last().ValAccuracy, h.TestAccuracy, r.Seconds)
}

// RunTrial trains one trial and returns its record (not yet stored), with
// the running program's code fingerprint in Env.Code (see Options.Code). A
// diverged trial is returned with its error in the record's history and a nil
// error; other failures return an error.
func RunTrial(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, t Trial) (*Record, error) {
	return RunTrialWithCheckpoints(ctx, backend, data, t, "", 0)
}

// RunTrialWithCheckpoints is RunTrial with the trial's state checkpointed
// in dir/<trial ID> (every epoch's end, and every `every` steps when > 0)
// and resumed from there when a checkpoint exists; an empty dir is RunTrial.
// The caller removes the trial's checkpoints (RemoveTrialCheckpoints) once
// its record is stored.
func RunTrialWithCheckpoints(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, t Trial, dir string, every int) (*Record, error) {
	c, err := t.Canonical()
	if err != nil {
		return nil, err
	}
	if err := c.checkNoProtocol(); err != nil {
		return nil, err
	}
	code, err := fingerprint.Running()
	if err != nil {
		return nil, fmt.Errorf("sweep: fingerprinting the code: %w", err)
	}
	env := optlab.CurrentEnv(optlab.DescribeBackend(backend))
	env.Code = code
	return runTrial(ctx, backend, data, c, env, trialCheckpoints(dir, every, c))
}

// trialCheckpoints returns the checkpointing of trial t under dir (nil for
// no dir).
func trialCheckpoints(dir string, every int, t Trial) *optlab.Checkpointing {
	if dir == "" {
		return nil
	}
	return &optlab.Checkpointing{Dir: filepath.Join(dir, t.ID()), Every: every, Resume: true}
}

// RemoveTrialCheckpoints removes trial t's checkpoint directory under dir
// (nothing for an empty dir).
func RemoveTrialCheckpoints(dir string, t Trial) error {
	if dir == "" {
		return nil
	}
	if err := os.RemoveAll(filepath.Join(dir, t.ID())); err != nil {
		return fmt.Errorf("removing the checkpoints of finished trial %s: %w", t.ID(), err)
	}
	return nil
}

// checkNoProtocol refuses a trial of a protocol (see Trial.Protocol), whose
// own runner trains it.
func (t Trial) checkNoProtocol() error {
	if len(t.Protocol) == 0 {
		return nil
	}
	return fmt.Errorf("trial %s belongs to a protocol (%s): run it with that protocol's runner (optlab benchmark, or optlab train --trial)", t.ID(), t.Protocol)
}

func runTrial(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, t Trial, env optlab.RunEnv, ck *optlab.Checkpointing) (*Record, error) {
	start := time.Now()
	cfg := t.Config()
	cfg.Checkpoint = ck
	h, err := optlab.Train(ctx, backend, data, cfg)
	if err != nil && (h == nil || ctx.Err() != nil || !h.Diverged()) {
		return nil, err
	}
	return &Record{ID: t.ID(), Trial: t, Hist: h, Finished: time.Now().UTC(),
		Seconds: time.Since(start).Seconds(), Env: env}, nil
}

// dataSource loads MNIST once and hands out the split each trial needs.
type dataSource struct {
	mu    sync.Mutex
	mnist *datasets.Set
	dir   string
	cache map[string]*optlab.Data
}

func (d *dataSource) get(t Trial) (*optlab.Data, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mnist == nil {
		m, err := datasets.LoadMNIST(d.dir)
		if err != nil {
			return nil, err
		}
		d.mnist = m
	}
	key := fmt.Sprintf("%s/%d/%t", t.Split, t.Limit, t.FullEval)
	if data, ok := d.cache[key]; ok {
		return data, nil
	}
	split := optlab.SplitData
	if t.FullEval {
		split = optlab.SplitDataFullEval
	}
	data, err := split(d.mnist, datasets.DataSplit(t.Split), t.Limit)
	if err != nil {
		return nil, err
	}
	if d.cache == nil {
		d.cache = map[string]*optlab.Data{}
	}
	d.cache[key] = data
	return data, nil
}

// RecordsFor returns the records of the given trials, in the trials' order
// (trials without a record are left out): the part of a store that one sweep
// (a notebook's grid, say) produced.
func RecordsFor(recs []Record, trials []Trial) []Record {
	byID := make(map[string]Record, len(recs))
	for _, r := range recs {
		if _, ok := byID[r.ID]; !ok {
			byID[r.ID] = r
		}
	}
	var out []Record
	for _, t := range trials {
		if r, ok := byID[t.ID()]; ok {
			out = append(out, r)
			delete(byID, t.ID())
		}
	}
	return out
}
