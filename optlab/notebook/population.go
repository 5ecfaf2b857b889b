package notebook

import (
	stdctx "context"
	"errors"
	"fmt"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/population"
)

// DefaultPopulation is the largest population CompareCachedPopulations
// trains at once when given size 0: enough for a handful of learning rates
// times five seeds of a small MNIST model, within a laptop's memory.
const DefaultPopulation = 16

// CompareCachedPopulations is CompareCached with the runs trained as
// populations (population.TrainMany): the runs of cc that can share one
// compiled graph — the seeds of an optimizer, and optimizers of the same
// structure that differ only in their hyperparameters (a learning-rate
// sweep) — train together, at most size at a time (0: DefaultPopulation);
// the others alone. It is how a notebook affords five or more seeds for
// every optimizer it compares. Each member follows the run it would have
// had alone up to float32 summation order (see package population), so its
// numbers are not bit-identical to CompareCached's: the cache records the
// population size in its key and is never confused with a CompareCached
// one. Only the Fresh protocol applies (a population cannot pass one
// network from optimizer to optimizer), and cc's OnRunStart and OnRunEnd are
// not called.
func CompareCachedPopulations(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, cc optlab.CompareConfig, path string, size int) ([]*optlab.History, error) {
	cc = cc.WithDefaults()
	if cc.Protocol != optlab.Fresh {
		return nil, fmt.Errorf("populations train every run from its own fresh weights: protocol %q is not possible (use CompareCached)", cc.Protocol)
	}
	if len(cc.Optimizers) == 0 {
		return nil, errors.New("compare: no optimizers given")
	}
	if size == 0 {
		size = DefaultPopulation
	}
	if size < 1 {
		return nil, fmt.Errorf("population size must be ≥ 1 (0: %d), got %d", DefaultPopulation, size)
	}
	// Compare's order: seeds outside, optimizers inside.
	var cfgs []optlab.Config
	for _, seed := range cc.Seeds {
		for i, spec := range cc.Optimizers {
			if spec.Optimizer == nil {
				return nil, fmt.Errorf("compare: optimizer %d (%q) is nil", i+1, spec.Label)
			}
			cfg := cc.Base
			cfg.Optimizer, cfg.Label, cfg.Seed = spec.Optimizer, spec.Label, seed
			if cfg.Label == "" {
				cfg.Label = spec.Optimizer.String()
			}
			cfgs = append(cfgs, cfg)
		}
	}
	train := func(done []*optlab.History, save func([]*optlab.History) error) ([]*optlab.History, error) {
		out := make([]*optlab.History, len(cfgs))
		var todo []optlab.Config
		var at []int
		for i, cfg := range cfgs {
			if h := finishedRun(done, cfg.Label, cfg.Seed); h != nil {
				out[i] = h
				continue
			}
			todo = append(todo, cfg)
			at = append(at, i)
		}
		var err error
		if len(todo) > 0 {
			var got []*optlab.History
			got, err = population.TrainMany(ctx, backend, data, todo, size)
			for j, h := range got {
				out[at[j]] = h
			}
		}
		if err != nil {
			// Keep what finished, so a re-run resumes from it.
			var partial []*optlab.History
			for _, h := range out {
				if h != nil && h.Err == "" {
					partial = append(partial, h)
				}
			}
			return partial, errors.Join(err, save(partial))
		}
		return out, nil
	}
	if path == "" {
		return train(nil, func([]*optlab.History) error { return nil })
	}
	key := cacheKey(cc, data, backend.Name())
	key.Population = size
	return cached(path, key, train)
}

// finishedRun returns the run of done with label and seed that finished
// without error, or nil.
func finishedRun(done []*optlab.History, label string, seed int64) *optlab.History {
	for _, h := range done {
		if h != nil && h.Label == label && h.Seed == seed && h.Err == "" {
			return h
		}
	}
	return nil
}
