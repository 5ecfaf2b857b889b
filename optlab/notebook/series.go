package notebook

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// NotebookInfo is one notebook of the series, for the index's map.
type NotebookInfo struct {
	// Name is the file name without .ipynb, e.g. "03_challenges".
	Name string
	// Part is the walkthrough's part (1–3), or 0 for notebooks beyond it.
	Part int
	// Title is the notebook's title without its number.
	Title string
	// Question is the walkthrough's question it answers (0: none).
	Question int
	// About says in a sentence what it measures.
	About string
}

// series is the list of notebooks, in reading order.
var series = []NotebookInfo{
	{Name: "01_why_optimize", Part: 1, Question: 1, Title: "Why optimize?",
		About: "A loss minimised step by step; blind search against gradients; a bad learning rate; a non-convex surface measured; penalties and learning rates."},
	{Name: "02_gradient_descent_variants", Part: 1, Question: 2, Title: "Gradient descent and its variants",
		About: "The loop written out; batch, stochastic and mini-batch; momentum, Nesterov, Adagrad, RMSprop, Adam; state memory in bytes."},
	{Name: "03_challenges", Part: 1, Question: 3, Title: "Challenges",
		About: "Ill-conditioned valleys, saddles, plateaus, local minima, vanishing and exploding gradients, sparse gradients, learning-rate sensitivity."},
	{Name: "04_momentum_and_learning_rate", Part: 1, Question: 4, Title: "Momentum and learning rate",
		About: "Learning-rate and momentum sweeps, schedules, a large rate meeting momentum."},
	{Name: "04b_explore_momentum", Part: 1, Question: 4, Title: "Explore: learning rate × momentum",
		About: "Interactive: sliders for the learning rate and momentum on a quadratic and on Rosenbrock."},
	{Name: "05_sgd_vs_full_batch", Part: 2, Question: 5, Title: "SGD versus full-batch",
		About: "Cost per update, updates per epoch, gradient noise and generalisation."},
	{Name: "06_adam", Part: 2, Question: 6, Title: "Adam",
		About: "The two moments, bias correction in the first steps, memory, and when Adam disappoints."},
	{Name: "07_rmsprop_vs_adam", Part: 2, Question: 7, Title: "RMSprop versus Adam",
		About: "What Adam adds to RMSprop, and which wins on the tasks here."},
	{Name: "08_mnist_comparison", Part: 3, Question: 8, Title: "MNIST comparison",
		About: "Both answers' Keras experiments reproduced as written, then a fair comparison over seeds."},
	{Name: "09_choosing_an_optimizer", Part: 3, Question: 9, Title: "Choosing an optimizer",
		About: "A measured report card: speed, accuracy and its spread, train–test gap, learning-rate sensitivity, memory, time."},
	{Name: "10_beyond", Title: "Beyond the walkthrough",
		About: "AdamW, Lion, LAMB, schedules and the other rules in the package."},
	{Name: "11_diagnostics", Title: "Diagnostics",
		About: "Why optimizers behave as they do: learning-rate range test, sharpness, loss-landscape slices, per-step telemetry."},
	{Name: "12_benchmark", Title: "Benchmark",
		About: "Time to a validation target under AlgoPerf's protocol: workloads and targets, external and self-tuning, performance profiles and scores, the tuning budget, a resumed run."},
}

// Series returns the notebooks in reading order.
func Series() []NotebookInfo { return slices.Clone(series) }

// SeriesMarkdown renders the notebooks of one part (0: those beyond the
// walkthrough) as a Markdown table with links. A notebook whose file is not
// in dir (the notebooks' folder) yet is listed as coming, without a link.
func SeriesMarkdown(dir string, part int) (string, error) {
	var b strings.Builder
	b.WriteString("| notebook | question | what it shows |\n|---|---|---|\n")
	for _, n := range series {
		if n.Part != part {
			continue
		}
		num, _, _ := strings.Cut(n.Name, "_")
		name := fmt.Sprintf("%s %s", num, n.Title)
		switch _, err := os.Stat(filepath.Join(dir, n.Name+".ipynb")); {
		case err == nil:
			name = fmt.Sprintf("[%s](%s.ipynb)", name, n.Name)
		case errors.Is(err, fs.ErrNotExist):
			name += " *(coming)*"
		default:
			return "", err
		}
		q := "–"
		if n.Question > 0 {
			q = fmt.Sprintf("Q%d", n.Question)
		}
		fmt.Fprintf(&b, "| %s | %s | %s |\n", name, q, cellText(n.About))
	}
	return b.String(), nil
}

// ShowSeries shows SeriesMarkdown for the notebooks' folder (".": GoNB
// runs a cell in its notebook's folder).
func ShowSeries(part int) error {
	md, err := SeriesMarkdown(".", part)
	if err != nil {
		return err
	}
	showMarkdown(os.Stdout, md)
	return nil
}
