package benchmark

import (
	"errors"
	"fmt"
	"strings"

	"optlab.dev/optlab/optimizers"
)

// Limits on a benchmark's size, checked before any work: trial seeds are
// 1 + 1000·study + index, so a study holds at most 1000 trials.
const (
	MaxBudget  = 1000
	MaxStudies = 100
)

// Config is one benchmark: workloads, optimizers, ruleset and tuning budget.
type Config struct {
	// Workloads are workload names (see Workloads).
	Workloads []string
	// Optimizers are, under external tuning, optimizer families, each tuned
	// in its search space (Space); under self-tuning, optimizer specs, each
	// run as written.
	Optimizers []string
	Ruleset    Ruleset
	// Budget is the number of trials per study under external tuning (N);
	// self-tuning runs one trial per study and ignores it.
	Budget int
	// Studies is the number of independent studies (S).
	Studies int
	// FullBudget runs every trial to the end of its step budget instead of
	// stopping at the first evaluation that reaches the target: slower, but
	// the learning-rate sensitivity then shows the best metric each trial
	// could reach.
	FullBudget bool
}

// Submission names the optimizer of a self-tuning run: its family followed
// by the hyperparameters (the learning rate included) that differ from the
// family's defaults, e.g. "adam" or "sgd(lr=0.1,momentum=0.9)".
func Submission(opt *optimizers.Optimizer) string {
	var args []string
	for _, a := range opt.Args() {
		if !a.Default {
			args = append(args, a.Key+"="+a.Value)
		}
	}
	if len(args) == 0 {
		return opt.Family()
	}
	return opt.Family() + "(" + strings.Join(args, ",") + ")"
}

// Trials returns the benchmark's trials, after checking the configuration
// (every workload known and with a target, every optimizer valid, the budget
// and studies within limits). They are ordered study by study, then trial by
// trial, then by workload and optimizer, so a benchmark stopped early has
// covered every optimizer alike.
func (c Config) Trials() ([]Trial, error) {
	if len(c.Workloads) == 0 {
		return nil, errors.New("benchmark: no workloads")
	}
	if len(c.Optimizers) == 0 {
		return nil, errors.New("benchmark: no optimizers")
	}
	if c.Studies < 1 || c.Studies > MaxStudies {
		return nil, fmt.Errorf("benchmark: studies must be in [1, %d], got %d", MaxStudies, c.Studies)
	}
	budget := 1
	switch c.Ruleset {
	case ExternalTuning:
		if c.Budget < 1 || c.Budget > MaxBudget {
			return nil, fmt.Errorf("benchmark: budget must be in [1, %d] trials per study, got %d", MaxBudget, c.Budget)
		}
		budget = c.Budget
	case SelfTuning:
	default:
		return nil, fmt.Errorf("benchmark: unknown ruleset %q (valid: external, self)", c.Ruleset)
	}
	var ws []Workload
	seen := map[string]bool{}
	for _, name := range c.Workloads {
		w, err := GetWorkload(name)
		if err != nil {
			return nil, err
		}
		if seen[name] {
			return nil, fmt.Errorf("benchmark: workload %s given twice", name)
		}
		seen[name] = true
		if w.TargetSource == nil {
			return nil, fmt.Errorf("benchmark: workload %s has no committed target (set one with 'optlab benchmark targets')", name)
		}
		ws = append(ws, w)
	}
	type submission struct {
		name  string
		space SearchSpace           // external tuning
		opt   *optimizers.Optimizer // self-tuning
	}
	var subs []submission
	seen = map[string]bool{}
	for _, o := range c.Optimizers {
		var s submission
		if c.Ruleset == ExternalTuning {
			space, err := Space(o)
			if err != nil {
				return nil, err
			}
			s = submission{name: space.Name, space: space}
		} else {
			opt, err := optimizers.Parse(o)
			if err != nil {
				return nil, err
			}
			s = submission{name: Submission(opt), opt: opt}
		}
		if seen[s.name] {
			return nil, fmt.Errorf("benchmark: optimizer %s given twice", s.name)
		}
		seen[s.name] = true
		subs = append(subs, s)
	}
	var trials []Trial
	for study := 0; study < c.Studies; study++ {
		for i := 0; i < budget; i++ {
			for _, w := range ws {
				for _, s := range subs {
					opt := s.opt
					if opt == nil {
						var err error
						if opt, err = s.space.Sample(study, i); err != nil {
							return nil, err
						}
					}
					trials = append(trials, Trial{Workload: w.Name, Ruleset: c.Ruleset, Submission: s.name, Study: study, Index: i,
						Optimizer: opt, Seed: int64(1 + 1000*study + i), Model: w.Model, BatchSize: w.BatchSize,
						Steps: w.Budget(c.Ruleset), EvalEvery: w.EvalEvery, Metric: w.Metric, Target: w.Target, StopAtTarget: !c.FullBudget})
				}
			}
		}
	}
	for _, t := range trials { // what only a whole trial can say (an optimizer the loop cannot run), before any work
		if err := t.Validate(); err != nil {
			return nil, err
		}
	}
	return trials, nil
}

// Shard returns the trials of shard k of n (trial i belongs to shard i mod n),
// as sweep.Shard does for sweeps.
func Shard(trials []Trial, k, n int) []Trial {
	var mine []Trial
	for i, t := range trials {
		if i%n == k {
			mine = append(mine, t)
		}
	}
	return mine
}
