package models

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/model"
)

// The networks of the optimizer benchmarks optlab's benchmark protocol
// borrows its workloads from: DeepOBS (Schneider et al. 2019, its PyTorch
// testproblems_modules) and MLCommons AlgoPerf (its MNIST development
// workload). Layer sizes, activations and initial values follow those
// definitions; the inputs are optlab's flattened 28×28 images in [0, 1].

// logRegDeepOBS is DeepOBS's mnist_logreg network: one dense layer 784 → 10
// whose weights and biases start at zero.
func logRegDeepOBS(scope *model.Scope, x *Node, opts Options) *Node {
	return denseInit(scope, "out", x, 10, zerosInit, zerosInit, opts, false)
}

// mlpDeepOBS is DeepOBS's mnist_mlp network (net_mlp): dense layers of 1000,
// 500 and 100 units with ReLU, then 10 outputs; weights drawn from a normal
// distribution with standard deviation 0.03 truncated at two standard
// deviations, biases at zero.
func mlpDeepOBS(scope *model.Scope, x *Node, opts Options) *Node {
	w := truncatedNormalInit(scope, 3e-2)
	h := Relu(denseInit(scope, "dense1", x, 1000, w, zerosInit, opts, false))
	h = Relu(denseInit(scope, "dense2", h, 500, w, zerosInit, opts, true))
	h = Relu(denseInit(scope, "dense3", h, 100, w, zerosInit, opts, true))
	return denseInit(scope, "out", h, 10, w, zerosInit, opts, true)
}

// AlgoPerf's MNIST workload standardises pixels with the training set's mean
// and standard deviation.
const (
	mnistMean = 0.1307
	mnistStd  = 0.3081
)

// mlpAlgoPerf is AlgoPerf's MNIST development workload's network: the pixels
// standardised as (x − 0.1307)/0.3081, a dense layer of 128 units with the
// logistic sigmoid, then 10 outputs. Weights start as LeCun-normal values
// (a normal distribution truncated at two standard deviations and rescaled to
// variance 1/fan-in, as JAX's lecun_normal and AlgoPerf's
// pytorch_default_init draw them), biases at zero.
func mlpAlgoPerf(scope *model.Scope, x *Node, opts Options) *Node {
	x = DivScalar(AddScalar(x, -mnistMean), mnistStd)
	h := Sigmoid(denseInit(scope, "dense1", x, 128, lecunNormalInit(scope, imageSide*imageSide), zerosInit, opts, false))
	return denseInit(scope, "out", h, 10, lecunNormalInit(scope, 128), zerosInit, opts, true)
}

// cnn2c2d is DeepOBS's 2c2d network (net_mnist_2c2d, used by mnist_2c2d and
// fmnist_2c2d): a 5×5 convolution with 32 channels, ReLU and 2×2 max pooling,
// a 5×5 convolution with 64 channels, ReLU and 2×2 max pooling (both with
// "same" padding: 28×28 → 14×14 → 7×7), a dense layer of 1024 units with
// ReLU and 10 outputs. Weights are drawn from a normal distribution with
// standard deviation 0.05 truncated at two standard deviations, biases start
// at 0.05.
func cnn2c2d(scope *model.Scope, x *Node, opts Options) *Node {
	batch := x.Shape().Dimensions[0]
	w := truncatedNormalInit(scope, 0.05)
	b := constInit(0.05)
	convInit := func(g *Graph, shape shapes.Shape) *Node {
		if shape.Rank() <= 1 {
			return b(g, shape)
		}
		return w(g, shape)
	}
	h := Reshape(x, batch, imageSide, imageSide, 1)
	h = MaxPool2(Relu(ConvSame(scope.In("conv1").WithInitializer(convInit), h, 32, 5, opts)))
	h = MaxPool2(Relu(ConvSame(scope.In("conv2").WithInitializer(convInit), h, 64, 5, opts)))
	h = Reshape(h, batch, -1)
	h = Relu(denseInit(scope, "dense1", h, 1024, w, b, opts, true))
	return denseInit(scope, "out", h, 10, w, b, opts, true)
}

