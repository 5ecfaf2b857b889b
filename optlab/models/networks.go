package models

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/model"
)

// Model is a named classifier: Build maps a batch of flattened images
// x [batch, 784] (float32 in [0,1]) to logits [batch, Outputs]. Whether the
// graph is a training graph (dropout on, batch statistics) is read from
// ctx.IsTraining. Softmax is folded into the loss, as Keras does with
// from_logits.
type Model struct {
	Name        string
	Description string
	// Outputs is the number of output units (10 for every model but the
	// walkthrough's faithful answer-A model, which has 100).
	Outputs int
	Build   func(scope *model.Scope, x *Node, opts Options) *Node
	// Members reports that Build accepts Options.Members > 0: the model can
	// train as a population (optlab/population).
	Members bool
}

// Models returns the models optlab knows, sorted by name.
func Models() []Model {
	ms := []Model{
		{"mlp-small", "784-128-64-10 MLP with ReLU (the walkthrough's answer B)", 10, mlpSmall, true},
		{"mlp-bn", "Dense 300 ReLU (L2 1e-4) → batch norm → Dense 100 ReLU → dropout 0.2 → Dense 10 (answer A, corrected output)", 10, mlpBN(10), true},
		{"mlp-bn100", "answer A's model exactly as written, with its 100-unit output layer for 10 classes", 100, mlpBN(100), true},
		{"logreg", "multinomial logistic regression: one dense layer 784 → 10", 10, logReg, true},
		{"cnn-small", "conv 5×5×8 ReLU → max-pool 2 → conv 5×5×16 ReLU → max-pool 2 → Dense 10", 10, cnnSmall, false},
		// The benchmark's networks train one at a time (no member mode yet).
		{"logreg-deepobs", "logistic regression 784 → 10 with zero initial weights (DeepOBS's mnist_logreg)", 10, logRegDeepOBS, false},
		{"mlp-deepobs", "784-1000-500-100-10 MLP with ReLU, truncated-normal weights σ=0.03 (DeepOBS's mnist_mlp)", 10, mlpDeepOBS, false},
		{"mlp-algoperf", "standardised pixels → Dense 128 sigmoid → Dense 10, LeCun-normal weights (AlgoPerf's MNIST workload)", 10, mlpAlgoPerf, false},
		{"cnn-2c2d", "conv 5×5×32 ReLU → max-pool 2 → conv 5×5×64 ReLU → max-pool 2 → Dense 1024 ReLU → Dense 10 (DeepOBS's 2c2d)", 10, cnn2c2d, false},
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Name < ms[j].Name })
	return ms
}

// ModelNames returns the names of Models.
func ModelNames() []string {
	var names []string
	for _, m := range Models() {
		names = append(names, m.Name)
	}
	return names
}

// Get returns the model with the given name, or an error listing the valid names.
func Get(name string) (Model, error) {
	for _, m := range Models() {
		if m.Name == name {
			return m, nil
		}
	}
	return Model{}, fmt.Errorf("unknown model %q (valid: %s)", name, strings.Join(ModelNames(), ", "))
}

func mlpSmall(scope *model.Scope, x *Node, opts Options) *Node {
	h := Relu(Dense(scope, "dense1", x, 128, 0, opts, false))
	h = Relu(Dense(scope, "dense2", h, 64, 0, opts, true))
	return Dense(scope, "out", h, 10, 0, opts, true)
}

func logReg(scope *model.Scope, x *Node, opts Options) *Node {
	return Dense(scope, "out", x, 10, 0, opts, false)
}

func mlpBN(outputs int) func(scope *model.Scope, x *Node, opts Options) *Node {
	return func(scope *model.Scope, x *Node, opts Options) *Node {
		h := Relu(Dense(scope, "dense1", x, 300, 1e-4, opts, false))
		h = BatchNormWith(scope, "bn", h, 0.99, 1e-3, opts)
		h = Relu(Dense(scope, "dense2", h, 100, 0, opts, true))
		if !opts.NoDropout {
			h = Dropout(scope.In("dropout"), h, 0.2, opts)
		}
		return Dense(scope, "out", h, outputs, 0, opts, true)
	}
}

// imageSide is the side of the square images the models take flattened (MNIST's
// 28×28): cnn-small reshapes its inputs back to images.
const imageSide = 28

// InputSize is the width of every model's input: a flattened 28×28 image.
const InputSize = imageSide * imageSide

func cnnSmall(scope *model.Scope, x *Node, opts Options) *Node {
	if opts.Members > 0 {
		panic(fmt.Errorf("models: cnn-small has no population form (Options.Members)"))
	}
	batch := x.Shape().Dimensions[0]
	h := Reshape(x, batch, imageSide, imageSide, 1)
	h = Relu(layers.Convolution(scope.In("conv1").WithInitializer(glorotConv(scope, 5*5*1, 5*5*8)), h).
		Channels(8).KernelSize(5).PadSame().Done())
	h = MaxPool2(h)
	h = Relu(layers.Convolution(scope.In("conv2").WithInitializer(glorotConv(scope, 5*5*8, 5*5*16)), h).
		Channels(16).KernelSize(5).PadSame().Done())
	h = MaxPool2(h)
	h = Reshape(h, batch, -1)
	return Dense(scope, "out", h, 10, 0, opts, true)
}

// Relu is max(x, 0) with the derivative PyTorch and Keras use: 1 where x > 0
// and 0 elsewhere, at 0 included. (GoMLX's activation.Relu passes the gradient
// through at x = 0, which changes the first steps of a network whose zero
// biases meet zero inputs, such as a convolution over an image's blank border.)
func Relu(x *Node) *Node {
	return Where(GreaterThan(x, ZerosLike(x)), x, ZerosLike(x))
}

