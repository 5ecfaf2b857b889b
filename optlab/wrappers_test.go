package optlab

import (
	stdctx "context"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/graphexec"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
)

// modelVariables copies every variable of the model (trainable or not, such
// as batch norm's moving averages), path → values.
func modelVariables(t *testing.T, n *Network) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range n.Store().Scope(modelScope).IterVariables() {
		if v.DType().IsFloat() {
			out[v.Path()] = tensors.MustCopyFlatData[float32](v.MustValue())
		}
	}
	return out
}

// TestTrainingLossTwiceInOneGraph builds the training loss of mlp-bn (L2
// regularisation, batch norm) twice in one graph at the same weights, as
// sam's second pass does: each evaluation is that pass's loss alone, the
// regularisation of the first not added into the second.
func TestTrainingLossTwiceInOneGraph(t *testing.T) {
	data := testData(t, datasets.SplitTest, 64)
	opts := models.DefaultOptions()
	opts.NoDropout = true
	net, err := NewNetwork(testBackend(t), "mlp-bn", 1, &opts)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := net.Evaluate(data.Train, 32); err != nil { // creates the weights
		t.Fatal(err)
	}
	exec, err := model.NewExec(net.backend, net.store, func(scope *model.Scope, x, y *Node) []*Node {
		lossFn, correct := net.trainingLossFunc(scope, x, y)
		first := lossFn()
		second := lossFn()
		return []*Node{first, second, *correct}
	})
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 16*data.Train.Width)
	y := make([]int32, 16)
	data.Train.Gather([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, x, y)
	outs, err := graphexec.Call(exec, tensors.FromFlatDataAndDimensions(x, 16, data.Train.Width), tensors.FromFlatDataAndDimensions(y, 16))
	if err != nil {
		t.Fatal(err)
	}
	first, second := graphexec.Scalar(outs[0]), graphexec.Scalar(outs[1])
	if d := (second - first) / first; d > 1e-6 || d < -1e-6 {
		t.Errorf("second evaluation %v, first %v: the second pass's loss must be its own", second, first)
	}
}

