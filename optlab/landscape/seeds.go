package landscape

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute"

	"optlab.dev/optlab/functions"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/plots"
)

// SeedRuns is one optimizer on a noisy finite sum, run once per sampling
// seed: the repeated experiment behind a statement like "B = 1 escaped the
// basin in 9 runs of 10". A run that diverged keeps its trajectory up to the
// last finite step.
type SeedRuns struct {
	// Spec is the optimizer's canonical spec; BatchSize and Steps are the
	// runs' (BatchSize 0 is the full batch).
	Spec             string
	BatchSize, Steps int
	Seeds            []int64
	Traces           []*Trajectory
	// Diverged[i] holds the error that stopped run i ("" if it finished).
	Diverged []string
}

// RunSeeds runs TraceStochastic once for each seed (cfg.Seed is replaced),
// keeping runs that diverge (see SeedRuns.Diverged). The error is for bad
// input or a failed graph, not for divergence.
func RunSeeds(backend compute.Backend, opt *optimizers.Optimizer, p FiniteSum, cfg StochasticConfig, seeds []int64) (*SeedRuns, error) {
	if len(seeds) == 0 {
		return nil, errors.New("run seeds: no seeds given")
	}
	if opt == nil {
		return nil, errors.New("run seeds: nil optimizer")
	}
	r := &SeedRuns{Spec: opt.String(), BatchSize: cfg.BatchSize, Steps: cfg.Steps, Seeds: seeds}
	for _, seed := range seeds {
		cfg.Seed = seed
		tr, err := TraceStochastic(backend, opt, p, cfg)
		msg := ""
		if err != nil {
			if tr == nil || len(tr.Loss) == 0 {
				return nil, fmt.Errorf("run seeds: seed %d: %w", seed, err)
			}
			msg = err.Error()
		}
		r.Traces = append(r.Traces, tr)
		r.Diverged = append(r.Diverged, msg)
	}
	return r, nil
}

// Seeds returns n consecutive seeds from first: Seeds(1, 5) = [1 2 3 4 5].
func Seeds(first int64, n int) []int64 {
	out := make([]int64, max(n, 0))
	for i := range out {
		out[i] = first + int64(i)
	}
	return out
}

// TailMean returns the mean loss over the last n recorded values (the
// start's included when n exceeds the updates): the height of the noise
// floor a run settled into. NaN if the trajectory is empty or n < 1.
func (t *Trajectory) TailMean(n int) float64 {
	if t == nil || len(t.Loss) == 0 || n < 1 {
		return math.NaN()
	}
	tail := t.Loss[max(0, len(t.Loss)-n):]
	s := 0.0
	for _, l := range tail {
		s += l
	}
	return s / float64(len(tail))
}

// TailMeans returns each run's TailMean(n), +Inf for a run that diverged.
func (r *SeedRuns) TailMeans(n int) []float64 {
	out := make([]float64, len(r.Traces))
	for i, t := range r.Traces {
		out[i] = t.TailMean(n)
		if r.Diverged[i] != "" {
			out[i] = math.Inf(1)
		}
	}
	return out
}

// FinalLosses returns each run's objective after its last update, +Inf for a
// run that diverged.
func (r *SeedRuns) FinalLosses() []float64 { return r.TailMeans(1) }

// FirstBelow returns, per run, the first step whose loss is at most target
// (−1 if none; a diverged run counts only the steps before it diverged).
func (r *SeedRuns) FirstBelow(target float64) []int {
	out := make([]int, len(r.Traces))
	for i, t := range r.Traces {
		out[i] = -1
		for k, l := range t.Loss {
			if l <= target {
				out[i] = k
				break
			}
		}
	}
	return out
}

// Reached splits FirstBelow(target) into the runs that reached the target
// and the steps they took (as float64, for statistics).
func (r *SeedRuns) Reached(target float64) (n int, steps []float64) {
	for _, k := range r.FirstBelow(target) {
		if k >= 0 {
			n++
			steps = append(steps, float64(k))
		}
	}
	return n, steps
}

// Count returns how many runs' last point satisfies ok (diverged runs never
// do): for example, how many ended in the basin of a global minimum.
func (r *SeedRuns) Count(ok func(w []float64) bool) int {
	n := 0
	for i, t := range r.Traces {
		if r.Diverged[i] == "" && ok(t.Final()) {
			n++
		}
	}
	return n
}

// DivergedRuns counts the runs that diverged.
func (r *SeedRuns) DivergedRuns() int {
	n := 0
	for _, d := range r.Diverged {
		if d != "" {
			n++
		}
	}
	return n
}

// Paths returns the first n runs' paths (all for n ≤ 0 or beyond), named
// "seed S"; a diverged run's path ends at its last finite point.
func (r *SeedRuns) Paths(n int) []plots.Path {
	if n <= 0 || n > len(r.Traces) {
		n = len(r.Traces)
	}
	out := make([]plots.Path, n)
	for i := range n {
		p := plots.Path{Name: fmt.Sprintf("seed %d", r.Seeds[i])}
		for _, w := range r.Traces[i].Params {
			p.X = append(p.X, w[0])
			p.Y = append(p.Y, w[1])
		}
		out[i] = p
	}
	return out
}

