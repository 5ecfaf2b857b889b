package reportcard

import (
	"fmt"
	"html"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/dustin/go-humanize"
	"github.com/janpfeifer/gonb/gonbui"

	"optlab.dev/internal/stats"
	"optlab.dev/optlab"
	"optlab.dev/optlab/plots"
	"optlab.dev/optlab/sweep"
)

// Options tunes Build.
type Options struct {
	// Target is the validation accuracy whose first crossing gives "epochs to
	// target". 0 chooses it from the data: the lowest final validation
	// accuracy among the optimizers at their best learning rates, rounded down
	// to half a percentage point, so every optimizer reaches it on average and
	// the faster ones get there sooner.
	Target float64
	// Tolerance is how far (in accuracy) below the best a learning rate's mean
	// validation accuracy may be and still count as good for the sensitivity
	// measure (default 0.01, one percentage point).
	Tolerance float64
	// Level is the confidence level of every interval (default 0.95).
	Level float64
	// Label, if set, names each card's optimizer in tables and figures
	// (from any of the card's trials; an empty result keeps the default,
	// sweep.Trial.Label, which spells out every hyperparameter that differs
	// from its default: long for a schedule).
	Label func(t sweep.Trial) string
}

// LRPoint aggregates the runs of one optimizer at one learning rate over seeds.
type LRPoint struct {
	LR       float64
	Runs     int
	Diverged int // runs stopped by a non-finite loss
	// Mean, sample standard deviation, minimum and maximum of the final
	// validation and test accuracy over the runs that finished (NaN if none).
	ValAccMean, ValAccStd, ValAccMin, ValAccMax float64
	TestAccMean, TestAccStd                     float64
	// TestAccCI is the half-width of the Student-t confidence interval of
	// TestAccMean at Options.Level (NaN for fewer than two runs).
	TestAccCI float64
}

// SeedRun is one run at a card's best learning rate: what paired
// comparisons between optimizers use (runs with the same seed share their
// data order and, for one model, their initial weights).
type SeedRun struct {
	Seed     int64
	Diverged bool
	// Final validation, test and training accuracy (NaN when diverged).
	ValAcc, TestAcc, TrainAcc float64
	// Steps and Epochs are when validation accuracy first reached the
	// report's target: the optimizer steps taken, and those steps in epochs
	// (fractional when the run evaluated within epochs). NaN: never reached.
	Steps, Epochs float64
}

// Card is one optimizer's line of the report card: how it did over a
// learning-rate grid and several seeds, in one setting (model, batch size,
// epochs, data split and limit).
type Card struct {
	// Setting.
	Model     string
	BatchSize int
	Epochs    int
	Split     string
	Limit     int
	// FullEval and EvalEvery are the trials' (sweep.Trial).
	FullEval  bool
	EvalEvery int
	// Optimizer is the family's short label (Options.Label, or
	// sweep.Trial.Label); Family its canonical spec without the learning rate
	// (sweep.Trial.Family).
	Optimizer, Family string
	// Grid holds one point per learning rate tried, by increasing rate.
	Grid []LRPoint
	// BestLR is the rate with the highest mean final validation accuracy among
	// the rates where no seed diverged (among all rates if every one had a
	// divergence); Best is its point.
	BestLR float64
	Best   LRPoint
	// Seeds holds the runs at the best rate, by seed.
	Seeds []SeedRun
	// Target is the validation accuracy used for StepsToTarget.
	Target float64
	// Reached counts the runs at the best rate whose validation accuracy
	// reached Target at some evaluation (every EvalEvery steps when the runs
	// evaluated within epochs, else at epoch ends), NotReached the runs that
	// finished without reaching it. StepsToTarget and EpochsToTarget are the
	// mean first crossing over the runs that reached it (NaN when none did),
	// StepsCI the half-width of the confidence interval of StepsToTarget
	// (NaN for fewer than two runs).
	Reached, NotReached           int
	EpochsToTarget, StepsToTarget float64
	StepsCI                       float64
	// TrainAcc is the mean final training accuracy at the best rate (averaged
	// over the last epoch's mini-batches, as Keras reports it); Gap and GapStd
	// are the mean and spread of training minus test accuracy.
	TrainAcc, Gap, GapStd float64
	// GoodLRs counts the rates whose mean validation accuracy is within the
	// tolerance of the best (no seed diverged); GoodLo and GoodHi are the
	// smallest and largest of them, GoodAtEdge says that one of them is the
	// grid's smallest or largest rate (so the good window may be wider than
	// the grid shows). Spread is the best minus the worst mean validation
	// accuracy over the grid (diverged rates excluded).
	GoodLRs        int
	GoodLo, GoodHi float64
	GoodAtEdge     bool
	Spread         float64
	// StateBytes is the optimizer state (per-parameter buffers, float32) and
	// Params the model's trainable scalars.
	StateBytes int64
	Params     int64
	// StepSeconds is the median time per training step over all the family's
	// finished runs, with the first (compiling) step left out; a run trained
	// in a population counts its population's step time divided by the
	// number of members (its share).
	StepSeconds float64
	// Backends lists the backends the runs used.
	Backends []string
}

