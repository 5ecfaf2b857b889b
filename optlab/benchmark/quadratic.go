package benchmark

import (
	"math"
	"math/rand/v2"

	"optlab.dev/optlab/datasets"
)

// NoisyQuadratic is DeepOBS's quadratic_deep problem: the loss of one example
// x is ½(θ − x)ᵀH(θ − x), θ ∈ ℝ¹⁰⁰ starts at 1, and the examples are draws of
// N(0, 0.6²I) (a training set, a validation set and a test set of 1,000 each),
// so that a mini-batch's gradient H(θ − x̄) is the full one plus noise. The
// Hessian H = Rᵀ·diag(λ)·R has 90 eigenvalues drawn from U(0, 1) and 10 from
// U(30, 60), an eigenspectrum like those reported for neural networks
// (Chaudhari et al. 2017), and a rotation R drawn from the Haar measure.
//
// DeepOBS draws these with NumPy's RandomState(42); optlab draws the same
// distributions with its own generator from a fixed seed, so the problem is
// DeepOBS's in kind, not bit for bit.
type NoisyQuadratic struct {
	Dim int
	// Eigenvalues λ and the rotation R (rows are the eigenvectors: H·R[i] = λᵢ·R[i]).
	Eigenvalues []float64
	Rotation    [][]float64
	// Hessian is Rᵀ·diag(λ)·R, row-major.
	Hessian []float64
	// Train, Val and Test hold the examples x as float32 rows (Width = Dim).
	Train, Val, Test *datasets.Dataset
}

// Quadratic problem constants (DeepOBS's quadratic data set and test problem).
const (
	quadDim      = 100
	quadExamples = 1000
	quadNoise    = 0.6
	quadSeed     = 42
)

// NewNoisyQuadratic draws the quadratic_deep problem (always the same one).
func NewNoisyQuadratic() *NoisyQuadratic {
	r := rand.New(rand.NewPCG(quadSeed, 0x9e3779b97f4a7c15))
	q := &NoisyQuadratic{Dim: quadDim}
	for i := 0; i < quadDim; i++ {
		if i < 90 {
			q.Eigenvalues = append(q.Eigenvalues, r.Float64())
		} else {
			q.Eigenvalues = append(q.Eigenvalues, 30+30*r.Float64())
		}
	}
	q.Rotation = haarRotation(r, quadDim)
	n := quadDim
	q.Hessian = make([]float64, n*n)
	for i := 0; i < n; i++ {
		for j := i; j < n; j++ { // the upper triangle, mirrored: H is exactly symmetric
			s := 0.0
			for k := 0; k < n; k++ {
				s += q.Rotation[k][i] * q.Eigenvalues[k] * q.Rotation[k][j]
			}
			q.Hessian[i*n+j], q.Hessian[j*n+i] = s, s
		}
	}
	draw := func(name string) *datasets.Dataset {
		ds := &datasets.Dataset{Name: name, Width: n, Features: make([]float32, quadExamples*n), Labels: make([]int32, quadExamples)}
		for i := range ds.Features {
			ds.Features[i] = float32(quadNoise * r.NormFloat64())
		}
		return ds
	}
	q.Train, q.Val, q.Test = draw("train"), draw("validation"), draw("test")
	return q
}

// haarRotation returns an n×n orthogonal matrix drawn from the Haar measure:
// the Q of the QR decomposition of a matrix of standard normal draws, its
// columns' signs fixed so that R has a positive diagonal (Mezzadri 2007, "How
// to generate random matrices from the classical compact groups"). The QR
// decomposition is by Householder reflections, written here because the
// module has no linear-algebra dependency and this is its only use.
func haarRotation(r *rand.Rand, n int) [][]float64 {
	a := make([][]float64, n) // a[i][j], row-major
	for i := range a {
		a[i] = make([]float64, n)
		for j := range a[i] {
			a[i][j] = r.NormFloat64()
		}
	}
	// q accumulates the reflections: q = H₁·H₂·…·Hₙ₋₁, applied to the identity.
	q := make([][]float64, n)
	for i := range q {
		q[i] = make([]float64, n)
		q[i][i] = 1
	}
	v := make([]float64, n)
	for k := 0; k < n-1; k++ {
		norm := 0.0
		for i := k; i < n; i++ {
			norm += a[i][k] * a[i][k]
		}
		norm = math.Sqrt(norm)
		alpha := -norm
		if a[k][k] < 0 {
			alpha = norm
		}
		vn := 0.0
		for i := k; i < n; i++ {
			v[i] = a[i][k]
			if i == k {
				v[i] -= alpha
			}
			vn += v[i] * v[i]
		}
		if vn == 0 {
			continue
		}
		// a ← (I − 2vvᵀ/vᵀv)·a on rows k…n−1.
		for j := k; j < n; j++ {
			dot := 0.0
			for i := k; i < n; i++ {
				dot += v[i] * a[i][j]
			}
			f := 2 * dot / vn
			for i := k; i < n; i++ {
				a[i][j] -= f * v[i]
			}
		}
		// q ← q·(I − 2vvᵀ/vᵀv) on columns k…n−1.
		for i := 0; i < n; i++ {
			dot := 0.0
			for j := k; j < n; j++ {
				dot += q[i][j] * v[j]
			}
			f := 2 * dot / vn
			for j := k; j < n; j++ {
				q[i][j] -= f * v[j]
			}
		}
	}
	// Make R's diagonal positive: flip the matching columns of q.
	for j := 0; j < n; j++ {
		if a[j][j] < 0 {
			for i := 0; i < n; i++ {
				q[i][j] = -q[i][j]
			}
		}
	}
	// Rows of the rotation are q's columns (any orthogonal matrix will do as
	// the eigenvector basis; its transpose is orthogonal too).
	rot := make([][]float64, n)
	for i := range rot {
		rot[i] = make([]float64, n)
		for j := range rot[i] {
			rot[i][j] = q[j][i]
		}
	}
	return rot
}

// Loss returns the mean loss of the examples of ds at θ, in float64 on the
// host: (1/N)·Σ ½(θ − x)ᵀH(θ − x).
func (q *NoisyQuadratic) Loss(theta []float64, ds *datasets.Dataset) float64 {
	n := q.Dim
	d := make([]float64, n)
	total := 0.0
	for e := 0; e < ds.Len(); e++ {
		x := ds.Example(e)
		for i := range d {
			d[i] = theta[i] - float64(x[i])
		}
		total += 0.5 * q.quadForm(d)
	}
	return total / float64(ds.Len())
}

// quadForm returns dᵀHd.
func (q *NoisyQuadratic) quadForm(d []float64) float64 {
	n := q.Dim
	s := 0.0
	for i := 0; i < n; i++ {
		row := q.Hessian[i*n : (i+1)*n]
		hd := 0.0
		for j, v := range row {
			hd += v * d[j]
		}
		s += d[i] * hd
	}
	return s
}

// MinLoss returns the smallest mean loss any θ reaches on ds and the θ that
// reaches it (the mean of ds's examples): the floor below which no validation
// target can be set.
func (q *NoisyQuadratic) MinLoss(ds *datasets.Dataset) (float64, []float64) {
	mean := make([]float64, q.Dim)
	for e := 0; e < ds.Len(); e++ {
		for i, x := range ds.Example(e) {
			mean[i] += float64(x) / float64(ds.Len())
		}
	}
	return q.Loss(mean, ds), mean
}
