package functions

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/core/graph"

	"optlab.dev/internal/spec"
)

// Domain is a rectangle of the plane: the default window in which a test
// function is drawn.
type Domain struct {
	XMin, XMax, YMin, YMax float64
}

// Contains reports whether (x, y) lies inside the rectangle (borders included).
func (d Domain) Contains(x, y float64) bool {
	return x >= d.XMin && x <= d.XMax && y >= d.YMin && y <= d.YMax
}

// TestFunction is a two-dimensional objective used to watch optimizers move:
// a GoMLX graph function for the optimizers, a float64 evaluator for drawing
// contours, and the facts needed to judge a trajectory (minima, a window, a
// start point).
type TestFunction struct {
	// Name is the lookup name, lower-case kebab style ("six-hump-camel").
	Name string
	// Formula is f(x, y) written out in plain text.
	Formula string
	// Summary says in one sentence what the function is good for showing.
	Summary string

	// Graph builds f(w) for a parameter vector w of shape [2] = (x, y). The
	// result is a scalar of w's dtype. It panics (the GoMLX convention while
	// building a graph) if w is not shaped [2].
	Graph func(w *graph.Node) *graph.Node
	// Eval computes f(x, y) in float64, for contours and checks.
	Eval func(x, y float64) float64
	// Gradient computes ∇f(x, y) analytically in float64.
	Gradient func(x, y float64) (gx, gy float64)

	// Minima lists every global minimiser. It is empty when f is unbounded
	// below (the saddles).
	Minima [][2]float64
	// MinValue is f at the global minima; NaN when there are none.
	MinValue float64
	// Saddles lists stationary points that are not minima and are worth
	// marking on a figure (the saddle functions' critical point).
	Saddles [][2]float64

	// Domain is the default drawing window.
	Domain Domain
	// Start is the default starting point of a trajectory: chosen so that the
	// function's difficulty (a curved valley, a plateau, a saddle) lies on the
	// way to a minimum.
	Start [2]float64
	// LogLevels suggests log-spaced contour levels (f − MinValue spans many
	// orders of magnitude over the window, as with Rosenbrock).
	LogLevels bool
	// LinearLevels suggests evenly spaced contour levels, so that a flat
	// region shows as one wide band (the plateau).
	LinearLevels bool
}

// Function returns the test function with the given name. The ill-conditioned
// quadratic takes optional parameters in the project's spec syntax:
// "ill-conditioned(kappa=100,angle=30)". Names are listed by FunctionNames.
func Get(name string) (TestFunction, error) {
	base, args, err := splitSpec(name)
	if err != nil {
		return TestFunction{}, err
	}
	if base == "ill-conditioned" {
		kappa, angle := 20.0, 0.0
		for k, v := range args {
			switch k {
			case "kappa":
				kappa = v
			case "angle":
				angle = v
			default:
				return TestFunction{}, fmt.Errorf("test function %q: unknown parameter %q (want kappa, angle)", name, k)
			}
		}
		return IllConditioned(kappa, angle)
	}
	if len(args) > 0 {
		return TestFunction{}, fmt.Errorf("test function %q takes no parameters", base)
	}
	for _, f := range All() {
		if f.Name == base {
			return f, nil
		}
	}
	return TestFunction{}, fmt.Errorf("unknown test function %q (known: %s)", name, strings.Join(Names(), ", "))
}

// FunctionNames lists the names accepted by Function, sorted.
func Names() []string {
	fs := All()
	names := make([]string, len(fs))
	for i, f := range fs {
		names[i] = f.Name
	}
	sort.Strings(names)
	return names
}

// Functions returns every test function with its default parameters, in a
// fixed order (valleys, bowls, saddles, multi-modal, plateau). Each call
// returns fresh values.
func All() []TestFunction {
	q, err := IllConditioned(20, 0)
	if err != nil {
		panic(err) // constant arguments: cannot happen
	}
	return []TestFunction{
		Rosenbrock(), Beale(), Booth(), q, Himmelblau(), SixHumpCamel(),
		Rastrigin(), Saddle(), MonkeySaddle(), Plateau(),
	}
}

