package optlab

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
	"github.com/gomlx/gomlx/ml/train"

	"optlab.dev/internal/graphexec"
	"optlab.dev/internal/progress"
	"optlab.dev/optlab/checkpoint"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// Data is the three splits a training run uses.
type Data struct {
	Train, Val, Test *datasets.Dataset
	// ValSplit names what Val is: "validation" (held out from the training images)
	// or "test" (the test images themselves, as the walkthrough's answer B uses).
	ValSplit string
	// Split and Limit are the split and limit SplitData made them with
	// (checkpoints record them); FullEval says that Limit cut only the
	// training set (SplitDataFullEval).
	Split    datasets.DataSplit
	Limit    int
	FullEval bool
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

// LoadData loads MNIST (see datasets.LoadMNIST for where it is searched when dir
// is empty) and returns the given split, cut to limit training examples when
// limit > 0.
func LoadData(dir string, split datasets.DataSplit, limit int) (*Data, error) {
	m, err := datasets.LoadMNIST(dir)
	if err != nil {
		return nil, err
	}
	return SplitData(m, split, limit)
}

// SplitData returns one split of an already loaded MNIST.
func SplitData(m *datasets.Set, split datasets.DataSplit, limit int) (*Data, error) {
	tr, val, test, err := m.Splits(split, limit)
	if err != nil {
		return nil, err
	}
	return &Data{Train: tr, Val: val, Test: test, ValSplit: valSplitName(split), Split: split, Limit: limit}, nil
}

// SplitDataFullEval is SplitData with limit cutting only the training set:
// validation and test keep every image (datasets.Set.SplitsFullEval).
func SplitDataFullEval(m *datasets.Set, split datasets.DataSplit, limit int) (*Data, error) {
	tr, val, test, err := m.SplitsFullEval(split, limit)
	if err != nil {
		return nil, err
	}
	return &Data{Train: tr, Val: val, Test: test, ValSplit: valSplitName(split), Split: split, Limit: limit, FullEval: true}, nil
}

// valSplitName names what a split validates on.
func valSplitName(split datasets.DataSplit) string {
	if split == datasets.SplitHoldout5k {
		return "validation"
	}
	return "test"
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

// historyLabel is a label as History.Label holds it: runs of white space
// collapsed to one space.
func historyLabel(label string) string { return strings.Join(strings.Fields(label), " ") }

// Config is one training run's configuration.
type Config struct {
	Model string // a name from models.Models()
	// Optimizer is the parsed optimizer (see optimizers.Parse and ParseSpecs).
	Optimizer *optimizers.Optimizer
	// Label names the run in legends and tables (History.Label, with runs of
	// white space collapsed); empty means the optimizer's canonical spec.
	Label     string
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
	// EvalEvery > 0 also evaluates on the validation split every EvalEvery
	// optimizer steps, within epochs, and records every evaluation (these and
	// the epochs' own) in History.Evals: how many steps a run needs to reach
	// a target, at a finer grain than epochs. Evaluation time is not counted
	// as training time.
	EvalEvery int
	// OnEpoch, if set, is called after every epoch with the history so far (for
	// notebooks that draw as training goes).
	OnEpoch func(h *History)
	// Progress, if set, receives a one-line progress bar with an ETA, rewritten
	// in place with '\r' (meant for terminals).
	Progress io.Writer
	// Checkpoint, if set, saves the run's full state at the end of every
	// epoch (and every Checkpoint.Every steps, and when the run is
	// interrupted), and with Checkpoint.Resume continues a run from it.
	Checkpoint *Checkpointing
	// InitWeights (Train only), if set, is a safetensors file with PyTorch's
	// names and layouts whose weights replace the seed's initial weights (see
	// Network.ImportWeights).
	InitWeights string
	// SaveWeights (Train only), if set, is where the trained weights are
	// written when the run finishes without error (see Network.ExportWeights).
	SaveWeights string
	// Accumulate is the number of micro-batches of BatchSize examples whose
	// gradients make one update (0 or 1: none): an update then sees
	// BatchSize×Accumulate examples, as one step on a batch that large would
	// (batch norm aside: see Stepper).
	Accumulate int
	// Telemetry > 0 measures every Telemetry-th update into History.Telemetry
	// (see optimizers.TelemetryRecord); 0 is off and adds nothing to the training graph.
	Telemetry int
	// Probes measure the network during training into History.Probes: before
	// the first update and after every probe's Every-th (see Probe). A
	// resumed run keeps the series measured before its checkpoint; a probe's
	// own state (the sharpness probe's last eigenvector, a trajectory's
	// snapshots) starts afresh.
	Probes []Probe
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
	if err := (Settings{Model: c.Model, Epochs: c.Epochs, BatchSize: c.BatchSize, NonFinite: c.NonFinite, Plateau: c.Plateau}).Validate(); err != nil {
		return err
	}
	if c.EvalBatchSize < 0 {
		return fmt.Errorf("eval batch size must be ≥ 0, got %d", c.EvalBatchSize)
	}
	if c.EvalEvery < 0 {
		return fmt.Errorf("eval every must be ≥ 0 steps (0: at epoch ends only), got %d", c.EvalEvery)
	}
	if c.Accumulate < 0 {
		return fmt.Errorf("accumulate must be ≥ 1 micro-batches per update, got %d", c.Accumulate)
	}
	if c.Optimizer != nil {
		if err := CheckAccumulate(c.Optimizer, c.accumulate()); err != nil {
			return err
		}
	}
	if c.Telemetry < 0 {
		return fmt.Errorf("telemetry interval must be ≥ 0 updates (0: off), got %d", c.Telemetry)
	}
	for i, p := range c.Probes {
		if p == nil || p.Every() < 1 {
			return fmt.Errorf("probe %d: no probe, or an interval < 1 update", i+1)
		}
	}
	return c.Checkpoint.validate()
}

// accumulate returns Accumulate with its default.
func (c *Config) accumulate() int { return max(c.Accumulate, 1) }

// Network is a model's weights on a backend. A Network can be trained several
// times in a row (each Fit starts a fresh optimizer state but keeps the
// weights), which is how the walkthrough's answer B compared its optimizers.
type Network struct {
	backend compute.Backend
	model   models.Model
	opts    models.Options
	seed    int64
	store   *model.Store
	eval    *model.Exec
	fits    int
}

// NewNetwork creates a model with freshly initialised weights drawn from seed.
func NewNetwork(backend compute.Backend, modelName string, seed int64, opts *models.Options) (*Network, error) {
	m, err := models.Get(modelName)
	if err != nil {
		return nil, err
	}
	o := models.DefaultOptions()
	if opts != nil {
		o = *opts
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, seed)
	if err := store.SetRNGStateFromSeed(seed); err != nil {
		return nil, fmt.Errorf("seeding the random number generator: %w", err)
	}
	n := &Network{backend: backend, model: m, opts: o, seed: seed, store: store}
	return n, nil
}

// Store returns the network's variables: the model's weights under the scope
// "/model" and, after a Fit, the optimizer's state.
func (n *Network) Store() *model.Store { return n.store }

// Model returns the network's model description.
func (n *Network) Model() models.Model { return n.model }

// NumParams returns the number of trainable scalars (0 before the first Fit or Evaluate).
func (n *Network) NumParams() int64 {
	var total int64
	for v := range n.store.Scope(modelScope).IterVariables() {
		if v.Trainable {
			total += int64(v.Shape().Size())
		}
	}
	return total
}

// ParamShapes returns the shapes of the trainable variables (none before the
// first Fit or Evaluate), for Optimizer.StateBytesFor.
func (n *Network) ParamShapes() []shapes.Shape {
	var out []shapes.Shape
	for v := range n.store.Scope(modelScope).IterVariables() {
		if v.Trainable {
			out = append(out, v.Shape())
		}
	}
	return out
}

// evaluateWith is Evaluate with the weights opt reports: for an optimizer
// that keeps a moving average of the weights (an ema wrapper), the average is
// swapped in for the evaluation and the trained weights put back after it.
func (n *Network) evaluateWith(opt *optimizers.Optimizer, ds *datasets.Dataset, batchSize int) (loss, accuracy float64, err error) {
	if !opt.KeepsAverage() {
		return n.Evaluate(ds, batchSize)
	}
	restore, err := opt.SwapInAverage(n.store)
	if err != nil {
		return 0, 0, fmt.Errorf("evaluating with the moving average of the weights: %w", err)
	}
	loss, accuracy, err = n.Evaluate(ds, batchSize)
	if rerr := restore(); rerr != nil {
		return loss, accuracy, errors.Join(err, rerr)
	}
	return loss, accuracy, err
}

// modelScope is the scope under which a Network's model variables live.
const modelScope = "/model"

// modelGraph builds the model inside the "model" scope.
func (n *Network) modelGraph(scope *model.Scope, x *Node) *Node {
	return n.model.Build(scope.In("model"), x, n.opts)
}

// CrossEntropy returns the softmax cross-entropy of each example and whether
// its arg-max prediction is right (as 0/1 in the logits' dtype), for logits
// [..., classes] and integer labels of the leading shape ([batch] for
// [batch, classes]; [members, batch] for a population's logits).
func CrossEntropy(logits, labels *Node) (ce, correct *Node) {
	axis := logits.Rank() - 1
	classes := logits.Shape().Dimensions[axis]
	logProbs := Sub(logits, ReduceAndKeep(logits, ReduceMax, axis))
	logProbs = Sub(logProbs, Log(ReduceAndKeep(Exp(logProbs), ReduceSum, axis)))
	oneHot := OneHot(labels, classes, logits.DType())
	ce = Neg(ReduceSum(Mul(oneHot, logProbs), axis))
	pred := ConvertDType(ArgMax(logits, axis), labels.DType())
	correct = ConvertDType(Equal(pred, labels), logits.DType())
	return ce, correct
}

// Evaluate returns the mean loss (cross-entropy plus the model's regularisation
// terms, as Keras reports it) and the accuracy of the network on ds, in
// inference mode.
func (n *Network) Evaluate(ds *datasets.Dataset, batchSize int) (loss, accuracy float64, err error) {
	if ds == nil || ds.Len() == 0 {
		return 0, 0, errors.New("evaluate: empty data set")
	}
	if batchSize <= 0 {
		batchSize = 500
	}
	eval, err := n.evalExec()
	if err != nil {
		return 0, 0, err
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
		outs, err := graphexec.Call(eval,
			tensors.FromFlatDataAndDimensions(feat[:b*ds.Width], b, ds.Width),
			tensors.FromFlatDataAndDimensions(lab[:b], b))
		if err != nil {
			return 0, 0, fmt.Errorf("evaluating: %w", err)
		}
		sumCE += graphexec.Scalar(outs[0])
		sumCorrect += graphexec.Scalar(outs[1])
		reg = graphexec.Scalar(outs[2])
	}
	N := float64(ds.Len())
	return sumCE/N + reg, sumCorrect / N, nil
}

// evalExec returns the network's inference graph (loss, correct predictions
// and the regularisation term), building it on first use.
func (n *Network) evalExec() (*model.Exec, error) {
	if n.eval != nil {
		return n.eval, nil
	}
	eval, err := model.NewExec(n.backend, n.store, func(scope *model.Scope, x, y *Node) []*Node {
		g := x.Graph()
		n.store.SetTraining(g, false)
		ce, correct := CrossEntropy(n.modelGraph(scope, x), y)
		reg := train.GetRegularizationLoss(g)
		if reg == nil {
			reg = ScalarZero(g, ce.DType())
		}
		return []*Node{ReduceAllSum(ce), ReduceAllSum(correct), reg}
	})
	if err != nil {
		return nil, fmt.Errorf("building the evaluation graph: %w", err)
	}
	n.eval = eval
	return eval, nil
}

// Train trains a fresh network (weights drawn from cfg.Seed) on data and
// returns its history. Cancelling ctx stops the run after the current step:
// the finished epochs are returned with the error.
func Train(ctx stdctx.Context, backend compute.Backend, data *Data, cfg Config) (*History, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	net, err := NewNetwork(backend, cfg.Model, cfg.Seed, cfg.ModelOptions)
	if err != nil {
		return nil, err
	}
	if cfg.InitWeights != "" {
		if err := net.ImportWeights(cfg.InitWeights); err != nil {
			return nil, err
		}
	}
	h, err := net.Fit(ctx, data, cfg)
	if err == nil && cfg.SaveWeights != "" {
		if err = net.ExportWeights(cfg.SaveWeights); err != nil {
			h.Err = err.Error()
		}
	}
	return h, err
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
	if n := data.Train.Len(); cfg.BatchSize > n {
		return nil, fmt.Errorf("batch size %d is larger than the training set (%d examples)", cfg.BatchSize, n)
	}
	if cfg.Optimizer == nil {
		return nil, errors.New("optimizer: none given")
	}
	opt, label := cfg.Optimizer, historyLabel(cfg.Label)
	if label == "" {
		label = opt.String()
	}
	policy := cfg.NonFinite
	if policy == "" {
		policy = StopOnNonFinite
	}
	if policy == SkipNonFinite {
		opt = opt.WithSkipNonFinite(true)
	}
	n.fits++
	evalBatch := cfg.EvalBatchSize
	if evalBatch == 0 {
		evalBatch = 500
	}

	h := &History{
		Model: n.model.Name, Optimizer: opt.String(), Label: label, Seed: cfg.Seed, BatchSize: cfg.BatchSize,
		Backend: n.backend.Name(), ValSplit: data.ValSplit, Started: time.Now().UTC(),
	}
	if cfg.accumulate() > 1 {
		h.Accumulate = cfg.accumulate()
	}
	start := time.Now()
	var elapsedBefore time.Duration // the run's time in earlier sessions (a resumed run)
	fail := func(err error) (*History, error) {
		h.Err = err.Error()
		h.Elapsed = elapsedBefore + time.Since(start)
		return h, err
	}

	// A fresh optimizer state: the stepper forgets the previous fit's moments
	// and step count (before a resumed run restores its checkpoint's).
	stepper, err := n.NewStepper(opt, cfg.BatchSize, cfg.accumulate())
	if err != nil {
		return fail(err)
	}

	// The loop's state; a resumed run continues from a checkpoint's.
	st := &runState{Epoch: 1, History: h}
	var spec RunSpec
	if ck := cfg.Checkpoint; ck != nil {
		spec = RunSpec{Model: n.model.Name, Optimizer: cfg.Optimizer.String(), Label: label, Seed: cfg.Seed,
			Epochs: cfg.Epochs, BatchSize: cfg.BatchSize, EvalBatchSize: evalBatch, NonFinite: policy,
			Plateau: cfg.Plateau, ModelOptions: n.opts, Fit: n.fits, Data: dataSpec(data), InitWeights: cfg.InitWeights,
			EvalEvery: cfg.EvalEvery, Accumulate: h.Accumulate}
		resumed, err := n.resume(ck, spec)
		if err != nil {
			return nil, err
		}
		if resumed != nil {
			st, h = resumed, resumed.History
			h.Label, h.Backend, h.Err = label, n.backend.Name(), ""
			elapsedBefore = h.Elapsed
		}
	}
	save := func() error {
		if cfg.Checkpoint == nil {
			return nil
		}
		h.Elapsed = elapsedBefore + time.Since(start)
		_, err := checkpoint.Save(cfg.Checkpoint.Dir, n.store, int64(st.GlobalStep), spec, st, cfg.Checkpoint.keep())
		return err
	}
	ds := data.Train
	N := ds.Len()
	update := stepper.UpdateSize()
	stepsPerEpoch := (N + update - 1) / update
	bar := progress.New(cfg.Progress, cfg.Epochs*stepsPerEpoch)
	defer bar.Finish()
	if st.GlobalStep == 0 {
		if err := runProbes(ctx, cfg.Probes, n, h, 0, ds); err != nil {
			return fail(fmt.Errorf("probe before training: %w", err))
		}
	}
	for ; st.Epoch <= cfg.Epochs; st.Epoch++ {
		epoch := st.Epoch
		perm := datasets.Permutation(N, cfg.Seed, epoch+1000*(n.fits-1))
		// LossN counts the examples of steps with a finite loss: with
		// --non-finite skip, the epoch's loss is their mean (NaN if there are none).
		// evalTime is the time this session spent in evaluations within the
		// epoch: it is not training time.
		epochStart, secondsBefore := time.Now(), st.EpochSeconds
		var evalTime time.Duration
		trained := func() float64 { return secondsBefore + (time.Since(epochStart) - evalTime).Seconds() }
		for st.Step < stepsPerEpoch {
			if err := ctx.Err(); err != nil {
				st.EpochSeconds = trained()
				err = fmt.Errorf("interrupted in epoch %d at step %d: %w", epoch, st.GlobalStep, err)
				return fail(errors.Join(err, save()))
			}
			lo, hi := st.Step*update, min((st.Step+1)*update, N)
			b := hi - lo
			observe := cfg.Telemetry > 0 && (st.GlobalStep+1)%cfg.Telemetry == 0
			res, err := stepper.step(ds, perm[lo:hi], observe)
			if err != nil {
				return fail(fmt.Errorf("training step %d: %w", st.GlobalStep+1, err))
			}
			st.Step++
			st.GlobalStep++
			if t := res.Telemetry; t != nil && t.Finite() {
				t.Step = st.GlobalStep
				h.Telemetry = append(h.Telemetry, *t)
			}
			if h.Params == 0 {
				h.CompileSeconds = time.Since(start).Seconds()
				h.Params = n.NumParams()
				h.StateBytes = opt.StateBytesFor(n.ParamShapes()...)
			}
			loss := res.Loss
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				if policy == StopOnNonFinite {
					return fail(fmt.Errorf("diverged: loss is %v at epoch %d, step %d (lr too high for %s?)%s",
						loss, epoch, st.GlobalStep, opt.String(), n.firstNonFinite()))
				}
			} else {
				st.SumLoss += loss * float64(b)
				st.LossN += float64(b)
				if cfg.EvalEvery > 0 {
					st.EvalSumLoss += loss * float64(b)
					st.EvalLossN += float64(b)
				}
			}
			st.SumCorrect += res.Correct
			bar.Update(st.GlobalStep, fmt.Sprintf("epoch %d/%d loss %.4f", epoch, cfg.Epochs, st.SumLoss/st.LossN))
			// A mid-epoch evaluation (the epoch's end evaluates anyway).
			if cfg.EvalEvery > 0 && st.GlobalStep%cfg.EvalEvery == 0 && st.Step < stepsPerEpoch {
				t0 := time.Now()
				valLoss, valAcc, err := n.evaluateWith(opt, data.Val, evalBatch)
				if err != nil {
					return fail(err)
				}
				evalTime += time.Since(t0)
				st.addEval(h, doneSeconds(h)+trained(), valLoss, valAcc)
			}
			if ck := cfg.Checkpoint; ck != nil && ck.Every > 0 && st.GlobalStep%ck.Every == 0 && st.Step < stepsPerEpoch {
				st.EpochSeconds = trained()
				if err := save(); err != nil {
					return fail(err)
				}
			}
			if len(cfg.Probes) > 0 {
				t0 := time.Now()
				if err := runProbes(ctx, cfg.Probes, n, h, st.GlobalStep, ds); err != nil {
					return fail(fmt.Errorf("probe after step %d: %w", st.GlobalStep, err))
				}
				epochStart = epochStart.Add(time.Since(t0)) // probes are not training time
			}
		}
		secs := trained()
		valLoss, valAcc, err := n.evaluateWith(opt, data.Val, evalBatch)
		if err != nil {
			return fail(err)
		}
		if cfg.EvalEvery > 0 {
			st.addEval(h, doneSeconds(h)+secs, valLoss, valAcc)
		}
		lr, _ := optimizers.BaseLearningRate(n.store)
		h.Epochs = append(h.Epochs, Epoch{
			Epoch: epoch, Loss: meanOrNaN(st.SumLoss, st.LossN), Accuracy: st.SumCorrect / float64(N),
			ValLoss: valLoss, ValAccuracy: valAcc, Steps: st.GlobalStep,
			Seconds: secs, SamplesPerSec: float64(N) / secs, LR: lr,
		})
		if p := cfg.Plateau; p != nil {
			if valLoss < st.bestValLoss()-p.MinDelta {
				st.BestValLoss, st.SinceBest = &valLoss, 0
			} else if st.SinceBest++; st.SinceBest >= p.Patience {
				if err := optimizers.SetBaseLearningRate(n.store, max(lr*p.Factor, p.MinLR)); err != nil {
					return fail(fmt.Errorf("reducing the learning rate on a plateau: %w", err))
				}
				st.SinceBest = 0
			}
		}
		// The checkpoint of an epoch's end resumes at the next epoch's start.
		st.Epoch, st.Step, st.SumLoss, st.LossN, st.SumCorrect, st.EpochSeconds = epoch+1, 0, 0, 0, 0, 0
		err = save()
		st.Epoch = epoch
		if err != nil {
			return fail(err)
		}
		if cfg.OnEpoch != nil {
			cfg.OnEpoch(h)
		}
	}
	if data.Test != nil && data.Test.Len() > 0 {
		h.TestLoss, h.TestAccuracy, err = n.evaluateWith(opt, data.Test, evalBatch)
		if err != nil {
			return fail(err)
		}
	}
	h.Elapsed = elapsedBefore + time.Since(start)
	return h, nil
}

// firstNonFinite names the first model variable holding a NaN or infinity, for
// divergence messages.
func (n *Network) firstNonFinite() string {
	for v := range n.store.IterVariables() {
		t, err := v.Value()
		if err != nil || t == nil {
			continue
		}
		bad := ""
		t.ConstFlatData(func(flat any) {
			if f, ok := flat.([]float32); ok {
				for i, x := range f {
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
						bad = fmt.Sprintf("; first non-finite variable: %s (element %d = %v)", v.Path(), i, x)
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

// meanOrNaN returns sum/n, or NaN when n is 0 (no finite loss to average).
func meanOrNaN(sum, n float64) float64 {
	if n == 0 {
		return math.NaN()
	}
	return sum / n
}
