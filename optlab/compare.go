package optlab

import (
	stdctx "context"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/backends"
)

// Protocol says how Compare gives each optimizer its starting weights.
type Protocol string

const (
	// Fresh trains a new model, with weights drawn from the seed, for every
	// optimizer: the fair comparison.
	Fresh Protocol = "fresh"
	// Sequential trains one model object with each optimizer in turn, each
	// continuing from the weights the previous one left (a fresh optimizer state
	// each time). It reproduces the walkthrough's answer B, whose comparison is
	// confounded this way.
	Sequential Protocol = "sequential"
)

// ParseProtocol validates a protocol name.
func ParseProtocol(s string) (Protocol, error) {
	switch Protocol(s) {
	case Fresh, Sequential:
		return Protocol(s), nil
	}
	return "", fmt.Errorf("unknown protocol %q (valid: fresh, sequential)", s)
}

// CompareConfig describes a comparison of optimizers on one model.
type CompareConfig struct {
	// Base holds everything but Optimizer and Seed (model, epochs, batch size,
	// callbacks...).
	Base       Config
	Optimizers []string // spec strings
	Seeds      []int64  // one run per optimizer and seed (default: Base.Seed)
	Protocol   Protocol // default Fresh
	// OnRunStart and OnRunEnd, if set, are called around every run that trains.
	OnRunStart func(optimizer string, seed int64)
	OnRunEnd   func(h *History, err error)
	// Done holds runs finished earlier (an interrupted comparison's results):
	// under the Fresh protocol, a run with the same optimizer spec and seed and
	// no error is reused instead of retrained.
	Done []*History
}

// Compare trains the model with every optimizer (and seed) and returns one
// History per run, in order. It stops at the first failing run unless the
// failure is a divergence (then the run's partial history, with Err set, is
// kept and the comparison goes on). Cancelling ctx returns the runs finished
// so far plus the interrupted one.
func Compare(ctx stdctx.Context, backend backends.Backend, data *Data, cc CompareConfig) ([]*History, error) {
	if len(cc.Optimizers) == 0 {
		return nil, fmt.Errorf("compare: no optimizers given")
	}
	seeds := cc.Seeds
	if len(seeds) == 0 {
		seeds = []int64{cc.Base.Seed}
	}
	proto := cc.Protocol
	if proto == "" {
		proto = Fresh
	}
	if _, err := ParseProtocol(string(proto)); err != nil {
		return nil, err
	}
	if err := cc.Base.validate(); err != nil {
		return nil, err
	}
	var out []*History
	for _, seed := range seeds {
		var shared *Network
		if proto == Sequential {
			var err error
			if shared, err = NewNetwork(backend, cc.Base.Model, seed, cc.Base.ModelOptions); err != nil {
				return out, err
			}
		}
		for _, spec := range cc.Optimizers {
			cfg := cc.Base
			cfg.Optimizer, cfg.Seed = spec, seed
			if prev := cc.finished(spec, seed); prev != nil && proto == Fresh {
				out = append(out, prev)
				continue
			}
			if cc.OnRunStart != nil {
				cc.OnRunStart(spec, seed)
			}
			net := shared
			var err error
			if net == nil {
				if net, err = NewNetwork(backend, cfg.Model, seed, cfg.ModelOptions); err != nil {
					return out, err
				}
			}
			h, err := net.Fit(ctx, data, cfg)
			if cc.OnRunEnd != nil {
				cc.OnRunEnd(h, err)
			}
			if h != nil {
				out = append(out, h)
			}
			if err != nil && (h == nil || ctx.Err() != nil || !h.Diverged()) {
				return out, err
			}
		}
	}
	return out, nil
}

// finished returns the run of cc.Done for spec and seed, if it finished.
func (cc *CompareConfig) finished(spec string, seed int64) *History {
	label := strings.Join(strings.Fields(spec), " ")
	for _, h := range cc.Done {
		if h != nil && h.Label == label && h.Seed == seed && h.Err == "" {
			return h
		}
	}
	return nil
}

// Diverged reports whether the run stopped because its loss stopped being finite.
func (h *History) Diverged() bool { return strings.HasPrefix(h.Err, "diverged") }

// Last returns the last finished epoch (the zero Epoch if none finished).
func (h *History) Last() Epoch {
	if len(h.Epochs) == 0 {
		return Epoch{}
	}
	return h.Epochs[len(h.Epochs)-1]
}

// Summary aggregates the runs of one optimizer over seeds.
type Summary struct {
	Optimizer string
	Runs      int
	// Mean and Std (sample standard deviation; 0 for one run) of the final
	// test accuracy and loss and of the last epoch's validation accuracy.
	TestAccMean, TestAccStd   float64
	TestLossMean, TestLossStd float64
	ValAccMean, ValAccStd     float64
	SamplesPerSec             float64 // mean training throughput
	StateBytes                int64
	Failed                    int // runs that stopped early
}

// Summarize groups histories by optimizer (in order of first appearance) and
// aggregates them over seeds.
func Summarize(hs []*History) []Summary {
	order, groups := groupByName(hs)
	var out []Summary
	for _, name := range order {
		g := groups[name]
		s := Summary{Optimizer: name, Runs: len(g)}
		var ta, tl, va, sps []float64
		for _, h := range g {
			if h.Err != "" {
				s.Failed++
				continue
			}
			ta = append(ta, h.TestAccuracy)
			tl = append(tl, h.TestLoss)
			va = append(va, h.Last().ValAccuracy)
			for _, e := range h.Epochs {
				sps = append(sps, e.SamplesPerSec)
			}
			s.StateBytes = h.StateBytes
		}
		s.TestAccMean, s.TestAccStd = MeanStd(ta)
		s.TestLossMean, s.TestLossStd = MeanStd(tl)
		s.ValAccMean, s.ValAccStd = MeanStd(va)
		s.SamplesPerSec, _ = MeanStd(sps)
		out = append(out, s)
	}
	return out
}

// groupByName groups histories by History.Name, keeping the order in which
// the names first appear.
func groupByName(hs []*History) (order []string, groups map[string][]*History) {
	groups = map[string][]*History{}
	for _, h := range hs {
		if _, ok := groups[h.Name()]; !ok {
			order = append(order, h.Name())
		}
		groups[h.Name()] = append(groups[h.Name()], h)
	}
	return order, groups
}

// MeanStd returns the mean and the sample standard deviation of xs (NaN, 0 for
// an empty slice; std 0 for one value).
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return math.NaN(), 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)-1))
}

// BestBy returns the summaries sorted by decreasing mean test accuracy.
func BestBy(ss []Summary) []Summary {
	out := append([]Summary(nil), ss...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].TestAccMean > out[j].TestAccMean })
	return out
}
