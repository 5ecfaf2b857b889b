package bench

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"

	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/plots"
)

// BytesPerParam is the optimizer's buffers per trainable parameter, in
// bytes: 0 for plain SGD, 4 for momentum, 8 for Adam (float32). It is the
// figure the notebooks compare optimizers by: it does not depend on the
// model's size.
func (m MemoryUse) BytesPerParam() float64 {
	if m.Params == 0 {
		return 0
	}
	return float64(m.BufferBytes) / float64(m.Params)
}

// Memories measures Memory for each model and each optimizer spec, models
// outside.
func Memories(backend compute.Backend, models []string, specs []string) ([]MemoryUse, error) {
	var out []MemoryUse
	for _, model := range models {
		for _, spec := range specs {
			opt, err := optimizers.Parse(spec)
			if err != nil {
				return nil, fmt.Errorf("memory: %w", err)
			}
			m, err := Memory(backend, model, opt)
			if err != nil {
				return nil, err
			}
			out = append(out, m)
		}
	}
	return out, nil
}

// MemoryTable shows what each measurement keeps between steps: the
// parameters, the optimizer's buffers (bytes, bytes per parameter, copies of
// the weights) and its scalars. Every notebook reports optimizer memory
// with it, so the numbers agree across notebooks.
func MemoryTable(title string, uses []MemoryUse) *plots.Table {
	t := plots.NewTable(title, "model", "optimizer", "parameters", "weights", "state buffers", "bytes per parameter", "state ÷ weights", "scalars")
	for _, m := range uses {
		_ = t.AddRow(m.Model, shortSpec(m.Optimizer), m.Params, plots.FormatBytes(float64(m.ParamBytes)),
			plots.FormatBytes(float64(m.BufferBytes)), m.BytesPerParam(), fmt.Sprintf("%.3g×", m.StateRatio()), fmt.Sprintf("%d B", m.ScalarBytes))
	}
	t.Note = "State buffers are the optimizer's per-parameter variables (float32); scalars are its step counter and the like, which do not grow with the model. Measured after one update (bench.Memory)."
	return t
}

// shortSpec keeps an optimizer's family and the arguments that change its
// state (momentum, centering, AMSGrad), dropping the rest of a canonical spec.
func shortSpec(spec string) string {
	name, args, ok := strings.Cut(strings.TrimSuffix(spec, ")"), "(")
	if !ok {
		return spec
	}
	var keep []string
	for _, a := range strings.Split(args, ",") {
		k, v, _ := strings.Cut(a, "=")
		if k == name {
			continue // momentum(momentum=0.9), amsgrad(amsgrad=true): the name says it
		}
		switch k {
		case "momentum", "centered", "amsgrad", "nesterov":
			if v != "0" && v != "false" {
				keep = append(keep, a)
			}
		}
	}
	if len(keep) == 0 {
		return name
	}
	return name + "(" + strings.Join(keep, ",") + ")"
}
