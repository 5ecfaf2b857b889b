package models

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// closeTo reports the first element where got and want differ by more than
// tol relative (to max(1, |want|)), or "".
func closeTo(got, want []float32, tol float64) string {
	if len(got) != len(want) {
		return fmt.Sprintf("%d values, want %d", len(got), len(want))
	}
	for i := range want {
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if d > tol*math.Max(1, math.Abs(float64(want[i]))) || math.IsNaN(d) {
			return fmt.Sprintf("element %d = %g, want %g", i, got[i], want[i])
		}
	}
	return ""
}

// closeToSum reports the first element of the product x·w ([batch, in] by
// [in, out]) where got and want differ by more than tol times Σ|x||w|, the
// scale of that element's rounding error, or "".
func closeToSum(got, want, x, w []float32, batch, in, out int, tol float64) string {
	if len(got) != len(want) || len(want) != batch*out {
		return fmt.Sprintf("%d values, want %d", len(got), len(want))
	}
	for b := range batch {
		for o := range out {
			var scale float64
			for i := range in {
				scale += math.Abs(float64(x[b*in+i]) * float64(w[i*out+o]))
			}
			j := b*out + o
			if d := math.Abs(float64(got[j]) - float64(want[j])); d > tol*scale || math.IsNaN(d) {
				return fmt.Sprintf("element %d = %g, want %g (terms' magnitude %g)", j, got[j], want[j], scale)
			}
		}
	}
	return ""
}

// TestMembersMatMulGradients: the batched product with its explicit backward
// pass gives GoMLX's own gradients, per member and for shared inputs, through
// two layers with a nonlinearity in between.
func TestMembersMatMulGradients(t *testing.T) {
	backend := testBackend(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		name                   string
		k, batch, in, hid, out int
		shared                 bool
	}{
		{"one member", 1, 3, 4, 5, 2, false},
		{"mnist-like", 4, 32, 784, 128, 10, false},
		{"odd", 3, 7, 13, 5, 3, false},
		{"shared input", 3, 7, 13, 5, 3, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			var x *tensors.Tensor
			if c.shared {
				x = randTensor(r, c.batch, c.in)
			} else {
				x = randTensor(r, c.k, c.batch, c.in)
			}
			w1, w2 := randTensor(r, c.k, c.in, c.hid), randTensor(r, c.k, c.hid, c.out)
			probe := randTensor(r, c.k, c.batch, c.out)
			grads := func(fast bool) [][]float32 {
				exec := MustNewExec(backend, func(x, w1, w2, probe *Node) []*Node {
					h := Tanh(MembersMatMul(x, w1, fast, true))
					y := MembersMatMul(h, w2, fast, true)
					loss := ReduceAllSum(Mul(y, probe))
					return append([]*Node{loss}, Gradient(loss, x, w1, w2)...)
				})
				var res [][]float32
				for _, o := range exec.MustCall(x, w1, w2, probe) {
					res = append(res, flat(o))
				}
				return res
			}
			want, got := grads(false), grads(true)
			for i, name := range []string{"loss", "∂/∂x", "∂/∂w1", "∂/∂w2"} {
				if msg := closeTo(got[i], want[i], 1e-4); msg != "" {
					t.Fatalf("%s: %s", name, msg)
				}
			}
			// Each member's product is its own plain product.
			prod := MustNewExec(backend, func(x, w *Node) *Node { return MembersMatMul(x, w, true, false) }).MustCall(x, w1)[0]
			all := flat(prod)
			xs, ws := flat(x), flat(w1)
			for k := range c.k {
				xk := xs
				if !c.shared {
					xk = xs[k*c.batch*c.in : (k+1)*c.batch*c.in]
				}
				wk := ws[k*c.in*c.hid : (k+1)*c.in*c.hid]
				plain := MustNewExec(backend, func(x, w *Node) *Node { return DotProduct(x, w) }).MustCall(
					tensors.FromFlatDataAndDimensions(xk, c.batch, c.in), tensors.FromFlatDataAndDimensions(wk, c.in, c.hid))[0]
				// The kernels sum in different orders (AVX-512 blocks
				// differently from AVX2), so each element may differ by
				// rounding: allow a float32 error relative to the sum of
				// the terms' magnitudes, far below what another member's
				// weights or a wrong axis would change.
				if msg := closeToSum(all[k*c.batch*c.hid:(k+1)*c.batch*c.hid], flat(plain), xk, wk, c.batch, c.in, c.hid, 1e-6); msg != "" {
					t.Fatalf("member %d: %s", k, msg)
				}
			}
		})
	}
}

