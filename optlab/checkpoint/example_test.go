package checkpoint_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/optlab/checkpoint"
)

// A dense layer's [in, out] kernel is exported as PyTorch's [out, in] weight.
func ExampleExportWeights() {
	store := model.NewStore()
	w := tensors.FromFlatDataAndDimensions([]float32{1, 2, 3, 4, 5, 6}, 3, 2) // [in=3, out=2]
	b := tensors.FromFlatDataAndDimensions([]float32{0.5, -0.5}, 2)
	_, _ = store.CreateVariable("/model/out/weights", w)
	_, _ = store.CreateVariable("/model/out/biases", b)
	f, err := checkpoint.ExportWeights(store, "/model")
	if err != nil {
		panic(err)
	}
	for _, name := range f.Names() {
		fmt.Println(name, f.Tensors[name].Shape)
	}
	// Output:
	// out.bias [2]
	// out.weight [2 3]
}

// A checkpoint holds every variable of a store plus the caller's
// configuration and loop state; Save keeps the newest K.
func ExampleSave() {
	dir, _ := os.MkdirTemp("", "ckpt")
	defer os.RemoveAll(dir)
	store := model.NewStore()
	_, _ = store.CreateVariable("/model/out/biases", tensors.FromFlatDataAndDimensions([]float32{0.5, -0.5}, 2))
	type position struct{ Epoch, Step int }
	for step := int64(100); step <= 400; step += 100 {
		if _, err := checkpoint.Save(dir, store, step, map[string]string{"model": "logreg"}, position{1, int(step)}, 2); err != nil {
			panic(err)
		}
	}
	paths, _ := checkpoint.List(dir)
	for _, p := range paths {
		fmt.Println(filepath.Base(p))
	}
	c, err := checkpoint.Load(paths[len(paths)-1])
	if err != nil {
		panic(err)
	}
	var pos position
	_ = c.DecodeState(&pos)
	fmt.Println(pos)
	// Output:
	// ckpt-000000000300.safetensors
	// ckpt-000000000400.safetensors
	// {1 400}
}
