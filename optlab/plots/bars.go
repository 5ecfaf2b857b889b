package plots

import (
	"fmt"
	"math"

	"github.com/dustin/go-humanize"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// BarGroup is one set of bars, one value per category, drawn in one colour
// (for example "time per step" on one backend).
type BarGroup struct {
	Name   string
	Values []float64
}

// BarChart describes a horizontal bar chart: one row per category (listed
// top to bottom), one bar per group in each row.
type BarChart struct {
	Title string
	// ValueLabel names the value axis, with units ("optimizer state (bytes)").
	ValueLabel string
	Categories []string
	Groups     []BarGroup
	// Format prints the value at the end of each bar; nil means "%.3g".
	// FormatBytes suits memory sizes.
	Format func(v float64) string
}

// FormatBytes prints a byte count with a binary unit as go-humanize's IBytes
// does ("0 B", "512 B", "3.0 KiB", "1.5 MiB", "50 MiB"); it suits bar charts
// of memory sizes (BarChart.Format). Non-finite values print as fmt does.
func FormatBytes(v float64) string {
	switch {
	case !finite(v):
		return fmt.Sprint(v)
	case v < 0:
		return "-" + humanize.IBytes(uint64(math.Round(-v)))
	}
	return humanize.IBytes(uint64(math.Round(v)))
}

// Bars draws a horizontal bar chart with each value printed at the end of
// its bar. Values must be finite and non-negative.
func Bars(b BarChart) (*Figure, error) {
	if len(b.Categories) == 0 || len(b.Groups) == 0 {
		return nil, fmt.Errorf("plots: bar chart %q needs categories and at least one group", b.Title)
	}
	maxV := 0.0
	for _, g := range b.Groups {
		if len(g.Values) != len(b.Categories) {
			return nil, fmt.Errorf("plots: bar chart %q: group %q has %d values for %d categories",
				b.Title, g.Name, len(g.Values), len(b.Categories))
		}
		for i, v := range g.Values {
			if !finite(v) || v < 0 {
				return nil, fmt.Errorf("plots: bar chart %q: group %q, category %q: value %g must be finite and >= 0",
					b.Title, g.Name, b.Categories[i], v)
			}
			maxV = math.Max(maxV, v)
		}
	}
	format := b.Format
	if format == nil {
		format = func(v float64) string { return fmt.Sprintf("%.3g", v) }
	}
	n := len(b.Categories)
	ng := len(b.Groups)
	height := math.Max(3, math.Min(10, 1.2+0.32*float64(n*ng)+0.15*float64(n)))
	return newFigure(DefaultWidth, height, func(c draw.Canvas) error {
		p := newPlot(b.Title, b.ValueLabel, "")
		p.Add(newGrid())
		// Rows top to bottom in the given order: category i sits at y = n−1−i.
		names := make([]string, n)
		for i, cat := range b.Categories {
			names[n-1-i] = cat
		}
		barW := vg.Points(math.Min(22, 180/float64(n*ng)))
		for gi, g := range b.Groups {
			off := barW * vg.Length(float64(ng-1)/2-float64(gi))
			vals := make(plotter.Values, n)
			var labels plotter.XYLabels
			for i, v := range g.Values {
				vals[n-1-i] = v
				labels.XYs = append(labels.XYs, plotter.XY{X: v, Y: float64(n - 1 - i)})
				labels.Labels = append(labels.Labels, " "+format(v))
			}
			bc, err := plotter.NewBarChart(vals, barW)
			if err != nil {
				return fmt.Errorf("plots: bar chart %q: %w", b.Title, err)
			}
			bc.Horizontal = true
			bc.Color = SeriesColor(gi)
			bc.LineStyle.Width = 0
			bc.Offset = off
			p.Add(bc)
			if ng > 1 {
				p.Legend.Add(g.Name, bc)
			}
			lp, err := plotter.NewLabels(labels)
			if err != nil {
				return fmt.Errorf("plots: bar chart %q: %w", b.Title, err)
			}
			st := p.X.Tick.Label
			st.XAlign, st.YAlign = draw.XLeft, draw.YCenter
			for i := range lp.TextStyle {
				lp.TextStyle[i] = st
			}
			lp.Offset = vg.Point{Y: off}
			p.Add(lp)
		}
		p.NominalY(names...)
		p.Y.Tick.Label.Font.Size = vg.Points(labelSize)
		p.X.Tick.Marker = formattedTicks{format}
		p.X.Min = 0
		p.X.Max = maxV * 1.25
		if maxV == 0 {
			p.X.Max = 1
		}
		drawWithLegend(c, p)
		return nil
	}), nil
}

// formattedTicks places gonum's default ticks and labels them with a value
// formatter (so a byte axis reads "512.0 KiB", not "524288").
type formattedTicks struct{ format func(float64) string }

// Ticks implements plot.Ticker.
func (f formattedTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = f.format(ticks[i].Value)
		}
	}
	return ticks
}