// Figure draws the first n runs' paths (see Paths) over f's contours under
// title: one panel per optimizer and batch size keeps noisy paths apart.
func (r *SeedRuns) Figure(f functions.TestFunction, title string, n int) (*plots.Figure, error) {
	return plots.Contour(ContourOf(f, title), r.Paths(n)...)
}

// RunBatches runs RunSeeds at each batch size of batches (0: the full
// batch) with the same seeds. A full batch draws no samples, so it runs once,
// with the first seed: every seed would give the same path.
func RunBatches(backend compute.Backend, opt *optimizers.Optimizer, p FiniteSum, cfg StochasticConfig, batches []int, seeds []int64) ([]*SeedRuns, error) {
	if len(seeds) == 0 {
		return nil, errors.New("run batches: no seeds given")
	}
	out := make([]*SeedRuns, 0, len(batches))
	for _, b := range batches {
		cfg.BatchSize = b
		s := seeds
		if b == 0 || b == len(p.Data) {
			s = seeds[:1]
		}
		r, err := RunSeeds(backend, opt, p, cfg, s)
		if err != nil {
			return nil, fmt.Errorf("batch %d: %w", b, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// BatchName names a batch size of a finite sum of n terms for tables and
// legends: "full batch (256)" for 0 or n, "B = 4" otherwise.
func BatchName(b, n int) string {
	if b == 0 || b == n {
		return fmt.Sprintf("full batch (%d)", n)
	}
	return fmt.Sprintf("B = %d", b)
}

// ReachTable shows, for each set of runs, how many reached a loss of at
// most target and after how many updates (the median over those that did),
// with the mean final loss and the runs that diverged: the table of an
// escape or convergence experiment repeated over seeds.
func ReachTable(title string, target float64, runs ...*SeedRuns) *plots.Table {
	t := plots.NewTable(title, "optimizer", "batch", "runs", fmt.Sprintf("reached f ≤ %s", plots.FormatCell(target)), "updates (median)", "final f (mean)", "diverged")
	for _, r := range runs {
		n, steps := r.Reached(target)
		med := "–"
		if n > 0 {
			med = plots.FormatCell(Median(steps))
		}
		final := "–"
		if f := finiteMean(r.FinalLosses()); !math.IsNaN(f) {
			final = plots.FormatCell(f)
		}
		batch := fmt.Sprint(r.BatchSize)
		if r.BatchSize == 0 {
			batch = "full"
		}
		_ = t.AddRow(CompactSpec(r.Spec), batch, len(r.Traces), fmt.Sprintf("%d of %d", n, len(r.Traces)), med, final, r.DivergedRuns())
	}
	return t
}

// Grew counts the runs that diverged or ended above the loss they started
// at: runs that blew up, whether or not their numbers overflowed.
func (r *SeedRuns) Grew() int {
	n := 0
	for i, t := range r.Traces {
		if r.Diverged[i] != "" || (len(t.Loss) > 0 && t.Loss[len(t.Loss)-1] > t.Loss[0]) {
			n++
		}
	}
	return n
}

// CompactSpec shortens a canonical optimizer spec for tables by dropping
// the arguments that are zero or false ("sgd(lr=0.05,momentum=0,
// dampening=0,nesterov=false,weight_decay=0)" → "sgd(lr=0.05)").
func CompactSpec(spec string) string {
	name, args, ok := strings.Cut(spec, "(")
	if !ok || !strings.HasSuffix(args, ")") || strings.Contains(args, "(") {
		return spec
	}
	var keep []string
	for _, a := range strings.Split(strings.TrimSuffix(args, ")"), ",") {
		if _, v, _ := strings.Cut(a, "="); v == "0" || v == "false" {
			continue
		}
		keep = append(keep, a)
	}
	return name + "(" + strings.Join(keep, ",") + ")"
}

// finiteMean is the mean of the finite values of xs (NaN if none).
func finiteMean(xs []float64) float64 {
	s, n := 0.0, 0
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			s += x
			n++
		}
	}
	if n == 0 {
		return math.NaN()
	}
	return s / float64(n)
}

// MeanFinal returns the mean final loss over the runs that did not diverge
// (NaN if all did).
func (r *SeedRuns) MeanFinal() float64 { return finiteMean(r.FinalLosses()) }

// MedianReach returns the median number of updates to reach a loss of at
// most target over the runs that did, and how many did (NaN, 0 if none).
func (r *SeedRuns) MedianReach(target float64) (float64, int) {
	n, steps := r.Reached(target)
	if n == 0 {
		return math.NaN(), 0
	}
	return Median(steps), n
}
