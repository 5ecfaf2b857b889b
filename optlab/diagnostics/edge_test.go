package diagnostics

import (
	"math"
	"strings"
	"testing"

	"optlab.dev/optlab"
)

// fullBatchRun is a history of full-batch gradient descent at rate lr (one
// update per epoch) with the given losses and sharpness series.
func fullBatchRun(lr float64, losses []float64, steps []int, sharpness []float64) *optlab.History {
	h := &optlab.History{Optimizer: "sgd", Label: "gd"}
	for i, l := range losses {
		h.Epochs = append(h.Epochs, optlab.Epoch{Epoch: i + 1, Loss: l, Steps: i + 1, LR: lr})
	}
	if steps != nil {
		h.Probes = []optlab.ProbeSeries{{Name: "sharpness", Steps: steps, Values: sharpness}}
	}
	return h
}

func TestEdgeOfStability(t *testing.T) {
	// 2/η = 10. The sharpness reaches 0.9 × 10 at step 4, then hovers.
	losses := []float64{2.3, 2.0, 1.7, 1.5, 1.6, 1.4, 1.45, 1.3}
	h := fullBatchRun(0.2, losses, []int{0, 2, 4, 6, 8}, []float64{2, 6, 9.5, 10.5, 9})
	e, err := EdgeOfStability(h, 0.9)
	if err != nil {
		t.Fatal(err)
	}
	if e.Limit != 10 || e.Start != 2 || e.Reached != 4 || e.N != 3 {
		t.Fatalf("edge %+v", e)
	}
	if math.Abs(e.Mean-(0.95+1.05+0.9)/3) > 1e-12 || e.Min != 0.9 || e.Max != 1.05 {
		t.Errorf("mean %v, min %v, max %v", e.Mean, e.Min, e.Max)
	}
	// Epochs 5..8 start at step ≥ 4: losses 1.6 (rise), 1.4, 1.45 (rise), 1.3.
	if e.Rises != 2 || e.Epochs != 4 {
		t.Errorf("rises %d of %d epochs, want 2 of 4", e.Rises, e.Epochs)
	}
	// A run that never reaches the limit.
	low, err := EdgeOfStability(fullBatchRun(0.01, losses, []int{0, 4}, []float64{2, 3}), 0.9)
	if err != nil || low.Reached != -1 || low.N != 0 || low.Epochs != 0 {
		t.Errorf("never reached: %+v, %v", low, err)
	}
	for _, c := range []struct {
		name     string
		h        *optlab.History
		fraction float64
		want     string
	}{
		{"no run", nil, 0.9, "no run"},
		{"no series", fullBatchRun(0.2, losses, nil, nil), 0.9, "no sharpness series"},
		{"no rate", fullBatchRun(0, losses, []int{0}, []float64{1}), 0.9, "learning rate"},
		{"fraction 0", h, 0, "fraction"},
		{"fraction above 1", h, 1.5, "fraction"},
	} {
		if _, err := EdgeOfStability(c.h, c.fraction); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.name, err, c.want)
		}
	}
}
