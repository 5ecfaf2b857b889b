package population

import (
	stdctx "context"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

var (
	mnistOnce sync.Once
	mnist     *datasets.Set
	mnistErr  error
)

func testData(t *testing.T, split datasets.DataSplit, limit int) *optlab.Data {
	t.Helper()
	mnistOnce.Do(func() { mnist, mnistErr = datasets.LoadMNIST("") })
	if mnistErr != nil {
		t.Fatalf("LoadMNIST: %v", mnistErr)
	}
	d, err := optlab.SplitData(mnist, split, limit)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testBackend(t *testing.T) compute.Backend {
	t.Helper()
	b, err := optlab.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// configs returns one config per spec with the given seeds.
func configs(model string, specs []string, seeds []int64, epochs, batch int) []optlab.Config {
	var out []optlab.Config
	for k, s := range specs {
		out = append(out, optlab.Config{Model: model, Optimizer: optimizers.MustParse(s), Epochs: epochs,
			BatchSize: batch, Seed: seeds[k], EvalBatchSize: 100})
	}
	return out
}

// runPopulation trains cfgs as a population and returns the histories and
// the final store.
func runPopulation(t *testing.T, backend compute.Backend, data *optlab.Data, cfgs []optlab.Config) ([]*optlab.History, *model.Store) {
	t.Helper()
	var store *model.Store
	hs, err := TrainWith(stdctx.Background(), backend, data, cfgs, Options{finished: func(s *model.Store) { store = s }})
	if err != nil {
		t.Fatal(err)
	}
	return hs, store
}

// weightDiff returns the largest difference between member k's weights in a
// population store and a network's own, relative to the root mean square of
// the network's variable (so that weights near zero count at their
// variable's scale), and the variable where it is.
func weightDiff(t *testing.T, pop *model.Store, K, k int, net *model.Store) (worst float64, where string) {
	t.Helper()
	n := 0
	for v := range net.Scope("/model").IterVariables() {
		pv := pop.GetVariable(v.Path())
		if pv == nil {
			t.Fatalf("population has no %s", v.Path())
		}
		all := tensors.MustCopyFlatData[float32](pv.MustValue())
		one := tensors.MustCopyFlatData[float32](v.MustValue())
		if len(all) != K*len(one) {
			t.Fatalf("%s: %d values for %d members of %d", v.Path(), len(all), K, len(one))
		}
		var ss float64
		for _, w := range one {
			ss += float64(w) * float64(w)
		}
		rms := math.Max(math.Sqrt(ss/float64(len(one))), 1e-6)
		for i, w := range one {
			d := math.Abs(float64(all[k*len(one)+i])-float64(w)) / rms
			if d > worst || math.IsNaN(d) {
				worst, where = d, fmt.Sprintf("%s[%d] = %g, alone %g", v.Path(), i, all[k*len(one)+i], w)
			}
		}
		n++
	}
	if n == 0 {
		t.Fatal("no weights compared")
	}
	return worst, where
}

// TestMatchesSequentialRuns is the population's contract: member k follows
// the run optlab.Train would make with its configuration. After 1, 2 and 5
// steps (each a one-epoch run on that many batches) the members' mean losses
// and weights agree with their own runs to float32 tolerance, for plain and
// batch-norm models, several optimizers and mixed seeds and hyperparameters.
//
// The tolerance is measured, not guessed: the same run alone computed with
// GoMLX's own gradients instead of models.FastMatMul's adds the same numbers
// in another order, and the population may differ from the run alone by at
// most three times that much (plus 1e-6 of the loss and of the weights'
// scale, float32 rounding). Measured on the pure-Go backend: step-1 losses
// are identical with AVX2 kernels and differ by ~1e-7 with AVX-512 ones; weights after 1–5 steps
// differ by up to ~1e-6 of their scale with SGD, ~2e-5 with Adam (lr 1e-3),
// and ~3e-4 with Adam at ε = 1e-6, whose step g/(|g| + ε) magnifies the
// rounding of gradients near ε — in each case as much as the run alone
// differs from itself computed the other way.
func TestMatchesSequentialRuns(t *testing.T) {
	backend := testBackend(t)
	const batch = 16
	for _, tc := range []struct {
		model string
		specs []string
		seeds []int64
	}{
		{"mlp-small", []string{"adam(lr=1e-3)", "adam(lr=3e-3,b2=0.99)", "adam(lr=1e-2,eps=1e-6,weight_decay=1e-4)"}, []int64{1, 2, 3}},
		{"mlp-bn", []string{"sgd(lr=0.05,momentum=0.9)", "sgd(lr=0.01)", "sgd(lr=0.1,momentum=0.5,schedule=cosine(steps=5))"}, []int64{4, 4, 5}},
		{"logreg", []string{"rmsprop(lr=1e-3)", "rmsprop(lr=1e-2,rho=0.9,momentum=0.5)"}, []int64{6, 7}},
	} {
		for _, steps := range []int{1, 2, 5} {
			t.Run(fmt.Sprintf("%s/%d-steps", tc.model, steps), func(t *testing.T) {
				data := testData(t, datasets.SplitTest, steps*batch)
				data.Val, data.Test = data.Val.Slice("val", 0, 100), data.Test.Slice("test", 0, 100)
				cfgs := configs(tc.model, tc.specs, tc.seeds, 1, batch)
				hs, store := runPopulation(t, backend, data, cfgs)
				type diff struct{ loss, weights, floorLoss, floorWeights float64 }
				diffs := make([]diff, len(cfgs))
				var floorL, floorW float64 // the noise level of this case: the largest over members
				for k, cfg := range cfgs {
					alone := func(opts *models.Options) (*optlab.History, *model.Store) {
						net, err := optlab.NewNetwork(backend, cfg.Model, cfg.Seed, opts)
						if err != nil {
							t.Fatal(err)
						}
						h, err := net.Fit(stdctx.Background(), data, cfg)
						if err != nil {
							t.Fatal(err)
						}
						return h, net.Store()
					}
					want, wantStore := alone(nil)
					other, otherStore := alone(&models.Options{}) // GoMLX's own gradients
					got := hs[k]
					if got.Err != "" || len(got.Epochs) != 1 || got.Members != len(cfgs) || got.Seed != cfg.Seed {
						t.Fatalf("member %d: %+v", k, got)
					}
					relLoss := func(h *optlab.History) float64 {
						return math.Abs(h.Epochs[0].Loss-want.Epochs[0].Loss) / want.Epochs[0].Loss
					}
					d := &diffs[k]
					d.loss, d.floorLoss = relLoss(got), relLoss(other)
					d.weights, _ = weightDiff(t, store, len(cfgs), k, wantStore)
					d.floorWeights, _ = weightDiff(t, otherStore, 1, 0, wantStore)
					floorL, floorW = max(floorL, d.floorLoss), max(floorW, d.floorWeights)
					// Before any update only the initial weights and the batch
					// matter: a wrong one moves the loss by ~1e-2, while the
					// batched product's other summation order (AVX-512 kernels
					// block a member's product differently from a plain one)
					// moves it by float32 rounding, ~1e-7.
					if steps == 1 && d.loss > 1e-6 {
						t.Errorf("member %d: the first step's loss %.9g differs from the run alone's %.9g: the initial weights or the batch differ",
							k, got.Epochs[0].Loss, want.Epochs[0].Loss)
					}
					if got.Params != want.Params || got.StateBytes != want.StateBytes || got.Optimizer != want.Optimizer {
						t.Errorf("member %d: params %d state %d %s, alone %d %d %s", k, got.Params, got.StateBytes, got.Optimizer,
							want.Params, want.StateBytes, want.Optimizer)
					}
				}
				for k, d := range diffs {
					t.Logf("member %d %s: loss differs by %.2g (alone computed the other way: %.2g), weights by %.2g of their scale (%.2g)",
						k, cfgs[k].Optimizer, d.loss, d.floorLoss, d.weights, d.floorWeights)
					if d.loss > 3*floorL+1e-6 || d.weights > 3*floorW+1e-6 {
						t.Errorf("member %d (%s): loss differs by %.2g (tolerance %.2g), weights by %.2g of their scale (tolerance %.2g)",
							k, cfgs[k].Optimizer, d.loss, 3*floorL+1e-6, d.weights, 3*floorW+1e-6)
					}
				}
			})
		}
	}
}

// TestFinalMetricsMatchSequentialRuns: over two epochs of 2,000 images the
// members' final metrics agree with their runs alone within run-to-run noise.
// The noise is measured as in TestMatchesSequentialRuns, by the run alone
// computed with GoMLX's own gradients: summation order alone moves mlp-bn's
// test accuracy by up to about a point (3 of 333 test images) and its final
// training loss by up to ~5% at lr 1e-2 (measured on the pure-Go backend), and
// the population's members move as much and no more.
func TestFinalMetricsMatchSequentialRuns(t *testing.T) {
	if testing.Short() {
		t.Skip("trains 3 × 4 models for two epochs")
	}
	backend := testBackend(t)
	data := testData(t, datasets.SplitTest, 2000)
	cfgs := configs("mlp-bn", []string{"adam(lr=1e-3)", "adam(lr=3e-3)", "adam(lr=1e-2)", "adam(lr=3e-4)"}, []int64{1, 2, 3, 1}, 2, 32)
	hs, _ := runPopulation(t, backend, data, cfgs)
	var floorAcc, floorLoss float64
	type diff struct{ acc, loss float64 }
	diffs := make([]diff, len(cfgs))
	for k, cfg := range cfgs {
		want, err := optlab.Train(stdctx.Background(), backend, data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.ModelOptions = &models.Options{} // the same run, summed in another order
		other, err := optlab.Train(stdctx.Background(), backend, data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		rel := func(h *optlab.History) float64 {
			return math.Abs(h.Epochs[1].Loss-want.Epochs[1].Loss) / want.Epochs[1].Loss
		}
		got := hs[k]
		diffs[k] = diff{math.Abs(got.TestAccuracy - want.TestAccuracy), rel(got)}
		floorAcc = max(floorAcc, math.Abs(other.TestAccuracy-want.TestAccuracy))
		floorLoss = max(floorLoss, rel(other))
		t.Logf("member %d %s: test accuracy %.4f, alone %.4f (other order %.4f); epoch-2 loss %.5f, alone %.5f (other order %.5f)",
			k, cfg.Optimizer, got.TestAccuracy, want.TestAccuracy, other.TestAccuracy, got.Epochs[1].Loss, want.Epochs[1].Loss, other.Epochs[1].Loss)
	}
	accTol := 3*floorAcc + 2/float64(data.Test.Len())
	lossTol := 3*floorLoss + 1e-3
	for k, d := range diffs {
		if d.acc > accTol || d.loss > lossTol {
			t.Errorf("member %d (%s): test accuracy differs by %.4f (tolerance %.4f), epoch-2 loss by %.3g relative (tolerance %.3g)",
				k, cfgs[k].Optimizer, d.acc, accTol, d.loss, lossTol)
		}
	}
}

// TestDivergedMemberIsFrozen: a member whose loss turns non-finite stops,
// is reported with its epoch, step and first non-finite variable, and keeps
// its finished epochs; the others finish as they would alone.
func TestDivergedMemberIsFrozen(t *testing.T) {
	backend := testBackend(t)
	data := testData(t, datasets.SplitTest, 600)
	cfgs := configs("mlp-small", []string{"sgd(lr=0.05)", "sgd(lr=1e4)", "sgd(lr=0.01)"}, []int64{1, 1, 2}, 2, 32)
	hs, err := Train(stdctx.Background(), backend, data, cfgs)
	if err != nil {
		t.Fatal(err)
	}
	bad := hs[1]
	if !bad.Diverged() || !strings.Contains(bad.Err, "at epoch 1, step") || !strings.Contains(bad.Err, "first non-finite variable: /") {
		t.Fatalf("diverged member's error %q: want diverged, its epoch and step, and a variable", bad.Err)
	}
	if len(bad.Epochs) != 0 {
		t.Errorf("diverged member has %d finished epochs, want 0", len(bad.Epochs))
	}
	for _, k := range []int{0, 2} {
		want, err := optlab.Train(stdctx.Background(), backend, data, cfgs[k])
		if err != nil {
			t.Fatal(err)
		}
		got := hs[k]
		if got.Err != "" || len(got.Epochs) != 2 {
			t.Fatalf("member %d: err %q, %d epochs", k, got.Err, len(got.Epochs))
		}
		if d := math.Abs(got.Epochs[1].Loss-want.Epochs[1].Loss) / want.Epochs[1].Loss; d > 1e-4 {
			t.Errorf("member %d's loss %.6f, alone %.6f: the diverged member disturbed it", k, got.Epochs[1].Loss, want.Epochs[1].Loss)
		}
	}
}

// TestInterruptKeepsEveryMember: cancelling stops the run and keeps every
// member's finished epochs.
func TestInterruptKeepsEveryMember(t *testing.T) {
	backend := testBackend(t)
	data := testData(t, datasets.SplitTest, 320)
	ctx, cancel := stdctx.WithCancel(stdctx.Background())
	cfgs := configs("logreg", []string{"sgd(lr=0.1)", "sgd(lr=0.2)"}, []int64{1, 2}, 3, 32)
	cfgs[0].OnEpoch = func(h *optlab.History) {
		if len(h.Epochs) == 1 {
			cancel()
		}
	}
	hs, err := Train(ctx, backend, data, cfgs)
	if err == nil || !strings.Contains(err.Error(), "interrupted in epoch 2") {
		t.Fatalf("error %v, want an interruption in epoch 2", err)
	}
	for k, h := range hs {
		if len(h.Epochs) != 1 || !strings.Contains(h.Err, "interrupted") {
			t.Errorf("member %d: %d epochs, err %q", k, len(h.Epochs), h.Err)
		}
	}
}

// TestReduceOnPlateauPerMember: each member lowers its own rate, when its
// run alone would.
func TestReduceOnPlateauPerMember(t *testing.T) {
	backend := testBackend(t)
	data := testData(t, datasets.SplitTest, 320)
	cfgs := configs("logreg", []string{"sgd(lr=0.1)", "sgd(lr=0.2)"}, []int64{1, 2}, 3, 32)
	// MinDelta 10: no epoch after the first improves enough, so the first
	// member's rate halves after epoch 2; the second member has no plateau.
	cfgs[0].Plateau = &optlab.Plateau{Factor: 0.5, Patience: 1, MinDelta: 10}
	hs, err := Train(stdctx.Background(), backend, data, cfgs)
	if err != nil {
		t.Fatal(err)
	}
	for k, cfg := range cfgs {
		want, err := optlab.Train(stdctx.Background(), backend, data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		// The run alone keeps its rate in float32, the population in float64.
		for i := range 3 {
			if got, alone := hs[k].Epochs[i].LR, want.Epochs[i].LR; math.Abs(got-alone) > 1e-7*alone {
				t.Errorf("member %d epoch %d: learning rate %v, alone %v", k, i+1, got, alone)
			}
		}
	}
	if hs[0].Epochs[2].LR != 0.05 || hs[1].Epochs[2].LR != 0.2 {
		t.Errorf("epoch-3 rates %v and %v, want 0.05 and 0.2", hs[0].Epochs[2].LR, hs[1].Epochs[2].LR)
	}
}

// TestConfigErrors: members must share their settings and optimizer
// structure; errors name the member and the value.
func TestConfigErrors(t *testing.T) {
	backend := testBackend(t)
	data := testData(t, datasets.SplitTest, 100)
	base := func() []optlab.Config {
		return configs("mlp-small", []string{"adam(lr=1e-3)", "adam(lr=1e-2)"}, []int64{1, 2}, 1, 32)
	}
	for _, tc := range []struct {
		name   string
		change func(cs []optlab.Config) []optlab.Config
		want   string
	}{
		{"none", func([]optlab.Config) []optlab.Config { return nil }, "no configurations"},
		{"batch size", func(cs []optlab.Config) []optlab.Config { cs[1].BatchSize = 64; return cs },
			"member 1 has batch size 64, member 0 has 32"},
		{"model", func(cs []optlab.Config) []optlab.Config { cs[1].Model = "logreg"; return cs }, "member 1 has model logreg"},
		{"family", func(cs []optlab.Config) []optlab.Config { cs[1].Optimizer = optimizers.MustParse("sgd"); return cs },
			"must share one structure"},
		{"bad epochs", func(cs []optlab.Config) []optlab.Config { cs[0].Epochs = 0; return cs }, "member 0: epochs must be ≥ 1"},
		{"no optimizer", func(cs []optlab.Config) []optlab.Config { cs[1].Optimizer = nil; return cs }, "member 1: no optimizer"},
		{"eval every", func(cs []optlab.Config) []optlab.Config { cs[1].EvalEvery = 10; return cs }, "member 1 has eval every 10, member 0 has 0"},
		{"negative eval every", func(cs []optlab.Config) []optlab.Config { cs[0].EvalEvery = -3; return cs }, "member 0: eval every must be ≥ 0 steps, got -3"},
		{"no member form", func(cs []optlab.Config) []optlab.Config {
			cs[0].Model, cs[1].Model = "cnn-small", "cnn-small"
			return cs
		}, "cnn-small cannot train as a population"},
		{"not stackable", func(cs []optlab.Config) []optlab.Config {
			cs[0].Optimizer, cs[1].Optimizer = optimizers.MustParse("muon"), optimizers.MustParse("muon(lr=0.01)")
			return cs
		}, "does not support stacked members"},
		{"sam", func(cs []optlab.Config) []optlab.Config {
			cs[0].Optimizer, cs[1].Optimizer = optimizers.MustParse("sam(base=sgd(lr=0.1))"), optimizers.MustParse("sam(base=sgd(lr=0.2))")
			return cs
		}, "wrappers (lookahead, sam, cautious, ema) do not train as a population (train it alone)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hs, err := Train(stdctx.Background(), backend, data, tc.change(base()))
			if err == nil || !strings.Contains(err.Error(), tc.want) || hs != nil {
				t.Fatalf("got %v (histories %v), want an error containing %q", err, hs, tc.want)
			}
		})
	}
}

// TestMemoryLimit: a population that would not fit is refused before any
// work, in one line naming K and the estimate.
func TestMemoryLimit(t *testing.T) {
	backend := testBackend(t)
	data := testData(t, datasets.SplitTest, 100)
	cfgs := configs("mlp-small", []string{"adam(lr=1e-3)", "adam(lr=1e-2)", "adam(lr=1e-1)"}, []int64{1, 2, 3}, 1, 32)
	m, err := Estimate(cfgs, 784)
	if err != nil {
		t.Fatal(err)
	}
	params := int64(784*128 + 128 + 128*64 + 64 + 64*10 + 10)
	if m.Members != 3 || m.Params != params || m.StateBytes != 8*params || m.ActivationBytes < 32*(784+128+64+10)*4 {
		t.Fatalf("estimate %+v", m)
	}
	if m.Total != 3*(m.ParamBytes+m.StateBytes+m.ActivationBytes)+m.InputBytes {
		t.Errorf("total %d is not the sum of %s", m.Total, m)
	}
	_, err = TrainWith(stdctx.Background(), backend, data, cfgs, Options{MemoryLimit: m.Total - 1})
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "population of 3 members needs about") {
		t.Fatalf("error %v: want one line naming 3 members and the estimate", err)
	}
	if _, err := TrainWith(stdctx.Background(), backend, data, cfgs, Options{MemoryLimit: m.Total}); err != nil {
		t.Errorf("a population that fits its limit: %v", err)
	}
}

// TestMemberModelOptions: the population sets Members itself.
func TestMemberModelOptions(t *testing.T) {
	cfgs := configs("mlp-small", []string{"adam"}, []int64{1}, 1, 32)
	cfgs[0].ModelOptions = &models.Options{FastDense: true, Members: 4}
	if _, err := Estimate(cfgs, 784); err == nil || !strings.Contains(err.Error(), "must not set Members") {
		t.Errorf("got %v", err)
	}
}

// TestTrainMany: configurations that can share a population train as one,
// the others alone; histories come back in the configurations' order.
func TestTrainMany(t *testing.T) {
	backend := testBackend(t)
	data := testData(t, datasets.SplitTest, 200)
	cfgs := configs("logreg", []string{"sgd(lr=0.1)", "adam(lr=1e-3)", "sgd(lr=0.2)", "muon", "adam(lr=1e-2)", "sgd(lr=0.05)"},
		[]int64{1, 1, 2, 1, 2, 3}, 1, 32)
	cfgs = append(cfgs, configs("logreg", []string{"sgd(lr=0.1)"}, []int64{1}, 1, 16)...) // another batch size
	// Wrappers train alone, sam with its two gradients.
	cfgs = append(cfgs, configs("logreg", []string{"sam(base=sgd(lr=0.1))", "sam(base=sgd(lr=0.2))"}, []int64{1, 2}, 1, 32)...)
	hs, err := TrainMany(stdctx.Background(), backend, data, cfgs, 2)
	if err != nil {
		t.Fatal(err)
	}
	// sgd: members 0, 2 together, 5 alone; adam: 1, 4 together; muon (no
	// population form), the batch of 16 and the wrappers alone.
	wantMembers := []int{2, 2, 2, 0, 2, 0, 0, 0, 0}
	for i, h := range hs {
		if h == nil || h.Seed != cfgs[i].Seed || h.Optimizer != cfgs[i].Optimizer.String() || h.Model != cfgs[i].Model {
			t.Fatalf("history %d is not configuration %d's: %+v", i, i, h)
		}
		if h.Members != wantMembers[i] {
			t.Errorf("configuration %d (%s %s) trained in a population of %d, want %d", i, cfgs[i].Model, cfgs[i].Optimizer, h.Members, wantMembers[i])
		}
	}
	if _, err := TrainMany(stdctx.Background(), backend, data, cfgs, 0); err == nil {
		t.Error("size 0 accepted")
	}
}

// TestSkipPolicyPerMember: with --non-finite skip, a member whose steps are
// not finite skips them alone and reports the epoch as its run alone does.
func TestSkipPolicyPerMember(t *testing.T) {
	backend := testBackend(t)
	data := testData(t, datasets.SplitTest, 600)
	cfgs := configs("logreg", []string{"sgd(lr=1e4)", "sgd(lr=0.1)"}, []int64{1, 1}, 1, 32)
	for k := range cfgs {
		cfgs[k].NonFinite = optlab.SkipNonFinite
	}
	hs, err := Train(stdctx.Background(), backend, data, cfgs)
	if err != nil {
		t.Fatal(err)
	}
	for k, cfg := range cfgs {
		want, err := optlab.Train(stdctx.Background(), backend, data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := hs[k]
		if got.Err != "" || len(got.Epochs) != 1 {
			t.Fatalf("member %d: err %q, %d epochs", k, got.Err, len(got.Epochs))
		}
		g, w := got.Epochs[0].Loss, want.Epochs[0].Loss
		if math.IsNaN(g) != math.IsNaN(w) || (!math.IsNaN(w) && math.Abs(g-w) > 1e-4*math.Abs(w)) || math.Abs(got.TestAccuracy-want.TestAccuracy) > 0.01 {
			t.Errorf("member %d (%s): loss %v accuracy %v, alone %v %v", k, cfg.Optimizer, g, got.TestAccuracy, w, want.TestAccuracy)
		}
	}
}

// TestEvalEvery: a population evaluates every member where its run alone
// would (every EvalEvery steps and at every epoch's end), with the same
// validation metrics up to the order of floating-point sums, and the
// epoch-end evaluations equal to the epochs' own.
func TestEvalEvery(t *testing.T) {
	backend := testBackend(t)
	data := testData(t, datasets.SplitTest, 300) // 10 steps an epoch, the last one of 12 examples
	cfgs := configs("mlp-small", []string{"adam(lr=1e-3)", "adam(lr=3e-3)"}, []int64{1, 2}, 2, 32)
	for k := range cfgs {
		cfgs[k].EvalEvery = 4
	}
	hs, _ := runPopulation(t, backend, data, cfgs)
	for k, cfg := range cfgs {
		alone, err := optlab.Train(stdctx.Background(), backend, data, cfg)
		if err != nil {
			t.Fatal(err)
		}
		got := hs[k]
		if len(got.Evals) != len(alone.Evals) || len(got.Evals) != 6 {
			t.Fatalf("member %d: %d evaluations, alone %d, want 6 (steps 4, 8, 10, 12, 16, 20)", k, len(got.Evals), len(alone.Evals))
		}
		for i, e := range got.Evals {
			a := alone.Evals[i]
			if e.Step != a.Step || math.Abs(e.ValAccuracy-a.ValAccuracy) > 2.0/float64(data.Val.Len()) ||
				math.Abs(e.Loss-a.Loss) > 1e-3*a.Loss {
				t.Errorf("member %d, evaluation %d: %+v, alone %+v", k, i, e, a)
			}
		}
		for i, ep := range got.Epochs {
			for _, e := range got.Evals {
				if e.Step == ep.Steps && (e.ValAccuracy != ep.ValAccuracy || e.ValLoss != ep.ValLoss) {
					t.Errorf("member %d: epoch %d ends with evaluation %+v, its own metrics are %+v", k, i+1, e, ep)
				}
			}
		}
	}
}
