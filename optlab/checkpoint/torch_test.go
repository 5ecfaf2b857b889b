package checkpoint_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/optlab/checkpoint"
	"optlab.dev/optlab/safetensors"
)

func TestTorchNameOf(t *testing.T) {
	tests := []struct {
		path    string
		dims    []int
		name    string
		shape   []int
		layout  checkpoint.Layout
		wantErr string
	}{
		{"dense1/weights", []int{784, 128}, "dense1.weight", []int{128, 784}, checkpoint.Transpose, ""},
		{"out/biases", []int{10}, "out.bias", []int{10}, checkpoint.Same, ""},
		{"conv1/conv/weights", []int{5, 5, 1, 8}, "conv1.weight", []int{8, 1, 5, 5}, checkpoint.ConvKernel, ""},
		{"conv2/conv/biases", []int{16}, "conv2.bias", []int{16}, checkpoint.Same, ""},
		{"bn/gamma", []int{300}, "bn.weight", []int{300}, checkpoint.Same, ""},
		{"bn/beta", []int{300}, "bn.bias", []int{300}, checkpoint.Same, ""},
		{"bn/moving_mean", []int{300}, "bn.running_mean", []int{300}, checkpoint.Same, ""},
		{"bn/moving_variance", []int{300}, "bn.running_var", []int{300}, checkpoint.Same, ""},
		{"block1/dense/weights", []int{3, 2}, "block1.dense.weight", []int{2, 3}, checkpoint.Transpose, ""},
		{"/dense1/weights/", []int{3, 2}, "dense1.weight", []int{2, 3}, checkpoint.Transpose, ""},
		{"weights", []int{3, 2}, "", nil, "", `"weights" is not inside a layer's scope`},
		{"dense1/weights", []int{3}, "", nil, "", "a weights must have rank 2"},
		{"conv1/conv/weights", []int{5, 5, 8}, "", nil, "", "must have rank 4"},
		{"bn/gamma", []int{3, 3}, "", nil, "", "must have rank 1"},
		{"dense1/kernel", []int{3, 2}, "", nil, "", `"dense1/kernel" has no PyTorch name`},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			got, err := checkpoint.TorchNameOf(tc.path, tc.dims)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != tc.name || !slices.Equal(got.Shape, tc.shape) || got.Layout != tc.layout {
				t.Errorf("got %+v, want %s %v %s", got, tc.name, tc.shape, tc.layout)
			}
		})
	}
}

// TestTorchIndex checks the index maps against the definitions
// pt[o, i] = go[i, o] and pt[o, i, y, x] = go[y, x, i, o].
func TestTorchIndex(t *testing.T) {
	idx := checkpoint.TorchIndex([]int{3, 4}, checkpoint.Transpose) // go [in=3, out=4]
	for i := 0; i < 3; i++ {
		for o := 0; o < 4; o++ {
			if got, want := idx[i*4+o], o*3+i; got != want {
				t.Fatalf("dense go[%d,%d] → pt %d, want %d", i, o, got, want)
			}
		}
	}
	const kh, kw, in, out = 2, 3, 4, 5
	idx = checkpoint.TorchIndex([]int{kh, kw, in, out}, checkpoint.ConvKernel)
	seen := make([]bool, len(idx))
	for y := 0; y < kh; y++ {
		for x := 0; x < kw; x++ {
			for i := 0; i < in; i++ {
				for o := 0; o < out; o++ {
					p := idx[((y*kw+x)*in+i)*out+o]
					if want := ((o*in+i)*kh+y)*kw + x; p != want {
						t.Fatalf("conv go[%d,%d,%d,%d] → pt %d, want %d", y, x, i, o, p, want)
					}
					seen[p] = true
				}
			}
		}
	}
	if slices.Contains(seen, false) {
		t.Fatal("conv index map is not a permutation")
	}
}

