package optlab

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"

	"optlab.dev/internal/stats"
	"optlab.dev/optlab/plots"
)

// ReportOptions tunes BuildReport.
type ReportOptions struct {
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
	// Optimizer is the family's short label (SpecLabel); Family its canonical
	// spec without the learning rate.
	Optimizer, Family string
	// Grid holds one point per learning rate tried, by increasing rate.
	Grid []LRPoint
	// BestLR is the rate with the highest mean final validation accuracy among
	// the rates where no seed diverged (among all rates if every one had a
	// divergence); Best is its point.
	BestLR float64
	Best   LRPoint
	// Target is the validation accuracy used for EpochsToTarget.
	Target float64
	// Reached counts the runs at the best rate whose validation accuracy
	// reached Target at the end of some epoch; EpochsToTarget and
	// StepsToTarget are the mean first epoch (and its optimizer step count)
	// over those runs, NaN when none did.
	Reached                       int
	EpochsToTarget, StepsToTarget float64
	// TrainAcc is the mean final training accuracy at the best rate (averaged
	// over the last epoch's mini-batches, as Keras reports it); Gap and GapStd
	// are the mean and spread of training minus test accuracy.
	TrainAcc, Gap, GapStd float64
	// GoodLRs counts the rates whose mean validation accuracy is within the
	// tolerance of the best (no seed diverged); GoodLo and GoodHi are the
	// smallest and largest of them. Spread is the best minus the worst mean
	// validation accuracy over the grid (diverged rates excluded).
	GoodLRs        int
	GoodLo, GoodHi float64
	Spread         float64
	// StateBytes is the optimizer state (per-parameter buffers, float32) and
	// Params the model's trainable scalars.
	StateBytes int64
	Params     int64
	// StepSeconds is the median time per training step over all the family's
	// finished runs, with the first (compiling) step left out.
	StepSeconds float64
	// Backends lists the backends the runs used.
	Backends []string
}

// Report is the optimizer report card of a set of sweep records.
type Report struct {
	Options ReportOptions
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
	split, nonFinite, family string
}

func (k cardKey) less(o cardKey) bool {
	a := fmt.Sprintf("%s\x00%08d\x00%08d\x00%s\x00%08d\x00%s\x00%s", k.model, k.batch, k.epochs, k.split, k.limit, k.nonFinite, k.family)
	b := fmt.Sprintf("%s\x00%08d\x00%08d\x00%s\x00%08d\x00%s\x00%s", o.model, o.batch, o.epochs, o.split, o.limit, o.nonFinite, o.family)
	return a < b
}

// BuildReport summarises records into one Card per optimizer family and
// setting. The result depends only on the set of records, not on their order,
// so merged stores report exactly as one store holding the same trials.
func BuildReport(recs []Record, opts ReportOptions) *Report {
	if opts.Tolerance <= 0 {
		opts.Tolerance = 0.01
	}
	// A canonical order: by trial ID (records of one trial are deduplicated).
	sorted := append([]Record(nil), recs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].ID < sorted[j].ID })
	groups := map[cardKey][]Record{}
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
		k := cardKey{t.Model, t.BatchSize, t.Epochs, t.Limit, t.Split, t.NonFinite, SpecFamily(t.Optimizer)}
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
		setTarget(&rep.Cards[i], groups[keys[i]], target)
	}
	return rep
}

func finished(h *History) bool { return h.Err == "" }

func buildCard(k cardKey, recs []Record, opts ReportOptions) Card {
	c := Card{Model: k.model, BatchSize: k.batch, Epochs: k.epochs, Split: k.split, Limit: k.limit,
		Family: k.family, Optimizer: SpecLabel(recs[0].Trial.Optimizer),
		BestLR: math.NaN(), EpochsToTarget: math.NaN(), StepsToTarget: math.NaN(),
		TrainAcc: math.NaN(), Gap: math.NaN(), GoodLo: math.NaN(), GoodHi: math.NaN(), Spread: math.NaN()}
	byLR := map[float64][]Record{}
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
		p.ValAccMean, p.ValAccStd = MeanStd(va)
		p.TestAccMean, p.TestAccStd = MeanStd(ta)
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
	var tr, gaps []float64
	for _, r := range byLR[c.BestLR] {
		if finished(r.Hist) {
			tr = append(tr, r.Hist.Last().Accuracy)
			gaps = append(gaps, r.Hist.Last().Accuracy-r.Hist.TestAccuracy)
		}
	}
	c.TrainAcc, _ = MeanStd(tr)
	c.Gap, c.GapStd = MeanStd(gaps)
	return c
}

