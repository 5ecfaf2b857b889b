package diagnostics

import (
	stdctx "context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/functions"
)

var (
	backendOnce sync.Once
	backend     compute.Backend
	backendErr  error
)

func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	backendOnce.Do(func() { backend, backendErr = optlab.NewBackend("go") })
	if backendErr != nil {
		t.Fatal(backendErr)
	}
	return backend
}

// matrix is an explicit symmetric Operator.
type matrix [][]float64

func (m matrix) Dim() int { return len(m) }

func (m matrix) Apply(v []float64) ([]float64, error) {
	out := make([]float64, len(m))
	for i := range m {
		out[i] = dot(m[i], v)
	}
	return out, nil
}

func TestTopEigenvalueOnMatrices(t *testing.T) {
	for _, tc := range []struct {
		name string
		m    matrix
		want float64
	}{
		{"positive definite", matrix{{4, 1, 0}, {1, 3, 0}, {0, 0, 1}}, (7 + math.Sqrt(5)) / 2},
		// The negative eigenvalue dominates in magnitude: power iteration would find −5.
		{"negative dominant", matrix{{-5, 0, 0}, {0, 1, 0}, {0, 0, 2}}, 2},
		// λ and −λ: power iteration's Rayleigh quotient never moves.
		{"saddle ±2", matrix{{2, 0}, {0, -2}}, 2},
		{"negative definite", matrix{{-1, 0}, {0, -3}}, -1},
		{"zero", matrix{{0, 0}, {0, 0}}, 0},
	} {
		e, err := TopEigenvalue(stdctx.Background(), tc.m, EigenConfig{Tol: 1e-10, Seed: 3})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if math.Abs(e.Value-tc.want) > 1e-9*(1+math.Abs(tc.want)) || !e.Converged {
			t.Errorf("%s: λ_max = %v (converged %v), want %v", tc.name, e.Value, e.Converged, tc.want)
		}
		hv, _ := tc.m.Apply(e.Vector)
		axpy(hv, -e.Value, e.Vector)
		if r := math.Sqrt(dot(hv, hv)); r > 1e-6 && tc.want != 0 {
			t.Errorf("%s: residual ‖Hv − λv‖ = %v", tc.name, r)
		}
	}
	if _, err := TopEigenvalue(stdctx.Background(), matrix{{1}}, EigenConfig{Start: []float64{1, 2}}); err == nil {
		t.Error("a start vector of the wrong length was accepted")
	}
}

// analyticHessian returns the Hessian of f at (x, y) by central differences of
// its analytic gradient (float64, step 1e-6), symmetrised.
func analyticHessian(f functions.TestFunction, x, y float64) [2][2]float64 {
	const h = 1e-6
	gxp, gyp := f.Gradient(x+h, y)
	gxm, gym := f.Gradient(x-h, y)
	hxx, hxy := (gxp-gxm)/(2*h), (gyp-gym)/(2*h)
	gxp, gyp = f.Gradient(x, y+h)
	gxm, gym = f.Gradient(x, y-h)
	hyx, hyy := (gxp-gxm)/(2*h), (gyp-gym)/(2*h)
	off := (hxy + hyx) / 2
	return [2][2]float64{{hxx, off}, {off, hyy}}
}

// TestFunctionHessians checks Hessian-vector products and λ_max of every 2-D
// test function, at its start point, minima and saddles, against the Hessian
// formed from its analytic gradient, whose top eigenvalue of a 2×2 symmetric
// matrix has a closed form.
func TestFunctionHessians(t *testing.T) {
	b := testBackend(t)
	for _, f := range functions.All() {
		points := [][2]float64{f.Start, {0.3, -0.7}}
		points = append(points, f.Minima...)
		points = append(points, f.Saddles...)
		for _, p := range points {
			ref := analyticHessian(f, p[0], p[1])
			scale := 1 + math.Abs(ref[0][0]) + math.Abs(ref[1][1]) + math.Abs(ref[0][1])
			a, d, off := ref[0][0], ref[1][1], ref[0][1]
			want := (a+d)/2 + math.Sqrt((a-d)*(a-d)/4+off*off)
			for _, m := range []HVPMethod{HVPExact, HVPFiniteDifference} {
				name := fmt.Sprintf("%s at (%g, %g), %s", f.Name, p[0], p[1], m)
				h, err := NewFunctionHessian(b, f.Graph, p[:], m)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				tol := 1e-6 * scale
				if m == HVPFiniteDifference {
					tol = 1e-4 * scale // ∛eps step: truncation error about 1e-11·|f'''|·(1+‖w‖)²
				}
				for i := range 2 {
					e := []float64{0, 0}
					e[i] = 1
					col, err := h.Apply(e)
					if err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					for j := range 2 {
						if math.Abs(col[j]-ref[j][i]) > tol {
							t.Errorf("%s: H[%d][%d] = %v, want %v", name, j, i, col[j], ref[j][i])
						}
					}
				}
				eig, err := TopEigenvalue(stdctx.Background(), h, EigenConfig{Tol: 1e-12})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if math.Abs(eig.Value-want) > tol {
					t.Errorf("%s: λ_max = %v, want %v", name, eig.Value, want)
				}
			}
		}
	}
}