// splitSpec parses "name" or "name(k=v,...)" with numeric values, with the
// tokenizer shared by every spec of the project.
func splitSpec(src string) (string, map[string]float64, error) {
	c, err := spec.Parse(src, spec.Options{Hyphens: true})
	if err != nil {
		var se *spec.Error
		if !errors.As(err, &se) {
			return "", nil, err
		}
		switch se.Reason {
		case spec.Unclosed:
			return "", nil, fmt.Errorf("test function %q: missing closing parenthesis", src)
		case spec.MissingEquals:
			return "", nil, fmt.Errorf("test function %q: column %d: parameter is not key=value", src, se.Pos+1)
		}
		return "", nil, fmt.Errorf("test function %q: column %d, %q: %s", src, se.Pos+1, se.Token, se.Msg)
	}
	if !c.Parens {
		return c.Name, nil, nil
	}
	args := map[string]float64{}
	for _, a := range c.Args {
		if a.Value.Kind != spec.Number {
			return "", nil, fmt.Errorf("test function %q: parameter %s: %q is not a number", src, a.Key, a.Value.Token())
		}
		if _, dup := args[a.Key]; dup {
			return "", nil, fmt.Errorf("test function %q: parameter %s given twice", src, a.Key)
		}
		args[a.Key] = a.Value.Num
	}
	return c.Name, args, nil
}

// split returns the two coordinates of w (shape [2]) as scalars.
func split(w *graph.Node) (x, y *graph.Node) {
	if w.Rank() != 1 || w.Shape().Dimensions[0] != 2 {
		panic(fmt.Errorf("2-D test function: parameters must be shaped [2], got %s", w.Shape()))
	}
	// Select each coordinate with a one-hot mask: the gradient of Slice needs
	// the Pad op, which the pure-Go backend does not implement.
	g := w.Graph()
	pick := func(i int) *graph.Node {
		mask := make([]float64, 2)
		mask[i] = 1
		return graph.ReduceAllSum(graph.Mul(w, graph.ConvertDType(graph.Const(g, mask), w.DType())))
	}
	return pick(0), pick(1)
}

// k is the constant v in the dtype of ref.
func k(ref *graph.Node, v float64) *graph.Node { return graph.Scalar(ref.Graph(), ref.DType(), v) }

// Rosenbrock is the banana valley f = (1 − x)² + 100 (y − x²)², global minimum
// 0 at (1, 1) at the end of a long, curved, flat-bottomed valley.
func Rosenbrock() TestFunction {
	return TestFunction{
		Name:    "rosenbrock",
		Formula: "(1 - x)^2 + 100 (y - x^2)^2",
		Summary: "a narrow curved valley: easy to reach, slow to follow to the minimum",
		Graph: func(w *graph.Node) *graph.Node {
			x, y := split(w)
			return graph.Add(graph.Square(graph.OneMinus(x)), graph.MulScalar(graph.Square(graph.Sub(y, graph.Square(x))), 100))
		},
		Eval: func(x, y float64) float64 { return sq(1-x) + 100*sq(y-x*x) },
		Gradient: func(x, y float64) (float64, float64) {
			return -2*(1-x) - 400*x*(y-x*x), 200 * (y - x*x)
		},
		Minima:    [][2]float64{{1, 1}},
		MinValue:  0,
		Domain:    Domain{-2, 2, -1, 3},
		Start:     [2]float64{-1.5, 2},
		LogLevels: true,
	}
}

// Beale is f = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)²,
// global minimum 0 at (3, 0.5), with sharp ridges and flat arms.
func Beale() TestFunction {
	return TestFunction{
		Name:    "beale",
		Formula: "(1.5 - x + xy)^2 + (2.25 - x + xy^2)^2 + (2.625 - x + xy^3)^2",
		Summary: "flat arms between steep walls: gradient scales differ by orders of magnitude",
		Graph: func(w *graph.Node) *graph.Node {
			x, y := split(w)
			xy := graph.Mul(x, y)
			xy2 := graph.Mul(xy, y)
			xy3 := graph.Mul(xy2, y)
			t1 := graph.Add(k(x, 1.5), graph.Sub(xy, x))
			t2 := graph.Add(k(x, 2.25), graph.Sub(xy2, x))
			t3 := graph.Add(k(x, 2.625), graph.Sub(xy3, x))
			return graph.Add(graph.Add(graph.Square(t1), graph.Square(t2)), graph.Square(t3))
		},
		Eval: func(x, y float64) float64 {
			return sq(1.5-x+x*y) + sq(2.25-x+x*y*y) + sq(2.625-x+x*y*y*y)
		},
		Gradient: func(x, y float64) (float64, float64) {
			t1, t2, t3 := 1.5-x+x*y, 2.25-x+x*y*y, 2.625-x+x*y*y*y
			gx := 2*t1*(y-1) + 2*t2*(y*y-1) + 2*t3*(y*y*y-1)
			gy := 2*t1*x + 2*t2*2*x*y + 2*t3*3*x*y*y
			return gx, gy
		},
		Minima:    [][2]float64{{3, 0.5}},
		MinValue:  0,
		Domain:    Domain{-4.5, 4.5, -4.5, 4.5},
		Start:     [2]float64{1, 1.5},
		LogLevels: true,
	}
}

