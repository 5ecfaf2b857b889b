// Package population trains K configurations of one model in lockstep, in
// one compiled graph: a learning-rate sweep, a momentum sweep or a set of
// seeds costs one training run of a K-times wider model instead of K runs.
//
// Every trainable variable and every optimizer buffer is stacked along a
// leading member axis ([K, ...]); each dense layer is one batched matrix
// product (models.MembersMatMul); batch norm normalises each member with its
// own batch; each hyperparameter that differs between members — learning rate,
// schedule, momentum, betas, ε, weight decay, clipping — is a per-member
// tensor fed from a variable (optimizers.Population, Step.Hyper), not a
// constant compiled into the graph. Member k starts from the weights a run of
// its own draws from its seed (bit for bit), sees the batches in the order its
// own run sees them (datasets.Permutation with its seed), draws the same
// dropout masks, and so follows the same trajectory up to the order of
// floating-point sums: batched products and per-member reductions may add the
// same numbers in another order, which moves float32 results by a few units in
// the last place per step. Measured by the package's tests on the pure-Go
// backend: the first step's loss is identical; after 1–5 steps weights differ
// by up to ~1e-6 of their variable's scale with SGD, ~2e-5 with Adam (lr 1e-3)
// and ~3e-4 with Adam at ε = 1e-6 (whose step g/(|g| + ε) magnifies the
// rounding of gradients near ε); after two epochs of 2,000 images, mlp-bn's
// test accuracy moved by up to 1.8 points (6 of 333 test images) and its
// final training loss by up to 4%. Each is as much as the same run alone
// differs from itself computed with GoMLX's own matrix-product gradients
// instead of optlab's (TestMatchesSequentialRuns and
// TestFinalMetricsMatchSequentialRuns hold the population to three times that
// difference): the noise of float32 summation order, which training's chaos
// then amplifies, not a different computation.
//
// A member whose loss turns NaN or infinite is frozen — its updates are masked
// out from then on — and reported as diverged in its History (epoch, step and
// the first variable holding a non-finite value), while the others go on.
//
// It builds on the runner (optlab) and the packages below it, and must not
// import the packages beside or above it (sweep, bench, store, ...): sweeps and
// benchmarks take Train as a function.
package population

