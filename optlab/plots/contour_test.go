package plots

import (
	"bytes"
	"image/gif"
	"math"
	"strings"
	"testing"
)

func rosenbrock(x, y float64) float64 { return (1-x)*(1-x) + 100*(y-x*x)*(y-x*x) }

// descend runs heavy-ball gradient descent on Rosenbrock from (x0, y0).
func descend(name string, x0, y0, lr, beta float64, steps int) Path {
	t := Path{Name: name, X: []float64{x0}, Y: []float64{y0}}
	x, y, vx, vy := x0, y0, 0.0, 0.0
	for i := 0; i < steps; i++ {
		gx := -2*(1-x) - 400*x*(y-x*x)
		gy := 200 * (y - x*x)
		vx, vy = beta*vx+gx, beta*vy+gy
		x, y = x-lr*vx, y-lr*vy
		t.X, t.Y = append(t.X, x), append(t.Y, y)
	}
	return t
}

func rosenbrockLandscape() Landscape {
	return Landscape{Title: "Rosenbrock", F: rosenbrock, XMin: -2, XMax: 2, YMin: -1, YMax: 3,
		Minima: [][2]float64{{1, 1}}, LogScale: true}
}

func TestContour(t *testing.T) {
	trajs := []Path{
		descend("gd(lr=1e-3)", -1.5, 2.5, 1e-3, 0, 500),
		descend("momentum(lr=1e-3,momentum=0.9)", -1.5, 2.5, 1e-3, 0.9, 500),
		descend("gd(lr=2e-3) diverges", -1.5, 2.5, 5e-3, 0, 500),
	}
	fig, err := Contour(rosenbrockLandscape(), trajs...)
	if err != nil {
		t.Fatal(err)
	}
	data, err := fig.PNG()
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "contour.png", data)
	img := decodePNG(t, data, px(fig.Width), px(fig.Height))
	for i := range trajs[:2] {
		if n := countColor(img, SeriesColor(i), 12); n < 200 {
			t.Errorf("trajectory %d colour covers %d pixels, want a visible path", i, n)
		}
	}
	svg, err := fig.SVG()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"global minimum", "start", "(diverged)"} {
		if !bytes.Contains(svg, []byte(want)) {
			t.Errorf("legend lacks %q", want)
		}
	}
}

func TestContourSaddle(t *testing.T) {
	l := Landscape{Title: "saddle", F: func(x, y float64) float64 { return x*x - y*y },
		XMin: -2, XMax: 2, YMin: -2, YMax: 2, Saddles: [][2]float64{{0, 0}}}
	tr := Path{Name: "gd", X: []float64{-1.8}, Y: []float64{0.01}}
	for i := 0; i < 40; i++ {
		x, y := tr.X[len(tr.X)-1], tr.Y[len(tr.Y)-1]
		tr.X, tr.Y = append(tr.X, x-0.1*2*x), append(tr.Y, y+0.1*2*y)
	}
	fig, err := Contour(l, tr)
	if err != nil {
		t.Fatal(err)
	}
	data, err := fig.PNG()
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "saddle.png", data)
	decodePNG(t, data, px(fig.Width), px(fig.Height))
}