// Booth is the well-conditioned bowl f = (x + 2y − 7)² + (2x + y − 5)², global
// minimum 0 at (1, 3).
func Booth() TestFunction {
	return TestFunction{
		Name:    "booth",
		Formula: "(x + 2y - 7)^2 + (2x + y - 5)^2",
		Summary: "a tilted quadratic bowl (condition number 9): every method should manage",
		Graph: func(w *graph.Node) *graph.Node {
			x, y := split(w)
			a := graph.AddScalar(graph.Add(x, graph.MulScalar(y, 2)), -7)
			b := graph.AddScalar(graph.Add(graph.MulScalar(x, 2), y), -5)
			return graph.Add(graph.Square(a), graph.Square(b))
		},
		Eval: func(x, y float64) float64 { return sq(x+2*y-7) + sq(2*x+y-5) },
		Gradient: func(x, y float64) (float64, float64) {
			a, b := x+2*y-7, 2*x+y-5
			return 2*a + 4*b, 4*a + 2*b
		},
		Minima:   [][2]float64{{1, 3}},
		MinValue: 0,
		Domain:   Domain{-10, 10, -10, 10},
		Start:    [2]float64{-8, -6},
	}
}

// IllConditioned returns the quadratic f = ½ (u² + κ v²) where (u, v) is (x, y)
// rotated by angleDeg degrees: its Hessian has eigenvalues 1 and κ (the
// condition number), its minimum is 0 at the origin. With angle 0 the narrow
// direction is the y axis, which per-coordinate adaptive methods (Adagrad,
// RMSprop, Adam) can rescale; a rotated valley denies them that shortcut.
func IllConditioned(kappa, angleDeg float64) (TestFunction, error) {
	if !(kappa >= 1) || math.IsInf(kappa, 0) {
		return TestFunction{}, fmt.Errorf("ill-conditioned: kappa=%g must be a finite number >= 1", kappa)
	}
	if math.IsNaN(angleDeg) || math.IsInf(angleDeg, 0) {
		return TestFunction{}, fmt.Errorf("ill-conditioned: angle=%g must be finite", angleDeg)
	}
	th := angleDeg * math.Pi / 180
	c, s := math.Cos(th), math.Sin(th)
	// u = c x + s y, v = −s x + c y.
	name := "ill-conditioned"
	if kappa != 20 || angleDeg != 0 {
		name = fmt.Sprintf("ill-conditioned(kappa=%g,angle=%g)", kappa, angleDeg)
	}
	// The window holds the rectangle |u| ≤ 5, |v| ≤ 3 (the valley and its
	// walls) after rotation.
	hx := 5*math.Abs(c) + 3*math.Abs(s)
	hy := 5*math.Abs(s) + 3*math.Abs(c)
	return TestFunction{
		Name:    name,
		Formula: fmt.Sprintf("0.5 (u^2 + %g v^2), (u, v) = (x, y) rotated by %g degrees", kappa, angleDeg),
		Summary: "an elongated bowl: the learning rate is capped by the steep direction, progress by the flat one",
		Graph: func(w *graph.Node) *graph.Node {
			x, y := split(w)
			u := graph.Add(graph.MulScalar(x, c), graph.MulScalar(y, s))
			v := graph.Add(graph.MulScalar(x, -s), graph.MulScalar(y, c))
			return graph.MulScalar(graph.Add(graph.Square(u), graph.MulScalar(graph.Square(v), kappa)), 0.5)
		},
		Eval: func(x, y float64) float64 {
			u, v := c*x+s*y, -s*x+c*y
			return 0.5 * (u*u + kappa*v*v)
		},
		Gradient: func(x, y float64) (float64, float64) {
			u, v := c*x+s*y, -s*x+c*y
			// ∂f/∂u = u, ∂f/∂v = κ v; back-rotate.
			return c*u - s*kappa*v, s*u + c*kappa*v
		},
		Minima:   [][2]float64{{0, 0}},
		MinValue: 0,
		Domain:   Domain{-hx, hx, -hy, hy},
		// (u, v) = (−4.5, 1.5): both the flat and the steep direction have
		// work to do. x = c·u − s·v, y = s·u + c·v.
		Start: [2]float64{-4.5*c - 1.5*s, -4.5*s + 1.5*c},
	}, nil
}