// Report is the optimizer report card of a set of sweep records.
type Report struct {
	Options Options
	Cards   []Card
	// Trials is the number of records used.
	Trials int
	// ValIsTest is true when some runs validated on the test split, so the best
	// learning rate was chosen on test data.
	ValIsTest bool
}

type cardKey struct {
	model                    string
	batch, epochs, limit     int
	fullEval                 bool
	evalEvery                int
	split, nonFinite, family string
}

func (k cardKey) String() string {
	return fmt.Sprintf("%s\x00%08d\x00%08d\x00%s\x00%08d\x00%t\x00%08d\x00%s\x00%s", k.model, k.batch, k.epochs, k.split, k.limit,
		k.fullEval, k.evalEvery, k.nonFinite, k.family)
}

func (k cardKey) less(o cardKey) bool { return k.String() < o.String() }

// Build summarises records into one Card per optimizer family and setting.
// The result depends only on the set of records, not on their order, so
// merged stores report exactly as one store holding the same trials.
func Build(recs []sweep.Record, opts Options) *Report {
	if opts.Tolerance <= 0 {
		opts.Tolerance = 0.01
	}
	if !(opts.Level > 0 && opts.Level < 1) {
		opts.Level = 0.95
	}
	// A canonical order: by trial ID (records of one trial are deduplicated).
	sorted := append([]sweep.Record(nil), recs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	groups := map[cardKey][]sweep.Record{}
	var keys []cardKey
	rep := &Report{Options: opts}
	lastID := ""
	for _, r := range sorted {
		if r.Hist == nil || r.ID == lastID {
			continue
		}
		lastID = r.ID
		rep.Trials++
		t := r.Trial
		k := cardKey{t.Model, t.BatchSize, t.Epochs, t.Limit, t.FullEval, t.EvalEvery, t.Split, t.NonFinite, t.Family()}
		if _, ok := groups[k]; !ok {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], r)
		if r.Hist.ValSplit == "test" {
			rep.ValIsTest = true
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].less(keys[j]) })
	for _, k := range keys {
		rep.Cards = append(rep.Cards, buildCard(k, groups[k], opts))
	}
	// The automatic target: reachable on average by every optimizer.
	target := opts.Target
	if target <= 0 {
		lowest := math.Inf(1)
		for _, c := range rep.Cards {
			if !math.IsNaN(c.Best.ValAccMean) {
				lowest = math.Min(lowest, c.Best.ValAccMean)
			}
		}
		if !math.IsInf(lowest, 1) {
			target = math.Floor(lowest*200+1e-9) / 200
		}
	}
	rep.Options.Target = target
	for i := range rep.Cards {
		setTarget(&rep.Cards[i], groups[keys[i]], target, opts.Level)
	}
	return rep
}

func finished(h *optlab.History) bool { return h.Err == "" }

// cardLabel names a card's optimizer: Options.Label's name, or the trial's
// label.
func cardLabel(t sweep.Trial, opts Options) string {
	if opts.Label != nil {
		if l := opts.Label(t); l != "" {
			return l
		}
	}
	return t.Label()
}

