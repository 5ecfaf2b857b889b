package plots

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatmapData is a grid of values over two categorical axes, for example the
// final loss for each learning rate (columns) and momentum (rows).
type HeatmapData struct {
	Title string
	// XLabel and YLabel name the axes; ZLabel names the colour scale.
	XLabel, YLabel, ZLabel string
	// XTicks labels the columns and YTicks the rows.
	XTicks, YTicks []string
	// Z holds one row per YTicks entry (row 0 at the bottom) and one value
	// per column. Non-finite values (diverged runs) are drawn grey and
	// labelled "div".
	Z [][]float64
	// LogColor colours by log10 of the values, which must then be positive.
	LogColor bool
	// Format prints the value in each cell (default "%.3g"); cells are
	// annotated when there are at most 200 of them.
	Format string
}

// viridis anchors (matplotlib's perceptually uniform, colour-blind-safe map).
var viridisAnchors = [...]color.NRGBA{
	{0x44, 0x01, 0x54, 0xFF}, {0x48, 0x28, 0x78, 0xFF}, {0x3E, 0x4A, 0x89, 0xFF},
	{0x31, 0x68, 0x8E, 0xFF}, {0x26, 0x82, 0x8E, 0xFF}, {0x1F, 0x9E, 0x89, 0xFF},
	{0x35, 0xB7, 0x79, 0xFF}, {0x6D, 0xCD, 0x59, 0xFF}, {0xFD, 0xE7, 0x25, 0xFF},
}

// viridis returns the colour at t ∈ [0, 1].
func viridis(t float64) color.NRGBA {
	t = math.Max(0, math.Min(1, t))
	f := t * float64(len(viridisAnchors)-1)
	i := int(f)
	if i >= len(viridisAnchors)-1 {
		return viridisAnchors[len(viridisAnchors)-1]
	}
	a, b := viridisAnchors[i], viridisAnchors[i+1]
	u := f - float64(i)
	mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x) + u*(float64(y)-float64(x)))) }
	return color.NRGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 0xFF}
}

func viridisPalette(n int) rampPalette {
	p := make(rampPalette, n)
	for i := range p {
		p[i] = viridis(float64(i) / float64(n-1))
	}
	return p
}

var divergedColor = color.Gray{Y: 0xB0}

type cellGrid struct{ z [][]float64 }

func (g cellGrid) Dims() (c, r int)   { return len(g.z[0]), len(g.z) }
func (g cellGrid) Z(c, r int) float64 { return g.z[r][c] }
func (g cellGrid) X(c int) float64    { return float64(c) }
func (g cellGrid) Y(r int) float64    { return float64(r) }