// Himmelblau is f = (x² + y − 11)² + (x + y² − 7)², with four global minima of
// value 0: which one an optimizer reaches depends on its path.
func Himmelblau() TestFunction {
	return TestFunction{
		Name:    "himmelblau",
		Formula: "(x^2 + y - 11)^2 + (x + y^2 - 7)^2",
		Summary: "four equal minima: the path decides which basin an optimizer ends in",
		Graph: func(w *graph.Node) *graph.Node {
			x, y := split(w)
			a := graph.AddScalar(graph.Add(graph.Square(x), y), -11)
			b := graph.AddScalar(graph.Add(x, graph.Square(y)), -7)
			return graph.Add(graph.Square(a), graph.Square(b))
		},
		Eval: func(x, y float64) float64 { return sq(x*x+y-11) + sq(x+y*y-7) },
		Gradient: func(x, y float64) (float64, float64) {
			a, b := x*x+y-11, x+y*y-7
			return 4*x*a + 2*b, 2*a + 4*y*b
		},
		// The three irrational minima were refined by Newton's method to
		// float64 precision.
		Minima: [][2]float64{
			{3, 2},
			{-2.8051180869527448, 3.131312518250573},
			{-3.779310253377747, -3.2831859912861696},
			{3.5844283403304917, -1.8481265269644034},
		},
		MinValue:  0,
		Domain:    Domain{-5, 5, -5, 5},
		Start:     [2]float64{-0.5, -0.5},
		LogLevels: true,
	}
}

// SixHumpCamel is f = (4 − 2.1x² + x⁴/3) x² + xy + (−4 + 4y²) y², with two
// global minima of value −1.0316284534898774 at ±(0.0898420131, −0.7126564030)
// and four more local minima.
func SixHumpCamel() TestFunction {
	return TestFunction{
		Name:    "six-hump-camel",
		Formula: "(4 - 2.1x^2 + x^4/3) x^2 + xy + (4y^2 - 4) y^2",
		Summary: "two global and four local minima on a small window",
		Graph: func(w *graph.Node) *graph.Node {
			x, y := split(w)
			x2 := graph.Square(x)
			y2 := graph.Square(y)
			a := graph.Mul(graph.Add(graph.AddScalar(graph.MulScalar(x2, -2.1), 4), graph.DivScalar(graph.Square(x2), 3)), x2)
			b := graph.Mul(graph.AddScalar(graph.MulScalar(y2, 4), -4), y2)
			return graph.Add(graph.Add(a, graph.Mul(x, y)), b)
		},
		Eval: func(x, y float64) float64 {
			return (4-2.1*x*x+x*x*x*x/3)*x*x + x*y + (-4+4*y*y)*y*y
		},
		Gradient: func(x, y float64) (float64, float64) {
			return 8*x - 8.4*x*x*x + 2*x*x*x*x*x + y, x - 8*y + 16*y*y*y
		},
		// Refined by Newton's method to float64 precision.
		Minima: [][2]float64{
			{0.089842013100318072, -0.71265640302073963},
			{-0.089842013100318072, 0.71265640302073963},
		},
		MinValue: -1.0316284534898774,
		Domain:   Domain{-2, 2, -1.2, 1.2},
		Start:    [2]float64{-1.6, -0.9},
	}
}

