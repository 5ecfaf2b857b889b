package optlab

import (
	stdctx "context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"

	"optlab.dev/internal/graphexec"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

// modelWeights copies the trainable variables of n (path → values).
func modelWeights(t *testing.T, n *Network) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range n.Store().Scope(modelScope).IterVariables() {
		if v.Trainable {
			out[v.Path()] = tensors.MustCopyFlatData[float32](v.MustValue())
		}
	}
	return out
}

// maxRelDiff returns max |a − b| / (1 + |b|) over every variable.
func maxRelDiff(t *testing.T, a, b map[string][]float32) float64 {
	t.Helper()
	if len(a) != len(b) || len(a) == 0 {
		t.Fatalf("different variables: %d vs %d", len(a), len(b))
	}
	worst := 0.0
	for k, x := range a {
		y, ok := b[k]
		if !ok || len(x) != len(y) {
			t.Fatalf("variable %s missing or resized", k)
		}
		for i := range x {
			worst = math.Max(worst, math.Abs(float64(x[i])-float64(y[i]))/(1+math.Abs(float64(y[i]))))
		}
	}
	return worst
}

// countAbove counts the weights of a and b (same layout) that differ by more
// than tol, and returns the total count.
func countAbove(a, b map[string][]float32, tol float64) (n, total int) {
	for k, x := range a {
		for i := range x {
			if math.Abs(float64(x[i])-float64(b[k][i])) > tol {
				n++
			}
		}
		total += len(x)
	}
	return n, total
}

