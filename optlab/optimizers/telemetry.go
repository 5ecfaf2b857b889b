package optimizers

import (
	"fmt"
	"math"
	"slices"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/stats"
)

// Telemetry is what one update reports about itself: graph nodes, built by
// UpdateGraphWithTelemetry, that a training loop returns as extra outputs of
// the steps it wants to record. An update built by UpdateGraph builds none of
// them, so a loop that records nothing pays nothing.
type Telemetry struct {
	// Names are the paths of the trainable variables, in update order; the
	// per-variable slices below follow it.
	Names []string
	// LR is the learning rate the update applied: the base rate passed through
	// the schedule (of variables outside parameter groups; a group with its own
	// lr applies LR·lr_group/lr). Scalar.
	LR *Node
	// GradNorm is the global L2 norm of the gradients as the optimizer received
	// them, before clipping: √Σ_i ‖g_i‖². Scalar.
	GradNorm *Node
	// ParamNorms are ‖p_i‖ before the update; UpdateNorms are ‖Δp_i‖, the
	// norm of the update the rule computed (a step skipped as non-finite does
	// not apply it). Scalars.
	ParamNorms, UpdateNorms []*Node
	// StepSizes holds, for variables whose rule divides by a running
	// statistic of the gradients, the effective per-parameter step size (the
	// factor the rule's numerator is multiplied by), shaped like the variable:
	// η/(√v̂ + ε) for Adam, AdamW and AMSGrad (v̂ the bias-corrected second
	// moment; η/(√v + ε) without bias correction), η/(√v + ε) for RMSprop
	// (η/√(v + ε) with Keras' convention), η/(√G + ε) for Adagrad,
	// η/(√ŝ + ε) for AdaBelief, η/(√v + ε) for Yogi (bias-corrected with
	// bias_correction), η/√(n + ε) for Adan (its authors' form: η/(√n̂ + ε)),
	// η/(√ν̂ + ε) for AdEMAMix, γd/(√v + dε) for Prodigy; a wrapper reports
	// its base's. Nil entries: the rule has no such statistic (SGD,
	// sign-based rules, and rules that do not report one: ADOPT, MADGRAD,
	// Shampoo, SOAP, Adafactor, Muon).
	StepSizes []*Node
}

// UpdateGraphWithTelemetry is UpdateGraph that also returns the update's
// Telemetry nodes (see UpdateGraphWithLossFuncAndTelemetry for optimizers
// that need a second gradient).
func (o *Optimizer) UpdateGraphWithTelemetry(scope *model.Scope, g *Graph, loss *Node) *Telemetry {
	if !loss.Shape().IsScalar() {
		panic(fmt.Errorf("optimizer %s requires a scalar loss, got shape %s", o.name, loss.Shape()))
	}
	o.mustBeSinglePass()
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	tel := &Telemetry{}
	o.update(scope, g, grads, loss.DType(), tel, loss)
	return tel
}

// UpdateGraphWithGradientsAndTelemetry is UpdateGraphWithGradients that also
// returns the update's Telemetry nodes.
func (o *Optimizer) UpdateGraphWithGradientsAndTelemetry(scope *model.Scope, grads []*Node, lossDType dtypes.DType) *Telemetry {
	if len(grads) == 0 {
		panic(fmt.Errorf("optimizer %s: no gradients: are there trainable variables?", o.name))
	}
	o.mustBeSinglePass()
	tel := &Telemetry{}
	o.update(scope, grads[0].Graph(), grads, lossDType, tel)
	return tel
}

// ObserveStepSize reports the effective per-parameter step size of the i-th
// variable of this step (see Telemetry.StepSizes), for transforms that divide
// by a running statistic. It does nothing unless the update is being built
// with telemetry, so calling it costs nothing otherwise; build the node inside
// fn, which is only called then.
func (s *Step) ObserveStepSize(i int, fn func() *Node) {
	if s.telemetry == nil {
		return
	}
	s.telemetry.StepSizes[s.globalIndex(i)] = fn()
}

// Observing reports whether the update is being built with telemetry.
func (s *Step) Observing() bool { return s.telemetry != nil }

// startTelemetry fills the telemetry known before the transforms run.
func (s *Step) startTelemetry(grads []*Node) {
	t := s.telemetry
	t.LR = s.LR
	n := len(s.vars)
	t.Names = make([]string, n)
	t.ParamNorms = make([]*Node, n)
	t.UpdateNorms = make([]*Node, n)
	t.StepSizes = make([]*Node, n)
	var sq *Node
	for i, v := range s.vars {
		t.Names[i] = v.Path()
		t.ParamNorms[i] = l2Norm(s.params[i])
		x := ReduceAllSum(Square(grads[i]))
		if sq == nil {
			sq = x
		} else {
			sq = Add(sq, x)
		}
	}
	t.GradNorm = Sqrt(sq)
}

// finishTelemetry records the norms of the final updates.
func (s *Step) finishTelemetry(u []*Node) {
	for i := range u {
		s.telemetry.UpdateNorms[i] = l2Norm(u[i])
	}
}

