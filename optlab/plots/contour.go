package plots

import (
	"fmt"
	"image/color"
	"math"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Landscape is a function of two variables drawn as filled contours under
// optimizer trajectories.
type Landscape struct {
	Title string
	// F evaluates the function; non-finite values are left blank.
	F func(x, y float64) float64
	// The window drawn; trajectories are clipped to it.
	XMin, XMax, YMin, YMax float64
	// Minima are marked with stars ("global minimum" in the legend).
	Minima [][2]float64
	// Saddles are marked with crosses ("saddle point").
	Saddles [][2]float64
	// LogScale places contour levels on log(f − min f), for functions whose
	// values span orders of magnitude over the window (Rosenbrock, Beale).
	LogScale bool
	// LinearLevels spaces the contour levels evenly in value instead of at
	// quantiles of the window's values: flat regions then look flat (one wide
	// band) rather than being split into bands of equal area.
	LinearLevels bool
	// Levels is the number of contour levels (default 14, at most 64).
	Levels int
	// Resolution is the number of grid points per side (default 160, at most 600).
	Resolution int
	// XLabel and YLabel name the axes (default "x" and "y").
	XLabel, YLabel string
}

// Path is one optimizer's path over a landscape, as Contour and Animate draw
// it: its iterates in order, the first being the start point.
type Path struct {
	Name string
	X, Y []float64
}

func (l *Landscape) validate() error {
	if l.F == nil {
		return fmt.Errorf("plots: landscape %q has no function F", l.Title)
	}
	for _, v := range []float64{l.XMin, l.XMax, l.YMin, l.YMax} {
		if !finite(v) {
			return fmt.Errorf("plots: landscape %q: window bound %g is not finite", l.Title, v)
		}
	}
	if !(l.XMin < l.XMax) || !(l.YMin < l.YMax) {
		return fmt.Errorf("plots: landscape %q: empty window x∈[%g, %g], y∈[%g, %g]", l.Title, l.XMin, l.XMax, l.YMin, l.YMax)
	}
	if l.Levels == 0 {
		l.Levels = 14
	}
	if l.Levels < 2 || l.Levels > 64 {
		return fmt.Errorf("plots: landscape %q: Levels=%d out of range [2, 64]", l.Title, l.Levels)
	}
	if l.Resolution == 0 {
		l.Resolution = 160
	}
	if l.Resolution < 8 || l.Resolution > 600 {
		return fmt.Errorf("plots: landscape %q: Resolution=%d out of range [8, 600]", l.Title, l.Resolution)
	}
	return nil
}

// traj is a validated trajectory: its finite prefix and what became of it.
type traj struct {
	name     string
	pts      [][2]float64
	diverged bool // a non-finite iterate followed the kept prefix
}

func prepareTrajectories(trajs []Path) ([]traj, error) {
	out := make([]traj, len(trajs))
	for i, t := range trajs {
		if len(t.X) != len(t.Y) {
			return nil, fmt.Errorf("plots: trajectory %q has %d x and %d y values", t.Name, len(t.X), len(t.Y))
		}
		if len(t.X) == 0 {
			return nil, fmt.Errorf("plots: trajectory %q is empty", t.Name)
		}
		if !finite(t.X[0]) || !finite(t.Y[0]) {
			return nil, fmt.Errorf("plots: trajectory %q starts at a non-finite point (%g, %g)", t.Name, t.X[0], t.Y[0])
		}
		tr := traj{name: t.Name}
		for j := range t.X {
			if !finite(t.X[j]) || !finite(t.Y[j]) {
				tr.diverged = true
				break
			}
			tr.pts = append(tr.pts, [2]float64{t.X[j], t.Y[j]})
		}
		out[i] = tr
	}
	return out, nil
}

// scene holds everything needed to draw a landscape with trajectories at any
// step: the background plot, the legend and the trajectories.
type scene struct {
	l      Landscape
	p      *plot.Plot
	legend plot.Legend
	trajs  []traj
	steps  int // longest trajectory length − 1
}

// bandGrid is the grid of band indices of the filled contours.
type bandGrid struct {
	xs, ys []float64
	band   [][]float64 // [row=y][col=x]
}

func (g bandGrid) Dims() (c, r int)   { return len(g.xs), len(g.ys) }
func (g bandGrid) Z(c, r int) float64 { return g.band[r][c] }
func (g bandGrid) X(c int) float64    { return g.xs[c] }
func (g bandGrid) Y(r int) float64    { return g.ys[r] }

// valueGrid is the grid of (possibly log-transformed) function values.
type valueGrid struct {
	xs, ys []float64
	z      [][]float64
}

func (g valueGrid) Dims() (c, r int)   { return len(g.xs), len(g.ys) }
func (g valueGrid) Z(c, r int) float64 { return g.z[r][c] }
func (g valueGrid) X(c int) float64    { return g.xs[c] }
func (g valueGrid) Y(r int) float64    { return g.ys[r] }

// rampPalette is a fixed list of colours.
type rampPalette []color.Color

// Colors implements palette.Palette.
func (p rampPalette) Colors() []color.Color { return p }

// Background colours of the filled contours, from the lowest band (a muted
// blue) to the highest (near white): light enough for the trajectory colours
// to stand out, dark enough at the bottom to show where the valleys are.
var (
	rampLow  = color.NRGBA{0x9D, 0xB6, 0xCF, 0xFF}
	rampHigh = color.NRGBA{0xFA, 0xFA, 0xF6, 0xFF}
)

func ramp(n int) rampPalette {
	out := make(rampPalette, n)
	for i := range out {
		t := float64(i) / float64(n-1)
		t = math.Pow(t, 0.8)
		mix := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + t*(float64(b)-float64(a)))) }
		out[i] = color.NRGBA{mix(rampLow.R, rampHigh.R), mix(rampLow.G, rampHigh.G), mix(rampLow.B, rampHigh.B), 0xFF}
	}
	return out
}

