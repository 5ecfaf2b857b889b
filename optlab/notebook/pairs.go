package notebook

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"optlab.dev/data"
	"optlab.dev/optlab"
	"optlab.dev/optlab/plots"
)

// Metric is one number read from a run: what estimates and tables compare
// across seeds.
type Metric struct {
	// Name says what the number is, for table headers ("test accuracy").
	Name string
	// Of reads it from a run; NaN when the run does not have it.
	Of func(h *optlab.History) float64
	// Fraction says that the number is a fraction shown in percent
	// (accuracies); otherwise it is shown as it is (losses).
	Fraction bool
}

// TestAccuracy is a run's final test accuracy.
var TestAccuracy = Metric{Name: "test accuracy", Of: func(h *optlab.History) float64 { return h.TestAccuracy }, Fraction: true}

// ValAccuracyAt is a run's validation accuracy after epoch (1-based; NaN for
// a run that did not finish it).
func ValAccuracyAt(epoch int) Metric {
	return Metric{Name: fmt.Sprintf("%s accuracy after epoch %d", "validation", epoch), Fraction: true,
		Of: func(h *optlab.History) float64 {
			if epoch < 1 || epoch > len(h.Epochs) {
				return math.NaN()
			}
			return h.Epochs[epoch-1].ValAccuracy
		}}
}

// FinalValAccuracy is a run's validation accuracy after its last epoch.
var FinalValAccuracy = Metric{Name: "final validation accuracy", Fraction: true,
	Of: func(h *optlab.History) float64 {
		if len(h.Epochs) == 0 {
			return math.NaN()
		}
		return h.Last().ValAccuracy
	}}

// LossAt is a run's training loss averaged over epoch (1-based; NaN for a
// run that did not finish it).
func LossAt(epoch int) Metric {
	return Metric{Name: fmt.Sprintf("training loss of epoch %d", epoch),
		Of: func(h *optlab.History) float64 {
			if epoch < 1 || epoch > len(h.Epochs) {
				return math.NaN()
			}
			return h.Epochs[epoch-1].Loss
		}}
}

// BySeed returns m of every run labelled label (History.Name) that finished
// without error and has a finite value, keyed by seed. Two runs of one label
// with one seed are an error: the runs come from different comparisons.
func BySeed(hs []*optlab.History, label string, m Metric) (map[int64]float64, error) {
	out := map[int64]float64{}
	for _, h := range hs {
		if h == nil || h.Name() != label || h.Err != "" {
			continue
		}
		if _, dup := out[h.Seed]; dup {
			return nil, fmt.Errorf("two runs of %s with seed %d: pass one comparison at a time", label, h.Seed)
		}
		if v := m.Of(h); !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[h.Seed] = v
		}
	}
	return out, nil
}

// Over estimates the mean of m over the seeds of the runs labelled label,
// with its confidence interval at level (see MeanCI: at least two runs).
func Over(hs []*optlab.History, label string, m Metric, level float64) (Estimate, error) {
	vals, err := BySeed(hs, label, m)
	if err != nil {
		return Estimate{}, err
	}
	_, xs := sorted(vals)
	e, err := MeanCI(xs, level)
	if err != nil {
		return Estimate{}, fmt.Errorf("%s of %s: %w", m.Name, label, err)
	}
	return e, nil
}

// Versus estimates m(a) − m(b) paired by seed: the runs labelled la in as
// against those labelled lb in bs, over the seeds both have (at least two).
// The two sets may come from different comparisons (one optimizer under two
// protocols, one optimizer on two models): a seed fixes the data order, and
// the initial weights where the models share their layers.
func Versus(as []*optlab.History, la string, bs []*optlab.History, lb string, m Metric, level float64) (Estimate, error) {
	va, err := BySeed(as, la, m)
	if err != nil {
		return Estimate{}, err
	}
	vb, err := BySeed(bs, lb, m)
	if err != nil {
		return Estimate{}, err
	}
	var a, b []float64
	seeds, _ := sorted(va)
	for _, s := range seeds {
		if y, ok := vb[s]; ok {
			a, b = append(a, va[s]), append(b, y)
		}
	}
	e, err := PairedDiff(a, b, level)
	if err != nil {
		return Estimate{}, fmt.Errorf("%s, %s against %s: %w", m.Name, la, lb, err)
	}
	return e, nil
}

// VersusPooled estimates m(a) − m(b) over every pair of runs with one label
// and one seed, a run of as against a run of bs: the effect of a change
// (another model, another protocol) pooled over the optimizers both sets
// hold. At least two pairs are needed.
func VersusPooled(as, bs []*optlab.History, m Metric, level float64) (Estimate, error) {
	order, _ := optlab.GroupByName(as)
	var a, b []float64
	for _, label := range order {
		va, err := BySeed(as, label, m)
		if err != nil {
			return Estimate{}, err
		}
		vb, err := BySeed(bs, label, m)
		if err != nil {
			return Estimate{}, err
		}
		seeds, _ := sorted(va)
		for _, s := range seeds {
			if y, ok := vb[s]; ok {
				a, b = append(a, va[s]), append(b, y)
			}
		}
	}
	e, err := PairedDiff(a, b, level)
	if err != nil {
		return Estimate{}, fmt.Errorf("%s pooled over optimizers: %w", m.Name, err)
	}
	return e, nil
}

