package runs

import (
	"math"

	"fmt"
	"path/filepath"

	"optlab.dev/optlab"

	"github.com/dustin/go-humanize"

	"optlab.dev/optlab/plots"
)

// FormatEpoch formats one epoch the way Keras prints it:
// "optlab.Epoch 1/5 - 12.3s - 4,512 samples/s - loss: 0.3223 - accuracy: 0.9201 - val_loss: ... - val_accuracy: ...".
func FormatEpoch(e optlab.Epoch, epochs int) string {
	return fmt.Sprintf("optlab.Epoch %d/%d - %.1fs - %s samples/s - loss: %.4f - accuracy: %.4f - val_loss: %.4f - val_accuracy: %.4f",
		e.Epoch, epochs, e.Seconds, FormatCount(e.SamplesPerSec), e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy)
}

// FormatCount formats a number rounded to an integer with thousands
// separators: 4512.4 → "4,512".
func FormatCount(x float64) string { return humanize.Comma(int64(math.Round(x))) }

// SummaryTable renders summaries as a table: mean ± std over seeds of the test
// accuracy and loss, throughput and optimizer state size.
func SummaryTable(ss []optlab.Summary) *plots.Table {
	t := &plots.Table{Header: []string{"optimizer", "runs", "test accuracy", "test loss", "val accuracy", "samples/s", "state"}}
	pm := func(m, s float64, runs int, digits int) string {
		if runs > 1 {
			return fmt.Sprintf("%.*f ± %.*f", digits, m, digits, s)
		}
		return fmt.Sprintf("%.*f", digits, m)
	}
	for _, s := range ss {
		ok := s.Runs - s.Failed
		runs := fmt.Sprint(s.Runs)
		if s.Failed > 0 {
			runs = fmt.Sprintf("%d (%d failed)", s.Runs, s.Failed)
		}
		if ok == 0 {
			t.AddRow(s.Optimizer, runs, "-", "-", "-", "-", humanize.IBytes(uint64(s.StateBytes)))
			continue
		}
		t.AddRow(s.Optimizer, runs, pm(s.TestAccMean, s.TestAccStd, ok, 4), pm(s.TestLossMean, s.TestLossStd, ok, 4),
			pm(s.ValAccMean, s.ValAccStd, ok, 4), FormatCount(s.SamplesPerSec), humanize.IBytes(uint64(s.StateBytes)))
	}
	if len(ss) > 0 && ss[0].Runs > 1 {
		t.Note = "mean ± sample standard deviation over seeds"
	}
	return t
}

// HistoryTable renders one run's history as Keras' history.history columns.
func HistoryTable(h *optlab.History) *plots.Table {
	t := &plots.Table{Title: fmt.Sprintf("%s · %s · seed %d", h.Model, h.Name(), h.Seed),
		Header: []string{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}}
	for _, e := range h.Epochs {
		t.AddRow(e.Epoch, fmt.Sprintf("%.6f", e.Loss), fmt.Sprintf("%.6f", e.Accuracy),
			fmt.Sprintf("%.6f", e.ValLoss), fmt.Sprintf("%.4f", e.ValAccuracy), fmt.Sprintf("%.1f", e.Seconds))
	}
	return t
}

// Series returns metric m of h per epoch as a plot series named by the optimizer.
func Series(h *optlab.History, m optlab.Metric) plots.Series {
	s := plots.Series{Name: h.Name(), Group: h.Name()}
	for _, e := range h.Epochs {
		s.X = append(s.X, float64(e.Epoch))
		s.Y = append(s.Y, e.Value(m))
	}
	return s
}

// CurveSeries groups histories by optimizer and returns, for metric m, one
// series per optimizer: the single run, or the mean over seeds with a min–max
// band. Runs that stopped early are skipped in groups of several seeds.
func CurveSeries(hs []*optlab.History, m optlab.Metric) []plots.Series {
	order, groups := optlab.GroupByName(hs)
	var out []plots.Series
	for _, name := range order {
		g := groups[name]
		if len(g) == 1 {
			out = append(out, Series(g[0], m))
			continue
		}
		n := -1
		var runs [][]float64
		for _, h := range g {
			if h.Err != "" {
				continue
			}
			if n < 0 || len(h.Epochs) < n {
				n = len(h.Epochs)
			}
			s := Series(h, m)
			runs = append(runs, s.Y)
		}
		if len(runs) == 0 || n <= 0 {
			continue
		}
		x := make([]float64, n)
		for i := range x {
			x[i] = float64(i + 1)
		}
		for j := range runs {
			runs[j] = runs[j][:n]
		}
		s, err := plots.MeanBand(fmt.Sprintf("%s (%d seeds)", name, len(runs)), x, runs)
		if err == nil {
			s.Group = name
			out = append(out, s)
		}
	}
	return out
}

// CurvesFigure draws training and validation loss and accuracy per epoch, one
// colour per optimizer (validation dashed), as two panels side by side.
func CurvesFigure(hs []*optlab.History) (*plots.Figure, error) {
	valName := "val"
	if len(hs) > 0 && hs[0].ValSplit != "" {
		valName = hs[0].ValSplit
	}
	panel := func(title, ylabel string, trainM, valM optlab.Metric, legend bool) (*plots.Figure, error) {
		var ss []plots.Series
		for _, s := range CurveSeries(hs, trainM) {
			s.Name += " train"
			ss = append(ss, s)
		}
		for _, s := range CurveSeries(hs, valM) {
			s.Name += " " + valName
			s.Dashed = true
			ss = append(ss, s)
		}
		return plots.Lines(plots.Axes{Title: title, XLabel: "epoch", YLabel: ylabel, Markers: true, HideLegend: !legend}, ss...)
	}
	loss, err := panel("Loss", "cross-entropy loss", optlab.MetricLoss, optlab.MetricValLoss, false)
	if err != nil {
		return nil, err
	}
	acc, err := panel("Accuracy", "accuracy (fraction correct)", optlab.MetricAccuracy, optlab.MetricValAccuracy, true)
	if err != nil {
		return nil, err
	}
	return plots.Panels(2, loss, acc)
}

// SaveCurves writes CurvesFigure(hs) to dir/name.png and returns its path.
// Runs without a finished epoch (interrupted or diverged in their first) are
// left out; when no run has one it writes nothing and returns "".
func SaveCurves(hs []*optlab.History, dir, name string) (string, error) {
	var drawn []*optlab.History
	for _, h := range hs {
		if len(h.Epochs) > 0 {
			drawn = append(drawn, h)
		}
	}
	if len(drawn) == 0 {
		return "", nil
	}
	fig, err := CurvesFigure(drawn)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".png")
	return path, fig.Save(path)
}
