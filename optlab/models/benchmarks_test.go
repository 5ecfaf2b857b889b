package models

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// benchmarkReference is testdata/benchmark_models.json, written by
// scripts/reference/gen_benchmark_models.py (PyTorch 1.13, float64).
type benchmarkReference struct {
	Batch  int     `json:"batch"`
	Labels []int32 `json:"labels"`
	Models map[string]struct {
		Params [][2]json.RawMessage `json:"params"`
		Logits [][]float64          `json:"logits"`
		Loss   float64              `json:"loss"`
		Grads  map[string]struct {
			Sum      float64 `json:"sum"`
			SumSq    float64 `json:"sum_sq"`
			Weighted float64 `json:"weighted"`
		} `json:"grads"`
	} `json:"models"`
}

// flat64 returns a float64 tensor's values.
func flat64(t *tensors.Tensor) []float64 {
	var out []float64
	tensors.MustConstFlatData(t, func(f []float64) { out = append(out, f...) })
	return out
}

// referenceValues fills a parameter as the reference script does:
// s·sin(0.37 i + 0.5 k + 0.1), s = 1/√fan-in for weights and 0.1 for biases.
func referenceValues(k int, shape []int) *tensors.Tensor {
	n, fanIn := 1, 1
	for i, d := range shape {
		n *= d
		if i < len(shape)-1 {
			fanIn *= d
		}
	}
	scale := 0.1
	if len(shape) > 1 {
		scale = 1 / math.Sqrt(float64(fanIn))
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = float64(float32(scale * math.Sin(0.37*float64(i)+0.5*float64(k)+0.1)))
	}
	return tensors.FromFlatDataAndDimensions(v, shape...)
}

// TestBenchmarkModelsMatchPyTorch checks the benchmark networks (DeepOBS's
// logreg, MLP and 2c2d, AlgoPerf's MNIST MLP) against PyTorch: with the same
// weights and images, the logits, the mean cross-entropy and the gradient of
// every parameter agree to 1e-9 (both sides compute in float64). This pins the layer sizes, the
// activations, the "same" padding, the pooling and the flattening order.
func TestBenchmarkModelsMatchPyTorch(t *testing.T) {
	raw, err := os.ReadFile("testdata/benchmark_models.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref benchmarkReference
	if err := json.Unmarshal(raw, &ref); err != nil {
		t.Fatal(err)
	}
	// Float64 throughout, as the reference: the check is of the networks'
	// mathematics, not of float32 rounding.
	x := make([]float64, ref.Batch*imageSide*imageSide)
	for b := range ref.Batch {
		for j := range imageSide * imageSide {
			x[b*784+j] = float64(float32(0.5 + 0.5*math.Sin(0.013*float64(b*784+j)+float64(b))))
		}
	}
	backend := testBackend(t)
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"logreg-deepobs", DefaultOptions()}, {"mlp-deepobs", DefaultOptions()}, {"mlp-algoperf", DefaultOptions()},
		{"cnn-2c2d", DefaultOptions()}, {"cnn-2c2d", Options{}}, // ConvSame's im2col form and layers.Convolution
	} {
		name := tc.name
		t.Run(fmt.Sprintf("%s/fast=%v", name, tc.opts.FastDense), func(t *testing.T) {
			want, ok := ref.Models[name]
			if !ok {
				t.Fatalf("no reference for %s", name)
			}
			m, err := Get(name)
			if err != nil {
				t.Fatal(err)
			}
			store := model.NewStore()
			var paths []string
			for k, p := range want.Params {
				var path string
				var shape []int
				if err := json.Unmarshal(p[0], &path); err != nil {
					t.Fatal(err)
				}
				if err := json.Unmarshal(p[1], &shape); err != nil {
					t.Fatal(err)
				}
				store.VariableWithValue(path, referenceValues(k, shape))
				paths = append(paths, path)
			}
			exec := model.MustNewExec(backend, store, func(scope *model.Scope, x, y *Node) []*Node {
				g := x.Graph()
				store.SetTraining(g, true)
				logits := m.Build(scope, x, tc.opts)
				logProbs := LogSoftmax(logits)
				loss := Neg(ReduceAllMean(ReduceSum(Mul(OneHot(y, 10, logits.DType()), logProbs), 1)))
				var vars []*Node
				for _, p := range paths {
					vars = append(vars, store.GetVariable(p).NodeValue(g))
				}
				return append([]*Node{logits, loss}, Gradient(loss, vars...)...)
			})
			outs := exec.MustCall(tensors.FromFlatDataAndDimensions(x, ref.Batch, 784), tensors.FromFlatDataAndDimensions(ref.Labels, ref.Batch))
			n := 0
			for v := range store.IterVariables() {
				if v.Trainable {
					n++
				}
			}
			if n != len(paths) {
				t.Errorf("%s has %d variables, the reference %d: the network's parameters differ", name, n, len(paths))
			}
			close := func(what string, got, want, scale, tol float64) {
				t.Helper()
				if math.Abs(got-want) > tol*scale {
					t.Errorf("%s: got %.9g, want %.9g (|diff| %.3g > %.3g)", what, got, want, math.Abs(got-want), tol*scale)
				}
			}
			logits := flat64(outs[0])
			for b, row := range want.Logits {
				for c, v := range row {
					close("logit", logits[b*10+c], v, 1+math.Abs(v), 1e-9)
				}
			}
			close("loss", flat64(outs[1])[0], want.Loss, 1, 1e-9)
			for i, p := range paths {
				g := flat64(outs[2+i])
				var sum, sumSq, weighted float64
				for j, v := range g {
					sum += v
					sumSq += v * v
					weighted += v * math.Sin(0.7*float64(j)+0.3)
				}
				norm := math.Sqrt(sumSq)
				w := want.Grads[p]
				close(p+" gradient sum", sum, w.Sum, norm+1e-30, 1e-9)
				close(p+" gradient sum of squares", sumSq, w.SumSq, sumSq+1e-30, 1e-9)
				close(p+" gradient weighted sum", weighted, w.Weighted, norm+1e-30, 1e-9)
			}
		})
	}
}

