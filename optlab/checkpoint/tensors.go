package checkpoint

import (
	"fmt"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/tensors"

	"optlab.dev/optlab/safetensors"
)

// dtypeNames maps GoMLX's element types to safetensors' names.
var dtypeNames = map[dtypes.DType]safetensors.DType{
	dtypes.Bool:     safetensors.Bool,
	dtypes.Int8:     safetensors.I8,
	dtypes.Int16:    safetensors.I16,
	dtypes.Int32:    safetensors.I32,
	dtypes.Int64:    safetensors.I64,
	dtypes.Uint8:    safetensors.U8,
	dtypes.Uint16:   safetensors.U16,
	dtypes.Uint32:   safetensors.U32,
	dtypes.Uint64:   safetensors.U64,
	dtypes.Float16:  safetensors.F16,
	dtypes.BFloat16: safetensors.BF16,
	dtypes.Float32:  safetensors.F32,
	dtypes.Float64:  safetensors.F64,
}

// gomlxDType returns the GoMLX element type of a safetensors dtype.
func gomlxDType(d safetensors.DType) (dtypes.DType, bool) {
	for g, s := range dtypeNames {
		if s == d {
			return g, true
		}
	}
	return dtypes.InvalidDType, false
}

// fromGoMLX copies a GoMLX tensor into a safetensors tensor (same layout).
// GoMLX keeps tensors in the machine's byte order; optlab's platforms (amd64,
// arm64) are little-endian, as safetensors is.
func fromGoMLX(t *tensors.Tensor) (safetensors.Tensor, error) {
	d, ok := dtypeNames[t.DType()]
	if !ok {
		return safetensors.Tensor{}, fmt.Errorf("element type %s has no safetensors name", t.DType())
	}
	var data []byte
	if err := t.ConstBytes(func(b []byte) { data = slices.Clone(b) }); err != nil {
		return safetensors.Tensor{}, err
	}
	if data == nil {
		data = []byte{}
	}
	return safetensors.Tensor{DType: d, Shape: slices.Clone(t.Shape().Dimensions), Data: data}, nil
}

// toGoMLX copies a safetensors tensor into a new GoMLX tensor (same layout).
func toGoMLX(st safetensors.Tensor) (*tensors.Tensor, error) {
	d, ok := gomlxDType(st.DType)
	if !ok {
		return nil, fmt.Errorf("element type %s has no GoMLX counterpart", st.DType)
	}
	shape := shapes.Make(d, st.Shape...)
	if int(shape.ByteSize()) != len(st.Data) {
		return nil, fmt.Errorf("shape %v of %s needs %d bytes, got %d", st.Shape, st.DType, shape.ByteSize(), len(st.Data))
	}
	t := tensors.FromShape(shape)
	if err := t.MutableBytes(func(b []byte) { copy(b, st.Data) }); err != nil {
		return nil, err
	}
	return t, nil
}
