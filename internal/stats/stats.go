// Package stats holds the small summary statistics shared by optlab's packages
// and their benchmarks: the one MeanStd (sample standard deviation), Median,
// Quantile and the Student-t confidence interval of a mean (MeanCI).
//
// It imports the standard library and gonum's distributions (for Student's t
// quantiles).
package stats

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/stat/distuv"
)

// Median returns the middle value of xs (the mean of the two middle values for
// an even count), or NaN for no values. xs is not modified.
func Median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// MeanStd returns the mean and the sample standard deviation of xs (NaN, 0 for
// an empty slice; std 0 for one value).
func MeanStd(xs []float64) (mean, std float64) {
	if len(xs) == 0 {
		return math.NaN(), 0
	}
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if len(xs) < 2 {
		return mean, 0
	}
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)-1))
}

// MeanCI returns the mean of xs and the half-width of its two-sided Student-t
// confidence interval at level (0.95 for 95%): t(1 − (1 − level)/2, n − 1)·s/√n,
// s the sample standard deviation. The half-width is NaN for fewer than two
// values or a level outside (0, 1).
func MeanCI(xs []float64, level float64) (mean, half float64) {
	mean, std := MeanStd(xs)
	if len(xs) < 2 || !(level > 0 && level < 1) {
		return mean, math.NaN()
	}
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Quantile(1 - (1-level)/2)
	return mean, t * std / math.Sqrt(float64(len(xs)))
}

// Quantile returns the q-quantile (q in [0, 1]) of sorted, a slice sorted in
// increasing order, interpolating linearly between the two nearest ranks
// (NumPy's default "linear" method): the value at position q·(n − 1). It
// returns NaN for no values.
func Quantile(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	pos := q * float64(n-1)
	lo := int(math.Floor(pos))
	if lo >= n-1 {
		return sorted[n-1]
	}
	if lo < 0 {
		return sorted[0]
	}
	f := pos - float64(lo)
	return sorted[lo] + f*(sorted[lo+1]-sorted[lo])
}
