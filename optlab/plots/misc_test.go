package plots

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestHeatmap(t *testing.T) {
	lrs := []string{"1e-4", "1e-3", "1e-2", "1e-1", "1"}
	moms := []string{"0", "0.5", "0.9", "0.99"}
	z := make([][]float64, len(moms))
	for r := range z {
		z[r] = make([]float64, len(lrs))
		for c := range z[r] {
			z[r][c] = math.Pow(10, -float64(c)+float64(r)*0.3) + 0.01
		}
	}
	z[3][4] = math.NaN()
	z[3][3] = math.Inf(1)
	for _, logColor := range []bool{false, true} {
		fig, err := Heatmap(HeatmapData{Title: "Final loss", XLabel: "learning rate", YLabel: "momentum", ZLabel: "final loss",
			XTicks: lrs, YTicks: moms, Z: z, LogColor: logColor})
		if err != nil {
			t.Fatal(err)
		}
		data, err := fig.PNG()
		if err != nil {
			t.Fatal(err)
		}
		if logColor {
			keep(t, "heatmap.png", data)
		}
		img := decodePNG(t, data, 768, 480)
		// Both ends of the colour map and the diverged grey are present.
		for _, c := range []any{viridis(0), viridis(1), divergedColor} {
			if n := countColor(img, c.(interface{ RGBA() (r, g, b, a uint32) }), 3); n < 200 {
				t.Errorf("log=%v: colour %v covers only %d pixels", logColor, c, n)
			}
		}
	}
	for _, tc := range []struct {
		h    HeatmapData
		want string
	}{
		{HeatmapData{Title: "e"}, "no values"},
		{HeatmapData{Z: [][]float64{{1, 2}}, XTicks: []string{"a"}, YTicks: []string{"r"}}, "1x2 values but 1 row and 1 column labels"},
		{HeatmapData{Z: [][]float64{{1, 2}, {3}}, XTicks: []string{"a", "b"}, YTicks: []string{"r", "s"}}, "row 1 has 1 values"},
		{HeatmapData{Z: [][]float64{{1, -2}}, XTicks: []string{"a", "b"}, YTicks: []string{"r"}, LogColor: true}, `value -2 at row "r", column "b"`},
		{HeatmapData{Z: [][]float64{{math.NaN()}}, XTicks: []string{"a"}, YTicks: []string{"r"}}, "no finite value"},
	} {
		if _, err := Heatmap(tc.h); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to mention %q", err, tc.want)
		}
	}
}

func TestBars(t *testing.T) {
	fig, err := Bars(BarChart{Title: "Optimizer state for 109,386 parameters", ValueLabel: "state (bytes)",
		Categories: []string{"sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"},
		Groups:     []BarGroup{{Name: "state", Values: []float64{0, 437544, 437544, 437544, 437544, 875088 + 8}}},
		Format:     FormatBytes})
	if err != nil {
		t.Fatal(err)
	}
	data, err := fig.PNG()
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "bars.png", data)
	img := decodePNG(t, data, 768, int(fig.Height*96+0.5))
	if n := countColor(img, SeriesColor(0), 5); n < 2000 {
		t.Errorf("bars cover only %d pixels", n)
	}
	two, err := Bars(BarChart{Title: "Time per step", ValueLabel: "time per step (ms)", Categories: []string{"sgd", "adam"},
		Groups: []BarGroup{{"go", []float64{3.1, 3.4}}, {"xla:cpu", []float64{0.8, 0.9}}}})
	if err != nil {
		t.Fatal(err)
	}
	data, err = two.PNG()
	if err != nil {
		t.Fatal(err)
	}
	keep(t, "bars2.png", data)
	img = decodePNG(t, data, 768, int(two.Height*96+0.5))
	if countColor(img, SeriesColor(1), 5) < 500 {
		t.Errorf("second group's bars are missing")
	}
	for _, tc := range []struct {
		b    BarChart
		want string
	}{
		{BarChart{Title: "x"}, "needs categories"},
		{BarChart{Categories: []string{"a"}, Groups: []BarGroup{{"g", []float64{1, 2}}}}, `group "g" has 2 values for 1 categories`},
		{BarChart{Categories: []string{"a"}, Groups: []BarGroup{{"g", []float64{-1}}}}, "value -1"},
		{BarChart{Categories: []string{"a"}, Groups: []BarGroup{{"g", []float64{math.NaN()}}}}, "value NaN"},
	} {
		if _, err := Bars(tc.b); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("error %v, want it to mention %q", err, tc.want)
		}
	}
}

func TestFormatBytes(t *testing.T) {
	for v, want := range map[float64]string{0: "0 B", 512: "512 B", 3072: "3.0 KiB", 1.6e6: "1.5 MiB", 50 << 20: "50 MiB", 3 << 30: "3.0 GiB"} {
		if got := FormatBytes(v); got != want {
			t.Errorf("FormatBytes(%g) = %q, want %q", v, got, want)
		}
	}
}

func TestTable(t *testing.T) {
	tb := NewTable("Results", "optimizer", "accuracy", "state", "time")
	if err := tb.AddRow("sgd", 0.97391, "0 B", "-"); err != nil {
		t.Fatal(err)
	}
	if err := tb.AddRow("adam <b>", 0.9773, "1.5 MiB", 1234); err != nil {
		t.Fatal(err)
	}
	if err := tb.AddRow("too", "few"); err == nil || !strings.Contains(err.Error(), "2 cells for 4 columns") {
		t.Errorf("want a cell-count error, got %v", err)
	}
	tb.Note = "one seed"
	want := "" +
		"Results\n" +
		"optimizer  accuracy    state  time\n" +
		"----------------------------------\n" +
		"sgd          0.9739      0 B     -\n" +
		"adam <b>     0.9773  1.5 MiB  1234\n" +
		"one seed\n"
	if got := tb.String(); got != want {
		t.Errorf("String():\n%s\nwant:\n%s", got, want)
	}
	h := tb.HTML()
	for _, s := range []string{"<table", "adam &lt;b&gt;", "text-align:right", "<caption", "one seed"} {
		if !strings.Contains(h, s) {
			t.Errorf("HTML lacks %q:\n%s", s, h)
		}
	}
	md := tb.Markdown()
	if !strings.Contains(md, "|---|---:|---:|---:|") || !strings.Contains(md, "| adam <b> | 0.9773 | 1.5 MiB | 1234 |") {
		t.Errorf("Markdown:\n%s", md)
	}
	var buf bytes.Buffer
	if err := tb.WriteText(&buf); err != nil || buf.String() != want {
		t.Errorf("WriteText = %q, %v", buf.String(), err)
	}
	for v, want := range map[any]string{math.NaN(): "NaN", math.Inf(-1): "-Inf", 1e-5: "1.000e-05", 123456.0: "1.235e+05", 2.5: "2.5", int64(7): "7", float32(0.5): "0.5"} {
		if got := FormatCell(v); got != want {
			t.Errorf("FormatCell(%v) = %q, want %q", v, got, want)
		}
	}
}
