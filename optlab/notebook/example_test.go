package notebook_test

import (
	"fmt"

	"optlab.dev/optlab/notebook"
)

// A notebook states measured numbers by formatting them from the results in
// a cell's output, never by typing them into a Markdown cell. Outside GoNB,
// Markdown prints the text.
func ExampleMarkdown() {
	adam := []float64{0.9781, 0.9769, 0.9790, 0.9774, 0.9785} // test accuracy, seeds 1-5
	sgd := []float64{0.9512, 0.9530, 0.9498, 0.9521, 0.9507}
	a, err := notebook.MeanCI(adam, 0.95)
	if err != nil {
		panic(err)
	}
	d, err := notebook.PairedDiff(adam, sgd, 0.95)
	if err != nil {
		panic(err)
	}
	notebook.Markdown("Adam reaches %s; it beats SGD by %s, run for run.", a.Percent(), d.Points())
	notebook.Markdown("One epoch takes %s, %s fewer steps; %s images.", notebook.Seconds(725), notebook.Times(5.63), notebook.Count(55000))
	// Output:
	// Adam reaches 97.80 ± 0.10% (95% CI, n = 5); it beats SGD by +2.66 ± 0.26 points (95% CI, n = 5), run for run.
	// One epoch takes 12 min, 5.6× fewer steps; 55,000 images.
}

func ExampleMeanCI() {
	e, err := notebook.MeanCI([]float64{1, 2, 3, 4, 5}, 0.95)
	if err != nil {
		panic(err)
	}
	fmt.Println(e, e.Excludes(0))
	// Output: 3.0 ± 2.0 (95% CI, n = 5) true
}

// Choose lets the numbers pick the words: a difference whose interval holds 0
// is not called a win.
func ExampleEstimate_Choose() {
	for _, d := range [][2][]float64{
		{{0.9781, 0.9769, 0.9790, 0.9774, 0.9785}, {0.9512, 0.9530, 0.9498, 0.9521, 0.9507}},
		{{0.9781, 0.9769, 0.9790, 0.9774, 0.9785}, {0.9779, 0.9775, 0.9781, 0.9770, 0.9788}},
	} {
		e, err := notebook.PairedDiff(d[0], d[1], 0.95)
		if err != nil {
			panic(err)
		}
		fmt.Printf("Adam is %s SGD: %s.\n", e.Choose("ahead of", "level with", "behind"), e.Points())
	}
	// Output:
	// Adam is ahead of SGD: +2.66 ± 0.26 points (95% CI, n = 5).
	// Adam is level with SGD: +0.01 ± 0.07 points (95% CI, n = 5).
}

// Must keeps a notebook cell to the steps that matter: a failing step stops
// the cell with its error.
func ExampleMust() {
	grid := notebook.Must(notebook.LogGrid(0.01, 0.1, 2))
	fmt.Println(grid)
	// Output: [0.01 0.032 0.1]
}
