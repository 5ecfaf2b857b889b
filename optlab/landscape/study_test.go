package landscape

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"

	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/optimizers"
)

func TestSparseRegression(t *testing.T) {
	p, err := SparseRegression(SparseConfig{Features: 8, Examples: 4000, MaxFreq: 0.5, MinFreq: 0.02, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	// Frequencies as configured (log-spaced from 0.5 to 0.02), up to sampling noise.
	for j, f := range p.Freq {
		want := 0.5 * math.Pow(0.02/0.5, float64(j)/7)
		if sd := math.Sqrt(want * (1 - want) / 4000); math.Abs(f-want) > 5*sd {
			t.Errorf("feature %d: frequency %.4f, want %.4f ± %.4f", j, f, want, 5*sd)
		}
	}
	// The solution is the minimum: the host gradient vanishes there, and w*
	// (all ones, the truth) is close to it.
	for j := range p.Solution {
		h := 1e-6
		w1, w2 := append([]float64(nil), p.Solution...), append([]float64(nil), p.Solution...)
		w1[j] += h
		w2[j] -= h
		if g := (p.Value(w1) - p.Value(w2)) / (2 * h); math.Abs(g) > 1e-7 {
			t.Errorf("gradient %g along feature %d at the least-squares solution", g, j)
		}
		if math.Abs(p.Solution[j]-1) > 0.1 {
			t.Errorf("solution %g for feature %d, truth 1", p.Solution[j], j)
		}
	}
	// Curvatures: ascending, and the largest bounds each coordinate's own
	// curvature (its frequency: the Hessian's diagonal).
	for i := 1; i < len(p.Curvatures); i++ {
		if p.Curvatures[i] < p.Curvatures[i-1] {
			t.Fatalf("curvatures not ascending: %v", p.Curvatures)
		}
	}
	if top := p.Curvatures[len(p.Curvatures)-1]; top < p.Freq[0] {
		t.Errorf("largest curvature %g below the diagonal entry %g", top, p.Freq[0])
	}
	// The graph's full-batch loss is the host's.
	tr, err := TraceStochastic(goBackend(t), optimizers.MustParse("sgd(lr=0.1)"), p.FiniteSum, StochasticConfig{Steps: 1, Seed: 1, DType: dtypes.Float64})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := tr.Loss[1], p.Value(tr.Params[1]); math.Abs(got-want) > 1e-12*math.Max(1, want) {
		t.Errorf("graph loss %v, host loss %v", got, want)
	}
	if r := p.Remaining(p.W0); math.Abs(r[0]-1) > 1e-12 {
		t.Errorf("remaining at the start %v, want 1", r[0])
	}
}

func TestSparseRegressionRefuses(t *testing.T) {
	for _, tc := range []struct {
		cfg  SparseConfig
		want string
	}{
		{SparseConfig{Features: 1}, "at least 2"},
		{SparseConfig{Features: 10, Examples: 5}, "at least as many"},
		{SparseConfig{MinFreq: 0.6, MaxFreq: 0.5}, "MinFreq"},
		{SparseConfig{Noise: math.Inf(1)}, "noise"},
		{SparseConfig{Examples: 50, MinFreq: 1e-6}, "never non-zero"},
	} {
		if _, err := SparseRegression(tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one containing %q", tc.cfg, err, tc.want)
		}
	}
}

// TestRunSparse: each candidate is tuned over its grid (a diverging rate is
// skipped), the tuned spec runs with every seed, and Adagrad's per-feature
// rates leave less of the rare features to learn than plain SGD tuned the
// same way.
func TestRunSparse(t *testing.T) {
	p, err := SparseRegression(SparseConfig{Features: 30, Examples: 2000, MinFreq: 0.005, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	top := p.Curvatures[len(p.Curvatures)-1]
	st, err := RunSparse(goBackend(t), p, []SparseCandidate{
		{Family: "sgd", LRs: []float64{0.5 / top, 1.8 / top, 50 / top}},
		{Family: "adagrad", LRs: []float64{0.2, 0.5, 1}},
	}, 100, 32, []int64{1, 2, 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Specs) != 2 || !strings.HasPrefix(st.Specs[0], "sgd(lr=") || strings.Contains(st.Specs[0], "lr=50") {
		t.Fatalf("tuned specs %v", st.Specs)
	}
	if len(st.Remaining[0]) != 3 || len(st.Remaining[0][0]) != 30 || len(st.Excess[1]) != 3 {
		t.Fatalf("shapes: %d seeds, %d features", len(st.Remaining[0]), len(st.Remaining[0][0]))
	}
	sgdRare, adaRare := st.Group(0, 22, 30), st.Group(1, 22, 30)
	for k := range sgdRare {
		if !(adaRare[k] < sgdRare[k]) {
			t.Errorf("seed %d: rare features left %.3f with adagrad, %.3f with sgd", st.Seeds[k], adaRare[k], sgdRare[k])
		}
	}
	if _, err := st.Figure(5); err != nil {
		t.Fatal(err)
	}
	if _, err := RunSparse(goBackend(t), p, []SparseCandidate{{Family: "sgd", LRs: []float64{1e4}}}, 100, 32, []int64{1}); err == nil || !strings.Contains(err.Error(), "diverged at every") {
		t.Errorf("all-diverging grid: %v", err)
	}
}

// TestGradientNorms: one ReLU layer against the gradient by hand; with depth,
// sigmoid gradients vanish towards the input and batch norm keeps them in scale.
func TestGradientNorms(t *testing.T) {
	b := goBackend(t)
	one, err := GradientNorms(b, DeepNet{Depth: 1, Width: 3, Batch: 2, Activation: "relu", Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	// Redraw the same inputs and weights: L = mean over B×W of relu(xW)²,
	// ∂L/∂W_kj = Σ_b x_bk · 2·relu(z_bj) / (B·W).
	x, w := drawDeepNet(5, 2, 3, 1, 1)
	var sq float64
	for k := 0; k < 3; k++ {
		for j := 0; j < 3; j++ {
			g := 0.0
			for bi := 0; bi < 2; bi++ {
				z := 0.0
				for i := 0; i < 3; i++ {
					z += float64(x[bi*3+i]) * float64(w[i*3+j])
				}
				g += float64(x[bi*3+k]) * 2 * math.Max(z, 0) / 6
			}
			sq += g * g
		}
	}
	if want := math.Sqrt(sq); math.Abs(one[0]-want) > 1e-5*want {
		t.Errorf("one layer: norm %v, by hand %v", one[0], want)
	}
	sig, err := GradientNorms(b, DeepNet{Activation: "sigmoid", Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	bn, err := GradientNorms(b, DeepNet{Activation: "sigmoid", BatchNorm: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(sig) != 20 || sig[0]/sig[19] > 1e-6 {
		t.Errorf("sigmoid: first/last layer %g, want a vanishing gradient (< 1e-6)", sig[0]/sig[19])
	}
	if r := bn[0] / bn[19]; r < 0.1 || r > 10 {
		t.Errorf("sigmoid + batch norm: first/last layer %g, want the same order", r)
	}
	for _, bad := range []DeepNet{{Activation: "gelu"}, {Activation: "relu", Depth: -1}, {Activation: "relu", Gain: -1}, {Activation: "relu", Batch: 1}} {
		if _, err := GradientNorms(b, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

// drawDeepNet repeats GradientNorms' draws of inputs and weights.
func drawDeepNet(seed uint64, batch, width, depth int, gain float64) (x, w []float32) {
	r := newDeepRand(seed)
	normal := func(size int, std float64) []float32 {
		v := make([]float32, size)
		for i := range v {
			v[i] = float32(std * r.NormFloat64())
		}
		return v
	}
	return normal(batch*width, 1), normal(depth*width*width, gain/math.Sqrt(float64(width)))
}

// TestMultiStart: on a convex bowl every start finds the minimum; starts lie in
// the window; on Rastrigin plain gradient descent from most starts does not.
func TestMultiStart(t *testing.T) {
	b := goBackend(t)
	win := functions.Domain{XMin: -4, XMax: 4, YMin: -4, YMax: 4}
	ms, err := RunMultiStart(b, Config{Function: "booth", Optimizers: mustSpecs(t, "sgd(lr=0.05)"), Steps: 300}, 5, win, 1, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ms.Found(0) != 5 {
		t.Errorf("booth: %d of 5 runs found the minimum", ms.Found(0))
	}
	for _, s := range ms.Starts {
		if s[0] < -4 || s[0] > 4 || s[1] < -4 || s[1] > 4 {
			t.Errorf("start %v outside the window", s)
		}
	}
	ra, err := RunMultiStart(b, Config{Function: "rastrigin", Optimizers: mustSpecs(t, "sgd(lr=2e-3)"), Steps: 200}, 6, win, 2, 0)
	if err != nil {
		t.Fatal(err)
	}
	if ra.Found(0) > 3 || !(ra.Improvement(0) > 0) || !(Median(ra.Losses(0)) > 0) {
		t.Errorf("rastrigin: %d of 6 found the global minimum, improvement %g", ra.Found(0), ra.Improvement(0))
	}
	if _, err := RunMultiStart(b, Config{Function: "booth"}, 0, win, 1, 0); err == nil {
		t.Error("0 starts accepted")
	}
	if _, err := RunMultiStart(b, Config{Function: "booth"}, 2, functions.Domain{XMin: 1, XMax: 1, YMin: 0, YMax: 1}, 1, 0); err == nil {
		t.Error("empty window accepted")
	}
	if got := Median([]float64{3, math.NaN(), 1, 2, 10}); got != 2.5 {
		t.Errorf("median %v, want 2.5 (NaN left out)", got)
	}
}

// TestWindowAround: the window holds the paths and the start, stays inside
// the function's window and is square unless clipped.
func TestWindowAround(t *testing.T) {
	res, err := Run(goBackend(t), Config{Function: "rastrigin", Optimizers: mustSpecs(t, "sgd(lr=2e-3)", "adam(lr=0.1)")})
	if err != nil {
		t.Fatal(err)
	}
	l, err := res.WindowAround(0.5)
	if err != nil {
		t.Fatal(err)
	}
	d := res.Function.Domain
	if l.XMin < d.XMin || l.XMax > d.XMax || l.YMin < d.YMin || l.YMax > d.YMax {
		t.Errorf("window [%g, %g]×[%g, %g] leaves the function's", l.XMin, l.XMax, l.YMin, l.YMax)
	}
	if l.XMax-l.XMin > 3 || math.Abs((l.XMax-l.XMin)-(l.YMax-l.YMin)) > 1e-9 {
		t.Errorf("window [%g, %g]×[%g, %g]: want a small square around the short paths", l.XMin, l.XMax, l.YMin, l.YMax)
	}
	for _, run := range res.Runs {
		for _, q := range run.Trace.Params {
			if q[0] < l.XMin || q[0] > l.XMax || q[1] < l.YMin || q[1] > l.YMax {
				t.Fatalf("%s: point %v outside the window", run.Spec, q)
			}
		}
	}
	if len(l.Minima) != 0 {
		t.Errorf("the origin's minimum is far outside the window but kept: %v", l.Minima)
	}
	if _, err := res.WindowAround(-1); err == nil {
		t.Error("negative pad accepted")
	}
	if _, err := res.FigureAround(0.5); err != nil {
		t.Error(err)
	}
}

func TestTrajectoryMeasures(t *testing.T) {
	tr := &Trajectory{
		Params: [][]float64{{1, 0}, {-0.5, 0}, {0.2, 0}, {-0.05, 0}, {0.0005, 0}, {-0.0002, 0}},
		Loss:   []float64{0.5, 0.125, 0.02, 0.00125, 1.25e-7, 2e-8},
	}
	for _, tc := range []struct {
		name      string
		got, want int
	}{
		{"StepsTo(0.02)", tr.StepsTo(0.02), 2},
		{"StepsTo(1)", tr.StepsTo(1), 0},
		{"StepsTo(1e-9)", tr.StepsTo(1e-9), -1},
		{"SettlesAt(0, 0, 0.001)", tr.SettlesAt(0, 0, 0.001), 4},
		{"SettlesAt(0, 0, 0.1)", tr.SettlesAt(0, 0, 0.1), 3},
		{"SettlesAt(0, 0, 1e-5)", tr.SettlesAt(0, 0, 1e-5), -1},
		{"Crossings(0, 0)", tr.Crossings(0, 0), 5},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %d, want %d", tc.name, tc.got, tc.want)
		}
	}
	if l := tr.StepLengths(); len(l) != 5 || math.Abs(l[0]-1.5) > 1e-12 {
		t.Errorf("step lengths %v", l)
	}
	if p := tr.Path("x"); len(p.X) != 6 || p.X[1] != -0.5 {
		t.Errorf("path %+v", p)
	}
	if s := tr.LossSeries("x", 2e-8); s.Y[5] != 0 || s.X[5] != 5 {
		t.Errorf("loss series %+v", s)
	}
}

// TestRandomSearch: the evaluations a search without gradients needs grow in
// proportion to the dimension (about tenfold per tenfold n), and it gives up
// at its limit with an error.
func TestRandomSearch(t *testing.T) {
	var evals []int
	for _, n := range []int{10, 100, 1000} {
		e, err := RandomSearch(n, 1000, 1, 1_000_000)
		if err != nil {
			t.Fatal(err)
		}
		evals = append(evals, e)
	}
	for i := 1; i < len(evals); i++ {
		if r := float64(evals[i]) / float64(evals[i-1]); r < 5 || r > 20 {
			t.Errorf("evaluations %v: ratio %.1f per tenfold dimension, want about 10", evals, r)
		}
	}
	if _, err := RandomSearch(1000, 1000, 1, 100); err == nil || !strings.Contains(err.Error(), "after 100 evaluations") {
		t.Errorf("limit: %v", err)
	}
	if _, err := RandomSearch(0, 1000, 1, 100); err == nil {
		t.Error("0 dimensions accepted")
	}
}