// TestBenchmarkModelsInit checks the initial values of the benchmark networks
// against their definitions: DeepOBS's truncated normals (standard deviation σ,
// cut at ±2σ, so the values' own standard deviation is 0.8796·σ), AlgoPerf's
// LeCun normal (variance 1/fan-in, cut at ±2/(0.8796·√fan-in)), constant
// biases, and the zero weights of DeepOBS's logistic regression.
func TestBenchmarkModelsInit(t *testing.T) {
	backend := testBackend(t)
	x := tensors.FromFlatDataAndDimensions(make([]float32, 2*784), 2, 784)
	type want struct {
		std, bound float64 // std and |value| bound; std 0 means every value is bias
		bias       float64
	}
	lecun := func(fanIn float64) want {
		return want{std: 1 / math.Sqrt(fanIn), bound: 2 / (truncatedStd * math.Sqrt(fanIn))}
	}
	cases := map[string]map[string]want{
		"logreg-deepobs": {"/out/weights": {}, "/out/biases": {}},
		"mlp-deepobs": {"/dense1/weights": {std: 0.03 * truncatedStd, bound: 0.06}, "/dense1/biases": {},
			"/dense2/weights": {std: 0.03 * truncatedStd, bound: 0.06}, "/out/biases": {}},
		"mlp-algoperf": {"/dense1/weights": lecun(784), "/dense1/biases": {}, "/out/weights": lecun(128), "/out/biases": {}},
		"cnn-2c2d": {"/conv2/conv/weights": {std: 0.05 * truncatedStd, bound: 0.1}, "/conv1/conv/biases": {bias: 0.05},
			"/dense1/weights": {std: 0.05 * truncatedStd, bound: 0.1}, "/dense1/biases": {bias: 0.05}, "/out/biases": {bias: 0.05}},
	}
	for name, vars := range cases {
		t.Run(name, func(t *testing.T) {
			m, _ := Get(name)
			store := model.NewStore()
			store.SetParam(model.ParamInitialSeed, int64(7))
			exec := model.MustNewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
				return m.Build(scope, x, DefaultOptions())
			})
			exec.MustCall(x)
			for path, w := range vars {
				v := store.GetVariable(path)
				if v == nil {
					t.Fatalf("no variable %s", path)
				}
				vals := flat(v.MustValue())
				var sum, sumSq, maxAbs float64
				for _, f := range vals {
					sum += float64(f)
					sumSq += float64(f) * float64(f)
					maxAbs = max(maxAbs, math.Abs(float64(f)))
				}
				n := float64(len(vals))
				mean, std := sum/n, math.Sqrt(sumSq/n-(sum/n)*(sum/n))
				if w.std == 0 {
					for _, f := range vals {
						if float64(f) != float64(float32(w.bias)) {
							t.Fatalf("%s: value %v, want every value %v", path, f, w.bias)
						}
					}
					continue
				}
				// The sample standard deviation of n values is within about
				// 3/√(2n) of the true one (relative); the mean within 3σ/√n.
				if math.Abs(std/w.std-1) > 3/math.Sqrt(2*n)+1e-3 || math.Abs(mean) > 3*w.std/math.Sqrt(n) {
					t.Errorf("%s: mean %.4g and std %.5g of %d values, want 0 and %.5g", path, mean, std, len(vals), w.std)
				}
				if maxAbs > w.bound*(1+1e-6) || maxAbs < 0.9*w.bound {
					t.Errorf("%s: largest |value| %.5g, want at most and close to %.5g (truncation at 2σ)", path, maxAbs, w.bound)
				}
			}
		})
	}
}

// BenchmarkConvSame times one training step (forward and backward) of
// cnn-2c2d at batch 32 with ConvSame's im2col form ("im2col") and with GoMLX's
// layers.Convolution ("generic") on the pure-Go backend.
func BenchmarkConvSame(b *testing.B) {
	backend := testBackend(b)
	m, _ := Get("cnn-2c2d")
	x := tensors.FromFlatDataAndDimensions(make([]float32, 32*784), 32, 784)
	for _, fast := range []bool{true, false} {
		b.Run(map[bool]string{true: "im2col", false: "generic"}[fast], func(b *testing.B) {
			store := model.NewStore()
			store.SetParam(model.ParamInitialSeed, int64(1))
			exec := model.MustNewExec(backend, store, func(scope *model.Scope, x *Node) []*Node {
				store.SetTraining(x.Graph(), true)
				loss := ReduceAllSum(Square(m.Build(scope, x, Options{FastDense: fast})))
				return scope.BuildTrainableVariablesGradientsGraph(loss)
			})
			exec.MustCall(x) // compile
			b.ResetTimer()
			for range b.N {
				for _, t := range exec.MustCall(x) {
					t.FinalizeAll()
				}
			}
			b.ReportMetric(float64(32*b.N)/b.Elapsed().Seconds(), "samples/s")
		})
	}
}
