package optlab

import (
	stdctx "context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gomlx/compute"

	"optlab.dev/internal/stats"
	"optlab.dev/optlab/optimizers"
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

// Spec is an optimizer spec parsed once: the optimizer, and the spec as the
// user wrote it, which labels its runs in legends and tables (History.Label,
// with runs of white space collapsed).
type Spec struct {
	Label     string
	Optimizer *optimizers.Optimizer
}

// ParseSpecs parses each optimizer spec once (see optimizers.Parse) and labels
// it as written.
func ParseSpecs(specs ...string) ([]Spec, error) {
	out := make([]Spec, 0, len(specs))
	for _, s := range specs {
		opt, err := optimizers.Parse(s)
		if err != nil {
			return nil, err
		}
		out = append(out, Spec{Label: s, Optimizer: opt})
	}
	return out, nil
}

// CompareConfig describes a comparison of optimizers on one model.
type CompareConfig struct {
	// Base holds everything but Optimizer, Label and Seed (model, epochs,
	// batch size, callbacks...).
	Base       Config
	Optimizers []Spec   // see ParseSpecs
	Seeds      []int64  // one run per optimizer and seed (default: Base.Seed)
	Protocol   Protocol // default Fresh
	// OnRunStart and OnRunEnd, if set, are called around every run that
	// trains; OnRunStart gets the optimizer's label.
	OnRunStart func(label string, seed int64)
	OnRunEnd   func(h *History, err error)
	// Done holds runs finished earlier (an interrupted comparison's results):
	// under the Fresh protocol, a run with the same optimizer label and seed
	// and no error is reused instead of retrained.
	Done []*History
	// CheckpointDir, if set, checkpoints every run of the Fresh protocol in
	// a folder of its own under CheckpointDir (RunCheckpointDir) at every
	// epoch's end and every CheckpointEvery steps (when > 0), and resumes a
	// run from there: a comparison killed mid-run loses at most the steps
	// since the last checkpoint. A finished run's folder is removed. Runs of
	// the Sequential protocol, which share one network, are not checkpointed.
	CheckpointDir   string
	CheckpointEvery int
}

// RunCheckpointDir is the folder under dir where Compare checkpoints the
// run of one model, optimizer label and seed: a readable name ending in a
// hash of the label, so two labels never share a folder.
func RunCheckpointDir(dir, model, label string, seed int64) string {
	label = historyLabel(label)
	safe := make([]rune, 0, 24)
	for _, r := range label {
		if len(safe) == 24 {
			break
		}
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			safe = append(safe, r)
		} else {
			safe = append(safe, '_')
		}
	}
	sum := sha256.Sum256([]byte(model + "\x00" + label))
	return filepath.Join(dir, fmt.Sprintf("%s-%s-%s-seed%d", model, string(safe), hex.EncodeToString(sum[:4]), seed))
}

// WithDefaults returns cc with its defaults filled in: the seeds (Base.Seed)
// and the protocol (Fresh).
func (cc CompareConfig) WithDefaults() CompareConfig {
	if len(cc.Seeds) == 0 {
		cc.Seeds = []int64{cc.Base.Seed}
	}
	if cc.Protocol == "" {
		cc.Protocol = Fresh
	}
	return cc
}

// Compare trains the model with every optimizer (and seed) and returns one
// History per run, in order. It stops at the first failing run unless the
// failure is a divergence (then the run's partial history, with Err set, is
// kept and the comparison goes on). Cancelling ctx returns the runs finished
// so far plus the interrupted one.
func Compare(ctx stdctx.Context, backend compute.Backend, data *Data, cc CompareConfig) ([]*History, error) {
	if len(cc.Optimizers) == 0 {
		return nil, fmt.Errorf("compare: no optimizers given")
	}
	cc = cc.WithDefaults()
	proto := cc.Protocol
	if _, err := ParseProtocol(string(proto)); err != nil {
		return nil, err
	}
	for i, s := range cc.Optimizers {
		if s.Optimizer == nil {
			return nil, fmt.Errorf("compare: optimizer %d (%q) is nil", i+1, s.Label)
		}
	}
	if err := cc.Base.validate(); err != nil {
		return nil, err
	}
	var out []*History
	for _, seed := range cc.Seeds {
		var shared *Network
		if proto == Sequential {
			var err error
			if shared, err = NewNetwork(backend, cc.Base.Model, seed, cc.Base.ModelOptions); err != nil {
				return out, err
			}
		}
		for _, spec := range cc.Optimizers {
			cfg := cc.Base
			cfg.Optimizer, cfg.Label, cfg.Seed = spec.Optimizer, spec.Label, seed
			if cfg.Label == "" {
				cfg.Label = spec.Optimizer.String()
			}
			if prev := cc.finished(cfg.Label, seed); prev != nil && proto == Fresh {
				out = append(out, prev)
				continue
			}
			if cc.OnRunStart != nil {
				cc.OnRunStart(cfg.Label, seed)
			}
			net := shared
			var err error
			if net == nil {
				if net, err = NewNetwork(backend, cfg.Model, seed, cfg.ModelOptions); err != nil {
					return out, err
				}
			}
			ckDir := ""
			if cc.CheckpointDir != "" && proto == Fresh {
				ckDir = RunCheckpointDir(cc.CheckpointDir, cfg.Model, cfg.Label, seed)
				cfg.Checkpoint = &Checkpointing{Dir: ckDir, Every: cc.CheckpointEvery, Resume: true}
			}
			h, err := net.Fit(ctx, data, cfg)
			if ckDir != "" && (err == nil || (h != nil && h.Diverged())) {
				if rmErr := os.RemoveAll(ckDir); rmErr != nil {
					err = fmt.Errorf("removing the finished run's checkpoints: %w", rmErr)
				}
			}
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

// finished returns the run of cc.Done for label and seed, if it finished.
func (cc *CompareConfig) finished(label string, seed int64) *History {
	label = historyLabel(label)
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
	order, groups := GroupByName(hs)
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
		s.TestAccMean, s.TestAccStd = stats.MeanStd(ta)
		s.TestLossMean, s.TestLossStd = stats.MeanStd(tl)
		s.ValAccMean, s.ValAccStd = stats.MeanStd(va)
		s.SamplesPerSec, _ = stats.MeanStd(sps)
		out = append(out, s)
	}
	return out
}

// GroupByName groups histories by History.Name, keeping the order in which
// the names first appear.
func GroupByName(hs []*History) (order []string, groups map[string][]*History) {
	groups = map[string][]*History{}
	for _, h := range hs {
		if _, ok := groups[h.Name()]; !ok {
			order = append(order, h.Name())
		}
		groups[h.Name()] = append(groups[h.Name()], h)
	}
	return order, groups
}

// BestBy returns the summaries sorted by decreasing mean test accuracy.
func BestBy(ss []Summary) []Summary {
	out := append([]Summary(nil), ss...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].TestAccMean > out[j].TestAccMean })
	return out
}
