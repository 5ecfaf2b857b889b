package runs

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"optlab.dev/optlab"
)

func TestSaveAndReadResults(t *testing.T) {
	hs := []*optlab.History{{Model: "m", Optimizer: "sgd(lr=0.1)", Epochs: []optlab.Epoch{{Epoch: 1, Loss: 0.5, ValAccuracy: 0.9}}, TestAccuracy: 0.91}}
	dir := filepath.Join(t.TempDir(), "out")
	csvPath, jsonPath, err := SaveResults(dir, "compare", hs)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(csvPath)
	if lines := strings.Split(strings.TrimSpace(string(raw)), "\n"); len(lines) != 2 || !strings.HasPrefix(lines[0], "model,optimizer") {
		t.Errorf("CSV:\n%s", raw)
	}
	back, err := ReadResults(jsonPath)
	if err != nil || len(back) != 1 || back[0].TestAccuracy != 0.91 || back[0].Epochs[0].Loss != 0.5 {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if _, err := SaveCurves(hs, dir, "compare"); err != nil {
		t.Errorf("SaveCurves: %v", err)
	}
}

// TestSaveResultsOfADivergedRun writes a history with NaN and infinite
// metrics and reads both files back: the JSON through ReadResults, the CSV
// as a spreadsheet or pandas would, one float per cell.
func TestSaveResultsOfADivergedRun(t *testing.T) {
	h := &optlab.History{Model: "mlp-small", Optimizer: "sgd(lr=1000)", Seed: 1, BatchSize: 32,
		Epochs:   []optlab.Epoch{{Epoch: 1, Loss: math.Inf(1), Accuracy: 0.1, ValLoss: math.NaN(), ValAccuracy: 0.1, Steps: 10}},
		TestLoss: math.NaN(), TestAccuracy: 0.1}
	dir := t.TempDir()
	csvPath, jsonPath, err := SaveResults(dir, "train", []*optlab.History{h})
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadResults(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	if e := back[0].Epochs[0]; !math.IsInf(e.Loss, 1) || !math.IsNaN(e.ValLoss) || !math.IsNaN(back[0].TestLoss) || e.Accuracy != 0.1 {
		t.Fatalf("JSON read back: %+v", back[0])
	}
	f, err := os.Open(csvPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil || len(rows) != 2 {
		t.Fatalf("CSV: %v, %d rows", err, len(rows))
	}
	cell := map[string]float64{}
	for i, name := range rows[0] {
		if v, err := strconv.ParseFloat(rows[1][i], 64); err == nil {
			cell[name] = v
		}
	}
	if !math.IsInf(cell["loss"], 1) || !math.IsNaN(cell["val_loss"]) || !math.IsNaN(cell["test_loss"]) {
		t.Fatalf("CSV read back: %v", cell)
	}
	if _, err := os.Stat(filepath.Join(dir, "train.json")); err != nil {
		t.Fatal(err)
	}
}
