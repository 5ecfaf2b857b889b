package models

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like math
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/model"
)

// MemberRNGPath is the store variable holding one random-number-generator
// state per member of a population ([K, 3] uint64, see SeedMembers): the
// initializers and dropout masks of a member-mode model draw from it.
const MemberRNGPath = "/#memberRNGStates"

// memberRegularizationKey is the graph parameter under which member-mode
// layers sum their penalties ([K]).
const memberRegularizationKey = "/optlab/models/member_regularization"

// SeedMembers prepares store for a member-mode model (Options.Members =
// len(seeds)): member k's random numbers — initial weights, dropout masks —
// come from the state that seed k gives GoMLX's generator, and are drawn in
// the order a model of its own draws them, so member k starts from the
// weights (and sees the masks) of a model built alone in a store seeded with
// seeds[k] (model.Store.SetRNGStateFromSeed). Call it before building the
// model's first graph.
func SeedMembers(store *model.Store, seeds []int64) error {
	if len(seeds) == 0 {
		return fmt.Errorf("models: SeedMembers: no seeds")
	}
	n := RNGStateShape.Size()
	flat := make([]uint64, 0, len(seeds)*n)
	for _, seed := range seeds {
		st, err := RNGStateFromSeed(seed)
		if err != nil {
			return fmt.Errorf("models: seeding member %d: %w", len(flat)/n, err)
		}
		flat = append(flat, tensors.MustCopyFlatData[uint64](st)...)
	}
	v := store.GetVariable(MemberRNGPath)
	value := tensors.FromFlatDataAndDimensions(flat, len(seeds), n)
	if v == nil {
		_, err := store.CreateVariable(MemberRNGPath, value)
		if err != nil {
			return fmt.Errorf("models: SeedMembers: %w", err)
		}
		store.GetVariable(MemberRNGPath).SetTrainable(false)
		return nil
	}
	return v.SetValue(value)
}

// memberUniform draws each member's values of U(0, 1) of shape perMember
// from its own generator state, updating the states: the [K, perMember...]
// result's row k is what a model of its own would draw.
func memberUniform(scope *model.Scope, g *Graph, k int, perMember shapes.Shape) *Node {
	v := scope.Store().GetVariable(MemberRNGPath)
	if v == nil {
		panic(fmt.Errorf("models: a model with Options.Members = %d needs models.SeedMembers before its first graph", k))
	}
	if d := v.Shape().Dimensions; len(d) != 2 || d[0] != k {
		panic(fmt.Errorf("models: %s holds %s, not the states of %d members", MemberRNGPath, v.Shape(), k))
	}
	states := v.NodeValue(g)
	values := make([]*Node, k)
	next := make([]*Node, k)
	for i := range k {
		st, u := RandomUniform(Reshape(Slice(states, AxisElem(i)), RNGStateShape.Dimensions...), perMember)
		next[i] = ExpandAxes(st, 0)
		values[i] = ExpandAxes(u, 0)
	}
	v.SetNodeValue(Concatenate(next, 0))
	return Concatenate(values, 0)
}

// memberUniformInit is uniformInit for a [K, ...] variable: member k draws
// U(−limit, limit) from its own generator.
func memberUniformInit(scope *model.Scope, k int, limit float64) model.VariableInitializer {
	return func(g *Graph, shape shapes.Shape) *Node {
		per := shapes.Make(shape.DType, shape.Dimensions[1:]...)
		return AddScalar(MulScalar(memberUniform(scope, g, k, per), 2*limit), -limit)
	}
}

// addMemberRegularization adds a [K] penalty (one per member) to the graph's
// member regularization.
func addMemberRegularization(penalty *Node) {
	g := penalty.Graph()
	if old, ok := model.GetGraphParam(g, memberRegularizationKey); ok {
		penalty = Add(old.(*Node), penalty)
	}
	model.SetGraphParam(g, memberRegularizationKey, penalty)
}

// MemberRegularization returns the sum of the penalties a member-mode model
// added while building g, one per member ([K]), or nil when it added none. It
// is the member form of GoMLX's train.GetRegularizationLoss, which holds only
// scalars.
func MemberRegularization(g *Graph) *Node {
	v, ok := model.GetGraphParam(g, memberRegularizationKey)
	if !ok {
		return nil
	}
	return v.(*Node)
}

