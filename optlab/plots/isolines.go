package plots

import (
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// isolines draws contour lines of a grid by marching squares, one stroked
// path per level. (gonum's plotter.Contour joins segments into paths with a
// loop-excision step that, on grids with many saddle cells such as
// Rastrigin's, was seen to grow memory without bound; segments need no
// joining to be drawn.)
type isolines struct {
	g      valueGrid
	levels []float64
	style  draw.LineStyle
}

// Plot implements plot.Plotter.
func (l *isolines) Plot(c draw.Canvas, p *plot.Plot) {
	tx, ty := p.Transforms(&c)
	c.SetLineStyle(l.style)
	nx, ny := l.g.Dims()
	for _, level := range l.levels {
		var path vg.Path
		for r := 0; r+1 < ny; r++ {
			for col := 0; col+1 < nx; col++ {
				for _, s := range cellSegments(l.g, col, r, level) {
					path.Move(vg.Point{X: tx(s[0]), Y: ty(s[1])})
					path.Line(vg.Point{X: tx(s[2]), Y: ty(s[3])})
				}
			}
		}
		if len(path) > 0 {
			c.Stroke(path)
		}
	}
}

// cellSegments returns the pieces (x0, y0, x1, y1) of the level line inside
// grid cell (c, r), by marching squares with linear interpolation along the
// edges. Corners at or above the level count as above. The two ambiguous
// configurations are resolved with the cell's mean value. Cells with a NaN
// corner are skipped.
func cellSegments(g valueGrid, c, r int, level float64) [][4]float64 {
	// Corners counter-clockwise from the bottom-left.
	xs := [4]float64{g.X(c), g.X(c + 1), g.X(c + 1), g.X(c)}
	ys := [4]float64{g.Y(r), g.Y(r), g.Y(r + 1), g.Y(r + 1)}
	zs := [4]float64{g.Z(c, r), g.Z(c+1, r), g.Z(c+1, r+1), g.Z(c, r+1)}
	var above [4]bool
	n := 0
	for i, z := range zs {
		if math.IsNaN(z) {
			return nil
		}
		above[i] = z >= level
		if above[i] {
			n++
		}
	}
	if n == 0 || n == 4 {
		return nil
	}
	// cross returns where the level crosses edge i (corner i to corner i+1).
	cross := func(i int) [2]float64 {
		j := (i + 1) % 4
		t := (level - zs[i]) / (zs[j] - zs[i])
		return [2]float64{xs[i] + t*(xs[j]-xs[i]), ys[i] + t*(ys[j]-ys[i])}
	}
	seg := func(a, b [2]float64) [4]float64 { return [4]float64{a[0], a[1], b[0], b[1]} }
	var edges []int
	for i := 0; i < 4; i++ {
		if above[i] != above[(i+1)%4] {
			edges = append(edges, i)
		}
	}
	if len(edges) == 2 {
		return [][4]float64{seg(cross(edges[0]), cross(edges[1]))}
	}
	// Saddle cell: diagonal corners agree. Cut off the two corners on the
	// side the centre is not on; corner k touches edges k−1 and k.
	centre := (zs[0]+zs[1]+zs[2]+zs[3])/4 >= level
	var out [][4]float64
	for k := 0; k < 4; k++ {
		if above[k] != centre {
			out = append(out, seg(cross((k+3)%4), cross(k)))
		}
	}
	return out
}