func TestContourErrors(t *testing.T) {
	good := rosenbrockLandscape()
	for _, tc := range []struct {
		name string
		l    Landscape
		tr   []Path
		want string
	}{
		{"nilF", Landscape{XMax: 1, YMax: 1}, nil, "no function F"},
		{"window", Landscape{F: rosenbrock, XMin: 1, XMax: 1, YMax: 1}, nil, "empty window"},
		{"nan window", Landscape{F: rosenbrock, XMax: math.NaN(), YMax: 1}, nil, "not finite"},
		{"levels", Landscape{F: rosenbrock, XMax: 1, YMax: 1, Levels: 1}, nil, "Levels=1"},
		{"resolution", Landscape{F: rosenbrock, XMax: 1, YMax: 1, Resolution: 5000}, nil, "Resolution=5000"},
		{"nowhere", Landscape{F: func(x, y float64) float64 { return math.NaN() }, XMax: 1, YMax: 1}, nil, "not finite anywhere"},
		{"traj len", good, []Path{{Name: "a", X: []float64{1}, Y: nil}}, `"a" has 1 x and 0 y`},
		{"traj empty", good, []Path{{Name: "a"}}, `"a" is empty`},
		{"traj nan start", good, []Path{{Name: "a", X: []float64{math.NaN()}, Y: []float64{0}}}, "non-finite point"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Contour(tc.l, tc.tr...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestAnimate(t *testing.T) {
	trajs := []Path{
		descend("gd", -1.5, 2.5, 1e-3, 0, 300),
		descend("momentum", -1.5, 2.5, 1e-3, 0.9, 300),
	}
	anim, err := Animate(rosenbrockLandscape(), trajs, AnimOptions{Frames: 30, Width: 480})
	if err != nil {
		t.Fatal(err)
	}
	data, err := anim.GIF()
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "anim.gif", data)
	g, err := gif.DecodeAll(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding GIF: %v", err)
	}
	if len(g.Image) < 2 || len(g.Image) > 30 || len(g.Image) != len(anim.Steps) {
		t.Fatalf("GIF has %d frames (Steps %d), want 2..30", len(g.Image), len(anim.Steps))
	}
	if g.Config.Width != 480 || g.Config.Height != 360 {
		t.Fatalf("GIF is %dx%d, want 480x360", g.Config.Width, g.Config.Height)
	}
	if anim.Steps[0] != 0 || anim.Steps[len(anim.Steps)-1] != 300 {
		t.Errorf("frames show steps %v, want 0 ... 300", anim.Steps)
	}
	checkImage(t, g.Image[0], 480, 360, 8)
	// Later frames are deltas: each lies inside the canvas and the
	// trajectories' colours appear in the last frame composed over the first.
	composed := composeGIF(g)
	checkImage(t, composed, 480, 360, 8)
	for i := range trajs {
		if n := countColor(composed, SeriesColor(i), 24); n < 50 {
			t.Errorf("trajectory %d colour covers %d pixels of the last frame", i, n)
		}
		// The first frame shows only the start (the legend's swatches
		// account for the few pixels in each colour).
		if first, last := countColor(g.Image[0], SeriesColor(i), 24), countColor(composed, SeriesColor(i), 24); first*2 > last {
			t.Errorf("trajectory %d: %d pixels in the first frame, %d in the last; the path should grow", i, first, last)
		}
	}
	if len(data) > 1<<20 {
		t.Errorf("GIF takes %d bytes, want under 1 MiB", len(data))
	}
	if err := anim.Display(); err != nil {
		t.Errorf("Display outside a notebook: %v", err)
	}
	if _, err := Animate(rosenbrockLandscape(), trajs, AnimOptions{Frames: 1000}); err == nil || !strings.Contains(err.Error(), "Frames=1000") {
		t.Errorf("want a Frames error, got %v", err)
	}
	if _, err := Animate(rosenbrockLandscape(), nil, AnimOptions{}); err == nil {
		t.Error("want an error for no trajectories")
	}
}

func TestFrameSteps(t *testing.T) {
	if got := frameSteps(3, 10); len(got) != 4 || got[3] != 3 {
		t.Errorf("frameSteps(3, 10) = %v", got)
	}
	got := frameSteps(1000, 50)
	if len(got) > 50 || got[0] != 0 || got[len(got)-1] != 1000 {
		t.Errorf("frameSteps(1000, 50) = %v", got)
	}
	for i := 1; i < len(got); i++ {
		if got[i] <= got[i-1] {
			t.Fatalf("frameSteps not increasing: %v", got)
		}
	}
	if got[1]-got[0] >= got[len(got)-1]-got[len(got)-2] {
		t.Errorf("early frames should be denser: %v", got)
	}
}

// px converts inches to pixels at DefaultDPI as the renderer rounds them.
func px(inches float64) int { return int(inches*DefaultDPI + 0.5) }

// TestClipPath: paths are cut at the window's edge, and segments between
// astronomically distant iterates (a diverged run) are not drawn at all.
func TestClipPath(t *testing.T) {
	s, err := newScene(Landscape{F: rosenbrock, XMin: -1, XMax: 1, YMin: -1, YMax: 1}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pts := [][2]float64{{0, 0}, {0.5, 0}, {2, 0}, {3e81, -5e81}, {-3e81, 5e81}, {0.5, 0.5}, {0, 0.5}}
	got := s.clipPath(pts)
	want := [][][2]float64{{{0, 0}, {0.5, 0}, {1, 0}}, {{0.2, 1}, {0.5, 0.5}, {0, 0.5}}}
	if len(got) != len(want) {
		t.Fatalf("clipPath = %v, want %v", got, want)
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("piece %d = %v, want %v", i, got[i], want[i])
		}
		for j := range want[i] {
			if math.Hypot(got[i][j][0]-want[i][j][0], got[i][j][1]-want[i][j][1]) > 1e-12 {
				t.Errorf("piece %d point %d = %v, want %v", i, j, got[i][j], want[i][j])
			}
		}
	}
	// A segment entering from far away is cut at the edge, precisely.
	got = s.clipPath([][2]float64{{-1e40, 0}, {0, 0}})
	if len(got) != 1 || math.Abs(got[0][0][0]+1) > 1e-9 || got[0][1] != [2]float64{0, 0} {
		t.Errorf("far entry: %v", got)
	}
}
