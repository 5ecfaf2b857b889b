package notebook

import (
	"math"
	"testing"
)

func TestPairedRatio(t *testing.T) {
	// Every seed's ratio is 2: the estimate is exactly 2 with no spread.
	r, err := PairedRatio([]float64{2, 4, 6}, []float64{1, 2, 3}, 0.95)
	if err != nil || math.Abs(r.Factor()-2) > 1e-12 || math.Abs(r.Lo()-2) > 1e-12 || r.Choose(">", "=", "<") != ">" {
		t.Fatalf("constant ratio 2: %v (%v)", r, err)
	}
	// Ratios 1/2 and 2 are symmetric on the log scale: their mean is 1.
	r, err = PairedRatio([]float64{1, 4}, []float64{2, 2}, 0.95)
	if err != nil || math.Abs(r.Factor()-1) > 1e-12 || r.Choose(">", "=", "<") != "=" {
		t.Fatalf("ratios 1/2 and 2: %v (%v)", r, err)
	}
	// The interval is the Student-t interval of the log ratios, read back:
	// log ratios ln 0.5, ln 0.4, ln 0.6 (t(0.975, 2) = 4.3027).
	la := []float64{math.Log(0.5), math.Log(0.4), math.Log(0.6)}
	mean := (la[0] + la[1] + la[2]) / 3
	var ss float64
	for _, x := range la {
		ss += (x - mean) * (x - mean)
	}
	half := 4.302652729911275 * math.Sqrt(ss/2) / math.Sqrt(3)
	r, err = PairedRatio([]float64{0.5, 0.4, 0.6}, []float64{1, 1, 1}, 0.95)
	if err != nil || math.Abs(r.Factor()-math.Exp(mean)) > 1e-12 || math.Abs(r.Hi()-math.Exp(mean+half)) > 1e-9 {
		t.Fatalf("interval: got %v, want %g (to %g)", r, math.Exp(mean), math.Exp(mean+half))
	}
	if got, want := r.String(), "0.49× (95% CI 0.30× to 0.82×, n = 3)"; got != want {
		t.Errorf("String = %q, want %q", got, want)
	}
	for _, bad := range []struct {
		name string
		a, b []float64
	}{
		{"zero", []float64{0, 1}, []float64{1, 1}},
		{"negative", []float64{1, 1}, []float64{-1, 1}},
		{"NaN", []float64{math.NaN(), 1}, []float64{1, 1}},
		{"infinite", []float64{math.Inf(1), 1}, []float64{1, 1}},
		{"unpaired", []float64{1, 2, 3}, []float64{1, 1}},
		{"one pair", []float64{1}, []float64{2}},
	} {
		if _, err := PairedRatio(bad.a, bad.b, 0.95); err == nil {
			t.Errorf("%s: no error", bad.name)
		}
	}
}

func TestAgree(t *testing.T) {
	above := Estimate{Mean: 1, Lo: 0.5, Hi: 1.5, N: 5, Level: 0.95}
	below := Estimate{Mean: -1, Lo: -1.5, Hi: -0.5, N: 5, Level: 0.95}
	within := Estimate{Mean: 0.1, Lo: -0.5, Hi: 0.7, N: 5, Level: 0.95}
	for _, c := range []struct {
		name string
		x, y Estimate
		sign int
		want Agreement
	}{
		{"flatter and better, predicted −1", below, above, -1, Agrees},
		{"sharper and worse, predicted −1", above, below, -1, Agrees},
		{"flatter and worse, predicted −1", below, below, -1, Disagrees},
		{"more and more, predicted +1", above, above, 1, Agrees},
		{"outcome within noise", below, within, -1, Unresolved},
		{"property within noise", within, above, -1, Unresolved},
		{"no estimate", Estimate{}, above, -1, Unresolved},
	} {
		if got := Agree(c.x, c.y, c.sign); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
	if w := Agree(below, above, -1).Choose("yes", "unknown", "no"); w != "yes" {
		t.Errorf("Choose of Agrees = %q", w)
	}
}

func TestEstimateChooseWords(t *testing.T) {
	for _, c := range []struct {
		e    Estimate
		want string
	}{
		{Estimate{Mean: 2, Lo: 1, Hi: 3, N: 5}, "above"},
		{Estimate{Mean: -2, Lo: -3, Hi: -1, N: 5}, "below"},
		{Estimate{Mean: 0.5, Lo: -1, Hi: 2, N: 5}, "within"},
		{Estimate{Mean: 0, Lo: 0, Hi: 1, N: 5}, "within"}, // touching 0 is not resolved
		{Estimate{}, "within"},
	} {
		if got := c.e.Choose("above", "within", "below"); got != c.want {
			t.Errorf("%+v: %q, want %q", c.e, got, c.want)
		}
	}
}
