package optlab

import (
	"fmt"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gomlx/gomlx/backends"

	"optlab.dev/optlab/plots"
)

// Env bundles what every experiment needs: a backend and the data splits.
type Env struct {
	Backend backends.Backend
	Data    *Data
}

// DescribeBackend names a backend for run logs, e.g. "go (pure Go, 2 CPUs)".
func DescribeBackend(b backends.Backend) string {
	if IsPureGo(b) {
		return fmt.Sprintf("go (GoMLX pure-Go backend, %d CPUs)", runtime.NumCPU())
	}
	return fmt.Sprintf("%s (%s)", b.Name(), b.Description())
}

// IsPureGo reports whether b is GoMLX's pure-Go backend.
func IsPureGo(b backends.Backend) bool {
	n := b.Name()
	return n == "go" || strings.HasSuffix(n, "(go)")
}

// FormatEpoch formats one epoch the way Keras prints it:
// "Epoch 1/5 - 12.3s - 4,512 samples/s - loss: 0.3223 - accuracy: 0.9201 - val_loss: ... - val_accuracy: ...".
func FormatEpoch(e Epoch, epochs int) string {
	return fmt.Sprintf("Epoch %d/%d - %.1fs - %s samples/s - loss: %.4f - accuracy: %.4f - val_loss: %.4f - val_accuracy: %.4f",
		e.Epoch, epochs, e.Seconds, FormatCount(e.SamplesPerSec), e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy)
}

// FormatCount formats a non-negative number with thousands separators, rounded.
func FormatCount(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	out := []byte{}
	for i := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			out = append(out, ',')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// FormatBytes formats a byte count with binary units ("1.2 MiB").
func FormatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// SummaryTable renders summaries as a table: mean ± std over seeds of the test
// accuracy and loss, throughput and optimizer state size.
func SummaryTable(ss []Summary) *plots.Table {
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
			t.AddRow(s.Optimizer, runs, "-", "-", "-", "-", FormatBytes(s.StateBytes))
			continue
		}
		t.AddRow(s.Optimizer, runs, pm(s.TestAccMean, s.TestAccStd, ok, 4), pm(s.TestLossMean, s.TestLossStd, ok, 4),
			pm(s.ValAccMean, s.ValAccStd, ok, 4), FormatCount(s.SamplesPerSec), FormatBytes(s.StateBytes))
	}
	if len(ss) > 0 && ss[0].Runs > 1 {
		t.Note = "mean ± sample standard deviation over seeds"
	}
	return t
}

// HistoryTable renders one run's history as Keras' history.history columns.
func HistoryTable(h *History) *plots.Table {
	t := &plots.Table{Title: fmt.Sprintf("%s · %s · seed %d", h.Model, h.Name(), h.Seed),
		Header: []string{"epoch", "loss", "accuracy", "val_loss", "val_accuracy", "seconds"}}
	for _, e := range h.Epochs {
		t.AddRow(e.Epoch, fmt.Sprintf("%.6f", e.Loss), fmt.Sprintf("%.6f", e.Accuracy),
			fmt.Sprintf("%.6f", e.ValLoss), fmt.Sprintf("%.4f", e.ValAccuracy), fmt.Sprintf("%.1f", e.Seconds))
	}
	return t
}

// Metric selects one per-epoch value of a History.
type Metric string

// The per-epoch metrics, named as in Keras' history.history.
const (
	MetricLoss        Metric = "loss"
	MetricAccuracy    Metric = "accuracy"
	MetricValLoss     Metric = "val_loss"
	MetricValAccuracy Metric = "val_accuracy"
)

// Value returns metric m of epoch e.
func (e Epoch) Value(m Metric) float64 {
	switch m {
	case MetricLoss:
		return e.Loss
	case MetricAccuracy:
		return e.Accuracy
	case MetricValLoss:
		return e.ValLoss
	case MetricValAccuracy:
		return e.ValAccuracy
	}
	panic(fmt.Sprintf("optlab: unknown metric %q", m))
}

// Series returns metric m per epoch as a plot series named by the optimizer.
func (h *History) Series(m Metric) plots.Series {
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
func CurveSeries(hs []*History, m Metric) []plots.Series {
	order, groups := groupByName(hs)
	var out []plots.Series
	for _, name := range order {
		g := groups[name]
		if len(g) == 1 {
			out = append(out, g[0].Series(m))
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
			s := h.Series(m)
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
func CurvesFigure(hs []*History) (*plots.Figure, error) {
	valName := "val"
	if len(hs) > 0 && hs[0].ValSplit != "" {
		valName = hs[0].ValSplit
	}
	panel := func(title, ylabel string, trainM, valM Metric, legend bool) (*plots.Figure, error) {
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
	loss, err := panel("Loss", "cross-entropy loss", MetricLoss, MetricValLoss, false)
	if err != nil {
		return nil, err
	}
	acc, err := panel("Accuracy", "accuracy (fraction correct)", MetricAccuracy, MetricValAccuracy, true)
	if err != nil {
		return nil, err
	}
	return plots.Grid(2, loss, acc)
}

// SaveCurves writes CurvesFigure(hs) to dir/name.png and returns its path.
func SaveCurves(hs []*History, dir, name string) (string, error) {
	fig, err := CurvesFigure(hs)
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, name+".png")
	return path, fig.Save(path)
}
