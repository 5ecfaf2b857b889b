package functions

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// valueAndGrad compiles f and ∇f of a test function's graph for float64
// parameters of shape [2].
func valueAndGrad(t *testing.T, backend compute.Backend, tf TestFunction) func(x, y float64) (float64, float64, float64) {
	t.Helper()
	exec, err := graph.NewExec(backend, func(w *graph.Node) (*graph.Node, *graph.Node) {
		f := tf.Graph(w)
		return f, graph.Gradient(f, w)[0]
	})
	if err != nil {
		t.Fatalf("%s: NewExec: %v", tf.Name, err)
	}
	return func(x, y float64) (float64, float64, float64) {
		out, err := exec.Exec([]float64{x, y})
		if err != nil {
			t.Fatalf("%s: Exec at (%g, %g): %v", tf.Name, x, y, err)
		}
		g, err := tensors.CopyFlatData[float64](out[1])
		if err != nil {
			t.Fatalf("%s: gradient at (%g, %g): %v", tf.Name, x, y, err)
		}
		return tensors.ToScalar[float64](out[0]), g[0], g[1]
	}
}

func newBackend(t *testing.T) compute.Backend {
	t.Helper()
	b, err := compute.NewWithConfig("go")
	if err != nil {
		t.Fatalf("backend: %v", err)
	}
	t.Cleanup(b.Finalize)
	return b
}

