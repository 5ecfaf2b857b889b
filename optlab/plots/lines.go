package plots

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"optlab.dev/internal/stats"
)

// Series is one line of a figure: Y against X, with an optional shaded band
// [Lo, Hi] around it (for example the spread across seeds).
type Series struct {
	// Name is the legend entry.
	Name string
	// X and Y are the points, of equal length. Non-finite Y values (a diverged
	// run) break the line; a line figure marks where a series first diverged.
	X, Y []float64
	// Lo and Hi, when set, have the length of X and bound a shaded band.
	Lo, Hi []float64
	// Group selects the colour: series with the same Group share one (the
	// training and validation curves of one optimizer). Empty means Name.
	Group string
	// Dashed draws the line dashed (for example validation curves).
	Dashed bool
	// Points draws each point as a dot with no line between them: a scatter,
	// for points that are not a sequence (one per trial, say).
	Points bool
}

// Axes configures a line figure.
type Axes struct {
	Title  string
	XLabel string // include units, e.g. "step" or "learning rate"
	YLabel string
	// LogX and LogY put an axis on a log10 scale; its values must be > 0.
	LogX, LogY bool
	// Markers draws a dot at every point (useful for sweeps with few points).
	Markers bool
	// XMin and XMax fix the X range when XMin < XMax, and YMin and YMax the
	// Y range when YMin < YMax; otherwise each fits the data.
	XMin, XMax float64
	YMin, YMax float64
	// HideLegend leaves the legend out, giving the plot the full width (for
	// all but one of several panels that share their series).
	HideLegend bool
	// Groups, when set, fixes the colour order: the series of Groups[i]
	// (its Group, or its Name) gets colour i, whichever series a panel has,
	// so that several panels colour the same names alike.
	Groups []string
}

// MeanBand summarises several runs of the same configuration (one slice of Y
// values per seed, each of len(x)) as their mean with a band from the minimum
// to the maximum across runs. A point where any run is not finite is not
// finite in the mean (the line breaks there).
func MeanBand(name string, x []float64, runs [][]float64) (Series, error) {
	return aggregate(name, x, runs, func(vals []float64, mean float64) (float64, float64) {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range vals {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		return lo, hi
	})
}

// MeanStdBand is like MeanBand but the band is the mean ± one (sample)
// standard deviation across runs.
func MeanStdBand(name string, x []float64, runs [][]float64) (Series, error) {
	return aggregate(name, x, runs, func(vals []float64, mean float64) (float64, float64) {
		_, sd := stats.MeanStd(vals)
		return mean - sd, mean + sd
	})
}

func aggregate(name string, x []float64, runs [][]float64, band func(vals []float64, mean float64) (float64, float64)) (Series, error) {
	if len(runs) == 0 {
		return Series{}, fmt.Errorf("plots: series %q: no runs to aggregate", name)
	}
	for r, run := range runs {
		if len(run) != len(x) {
			return Series{}, fmt.Errorf("plots: series %q: run %d has %d values for %d x values", name, r, len(run), len(x))
		}
	}
	s := Series{Name: name, X: append([]float64(nil), x...),
		Y: make([]float64, len(x)), Lo: make([]float64, len(x)), Hi: make([]float64, len(x))}
	vals := make([]float64, len(runs))
	for i := range x {
		ok := true
		var sum float64
		for r, run := range runs {
			vals[r] = run[i]
			ok = ok && finite(run[i])
			sum += run[i]
		}
		if !ok {
			s.Y[i], s.Lo[i], s.Hi[i] = math.NaN(), math.NaN(), math.NaN()
			continue
		}
		mean := sum / float64(len(runs))
		s.Y[i] = mean
		s.Lo[i], s.Hi[i] = band(vals, mean)
	}
	return s, nil
}

// validate checks a series for a figure with the given axes.
func (s *Series) validate(ax Axes) error {
	if len(s.X) != len(s.Y) {
		return fmt.Errorf("plots: series %q has %d x values and %d y values", s.Name, len(s.X), len(s.Y))
	}
	if len(s.X) == 0 {
		return fmt.Errorf("plots: series %q is empty", s.Name)
	}
	if (s.Lo == nil) != (s.Hi == nil) || (s.Lo != nil && (len(s.Lo) != len(s.X) || len(s.Hi) != len(s.X))) {
		return fmt.Errorf("plots: series %q: band Lo/Hi must both be set with %d values (got %d and %d)",
			s.Name, len(s.X), len(s.Lo), len(s.Hi))
	}
	for i, x := range s.X {
		if !finite(x) {
			return fmt.Errorf("plots: series %q: x[%d] = %g is not finite", s.Name, i, x)
		}
		if ax.LogX && x <= 0 {
			return fmt.Errorf("plots: series %q: x[%d] = %g cannot be drawn on a log axis", s.Name, i, x)
		}
		if ax.LogY && finite(s.Y[i]) && s.Y[i] <= 0 {
			return fmt.Errorf("plots: series %q: y[%d] = %g cannot be drawn on a log axis", s.Name, i, s.Y[i])
		}
	}
	return nil
}

// segments returns the maximal runs of indices whose values are all finite
// (and positive when log is set).
func segments(n int, ok func(i int) bool) [][2]int {
	var segs [][2]int
	start := -1
	for i := 0; i <= n; i++ {
		if i < n && ok(i) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			segs = append(segs, [2]int{start, i})
			start = -1
		}
	}
	return segs
}

