package diagnostics

import (
	"bytes"
	stdctx "context"
	"encoding/csv"
	"math"
	"strings"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/optimizers"
)

// TestSharpnessProbe tracks the sharpness of full-batch gradient descent on
// logistic regression: the series has one value before training and one every
// Interval updates, each the λ_max of the weights at that step, and the
// probe leaves training unchanged.
func TestSharpnessProbe(t *testing.T) {
	d := testData(t)
	full := &optlab.Data{Train: d.Train.Slice("train", 0, 200), Val: d.Val, Test: d.Test, ValSplit: d.ValSplit}
	cfg := optlab.Config{Model: "logreg", Optimizer: optimizers.MustParse("sgd(lr=0.5)"), Epochs: 12, BatchSize: 200, Seed: 2}
	plainNet, err := optlab.NewNetwork(testBackend(t), "logreg", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := plainNet.Fit(stdctx.Background(), full, cfg); err != nil {
		t.Fatal(err)
	}
	probe := &SharpnessProbe{Interval: 4, Data: full.Train, Config: SharpnessConfig{Eigen: EigenConfig{Tol: 1e-6, MaxIters: 60}, TraceSamples: 2}}
	cfg.Probes = []optlab.Probe{probe}
	n, err := optlab.NewNetwork(testBackend(t), "logreg", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := n.Fit(stdctx.Background(), full, cfg)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := WeightsOf(n)
	b, _ := WeightsOf(plainNet)
	if a.Axpy(-1, b).Norm() != 0 {
		t.Error("the sharpness probe changed training")
	}
	s := h.Probe("sharpness")
	if s == nil || len(s.Steps) != 4 || s.Steps[3] != 12 || h.Probe("hessian_trace") == nil {
		t.Fatalf("series %+v", h.Probes)
	}
	want, err := MeasureSharpness(stdctx.Background(), n, full.Train, SharpnessConfig{Eigen: EigenConfig{Tol: 1e-8, MaxIters: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(s.Values[3]-want.TopEigenvalue) > 1e-4*want.TopEigenvalue {
		t.Errorf("last sharpness %v, λ_max of the final weights %v", s.Values[3], want.TopEigenvalue)
	}
	// Logistic regression's loss is convex: every λ_max is positive.
	for i, v := range s.Values {
		if !(v > 0) {
			t.Errorf("step %d: sharpness %v ≤ 0 on a convex loss", s.Steps[i], v)
		}
	}
	t.Logf("sharpness %v at steps %v (2/η = 4)", s.Values, s.Steps)
	if m, _ := probe.Method(); m != HVPExact {
		t.Errorf("method %s", m)
	}
	fig, err := SharpnessFigure(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fig.PNG(); err != nil {
		t.Errorf("figure: %v", err)
	}
	var buf bytes.Buffer
	if err := WriteProbesCSV(&buf, h); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil || len(rows) != 1+8 || strings.Join(rows[0], ",") != "run,series,step,value" || rows[1][1] != "sharpness" {
		t.Errorf("probes CSV %v: %v", err, rows)
	}
	if _, err := SharpnessFigure(&optlab.History{}); err == nil {
		t.Error("a figure without a sharpness series")
	}
}

func TestTelemetryFigureAndCSV(t *testing.T) {
	d := testData(t)
	for _, tc := range []struct {
		spec     string
		adaptive bool
	}{{"adam(lr=1e-3)", true}, {"sgd(lr=0.1,momentum=0.9)", false}} {
		n, err := optlab.NewNetwork(testBackend(t), "mlp-small", 1, nil)
		if err != nil {
			t.Fatal(err)
		}
		h, err := n.Fit(stdctx.Background(), d, optlab.Config{Optimizer: optimizers.MustParse(tc.spec), Epochs: 1, BatchSize: 100, Telemetry: 4})
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := WriteTelemetryCSV(&buf, h); err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(&buf).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		// 12 updates, measured after 4, 8, 12: 6 variables + "all" each.
		if len(rows) != 1+3*7 || rows[1][0] != "4" || rows[7][3] != "all" {
			t.Fatalf("%s: %d rows: %v", tc.spec, len(rows), rows[:2])
		}
		if hasSize := rows[1][9] != ""; hasSize != tc.adaptive {
			t.Errorf("%s: step-size columns %q", tc.spec, rows[1][7:])
		}
		fig, err := TelemetryFigure(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := fig.PNG(); err != nil {
			t.Errorf("%s: figure: %v", tc.spec, err)
		}
	}
	if _, err := TelemetryFigure(&optlab.History{}); err == nil || !strings.Contains(err.Error(), "no telemetry") {
		t.Errorf("no telemetry: %v", err)
	}
}

func TestLRRangeOutputs(t *testing.T) {
	losses := []float64{2.3, 2.2, 2.0, 1.5, 1.0, 0.9, 1.2, 3, 9, 40}
	r, err := LRRangeTest(stdctx.Background(), func(k int, _ float64) (float64, error) { return losses[k], nil },
		RangeConfig{MinLR: 1e-3, MaxLR: 1, Steps: len(losses), Smoothing: 1})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := r.WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	rows, _ := csv.NewReader(&buf).ReadAll()
	if len(rows) != 1+len(r.LR) || rows[1][1] != "0.001" || rows[4][2] != "1.5" {
		t.Errorf("CSV %v", rows)
	}
	sum := r.Summary()
	for _, want := range []string{"steepest descent: lr", "divergence: lr", "suggested range:", "rule: loss smoothed"} {
		if !strings.Contains(sum, want) {
			t.Errorf("summary lacks %q:\n%s", want, sum)
		}
	}
	// Steepest fall of 1.5 → 1.0 around step 4; the rise starts after step 6 (loss 0.9).
	if r.Steepest != r.LR[3] || r.Divergence != r.LR[5] || r.Minimum != r.LR[5] {
		t.Errorf("steepest %v (want %v), divergence %v and minimum %v (want %v)", r.Steepest, r.LR[3], r.Divergence, r.Minimum, r.LR[5])
	}
	fig, err := r.Figure()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fig.PNG(); err != nil {
		t.Errorf("figure: %v", err)
	}
}
