package benchmark

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"optlab.dev/internal/atomicfile"
	"optlab.dev/optlab/plots"
)

// ScoreTable is the headline table: each submission's benchmark score (best
// first), the range of its per-study scores, the number of workloads on which
// it reached the target, and its time to target on each workload (the median
// over studies).
func (sc *Score) ScoreTable() *plots.Table {
	header := []string{"optimizer", "score", "per-study range", "reached"}
	for _, w := range sc.Workloads {
		header = append(header, w)
	}
	t := plots.NewTable(fmt.Sprintf("Benchmark score (%s tuning, time to target in %s; AlgoPerf's B = ∫₁⁴ρ(τ)dτ/3)", sc.Ruleset, sc.Measure), header...)
	for _, s := range sc.order() {
		lo, hi := sc.ScoreRange(s)
		row := []any{sc.Submissions[s], fmt.Sprintf("%.3f", sc.Scores[s]), fmt.Sprintf("%.3f–%.3f", lo, hi), fmt.Sprintf("%d/%d", sc.reached(s), len(sc.Workloads))}
		for w := range sc.Workloads {
			row = append(row, formatTime(sc.Times[s][w], sc.Measure))
		}
		_ = t.AddRow(row...)
	}
	t.Note = fmt.Sprintf("%d studies of %d trial(s) each; a workload's time is the median over studies of each study's fastest trial to reach the target (∞: not reached).", sc.Studies, sc.Budget)
	return t
}

// RatioTable shows the performance ratios r = t / t_best per workload.
func (sc *Score) RatioTable() *plots.Table {
	header := []string{"optimizer"}
	header = append(header, sc.Workloads...)
	t := plots.NewTable("Performance ratios (time to target / fastest optimizer's)", header...)
	for _, s := range sc.order() {
		row := []any{sc.Submissions[s]}
		for w := range sc.Workloads {
			r := sc.Ratios[s][w]
			if math.IsInf(r, 1) {
				row = append(row, "∞")
			} else {
				row = append(row, fmt.Sprintf("%.2f", r))
			}
		}
		_ = t.AddRow(row...)
	}
	t.Note = fmt.Sprintf("Ratios above %g earn nothing in the score.", RMax)
	return t
}

// WorkloadTable lists, per workload and submission, the studies that reached
// the target and the fastest study's configuration.
func (sc *Score) WorkloadTable() *plots.Table {
	t := plots.NewTable("Fastest trials", "workload", "target", "optimizer", "studies reached", "time", "fastest configuration")
	for w, wname := range sc.Workloads {
		target := ""
		if wl, err := GetWorkload(wname); err == nil {
			target = fmt.Sprintf("%s %s %g", wl.Metric, map[bool]string{true: "≤", false: "≥"}[wl.Metric == ValLoss], wl.Target)
		}
		for _, s := range sc.order() {
			c := sc.Cells[s][w]
			cfg := "—"
			if f := c.fastestOverall(sc.Measure); f != nil {
				cfg = f.Trial.Optimizer.String()
			}
			_ = t.AddRow(wname, target, sc.Submissions[s], fmt.Sprintf("%d/%d", c.Reached(), len(c.StudyTimes)), formatTime(c.Time, sc.Measure), cfg)
		}
	}
	return t
}

// fastestOverall is the fastest trial of any study.
func (c *Cell) fastestOverall(m Measure) *Outcome {
	var best *Outcome
	for _, f := range c.Fastest {
		if f != nil && (best == nil || f.Time(m) < best.Time(m)) {
			best = f
		}
	}
	return best
}

// order returns submission indices by descending score, then name.
func (sc *Score) order() []int {
	idx := make([]int, len(sc.Submissions))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return sc.Scores[idx[a]] > sc.Scores[idx[b]] })
	return idx
}

func (sc *Score) reached(s int) int {
	n := 0
	for _, t := range sc.Times[s] {
		if !math.IsInf(t, 1) {
			n++
		}
	}
	return n
}

