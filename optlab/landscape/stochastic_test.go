package landscape

import (
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/optimizers"
)

// meanSquares is f(w) = mean_i ½(w − x_i)², minimised at the mean of the rows.
func meanSquares(rows [][]float64) FiniteSum {
	return FiniteSum{
		Loss: func(w, batch *Node) *Node {
			diff := Sub(InsertAxes(w, 0), batch) // [B, n]
			return ReduceAllMean(ReduceSum(MulScalar(Square(diff), 0.5), 1))
		},
		Data: rows,
		W0:   []float64{0},
	}
}

func TestTraceStochasticMatchesHandComputedSGD(t *testing.T) {
	backend := traceBackend(t)
	rows := [][]float64{{1}, {2}, {3}, {6}}
	p := meanSquares(rows)
	const lr = 0.1
	tests := []struct {
		name  string
		batch int
	}{{"full batch", 0}, {"batch of one", 1}, {"batch of two", 2}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := StochasticConfig{Steps: 6, BatchSize: tc.batch, Seed: 7}
			tr, err := TraceStochastic(backend, optimizers.MustParse("sgd(lr=0.1)"), p, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Steps() != 6 || len(tr.Loss) != 7 {
				t.Fatalf("got %d steps and %d losses, want 6 and 7", tr.Steps(), len(tr.Loss))
			}
			// Replay the same sampling on the host.
			b := tc.batch
			if b == 0 {
				b = len(rows)
			}
			w, pos, epoch := 0.0, len(rows), 0
			var perm []int
			for k := 1; k <= 6; k++ {
				if pos+b > len(rows) {
					perm, pos, epoch = datasets.Permutation(len(rows), 7, epoch), 0, epoch+1
				}
				g := 0.0
				for _, i := range perm[pos : pos+b] {
					g += (w - rows[i][0]) / float64(b)
				}
				pos += b
				w -= lr * g
				if got := tr.Params[k][0]; math.Abs(got-w) > 1e-12 {
					t.Fatalf("step %d: w = %.15g, want %.15g", k, got, w)
				}
				full := 0.0
				for _, r := range rows {
					full += 0.5 * (w - r[0]) * (w - r[0]) / float64(len(rows))
				}
				if math.Abs(tr.Loss[k]-full) > 1e-12 {
					t.Fatalf("step %d: loss %.15g, want the full objective %.15g", k, tr.Loss[k], full)
				}
			}
		})
	}
}

func TestTraceStochasticErrors(t *testing.T) {
	backend := traceBackend(t)
	opt := optimizers.MustParse("sgd(lr=0.1)")
	good := meanSquares([][]float64{{1}, {2}})
	tests := []struct {
		name string
		p    FiniteSum
		cfg  StochasticConfig
		want string
	}{
		{"no data", FiniteSum{Loss: good.Loss, W0: []float64{0}}, StochasticConfig{Steps: 1}, "no data"},
		{"ragged", FiniteSum{Loss: good.Loss, Data: [][]float64{{1}, {1, 2}}, W0: []float64{0}}, StochasticConfig{Steps: 1}, "row 1 has 2 values"},
		{"nan data", FiniteSum{Loss: good.Loss, Data: [][]float64{{math.NaN()}}, W0: []float64{0}}, StochasticConfig{Steps: 1}, "data[0][0] = NaN"},
		{"batch too big", good, StochasticConfig{Steps: 1, BatchSize: 3}, "batch size 3"},
		{"negative steps", good, StochasticConfig{Steps: -1}, "steps = -1"},
		{"diverges", good, StochasticConfig{Steps: 2000}, "is +Inf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o := opt
			if tc.name == "diverges" {
				o = optimizers.MustParse("sgd(lr=3)")
			}
			tr, err := TraceStochastic(backend, o, tc.p, tc.cfg)
			if err == nil {
				t.Fatalf("no error")
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %q does not mention %q", err, tc.want)
			}
			if tc.name == "diverges" && (tr == nil || tr.Steps() < 1 || !strings.Contains(err.Error(), "after step")) {
				t.Fatalf("divergence: want the finite part of the trajectory and an error naming the step, got %v", err)
			}
		})
	}
}

