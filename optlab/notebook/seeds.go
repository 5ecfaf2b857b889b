package notebook

import (
	"fmt"
	"math"
	"slices"

	"optlab.dev/optlab"
	"optlab.dev/optlab/plots"
)

// Level is the confidence level of the intervals notebooks quote.
const Level = 0.95

// Group is the runs of one optimizer (one label) over seeds.
type Group struct {
	Label string
	Runs  []*optlab.History
}

// Groups splits runs by label, in order of first appearance, each group's
// runs in seed order.
func Groups(hs []*optlab.History) []Group {
	order, by := optlab.GroupByName(hs)
	out := make([]Group, 0, len(order))
	for _, name := range order {
		runs := slices.Clone(by[name])
		slices.SortStableFunc(runs, func(a, b *optlab.History) int { return int(a.Seed - b.Seed) })
		out = append(out, Group{Label: name, Runs: runs})
	}
	return out
}

// Lookup returns the group with the given label.
func Lookup(groups []Group, label string) (Group, error) {
	for _, g := range groups {
		if g.Label == label {
			return g, nil
		}
	}
	return Group{}, fmt.Errorf("no runs labelled %q", label)
}

// Final returns the metric at the last epoch of each run (NaN for a run that
// finished no epoch or diverged), in seed order.
func (g Group) Final(m optlab.Metric) []float64 {
	return g.At(m, -1)
}

// At returns the metric after epoch (1-based; −1 for the last epoch) of each
// run, NaN where a run did not reach it or diverged.
func (g Group) At(m optlab.Metric, epoch int) []float64 {
	out := make([]float64, len(g.Runs))
	for i, h := range g.Runs {
		out[i] = math.NaN()
		if h.Diverged() {
			continue
		}
		switch {
		case epoch < 0 && len(h.Epochs) > 0:
			out[i] = h.Last().Value(m)
		case epoch >= 1 && epoch <= len(h.Epochs):
			out[i] = h.Epochs[epoch-1].Value(m)
		}
	}
	return out
}

// Diverged counts the group's runs that diverged.
func (g Group) Diverged() int {
	n := 0
	for _, h := range g.Runs {
		if h.Diverged() {
			n++
		}
	}
	return n
}

// CI returns the mean of the finite values of xs with its Level confidence
// interval; with fewer than two finite values, the estimate has N < 2 and
// prints as "n/a".
func CI(xs []float64) Estimate {
	var fin []float64
	for _, x := range xs {
		if finite(x) {
			fin = append(fin, x)
		}
	}
	e, err := MeanCI(fin, Level)
	if err != nil {
		return Estimate{N: len(fin), Level: Level, Mean: mean(fin), Lo: math.NaN(), Hi: math.NaN()}
	}
	return e
}

