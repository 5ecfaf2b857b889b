package optlab

import (
	"bytes"
	stdctx "context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gomlx/gomlx/backends"

	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// Trial is one training run of a sweep: everything that decides its result.
// Its identity (ID) is a hash of its canonical form, so the same trial gets the
// same ID on every machine and in every run of a sweep.
type Trial struct {
	Model string `json:"model"`
	// Optimizer is the canonical spec (optimizers.Parse(spec).String()), which
	// includes the learning rate.
	Optimizer string `json:"optimizer"`
	Seed      int64  `json:"seed"`
	BatchSize int    `json:"batch_size"`
	Epochs    int    `json:"epochs"`
	// Split is the data split (models.SplitTest or models.SplitHoldout5k).
	Split string `json:"split"`
	// Limit, when > 0, keeps only the first Limit training examples (see
	// models.MNIST.Splits).
	Limit int `json:"limit"`
	// NonFinite is the divergence policy ("stop" or "skip").
	NonFinite string `json:"non_finite"`
}

// Canonical validates t and returns it with the optimizer spec in canonical
// form and defaults filled in (split "test", non-finite policy "stop").
func (t Trial) Canonical() (Trial, error) {
	if _, err := models.Get(t.Model); err != nil {
		return t, fmt.Errorf("trial: %w", err)
	}
	opt, err := optimizers.Parse(t.Optimizer)
	if err != nil {
		return t, fmt.Errorf("trial: %w", err)
	}
	t.Optimizer = opt.String()
	if t.Split == "" {
		t.Split = string(models.SplitTest)
	}
	if _, err := models.ParseSplit(t.Split); err != nil {
		return t, fmt.Errorf("trial: %w", err)
	}
	if t.NonFinite == "" {
		t.NonFinite = string(StopOnNonFinite)
	}
	switch NonFinitePolicy(t.NonFinite) {
	case StopOnNonFinite, SkipNonFinite:
	default:
		return t, fmt.Errorf("trial: unknown non-finite policy %q (valid: stop, skip)", t.NonFinite)
	}
	if t.Epochs < 1 {
		return t, fmt.Errorf("trial: epochs must be ≥ 1, got %d", t.Epochs)
	}
	if t.BatchSize < 1 {
		return t, fmt.Errorf("trial: batch size must be ≥ 1, got %d", t.BatchSize)
	}
	if t.Limit < 0 {
		return t, fmt.Errorf("trial: limit must be ≥ 0, got %d", t.Limit)
	}
	return t, nil
}

// ID returns the trial's stable identity: the first 16 hex digits of the
// SHA-256 of its canonical JSON form. Equivalent spellings of a spec
// ("adam(lr=1e-3)" and "adam(lr=0.001,b1=0.9)") give the same ID. A trial
// that does not validate is hashed as written.
func (t Trial) ID() string {
	if c, err := t.Canonical(); err == nil {
		t = c
	}
	return t.hash()
}

// hash is ID without canonicalisation: the hash of the trial as written.
// Stored trials are canonical already, so reading a store checks records with
// it, which is faster and keeps old stores readable if a later version spells
// canonical specs differently.
func (t Trial) hash() string {
	b, _ := json.Marshal(t) // a struct of strings and integers always marshals
	sum := sha256.Sum256(append([]byte("optlab.trial.v1\n"), b...))
	return hex.EncodeToString(sum[:8])
}

// LR returns the trial's learning rate (NaN when the spec does not parse).
func (t Trial) LR() float64 {
	o, err := optimizers.Parse(t.Optimizer)
	if err != nil {
		return math.NaN()
	}
	return o.LearningRate()
}

// String describes the trial in one line.
func (t Trial) String() string {
	s := fmt.Sprintf("%s · %s · seed %d · batch %d · %d epoch", t.Model, t.Optimizer, t.Seed, t.BatchSize, t.Epochs)
	if t.Epochs != 1 {
		s += "s"
	}
	if t.Limit > 0 {
		s += fmt.Sprintf(" · limit %d", t.Limit)
	}
	if t.Split != "" && t.Split != string(models.SplitTest) {
		s += " · split " + t.Split
	}
	return s
}

// Config returns the training configuration of the trial.
func (t Trial) Config() Config {
	return Config{Model: t.Model, Optimizer: t.Optimizer, Epochs: t.Epochs, BatchSize: t.BatchSize,
		Seed: t.Seed, NonFinite: NonFinitePolicy(t.NonFinite)}
}

// ReadTrial reads a trial from a JSON file (as written by WriteTrial or
// `optlab sweep --export-trials`).
func ReadTrial(path string) (Trial, error) {
	var t Trial
	raw, err := os.ReadFile(path)
	if err != nil {
		return t, fmt.Errorf("reading trial: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&t); err != nil {
		return t, fmt.Errorf("trial file %s: %w", path, err)
	}
	c, err := t.Canonical()
	if err != nil {
		return t, fmt.Errorf("trial file %s: %w", path, err)
	}
	return c, nil
}

// WriteTrial writes t as an indented JSON file (atomically).
func WriteTrial(path string, t Trial) error {
	return writeAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	})
}