// TestFunctionsMinima checks, for every function, that the documented minima
// have the documented value and a zero gradient (both the analytic gradient and
// GoMLX's autodiff of the graph), that the graph and the float64 evaluator
// agree, and that no point of a fine grid over the domain beats the documented
// minimum value.
func TestFunctionsMinima(t *testing.T) {
	backend := newBackend(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, tf := range append(All(), mustIll(t, 100, 30), mustIll(t, 5, 90), mustIll(t, 50, -135)) {
		t.Run(tf.Name, func(t *testing.T) {
			vg := valueAndGrad(t, backend, tf)
			bounded := len(tf.Minima) > 0
			if bounded == math.IsNaN(tf.MinValue) {
				t.Fatalf("MinValue %g inconsistent with %d minima", tf.MinValue, len(tf.Minima))
			}
			if !bounded && len(tf.Saddles) == 0 {
				t.Fatalf("an unbounded function should document its saddle")
			}
			for _, m := range tf.Minima {
				if v := tf.Eval(m[0], m[1]); math.Abs(v-tf.MinValue) > 1e-12 {
					t.Errorf("Eval%v = %.17g, documented minimum value %.17g", m, v, tf.MinValue)
				}
			}
			for _, p := range append(append([][2]float64{}, tf.Minima...), tf.Saddles...) {
				gx, gy := tf.Gradient(p[0], p[1])
				if math.Hypot(gx, gy) > 1e-9 {
					t.Errorf("analytic gradient at %v = (%g, %g), want 0", p, gx, gy)
				}
				v, ggx, ggy := vg(p[0], p[1])
				if math.Hypot(ggx, ggy) > 1e-9 {
					t.Errorf("graph gradient at %v = (%g, %g), want 0", p, ggx, ggy)
				}
				if want := tf.Eval(p[0], p[1]); math.Abs(v-want) > 1e-12 {
					t.Errorf("graph value at %v = %.17g, Eval gives %.17g", p, v, want)
				}
			}
			// Graph, Eval and Gradient agree at random points of the domain.
			d := tf.Domain
			for i := 0; i < 8; i++ {
				x := d.XMin + rng.Float64()*(d.XMax-d.XMin)
				y := d.YMin + rng.Float64()*(d.YMax-d.YMin)
				v, gx, gy := vg(x, y)
				ev := tf.Eval(x, y)
				ax, ay := tf.Gradient(x, y)
				scale := 1 + math.Abs(ev) + math.Hypot(ax, ay)
				if math.Abs(v-ev) > 1e-10*scale || math.Abs(gx-ax) > 1e-9*scale || math.Abs(gy-ay) > 1e-9*scale {
					t.Errorf("at (%g, %g): graph f=%g ∇=(%g, %g); Eval f=%g, Gradient=(%g, %g)", x, y, v, gx, gy, ev, ax, ay)
				}
			}
			// Finite differences confirm the analytic gradient.
			for i := 0; i < 8; i++ {
				x := d.XMin + rng.Float64()*(d.XMax-d.XMin)
				y := d.YMin + rng.Float64()*(d.YMax-d.YMin)
				const h = 1e-6
				fx := (tf.Eval(x+h, y) - tf.Eval(x-h, y)) / (2 * h)
				fy := (tf.Eval(x, y+h) - tf.Eval(x, y-h)) / (2 * h)
				ax, ay := tf.Gradient(x, y)
				tol := 1e-5 * (1 + math.Hypot(ax, ay))
				if math.Abs(fx-ax) > tol || math.Abs(fy-ay) > tol {
					t.Errorf("at (%g, %g): Gradient=(%g, %g), finite differences (%g, %g)", x, y, ax, ay, fx, fy)
				}
			}
			if !bounded {
				return
			}
			// No grid point of the window is lower than the documented minimum.
			const n = 400
			for i := 0; i <= n; i++ {
				for j := 0; j <= n; j++ {
					x := d.XMin + float64(i)/n*(d.XMax-d.XMin)
					y := d.YMin + float64(j)/n*(d.YMax-d.YMin)
					if v := tf.Eval(x, y); v < tf.MinValue-1e-12 {
						t.Fatalf("f(%g, %g) = %g is below the documented minimum %g", x, y, v, tf.MinValue)
					}
				}
			}
			for _, m := range tf.Minima {
				if !d.Contains(m[0], m[1]) {
					t.Errorf("minimum %v lies outside the window %+v", m, d)
				}
			}
			if !d.Contains(tf.Start[0], tf.Start[1]) {
				t.Errorf("start %v lies outside the window %+v", tf.Start, d)
			}
		})
	}
}

func mustIll(t *testing.T, kappa, angle float64) TestFunction {
	t.Helper()
	f, err := IllConditioned(kappa, angle)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestIllConditionedCurvature checks that the quadratic's Hessian has the
// requested condition number along the rotated axes.
func TestIllConditionedCurvature(t *testing.T) {
	for _, tc := range []struct{ kappa, angle float64 }{{20, 0}, {100, 30}, {1, 45}, {1000, -60}} {
		f := mustIll(t, tc.kappa, tc.angle)
		th := tc.angle * math.Pi / 180
		// Second derivative along a direction d: f(t d) = ½ λ t² for eigen-directions.
		along := func(dx, dy float64) float64 { return 2 * f.Eval(dx, dy) }
		if got := along(math.Cos(th), math.Sin(th)); math.Abs(got-1) > 1e-12 {
			t.Errorf("kappa=%g angle=%g: curvature along the valley %g, want 1", tc.kappa, tc.angle, got)
		}
		if got := along(-math.Sin(th), math.Cos(th)); math.Abs(got-tc.kappa) > 1e-9*tc.kappa {
			t.Errorf("kappa=%g angle=%g: curvature across the valley %g, want %g", tc.kappa, tc.angle, got, tc.kappa)
		}
		// The start point is (u, v) = (−4.5, 1.5) in the valley's axes.
		u := math.Cos(th)*f.Start[0] + math.Sin(th)*f.Start[1]
		v := -math.Sin(th)*f.Start[0] + math.Cos(th)*f.Start[1]
		if math.Abs(u+4.5) > 1e-12 || math.Abs(v-1.5) > 1e-12 {
			t.Errorf("kappa=%g angle=%g: start %v is (u, v) = (%g, %g), want (-4.5, 1.5)", tc.kappa, tc.angle, f.Start, u, v)
		}
	}
}

func TestFunctionLookup(t *testing.T) {
	names := Names()
	want := []string{"beale", "booth", "himmelblau", "ill-conditioned", "monkey-saddle", "plateau",
		"rastrigin", "rosenbrock", "saddle", "six-hump-camel"}
	if strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("Names() = %v, want %v", names, want)
	}
	for _, n := range names {
		f, err := Get(n)
		if err != nil {
			t.Fatalf("Get(%q): %v", n, err)
		}
		if f.Name != n || f.Graph == nil || f.Eval == nil || f.Gradient == nil || f.Formula == "" || f.Summary == "" {
			t.Errorf("Get(%q) is incomplete: %+v", n, f)
		}
	}
	f, err := Get(" Ill-Conditioned(kappa=100, angle=30) ")
	if err != nil {
		t.Fatal(err)
	}
	if got := 2 * f.Eval(-0.5, math.Sqrt(3)/2); math.Abs(got-100) > 1e-9 {
		t.Errorf("ill-conditioned(kappa=100,angle=30): curvature across the valley %g, want 100", got)
	}
	for _, tc := range []struct{ in, wantErr string }{
		{"rosenbrok", `unknown test function "rosenbrok"`},
		{"rosenbrock(a=1)", "takes no parameters"},
		{"ill-conditioned(kappa=0.5)", "kappa=0.5"},
		{"ill-conditioned(kappa=NaN)", "kappa=NaN"},
		{"ill-conditioned(kappa=x)", `"x" is not a number`},
		{"ill-conditioned(rho=2)", `unknown parameter "rho"`},
		{"ill-conditioned(kappa=2", "missing closing parenthesis"},
		{"ill-conditioned(kappa)", "not key=value"},
		{"ill-conditioned(kappa=2,kappa=3)", "given twice"},
	} {
		_, err := Get(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
			t.Errorf("Get(%q) error = %v, want it to mention %q", tc.in, err, tc.wantErr)
		}
	}
}

// TestFunctionGraphShapeError checks that a wrongly shaped parameter vector
// is reported as an error naming the shape.
func TestFunctionGraphShapeError(t *testing.T) {
	backend := newBackend(t)
	_, err := graph.ExecOnce(backend, Rosenbrock().Graph, []float64{1, 2, 3})
	if err == nil || !strings.Contains(err.Error(), "[3]") {
		t.Fatalf("want an error naming shape [3], got %v", err)
	}
}

// TestFunctionGraphFloat32 checks that the graph follows the parameters' dtype.
func TestFunctionGraphFloat32(t *testing.T) {
	backend := newBackend(t)
	for _, tf := range All() {
		out, err := graph.ExecOnce(backend, tf.Graph, []float32{float32(tf.Start[0]), float32(tf.Start[1])})
		if err != nil {
			t.Fatalf("%s: %v", tf.Name, err)
		}
		got := float64(tensors.ToScalar[float32](out))
		want := tf.Eval(float64(float32(tf.Start[0])), float64(float32(tf.Start[1])))
		if math.Abs(got-want) > 1e-5*(1+math.Abs(want)) {
			t.Errorf("%s: float32 graph at start %g, Eval %g", tf.Name, got, want)
		}
	}
}
