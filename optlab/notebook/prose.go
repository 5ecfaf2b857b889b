package notebook

import (
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/janpfeifer/gonb/gonbui"

	"optlab.dev/internal/stats"
)

// Markdown shows a paragraph whose numbers come from the results: it formats
// format with args (fmt.Sprintf) and shows the text as the cell's Markdown
// output in GoNB, or prints it on standard output elsewhere (tests, go run).
// Notebooks state measured numbers this way instead of typing them into a
// Markdown cell, so a re-run cannot leave its text behind (the notebook lint
// flags numbers typed into Markdown cells). The helpers below format the
// usual kinds of number: Times, Percent, Points, Sig, Count, Seconds and
// Estimate.
func Markdown(format string, args ...any) {
	showMarkdown(os.Stdout, fmt.Sprintf(format, args...))
}

// showMarkdown displays text in GoNB, or writes it (with a final newline) to w.
func showMarkdown(w io.Writer, text string) {
	if gonbui.IsNotebook {
		gonbui.DisplayMarkdown(text)
		// Wait until GoNB has the output: a cell whose program exits right
		// after its last display can otherwise lose it (seen when executing
		// notebooks headless).
		gonbui.Sync()
		return
	}
	if !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	_, _ = io.WriteString(w, text)
}

// Times formats a ratio as a multiple: 5.63 → "5.6×", 13.6 → "14×",
// 0.482 → "0.48×" (two significant digits, at most one decimal from 1 up).
func Times(x float64) string {
	if !finite(x) {
		return "n/a"
	}
	switch a := math.Abs(x); {
	case a >= 10:
		return strconv.FormatFloat(x, 'f', 0, 64) + "×"
	case a >= 1:
		return strconv.FormatFloat(x, 'f', 1, 64) + "×"
	default:
		return Sig(x, 2) + "×"
	}
}

// Percent formats a fraction as a percentage with one decimal: 0.9734 → "97.3%".
func Percent(x float64) string {
	if !finite(x) {
		return "n/a"
	}
	return strconv.FormatFloat(100*x, 'f', 1, 64) + "%"
}

// Points formats a difference of two fractions in percentage points, with its
// sign: 0.017 → "+1.7 points", −0.004 → "−0.4 points".
func Points(d float64) string {
	if !finite(d) {
		return "n/a"
	}
	s := strconv.FormatFloat(100*math.Abs(d), 'f', 1, 64)
	switch {
	case s == "0.0":
		return "0.0 points"
	case d < 0:
		return "−" + s + " points"
	default:
		return "+" + s + " points"
	}
}

// Sig formats x with n significant digits (n ≥ 1), in plain notation from
// 1e-4 to 1e6 and in e-notation outside: Sig(7.31e-4, 2) = "0.00073",
// Sig(7.31e-5, 2) = "7.3e-5", Sig(1234.5, 3) = "1230".
func Sig(x float64, n int) string {
	if !finite(x) {
		return "n/a"
	}
	n = max(n, 1)
	if x == 0 {
		return "0"
	}
	if e := math.Floor(math.Log10(math.Abs(x))); e >= -4 && e < 6 {
		// Round to n significant digits, then print without trailing zeros.
		dec := max(0, n-1-int(e))
		p := math.Pow(10, float64(n-1)-e)
		r := math.Round(x*p) / p
		if math.Abs(r) >= math.Pow(10, e+1) && dec > 0 {
			dec-- // rounding carried into the next power of ten: 9.96 → 10
		}
		return strconv.FormatFloat(r, 'f', dec, 64)
	}
	s := strconv.FormatFloat(x, 'e', n-1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	sign := ""
	if exp[0] == '-' {
		sign = "-"
	}
	return mant + "e" + sign + strings.TrimLeft(exp[1:], "0")
}

// Count formats an integer with thousands separators: 55000 → "55,000".
func Count(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "−" + b.String()
	}
	return b.String()
}

// Seconds formats a duration in seconds for prose: "40 s", "12 min",
// "1 h 40 min".
func Seconds(s float64) string {
	if !finite(s) || s < 0 {
		return "n/a"
	}
	if s < 90 {
		return fmt.Sprintf("%d s", max(1, int(math.Round(s))))
	}
	m := int(math.Round(s / 60))
	if m < 90 {
		return fmt.Sprintf("%d min", m)
	}
	return fmt.Sprintf("%d h %d min", m/60, m%60)
}

// Estimate is a mean with a two-sided Student-t confidence interval.
type Estimate struct {
	Mean, Lo, Hi float64
	// N is the number of values and Level the confidence level (0.95 for 95%).
	N     int
	Level float64
}

