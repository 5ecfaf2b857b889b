// Package plots draws the figures of optlab from plain Go values: training
// curves with bands across seeds, learning-rate sweeps on a log axis, heat maps,
// bar charts, contour plots of 2-D loss landscapes with optimizer trajectories,
// and animated GIFs of those trajectories. It also formats result tables.
//
// Every figure is a *Figure: Display shows it inline in a GoNB notebook (as a
// PNG), Save writes a PNG or SVG file chosen by extension, PNG and SVG return
// the encoded bytes. Tables render as aligned text (String) for terminals and
// as HTML for notebooks (Display).
//
// Colours come from the Okabe–Ito palette, which stays distinguishable under
// the common forms of colour blindness; series beyond its seven colours repeat
// them with dashed lines. Legends are drawn beside the data, never over it.
//
// The package imports gonum/plot but not GoMLX, so figures are cheap to build
// and test.
package plots

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
	"gonum.org/v1/plot/vg/vgsvg"
)

// Default sizes, in inches at DefaultDPI: an 8 × 5 inch figure is 768 × 480
// pixels, which reads well in a notebook column without scaling.
const (
	DefaultWidth  = 8.0
	DefaultHeight = 5.0
	DefaultDPI    = 96
)

// okabeIto is the Okabe–Ito palette without its black, in the order series use
// it: blue, vermillion, bluish green, orange, reddish purple, sky blue, yellow.
var okabeIto = [...]color.NRGBA{
	{0x00, 0x72, 0xB2, 0xFF}, // blue
	{0xD5, 0x5E, 0x00, 0xFF}, // vermillion
	{0x00, 0x9E, 0x73, 0xFF}, // bluish green
	{0xE6, 0x9F, 0x00, 0xFF}, // orange
	{0xCC, 0x79, 0xA7, 0xFF}, // reddish purple
	{0x56, 0xB4, 0xE9, 0xFF}, // sky blue
	{0xF0, 0xE4, 0x42, 0xFF}, // yellow
}

// Palette returns the series colours in order (the Okabe–Ito palette without
// black). The slice is a fresh copy.
func Palette() []color.Color {
	out := make([]color.Color, len(okabeIto))
	for i, c := range okabeIto {
		out[i] = c
	}
	return out
}

// SeriesColor returns the colour of the i-th series (i ≥ 0); the palette
// repeats after seven series.
func SeriesColor(i int) color.Color {
	if i < 0 {
		i = -i
	}
	return okabeIto[i%len(okabeIto)]
}

// seriesDashes returns the dash pattern of the i-th series: solid for the
// first pass through the palette, dashed and dotted after that.
func seriesDashes(i int) []vg.Length {
	switch (i / len(okabeIto)) % 3 {
	case 0:
		return nil
	case 1:
		return []vg.Length{vg.Points(6), vg.Points(3)}
	default:
		return []vg.Length{vg.Points(2), vg.Points(2)}
	}
}

// Figure is a drawn figure, ready to display or save. Its size is in inches;
// raster output uses DPI dots per inch.
type Figure struct {
	Width, Height float64
	DPI           int
	draw          func(c draw.Canvas) error
}

// newFigure wraps a drawing function with the default size.
func newFigure(w, h float64, fn func(c draw.Canvas) error) *Figure {
	return &Figure{Width: w, Height: h, DPI: DefaultDPI, draw: fn}
}

// Resize sets the figure's size in inches and returns the figure.
func (f *Figure) Resize(width, height float64) *Figure {
	f.Width, f.Height = width, height
	return f
}

func (f *Figure) check() error {
	if f == nil || f.draw == nil {
		return errors.New("plots: nil or empty Figure")
	}
	if !(f.Width > 0 && f.Width <= 100 && f.Height > 0 && f.Height <= 100) {
		return fmt.Errorf("plots: figure size %g x %g inches out of range (0, 100]", f.Width, f.Height)
	}
	if f.DPI <= 0 || f.DPI > 600 {
		return fmt.Errorf("plots: DPI %d out of range [1, 600]", f.DPI)
	}
	return nil
}