// hessianRef is one case of testdata/hessian_refs.json (see
// scripts/reference/gen_hessian_refs.py).
type hessianRef struct {
	Model     string    `json:"model"`
	Examples  int       `json:"examples"`
	Params    int       `json:"params"`
	Names     []string  `json:"names"`
	HVNorms   []float64 `json:"hv_norms"`
	HVIndex   []int     `json:"hv_index"`
	HVValues  []float64 `json:"hv_values"`
	LambdaMax float64   `json:"lambda_max"`
	LambdaMin float64   `json:"lambda_min"`
	Trace     float64   `json:"trace"`
}

func loadHessianRefs(t *testing.T) map[string]hessianRef {
	t.Helper()
	raw, err := os.ReadFile("testdata/hessian_refs.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Cases []hessianRef `json:"cases"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	out := map[string]hessianRef{}
	for _, c := range file.Cases {
		out[c.Model] = c
	}
	return out
}

// The closed forms of gen_hessian_refs.py: inputs, weights, biases, probe.

func refInputs(n int) *datasets.Dataset {
	const width = 784
	ds := &datasets.Dataset{Name: "reference", Width: width, Classes: 10}
	for k := 0; k < n; k++ {
		for i := 0; i < width; i++ {
			x := 0.5 + 0.5*math.Sin(0.113*float64(k+1)*float64(i)+0.7*float64(k)+0.3)
			if x < 0.35 {
				x = 0
			}
			ds.Features = append(ds.Features, float32(x))
		}
		ds.Labels = append(ds.Labels, int32((k*7+3)%10))
	}
	return ds
}

func refWeight(rows, cols int, a, b, scale float64) []float64 {
	out := make([]float64, 0, rows*cols)
	for i := 0; i < rows; i++ {
		for j := 0; j < cols; j++ {
			out = append(out, float64(float32(scale*math.Sin(a*float64(i)+b*float64(j)+0.5))))
		}
	}
	return out
}

func refBias(n int, a, scale float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = float64(float32(scale * math.Cos(a*float64(i)+0.25)))
	}
	return out
}

func refProbe(n int, a float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = math.Sin(a*float64(i) + 1)
	}
	return out
}

func refWeights(model string) []float64 {
	if model == "logreg" {
		return append(refWeight(784, 10, 0.031, 0.9, 0.05), refBias(10, 0.7, 0.1)...)
	}
	var w []float64
	w = append(w, refWeight(784, 128, 0.017, 0.61, 0.08)...)
	w = append(w, refBias(128, 0.37, 0.05)...)
	w = append(w, refWeight(128, 64, 0.071, 0.43, 0.15)...)
	w = append(w, refBias(64, 0.53, 0.05)...)
	w = append(w, refWeight(64, 10, 0.29, 0.77, 0.3)...)
	w = append(w, refBias(10, 0.7, 0.1)...)
	return w
}

