package landscape

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"

	"optlab.dev/optlab"
	"optlab.dev/optlab/optimizers"
)

func traceBackend(t testing.TB) compute.Backend {
	t.Helper()
	b, err := optlab.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTraceMatchesTorch replays the quadratic cases of the PyTorch goldens
// through Trace in float64.
func TestTraceMatchesTorch(t *testing.T) {
	data, err := os.ReadFile("../optimizers/testdata/torch_optimizers.json")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Cases []struct {
			Spec    string `json:"spec"`
			Problem struct {
				Type string    `json:"type"`
				A    []float64 `json:"a"`
				B    []float64 `json:"b"`
				W0   []float64 `json:"w0"`
			} `json:"problem"`
			Steps      int         `json:"steps"`
			Trajectory [][]float64 `json:"trajectory"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	backend := traceBackend(t)
	worst, n := 0.0, 0
	for ci, c := range f.Cases {
		if c.Problem.Type != "quadratic" || ci%3 != 0 { // a third of the cases keeps the test short
			continue
		}
		p := c.Problem
		q := Quadratic{A: p.A, B: p.B, W0: p.W0}
		tr, err := q.Trace(backend, optimizers.MustParse(c.Spec), c.Steps, dtypes.Float64)
		if err != nil {
			t.Fatalf("%s: %v", c.Spec, err)
		}
		for k, row := range c.Trajectory {
			for i, want := range row {
				e := math.Abs(tr.Params[k][i]-want) / math.Max(math.Abs(want), 1e-3)
				worst = math.Max(worst, e)
				if e > 1e-10 {
					t.Fatalf("%s: step %d w[%d] = %.17g, torch %.17g", c.Spec, k, i, tr.Params[k][i], want)
				}
			}
			if got, want := tr.Loss[k], q.Value(tr.Params[k]); math.Abs(got-want) > 1e-12*math.Max(1, math.Abs(want)) {
				t.Fatalf("%s: loss[%d] = %g, f(w) = %g", c.Spec, k, got, want)
			}
		}
		n++
	}
	if n == 0 {
		t.Fatal("no quadratic cases in the goldens")
	}
	t.Logf("%d cases, max relative error %.3g", n, worst)
}

func TestTraceFloat32(t *testing.T) {
	backend := traceBackend(t)
	q := Quadratic{A: []float64{1, 10}, B: []float64{0.5, -1}, W0: []float64{1, 1}}
	opt := optimizers.MustParse("adam(lr=0.05)")
	t64, err := q.Trace(backend, opt, 100, dtypes.Float64)
	if err != nil {
		t.Fatal(err)
	}
	t32, err := q.Trace(backend, opt, 100, dtypes.Float32)
	if err != nil {
		t.Fatal(err)
	}
	if t32.DType != "float32" || t32.Steps() != 100 || len(t32.Loss) != 101 {
		t.Fatalf("float32 trajectory: dtype %s, %d steps, %d losses", t32.DType, t32.Steps(), len(t32.Loss))
	}
	for k := range t64.Params {
		for i := range t64.Params[k] {
			if d := math.Abs(t32.Params[k][i] - t64.Params[k][i]); d > 1e-4 {
				t.Fatalf("step %d w[%d]: float32 %g vs float64 %g", k, i, t32.Params[k][i], t64.Params[k][i])
			}
		}
	}
}

func TestTraceErrors(t *testing.T) {
	backend := traceBackend(t)
	sgd := optimizers.MustParse("sgd(lr=1)")
	q := Quadratic{A: []float64{10}, B: []float64{0}, W0: []float64{1}}
	tr, err := q.Trace(backend, sgd, 1000, dtypes.Float64)
	if err == nil || !strings.Contains(err.Error(), "diverged at step") {
		t.Fatalf("diverging run: err = %v", err)
	}
	if tr == nil || tr.Steps() < 100 || firstNonFinite(tr.Final()) >= 0 || len(tr.Loss) != len(tr.Params) {
		t.Fatalf("diverging run should keep the finite prefix, got %v steps", tr.Steps())
	}
	if last := tr.Loss[len(tr.Loss)-1]; last != q.Value(tr.Final()) {
		t.Errorf("last loss %g, f(last w) = %g", last, q.Value(tr.Final()))
	}
	for _, bad := range []Quadratic{
		{A: []float64{1, 2}, B: []float64{0}, W0: []float64{1, 1}},
		{},
		{A: []float64{1}, B: []float64{0}, W0: []float64{math.NaN()}},
	} {
		if _, err := bad.Trace(backend, sgd, 3, dtypes.Float64); err == nil {
			t.Errorf("Quadratic%+v: no error", bad)
		}
	}
	if _, err := q.Trace(backend, sgd, 3, dtypes.Int32); err == nil {
		t.Error("int32 dtype: no error")
	}
	if _, err := q.Trace(backend, sgd, -1, dtypes.Float64); err == nil {
		t.Error("negative steps: no error")
	}
}

// ExampleTrace follows Nesterov momentum on an ill-conditioned quadratic.
func ExampleTrace() {
	backend, err := optlab.NewBackend("go")
	if err != nil {
		panic(err)
	}
	q := Quadratic{A: []float64{1, 25}, B: []float64{-1, 0}, W0: []float64{-2, 1}}
	opt := optimizers.MustParse("nesterov(lr=0.03)")
	tr, err := Trace(backend, opt, q.Objective(), q.W0, 200, dtypes.Float64)
	if err != nil {
		panic(err)
	}
	w := tr.Final()
	fmt.Printf("after %d steps: f = %.6f, distance to the minimum (1, 0) below 1e-6: %v\n",
		tr.Steps(), tr.Loss[tr.Steps()], math.Hypot(w[0]-1, w[1]) < 1e-6)
	// Output: after 200 steps: f = -0.500000, distance to the minimum (1, 0) below 1e-6: true
}
