package models

import (
	"fmt"
	"math"
	"sort"
	"strings"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/layers"
	"github.com/gomlx/gomlx/pkg/ml/layers/activations"
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
	Build   func(ctx *context.Context, x *Node, opts Options) *Node
}

// Models returns the models optlab knows, sorted by name.
func Models() []Model {
	ms := []Model{
		{"mlp-small", "784-128-64-10 MLP with ReLU (the walkthrough's answer B)", 10, mlpSmall},
		{"mlp-bn", "Dense 300 ReLU (L2 1e-4) → batch norm → Dense 100 ReLU → dropout 0.2 → Dense 10 (answer A, corrected output)", 10, mlpBN(10)},
		{"mlp-bn100", "answer A's model exactly as written, with its 100-unit output layer for 10 classes", 100, mlpBN(100)},
		{"logreg", "multinomial logistic regression: one dense layer 784 → 10", 10, logReg},
		{"cnn-small", "conv 5×5×8 ReLU → max-pool 2 → conv 5×5×16 ReLU → max-pool 2 → Dense 10", 10, cnnSmall},
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

func mlpSmall(ctx *context.Context, x *Node, opts Options) *Node {
	h := activations.Relu(Dense(ctx, "dense1", x, 128, 0, opts, false))
	h = activations.Relu(Dense(ctx, "dense2", h, 64, 0, opts, true))
	return Dense(ctx, "out", h, 10, 0, opts, true)
}

func logReg(ctx *context.Context, x *Node, opts Options) *Node {
	return Dense(ctx, "out", x, 10, 0, opts, false)
}

func mlpBN(outputs int) func(ctx *context.Context, x *Node, opts Options) *Node {
	return func(ctx *context.Context, x *Node, opts Options) *Node {
		h := activations.Relu(Dense(ctx, "dense1", x, 300, 1e-4, opts, false))
		h = BatchNorm(ctx, "bn", h, 0.99, 1e-3)
		h = activations.Relu(Dense(ctx, "dense2", h, 100, 0, opts, true))
		h = layers.DropoutStatic(ctx.In("dropout"), h, 0.2)
		return Dense(ctx, "out", h, outputs, 0, opts, true)
	}
}

func cnnSmall(ctx *context.Context, x *Node, opts Options) *Node {
	batch := x.Shape().Dimensions[0]
	h := Reshape(x, batch, MNISTRows, MNISTCols, 1)
	h = activations.Relu(layers.Convolution(ctx.In("conv1").WithInitializer(glorotConv(ctx, 5*5*1, 5*5*8)), h).
		Channels(8).KernelSize(5).PadSame().Done())
	h = MaxPool(h).Window(2).Done()
	h = activations.Relu(layers.Convolution(ctx.In("conv2").WithInitializer(glorotConv(ctx, 5*5*8, 5*5*16)), h).
		Channels(16).KernelSize(5).PadSame().Done())
	h = MaxPool(h).Window(2).Done()
	h = Reshape(h, batch, -1)
	return Dense(ctx, "out", h, 10, 0, opts, true)
}

// glorotConv is Keras' Glorot-uniform for a convolution kernel (fan-in and
// fan-out include the receptive field); biases (rank ≤ 1) start at zero.
func glorotConv(ctx *context.Context, fanIn, fanOut int) context.VariableInitializer {
	limit := math.Sqrt(6 / float64(fanIn+fanOut))
	u := uniformInit(ctx, limit)
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
func BatchNorm(ctx *context.Context, name string, x *Node, momentum, epsilon float64) *Node {
	ctx = ctx.In(name)
	g := x.Graph()
	features := x.Shape().Dimensions[1]
	shape := shapes.Make(x.DType(), features)
	gamma := ctx.WithInitializer(onesInit).VariableWithShape("gamma", shape).ValueGraph(g)
	beta := ctx.WithInitializer(zerosInit).VariableWithShape("beta", shape).ValueGraph(g)
	meanVar := ctx.WithInitializer(zerosInit).VariableWithShape("moving_mean", shape).SetTrainable(false)
	varVar := ctx.WithInitializer(onesInit).VariableWithShape("moving_variance", shape).SetTrainable(false)
	var mean, variance *Node
	if ctx.IsTraining(g) {
		mean = ReduceMean(x, 0)
		variance = ReduceMean(Square(Sub(x, ExpandAxes(mean, 0))), 0)
		m := Scalar(g, x.DType(), momentum)
		one := Scalar(g, x.DType(), 1)
		meanVar.SetValueGraph(Add(Mul(m, meanVar.ValueGraph(g)), Mul(Sub(one, m), StopGradient(mean))))
		varVar.SetValueGraph(Add(Mul(m, varVar.ValueGraph(g)), Mul(Sub(one, m), StopGradient(variance))))
	} else {
		mean, variance = meanVar.ValueGraph(g), varVar.ValueGraph(g)
	}
	scale := Div(gamma, Sqrt(AddScalar(variance, epsilon)))
	return Add(Mul(Sub(x, ExpandAxes(mean, 0)), ExpandAxes(scale, 0)), ExpandAxes(beta, 0))
}
