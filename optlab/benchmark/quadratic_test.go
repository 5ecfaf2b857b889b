package benchmark

import (
	"math"
	"slices"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/optlab"
)

// TestNoisyQuadraticStructure checks the quadratic_deep problem against its
// definition: a fixed draw, an orthogonal rotation whose rows are
// eigenvectors of H with the drawn eigenvalues (90 in (0, 1), 10 in (30, 60)),
// a symmetric H, and 1,000 examples per split with standard deviation 0.6.
func TestNoisyQuadraticStructure(t *testing.T) {
	q := NewNoisyQuadratic()
	if again := NewNoisyQuadratic(); !slices.Equal(q.Hessian, again.Hessian) || !slices.Equal(q.Val.Features, again.Val.Features) {
		t.Fatal("two draws of quadratic_deep differ")
	}
	n := q.Dim
	if n != 100 || len(q.Eigenvalues) != n {
		t.Fatalf("dimension %d with %d eigenvalues, want 100", n, len(q.Eigenvalues))
	}
	small, large := 0, 0
	for _, l := range q.Eigenvalues {
		switch {
		case l > 0 && l < 1:
			small++
		case l > 30 && l < 60:
			large++
		}
	}
	if small != 90 || large != 10 {
		t.Errorf("%d eigenvalues in (0,1) and %d in (30,60), want 90 and 10", small, large)
	}
	for i := 0; i < n; i++ {
		for j := 0; j < n; j++ {
			dot := 0.0
			for k := 0; k < n; k++ {
				dot += q.Rotation[i][k] * q.Rotation[j][k]
			}
			want := 0.0
			if i == j {
				want = 1
			}
			if math.Abs(dot-want) > 1e-12 {
				t.Fatalf("rotation rows %d·%d = %g, want %g", i, j, dot, want)
			}
			if q.Hessian[i*n+j] != q.Hessian[j*n+i] {
				t.Fatalf("H[%d][%d] ≠ H[%d][%d]", i, j, j, i)
			}
		}
	}
	for k := 0; k < n; k++ {
		for i := 0; i < n; i++ {
			hv := 0.0
			for j := 0; j < n; j++ {
				hv += q.Hessian[i*n+j] * q.Rotation[k][j]
			}
			if math.Abs(hv-q.Eigenvalues[k]*q.Rotation[k][i]) > 1e-10 {
				t.Fatalf("H·R[%d] ≠ λ·R[%d] at %d: %g vs %g", k, k, i, hv, q.Eigenvalues[k]*q.Rotation[k][i])
			}
		}
	}
	for _, ds := range []*struct {
		name string
		f    []float32
	}{{"train", q.Train.Features}, {"validation", q.Val.Features}, {"test", q.Test.Features}} {
		if len(ds.f) != 1000*n {
			t.Fatalf("%s: %d values, want 1000×100", ds.name, len(ds.f))
		}
		var s, ss float64
		for _, v := range ds.f {
			s += float64(v)
			ss += float64(v) * float64(v)
		}
		m := s / float64(len(ds.f))
		sd := math.Sqrt(ss/float64(len(ds.f)) - m*m)
		if math.Abs(m) > 0.01 || math.Abs(sd-0.6) > 0.01 {
			t.Errorf("%s: mean %.4f and std %.4f, want 0 and 0.6", ds.name, m, sd)
		}
	}
	// The best θ for a split is its mean, and it beats the start θ = 1.
	minLoss, mean := q.MinLoss(q.Val)
	ones := make([]float64, n)
	for i := range ones {
		ones[i] = 1
	}
	if start := q.Loss(ones, q.Val); !(minLoss < start) {
		t.Errorf("min loss %g not below the start's %g", minLoss, start)
	}
	nudged := slices.Clone(mean)
	nudged[3] += 0.01
	if q.Loss(nudged, q.Val) <= minLoss {
		t.Error("the split's mean is not the minimiser")
	}
}

// TestQuadraticGraph checks the workload's graph against the closed forms:
// the batch loss (1/B)·Σ ½(θ − x)ᵀH(θ − x) and its gradient H(θ − x̄) at θ = 1.
func TestQuadraticGraph(t *testing.T) {
	backend, err := optlab.NewBackend("")
	if err != nil {
		t.Fatal(err)
	}
	data := NewData(nil)
	p := quadraticProblem(data)
	q := data.quadratic()
	const b = 7
	x := p.train.Features[:b*q.Dim]
	store := model.NewStore()
	exec := model.MustNewExec(backend, store, func(scope *model.Scope, x, y *Node) []*Node {
		loss, correct := p.loss(scope, x, y)
		if correct != nil {
			t.Error("the quadratic has no classes")
		}
		theta := store.GetVariable("/theta")
		return []*Node{loss, Gradient(loss, theta.NodeValue(x.Graph()))[0]}
	})
	outs := exec.MustCall(tensors.FromFlatDataAndDimensions(x, b, q.Dim), tensors.FromFlatDataAndDimensions(make([]int32, b), b))
	ones := make([]float64, q.Dim)
	for i := range ones {
		ones[i] = 1
	}
	batch := p.train.Slice("batch", 0, b)
	wantLoss := q.Loss(ones, batch)
	if got := float64(tensors.MustCopyFlatData[float32](outs[0])[0]); math.Abs(got-wantLoss) > 1e-5*wantLoss {
		t.Errorf("batch loss %g, want %g", got, wantLoss)
	}
	grad := tensors.MustCopyFlatData[float32](outs[1])
	xbar := make([]float64, q.Dim)
	for e := 0; e < b; e++ {
		for i, v := range batch.Example(e) {
			xbar[i] += float64(v) / b
		}
	}
	for i := 0; i < q.Dim; i++ {
		want := 0.0
		for j := 0; j < q.Dim; j++ {
			want += q.Hessian[i*q.Dim+j] * (1 - xbar[j])
		}
		if math.Abs(float64(grad[i])-want) > 1e-4*(1+math.Abs(want)) {
			t.Fatalf("gradient[%d] = %g, want %g", i, grad[i], want)
		}
	}
}
