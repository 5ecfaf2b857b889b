package sweep

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"

	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

// Grid is a sweep: the cross product of its lists. Optimizers are spec
// strings here, as in its JSON file, and parsed once by Trials. It reads from
// JSON such as
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
	// EvalEvery and FullEval are every trial's (see Trial).
	EvalEvery int  `json:"eval_every,omitempty"`
	FullEval  bool `json:"full_eval,omitempty"`
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
		split = string(datasets.SplitHoldout5k)
	}
	for _, lr := range g.LRs {
		if !(lr > 0) {
			return nil, fmt.Errorf("sweep: learning rate %v must be > 0", lr)
		}
	}
	var out []Trial
	seen := map[string]bool{}
	// Each spec is parsed once; the learning-rate grid is put into the values.
	var opts []*optimizers.Optimizer
	for _, spec := range g.Optimizers {
		opt, err := optimizers.Parse(spec)
		if err != nil && len(g.LRs) > 0 {
			return nil, fmt.Errorf("sweep: optimizer %q: %w", spec, err)
		}
		if err != nil {
			return nil, fmt.Errorf("sweep: trial: %w", err)
		}
		if len(g.LRs) == 0 {
			opts = append(opts, opt)
			continue
		}
		for _, lr := range g.LRs {
			o, err := opt.With("lr", lr)
			if err != nil {
				return nil, fmt.Errorf("sweep: optimizer %q: %w", spec, err)
			}
			opts = append(opts, o)
		}
	}
	for _, model := range g.Models {
		for _, opt := range opts {
			for _, bs := range batches {
				for _, seed := range seeds {
					t, err := Trial{Model: model, Optimizer: opt, Seed: seed, BatchSize: bs, Epochs: g.Epochs,
						Split: split, Limit: g.Limit, NonFinite: g.NonFinite, EvalEvery: g.EvalEvery, FullEval: g.FullEval}.Canonical()
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
	return out, nil
}

// Shard returns the trials of shard k of n (0 ≤ k < n): trial i belongs to
// shard i mod n, so the shards of a sweep are disjoint and together hold
// every trial.
func Shard(trials []Trial, k, n int) []Trial {
	var mine []Trial
	for i, t := range trials {
		if i%n == k {
			mine = append(mine, t)
		}
	}
	return mine
}

// ParseShard reads "K/N" with 0 ≤ K < N.
func ParseShard(s string) (k, n int, err error) {
	a, b, ok := strings.Cut(s, "/")
	k, err1 := strconv.Atoi(a)
	n, err2 := strconv.Atoi(b)
	if !ok || err1 != nil || err2 != nil || n < 1 || k < 0 || k >= n {
		return 0, 0, fmt.Errorf("bad value %q (want K/N with 0 ≤ K < N, e.g. 0/4)", s)
	}
	return k, n, nil
}

// LogSpace returns learning rates from lo to hi evenly spaced on a log
// scale, perDecade of them per decade (hi is included when log10(hi/lo) is a
// whole number of steps; the last rate is the nearest step otherwise), each
// rounded to three significant digits: LogSpace(1e-3, 1e-2, 4) is 0.001,
// 0.00178, 0.00316, 0.00562, 0.01.
func LogSpace(lo, hi float64, perDecade int) ([]float64, error) {
	if !(lo > 0) || !(hi >= lo) || math.IsInf(hi, 0) {
		return nil, fmt.Errorf("sweep: log-spaced rates need 0 < lo ≤ hi, got lo %v, hi %v", lo, hi)
	}
	if perDecade < 1 || perDecade > 100 {
		return nil, fmt.Errorf("sweep: %d rates per decade: want 1 to 100", perDecade)
	}
	decades := math.Log10(hi) - math.Log10(lo)
	if decades*float64(perDecade) > 1000 {
		return nil, fmt.Errorf("sweep: %.0f decades from %v to %v at %d per decade: too many rates", decades, lo, hi, perDecade)
	}
	n := int(math.Round(decades*float64(perDecade))) + 1
	out := make([]float64, n)
	for k := range out {
		x := lo * math.Pow(10, float64(k)/float64(perDecade))
		out[k] = roundSig(x, 3)
	}
	return out, nil
}

// roundSig rounds x > 0 to n significant digits.
func roundSig(x float64, n int) float64 {
	p := math.Pow(10, float64(n-1)-math.Floor(math.Log10(x)))
	return math.Round(x*p) / p
}