func buildCard(k cardKey, recs []sweep.Record, opts Options) Card {
	c := Card{Model: k.model, BatchSize: k.batch, Epochs: k.epochs, Split: k.split, Limit: k.limit,
		FullEval: k.fullEval, EvalEvery: k.evalEvery, Family: k.family, Optimizer: cardLabel(recs[0].Trial, opts),
		BestLR: math.NaN(), EpochsToTarget: math.NaN(), StepsToTarget: math.NaN(), StepsCI: math.NaN(),
		TrainAcc: math.NaN(), Gap: math.NaN(), GoodLo: math.NaN(), GoodHi: math.NaN(), Spread: math.NaN()}
	byLR := map[float64][]sweep.Record{}
	var lrs []float64
	backends := map[string]bool{}
	var stepSecs []float64
	for _, r := range recs {
		lr := r.Trial.LR()
		if _, ok := byLR[lr]; !ok {
			lrs = append(lrs, lr)
		}
		byLR[lr] = append(byLR[lr], r)
		backends[r.Hist.Backend] = true
		if r.Hist.StateBytes > 0 || c.StateBytes == 0 {
			c.StateBytes, c.Params = r.Hist.StateBytes, max(c.Params, r.Hist.Params)
		}
		if finished(r.Hist) {
			if s := stepSeconds(r.Hist); !math.IsNaN(s) {
				stepSecs = append(stepSecs, s)
			}
		}
	}
	for b := range backends {
		c.Backends = append(c.Backends, b)
	}
	sort.Strings(c.Backends)
	c.StepSeconds = stats.Median(stepSecs)
	sort.Float64s(lrs)
	for _, lr := range lrs {
		p := LRPoint{LR: lr, Runs: len(byLR[lr])}
		var va, ta []float64
		for _, r := range byLR[lr] {
			if !finished(r.Hist) {
				if r.Hist.Diverged() {
					p.Diverged++
				}
				continue
			}
			va = append(va, r.Hist.Last().ValAccuracy)
			ta = append(ta, r.Hist.TestAccuracy)
		}
		p.ValAccMean, p.ValAccStd = stats.MeanStd(va)
		p.TestAccMean, p.TestAccStd = stats.MeanStd(ta)
		_, p.TestAccCI = stats.MeanCI(ta, opts.Level)
		p.ValAccMin, p.ValAccMax = minMax(va)
		c.Grid = append(c.Grid, p)
	}
	// Best rate: highest mean validation accuracy, preferring rates where no
	// seed diverged.
	best := -1
	for pass := 0; pass < 2 && best < 0; pass++ {
		for i, p := range c.Grid {
			if math.IsNaN(p.ValAccMean) || (pass == 0 && p.Diverged > 0) {
				continue
			}
			if best < 0 || p.ValAccMean > c.Grid[best].ValAccMean {
				best = i
			}
		}
	}
	if best < 0 {
		if len(c.Grid) > 0 {
			c.Best = c.Grid[0]
		}
		return c
	}
	c.Best, c.BestLR = c.Grid[best], c.Grid[best].LR
	worst := c.Best.ValAccMean
	for _, p := range c.Grid {
		if math.IsNaN(p.ValAccMean) || p.Diverged > 0 {
			continue
		}
		worst = math.Min(worst, p.ValAccMean)
		if p.ValAccMean >= c.Best.ValAccMean-opts.Tolerance {
			c.GoodLRs++
			if c.GoodLRs == 1 {
				c.GoodLo = p.LR
			}
			c.GoodHi = p.LR
		}
	}
	c.Spread = c.Best.ValAccMean - worst
	c.GoodAtEdge = c.GoodLRs > 0 && (c.GoodLo == c.Grid[0].LR || c.GoodHi == c.Grid[len(c.Grid)-1].LR)
	var tr, gaps []float64
	for _, r := range byLR[c.BestLR] {
		run := SeedRun{Seed: r.Trial.Seed, Diverged: !finished(r.Hist), ValAcc: math.NaN(), TestAcc: math.NaN(), TrainAcc: math.NaN(),
			Steps: math.NaN(), Epochs: math.NaN()}
		if finished(r.Hist) {
			tr = append(tr, r.Hist.Last().Accuracy)
			gaps = append(gaps, r.Hist.Last().Accuracy-r.Hist.TestAccuracy)
			run.ValAcc, run.TestAcc, run.TrainAcc = r.Hist.Last().ValAccuracy, r.Hist.TestAccuracy, r.Hist.Last().Accuracy
		}
		c.Seeds = append(c.Seeds, run)
	}
	sort.Slice(c.Seeds, func(i, j int) bool { return c.Seeds[i].Seed < c.Seeds[j].Seed })
	c.TrainAcc, _ = stats.MeanStd(tr)
	c.Gap, c.GapStd = stats.MeanStd(gaps)
	return c
}

