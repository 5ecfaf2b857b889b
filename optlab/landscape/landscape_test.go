package landscape

import (
	"bytes"
	"image/gif"
	"image/png"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute"

	"optlab.dev/optlab"
	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/plots"
)

// mustSpecs parses optimizer specs for a test.
func mustSpecs(t *testing.T, specs ...string) []optlab.Spec {
	t.Helper()
	out, err := optlab.ParseSpecs(specs...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func goBackend(t *testing.T) compute.Backend {
	t.Helper()
	b, err := optlab.NewBackend("go")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Finalize)
	return b
}

// TestLandscapeBooth: trajectories start at the given point, stable
// optimizers end at the minimum, an unstable one is reported as diverged with
// its finite prefix kept, and the figure and animation decode.
func TestLandscapeBooth(t *testing.T) {
	backend := goBackend(t)
	start := []float64{-7, 4}
	res, err := Run(backend, Config{
		Function:   "booth",
		Optimizers: mustSpecs(t, "sgd(lr=0.05)", "momentum(lr=0.02)", "sgd(lr=2)"),
		Steps:      250,
		Start:      start,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Start != [2]float64{-7, 4} || res.Steps != 250 || len(res.Runs) != 3 {
		t.Fatalf("result header: start %v steps %d runs %d", res.Start, res.Steps, len(res.Runs))
	}
	for _, run := range res.Runs {
		if p0 := run.Trace.Params[0]; p0[0] != start[0] || p0[1] != start[1] {
			t.Errorf("%s starts at %v, want %v", run.Spec, p0, start)
		}
	}
	for _, run := range res.Runs[:2] {
		if run.Diverged != "" {
			t.Fatalf("%s diverged: %s", run.Spec, run.Diverged)
		}
		if run.DistToMin > 1e-3 || math.Abs(run.Final[0]-1) > 1e-3 || math.Abs(run.Final[1]-3) > 1e-3 {
			t.Errorf("%s ends at %v (distance %g), want the minimum (1, 3)", run.Spec, run.Final, run.DistToMin)
		}
		if run.StepsToTol <= 0 || run.StepsToTol > 250 || run.Trace.Loss[run.StepsToTol] > res.Target {
			t.Errorf("%s: steps to tolerance %d inconsistent with its losses", run.Spec, run.StepsToTol)
		}
		if run.StepsToTol > 0 && run.Trace.Loss[run.StepsToTol-1] <= res.Target {
			t.Errorf("%s: step %d already met the target", run.Spec, run.StepsToTol-1)
		}
	}
	// λmax of Booth's Hessian is 18: SGD with lr 2 grows the error 35-fold a step.
	bad := res.Runs[2]
	if bad.Diverged == "" || bad.StepsToTol != -1 {
		t.Fatalf("sgd(lr=2) should diverge: %+v", bad)
	}
	if n := bad.Trace.Steps(); n < 10 || n >= 250 {
		t.Errorf("diverged run kept %d steps", n)
	}

	tab := res.Table().String()
	for _, want := range []string{"booth from (-7, 4), 250 steps", "sgd(lr=2)", "diverged after step", "momentum(lr=0.02)"} {
		if !strings.Contains(tab, want) {
			t.Errorf("table lacks %q:\n%s", want, tab)
		}
	}

	fig, err := res.Figure()
	if err != nil {
		t.Fatal(err)
	}
	data, err := fig.PNG()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != int(fig.Width*float64(fig.DPI)+0.5) || b.Dy() != int(fig.Height*float64(fig.DPI)+0.5) {
		t.Errorf("figure is %v, want %gx%g in at %d DPI", b, fig.Width, fig.Height, fig.DPI)
	}
	if !nonBlank(img.Bounds().Dx(), img.Bounds().Dy(), func(x, y int) (uint32, uint32, uint32) { r, g, b, _ := img.At(x, y).RGBA(); return r, g, b }) {
		t.Error("figure is blank")
	}
	svg, err := fig.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("(diverged)")) {
		t.Error("figure legend does not flag the diverged run")
	}

	anim, err := res.Animation(plots.AnimOptions{Frames: 12, Width: 320})
	if err != nil {
		t.Fatal(err)
	}
	gdata, err := anim.GIF()
	if err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(bytes.NewReader(gdata))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) < 2 || len(g.Image) > 12 || g.Config.Width != 320 || g.Config.Height != 240 {
		t.Errorf("GIF: %d frames %dx%d, want ≤ 12 frames of 320x240", len(g.Image), g.Config.Width, g.Config.Height)
	}
	first := g.Image[0]
	if !nonBlank(320, 240, func(x, y int) (uint32, uint32, uint32) { r, g, b, _ := first.At(x, y).RGBA(); return r, g, b }) {
		t.Error("first GIF frame is blank")
	}
}

// nonBlank reports whether at least 2% of the pixels are not near white.
func nonBlank(w, h int, at func(x, y int) (r, g, b uint32)) bool {
	n := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			r, g, b := at(x, y)
			if r < 0xF000 || g < 0xF000 || b < 0xF000 {
				n++
			}
		}
	}
	return float64(n) >= 0.02*float64(w*h)
}