// Heatmap draws a grid of values as coloured cells (viridis colour map) with a
// colour bar, and prints each value in its cell when the grid is small.
func Heatmap(h HeatmapData) (*Figure, error) {
	rows := len(h.Z)
	if rows == 0 || len(h.Z[0]) == 0 {
		return nil, fmt.Errorf("plots: heatmap %q has no values", h.Title)
	}
	cols := len(h.Z[0])
	if len(h.YTicks) != rows || len(h.XTicks) != cols {
		return nil, fmt.Errorf("plots: heatmap %q: %dx%d values but %d row and %d column labels",
			h.Title, rows, cols, len(h.YTicks), len(h.XTicks))
	}
	z := make([][]float64, rows)
	lo, hi := math.Inf(1), math.Inf(-1)
	for r, row := range h.Z {
		if len(row) != cols {
			return nil, fmt.Errorf("plots: heatmap %q: row %d has %d values, want %d", h.Title, r, len(row), cols)
		}
		z[r] = make([]float64, cols)
		for c, v := range row {
			switch {
			case !finite(v):
				z[r][c] = math.NaN()
				continue
			case h.LogColor && v <= 0:
				return nil, fmt.Errorf("plots: heatmap %q: value %g at row %q, column %q cannot be coloured on a log scale",
					h.Title, v, h.YTicks[r], h.XTicks[c])
			case h.LogColor:
				z[r][c] = math.Log10(v)
			default:
				z[r][c] = v
			}
			lo, hi = math.Min(lo, z[r][c]), math.Max(hi, z[r][c])
		}
	}
	if !finite(lo) {
		return nil, fmt.Errorf("plots: heatmap %q: no finite value", h.Title)
	}
	if lo == hi {
		lo, hi = lo-0.5, hi+0.5
	}
	format := h.Format
	if format == "" {
		format = "%.3g"
	}
	pal := viridisPalette(256)

	build := func() (*plot.Plot, *plot.Plot) {
		p := newPlot(h.Title, h.XLabel, h.YLabel)
		hm := plotter.NewHeatMap(cellGrid{z}, pal)
		hm.Min, hm.Max = lo, hi
		hm.NaN = divergedColor
		p.Add(hm)
		p.NominalX(h.XTicks...)
		p.NominalY(h.YTicks...)
		p.X.Tick.Label.Font.Size = vg.Points(tickSize)
		p.Y.Tick.Label.Font.Size = vg.Points(tickSize)
		p.X.Padding, p.Y.Padding = 0, 0
		p.X.Min, p.X.Max = -0.5, float64(cols)-0.5
		p.Y.Min, p.Y.Max = -0.5, float64(rows)-0.5
		if rows*cols <= 200 {
			var labels plotter.XYLabels
			var styles []text.Style
			for r := 0; r < rows; r++ {
				for c := 0; c < cols; c++ {
					v := h.Z[r][c]
					s := "div"
					tcol := color.Color(textColor)
					if finite(v) {
						s = fmt.Sprintf(format, v)
						if (z[r][c]-lo)/(hi-lo) < 0.6 {
							tcol = color.White
						}
					}
					labels.XYs = append(labels.XYs, plotter.XY{X: float64(c), Y: float64(r)})
					labels.Labels = append(labels.Labels, s)
					st := p.X.Tick.Label
					st.Color = tcol
					st.XAlign, st.YAlign = draw.XCenter, draw.YCenter
					styles = append(styles, st)
				}
			}
			lp, err := plotter.NewLabels(labels)
			if err == nil {
				lp.TextStyle = styles
				p.Add(lp)
			}
		}
		// Colour bar, drawn in its own narrow plot.
		cb := newPlot("", "", h.ZLabel)
		cb.Add(&plotter.ColorBar{ColorMap: &colorMap{pal, lo, hi}, Vertical: true})
		cb.HideX()
		cb.Y.Min, cb.Y.Max = lo, hi
		if h.LogColor {
			cb.Y.Tick.Marker = powerTicks{}
		}
		return p, cb
	}
	return newFigure(DefaultWidth, DefaultHeight, func(c draw.Canvas) error {
		p, cb := build()
		c = titleArea(padCanvas(c), p.Title.Text, true)
		p.Title.Text = ""
		barW := vg.Inch * 1.1
		main := draw.Crop(c, 0, -barW, 0, 0)
		bar := draw.Crop(c, c.Max.X-c.Min.X-barW+vg.Points(12), 0, 0, 0)
		p.Draw(main)
		data := p.DataCanvas(main)
		bar.Min.Y, bar.Max.Y = data.Min.Y-vg.Points(tickSize), data.Max.Y
		cb.Draw(bar)
		return nil
	}), nil
}

// colorMap adapts a palette to gonum's palette.ColorMap for the colour bar.
type colorMap struct {
	pal    rampPalette
	lo, hi float64
}

// At implements palette.ColorMap.
func (m *colorMap) At(v float64) (color.Color, error) {
	if !(v >= m.lo && v <= m.hi) {
		return nil, fmt.Errorf("plots: colour map value %g outside [%g, %g]", v, m.lo, m.hi)
	}
	i := int(math.Round((v - m.lo) / (m.hi - m.lo) * float64(len(m.pal)-1)))
	return m.pal[max(0, min(len(m.pal)-1, i))], nil
}

// Max implements palette.ColorMap.
func (m *colorMap) Max() float64 { return m.hi }

// Min implements palette.ColorMap.
func (m *colorMap) Min() float64 { return m.lo }

// SetMax implements palette.ColorMap.
func (m *colorMap) SetMax(v float64) { m.hi = v }

// SetMin implements palette.ColorMap.
func (m *colorMap) SetMin(v float64) { m.lo = v }

// Alpha implements palette.ColorMap: the map is opaque.
func (m *colorMap) Alpha() float64 { return 1 }

// SetAlpha implements palette.ColorMap; only an opaque map is supported.
func (m *colorMap) SetAlpha(a float64) {
	if a != 1 {
		panic(fmt.Sprintf("plots: colour map alpha %g unsupported (opaque only)", a))
	}
}

// Palette implements palette.ColorMap.
func (m *colorMap) Palette(n int) palette.Palette { return viridisPalette(n) }

// powerTicks labels an axis holding log10 values with the values themselves.
type powerTicks struct{}

// Ticks implements plot.Ticker.
func (powerTicks) Ticks(min, max float64) []plot.Tick {
	raw := logTicks{}.Ticks(math.Pow(10, min), math.Pow(10, max))
	out := make([]plot.Tick, len(raw))
	for i, t := range raw {
		out[i] = plot.Tick{Value: math.Log10(t.Value), Label: t.Label}
	}
	return out
}