// setTarget fills the to-target fields of c and of its seeds' runs.
func setTarget(c *Card, recs []sweep.Record, target float64, level float64) {
	c.Target = target
	if math.IsNaN(c.BestLR) || !(target > 0) {
		return
	}
	bySeed := map[int64]*optlab.History{}
	for _, r := range recs {
		if r.Trial.LR() == c.BestLR {
			bySeed[r.Trial.Seed] = r.Hist
		}
	}
	var eps, steps []float64
	for i := range c.Seeds {
		run := &c.Seeds[i]
		h := bySeed[run.Seed]
		if h == nil {
			continue
		}
		step, ok := firstCrossing(h, target)
		switch {
		case ok:
			run.Steps = float64(step)
			if per := stepsPerEpoch(h); per > 0 {
				run.Epochs = float64(step) / float64(per)
			}
			eps = append(eps, run.Epochs)
			steps = append(steps, run.Steps)
		case !run.Diverged:
			c.NotReached++
		}
	}
	c.Reached = len(steps)
	if len(steps) > 0 {
		c.EpochsToTarget, _ = stats.MeanStd(eps)
		c.StepsToTarget, c.StepsCI = stats.MeanCI(steps, level)
	}
}

// firstCrossing returns the optimizer step of h's first evaluation whose
// validation accuracy reached target: among its evaluations within epochs
// (History.Evals) when it has them, else at its epochs' ends.
func firstCrossing(h *optlab.History, target float64) (int, bool) {
	if len(h.Evals) > 0 {
		for _, e := range h.Evals {
			if e.ValAccuracy >= target {
				return e.Step, true
			}
		}
		return 0, false
	}
	for _, e := range h.Epochs {
		if e.ValAccuracy >= target {
			return e.Steps, true
		}
	}
	return 0, false
}

// stepsPerEpoch is the number of optimizer steps of h's epochs (0 when it
// finished none).
func stepsPerEpoch(h *optlab.History) int {
	if len(h.Epochs) == 0 {
		return 0
	}
	return h.Epochs[0].Steps
}

// stepSeconds is a run's mean time per training step, leaving out the first
// step, which includes compiling the graph (NaN when unknown).
func stepSeconds(h *optlab.History) float64 {
	var total float64
	for _, e := range h.Epochs {
		total += e.Seconds
	}
	steps := h.Last().Steps
	if steps == 0 {
		return math.NaN()
	}
	share := float64(max(1, h.Members)) // a population's step trains every member
	if steps > 1 && total > h.CompileSeconds {
		return (total - h.CompileSeconds) / float64(steps-1) / share
	}
	return total / float64(steps) / share
}

func minMax(xs []float64) (lo, hi float64) {
	if len(xs) == 0 {
		return math.NaN(), math.NaN()
	}
	lo, hi = xs[0], xs[0]
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	return lo, hi
}

// varies reports which setting columns differ between cards.
func (r *Report) varies() (model, batch, epochs, data bool) {
	for _, c := range r.Cards[min(1, len(r.Cards)):] {
		f := r.Cards[0]
		model = model || c.Model != f.Model
		batch = batch || c.BatchSize != f.BatchSize
		epochs = epochs || c.Epochs != f.Epochs
		data = data || c.Split != f.Split || c.Limit != f.Limit || c.FullEval != f.FullEval || c.EvalEvery != f.EvalEvery
	}
	return
}

// setting names a card's setting for figure legends when several exist.
func (r *Report) setting(c Card) string {
	m, b, e, d := r.varies()
	var parts []string
	if m {
		parts = append(parts, c.Model)
	}
	if b {
		parts = append(parts, fmt.Sprintf("batch %d", c.BatchSize))
	}
	if e {
		parts = append(parts, fmt.Sprintf("%d epochs", c.Epochs))
	}
	if d {
		parts = append(parts, r.dataName(c))
	}
	return strings.Join(parts, ", ")
}

// Name returns the card's label for figures: the optimizer label, plus the
// setting when the report has several.
func (r *Report) name(c Card) string {
	if s := r.setting(c); s != "" {
		return c.Optimizer + " [" + s + "]"
	}
	return c.Optimizer
}

func fmtAcc(m, s float64, n int) string {
	if math.IsNaN(m) {
		return "-"
	}
	if n > 1 {
		return fmt.Sprintf("%.4f ± %.4f", m, s)
	}
	return fmt.Sprintf("%.4f", m)
}

func fmtLR(lr float64) string {
	if math.IsNaN(lr) {
		return "-"
	}
	return fmt.Sprintf("%g", lr)
}

