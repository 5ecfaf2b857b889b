package optlab

import (
	stdctx "context"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/gomlx/gomlx/backends"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
	gomlxopt "github.com/gomlx/gomlx/pkg/ml/train/optimizers"

	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// Data is the three splits a training run uses.
type Data struct {
	Train, Val, Test *models.Dataset
	// ValSplit names what Val is: "validation" (held out from the training images)
	// or "test" (the test images themselves, as the walkthrough's answer B uses).
	ValSplit string
}

// String describes the splits' sizes for a run's header, for example
// "55000 train / 5000 validation / 10000 test examples", or
// "60000 train / 10000 test examples (val_* columns measured on test)" when the
// validation set is the test set itself.
func (d *Data) String() string {
	if d.ValSplit == "test" {
		return fmt.Sprintf("%d train / %d test examples (val_* columns measured on test)", d.Train.Len(), d.Test.Len())
	}
	return fmt.Sprintf("%d train / %d %s / %d test examples", d.Train.Len(), d.Val.Len(), d.ValSplit, d.Test.Len())
}

// LoadData loads MNIST (see models.LoadMNIST for where it is searched when dir
// is empty) and returns the given split, cut to limit training examples when
// limit > 0.
func LoadData(dir string, split models.DataSplit, limit int) (*Data, error) {
	m, err := models.LoadMNIST(dir)
	if err != nil {
		return nil, err
	}
	return SplitData(m, split, limit)
}

// SplitData returns one split of an already loaded MNIST.
func SplitData(m *models.MNIST, split models.DataSplit, limit int) (*Data, error) {
	tr, val, test, err := m.Splits(split, limit)
	if err != nil {
		return nil, err
	}
	name := "test"
	if split == models.SplitHoldout5k {
		name = "validation"
	}
	return &Data{Train: tr, Val: val, Test: test, ValSplit: name}, nil
}

// NonFinitePolicy says what a run does when the loss or an update is not finite.
type NonFinitePolicy string

const (
	// StopOnNonFinite ends the run with an error naming the epoch, the step and
	// the first variable holding a non-finite value; finished epochs are kept.
	StopOnNonFinite NonFinitePolicy = "stop"
	// SkipNonFinite leaves weights and optimizer state unchanged for a step
	// whose gradients are not all finite and counts the skipped steps.
	SkipNonFinite NonFinitePolicy = "skip"
)

// Config is one training run's configuration.
type Config struct {
	Model     string // a name from models.Models()
	Optimizer string // a spec string, see optimizers.Parse
	Epochs    int
	BatchSize int
	Seed      int64
	// EvalBatchSize is the batch size of evaluation passes (default 500).
	EvalBatchSize int
	// NonFinite is the divergence policy (default StopOnNonFinite).
	NonFinite NonFinitePolicy
	// ModelOptions tunes graph construction (default models.DefaultOptions()).
	ModelOptions *models.Options
	// Plateau, if set, lowers the learning rate when the validation loss stops
	// improving (reduce-on-plateau).
	Plateau *Plateau
	// OnEpoch, if set, is called after every epoch with the history so far (for
	// notebooks that draw as training goes).
	OnEpoch func(h *History)
	// Progress, if set, receives a one-line progress bar with an ETA, rewritten
	// in place with '\r' (meant for terminals).
	Progress io.Writer
}

// Plateau is reduce-on-plateau at the runner level: after Patience epochs in
// a row whose validation loss is not below the best so far by more than
// MinDelta, the optimizer's base learning rate η is multiplied by Factor
// (η ← max(Factor·η, MinLR)) and the count starts again. A schedule given in
// the optimizer spec still applies on top of the base rate.
type Plateau struct {
	Factor   float64 // in (0, 1), e.g. 0.5
	Patience int     // ≥ 1 epochs
	MinDelta float64 // ≥ 0
	MinLR    float64 // ≥ 0
}

// Validate checks the setting; a nil Plateau (off) is valid.
func (p *Plateau) Validate() error {
	if p == nil {
		return nil
	}
	if !(p.Factor > 0 && p.Factor < 1) {
		return fmt.Errorf("plateau factor must be in (0, 1), got %v", p.Factor)
	}
	if p.Patience < 1 {
		return fmt.Errorf("plateau patience must be ≥ 1 epoch, got %d", p.Patience)
	}
	if !(p.MinDelta >= 0) || !(p.MinLR >= 0) {
		return fmt.Errorf("plateau min_delta and min_lr must be ≥ 0, got %v and %v", p.MinDelta, p.MinLR)
	}
	return nil
}

func (c *Config) validate() error {
	if _, err := models.Get(c.Model); err != nil {
		return err
	}
	if c.Epochs < 1 {
		return fmt.Errorf("epochs must be ≥ 1, got %d", c.Epochs)
	}
	if c.BatchSize < 1 {
		return fmt.Errorf("batch size must be ≥ 1, got %d", c.BatchSize)
	}
	if c.EvalBatchSize < 0 {
		return fmt.Errorf("eval batch size must be ≥ 0, got %d", c.EvalBatchSize)
	}
	switch c.NonFinite {
	case "", StopOnNonFinite, SkipNonFinite:
	default:
		return fmt.Errorf("unknown non-finite policy %q (valid: stop, skip)", c.NonFinite)
	}
	return c.Plateau.Validate()
}

// Network is a model's weights on a backend. A Network can be trained several
// times in a row (each Fit starts a fresh optimizer state but keeps the
// weights), which is how the walkthrough's answer B compared its optimizers.
type Network struct {
	backend backends.Backend
	model   models.Model
	opts    models.Options
	seed    int64
	ctx     *context.Context
	evalCtx *context.Context
	eval    *context.Exec
	fits    int
}

// NewNetwork creates a model with freshly initialised weights drawn from seed.
func NewNetwork(backend backends.Backend, model string, seed int64, opts *models.Options) (*Network, error) {
	m, err := models.Get(model)
	if err != nil {
		return nil, err
	}
	o := models.DefaultOptions()
	if opts != nil {
		o = *opts
	}
	ctx := context.New().Checked(false)
	ctx.SetParam(context.ParamInitialSeed, seed)
	if err := ctx.SetRNGStateFromSeed(seed); err != nil {
		return nil, fmt.Errorf("seeding the random number generator: %w", err)
	}
	n := &Network{backend: backend, model: m, opts: o, seed: seed, ctx: ctx}
	return n, nil
}

// Model returns the network's model description.
func (n *Network) Model() models.Model { return n.model }

// NumParams returns the number of trainable scalars (0 before the first Fit or Evaluate).
func (n *Network) NumParams() int64 {
	var total int64
	for v := range n.ctx.IterVariables() {
		if v.Trainable && v.Scope() != "" && len(v.Scope()) >= 6 && v.Scope()[:6] == "/model" {
			total += int64(v.Shape().Size())
		}
	}
	return total
}

// modelGraph builds the model inside the "model" scope.
func (n *Network) modelGraph(ctx *context.Context, x *Node) *Node {
	return n.model.Build(ctx.In("model"), x, n.opts)
}

// perExampleLoss returns the softmax cross-entropy of each example and whether
// its arg-max prediction is right (as 0/1 in the logits' dtype).
func perExampleLoss(logits, labels *Node) (ce, correct *Node) {
	classes := logits.Shape().Dimensions[1]
	logProbs := Sub(logits, ReduceAndKeep(logits, ReduceMax, 1))
	logProbs = Sub(logProbs, Log(ReduceAndKeep(Exp(logProbs), ReduceSum, 1)))
	oneHot := OneHot(labels, classes, logits.DType())
	ce = Neg(ReduceSum(Mul(oneHot, logProbs), 1))
	pred := ConvertDType(ArgMax(logits, 1), labels.DType())
	correct = ConvertDType(Equal(pred, labels), logits.DType())
	return ce, correct
}

// Evaluate returns the mean loss (cross-entropy plus the model's regularisation
// terms, as Keras reports it) and the accuracy of the network on ds, in
// inference mode.
func (n *Network) Evaluate(ds *models.Dataset, batchSize int) (loss, accuracy float64, err error) {
	if ds == nil || ds.Len() == 0 {
		return 0, 0, errors.New("evaluate: empty data set")
	}
	if batchSize <= 0 {
		batchSize = 500
	}
	if n.eval == nil {
		n.evalCtx = n.ctx
		n.eval, err = context.NewExec(n.backend, n.ctx, func(ctx *context.Context, x, y *Node) []*Node {
			g := x.Graph()
			ctx.SetTraining(g, false)
			ce, correct := perExampleLoss(n.modelGraph(ctx, x), y)
			reg := addedLosses(ctx, g)
			if reg == nil {
				reg = ScalarZero(g, ce.DType())
			}
			return []*Node{ReduceAllSum(ce), ReduceAllSum(correct), reg}
		})
		if err != nil {
			return 0, 0, fmt.Errorf("building the evaluation graph: %w", err)
		}
	}
	var sumCE, sumCorrect, reg float64
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
		outs, err := execSafely(n.eval,
			tensors.FromFlatDataAndDimensions(feat[:b*ds.Width], b, ds.Width),
			tensors.FromFlatDataAndDimensions(lab[:b], b))
		if err != nil {
			return 0, 0, fmt.Errorf("evaluating: %w", err)
		}
		sumCE += scalar(outs[0])
		sumCorrect += scalar(outs[1])
		reg = scalar(outs[2])
	}
	N := float64(ds.Len())
	return sumCE/N + reg, sumCorrect / N, nil
}

