package landscape

import "testing"

// TestBestRates: on the quadratic bowl, plain gradient descent's best rate
// of a grid is the largest stable one, a rate beyond the limit is never
// chosen, and a format whose every rate diverges gets −1.
func TestBestRates(t *testing.T) {
	backend := goBackend(t)
	// κ = 20: gradient descent is stable below 2/20 = 0.1.
	res, best, err := BestRates(backend, "ill-conditioned", []string{"sgd(lr=%g)", "sgd(lr=%g,momentum=0.999)"}, []float64{0.01, 0.05, 0.2}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Runs) != 6 || len(best) != 2 {
		t.Fatalf("%d runs, %d bests", len(res.Runs), len(best))
	}
	if best[0] != 1 {
		t.Errorf("gradient descent's best run is %d (%s), want 1 (lr=0.05)", best[0], res.Runs[max(best[0], 0)].Spec)
	}
	if res.Runs[2].Loss < res.Runs[2].Trace.Loss[0] {
		t.Errorf("lr=0.2 > 2/λmax came down: %v", res.Runs[2].Loss)
	}
	// Rates far beyond the limit overflow float64 within 400 steps.
	if _, all, err := BestRates(backend, "ill-conditioned", []string{"sgd(lr=%g)"}, []float64{1, 2}, 400); err != nil || all[0] != -1 {
		t.Errorf("every rate diverged: best %v, %v; want −1", all, err)
	}
	sub := res.Subset([]int{best[0], -1, 7})
	if len(sub.Runs) != 1 || sub.Runs[0].Spec != "sgd(lr=0.05)" || len(res.Runs) != 6 {
		t.Errorf("subset: %d runs", len(sub.Runs))
	}
	if _, _, err := BestRates(backend, "ill-conditioned", nil, []float64{0.1}, 10); err == nil {
		t.Error("no formats: no error")
	}
}
