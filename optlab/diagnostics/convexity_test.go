package diagnostics

import (
	stdctx "context"
	"math"
	"strings"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

// TestPermuteUnitsAboveChord: permuting mlp-small's hidden units leaves its
// loss unchanged; the line between the two equivalent points rises well above
// the chord (the network's loss is not convex).
func TestPermuteUnitsAboveChord(t *testing.T) {
	b, err := optlab.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	m, err := datasets.LoadMNIST("")
	if err != nil {
		t.Fatal(err)
	}
	data, err := optlab.SplitData(m, datasets.SplitTest, 600)
	if err != nil {
		t.Fatal(err)
	}
	net, err := optlab.NewNetwork(b, "mlp-small", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Fit(stdctx.Background(), data, optlab.Config{Optimizer: optimizers.MustParse("adam(lr=1e-3)"), Epochs: 2, BatchSize: 32, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	w, err := WeightsOf(net)
	if err != nil {
		t.Fatal(err)
	}
	before, _, err := net.Evaluate(data.Train, 500)
	if err != nil {
		t.Fatal(err)
	}
	p, err := w.PermuteUnits(7)
	if err != nil {
		t.Fatal(err)
	}
	if d := p.Axpy(-1, w).Norm(); !(d > 1) {
		t.Fatalf("the permuted weights are %g from the original: nothing moved", d)
	}
	if err := SetWeights(net, p); err != nil {
		t.Fatal(err)
	}
	after, _, err := net.Evaluate(data.Train, 500)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(after-before) > 1e-5*before {
		t.Fatalf("loss %v after permuting units, %v before: not the same function", after, before)
	}
	line, err := Interpolate(stdctx.Background(), net, w, p, SliceConfig{Train: data.Train, Points: 9, Range: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	excess, at, err := line.AboveChord()
	if err != nil {
		t.Fatal(err)
	}
	if !(excess > 0.1) || at <= 0 || at >= 1 {
		t.Errorf("%v above the chord at t = %v: want the loss well above it between the ends", excess, at)
	}
	short, err := Interpolate(stdctx.Background(), net, w, p, SliceConfig{Train: data.Train, Points: 4, Range: 0.5})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := short.AboveChord(); err == nil || !strings.Contains(err.Error(), "t = 0 and t = 1") {
		t.Errorf("a line without its ends on the grid: %v", err)
	}
	// Only chains of dense layers.
	bn, err := optlab.NewNetwork(b, "mlp-bn", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := Materialize(bn, data.Val); err != nil {
		t.Fatal(err)
	}
	wb, err := WeightsOf(bn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wb.PermuteUnits(1); err == nil || !strings.Contains(err.Error(), "dense") {
		t.Errorf("permuting a batch-norm model: %v", err)
	}
}
