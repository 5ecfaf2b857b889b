package population_test

import (
	"context"
	"fmt"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/population"
)

// Train a learning-rate sweep of SGD with momentum — three rates, two seeds —
// as one population of six members: one compiled graph, each member on the
// batches and from the weights its own run would have.
func ExampleTrain() {
	backend, err := optlab.NewBackend("go")
	if err != nil {
		panic(err)
	}
	data, err := optlab.LoadData("", datasets.SplitTest, 1200)
	if err != nil {
		panic(err)
	}
	var cfgs []optlab.Config
	for _, seed := range []int64{1, 2} {
		for _, lr := range []float64{0.01, 0.03, 0.1} {
			opt, err := optimizers.Momentum(optimizers.SGDConfig{LR: lr, Momentum: 0.9})
			if err != nil {
				panic(err)
			}
			cfgs = append(cfgs, optlab.Config{Model: "mlp-small", Optimizer: opt, Epochs: 2, BatchSize: 32, Seed: seed})
		}
	}
	hs, err := population.Train(context.Background(), backend, data, cfgs)
	if err != nil {
		panic(err)
	}
	for _, h := range hs {
		fmt.Printf("seed %d lr %-4g: %d epochs, members %d, test accuracy above 70%%: %v\n",
			h.Seed, h.Epochs[0].LR, len(h.Epochs), h.Members, h.TestAccuracy > 0.7)
	}
	// Output:
	// seed 1 lr 0.01: 2 epochs, members 6, test accuracy above 70%: true
	// seed 1 lr 0.03: 2 epochs, members 6, test accuracy above 70%: true
	// seed 1 lr 0.1 : 2 epochs, members 6, test accuracy above 70%: true
	// seed 2 lr 0.01: 2 epochs, members 6, test accuracy above 70%: true
	// seed 2 lr 0.03: 2 epochs, members 6, test accuracy above 70%: true
	// seed 2 lr 0.1 : 2 epochs, members 6, test accuracy above 70%: true
}
