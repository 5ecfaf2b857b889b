package optlab

import (
	stdctx "context"
	"fmt"
	"strings"

	"github.com/gomlx/gomlx/backends"

	"optlab.dev/optlab/models"
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
	// optimizers.MeasureStateBytes after one update.
	StateBytes int64
	// StateSlots is the number of per-parameter buffers the optimizer declares.
	StateSlots int
}

// StateRatio is StateBytes / ParamBytes: how many copies of the model the
// optimizer keeps.
func (m MemoryUse) StateRatio() float64 {
	if m.ParamBytes == 0 {
		return 0
	}
	return float64(m.StateBytes) / float64(m.ParamBytes)
}

// MeasureMemory builds model, takes one training step with the optimizer spec on
// a single synthetic example (memory between steps does not depend on the
// data) and measures the variables the context then holds.
func MeasureMemory(backend backends.Backend, model, spec string) (MemoryUse, error) {
	opt, err := optimizers.Parse(spec)
	if err != nil {
		return MemoryUse{}, fmt.Errorf("measure memory: %w", err)
	}
	net, err := NewNetwork(backend, model, 1, nil)
	if err != nil {
		return MemoryUse{}, fmt.Errorf("measure memory: %w", err)
	}
	const width = 28 * 28
	one := &models.Dataset{Name: "one", Width: width, Classes: 10, Features: make([]float32, width), Labels: []int32{3}}
	for i := range one.Features {
		one.Features[i] = float32(i%7) / 7
	}
	data := &Data{Train: one, Val: one, ValSplit: "validation"}
	if _, err := net.Fit(stdctx.Background(), data, Config{Model: model, Optimizer: spec, Epochs: 1, BatchSize: 1}); err != nil {
		return MemoryUse{}, fmt.Errorf("measure memory: %s with %s: %w", model, spec, err)
	}
	m := MemoryUse{Model: model, Optimizer: opt.String(), StateSlots: opt.StateSlots(),
		StateBytes: optimizers.MeasureStateBytes(net.ctx)}
	for v := range net.ctx.IterVariables() {
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