func fmtStep(s float64) string {
	switch {
	case math.IsNaN(s):
		return "-"
	case s >= 1:
		return fmt.Sprintf("%.2f s", s)
	case s >= 1e-3:
		return fmt.Sprintf("%.2f ms", s*1e3)
	default:
		return fmt.Sprintf("%.1f µs", s*1e6)
	}
}

// Table returns the report card: one row per optimizer (and setting).
func (r *Report) Table() *plots.Table {
	m, b, e, d := r.varies()
	var header []string
	if m {
		header = append(header, "model")
	}
	if b {
		header = append(header, "batch")
	}
	if e {
		header = append(header, "epochs")
	}
	if d {
		header = append(header, "data")
	}
	lvl := levelPct(r.Options.Level)
	header = append(header, "optimizer", "best lr", "seeds", "test accuracy ("+lvl+" CI)", "vs leader (paired)", "train−test gap",
		fmt.Sprintf("steps to %.1f%% val (reached)", 100*r.Options.Target), "good lrs (within tol.)", "grid spread", "state", "time/step")
	t := &plots.Table{Title: "Optimizer report card", Header: header}
	leader, hasLeader := r.Leader()
	for _, c := range r.Cards {
		var row []any
		if m {
			row = append(row, c.Model)
		}
		if b {
			row = append(row, c.BatchSize)
		}
		if e {
			row = append(row, c.Epochs)
		}
		if d {
			row = append(row, r.dataName(c))
		}
		ok := c.Best.Runs - c.Best.Diverged
		seeds := fmt.Sprint(c.Best.Runs)
		if c.Best.Diverged > 0 {
			seeds += fmt.Sprintf(" (%d div.)", c.Best.Diverged)
		}
		acc := "-"
		switch {
		case ok > 1 && !math.IsNaN(c.Best.TestAccCI):
			acc = fmt.Sprintf("%.2f ± %.2f%%", 100*c.Best.TestAccMean, 100*c.Best.TestAccCI)
		case ok == 1:
			acc = fmt.Sprintf("%.2f%%", 100*c.Best.TestAccMean)
		}
		vs := "-"
		if hasLeader && r.name(c) == r.name(leader) {
			vs = "leader"
		} else if hasLeader {
			if dd := r.Paired(c, leader, TestAccuracy); dd.N >= 2 {
				vs = fmt.Sprintf("%+.2f ± %.2f pp", 100*dd.Mean, 100*(dd.Hi-dd.Mean))
			}
		}
		toTarget := fmt.Sprintf("not reached (0/%d)", c.Reached+c.NotReached)
		if c.Reached > 0 {
			toTarget = fmt.Sprintf("%.0f", c.StepsToTarget)
			if !math.IsNaN(c.StepsCI) {
				toTarget += fmt.Sprintf(" ± %.0f", c.StepsCI)
			}
			toTarget += fmt.Sprintf(" (%d/%d)", c.Reached, c.Reached+c.NotReached)
		}
		good := "-"
		if c.GoodLRs > 0 {
			good = fmt.Sprintf("%d/%d", c.GoodLRs, len(c.Grid))
			if c.GoodLRs > 1 {
				good += fmt.Sprintf(" (%s–%s)", fmtLR(c.GoodLo), fmtLR(c.GoodHi))
			}
			if c.GoodAtEdge && len(c.Grid) > 1 {
				good += " edge"
			}
		}
		spread := "-"
		if !math.IsNaN(c.Spread) && len(c.Grid) > 1 {
			spread = fmt.Sprintf("%.4f", c.Spread)
		}
		gap := "-"
		if !math.IsNaN(c.Gap) {
			gap = fmt.Sprintf("%+.4f", c.Gap)
		}
		row = append(row, c.Optimizer, fmtLR(c.BestLR), seeds, acc, vs, gap, toTarget, good, spread,
			humanize.IBytes(uint64(c.StateBytes)), fmtStep(c.StepSeconds))
		_ = t.AddRow(row...)
	}
	how := "at epoch ends"
	if e := r.evalEvery(); e > 0 {
		how = fmt.Sprintf("every %d steps", e)
	}
	note := fmt.Sprintf("best lr: highest mean final validation accuracy over seeds (rates where a seed diverged only if all did); "+
		"test accuracy at the best lr: mean ± half-width of the %s confidence interval (Student t) over seeds; "+
		"vs leader: test accuracy minus the leader's (highest validation accuracy), paired by seed, with its %s CI; "+
		"steps to target: first evaluation (%s) at or above the target, mean ± CI over the runs that reached it, and how many did; "+
		"good lrs: rates within %.1f pp of the best (edge: the window touches the grid's end); grid spread: best minus worst mean validation accuracy; "+
		"state: optimizer buffers in float32; time/step: median over all runs, compile step excluded (a population's step divided by its members).",
		lvl, lvl, how, 100*r.Options.Tolerance)
	if r.ValIsTest {
		note += " Validation used the test split here, so the best lr was picked on test data: use the holdout5k split for an unbiased choice."
	}
	t.Note = note
	return t
}