// render draws the figure on c, turning gonum/plot panics into errors.
func (f *Figure) render(c vg.CanvasSizer) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("plots: drawing failed: %v", r)
		}
	}()
	return f.draw(draw.New(c))
}

// Image renders the figure as an RGBA image.
func (f *Figure) Image() (*image.RGBA, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	c := vgimg.NewWith(
		vgimg.UseWH(vg.Length(f.Width)*vg.Inch, vg.Length(f.Height)*vg.Inch),
		vgimg.UseDPI(f.DPI),
		vgimg.UseBackgroundColor(color.White))
	if err := f.render(c); err != nil {
		return nil, err
	}
	img, ok := c.Image().(*image.RGBA)
	if !ok {
		return nil, fmt.Errorf("plots: unexpected image type %T", c.Image())
	}
	return img, nil
}

// PNG renders the figure and returns it PNG-encoded.
func (f *Figure) PNG() ([]byte, error) {
	img, err := f.Image()
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("plots: encoding PNG: %w", err)
	}
	return buf.Bytes(), nil
}

// SVG renders the figure as an SVG document.
func (f *Figure) SVG() ([]byte, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	c := vgsvg.New(vg.Length(f.Width)*vg.Inch, vg.Length(f.Height)*vg.Inch)
	if err := f.render(c); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if _, err := c.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("plots: encoding SVG: %w", err)
	}
	return buf.Bytes(), nil
}

// Save writes the figure to path as PNG or SVG, chosen by the extension
// (.png or .svg, any case). Missing parent directories are created.
func (f *Figure) Save(path string) error {
	var data []byte
	var err error
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".png":
		data, err = f.PNG()
	case ".svg":
		data, err = f.SVG()
	default:
		return fmt.Errorf("plots: cannot save %q: extension %q is not .png or .svg", path, ext)
	}
	if err != nil {
		return fmt.Errorf("plots: saving %q: %w", path, err)
	}
	return writeFile(path, data)
}

// Display renders the figure and shows it inline when running in a GoNB
// notebook. Outside a notebook it still renders (so errors surface) and shows
// nothing.
func (f *Figure) Display() error {
	data, err := f.PNG()
	if err != nil {
		return err
	}
	if gonbui.IsNotebook {
		gonbui.DisplayPng(data)
		gonbui.Sync() // a cell's last output is otherwise lost if its program exits first
		return gonbui.Error()
	}
	return nil
}

// writeFile writes data to path, creating parent directories.
func writeFile(path string, data []byte) error {
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("plots: creating directory for %q: %w", path, err)
		}
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("plots: writing %q: %w", path, err)
	}
	return nil
}

// dataURI returns data embedded as a base64 data: URI.
func dataURI(mime string, data []byte) string {
	return "data:" + mime + ";base64," + base64.StdEncoding.EncodeToString(data)
}

// Text sizes in points. At 96 DPI, 11 pt is about 15 pixels.
const (
	titleSize  = 14
	labelSize  = 12
	tickSize   = 11
	legendSize = 11
)

var (
	gridColor    = color.Gray{Y: 0xE0}
	whiteColor   = color.White
	textColor    = color.Gray{Y: 0x20}
	contourColor = color.NRGBA{R: 0x60, G: 0x60, B: 0x60, A: 0x90}
)

// newPlot returns a gonum plot with this package's fonts and sizes.
func newPlot(title, xlabel, ylabel string) *plot.Plot {
	p := plot.New()
	sans := font.Font{Typeface: "Liberation", Variant: "Sans"}
	p.Title.Text = title
	p.Title.TextStyle.Font = font.From(sans, titleSize)
	p.Title.TextStyle.Color = textColor
	p.Title.Padding = vg.Points(8)
	for _, ax := range []*plot.Axis{&p.X, &p.Y} {
		ax.Label.TextStyle.Font = font.From(sans, labelSize)
		ax.Label.TextStyle.Color = textColor
		ax.Tick.Label.Font = font.From(sans, tickSize)
		ax.Tick.Label.Color = textColor
		ax.Color = textColor
		ax.Tick.Color = textColor
	}
	p.X.Label.Text = xlabel
	p.Y.Label.Text = ylabel
	p.Legend = newLegend()
	return p
}

