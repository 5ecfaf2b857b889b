package landscape

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
	"gonum.org/v1/gonum/mat"

	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/plots"
)

// SparseConfig describes a linear regression with features of very
// different frequencies: the setting in which per-parameter learning rates
// (Adagrad, RMSprop, Adam) are said to help.
type SparseConfig struct {
	// Features is the number of features d (default 20).
	Features int
	// Examples is the number of rows N (default 2,000).
	Examples int
	// MaxFreq and MinFreq are the probabilities that the most and the least
	// frequent feature is non-zero in a row (defaults 0.5 and 0.005); the
	// others are spaced evenly in log scale between them.
	MaxFreq, MinFreq float64
	// Noise is the standard deviation of the noise added to the targets
	// (default 0.1).
	Noise float64
	// Seed draws the data.
	Seed int64
}

// SparseProblem is the finite sum f(w) = (1/N)·Σᵢ ½(xᵢ·w − yᵢ)², with
// binary features xᵢⱼ ∈ {0, 1} that are 1 with probability Freq[j] (like the
// words of a text), targets yᵢ = xᵢ·w* + noise with w* = (1, …, 1), and
// the start point w = 0. The gradient of the term i with respect to wⱼ is zero
// whenever xᵢⱼ = 0: a rare feature's gradient is sparse.
type SparseProblem struct {
	FiniteSum
	// Freq[j] is the fraction of rows in which feature j is 1, as drawn.
	Freq []float64
	// Solution is the least-squares solution, the minimum of f, where every
	// optimizer should end.
	Solution []float64
	// Curvatures are the eigenvalues of the Hessian XᵀX/N in increasing
	// order: plain gradient descent is stable for a learning rate below
	// 2/Curvatures[d−1], and coordinate j's own curvature is Freq[j].
	Curvatures []float64
}

// SparseRegression draws the problem of cfg. It fails when a feature is
// never 1 (the least-squares solution would not be unique): lower
// MinFreq's rarity or add examples.
func SparseRegression(cfg SparseConfig) (*SparseProblem, error) {
	if cfg.Features == 0 {
		cfg.Features = 20
	}
	if cfg.Examples == 0 {
		cfg.Examples = 2000
	}
	if cfg.MaxFreq == 0 {
		cfg.MaxFreq = 0.5
	}
	if cfg.MinFreq == 0 {
		cfg.MinFreq = 0.005
	}
	if cfg.Noise == 0 {
		cfg.Noise = 0.1
	}
	d, n := cfg.Features, cfg.Examples
	switch {
	case d < 2:
		return nil, fmt.Errorf("sparse regression: %d features, need at least 2", d)
	case n < d:
		return nil, fmt.Errorf("sparse regression: %d examples for %d features, need at least as many", n, d)
	case !(cfg.MinFreq > 0 && cfg.MinFreq <= cfg.MaxFreq && cfg.MaxFreq <= 1):
		return nil, fmt.Errorf("sparse regression: frequencies %g..%g must satisfy 0 < MinFreq ≤ MaxFreq ≤ 1", cfg.MinFreq, cfg.MaxFreq)
	case !(cfg.Noise >= 0) || math.IsInf(cfg.Noise, 0):
		return nil, fmt.Errorf("sparse regression: noise %g must be a finite number ≥ 0", cfg.Noise)
	}
	r := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5a55e))
	p := &SparseProblem{Freq: make([]float64, d)}
	prob := make([]float64, d)
	for j := range prob {
		prob[j] = cfg.MaxFreq * math.Pow(cfg.MinFreq/cfg.MaxFreq, float64(j)/float64(d-1))
	}
	// Rows are [x₁ … x_d, y].
	data := make([][]float64, n)
	x := mat.NewDense(n, d, nil)
	y := mat.NewVecDense(n, nil)
	for i := range data {
		row := make([]float64, d+1)
		for j := 0; j < d; j++ {
			if r.Float64() < prob[j] {
				row[j] = 1
				row[d]++ // w*ⱼ = 1
				p.Freq[j]++
			}
		}
		row[d] += cfg.Noise * r.NormFloat64()
		data[i] = row
		x.SetRow(i, row[:d])
		y.SetVec(i, row[d])
	}
	for j := range p.Freq {
		if p.Freq[j] == 0 {
			return nil, fmt.Errorf("sparse regression: feature %d (frequency %.3g) is never non-zero in %d examples: raise MinFreq or Examples", j+1, prob[j], n)
		}
		p.Freq[j] /= float64(n)
	}
	// The Hessian XᵀX/N, its eigenvalues, and the least-squares solution.
	var h mat.SymDense
	h.SymOuterK(1/float64(n), x.T())
	var eig mat.EigenSym
	if !eig.Factorize(&h, false) {
		return nil, fmt.Errorf("sparse regression: the Hessian's eigenvalues did not converge")
	}
	p.Curvatures = eig.Values(nil)
	var xty mat.VecDense
	xty.MulVec(x.T(), y)
	xty.ScaleVec(1/float64(n), &xty)
	var sol mat.VecDense
	if err := sol.SolveVec(&h, &xty); err != nil {
		return nil, fmt.Errorf("sparse regression: least squares: %w", err)
	}
	p.Solution = make([]float64, d)
	for j := range p.Solution {
		p.Solution[j] = sol.AtVec(j)
	}
	p.Data = data
	p.W0 = make([]float64, d)
	p.Loss = func(w, batch *Node) *Node {
		xs := Slice(batch, AxisRange(), AxisRange(0, d))
		ys := Reshape(Slice(batch, AxisRange(), AxisRange(d, d+1)), -1)
		pred := ReduceSum(Mul(xs, InsertAxes(w, 0)), 1)
		return MulScalar(ReduceAllMean(Square(Sub(pred, ys))), 0.5)
	}
	return p, nil
}

