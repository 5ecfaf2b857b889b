package diagnostics

import (
	stdctx "context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// EigenConfig configures TopEigenvalue.
type EigenConfig struct {
	// MaxIters bounds the operator products (Lanczos steps) (0: 30).
	MaxIters int
	// Tol stops when the residual ‖H·y − λ·y‖ of the estimate λ, y is at
	// most Tol·|λ| (0: 1e-3). The eigenvalue's own error is then far smaller:
	// about residual²/gap, the gap being the distance to the next eigenvalue.
	Tol float64
	// Seed draws the start vector (ignored with Start).
	Seed int64
	// Start, when set (length Dim), is the start vector: the previous
	// eigenvector when tracking the sharpness during training converges in a
	// few products.
	Start []float64
}

// Eigen is the top eigenvalue of a symmetric operator and its eigenvector.
type Eigen struct {
	// Value is the largest (algebraic) eigenvalue λ_max.
	Value float64
	// Vector is a unit eigenvector for Value.
	Vector []float64
	// Residual is ‖H·Vector − Value·Vector‖.
	Residual float64
	// Products is the number of operator products used; Converged reports
	// whether the tolerance was met within MaxIters.
	Products  int
	Converged bool
}

// TopEigenvalue returns the largest (algebraic) eigenvalue of the symmetric
// operator op and its eigenvector, by the Lanczos iteration with full
// re-orthogonalisation: the k-th step multiplies the newest basis vector by
// H, orthogonalises the product against every earlier one and takes the
// largest eigenvalue of the k×k tridiagonal matrix of the basis (gonum's
// EigenSym) as the estimate.
//
// It uses the same Hessian-vector products as power iteration (v ← H·v/‖H·v‖,
// λ ≈ vᵀH·v), whose Krylov space it searches whole: it needs fewer products
// for the same accuracy, finds λ_max even when a negative eigenvalue has the
// largest magnitude (near a saddle), and does not stall where power
// iteration does, when λ and −λ are both eigenvalues (the saddle x² − y²: its
// Rayleigh quotient never moves). The memory cost is one vector per product.
func TopEigenvalue(ctx stdctx.Context, op Operator, cfg EigenConfig) (*Eigen, error) {
	if cfg.MaxIters == 0 {
		cfg.MaxIters = 30
	}
	if cfg.Tol == 0 {
		cfg.Tol = 1e-3
	}
	if cfg.MaxIters < 1 || !(cfg.Tol > 0) {
		return nil, fmt.Errorf("eigenvalue: max iterations must be ≥ 1 and tolerance > 0, got %d and %g", cfg.MaxIters, cfg.Tol)
	}
	n := op.Dim()
	if n == 0 {
		return nil, errors.New("eigenvalue: operator of dimension 0")
	}
	if cfg.Start != nil && len(cfg.Start) != n {
		return nil, fmt.Errorf("eigenvalue: start vector of %d values for dimension %d", len(cfg.Start), n)
	}
	q := append([]float64(nil), cfg.Start...)
	if cfg.Start == nil || math.Sqrt(dot(q, q)) == 0 {
		rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5ca1ab1e))
		q = make([]float64, n)
		for i := range q {
			q[i] = rng.NormFloat64()
		}
	}
	scaleTo(q, 1)
	var basis [][]float64
	var alpha, beta []float64
	e := &Eigen{}
	var ritz []float64 // coordinates of the estimate in the basis
	for k := 0; k < min(cfg.MaxIters, n); k++ {
		if err := interrupted(ctx, "eigenvalue iteration"); err != nil {
			return nil, err
		}
		basis = append(basis, q)
		w, err := op.Apply(q)
		if err != nil {
			return nil, err
		}
		e.Products++
		a := dot(q, w)
		if math.IsNaN(a) || math.IsInf(a, 0) {
			return nil, fmt.Errorf("eigenvalue: the product is not finite after %d products", e.Products)
		}
		alpha = append(alpha, a)
		// Full re-orthogonalisation, twice ("twice is enough", Parlett).
		for range 2 {
			for _, b := range basis {
				axpy(w, -dot(w, b), b)
			}
		}
		b := math.Sqrt(dot(w, w))
		var theta float64
		theta, ritz = topOfTridiagonal(alpha, beta)
		e.Value = theta
		e.Residual = b * math.Abs(ritz[len(ritz)-1])
		if e.Residual <= cfg.Tol*math.Abs(theta) || b <= 1e-12*math.Max(math.Abs(theta), 1e-300) {
			e.Converged = true
			break
		}
		beta = append(beta, b)
		q = w
		for i := range q {
			q[i] /= b
		}
	}
	if e.Products == n {
		e.Converged = true // the basis spans the whole space: T's eigenvalues are H's
	}
	e.Vector = make([]float64, n)
	for i, c := range ritz {
		axpy(e.Vector, c, basis[i])
	}
	scaleTo(e.Vector, 1)
	return e, nil
}

// topOfTridiagonal returns the largest eigenvalue of the symmetric
// tridiagonal matrix with diagonal alpha and off-diagonal beta (one shorter),
// and its unit eigenvector.
func topOfTridiagonal(alpha, beta []float64) (float64, []float64) {
	k := len(alpha)
	t := mat.NewSymDense(k, nil)
	for i := range alpha {
		t.SetSym(i, i, alpha[i])
		if i+1 < k {
			t.SetSym(i, i+1, beta[i])
		}
	}
	var es mat.EigenSym
	if !es.Factorize(t, true) {
		// EigenSym fails only on non-finite input, which the caller rules out.
		return math.NaN(), make([]float64, k)
	}
	vals := es.Values(nil) // ascending
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	top := make([]float64, k)
	for i := range top {
		top[i] = vecs.At(i, k-1)
	}
	return vals[k-1], top
}

// Trace estimates the trace of op with Hutchinson's estimator: the mean of
// zᵀH·z over samples Rademacher vectors z (entries ±1 with equal odds),
// unbiased with variance 2(‖H‖²_F − Σ H_ii²)/samples. It returns the mean and
// its standard error (the sample standard deviation over √samples; 0 for one
// sample).
func Trace(ctx stdctx.Context, op Operator, samples int, seed int64) (mean, stderr float64, err error) {
	if samples < 1 {
		return 0, 0, fmt.Errorf("trace: samples must be ≥ 1, got %d", samples)
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x7ace))
	z := make([]float64, op.Dim())
	vals := make([]float64, samples)
	for s := range vals {
		if err := interrupted(ctx, "trace estimate"); err != nil {
			return 0, 0, err
		}
		for i := range z {
			z[i] = float64(2*rng.IntN(2) - 1)
		}
		hz, err := op.Apply(z)
		if err != nil {
			return 0, 0, err
		}
		vals[s] = dot(z, hz)
	}
	for _, v := range vals {
		mean += v
	}
	mean /= float64(samples)
	if samples > 1 {
		var ss float64
		for _, v := range vals {
			ss += (v - mean) * (v - mean)
		}
		stderr = math.Sqrt(ss/float64(samples-1)) / math.Sqrt(float64(samples))
	}
	return mean, stderr, nil
}