// WriteScoresCSV writes one row per submission and workload: the score, the
// time to target, the ratio and the per-study times.
func (sc *Score) WriteScoresCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"ruleset", "measure", "optimizer", "score", "workload", "time", "ratio", "studies_reached"}
	for k := 0; k < sc.Studies; k++ {
		header = append(header, fmt.Sprintf("study%d_time", k))
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
	for s, sub := range sc.Submissions {
		for w, wname := range sc.Workloads {
			c := sc.Cells[s][w]
			row := []string{string(sc.Ruleset), string(sc.Measure), sub, f(sc.Scores[s]), wname, f(sc.Times[s][w]), f(sc.Ratios[s][w]), strconv.Itoa(c.Reached())}
			for _, t := range c.StudyTimes {
				row = append(row, f(t))
			}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteTrialsCSV writes one row per scored trial: where it belongs, its
// optimizer and learning rate, whether and when it reached the target, and
// the best metric it saw.
func (sc *Score) WriteTrialsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"workload", "optimizer", "study", "trial", "seed", "spec", "lr", "reached", "steps", "seconds", "best", "diverged"}); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
	for s := range sc.Submissions {
		for w := range sc.Workloads {
			for _, study := range sc.Cells[s][w].Trials {
				for _, o := range study {
					t := o.Trial
					if err := cw.Write([]string{t.Workload, t.Submission, strconv.Itoa(t.Study), strconv.Itoa(t.Index), strconv.FormatInt(t.Seed, 10),
						t.Optimizer.String(), f(t.Optimizer.LearningRate()), strconv.FormatBool(o.Reached), strconv.Itoa(o.Steps), f(o.Seconds),
						f(o.Best), strconv.FormatBool(o.Diverged)}); err != nil {
						return err
					}
				}
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// ProfileFigure draws the performance profiles ρ(τ), τ ∈ [1, r_max], one step
// curve per submission, with each submission's score in its legend.
func (sc *Score) ProfileFigure() (*plots.Figure, error) {
	var series []plots.Series
	for _, s := range sc.order() {
		x, y := profileSteps(sc.Ratios[s], RMax)
		series = append(series, plots.Series{Name: fmt.Sprintf("%s (B = %.3f)", sc.Submissions[s], sc.Scores[s]), X: x, Y: y, Group: sc.Submissions[s]})
	}
	return plots.Lines(plots.Axes{Groups: sc.Submissions, Title: fmt.Sprintf("Performance profiles (%s tuning, %d workloads, time in %s)", sc.Ruleset, len(sc.Workloads), sc.Measure),
		XLabel: "τ (time to target / fastest optimizer's)", YLabel: "ρ(τ): fraction of workloads within τ", YMin: -0.02, YMax: 1.02}, series...)
}

// profileSteps returns the corners of ρ's step function on [1, rmax].
func profileSteps(ratios []float64, rmax float64) (x, y []float64) {
	var rs []float64
	for _, r := range ratios {
		if r <= rmax {
			rs = append(rs, max(r, 1))
		}
	}
	sort.Float64s(rs)
	level := func(tau float64) float64 { return Profile(ratios, []float64{tau})[0] }
	x, y = []float64{1}, []float64{level(1)}
	for _, r := range rs {
		if r == 1 {
			continue
		}
		x = append(x, r, r)
		y = append(y, y[len(y)-1], level(r))
	}
	x, y = append(x, rmax), append(y, level(rmax))
	return x, y
}

// LRFigure draws, per workload, the best validation metric each trial reached
// against its learning rate, one colour per submission, with the target as a
// dashed line: the learning-rate sensitivity of each optimizer family
// (DeepOBS and Crowded Valley draw the same). The Y range is a window around
// the target and the bulk of the trials (lrWindow); worse values, diverged
// trials' among them, are drawn on its edge. Trials that stop at the target
// show at least the target; run the benchmark with Config.FullBudget to see
// how far each could go.
func (sc *Score) LRFigure() (*plots.Figure, error) {
	var panels []*plots.Figure
	for w, wname := range sc.Workloads {
		wl, err := GetWorkload(wname)
		if err != nil {
			return nil, err
		}
		type pt struct{ lr, v float64 }
		pts := map[int][]pt{}
		var all []float64
		minLR, maxLR := math.Inf(1), math.Inf(-1)
		for s := range sc.Submissions {
			for _, study := range sc.Cells[s][w].Trials {
				for _, o := range study {
					if lr := o.Trial.Optimizer.LearningRate(); lr > 0 && !math.IsNaN(o.Best) && !math.IsInf(o.Best, 0) {
						pts[s] = append(pts[s], pt{lr, o.Best})
						all = append(all, o.Best)
						minLR, maxLR = min(minLR, lr), max(maxLR, lr)
					}
				}
			}
		}
		if len(all) == 0 {
			continue
		}
		lo, hi := lrWindow(all, wl.Target, wl.Metric)
		var series []plots.Series
		for s, sub := range sc.Submissions {
			if len(pts[s]) == 0 {
				continue
			}
			sort.Slice(pts[s], func(i, j int) bool { return pts[s][i].lr < pts[s][j].lr })
			ser := plots.Series{Name: sub, Points: true}
			for _, p := range pts[s] {
				ser.X, ser.Y = append(ser.X, p.lr), append(ser.Y, min(max(p.v, lo), hi))
			}
			series = append(series, ser)
		}
		series = append(series, plots.Series{Name: "target", X: []float64{minLR, maxLR}, Y: []float64{wl.Target, wl.Target}, Dashed: true})
		f, err := plots.Lines(plots.Axes{Title: fmt.Sprintf("%s (target %g)", wname, wl.Target), XLabel: "learning rate",
			YLabel: "best " + string(wl.Metric) + " (worse: on the edge)", LogX: true, YMin: lo, YMax: hi,
			Groups: append(append([]string(nil), sc.Submissions...), "target"), HideLegend: w != len(sc.Workloads)-1 && len(sc.Workloads) > 1}, series...)
		if err != nil {
			return nil, err
		}
		panels = append(panels, f)
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("no trial has a learning rate and a finite metric to draw")
	}
	return plots.Panels(min(2, len(panels)), panels...)
}

// lrWindow returns the Y range of a learning-rate panel: from the best value
// (or the target, if better) to as far beyond the median as the median is
// from the best, on the worse side; a diverged trial's astronomical loss
// would otherwise flatten every other point.
func lrWindow(values []float64, target float64, m Metric) (lo, hi float64) {
	s := append([]float64(nil), values...)
	sort.Float64s(s)
	med := s[len(s)/2]
	if m == ValLoss {
		lo = min(s[0], target)
		hi = med + (med - lo)
	} else {
		hi = max(s[len(s)-1], target)
		lo = med - (hi - med)
	}
	if pad := 0.05 * (hi - lo); pad > 0 {
		return lo - pad, hi + pad
	}
	d := 0.01 * max(math.Abs(lo), 1e-12) // every value alike
	return lo - d, hi + d
}

// BudgetFigure draws, per workload, the median over studies of the best time
// to target among the first k trials against k: what more tuning buys each
// optimizer family (Crowded Valley's figure of performance against tuning
// budget, with AlgoPerf's time to target as the performance). The X axis runs
// over the whole budget and, with time in steps, the Y axis from 0 to the
// workload's step budget, so a curve that starts late or a single point still
// reads against the benchmark's size. A workload on which no median study
// reached the target has no panel; each panel has its own legend, since the
// panels hold different optimizers' curves.
func (sc *Score) BudgetFigure() (*plots.Figure, error) {
	if sc.Budget < 2 {
		return nil, fmt.Errorf("a budget curve needs at least 2 trials per study, the benchmark has %d", sc.Budget)
	}
	var panels []*plots.Figure
	for w, wname := range sc.Workloads {
		var series []plots.Series
		top := 0.0
		for s, sub := range sc.Submissions {
			curve := sc.Cells[s][w].BudgetCurve(sc.Measure)
			ser := plots.Series{Name: sub}
			for k, v := range curve {
				if !math.IsInf(v, 0) && !math.IsNaN(v) && v > 0 {
					ser.X, ser.Y = append(ser.X, float64(k+1)), append(ser.Y, v)
					top = max(top, v)
				}
			}
			if len(ser.X) > 0 {
				series = append(series, ser)
			}
		}
		if len(series) == 0 {
			continue
		}
		ax := plots.Axes{Title: wname, XLabel: "tuning budget (trials per study)", YLabel: "median time to target (" + string(sc.Measure) + ")",
			Markers: true, Groups: sc.Submissions, XMin: 1, XMax: float64(sc.Budget), YMin: 0, YMax: 1.05 * top}
		if wl, err := GetWorkload(wname); err == nil && sc.Measure == Steps {
			ax.YMax = float64(wl.Budget(sc.Ruleset))
		}
		f, err := plots.Lines(ax, series...)
		if err != nil {
			return nil, err
		}
		panels = append(panels, f)
	}
	if len(panels) == 0 {
		return nil, fmt.Errorf("no optimizer reached a target: no budget curve to draw")
	}
	return plots.Panels(min(2, len(panels)), panels...)
}

// Markdown returns the report as Markdown: the score table, the ratios, the
// fastest trials and the notes.
func (sc *Score) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Optimizer benchmark: %s tuning\n\n", sc.Ruleset)
	for _, t := range []*plots.Table{sc.ScoreTable(), sc.RatioTable(), sc.WorkloadTable()} {
		b.WriteString(t.Markdown())
		b.WriteString("\n")
	}
	if len(sc.Notes) > 0 {
		b.WriteString("Notes:\n\n")
		for _, n := range sc.Notes {
			b.WriteString("- " + n + "\n")
		}
	}
	return b.String()
}

// Text returns the tables as aligned text, for a terminal.
func (sc *Score) Text() string {
	var b strings.Builder
	for _, t := range []*plots.Table{sc.ScoreTable(), sc.RatioTable(), sc.WorkloadTable()} {
		b.WriteString(t.String())
		b.WriteString("\n")
	}
	for _, n := range sc.Notes {
		b.WriteString("note: " + n + "\n")
	}
	return b.String()
}

// Save writes the report into dir (created if needed): scores.txt, scores.md,
// scores.csv, trials.csv, profile.png, and lr.png and budget.png when there
// is something to draw. It returns the paths written. Each file is written
// atomically; a figure that cannot be drawn is skipped and named in the error
// only when nothing else failed.
func (sc *Score) Save(dir string) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("creating the report folder: %w", err)
	}
	var paths []string
	write := func(name string, fn func(io.Writer) error) error {
		p := filepath.Join(dir, name)
		if err := atomicfile.Write(p, fn); err != nil {
			return err
		}
		paths = append(paths, p)
		return nil
	}
	text := func(s string) func(io.Writer) error {
		return func(w io.Writer) error { _, err := io.WriteString(w, s); return err }
	}
	for _, f := range []struct {
		name string
		fn   func(io.Writer) error
	}{
		{"scores.txt", text(sc.Text())}, {"scores.md", text(sc.Markdown())},
		{"scores.csv", sc.WriteScoresCSV}, {"trials.csv", sc.WriteTrialsCSV},
	} {
		if err := write(f.name, f.fn); err != nil {
			return paths, err
		}
	}
	prof, err := sc.ProfileFigure()
	if err != nil {
		return paths, fmt.Errorf("performance profile: %w", err)
	}
	figs := []struct {
		name string
		fig  *plots.Figure
	}{{"profile.png", prof}}
	if f, err := sc.LRFigure(); err == nil {
		figs = append(figs, struct {
			name string
			fig  *plots.Figure
		}{"lr.png", f})
	}
	if f, err := sc.BudgetFigure(); err == nil {
		figs = append(figs, struct {
			name string
			fig  *plots.Figure
		}{"budget.png", f})
	}
	for _, f := range figs {
		p := filepath.Join(dir, f.name)
		if err := f.fig.Save(p); err != nil {
			return paths, fmt.Errorf("writing %s: %w", p, err)
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// RegistryTable lists the workloads (Workloads): what each trains, its data
// and model, batch size, step budget, evaluation interval, validation target
// and where the target comes from (Provenance).
func RegistryTable() *plots.Table {
	t := plots.NewTable("Benchmark workloads", "workload", "what is trained", "data", "model", "batch", "steps", "eval every", "target", "target's provenance")
	none := 0
	for _, w := range Workloads() {
		data, model := w.Data, w.Model
		if data == "" {
			data = "synthetic"
		}
		if model == "" {
			model = "—"
		}
		if w.TargetSource == nil {
			none++
		}
		_ = t.AddRow(w.Name, w.Description, data, model, w.BatchSize, w.Steps, w.EvalEvery, w.TargetText(), w.Provenance())
	}
	t.Note = fmt.Sprintf("Steps are the external-tuning budget (self-tuning gets %g times as many); evaluations on the validation split are untimed.",
		SelfTuningBudget)
	switch {
	case none == 1:
		t.Note += fmt.Sprintf(" 1 of %d workloads has no target yet and cannot be benchmarked.", len(Workloads()))
	case none > 1:
		t.Note += fmt.Sprintf(" %d of %d workloads have no target yet and cannot be benchmarked.", none, len(Workloads()))
	}
	return t
}