import (
	stdctx "context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/graphexec"
	"optlab.dev/internal/progress"
	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// Options tunes a population run.
type Options struct {
	// MemoryLimit is the memory, in bytes, the population may use. 0 means
	// the machine's available memory (MemAvailable in /proc/meminfo, or the
	// process's control-group limit when lower) on the pure-Go and XLA CPU
	// backends, and no check on other backends (a GPU's memory is not the
	// host's); < 0 turns the check off.
	MemoryLimit int64
	// Progress, if set, receives one progress bar for the whole population
	// (default: the first member Config's Progress).
	Progress io.Writer

	// finished, if set (by tests), receives the population's store at the end
	// of the run.
	finished func(store *model.Store)
}

// Train trains the configurations cfgs as one population, in lockstep, and
// returns one History per configuration, in order. The configurations must
// share model, epochs, batch size, evaluation batch size and interval
// (EvalEvery), non-finite policy and model options, and their optimizers one structure
// (optimizers.Optimizer.Structure): they may differ in seed, label, every
// numeric hyperparameter, schedule and reduce-on-plateau setting. Member k's
// History is the one optlab.Train(cfgs[k]) would return, up to the order of
// floating-point sums (see the package documentation), with Members set and
// the population's wall times.
//
// A diverged member is not an error: its History has Err ("diverged: ...")
// and the epochs it finished, and Train returns a nil error when the rest of
// the population finished. The error is for the population as a whole: bad
// configurations, memory (checked before any work), a failed graph, or
// cancellation of ctx, which stops the run after the current step and
// returns every member's finished epochs with the error.
func Train(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, cfgs []optlab.Config) ([]*optlab.History, error) {
	return TrainWith(ctx, backend, data, cfgs, Options{})
}

// TrainWith is Train with options.
func TrainWith(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, cfgs []optlab.Config, opts Options) ([]*optlab.History, error) {
	p, err := newPlan(cfgs)
	if err != nil {
		return nil, err
	}
	if data == nil || data.Train == nil || data.Train.Len() == 0 {
		return nil, errors.New("population: no training data")
	}
	if err := checkMemory(backend, p, data.Train.Width, opts.MemoryLimit); err != nil {
		return nil, err
	}
	return p.run(ctx, backend, data, opts)
}

// plan is a validated population: the shared settings and the members.
type plan struct {
	cfgs      []optlab.Config
	model     models.Model
	mopts     models.Options
	policy    optlab.NonFinitePolicy
	evalBatch int
	evalEvery int
	opts      []*optimizers.Optimizer // with the non-finite policy applied
	pop       *optimizers.Population
}

// newPlan validates cfgs as one population.
func newPlan(cfgs []optlab.Config) (*plan, error) {
	if len(cfgs) == 0 {
		return nil, errors.New("population: no configurations")
	}
	c0 := cfgs[0]
	p := &plan{cfgs: cfgs, policy: c0.NonFinite, evalBatch: c0.EvalBatchSize, evalEvery: c0.EvalEvery, mopts: models.DefaultOptions()}
	if p.policy == "" {
		p.policy = optlab.StopOnNonFinite
	}
	if p.evalBatch == 0 {
		p.evalBatch = 500
	}
	if c0.ModelOptions != nil {
		p.mopts = *c0.ModelOptions
	}
	for k, c := range cfgs {
		if err := (optlab.Settings{Model: c.Model, Epochs: c.Epochs, BatchSize: c.BatchSize, NonFinite: c.NonFinite, Plateau: c.Plateau}).Validate(); err != nil {
			return nil, fmt.Errorf("population member %d: %w", k, err)
		}
		if c.EvalBatchSize < 0 {
			return nil, fmt.Errorf("population member %d: eval batch size must be ≥ 0, got %d", k, c.EvalBatchSize)
		}
		if c.EvalEvery < 0 {
			return nil, fmt.Errorf("population member %d: eval every must be ≥ 0 steps, got %d", k, c.EvalEvery)
		}
		if c.Optimizer == nil {
			return nil, fmt.Errorf("population member %d: no optimizer", k)
		}
		policy := c.NonFinite
		if policy == "" {
			policy = optlab.StopOnNonFinite
		}
		mo := models.DefaultOptions()
		if c.ModelOptions != nil {
			mo = *c.ModelOptions
		}
		for _, d := range []struct {
			what      string
			got, want any
		}{
			{"model", c.Model, c0.Model},
			{"epochs", c.Epochs, c0.Epochs},
			{"batch size", c.BatchSize, c0.BatchSize},
			{"eval batch size", c.EvalBatchSize, c0.EvalBatchSize},
			{"eval every", c.EvalEvery, c0.EvalEvery},
			{"non-finite policy", policy, p.policy},
			{"model options", mo, p.mopts},
		} {
			if d.got != d.want {
				return nil, fmt.Errorf("population member %d has %s %v, member 0 has %v: members must share model, epochs, batch size, eval batch size, eval interval, non-finite policy and model options",
					k, d.what, d.got, d.want)
			}
		}
		o := c.Optimizer
		if policy == optlab.SkipNonFinite {
			o = o.WithSkipNonFinite(true)
		}
		p.opts = append(p.opts, o)
	}
	if p.mopts.Members != 0 {
		return nil, fmt.Errorf("population: model options must not set Members (%d): the population sets it", p.mopts.Members)
	}
	m, err := models.Get(c0.Model)
	if err != nil {
		return nil, fmt.Errorf("population: %w", err)
	}
	if !m.Members {
		return nil, fmt.Errorf("population: model %s cannot train as a population (it has no member form); train its configurations one by one", m.Name)
	}
	p.model = m
	p.mopts.Members = len(cfgs)
	if p.pop, err = optimizers.NewPopulation(p.opts...); err != nil {
		return nil, fmt.Errorf("population: %w", err)
	}
	return p, nil
}

// historyLabel collapses runs of white space, as History.Label holds labels.
func historyLabel(label string) string { return strings.Join(strings.Fields(label), " ") }

// member is one member's running record.
type member struct {
	h                   *optlab.History
	active              bool
	sumLoss, sumCorrect float64
	// lossN counts the examples of steps with a finite loss: with the skip
	// policy the epoch's loss is their mean (NaN if there are none), as
	// optlab.Network.Fit reports it.
	lossN float64
	// evalSum and evalN are the loss sums since the last evaluation
	// (Config.EvalEvery).
	evalSum, evalN float64
	bestValLoss    float64
	sinceBest      int
	elapsed        time.Duration
}

// run trains the population.
func (p *plan) run(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, opts Options) ([]*optlab.History, error) {
	K := len(p.cfgs)
	c0 := p.cfgs[0]
	start := time.Now()
	ms := make([]*member, K)
	hs := make([]*optlab.History, K)
	seeds := make([]int64, K)
	for k, c := range p.cfgs {
		label := historyLabel(c.Label)
		if label == "" {
			label = p.opts[k].String()
		}
		hs[k] = &optlab.History{
			Model: p.model.Name, Optimizer: p.opts[k].String(), Label: label, Seed: c.Seed, BatchSize: c.BatchSize,
			Backend: backend.Name(), ValSplit: data.ValSplit, Started: start.UTC(), Members: K,
		}
		ms[k] = &member{h: hs[k], active: true, bestValLoss: math.Inf(1)}
		seeds[k] = c.Seed
	}
	// fail records err in every member still running and returns them all.
	fail := func(err error) ([]*optlab.History, error) {
		for _, m := range ms {
			if m.active {
				m.h.Err = err.Error()
				m.h.Elapsed = time.Since(start)
			}
		}
		return hs, err
	}

	store := model.NewStore()
	if err := models.SeedMembers(store, seeds); err != nil {
		return fail(err)
	}
	trainStep := func(scope *model.Scope, x, y, active *Node) []*Node {
		g := x.Graph()
		store.SetTraining(g, true)
		ce, correct := optlab.CrossEntropy(p.model.Build(scope.In("model"), x, p.mopts), y)
		losses := ReduceMean(ce, 1)
		if reg := models.MemberRegularization(g); reg != nil {
			losses = Add(losses, reg)
		}
		p.pop.UpdateGraph(scope, g, losses, active)
		return []*Node{losses, ReduceSum(correct, 1)}
	}
	// Until a member diverges every update is applied: the step has no mask
	// (masking every write costs a select over all parameters and state).
	// The first divergence switches to a step whose writes are masked by the
	// members' active flags, compiled then.
	step, err := model.NewExec(backend, store, func(scope *model.Scope, x, y *Node) []*Node { return trainStep(scope, x, y, nil) })
	if err != nil {
		return fail(fmt.Errorf("population: building the training graph: %w", err))
	}
	step.SetMaxCache(4) // the full batch and the last, smaller batch of an epoch
	var masked *model.Exec
	eval, err := model.NewExec(backend, store, func(scope *model.Scope, x, y *Node) []*Node {
		g := x.Graph()
		store.SetTraining(g, false)
		logits := p.model.Build(scope.In("model"), x, p.mopts) // x [batch, width]: every member sees it
		ce, correct := optlab.CrossEntropy(logits, BroadcastToDims(ExpandAxes(y, 0), K, y.Shape().Dimensions[0]))
		reg := models.MemberRegularization(g)
		if reg == nil {
			reg = Zeros(g, shapes.Make(ce.DType(), K))
		}
		return []*Node{ReduceSum(ce, 1), ReduceSum(correct, 1), reg}
	})
	if err != nil {
		return fail(fmt.Errorf("population: building the evaluation graph: %w", err))
	}
	eval.SetMaxCache(4)

	ds := data.Train
	N, B, W := ds.Len(), c0.BatchSize, ds.Width
	stepsPerEpoch := (N + B - 1) / B
	feat := make([]float32, K*B*W)
	lab := make([]int32, K*B)
	act := make([]bool, K)
	perms := make([][]int, K)
	params := int64(0)
	progressW := opts.Progress
	if progressW == nil {
		progressW = c0.Progress
	}
	bar := progress.New(progressW, c0.Epochs*stepsPerEpoch)
	defer bar.Finish()
	globalStep := 0
	trainedBefore := 0.0 // training time of the finished epochs
	for epoch := 1; epoch <= c0.Epochs; epoch++ {
		for k, c := range p.cfgs {
			// The order a run of its own uses (optlab.Network.Fit's first fit).
			perms[k] = datasets.Permutation(N, c.Seed, epoch)
			ms[k].sumLoss, ms[k].sumCorrect, ms[k].lossN = 0, 0, 0
		}
		epochStart := time.Now()
		var evalTime time.Duration // evaluations within the epoch: not training time
		for s := 0; s < stepsPerEpoch; s++ {
			if err := ctx.Err(); err != nil {
				return fail(fmt.Errorf("interrupted in epoch %d at step %d: %w", epoch, globalStep, err))
			}
			lo, hi := s*B, min((s+1)*B, N)
			b := hi - lo
			for k := range K {
				ds.Gather(perms[k][lo:hi], feat[k*b*W:(k+1)*b*W], lab[k*b:(k+1)*b])
				act[k] = ms[k].active
			}
			args := []any{tensors.FromFlatDataAndDimensions(feat[:K*b*W], K, b, W), tensors.FromFlatDataAndDimensions(lab[:K*b], K, b)}
			exec := step
			if countActive(ms) < K {
				if masked == nil {
					if masked, err = model.NewExec(backend, store, trainStep); err != nil {
						return fail(fmt.Errorf("population: building the masked training graph: %w", err))
					}
					masked.SetMaxCache(4)
				}
				exec = masked
				args = append(args, tensors.FromFlatDataAndDimensions(append([]bool(nil), act...), K))
			}
			outs, err := graphexec.Call(exec, args...)
			if err != nil {
				return fail(fmt.Errorf("population: training step %d: %w", globalStep+1, err))
			}
			globalStep++
			if globalStep == 1 {
				params = memberParams(store, K)
				for k, m := range ms {
					m.h.CompileSeconds = time.Since(start).Seconds()
					m.h.Params = params
					m.h.StateBytes = p.opts[k].StateBytesFor(memberShapes(store, K)...)
				}
			}
			losses := floats(outs[0])
			corrects := floats(outs[1])
			for k, m := range ms {
				if !m.active {
					continue
				}
				loss := losses[k]
				if math.IsNaN(loss) || math.IsInf(loss, 0) {
					if p.policy == optlab.StopOnNonFinite {
						m.active = false
						m.h.Err = fmt.Sprintf("diverged: loss is %v at epoch %d, step %d (lr too high for %s?)%s",
							loss, epoch, globalStep, p.opts[k].String(), firstNonFinite(store, K, k))
						m.h.Elapsed = time.Since(start)
						continue
					}
				} else {
					m.sumLoss += loss * float64(b)
					m.lossN += float64(b)
					m.evalSum += loss * float64(b)
					m.evalN += float64(b)
				}
				m.sumCorrect += corrects[k]
			}
			// A mid-epoch evaluation (the epoch's end evaluates anyway).
			if p.evalEvery > 0 && globalStep%p.evalEvery == 0 && s < stepsPerEpoch-1 && countActive(ms) > 0 {
				t0 := time.Now()
				valLoss, valAcc, err := evaluate(eval, data.Val, p.evalBatch, K)
				if err != nil {
					return fail(err)
				}
				evalTime += time.Since(t0)
				addEvals(ms, globalStep, trainedBefore+(time.Since(epochStart)-evalTime).Seconds(), valLoss, valAcc)
			}
			bar.Update(globalStep, fmt.Sprintf("epoch %d/%d, %d of %d members running", epoch, c0.Epochs, countActive(ms), K))
		}
		secs := (time.Since(epochStart) - evalTime).Seconds()
		trainedBefore += secs
		if countActive(ms) == 0 {
			break
		}
		valLoss, valAcc, err := evaluate(eval, data.Val, p.evalBatch, K)
		if err != nil {
			return fail(err)
		}
		if p.evalEvery > 0 {
			addEvals(ms, globalStep, trainedBefore, valLoss, valAcc)
		}
		lrs, _ := p.pop.BaseLearningRates(store)
		changed := false
		for k, m := range ms {
			if !m.active {
				continue
			}
			m.h.Epochs = append(m.h.Epochs, optlab.Epoch{
				Epoch: epoch, Loss: meanOrNaN(m.sumLoss, m.lossN), Accuracy: m.sumCorrect / float64(N),
				ValLoss: valLoss[k], ValAccuracy: valAcc[k], Steps: globalStep,
				Seconds: secs, SamplesPerSec: float64(N) / secs, LR: lrs[k],
			})
			if pl := p.cfgs[k].Plateau; pl != nil {
				if valLoss[k] < m.bestValLoss-pl.MinDelta {
					m.bestValLoss, m.sinceBest = valLoss[k], 0
				} else if m.sinceBest++; m.sinceBest >= pl.Patience {
					lrs[k] = max(lrs[k]*pl.Factor, pl.MinLR)
					m.sinceBest, changed = 0, true
				}
			}
		}
		if changed {
			if err := p.pop.SetBaseLearningRates(store, lrs); err != nil {
				return fail(fmt.Errorf("reducing the learning rate on a plateau: %w", err))
			}
		}
		for k, m := range ms {
			if m.active && p.cfgs[k].OnEpoch != nil {
				p.cfgs[k].OnEpoch(m.h)
			}
		}
	}
	if countActive(ms) > 0 && data.Test != nil && data.Test.Len() > 0 {
		testLoss, testAcc, err := evaluate(eval, data.Test, p.evalBatch, K)
		if err != nil {
			return fail(err)
		}
		for k, m := range ms {
			if m.active {
				m.h.TestLoss, m.h.TestAccuracy = testLoss[k], testAcc[k]
			}
		}
	}
	for _, m := range ms {
		if m.active {
			m.h.Elapsed = time.Since(start)
		}
	}
	if opts.finished != nil {
		opts.finished(store)
	}
	return hs, nil
}

// addEvals records an evaluation in the history of every member still
// running, after seconds of training, with its mean training loss since its
// previous one (as optlab.Network.Fit records them).
func addEvals(ms []*member, step int, seconds float64, valLoss, valAcc []float64) {
	for k, m := range ms {
		if !m.active {
			continue
		}
		m.h.Evals = append(m.h.Evals, optlab.Eval{Step: step, Seconds: seconds, Loss: meanOrNaN(m.evalSum, m.evalN),
			ValLoss: valLoss[k], ValAccuracy: valAcc[k]})
		m.evalSum, m.evalN = 0, 0
	}
}

// meanOrNaN returns sum/n, or NaN when n is 0 (no finite loss to average).
func meanOrNaN(sum, n float64) float64 {
	if n == 0 {
		return math.NaN()
	}
	return sum / n
}

func countActive(ms []*member) int {
	n := 0
	for _, m := range ms {
		if m.active {
			n++
		}
	}
	return n
}

// evaluate returns every member's mean loss (cross-entropy plus its
// regularisation, as optlab.Network.Evaluate) and accuracy on ds; all members
// see the same batches.
func evaluate(eval *model.Exec, ds *datasets.Dataset, batchSize, K int) (loss, acc []float64, err error) {
	if ds == nil || ds.Len() == 0 {
		return nil, nil, errors.New("population: evaluate: empty data set")
	}
	sumCE, sumCorrect, reg := make([]float64, K), make([]float64, K), make([]float64, K)
	idx := make([]int, 0, batchSize)
	feat := make([]float32, batchSize*ds.Width)
	lab := make([]int32, batchSize)
	for start := 0; start < ds.Len(); start += batchSize {
		end := min(start+batchSize, ds.Len())
		idx = idx[:0]
		for i := start; i < end; i++ {
			idx = append(idx, i)
		}
		b := end - start
		ds.Gather(idx, feat[:b*ds.Width], lab[:b])
		outs, err := graphexec.Call(eval,
			tensors.FromFlatDataAndDimensions(feat[:b*ds.Width], b, ds.Width),
			tensors.FromFlatDataAndDimensions(lab[:b], b))
		if err != nil {
			return nil, nil, fmt.Errorf("population: evaluating: %w", err)
		}
		ce, correct := floats(outs[0]), floats(outs[1])
		for k := range K {
			sumCE[k] += ce[k]
			sumCorrect[k] += correct[k]
		}
		reg = floats(outs[2])
	}
	n := float64(ds.Len())
	loss, acc = make([]float64, K), make([]float64, K)
	for k := range K {
		loss[k] = sumCE[k]/n + reg[k]
		acc[k] = sumCorrect[k] / n
	}
	return loss, acc, nil
}

// floats reads a float tensor as float64s.
func floats(t *tensors.Tensor) []float64 {
	var out []float64
	t.ConstFlatData(func(flat any) {
		switch f := flat.(type) {
		case []float32:
			for _, v := range f {
				out = append(out, float64(v))
			}
		case []float64:
			out = append(out, f...)
		}
	})
	return out
}

// memberParams returns the number of trainable scalars of one member.
func memberParams(store *model.Store, K int) int64 {
	var total int64
	for _, s := range memberShapes(store, K) {
		total += int64(s.Size())
	}
	return total
}

// memberShapes returns the shapes of one member's trainable variables (the
// stacked variables without their leading member axis of K), for
// Optimizer.StateBytesFor.
func memberShapes(store *model.Store, K int) []shapes.Shape {
	var out []shapes.Shape
	for v := range store.Scope("/model").IterVariables() {
		if v.Trainable {
			s := v.Shape()
			if s.Rank() > 0 && s.Dimensions[0] == K {
				s = shapes.Make(s.DType, s.Dimensions[1:]...)
			}
			out = append(out, s)
		}
	}
	return out
}

// firstNonFinite names member k's first variable (model or optimizer state)
// holding a NaN or infinity, for divergence messages.
func firstNonFinite(store *model.Store, K, k int) string {
	for v := range store.IterVariables() {
		if v.Shape().Rank() == 0 || v.Shape().Dimensions[0] != K || !v.DType().IsFloat() {
			continue
		}
		t, err := v.Value()
		if err != nil || t == nil {
			continue
		}
		per := v.Shape().Size() / K
		vals := floats(t)
		if len(vals) != K*per {
			continue
		}
		for i, x := range vals[k*per : (k+1)*per] {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return fmt.Sprintf("; first non-finite variable: %s (element %d = %v)", v.Path(), i, x)
			}
		}
	}
	return ""
}

