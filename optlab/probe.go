package optlab

import (
	stdctx "context"
	"encoding/json"
	"math"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"

	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
)

// Probe measures a network while it trains (the sharpness of optlab/diagnostics
// is one): Fit calls Measure before the first update and after every Every-th
// update, and appends what it returns to History.Probes under each
// measurement's name. A probe must not change the weights (or must restore
// them), and draws its randomness from its own source, so that a run trains
// the same with or without it.
type Probe interface {
	// Every is the interval in updates (≥ 1).
	Every() int
	// Measure measures the network after step updates.
	Measure(ctx stdctx.Context, n *Network, step int) ([]Measurement, error)
}

// Measurement is one value measured by a Probe.
type Measurement struct {
	Name  string
	Value float64
}

// ProbeSeries is a named measurement taken during training by a Probe:
// Values[i] was measured after Steps[i] updates. Non-finite values are written
// to JSON as null and read back as NaN.
type ProbeSeries struct {
	Name   string
	Steps  []int
	Values []float64
}

type seriesJSON struct {
	Name   string     `json:"name"`
	Steps  []int      `json:"steps"`
	Values []*float64 `json:"values"`
}

// MarshalJSON implements json.Marshaler.
func (s ProbeSeries) MarshalJSON() ([]byte, error) {
	w := seriesJSON{Name: s.Name, Steps: s.Steps, Values: make([]*float64, len(s.Values))}
	for i := range s.Values {
		if v := s.Values[i]; !math.IsNaN(v) && !math.IsInf(v, 0) {
			w.Values[i] = &v
		}
	}
	return json.Marshal(w)
}

// UnmarshalJSON implements json.Unmarshaler.
func (s *ProbeSeries) UnmarshalJSON(b []byte) error {
	var w seriesJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	s.Name, s.Steps, s.Values = w.Name, w.Steps, make([]float64, len(w.Values))
	for i, v := range w.Values {
		s.Values[i] = math.NaN()
		if v != nil {
			s.Values[i] = *v
		}
	}
	return nil
}

// Probe returns the probe series called name, or nil.
func (h *History) Probe(name string) *ProbeSeries {
	for i := range h.Probes {
		if h.Probes[i].Name == name {
			return &h.Probes[i]
		}
	}
	return nil
}

// record appends measurements taken after step updates.
func (h *History) record(step int, ms []Measurement) {
	for _, m := range ms {
		s := h.Probe(m.Name)
		if s == nil {
			h.Probes = append(h.Probes, ProbeSeries{Name: m.Name})
			s = &h.Probes[len(h.Probes)-1]
		}
		s.Steps = append(s.Steps, step)
		s.Values = append(s.Values, m.Value)
	}
}

// runProbes measures every probe due after step updates. Before the first
// update it creates the network's weights if needed (by evaluating one
// example of ds, which draws them exactly as the first training step would),
// so that probes see the initial weights.
func runProbes(ctx stdctx.Context, probes []Probe, n *Network, h *History, step int, ds *datasets.Dataset) error {
	if len(probes) > 0 && step == 0 && n.NumParams() == 0 {
		if _, _, err := n.Evaluate(ds.Slice(ds.Name, 0, 1), 1); err != nil {
			return err
		}
	}
	for _, p := range probes {
		if step%p.Every() != 0 {
			continue
		}
		ms, err := p.Measure(ctx, n, step)
		if err != nil {
			return err
		}
		h.record(step, ms)
	}
	return nil
}

// Backend returns the backend the network runs on.
func (n *Network) Backend() compute.Backend { return n.backend }

// LossGraph builds, in a graph of the network's store (scope is the graph's
// root scope, as model.Exec passes it), the objective training minimises on
// the batch (x [batch, width] float32, y [batch] int32): the mean softmax
// cross-entropy plus the model's regularisation terms. training selects
// batch statistics and dropout (true) or inference mode (Evaluate's). opts,
// when not nil, replaces the network's model options for this graph: the
// Hessian-vector products of optlab/diagnostics build dense layers without
// FastDense's custom gradients. It also returns the number of right
// predictions. Like all graph building functions it panics on error.
//
// The regularisation terms a model adds accumulate per graph
// (train.GetRegularizationLoss): a second evaluation in the same graph (sam's
// second pass, at perturbed weights, which the stepper builds) subtracts the
// earlier passes' sum, so that it returns its own loss alone.
func (n *Network) LossGraph(scope *model.Scope, x, y *Node, training bool, opts *models.Options) (loss, correct *Node) {
	return n.lossGraph(scope.In("model"), x, y, training, opts)
}

// lossGraph is LossGraph with the model built in the scope given, scope.In
// ("model") the first time in a graph and scope.Shared("model") after.
func (n *Network) lossGraph(modelScope *model.Scope, x, y *Node, training bool, opts *models.Options) (loss, correct *Node) {
	g := x.Graph()
	n.store.SetTraining(g, training)
	o := n.opts
	if opts != nil {
		o = *opts
	}
	before := train.GetRegularizationLoss(g)
	ce, right := CrossEntropy(n.model.Build(modelScope, x, o), y)
	loss = ReduceAllMean(ce)
	if reg := train.GetRegularizationLoss(g); reg != nil && reg != before {
		if before != nil {
			reg = Sub(reg, before)
		}
		loss = Add(loss, reg)
	}
	return loss, ReduceAllSum(right)
}
