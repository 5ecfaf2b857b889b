package diagnostics_test

import (
	"context"
	"fmt"

	"optlab.dev/optlab"
	"optlab.dev/optlab/diagnostics"
	"optlab.dev/optlab/functions"
)

// The sharpness of Rosenbrock's valley at its minimum (1, 1): the Hessian is
// [[802, −400], [−400, 200]], whose top eigenvalue is 1001.6, so gradient
// descent there is stable only for learning rates below 2/1001.6 ≈ 0.002.
func ExampleNewFunctionHessian() {
	backend, err := optlab.NewBackend("go")
	if err != nil {
		panic(err)
	}
	h, err := diagnostics.NewFunctionHessian(backend, functions.Rosenbrock().Graph, []float64{1, 1}, diagnostics.HVPExact)
	if err != nil {
		panic(err)
	}
	col, _ := h.Apply([]float64{1, 0})
	fmt.Printf("H·e₁ = (%.0f, %.0f)\n", col[0], col[1])
	e, err := diagnostics.TopEigenvalue(context.Background(), h, diagnostics.EigenConfig{Tol: 1e-9})
	if err != nil {
		panic(err)
	}
	fmt.Printf("λ_max = %.1f, stable for η < %.5f\n", e.Value, 2/e.Value)
	// Output:
	// H·e₁ = (802, -400)
	// λ_max = 1001.6, stable for η < 0.00200
}

// A range test of plain gradient descent on f(w) = 5·w² (curvature 10):
// the loss falls at every rate below 2/10 and rises above it.
func ExampleLRRangeTest() {
	w := 1.0
	step := func(_ int, lr float64) (float64, error) {
		loss := 5 * w * w
		w -= lr * 10 * w
		return loss, nil
	}
	r, err := diagnostics.LRRangeTest(context.Background(), step, diagnostics.RangeConfig{MinLR: 1e-3, MaxLR: 1, Steps: 100, Smoothing: 1})
	if err != nil {
		panic(err)
	}
	fmt.Printf("divergence at lr %.3f (2/λ = 0.2), after %d steps\n", r.Divergence, len(r.LR))
	// Output:
	// divergence at lr 0.201 (2/λ = 0.2), after 81 steps
}
