package landscape

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/graphexec"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/optimizers"
)

// BatchObjective is the mean loss of a mini-batch: w is the parameter vector
// (shape [n]) and batch holds the mini-batch's rows of data (shape [B, d]).
// It must return a scalar of w's dtype. Averaged over every row of the data it
// is the full objective.
type BatchObjective func(w, batch *Node) *Node

// FiniteSum is a finite-sum objective f(w) = (1/N)·Σᵢ fᵢ(w), where term i is
// determined by row i of Data: the setting in which stochastic and mini-batch
// gradient descent are defined.
type FiniteSum struct {
	// Loss is the mean of the terms selected by a batch of rows.
	Loss BatchObjective
	// Data has one row of equal length per term.
	Data [][]float64
	// W0 is the start point.
	W0 []float64
}

// StochasticConfig says how TraceStochastic samples the terms.
type StochasticConfig struct {
	// Steps is the number of updates.
	Steps int
	// BatchSize is the number of terms in each update's gradient; 0, or the
	// number of terms, means full-batch gradient descent. Each epoch visits
	// the terms in a new random order without replacement; the last, smaller
	// batch of an epoch is dropped, so every update sees exactly BatchSize terms.
	BatchSize int
	// Seed draws the order of the terms.
	Seed int64
	// DType is the float type of the parameters (default float64).
	DType dtypes.DType
}

// TraceStochastic runs cfg.Steps updates of opt on the finite sum p, each
// computed from the gradient of a mini-batch of cfg.BatchSize terms, and
// records the parameters and the full objective (the mean over every term)
// after every update. Each call starts from a fresh optimizer state.
//
// As with Trace, a run whose parameters or objective stop being finite
// returns the trajectory up to its last finite step together with an error.
func TraceStochastic(backend compute.Backend, opt *optimizers.Optimizer, p FiniteSum, cfg StochasticConfig) (*Trajectory, error) {
	if opt == nil || p.Loss == nil || backend == nil {
		return nil, fmt.Errorf("stochastic trace: optimizer, loss and backend must not be nil")
	}
	n := len(p.Data)
	if n == 0 {
		return nil, fmt.Errorf("stochastic trace: no data rows")
	}
	d := len(p.Data[0])
	if d == 0 {
		return nil, fmt.Errorf("stochastic trace: data rows are empty")
	}
	flat := make([]float64, 0, n*d)
	for i, row := range p.Data {
		if len(row) != d {
			return nil, fmt.Errorf("stochastic trace: data row %d has %d values, row 0 has %d", i, len(row), d)
		}
		if j := firstNonFinite(row); j >= 0 {
			return nil, fmt.Errorf("stochastic trace: data[%d][%d] = %g is not finite", i, j, row[j])
		}
		flat = append(flat, row...)
	}
	if len(p.W0) == 0 {
		return nil, fmt.Errorf("stochastic trace: empty start point W0")
	}
	if i := firstNonFinite(p.W0); i >= 0 {
		return nil, fmt.Errorf("stochastic trace: W0[%d] = %g is not finite", i, p.W0[i])
	}
	if cfg.Steps < 0 {
		return nil, fmt.Errorf("stochastic trace: steps = %d must be >= 0", cfg.Steps)
	}
	batch := cfg.BatchSize
	if batch < 0 || batch > n {
		return nil, fmt.Errorf("stochastic trace: batch size %d must be in [0, %d] (0 means full batch)", batch, n)
	}
	if batch == 0 {
		batch = n
	}
	dtype := cfg.DType
	if dtype == dtypes.InvalidDType {
		dtype = dtypes.Float64
	}
	if dtype != dtypes.Float32 && dtype != dtypes.Float64 {
		return nil, fmt.Errorf("stochastic trace: dtype %s not supported (use float32 or float64)", dtype)
	}

	t := newTracer("stochastic trace", opt, p.W0, dtype)
	objective := func(w, rows *Node) *Node {
		loss := p.Loss(w, ConvertDType(rows, w.DType()))
		if !loss.Shape().IsScalar() {
			panic(fmt.Errorf("the batch objective must return a scalar, got shape %s", loss.Shape()))
		}
		return ConvertDType(loss, w.DType())
	}
	stepExec, err := model.NewExec(backend, t.store, func(scope *model.Scope, rows *Node) *Node {
		g := rows.Graph()
		t.store.SetTraining(g, true)
		// A loss function, so that sam can take its second gradient (on the
		// same batch, as SAM does).
		return opt.UpdateGraphWithLossFunc(scope, g, func() *Node { return objective(t.w.NodeValue(g), rows) })
	})
	if err != nil {
		return nil, fmt.Errorf("stochastic trace: %w", err)
	}
	evalExec, err := model.NewExec(backend, t.store, func(scope *model.Scope, rows *Node) *Node {
		return objective(t.w.NodeValue(rows.Graph()), rows)
	})
	if err != nil {
		return nil, fmt.Errorf("stochastic trace: %w", err)
	}
	all := tensors.FromFlatDataAndDimensions(flat, n, d)
	var perm []int
	pos, epoch := n, 0
	rows := make([]float64, batch*d)
	step := func(int) ([]*tensors.Tensor, error) {
		if pos+batch > n {
			perm = datasets.Permutation(n, cfg.Seed, epoch)
			pos, epoch = 0, epoch+1
		}
		for j, i := range perm[pos : pos+batch] {
			copy(rows[j*d:(j+1)*d], p.Data[i])
		}
		pos += batch
		return graphexec.Call(stepExec, tensors.FromFlatDataAndDimensions(rows, batch, d))
	}
	return t.run(cfg.Steps, false, step, func() ([]*tensors.Tensor, error) { return graphexec.Call(evalExec, all) })
}

