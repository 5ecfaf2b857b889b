package plots

import (
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// boldCross is an × drawn with a visible stroke (gonum's CrossGlyph uses a
// hairline).
type boldCross struct{ width vg.Length }

// DrawGlyph implements draw.GlyphDrawer.
func (g boldCross) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: g.width})
	r := sty.Radius * math.Sqrt2 / 2
	var p vg.Path
	p.Move(vg.Point{X: pt.X - r, Y: pt.Y - r})
	p.Line(vg.Point{X: pt.X + r, Y: pt.Y + r})
	c.Stroke(p)
	p = p[:0]
	p.Move(vg.Point{X: pt.X - r, Y: pt.Y + r})
	p.Line(vg.Point{X: pt.X + r, Y: pt.Y - r})
	c.Stroke(p)
}

// star is a five-pointed star filled with the glyph colour and outlined in
// white so that it stands out on any background.
type star struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (star) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	var p vg.Path
	for i := 0; i < 10; i++ {
		r := sty.Radius
		if i%2 == 1 {
			r *= 0.45
		}
		a := math.Pi/2 + float64(i)*math.Pi/5
		q := vg.Point{X: pt.X + r*vg.Length(math.Cos(a)), Y: pt.Y + r*vg.Length(math.Sin(a))}
		if i == 0 {
			p.Move(q)
		} else {
			p.Line(q)
		}
	}
	p.Close()
	c.SetLineStyle(draw.LineStyle{Color: whiteColor, Width: vg.Points(1)})
	c.Stroke(p)
	c.SetColor(sty.Color)
	c.Fill(p)
}

// ringDot is a filled circle with a dark outline: the end point of a
// trajectory, readable over a line of the same colour.
type ringDot struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (ringDot) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	draw.CircleGlyph{}.DrawGlyph(c, sty, pt)
	c.SetLineStyle(draw.LineStyle{Color: textColor, Width: vg.Points(1)})
	var p vg.Path
	p.Move(vg.Point{X: pt.X + sty.Radius, Y: pt.Y})
	p.Arc(pt, sty.Radius, 0, 2*math.Pi)
	p.Close()
	c.Stroke(p)
}

// thickRing is an open circle with a thick stroke: a start point.
type thickRing struct{}

// DrawGlyph implements draw.GlyphDrawer.
func (thickRing) DrawGlyph(c *draw.Canvas, sty draw.GlyphStyle, pt vg.Point) {
	c.SetLineStyle(draw.LineStyle{Color: sty.Color, Width: vg.Points(2)})
	var p vg.Path
	p.Move(vg.Point{X: pt.X + sty.Radius, Y: pt.Y})
	p.Arc(pt, sty.Radius, 0, 2*math.Pi)
	p.Close()
	c.Stroke(p)
}

// glyphThumb draws one glyph as a legend thumbnail.
type glyphThumb struct{ style draw.GlyphStyle }

// Thumbnail implements plot.Thumbnailer.
func (g glyphThumb) Thumbnail(c *draw.Canvas) { c.DrawGlyph(g.style, c.Center()) }

// logTicks labels a log axis densely enough to read values off it: powers of
// ten over wide ranges, 1-2-5 over a few decades, 1-2-3-5 within about one.
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max > min) {
		return nil
	}
	decades := math.Log10(max / min)
	var labelled map[int]bool
	switch {
	case decades > 6:
		labelled = map[int]bool{1: true}
	case decades > 2.5:
		labelled = map[int]bool{1: true}
	case decades > 1.2:
		labelled = map[int]bool{1: true, 2: true, 5: true}
	default:
		labelled = map[int]bool{1: true, 2: true, 3: true, 5: true}
	}
	lo, hi := int(math.Floor(math.Log10(min))), int(math.Ceil(math.Log10(max)))
	step := 1
	if decades > 6 {
		step = int(math.Ceil(decades / 6))
	}
	var ticks []plot.Tick
	for e := lo; e <= hi; e++ {
		for m := 1; m <= 9; m++ {
			v, _ := strconv.ParseFloat(fmt.Sprintf("%de%d", m, e), 64)
			if v < min*(1-1e-9) || v > max*(1+1e-9) {
				continue
			}
			t := plot.Tick{Value: v}
			if labelled[m] && (m != 1 || (e-lo)%step == 0) {
				t.Label = strconv.FormatFloat(v, 'g', -1, 64)
			}
			if decades <= 6 || m == 1 {
				ticks = append(ticks, t)
			}
		}
	}
	return ticks
}
