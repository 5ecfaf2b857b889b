package models

import (
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
)

// BenchmarkMembersStep compares ways of computing one training step's forward
// and backward pass of K = 16 copies of the 784-128-64-10 MLP at batch 32 on
// the pure-Go backend, and reports member-samples/s (16·32 per step):
//
//   - batched: member mode (Options.Members), one DotGeneral with the member
//     axis as batch axis per layer, with MembersMatMul's explicit backward;
//   - batched-gomlx: the same without FastDense (GoMLX differentiates the
//     batched DotGeneral itself);
//   - shared-input: member mode fed one [32, 784] batch for all members (an
//     lr sweep with one seed sees the same batches), so the first layer is one
//     product over [784] × [16·128];
//   - unrolled: 16 ordinary models in one graph, each its own plain products
//     (FastMatMul), on its slice of the input;
//   - alone: one ordinary model, 16 calls per step (what 16 runs one by one
//     cost, graph-call overhead included).
//
// Run it on a quiet machine:
//
//	GOEXPERIMENT=simd go test ./optlab/models -run '^$' -bench MembersStep -benchtime 200x
func BenchmarkMembersStep(b *testing.B) {
	const K, batch = 16, 32
	b.Logf("backend %s, %d CPUs", pureGoConfig, runtime.NumCPU())
	backend, err := compute.NewWithConfig(pureGoConfig)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(11, 12))
	xK := randTensor(r, K, batch, imageSide*imageSide)
	xShared := randTensor(r, batch, imageSide*imageSide)
	x1 := randTensor(r, batch, imageSide*imageSide)
	m, _ := Get("mlp-small")
	seeds := make([]int64, K)
	for k := range seeds {
		seeds[k] = int64(k + 1)
	}
	// step returns a function running one forward and backward pass.
	step := func(name string) func() {
		store := model.NewStore()
		if err := SeedMembers(store, seeds); err != nil {
			b.Fatal(err)
		}
		store.SetParam(model.ParamInitialSeed, int64(1))
		var fn func(scope *model.Scope, x *Node) []*Node
		input, calls := xK, 1
		grads := func(scope *model.Scope, loss *Node) []*Node { return scope.BuildTrainableVariablesGradientsGraph(loss) }
		switch name {
		case "batched", "batched-gomlx", "shared-input":
			opts := Options{FastDense: name != "batched-gomlx", Members: K}
			if name == "shared-input" {
				input = xShared
			}
			fn = func(scope *model.Scope, x *Node) []*Node {
				scope.Store().SetTraining(x.Graph(), true)
				return grads(scope, ReduceAllSum(Square(m.Build(scope, x, opts))))
			}
		case "unrolled":
			fn = func(scope *model.Scope, x *Node) []*Node {
				scope.Store().SetTraining(x.Graph(), true)
				var loss *Node
				for k := range K {
					xk := Reshape(Slice(x, AxisElem(k)), batch, imageSide*imageSide)
					l := ReduceAllSum(Square(m.Build(scope.In("m%d", k), xk, DefaultOptions())))
					if loss == nil {
						loss = l
					} else {
						loss = Add(loss, l)
					}
				}
				return grads(scope, loss)
			}
		case "alone":
			input, calls = x1, K
			fn = func(scope *model.Scope, x *Node) []*Node {
				scope.Store().SetTraining(x.Graph(), true)
				return grads(scope, ReduceAllSum(Square(m.Build(scope, x, DefaultOptions()))))
			}
		}
		exec := model.MustNewExec(backend, store, fn)
		exec.MustCall(input) // compile and initialise
		return func() {
			for range calls {
				for _, t := range exec.MustCall(input) {
					t.FinalizeAll()
				}
			}
		}
	}
	for _, name := range []string{"batched", "batched-gomlx", "shared-input", "unrolled", "alone"} {
		b.Run(name, func(b *testing.B) {
			run := step(name)
			b.ResetTimer()
			for range b.N {
				run()
			}
			b.ReportMetric(float64(K*batch*b.N)/b.Elapsed().Seconds(), "member-samples/s")
		})
	}
}
