package benchmark

import (
	stdctx "context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/graphexec"
	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
)

// evalBatch is the batch size of evaluations (not the workload's: AlgoPerf
// fixes evaluation batch sizes too).
const evalBatch = 1000

// TrainTrial trains one trial on backend and returns its history: every
// evaluation in Evals (the step, the training time so far with evaluations
// excluded, the training loss since the previous evaluation and the
// validation metrics), then the test metrics of the final weights. Training
// stops at the step budget or, with StopAtTarget, at the first evaluation
// that reaches the target. A run whose loss stops being finite is finished:
// its history has Err set and the error is nil. Other failures, and a
// cancelled ctx, return an error.
func TrainTrial(ctx stdctx.Context, backend compute.Backend, data *Data, t Trial) (*optlab.History, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if backend == nil || data == nil {
		return nil, errors.New("benchmark: no backend or no data")
	}
	w, err := GetWorkload(t.Workload)
	if err != nil {
		return nil, err
	}
	p, err := w.build(data)
	if err != nil {
		return nil, fmt.Errorf("workload %s: %w", w.Name, err)
	}
	steps := t.Steps
	ds := p.train
	perEpoch := ds.Len() / t.BatchSize
	if perEpoch < 1 {
		return nil, fmt.Errorf("workload %s: %d training examples for a batch of %d", w.Name, ds.Len(), t.BatchSize)
	}

	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, t.Seed)
	if err := store.SetRNGStateFromSeed(t.Seed); err != nil {
		return nil, fmt.Errorf("seeding the random number generator: %w", err)
	}
	opt := t.Optimizer
	name := t.Model
	if name == "" {
		name = t.Workload
	}
	h := &optlab.History{Model: name, Optimizer: opt.String(), Label: t.Submission, Seed: t.Seed, BatchSize: t.BatchSize,
		Backend: backend.Name(), ValSplit: "validation", Started: time.Now().UTC()}
	start := time.Now()
	stepExec, err := model.NewExec(backend, store, func(scope *model.Scope, x, y *Node) *Node {
		store.SetTraining(x.Graph(), true)
		loss, _ := p.loss(scope, x, y)
		opt.UpdateGraph(scope, x.Graph(), loss)
		return loss
	})
	if err != nil {
		return nil, fmt.Errorf("building the training graph: %w", err)
	}
	evalExec, err := model.NewExec(backend, store, func(scope *model.Scope, x, y *Node) []*Node {
		store.SetTraining(x.Graph(), false)
		loss, correct := p.loss(scope, x, y)
		if correct == nil {
			correct = ScalarZero(x.Graph(), loss.DType())
		}
		return []*Node{loss, correct}
	})
	if err != nil {
		return nil, fmt.Errorf("building the evaluation graph: %w", err)
	}
	evalExec.SetMaxCache(8) // the full and the last batch of each split

	evaluate := func(ds *datasets.Dataset) (loss, acc float64, err error) {
		feat := make([]float32, min(evalBatch, ds.Len())*ds.Width)
		lab := make([]int32, min(evalBatch, ds.Len()))
		idx := make([]int, 0, evalBatch)
		var sumLoss, sumCorrect float64
		for lo := 0; lo < ds.Len(); lo += evalBatch {
			if err := ctx.Err(); err != nil { // a 10,000-image evaluation of a CNN takes a while
				return 0, 0, fmt.Errorf("interrupted while evaluating on %s: %w", ds.Name, err)
			}
			hi := min(lo+evalBatch, ds.Len())
			idx = idx[:0]
			for i := lo; i < hi; i++ {
				idx = append(idx, i)
			}
			b := hi - lo
			ds.Gather(idx, feat[:b*ds.Width], lab[:b])
			outs, err := graphexec.Call(evalExec, tensors.FromFlatDataAndDimensions(feat[:b*ds.Width], b, ds.Width),
				tensors.FromFlatDataAndDimensions(lab[:b], b))
			if err != nil {
				return 0, 0, fmt.Errorf("evaluating on %s: %w", ds.Name, err)
			}
			sumLoss += graphexec.Scalar(outs[0]) * float64(b)
			sumCorrect += graphexec.Scalar(outs[1])
		}
		n := float64(ds.Len())
		return sumLoss / n, sumCorrect / n, nil
	}

	feat := make([]float32, t.BatchSize*ds.Width)
	lab := make([]int32, t.BatchSize)
	var (
		perm      []int
		trainTime time.Duration
		lossSum   float64
		lossCount int
		diverged  string
	)
	for step := 1; step <= steps; step++ {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("interrupted at step %d of %d: %w", step, steps, err)
		}
		t0 := time.Now()
		k := (step - 1) % perEpoch
		if k == 0 {
			perm = datasets.Permutation(ds.Len(), t.Seed, (step-1)/perEpoch)
		}
		ds.Gather(perm[k*t.BatchSize:(k+1)*t.BatchSize], feat, lab)
		outs, err := graphexec.Call(stepExec, tensors.FromFlatDataAndDimensions(feat, t.BatchSize, ds.Width),
			tensors.FromFlatDataAndDimensions(lab, t.BatchSize))
		if err != nil {
			return nil, fmt.Errorf("training step %d: %w", step, err)
		}
		loss := graphexec.Scalar(outs[0])
		trainTime += time.Since(t0)
		if step == 1 {
			h.CompileSeconds = trainTime.Seconds()
		}
		if math.IsNaN(loss) || math.IsInf(loss, 0) {
			diverged = fmt.Sprintf("diverged: training loss is %v at step %d (lr too high for %s?)", loss, step, opt)
			break
		}
		lossSum += loss
		lossCount++
		if step%t.EvalEvery != 0 && step != steps {
			continue
		}
		vl, va, err := evaluate(p.val)
		if err != nil {
			return nil, err
		}
		h.Evals = append(h.Evals, optlab.Eval{Step: step, Seconds: trainTime.Seconds(), Loss: lossSum / float64(lossCount),
			ValLoss: vl, ValAccuracy: va})
		lossSum, lossCount = 0, 0
		if math.IsNaN(vl) || math.IsInf(vl, 0) {
			diverged = fmt.Sprintf("diverged: validation loss is %v at step %d", vl, step)
			break
		}
		if t.StopAtTarget && t.Metric.Reached(metricOf(t.Metric, h.Evals[len(h.Evals)-1]), t.Target) {
			break
		}
	}
	for v := range store.IterVariables() {
		if v.Trainable {
			h.Params += int64(v.Shape().Size())
		}
	}
	h.StateBytes = opt.StateBytes(h.Params, 4)
	if diverged != "" {
		h.Err = diverged
	} else if h.TestLoss, h.TestAccuracy, err = evaluate(p.test); err != nil {
		return nil, err
	}
	h.Elapsed = time.Since(start)
	return h, nil
}

// metricOf reads the metric from an evaluation.
func metricOf(m Metric, e optlab.Eval) float64 {
	if m == ValLoss {
		return e.ValLoss
	}
	return e.ValAccuracy
}