// IntervalRows returns one row per label of hs for plots.Intervals: m's
// mean over seeds with its confidence interval at level (a dot alone for a
// single run), named prefix + label and coloured by group.
func IntervalRows(hs []*optlab.History, m Metric, level float64, prefix, group string) ([]plots.Interval, error) {
	order, _ := optlab.GroupByName(hs)
	var rows []plots.Interval
	for _, label := range order {
		vals, err := BySeed(hs, label, m)
		if err != nil {
			return nil, err
		}
		_, xs := sorted(vals)
		row := plots.Interval{Name: prefix + label, Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Group: group}
		switch len(xs) {
		case 0:
			row.Label = "no finished run"
		case 1:
			row.Value, row.Label = xs[0], formatValue(xs[0], m)+" (one run)"
		default:
			e, err := MeanCI(xs, level)
			if err != nil {
				return nil, err
			}
			row.Value, row.Lo, row.Hi, row.Label = e.Mean, e.Lo, e.Hi, formatEstimate(e, m)
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// Standing is one label's place in a comparison: its mean over seeds, and
// its difference to the leader paired by seed (zero, N = 0, for the leader).
type Standing struct {
	Label    string
	Mean     Estimate
	VsLeader Estimate
}

// Standings ranks the labels of hs by m's mean over seeds, best (highest)
// first, and compares each with the leader, paired by seed.
func Standings(hs []*optlab.History, m Metric, level float64) ([]Standing, error) {
	order, _ := optlab.GroupByName(hs)
	var out []Standing
	for _, l := range order {
		e, err := Over(hs, l, m, level)
		if err != nil {
			return nil, err
		}
		out = append(out, Standing{Label: l, Mean: e})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("standings of %s: no runs", m.Name)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Mean.Mean > out[j].Mean.Mean })
	for i := 1; i < len(out); i++ {
		d, err := Versus(hs, out[i].Label, hs, out[0].Label, m, level)
		if err != nil {
			return nil, err
		}
		out[i].VsLeader = d
	}
	return out, nil
}

// DescribeStandings says in one sentence what Standings found, with words
// chosen by the intervals: "Adam has the highest mean test accuracy, 97.8 ±
// 0.1% (95% CI, n = 5); RMSprop cannot be separated from it (−0.1 ± 0.2
// points ...); SGD trails it (−2.3 ± 0.2 points ...)".
func DescribeStandings(st []Standing, m Metric) string {
	if len(st) == 0 {
		return ""
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s has the highest mean %s, %s", st[0].Label, m.Name, formatEstimate(st[0].Mean, m))
	for _, s := range st[1:] {
		fmt.Fprintf(&b, "; %s %s (%s)", s.Label, s.VsLeader.Choose("is ahead of it", "cannot be separated from it", "trails it"), formatDiff(s.VsLeader, m))
	}
	return b.String()
}

// Deviation is the largest difference between a run's m and the figure
// reported for its label in ref (labels missing from ref are skipped): how
// far a reproduction lies from what someone reported.
func Deviation(hs []*optlab.History, m Metric, ref map[string]float64) float64 {
	worst := 0.0
	for _, h := range hs {
		if v, ok := ref[h.Name()]; ok && h.Err == "" {
			worst = math.Max(worst, math.Abs(m.Of(h)-v))
		}
	}
	return worst
}

// SeedRange is the widest spread, best minus worst seed, of m among the
// labels of hs: how far apart two runs of one configuration can land.
func SeedRange(hs []*optlab.History, m Metric) float64 {
	order, _ := optlab.GroupByName(hs)
	widest := 0.0
	for _, l := range order {
		vals, err := BySeed(hs, l, m)
		if err != nil || len(vals) < 2 {
			continue
		}
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range vals {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		widest = math.Max(widest, hi-lo)
	}
	return widest
}

// sorted returns a map's seeds in increasing order and their values.
func sorted(vals map[int64]float64) ([]int64, []float64) {
	seeds := make([]int64, 0, len(vals))
	for s := range vals {
		seeds = append(seeds, s)
	}
	sort.Slice(seeds, func(i, j int) bool { return seeds[i] < seeds[j] })
	xs := make([]float64, len(seeds))
	for i, s := range seeds {
		xs[i] = vals[s]
	}
	return seeds, xs
}

// SeedTableOptions tunes SeedTable.
type SeedTableOptions struct {
	Title string
	// Against, when set, is the label whose runs every other row is compared
	// with, paired by seed.
	Against string
	// Level is the confidence level (default 0.95).
	Level float64
	// Reference holds figures reported elsewhere, by label, shown in a
	// column headed ReferenceName (see ReferenceFigures).
	Reference     map[string]float64
	ReferenceName string
	// Note is printed under the table, after the note on the intervals.
	Note string
}

// SeedTable returns one row per label of hs (in order of first appearance):
// the number of runs, m's mean with its confidence interval over seeds (the
// value itself for one run), and, with Against, the paired difference to that
// label's runs. Runs that stopped early are counted and left out.
func SeedTable(hs []*optlab.History, m Metric, opts SeedTableOptions) *plots.Table {
	level := opts.Level
	if !(level > 0 && level < 1) {
		level = 0.95
	}
	lvl := strconv.FormatFloat(100*level, 'f', -1, 64) + "%"
	header := []string{"optimizer", "runs", fmt.Sprintf("%s (mean, %s CI)", m.Name, lvl)}
	if opts.Against != "" {
		header = append(header, "− "+opts.Against+" (paired by seed)")
	}
	if opts.Reference != nil {
		header = append(header, opts.ReferenceName)
	}
	t := &plots.Table{Title: opts.Title, Header: header}
	order, groups := optlab.GroupByName(hs)
	for _, label := range order {
		vals, err := BySeed(hs, label, m)
		runs := fmt.Sprint(len(groups[label]))
		if failed := len(groups[label]) - len(vals); err == nil && failed > 0 {
			runs += fmt.Sprintf(" (%d stopped)", failed)
		}
		row := []any{label, runs}
		_, xs := sorted(vals)
		switch {
		case err != nil:
			row = append(row, err.Error())
		case len(xs) == 1:
			row = append(row, formatValue(xs[0], m)+" (one run)")
		case len(xs) == 0:
			row = append(row, "-")
		default:
			e, _ := MeanCI(xs, level)
			row = append(row, formatEstimate(e, m))
		}
		if opts.Against != "" {
			cell := "-"
			if label != opts.Against {
				if d, err := Versus(hs, label, hs, opts.Against, m, level); err == nil {
					cell = formatDiff(d, m)
				}
			}
			row = append(row, cell)
		}
		if opts.Reference != nil {
			cell := "-"
			if v, ok := opts.Reference[label]; ok {
				cell = formatValue(v, m)
			}
			row = append(row, cell)
		}
		_ = t.AddRow(row...)
	}
	notes := []string{fmt.Sprintf("mean ± half-width of the %s confidence interval (Student t) over seeds", lvl)}
	if opts.Against != "" {
		notes = append(notes, fmt.Sprintf("differences paired by seed (same data order and initial weights), with their %s CI", lvl))
	}
	if opts.Note != "" {
		notes = append(notes, opts.Note)
	}
	t.Note = strings.Join(notes, "; ") + "."
	return t
}

func formatValue(v float64, m Metric) string {
	if m.Fraction {
		return strconv.FormatFloat(100*v, 'f', 2, 64) + "%"
	}
	return Sig(v, 4)
}

func formatEstimate(e Estimate, m Metric) string {
	if m.Fraction {
		return e.Percent()
	}
	return e.String()
}

func formatDiff(e Estimate, m Metric) string {
	if m.Fraction {
		return e.Points()
	}
	s := e.String()
	if e.Mean > 0 && !strings.HasPrefix(s, "0") {
		s = "+" + s
	}
	return s
}

// ReferenceFigures reads figures reported elsewhere from a reference file of
// optlab.dev/data (data.ReadReference): from the rows whose columns have the
// values in where, the value column keyed by the label column, for a
// SeedTable's Reference column or prose. It also returns the file's source
// note, which a notebook quotes beside the figures.
func ReferenceFigures(file string, where map[string]string, labelCol, valueCol string) (map[string]float64, string, error) {
	c, err := data.ReadReference(file)
	if err != nil {
		return nil, "", err
	}
	col := func(name string) (int, error) {
		for i, h := range c.Header {
			if h == name {
				return i, nil
			}
		}
		return 0, fmt.Errorf("reference %s: no column %q (have %s)", file, name, strings.Join(c.Header, ", "))
	}
	li, err := col(labelCol)
	if err != nil {
		return nil, "", err
	}
	vi, err := col(valueCol)
	if err != nil {
		return nil, "", err
	}
	conds := map[int]string{}
	for k, v := range where {
		i, err := col(k)
		if err != nil {
			return nil, "", err
		}
		conds[i] = v
	}
	out := map[string]float64{}
rows:
	for _, r := range c.Rows {
		for i, v := range conds {
			if r[i] != v {
				continue rows
			}
		}
		if r[vi] == "" {
			continue // not reported
		}
		v, err := strconv.ParseFloat(r[vi], 64)
		if err != nil {
			return nil, "", fmt.Errorf("reference %s: %s %q of %s is not a number", file, valueCol, r[vi], r[li])
		}
		out[r[li]] = v
	}
	if len(out) == 0 {
		return nil, "", fmt.Errorf("reference %s: no row with %v", file, where)
	}
	return out, c.Source, nil
}
