package checkpoint

import (
	"fmt"
	"slices"
	"strings"

	"github.com/gomlx/gomlx/ml/model"
	gomlxopt "github.com/gomlx/gomlx/ml/train/optimizer"

	"optlab.dev/optlab/safetensors"
)

// Layout says how a variable's elements are ordered in GoMLX and in PyTorch.
type Layout string

const (
	// Same: the same shape and order (biases, batch-norm vectors).
	Same Layout = "same"
	// Transpose: a dense kernel, [in, out] in GoMLX and [out, in] in PyTorch
	// (pt[o, i] = go[i, o]).
	Transpose Layout = "transpose"
	// ConvKernel: a 2-D convolution kernel, [kh, kw, in, out] in GoMLX and
	// [out, in, kh, kw] in PyTorch (pt[o, i, y, x] = go[y, x, i, o]).
	ConvKernel Layout = "conv"
)

// TorchName is where one GoMLX variable goes in a PyTorch state_dict.
type TorchName struct {
	Name   string // e.g. "dense1.weight"
	Shape  []int  // PyTorch's dimensions
	Layout Layout
}

// TorchNameOf maps a model variable, given by its path relative to the
// model's scope ("dense1/weights", "conv1/conv/biases", "bn/moving_mean") and
// its GoMLX dimensions, to its PyTorch name, shape and layout. The layer's
// scope becomes the module name (with '/' as '.'); GoMLX's "conv" sub-scope of
// a convolution is dropped.
func TorchNameOf(path string, dims []int) (TorchName, error) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 2 {
		return TorchName{}, fmt.Errorf("variable %q is not inside a layer's scope", path)
	}
	name, layer := parts[len(parts)-1], parts[:len(parts)-1]
	conv := len(layer) >= 2 && layer[len(layer)-1] == "conv"
	if conv {
		layer = layer[:len(layer)-1]
	}
	module := strings.Join(layer, ".")
	want := func(rank int) error {
		if len(dims) != rank {
			return fmt.Errorf("variable %q has shape %v: a %s must have rank %d", path, dims, name, rank)
		}
		return nil
	}
	switch name {
	case "weights":
		if conv {
			if err := want(4); err != nil {
				return TorchName{}, err
			}
			return TorchName{module + ".weight", []int{dims[3], dims[2], dims[0], dims[1]}, ConvKernel}, nil
		}
		if err := want(2); err != nil {
			return TorchName{}, err
		}
		return TorchName{module + ".weight", []int{dims[1], dims[0]}, Transpose}, nil
	case "biases", "gamma", "beta", "moving_mean", "moving_variance":
		if err := want(1); err != nil {
			return TorchName{}, err
		}
		suffix := map[string]string{"biases": "bias", "gamma": "weight", "beta": "bias",
			"moving_mean": "running_mean", "moving_variance": "running_var"}[name]
		return TorchName{module + "." + suffix, slices.Clone(dims), Same}, nil
	}
	return TorchName{}, fmt.Errorf("variable %q has no PyTorch name (known variables: weights, biases, gamma, beta, moving_mean, moving_variance)", path)
}

// TorchIndex returns, for every element of a tensor with GoMLX dimensions
// dims and the given layout, the flat index of the same element in PyTorch's
// layout.
func TorchIndex(dims []int, layout Layout) []int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	idx := make([]int, n)
	switch layout {
	case Transpose: // go [in, out] → pt [out, in]
		in, out := dims[0], dims[1]
		for i := 0; i < in; i++ {
			for o := 0; o < out; o++ {
				idx[i*out+o] = o*in + i
			}
		}
	case ConvKernel: // go [kh, kw, in, out] → pt [out, in, kh, kw]
		kh, kw, in, out := dims[0], dims[1], dims[2], dims[3]
		for y := 0; y < kh; y++ {
			for x := 0; x < kw; x++ {
				for i := 0; i < in; i++ {
					for o := 0; o < out; o++ {
						idx[((y*kw+x)*in+i)*out+o] = ((o*in+i)*kh+y)*kw + x
					}
				}
			}
		}
	default:
		for i := range idx {
			idx[i] = i
		}
	}
	return idx
}

// permute reorders data (elements of size elem, GoMLX dimensions dims) from
// GoMLX's layout to PyTorch's, or back when toTorch is false.
func permute(data []byte, elem int, dims []int, layout Layout, toTorch bool) []byte {
	if layout == Same {
		return slices.Clone(data)
	}
	out := make([]byte, len(data))
	for g, p := range TorchIndex(dims, layout) {
		if toTorch {
			copy(out[p*elem:(p+1)*elem], data[g*elem:(g+1)*elem])
		} else {
			copy(out[g*elem:(g+1)*elem], data[p*elem:(p+1)*elem])
		}
	}
	return out
}

// numBatchesTracked is the suffix of the step counter PyTorch's batch-norm
// modules keep in their state_dict (it matters only to PyTorch's
// momentum=None mode; optlab's batch norm uses a fixed momentum).
const numBatchesTracked = ".num_batches_tracked"

