package diagnostics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
)

// modelScope is the scope of a Network's model variables (optlab.Network.Store).
const modelScope = "/model"

// Weights is a point or a direction in a network's parameter space: the
// values of its trainable variables, concatenated in Flat (row-major, in the
// order of Names), as float64.
type Weights struct {
	// Names are the variables' paths, e.g. "/model/dense1/weights".
	Names []string
	// Shapes are the variables' dimensions.
	Shapes [][]int
	// Flat holds every value; Var(i) is the i-th variable's part.
	Flat []float64
}

// Var returns the i-th variable's values (a slice of Flat).
func (w *Weights) Var(i int) []float64 {
	off := 0
	for j := 0; j < i; j++ {
		off += size(w.Shapes[j])
	}
	return w.Flat[off : off+size(w.Shapes[i])]
}

func size(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

// Len returns the number of values.
func (w *Weights) Len() int { return len(w.Flat) }

// Zeros returns zero weights of w's layout.
func (w *Weights) Zeros() *Weights {
	return &Weights{Names: w.Names, Shapes: w.Shapes, Flat: make([]float64, len(w.Flat))}
}

// Clone returns a copy of w.
func (w *Weights) Clone() *Weights {
	return &Weights{Names: w.Names, Shapes: w.Shapes, Flat: slices.Clone(w.Flat)}
}

// Compatible returns an error unless o has w's layout (same variables, same shapes).
func (w *Weights) Compatible(o *Weights) error {
	if o == nil {
		return errors.New("weights: nil")
	}
	if len(w.Names) != len(o.Names) {
		return fmt.Errorf("weights of %d variables and of %d: not the same model", len(w.Names), len(o.Names))
	}
	for i := range w.Names {
		if w.Names[i] != o.Names[i] || !slices.Equal(w.Shapes[i], o.Shapes[i]) {
			return fmt.Errorf("weights differ in variable %d: %s %v vs %s %v", i, w.Names[i], w.Shapes[i], o.Names[i], o.Shapes[i])
		}
	}
	return nil
}

// Dot returns Σ w_i·o_i.
func (w *Weights) Dot(o *Weights) float64 { return dot(w.Flat, o.Flat) }

// Norm returns the L2 norm of w.
func (w *Weights) Norm() float64 { return math.Sqrt(dot(w.Flat, w.Flat)) }

// Axpy returns w + a·o as new weights.
func (w *Weights) Axpy(a float64, o *Weights) *Weights {
	out := w.Clone()
	axpy(out.Flat, a, o.Flat)
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// axpy sets y ← y + a·x.
func axpy(y []float64, a float64, x []float64) {
	for i := range y {
		y[i] += a * x[i]
	}
}

// trainableVars returns the network's trainable model variables in the order
// Weights lists them (the store's).
func trainableVars(n *optlab.Network) []*model.Variable {
	var out []*model.Variable
	for v := range n.Store().Scope(modelScope).IterVariables() {
		if v.Trainable {
			out = append(out, v)
		}
	}
	return out
}

// WeightsOf copies the network's trainable weights. The network must have
// weights: see Materialize for a fresh network.
func WeightsOf(n *optlab.Network) (*Weights, error) {
	vars := trainableVars(n)
	if len(vars) == 0 {
		return nil, errors.New("the network has no weights yet (train or evaluate it first, or call Materialize)")
	}
	w := &Weights{}
	for _, v := range vars {
		t, err := v.Value()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", v.Path(), err)
		}
		w.Names = append(w.Names, v.Path())
		w.Shapes = append(w.Shapes, slices.Clone(v.Shape().Dimensions))
		t.ConstFlatData(func(flat any) {
			switch f := flat.(type) {
			case []float32:
				for _, x := range f {
					w.Flat = append(w.Flat, float64(x))
				}
			case []float64:
				w.Flat = append(w.Flat, f...)
			}
		})
	}
	total := 0
	for _, s := range w.Shapes {
		total += size(s)
	}
	if len(w.Flat) != total {
		return nil, fmt.Errorf("reading weights: %d values for %d parameters (a variable that is not float32 or float64?)", len(w.Flat), total)
	}
	return w, nil
}

// SetWeights writes w into the network's trainable variables (converted to
// their dtype).
func SetWeights(n *optlab.Network, w *Weights) error {
	vars := trainableVars(n)
	cur := &Weights{}
	for _, v := range vars {
		cur.Names = append(cur.Names, v.Path())
		cur.Shapes = append(cur.Shapes, v.Shape().Dimensions)
	}
	if err := cur.Compatible(w); err != nil {
		return fmt.Errorf("setting weights: %w", err)
	}
	off := 0
	for _, v := range vars {
		k := v.Shape().Size()
		src := w.Flat[off : off+k]
		off += k
		var t *tensors.Tensor
		switch v.DType() {
		case dtypes.Float32:
			f := make([]float32, k)
			for i, x := range src {
				f[i] = float32(x)
			}
			t = tensors.FromFlatDataAndDimensions(f, v.Shape().Dimensions...)
		case dtypes.Float64:
			t = tensors.FromFlatDataAndDimensions(slices.Clone(src), v.Shape().Dimensions...)
		default:
			return fmt.Errorf("setting weights: %s has dtype %s", v.Path(), v.DType())
		}
		if err := v.SetValue(t); err != nil {
			return fmt.Errorf("setting %s: %w", v.Path(), err)
		}
	}
	return nil
}

// Materialize creates a fresh network's weights (as its first evaluation
// would, from its seed) by evaluating it on one example of ds; a network that
// has weights is left as it is.
func Materialize(n *optlab.Network, ds *datasets.Dataset) error {
	if len(trainableVars(n)) > 0 {
		return nil
	}
	if ds == nil || ds.Len() == 0 {
		return errors.New("materializing weights: no data")
	}
	_, _, err := n.Evaluate(ds.Slice(ds.Name, 0, 1), 1)
	return err
}

// Biases says what a random direction holds for the variables that are not
// made of filters (rank ≤ 1: biases, batch-norm scales and shifts).
type Biases int

const (
	// ZeroBiases leaves them out of the direction (zero), as Li et al. do by
	// default: the slice then moves only the weight matrices.
	ZeroBiases Biases = iota
	// NormalizeBiases draws them too and scales each such variable's part of
	// the direction to the variable's norm.
	NormalizeBiases
)

// FilterNormalizedDirection draws a random direction d ~ N(0, I) of at's
// layout and scales it filter by filter as Li et al. (2018, "Visualizing the
// Loss Landscape of Neural Nets", §4) do: every filter d_j becomes
// d_j·‖θ_j‖/‖d_j‖, θ_j the same filter of at. A filter is a slice along a
// variable's last axis: one output unit's column of a dense layer's [in, out]
// matrix, one output channel of a convolution kernel [h, w, in, out]. Rank ≤ 1
// variables follow biases. A filter whose weights are all zero gets a zero
// direction.
func FilterNormalizedDirection(at *Weights, rng *rand.Rand, biases Biases) *Weights {
	d := at.Zeros()
	for i, dims := range at.Shapes {
		dv, wv := d.Var(i), at.Var(i)
		if len(dims) <= 1 {
			if biases == ZeroBiases {
				continue
			}
			for k := range dv {
				dv[k] = rng.NormFloat64()
			}
			scaleTo(dv, math.Sqrt(dot(wv, wv)))
			continue
		}
		for k := range dv {
			dv[k] = rng.NormFloat64()
		}
		filters := dims[len(dims)-1]
		for f := 0; f < filters; f++ {
			var dn, wn float64
			for k := f; k < len(dv); k += filters {
				dn += dv[k] * dv[k]
				wn += wv[k] * wv[k]
			}
			s := 0.0
			if dn > 0 {
				s = math.Sqrt(wn / dn)
			}
			for k := f; k < len(dv); k += filters {
				dv[k] *= s
			}
		}
	}
	return d
}

// scaleTo scales x to norm n (zero stays zero).
func scaleTo(x []float64, n float64) {
	xn := math.Sqrt(dot(x, x))
	if xn == 0 {
		return
	}
	for k := range x {
		x[k] *= n / xn
	}
}