// newScene evaluates the landscape on its grid and builds the background.
func newScene(l Landscape, trajectories []Path) (*scene, error) {
	if err := l.validate(); err != nil {
		return nil, err
	}
	trajs, err := prepareTrajectories(trajectories)
	if err != nil {
		return nil, err
	}
	n := l.Resolution
	xs, ys := make([]float64, n), make([]float64, n)
	for i := 0; i < n; i++ {
		xs[i] = l.XMin + (l.XMax-l.XMin)*float64(i)/float64(n-1)
		ys[i] = l.YMin + (l.YMax-l.YMin)*float64(i)/float64(n-1)
	}
	z := make([][]float64, n)
	zmin, zmax := math.Inf(1), math.Inf(-1)
	for r := range z {
		z[r] = make([]float64, n)
		for c := range z[r] {
			v := l.F(xs[c], ys[r])
			if !finite(v) {
				v = math.NaN()
			} else {
				zmin, zmax = math.Min(zmin, v), math.Max(zmax, v)
			}
			z[r][c] = v
		}
	}
	if !finite(zmin) {
		return nil, fmt.Errorf("plots: landscape %q: F is not finite anywhere in the window", l.Title)
	}
	if l.LogScale {
		delta := (zmax - zmin) * 1e-7
		if delta == 0 {
			delta = 1e-12
		}
		for r := range z {
			for c, v := range z[r] {
				z[r][c] = math.Log10(v - zmin + delta)
			}
		}
	}
	levels := quantileLevels(z, l.Levels)
	if l.LinearLevels {
		levels = linearLevels(z, l.Levels)
	}
	band := make([][]float64, n)
	for r := range band {
		band[r] = make([]float64, n)
		for c, v := range z[r] {
			if math.IsNaN(v) {
				band[r][c] = math.NaN()
				continue
			}
			band[r][c] = float64(sort.SearchFloat64s(levels, v))
		}
	}
	xl, yl := l.XLabel, l.YLabel
	if xl == "" {
		xl = "x"
	}
	if yl == "" {
		yl = "y"
	}
	p := newPlot("", xl, yl) // the title spans the figure: see titleArea
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = l.XMin, l.XMax, l.YMin, l.YMax
	p.X.Padding, p.Y.Padding = 0, 0
	heat := plotter.NewHeatMap(bandGrid{xs, ys, band}, ramp(len(levels)+1))
	heat.Min, heat.Max = 0, float64(len(levels))
	heat.Rasterized = true
	heat.NaN = color.White
	p.Add(heat)
	p.Add(&isolines{g: valueGrid{xs, ys, z}, levels: levels, style: draw.LineStyle{Color: contourColor, Width: vg.Points(0.6)}})
	// The heat map's data range extends half a cell beyond the window; pin
	// the axes to the window itself.
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = l.XMin, l.XMax, l.YMin, l.YMax

	s := &scene{l: l, p: p, trajs: trajs, legend: newLegend()}
	for i, t := range s.trajs {
		if len(t.pts)-1 > s.steps {
			s.steps = len(t.pts) - 1
		}
		name := t.name
		switch {
		case t.diverged:
			name += " (diverged)"
		case !s.inside(t.pts[len(t.pts)-1]):
			name += " (left window)"
		}
		s.legend.Add(name, &plotter.Line{LineStyle: trajStyle(i, len(s.trajs))},
			glyphThumb{draw.GlyphStyle{Color: SeriesColor(i), Radius: vg.Points(4), Shape: ringDot{}}})
	}
	if len(s.trajs) > 0 {
		s.legend.Add("start", glyphThumb{startGlyph()})
	}
	if len(l.Minima) > 0 {
		s.legend.Add("global minimum", glyphThumb{minimumGlyph()})
	}
	if len(l.Saddles) > 0 {
		s.legend.Add("saddle point", glyphThumb{saddleGlyph()})
	}
	return s, nil
}

