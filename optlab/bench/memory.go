package bench

import (
	stdctx "context"
	"errors"
	"fmt"
	"strings"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

// MemoryUse is what a model's training keeps in memory between steps,
// measured from the variables that exist after one update: the trainable
// parameters, the model's other state (batch-norm statistics) and the
// optimizer's state.
type MemoryUse struct {
	Model     string
	Optimizer string // canonical spec
	// Params is the number of trainable scalars and ParamBytes their size.
	Params     int64
	ParamBytes int64
	// ModelStateBytes is the model's non-trainable variables (e.g. batch-norm
	// moving averages).
	ModelStateBytes int64
	// StateBytes is the size of every optimizer variable (per-parameter
	// buffers plus scalars such as the step counter), measured with
	// optimizers.MeasureStateBytes after one update: BufferBytes +
	// ScalarBytes.
	StateBytes int64
	// BufferBytes is the optimizer state that grows with the model: every
	// optimizer variable with at least one axis (moment buffers, Adafactor's
	// row and column statistics). It is what "an optimizer's state" means in
	// optlab's tables and notebooks, and what History.StateBytes and
	// optimizers' StateBytes compute from the buffer count: 0 for plain SGD.
	BufferBytes int64
	// ScalarBytes is the optimizer's scalar variables (the step counter, a
	// schedule's or Prodigy's scalars): a few bytes whatever the model's size,
	// reported beside the buffers rather than in them.
	ScalarBytes int64
	// StateSlots is the number of per-parameter buffers the optimizer declares.
	StateSlots int
}

// StateRatio is BufferBytes / ParamBytes: how many copies of the model the
// optimizer keeps (its scalars do not count: they do not grow with the model).
func (m MemoryUse) StateRatio() float64 {
	if m.ParamBytes == 0 {
		return 0
	}
	return float64(m.BufferBytes) / float64(m.ParamBytes)
}

// Memory builds model, takes one training step with opt on a single synthetic
// example (memory between steps does not depend on the data) and measures the
// variables the network then holds.
func Memory(backend compute.Backend, model string, opt *optimizers.Optimizer) (MemoryUse, error) {
	if opt == nil {
		return MemoryUse{}, errors.New("measure memory: no optimizer given")
	}
	net, err := optlab.NewNetwork(backend, model, 1, nil)
	if err != nil {
		return MemoryUse{}, fmt.Errorf("measure memory: %w", err)
	}
	const width = 28 * 28
	one := &datasets.Dataset{Name: "one", Width: width, Classes: 10, Features: make([]float32, width), Labels: []int32{3}}
	for i := range one.Features {
		one.Features[i] = float32(i%7) / 7
	}
	data := &optlab.Data{Train: one, Val: one, ValSplit: "validation"}
	if _, err := net.Fit(stdctx.Background(), data, optlab.Config{Model: model, Optimizer: opt, Epochs: 1, BatchSize: 1}); err != nil {
		return MemoryUse{}, fmt.Errorf("measure memory: %s with %s: %w", model, opt, err)
	}
	m := MemoryUse{Model: model, Optimizer: opt.String(), StateSlots: opt.StateSlots(),
		StateBytes: optimizers.MeasureStateBytes(net.Store())}
	for v := range net.Store().Scope(optimizers.StateScope).IterVariables() {
		if v.Shape().Rank() == 0 {
			m.ScalarBytes += int64(v.Shape().ByteSize())
		} else {
			m.BufferBytes += int64(v.Shape().ByteSize())
		}
	}
	if m.BufferBytes+m.ScalarBytes != m.StateBytes {
		return MemoryUse{}, fmt.Errorf("measure memory: buffers (%d B) and scalars (%d B) do not add up to the state (%d B)", m.BufferBytes, m.ScalarBytes, m.StateBytes)
	}
	for v := range net.Store().IterVariables() {
		if !strings.HasPrefix(v.Scope(), "/model") {
			continue
		}
		if v.Trainable {
			m.Params += int64(v.Shape().Size())
			m.ParamBytes += int64(v.Shape().Memory())
		} else {
			m.ModelStateBytes += int64(v.Shape().Memory())
		}
	}
	return m, nil
}