// Rastrigin is f = 20 + Σᵢ (wᵢ² − 10 cos 2πwᵢ), a bowl covered in a lattice of
// local minima; the global minimum is 0 at the origin.
func Rastrigin() TestFunction {
	const tau = 2 * math.Pi
	return TestFunction{
		Name:    "rastrigin",
		Formula: "20 + x^2 - 10 cos(2 pi x) + y^2 - 10 cos(2 pi y)",
		Summary: "a lattice of local minima: gradient methods stop in the nearest one",
		Graph: func(w *graph.Node) *graph.Node {
			x, y := split(w)
			term := func(t *graph.Node) *graph.Node {
				return graph.Sub(graph.Square(t), graph.MulScalar(graph.Cos(graph.MulScalar(t, tau)), 10))
			}
			return graph.AddScalar(graph.Add(term(x), term(y)), 20)
		},
		Eval: func(x, y float64) float64 {
			return 20 + x*x - 10*math.Cos(tau*x) + y*y - 10*math.Cos(tau*y)
		},
		Gradient: func(x, y float64) (float64, float64) {
			return 2*x + 10*tau*math.Sin(tau*x), 2*y + 10*tau*math.Sin(tau*y)
		},
		Minima:   [][2]float64{{0, 0}},
		MinValue: 0,
		Domain:   Domain{-5.12, 5.12, -5.12, 5.12},
		Start:    [2]float64{-3.3, 2.7},
	}
}

// Saddle is f = x² − y²: a stationary point at the origin that is a minimum
// along x and a maximum along y. f is unbounded below (no minimum); a method
// started on the ridge y ≈ 0 shows how quickly it escapes.
func Saddle() TestFunction {
	return TestFunction{
		Name:    "saddle",
		Formula: "x^2 - y^2",
		Summary: "a saddle point: plain gradient descent leaves it only as fast as the tiny y offset grows",
		Graph: func(w *graph.Node) *graph.Node {
			x, y := split(w)
			return graph.Sub(graph.Square(x), graph.Square(y))
		},
		Eval:     func(x, y float64) float64 { return x*x - y*y },
		Gradient: func(x, y float64) (float64, float64) { return 2 * x, -2 * y },
		MinValue: math.NaN(),
		Saddles:  [][2]float64{{0, 0}},
		Domain:   Domain{-2, 2, -2, 2},
		Start:    [2]float64{-1.8, 1e-3},
	}
}

// MonkeySaddle is f = x³ − 3xy²: a degenerate stationary point at the origin
// (zero gradient and zero Hessian) with three descending valleys. f is
// unbounded below.
func MonkeySaddle() TestFunction {
	return TestFunction{
		Name:    "monkey-saddle",
		Formula: "x^3 - 3 x y^2",
		Summary: "a flat, degenerate saddle: the gradient vanishes to second order at the origin",
		Graph: func(w *graph.Node) *graph.Node {
			x, y := split(w)
			return graph.Sub(graph.Mul(graph.Square(x), x), graph.MulScalar(graph.Mul(x, graph.Square(y)), 3))
		},
		Eval:     func(x, y float64) float64 { return x*x*x - 3*x*y*y },
		Gradient: func(x, y float64) (float64, float64) { return 3*x*x - 3*y*y, -6 * x * y },
		MinValue: math.NaN(),
		Saddles:  [][2]float64{{0, 0}},
		Domain:   Domain{-1.5, 1.5, -1.5, 1.5},
		Start:    [2]float64{1.2, 0.05},
	}
}

// Plateau is f = 1 − exp(−(x² + 2y²)/4): a narrow well in a wide, almost flat
// plain. At the default start the gradient is about 4·10⁻⁴, so methods whose
// step is proportional to the gradient barely move, while sign- or
// scale-invariant steps (Adam, RMSprop) cross the plain at their learning
// rate. The minimum is 0 at the origin.
func Plateau() TestFunction {
	return TestFunction{
		Name:    "plateau",
		Formula: "1 - exp(-(x^2 + 2 y^2) / 4)",
		Summary: "a wide flat plain around a well: gradients are tiny far from the minimum",
		Graph: func(w *graph.Node) *graph.Node {
			x, y := split(w)
			r := graph.DivScalar(graph.Add(graph.Square(x), graph.MulScalar(graph.Square(y), 2)), 4)
			return graph.OneMinus(graph.Exp(graph.Neg(r)))
		},
		Eval: func(x, y float64) float64 { return 1 - math.Exp(-(x*x+2*y*y)/4) },
		Gradient: func(x, y float64) (float64, float64) {
			e := math.Exp(-(x*x + 2*y*y) / 4)
			return e * x / 2, e * y
		},
		Minima:       [][2]float64{{0, 0}},
		MinValue:     0,
		Domain:       Domain{-5, 5, -5, 5},
		Start:        [2]float64{4, 3},
		LinearLevels: true,
	}
}

func sq(v float64) float64 { return v * v }
