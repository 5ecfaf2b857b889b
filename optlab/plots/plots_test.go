package plots

import (
	"bytes"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keep writes data to $OPTLAB_PLOTS_DIR/name when that variable is set, so a
// person can look at what the tests drew.
func keep(t *testing.T, name string, data []byte) {
	t.Helper()
	dir := os.Getenv("OPTLAB_PLOTS_DIR")
	if dir == "" {
		return
	}
	if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// checkImage fails unless img has the given size and is not blank: it must
// contain at least minColors distinct colours, and at least 2% of its pixels
// must differ from white.
func checkImage(t *testing.T, img image.Image, w, h, minColors int) {
	t.Helper()
	b := img.Bounds()
	if b.Dx() != w || b.Dy() != h {
		t.Fatalf("image is %dx%d, want %dx%d", b.Dx(), b.Dy(), w, h)
	}
	colors := map[color.RGBA]bool{}
	nonWhite := 0
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			colors[c] = true
			if c.R < 0xF0 || c.G < 0xF0 || c.B < 0xF0 {
				nonWhite++
			}
		}
	}
	if len(colors) < minColors {
		t.Errorf("image has %d distinct colours, want at least %d", len(colors), minColors)
	}
	if frac := float64(nonWhite) / float64(w*h); frac < 0.02 {
		t.Errorf("image is nearly blank: %.2f%% non-white pixels", 100*frac)
	}
}

// decodePNG decodes a PNG and checks its size and that it is not blank.
func decodePNG(t *testing.T, data []byte, w, h int) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decoding PNG: %v", err)
	}
	checkImage(t, img, w, h, 8)
	return img
}

// countColor counts the pixels within tol (per channel) of c.
func countColor(img image.Image, c color.Color, tol int) int {
	want := color.RGBAModel.Convert(c).(color.RGBA)
	n := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			g := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			if absDiff(g.R, want.R) <= tol && absDiff(g.G, want.G) <= tol && absDiff(g.B, want.B) <= tol {
				n++
			}
		}
	}
	return n
}

func absDiff(a, b uint8) int {
	if a > b {
		return int(a - b)
	}
	return int(b - a)
}

func curve(n int, f func(i int) float64) ([]float64, []float64) {
	x, y := make([]float64, n), make([]float64, n)
	for i := range x {
		x[i] = float64(i + 1)
		y[i] = f(i)
	}
	return x, y
}

func TestLinesTrainingCurves(t *testing.T) {
	var series []Series
	names := []string{"sgd", "momentum", "adam"}
	for k, name := range names {
		x := make([]float64, 50)
		runs := make([][]float64, 3)
		for r := range runs {
			runs[r] = make([]float64, len(x))
			for i := range x {
				x[i] = float64(i + 1)
				runs[r][i] = 2.3*math.Exp(-float64(i)/float64(8+6*k)) + 0.05 + 0.03*math.Sin(float64(i*(r+1)))
			}
		}
		s, err := MeanBand(name, x, runs)
		if err != nil {
			t.Fatal(err)
		}
		series = append(series, s)
		_, vy := curve(50, func(i int) float64 { return s.Y[i] * 1.1 })
		series = append(series, Series{Name: name + " (validation)", X: x, Y: vy, Group: name, Dashed: true})
	}
	fig, err := Lines(Axes{Title: "Training loss (mean and range over 3 seeds)", XLabel: "step", YLabel: "cross-entropy loss"}, series...)
	if err != nil {
		t.Fatal(err)
	}
	data, err := fig.PNG()
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "lines.png", data)
	img := decodePNG(t, data, 768, 480)
	// Each group's colour is present (lines are drawn in it).
	for i := range names {
		if n := countColor(img, SeriesColor(i), 10); n < 100 {
			t.Errorf("series %d colour appears on %d pixels, want a drawn line", i, n)
		}
	}
}

func TestLinesSweepLogAndDivergence(t *testing.T) {
	lrs := []float64{1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1}
	loss := []float64{2.1, 1.5, 0.8, 0.35, 0.2, 0.25, 0.9, math.NaN(), math.Inf(1)}
	loss2 := []float64{1.9, 1.1, 0.5, 0.3, 0.28, 0.3, 0.4, 0.7, 1.5}
	fig, err := Lines(Axes{Title: "Learning-rate sweep", XLabel: "learning rate", YLabel: "final loss", LogX: true, LogY: true, Markers: true},
		Series{Name: "sgd", X: lrs, Y: loss}, Series{Name: "adam", X: lrs, Y: loss2})
	if err != nil {
		t.Fatal(err)
	}
	data, err := fig.PNG()
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "sweep.png", data)
	decodePNG(t, data, 768, 480)
	svg, err := fig.SVG()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("diverged")) {
		t.Errorf("SVG lacks the svg element or the 'diverged' legend entry")
	}
}

func TestLinesErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ax   Axes
		s    []Series
		want string
	}{
		{"none", Axes{}, nil, "at least one series"},
		{"length", Axes{}, []Series{{Name: "a", X: []float64{1, 2}, Y: []float64{1}}}, `"a" has 2 x values and 1 y values`},
		{"empty", Axes{}, []Series{{Name: "a"}}, `"a" is empty`},
		{"band", Axes{}, []Series{{Name: "a", X: []float64{1}, Y: []float64{1}, Lo: []float64{1}}}, "band Lo/Hi"},
		{"logx", Axes{LogX: true}, []Series{{Name: "a", X: []float64{0, 1}, Y: []float64{1, 2}}}, "x[0] = 0 cannot be drawn on a log axis"},
		{"logy", Axes{LogY: true}, []Series{{Name: "a", X: []float64{1, 2}, Y: []float64{1, -2}}}, "y[1] = -2"},
		{"nanx", Axes{}, []Series{{Name: "a", X: []float64{math.NaN()}, Y: []float64{1}}}, "x[0] = NaN"},
		{"allnan", Axes{Title: "t"}, []Series{{Name: "a", X: []float64{1}, Y: []float64{math.NaN()}}}, "no series has a finite value"},
		{"logxmin", Axes{LogX: true, XMin: 0, XMax: 10}, []Series{{Name: "a", X: []float64{1, 2}, Y: []float64{1, 2}}}, "XMin 0 cannot be used on a log axis"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Lines(tc.ax, tc.s...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestMeanBand(t *testing.T) {
	x := []float64{1, 2, 3}
	s, err := MeanBand("m", x, [][]float64{{1, 2, 3}, {3, 4, math.NaN()}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Y[0] != 2 || s.Lo[0] != 1 || s.Hi[0] != 3 || s.Y[1] != 3 || !math.IsNaN(s.Y[2]) {
		t.Errorf("MeanBand = %+v", s)
	}
	sd, err := MeanStdBand("m", x[:2], [][]float64{{1, 2}, {3, 4}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(sd.Hi[0]-(2+math.Sqrt2)) > 1e-12 || math.Abs(sd.Lo[1]-(3-math.Sqrt2)) > 1e-12 {
		t.Errorf("MeanStdBand = %+v", sd)
	}
	if _, err := MeanBand("m", x, [][]float64{{1, 2}}); err == nil || !strings.Contains(err.Error(), "run 0 has 2 values for 3") {
		t.Errorf("want a length error, got %v", err)
	}
	if _, err := MeanBand("m", x, nil); err == nil {
		t.Error("want an error for no runs")
	}
}

func TestSaveFormats(t *testing.T) {
	fig, err := Lines(Axes{Title: "t"}, Series{Name: "a", X: []float64{1, 2, 3}, Y: []float64{3, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, name := range []string{"a.png", "sub/b.PNG", "c.svg"} {
		path := filepath.Join(dir, name)
		if err := fig.Save(path); err != nil {
			t.Fatalf("Save(%q): %v", name, err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(name, "svg") {
			if !bytes.HasPrefix(bytes.TrimSpace(data), []byte("<?xml")) {
				t.Errorf("%s does not look like SVG", name)
			}
			continue
		}
		decodePNG(t, data, 768, 480)
	}
	if err := fig.Save(filepath.Join(dir, "x.jpg")); err == nil || !strings.Contains(err.Error(), `".jpg"`) {
		t.Errorf("Save(.jpg) error = %v, want it to name the extension", err)
	}
	fig.Resize(4, 3)
	data, err := fig.PNG()
	if err != nil {
		t.Fatal(err)
	}
	decodePNG(t, data, 384, 288)
	if err := fig.Display(); err != nil {
		t.Errorf("Display outside a notebook: %v", err)
	}
	fig.Resize(0, 3)
	if _, err := fig.PNG(); err == nil || !strings.Contains(err.Error(), "0 x 3") {
		t.Errorf("zero width: error %v", err)
	}
}

func TestPanels(t *testing.T) {
	a, err := Lines(Axes{Title: "loss", XLabel: "epoch"}, Series{Name: "a", X: []float64{1, 2, 3}, Y: []float64{3, 1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	b, err := Lines(Axes{Title: "accuracy", XLabel: "epoch"}, Series{Name: "a", X: []float64{1, 2, 3}, Y: []float64{0.5, 0.8, 0.9}})
	if err != nil {
		t.Fatal(err)
	}
	g, err := Panels(2, a.Resize(6, 4), b.Resize(6, 4))
	if err != nil {
		t.Fatal(err)
	}
	data, err := g.PNG()
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "grid.png", data)
	decodePNG(t, data, 2*6*96, 4*96)
	if _, err := Panels(0, a); err == nil {
		t.Error("Panels(0) should fail")
	}
}

// composeGIF draws every frame of g in turn (disposal "none") and returns the
// final picture.
func composeGIF(g *gif.GIF) *image.RGBA {
	out := image.NewRGBA(image.Rect(0, 0, g.Config.Width, g.Config.Height))
	for _, fr := range g.Image {
		draw.Draw(out, fr.Bounds(), fr, fr.Bounds().Min, draw.Over)
	}
	return out
}

func TestLinesHideLegend(t *testing.T) {
	s := Series{Name: "adam-series", X: []float64{1, 2, 3}, Y: []float64{3, 1, 2}}
	for _, hide := range []bool{false, true} {
		fig, err := Lines(Axes{Title: "t", HideLegend: hide}, s)
		if err != nil {
			t.Fatal(err)
		}
		svg, err := fig.SVG()
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(svg, []byte("adam-series")); got == hide {
			t.Errorf("HideLegend=%v: legend entry present=%v", hide, got)
		}
	}
}

// TestLinesFixedRange: XMin/XMax and YMin/YMax replace the range fitted to
// the data (a tick at the fixed end shows in the drawing), and a reversed
// pair is ignored.
func TestLinesFixedRange(t *testing.T) {
	s := Series{Name: "s", X: []float64{2, 3}, Y: []float64{2, 3}}
	for _, tc := range []struct {
		name string
		ax   Axes
		tick string
		want bool
	}{
		{"fitted", Axes{}, ">40<", false},
		{"x fixed", Axes{XMin: 0, XMax: 40}, ">40<", true},
		{"y fixed", Axes{YMin: 0, YMax: 40}, ">40<", true},
		{"reversed", Axes{XMin: 40, XMax: 0}, ">40<", false},
	} {
		fig, err := Lines(tc.ax, s)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		svg, err := fig.SVG()
		if err != nil {
			t.Fatal(err)
		}
		if got := bytes.Contains(svg, []byte(tc.tick)); got != tc.want {
			t.Errorf("%s: tick %s drawn = %v, want %v", tc.name, tc.tick, got, tc.want)
		}
	}
}

// TestLinesPointsAndGroups: a Points series is dots without lines, and Groups gives
// a name the same colour in a panel that lacks the names before it.
func TestLinesPointsAndGroups(t *testing.T) {
	x, y := curve(6, func(i int) float64 { return float64(i * i) })
	draw := func(ax Axes, points bool) image.Image {
		fig, err := Lines(ax, Series{Name: "b", X: x, Y: y, Points: points})
		if err != nil {
			t.Fatal(err)
		}
		data, err := fig.PNG()
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(data)) // a few dots: too little ink for decodePNG's blank check
		if err != nil {
			t.Fatal(err)
		}
		return img
	}
	line := draw(Axes{Title: "line"}, false)
	points := draw(Axes{Title: "points"}, true)
	grouped := draw(Axes{Title: "grouped", Groups: []string{"a", "b"}}, true)
	nLine, nPoints := countColor(line, SeriesColor(0), 10), countColor(points, SeriesColor(0), 10)
	if nPoints == 0 || nPoints*2 > nLine {
		t.Errorf("points: %d pixels of the series colour, the line %d: want six dots, far fewer than a line", nPoints, nLine)
	}
	if n0, n1 := countColor(grouped, SeriesColor(0), 10), countColor(grouped, SeriesColor(1), 10); n0 != 0 || n1 < nPoints/2 {
		t.Errorf("with Groups [a b], series b drew %d pixels in colour 0 and %d in colour 1; want it in colour 1 only", n0, n1)
	}
}