// NoisyFunction turns a 2-D test function into a finite sum of n terms whose
// gradients are the true gradient plus noise:
//
//	fᵢ(w) = f(w) + zᵢ·w,   zᵢ ~ N(0, σ²I) drawn from seed, then centred so Σᵢ zᵢ = 0.
//
// The mean of the terms is exactly f, so full-batch gradient descent on it is
// plain gradient descent on f, while a mini-batch of B terms sees ∇f plus
// noise with a standard deviation of about σ/√B per coordinate (less when B
// approaches n, as the batch then covers most of the centred noise). This is
// the textbook model of stochastic gradients, cheap enough to draw on a contour.
func NoisyFunction(f functions.TestFunction, n int, sigma float64, seed int64) (FiniteSum, error) {
	if f.Graph == nil {
		return FiniteSum{}, fmt.Errorf("noisy function: test function %q has no graph", f.Name)
	}
	if n < 2 {
		return FiniteSum{}, fmt.Errorf("noisy function: n = %d terms, need at least 2", n)
	}
	if !(sigma >= 0) || math.IsInf(sigma, 0) {
		return FiniteSum{}, fmt.Errorf("noisy function: sigma = %g must be a finite number >= 0", sigma)
	}
	r := rand.New(rand.NewPCG(uint64(seed), 0x5DEECE66D))
	data := make([][]float64, n)
	var mean [2]float64
	for i := range data {
		data[i] = []float64{r.NormFloat64() * sigma, r.NormFloat64() * sigma}
		mean[0] += data[i][0] / float64(n)
		mean[1] += data[i][1] / float64(n)
	}
	for i := range data {
		data[i][0] -= mean[0]
		data[i][1] -= mean[1]
	}
	graphF := f.Graph
	loss := func(w, batch *Node) *Node {
		z := ReduceMean(batch, 0) // [2]: the batch's mean noise vector
		return Add(graphF(w), ReduceAllSum(Mul(z, w)))
	}
	return FiniteSum{Loss: loss, Data: data, W0: []float64{f.Start[0], f.Start[1]}}, nil
}
