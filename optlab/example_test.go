package optlab_test

import (
	"context"
	"fmt"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

// ExampleTrain is the README's Go API example (compiled, not run: it trains
// for minutes).
func ExampleTrain() {
	ctx := context.Background()
	backend, _ := optlab.NewBackend("") // pure Go unless GOMLX_BACKEND says otherwise
	data, _ := optlab.LoadData("", datasets.SplitTest, 0)
	h, err := optlab.Train(ctx, backend, data, optlab.Config{
		Model: "mlp-small", Optimizer: optimizers.MustParse("adam(lr=1e-3)"), Epochs: 5, BatchSize: 32, Seed: 1,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(h.TestAccuracy, h.Epochs[4].ValLoss)
}
