package diagnostics

import (
	stdctx "context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
)

// SliceConfig configures the loss-landscape slices.
type SliceConfig struct {
	// Train holds the examples the loss and accuracy are measured on (its
	// first Examples); Test, when set, is measured too (its first Examples).
	Train, Test *datasets.Dataset
	// Examples is the number of examples of each set (0: 1000, or all of a
	// smaller set).
	Examples int
	// Points is the number of grid points per axis (0: 25 on a line, 21 on a
	// plane; 3 to 201).
	Points int
	// Range sets the coefficients: a line runs over t ∈ [−Range, 1 + Range]
	// (0: 0.5); a random plane over α, β ∈ [−Range, Range] (0: 1). A
	// trajectory plane fits its window to the projected path.
	Range float64
	// Seed draws the random directions.
	Seed int64
	// Biases is what random directions hold for biases and batch-norm
	// parameters (default ZeroBiases, as Li et al.).
	Biases Biases
	// EvalBatch is Evaluate's batch size (0: 500).
	EvalBatch int
}

// MaxSliceEvaluations bounds the evaluations of one slice (points of a line,
// or points² of a plane) times the examples per evaluation, in
// example-evaluations, so that a mistyped grid fails at once instead of
// running for hours.
const MaxSliceEvaluations = 20_000_000

func (c *SliceConfig) check(evals int) (train, test *datasets.Dataset, err error) {
	if c.Train == nil || c.Train.Len() == 0 {
		return nil, nil, errors.New("slice: no training examples to measure the loss on")
	}
	if c.Points < 0 || (c.Points > 0 && (c.Points < 3 || c.Points > 201)) {
		return nil, nil, fmt.Errorf("slice: points per axis must be in [3, 201], got %d", c.Points)
	}
	if c.Examples < 0 {
		return nil, nil, fmt.Errorf("slice: examples must be ≥ 0 (0: 1000), got %d", c.Examples)
	}
	if !(c.Range >= 0) || math.IsInf(c.Range, 0) {
		return nil, nil, fmt.Errorf("slice: range must be a number ≥ 0, got %g", c.Range)
	}
	m := c.Examples
	if m == 0 {
		m = 1000
	}
	cut := func(ds *datasets.Dataset) *datasets.Dataset {
		if ds == nil {
			return nil
		}
		return ds.Slice(ds.Name, 0, min(m, ds.Len()))
	}
	train, test = cut(c.Train), cut(c.Test)
	work := evals * train.Len()
	if test != nil {
		work += evals * test.Len()
	}
	if work > MaxSliceEvaluations {
		return nil, nil, fmt.Errorf("slice: %d evaluations of %d examples exceed the limit of %d example-evaluations (fewer points or examples)", evals, train.Len(), MaxSliceEvaluations)
	}
	return train, test, nil
}

// evaluator measures a network at given weights, restoring its own weights
// when done.
type evaluator struct {
	n           *optlab.Network
	train, test *datasets.Dataset
	batch       int
	saved       *Weights
}

func newEvaluator(n *optlab.Network, cfg *SliceConfig, train, test *datasets.Dataset) (*evaluator, error) {
	if err := Materialize(n, train); err != nil {
		return nil, err
	}
	saved, err := WeightsOf(n)
	if err != nil {
		return nil, err
	}
	return &evaluator{n: n, train: train, test: test, batch: cfg.EvalBatch, saved: saved}, nil
}

// at returns the train loss and accuracy and the test ones (NaN without test
// data) at w. A loss that is not finite is kept as it is (the plot leaves it
// blank).
func (e *evaluator) at(w *Weights) (loss, acc, testLoss, testAcc float64, err error) {
	if err := SetWeights(e.n, w); err != nil {
		return 0, 0, 0, 0, err
	}
	if loss, acc, err = e.n.Evaluate(e.train, e.batch); err != nil {
		return 0, 0, 0, 0, err
	}
	testLoss, testAcc = math.NaN(), math.NaN()
	if e.test != nil {
		if testLoss, testAcc, err = e.n.Evaluate(e.test, e.batch); err != nil {
			return 0, 0, 0, 0, err
		}
	}
	return loss, acc, testLoss, testAcc, nil
}

// restore puts the network's weights back, joining any error to err.
func (e *evaluator) restore(err *error) {
	if rerr := SetWeights(e.n, e.saved); rerr != nil {
		*err = errors.Join(*err, fmt.Errorf("restoring the network's weights: %w", rerr))
	}
}

