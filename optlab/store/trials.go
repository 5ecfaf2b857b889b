package store

import (
	"strconv"

	"optlab.dev/internal/jsonfloat"
	"optlab.dev/optlab/sweep"
)

// epochNoTimes is an epoch's metrics without its timings.
type epochNoTimes struct {
	Epoch       int     `json:"epoch"`
	Loss        float64 `json:"loss"`
	Accuracy    float64 `json:"accuracy"`
	ValLoss     float64 `json:"val_loss"`
	ValAccuracy float64 `json:"val_accuracy"`
	Steps       int     `json:"steps"`
	LR          float64 `json:"lr,omitempty"`
}

// evalNoTimes is an evaluation's metrics without its timings (a benchmark
// trial's evaluations every N steps).
type evalNoTimes struct {
	Step        int     `json:"step"`
	Loss        float64 `json:"loss"`
	ValLoss     float64 `json:"val_loss"`
	ValAccuracy float64 `json:"val_accuracy"`
}

// TrialTable returns one row per record, sorted as given: the Config and
// Result columns of the trials table (no timings, no host), followed by
// "epoch_metrics", every epoch's losses, accuracies and step count as JSON,
// and "eval_metrics", a benchmark trial's evaluations (step, losses,
// accuracy) as JSON ("[]" for a sweep trial).
// Two runs of the same trials give the same table, bit for bit (floats are
// written in their shortest exact form; NaN as "NaN", NULL as ""), which is
// how a sweep fanned out over machines is checked against one run in one
// process.
func TrialTable(recs []sweep.Record) (header []string, rows [][]string, err error) {
	var cols []Column
	for _, c := range Columns() {
		if c.Kind == Config || c.Kind == Result {
			cols = append(cols, c)
			header = append(header, c.Name)
		}
	}
	header = append(header, "epoch_metrics", "eval_metrics")
	for _, r := range recs {
		vals, err := rowValues(r)
		if err != nil {
			return nil, nil, err
		}
		row := make([]string, 0, len(header))
		all := Columns()
		for _, c := range cols {
			for i, a := range all {
				if a.Name == c.Name {
					row = append(row, cell(vals[i]))
				}
			}
		}
		es := make([]epochNoTimes, len(r.Hist.Epochs))
		for i, e := range r.Hist.Epochs {
			es[i] = epochNoTimes{e.Epoch, e.Loss, e.Accuracy, e.ValLoss, e.ValAccuracy, e.Steps, e.LR}
		}
		b, err := jsonfloat.Marshal(es)
		if err != nil {
			return nil, nil, err
		}
		evs := make([]evalNoTimes, len(r.Hist.Evals))
		for i, e := range r.Hist.Evals {
			evs[i] = evalNoTimes{e.Step, e.Loss, e.ValLoss, e.ValAccuracy}
		}
		eb, err := jsonfloat.Marshal(evs)
		if err != nil {
			return nil, nil, err
		}
		rows = append(rows, append(row, string(b), string(eb)))
	}
	return header, rows, nil
}

// cell formats a column value as text.
func cell(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		if x {
			return "1"
		}
		return "0"
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return ""
}