// dataName names a card's data for tables: split and training limit, with
// "full eval" when the evaluation splits were kept whole.
func (r *Report) dataName(c Card) string {
	s := fmt.Sprintf("%s/%d", c.Split, c.Limit)
	if c.FullEval {
		s += " full eval"
	}
	return s
}

// LRTable returns the mean final validation accuracy (± spread over seeds)
// of every optimizer at every learning rate of the grid.
func (r *Report) LRTable() *plots.Table {
	var lrs []float64
	seen := map[float64]bool{}
	for _, c := range r.Cards {
		for _, p := range c.Grid {
			if !seen[p.LR] {
				seen[p.LR] = true
				lrs = append(lrs, p.LR)
			}
		}
	}
	sort.Float64s(lrs)
	header := []string{"optimizer"}
	for _, lr := range lrs {
		header = append(header, "lr "+fmtLR(lr))
	}
	t := &plots.Table{Title: "Final validation accuracy across the learning-rate grid", Header: header,
		Note: "mean ± sample std over seeds; div: every seed diverged; (k div.): k seeds diverged; best rate marked *"}
	for _, c := range r.Cards {
		row := []any{r.name(c)}
		for _, lr := range lrs {
			cell := ""
			for _, p := range c.Grid {
				if p.LR != lr {
					continue
				}
				ok := p.Runs - p.Diverged
				switch {
				case ok == 0:
					cell = "div"
				default:
					cell = fmtAcc(p.ValAccMean, p.ValAccStd, ok)
					if p.Diverged > 0 {
						cell += fmt.Sprintf(" (%d div.)", p.Diverged)
					}
				}
				if lr == c.BestLR {
					cell += " *"
				}
			}
			row = append(row, cell)
		}
		_ = t.AddRow(row...)
	}
	return t
}

// LRFigure draws final validation accuracy against learning rate (log axis),
// one line per optimizer with a min–max band over seeds; a rate where every
// seed diverged breaks the line and is marked.
func (r *Report) LRFigure() (*plots.Figure, error) {
	var ss []plots.Series
	lrs := map[float64]bool{}
	for _, c := range r.Cards {
		s := plots.Series{Name: r.name(c)}
		for _, p := range c.Grid {
			if !(p.LR > 0) {
				continue
			}
			s.X = append(s.X, p.LR)
			if !math.IsNaN(p.ValAccMean) {
				lrs[p.LR] = true
			}
			s.Y = append(s.Y, p.ValAccMean)
			s.Lo = append(s.Lo, p.ValAccMin)
			s.Hi = append(s.Hi, p.ValAccMax)
		}
		if len(s.X) > 0 {
			ss = append(ss, s)
		}
	}
	if len(ss) == 0 {
		return nil, fmt.Errorf("report: no learning rates to draw")
	}
	ylabel := "final validation accuracy"
	if r.ValIsTest {
		ylabel += " (test split)"
	}
	// A log axis needs a range: with a single drawable rate it stays linear.
	return plots.Lines(plots.Axes{Title: "Learning-rate sensitivity", XLabel: "learning rate", YLabel: ylabel,
		LogX: len(lrs) > 1, Markers: true}, ss...)
}