func fit(t *testing.T, data *Data, cfg Config) (*History, *Network) {
	t.Helper()
	net, err := NewNetwork(testBackend(t), cfg.Model, cfg.Seed, cfg.ModelOptions)
	if err != nil {
		t.Fatal(err)
	}
	h, err := net.Fit(stdctx.Background(), data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return h, net
}

// TestAccumulationEqualsLargeBatch checks that 4 micro-batches of 8 make the
// same updates as batches of 32, including the last, partial update of an
// epoch (90 = 32 + 32 + 26 examples; 26 = 8 + 8 + 8 + 2), for a model without
// batch norm or dropout.
func TestAccumulationEqualsLargeBatch(t *testing.T) {
	data := testData(t, datasets.SplitTest, 90)
	for _, tc := range []struct {
		spec string
		// outliers is the share of weights allowed to differ by more than
		// 2e-6: Adam divides by √v, so a weight whose gradients are all but
		// zero (an input pixel nearly always blank) turns float32 rounding of
		// its summed gradient into a visible difference of its step.
		outliers float64
	}{{"sgd(lr=0.1,momentum=0.9)", 0}, {"adam(lr=0.01)", 1e-4}} {
		spec := tc.spec
		t.Run(spec, func(t *testing.T) {
			base := Config{Model: "mlp-small", Optimizer: optimizers.MustParse(spec), Epochs: 2, Seed: 5}
			big, micro := base, base
			big.BatchSize = 32
			micro.BatchSize, micro.Accumulate = 8, 4
			hb, nb := fit(t, data, big)
			hm, nm := fit(t, data, micro)
			wm, wb := modelWeights(t, nm), modelWeights(t, nb)
			if n, total := countAbove(wm, wb, 2e-6); float64(n) > tc.outliers*float64(total) {
				t.Errorf("%d of %d weights differ by more than 2e-6 after 2 epochs", n, total)
			}
			// and those few differ by a small fraction of one step (η = 0.01).
			if d := maxRelDiff(t, wm, wb); d > 1e-4 {
				t.Errorf("weights differ by up to %.3g", d)
			}
			if hm.Epochs[1].Steps != 6 || hb.Epochs[1].Steps != 6 {
				t.Errorf("steps %d and %d, want 3 updates per epoch", hm.Epochs[1].Steps, hb.Epochs[1].Steps)
			}
			for e := range hb.Epochs {
				if math.Abs(hm.Epochs[e].Loss-hb.Epochs[e].Loss) > 1e-5*hb.Epochs[e].Loss {
					t.Errorf("epoch %d loss %v with accumulation, %v without", e+1, hm.Epochs[e].Loss, hb.Epochs[e].Loss)
				}
			}
			if hm.Accumulate != 4 || hb.Accumulate != 0 {
				t.Errorf("History.Accumulate = %d and %d, want 4 and 0 (omitted)", hm.Accumulate, hb.Accumulate)
			}
			// Without accumulation, micro-batches of 8 are a different run.
			small := base
			small.BatchSize = 8
			_, ns := fit(t, data, small)
			if d := maxRelDiff(t, modelWeights(t, ns), modelWeights(t, nb)); d < 1e-3 {
				t.Errorf("batch 8 without accumulation matches batch 32 (%.3g): the comparison cannot fail", d)
			}
		})
	}
}

func TestTelemetryOffAddsNothing(t *testing.T) {
	data := testData(t, datasets.SplitTest, 64)
	net, err := NewNetwork(testBackend(t), "mlp-small", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	st, err := net.NewStepper(optimizers.MustParse("adam"), 32, 1)
	if err != nil {
		t.Fatal(err)
	}
	idx := []int{0, 1, 2, 3}
	x := make([]float32, 4*data.Train.Width)
	y := make([]int32, 4)
	data.Train.Gather(idx, x, y)
	outs, err := graphexec.Call(st.update, tensors.FromFlatDataAndDimensions(x, 4, data.Train.Width), tensors.FromFlatDataAndDimensions(y, 4))
	if err != nil {
		t.Fatal(err)
	}
	if len(outs) != 2 {
		t.Errorf("the update graph without telemetry has %d outputs, want 2 (loss, right predictions)", len(outs))
	}
	if st.observed != nil || st.accum != nil {
		t.Errorf("a stepper without telemetry or accumulation built other graphs")
	}
	res, err := st.Step(data.Train, idx)
	if err != nil || res.Telemetry != nil {
		t.Errorf("Step: %v, telemetry %v", err, res.Telemetry)
	}
}

func TestTelemetryRecordsWithoutChangingTraining(t *testing.T) {
	data := testData(t, datasets.SplitTest, 320)
	cfg := Config{Model: "mlp-small", Optimizer: optimizers.MustParse("adam(lr=1e-3,schedule=cosine(steps=20))"), Epochs: 2, BatchSize: 32, Seed: 2}
	plain, np := fit(t, data, cfg)
	cfg.Telemetry = 3
	cfg.Accumulate = 2
	cfg.BatchSize = 16
	h, n := fit(t, data, cfg)
	if d := maxRelDiff(t, modelWeights(t, n), modelWeights(t, np)); d > 2e-6 {
		t.Errorf("telemetry (and accumulation) changed training: weights differ by %.3g", d)
	}
	if len(plain.Telemetry) != 0 {
		t.Errorf("telemetry recorded while off")
	}
	// 20 updates: measured after updates 3, 6, ..., 18.
	if len(h.Telemetry) != 6 || h.Telemetry[0].Step != 3 || h.Telemetry[5].Step != 18 {
		t.Fatalf("telemetry at steps %v, want 3, 6, ..., 18", steps(h.Telemetry))
	}
	for _, rec := range h.Telemetry {
		// Cosine schedule: η_k = 1e-3·(1 + cos(πk/20))/2 at the k-th update (k from 0).
		want := 1e-3 * (1 + math.Cos(math.Pi*float64(rec.Step-1)/20)) / 2
		if math.Abs(rec.LR-want) > 1e-6*want {
			t.Errorf("step %d: lr %v, want %v", rec.Step, rec.LR, want)
		}
		if len(rec.Vars) != 6 || rec.Vars[0].Name != "/model/dense1/weights" {
			t.Fatalf("vars %+v", rec.Vars)
		}
		for _, v := range rec.Vars {
			if !(v.ParamNorm > 0 && v.UpdateNorm > 0) || math.Abs(v.Ratio-v.UpdateNorm/v.ParamNorm) > 1e-12 {
				t.Errorf("step %d %s: norms %+v", rec.Step, v.Name, v)
			}
			if v.StepSize == nil || !(v.StepSize.Min <= v.StepSize.Median && v.StepSize.Median <= v.StepSize.Max) {
				t.Errorf("step %d %s: step sizes %+v", rec.Step, v.Name, v.StepSize)
			}
			// Adam's effective step η/(√v̂ + ε) is at most η/ε and, for parameters
			// whose gradients were 0 so far (dead pixels of MNIST), exactly that.
			if v.StepSize.Max > rec.LR/1e-8*(1+1e-5) {
				t.Errorf("step %d %s: step size %v above η/ε", rec.Step, v.Name, v.StepSize.Max)
			}
		}
		if rec.GradNorm <= 0 || rec.StepSize == nil {
			t.Errorf("step %d: %+v", rec.Step, rec)
		}
	}
	// The history, telemetry included, survives JSON.
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	var back History
	if err := json.Unmarshal(raw, &back); err != nil || len(back.Telemetry) != 6 || back.Telemetry[2].Vars[4].StepSize.Median != h.Telemetry[2].Vars[4].StepSize.Median {
		t.Errorf("telemetry JSON round trip: %v", err)
	}
}

func steps(ts []optimizers.TelemetryRecord) []int {
	var out []int
	for _, t := range ts {
		out = append(out, t.Step)
	}
	return out
}

// countingProbe records the network's evaluation loss on a few examples.
type countingProbe struct {
	every int
	ds    *datasets.Dataset
	calls []int
}

func (p *countingProbe) Every() int { return p.every }

func (p *countingProbe) Measure(_ stdctx.Context, n *Network, step int) ([]Measurement, error) {
	p.calls = append(p.calls, step)
	loss, acc, err := n.Evaluate(p.ds, 0)
	if err != nil {
		return nil, err
	}
	ms := []Measurement{{"probe_loss", loss}, {"probe_accuracy", acc}}
	if step == 3 {
		ms = append(ms, Measurement{"odd", math.NaN()})
	}
	return ms, nil
}

func TestProbes(t *testing.T) {
	data := testData(t, datasets.SplitTest, 256)
	cfg := Config{Model: "mlp-bn", Optimizer: optimizers.MustParse("sgd(lr=0.05)"), Epochs: 1, BatchSize: 32, Seed: 4}
	_, plain := fit(t, data, cfg)
	p := &countingProbe{every: 3, ds: data.Train.Slice("probe", 0, 50)}
	cfg.Probes = []Probe{p}
	h, n := fit(t, data, cfg)
	if d := maxRelDiff(t, modelWeights(t, n), modelWeights(t, plain)); d != 0 {
		t.Errorf("a probe changed training: weights differ by %.3g", d)
	}
	if len(p.calls) != 3 || p.calls[0] != 0 || p.calls[2] != 6 {
		t.Errorf("probe called after steps %v, want 0, 3, 6", p.calls)
	}
	s := h.Probe("probe_loss")
	if s == nil || len(s.Values) != 3 || s.Steps[1] != 3 || h.Probe("probe_accuracy") == nil {
		t.Fatalf("probes %+v", h.Probes)
	}
	if s.Values[2] >= s.Values[0] {
		t.Errorf("probe loss did not fall: %v", s.Values)
	}
	raw, err := json.Marshal(h)
	if err != nil {
		t.Fatalf("JSON with a NaN measurement: %v", err)
	}
	if !strings.Contains(string(raw), `"name":"odd","steps":[3],"values":[null]`) {
		t.Errorf("NaN not written as null: %s", raw)
	}
	var back History
	if err := json.Unmarshal(raw, &back); err != nil || !math.IsNaN(back.Probe("odd").Values[0]) || back.Probe("probe_loss").Values[1] != s.Values[1] {
		t.Errorf("probe series JSON round trip: %v %+v", err, back.Probes)
	}
}

func TestStepperRejectsBadInput(t *testing.T) {
	net, err := NewNetwork(testBackend(t), "logreg", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	opt := optimizers.MustParse("sgd")
	for _, tc := range []struct {
		micro, acc int
		want       string
	}{{0, 1, "micro-batch size must be ≥ 1, got 0"}, {8, 0, "accumulate must be ≥ 1 micro-batches per update, got 0"}} {
		if _, err := net.NewStepper(opt, tc.micro, tc.acc); err == nil || err.Error() != tc.want {
			t.Errorf("NewStepper(%d, %d): %v, want %q", tc.micro, tc.acc, err, tc.want)
		}
	}
	st, err := net.NewStepper(opt, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	data := testData(t, datasets.SplitTest, 64)
	if _, err := st.Step(data.Train, make([]int, 9)); err == nil || err.Error() != "an update takes 1 to 8 examples, got 9" {
		t.Errorf("9 examples: %v", err)
	}
	cfg := Config{Model: "logreg", Optimizer: opt, Epochs: 1, BatchSize: 8, Accumulate: -1}
	if _, err := Train(stdctx.Background(), testBackend(t), data, cfg); err == nil || !strings.Contains(err.Error(), "accumulate must be ≥ 1") {
		t.Errorf("Accumulate -1: %v", err)
	}
}
