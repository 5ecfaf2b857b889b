package diagnostics

import (
	"bytes"
	stdctx "context"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

var (
	dataOnce sync.Once
	data     *optlab.Data
	dataErr  error
)

func testData(t *testing.T) *optlab.Data {
	t.Helper()
	dataOnce.Do(func() { data, dataErr = optlab.LoadData("", datasets.SplitTest, 1200) })
	if dataErr != nil {
		t.Fatal(dataErr)
	}
	return data
}

// trained returns a network of the model trained for one epoch on the test
// data with opt, and its history.
func trained(t *testing.T, model, spec string, probes ...optlab.Probe) (*optlab.Network, *optlab.History) {
	t.Helper()
	n, err := optlab.NewNetwork(testBackend(t), model, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := n.Fit(stdctx.Background(), testData(t), optlab.Config{Optimizer: optimizers.MustParse(spec), Epochs: 1, BatchSize: 50, Probes: probes})
	if err != nil {
		t.Fatal(err)
	}
	return n, h
}

func TestFilterNormalizedDirection(t *testing.T) {
	at := &Weights{Names: []string{"w", "b", "zero"}, Shapes: [][]int{{3, 2}, {2}, {2, 2}},
		Flat: []float64{1, 2, 3, 4, 5, 6, 0.5, -0.5, 0, 0, 0, 0}}
	norms := func(w *Weights, i int) []float64 {
		v, cols := w.Var(i), w.Shapes[i][len(w.Shapes[i])-1]
		out := make([]float64, cols)
		for k, x := range v {
			out[k%cols] += x * x
		}
		for j := range out {
			out[j] = math.Sqrt(out[j])
		}
		return out
	}
	for _, biases := range []Biases{ZeroBiases, NormalizeBiases} {
		d := FilterNormalizedDirection(at, rand.New(rand.NewPCG(1, 2)), biases)
		want := norms(at, 0) // columns (1,3,5) and (2,4,6)
		for j, n := range norms(d, 0) {
			if math.Abs(n-want[j]) > 1e-12 {
				t.Errorf("filter %d norm %v, want %v", j, n, want[j])
			}
		}
		b := d.Var(1)
		bn := math.Hypot(b[0], b[1])
		if biases == ZeroBiases && bn != 0 {
			t.Errorf("ZeroBiases left %v in the biases", b)
		}
		if biases == NormalizeBiases && math.Abs(bn-math.Hypot(0.5, 0.5)) > 1e-12 {
			t.Errorf("NormalizeBiases: ‖d_b‖ = %v, want ‖b‖ = %v", bn, math.Hypot(0.5, 0.5))
		}
		for _, x := range d.Var(2) {
			if x != 0 {
				t.Errorf("a zero filter got direction %v", d.Var(2))
				break
			}
		}
	}
}

func TestInterpolate(t *testing.T) {
	d := testData(t)
	sgd, _ := trained(t, "logreg", "sgd(lr=0.1)")
	adam, _ := trained(t, "logreg", "adam(lr=0.01)")
	a, err := WeightsOf(sgd)
	if err != nil {
		t.Fatal(err)
	}
	b, err := WeightsOf(adam)
	if err != nil {
		t.Fatal(err)
	}
	cfg := SliceConfig{Train: d.Train, Test: d.Test, Examples: 300, Points: 9}
	l, err := Interpolate(stdctx.Background(), sgd, a, b, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.T) != 9 || l.T[0] != -0.5 || l.T[8] != 1.5 || l.T[2] != 0 || l.T[6] != 1 || len(l.TestLoss) != 9 {
		t.Fatalf("t = %v", l.T)
	}
	// The ends are the two networks' own losses.
	for _, end := range []struct {
		i int
		n *optlab.Network
	}{{2, sgd}, {6, adam}} {
		loss, acc, err := end.n.Evaluate(d.Train.Slice("x", 0, 300), 0)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(l.Loss[end.i]-loss) > 1e-6 || math.Abs(l.Accuracy[end.i]-acc) > 1e-9 {
			t.Errorf("t = %v: loss %v accuracy %v, want %v and %v", l.T[end.i], l.Loss[end.i], l.Accuracy[end.i], loss, acc)
		}
	}
	// Logistic regression is convex: the loss on the segment stays below the chord.
	for i := 2; i <= 6; i++ {
		tt := l.T[i]
		if chord := (1-tt)*l.Loss[2] + tt*l.Loss[6]; l.Loss[i] > chord+1e-6 {
			t.Errorf("t = %v: loss %v above the chord %v of a convex loss", tt, l.Loss[i], chord)
		}
	}
	// The network gets its own weights back.
	after, _ := WeightsOf(sgd)
	if d := after.Axpy(-1, a).Norm(); d != 0 {
		t.Errorf("weights not restored (off by %v)", d)
	}
	var buf bytes.Buffer
	if err := l.WriteCSV(&buf); err != nil || !strings.HasPrefix(buf.String(), "t,loss,accuracy,test_loss,test_accuracy\n-0.5,") {
		t.Errorf("CSV: %v\n%s", err, buf.String())
	}
	if _, err := l.Figure(); err != nil {
		t.Errorf("figure: %v", err)
	}
	other, _ := trained(t, "mlp-small", "sgd(lr=0.1)")
	c, _ := WeightsOf(other)
	if _, err := Interpolate(stdctx.Background(), sgd, a, c, cfg); err == nil || !strings.Contains(err.Error(), "not the same model") {
		t.Errorf("mixed models: %v", err)
	}
}

func TestRandomPlane(t *testing.T) {
	d := testData(t)
	n, _ := trained(t, "mlp-small", "adam(lr=1e-3)")
	before, _ := WeightsOf(n)
	p, err := RandomPlane(stdctx.Background(), n, SliceConfig{Train: d.Train, Examples: 200, Points: 5, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.X) != 5 || len(p.Loss) != 5 || p.X[2] != 0 || p.Y[0] != -1 || p.Kind != "random" {
		t.Fatalf("grid %v × %v", p.X, p.Y)
	}
	want, _, err := n.Evaluate(d.Train.Slice("x", 0, 200), 0)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(p.Loss[2][2]-want) > 1e-6 {
		t.Errorf("loss at the centre %v, want the network's %v", p.Loss[2][2], want)
	}
	// A trained network sits in a valley: the corners are higher.
	for _, corner := range []float64{p.Loss[0][0], p.Loss[0][4], p.Loss[4][0], p.Loss[4][4]} {
		if !(corner > p.Loss[2][2]) {
			t.Errorf("corner loss %v not above the centre's %v", corner, p.Loss[2][2])
		}
	}
	if p.D1.Var(1)[0] != 0 || math.Abs(p.D1.Dot(p.D2)) > 0.5*p.D1.Norm()*p.D2.Norm() {
		t.Errorf("directions: biases %v, cosine %v", p.D1.Var(1)[:3], p.D1.Dot(p.D2)/(p.D1.Norm()*p.D2.Norm()))
	}
	after, _ := WeightsOf(n)
	if after.Axpy(-1, before).Norm() != 0 {
		t.Error("weights not restored")
	}
	if _, err := p.Figure(); err != nil {
		t.Errorf("figure: %v", err)
	}
	for _, bad := range []struct {
		cfg  SliceConfig
		want string
	}{
		{SliceConfig{Train: d.Train, Points: 2}, "points per axis must be in [3, 201], got 2"},
		{SliceConfig{Train: d.Train, Range: -1}, "range must be a number ≥ 0"},
		{SliceConfig{}, "no training examples"},
		{SliceConfig{Train: d.Train, Points: 201, Examples: 1000}, "exceed the limit"},
	} {
		if _, err := RandomPlane(stdctx.Background(), n, bad.cfg); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%+v: %v, want %q", bad.cfg, err, bad.want)
		}
	}
}

// TestTrajectoryPlaneRecoversAPlanarPath records a path that lies exactly in a
// plane through its last point: the two principal directions explain all of
// its variance, and projecting keeps every distance between its points.
func TestTrajectoryPlaneRecoversAPlanarPath(t *testing.T) {
	d := testData(t)
	n, _ := trained(t, "logreg", "sgd(lr=0.1)")
	final, _ := WeightsOf(n)
	rng := rand.New(rand.NewPCG(5, 6))
	e1, e2 := final.Zeros(), final.Zeros()
	for i := range e1.Flat {
		e1.Flat[i], e2.Flat[i] = rng.NormFloat64(), rng.NormFloat64()
	}
	scaleTo(e1.Flat, 1)
	scaleTo(e2.Flat, 1)
	rec := &TrajectoryRecorder{Interval: 1, Label: "planar"}
	coords := [][2]float64{{2, 1}, {1.5, -0.3}, {0.4, 0.8}, {0.1, -0.2}, {0, 0}}
	var pts []*Weights
	for i, c := range coords {
		w := final.Axpy(c[0], e1).Axpy(c[1], e2)
		pts = append(pts, w)
		if err := SetWeights(n, w); err != nil {
			t.Fatal(err)
		}
		if err := rec.Record(n, 10*i); err != nil {
			t.Fatal(err)
		}
	}
	p, err := TrajectoryPlane(stdctx.Background(), n, rec, SliceConfig{Train: d.Train, Examples: 100, Points: 7})
	if err != nil {
		t.Fatal(err)
	}
	if s := p.Explained[0] + p.Explained[1]; math.Abs(s-1) > 1e-5 || p.Explained[0] < p.Explained[1] {
		t.Errorf("explained variance %v", p.Explained)
	}
	if p.PathX[4] != 0 || p.PathY[4] != 0 || p.PathSteps[3] != 30 {
		t.Errorf("path %v %v %v", p.PathX, p.PathY, p.PathSteps)
	}
	for i := range coords {
		for j := range coords {
			// float32 snapshots: distances agree to about 1e-7 of the weights' norm.
			want := pts[i].Axpy(-1, pts[j]).Norm()
			got := math.Hypot(p.PathX[i]-p.PathX[j], p.PathY[i]-p.PathY[j])
			if math.Abs(got-want) > 1e-5*(1+final.Norm()) {
				t.Errorf("distance %d–%d: %v on the plane, %v in weight space", i, j, got, want)
			}
		}
	}
	if p.X[0] > minOf(p.PathX) || p.X[len(p.X)-1] < -minOf(negate(p.PathX)) {
		t.Errorf("window %v does not cover the path %v", p.X, p.PathX)
	}
	if _, err := p.Figure(); err != nil {
		t.Errorf("figure: %v", err)
	}
	var buf bytes.Buffer
	if err := p.WritePathCSV(&buf); err != nil || !strings.HasPrefix(buf.String(), "step,alpha,beta\n0,") {
		t.Errorf("path CSV: %v %s", err, buf.String())
	}
}

func negate(xs []float64) []float64 {
	out := make([]float64, len(xs))
	for i, x := range xs {
		out[i] = -x
	}
	return out
}

func TestTrajectoryRecorderDuringTraining(t *testing.T) {
	rec := &TrajectoryRecorder{Interval: 1, MaxSnapshots: 8}
	n, h := trained(t, "logreg", "sgd(lr=0.1)", rec)
	if err := rec.Record(n, h.Epochs[0].Steps); err != nil {
		t.Fatal(err)
	}
	// 24 updates with at most 8 snapshots: thinned, interval doubled twice.
	if rec.Len() > 8 || rec.Len() < 4 || rec.Every() != 4 {
		t.Errorf("%d snapshots at steps %v, interval %d", rec.Len(), rec.Steps(), rec.Every())
	}
	steps := rec.Steps()
	if steps[0] != 0 || steps[len(steps)-1] != 24 {
		t.Errorf("steps %v: want the initial and the final weights", steps)
	}
	last, _ := WeightsOf(n)
	if rec.Weights(rec.Len()-1).Axpy(-1, last).Norm() > 1e-6*last.Norm() {
		t.Error("the last snapshot is not the final weights")
	}
	if err := (&TrajectoryRecorder{Interval: 1, MaxSnapshots: 2}).Record(n, 0); err == nil {
		t.Error("MaxSnapshots 2 accepted")
	}
}
