package runs

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"optlab.dev/optlab"

	"optlab.dev/internal/atomicfile"
)

// CSVHeader is the header of the per-epoch CSV written by WriteCSV.
var csvHeader = []string{"model", "optimizer", "seed", "batch_size", "backend", "epoch", "steps",
	"loss", "accuracy", "val_loss", "val_accuracy", "seconds", "samples_per_sec",
	"test_loss", "test_accuracy", "state_bytes", "error"}

// WriteCSV writes one row per run and epoch (Keras' history columns plus the
// run's configuration and final test metrics). A run that stopped before its
// first epoch finished still gets one row with its error.
func WriteCSV(w io.Writer, hs []*optlab.History) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(csvHeader); err != nil {
		return err
	}
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', 8, 64) }
	for _, h := range hs {
		epochs := h.Epochs
		if len(epochs) == 0 {
			epochs = []optlab.Epoch{{}}
		}
		for _, e := range epochs {
			row := []string{h.Model, h.Optimizer, strconv.FormatInt(h.Seed, 10), strconv.Itoa(h.BatchSize), h.Backend,
				strconv.Itoa(e.Epoch), strconv.Itoa(e.Steps), f(e.Loss), f(e.Accuracy), f(e.ValLoss), f(e.ValAccuracy),
				f(e.Seconds), f(e.SamplesPerSec), f(h.TestLoss), f(h.TestAccuracy), strconv.FormatInt(h.StateBytes, 10), h.Err}
			if err := cw.Write(row); err != nil {
				return err
			}
		}
	}
	cw.Flush()
	return cw.Error()
}

// SaveResults writes hs to dir/name.csv and dir/name.json, creating dir. Each
// file is written to a temporary name, synced and renamed, so an interrupted
// save never leaves a half-written file behind. It returns the two paths.
func SaveResults(dir, name string, hs []*optlab.History) (csvPath, jsonPath string, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", fmt.Errorf("creating results directory: %w", err)
	}
	csvPath = filepath.Join(dir, name+".csv")
	jsonPath = filepath.Join(dir, name+".json")
	if err := atomicfile.Write(csvPath, func(w io.Writer) error { return WriteCSV(w, hs) }); err != nil {
		return "", "", err
	}
	err = atomicfile.Write(jsonPath, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(hs)
	})
	return csvPath, jsonPath, err
}

// ReadResults reads histories written by SaveResults' JSON file.
func ReadResults(jsonPath string) ([]*optlab.History, error) {
	raw, err := os.ReadFile(jsonPath)
	if err != nil {
		return nil, err
	}
	var hs []*optlab.History
	if err := json.Unmarshal(raw, &hs); err != nil {
		return nil, fmt.Errorf("%s: %w", jsonPath, err)
	}
	return hs, nil
}
