package landscape

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/graphexec"
)

// DeepNet is a plain stack of square dense layers with random weights, for
// watching the gradient vanish or explode with depth.
type DeepNet struct {
	// Depth is the number of layers and Width their size (defaults 20 and 64).
	Depth, Width int
	// Batch is the number of random inputs, each N(0, 1) (default 64).
	Batch int
	// Activation is "sigmoid", "tanh" or "relu".
	Activation string
	// BatchNorm normalises every layer's pre-activations over the batch
	// (mean 0, variance 1, no learned scale) before the activation.
	BatchNorm bool
	// Gain scales the weights: each is N(0, Gain²/Width) (default 1;
	// √2 is He initialisation for ReLU).
	Gain float64
	// Seed draws the inputs and weights.
	Seed uint64
}

// GradientNorms returns ‖∂L/∂Wₗ‖ for every layer l (1 is next to the input)
// of the network n, for the loss L = mean of the squared outputs of the last
// layer: the size of the update plain gradient descent would give each layer.
func GradientNorms(backend compute.Backend, n DeepNet) ([]float64, error) {
	if n.Depth == 0 {
		n.Depth = 20
	}
	if n.Width == 0 {
		n.Width = 64
	}
	if n.Batch == 0 {
		n.Batch = 64
	}
	if n.Gain == 0 {
		n.Gain = 1
	}
	switch {
	case n.Depth < 1 || n.Depth > 1000:
		return nil, fmt.Errorf("deep net: depth %d out of range [1, 1000]", n.Depth)
	case n.Width < 1 || n.Width > 4096 || n.Batch < 2 || n.Batch > 4096:
		return nil, fmt.Errorf("deep net: width %d and batch %d must be in [1, 4096] and [2, 4096]", n.Width, n.Batch)
	case n.Activation != "sigmoid" && n.Activation != "tanh" && n.Activation != "relu":
		return nil, fmt.Errorf("deep net: activation %q (valid: sigmoid, tanh, relu)", n.Activation)
	case !(n.Gain > 0) || math.IsInf(n.Gain, 0):
		return nil, fmt.Errorf("deep net: gain %g must be a positive number", n.Gain)
	}
	r := newDeepRand(n.Seed)
	normal := func(size int, std float64) []float32 {
		v := make([]float32, size)
		for i := range v {
			v[i] = float32(std * r.NormFloat64())
		}
		return v
	}
	x := tensors.FromFlatDataAndDimensions(normal(n.Batch*n.Width, 1), n.Batch, n.Width)
	ws := tensors.FromFlatDataAndDimensions(normal(n.Depth*n.Width*n.Width, n.Gain/math.Sqrt(float64(n.Width))), n.Depth, n.Width, n.Width)
	exec, err := model.NewExec(backend, model.NewStore(), func(_ *model.Scope, x, ws *Node) *Node {
		h := x
		for l := 0; l < n.Depth; l++ {
			w := Reshape(Slice(ws, AxisElem(l), AxisRange(), AxisRange()), n.Width, n.Width)
			z := MatMul(h, w)
			if n.BatchNorm {
				c := Sub(z, ReduceAndKeep(z, ReduceMean, 0))
				z = Div(c, Sqrt(AddScalar(ReduceAndKeep(Square(c), ReduceMean, 0), 1e-5)))
			}
			switch n.Activation {
			case "sigmoid":
				h = Sigmoid(z)
			case "tanh":
				h = Tanh(z)
			default:
				h = Max(z, ZerosLike(z))
			}
		}
		g := Gradient(ReduceAllMean(Square(h)), ws)[0]
		return Sqrt(ReduceSum(Square(g), 1, 2)) // [depth]
	})
	if err != nil {
		return nil, fmt.Errorf("deep net: %w", err)
	}
	outs, err := graphexec.Call(exec, x, ws)
	if err != nil {
		return nil, fmt.Errorf("deep net: %w", err)
	}
	norms, err := tensors.CopyFlatData[float32](outs[0])
	if err != nil {
		return nil, fmt.Errorf("deep net: %w", err)
	}
	out := make([]float64, len(norms))
	for i, v := range norms {
		out[i] = float64(v)
	}
	return out, nil
}

// newDeepRand is the random source of GradientNorms' inputs, then weights.
func newDeepRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0xdee9)) }
