package safetensors_test

import (
	"fmt"

	"optlab.dev/optlab/safetensors"
)

// A dense layer's weights in PyTorch's layout ([out, in]) and its bias, written
// and read back.
func Example() {
	f := &safetensors.File{
		Metadata: map[string]string{"format": "pt"},
		Tensors: map[string]safetensors.Tensor{
			"dense1.weight": safetensors.New([]int{2, 3}, []float32{1, 2, 3, 4, 5, 6}),
			"dense1.bias":   safetensors.New([]int{2}, []float32{0.5, -0.5}),
			"step":          safetensors.New([]int{}, []int64{10}),
		},
	}
	b, err := f.Encode()
	if err != nil {
		panic(err)
	}
	back, err := safetensors.Decode(b)
	if err != nil {
		panic(err)
	}
	for _, name := range back.Names() {
		t := back.Tensors[name]
		fmt.Println(name, t.DType, t.Shape)
	}
	w, _ := back.Tensor("dense1.weight")
	values, err := safetensors.Values[float32](w)
	fmt.Println(values, err, back.Metadata["format"])
	_, err = back.Tensor("dense2.weight")
	fmt.Println(err)
	// Output:
	// dense1.bias F32 [2]
	// dense1.weight F32 [2 3]
	// step I64 []
	// [1 2 3 4 5 6] <nil> pt
	// safetensors: no tensor "dense2.weight" (have "dense1.bias", "dense1.weight", "step")
}
