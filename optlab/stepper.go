package optlab

import (
	"errors"
	"fmt"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	gomlxopt "github.com/gomlx/gomlx/ml/train/optimizer"

	"optlab.dev/internal/graphexec"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// Stepper takes a network's training updates one at a time: the update Fit
// makes, for callers that drive their own loop (the learning-rate range test
// of optlab/diagnostics). Each update uses up to Accumulate micro-batches of
// up to MicroBatch examples: their gradients are summed, weighted by their
// share of the update's examples, before one optimizer step, so an update
// equals one step on all its examples at once (for models without batch
// norm: batch norm normalises each micro-batch with its own statistics and
// updates its moving averages once per micro-batch).
//
// With Accumulate 1, Step runs the same compiled graph Fit always ran: the
// loss, the number of right predictions and the update, and nothing more.
type Stepper struct {
	n                      *Network
	opt                    *optimizers.Optimizer
	microBatch, accumulate int
	// update applies the optimizer (on the last micro-batch, with the
	// accumulated gradients); accum adds a micro-batch's weighted gradients
	// to the accumulators; observed is update with telemetry outputs.
	update, accum, observed *model.Exec
	tel                     *optimizers.Telemetry // the observed graph's telemetry, set when it is built
	feat                    []float32
	lab                     []int32
}

// accumulateScope holds the gradient accumulators, under GoMLX's optimizer
// scope so that a fresh optimizer state clears them too.
var accumulateScope = model.JoinPath("/", gomlxopt.Scope, "accumulate")

// NewStepper returns a stepper for opt with a fresh optimizer state (it
// deletes the optimizer's moments and step count left in the store by an
// earlier Fit or Stepper; the weights are kept). microBatch ≥ 1 is the
// largest micro-batch and accumulate ≥ 1 the number of micro-batches per
// update.
func (n *Network) NewStepper(opt *optimizers.Optimizer, microBatch, accumulate int) (*Stepper, error) {
	if opt == nil {
		return nil, errors.New("optimizer: none given")
	}
	if microBatch < 1 {
		return nil, fmt.Errorf("micro-batch size must be ≥ 1, got %d", microBatch)
	}
	if accumulate < 1 {
		return nil, fmt.Errorf("accumulate must be ≥ 1 micro-batches per update, got %d", accumulate)
	}
	if err := CheckAccumulate(opt, accumulate); err != nil {
		return nil, err
	}
	if err := n.store.DeleteVariablesInScope(model.JoinPath("/", gomlxopt.Scope)); err != nil {
		return nil, fmt.Errorf("resetting optimizer state: %w", err)
	}
	s := &Stepper{n: n, opt: opt, microBatch: microBatch, accumulate: accumulate}
	var err error
	if s.update, err = s.build(false, accumulate > 1); err != nil {
		return nil, err
	}
	if accumulate > 1 {
		if s.accum, err = model.NewExec(n.backend, n.store, s.accumulateGraph); err != nil {
			return nil, fmt.Errorf("building the gradient accumulation graph: %w", err)
		}
		s.accum.SetMaxCache(4)
	}
	return s, nil
}

// CheckAccumulate reports whether opt can take its updates from accumulate
// micro-batches: an optimizer that needs a second gradient per update (sam,
// optimizers.Optimizer.GradientsPerStep) cannot, since it takes that
// gradient at a point it computes from the whole update's first gradient.
func CheckAccumulate(opt *optimizers.Optimizer, accumulate int) error {
	if accumulate > 1 && opt.GradientsPerStep() > 1 {
		return fmt.Errorf("accumulate %d: %s takes a second gradient at a perturbed point every update, which "+
			"accumulated micro-batch gradients cannot give: use accumulate 1 (a larger batch) with it", accumulate, opt)
	}
	return nil
}

// UpdateSize returns the most examples one update takes: MicroBatch × Accumulate.
func (s *Stepper) UpdateSize() int { return s.microBatch * s.accumulate }

// StepResult is what one update reports.
type StepResult struct {
	// Loss is the mean training loss of the update's examples (cross-entropy
	// plus regularisation, as Keras reports it) before the update.
	Loss float64
	// Correct is the number of those examples predicted right.
	Correct float64
	// Telemetry is set by StepWithTelemetry (its Step is left 0).
	Telemetry *optimizers.TelemetryRecord
}

// Step trains on the examples idx of ds (at most UpdateSize of them) with one
// optimizer update.
func (s *Stepper) Step(ds *datasets.Dataset, idx []int) (StepResult, error) {
	return s.step(ds, idx, false)
}

// StepWithTelemetry is Step, also measuring the update (see
// optimizers.TelemetryRecord).
// It runs a second compiled graph, built on first use, with the telemetry as
// extra outputs.
func (s *Stepper) StepWithTelemetry(ds *datasets.Dataset, idx []int) (StepResult, error) {
	return s.step(ds, idx, true)
}

func (s *Stepper) step(ds *datasets.Dataset, idx []int, observe bool) (StepResult, error) {
	if len(idx) == 0 || len(idx) > s.UpdateSize() {
		return StepResult{}, fmt.Errorf("an update takes 1 to %d examples, got %d", s.UpdateSize(), len(idx))
	}
	if observe && s.observed == nil {
		var err error
		if s.observed, err = s.build(true, s.accumulate > 1); err != nil {
			return StepResult{}, err
		}
	}
	if need := s.microBatch * ds.Width; len(s.feat) < need {
		s.feat, s.lab = make([]float32, need), make([]int32, s.microBatch)
	}
	chunks := (len(idx) + s.microBatch - 1) / s.microBatch
	var res StepResult
	for c := 0; c < chunks; c++ {
		lo, hi := c*s.microBatch, min((c+1)*s.microBatch, len(idx))
		b := hi - lo
		ds.Gather(idx[lo:hi], s.feat[:b*ds.Width], s.lab[:b])
		weight := float64(b) / float64(len(idx))
		args := []any{tensors.FromFlatDataAndDimensions(s.feat[:b*ds.Width], b, ds.Width),
			tensors.FromFlatDataAndDimensions(s.lab[:b], b)}
		if s.accumulate > 1 {
			args = append(args, tensors.FromScalar(float32(weight)))
		}
		exec := s.accum
		if c == chunks-1 {
			exec = s.update
			if observe {
				exec = s.observed
			}
		}
		outs, err := graphexec.Call(exec, args...)
		if err != nil {
			return res, err
		}
		res.Loss += weight * graphexec.Scalar(outs[0])
		res.Correct += graphexec.Scalar(outs[1])
		if c == chunks-1 && observe {
			res.Telemetry = s.tel.Read(outs[2:])
		}
	}
	return res, nil
}

// trainingLoss builds the loss Fit minimises on (x, y) in training mode, and
// the number of right predictions (see LossGraph).
func (n *Network) trainingLoss(scope *model.Scope, x, y *Node) (loss, correct *Node) {
	return n.LossGraph(scope, x, y, true, nil)
}

// trainingLossFunc returns the training loss as a loss function for
// UpdateGraphWithLossFunc, and a pointer to the first evaluation's number of
// right predictions. Each call builds the model again (sam calls it twice),
// entering the model's scope with Shared after the first time, as GoMLX
// requires.
func (n *Network) trainingLossFunc(scope *model.Scope, x, y *Node) (lossFn func() *Node, correct **Node) {
	var right *Node
	passes := 0
	lossFn = func() *Node {
		var ms *model.Scope
		if passes == 0 {
			ms = scope.In("model")
		} else {
			ms = scope.Shared("model")
		}
		passes++
		l, c := n.lossGraph(ms, x, y, true, nil)
		if right == nil {
			right = c
		}
		return l
	}
	return lossFn, &right
}

// build returns the graph of an update, with telemetry outputs when observe
// is set, reading and clearing the accumulated gradients when weighted.
//
// An update without accumulation is built by UpdateGraphWithLossFunc, whose
// loss function is the training loss: for optimizers that need one
// gradient, the graph UpdateGraph builds; sam evaluates it a second time at
// its perturbed point. The loss and right predictions the step reports are
// the first evaluation's, at the parameters before the update.
func (s *Stepper) build(observe, weighted bool) (*model.Exec, error) {
	e, err := model.NewExec(s.n.backend, s.n.store, func(scope *model.Scope, in []*Node) []*Node {
		x, y := in[0], in[1]
		g := x.Graph()
		var loss *Node
		var tel *optimizers.Telemetry
		lossFn, correct := s.n.trainingLossFunc(scope, x, y)
		switch {
		case !weighted && !observe:
			loss = s.opt.UpdateGraphWithLossFunc(scope, g, lossFn)
		case !weighted:
			loss, tel = s.opt.UpdateGraphWithLossFuncAndTelemetry(scope, g, lossFn)
		default:
			loss = lossFn()
			grads := s.accumulated(scope, loss, in[2], true)
			if observe {
				tel = s.opt.UpdateGraphWithGradientsAndTelemetry(scope, grads, loss.DType())
			} else {
				s.opt.UpdateGraphWithGradients(scope, grads, loss.DType())
			}
		}
		outs := []*Node{loss, *correct}
		if tel != nil {
			s.tel = tel
			outs = append(outs, tel.Outputs()...)
		}
		return outs
	})
	if err != nil {
		return nil, fmt.Errorf("building the training graph: %w", err)
	}
	// One compiled graph per input shape: the full batch and the last, smaller
	// batch of an epoch.
	e.SetMaxCache(4)
	return e, nil
}

// accumulateGraph adds weight × the gradients of a micro-batch's loss to the
// accumulators.
func (s *Stepper) accumulateGraph(scope *model.Scope, in []*Node) []*Node {
	loss, correct := s.n.trainingLoss(scope, in[0], in[1])
	s.accumulated(scope, loss, in[2], false)
	return []*Node{loss, correct}
}

// accumulated returns acc_i + weight·∂loss/∂p_i for every trainable variable
// used by the graph (in the order optimizers expect), and sets the
// accumulators to zero (final) or to that sum.
func (s *Stepper) accumulated(scope *model.Scope, loss, weight *Node, final bool) []*Node {
	g := loss.Graph()
	var vars []*model.Variable
	for v := range scope.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	w := ConvertDType(weight, loss.DType())
	for i, v := range vars {
		acc := scope.Store().VariableWithShape(model.JoinPath(accumulateScope, v.Path()), v.Shape(), initializer.Zero).
			SetTrainable(false)
		grad := grads[i]
		if grad.DType() != v.DType() {
			grad = ConvertDType(grad, v.DType())
		}
		sum := Add(acc.NodeValue(g), Mul(ConvertDType(w, v.DType()), grad))
		if final {
			acc.SetNodeValue(ZerosLike(sum))
		} else {
			acc.SetNodeValue(sum)
		}
		grads[i] = sum
	}
	return grads
}

// Options returns the options the network's graphs are built with.
func (n *Network) Options() models.Options { return n.opts }