// setTarget fills the epochs-to-target fields of c.
func setTarget(c *Card, recs []Record, target float64) {
	c.Target = target
	if math.IsNaN(c.BestLR) || !(target > 0) {
		return
	}
	var eps, steps []float64
	for _, r := range recs {
		if r.Trial.LR() != c.BestLR {
			continue
		}
		for _, e := range r.Hist.Epochs {
			if e.ValAccuracy >= target {
				eps = append(eps, float64(e.Epoch))
				steps = append(steps, float64(e.Steps))
				break
			}
		}
	}
	c.Reached = len(eps)
	if len(eps) > 0 {
		c.EpochsToTarget, _ = MeanStd(eps)
		c.StepsToTarget, _ = MeanStd(steps)
	}
}

// stepSeconds is a run's mean time per training step, leaving out the first
// step, which includes compiling the graph (NaN when unknown).
func stepSeconds(h *History) float64 {
	var total float64
	for _, e := range h.Epochs {
		total += e.Seconds
	}
	steps := h.Last().Steps
	if steps == 0 {
		return math.NaN()
	}
	if steps > 1 && total > h.CompileSeconds {
		return (total - h.CompileSeconds) / float64(steps-1)
	}
	return total / float64(steps)
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
		data = data || c.Split != f.Split || c.Limit != f.Limit
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
		parts = append(parts, fmt.Sprintf("%s/%d", c.Split, c.Limit))
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
	header = append(header, "optimizer", "best lr", "seeds", "test accuracy", "train−test gap",
		fmt.Sprintf("epochs to %.3f val (steps)", r.Options.Target), "good lrs (within tol.)", "grid spread", "state", "time/step")
	t := &plots.Table{Title: "Optimizer report card", Header: header}
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
			row = append(row, fmt.Sprintf("%s/%d", c.Split, c.Limit))
		}
		ok := c.Best.Runs - c.Best.Diverged
		seeds := fmt.Sprint(c.Best.Runs)
		if c.Best.Diverged > 0 {
			seeds += fmt.Sprintf(" (%d div.)", c.Best.Diverged)
		}
		toTarget := "not reached"
		if c.Reached > 0 {
			toTarget = fmt.Sprintf("%.1f (%.0f)", c.EpochsToTarget, c.StepsToTarget)
			if c.Reached < ok {
				toTarget += fmt.Sprintf(" [%d/%d runs]", c.Reached, ok)
			}
		}
		good := "-"
		if c.GoodLRs > 0 {
			good = fmt.Sprintf("%d/%d", c.GoodLRs, len(c.Grid))
			if c.GoodLRs > 1 {
				good += fmt.Sprintf(" (%s–%s)", fmtLR(c.GoodLo), fmtLR(c.GoodHi))
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
		row = append(row, c.Optimizer, fmtLR(c.BestLR), seeds, fmtAcc(c.Best.TestAccMean, c.Best.TestAccStd, ok),
			gap, toTarget, good, spread, FormatBytes(c.StateBytes), fmtStep(c.StepSeconds))
		_ = t.AddRow(row...)
	}
	note := fmt.Sprintf("best lr: highest mean final validation accuracy over seeds (rates where a seed diverged only if all did); "+
		"test accuracy and gap at the best lr, mean ± sample std over seeds; epochs to target measured at epoch ends; "+
		"good lrs: rates within %.1f pp of the best; grid spread: best minus worst mean validation accuracy; "+
		"state: optimizer buffers in float32; time/step: median over all runs, compile step excluded.",
		100*r.Options.Tolerance)
	if r.ValIsTest {
		note += " Validation used the test split here, so the best lr was picked on test data: use the holdout5k split for an unbiased choice."
	}
	t.Note = note
	return t
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

// BarsFigure draws four bar charts side by side: test accuracy at the best
// rate, epochs to the target, optimizer state memory and time per step.
func (r *Report) BarsFigure() (*plots.Figure, error) {
	if len(r.Cards) == 0 {
		return nil, fmt.Errorf("report: no results")
	}
	var cats []string
	var acc, ep, mem, step []float64
	z := func(x float64) float64 {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return 0
		}
		return x
	}
	for _, c := range r.Cards {
		cats = append(cats, r.name(c))
		acc = append(acc, z(c.Best.TestAccMean))
		ep = append(ep, z(c.EpochsToTarget))
		mem = append(mem, float64(c.StateBytes))
		step = append(step, z(c.StepSeconds)*1e3)
	}
	charts := []plots.BarChart{
		{Title: "Test accuracy at the best lr", ValueLabel: "mean test accuracy over seeds", Categories: cats,
			Groups: []plots.BarGroup{{Name: "test accuracy", Values: acc}}, Format: func(v float64) string { return fmt.Sprintf("%.4f", v) }},
		{Title: fmt.Sprintf("Epochs to %.3f validation accuracy", r.Options.Target), ValueLabel: "epochs (0: not reached)", Categories: cats,
			Groups: []plots.BarGroup{{Name: "epochs", Values: ep}}, Format: func(v float64) string { return fmt.Sprintf("%.1f", v) }},
		{Title: "Optimizer state", ValueLabel: "bytes (float32 buffers)", Categories: cats,
			Groups: []plots.BarGroup{{Name: "state", Values: mem}}, Format: plots.FormatBytes},
		{Title: "Time per training step", ValueLabel: "milliseconds (median)", Categories: cats,
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
	return plots.Grid(2, figs...)
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
	if c, ok := pick(func(a, b Card) bool { return a.Best.TestAccMean > b.Best.TestAccMean },
		func(c Card) bool { return !math.IsNaN(c.Best.TestAccMean) }); ok {
		line := fmt.Sprintf("Highest test accuracy: %s at lr %s, %s over %d seeds.", r.name(c), fmtLR(c.BestLR),
			fmtAcc(c.Best.TestAccMean, c.Best.TestAccStd, c.Best.Runs-c.Best.Diverged), c.Best.Runs-c.Best.Diverged)
		// How many others are within the seed-to-seed spread?
		var close []string
		for _, o := range r.Cards {
			if r.name(o) == r.name(c) {
				continue
			}
			if !math.IsNaN(o.Best.TestAccMean) && c.Best.TestAccMean-o.Best.TestAccMean <= math.Max(c.Best.TestAccStd, o.Best.TestAccStd) {
				close = append(close, r.name(o))
			}
		}
		if len(close) > 0 {
			line += fmt.Sprintf(" Within one standard deviation of it: %s.", strings.Join(close, ", "))
		}
		out = append(out, line)
	}
	if c, ok := pick(func(a, b Card) bool { return a.StepsToTarget < b.StepsToTarget },
		func(c Card) bool { return c.Reached > 0 }); ok {
		out = append(out, fmt.Sprintf("Fastest to %.3f validation accuracy: %s, in %.1f epochs (%.0f steps) on average.",
			r.Options.Target, r.name(c), c.EpochsToTarget, c.StepsToTarget))
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
			r.name(c), FormatBytes(c.StateBytes), r.name(hi), FormatBytes(hi.StateBytes)))
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

// Save writes report.md, lr.png (learning-rate sensitivity; left out when
// every run diverged) and bars.png into dir and returns their paths, report.md
// first.
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
	bars, err := r.BarsFigure()
	if err != nil {
		return nil, err
	}
	if err := bars.Save(filepath.Join(dir, "bars.png")); err != nil {
		return nil, err
	}
	paths = append(paths, [2]string{"accuracy, speed, memory and step time", "bars.png"})
	files = append(files, filepath.Join(dir, "bars.png"))
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
// learning-rate table as HTML, the highlights, and both figures.
func (r *Report) Display() error {
	if err := r.Table().Display(); err != nil {
		return err
	}
	if hs := r.Highlights(); len(hs) > 0 {
		var b strings.Builder
		b.WriteString("<ul>")
		for _, h := range hs {
			b.WriteString("<li>" + htmlEscape(h) + "</li>")
		}
		b.WriteString("</ul>")
		gonbui.DisplayHTML(b.String())
	}
	if err := r.LRTable().Display(); err != nil {
		return err
	}
	figs := []func() (*plots.Figure, error){r.BarsFigure}
	if r.anyTrained() {
		figs = append([]func() (*plots.Figure, error){r.LRFigure}, figs...)
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

func htmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