func l2Norm(x *Node) *Node { return Sqrt(ReduceAllSum(Square(x))) }

// Outputs lists the telemetry nodes in the order Read reads them: LR,
// GradNorm, each variable's ParamNorm and UpdateNorm, then the StepSizes that
// are not nil. A training loop returns them as extra outputs of its graph.
func (t *Telemetry) Outputs() []*Node {
	out := []*Node{t.LR, t.GradNorm}
	for i := range t.Names {
		out = append(out, t.ParamNorms[i], t.UpdateNorms[i])
	}
	for _, ss := range t.StepSizes {
		if ss != nil {
			out = append(out, ss)
		}
	}
	return out
}

// Read turns the values of Outputs (after the graph ran) into a record,
// summarising the step sizes as quantiles.
func (t *Telemetry) Read(outs []*tensors.Tensor) *TelemetryRecord {
	r := &TelemetryRecord{LR: scalarValue(outs[0]), GradNorm: scalarValue(outs[1])}
	k := 2
	for _, name := range t.Names {
		pn, un := scalarValue(outs[k]), scalarValue(outs[k+1])
		k += 2
		ratio := 0.0
		if pn > 0 {
			ratio = un / pn
		}
		r.Vars = append(r.Vars, VarTelemetry{Name: name, ParamNorm: pn, UpdateNorm: un, Ratio: ratio})
	}
	var all []float64
	for i, ss := range t.StepSizes {
		if ss == nil {
			continue
		}
		xs := floatValues(outs[k])
		k++
		all = append(all, xs...)
		r.Vars[i].StepSize = quantilesOf(xs)
	}
	if len(all) > 0 {
		r.StepSize = quantilesOf(all)
	}
	return r
}

// TelemetryRecord is one update's Telemetry as values (optlab.Config.Telemetry
// records one every N updates in History.Telemetry).
type TelemetryRecord struct {
	// Step is the update's number in the run (1-based; set by the loop).
	Step int `json:"step"`
	// LR is the learning rate applied (base rate × schedule).
	LR float64 `json:"lr"`
	// GradNorm is the global L2 norm of the gradients, before clipping.
	GradNorm float64 `json:"grad_norm"`
	// Vars has one entry per trainable variable.
	Vars []VarTelemetry `json:"vars"`
	// StepSize summarises the effective per-parameter step sizes over every
	// parameter that has one (η/(√v̂ + ε) for Adam); nil for rules without.
	StepSize *Quantiles `json:"step_size,omitempty"`
}

// VarTelemetry is one variable's part of a TelemetryRecord.
type VarTelemetry struct {
	// Name is the variable's path, e.g. "/model/dense1/weights".
	Name string `json:"name"`
	// ParamNorm is ‖p‖ before the update and UpdateNorm ‖Δp‖; Ratio is
	// UpdateNorm/ParamNorm (0 when ‖p‖ = 0).
	ParamNorm  float64 `json:"param_norm"`
	UpdateNorm float64 `json:"update_norm"`
	Ratio      float64 `json:"ratio"`
	// StepSize summarises the variable's effective step sizes, when its rule
	// has them.
	StepSize *Quantiles `json:"step_size,omitempty"`
}

// Quantiles summarise a set of values: the minimum, the 10th percentile, the
// median, the 90th percentile and the maximum (linear interpolation between
// ranks, as NumPy's quantile).
type Quantiles struct {
	Min    float64 `json:"min"`
	P10    float64 `json:"p10"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Max    float64 `json:"max"`
}

// quantilesOf sorts xs in place and summarises it.
func quantilesOf(xs []float64) *Quantiles {
	slices.Sort(xs)
	return &Quantiles{Min: xs[0], P10: stats.Quantile(xs, 0.1), Median: stats.Quantile(xs, 0.5),
		P90: stats.Quantile(xs, 0.9), Max: xs[len(xs)-1]}
}

// Finite reports whether every number of the record is finite (JSON has no
// NaN: a loop keeps no record of a step whose gradients were not finite).
func (r *TelemetryRecord) Finite() bool {
	ok := func(xs ...float64) bool {
		for _, x := range xs {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		}
		return true
	}
	q := func(q *Quantiles) bool { return q == nil || ok(q.Min, q.P10, q.Median, q.P90, q.Max) }
	if !ok(r.LR, r.GradNorm) || !q(r.StepSize) {
		return false
	}
	for _, v := range r.Vars {
		if !ok(v.ParamNorm, v.UpdateNorm, v.Ratio) || !q(v.StepSize) {
			return false
		}
	}
	return true
}

// scalarValue reads a float scalar tensor as float64.
func scalarValue(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	}
	return math.NaN()
}

// floatValues copies a float32 or float64 tensor to float64s.
func floatValues(t *tensors.Tensor) []float64 {
	var out []float64
	t.ConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			out = make([]float64, len(f))
			for i, x := range f {
				out[i] = float64(x)
			}
		case []float64:
			out = slices.Clone(f)
		}
	})
	return out
}
