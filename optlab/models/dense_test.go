package models

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego"
	. "github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
)

func testBackend(t testing.TB) backends.Backend {
	t.Helper()
	b, err := backends.NewWithConfig("go")
	if err != nil {
		t.Fatalf("pure-Go backend: %v", err)
	}
	return b
}

func randTensor(r *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(v, dims...)
}

func flat(t *tensors.Tensor) []float32 {
	var out []float32
	tensors.MustConstFlatData(t, func(f []float32) { out = append(out, f...) })
	return out
}

// TestFastMatMulGradients checks that the explicit backward pass gives the same
// gradients as GoMLX's own differentiation of a matrix product, for the input,
// the weights, and through a two-layer chain with a nonlinearity in between.
func TestFastMatMulGradients(t *testing.T) {
	backend := testBackend(t)
	r := rand.New(rand.NewPCG(1, 2))
	cases := []struct {
		name                string
		batch, in, hid, out int
	}{
		{"tiny", 1, 1, 1, 1},
		{"mnist-like", 32, 784, 128, 10},
		{"odd", 7, 13, 5, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			x := randTensor(r, c.batch, c.in)
			w1 := randTensor(r, c.in, c.hid)
			w2 := randTensor(r, c.hid, c.out)
			probe := randTensor(r, c.batch, c.out)
			grads := func(fast bool) [][]float32 {
				exec := MustNewExec(backend, func(x, w1, w2, probe *Node) []*Node {
					h := Tanh(FastMatMul(x, w1, fast, true))
					y := FastMatMul(h, w2, fast, true)
					loss := ReduceAllSum(Mul(y, probe))
					g := Gradient(loss, x, w1, w2)
					return append([]*Node{loss}, g...)
				})
				outs := exec.MustExec(x, w1, w2, probe)
				res := make([][]float32, len(outs))
				for i, o := range outs {
					res[i] = flat(o)
				}
				return res
			}
			want, got := grads(false), grads(true)
			names := []string{"loss", "∂/∂x", "∂/∂w1", "∂/∂w2"}
			for i := range want {
				if len(want[i]) != len(got[i]) {
					t.Fatalf("%s: %d values, want %d", names[i], len(got[i]), len(want[i]))
				}
				for j := range want[i] {
					if d := math.Abs(float64(want[i][j] - got[i][j])); d > 1e-4*(1+math.Abs(float64(want[i][j]))) {
						t.Fatalf("%s[%d] = %g, GoMLX's own gradient gives %g", names[i], j, got[i][j], want[i][j])
					}
				}
			}
		})
	}
}

// TestModelsBuild builds every model's training and inference graphs and checks
// the logits' shape and that the loss gradient reaches every trainable variable.
func TestModelsBuild(t *testing.T) {
	backend := testBackend(t)
	r := rand.New(rand.NewPCG(3, 4))
	x := randTensor(r, 4, MNISTPixels)
	for _, m := range Models() {
		t.Run(m.Name, func(t *testing.T) {
			ctx := context.New().Checked(false)
			ctx.SetParam(context.ParamInitialSeed, int64(1))
			for _, training := range []bool{true, false} {
				exec := context.MustNewExec(backend, ctx, func(ctx *context.Context, x *Node) *Node {
					ctx.SetTraining(x.Graph(), training)
					return m.Build(ctx, x, DefaultOptions())
				})
				out := exec.MustExec(x)[0]
				if dims := out.Shape().Dimensions; len(dims) != 2 || dims[0] != 4 || dims[1] != m.Outputs {
					t.Fatalf("training=%v: logits shape %v, want [4 %d]", training, dims, m.Outputs)
				}
				for _, v := range flat(out) {
					if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
						t.Fatalf("training=%v: non-finite logit %v", training, v)
					}
				}
			}
		})
	}
}

// BenchmarkDenseBackward compares one training step's forward and backward pass
// of the 784-128-64-10 MLP at batch 32 with GoMLX's own matrix-product gradient
// ("gomlx") and with FastMatMul ("fast") on the pure-Go backend, configured as
// optlab uses it. The ratio of the two ns/op is the speed-up.
func BenchmarkDenseBackward(b *testing.B) {
	// The configuration optlab.NewBackend("go") uses (optlab.PureGoConfig).
	backend, err := backends.NewWithConfig("go:dotgeneral_large")
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	x := randTensor(r, 32, MNISTPixels)
	m, _ := Get("mlp-small")
	for _, fast := range []bool{false, true} {
		name := map[bool]string{false: "gomlx", true: "fast"}[fast]
		b.Run(name, func(b *testing.B) {
			ctx := context.New()
			ctx.SetParam(context.ParamInitialSeed, int64(1))
			exec := context.MustNewExec(backend, ctx, func(ctx *context.Context, x *Node) []*Node {
				ctx.SetTraining(x.Graph(), true)
				loss := ReduceAllSum(Square(m.Build(ctx, x, Options{FastDense: fast})))
				return ctx.BuildTrainableVariablesGradientsGraph(loss)
			})
			exec.MustExec(x) // compile
			b.ResetTimer()
			for range b.N {
				exec.MustExec(x)
			}
			b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