// MaxPool2 is 2×2 max pooling with stride 2 of h [batch, height, width,
// channels] (height and width even): each output is the largest of a 2×2
// block, and its gradient goes to the block's first largest element in
// row-major order, as PyTorch's max_pool2d sends it. (GoMLX's ReduceMax sends
// the gradient to every tied element: after a ReLU, blocks of equal positive
// values occur in MNIST's saturated strokes, 32 of 50,176 blocks in the first
// batch of the step-conformance test, and they changed conv1's gradient norm
// by 0.3% and its bias's by 4% at step 1. GoMLX's MaxPool differentiates through an operation the
// pure-Go backend lacks, SelectAndScatterMax.) It is written as a transpose
// that puts each block's four elements on the last axis, an ArgMax (GoMLX's
// ArgMax returns the first index of the maximum) and a sum of the selected
// element.
func MaxPool2(h *Node) *Node {
	d := h.Shape().Dimensions
	if h.Rank() != 4 || d[1]%2 != 0 || d[2]%2 != 0 {
		panic(fmt.Sprintf("models.MaxPool2: want [batch, even height, even width, channels], got %s", h.Shape()))
	}
	b, rows, cols, c := d[0], d[1]/2, d[2]/2, d[3]
	blocks := Reshape(h, b, rows, 2, cols, 2, c)
	blocks = Reshape(TransposeAllDims(blocks, 0, 1, 3, 5, 2, 4), b, rows, cols, c, 4)
	first := Equal(Iota(h.Graph(), shapes.Make(dtypes.Int32, b, rows, cols, c, 4), 4),
		ExpandAxes(ConvertDType(ArgMax(StopGradient(blocks), -1), dtypes.Int32), -1))
	return ReduceSum(Where(first, blocks, ZerosLike(blocks)), -1)
}

// glorotConv is Keras' Glorot-uniform for a convolution kernel (fan-in and
// fan-out include the receptive field); biases (rank ≤ 1) start at zero.
func glorotConv(scope *model.Scope, fanIn, fanOut int) model.VariableInitializer {
	limit := math.Sqrt(6 / float64(fanIn+fanOut))
	u := uniformInit(scope, limit)
	return func(g *Graph, shape shapes.Shape) *Node {
		if shape.Rank() <= 1 {
			return Zeros(g, shape)
		}
		return u(g, shape)
	}
}

// BatchNorm normalises x [batch, features] as Keras' BatchNormalization does:
//
//	training:   y = γ·(x − μ_B)/√(σ²_B + ε) + β,  with the batch mean μ_B and (biased) variance σ²_B
//	            μ ← m·μ + (1−m)·μ_B,  σ² ← m·σ² + (1−m)·σ²_B
//	inference:  y = γ·(x − μ)/√(σ² + ε) + β
//
// γ starts at 1, β at 0, the moving mean μ at 0 and the moving variance σ² at 1;
// Keras' defaults are momentum m = 0.99 and ε = 1e-3.
func BatchNorm(scope *model.Scope, name string, x *Node, momentum, epsilon float64) *Node {
	return BatchNormWith(scope, name, x, momentum, epsilon, Options{})
}

// BatchNormWith is BatchNorm built with opts: with opts.Members = K > 0, x is
// [K, batch, features], every variable is [K, features], and each member is
// normalised with the statistics of its own batch.
func BatchNormWith(scope *model.Scope, name string, x *Node, momentum, epsilon float64, opts Options) *Node {
	scope = scope.In("%s", name)
	g := x.Graph()
	batchAxis := 0
	dims := []int{x.Shape().Dimensions[x.Rank()-1]}
	if opts.Members > 0 {
		if x.Rank() != 3 || x.Shape().Dimensions[0] != opts.Members {
			panic(fmt.Errorf("models.BatchNorm: want x [%d, batch, features] for %d members, got %s", opts.Members, opts.Members, x.Shape()))
		}
		batchAxis = 1
		dims = []int{opts.Members, dims[0]}
	}
	shape := shapes.Make(x.DType(), dims...)
	gamma := scope.WithInitializer(onesInit).VariableWithShape("gamma", shape).NodeValue(g)
	beta := scope.WithInitializer(zerosInit).VariableWithShape("beta", shape).NodeValue(g)
	meanVar := scope.WithInitializer(zerosInit).VariableWithShape("moving_mean", shape).SetTrainable(false)
	varVar := scope.WithInitializer(onesInit).VariableWithShape("moving_variance", shape).SetTrainable(false)
	var mean, variance *Node
	if scope.IsTraining(g) {
		mean = ReduceMean(x, batchAxis)
		variance = ReduceMean(Square(Sub(x, ExpandAxes(mean, batchAxis))), batchAxis)
		m := Scalar(g, x.DType(), momentum)
		one := Scalar(g, x.DType(), 1)
		meanVar.SetNodeValue(Add(Mul(m, meanVar.NodeValue(g)), Mul(Sub(one, m), StopGradient(mean))))
		varVar.SetNodeValue(Add(Mul(m, varVar.NodeValue(g)), Mul(Sub(one, m), StopGradient(variance))))
	} else {
		mean, variance = meanVar.NodeValue(g), varVar.NodeValue(g)
	}
	scale := Div(gamma, Sqrt(AddScalar(variance, epsilon)))
	return Add(Mul(Sub(x, ExpandAxes(mean, batchAxis)), ExpandAxes(scale, batchAxis)), ExpandAxes(beta, batchAxis))
}