// memberForward builds model m for len(seeds) members in training mode, on
// inputs x [K, batch, 784], and returns the store and the logits.
func memberForward(t *testing.T, backend compute.Backend, m Model, seeds []int64, x *tensors.Tensor) (*model.Store, []float32) {
	t.Helper()
	store := model.NewStore()
	if err := SeedMembers(store, seeds); err != nil {
		t.Fatal(err)
	}
	opts := DefaultOptions()
	opts.Members = len(seeds)
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
		scope.Store().SetTraining(x.Graph(), true)
		return m.Build(scope.In("model"), x, opts)
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Call(x)
	if err != nil {
		t.Fatal(err)
	}
	return store, flat(out[0])
}

// aloneForward builds model m alone from seed, in training mode, on x.
func aloneForward(t *testing.T, backend compute.Backend, m Model, seed int64, x *tensors.Tensor) (*model.Store, []float32) {
	t.Helper()
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(seed); err != nil {
		t.Fatal(err)
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
		scope.Store().SetTraining(x.Graph(), true)
		return m.Build(scope.In("model"), x, DefaultOptions())
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Call(x)
	if err != nil {
		t.Fatal(err)
	}
	return store, flat(out[0])
}

// TestMembersMatchModelsAlone: member k of a member-mode model starts from
// the weights a model built alone from seed k draws (bit for bit), and in
// training mode (batch statistics, dropout masks) computes its logits, its
// moving statistics and the state of its generator as that model does.
func TestMembersMatchModelsAlone(t *testing.T) {
	backend := testBackend(t)
	seeds := []int64{3, 1, 7}
	const batch = 5
	r := rand.New(rand.NewPCG(9, 10))
	x := randTensor(r, len(seeds), batch, imageSide*imageSide)
	xs := flat(x)
	for _, name := range []string{"mlp-small", "mlp-bn", "logreg"} {
		t.Run(name, func(t *testing.T) {
			m, err := Get(name)
			if err != nil {
				t.Fatal(err)
			}
			popStore, logits := memberForward(t, backend, m, seeds, x)
			per := len(logits) / len(seeds)
			for k, seed := range seeds {
				xk := tensors.FromFlatDataAndDimensions(xs[k*batch*784:(k+1)*batch*784], batch, 784)
				store, want := aloneForward(t, backend, m, seed, xk)
				if msg := closeTo(logits[k*per:(k+1)*per], want, 1e-5); msg != "" {
					t.Errorf("member %d logits: %s", k, msg)
				}
				n := 0
				for v := range store.Scope("/model").IterVariables() {
					pv := popStore.GetVariable(v.Path())
					if pv == nil {
						t.Fatalf("no %s in the population", v.Path())
					}
					all, one := flat(pv.MustValue()), flat(v.MustValue())
					got := all[k*len(one) : (k+1)*len(one)]
					tol := 0.0
					if !v.Trainable {
						tol = 1e-6 // moving statistics: sums in another order
					}
					if msg := closeTo(got, one, tol); msg != "" {
						t.Errorf("member %d %s: %s", k, v.Path(), msg)
					}
					n++
				}
				if n == 0 {
					t.Fatal("no variables compared")
				}
				rng := tensors.MustCopyFlatData[uint64](popStore.GetVariable(MemberRNGPath).MustValue())
				alone := tensors.MustCopyFlatData[uint64](store.GetVariable(model.JoinPath("/", model.RNGStateVariableName)).MustValue())
				if fmt.Sprint(rng[k*3:(k+1)*3]) != fmt.Sprint(alone) {
					t.Errorf("member %d generator state %v, alone %v", k, rng[k*3:(k+1)*3], alone)
				}
			}
		})
	}
}

// TestMemberModeErrors: member mode needs seeded generators and a model that
// has a population form.
func TestMemberModeErrors(t *testing.T) {
	backend := testBackend(t)
	x := tensors.FromShape(shapes.Make(tensors.FromValue(float32(0)).DType(), 2, 1, 784))
	for _, tc := range []struct {
		model, want string
		seed        bool
	}{
		{"mlp-small", "needs models.SeedMembers", false},
		{"cnn-small", "cnn-small has no population form", true},
	} {
		m, _ := Get(tc.model)
		store := model.NewStore()
		if tc.seed {
			if err := SeedMembers(store, []int64{1, 2}); err != nil {
				t.Fatal(err)
			}
		}
		exec, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
			return m.Build(scope, x, Options{Members: 2})
		})
		if err == nil {
			_, err = exec.Call(x)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want an error containing %q", tc.model, err, tc.want)
		}
	}
	if err := SeedMembers(model.NewStore(), nil); err == nil {
		t.Error("SeedMembers with no seeds accepted")
	}
}
