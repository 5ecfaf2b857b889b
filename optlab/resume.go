package optlab

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"

	"optlab.dev/optlab/checkpoint"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/safetensors"
)

// Checkpointing makes a run save its full state (see optlab/checkpoint) and
// continue from it: every variable (weights, optimizer state and step
// counters, GoMLX's global step, learning-rate and random-number-generator
// variables), the reduce-on-plateau state, the position in the data (epoch and
// step within it: the batch order is a function of the seed and the epoch),
// the partial sums of the epoch in progress, the history so far and the run's
// configuration. A run resumed on the same backend gives the same history and
// weights, bit for bit, as a run that was never stopped.
type Checkpointing struct {
	// Dir holds the checkpoints, one file per save (ckpt-<step>.safetensors).
	Dir string
	// Every > 0 also saves every Every optimizer steps within an epoch
	// (checkpoints are always saved at the end of every epoch and when the run
	// is interrupted).
	Every int
	// Keep is how many checkpoints to keep, newest first (default 2).
	Keep int
	// Resume continues the run from the newest checkpoint in Dir, which must
	// have been written by a run with the same configuration (RunSpec; the
	// label may differ and Epochs may be raised to train longer); with no
	// checkpoint in Dir the run starts from the beginning. Without Resume, a
	// Dir that holds checkpoints is refused.
	Resume bool
}

func (c *Checkpointing) validate() error {
	if c == nil {
		return nil
	}
	if strings.TrimSpace(c.Dir) == "" {
		return errors.New("checkpoint directory must not be empty")
	}
	if c.Every < 0 {
		return fmt.Errorf("checkpoint every must be ≥ 0 steps, got %d", c.Every)
	}
	if c.Keep < 0 {
		return fmt.Errorf("checkpoints to keep must be ≥ 0 (0: the default, 2), got %d", c.Keep)
	}
	return nil
}

// RunSpec is the configuration a checkpoint records: what a resumed run must
// share with the run that saved it (all but Label, Epochs and InitWeights:
// a resumed run's weights come from the checkpoint), and enough to start it
// again from the command line.
type RunSpec struct {
	Model         string          `json:"model"`
	Optimizer     string          `json:"optimizer"` // canonical spec
	Label         string          `json:"label"`
	Seed          int64           `json:"seed"`
	Epochs        int             `json:"epochs"`
	BatchSize     int             `json:"batch_size"`
	EvalBatchSize int             `json:"eval_batch_size"`
	NonFinite     NonFinitePolicy `json:"non_finite"`
	Plateau       *Plateau        `json:"plateau,omitempty"`
	ModelOptions  models.Options  `json:"model_options"`
	// Fit counts the fits of the network (1 for Train; the walkthrough's
	// sequential protocol fits one network several times).
	Fit  int      `json:"fit"`
	Data DataSpec `json:"data"`
	// InitWeights is the weight file the run started from, if any.
	InitWeights string `json:"init_weights,omitempty"`
	// EvalEvery is Config.EvalEvery (0, left out, for none).
	EvalEvery int `json:"eval_every,omitempty"`
	// Accumulate is the number of micro-batches per update (omitted when 1).
	Accumulate int `json:"accumulate,omitempty"`
}

// DataSpec identifies the data a run trained on.
type DataSpec struct {
	Split    string `json:"split"`
	Limit    int    `json:"limit"`
	FullEval bool   `json:"full_eval,omitempty"`
	Train    int    `json:"train"`
	Val      int    `json:"val"`
	// TrainCRC32C is datasets.Dataset.CRC32C of the training set.
	TrainCRC32C uint32 `json:"train_crc32c"`
}

// dataSpec describes data (checksumming the training set: 190 MB for MNIST).
func dataSpec(d *Data) DataSpec {
	s := DataSpec{Split: string(d.Split), Limit: d.Limit, FullEval: d.FullEval, Train: d.Train.Len(), TrainCRC32C: d.Train.CRC32C()}
	if d.Val != nil {
		s.Val = d.Val.Len()
	}
	return s
}

// runState is the training loop's state as a checkpoint keeps it.
type runState struct {
	Epoch      int     `json:"epoch"` // the epoch in progress, 1-based (Epochs+1 when all are done)
	Step       int     `json:"step"`  // steps of that epoch done
	GlobalStep int     `json:"global_step"`
	SumLoss    float64 `json:"sum_loss"` // the epoch's sums so far
	LossN      float64 `json:"loss_n"`   // examples of its steps with a finite loss
	SumCorrect float64 `json:"sum_correct"`
	// EpochSeconds is the training time of the epoch so far.
	EpochSeconds float64 `json:"epoch_seconds"`
	// BestValLoss is reduce-on-plateau's best validation loss (nil: none yet).
	BestValLoss *float64 `json:"best_val_loss,omitempty"`
	SinceBest   int      `json:"since_best"`
	// EvalSumLoss and EvalLossN are the training-loss sums since the last
	// evaluation (Config.EvalEvery), as SumLoss and LossN for the epoch.
	EvalSumLoss float64  `json:"eval_sum_loss,omitempty"`
	EvalLossN   float64  `json:"eval_loss_n,omitempty"`
	History     *History `json:"history"`
}

