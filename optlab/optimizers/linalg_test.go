package optimizers

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// randomOrthogonal returns an n×n orthogonal matrix (Gram–Schmidt of a
// random matrix), row-major.
func randomOrthogonal(r *rand.Rand, n int) []float64 {
	q := make([]float64, n*n)
	for j := 0; j < n; j++ {
		v := make([]float64, n)
		for i := range v {
			v[i] = r.NormFloat64()
		}
		for pass := 0; pass < 2; pass++ {
			for k := 0; k < j; k++ {
				dot := 0.0
				for i := 0; i < n; i++ {
					dot += q[i*n+k] * v[i]
				}
				for i := 0; i < n; i++ {
					v[i] -= dot * q[i*n+k]
				}
			}
		}
		nrm := 0.0
		for _, x := range v {
			nrm += x * x
		}
		nrm = math.Sqrt(nrm)
		for i := 0; i < n; i++ {
			q[i*n+j] = v[i] / nrm
		}
	}
	return q
}

// TestSymEig checks the Jacobi eigendecomposition on matrices with known
// spectra, including a badly conditioned one (eigenvalues from 1e-8 to 1e4)
// whose small eigenvalues must come out to high relative accuracy, and the
// inverse fourth root built from it.
func TestSymEig(t *testing.T) {
	backend := testBackend(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		n      int
		lambda []float64
	}{
		{1, []float64{3}},
		{2, []float64{2, 0.5}},
		{3, []float64{1e4, 1, 1e-8}},
		{4, []float64{5, 5, 1, 1e-3}},
		{5, []float64{7, 3, 2, 1, 1e-6}},
		{8, []float64{9, 8, 7, 6, 5, 4, 3, 1e-4}},
	} {
		n := tc.n
		q := randomOrthogonal(r, n)
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := 0; j < n; j++ {
				for k := 0; k < n; k++ {
					a[i*n+j] += q[i*n+k] * tc.lambda[k] * q[j*n+k]
				}
			}
		}
		for i := 0; i < n; i++ { // exactly symmetric
			for j := 0; j < i; j++ {
				a[i*n+j] = a[j*n+i]
			}
		}
		exec := MustNewExec(backend, func(x *Node) []*Node {
			var order loopOrder // one loop at a time (see loopOrder)
			vals, vecs := symEig(x, nil, &order)
			return []*Node{vals, vecs, sortEigDescending(vals, vecs, &order), inverseRoot(x, 4, nil, &order)}
		})
		out := exec.MustExec(tensors.FromFlatDataAndDimensions(a, 1, n, n))
		vals := tensors.MustCopyFlatData[float64](out[0])
		vecs := tensors.MustCopyFlatData[float64](out[1])
		sorted := tensors.MustCopyFlatData[float64](out[2])
		root := tensors.MustCopyFlatData[float64](out[3])
		got := append([]float64(nil), vals...) // ascending
		sort.Float64s(got)
		want := append([]float64(nil), tc.lambda...)
		sort.Float64s(want)
		// A holds QΛQᵀ rounded, so its eigenvalues are Λ's within about
		// u·‖A‖: compare relative to the largest.
		kappa := want[n-1] / want[0]
		for i := range want {
			if e := math.Abs(got[i]-want[i]) / want[n-1]; e > 1e-14 {
				t.Errorf("n=%d: eigenvalue %g, want %g (error %.2g·λmax)", n, got[i], want[i], e)
			}
		}
		// A·v = λ·v, VᵀV = I, columns of sorted by decreasing λ.
		for k := 0; k < n; k++ {
			for i := 0; i < n; i++ {
				av := 0.0
				for j := 0; j < n; j++ {
					av += a[i*n+j] * vecs[j*n+k]
				}
				if e := math.Abs(av - vals[k]*vecs[i*n+k]); e > 1e-12*tc.lambda[0] {
					t.Errorf("n=%d: (Av − λv)[%d] of pair %d = %g", n, i, k, e)
				}
			}
			for l := 0; l < n; l++ {
				dot := 0.0
				for i := 0; i < n; i++ {
					dot += vecs[i*n+k] * vecs[i*n+l]
				}
				if l == k {
					dot--
				}
				if math.Abs(dot) > 1e-13 {
					t.Errorf("n=%d: VᵀV − I at (%d, %d) = %g", n, k, l, dot)
				}
			}
			// the k-th sorted column is an eigenvector of the k-th largest eigenvalue
			lam := want[n-1-k]
			for i := 0; i < n; i++ {
				av := 0.0
				for j := 0; j < n; j++ {
					av += a[i*n+j] * sorted[j*n+k]
				}
				if e := math.Abs(av - lam*sorted[i*n+k]); e > 1e-12*tc.lambda[0] {
					t.Errorf("n=%d: sorted column %d is not an eigenvector of %g (%g)", n, k, lam, e)
				}
			}
		}
		// root = Q·Λ^(−1/4)·Qᵀ, to within what the rounding of A allows.
		for i := 0; i < n && kappa < 1e9; i++ {
			for j := 0; j < n; j++ {
				w := 0.0
				for k := 0; k < n; k++ {
					w += q[i*n+k] * math.Pow(tc.lambda[k], -0.25) * q[j*n+k]
				}
				if e := math.Abs(root[i*n+j] - w); e > 100*kappa*0x1p-52*math.Pow(want[0], -0.25) {
					t.Errorf("n=%d: A^(−1/4)[%d,%d] = %.17g, want %.17g", n, i, j, root[i*n+j], w)
				}
			}
		}
	}
}

// TestQRQ checks the Gram–Schmidt QR: Q orthonormal, QᵀX upper triangular with
// a non-negative diagonal, Q·(QᵀX) = X; and the fallback of a rank-deficient X.
func TestQRQ(t *testing.T) {
	backend := testBackend(t)
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{2, 3, 5} {
		for _, rankDeficient := range []bool{false, true} {
			x := make([]float64, n*n)
			for i := range x {
				x[i] = r.NormFloat64()
			}
			if rankDeficient { // last column = first column
				for i := 0; i < n; i++ {
					x[i*n+n-1] = x[i*n]
				}
			}
			id := make([]float64, n*n)
			for i := 0; i < n; i++ {
				id[i*n+i] = 1
			}
			exec := MustNewExec(backend, func(x, f *Node) *Node { return qrQ(x, f, nil, nil) })
			q := tensors.MustCopyFlatData[float64](exec.MustExec(
				tensors.FromFlatDataAndDimensions(x, n, n), tensors.FromFlatDataAndDimensions(id, n, n))[0])
			for k := 0; k < n; k++ {
				for l := 0; l < n; l++ {
					dot, rkl := 0.0, 0.0
					for i := 0; i < n; i++ {
						dot += q[i*n+k] * q[i*n+l]
						rkl += q[i*n+k] * x[i*n+l]
					}
					if l == k {
						dot--
						if rkl < -1e-14 {
							t.Errorf("n=%d: R[%d,%d] = %g < 0", n, k, k, rkl)
						}
					}
					if math.Abs(dot) > 1e-14 {
						t.Errorf("n=%d rank-deficient=%v: QᵀQ − I at (%d,%d) = %g", n, rankDeficient, k, l, dot)
					}
					if l < k && math.Abs(rkl) > 1e-13 {
						t.Errorf("n=%d rank-deficient=%v: R[%d,%d] = %g below the diagonal", n, rankDeficient, k, l, rkl)
					}
				}
			}
		}
	}
}
