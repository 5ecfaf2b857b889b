package notebook

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestNumberFormats(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{Times(5.63), "5.6×"}, {Times(13.6), "14×"}, {Times(0.482), "0.48×"}, {Times(1), "1.0×"},
		{Times(math.NaN()), "n/a"}, {Times(math.Inf(1)), "n/a"},
		{Percent(0.9734), "97.3%"}, {Percent(1), "100.0%"}, {Percent(0.00049), "0.0%"},
		{Points(0.017), "+1.7 points"}, {Points(-0.004), "−0.4 points"}, {Points(0.0004), "0.0 points"},
		{Sig(7.31e-4, 2), "0.00073"}, {Sig(7.31e-5, 2), "7.3e-5"}, {Sig(1234.5, 3), "1230"},
		{Sig(9.96, 2), "10"}, {Sig(-0.0996, 2), "-0.10"}, {Sig(2.5e7, 2), "2.5e7"}, {Sig(0, 3), "0"},
		{Sig(3.14159, 0), "3"},
		{Count(55000), "55,000"}, {Count(999), "999"}, {Count(1234567), "1,234,567"}, {Count(-4000), "−4,000"},
		{Seconds(40.4), "40 s"}, {Seconds(0.2), "1 s"}, {Seconds(725), "12 min"}, {Seconds(4200), "70 min"}, {Seconds(6000), "1 h 40 min"},
		{Seconds(-1), "n/a"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

// studentT975 are exact 0.975 quantiles of Student's t: ν = 1 is the Cauchy
// distribution, tan(π(p − ½)); ν = 2 has t = (2p − 1)/√(2p(1 − p)); ν = 4 has
// t = 2√(cos(⅓·arccos(√α))/√α − 1) with α = 4p(1 − p) (Shaw 2006, "Sampling
// Student's T distribution", closed forms for small ν).
func studentT975(nu int) float64 {
	p := 0.975
	switch nu {
	case 1:
		return math.Tan(math.Pi * (p - 0.5))
	case 2:
		return (2*p - 1) / math.Sqrt(2*p*(1-p))
	case 4:
		a := 4 * p * (1 - p)
		return 2 * math.Sqrt(math.Cos(math.Acos(math.Sqrt(a))/3)/math.Sqrt(a)-1)
	}
	panic("no closed form")
}

func TestMeanCIAgainstClosedForms(t *testing.T) {
	for _, tc := range []struct {
		xs []float64
	}{
		{[]float64{1, 3}},                 // ν = 1
		{[]float64{0.97, 0.975, 0.968}},   // ν = 2
		{[]float64{1, 2, 3, 4, 5}},        // ν = 4
		{[]float64{-2, 0.5, 7, 7.25, -1}}, // ν = 4
	} {
		n := len(tc.xs)
		mean, ss := 0.0, 0.0
		for _, x := range tc.xs {
			mean += x
		}
		mean /= float64(n)
		for _, x := range tc.xs {
			ss += (x - mean) * (x - mean)
		}
		half := studentT975(n-1) * math.Sqrt(ss/float64(n-1)) / math.Sqrt(float64(n))
		e, err := MeanCI(tc.xs, 0.95)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(e.Mean-mean) > 1e-12 || math.Abs(e.HalfWidth()-half) > 1e-9*half || e.N != n {
			t.Errorf("MeanCI(%v) = %+v, want mean %v ± %v", tc.xs, e, mean, half)
		}
	}
}

func TestMeanCIErrors(t *testing.T) {
	for _, tc := range []struct {
		name  string
		xs    []float64
		level float64
		want  string
	}{
		{"one value", []float64{1}, 0.95, "at least 2 values, got 1"},
		{"a NaN", []float64{1, math.NaN(), 2}, 0.95, "value 2 is NaN"},
		{"level as a percentage", []float64{1, 2}, 95, "level 95 must be in (0, 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := MeanCI(tc.xs, tc.level); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
	if _, err := PairedDiff([]float64{1, 2}, []float64{1}, 0.95); err == nil || !strings.Contains(err.Error(), "2 against 1") {
		t.Errorf("PairedDiff of unequal lengths: %v", err)
	}
}

func TestEstimateFormat(t *testing.T) {
	for _, tc := range []struct {
		e    Estimate
		want func(Estimate) string
		out  string
	}{
		{Estimate{Mean: 0.97312, Lo: 0.97112, Hi: 0.97512, N: 5, Level: 0.95}, Estimate.String, "0.9731 ± 0.0020 (95% CI, n = 5)"},
		{Estimate{Mean: 0.97312, Lo: 0.96812, Hi: 0.97812, N: 5, Level: 0.95}, Estimate.String, "0.973 ± 0.005 (95% CI, n = 5)"},
		{Estimate{Mean: 0.97312, Lo: 0.96812, Hi: 0.97812, N: 5, Level: 0.95}, Estimate.Percent, "97.3 ± 0.5% (95% CI, n = 5)"},
		{Estimate{Mean: 0.017, Lo: 0.011, Hi: 0.023, N: 5, Level: 0.9}, Estimate.Points, "+1.7 ± 0.6 points (90% CI, n = 5)"},
		{Estimate{Mean: -0.017, Lo: -0.023, Hi: -0.011, N: 5, Level: 0.95}, Estimate.Points, "−1.7 ± 0.6 points (95% CI, n = 5)"},
		{Estimate{Mean: 123.4, Lo: 83.4, Hi: 163.4, N: 3, Level: 0.95}, Estimate.String, "123 ± 40 (95% CI, n = 3)"},
		{Estimate{}, Estimate.String, "n/a"},
	} {
		if got := tc.want(tc.e); got != tc.out {
			t.Errorf("got %q, want %q", got, tc.out)
		}
	}
	d, err := PairedDiff([]float64{0.98, 0.97, 0.985}, []float64{0.96, 0.955, 0.962}, 0.95)
	if err != nil {
		t.Fatal(err)
	}
	if !d.Excludes(0) || d.Mean <= 0 {
		t.Errorf("a consistent paired gain %+v should exclude 0", d)
	}
}

func TestMarkdownOutsideNotebook(t *testing.T) {
	var b bytes.Buffer
	showMarkdown(&b, "Adam is "+Times(2.04)+" faster")
	if b.String() != "Adam is 2.0× faster\n" {
		t.Errorf("wrote %q", b.String())
	}
}