// newModelStore returns a store holding a small network's variables under
// /model (a dense layer, batch norm, a convolution) with distinct values.
func newModelStore(t *testing.T, offset float32) *model.Store {
	t.Helper()
	store := model.NewStore()
	vars := []struct {
		path string
		dims []int
	}{
		{"/model/conv1/conv/weights", []int{2, 2, 1, 3}},
		{"/model/conv1/conv/biases", []int{3}},
		{"/model/dense1/weights", []int{4, 3}},
		{"/model/dense1/biases", []int{3}},
		{"/model/bn/gamma", []int{3}},
		{"/model/bn/beta", []int{3}},
		{"/model/bn/moving_mean", []int{3}},
		{"/model/bn/moving_variance", []int{3}},
	}
	k := offset
	for _, v := range vars {
		n := 1
		for _, d := range v.dims {
			n *= d
		}
		vals := make([]float32, n)
		for i := range vals {
			vals[i] = k
			k++
		}
		if _, err := store.CreateVariable(v.path, tensors.FromFlatDataAndDimensions(vals, v.dims...)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := store.CreateVariable("/global_step", tensors.FromScalar(int64(42))); err != nil {
		t.Fatal(err)
	}
	return store
}

func values(t *testing.T, store *model.Store, path string) []float32 {
	t.Helper()
	v := store.GetVariable(path)
	if v == nil {
		t.Fatalf("no variable %s", path)
	}
	return tensors.MustCopyFlatData[float32](v.MustValue())
}

func TestExportImportWeights(t *testing.T) {
	src := newModelStore(t, 1)
	f, err := checkpoint.ExportWeights(src, "/model")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bn.bias", "bn.num_batches_tracked", "bn.running_mean", "bn.running_var", "bn.weight",
		"conv1.bias", "conv1.weight", "dense1.bias", "dense1.weight"}
	if got := f.Names(); !slices.Equal(got, want) {
		t.Fatalf("names %v, want %v", got, want)
	}
	// PyTorch's layout: dense1.weight [out=3, in=4], pt[o, i] = go[i, o].
	goW := values(t, src, "/model/dense1/weights")
	pt, err := safetensors.Values[float32](f.Tensors["dense1.weight"])
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(f.Tensors["dense1.weight"].Shape, []int{3, 4}) || pt[1*4+2] != goW[2*3+1] {
		t.Fatalf("dense1.weight shape %v, pt[1,2] = %v, go[2,1] = %v", f.Tensors["dense1.weight"].Shape, pt[1*4+2], goW[2*3+1])
	}
	steps, _ := safetensors.Values[int64](f.Tensors["bn.num_batches_tracked"])
	if !slices.Equal(steps, []int64{42}) || f.Metadata["format"] != "pt" {
		t.Fatalf("num_batches_tracked %v, metadata %v", steps, f.Metadata)
	}
	b, err := f.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := safetensors.Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	dst := newModelStore(t, 1000)
	if err := checkpoint.ImportWeights(dst, "/model", back); err != nil {
		t.Fatal(err)
	}
	for v := range src.IterVariables() {
		if !strings.HasPrefix(v.Path(), "/model/") {
			continue
		}
		if got, want := values(t, dst, v.Path()), values(t, src, v.Path()); !slices.Equal(got, want) {
			t.Errorf("%s: imported %v, exported %v", v.Path(), got, want)
		}
	}
}

func TestImportWeightsRefusesMismatches(t *testing.T) {
	good, err := checkpoint.ExportWeights(newModelStore(t, 1), "/model")
	if err != nil {
		t.Fatal(err)
	}
	edit := func(fn func(f *safetensors.File)) *safetensors.File {
		f := &safetensors.File{Metadata: good.Metadata, Tensors: map[string]safetensors.Tensor{}}
		for k, v := range good.Tensors {
			f.Tensors[k] = v
		}
		fn(f)
		return f
	}
	tests := []struct {
		name, want string
		file       *safetensors.File
		scope      string
	}{
		{"missing", "the file lacks bn.weight", edit(func(f *safetensors.File) { delete(f.Tensors, "bn.weight") }), "/model"},
		{"extra", "the model has no variable for dense2.weight",
			edit(func(f *safetensors.File) { f.Tensors["dense2.weight"] = safetensors.New([]int{1}, []float32{1}) }), "/model"},
		{"shape", "dense1.weight has shape [4 3], the model needs [3 4]",
			edit(func(f *safetensors.File) {
				f.Tensors["dense1.weight"] = safetensors.New([]int{4, 3}, make([]float32, 12))
			}), "/model"},
		{"dtype", "dense1.bias is F64, the model's dense1/biases is F32",
			edit(func(f *safetensors.File) { f.Tensors["dense1.bias"] = safetensors.New([]int{3}, make([]float64, 3)) }), "/model"},
		{"no variables", `no variables under "/other"`, good, "/other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := newModelStore(t, 1000)
			err := checkpoint.ImportWeights(dst, tc.scope, tc.file)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if got := values(t, dst, "/model/bn/gamma"); got[0] == values(t, newModelStore(t, 1), "/model/bn/gamma")[0] {
				t.Error("a refused import changed a variable")
			}
		})
	}
}
