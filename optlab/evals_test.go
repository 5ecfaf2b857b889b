package optlab

import (
	stdctx "context"
	"math"
	"slices"
	"testing"

	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

// TestEvalEvery checks the evaluations of Config.EvalEvery: at every
// multiple of the interval and at every epoch's end, the latter equal to the
// epoch's own validation metrics, with training losses that add up to the
// epochs' and training time that excludes them; and that they do not change
// training (mlp-bn draws dropout masks from the RNG an evaluation could move).
func TestEvalEvery(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitHoldout5k, 600) // 19 steps an epoch, the last one of 24 examples
	cfg := Config{Model: "mlp-bn", Optimizer: optimizers.MustParse("adam(lr=0.003)"), Epochs: 2, BatchSize: 32, Seed: 2}
	plain, err := Train(stdctx.Background(), b, data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(plain.Evals) != 0 {
		t.Errorf("without EvalEvery: %d evaluations recorded, want none", len(plain.Evals))
	}
	cfg.EvalEvery = 5
	h, err := Train(stdctx.Background(), b, data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := deterministic(h), deterministic(plain); len(got.Epochs) != len(want.Epochs) || got.TestAccuracy != want.TestAccuracy {
		t.Fatalf("evaluating every 5 steps changed training: test accuracy %v, without %v", got.TestAccuracy, want.TestAccuracy)
	}
	for i := range plain.Epochs {
		a, c := plain.Epochs[i], h.Epochs[i]
		if a.Loss != c.Loss || a.ValAccuracy != c.ValAccuracy || a.ValLoss != c.ValLoss {
			t.Errorf("epoch %d changed by the evaluations: %+v, without %+v", i+1, c, a)
		}
	}
	var steps []int
	for _, e := range h.Evals {
		steps = append(steps, e.Step)
	}
	if want := []int{5, 10, 15, 19, 20, 25, 30, 35, 38}; !slices.Equal(steps, want) {
		t.Fatalf("evaluations at steps %v, want %v", steps, want)
	}
	for i, ep := range h.Epochs {
		end := h.Evals[slices.Index(steps, ep.Steps)]
		if end.ValAccuracy != ep.ValAccuracy || end.ValLoss != ep.ValLoss {
			t.Errorf("epoch %d's end evaluation %+v differs from the epoch's %+v", i+1, end, ep)
		}
	}
	// The losses between evaluations, weighted by their examples, add up to
	// each epoch's mean loss.
	prev, sum, epoch := 0, 0.0, 0
	for _, e := range h.Evals {
		examples := 0.0
		for s := prev + 1; s <= e.Step; s++ {
			if s%19 == 0 {
				examples += 24 // the last step of an epoch
			} else {
				examples += 32
			}
		}
		sum += e.Loss * examples
		prev = e.Step
		if e.Step == h.Epochs[epoch].Steps {
			if got, want := sum/600, h.Epochs[epoch].Loss; math.Abs(got-want) > 1e-9*math.Abs(want) {
				t.Errorf("epoch %d: evaluation losses average to %v, the epoch's loss is %v", epoch+1, got, want)
			}
			sum, epoch = 0, epoch+1
		}
	}
	var trained float64
	for _, ep := range h.Epochs {
		trained += ep.Seconds
	}
	for i, e := range h.Evals {
		if e.ValAccuracy <= 0 || e.ValAccuracy > 1 || !(e.ValLoss > 0) {
			t.Errorf("evaluation %d: implausible metrics %+v", i, e)
		}
		if i > 0 && e.Seconds < h.Evals[i-1].Seconds {
			t.Errorf("evaluation %d: training time went back: %v after %v", i, e.Seconds, h.Evals[i-1].Seconds)
		}
	}
	if last := h.Evals[len(h.Evals)-1].Seconds; math.Abs(last-trained) > 1e-6 {
		t.Errorf("last evaluation after %v s of training, the epochs trained %v s", last, trained)
	}
}
