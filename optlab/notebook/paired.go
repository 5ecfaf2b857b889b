package notebook

import (
	"math"

	"optlab.dev/optlab"
)

// TestAccuracies returns the test accuracy of each run of g in seed order
// (NaN for a run that diverged: it has no final test).
func (g Group) TestAccuracies() []float64 {
	out := make([]float64, len(g.Runs))
	for i, h := range g.Runs {
		out[i] = h.TestAccuracy
		if h.Diverged() {
			out[i] = math.NaN()
		}
	}
	return out
}

// PairedAt is Paired after a given epoch (1-based; −1 for the last): the
// mean difference a − b of metric m over the seeds both groups ran, with its
// Level confidence interval.
func PairedAt(a, b Group, m optlab.Metric, epoch int) Estimate {
	return PairedBySeed(a, b, a.At(m, epoch), b.At(m, epoch))
}

// PairedTest is Paired on the test accuracy measured after the last epoch.
func PairedTest(a, b Group) Estimate {
	return PairedBySeed(a, b, a.TestAccuracies(), b.TestAccuracies())
}

// pairedBySeed matches va (a's values in a's run order) with vb by seed and
// returns CI of the differences where both are finite.
func PairedBySeed(a, b Group, va, vb []float64) Estimate {
	bySeed := map[int64]float64{}
	for i, h := range b.Runs {
		bySeed[h.Seed] = vb[i]
	}
	var d []float64
	for i, h := range a.Runs {
		if y, ok := bySeed[h.Seed]; ok && finite(va[i]) && finite(y) {
			d = append(d, va[i]-y)
		}
	}
	return CI(d)
}

// Must2 is Must for calls that return two values and an error.
func Must2[A, B any](a A, b B, err error) (A, B) {
	if err != nil {
		panic(err)
	}
	return a, b
}