// addedLosses returns the sum of the loss terms added to g with train.AddLoss
// (the model's regularisation and, in training, the data loss), or nil.
func addedLosses(ctx *context.Context, g *Graph) *Node {
	v, found := ctx.InAbsPath(train.TrainerAbsoluteScope).GetGraphParam(g, train.TrainerLossGraphParamKey)
	if !found || v == nil {
		return nil
	}
	n, _ := v.(*Node)
	return n
}

// execSafely runs a compiled graph, turning panics raised while building or
// executing it into errors.
func execSafely(e *context.Exec, args ...any) (outs []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return e.Exec(args...)
}

// scalar reads a scalar tensor of any float or int dtype as float64.
func scalar(t *tensors.Tensor) float64 {
	switch v := t.Value().(type) {
	case float32:
		return float64(v)
	case float64:
		return v
	case int64:
		return float64(v)
	case int32:
		return float64(v)
	case bool:
		if v {
			return 1
		}
		return 0
	}
	panic(fmt.Sprintf("optlab: unexpected scalar type %T", t.Value()))
}

// Train trains a fresh network (weights drawn from cfg.Seed) on data and
// returns its history. Cancelling ctx stops the run after the current step:
// the finished epochs are returned with the error.
func Train(ctx stdctx.Context, backend backends.Backend, data *Data, cfg Config) (*History, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	net, err := NewNetwork(backend, cfg.Model, cfg.Seed, cfg.ModelOptions)
	if err != nil {
		return nil, err
	}
	return net.Fit(ctx, data, cfg)
}

