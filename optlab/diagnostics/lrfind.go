package diagnostics

import (
	stdctx "context"
	"errors"
	"fmt"
	"math"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// RangeConfig is the learning-rate schedule and the reading rules of a
// learning-rate range test.
type RangeConfig struct {
	// MinLR and MaxLR bound the rates (0: 1e-6 and 10); step k of Steps uses
	// η_k = MinLR·(MaxLR/MinLR)^(k/(Steps−1)), equally spaced in log η.
	MinLR, MaxLR float64
	// Steps is the number of updates (0: 100; at least 5).
	Steps int
	// Smoothing is the horizon N of the exponential moving average of the
	// loss, in steps (0: 10; 1: no smoothing): with β = 1 − 1/N,
	// s_k = β·s_{k−1} + (1 − β)·L_k and the bias-corrected ŝ_k = s_k/(1 − β^(k+1)).
	Smoothing int
	// DivergeFactor stops the test when ŝ_k exceeds DivergeFactor × the
	// smallest ŝ so far, or the loss is not finite (0: 4).
	DivergeFactor float64
}

// Validate checks the settings (zero fields taking their defaults).
func (c RangeConfig) Validate() error { return c.defaults() }

func (c *RangeConfig) defaults() error {
	if c.MinLR == 0 {
		c.MinLR = 1e-6
	}
	if c.MaxLR == 0 {
		c.MaxLR = 10
	}
	if c.Steps == 0 {
		c.Steps = 100
	}
	if c.Smoothing == 0 {
		c.Smoothing = 10
	}
	if c.DivergeFactor == 0 {
		c.DivergeFactor = 4
	}
	switch {
	case !(c.MinLR > 0) || math.IsInf(c.MaxLR, 0) || !(c.MaxLR > c.MinLR):
		return fmt.Errorf("lr range: need 0 < min lr < max lr, got %g and %g", c.MinLR, c.MaxLR)
	case c.Steps < 5:
		return fmt.Errorf("lr range: steps must be ≥ 5, got %d", c.Steps)
	case c.Smoothing < 1:
		return fmt.Errorf("lr range: smoothing must be ≥ 1 step (1: none), got %d", c.Smoothing)
	case !(c.DivergeFactor > 1):
		return fmt.Errorf("lr range: divergence factor must be > 1, got %g", c.DivergeFactor)
	}
	return nil
}

// RangeRule states how LRRange reads its curve; results carry it so that a
// figure or a table can say which rule produced its numbers.
const RangeRule = "loss smoothed by an exponential moving average with bias correction " +
	"(horizon N steps, β = 1 − 1/N); steepest: the learning rate where the smoothed loss falls " +
	"fastest per unit of ln η (central differences), between the first N steps and the minimum; " +
	"minimum: where the smoothed loss is lowest; divergence: where the smoothed loss starts the " +
	"rise that ends the test (the test stops when it exceeds DivergeFactor × its minimum or the " +
	"loss is not finite)"

// LRRange is the outcome of a learning-rate range test.
type LRRange struct {
	// LR, Loss and Smoothed are per step: the rate of the update, the loss of
	// its batch before the update, and the smoothed loss ŝ.
	LR, Loss, Smoothed []float64
	// Steepest, Minimum and Divergence are the rates of Rule; Divergence is 0
	// when the loss did not diverge within MaxLR (Diverged false).
	Steepest, Minimum, Divergence float64
	Diverged                      bool
	// Smoothing and DivergeFactor are the settings used; Rule states the
	// rules.
	Smoothing     int
	DivergeFactor float64
	Rule          string
	// Label names the run (model and optimizer) in figures.
	Label string
}

// LRRangeTest runs a learning-rate range test with any update: step(k, lr)
// takes the k-th update at rate lr and returns the loss it measured before
// the update. LRFind runs it on a network.
func LRRangeTest(ctx stdctx.Context, step func(k int, lr float64) (float64, error), cfg RangeConfig) (*LRRange, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	beta := 1 - 1/float64(cfg.Smoothing)
	r := &LRRange{Smoothing: cfg.Smoothing, DivergeFactor: cfg.DivergeFactor, Rule: RangeRule}
	var ema, best float64
	best = math.Inf(1)
	ratio := math.Log(cfg.MaxLR / cfg.MinLR)
	for k := 0; k < cfg.Steps; k++ {
		if err := interrupted(ctx, "lr range test"); err != nil {
			if len(r.LR) > 0 {
				r.read()
			}
			return r, err
		}
		lr := cfg.MinLR * math.Exp(ratio*float64(k)/float64(cfg.Steps-1))
		loss, err := step(k, lr)
		if err != nil {
			err = fmt.Errorf("lr range test, step %d (lr %g): %w", k+1, lr, err)
			if len(r.LR) == 0 {
				return nil, err
			}
			r.read()
			return r, err
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			r.Diverged = true
			break
		}
		ema = beta*ema + (1-beta)*loss
		s := ema / (1 - math.Pow(beta, float64(k+1)))
		r.LR, r.Loss, r.Smoothed = append(r.LR, lr), append(r.Loss, loss), append(r.Smoothed, s)
		best = math.Min(best, s)
		if s > cfg.DivergeFactor*best {
			r.Diverged = true
			break
		}
	}
	if len(r.LR) == 0 {
		return nil, errors.New("lr range test: the loss was not finite at the first step")
	}
	r.read()
	return r, nil
}

// read sets Steepest, Minimum and Divergence from the recorded curve.
func (r *LRRange) read() {
	s := r.Smoothed
	kmin := 0
	for k := range s {
		if s[k] < s[kmin] {
			kmin = k
		}
	}
	r.Minimum = r.LR[kmin]
	// Steepest descent per unit of ln η, after the average has warmed up.
	lo := min(r.Smoothing, kmin/2)
	best, kb := math.Inf(1), kmin
	for k := max(lo, 0); k <= kmin; k++ {
		a, b := max(k-1, 0), min(k+1, len(s)-1)
		if a == b {
			continue
		}
		slope := (s[b] - s[a]) / math.Log(r.LR[b]/r.LR[a])
		if slope < best {
			best, kb = slope, k
		}
	}
	r.Steepest = r.LR[kb]
	r.Divergence = 0
	if r.Diverged {
		k := len(s) - 1
		for k > 0 && s[k] > s[k-1] {
			k--
		}
		r.Divergence = r.LR[k]
	}
}

// LRFindConfig configures LRFind.
type LRFindConfig struct {
	RangeConfig
	// Model names the network (models.Get); Seed draws its weights and the
	// batches.
	Model string
	Seed  int64
	// Optimizer is the rule under test: its learning rate is replaced at
	// every step (parameter groups keep their ratios to it); it must have no
	// schedule.
	Optimizer *optimizers.Optimizer
	// BatchSize (0: 32) and Accumulate (0: 1) are as in optlab.Config.
	BatchSize, Accumulate int
	// ModelOptions tunes graph construction (nil: models.DefaultOptions()).
	ModelOptions *models.Options
}

// LRFind runs the learning-rate range test of Smith (2017, "Cyclical Learning
// Rates for Training Neural Networks", §3.3) on a fresh network: Steps
// updates on mini-batches of train (a new permutation each pass) with the
// learning rate growing exponentially from MinLR to MaxLR, recording each
// batch's loss; see RangeRule for how the curve is read. The test stops at
// the divergence; an interruption returns the steps done with the error.
func LRFind(ctx stdctx.Context, backend compute.Backend, train *datasets.Dataset, cfg LRFindConfig) (*LRRange, error) {
	if cfg.Optimizer == nil {
		return nil, errors.New("lrfind: no optimizer")
	}
	if cfg.Optimizer.Schedule() != nil {
		return nil, fmt.Errorf("lrfind: %s has a schedule: the range test sets the learning rate itself (remove schedule=...)", cfg.Optimizer)
	}
	if train == nil || train.Len() == 0 {
		return nil, errors.New("lrfind: no training data")
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = 32
	}
	if cfg.Accumulate == 0 {
		cfg.Accumulate = 1
	}
	rc := cfg.RangeConfig
	if err := rc.defaults(); err != nil {
		return nil, fmt.Errorf("lrfind: %w", err)
	}
	net, err := optlab.NewNetwork(backend, cfg.Model, cfg.Seed, cfg.ModelOptions)
	if err != nil {
		return nil, err
	}
	opt, err := cfg.Optimizer.With("lr", rc.MinLR)
	if err != nil {
		return nil, fmt.Errorf("lrfind: %w", err)
	}
	st, err := net.NewStepper(opt, cfg.BatchSize, cfg.Accumulate)
	if err != nil {
		return nil, fmt.Errorf("lrfind: %w", err)
	}
	update := st.UpdateSize()
	if update > train.Len() {
		return nil, fmt.Errorf("lrfind: an update of %d examples needs at least that many training examples, got %d", update, train.Len())
	}
	var perm []int
	pass, pos := 0, 0
	step := func(k int, lr float64) (float64, error) {
		if k > 0 {
			if err := optimizers.SetBaseLearningRate(net.Store(), lr); err != nil {
				return 0, err
			}
		}
		if perm == nil || pos+update > len(perm) {
			pass++
			perm, pos = datasets.Permutation(train.Len(), cfg.Seed, pass), 0
		}
		res, err := st.Step(train, perm[pos:pos+update])
		pos += update
		return res.Loss, err
	}
	r, err := LRRangeTest(ctx, step, rc)
	if r != nil {
		r.Label = cfg.Model + " · " + cfg.Optimizer.Family()
	}
	return r, err
}
