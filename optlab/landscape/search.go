package landscape

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// RandomSearch counts the loss evaluations a search without gradients needs
// to cut f(w) = ½‖w‖² by factor, from w = (1, …, 1) in n dimensions: the
// (1+1) evolution strategy, which proposes w + σ·z with z standard normal and
// keeps the proposal when it is better, with the step σ = 1.2·‖w‖/n that is
// close to optimal on this function (Rechenberg's classic analysis). It gives
// up after maxEvals evaluations. Gradient descent with learning rate ½ needs
// ⌈log₄ factor⌉ steps whatever n is: the comparison notebook 01 draws.
func RandomSearch(n int, factor float64, seed uint64, maxEvals int) (int, error) {
	if n < 1 || n > 1_000_000 {
		return 0, fmt.Errorf("random search: %d dimensions, need 1 to 1,000,000", n)
	}
	if !(factor > 1) || math.IsInf(factor, 0) {
		return 0, fmt.Errorf("random search: factor %g must be a number > 1", factor)
	}
	r := rand.New(rand.NewPCG(seed, 7))
	w := make([]float64, n)
	for i := range w {
		w[i] = 1
	}
	f := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x * x / 2
		}
		return s
	}
	f0, fw := f(w), f(w)
	cand := make([]float64, n)
	for evals := 1; evals <= maxEvals; evals++ {
		sigma := 1.2 * math.Sqrt(2*fw) / float64(n)
		for i := range w {
			cand[i] = w[i] + sigma*r.NormFloat64()
		}
		if fc := f(cand); fc < fw {
			copy(w, cand)
			fw = fc
		}
		if fw <= f0/factor {
			return evals, nil
		}
	}
	return 0, fmt.Errorf("random search in %d dimensions: not %g× lower after %d evaluations", n, factor, maxEvals)
}
