package plots

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	stddraw "image/draw"
	"image/gif"
	"math"
	"sort"

	"github.com/janpfeifer/gonb/gonbui"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// AnimOptions bounds an animation so that notebooks and files stay small.
// Zero fields take the defaults.
type AnimOptions struct {
	// Frames is the number of frames (default 60, at most 200). Runs with
	// fewer steps get one frame per step.
	Frames int
	// Width is the width in pixels (default 640, from 240 to 1280); the height
	// is three quarters of it.
	Width int
	// Delay is the time each frame is shown, in hundredths of a second
	// (default 8); the last frame is held for Hold hundredths (default 200).
	Delay, Hold int
}

func (o *AnimOptions) defaults() error {
	if o.Frames == 0 {
		o.Frames = 60
	}
	if o.Width == 0 {
		o.Width = 640
	}
	if o.Delay == 0 {
		o.Delay = 8
	}
	if o.Hold == 0 {
		o.Hold = 200
	}
	switch {
	case o.Frames < 2 || o.Frames > 200:
		return fmt.Errorf("plots: animation Frames=%d out of range [2, 200]", o.Frames)
	case o.Width < 240 || o.Width > 1280:
		return fmt.Errorf("plots: animation Width=%d pixels out of range [240, 1280]", o.Width)
	case o.Delay < 1 || o.Delay > 1000:
		return fmt.Errorf("plots: animation Delay=%d out of range [1, 1000] hundredths of a second", o.Delay)
	case o.Hold < 1 || o.Hold > 6000:
		return fmt.Errorf("plots: animation Hold=%d out of range [1, 6000] hundredths of a second", o.Hold)
	}
	return nil
}

// Animation is an animated GIF.
type Animation struct {
	gif *gif.GIF
	// Steps lists the optimizer step shown by each frame.
	Steps []int
}

// Animate draws trajectories moving over a landscape as an animated GIF: frame
// k shows every trajectory up to step Steps[k], with a dot at its current
// point and the step number under the legend. Frames are spaced more densely
// at the start, where trajectories move most. Only the part of each frame
// that changed is stored, so a 60-frame animation of 640 × 480 pixels
// typically takes a few hundred kilobytes.
func Animate(l Landscape, trajectories []Path, opt AnimOptions) (*Animation, error) {
	if err := opt.defaults(); err != nil {
		return nil, err
	}
	if len(trajectories) == 0 {
		return nil, fmt.Errorf("plots: Animate needs at least one trajectory")
	}
	s, err := newScene(l, trajectories)
	if err != nil {
		return nil, err
	}
	steps := frameSteps(s.steps, opt.Frames)

	const widthInches = 8.0
	dpi := int(math.Round(float64(opt.Width) / widthInches))
	w := vg.Length(widthInches) * vg.Inch
	h := w * 3 / 4
	render := func(bg color.Color, fn func(c draw.Canvas)) (img *image.RGBA, err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("plots: drawing animation frame failed: %v", r)
			}
		}()
		c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(dpi), vgimg.UseBackgroundColor(bg))
		fn(draw.New(c))
		rgba, ok := c.Image().(*image.RGBA)
		if !ok {
			return nil, fmt.Errorf("plots: unexpected image type %T", c.Image())
		}
		return rgba, nil
	}
	base, err := render(color.White, s.drawBackground)
	if err != nil {
		return nil, err
	}
	frame := func(step int) (*image.RGBA, error) {
		over, err := render(color.Transparent, func(c draw.Canvas) {
			s.drawOverlay(c, step, fmt.Sprintf("step %d / %d", step, s.steps))
		})
		if err != nil {
			return nil, err
		}
		out := image.NewRGBA(base.Bounds())
		copy(out.Pix, base.Pix)
		stddraw.Draw(out, out.Bounds(), over, image.Point{}, stddraw.Over)
		return out, nil
	}

	// The palette comes from the last frame, which holds every colour drawn.
	last, err := frame(steps[len(steps)-1])
	if err != nil {
		return nil, err
	}
	q := newQuantizer(last)
	anim := &Animation{gif: &gif.GIF{}, Steps: steps}
	var prev *image.Paletted
	for k, step := range steps {
		var rgba *image.RGBA
		if k == len(steps)-1 {
			rgba = last
		} else if rgba, err = frame(step); err != nil {
			return nil, err
		}
		cur := q.convert(rgba)
		img := cur
		if prev != nil {
			img = deltaFrame(prev, cur, q.transparent)
		}
		delay := opt.Delay
		if k == len(steps)-1 {
			delay = opt.Hold
		}
		anim.gif.Image = append(anim.gif.Image, img)
		anim.gif.Delay = append(anim.gif.Delay, delay)
		anim.gif.Disposal = append(anim.gif.Disposal, gif.DisposalNone)
		prev = cur
	}
	b := base.Bounds()
	anim.gif.Config = image.Config{ColorModel: q.palette, Width: b.Dx(), Height: b.Dy()}
	return anim, nil
}