// Lines draws one or more series in one panel: training curves (loss or
// accuracy against step or epoch), optimizer comparisons, learning-rate sweeps
// (set LogX and Markers). Bands are shaded in the series colour. Where a
// series has non-finite values its line breaks, and the first such x is marked
// with a cross at the top of the panel, labelled "diverged" in the legend.
func Lines(ax Axes, series ...Series) (*Figure, error) {
	if len(series) == 0 {
		return nil, fmt.Errorf("plots: Lines needs at least one series")
	}
	groups := map[string]int{}
	for _, g := range ax.Groups {
		if _, ok := groups[g]; !ok {
			groups[g] = len(groups)
		}
	}
	anyFinite := false
	for i := range series {
		s := &series[i]
		if err := s.validate(ax); err != nil {
			return nil, err
		}
		g := s.Group
		if g == "" {
			g = s.Name
		}
		if _, ok := groups[g]; !ok {
			groups[g] = len(groups)
		}
		for _, y := range s.Y {
			anyFinite = anyFinite || finite(y)
		}
	}
	if !anyFinite {
		return nil, fmt.Errorf("plots: %q: no series has a finite value to draw", ax.Title)
	}
	if ax.YMin < ax.YMax && ax.LogY && ax.YMin <= 0 {
		return nil, fmt.Errorf("plots: %q: YMin %g cannot be used on a log axis", ax.Title, ax.YMin)
	}
	if ax.XMin < ax.XMax && ax.LogX && ax.XMin <= 0 {
		return nil, fmt.Errorf("plots: %q: XMin %g cannot be used on a log axis", ax.Title, ax.XMin)
	}

	build := func() (*plot.Plot, []divergence, error) {
		p := newPlot(ax.Title, ax.XLabel, ax.YLabel)
		p.Add(newGrid())
		if ax.LogX {
			p.X.Scale = plot.LogScale{}
			p.X.Tick.Marker = logTicks{}
		}
		if ax.LogY {
			p.Y.Scale = plot.LogScale{}
			p.Y.Tick.Marker = logTicks{}
		}
		var divs []divergence
		// Bands first so every line is drawn over every band.
		for _, s := range series {
			if s.Lo == nil {
				continue
			}
			col := withAlpha(SeriesColor(colourIndex(groups, s)), 0x40)
			for _, seg := range segments(len(s.X), func(i int) bool {
				return finite(s.Lo[i]) && finite(s.Hi[i]) && (!ax.LogY || s.Lo[i] > 0)
			}) {
				pts := make(plotter.XYs, 0, 2*(seg[1]-seg[0]))
				for i := seg[0]; i < seg[1]; i++ {
					pts = append(pts, plotter.XY{X: s.X[i], Y: s.Hi[i]})
				}
				for i := seg[1] - 1; i >= seg[0]; i-- {
					pts = append(pts, plotter.XY{X: s.X[i], Y: s.Lo[i]})
				}
				poly, err := plotter.NewPolygon(pts)
				if err != nil {
					return nil, nil, fmt.Errorf("plots: band of %q: %w", s.Name, err)
				}
				poly.Color = col
				poly.LineStyle.Width = 0
				p.Add(poly)
			}
		}
		for _, s := range series {
			ci := colourIndex(groups, s)
			style := draw.LineStyle{Color: SeriesColor(ci), Width: vg.Points(2), Dashes: seriesDashes(ci)}
			if s.Dashed {
				style.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			}
			var first *plotter.Line
			for _, seg := range segments(len(s.X), func(i int) bool { return finite(s.Y[i]) }) {
				pts := make(plotter.XYs, 0, seg[1]-seg[0])
				for i := seg[0]; i < seg[1]; i++ {
					pts = append(pts, plotter.XY{X: s.X[i], Y: s.Y[i]})
				}
				l, err := plotter.NewLine(pts)
				if err != nil {
					return nil, nil, fmt.Errorf("plots: series %q: %w", s.Name, err)
				}
				l.LineStyle = style
				if !s.Points {
					p.Add(l)
				}
				if first == nil {
					first = l
				}
				if ax.Markers || s.Points {
					sc, err := plotter.NewScatter(pts)
					if err != nil {
						return nil, nil, fmt.Errorf("plots: series %q: %w", s.Name, err)
					}
					sc.GlyphStyle = draw.GlyphStyle{Color: style.Color, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}
					p.Add(sc)
				}
			}
			thumbs := []plot.Thumbnailer{}
			if s.Lo != nil {
				thumbs = append(thumbs, bandThumb{withAlpha(style.Color, 0x40)})
			}
			if first == nil {
				first = &plotter.Line{LineStyle: style}
			}
			if s.Points {
				thumbs = append(thumbs, glyphThumb{draw.GlyphStyle{Color: style.Color, Radius: vg.Points(3), Shape: draw.CircleGlyph{}}})
			} else {
				thumbs = append(thumbs, first)
			}
			p.Legend.Add(s.Name, thumbs...)
			for i, y := range s.Y {
				if !finite(y) {
					divs = append(divs, divergence{x: s.X[i], color: style.Color})
					break
				}
			}
		}
		if ax.XMin < ax.XMax {
			p.X.Min, p.X.Max = ax.XMin, ax.XMax
		}
		if ax.YMin < ax.YMax {
			p.Y.Min, p.Y.Max = ax.YMin, ax.YMax
		}
		return p, divs, nil
	}
	// Build once now so that data errors are reported by Lines, not by Save.
	if _, _, err := build(); err != nil {
		return nil, err
	}
	return newFigure(DefaultWidth, DefaultHeight, func(c draw.Canvas) error {
		p, divs, err := build()
		if err != nil {
			return err
		}
		if len(divs) > 0 {
			p.Legend.Add("diverged", divergenceThumb{})
		}
		if ax.HideLegend {
			p.Legend = newLegend()
		}
		drawWithLegend(c, p)
		if len(divs) > 0 {
			// Re-derive the data canvas the plot used and mark divergences on its top edge.
			inner := titleArea(padCanvas(c), ax.Title, false)
			leg := p.Legend
			plotArea, _ := splitLegend(inner, &leg)
			p.Legend = newLegend()
			data := p.DataCanvas(plotArea)
			p.Legend = leg
			tx, _ := p.Transforms(&data)
			for _, d := range divs {
				if d.x < p.X.Min || d.x > p.X.Max {
					continue
				}
				pt := vg.Point{X: tx(d.x), Y: data.Max.Y - vg.Points(6)}
				data.DrawGlyph(draw.GlyphStyle{Color: d.color, Radius: vg.Points(5), Shape: boldCross{vg.Points(2)}}, pt)
			}
		}
		return nil
	}), nil
}

