package diagnostics

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// PermuteUnits returns w with the units of every hidden layer of a chain of
// dense layers shuffled (permutations drawn from seed): the columns of a
// layer's weights, its biases and the rows of the next layer's weights move
// together, so the network computes exactly the same function (up to the
// order of float32 sums) from another point of weight space. Such a pair of
// equivalent points is the cheapest proof that a network's loss is not
// convex: the loss along the line between them (Interpolate) rises above
// their common value (Line.AboveChord), which a convex function cannot do.
// It needs a plain chain of dense layers — variables ".../weights" [in, out]
// each followed by its ".../biases" [out], each layer's out the next one's
// in, as in logreg and mlp-small — and refuses anything else (batch norm,
// convolutions).
func (w *Weights) PermuteUnits(seed uint64) (*Weights, error) {
	type layer struct{ weights, biases int }
	var layers []layer
	for i := 0; i < len(w.Names); i += 2 {
		if !strings.HasSuffix(w.Names[i], "/weights") || len(w.Shapes[i]) != 2 {
			return nil, fmt.Errorf("permuting units: %s %v is not a dense layer's weights [in, out]: only chains of dense layers", w.Names[i], w.Shapes[i])
		}
		if i+1 >= len(w.Names) || !strings.HasSuffix(w.Names[i+1], "/biases") || !slices.Equal(w.Shapes[i+1], w.Shapes[i][1:]) {
			return nil, fmt.Errorf("permuting units: %s is not followed by its biases", w.Names[i])
		}
		if n := len(layers); n > 0 && w.Shapes[layers[n-1].weights][1] != w.Shapes[i][0] {
			return nil, fmt.Errorf("permuting units: %s takes %d inputs, the layer before has %d units", w.Names[i], w.Shapes[i][0], w.Shapes[layers[n-1].weights][1])
		}
		layers = append(layers, layer{i, i + 1})
	}
	r := rand.New(rand.NewPCG(seed, 0x5eed))
	out := w.Clone()
	// Every layer but the last (whose units are the classes) is hidden.
	for l := 0; l+1 < len(layers); l++ {
		src := out.Clone()
		W, b, next := layers[l].weights, layers[l].biases, layers[l+1].weights
		in, units, outs := w.Shapes[W][0], w.Shapes[W][1], w.Shapes[next][1]
		perm := r.Perm(units) // new unit j is old unit perm[j]
		dw, db, dn := out.Var(W), out.Var(b), out.Var(next)
		sw, sb, sn := src.Var(W), src.Var(b), src.Var(next)
		for j, p := range perm {
			for i := 0; i < in; i++ {
				dw[i*units+j] = sw[i*units+p]
			}
			db[j] = sb[p]
			copy(dn[j*outs:(j+1)*outs], sn[p*outs:(p+1)*outs])
		}
	}
	return out, nil
}

// AboveChord returns how far the loss along the segment t ∈ [0, 1] of the
// line rises above the chord between its ends, (1 − t)·L(0) + t·L(1), at most,
// and where: a convex function never does (excess ≤ 0, up to rounding). The
// line must have points at t = 0 and t = 1 (Points − 1 a multiple of
// 1 + 2·Range's denominator, e.g. Range 0.5 with 4k + 1 points).
func (l *Line) AboveChord() (excess, at float64, err error) {
	i0, i1 := -1, -1
	for i, t := range l.T {
		if math.Abs(t) < 1e-9 {
			i0 = i
		}
		if math.Abs(t-1) < 1e-9 {
			i1 = i
		}
	}
	if i0 < 0 || i1 < 0 {
		return 0, 0, errors.New("chord: the line has no points at t = 0 and t = 1 (choose Points and Range so that the grid holds both)")
	}
	excess = math.Inf(-1)
	for i := i0; i <= i1; i++ {
		t := l.T[i]
		if d := l.Loss[i] - ((1-t)*l.Loss[i0] + t*l.Loss[i1]); d > excess {
			excess, at = d, t
		}
	}
	return excess, at, nil
}