// frameSteps picks at most frames steps from 0 to n, spaced as (k/(F−1))^1.5
// so early steps get more frames, without repeats, always ending at n.
func frameSteps(n, frames int) []int {
	if n+1 <= frames {
		out := make([]int, n+1)
		for i := range out {
			out[i] = i
		}
		return out
	}
	var out []int
	for k := 0; k < frames; k++ {
		s := int(math.Round(float64(n) * math.Pow(float64(k)/float64(frames-1), 1.5)))
		if len(out) == 0 || s > out[len(out)-1] {
			out = append(out, s)
		}
	}
	return out
}

// changedRect is the smallest rectangle containing every pixel that differs
// between a and b (a single pixel when none does: GIF frames cannot be empty).
func changedRect(a, b *image.Paletted) image.Rectangle {
	r := b.Bounds()
	minX, minY, maxX, maxY := r.Max.X, r.Max.Y, r.Min.X-1, r.Min.Y-1
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := y * b.Stride
		for x := r.Min.X; x < r.Max.X; x++ {
			if a.Pix[row+x] != b.Pix[row+x] {
				minX, maxX = min(minX, x), max(maxX, x)
				minY, maxY = min(minY, y), max(maxY, y)
			}
		}
	}
	if maxX < minX {
		return image.Rect(0, 0, 1, 1)
	}
	return image.Rect(minX, minY, maxX+1, maxY+1)
}

// deltaFrame returns the part of cur that differs from prev: the smallest
// rectangle holding every changed pixel, with unchanged pixels inside it set
// to the transparent index (long runs of one index compress well in LZW).
func deltaFrame(prev, cur *image.Paletted, transparent uint8) *image.Paletted {
	r := changedRect(prev, cur)
	out := image.NewPaletted(r, cur.Palette)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := y*cur.Stride + x
			v := cur.Pix[i]
			if v == prev.Pix[i] {
				v = transparent
			}
			out.Pix[out.PixOffset(x, y)] = v
		}
	}
	return out
}

// quantizer maps RGBA images onto a palette of at most 255 colours: the most
// frequent colours of a reference image (the figure's flat fills, lines and
// text), with every other colour mapped to its nearest entry.
type quantizer struct {
	palette     color.Palette
	cache       map[uint32]uint8
	transparent uint8
}

func newQuantizer(ref *image.RGBA) *quantizer {
	counts := map[uint32]int{}
	for i := 0; i+3 < len(ref.Pix); i += 4 {
		counts[pack(ref.Pix[i:i+4])]++
	}
	keys := make([]uint32, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if counts[keys[i]] != counts[keys[j]] {
			return counts[keys[i]] > counts[keys[j]]
		}
		return keys[i] < keys[j]
	})
	if len(keys) > 255 {
		keys = keys[:255]
	}
	q := &quantizer{cache: map[uint32]uint8{}}
	for i, k := range keys {
		q.palette = append(q.palette, color.RGBA{uint8(k >> 24), uint8(k >> 16), uint8(k >> 8), 0xFF})
		q.cache[k] = uint8(i)
	}
	// The last entry is transparent, for the unchanged pixels of delta frames.
	q.transparent = uint8(len(q.palette))
	q.palette = append(q.palette, color.RGBA{})
	return q
}

func pack(p []uint8) uint32 {
	return uint32(p[0])<<24 | uint32(p[1])<<16 | uint32(p[2])<<8
}

func (q *quantizer) convert(img *image.RGBA) *image.Paletted {
	out := image.NewPaletted(img.Bounds(), q.palette)
	for i, j := 0, 0; i+3 < len(img.Pix); i, j = i+4, j+1 {
		k := pack(img.Pix[i : i+4])
		idx, ok := q.cache[k]
		if !ok {
			idx = uint8(q.palette[:q.transparent].Index(color.RGBA{img.Pix[i], img.Pix[i+1], img.Pix[i+2], 0xFF}))
			q.cache[k] = idx
		}
		out.Pix[j] = idx
	}
	return out
}

// GIF returns the encoded animation.
func (a *Animation) GIF() ([]byte, error) {
	if a == nil || a.gif == nil {
		return nil, fmt.Errorf("plots: nil Animation")
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, a.gif); err != nil {
		return nil, fmt.Errorf("plots: encoding GIF: %w", err)
	}
	return buf.Bytes(), nil
}

// Save writes the animation to path (any extension; .gif expected), creating
// parent directories.
func (a *Animation) Save(path string) error {
	data, err := a.GIF()
	if err != nil {
		return fmt.Errorf("plots: saving %q: %w", path, err)
	}
	return writeFile(path, data)
}

// Display shows the animation inline in a GoNB notebook (as an HTML image
// with the GIF embedded). Outside a notebook it encodes it and shows nothing.
func (a *Animation) Display() error {
	data, err := a.GIF()
	if err != nil {
		return err
	}
	if gonbui.IsNotebook {
		gonbui.DisplayHTML(fmt.Sprintf(`<img src="%s" alt="optimizer trajectories (animated)">`, dataURI("image/gif", data)))
		return gonbui.Error()
	}
	return nil
}