func TestNoisyFunctionIsUnbiased(t *testing.T) {
	f, err := functions.Get("booth")
	if err != nil {
		t.Fatal(err)
	}
	p, err := NoisyFunction(f, 50, 3, 1)
	if err != nil {
		t.Fatal(err)
	}
	var sum [2]float64
	for _, r := range p.Data {
		sum[0] += r[0]
		sum[1] += r[1]
	}
	if math.Abs(sum[0]) > 1e-9 || math.Abs(sum[1]) > 1e-9 {
		t.Fatalf("noise does not sum to zero: %v", sum)
	}
	// Full-batch GD on the noisy sum is GD on f itself.
	backend := traceBackend(t)
	opt := optimizers.MustParse("sgd(lr=0.05)")
	full, err := TraceStochastic(backend, opt, p, StochasticConfig{Steps: 20})
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Trace(backend, opt, f.Graph, p.W0, 20, dtypes.Float64)
	if err != nil {
		t.Fatal(err)
	}
	for k := range plain.Params {
		for c := range 2 {
			if d := math.Abs(plain.Params[k][c] - full.Params[k][c]); d > 1e-9 {
				t.Fatalf("step %d coordinate %d: full batch %g, plain GD %g", k, c, full.Params[k][c], plain.Params[k][c])
			}
		}
	}
	// A batch of one sees noise: its path differs from plain GD.
	one, err := TraceStochastic(backend, opt, p, StochasticConfig{Steps: 20, BatchSize: 1, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(one.Final()[0]-plain.Final()[0]) < 1e-3 {
		t.Fatalf("batch of one followed plain GD: %v vs %v", one.Final(), plain.Final())
	}
	if _, err := NoisyFunction(f, 1, 1, 0); err == nil {
		t.Fatal("n = 1 accepted")
	}
	if _, err := NoisyFunction(f, 10, -1, 0); err == nil {
		t.Fatal("sigma = -1 accepted")
	}
}

// TestTraceSAM checks that traces drive sam's two gradients: on the
// quadratic f(w) = ½(w₁² + 4w₂²) (Trace) and on mean squares over batches of
// two (TraceStochastic, the second gradient on the same batch), against sam
// computed by hand: e = ρ·g/‖g‖, w ← w − η·∇f(w + e).
func TestTraceSAM(t *testing.T) {
	backend := traceBackend(t)
	const lr, rho = 0.1, 0.05
	opt := optimizers.MustParse("sam(base=sgd(lr=0.1),rho=0.05)")
	quad := func(w *Node) *Node {
		return ReduceAllSum(Mul(Const(w.Graph(), []float64{0.5, 2}), Square(w)))
	}
	tr, err := Trace(backend, opt, quad, []float64{1, -0.5}, 5, dtypes.Float64)
	if err != nil {
		t.Fatal(err)
	}
	w := []float64{1, -0.5}
	a := []float64{1, 4}
	for k := 1; k <= 5; k++ {
		g := []float64{a[0] * w[0], a[1] * w[1]}
		n := math.Hypot(g[0], g[1])
		for i := range w {
			w[i] -= lr * a[i] * (w[i] + rho*g[i]/n)
		}
		for i := range w {
			if got := tr.Params[k][i]; math.Abs(got-w[i]) > 1e-12 {
				t.Fatalf("trace step %d: w[%d] = %.15g, want %.15g", k, i, got, w[i])
			}
		}
	}

	rows := [][]float64{{1}, {2}, {3}, {6}}
	st, err := TraceStochastic(backend, opt, meanSquares(rows), StochasticConfig{Steps: 6, BatchSize: 2, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	x, pos, epoch := 0.0, len(rows), 0
	var perm []int
	for k := 1; k <= 6; k++ {
		if pos+2 > len(rows) {
			perm, pos, epoch = datasets.Permutation(len(rows), 7, epoch), 0, epoch+1
		}
		mean := (rows[perm[pos]][0] + rows[perm[pos+1]][0]) / 2
		pos += 2
		g := x - mean
		e := 0.0
		if g != 0 {
			e = rho * g / math.Abs(g)
		}
		x -= lr * (x + e - mean)
		if got := st.Params[k][0]; math.Abs(got-x) > 1e-12 {
			t.Fatalf("stochastic step %d: w = %.15g, want %.15g", k, got, x)
		}
	}
}
