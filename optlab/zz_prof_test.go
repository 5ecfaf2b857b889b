package optlab

import (
	stdctx "context"
	"os"
	"strconv"
	"testing"

	"optlab.dev/optlab/models"
)

func TestZZProf(t *testing.T) {
	if os.Getenv("ZZPROF") == "" {
		t.Skip()
	}
	n, _ := strconv.Atoi(os.Getenv("ZZN"))
	if n == 0 {
		n = 6400
	}
	model := os.Getenv("ZZMODEL")
	if model == "" {
		model = "mlp-small"
	}
	bs, _ := strconv.Atoi(os.Getenv("ZZBS"))
	if bs == 0 {
		bs = 32
	}
	d := testData(t, models.SplitTest, n)
	d.Val = d.Val.Slice("v", 0, 500)
	d.Test = nil
	be, err := NewBackend(os.Getenv("ZZBACKEND"))
	if err != nil {
		t.Fatal(err)
	}
	h, err := Train(stdctx.Background(), be, d, Config{Model: model, Optimizer: "adam", Epochs: 2, BatchSize: bs, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range h.Epochs {
		t.Logf("epoch %d: %.0f samples/s (compile %.2fs)", e.Epoch, e.SamplesPerSec, h.CompileSeconds)
	}
}
