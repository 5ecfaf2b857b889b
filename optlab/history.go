package optlab

import (
	"fmt"
	"time"

	"optlab.dev/optlab/optimizers"
)

// Epoch is one row of a training history: the metrics of one epoch, as Keras
// reports them in history.history. Training loss and accuracy are averaged over
// the epoch's mini-batches (with the weights as they were when each batch was
// seen); validation metrics are computed after the epoch on the held-out split,
// with the weights the optimizer reports: for one that keeps a moving average
// of the weights (an ema wrapper), the average (Optimizer.SwapInAverage).
type Epoch struct {
	Epoch       int     `json:"epoch"` // 1-based
	Loss        float64 `json:"loss"`
	Accuracy    float64 `json:"accuracy"`
	ValLoss     float64 `json:"val_loss"`
	ValAccuracy float64 `json:"val_accuracy"`
	// Steps is the number of optimizer steps taken so far, over all epochs.
	Steps int `json:"steps"`
	// Seconds is the wall time of this epoch's training steps (evaluation excluded).
	Seconds float64 `json:"seconds"`
	// SamplesPerSec is the training throughput of this epoch.
	SamplesPerSec float64 `json:"samples_per_sec"`
	// LR is the optimizer's base learning rate during this epoch (before any
	// schedule in the spec; see Plateau).
	LR float64 `json:"lr,omitempty"`
}

// Eval is one evaluation during a training run that evaluates on a step
// interval rather than once per epoch, as the optimizer benchmark
// (optlab/benchmark) does to measure the time and the steps a run needs to
// reach a target.
type Eval struct {
	// Step is the number of optimizer steps taken before the evaluation.
	Step int `json:"step"`
	// Seconds is the training time up to Step: the wall time of the training
	// steps (the first one's graph compilation included), evaluations excluded.
	Seconds float64 `json:"seconds"`
	// Loss is the mean training loss of the steps since the previous evaluation.
	Loss float64 `json:"loss"`
	// ValLoss and ValAccuracy are measured on the whole validation split
	// (ValAccuracy is 0 for a problem without classes).
	ValLoss     float64 `json:"val_loss"`
	ValAccuracy float64 `json:"val_accuracy"`
}

// Name returns Label, or the canonical spec when there is no label.
func (h *History) Name() string {
	if h.Label != "" {
		return h.Label
	}
	return h.Optimizer
}

// History is the record of one training run: its configuration, one Epoch per
// finished epoch, the final test metrics and where it ran.
type History struct {
	Model     string `json:"model"`
	Optimizer string `json:"optimizer"` // canonical spec string (every hyperparameter)
	// Label is the spec as the user wrote it (short, for legends and tables).
	Label     string `json:"label"`
	Seed      int64  `json:"seed"`
	BatchSize int    `json:"batch_size"`
	Backend   string `json:"backend"`
	// ValSplit names what the val_* columns were measured on ("validation" or "test").
	ValSplit string  `json:"val_split"`
	Epochs   []Epoch `json:"epochs"`
	// TestLoss and TestAccuracy are measured on the test split after the last
	// epoch (with an ema wrapper, with the averaged weights, as ValLoss).
	TestLoss     float64 `json:"test_loss"`
	TestAccuracy float64 `json:"test_accuracy"`
	// Params is the number of trainable scalars; StateBytes the optimizer state
	// size for the model's variables (Optimizer.StateBytesFor their shapes).
	Params     int64 `json:"params"`
	StateBytes int64 `json:"state_bytes"`
	// CompileSeconds is the time from start to the end of the first training step.
	CompileSeconds float64 `json:"compile_seconds"`
	// Members is the size of the population the run was trained in
	// (optlab/population), 0 for a run of its own. A member's times (Elapsed,
	// CompileSeconds, each epoch's Seconds) are the population's wall times,
	// shared by all its members.
	Members int           `json:"members,omitempty"`
	Started time.Time     `json:"started"`
	Elapsed time.Duration `json:"elapsed_ns"`
	// Err is set when the run stopped early (divergence, interruption): the epochs
	// finished before it are kept.
	Err string `json:"error,omitempty"`
	// Accumulate is the number of micro-batches of BatchSize examples per
	// update (omitted when 1).
	Accumulate int `json:"accumulate,omitempty"`
	// Telemetry holds the updates measured every Config.Telemetry updates.
	Telemetry []optimizers.TelemetryRecord `json:"telemetry,omitempty"`
	// Probes holds what Config.Probes measured, one series per name.
	Probes []ProbeSeries `json:"probes,omitempty"`
	// Evals, when the run evaluated on a step interval, holds every
	// evaluation in order.
	Evals []Eval `json:"evals,omitempty"`
}

// Metric selects one per-epoch value of a History.
type Metric string

// The per-epoch metrics, named as in Keras' history.history.
const (
	MetricLoss        Metric = "loss"
	MetricAccuracy    Metric = "accuracy"
	MetricValLoss     Metric = "val_loss"
	MetricValAccuracy Metric = "val_accuracy"
)

// Value returns metric m of epoch e.
func (e Epoch) Value(m Metric) float64 {
	switch m {
	case MetricLoss:
		return e.Loss
	case MetricAccuracy:
		return e.Accuracy
	case MetricValLoss:
		return e.ValLoss
	case MetricValAccuracy:
		return e.ValAccuracy
	}
	panic(fmt.Sprintf("optlab: unknown metric %q", m))
}