// TestLandscapeRosenbrockDefaults checks the story the default figure tells:
// plain SGD and Adagrad are still far up the valley after 500 steps, the
// momentum methods get most of the way, Adam gets closest.
func TestLandscapeRosenbrockDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("3,000 optimizer steps")
	}
	res, err := Run(goBackend(t), Config{Function: "rosenbrock"})
	if err != nil {
		t.Fatal(err)
	}
	loss := map[string]float64{}
	for _, run := range res.Runs {
		if run.Diverged != "" {
			t.Fatalf("%s diverged: %s", run.Spec, run.Diverged)
		}
		name, _, _ := strings.Cut(run.Spec, "(")
		loss[name] = run.Loss
		if p0 := run.Trace.Params[0]; p0[0] != -1.5 || p0[1] != 2 {
			t.Errorf("%s starts at %v", run.Spec, p0)
		}
	}
	if len(loss) != 6 {
		t.Fatalf("want the six default optimizers, got %v", loss)
	}
	if !(loss["sgd"] > 1 && loss["adagrad"] > 1) {
		t.Errorf("sgd and adagrad should still be far from the minimum: %v", loss)
	}
	if !(loss["momentum"] < 0.2 && loss["nesterov"] < 0.2) {
		t.Errorf("momentum methods should get most of the way: %v", loss)
	}
	if !(loss["adam"] < 0.02 && loss["adam"] < loss["momentum"]) {
		t.Errorf("adam should get closest: %v", loss)
	}
}

func TestLandscapeDefaultsParse(t *testing.T) {
	for _, name := range functions.Names() {
		specs, steps, err := Defaults(name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if steps <= 0 || len(specs) == 0 {
			t.Errorf("%s: %d steps, %d optimizers", name, steps, len(specs))
		}
		for _, s := range specs {
			if _, err := optimizers.Parse(s); err != nil {
				t.Errorf("%s: default spec %q: %v", name, s, err)
			}
		}
	}
	if _, _, err := Defaults("ill-conditioned(kappa=50)"); err != nil {
		t.Errorf("parameters should be ignored for the lookup: %v", err)
	}
}

func TestLandscapeErrors(t *testing.T) {
	backend := goBackend(t)
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{Config{Function: "nope"}, `unknown test function "nope"`},
		{Config{Function: "booth", Start: []float64{1}}, "needs 2 coordinates, got 1"},
		{Config{Function: "booth", Start: []float64{1, math.Inf(1)}}, "start[1] = +Inf"},
		{Config{Function: "booth", Steps: -1}, "steps=-1"},
		{Config{Function: "booth", Tolerance: -1}, "tolerance -1"},
		{Config{Function: "booth", Optimizers: []optlab.Spec{{Label: "adam(lr=-1)"}}}, "lr"},
	} {
		_, err := Run(backend, tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want it to mention %q", tc.cfg, err, tc.want)
		}
	}
}

// TestLandscapeSaddleEscape: on the saddle the tolerance counts steps to
// escape, and the table says so.
func TestLandscapeSaddleEscape(t *testing.T) {
	res, err := Run(goBackend(t), Config{Function: "saddle", Optimizers: mustSpecs(t, "sgd(lr=0.05)"), Steps: 100})
	if err != nil {
		t.Fatal(err)
	}
	run := res.Runs[0]
	if res.Target != -1 || run.StepsToTol <= 0 || !math.IsNaN(run.DistToMin) {
		t.Errorf("target %g, steps to escape %d, distance %g", res.Target, run.StepsToTol, run.DistToMin)
	}
	// Plain gradient descent multiplies the y offset by (1 + 2·lr) per step:
	// from 1e-3 it needs about ln(√(1+x²)/1e-3)/ln(1.1) steps to reach f = −1.
	if run.StepsToTol < 60 || run.StepsToTol > 90 {
		t.Errorf("sgd escaped the saddle after %d steps, expected about 73", run.StepsToTol)
	}
	if !strings.Contains(res.Table().String(), "steps to escape") {
		t.Errorf("table header should say 'steps to escape':\n%s", res.Table())
	}
}