// modelVariables returns the variables of store under scope, in the store's
// order, with their paths relative to scope.
func modelVariables(store *model.Store, scope string) ([]*model.Variable, []string) {
	prefix := strings.TrimSuffix(scope, "/") + "/"
	var vars []*model.Variable
	var rel []string
	for v := range store.IterVariables() {
		if strings.HasPrefix(v.Path(), prefix) {
			vars = append(vars, v)
			rel = append(rel, strings.TrimPrefix(v.Path(), prefix))
		}
	}
	return vars, rel
}

// ExportWeights returns the variables of store under scope (a network's model
// scope, "/model" for optlab's runner) with PyTorch's names and layouts (see
// TorchNameOf), ready to be written with safetensors.WriteFile: weights,
// biases, batch-norm parameters and moving statistics, plus a
// "<bn>.num_batches_tracked" step counter for every batch-norm layer (GoMLX's
// global step, or 0), so that a PyTorch module with the same layers loads the
// file with load_state_dict's default strict=True. The metadata holds
// "format": "pt".
func ExportWeights(store *model.Store, scope string) (*safetensors.File, error) {
	vars, rel := modelVariables(store, scope)
	if len(vars) == 0 {
		return nil, fmt.Errorf("export weights: no variables under %q (has the model been built?)", scope)
	}
	var steps int64
	if v := store.GetVariable(model.JoinPath("/", gomlxopt.GlobalStepVariableName)); v != nil && v.HasValue() {
		if s, ok := v.MustValue().Value().(int64); ok {
			steps = s
		}
	}
	f := &safetensors.File{Metadata: map[string]string{"format": "pt"}, Tensors: map[string]safetensors.Tensor{}}
	for i, v := range vars {
		value, err := v.Value()
		if err != nil || value == nil {
			return nil, fmt.Errorf("export weights: variable %s has no value yet", v.Path())
		}
		tn, err := TorchNameOf(rel[i], value.Shape().Dimensions)
		if err != nil {
			return nil, fmt.Errorf("export weights: %w", err)
		}
		st, err := fromGoMLX(value)
		if err != nil {
			return nil, fmt.Errorf("export weights: %s: %w", v.Path(), err)
		}
		if _, dup := f.Tensors[tn.Name]; dup {
			return nil, fmt.Errorf("export weights: two variables map to the PyTorch name %q", tn.Name)
		}
		st.Data = permute(st.Data, st.DType.Size(), value.Shape().Dimensions, tn.Layout, true)
		st.Shape = tn.Shape
		f.Tensors[tn.Name] = st
		if v.Name() == "gamma" {
			f.Tensors[strings.TrimSuffix(tn.Name, ".weight")+numBatchesTracked] = safetensors.New([]int{}, []int64{steps})
		}
	}
	return f, nil
}

// ImportWeights sets the variables of store under scope from a weight file
// with PyTorch's names and layouts (as ExportWeights writes, or PyTorch's
// state_dict saved with safetensors). The variables must exist (build the
// model's graph first; optlab.Network.ImportWeights does). Every variable must
// have a tensor of the same element type and the matching shape, and every
// tensor of the file must belong to a variable ("*.num_batches_tracked"
// counters excepted); otherwise nothing is changed and the error names the
// first tensor that does not fit.
func ImportWeights(store *model.Store, scope string, f *safetensors.File) error {
	vars, rel := modelVariables(store, scope)
	if len(vars) == 0 {
		return fmt.Errorf("import weights: no variables under %q: build the model before importing weights", scope)
	}
	used := map[string]bool{}
	var missing []string
	values := make([]safetensors.Tensor, len(vars))
	names := make([]TorchName, len(vars))
	for i, v := range vars {
		dims := v.Shape().Dimensions
		tn, err := TorchNameOf(rel[i], dims)
		if err != nil {
			return fmt.Errorf("import weights: %w", err)
		}
		t, ok := f.Tensors[tn.Name]
		if !ok {
			missing = append(missing, tn.Name)
			continue
		}
		used[tn.Name] = true
		if want := dtypeNames[v.DType()]; t.DType != want {
			return fmt.Errorf("import weights: %s is %s, the model's %s is %s", tn.Name, t.DType, rel[i], want)
		}
		if !slices.Equal(t.Shape, tn.Shape) {
			return fmt.Errorf("import weights: %s has shape %v, the model needs %v", tn.Name, t.Shape, tn.Shape)
		}
		values[i], names[i] = t, tn
	}
	if len(missing) > 0 {
		return fmt.Errorf("import weights: the file lacks %s", strings.Join(missing, ", "))
	}
	var extra []string
	for _, n := range f.Names() {
		if !used[n] && !strings.HasSuffix(n, numBatchesTracked) {
			extra = append(extra, n)
		}
	}
	if len(extra) > 0 {
		return fmt.Errorf("import weights: the model has no variable for %s", strings.Join(extra, ", "))
	}
	for i, v := range vars {
		st := values[i]
		st.Data = permute(st.Data, st.DType.Size(), v.Shape().Dimensions, names[i].Layout, false)
		st.Shape = v.Shape().Dimensions
		t, err := toGoMLX(st)
		if err != nil {
			return fmt.Errorf("import weights: %s: %w", names[i].Name, err)
		}
		if err := v.SetValue(t); err != nil {
			return fmt.Errorf("import weights: setting %s: %w", v.Path(), err)
		}
	}
	return nil
}