// Fit trains the network with a fresh optimizer built from cfg.Optimizer,
// keeping the current weights. cfg.Model must name the network's model (or be
// empty). The returned History is never nil when the run started: on an error
// (divergence, cancellation) it holds the epochs that finished and Err.
func (n *Network) Fit(ctx stdctx.Context, data *Data, cfg Config) (*History, error) {
	if cfg.Model == "" {
		cfg.Model = n.model.Name
	}
	if cfg.Model != n.model.Name {
		return nil, fmt.Errorf("config model %q differs from the network's model %q", cfg.Model, n.model.Name)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if data == nil || data.Train == nil || data.Train.Len() == 0 {
		return nil, errors.New("no training data")
	}
	opt, err := optimizers.Parse(cfg.Optimizer)
	if err != nil {
		return nil, fmt.Errorf("optimizer: %w", err)
	}
	policy := cfg.NonFinite
	if policy == "" {
		policy = StopOnNonFinite
	}
	if policy == SkipNonFinite {
		opt = opt.WithSkipNonFinite(true)
	}
	// A fresh optimizer state: forget the previous fit's moments and step count.
	if n.fits > 0 {
		if err := n.ctx.InAbsPath(context.RootScope).In(gomlxopt.Scope).DeleteVariablesInScope(); err != nil {
			return nil, fmt.Errorf("resetting optimizer state: %w", err)
		}
	}
	n.fits++
	evalBatch := cfg.EvalBatchSize
	if evalBatch == 0 {
		evalBatch = 500
	}

	h := &History{
		Model: n.model.Name, Optimizer: opt.String(), Label: strings.Join(strings.Fields(cfg.Optimizer), " "), Seed: cfg.Seed, BatchSize: cfg.BatchSize,
		Backend: n.backend.Name(), ValSplit: data.ValSplit, Started: time.Now().UTC(),
	}
	start := time.Now()
	fail := func(err error) (*History, error) {
		h.Err = err.Error()
		h.Elapsed = time.Since(start)
		return h, err
	}

	step, err := context.NewExec(n.backend, n.ctx, func(ctx *context.Context, x, y *Node) []*Node {
		g := x.Graph()
		ctx.SetTraining(g, true)
		ce, correct := perExampleLoss(n.modelGraph(ctx, x), y)
		train.AddLoss(ctx, ReduceAllMean(ce))
		loss := addedLosses(ctx, g)
		opt.UpdateGraph(ctx, g, loss)
		return []*Node{loss, ReduceAllSum(correct)}
	})
	if err != nil {
		return fail(fmt.Errorf("building the training graph: %w", err))
	}
	// Each Exec caches one compiled graph per input shape: the full batch and
	// the last, smaller batch of an epoch.
	step.SetMaxCache(4)

	ds := data.Train
	N := ds.Len()
	stepsPerEpoch := (N + cfg.BatchSize - 1) / cfg.BatchSize
	feat := make([]float32, cfg.BatchSize*ds.Width)
	lab := make([]int32, cfg.BatchSize)
	globalStep := 0
	bar := newProgress(cfg.Progress, cfg.Epochs*stepsPerEpoch)
	defer bar.finish()
	bestValLoss, sinceBest := math.Inf(1), 0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		perm := models.Permutation(N, cfg.Seed, epoch+1000*(n.fits-1))
		var sumLoss, sumCorrect float64
		epochStart := time.Now()
		for s := 0; s < stepsPerEpoch; s++ {
			if err := ctx.Err(); err != nil {
				return fail(fmt.Errorf("interrupted in epoch %d at step %d: %w", epoch, globalStep, err))
			}
			lo, hi := s*cfg.BatchSize, min((s+1)*cfg.BatchSize, N)
			b := hi - lo
			ds.Gather(perm[lo:hi], feat[:b*ds.Width], lab[:b])
			outs, err := execSafely(step,
				tensors.FromFlatDataAndDimensions(feat[:b*ds.Width], b, ds.Width),
				tensors.FromFlatDataAndDimensions(lab[:b], b))
			if err != nil {
				return fail(fmt.Errorf("training step %d: %w", globalStep+1, err))
			}
			globalStep++
			if globalStep == 1 {
				h.CompileSeconds = time.Since(start).Seconds()
				h.Params = n.NumParams()
				h.StateBytes = opt.StateBytes(h.Params, 4)
			}
			loss := scalar(outs[0])
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				if policy == StopOnNonFinite {
					return fail(fmt.Errorf("diverged: loss is %v at epoch %d, step %d (lr too high for %s?)%s",
						loss, epoch, globalStep, opt.String(), n.firstNonFinite()))
				}
			} else {
				sumLoss += loss * float64(b)
			}
			sumCorrect += scalar(outs[1])
			bar.update(globalStep, fmt.Sprintf("epoch %d/%d loss %.4f", epoch, cfg.Epochs, sumLoss/float64(hi)))
		}
		secs := time.Since(epochStart).Seconds()
		valLoss, valAcc, err := n.Evaluate(data.Val, evalBatch)
		if err != nil {
			return fail(err)
		}
		lr, _ := optimizers.BaseLearningRate(n.ctx)
		h.Epochs = append(h.Epochs, Epoch{
			Epoch: epoch, Loss: sumLoss / float64(N), Accuracy: sumCorrect / float64(N),
			ValLoss: valLoss, ValAccuracy: valAcc, Steps: globalStep,
			Seconds: secs, SamplesPerSec: float64(N) / secs, LR: lr,
		})
		if p := cfg.Plateau; p != nil {
			if valLoss < bestValLoss-p.MinDelta {
				bestValLoss, sinceBest = valLoss, 0
			} else if sinceBest++; sinceBest >= p.Patience {
				if err := optimizers.SetBaseLearningRate(n.ctx, max(lr*p.Factor, p.MinLR)); err != nil {
					return fail(fmt.Errorf("reducing the learning rate on a plateau: %w", err))
				}
				sinceBest = 0
			}
		}
		if cfg.OnEpoch != nil {
			cfg.OnEpoch(h)
		}
	}
	if data.Test != nil && data.Test.Len() > 0 {
		h.TestLoss, h.TestAccuracy, err = n.Evaluate(data.Test, evalBatch)
		if err != nil {
			return fail(err)
		}
	}
	h.Elapsed = time.Since(start)
	return h, nil
}

// firstNonFinite names the first model variable holding a NaN or infinity, for
// divergence messages.
func (n *Network) firstNonFinite() string {
	for v := range n.ctx.IterVariables() {
		t, err := v.Value()
		if err != nil || t == nil {
			continue
		}
		bad := ""
		t.ConstFlatData(func(flat any) {
			if f, ok := flat.([]float32); ok {
				for i, x := range f {
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
						bad = fmt.Sprintf("; first non-finite variable: %s (element %d = %v)", v.ScopeAndName(), i, x)
						return
					}
				}
			}
		})
		if bad != "" {
			return bad
		}
	}
	return ""
}
