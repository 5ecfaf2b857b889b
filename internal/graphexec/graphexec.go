// Package graphexec runs compiled GoMLX graphs for optlab's packages: Call
// turns a panic raised while building or executing a graph into an error, and
// Scalar reads a scalar output as float64.
//
// It imports GoMLX and nothing of optlab.
package graphexec

import (
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// Call runs a compiled graph with args, turning panics raised while building
// or executing it into errors.
func Call(e *model.Exec, args ...any) (outs []*tensors.Tensor, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return e.Call(args...)
}

// Scalar reads a scalar tensor of any float, int or bool dtype as float64
// (booleans read as 0 or 1). It panics on other types.
func Scalar(t *tensors.Tensor) float64 {
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