// TrainMany trains every configuration of cfgs and returns their histories in
// cfgs' order: those that can share a population (Train's conditions: same
// model, epochs, batch size, evaluation batch size, non-finite policy, model
// options and optimizer structure, with a model and optimizer that have a
// population form) as populations of at most size members, in the order
// their groups first appear; the others alone with optlab.Train. It is the
// drop-in for a loop of optlab.Train over a sweep's configurations (a
// notebook's learning-rate or seed sweep). Diverged runs are kept, as Train
// keeps them; the first other error stops the work and is returned with the
// histories finished so far (nil where a configuration did not run).
func TrainMany(ctx stdctx.Context, backend compute.Backend, data *optlab.Data, cfgs []optlab.Config, size int) ([]*optlab.History, error) {
	if size < 1 {
		return nil, fmt.Errorf("population: size must be ≥ 1, got %d", size)
	}
	hs := make([]*optlab.History, len(cfgs))
	var order []string
	groups := map[string][]int{}
	for i, c := range cfgs {
		key := fmt.Sprintf("alone %d", i)
		if size > 1 {
			if _, err := newPlan([]optlab.Config{c}); err == nil {
				mo := models.DefaultOptions()
				if c.ModelOptions != nil {
					mo = *c.ModelOptions
				}
				policy := c.NonFinite
				if policy == "" {
					policy = optlab.StopOnNonFinite
				}
				key = fmt.Sprintf("%s|%d|%d|%d|%d|%s|%+v|%s", c.Model, c.Epochs, c.BatchSize, c.EvalBatchSize, c.EvalEvery, policy, mo, c.Optimizer.Structure())
			}
		}
		if _, seen := groups[key]; !seen {
			order = append(order, key)
		}
		groups[key] = append(groups[key], i)
	}
	for _, key := range order {
		idx := groups[key]
		for len(idx) > 0 {
			n := min(size, len(idx))
			part := idx[:n]
			idx = idx[n:]
			if len(part) == 1 {
				h, err := optlab.Train(ctx, backend, data, cfgs[part[0]])
				hs[part[0]] = h
				if err != nil && (h == nil || !h.Diverged()) {
					return hs, err
				}
				continue
			}
			members := make([]optlab.Config, len(part))
			for j, i := range part {
				members[j] = cfgs[i]
			}
			got, err := Train(ctx, backend, data, members)
			for j, i := range part {
				if j < len(got) {
					hs[i] = got[j]
				}
			}
			if err != nil {
				return hs, err
			}
		}
	}
	return hs, nil
}
