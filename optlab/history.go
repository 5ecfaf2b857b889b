package optlab

import "time"

// Epoch is one row of a training history: the metrics of one epoch, as Keras
// reports them in history.history. Training loss and accuracy are averaged over
// the epoch's mini-batches (with the weights as they were when each batch was
// seen); validation metrics are computed after the epoch on the held-out split.
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
	// TestLoss and TestAccuracy are measured on the test split after the last epoch.
	TestLoss     float64 `json:"test_loss"`
	TestAccuracy float64 `json:"test_accuracy"`
	// Params is the number of trainable scalars; StateBytes the optimizer state size.
	Params     int64 `json:"params"`
	StateBytes int64 `json:"state_bytes"`
	// CompileSeconds is the time from start to the end of the first training step.
	CompileSeconds float64       `json:"compile_seconds"`
	Started        time.Time     `json:"started"`
	Elapsed        time.Duration `json:"elapsed_ns"`
	// Err is set when the run stopped early (divergence, interruption): the epochs
	// finished before it are kept.
	Err string `json:"error,omitempty"`
}
