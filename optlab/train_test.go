package optlab

import (
	stdctx "context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"

	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

var (
	mnistOnce sync.Once
	mnist     *datasets.Set
	mnistErr  error
)

func testMNIST(t *testing.T) *datasets.Set {
	t.Helper()
	mnistOnce.Do(func() { mnist, mnistErr = datasets.LoadMNIST("") })
	if mnistErr != nil {
		t.Fatalf("LoadMNIST: %v", mnistErr)
	}
	return mnist
}

func testData(t *testing.T, split datasets.DataSplit, limit int) *Data {
	t.Helper()
	d, err := SplitData(testMNIST(t), split, limit)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testBackend(t *testing.T) compute.Backend {
	t.Helper()
	b, err := NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrainLearnsAndIsDeterministic(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 1200)
	cfg := Config{Model: "mlp-small", Optimizer: optimizers.MustParse("adam(lr=0.001)"), Epochs: 2, BatchSize: 32, Seed: 3}
	h1, err := Train(stdctx.Background(), b, data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(h1.Epochs) != 2 || h1.Epochs[1].Steps != 2*38 {
		t.Fatalf("epochs %+v: want 2 epochs of 38 steps", h1.Epochs)
	}
	// Two epochs of Adam on 1,200 images reach far above chance (10%).
	if h1.TestAccuracy < 0.75 {
		t.Errorf("test accuracy %.3f after 2 epochs, want ≥ 0.75", h1.TestAccuracy)
	}
	if h1.Epochs[1].Loss >= h1.Epochs[0].Loss {
		t.Errorf("training loss did not fall: %v → %v", h1.Epochs[0].Loss, h1.Epochs[1].Loss)
	}
	if h1.Params != 784*128+128+128*64+64+64*10+10 {
		t.Errorf("params = %d, want 109386", h1.Params)
	}
	if h1.StateBytes != 2*4*h1.Params {
		t.Errorf("Adam state = %d bytes, want two float32 buffers = %d", h1.StateBytes, 8*h1.Params)
	}
	// Same seed, same backend: the same numbers.
	h2, err := Train(stdctx.Background(), b, data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i := range h1.Epochs {
		a, c := h1.Epochs[i], h2.Epochs[i]
		if a.Loss != c.Loss || a.ValAccuracy != c.ValAccuracy {
			t.Errorf("epoch %d differs between identical runs: %+v vs %+v", i+1, a, c)
		}
	}
	// Another seed: other weights, other numbers.
	cfg.Seed = 4
	h3, err := Train(stdctx.Background(), b, data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if h3.Epochs[0].Loss == h1.Epochs[0].Loss {
		t.Error("a different seed gave the identical first-epoch loss")
	}
}

func TestTrainBatchNormModelEvaluatesInInferenceMode(t *testing.T) {
	b := testBackend(t)
	// Keras' moving averages (momentum 0.99) need a few hundred steps to forget
	// their initial values, which inference mode uses.
	data := testData(t, datasets.SplitHoldout5k, 3000)
	h, err := Train(stdctx.Background(), b, data, Config{Model: "mlp-bn100", Optimizer: optimizers.MustParse("sgd(lr=0.01,momentum=0.9)"), Epochs: 2, BatchSize: 32, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if h.ValSplit != "validation" || h.TestAccuracy < 0.8 {
		t.Errorf("val split %q, test accuracy %.3f: want validation and ≥ 0.8", h.ValSplit, h.TestAccuracy)
	}
}

func TestDivergenceStopsWithClearError(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 600)
	h, err := Train(stdctx.Background(), b, data, Config{Model: "mlp-small", Optimizer: optimizers.MustParse("sgd(lr=1e4)"), Epochs: 2, BatchSize: 32, Seed: 1})
	if err == nil {
		t.Fatal("lr=1e4 should diverge")
	}
	if !strings.Contains(err.Error(), "diverged") || !strings.Contains(err.Error(), "step") {
		t.Errorf("error %q should say diverged and name the step", err)
	}
	if h == nil || !h.Diverged() {
		t.Fatalf("history %+v should be kept and marked diverged", h)
	}
}

func TestSkipPolicyKeepsWeightsFinite(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 600)
	h, err := Train(stdctx.Background(), b, data, Config{Model: "logreg", Optimizer: optimizers.MustParse("sgd(lr=1e4)"), Epochs: 1, BatchSize: 32, Seed: 1, NonFinite: SkipNonFinite})
	if err != nil {
		t.Fatalf("skip policy should not fail: %v", err)
	}
	if math.IsNaN(h.TestLoss) {
		t.Errorf("test loss is NaN despite skipping non-finite updates")
	}
}

func TestInterruptKeepsFinishedEpochs(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 600)
	ctx, cancel := stdctx.WithCancel(stdctx.Background())
	cfg := Config{Model: "logreg", Optimizer: optimizers.MustParse("sgd(lr=0.1)"), Epochs: 5, BatchSize: 32, Seed: 1,
		OnEpoch: func(h *History) {
			if len(h.Epochs) == 2 {
				cancel()
			}
		}}
	h, err := Train(ctx, b, data, cfg)
	if !errors.Is(err, stdctx.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if h == nil || len(h.Epochs) != 2 || h.Err == "" {
		t.Fatalf("want the 2 finished epochs and the error kept, got %+v", h)
	}
}

func TestSequentialProtocolContinuesFromPreviousWeights(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 1200)
	base := Config{Model: "mlp-small", Epochs: 1, BatchSize: 32, Seed: 2}
	specs, err := ParseSpecs("adam(lr=0.001)", "sgd(lr=0.01)")
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := Compare(stdctx.Background(), b, data, CompareConfig{Base: base, Optimizers: specs, Protocol: Fresh})
	if err != nil {
		t.Fatal(err)
	}
	seq, err := Compare(stdctx.Background(), b, data, CompareConfig{Base: base, Optimizers: specs, Protocol: Sequential})
	if err != nil {
		t.Fatal(err)
	}
	// The first run is identical under both protocols; the second (SGD) starts
	// from Adam's trained weights in the sequential protocol, so its first epoch
	// is much better than SGD's from scratch.
	if fresh[0].Epochs[0].Loss != seq[0].Epochs[0].Loss {
		t.Errorf("first runs differ: %v vs %v", fresh[0].Epochs[0].Loss, seq[0].Epochs[0].Loss)
	}
	if seq[1].Epochs[0].Loss >= fresh[1].Epochs[0].Loss {
		t.Errorf("sequential SGD loss %.3f should be below fresh SGD loss %.3f", seq[1].Epochs[0].Loss, fresh[1].Epochs[0].Loss)
	}
}

func TestConfigErrorsNameTheValue(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 100)
	cases := []struct {
		cfg  Config
		want string
	}{
		{Config{Model: "resnet", Optimizer: optimizers.MustParse("sgd"), Epochs: 1, BatchSize: 1}, "resnet"},
		{Config{Model: "logreg", Optimizer: optimizers.MustParse("sgd"), Epochs: 0, BatchSize: 1}, "epochs"},
		{Config{Model: "logreg", Optimizer: optimizers.MustParse("sgd"), Epochs: 1, BatchSize: -2}, "-2"},
		{Config{Model: "logreg", Epochs: 1, BatchSize: 1}, "optimizer"},
		{Config{Model: "logreg", Optimizer: optimizers.MustParse("sgd"), Epochs: 1, BatchSize: 1, NonFinite: "ignore"}, "ignore"},
		{Config{Model: "logreg", Optimizer: optimizers.MustParse("sgd"), Epochs: 1, BatchSize: 1, EvalEvery: -5}, "-5"},
	}
	for _, c := range cases {
		_, err := Train(stdctx.Background(), b, data, c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v should mention %q", c.cfg, err, c.want)
		}
	}
}

// TestAdafactorSurvivesDeadInputs trains with Adafactor in float32 on MNIST,
// whose border pixels are always 0: their rows of the first weight matrix get
// all-zero gradients, which once made the factored second moment underflow to
// 0 and the update 0/0 = NaN.
func TestAdafactorSurvivesDeadInputs(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 600)
	h, err := Train(stdctx.Background(), b, data, Config{Model: "mlp-small", Optimizer: optimizers.MustParse("adafactor"), Epochs: 1, BatchSize: 32, Seed: 1})
	if err != nil {
		t.Fatalf("adafactor diverged: %v", err)
	}
	if math.IsNaN(h.TestLoss) || h.TestAccuracy < 0.5 {
		t.Errorf("adafactor: test loss %v, accuracy %v", h.TestLoss, h.TestAccuracy)
	}
}

func TestReduceOnPlateau(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 300)
	// MinDelta 10 makes every epoch after the first a plateau: with patience 1
	// the rate halves after epochs 2 and 3.
	cfg := Config{Model: "logreg", Optimizer: optimizers.MustParse("sgd(lr=0.1)"), Epochs: 4, BatchSize: 32, Seed: 1,
		Plateau: &Plateau{Factor: 0.5, Patience: 1, MinDelta: 10}}
	h, err := Train(stdctx.Background(), b, data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{0.1, 0.1, 0.05, 0.025}
	for i, e := range h.Epochs {
		if math.Abs(e.LR-want[i]) > 1e-7 {
			t.Errorf("epoch %d: lr %v, want %v", i+1, e.LR, want[i])
		}
	}
	cfg.Plateau = &Plateau{Factor: 1.5, Patience: 1}
	if _, err := Train(stdctx.Background(), b, data, cfg); err == nil || !strings.Contains(err.Error(), "1.5") {
		t.Errorf("factor 1.5: error %v should name it", err)
	}
}

func TestDataStringNamesWhatValidatesTheRun(t *testing.T) {
	ds := func(n int) *datasets.Dataset { return &datasets.Dataset{Labels: make([]int32, n)} }
	for _, tc := range []struct {
		data *Data
		want string
	}{
		{&Data{Train: ds(60000), Val: ds(10000), Test: ds(10000), ValSplit: "test"},
			"60000 train / 10000 test examples (val_* columns measured on test)"},
		{&Data{Train: ds(55000), Val: ds(5000), Test: ds(10000), ValSplit: "validation"},
			"55000 train / 5000 validation / 10000 test examples"},
	} {
		if got := tc.data.String(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
}
