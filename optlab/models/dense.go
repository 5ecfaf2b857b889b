package models

import (
	"fmt"
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/pkg/core/shapes"
	"github.com/gomlx/gomlx/pkg/ml/context"
	"github.com/gomlx/gomlx/pkg/ml/train"
)

// Options configure how a model's graph is built. The zero value builds GoMLX's
// own matrix-product gradients; DefaultOptions turns the fast path on.
type Options struct {
	// FastDense routes every dense layer's backward pass through two explicit
	// matrix products (see FastMatMul). GoMLX's generic gradient of a matrix
	// product broadcasts a multiply over [batch × in × out] before reducing it;
	// XLA rewrites that into a matrix product, the pure-Go backend does not, so on
	// that backend the fast path is about an order of magnitude faster.
	FastDense bool
}

// DefaultOptions returns the options every model uses unless told otherwise.
func DefaultOptions() Options { return Options{FastDense: true} }

// FastMatMul returns x·w for x of shape [batch, in] and w of shape [in, out].
//
// With fast set, the gradients are supplied explicitly: for an upstream gradient
// G = ∂L/∂y,
//
//	∂L/∂w = xᵀ·G        ∂L/∂x = G·wᵀ
//
// computed as two matrix products. Products with at least splitMinElements
// weights are computed as two halves so that the pure-Go backend can run them
// on two cores at once; on that backend the halves give the same bits as the
// whole products. The forward product is taken on
// gradient-stopped copies of x and w; a zero-valued "tap" added to the output
// depends on x and w through identity nodes with custom gradients. GoMLX's
// reverse-mode pass visits nodes in reverse creation order, so the tap (created
// after the identities) receives G first and stores it, and the identities then
// use it. Set needInputGrad to false for a first layer, whose input needs no
// gradient, to skip G·wᵀ.
func FastMatMul(x, w *Node, fast, needInputGrad bool) *Node {
	if x.Rank() != 2 || w.Rank() != 2 || x.Shape().Dimensions[1] != w.Shape().Dimensions[0] {
		panic(fmt.Sprintf("models.FastMatMul: want x [batch, in] and w [in, out], got %s and %s", x.Shape(), w.Shape()))
	}
	if !fast {
		return Dot(x, w)
	}
	var upstream *Node // ∂L/∂y, captured by the tap during back-propagation
	need := func() *Node {
		if upstream == nil {
			panic("models.FastMatMul: custom gradient requested before the output gradient was captured")
		}
		return upstream
	}
	// ∂L/∂w = xᵀ·G: contract the batch axis of x with the batch axis of G.
	wIn := IdentityWithCustomGradient(w, func(_, _ *Node) *Node {
		return weightGrad(x, need())
	})
	// The tap depends on wIn (and xIn) through a single gathered element times
	// zero: reverse-mode reaches the identities, while the forward pass reads one
	// value of each instead of reducing the whole matrix (a ReduceAllSum of w
	// cost a full pass over the weights every step). Gather's own gradient (a
	// scatter into a zero matrix) is built but never used, so the backend never
	// executes it; Slice would be cheaper still, but its gradient needs Pad,
	// which the pure-Go backend lacks.
	origin := Const(x.Graph(), []int32{0, 0})
	zero := MulScalar(Gather(wIn, origin), 0)
	if needInputGrad {
		// ∂L/∂x = G·wᵀ: contract the output axis of G with the output axis of w.
		xIn := IdentityWithCustomGradient(x, func(_, _ *Node) *Node {
			return inputGrad(need(), w)
		})
		zero = Add(zero, MulScalar(Gather(xIn, origin), 0))
	}
	batch, out := x.Shape().Dimensions[0], w.Shape().Dimensions[1]
	tap := IdentityWithCustomGradient(BroadcastToDims(zero, batch, out), func(_, v *Node) *Node {
		upstream = v
		return v
	})
	return Add(forward(StopGradient(x), StopGradient(w)), tap)
}

// splitMinElements is the weight-matrix size from which FastMatMul splits each
// product into two independent halves. The pure-Go backend runs independent
// operations concurrently, and two half products keep two cores busier than
// one whole product split internally: forward and backward of the
// 784-128-64-10 MLP at batch 32 took 4.3–5.1 ms instead of 4.9–5.9 ms on 2
// cores (docs/performance.md). Smaller products are left whole: they are a
// small share of the step, and each half costs extra slicing and copying.
const splitMinElements = 1 << 15