// addEval records an evaluation at the current step after seconds of
// training, with the mean training loss since the previous one.
func (s *runState) addEval(h *History, seconds, valLoss, valAcc float64) {
	h.Evals = append(h.Evals, Eval{Step: s.GlobalStep, Seconds: seconds, Loss: meanOrNaN(s.EvalSumLoss, s.EvalLossN),
		ValLoss: valLoss, ValAccuracy: valAcc})
	s.EvalSumLoss, s.EvalLossN = 0, 0
}

// doneSeconds is the training time of h's finished epochs.
func doneSeconds(h *History) float64 {
	var t float64
	for _, e := range h.Epochs {
		t += e.Seconds
	}
	return t
}

// bestValLoss returns the plateau state's best loss (+∞ when none).
func (s *runState) bestValLoss() float64 {
	if s.BestValLoss == nil {
		return math.Inf(1)
	}
	return *s.BestValLoss
}

// keep returns the number of checkpoints to keep (default 2).
func (c *Checkpointing) keep() int {
	if c.Keep == 0 {
		return 2
	}
	return c.Keep
}

// resume prepares checkpointing for a fit: with Resume and a checkpoint in
// the directory, it restores the network's variables and returns the loop
// state to continue from (nil to start afresh).
func (n *Network) resume(c *Checkpointing, spec RunSpec) (*runState, error) {
	if !c.Resume {
		latest, err := checkpoint.Latest(c.Dir)
		if err == nil && latest != "" {
			err = fmt.Errorf("checkpoint directory %s already holds a run's checkpoints (newest %s): resume it or choose another directory", c.Dir, latest)
		}
		return nil, err
	}
	var st runState
	path, err := checkpoint.Resume(c.Dir, n.store, spec, &st, "label", "epochs", "init_weights")
	if err != nil || path == "" {
		return nil, err
	}
	if st.History == nil || st.Epoch < 1 || st.Step < 0 || st.GlobalStep < 0 {
		return nil, fmt.Errorf("checkpoint %s: corrupt run state (epoch %d, step %d)", path, st.Epoch, st.Step)
	}
	return &st, nil
}

// ensureVariables builds the model's variables (compiling its inference
// graph for one example) and initialises those that have no value yet.
func (n *Network) ensureVariables() error {
	if n.store.Scope(modelScope).NumVariables() == 0 {
		exec, err := n.evalExec()
		if err != nil {
			return err
		}
		if _, err := exec.Compile(shapes.Make(dtypes.Float32, 1, models.InputSize), shapes.Make(dtypes.Int32, 1)); err != nil {
			return fmt.Errorf("building %s: %w", n.model.Name, err)
		}
	}
	if err := n.store.InitializeVariables(n.backend, nil); err != nil {
		return fmt.Errorf("initialising %s: %w", n.model.Name, err)
	}
	return nil
}

// weightsModelKey is the metadata key naming the model a weight file was
// exported from.
const weightsModelKey = "optlab.model"

// ExportWeights writes the network's model weights (and batch-norm
// statistics) to path as a safetensors file with PyTorch's names and layouts
// (checkpoint.ExportWeights; docs/weights.md has the mapping). A network that
// has not been trained or evaluated yet exports its initial weights.
func (n *Network) ExportWeights(path string) error {
	if err := n.ensureVariables(); err != nil {
		return err
	}
	f, err := checkpoint.ExportWeights(n.store, modelScope)
	if err != nil {
		return err
	}
	f.Metadata[weightsModelKey] = n.model.Name
	if err := safetensors.WriteFile(path, f); err != nil {
		return fmt.Errorf("saving weights: %w", err)
	}
	return nil
}

// ImportWeights sets the network's model weights from a safetensors file
// with PyTorch's names and layouts (as ExportWeights writes, or a PyTorch
// state_dict of the same layers). Every variable of the model must be in the
// file with its shape, and nothing else (batch-norm step counters aside); a
// file exported from another optlab model is refused by name.
func (n *Network) ImportWeights(path string) error {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return fmt.Errorf("reading weights: %w", err)
	}
	if m := f.Metadata[weightsModelKey]; m != "" && m != n.model.Name {
		return fmt.Errorf("weights %s were exported from model %s, not %s", path, m, n.model.Name)
	}
	if err := n.ensureVariables(); err != nil {
		return err
	}
	if err := checkpoint.ImportWeights(n.store, modelScope, f); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
