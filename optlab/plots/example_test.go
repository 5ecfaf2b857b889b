package plots_test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"

	"optlab.dev/optlab/plots"
)

// A results table prints as aligned text; in a notebook, Display shows it as
// HTML instead.
func ExampleTable() {
	t := plots.NewTable("Test accuracy after 5 epochs", "optimizer", "accuracy", "state")
	_ = t.AddRow("sgd(lr=0.01)", 0.9506, plots.FormatBytes(0))
	_ = t.AddRow("adam(lr=1e-3)", 0.9769, plots.FormatBytes(875088))
	fmt.Print(t)
	// Output:
	// Test accuracy after 5 epochs
	// optimizer      accuracy    state
	// --------------------------------
	// sgd(lr=0.01)     0.9506      0 B
	// adam(lr=1e-3)    0.9769  855 KiB
}

// Training curves of several seeds: MeanBand turns the runs into a mean line
// with a shaded band, Lines draws them, Save picks PNG or SVG by extension.
func ExampleLines() {
	steps := []float64{1, 2, 3, 4, 5}
	runs := [][]float64{{2.3, 1.1, 0.7, 0.5, 0.4}, {2.2, 1.3, 0.8, 0.55, 0.42}, {2.4, 1.2, 0.75, 0.5, 0.38}}
	s, err := plots.MeanBand("sgd (3 seeds)", steps, runs)
	if err != nil {
		fmt.Println(err)
		return
	}
	fig, err := plots.Lines(plots.Axes{Title: "Training loss", XLabel: "epoch", YLabel: "cross-entropy"}, s)
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, _ := os.MkdirTemp("", "plots")
	defer os.RemoveAll(dir)
	fmt.Println(fig.Save(filepath.Join(dir, "loss.svg")))
	// Output: <nil>
}

// A contour plot of a function with one optimizer's path (here plain
// gradient descent on a quadratic bowl, written out by hand).
func ExampleContour() {
	f := func(x, y float64) float64 { return 0.5 * (x*x + 10*y*y) }
	path := plots.Path{Name: "gd(lr=0.15)", X: []float64{-4}, Y: []float64{1.5}}
	for i := 0; i < 30; i++ {
		x, y := path.X[i], path.Y[i]
		path.X = append(path.X, x-0.15*x)
		path.Y = append(path.Y, y-0.15*10*y)
	}
	fig, err := plots.Contour(plots.Landscape{Title: "bowl", F: f, XMin: -5, XMax: 5, YMin: -2, YMax: 2,
		Minima: [][2]float64{{0, 0}}}, path)
	if err != nil {
		fmt.Println(err)
		return
	}
	png, err := fig.PNG()
	fmt.Println(err, len(png) > 1000, math.Abs(path.Y[30]) < 1e-3)
	// Output: <nil> true true
}
