package stats

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	cases := []struct {
		xs   []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{7}, 7},
	}
	for _, c := range cases {
		in := append([]float64(nil), c.xs...)
		if got := Median(c.xs); got != c.want {
			t.Errorf("Median(%v) = %g, want %g", in, got, c.want)
		}
		for i := range in {
			if in[i] != c.xs[i] {
				t.Errorf("Median reordered its input: %v", c.xs)
			}
		}
	}
	if got := Median(nil); !math.IsNaN(got) {
		t.Errorf("Median(nil) = %g, want NaN", got)
	}
}

func TestMeanStd(t *testing.T) {
	m, s := MeanStd([]float64{1, 2, 3})
	if m != 2 || math.Abs(s-1) > 1e-12 {
		t.Errorf("MeanStd(1,2,3) = %v, %v; want 2, 1", m, s)
	}
	if m, s := MeanStd([]float64{5}); m != 5 || s != 0 {
		t.Errorf("one value: %v, %v", m, s)
	}
}

// TestMeanCI checks the interval against Student's t quantiles from tables
// (t(0.975, 4) = 2.7764451, t(0.95, 9) = 1.8331129).
func TestMeanCI(t *testing.T) {
	for _, c := range []struct {
		xs         []float64
		level      float64
		mean, half float64
	}{
		{[]float64{1, 2, 3, 4, 5}, 0.95, 3, 2.7764451051977987 * math.Sqrt(2.5) / math.Sqrt(5)},
		{[]float64{0, 1, 0, 1, 0, 1, 0, 1, 0, 1}, 0.90, 0.5, 1.8331129326536335 * math.Sqrt(10.0/36) / math.Sqrt(10)},
	} {
		mean, half := MeanCI(c.xs, c.level)
		if math.Abs(mean-c.mean) > 1e-12 || math.Abs(half-c.half) > 1e-9 {
			t.Errorf("MeanCI(%v, %v) = %v ± %v, want %v ± %v", c.xs, c.level, mean, half, c.mean, c.half)
		}
	}
	if _, half := MeanCI([]float64{1}, 0.95); !math.IsNaN(half) {
		t.Errorf("one value: half-width %v, want NaN", half)
	}
	if _, half := MeanCI([]float64{1, 2}, 1.5); !math.IsNaN(half) {
		t.Errorf("level 1.5: half-width %v, want NaN", half)
	}
}

func TestQuantile(t *testing.T) {
	// Expected values from numpy.quantile (method "linear").
	xs := []float64{1, 2, 4, 8, 16}
	for _, c := range []struct{ q, want float64 }{
		{0, 1}, {1, 16}, {0.5, 4}, {0.1, 1.4}, {0.9, 12.8}, {0.25, 2},
	} {
		if got := Quantile(xs, c.q); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Quantile(%v, %g) = %g, want %g", xs, c.q, got, c.want)
		}
	}
	if got := Quantile(nil, 0.5); !math.IsNaN(got) {
		t.Errorf("Quantile(nil) = %g, want NaN", got)
	}
}