// MembersMatMul returns each member's product x_k·w_k for w [K, in, out] and
// x [K, batch, in] (member k's examples) or [batch, in] (the same examples for
// every member), as [K, batch, out]: one batched product (a DotGeneral with
// the member axis as batch axis), or for shared examples one product with w's
// member and output axes as free axes. With fast set and x per member, the
// gradients are supplied as FastMatMul supplies them, batched:
//
//	∂L/∂w_k = x_kᵀ·G_k        ∂L/∂x_k = G_k·w_kᵀ
//
// the first after a transpose of x, in the plain [m,k]·[k,n] layout, the
// second in the [m,k]·[n,k] layout, which the pure-Go backend's kernels take
// as they are.
func MembersMatMul(x, w *Node, fast, needInputGrad bool) *Node {
	if w.Rank() != 3 {
		panic(fmt.Sprintf("models.MembersMatMul: want w [members, in, out], got %s", w.Shape()))
	}
	k, in := w.Shape().Dimensions[0], w.Shape().Dimensions[1]
	switch {
	case x.Rank() == 2 && x.Shape().Dimensions[1] == in:
		// [batch, in] × [K, in, out] → [batch, K, out] → [K, batch, out].
		return TransposeAllAxes(DotGeneral(x, []int{1}, nil, w, []int{1}, nil), 1, 0, 2)
	case x.Rank() == 3 && x.Shape().Dimensions[0] == k && x.Shape().Dimensions[2] == in:
	default:
		panic(fmt.Sprintf("models.MembersMatMul: want x [%d, batch, %d] or [batch, %d] for w %s, got %s", k, in, in, w.Shape(), x.Shape()))
	}
	if !fast {
		return batchedProduct(x, w)
	}
	return customGradProduct(x, w, batchedProduct, batchedWeightGrad, batchedInputGrad, needInputGrad)
}

// batchedProduct is x_k·w_k for x [K, batch, in] and w [K, in, out].
func batchedProduct(x, w *Node) *Node {
	return DotGeneral(x, []int{2}, []int{0}, w, []int{1}, []int{0})
}

// batchedWeightGrad is x_kᵀ·G_k for x [K, batch, in] and G [K, batch, out].
func batchedWeightGrad(x, g *Node) *Node {
	return DotGeneral(TransposeAllAxes(x, 0, 2, 1), []int{2}, []int{0}, g, []int{1}, []int{0})
}

// batchedInputGrad is G_k·w_kᵀ for G [K, batch, out] and w [K, in, out].
func batchedInputGrad(g, w *Node) *Node {
	return DotGeneral(g, []int{2}, []int{0}, w, []int{2}, []int{0})
}

// denseMembers is Dense for a population (opts.Members > 0).
func denseMembers(scope *model.Scope, name string, x *Node, out int, l2 float64, opts Options, needInputGrad bool) *Node {
	scope = scope.In("%s", name)
	g := x.Graph()
	k := opts.Members
	in := x.Shape().Dimensions[x.Rank()-1]
	limit := math.Sqrt(6 / float64(in+out))
	wVar := scope.WithInitializer(memberUniformInit(scope, k, limit)).VariableWithShape("weights", shapes.Make(x.DType(), k, in, out))
	bVar := scope.WithInitializer(zerosInit).VariableWithShape("biases", shapes.Make(x.DType(), k, out))
	w := wVar.NodeValue(g)
	y := Add(MembersMatMul(x, w, opts.FastDense, needInputGrad), ExpandAxes(bVar.NodeValue(g), 1))
	if l2 > 0 {
		addMemberRegularization(MulScalar(ReduceSum(Square(w), 1, 2), l2))
	}
	return y
}

// Dropout zeroes each element of x with probability rate and scales the
// others by 1/(1 − rate) while training (GoMLX's layers.DropoutStatic); in
// inference it returns x. With opts.Members > 0, x is [K, batch, ...] and
// member k's mask comes from its own generator (see SeedMembers), the mask a
// model of its own would draw.
func Dropout(scope *model.Scope, x *Node, rate float64, opts Options) *Node {
	if opts.Members == 0 {
		return layers.DropoutStatic(scope, x, rate)
	}
	g := x.Graph()
	if rate <= 0 || !layers.IsDropoutActive(scope, g) {
		return x
	}
	r := Scalar(g, dtypes.Float32, rate)
	rnd := memberUniform(scope, g, opts.Members, shapes.Make(dtypes.Float32, x.Shape().Dimensions[1:]...))
	kept := Where(LessOrEqual(rnd, BroadcastToDims(r, rnd.Shape().Dimensions...)), ZerosLike(x), x)
	return Div(kept, ConvertDType(OneMinus(r), x.DType()))
}