// Value evaluates f(w) on the host, in float64.
func (p *SparseProblem) Value(w []float64) float64 {
	d := len(p.Freq)
	s := 0.0
	for _, row := range p.Data {
		e := -row[d]
		for j := 0; j < d; j++ {
			e += row[j] * w[j]
		}
		s += 0.5 * e * e
	}
	return s / float64(len(p.Data))
}

// Remaining returns, per feature, the fraction of the way to the solution
// still to go at w: |wⱼ − Solutionⱼ| / |Solutionⱼ| (from the start w = 0 it
// is 1 for every feature).
func (p *SparseProblem) Remaining(w []float64) []float64 {
	out := make([]float64, len(p.Solution))
	for j, s := range p.Solution {
		out[j] = math.Abs(w[j]-s) / math.Abs(s)
	}
	return out
}

// SparseCandidate is an optimizer family and the learning rates to tune it
// over, for RunSparse.
type SparseCandidate struct {
	// Family is an optimizer name ("sgd", "adagrad", ...) and LRs its grid.
	Family string
	LRs    []float64
}

// SparseStudy is RunSparse's outcome: each candidate at its tuned learning
// rate, run with several seeds (orders of the mini-batches).
type SparseStudy struct {
	Problem *SparseProblem
	// Specs are the tuned optimizers, one per candidate.
	Specs []string
	// Seeds are the batch-order seeds of the tuned runs.
	Seeds []int64
	// Remaining[i][s] is the fraction of the way still to go per feature
	// (SparseProblem.Remaining) for optimizer i and seed s after the run.
	Remaining [][][]float64
	// Excess[i][s] is the final loss minus the minimum.
	Excess [][]float64
}