// Line is the loss along the straight line through two weight sets A and B:
// w(t) = (1 − t)·A + t·B, so t = 0 is A and t = 1 is B.
type Line struct {
	// FromName and ToName name A and B in figures (e.g. "sgd", "adam").
	FromName, ToName string
	T                []float64
	// Loss and Accuracy are measured on the training examples; TestLoss and
	// TestAccuracy on the test examples (nil without them).
	Loss, Accuracy         []float64
	TestLoss, TestAccuracy []float64
	// Examples is the number of training examples measured.
	Examples int
}

// Interpolate measures n's loss along the line from a to b (Goodfellow et al.
// 2015; Li et al. 2018 §3), over t ∈ [−Range, 1 + Range]; n's own weights are
// restored afterwards. a and b must have n's layout, e.g. the solutions of two
// optimizers from the same initialisation, or a network's initial and final
// weights. An interruption returns the points measured so far with the error.
func Interpolate(ctx stdctx.Context, n *optlab.Network, a, b *Weights, cfg SliceConfig) (l *Line, err error) {
	points := cfg.Points
	if points == 0 {
		points = 25
	}
	train, test, err := cfg.check(points)
	if err != nil {
		return nil, err
	}
	if a == nil || b == nil {
		return nil, errors.New("slice: interpolation needs two weight sets")
	}
	if err := a.Compatible(b); err != nil {
		return nil, fmt.Errorf("slice: %w", err)
	}
	r := cfg.Range
	if r == 0 {
		r = 0.5
	}
	e, err := newEvaluator(n, &cfg, train, test)
	if err != nil {
		return nil, err
	}
	if err := e.saved.Compatible(a); err != nil {
		return nil, fmt.Errorf("slice: the weights do not fit the network: %w", err)
	}
	defer e.restore(&err)
	l = &Line{FromName: "A", ToName: "B", Examples: train.Len()}
	diff := b.Axpy(-1, a)
	for i := 0; i < points; i++ {
		if err := interrupted(ctx, "interpolation"); err != nil {
			return l, err
		}
		t := -r + (1+2*r)*float64(i)/float64(points-1)
		loss, acc, tl, ta, err := e.at(a.Axpy(t, diff))
		if err != nil {
			return l, fmt.Errorf("slice at t = %g: %w", t, err)
		}
		l.T, l.Loss, l.Accuracy = append(l.T, t), append(l.Loss, loss), append(l.Accuracy, acc)
		if test != nil {
			l.TestLoss, l.TestAccuracy = append(l.TestLoss, tl), append(l.TestAccuracy, ta)
		}
	}
	return l, nil
}

// Plane is the loss on a plane through weights w*: at (α, β) the weights are
// w* + α·D1 + β·D2.
type Plane struct {
	// Kind is "random" (filter-normalised random directions) or "pca" (a
	// trajectory's top two principal directions).
	Kind string
	// X holds the α of the columns and Y the β of the rows.
	X, Y []float64
	// Loss and Accuracy are measured on the training examples,
	// Loss[row][column].
	Loss, Accuracy [][]float64
	// D1, D2 are the directions.
	D1, D2 *Weights
	// PathX, PathY are a trajectory's points projected on the plane (pca),
	// in order, ending at (0, 0); PathSteps are their update counts.
	PathX, PathY []float64
	PathSteps    []int
	// Explained is the share of the trajectory's variance along D1 and D2
	// (pca).
	Explained [2]float64
	// Examples is the number of training examples measured.
	Examples int
	// Label names the run in the figure's title.
	Label string
}

// RandomPlane measures n's loss on the plane through its current weights w*
// spanned by two filter-normalised random directions
// (FilterNormalizedDirection; Li et al. 2018, §4), over α, β ∈ [−Range,
// Range] on a Points × Points grid; n's weights are restored afterwards.
func RandomPlane(ctx stdctx.Context, n *optlab.Network, cfg SliceConfig) (*Plane, error) {
	points := cfg.Points
	if points == 0 {
		points = 21
	}
	train, _, err := cfg.check(points * points)
	if err != nil {
		return nil, err
	}
	if err := Materialize(n, train); err != nil {
		return nil, err
	}
	center, err := WeightsOf(n)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0xd1ec7))
	d1 := FilterNormalizedDirection(center, rng, cfg.Biases)
	d2 := FilterNormalizedDirection(center, rng, cfg.Biases)
	r := cfg.Range
	if r == 0 {
		r = 1
	}
	axis := make([]float64, points)
	for i := range axis {
		axis[i] = -r + 2*r*float64(i)/float64(points-1)
	}
	p := &Plane{Kind: "random", X: axis, Y: append([]float64(nil), axis...), D1: d1, D2: d2}
	return p, p.measure(ctx, n, center, cfg, train)
}

