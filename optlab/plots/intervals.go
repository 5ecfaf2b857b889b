package plots

import (
	"fmt"
	"math"

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Interval is one row of an interval chart: an estimate and its interval
// (a confidence interval, say).
type Interval struct {
	Name string
	// Value is the estimate, drawn as a dot; NaN draws no dot (nothing was
	// measured: a run that never reached a target, say) and prints only the
	// Label.
	Value float64
	// Lo and Hi bound the interval, drawn as a line with end caps; NaN for
	// both draws the dot alone (a single run has no interval).
	Lo, Hi float64
	// Label is printed to the right of the row, e.g. "97.3 ± 0.2%".
	Label string
	// Group selects the colour: rows with the same Group share one. Empty
	// means all rows share the first colour.
	Group string
}

// IntervalChart describes a dot-and-interval chart (a forest plot): one row
// per estimate, listed top to bottom. Unlike a bar chart its value axis fits
// the data, so that a difference of a point between estimates near 97% is
// visible; say so in ValueLabel ("axis zoomed to the data"). A Reference
// line (0 for differences, a target) is drawn dashed.
type IntervalChart struct {
	Title string
	// ValueLabel names the value axis, with units.
	ValueLabel string
	Rows       []Interval
	// Format labels the value axis' ticks; nil means gonum's default labels.
	Format func(v float64) string
	// Reference, when not NaN, draws a dashed vertical line at that value,
	// named RefLabel in the legend. The zero value 0 draws a line at 0: set
	// NaN for none.
	Reference float64
	RefLabel  string
}

// xErrors adapts rows to gonum's error bars: points and their low/high
// offsets.
type xErrors struct {
	plotter.XYs
	plotter.XErrors
}

// Intervals draws a dot-and-interval chart. Every finite Lo must be ≤ Value ≤
// Hi; a row needs a finite Value or a Label.
func Intervals(c IntervalChart) (*Figure, error) {
	if len(c.Rows) == 0 {
		return nil, fmt.Errorf("plots: interval chart %q has no rows", c.Title)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	extend := func(v float64) {
		if finite(v) {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	for _, r := range c.Rows {
		if !finite(r.Value) && r.Label == "" {
			return nil, fmt.Errorf("plots: interval chart %q: row %q has neither a value nor a label", c.Title, r.Name)
		}
		if finite(r.Lo) != finite(r.Hi) {
			return nil, fmt.Errorf("plots: interval chart %q: row %q has one bound (%v, %v): give both or neither", c.Title, r.Name, r.Lo, r.Hi)
		}
		if finite(r.Lo) && (!finite(r.Value) || r.Lo > r.Value || r.Value > r.Hi) {
			return nil, fmt.Errorf("plots: interval chart %q: row %q: value %v is not inside its interval [%v, %v]",
				c.Title, r.Name, r.Value, r.Lo, r.Hi)
		}
		extend(r.Value)
		extend(r.Lo)
		extend(r.Hi)
	}
	extend(c.Reference)
	if !finite(lo) {
		lo, hi = 0, 1
	}
	span := hi - lo
	if span == 0 {
		span = math.Max(math.Abs(hi)*0.1, 1e-9)
	}
	// Room for the labels on the right.
	xmin, xmax := lo-0.08*span, hi+0.45*span
	n := len(c.Rows)
	groups := map[string]int{}
	height := math.Max(2.6, math.Min(10, 1.3+0.42*float64(n)))
	return newFigure(DefaultWidth, height, func(cv draw.Canvas) error {
		p := newPlot(c.Title, c.ValueLabel, "")
		p.Add(newGrid())
		names := make([]string, n)
		var labels plotter.XYLabels
		for i, r := range c.Rows {
			y := float64(n - 1 - i)
			names[n-1-i] = r.Name
			gi, ok := groups[r.Group]
			if !ok {
				gi = len(groups)
				groups[r.Group] = gi
			}
			col := SeriesColor(gi)
			if finite(r.Lo) {
				eb, err := plotter.NewXErrorBars(xErrors{plotter.XYs{{X: r.Value, Y: y}},
					plotter.XErrors{{Low: r.Value - r.Lo, High: r.Hi - r.Value}}})
				if err != nil {
					return fmt.Errorf("plots: interval chart %q: %w", c.Title, err)
				}
				eb.LineStyle.Color, eb.LineStyle.Width = col, vg.Points(2)
				eb.CapWidth = vg.Points(8)
				p.Add(eb)
			}
			if finite(r.Value) {
				sc, err := plotter.NewScatter(plotter.XYs{{X: r.Value, Y: y}})
				if err != nil {
					return fmt.Errorf("plots: interval chart %q: %w", c.Title, err)
				}
				sc.GlyphStyle = draw.GlyphStyle{Color: col, Radius: vg.Points(4), Shape: draw.CircleGlyph{}}
				p.Add(sc)
			}
			if r.Label != "" {
				x := r.Hi
				if !finite(x) {
					x = r.Value
				}
				if !finite(x) {
					x = lo
				}
				labels.XYs = append(labels.XYs, plotter.XY{X: x, Y: y})
				labels.Labels = append(labels.Labels, "  "+r.Label)
			}
		}
		if len(labels.XYs) > 0 {
			lp, err := plotter.NewLabels(labels)
			if err != nil {
				return fmt.Errorf("plots: interval chart %q: %w", c.Title, err)
			}
			st := p.X.Tick.Label
			st.XAlign, st.YAlign = draw.XLeft, draw.YCenter
			for i := range lp.TextStyle {
				lp.TextStyle[i] = st
			}
			p.Add(lp)
		}
		if finite(c.Reference) {
			ref, err := plotter.NewLine(plotter.XYs{{X: c.Reference, Y: -0.5}, {X: c.Reference, Y: float64(n) - 0.5}})
			if err != nil {
				return fmt.Errorf("plots: interval chart %q: %w", c.Title, err)
			}
			ref.LineStyle.Color = textColor
			ref.LineStyle.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
			p.Add(ref)
			if c.RefLabel != "" {
				p.Legend.Add(c.RefLabel, ref)
			}
		}
		p.NominalY(names...)
		p.Y.Tick.Label.Font.Size = vg.Points(labelSize)
		p.Y.Min, p.Y.Max = -0.6, float64(n)-0.4
		p.X.Min, p.X.Max = xmin, xmax
		if c.Format != nil {
			p.X.Tick.Marker = formattedTicks{c.Format}
		}
		drawWithLegend(cv, p)
		return nil
	}), nil
}
