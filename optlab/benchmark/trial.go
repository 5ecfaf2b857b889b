package benchmark

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/sweep"
)

// Ruleset is a tuning ruleset.
type Ruleset string

const (
	// ExternalTuning samples Budget configurations of each optimizer family's
	// search space in each study and keeps each study's fastest.
	ExternalTuning Ruleset = "external"
	// SelfTuning runs each optimizer as given (its defaults unless the spec
	// says otherwise), once per study, with SelfTuningBudget times the steps.
	SelfTuning Ruleset = "self"
	// TargetTuning and TargetRerun are the two stages of target setting
	// (SetTargets): external tuning of the baselines that runs the whole
	// budget, then reruns of each baseline's best configuration.
	TargetTuning Ruleset = "target-tuning"
	TargetRerun  Ruleset = "target-rerun"
)

// ParseRuleset validates a ruleset name given by a user ("external" or "self").
func ParseRuleset(s string) (Ruleset, error) {
	switch r := Ruleset(s); r {
	case ExternalTuning, SelfTuning:
		return r, nil
	}
	return "", fmt.Errorf("unknown ruleset %q (valid: external, self)", s)
}

// Trial is one training run of a benchmark: an optimizer configuration on a
// workload, with its place in the ruleset (submission, study, index) and the
// settings that decide the run. Its identity is that of its sweep trial
// (Sweep), whose Protocol holds the benchmark's fields.
type Trial struct {
	Workload string
	Ruleset  Ruleset
	// Submission names what is scored: the search space (an optimizer family,
	// "adam") under external tuning, the optimizer as written under
	// self-tuning ("sgd(lr=0.1,momentum=0.9)").
	Submission string
	// Study (0-based) and Index (0-based, within the study).
	Study, Index int
	Optimizer    *optimizers.Optimizer
	Seed         int64
	// Model is the workload's network ("" for synthetic problems).
	Model     string
	BatchSize int
	Steps     int
	EvalEvery int
	Metric    Metric
	Target    float64
	// StopAtTarget ends the run at the first evaluation that reaches the
	// target, as AlgoPerf's runs end.
	StopAtTarget bool
}

// protocolVersion marks the benchmark's Protocol objects; changing what a
// trial means changes it (and so every trial's ID).
const protocolVersion = 1

// protocolJSON is the benchmark's part of a sweep trial (sweep.Trial.Protocol).
// Its fields, their order and spelling make the bytes trial IDs hash.
type protocolJSON struct {
	Benchmark    int     `json:"benchmark"`
	Workload     string  `json:"workload"`
	Ruleset      Ruleset `json:"ruleset"`
	Submission   string  `json:"submission"`
	Study        int     `json:"study"`
	Index        int     `json:"index"`
	Steps        int     `json:"steps"`
	EvalEvery    int     `json:"eval_every"`
	Metric       Metric  `json:"metric"`
	Target       float64 `json:"target"`
	StopAtTarget bool    `json:"stop_at_target"`
}

// Validate checks the trial's settings against its workload.
func (t Trial) Validate() error {
	w, err := GetWorkload(t.Workload)
	if err != nil {
		return err
	}
	switch {
	case t.Optimizer == nil:
		return errors.New("benchmark trial: no optimizer")
	case t.Optimizer.GradientsPerStep() > 1:
		return fmt.Errorf("benchmark trial: %s needs %d gradients a step; the benchmark's trial loop computes one (sam is not supported yet)", t.Optimizer, t.Optimizer.GradientsPerStep())
	case t.Submission == "":
		return errors.New("benchmark trial: no submission name")
	case t.Study < 0 || t.Index < 0:
		return fmt.Errorf("benchmark trial: study %d and index %d must be ≥ 0", t.Study, t.Index)
	case t.Steps < 1 || t.EvalEvery < 1:
		return fmt.Errorf("benchmark trial: steps %d and eval_every %d must be ≥ 1", t.Steps, t.EvalEvery)
	case t.BatchSize < 1:
		return fmt.Errorf("benchmark trial: batch size %d must be ≥ 1", t.BatchSize)
	case t.Model != w.Model:
		return fmt.Errorf("benchmark trial: model %q differs from workload %s's %q", t.Model, w.Name, w.Model)
	case t.Metric != w.Metric:
		return fmt.Errorf("benchmark trial: metric %q differs from workload %s's %q", t.Metric, w.Name, w.Metric)
	case math.IsNaN(t.Target) || math.IsInf(t.Target, 0):
		return fmt.Errorf("benchmark trial: target %v is not a number", t.Target)
	}
	switch t.Ruleset {
	case ExternalTuning, SelfTuning, TargetTuning, TargetRerun:
	default:
		return fmt.Errorf("benchmark trial: unknown ruleset %q", t.Ruleset)
	}
	return nil
}

// Sweep returns the trial as a sweep trial: model, optimizer, seed and batch
// size in sweep.Trial's fields, the rest in its Protocol.
func (t Trial) Sweep() sweep.Trial {
	p, _ := json.Marshal(protocolJSON{Benchmark: protocolVersion, Workload: t.Workload, Ruleset: t.Ruleset,
		Submission: t.Submission, Study: t.Study, Index: t.Index, Steps: t.Steps, EvalEvery: t.EvalEvery,
		Metric: t.Metric, Target: t.Target, StopAtTarget: t.StopAtTarget}) // strings, numbers and a bool always marshal
	return sweep.Trial{Model: t.Model, Optimizer: t.Optimizer, Seed: t.Seed, BatchSize: t.BatchSize, Protocol: p}
}

// ID returns the trial's stable identity (its sweep trial's ID).
func (t Trial) ID() string { return t.Sweep().ID() }

// FromSweep reads a benchmark trial back from a sweep trial; ok is false when
// the sweep trial is not a benchmark's.
func FromSweep(st sweep.Trial) (t Trial, ok bool, err error) {
	if len(st.Protocol) == 0 {
		return Trial{}, false, nil
	}
	var p protocolJSON
	dec := json.NewDecoder(bytes.NewReader(st.Protocol))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil || p.Benchmark == 0 {
		return Trial{}, false, nil // another protocol's trial
	}
	if p.Benchmark != protocolVersion {
		return Trial{}, true, fmt.Errorf("benchmark trial of protocol version %d, this optlab reads version %d", p.Benchmark, protocolVersion)
	}
	t = Trial{Workload: p.Workload, Ruleset: p.Ruleset, Submission: p.Submission, Study: p.Study, Index: p.Index,
		Optimizer: st.Optimizer, Seed: st.Seed, Model: st.Model, BatchSize: st.BatchSize, Steps: p.Steps,
		EvalEvery: p.EvalEvery, Metric: p.Metric, Target: p.Target, StopAtTarget: p.StopAtTarget}
	return t, true, nil
}

// String describes the trial in one line.
func (t Trial) String() string {
	return fmt.Sprintf("%s · %s · %s study %d trial %d · %s · seed %d", t.Workload, t.Submission, t.Ruleset, t.Study, t.Index, t.Optimizer, t.Seed)
}
