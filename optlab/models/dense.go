package models

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/train"
)

// Options configure how a model's graph is built. The zero value builds GoMLX's
// own matrix-product gradients; DefaultOptions turns the fast path on.
type Options struct {
	// FastDense routes every dense layer's backward pass through two explicit
	// matrix products in the plain [m,k]·[k,n] form (see FastMatMul). GoMLX
	// differentiates a product with products that contract the batch axis of
	// both operands (xᵀ·G) or the output axis of both (G·wᵀ); the pure-Go
	// backend's kernels for those forms ran the 784-128-64-10 MLP's backward
	// pass about six times slower than the plain form after an explicit
	// transpose (docs/performance.md).
	FastDense bool
	// NoDropout builds the models without their dropout layers (mlp-bn's
	// dropout 0.2 becomes the identity), as the step-conformance test against
	// PyTorch needs. It changes nothing in inference, where dropout is off
	// anyway.
	NoDropout bool
	// Members, when > 0, builds the model for a population of that many
	// members trained in lockstep (see the package documentation): inputs
	// [Members, batch, features] (or [batch, features], the same examples for
	// every member), every variable stacked along a leading member axis, and
	// outputs [Members, batch, classes]. Only models whose Model.Members is
	// set accept it.
	Members int
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
// each computed as a transpose followed by a plain matrix product. The forward
// product is taken on gradient-stopped copies of x and w; a zero-valued "tap"
// added to the output depends on x and w through identity nodes with custom
// gradients. GoMLX's reverse-mode pass visits nodes in reverse creation order,
// so the tap (created after the identities) receives G first and stores it,
// and the identities then use it. Set needInputGrad to false for a first
// layer, whose input needs no gradient, to skip G·wᵀ.
func FastMatMul(x, w *Node, fast, needInputGrad bool) *Node {
	if x.Rank() != 2 || w.Rank() != 2 || x.Shape().Dimensions[1] != w.Shape().Dimensions[0] {
		panic(fmt.Sprintf("models.FastMatMul: want x [batch, in] and w [in, out], got %s and %s", x.Shape(), w.Shape()))
	}
	if !fast {
		return DotProduct(x, w)
	}
	return customGradProduct(x, w, DotProduct, weightGrad, inputGrad, needInputGrad)
}

// customGradProduct returns forward(x, w), a product linear in each operand,
// whose gradients are wGrad(x, G) for w and, when needInputGrad, xGrad(G, w)
// for x, G being the output's gradient (see FastMatMul for how).
func customGradProduct(x, w *Node, forward func(x, w *Node) *Node, wGrad, xGrad func(a, b *Node) *Node, needInputGrad bool) *Node {
	var upstream *Node // ∂L/∂y, captured by the tap during back-propagation
	need := func() *Node {
		if upstream == nil {
			panic("models: custom gradient requested before the output gradient was captured")
		}
		return upstream
	}
	wIn := IdentityWithCustomGradient(w, func(_, _ *Node) *Node {
		return wGrad(x, need())
	})
	// The tap depends on wIn (and xIn) through a single gathered element times
	// zero: reverse-mode reaches the identities, while the forward pass reads one
	// value of each instead of reducing the whole matrix. Gather's own gradient
	// (a scatter into a zero matrix) is built but never used, so the backend
	// never executes it.
	origin := func(n *Node) *Node { return Const(n.Graph(), make([]int32, n.Rank())) }
	zero := MulScalar(Gather(wIn, origin(wIn)), 0)
	if needInputGrad {
		xIn := IdentityWithCustomGradient(x, func(_, _ *Node) *Node {
			return xGrad(need(), w)
		})
		zero = Add(zero, MulScalar(Gather(xIn, origin(xIn)), 0))
	}
	y := forward(StopGradient(x), StopGradient(w))
	tap := IdentityWithCustomGradient(BroadcastToDims(zero, y.Shape().Dimensions...), func(_, v *Node) *Node {
		upstream = v
		return v
	})
	return Add(y, tap)
}

// weightGrad returns ∂L/∂w = xᵀ·G for x [batch, in] and G [batch, out].
func weightGrad(x, g *Node) *Node { return DotProduct(Transpose(x, 0, 1), g) }

// inputGrad returns ∂L/∂x = G·wᵀ for G [batch, out] and w [in, out].
func inputGrad(g, w *Node) *Node { return DotProduct(g, Transpose(w, 0, 1)) }

// Dense is a fully connected layer y = x·W + b created in the scope name of
// ctx: W has shape [in, out] and Glorot-uniform initial values
// (U(−√(6/(in+out)), +√(6/(in+out))), as Keras' default), b starts at zero.
// l2 > 0 adds l2·ΣW² to the loss (Keras' kernel_regularizer=l2(l2)).
//
// With opts.Members = K > 0 (a population), W is [K, in, out] and b [K, out],
// member k's drawn as a model of its own would draw them (see SeedMembers), x
// is [K, batch, in] or [batch, in] (the same examples for every member) and
// y is [K, batch, out]; the penalty is each member's own (MemberRegularization).
func Dense(scope *model.Scope, name string, x *Node, out int, l2 float64, opts Options, needInputGrad bool) *Node {
	if opts.Members > 0 {
		return denseMembers(scope, name, x, out, l2, opts, needInputGrad)
	}
	in := x.Shape().Dimensions[x.Rank()-1]
	limit := math.Sqrt(6 / float64(in+out))
	y, w := dense(scope, name, x, out, uniformInit(scope, limit), zerosInit, opts, needInputGrad)
	if l2 > 0 {
		train.AddRegularizationLoss(MulScalar(ReduceAllSum(Square(w)), l2))
	}
	return y
}

// denseInit is Dense without regularisation, with the weights' and biases'
// initial values drawn by wInit and bInit.
func denseInit(scope *model.Scope, name string, x *Node, out int, wInit, bInit model.VariableInitializer, opts Options, needInputGrad bool) *Node {
	y, _ := dense(scope, name, x, out, wInit, bInit, opts, needInputGrad)
	return y
}

// dense creates the layer's variables in the scope name and returns x·W + b
// and W.
func dense(scope *model.Scope, name string, x *Node, out int, wInit, bInit model.VariableInitializer, opts Options, needInputGrad bool) (y, w *Node) {
	scope = scope.In("%s", name)
	g := x.Graph()
	in := x.Shape().Dimensions[x.Rank()-1]
	wVar := scope.WithInitializer(wInit).VariableWithShape("weights", shapes.Make(x.DType(), in, out))
	bVar := scope.WithInitializer(bInit).VariableWithShape("biases", shapes.Make(x.DType(), out))
	w = wVar.NodeValue(g)
	return Add(FastMatMul(x, w, opts.FastDense, needInputGrad), ExpandAxes(bVar.NodeValue(g), 0)), w
}

// uniformInit draws U(−limit, limit) from the context's random number generator.
func uniformInit(scope *model.Scope, limit float64) model.VariableInitializer {
	return func(g *Graph, shape shapes.Shape) *Node {
		return AddScalar(MulScalar(scope.RandomUniform(g, shape), 2*limit), -limit)
	}
}

func zerosInit(g *Graph, shape shapes.Shape) *Node { return Zeros(g, shape) }

func onesInit(g *Graph, shape shapes.Shape) *Node { return Ones(g, shape) }
