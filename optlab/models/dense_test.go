package models

import (
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/stats"
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := compute.NewWithConfig(pureGoConfig)
	if err != nil {
		t.Fatalf("pure-Go backend: %v", err)
	}
	return b
}

// pureGoConfig is optlab.PureGoConfig (this package cannot import optlab).
const pureGoConfig = "go:parallelism=-1"

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
				outs := exec.MustCall(x, w1, w2, probe)
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
	x := randTensor(r, 4, imageSide*imageSide)
	for _, m := range Models() {
		t.Run(m.Name, func(t *testing.T) {
			store := model.NewStore()
			store.SetParam(model.ParamInitialSeed, int64(1))
			for _, training := range []bool{true, false} {
				exec := model.MustNewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
					scope.Store().SetTraining(x.Graph(), training)
					return m.Build(scope, x, DefaultOptions())
				})
				out := exec.MustCall(x)[0]
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
// ("gomlx", what layers.Dense gets) and with FastMatMul ("fast") on the pure-Go
// backend, configured as optlab uses it. "interleaved" times one step of each
// in turn, b.N times, and reports the medians and their ratio ("speedup"), so
// that load on a shared machine hits both alike.
func BenchmarkDenseBackward(b *testing.B) {
	b.Logf("backend %s, %d CPUs", pureGoConfig, runtime.NumCPU())
	// The configuration optlab.NewBackend("go") uses (optlab.PureGoConfig).
	backend, err := compute.NewWithConfig(pureGoConfig)
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	x := randTensor(r, 32, imageSide*imageSide)
	m, _ := Get("mlp-small")
	step := func(fast bool) func() {
		store := model.NewStore()
		store.SetParam(model.ParamInitialSeed, int64(1))
		exec := model.MustNewExec(backend, store, func(scope *model.Scope, x *Node) []*Node {
			scope.Store().SetTraining(x.Graph(), true)
			loss := ReduceAllSum(Square(m.Build(scope, x, Options{FastDense: fast})))
			return scope.BuildTrainableVariablesGradientsGraph(loss)
		})
		exec.MustCall(x) // compile
		return func() {
			for _, t := range exec.MustCall(x) {
				t.FinalizeAll()
			}
		}
	}
	for _, fast := range []bool{false, true} {
		name := map[bool]string{false: "gomlx", true: "fast"}[fast]
		b.Run(name, func(b *testing.B) {
			run := step(fast)
			b.ResetTimer()
			for range b.N {
				run()
			}
			b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
	b.Run("interleaved", func(b *testing.B) {
		gomlx, fast := step(false), step(true)
		var tg, tf []float64
		for range b.N {
			t0 := time.Now()
			gomlx()
			t1 := time.Now()
			fast()
			tg = append(tg, t1.Sub(t0).Seconds())
			tf = append(tf, time.Since(t1).Seconds())
		}
		mg, mf := stats.Median(tg), stats.Median(tf)
		b.ReportMetric(mg*1e3, "gomlx-ms")
		b.ReportMetric(mf*1e3, "fast-ms")
		b.ReportMetric(mg/mf, "speedup")
	})
}
