package plots

import (
	"fmt"
	"math"
	"strings"
	"testing"
)

// TestIntervals draws a chart of three estimates near 97% whose intervals
// differ by tenths of a point, one row without a value, and a reference
// line; the axis is zoomed to the data, so the rows' dots land far apart.
func TestIntervals(t *testing.T) {
	rows := []Interval{
		{Name: "adam", Value: 0.975, Lo: 0.973, Hi: 0.977, Label: "97.5 ± 0.2%", Group: "adaptive"},
		{Name: "rmsprop", Value: 0.972, Lo: 0.970, Hi: 0.974, Label: "97.2 ± 0.2%", Group: "adaptive"},
		{Name: "sgd", Value: 0.958, Lo: math.NaN(), Hi: math.NaN(), Label: "95.8% (one run)", Group: "sgd"},
		{Name: "lars", Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN(), Label: "never reached the target", Group: "sgd"},
	}
	fig, err := Intervals(IntervalChart{Title: "Test accuracy", ValueLabel: "test accuracy (axis zoomed to the data)",
		Rows: rows, Reference: 0.96, RefLabel: "target", Format: func(v float64) string { return fmt.Sprintf("%.3f", v) }})
	if err != nil {
		t.Fatal(err)
	}
	data, err := fig.PNG()
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "intervals.png", data)
	img := decodePNG(t, data, int(fig.Width*float64(fig.DPI)), int(fig.Height*float64(fig.DPI)))
	// Two colours: the adaptive rows' and the SGD row's dot.
	if n0, n1 := countColor(img, SeriesColor(0), 10), countColor(img, SeriesColor(1), 10); n0 < 100 || n1 < 20 {
		t.Errorf("pixels of the first colour %d (two dots and intervals), of the second %d (one dot): too few", n0, n1)
	}
	for _, bad := range []IntervalChart{
		{Title: "empty"},
		{Title: "outside", Rows: []Interval{{Name: "a", Value: 1, Lo: 2, Hi: 3}}, Reference: math.NaN()},
		{Title: "one bound", Rows: []Interval{{Name: "a", Value: 1, Lo: 0, Hi: math.NaN()}}, Reference: math.NaN()},
		{Title: "nothing", Rows: []Interval{{Name: "a", Value: math.NaN(), Lo: math.NaN(), Hi: math.NaN()}}, Reference: math.NaN()},
	} {
		if _, err := Intervals(bad); err == nil || !strings.Contains(err.Error(), bad.Title) {
			t.Errorf("chart %q: error %v, want one naming the chart", bad.Title, err)
		}
	}
}