// BarsFigure draws two bar charts side by side: optimizer state memory and
// time per step, quantities whose ratios to zero matter (accuracy and speed
// to a target are drawn as intervals: AccuracyFigure, StepsFigure).
func (r *Report) BarsFigure() (*plots.Figure, error) {
	if len(r.Cards) == 0 {
		return nil, fmt.Errorf("report: no results")
	}
	var cats []string
	var mem, step []float64
	for _, c := range r.Cards {
		cats = append(cats, r.name(c))
		mem = append(mem, float64(c.StateBytes))
		s := c.StepSeconds * 1e3
		if math.IsNaN(s) || math.IsInf(s, 0) {
			s = 0
		}
		step = append(step, s)
	}
	charts := []plots.BarChart{
		{Title: "Optimizer state", ValueLabel: "bytes (float32 buffers)", Categories: cats,
			Groups: []plots.BarGroup{{Name: "state", Values: mem}}, Format: plots.FormatBytes},
		{Title: "Time per training step", ValueLabel: "milliseconds (median; 0: unknown)", Categories: cats,
			Groups: []plots.BarGroup{{Name: "ms/step", Values: step}}, Format: func(v float64) string { return fmt.Sprintf("%.3g ms", v) }},
	}
	var figs []*plots.Figure
	for _, b := range charts {
		f, err := plots.Bars(b)
		if err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	return plots.Panels(2, figs...)
}

// Highlights states what the numbers say, one finding per line: the most
// accurate optimizer, the fastest to the target, the least sensitive to the
// learning rate, the smallest state and the fastest step.
func (r *Report) Highlights() []string {
	if len(r.Cards) == 0 {
		return nil
	}
	pick := func(better func(a, b Card) bool, valid func(c Card) bool) (Card, bool) {
		var best Card
		found := false
		for _, c := range r.Cards {
			if valid(c) && (!found || better(c, best)) {
				best, found = c, true
			}
		}
		return best, found
	}
	var out []string
	if c, ok := r.Leader(); ok {
		acc := fmtAcc(c.Best.TestAccMean, c.Best.TestAccStd, 1)
		if !math.IsNaN(c.Best.TestAccCI) {
			acc = fmt.Sprintf("%.2f ± %.2f%% (%s CI)", 100*c.Best.TestAccMean, 100*c.Best.TestAccCI, levelPct(r.Options.Level))
		}
		line := fmt.Sprintf("Highest validation accuracy (the sweep's choice): %s at lr %s, test accuracy %s over %d seeds.", r.name(c), fmtLR(c.BestLR),
			acc, c.Best.Runs-c.Best.Diverged)
		// Which others does a paired comparison of test accuracy not separate from it?
		var tied []string
		for _, o := range r.Cards {
			if r.name(o) == r.name(c) {
				continue
			}
			if d := r.Paired(o, c, TestAccuracy); d.N >= 2 && !d.Resolved() {
				tied = append(tied, r.name(o))
			}
		}
		if len(tied) > 0 {
			line += fmt.Sprintf(" Not separated from it in test accuracy (paired by seed, %s CI holds 0): %s.", levelPct(r.Options.Level), strings.Join(tied, ", "))
		}
		out = append(out, line)
	}
	if c, ok := pick(func(a, b Card) bool { return a.StepsToTarget < b.StepsToTarget },
		func(c Card) bool { return c.Reached > 0 }); ok {
		out = append(out, fmt.Sprintf("Fastest to %.3f validation accuracy: %s, in %.0f steps (%.2f epochs) on average over the %d of %d runs that reached it.",
			r.Options.Target, r.name(c), c.StepsToTarget, c.EpochsToTarget, c.Reached, c.Reached+c.NotReached))
	}
	if c, ok := pick(func(a, b Card) bool {
		return a.GoodLRs > b.GoodLRs || (a.GoodLRs == b.GoodLRs && a.Spread < b.Spread)
	}, func(c Card) bool { return len(c.Grid) > 1 && c.GoodLRs > 0 }); ok {
		out = append(out, fmt.Sprintf("Least sensitive to the learning rate: %s, %d of %d rates within %.1f pp of its best (grid spread %.4f).",
			r.name(c), c.GoodLRs, len(c.Grid), 100*r.Options.Tolerance, c.Spread))
	}
	if c, ok := pick(func(a, b Card) bool { return a.StateBytes < b.StateBytes }, func(Card) bool { return true }); ok {
		hi, _ := pick(func(a, b Card) bool { return a.StateBytes > b.StateBytes }, func(Card) bool { return true })
		out = append(out, fmt.Sprintf("Smallest optimizer state: %s (%s); largest: %s (%s).",
			r.name(c), humanize.IBytes(uint64(c.StateBytes)), r.name(hi), humanize.IBytes(uint64(hi.StateBytes))))
	}
	if c, ok := pick(func(a, b Card) bool { return a.StepSeconds < b.StepSeconds },
		func(c Card) bool { return !math.IsNaN(c.StepSeconds) }); ok {
		slow, _ := pick(func(a, b Card) bool { return a.StepSeconds > b.StepSeconds },
			func(c Card) bool { return !math.IsNaN(c.StepSeconds) })
		out = append(out, fmt.Sprintf("Fastest step: %s (%s); slowest: %s (%s).",
			r.name(c), fmtStep(c.StepSeconds), r.name(slow), fmtStep(slow.StepSeconds)))
	}
	return out
}

// Markdown renders the report as a Markdown document: the card, the
// learning-rate table, the highlights and links to the figures (figs maps a
// caption to a relative path; nil for none).
func (r *Report) Markdown(figs [][2]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Optimizer report card\n\n%d trials.\n\n", r.Trials)
	b.WriteString(r.Table().Markdown())
	b.WriteString("\n")
	if hs := r.Highlights(); len(hs) > 0 {
		b.WriteString("## What the numbers say\n\n")
		for _, h := range hs {
			b.WriteString("- " + h + "\n")
		}
		b.WriteString("\n")
	}
	b.WriteString("## Learning-rate sensitivity\n\n")
	b.WriteString(r.LRTable().Markdown())
	b.WriteString("\n")
	for _, f := range figs {
		fmt.Fprintf(&b, "![%s](%s)\n\n", f[0], f[1])
	}
	return b.String()
}

// Save writes report.md, lr.png, accuracy.png and steps.png (learning-rate
// sensitivity, test accuracy and steps to the target; left out when every
// run diverged) and bars.png (state and step time) into dir and returns their
// paths, report.md first.
func (r *Report) Save(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	var paths [][2]string
	var files []string
	if r.anyTrained() {
		lr, err := r.LRFigure()
		if err != nil {
			return nil, err
		}
		if err := lr.Save(filepath.Join(dir, "lr.png")); err != nil {
			return nil, err
		}
		paths = append(paths, [2]string{"learning-rate sensitivity", "lr.png"})
		files = append(files, filepath.Join(dir, "lr.png"))
	}
	type fig struct {
		make          func() (*plots.Figure, error)
		file, caption string
	}
	figs := []fig{{r.BarsFigure, "bars.png", "optimizer state and time per step"}}
	if r.anyTrained() {
		figs = append([]fig{{r.AccuracyFigure, "accuracy.png", "test accuracy at the best learning rate"},
			{r.StepsFigure, "steps.png", "steps to the target validation accuracy"}}, figs...)
	}
	for _, f := range figs {
		fg, err := f.make()
		if err != nil {
			return nil, err
		}
		if err := fg.Save(filepath.Join(dir, f.file)); err != nil {
			return nil, err
		}
		paths = append(paths, [2]string{f.caption, f.file})
		files = append(files, filepath.Join(dir, f.file))
	}
	md := filepath.Join(dir, "report.md")
	if err := os.WriteFile(md, []byte(r.Markdown(paths)), 0o644); err != nil {
		return nil, fmt.Errorf("report: %w", err)
	}
	return append([]string{md}, files...), nil
}

// anyTrained reports whether some learning rate of some optimizer has a run
// that did not diverge (otherwise there is no sensitivity curve to draw).
func (r *Report) anyTrained() bool {
	for _, c := range r.Cards {
		for _, p := range c.Grid {
			if !math.IsNaN(p.ValAccMean) {
				return true
			}
		}
	}
	return false
}

// Display shows the report in a GoNB notebook: the card and the
// learning-rate table as HTML, the highlights, and the figures.
func (r *Report) Display() error {
	if err := r.Table().Display(); err != nil {
		return err
	}
	if hs := r.Highlights(); len(hs) > 0 {
		var b strings.Builder
		b.WriteString("<ul>")
		for _, h := range hs {
			b.WriteString("<li>" + html.EscapeString(h) + "</li>")
		}
		b.WriteString("</ul>")
		gonbui.DisplayHTML(b.String())
	}
	if err := r.LRTable().Display(); err != nil {
		return err
	}
	figs := []func() (*plots.Figure, error){r.BarsFigure}
	if r.anyTrained() {
		figs = append([]func() (*plots.Figure, error){r.LRFigure, r.AccuracyFigure, r.StepsFigure}, figs...)
	}
	for _, mk := range figs {
		f, err := mk()
		if err != nil {
			return err
		}
		if err := f.Display(); err != nil {
			return err
		}
	}
	return nil
}