// RunSparse tunes each candidate on p — the learning rate of its grid with
// the lowest final loss after steps updates of batch size batch, with the
// first seed — then runs the tuned optimizer with every seed. Tuning on the
// overall loss is fair to every method: none is tuned for the rare features.
// A learning rate that diverges counts as the worst; a candidate whose every
// rate diverges is an error.
func RunSparse(backend compute.Backend, p *SparseProblem, cands []SparseCandidate, steps, batch int, seeds []int64) (*SparseStudy, error) {
	if len(cands) == 0 || len(seeds) == 0 {
		return nil, fmt.Errorf("sparse study: need candidates (%d) and seeds (%d)", len(cands), len(seeds))
	}
	minLoss := p.Value(p.Solution)
	run := func(spec string, seed int64) (*Trajectory, error) {
		opt, err := optimizers.Parse(spec)
		if err != nil {
			return nil, err
		}
		return TraceStochastic(backend, opt, p.FiniteSum, StochasticConfig{Steps: steps, BatchSize: batch, Seed: seed, DType: dtypes.Float64})
	}
	st := &SparseStudy{Problem: p, Seeds: slices.Clone(seeds)}
	for _, c := range cands {
		best, bestLoss := "", math.Inf(1)
		for _, lr := range c.LRs {
			spec := fmt.Sprintf("%s(lr=%.3g)", c.Family, lr)
			tr, err := run(spec, seeds[0])
			if err != nil {
				if tr == nil {
					return nil, fmt.Errorf("sparse study: %s: %w", spec, err)
				}
				continue // diverged
			}
			if l := tr.Loss[len(tr.Loss)-1]; l < bestLoss {
				best, bestLoss = spec, l
			}
		}
		if best == "" {
			return nil, fmt.Errorf("sparse study: %s diverged at every learning rate of %v", c.Family, c.LRs)
		}
		var rem [][]float64
		var exc []float64
		for _, seed := range seeds {
			tr, err := run(best, seed)
			if err != nil {
				return nil, fmt.Errorf("sparse study: %s, seed %d: %w", best, seed, err)
			}
			rem = append(rem, p.Remaining(tr.Final()))
			exc = append(exc, tr.Loss[len(tr.Loss)-1]-minLoss)
		}
		st.Specs = append(st.Specs, best)
		st.Remaining = append(st.Remaining, rem)
		st.Excess = append(st.Excess, exc)
	}
	return st, nil
}

// Group returns, per seed, optimizer i's mean remaining fraction over the
// features whose indices are in [from, to) (features are sorted from the
// most to the least frequent).
func (s *SparseStudy) Group(i, from, to int) []float64 {
	out := make([]float64, len(s.Remaining[i]))
	for k, rem := range s.Remaining[i] {
		for _, r := range rem[from:to] {
			out[k] += r / float64(to-from)
		}
	}
	return out
}

// Figure draws, for each tuned optimizer, the fraction of the way still to
// go against the features' frequency (log–log), averaged over seeds and
// over bins of features of similar frequency (features are sorted by
// frequency; bins ≤ 1 draws every feature).
func (s *SparseStudy) Figure(bins int) (*plots.Figure, error) {
	d := len(s.Problem.Freq)
	bins = min(max(bins, 1), d)
	if bins == 1 {
		bins = d
	}
	var ss []plots.Series
	for i, spec := range s.Specs {
		sr := plots.Series{Name: spec}
		for b := 0; b < bins; b++ {
			from, to := b*d/bins, (b+1)*d/bins
			f, r := 0.0, 0.0
			for j := from; j < to; j++ {
				f += s.Problem.Freq[j] / float64(to-from)
			}
			for _, x := range s.Group(i, from, to) {
				r += x / float64(len(s.Remaining[i]))
			}
			sr.X, sr.Y = append(sr.X, f), append(sr.Y, r)
		}
		ss = append(ss, sr)
	}
	return plots.Lines(plots.Axes{Title: "what is left to learn, per feature", XLabel: "fraction of examples in which the feature is non-zero",
		YLabel: "share of the way to the solution left", LogX: true, LogY: true, Markers: true}, ss...)
}