// measure fills Loss and Accuracy on the grid around center.
func (p *Plane) measure(ctx stdctx.Context, n *optlab.Network, center *Weights, cfg SliceConfig, train *datasets.Dataset) (err error) {
	e, err := newEvaluator(n, &cfg, train, nil)
	if err != nil {
		return err
	}
	defer e.restore(&err)
	p.Examples = train.Len()
	p.Loss, p.Accuracy = make([][]float64, len(p.Y)), make([][]float64, len(p.Y))
	for r := range p.Y {
		p.Loss[r], p.Accuracy[r] = make([]float64, len(p.X)), make([]float64, len(p.X))
		for c := range p.X {
			p.Loss[r][c], p.Accuracy[r][c] = math.NaN(), math.NaN()
		}
	}
	for r, b := range p.Y {
		for c, a := range p.X {
			if err := interrupted(ctx, "plane slice"); err != nil {
				return err
			}
			w := center.Axpy(a, p.D1)
			axpy(w.Flat, b, p.D2.Flat)
			loss, acc, _, _, err := e.at(w)
			if err != nil {
				return fmt.Errorf("slice at (%g, %g): %w", a, b, err)
			}
			p.Loss[r][c], p.Accuracy[r][c] = loss, acc
		}
	}
	return nil
}

// TrajectoryPlane measures n's loss on the plane through the last weights of
// a training trajectory spanned by its top two principal directions (Li et
// al. 2018, §7): the principal components of the differences w_i − w_final
// (centred, as a PCA is), found from their Gram matrix with gonum's EigenSym.
// The path is projected on the plane, and the Points × Points grid covers it
// with a 20% margin. n's weights are restored afterwards.
func TrajectoryPlane(ctx stdctx.Context, n *optlab.Network, rec *TrajectoryRecorder, cfg SliceConfig) (*Plane, error) {
	points := cfg.Points
	if points == 0 {
		points = 21
	}
	train, _, err := cfg.check(points * points)
	if err != nil {
		return nil, err
	}
	if rec == nil || len(rec.snaps) < 3 {
		return nil, errors.New("slice: a trajectory plane needs at least 3 recorded weight sets (record more often)")
	}
	final := rec.weights(len(rec.snaps) - 1)
	m := len(rec.snaps) - 1 // differences to the final point
	diff := func(i int, out []float64) {
		s := rec.snaps[i].w
		for k := range out {
			out[k] = float64(s[k]) - final.Flat[k]
		}
	}
	dim := final.Len()
	a, b := make([]float64, dim), make([]float64, dim)
	gram := mat.NewSymDense(m, nil)
	for i := 0; i < m; i++ {
		if err := interrupted(ctx, "trajectory PCA"); err != nil {
			return nil, err
		}
		diff(i, a)
		for j := i; j < m; j++ {
			diff(j, b)
			gram.SetSym(i, j, dot(a, b))
		}
	}
	// Centre: G_c = C·G·C with C = I − 11ᵀ/m.
	rowMean := make([]float64, m)
	var all float64
	for i := 0; i < m; i++ {
		for j := 0; j < m; j++ {
			rowMean[i] += gram.At(i, j) / float64(m)
		}
		all += rowMean[i] / float64(m)
	}
	centred := mat.NewSymDense(m, nil)
	for i := 0; i < m; i++ {
		for j := i; j < m; j++ {
			centred.SetSym(i, j, gram.At(i, j)-rowMean[i]-rowMean[j]+all)
		}
	}
	var es mat.EigenSym
	if !es.Factorize(centred, true) {
		return nil, errors.New("slice: the trajectory's PCA failed (non-finite weights?)")
	}
	vals := es.Values(nil) // ascending
	var vecs mat.Dense
	es.VectorsTo(&vecs)
	var total float64
	for _, v := range vals {
		total += math.Max(v, 0)
	}
	if !(vals[m-2] > 1e-12*total) {
		return nil, errors.New("slice: the trajectory spans fewer than two directions")
	}
	p := &Plane{Kind: "pca", Label: rec.Label}
	dirs := [2]*Weights{final.Zeros(), final.Zeros()}
	for k := 0; k < 2; k++ {
		col := m - 1 - k
		lambda := vals[col]
		p.Explained[k] = lambda / total
		var mean float64
		for i := 0; i < m; i++ {
			mean += vecs.At(i, col) / float64(m)
		}
		for i := 0; i < m; i++ {
			diff(i, a)
			axpy(dirs[k].Flat, (vecs.At(i, col)-mean)/math.Sqrt(lambda), a)
		}
		scaleTo(dirs[k].Flat, 1)
	}
	p.D1, p.D2 = dirs[0], dirs[1]
	for i := range rec.snaps {
		diff(i, a)
		p.PathX = append(p.PathX, dot(a, p.D1.Flat))
		p.PathY = append(p.PathY, dot(a, p.D2.Flat))
		p.PathSteps = append(p.PathSteps, rec.snaps[i].step)
	}
	p.X, p.Y = window(p.PathX, points), window(p.PathY, points)
	return p, p.measure(ctx, n, final, cfg, train)
}

