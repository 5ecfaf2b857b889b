package landscape_test

import (
	"fmt"
	"math"

	"optlab.dev/optlab"
	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/landscape"
	"optlab.dev/optlab/optimizers"
)

// Full-batch gradient descent and SGD with a batch of one on Booth's function
// with noisy gradients: the full batch converges to the minimum (1, 3), the
// single-term batches end up jittering near it.
func ExampleTraceStochastic() {
	backend, err := optlab.NewBackend("go")
	if err != nil {
		panic(err)
	}
	booth, err := functions.Get("booth")
	if err != nil {
		panic(err)
	}
	p, err := landscape.NoisyFunction(booth, 64, 1, 1)
	if err != nil {
		panic(err)
	}
	p.W0 = []float64{0, 0}
	for _, batch := range []int{0, 1} {
		tr, err := landscape.TraceStochastic(backend, optimizers.MustParse("sgd(lr=0.02)"), p,
			landscape.StochasticConfig{Steps: 500, BatchSize: batch, Seed: 1})
		if err != nil {
			panic(err)
		}
		w := tr.Final()
		fmt.Printf("batch %d: near the minimum: %v, exactly on it: %v\n", batch,
			math.Hypot(w[0]-1, w[1]-3) < 0.5, math.Hypot(w[0]-1, w[1]-3) < 1e-6)
	}
	// Output:
	// batch 0: near the minimum: true, exactly on it: true
	// batch 1: near the minimum: true, exactly on it: false
}