// Paired returns the mean difference a − b over the seeds both groups ran
// with (seeds where either is not finite are left out), with its Level
// confidence interval: the comparison of two optimizers trained from the
// same initial weights and batches, where each seed's luck cancels.
func Paired(a, b Group, m optlab.Metric) Estimate {
	va, vb := map[int64]float64{}, map[int64]float64{}
	fa, fb := a.Final(m), b.Final(m)
	for i, h := range a.Runs {
		va[h.Seed] = fa[i]
	}
	for i, h := range b.Runs {
		vb[h.Seed] = fb[i]
	}
	var d []float64
	for i, h := range a.Runs {
		if y, ok := vb[h.Seed]; ok && finite(fa[i]) && finite(y) {
			d = append(d, fa[i]-y)
		}
	}
	return CI(d)
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// Judge turns an estimated difference into a verdict on a claim that
// predicts its sign (sign > 0: the difference is claimed positive; < 0:
// negative): Shown when the interval lies on the claimed side of zero,
// Contradicted when it lies on the other side, NotShown when it contains
// zero (within noise) or cannot be computed.
func Judge(d Estimate, sign int) Verdict {
	if d.N < 2 || !finite(d.Lo) || !finite(d.Hi) || sign == 0 {
		return NotShown
	}
	switch {
	case d.Lo > 0 && sign > 0, d.Hi < 0 && sign < 0:
		return Shown
	case d.Lo > 0 && sign < 0, d.Hi < 0 && sign > 0:
		return Contradicted
	}
	return NotShown
}

// JudgeAny is Judge for a claim that predicts a difference without its sign
// ("the optimizer affects generalisation"): Shown when the interval
// excludes zero on either side, NotShown otherwise.
func JudgeAny(d Estimate) Verdict {
	if d.N >= 2 && d.Excludes(0) {
		return Shown
	}
	return NotShown
}

// JudgeNegligible judges a claim that a difference is too small to matter
// ("the 100-unit output does not matter"): Shown when the whole interval
// lies within ±margin, Contradicted when it lies entirely beyond the margin
// on one side (a difference larger than the margin is established),
// NotShown otherwise (the interval reaches past the margin, or the estimate
// cannot be computed). margin is in the estimate's units (0.005 is half a
// point of accuracy).
func JudgeNegligible(d Estimate, margin float64) Verdict {
	if d.N < 2 || !finite(d.Lo) || !finite(d.Hi) || !(margin > 0) {
		return NotShown
	}
	switch {
	case d.Lo > -margin && d.Hi < margin:
		return Shown
	case d.Lo > margin || d.Hi < -margin:
		return Contradicted
	}
	return NotShown
}

// JudgeAll combines the verdicts on the parts of a claim that asserts them
// all ("Adam and RMSprop beat SGD"): Contradicted when any part is
// contradicted, Shown when every part is shown, NotShown otherwise (and
// for no parts).
func JudgeAll(parts ...Verdict) Verdict {
	if len(parts) == 0 {
		return NotShown
	}
	all := true
	for _, v := range parts {
		if v == Contradicted {
			return Contradicted
		}
		all = all && v == Shown
	}
	if all {
		return Shown
	}
	return NotShown
}

// Word chooses the word for an estimated difference: above when its interval
// lies above zero, below when below, within when it contains zero (a
// difference within noise). Prose built with it stays true when a re-run
// moves the numbers.
func Word(d Estimate, above, below, within string) string {
	switch {
	case d.N >= 2 && d.Lo > 0:
		return above
	case d.N >= 2 && d.Hi < 0:
		return below
	}
	return within
}

// CITable shows, for each optimizer of hs, the final value of each metric
// as a mean with its Level confidence interval over seeds ("91.2 ± 0.4%"),
// and how many runs diverged. Accuracies are shown in percent.
func CITable(title string, hs []*optlab.History, metrics ...optlab.Metric) *plots.Table {
	header := []string{"optimizer", "seeds"}
	for _, m := range metrics {
		header = append(header, string(m))
	}
	header = append(header, "diverged")
	t := plots.NewTable(title, header...)
	for _, g := range Groups(hs) {
		row := []any{g.Label, len(g.Runs)}
		for _, m := range metrics {
			row = append(row, short95(CI(g.Final(m)), isAccuracy(m)))
		}
		row = append(row, g.Diverged())
		_ = t.AddRow(row...)
	}
	t.Note = fmt.Sprintf("Final epoch, mean ± half-width of the %s%% confidence interval over seeds (Student t).",
		plots.FormatCell(100*Level))
	return t
}

// short95 formats an estimate for a table cell: "91.2 ± 0.4%" or
// "0.312 ± 0.004" (no level or n: the table's note says them).
func short95(e Estimate, percent bool) string {
	if e.N == 0 {
		return "n/a"
	}
	if e.N < 2 {
		if percent {
			return Percent(e.Mean)
		}
		return Sig(e.Mean, 3)
	}
	scale, unit := 1.0, ""
	if percent {
		scale, unit = 100, "%"
	}
	mean, half := e.Mean*scale, e.HalfWidth()*scale
	dec := decimalsFor(half)
	if dec > 4 || math.Abs(mean) >= 1e6 {
		// Too small or too large for fixed decimals: the mean to the digit
		// the uncertainty reaches (at least 2, at most 4 digits), in Sig's form.
		digits := 2
		if half > 0 && mean != 0 {
			digits = min(4, max(2, int(math.Floor(math.Log10(math.Abs(mean))))-int(math.Floor(math.Log10(half)))+1))
		}
		return fmt.Sprintf("%s ± %s%s", Sig(mean, digits), Sig(half, 1), unit)
	}
	return fmt.Sprintf("%.*f ± %.*f%s", dec, mean, dec, half, unit)
}

// Short formats an estimate without its level and n, for tables and
// compact prose: "91.2 ± 0.4" (or with the unit: see ShortPercent).
func (e Estimate) Short() string { return short95(e, false) }

// ShortPercent formats an estimate of a fraction in percent without its
// level and n: "91.2 ± 0.4%".
func (e Estimate) ShortPercent() string { return short95(e, true) }

func isAccuracy(m optlab.Metric) bool {
	return m == optlab.MetricAccuracy || m == optlab.MetricValAccuracy
}