// divergence marks the first non-finite point of a series.
type divergence struct {
	x     float64
	color color.Color
}

type divergenceThumb struct{}

func (divergenceThumb) Thumbnail(c *draw.Canvas) {
	c.DrawGlyph(draw.GlyphStyle{Color: textColor, Radius: vg.Points(5), Shape: boldCross{vg.Points(2)}}, c.Center())
}

// bandThumb draws a shaded rectangle behind a legend line.
type bandThumb struct{ color color.Color }

func (b bandThumb) Thumbnail(c *draw.Canvas) {
	r := c.Rectangle
	h := (r.Max.Y - r.Min.Y) / 4
	r.Min.Y += h
	r.Max.Y -= h
	c.SetColor(b.color)
	c.Fill(r.Path())
}

func colourIndex(groups map[string]int, s Series) int {
	g := s.Group
	if g == "" {
		g = s.Name
	}
	return groups[g]
}

func withAlpha(c color.Color, a uint8) color.Color {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	n.A = a
	return n
}

// newGrid returns light grid lines at the major ticks.
func newGrid() *plotter.Grid {
	g := plotter.NewGrid()
	g.Vertical.Color = gridColor
	g.Horizontal.Color = gridColor
	g.Vertical.Width = vg.Points(0.6)
	g.Horizontal.Width = vg.Points(0.6)
	return g
}

// Panels lays figures out as panels in cols columns, left to right then top
// to bottom: for example loss and accuracy side by side. Each panel has the
// size of the largest figure.
func Panels(cols int, figs ...*Figure) (*Figure, error) {
	if cols <= 0 {
		return nil, fmt.Errorf("plots: Panels: cols=%d must be positive", cols)
	}
	if len(figs) == 0 {
		return nil, fmt.Errorf("plots: Panels: no figures")
	}
	var w, h float64
	for i, f := range figs {
		if err := f.check(); err != nil {
			return nil, fmt.Errorf("plots: Panels: figure %d: %w", i, err)
		}
		w, h = math.Max(w, f.Width), math.Max(h, f.Height)
	}
	if cols > len(figs) {
		cols = len(figs)
	}
	rows := (len(figs) + cols - 1) / cols
	tiles := draw.Tiles{Cols: cols, Rows: rows}
	return newFigure(w*float64(cols), h*float64(rows), func(c draw.Canvas) error {
		for i, f := range figs {
			if err := f.draw(tiles.At(c, i%cols, i/cols)); err != nil {
				return err
			}
		}
		return nil
	}), nil
}