// MeanCI returns the mean of xs with its confidence interval at level (0.95
// for 95%): mean ± t(level, n−1)·s/√n, s the sample standard deviation. It
// needs at least two finite values.
func MeanCI(xs []float64, level float64) (Estimate, error) {
	if !(level > 0 && level < 1) {
		return Estimate{}, fmt.Errorf("confidence level %v must be in (0, 1), e.g. 0.95", level)
	}
	if len(xs) < 2 {
		return Estimate{}, fmt.Errorf("a confidence interval needs at least 2 values, got %d", len(xs))
	}
	for i, x := range xs {
		if !finite(x) {
			return Estimate{}, fmt.Errorf("value %d is %v: a confidence interval needs finite values", i+1, x)
		}
	}
	mean, half := stats.MeanCI(xs, level)
	return Estimate{Mean: mean, Lo: mean - half, Hi: mean + half, N: len(xs), Level: level}, nil
}

// PairedDiff returns the mean of a[i] − b[i] with its confidence interval
// (MeanCI of the differences): the comparison of two treatments run with the
// same seeds, where each seed's shared luck cancels out.
func PairedDiff(a, b []float64, level float64) (Estimate, error) {
	if len(a) != len(b) {
		return Estimate{}, fmt.Errorf("paired values: %d against %d (one of each per seed)", len(a), len(b))
	}
	d := make([]float64, len(a))
	for i := range a {
		d[i] = a[i] - b[i]
	}
	e, err := MeanCI(d, level)
	if err != nil {
		return Estimate{}, fmt.Errorf("paired difference: %w", err)
	}
	return e, nil
}

// Choose picks the words for an estimate of a difference, so that prose
// stays true whatever a re-run measures: above when the interval lies
// entirely above 0, below when entirely below, within when it holds 0 (the
// difference is not resolved at this confidence). An estimate with no
// values (N = 0) is within.
func (e Estimate) Choose(above, within, below string) string {
	switch {
	case e.N > 0 && e.Lo > 0:
		return above
	case e.N > 0 && e.Hi < 0:
		return below
	default:
		return within
	}
}

// HalfWidth returns half the interval's width.
func (e Estimate) HalfWidth() float64 { return (e.Hi - e.Lo) / 2 }

// Excludes reports whether the interval lies entirely on one side of v: for a
// PairedDiff, Excludes(0) says the sign of the difference is resolved.
func (e Estimate) Excludes(v float64) bool { return e.N > 0 && (e.Lo > v || e.Hi < v) }

// String formats the estimate with as many decimals as its uncertainty
// supports: "0.973 ± 0.002 (95% CI, n = 5)".
func (e Estimate) String() string { return e.format(1, "") }

// Percent formats an estimate of a fraction in percent:
// "97.3 ± 0.2% (95% CI, n = 5)".
func (e Estimate) Percent() string { return e.format(100, "%") }

// Points formats an estimate of a difference of fractions in percentage
// points, with its sign: "+1.7 ± 0.6 points (95% CI, n = 5)".
func (e Estimate) Points() string { return e.format(100, " points") }

func (e Estimate) format(scale float64, unit string) string {
	if e.N == 0 {
		return "n/a"
	}
	mean, half := e.Mean*scale, e.HalfWidth()*scale
	if half < 1e-12*math.Max(1, math.Abs(mean)) {
		half = 0 // identical values: no spread but rounding noise
	}
	dec := decimalsFor(half)
	if half == 0 && mean != 0 && finite(mean) {
		dec = max(0, 2-int(math.Floor(math.Log10(math.Abs(mean))))) // three significant digits
	}
	m := strconv.FormatFloat(mean, 'f', dec, 64)
	zero := strings.Trim(m, "-0.") == ""
	switch {
	case zero:
		m = strings.TrimPrefix(m, "-")
	case strings.HasPrefix(m, "-"):
		m = "−" + m[1:]
	case unit == " points":
		m = "+" + m
	}
	return fmt.Sprintf("%s ± %s%s (%s CI, n = %d)", m, strconv.FormatFloat(half, 'f', dec, 64), unit,
		strconv.FormatFloat(100*e.Level, 'f', -1, 64)+"%", e.N)
}

// decimalsFor returns how many decimals show an uncertainty of half: two
// significant digits when its first digit is 1 or 2, else one (a common
// rounding rule), never fewer than 0.
func decimalsFor(half float64) int {
	if !(half > 0) || !finite(half) {
		return 3
	}
	e := int(math.Floor(math.Log10(half)))
	first := half / math.Pow(10, float64(e))
	sig := 1
	if first < 3 {
		sig = 2
	}
	return max(0, sig-1-e)
}

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