// window returns points coordinates covering xs with a 20% margin each side.
func window(xs []float64, points int) []float64 {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	span := hi - lo
	if span == 0 {
		span = 1
	}
	lo, hi = lo-0.2*span, hi+0.2*span
	out := make([]float64, points)
	for i := range out {
		out[i] = lo + (hi-lo)*float64(i)/float64(points-1)
	}
	return out
}

// TrajectoryRecorder keeps copies of a network's weights during training, as
// an optlab.Probe in Config.Probes (before the first update and every
// Interval updates), for TrajectoryPlane. Snapshots are stored as float32.
// When MaxSnapshots are held, every second one is dropped and the interval
// doubles, so memory stays bounded on long runs. Call Record after training
// to add the final weights.
type TrajectoryRecorder struct {
	// Interval is the number of updates between snapshots (≥ 1).
	Interval int
	// MaxSnapshots bounds the snapshots kept (0: 100; at least 4).
	MaxSnapshots int
	// Label names the run in figures.
	Label string

	every  int
	layout *Weights
	snaps  []snapshot
}

type snapshot struct {
	step int
	w    []float32
}

var _ optlab.Probe = (*TrajectoryRecorder)(nil)

// Every implements optlab.Probe.
func (r *TrajectoryRecorder) Every() int {
	if r.every == 0 {
		r.every = r.Interval
	}
	return r.every
}

// Measure implements optlab.Probe: it records the weights and measures nothing.
func (r *TrajectoryRecorder) Measure(_ stdctx.Context, n *optlab.Network, step int) ([]optlab.Measurement, error) {
	return nil, r.Record(n, step)
}

// Record adds a snapshot of n's weights after step updates (nothing when the
// last snapshot is of that step already).
func (r *TrajectoryRecorder) Record(n *optlab.Network, step int) error {
	if len(r.snaps) > 0 && r.snaps[len(r.snaps)-1].step == step {
		return nil
	}
	w, err := WeightsOf(n)
	if err != nil {
		return err
	}
	if r.layout == nil {
		r.layout = w.Zeros()
		r.layout.Flat = nil
	} else if err := r.layout.Compatible(w); err != nil {
		return fmt.Errorf("trajectory recorder: %w", err)
	}
	max := r.MaxSnapshots
	if max == 0 {
		max = 100
	}
	if max < 4 {
		return fmt.Errorf("trajectory recorder: max snapshots must be ≥ 4, got %d", r.MaxSnapshots)
	}
	if len(r.snaps) >= max {
		kept := r.snaps[:0]
		for i, s := range r.snaps {
			if i%2 == 0 {
				kept = append(kept, s)
			}
		}
		r.snaps = kept
		r.every = 2 * r.Every()
	}
	f := make([]float32, w.Len())
	for i, x := range w.Flat {
		f[i] = float32(x)
	}
	r.snaps = append(r.snaps, snapshot{step: step, w: f})
	return nil
}

// Len returns the number of snapshots held.
func (r *TrajectoryRecorder) Len() int { return len(r.snaps) }

// Steps returns the update counts of the snapshots.
func (r *TrajectoryRecorder) Steps() []int {
	out := make([]int, len(r.snaps))
	for i, s := range r.snaps {
		out[i] = s.step
	}
	return out
}

// Weights returns the i-th snapshot (0 is the first: the initial weights when
// recording started with training).
func (r *TrajectoryRecorder) Weights(i int) *Weights { return r.weights(i) }

func (r *TrajectoryRecorder) weights(i int) *Weights {
	w := &Weights{Names: r.layout.Names, Shapes: r.layout.Shapes, Flat: make([]float64, len(r.snaps[i].w))}
	for k, x := range r.snaps[i].w {
		w.Flat[k] = float64(x)
	}
	return w
}