// ConvSame is a 2-D convolution with stride 1 and "same" padding (zeros) of
// h [batch, height, width, in] by a kernel [k, k, in, out] (k odd), plus
// biases [out]: the variables "weights" and "biases" of the scope "conv"
// inside scope, drawn by scope's initializer, as GoMLX's layers.Convolution
// names them.
//
// With opts.FastDense it is computed as one matrix product: the k² shifted
// copies of the padded input side by side ("im2col", [batch·height·width,
// k²·in]) times the kernel reshaped to [k²·in, out], through FastMatMul, whose
// backward pass is two plain matrix products. The pure-Go backend's generic
// convolution kernel was too slow to train DeepOBS's 2c2d network (a few steps
// at batch 128 and one evaluation took minutes on a shared 2-core machine);
// the product form runs on its SIMD matrix kernels (BenchmarkConvSame compares
// them). Without FastDense it is layers.Convolution. Both give the same values and gradients
// (TestBenchmarkModelsMatchPyTorch checks both against PyTorch).
func ConvSame(scope *model.Scope, h *Node, out, k int, opts Options) *Node {
	if !opts.FastDense {
		return layers.Convolution(scope, h).Channels(out).KernelSize(k).PadSame().Done()
	}
	d := h.Shape().Dimensions
	if h.Rank() != 4 || k%2 != 1 {
		panic(fmt.Sprintf("models.ConvSame: want h [batch, height, width, channels] and an odd kernel size, got %s and %d", h.Shape(), k))
	}
	batch, height, width, in := d[0], d[1], d[2], d[3]
	scope = scope.In("conv")
	g := h.Graph()
	w := scope.VariableWithShape("weights", shapes.Make(h.DType(), k, k, in, out)).NodeValue(g)
	b := scope.VariableWithShape("biases", shapes.Make(h.DType(), out)).NodeValue(g)
	p := k / 2
	// Zero borders by concatenation (GoMLX's Pad has no gradient).
	rows := Zeros(g, shapes.Make(h.DType(), batch, p, width, in))
	padded := Concatenate([]*Node{rows, h, rows}, 1)
	cols := Zeros(g, shapes.Make(h.DType(), batch, height+2*p, p, in))
	padded = Concatenate([]*Node{cols, padded, cols}, 2)
	patches := make([]*Node, 0, k*k)
	for dy := 0; dy < k; dy++ {
		for dx := 0; dx < k; dx++ {
			patches = append(patches, Slice(padded, AxisRange(), AxisRange(dy, dy+height), AxisRange(dx, dx+width), AxisRange()))
		}
	}
	im2col := Reshape(Concatenate(patches, 3), batch*height*width, k*k*in) // row order (dy, dx, channel), as the kernel's
	y := FastMatMul(im2col, Reshape(w, k*k*in, out), true, true)
	return Add(Reshape(y, batch, height, width, out), Reshape(b, 1, 1, 1, out))
}

// truncatedNormalInit draws N(0, stddev²) values truncated at ±2·stddev, as
// TensorFlow's truncated_normal_initializer and DeepOBS's
// _truncated_normal_init do: a value outside the bounds is drawn again. Three
// redraws leave a fraction (0.0455)⁴ ≈ 4·10⁻⁶ of values still outside, which
// are clipped to the bound (GoMLX has no truncated normal of its own).
func truncatedNormalInit(scope *model.Scope, stddev float64) model.VariableInitializer {
	return func(g *Graph, shape shapes.Shape) *Node {
		z := scope.RandomNormal(g, shape)
		for range 3 {
			again := scope.RandomNormal(g, shape)
			z = Where(GreaterThan(Abs(z), Scalar(g, shape.DType, 2)), again, z)
		}
		return MulScalar(ClipScalar(z, -2, 2), stddev)
	}
}

// truncatedStd is the standard deviation of a standard normal truncated at ±2.
const truncatedStd = 0.87962566103423978

// lecunNormalInit is LeCun's normal initialisation with variance 1/fanIn, drawn
// from a normal truncated at two standard deviations and rescaled so that the
// truncated values have that variance.
func lecunNormalInit(scope *model.Scope, fanIn int) model.VariableInitializer {
	return truncatedNormalInit(scope, math.Sqrt(1/float64(fanIn))/truncatedStd)
}

// constInit fills a variable with v.
func constInit(v float64) model.VariableInitializer {
	return func(g *Graph, shape shapes.Shape) *Node { return AddScalar(Zeros(g, shape), v) }
}