// refNetwork returns the reference case's network with its weights set.
func refNetwork(t *testing.T, ref hessianRef) (*optlab.Network, *datasets.Dataset) {
	t.Helper()
	n, err := optlab.NewNetwork(testBackend(t), ref.Model, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := refInputs(ref.Examples)
	if err := Materialize(n, ds); err != nil {
		t.Fatal(err)
	}
	w, err := WeightsOf(n)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(w.Names, ",") != strings.Join(ref.Names, ",") || w.Len() != ref.Params {
		t.Fatalf("layout %v (%d), reference %v (%d)", w.Names, w.Len(), ref.Names, ref.Params)
	}
	w.Flat = refWeights(ref.Model)
	if err := SetWeights(n, w); err != nil {
		t.Fatal(err)
	}
	return n, ds
}

// TestHessianAgainstReferences compares products and eigenvalues of networks'
// Hessians with exact float64 references (logreg: the Hessian in closed form;
// mlp-small: PyTorch's double backward and Lanczos), within float32 accuracy.
func TestHessianAgainstReferences(t *testing.T) {
	refs := loadHessianRefs(t)
	for _, tc := range []struct {
		model  string
		method HVPMethod
		tol    float64
	}{
		{"logreg", HVPExact, 2e-5},
		{"logreg", HVPFiniteDifference, 5e-3},
		{"mlp-small", HVPExact, 2e-5},
		{"mlp-small", HVPAuto, 2e-5},
	} {
		t.Run(tc.model+"/"+string(tc.method), func(t *testing.T) {
			ref := refs[tc.model]
			n, ds := refNetwork(t, ref)
			h, err := NewHessian(n, ds, HessianConfig{Method: tc.method, Chunk: 5})
			if err != nil {
				t.Fatal(err)
			}
			if h.Examples() != ref.Examples || len(h.chunks) < 2 {
				t.Fatalf("%d examples in %d chunks", h.Examples(), len(h.chunks))
			}
			hv, err := h.Apply(refProbe(ref.Params, 0.0123))
			if err != nil {
				t.Fatal(err)
			}
			if m, why := h.Method(); tc.method == HVPAuto && (m != HVPExact || why != "") {
				t.Errorf("auto chose %s (%s), want exact", m, why)
			}
			lw := h.Layout()
			off := 0
			for i, name := range lw.Names {
				k := size(lw.Shapes[i])
				got := math.Sqrt(dot(hv[off:off+k], hv[off:off+k]))
				off += k
				if math.Abs(got-ref.HVNorms[i]) > tc.tol*ref.HVNorms[i]+1e-6 {
					t.Errorf("‖(Hv)_%s‖ = %v, want %v", name, got, ref.HVNorms[i])
				}
			}
			maxAbs := 0.0
			for _, v := range ref.HVValues {
				maxAbs = math.Max(maxAbs, math.Abs(v))
			}
			for j, idx := range ref.HVIndex {
				if math.Abs(hv[idx]-ref.HVValues[j]) > tc.tol*maxAbs {
					t.Errorf("(Hv)[%d] = %v, want %v", idx, hv[idx], ref.HVValues[j])
				}
			}
			s, err := MeasureSharpness(stdctx.Background(), n, ds, SharpnessConfig{
				Hessian: HessianConfig{Method: tc.method}, Eigen: EigenConfig{Tol: 1e-6, MaxIters: 80}})
			if err != nil {
				t.Fatal(err)
			}
			if !s.Converged || math.Abs(s.TopEigenvalue-ref.LambdaMax) > 10*tc.tol*ref.LambdaMax {
				t.Errorf("λ_max = %v (converged %v, %d products), want %v", s.TopEigenvalue, s.Converged, s.Products, ref.LambdaMax)
			}
		})
	}
}

// TestHutchinsonTrace checks the trace estimate against logreg's exact trace:
// within four standard errors, and the standard error shrinks as 1/√samples.
func TestHutchinsonTrace(t *testing.T) {
	ref := loadHessianRefs(t)["logreg"]
	n, ds := refNetwork(t, ref)
	h, err := NewHessian(n, ds, HessianConfig{Method: HVPExact})
	if err != nil {
		t.Fatal(err)
	}
	mean, se, err := Trace(stdctx.Background(), h, 200, 7)
	if err != nil {
		t.Fatal(err)
	}
	if se <= 0 || math.Abs(mean-ref.Trace) > 4*se {
		t.Errorf("trace %v ± %v, exact %v", mean, se, ref.Trace)
	}
	if se > 0.1*ref.Trace {
		t.Errorf("standard error %v too large for 200 samples (trace %v)", se, ref.Trace)
	}
}

func TestAutoFallsBackForConvolutions(t *testing.T) {
	n, err := optlab.NewNetwork(testBackend(t), "cnn-small", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := refInputs(2)
	h, err := NewHessian(n, ds, HessianConfig{})
	if err != nil {
		t.Fatal(err)
	}
	v := refProbe(h.Dim(), 0.01)
	hv, err := h.Apply(v)
	if err != nil {
		t.Fatal(err)
	}
	m, why := h.Method()
	if m != HVPFiniteDifference || !strings.Contains(why, "GoMLX cannot differentiate") {
		t.Errorf("method %s (%q), want the finite-difference fallback with its reason", m, why)
	}
	if q := dot(v, hv); math.IsNaN(q) || q == 0 {
		t.Errorf("vᵀHv = %v", q)
	}
}

func TestHessianRejectsBadInput(t *testing.T) {
	n, err := optlab.NewNetwork(testBackend(t), "logreg", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	ds := refInputs(3)
	for _, tc := range []struct {
		cfg  HessianConfig
		want string
	}{
		{HessianConfig{Examples: 4}, "4 examples asked for, the data set has 3"},
		{HessianConfig{Examples: -1}, "examples must be ≥ 0"},
		{HessianConfig{Chunk: -2}, "chunk must be ≥ 1"},
		{HessianConfig{Method: "lanczos"}, `unknown Hessian-vector product method "lanczos"`},
	} {
		if _, err := NewHessian(n, ds, tc.cfg); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
	h, err := NewHessian(n, ds, HessianConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.Apply([]float64{1}); err == nil || !strings.Contains(err.Error(), "vector of 1 values for 7850 parameters") {
		t.Errorf("short vector: %v", err)
	}
}
