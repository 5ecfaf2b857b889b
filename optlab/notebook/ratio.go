package notebook

import (
	"fmt"
	"math"
	"strconv"
)

// Ratio estimates how many times larger one positive quantity is than
// another measured with the same seeds (a sharpness, a time): the geometric
// mean of the per-seed ratios a[i]/b[i] with its confidence interval, found
// on the log scale, where ratios are differences and a factor of 2 and one of
// 1/2 weigh the same.
type Ratio struct {
	// Log is the estimate of ln(a/b) (PairedDiff of the logarithms).
	Log Estimate
}

// PairedRatio returns the ratio of a to b paired by seed: MeanCI of
// ln(a[i]/b[i]), read back as a factor. Every value must be finite and > 0.
func PairedRatio(a, b []float64, level float64) (Ratio, error) {
	if len(a) != len(b) {
		return Ratio{}, fmt.Errorf("paired ratio: %d values against %d (one of each per seed)", len(a), len(b))
	}
	la, lb := make([]float64, len(a)), make([]float64, len(b))
	for i := range a {
		if !(a[i] > 0) || !(b[i] > 0) || math.IsInf(a[i], 0) || math.IsInf(b[i], 0) {
			return Ratio{}, fmt.Errorf("paired ratio: pair %d is %v and %v; a ratio needs finite values > 0", i+1, a[i], b[i])
		}
		la[i], lb[i] = math.Log(a[i]), math.Log(b[i])
	}
	e, err := PairedDiff(la, lb, level)
	if err != nil {
		return Ratio{}, fmt.Errorf("paired ratio: %w", err)
	}
	return Ratio{Log: e}, nil
}

// Factor returns the estimated ratio (the geometric mean of the per-seed
// ratios); Lo and Hi bound its confidence interval.
func (r Ratio) Factor() float64 { return math.Exp(r.Log.Mean) }

// Lo returns the lower end of the ratio's confidence interval.
func (r Ratio) Lo() float64 { return math.Exp(r.Log.Lo) }

// Hi returns the upper end of the ratio's confidence interval.
func (r Ratio) Hi() float64 { return math.Exp(r.Log.Hi) }

// Choose picks words as Estimate.Choose does: above when the interval lies
// entirely above 1 (a is larger), below when entirely below, within when it
// holds 1.
func (r Ratio) Choose(above, within, below string) string {
	return r.Log.Choose(above, within, below)
}

// String formats the ratio with its interval: "0.42× (95% CI 0.31× to
// 0.57×, n = 5)".
func (r Ratio) String() string {
	if r.Log.N == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%s (%s CI %s to %s, n = %d)", Times(r.Factor()),
		strconv.FormatFloat(100*r.Log.Level, 'f', -1, 64)+"%", Times(r.Lo()), Times(r.Hi()), r.Log.N)
}

// Agreement is what two paired differences measured on the same runs say
// about a predicted link between them (see Agree).
type Agreement int

const (
	// Unresolved: at least one of the two intervals holds 0, so the runs
	// cannot tell whether the differences go together.
	Unresolved Agreement = iota
	// Agrees: both differences are resolved, with the signs the link
	// predicts.
	Agrees
	// Disagrees: both differences are resolved, with the opposite signs.
	Disagrees
)

// Agree reads two paired differences of the same treatments (x: a property,
// y: an outcome, each a − b over the same seeds) against a predicted link:
// sign +1 predicts that the treatment with more x has more y, −1 that it has
// less (flatter minima generalising better: less sharpness, more accuracy).
// Agreement only says that the two differences point the way the link
// predicts, not that one causes the other.
func Agree(x, y Estimate, sign int) Agreement {
	sx, sy := x.sign(), y.sign()
	switch {
	case sx == 0 || sy == 0 || sign == 0:
		return Unresolved
	case sx*sy == sign:
		return Agrees
	default:
		return Disagrees
	}
}

// Choose picks the words for an agreement.
func (a Agreement) Choose(agrees, unresolved, disagrees string) string {
	switch a {
	case Agrees:
		return agrees
	case Disagrees:
		return disagrees
	default:
		return unresolved
	}
}

// String names the agreement.
func (a Agreement) String() string { return a.Choose("agrees", "unresolved", "disagrees") }

// sign is +1 or −1 when the interval excludes 0 on that side, else 0.
func (e Estimate) sign() int {
	switch {
	case e.N > 0 && e.Lo > 0:
		return 1
	case e.N > 0 && e.Hi < 0:
		return -1
	}
	return 0
}