// topLevelArgs splits the argument list of a spec "name(a=1,b=f(x=2),c=[1,2])"
// into its name and top-level "key=value" arguments.
func topLevelArgs(spec string) (name string, args []string, err error) {
	open := strings.IndexByte(spec, '(')
	if open < 0 {
		return strings.TrimSpace(spec), nil, nil
	}
	if !strings.HasSuffix(spec, ")") {
		return "", nil, fmt.Errorf("spec %q does not end with ')'", spec)
	}
	name = spec[:open]
	inner := spec[open+1 : len(spec)-1]
	depth, start := 0, 0
	for i := 0; i < len(inner); i++ {
		switch inner[i] {
		case '(', '[':
			depth++
		case ')', ']':
			depth--
		case ',':
			if depth == 0 {
				args = append(args, strings.TrimSpace(inner[start:i]))
				start = i + 1
			}
		}
	}
	if rest := strings.TrimSpace(inner[start:]); rest != "" {
		args = append(args, rest)
	}
	return name, args, nil
}

// WithHyperparameter returns the canonical form of spec with the numeric
// hyperparameter key set to value (added or replaced), e.g.
// WithHyperparameter("adam(lr=1e-3,b1=0.8)", "lr", 0.01) is
// "adam(lr=0.01,b1=0.8,...)". Sweeps use it to put a learning-rate grid into
// each optimizer spec. Aliases (learning_rate) are resolved first.
func WithHyperparameter(spec, key string, value float64) (string, error) {
	opt, err := optimizers.Parse(spec)
	if err != nil {
		return "", err
	}
	if _, ok := opt.Hyperparameter(key); !ok {
		return "", fmt.Errorf("optimizer %s has no hyperparameter %q", opt.Name(), key)
	}
	name, args, err := topLevelArgs(opt.String())
	if err != nil {
		return "", err
	}
	val := strconv.FormatFloat(value, 'g', -1, 64)
	found := false
	for i, a := range args {
		if k, _, _ := strings.Cut(a, "="); strings.TrimSpace(k) == key {
			args[i] = key + "=" + val
			found = true
		}
	}
	if !found {
		return "", fmt.Errorf("optimizer %s: canonical spec %q does not list %q", opt.Name(), opt.String(), key)
	}
	out, err := optimizers.Parse(name + "(" + strings.Join(args, ",") + ")")
	if err != nil {
		return "", err
	}
	if got, _ := out.Hyperparameter(key); got != value {
		return "", fmt.Errorf("setting %s=%v in %q gave %v", key, value, spec, got)
	}
	return out.String(), nil
}

// SpecFamily returns the canonical spec with its learning rate removed, e.g.
// "adam(b1=0.9,b2=0.999,eps=1e-08,...)": trials of one family differ only in
// the learning rate. Specs that do not parse are returned as they are.
func SpecFamily(spec string) string {
	opt, err := optimizers.Parse(spec)
	if err != nil {
		return spec
	}
	name, args, err := topLevelArgs(opt.String())
	if err != nil {
		return spec
	}
	var keep []string
	for _, a := range args {
		if k, _, _ := strings.Cut(a, "="); k != "lr" {
			keep = append(keep, a)
		}
	}
	return name + "(" + strings.Join(keep, ",") + ")"
}

// SpecLabel returns a short name for an optimizer family: the optimizer's
// name followed by the hyperparameters (other than lr) that differ from its
// defaults, e.g. "sgd(momentum=0.9)" or "adam".
func SpecLabel(spec string) string {
	opt, err := optimizers.Parse(spec)
	if err != nil {
		return spec
	}
	// Keras mode changes the defaults of other keys: compare with those.
	keras, _ := opt.Hyperparameter("keras")
	defSpec := opt.Name()
	if keras != 0 {
		defSpec += "(keras=true)"
	}
	def, err := optimizers.Parse(defSpec)
	if err != nil {
		return spec
	}
	_, args, err1 := topLevelArgs(opt.String())
	_, defArgs, err2 := topLevelArgs(def.String())
	if err1 != nil || err2 != nil {
		return spec
	}
	defaults := map[string]bool{}
	for _, a := range defArgs {
		defaults[a] = true
	}
	var diff []string
	for _, a := range args {
		if k, _, _ := strings.Cut(a, "="); k != "lr" && (!defaults[a] || a == "keras=true") {
			diff = append(diff, a)
		}
	}
	if len(diff) == 0 {
		return opt.Name()
	}
	return opt.Name() + "(" + strings.Join(diff, ",") + ")"
}