// quantileLevels returns n distinct contour levels at evenly spaced quantiles
// of the finite grid values, so each band covers a similar area.
func quantileLevels(z [][]float64, n int) []float64 {
	var vals []float64
	for _, row := range z {
		for _, v := range row {
			if !math.IsNaN(v) {
				vals = append(vals, v)
			}
		}
	}
	sort.Float64s(vals)
	var levels []float64
	for k := 0; k < n; k++ {
		q := (float64(k) + 0.5) / float64(n)
		v := vals[int(q*float64(len(vals)-1))]
		if len(levels) == 0 || v > levels[len(levels)-1] {
			levels = append(levels, v)
		}
	}
	return levels
}

// linearLevels returns n levels evenly spaced strictly between the minimum
// and maximum of the finite grid values.
func linearLevels(z [][]float64, n int) []float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, row := range z {
		for _, v := range row {
			if !math.IsNaN(v) {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if !(hi > lo) {
		return []float64{lo}
	}
	levels := make([]float64, n)
	for k := range levels {
		levels[k] = lo + (hi-lo)*(float64(k)+0.5)/float64(n)
	}
	return levels
}

// clipPath clips a path to the window in data coordinates and returns the
// visible pieces. Segments with both ends more than 100 window sizes away are
// dropped: a diverging run's iterates (1e80 and beyond) would otherwise lose
// all precision in the clipping arithmetic and draw stray lines; with one end
// near the window, the crossing point is computed accurately.
func (s *scene) clipPath(pts [][2]float64) [][][2]float64 {
	w, h := s.l.XMax-s.l.XMin, s.l.YMax-s.l.YMin
	near := func(p [2]float64) bool {
		return p[0] > s.l.XMin-100*w && p[0] < s.l.XMax+100*w && p[1] > s.l.YMin-100*h && p[1] < s.l.YMax+100*h
	}
	var out [][][2]float64
	var cur [][2]float64
	flush := func() {
		if len(cur) >= 2 {
			out = append(out, cur)
		}
		cur = nil
	}
	if len(pts) == 1 && s.inside(pts[0]) {
		return [][][2]float64{{pts[0], pts[0]}}
	}
	for j := 1; j < len(pts); j++ {
		a, b := pts[j-1], pts[j]
		if !near(a) && !near(b) {
			flush()
			continue
		}
		var ca, cb [2]float64
		var ok bool
		if near(a) {
			ca, cb, ok = clipSegment(a, b, s.l.XMin, s.l.XMax, s.l.YMin, s.l.YMax)
		} else {
			// Measure from the near end: a + t·(b − a) with a far away
			// cancels catastrophically.
			cb, ca, ok = clipSegment(b, a, s.l.XMin, s.l.XMax, s.l.YMin, s.l.YMax)
		}
		if !ok {
			flush()
			continue
		}
		if len(cur) == 0 || cur[len(cur)-1] != ca {
			flush()
			cur = append(cur, ca)
		}
		cur = append(cur, cb)
		if cb != b {
			flush()
		}
	}
	flush()
	return out
}

// clipSegment clips segment ab to the rectangle (Liang–Barsky).
func clipSegment(a, b [2]float64, xmin, xmax, ymin, ymax float64) (ca, cb [2]float64, ok bool) {
	t0, t1 := 0.0, 1.0
	dx, dy := b[0]-a[0], b[1]-a[1]
	for _, e := range [4][2]float64{{-dx, a[0] - xmin}, {dx, xmax - a[0]}, {-dy, a[1] - ymin}, {dy, ymax - a[1]}} {
		p, q := e[0], e[1]
		if p == 0 {
			if q < 0 {
				return ca, cb, false
			}
			continue
		}
		r := q / p
		if p < 0 {
			if r > t1 {
				return ca, cb, false
			}
			t0 = math.Max(t0, r)
		} else {
			if r < t0 {
				return ca, cb, false
			}
			t1 = math.Min(t1, r)
		}
	}
	ca, cb = a, b
	if t0 > 0 {
		ca = [2]float64{a[0] + t0*dx, a[1] + t0*dy}
	}
	if t1 < 1 {
		cb = [2]float64{a[0] + t1*dx, a[1] + t1*dy}
	}
	return ca, cb, true
}

func (s *scene) inside(p [2]float64) bool {
	return p[0] >= s.l.XMin && p[0] <= s.l.XMax && p[1] >= s.l.YMin && p[1] <= s.l.YMax
}

// trajStyle is the line style of trajectory i of n. Earlier trajectories are
// drawn wider, so where paths coincide (a valley floor every method follows)
// each still shows as a coloured edge around the later, narrower ones.
func trajStyle(i, n int) draw.LineStyle {
	w := 1.6 + 0.7*float64(n-1-i)
	if n > 6 {
		w = 1.6 + 4.2*float64(n-1-i)/float64(n-1)
	}
	return draw.LineStyle{Color: SeriesColor(i), Width: vg.Points(w), Dashes: seriesDashes(i)}
}

func startGlyph() draw.GlyphStyle {
	return draw.GlyphStyle{Color: textColor, Radius: vg.Points(6), Shape: thickRing{}}
}

func minimumGlyph() draw.GlyphStyle {
	return draw.GlyphStyle{Color: color.Black, Radius: vg.Points(9), Shape: star{}}
}

func saddleGlyph() draw.GlyphStyle {
	return draw.GlyphStyle{Color: color.Black, Radius: vg.Points(6), Shape: boldCross{vg.Points(2.5)}}
}

// layout places the plot, its data area and the legend column in c, keeping
// the data area's aspect ratio close to the window's (within 1:2.5) so that
// the geometry is not distorted.
func (s *scene) layout(c draw.Canvas) (plotArea, data, legendArea draw.Canvas) {
	c = titleArea(padCanvas(c), s.l.Title, false)
	saved := s.p.Legend
	s.p.Legend = newLegend()
	defer func() { s.p.Legend = saved }()
	plotArea, legendArea = splitLegend(c, &s.legend)
	data = s.p.DataCanvas(plotArea)
	aspect := (s.l.XMax - s.l.XMin) / (s.l.YMax - s.l.YMin)
	aspect = math.Max(1/2.5, math.Min(2.5, aspect))
	dw, dh := float64(data.Max.X-data.Min.X), float64(data.Max.Y-data.Min.Y)
	if dw/dh > aspect {
		// Narrow the plot and centre plot and legend together.
		shrink := vg.Length(dw - dh*aspect)
		plotArea.Min.X += shrink / 2
		plotArea.Max.X -= shrink / 2
		legendArea.Min.X -= shrink / 2
		legendArea.Max.X -= shrink / 2
	} else {
		shrink := vg.Length(dh - dw/aspect)
		plotArea.Min.Y += shrink / 2
		plotArea.Max.Y -= shrink / 2
	}
	data = s.p.DataCanvas(plotArea)
	legendArea.Max.Y = data.Max.Y
	return plotArea, data, legendArea
}

// drawBackground draws the filled contours, axes and legend.
func (s *scene) drawBackground(c draw.Canvas) {
	titleArea(padCanvas(c), s.l.Title, true)
	plotArea, _, legendArea := s.layout(c)
	saved := s.p.Legend
	s.p.Legend = newLegend()
	s.p.Draw(plotArea)
	s.p.Legend = saved
	s.legend.Draw(legendArea)
}

// drawOverlay draws the trajectories up to step (all of them when step < 0),
// the markers, and a caption under the legend.
func (s *scene) drawOverlay(c draw.Canvas, step int, caption string) {
	_, data, legendArea := s.layout(c)
	tx, ty := s.p.Transforms(&data)
	toPt := func(p [2]float64) vg.Point { return vg.Point{X: tx(p[0]), Y: ty(p[1])} }
	for _, m := range s.l.Saddles {
		if s.inside(m) {
			data.DrawGlyph(saddleGlyph(), toPt(m))
		}
	}
	starts := map[[2]float64]bool{}
	for i, t := range s.trajs {
		last := len(t.pts) - 1
		if step >= 0 && step < last {
			last = step
		}
		var lines [][]vg.Point
		for _, poly := range s.clipPath(t.pts[:last+1]) {
			line := make([]vg.Point, len(poly))
			for j, p := range poly {
				line[j] = toPt(p)
			}
			lines = append(lines, line)
		}
		data.StrokeLines(trajStyle(i, len(s.trajs)), lines...)
		if len(t.pts) <= 80 {
			dot := draw.GlyphStyle{Color: SeriesColor(i), Radius: vg.Points(1.8), Shape: draw.CircleGlyph{}}
			for j := 1; j < last; j++ {
				if s.inside(t.pts[j]) {
					data.DrawGlyph(dot, toPt(t.pts[j]))
				}
			}
		}
		starts[t.pts[0]] = true
	}
	for _, m := range s.l.Minima {
		if s.inside(m) {
			data.DrawGlyph(minimumGlyph(), toPt(m))
		}
	}
	for p := range starts {
		if s.inside(p) {
			data.DrawGlyph(startGlyph(), toPt(p))
		}
	}
	for i, t := range s.trajs {
		last := len(t.pts) - 1
		if step >= 0 && step < last {
			last = step
		}
		if s.inside(t.pts[last]) {
			data.DrawGlyph(draw.GlyphStyle{Color: SeriesColor(i), Radius: vg.Points(4.5), Shape: ringDot{}}, toPt(t.pts[last]))
		}
	}
	if caption != "" {
		r := s.legend.Rectangle(legendArea)
		sty := s.legend.TextStyle
		sty.Font.Size = vg.Points(legendSize + 1)
		pt := vg.Point{X: legendArea.Min.X, Y: legendArea.Max.Y - (r.Max.Y - r.Min.Y) - vg.Points(2*legendSize+8)}
		legendArea.FillText(sty, pt, caption)
	}
}

// Contour draws a landscape as filled contours with one trajectory per
// optimizer: a line through its iterates (dots at each iterate for short
// runs), a ring at the start point, a dot at the end point, stars at the
// global minima and crosses at saddle points. The legend, beside the plot,
// notes trajectories that diverged or left the window. The data area keeps
// the window's aspect ratio (within 1:2.5).
func Contour(l Landscape, trajectories ...Path) (*Figure, error) {
	s, err := newScene(l, trajectories)
	if err != nil {
		return nil, err
	}
	// The size follows the legend and the window's shape: about 5 inches of
	// data width, the legend beside it, room for the title and axes.
	aspect := math.Max(1/2.5, math.Min(2.5, (s.l.XMax-s.l.XMin)/(s.l.YMax-s.l.YMin)))
	legendInches := float64(legendWidth(&s.legend, draw.Canvas{}) / vg.Inch)
	width := math.Max(DefaultWidth, 5+1.1+legendInches)
	height := math.Max(4, math.Min(7.5, 5/aspect+1.3))
	return newFigure(width, height, func(c draw.Canvas) error {
		s.drawBackground(c)
		s.drawOverlay(c, -1, "")
		return nil
	}), nil
}
