package models

import (
	"math/rand/v2"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TestMaxPool2 checks MaxPool2 against a loop over the blocks: the output is
// each 2×2 block's maximum, and the gradient of Σ wᵢ·outᵢ goes to the block's
// first maximum in row-major order (PyTorch's max_pool2d), ties included.
func TestMaxPool2(t *testing.T) {
	backend := testBackend(t)
	const b, h, w, c = 2, 4, 6, 3
	tests := []struct {
		name string
		gen  func(r *rand.Rand) float32
	}{
		{"distinct", func(r *rand.Rand) float32 { return r.Float32() }},
		// Values from {0, 1}: most blocks have tied maxima.
		{"ties", func(r *rand.Rand) float32 { return float32(r.IntN(2)) }},
		{"all zero", func(*rand.Rand) float32 { return 0 }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			x := make([]float32, b*h*w*c)
			for i := range x {
				x[i] = tc.gen(r)
			}
			weights := make([]float32, b*(h/2)*(w/2)*c)
			for i := range weights {
				weights[i] = float32(i + 1)
			}
			exec := model.MustNewExec(backend, model.NewStore(), func(_ *model.Scope, xn, wn *Node) []*Node {
				out := MaxPool2(xn)
				return []*Node{out, Gradient(ReduceAllSum(Mul(out, wn)), xn)[0]}
			})
			outs := exec.MustCall(tensors.FromFlatDataAndDimensions(x, b, h, w, c),
				tensors.FromFlatDataAndDimensions(weights, b, h/2, w/2, c))
			got, grad := flat(outs[0]), flat(outs[1])
			wantOut := make([]float32, len(weights))
			wantGrad := make([]float32, len(x))
			at := func(n, y, xx, ch int) int { return ((n*h+y)*w+xx)*c + ch }
			for n := 0; n < b; n++ {
				for y := 0; y < h/2; y++ {
					for xx := 0; xx < w/2; xx++ {
						for ch := 0; ch < c; ch++ {
							o := ((n*(h/2)+y)*(w/2)+xx)*c + ch
							best := at(n, 2*y, 2*xx, ch)
							for _, p := range []int{at(n, 2*y, 2*xx+1, ch), at(n, 2*y+1, 2*xx, ch), at(n, 2*y+1, 2*xx+1, ch)} {
								if x[p] > x[best] {
									best = p
								}
							}
							wantOut[o], wantGrad[best] = x[best], weights[o]
						}
					}
				}
			}
			if !slices.Equal(got, wantOut) {
				t.Errorf("output %v, want %v", got, wantOut)
			}
			if !slices.Equal(grad, wantGrad) {
				t.Errorf("gradient %v, want %v", grad, wantGrad)
			}
		})
	}
}

// BenchmarkMaxPool2 times the forward and backward pass of cnn-small's first
// pooling layer ([32, 28, 28, 8]) on the pure-Go backend.
func BenchmarkMaxPool2(b *testing.B) {
	backend := testBackend(b)
	r := rand.New(rand.NewPCG(9, 10))
	x := make([]float32, 32*28*28*8)
	for i := range x {
		x[i] = r.Float32()
	}
	xt := tensors.FromFlatDataAndDimensions(x, 32, 28, 28, 8)
	exec := model.MustNewExec(backend, model.NewStore(), func(_ *model.Scope, xn *Node) []*Node {
		return Gradient(ReduceAllSum(MaxPool2(xn)), xn)
	})
	exec.MustCall(xt)
	b.ResetTimer()
	for range b.N {
		for _, t := range exec.MustCall(xt) {
			t.FinalizeAll()
		}
	}
}