// Grid is a sweep: the cross product of its lists. It reads from JSON such as
//
//	{"models": ["mlp-small"], "optimizers": ["sgd(momentum=0.9)", "adam"],
//	 "lrs": [1e-3, 1e-2, 1e-1], "seeds": [1, 2, 3], "batch_sizes": [32],
//	 "epochs": 5, "split": "holdout5k", "limit": 0}
type Grid struct {
	Models     []string `json:"models"`
	Optimizers []string `json:"optimizers"`
	// LRs, when not empty, replaces the learning rate of every optimizer spec
	// with each value in turn; empty keeps the specs' own rates.
	LRs        []float64 `json:"lrs,omitempty"`
	Seeds      []int64   `json:"seeds"`
	BatchSizes []int     `json:"batch_sizes"`
	Epochs     int       `json:"epochs"`
	// Split defaults to holdout5k: the best learning rate is then chosen on
	// held-out training images, never on the test set.
	Split     string `json:"split,omitempty"`
	Limit     int    `json:"limit,omitempty"`
	NonFinite string `json:"non_finite,omitempty"`
}

// LoadGrid reads a Grid from a JSON file, rejecting unknown keys.
func LoadGrid(path string) (Grid, error) {
	var g Grid
	raw, err := os.ReadFile(path)
	if err != nil {
		return g, fmt.Errorf("reading sweep config: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return g, fmt.Errorf("sweep config %s: %w", path, err)
	}
	return g, nil
}

// Trials expands the grid in a fixed order (model, optimizer, learning rate,
// batch size, seed), canonicalising and validating every trial and dropping
// repeats (two spellings of one spec).
func (g Grid) Trials() ([]Trial, error) {
	if len(g.Models) == 0 {
		return nil, errors.New("sweep: no models")
	}
	if len(g.Optimizers) == 0 {
		return nil, errors.New("sweep: no optimizers")
	}
	seeds := g.Seeds
	if len(seeds) == 0 {
		seeds = []int64{1}
	}
	batches := g.BatchSizes
	if len(batches) == 0 {
		batches = []int{32}
	}
	split := g.Split
	if split == "" {
		split = string(models.SplitHoldout5k)
	}
	for _, lr := range g.LRs {
		if !(lr > 0) {
			return nil, fmt.Errorf("sweep: learning rate %v must be > 0", lr)
		}
	}
	var out []Trial
	seen := map[string]bool{}
	for _, model := range g.Models {
		for _, spec := range g.Optimizers {
			specs := []string{spec}
			if len(g.LRs) > 0 {
				specs = specs[:0]
				for _, lr := range g.LRs {
					s, err := WithHyperparameter(spec, "lr", lr)
					if err != nil {
						return nil, fmt.Errorf("sweep: optimizer %q: %w", spec, err)
					}
					specs = append(specs, s)
				}
			}
			for _, s := range specs {
				for _, bs := range batches {
					for _, seed := range seeds {
						t, err := Trial{Model: model, Optimizer: s, Seed: seed, BatchSize: bs, Epochs: g.Epochs,
							Split: split, Limit: g.Limit, NonFinite: g.NonFinite}.Canonical()
						if err != nil {
							return nil, fmt.Errorf("sweep: %w", err)
						}
						if id := t.ID(); !seen[id] {
							seen[id] = true
							out = append(out, t)
						}
					}
				}
			}
		}
	}
	return out, nil
}

// SweepOptions configures RunSweep.
type SweepOptions struct {
	// Workers is the number of trials run at once (default 1). Each worker has
	// its own backend and network; the pure-Go backend already uses every core
	// for one trial, so more workers mainly help small models or many devices.
	Workers int
	// NewBackend creates one worker's backend (default NewBackend("")).
	NewBackend func() (backends.Backend, error)
	// MNIST is the data set (default: loaded with LoadMNIST(DataDir) when the
	// first trial starts).
	MNIST   *models.MNIST
	DataDir string
	// Progress, if set, receives a progress bar over the trials with an ETA,
	// rewritten in place (meant for a terminal).
	Progress io.Writer
	// Log, if set, receives one line per finished trial.
	Log io.Writer
	// OnRecord, if set, is called (from the worker's goroutine, serialised)
	// with each record after it is stored.
	OnRecord func(r Record)
}

// SweepResult counts what RunSweep did.
type SweepResult struct {
	Total    int // trials in the sweep
	Skipped  int // already in the store
	Ran      int // run and stored now
	Diverged int // of Ran, stopped by a non-finite loss (stored with their error)
	Elapsed  time.Duration
}

// RunSweep runs every trial the store does not hold yet and appends each
// record the moment its trial finishes, so a sweep that is interrupted (or
// killed) resumes by running it again. A diverged trial is finished (its
// record has the error); any other failure stops the sweep with the trial's
// error. Cancelling ctx stops the running trials without storing them.
func RunSweep(ctx stdctx.Context, store *Store, trials []Trial, opts SweepOptions) (SweepResult, error) {
	start := time.Now()
	res := SweepResult{Total: len(trials)}
	var pending []Trial
	for i, t := range trials {
		c, err := t.Canonical()
		if err != nil {
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
	workers := max(1, min(opts.Workers, len(pending)))
	newBackend := opts.NewBackend
	if newBackend == nil {
		newBackend = func() (backends.Backend, error) { return NewBackend("") }
	}
	src := &dataSource{mnist: opts.MNIST, dir: opts.DataDir}

	ctx, cancel := stdctx.WithCancel(ctx)
	defer cancel()
	jobs := make(chan Trial)
	var (
		mu       sync.Mutex // guards res, firstErr, the bar and the callbacks
		firstErr error
		wg       sync.WaitGroup
	)
	bar := newProgress(opts.Progress, len(pending))
	defer bar.finish()
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
			envCache := CurrentEnv(DescribeBackend(backend))
			for t := range jobs {
				data, err := src.get(t)
				if err != nil {
					fail(err)
					return
				}
				rec, err := runTrial(ctx, backend, data, t, envCache)
				if err != nil {
					if ctx.Err() == nil {
						fail(fmt.Errorf("trial %s (%s): %w", t.ID(), t, err))
					}
					return
				}
				if _, err := store.Append(*rec); err != nil {
					fail(err)
					return
				}
				mu.Lock()
				res.Ran++
				if rec.Hist.Err != "" {
					res.Diverged++
				}
				if opts.Log != nil {
					bar.clear()
					fmt.Fprintf(opts.Log, "[%d/%d] %s\n", res.Skipped+res.Ran, res.Total, describeRecord(rec))
				}
				bar.last = time.Time{}
				bar.update(res.Ran, fmt.Sprintf("trial %d/%d", res.Skipped+res.Ran, res.Total))
				if opts.OnRecord != nil {
					opts.OnRecord(*rec)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for _, t := range pending {
		select {
		case jobs <- t:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
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

// describeRecord formats a finished trial for the sweep log.
func describeRecord(r *Record) string {
	h, t := r.Hist, r.Trial
	what := fmt.Sprintf("%s %s %s lr=%g seed %d batch %d", r.ID, t.Model, SpecLabel(t.Optimizer), t.LR(), t.Seed, t.BatchSize)
	if h.Err != "" {
		return fmt.Sprintf("%s: stopped: %s (%.1fs)", what, h.Err, r.Seconds)
	}
	return fmt.Sprintf("%s: val_accuracy %.4f, test_accuracy %.4f (%.1fs)", what, h.Last().ValAccuracy, h.TestAccuracy, r.Seconds)
}

// RunTrial trains one trial and returns its record (not yet stored). A
// diverged trial is returned with its error in the record's history and a nil
// error; other failures return an error.
func RunTrial(ctx stdctx.Context, backend backends.Backend, data *Data, t Trial) (*Record, error) {
	c, err := t.Canonical()
	if err != nil {
		return nil, err
	}
	return runTrial(ctx, backend, data, c, CurrentEnv(DescribeBackend(backend)))
}

func runTrial(ctx stdctx.Context, backend backends.Backend, data *Data, t Trial, env RunEnv) (*Record, error) {
	start := time.Now()
	h, err := Train(ctx, backend, data, t.Config())
	if err != nil && (h == nil || ctx.Err() != nil || !h.Diverged()) {
		return nil, err
	}
	return &Record{ID: t.ID(), Trial: t, Hist: h, Finished: time.Now().UTC(),
		Seconds: time.Since(start).Seconds(), Env: env}, nil
}

// dataSource loads MNIST once and hands out the split each trial needs.
type dataSource struct {
	mu    sync.Mutex
	mnist *models.MNIST
	dir   string
	cache map[string]*Data
}

func (d *dataSource) get(t Trial) (*Data, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.mnist == nil {
		m, err := models.LoadMNIST(d.dir)
		if err != nil {
			return nil, err
		}
		d.mnist = m
	}
	key := fmt.Sprintf("%s/%d", t.Split, t.Limit)
	if data, ok := d.cache[key]; ok {
		return data, nil
	}
	data, err := SplitData(d.mnist, models.DataSplit(t.Split), t.Limit)
	if err != nil {
		return nil, err
	}
	if d.cache == nil {
		d.cache = map[string]*Data{}
	}
	d.cache[key] = data
	return data, nil
}

// clear erases the bar's line so a log line can be printed; the next update
// draws it again.
func (p *progress) clear() {
	if p.w != nil && p.drawn {
		fmt.Fprintf(p.w, "\r%s\r", strings.Repeat(" ", 100))
		p.drawn = false
	}
}