// newLegend returns a legend in this package's style: top-left of its area,
// icons first.
func newLegend() plot.Legend {
	l := plot.NewLegend()
	l.TextStyle.Font = font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, legendSize)
	l.TextStyle.Color = textColor
	l.Top, l.Left = true, true
	l.ThumbnailWidth = vg.Points(24)
	l.Padding = vg.Points(3)
	return l
}

// legendWidth is the width the legend needs, zero when it is empty.
func legendWidth(l *plot.Legend, c draw.Canvas) vg.Length {
	r := l.Rectangle(c)
	return r.Max.X - r.Min.X
}

// splitLegend divides c into a plot area and a legend column on its right,
// sized to the legend. An empty legend takes no room.
func splitLegend(c draw.Canvas, l *plot.Legend) (plotArea, legendArea draw.Canvas) {
	w := legendWidth(l, c)
	if w == 0 {
		return c, draw.Crop(c, c.Max.X-c.Min.X, 0, 0, 0)
	}
	gap := vg.Points(12)
	maxW := (c.Max.X - c.Min.X) * 0.45
	if w > maxW {
		w = maxW
	}
	plotArea = draw.Crop(c, 0, -(w + gap), 0, 0)
	legendArea = draw.Crop(c, c.Max.X-c.Min.X-w, 0, 0, 0)
	return plotArea, legendArea
}

// titleArea writes title centred across the top of c when drawIt is set, and
// returns the part of c below it. Titles span the whole figure (not just the
// plot beside the legend); a title too wide for the figure is set smaller.
func titleArea(c draw.Canvas, title string, drawIt bool) draw.Canvas {
	return titleAreaOver(c, c, title, drawIt)
}

// titleAreaOver is titleArea with the title centred over the horizontal span
// of over (the plot beside a legend) when it fits there.
func titleAreaOver(c, over draw.Canvas, title string, drawIt bool) draw.Canvas {
	if title == "" {
		return c
	}
	sty := text.Style{
		Color:   textColor,
		Font:    font.From(font.Font{Typeface: "Liberation", Variant: "Sans"}, titleSize),
		XAlign:  draw.XCenter,
		YAlign:  draw.YTop,
		Handler: plot.DefaultTextHandler,
	}
	for sty.Font.Size > vg.Points(8) && sty.Rectangle(title).Size().X > c.Max.X-c.Min.X {
		sty.Font.Size -= vg.Points(1)
	}
	if drawIt {
		x := (c.Min.X + c.Max.X) / 2
		if sty.Rectangle(title).Size().X <= over.Max.X-over.Min.X {
			x = (over.Min.X + over.Max.X) / 2
		}
		c.FillText(sty, vg.Point{X: x, Y: c.Max.Y}, title)
	}
	c.Max.Y -= sty.Rectangle(title).Size().Y + vg.Points(8)
	return c
}

// drawWithLegend draws p with its title across the top, and its legend in a
// column to the right of the plot, top-aligned with the data area.
func drawWithLegend(c draw.Canvas, p *plot.Plot) {
	c = padCanvas(c)
	beside, _ := splitLegend(c, &p.Legend)
	c = titleAreaOver(c, beside, p.Title.Text, true)
	p.Title.Text = ""
	leg := p.Legend
	p.Legend = newLegend() // drawn outside, below
	defer func() { p.Legend = leg }()
	plotArea, legendArea := splitLegend(c, &leg)
	p.Draw(plotArea)
	data := p.DataCanvas(plotArea)
	legendArea.Max.Y = data.Max.Y
	leg.Draw(legendArea)
}

// padCanvas leaves a small white margin around a figure.
func padCanvas(c draw.Canvas) draw.Canvas {
	m := vg.Points(6)
	return draw.Crop(c, m, -m, m, -m)
}

// finite reports whether v is neither NaN nor infinite.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
