package diagnostics

import (
	stdctx "context"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/graphexec"
	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

// quadraticStep returns a range-test step running plain gradient descent on
// f(w) = ½·Σ a_i·w_i² from w0, through GoMLX and the optimizer's learning-rate
// variable, as LRFind drives a network.
func quadraticStep(t *testing.T, a, w0 []float64) func(k int, lr float64) (float64, error) {
	t.Helper()
	store := model.NewStore()
	wVar := store.VariableWithValue("/w", append([]float64(nil), w0...))
	opt := optimizers.MustParse("sgd")
	exec, err := model.NewExec(testBackend(t), store, func(scope *model.Scope, g *graph.Graph) *graph.Node {
		w := wVar.NodeValue(g)
		loss := graph.MulScalar(graph.ReduceAllSum(graph.Mul(graph.Const(g, a), graph.Square(w))), 0.5)
		opt.UpdateGraph(scope, g, loss)
		return loss
	})
	if err != nil {
		t.Fatal(err)
	}
	return func(k int, lr float64) (float64, error) {
		if k == 0 {
			opt = opt.WithSchedule(nil)
			var err error
			if opt, err = opt.With("lr", lr); err != nil {
				return 0, err
			}
		} else if err := optimizers.SetBaseLearningRate(store, lr); err != nil {
			return 0, err
		}
		outs, err := graphexec.Call(exec)
		if err != nil {
			return 0, err
		}
		return graphexec.Scalar(outs[0]), nil
	}
}

// TestRangeTestFindsGDStabilityLimit: gradient descent on a quadratic of top
// curvature λ_max diverges exactly when η > 2/λ_max. Started on the top
// eigenvector, the loss falls at every step below that rate and rises at
// every step above it, so the divergence point is the first rate of the grid
// above 2/λ_max. From a general start the slower directions still fall for a
// while and mask the rise, so the point can only come later, never earlier.
func TestRangeTestFindsGDStabilityLimit(t *testing.T) {
	a := []float64{1, 4, 10}
	const limit = 2.0 / 10
	cfg := RangeConfig{MinLR: 1e-3, MaxLR: 1, Steps: 100, Smoothing: 1}
	r, err := LRRangeTest(stdctx.Background(), quadraticStep(t, a, []float64{0, 0, 1}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ratio := math.Pow(cfg.MaxLR/cfg.MinLR, 1/float64(cfg.Steps-1))
	if !r.Diverged || !(r.Divergence > limit && r.Divergence <= limit*ratio) {
		t.Errorf("divergence at lr %v (diverged %v), want the first grid rate in (%v, %v]", r.Divergence, r.Diverged, limit, limit*ratio)
	}
	if r.Minimum > r.Divergence || r.Steepest > r.Minimum {
		t.Errorf("steepest %v ≤ minimum %v ≤ divergence %v does not hold", r.Steepest, r.Minimum, r.Divergence)
	}
	for k := 1; k < len(r.LR); k++ {
		if math.Abs(r.LR[k]/r.LR[k-1]-ratio) > 1e-9 {
			t.Fatalf("rates not geometric at step %d: %v → %v", k, r.LR[k-1], r.LR[k])
		}
	}
	general, err := LRRangeTest(stdctx.Background(), quadraticStep(t, a, []float64{1, 1, 1}), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if general.Diverged && general.Divergence <= limit {
		t.Errorf("from (1, 1, 1): divergence at %v, below the stability limit %v", general.Divergence, limit)
	}
	if !strings.Contains(r.Rule, "bias correction") {
		t.Errorf("rule %q does not state the smoothing", r.Rule)
	}
}

func TestSmoothingIsABiasCorrectedEMA(t *testing.T) {
	losses := []float64{5, 4, 6, 3, 2, 2.5, 1, 30, 200}
	r, err := LRRangeTest(stdctx.Background(), func(k int, _ float64) (float64, error) { return losses[k], nil },
		RangeConfig{Steps: len(losses), Smoothing: 4})
	if err != nil {
		t.Fatal(err)
	}
	beta, ema := 0.75, 0.0
	for k, s := range r.Smoothed {
		ema = beta*ema + (1-beta)*losses[k]
		if want := ema / (1 - math.Pow(beta, float64(k+1))); math.Abs(s-want) > 1e-12 {
			t.Errorf("ŝ_%d = %v, want %v", k, s, want)
		}
	}
	if r.Smoothed[0] != losses[0] {
		t.Errorf("the bias-corrected average starts at the first loss, got %v", r.Smoothed[0])
	}
	// ŝ exceeds 4 × its minimum at the last step: stopped there, rising since step 7.
	if !r.Diverged || len(r.Loss) != len(losses) || r.Divergence != r.LR[6] {
		t.Errorf("diverged %v after %d steps at %v, want at step 7's lr %v", r.Diverged, len(r.Loss), r.Divergence, r.LR[6])
	}
}

func TestRangeConfigErrors(t *testing.T) {
	step := func(int, float64) (float64, error) { return 1, nil }
	for _, tc := range []struct {
		cfg  RangeConfig
		want string
	}{
		{RangeConfig{MinLR: 1, MaxLR: 0.5}, "need 0 < min lr < max lr, got 1 and 0.5"},
		{RangeConfig{MinLR: -1}, "need 0 < min lr < max lr"},
		{RangeConfig{Steps: 3}, "steps must be ≥ 5, got 3"},
		{RangeConfig{Smoothing: -1}, "smoothing must be ≥ 1 step"},
		{RangeConfig{DivergeFactor: 0.5}, "divergence factor must be > 1, got 0.5"},
	} {
		if _, err := LRRangeTest(stdctx.Background(), step, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
	r, err := LRRangeTest(stdctx.Background(), step, RangeConfig{Steps: 6})
	if err != nil || r.Diverged || r.Divergence != 0 {
		t.Errorf("a flat loss: %v, diverged %v at %v", err, r.Diverged, r.Divergence)
	}
}

func TestLRFindOnMLP(t *testing.T) {
	data, err := optlab.LoadData("", datasets.SplitTest, 2000)
	if err != nil {
		t.Fatal(err)
	}
	cfg := LRFindConfig{Model: "mlp-small", Seed: 1, Optimizer: optimizers.MustParse("sgd(momentum=0.9)"),
		RangeConfig: RangeConfig{MinLR: 1e-4, MaxLR: 30, Steps: 60}}
	r, err := LRFind(stdctx.Background(), testBackend(t), data.Train, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Diverged || !(r.Steepest < r.Divergence) || r.Minimum > r.Divergence || r.Label != "mlp-small · sgd" {
		t.Errorf("steepest %v, minimum %v, divergence %v (diverged %v), label %q", r.Steepest, r.Minimum, r.Divergence, r.Diverged, r.Label)
	}
	if min := minOf(r.Loss); !(min < 0.7*r.Loss[0]) {
		t.Errorf("the loss never fell: first %v, lowest %v", r.Loss[0], min)
	}
	if _, err := LRFind(stdctx.Background(), testBackend(t), data.Train, LRFindConfig{Model: "mlp-small",
		Optimizer: optimizers.MustParse("adam(schedule=cosine(steps=10))")}); err == nil || !strings.Contains(err.Error(), "has a schedule") {
		t.Errorf("schedule: %v", err)
	}
	if _, err := LRFind(stdctx.Background(), testBackend(t), data.Train.Slice("tiny", 0, 10), LRFindConfig{Model: "mlp-small",
		Optimizer: optimizers.MustParse("adam")}); err == nil || !strings.Contains(err.Error(), "needs at least that many training examples") {
		t.Errorf("tiny data: %v", err)
	}
}

func minOf(xs []float64) float64 {
	m := math.Inf(1)
	for _, x := range xs {
		m = math.Min(m, x)
	}
	return m
}