// TestSAMInTheRunner trains sam through Fit and the Stepper: with ρ = 0 it is
// its base bit for bit (weights and batch norm's averages, on mlp-bn with L2
// and batch norm), with ρ > 0 it reports the loss at the weights before the
// update, leaves batch norm's averages as the first pass set them, and moves
// the weights elsewhere; gradient accumulation refuses it.
func TestSAMInTheRunner(t *testing.T) {
	data := testData(t, datasets.SplitTest, 96)
	opts := models.DefaultOptions()
	opts.NoDropout = true
	cfg := func(spec string) Config {
		return Config{Model: "mlp-bn", ModelOptions: &opts, Optimizer: optimizers.MustParse(spec), Epochs: 1, BatchSize: 32, Seed: 4}
	}
	hb, nb := fit(t, data, cfg("adam(lr=1e-3)"))
	hs, ns := fit(t, data, cfg("sam(base=adam(lr=1e-3),rho=0)"))
	if d := maxRelDiff(t, modelVariables(t, ns), modelVariables(t, nb)); d != 0 {
		t.Errorf("sam with ρ = 0 differs from its base by %.3g", d)
	}
	if hs.Epochs[0].Loss != hb.Epochs[0].Loss || hs.Epochs[0].ValLoss != hb.Epochs[0].ValLoss {
		t.Errorf("sam ρ = 0: loss %v val %v, base %v %v", hs.Epochs[0].Loss, hs.Epochs[0].ValLoss, hb.Epochs[0].Loss, hb.Epochs[0].ValLoss)
	}

	step := func(spec string) (StepResult, *Network) {
		net, err := NewNetwork(testBackend(t), "mlp-bn", 4, &opts)
		if err != nil {
			t.Fatal(err)
		}
		st, err := net.NewStepper(optimizers.MustParse(spec), 32, 1)
		if err != nil {
			t.Fatal(err)
		}
		idx := make([]int, 32)
		for i := range idx {
			idx[i] = i
		}
		res, err := st.Step(data.Train, idx)
		if err != nil {
			t.Fatal(err)
		}
		return res, net
	}
	rb, nb := step("sgd(lr=0.1)")
	rs, ns := step("sam(base=sgd(lr=0.1),rho=0.5)")
	if rs.Loss != rb.Loss || rs.Correct != rb.Correct {
		t.Errorf("sam reported loss %v (%v right), sgd at the same weights %v (%v)", rs.Loss, rs.Correct, rb.Loss, rb.Correct)
	}
	vb, vs := modelVariables(t, nb), modelVariables(t, ns)
	moved := false
	for v := range ns.Store().Scope(modelScope).IterVariables() {
		a, b := vs[v.Path()], vb[v.Path()]
		same := true
		for i := range a {
			same = same && a[i] == b[i]
		}
		switch {
		case !v.Trainable && !same:
			t.Errorf("%s (not trainable) differs from sgd's after one step: the second pass's values leaked", v.Path())
		case v.Trainable && !same:
			moved = true
		}
	}
	if !moved {
		t.Errorf("sam with ρ = 0.5 made sgd's step")
	}

	net, err := NewNetwork(testBackend(t), "logreg", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.NewStepper(optimizers.MustParse("sam(base=sgd)"), 8, 4); err == nil ||
		!strings.Contains(err.Error(), "accumulate 4: sam(base=sgd(") || !strings.Contains(err.Error(), "use accumulate 1") {
		t.Errorf("sam with accumulation: %v", err)
	}
	bad := Config{Model: "logreg", Optimizer: optimizers.MustParse("lookahead(base=sam(base=sgd))"), Epochs: 1, BatchSize: 8, Accumulate: 2}
	if _, err := Train(stdctx.Background(), testBackend(t), data, bad); err == nil || !strings.Contains(err.Error(), "accumulate 2") {
		t.Errorf("Train with sam inside lookahead and accumulation: %v", err)
	}
}

// TestEMAEvaluation: with an ema wrapper the runner evaluates (validation and
// test) with the averaged weights and leaves the trained ones in the store.
func TestEMAEvaluation(t *testing.T) {
	data := testData(t, datasets.SplitTest, 128)
	opt := optimizers.MustParse("ema(base=sgd(lr=0.1),decay=0.8)")
	h, net := fit(t, data, Config{Model: "mlp-small", Optimizer: opt, Epochs: 1, BatchSize: 32, Seed: 5})
	trainedLoss, _, err := net.Evaluate(data.Val, 500)
	if err != nil {
		t.Fatal(err)
	}
	restore, err := opt.SwapInAverage(net.Store())
	if err != nil {
		t.Fatal(err)
	}
	avgLoss, _, err := net.Evaluate(data.Val, 500)
	if err != nil {
		t.Fatal(err)
	}
	testLoss, _, err := net.Evaluate(data.Test, 500)
	if err != nil {
		t.Fatal(err)
	}
	if err := restore(); err != nil {
		t.Fatal(err)
	}
	if h.Epochs[0].ValLoss != avgLoss || h.TestLoss != testLoss {
		t.Errorf("val loss %v, test loss %v; the averaged weights give %v, %v", h.Epochs[0].ValLoss, h.TestLoss, avgLoss, testLoss)
	}
	if trainedLoss == avgLoss {
		t.Errorf("the trained and the averaged weights give the same loss %v: the test cannot tell them apart", avgLoss)
	}
}

// TestStateBytesOfShapes: the runner reports the state of the model's
// shapes, which for factored state (adafactor) is not a whole number of
// parameter-sized buffers.
func TestStateBytesOfShapes(t *testing.T) {
	data := testData(t, datasets.SplitTest, 64)
	opt := optimizers.MustParse("adafactor")
	h, net := fit(t, data, Config{Model: "mlp-small", Optimizer: opt, Epochs: 1, BatchSize: 32, Seed: 1})
	want := opt.StateBytesFor(net.ParamShapes()...)
	if h.StateBytes != want || want == opt.StateBytes(h.Params, 4) {
		t.Errorf("state %d bytes, want %d (StateBytes would say %d)", h.StateBytes, want, opt.StateBytes(h.Params, 4))
	}
	if measured := optimizers.MeasureStateBytes(net.Store()); measured < want || measured > want+64 {
		t.Errorf("state variables hold %d bytes, reported %d", measured, want)
	}
}