// forward returns x·w for x [batch, in] and w [in, out]; for a large w, as
// [x·w[:, :out/2] | x·w[:, out/2:]]. Each output element is computed from the
// same values in the same order either way, so the two forms agree to the bit.
func forward(x, w *Node) *Node {
	return halves(w.Shape().Size(), w.Shape().Dimensions[1], 1, func(lo, hi int) *Node {
		return Dot(x, sliceAxis(w, 1, lo, hi))
	})
}

// weightGrad returns ∂L/∂w = xᵀ·G for x [batch, in] and G [batch, out]; for a
// large product, as the rows for the first and the second half of the inputs
// stacked (x[:, :in/2]ᵀ·G over x[:, in/2:]ᵀ·G), equal to the bit.
func weightGrad(x, g *Node) *Node {
	in, out := x.Shape().Dimensions[1], g.Shape().Dimensions[1]
	return halves(in*out, in, 0, func(lo, hi int) *Node {
		return DotGeneral(sliceAxis(x, 1, lo, hi), []int{0}, nil, g, []int{0}, nil)
	})
}

// inputGrad returns ∂L/∂x = G·wᵀ for G [batch, out] and w [in, out]; for a
// large w, as [G·w[:in/2]ᵀ | G·w[in/2:]ᵀ], equal to the bit.
func inputGrad(g, w *Node) *Node {
	return halves(w.Shape().Size(), w.Shape().Dimensions[0], 1, func(lo, hi int) *Node {
		return DotGeneral(g, []int{1}, nil, sliceAxis(w, 0, lo, hi), []int{1}, nil)
	})
}

// halves returns product(0, n) for a weight matrix of fewer than
// splitMinElements values, else product(0, n/2) and product(n/2, n)
// concatenated along axis: the split that lets the pure-Go backend run the two
// halves on two cores.
func halves(weights, n, axis int, product func(lo, hi int) *Node) *Node {
	if weights < splitMinElements || n < 2 {
		return product(0, n)
	}
	return Concatenate([]*Node{product(0, n/2), product(n/2, n)}, axis)
}

// sliceAxis returns v[lo:hi] along axis, or v itself for the whole axis (so an
// unsplit product reads its operand without a copy).
func sliceAxis(v *Node, axis, lo, hi int) *Node {
	if lo == 0 && hi == v.Shape().Dimensions[axis] {
		return v
	}
	return SliceAxis(v, axis, AxisRange(lo, hi))
}

// Dense is a fully connected layer y = x·W + b created in the scope name of
// ctx: W has shape [in, out] and Glorot-uniform initial values
// (U(−√(6/(in+out)), +√(6/(in+out))), as Keras' default), b starts at zero.
// l2 > 0 adds l2·ΣW² to the loss (Keras' kernel_regularizer=l2(l2)).
func Dense(ctx *context.Context, name string, x *Node, out int, l2 float64, opts Options, needInputGrad bool) *Node {
	ctx = ctx.In(name)
	g := x.Graph()
	in := x.Shape().Dimensions[x.Rank()-1]
	limit := math.Sqrt(6 / float64(in+out))
	wVar := ctx.WithInitializer(uniformInit(ctx, limit)).VariableWithShape("weights", shapes.Make(x.DType(), in, out))
	bVar := ctx.WithInitializer(zerosInit).VariableWithShape("biases", shapes.Make(x.DType(), out))
	w := wVar.ValueGraph(g)
	y := Add(FastMatMul(x, w, opts.FastDense, needInputGrad), ExpandAxes(bVar.ValueGraph(g), 0))
	if l2 > 0 {
		train.AddLoss(ctx, MulScalar(ReduceAllSum(Square(w)), l2))
	}
	return y
}

// uniformInit draws U(−limit, limit) from the context's random number generator.
func uniformInit(ctx *context.Context, limit float64) context.VariableInitializer {
	return func(g *Graph, shape shapes.Shape) *Node {
		return AddScalar(MulScalar(ctx.RandomUniform(g, shape), 2*limit), -limit)
	}
}

func zerosInit(g *Graph, shape shapes.Shape) *Node { return Zeros(g, shape) }

func onesInit(g *Graph, shape shapes.Shape) *Node { return Ones(g, shape) }
