package main

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"optlab.dev/optlab/runs"
)

// TestTrainWrappers trains mlp-small a little on MNIST with the wrappers
// through the CLI, sam taking its second gradient every update (with
// telemetry on, which builds its own graph): the training loss falls from
// the first epoch to the second, and the run reports a finite validation
// loss (for ema, the averaged weights') and the state of the base and the
// wrapper.
func TestTrainWrappers(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		slots int64 // float32 buffers per parameter
	}{
		{"sam(base=sgd(lr=0.05))", 0},
		{"lookahead(base=adam)", 3},
		{"ema(base=adam,decay=0.95)", 3},
	} {
		t.Run(tc.spec, func(t *testing.T) {
			dir := t.TempDir()
			code, out, errOut := runCLI("train", "--optimizers", tc.spec, "--limit", "1200", "--epochs", "2", "--batch-size", "32",
				"--telemetry", "19", "--out", dir)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			hs, err := runs.ReadResults(filepath.Join(dir, "train.json"))
			if err != nil || len(hs) != 1 {
				t.Fatalf("results: %v (%d histories)\n%s", err, len(hs), out)
			}
			h := hs[0]
			if len(h.Epochs) != 2 || !(h.Epochs[1].Loss < h.Epochs[0].Loss) {
				t.Fatalf("%s: epochs %+v: the loss did not fall", tc.spec, h.Epochs)
			}
			if math.IsNaN(h.Epochs[1].ValLoss) || h.Epochs[1].ValAccuracy < 0.5 || h.TestAccuracy < 0.5 {
				t.Errorf("%s: val loss %v, val accuracy %v, test accuracy %v", tc.spec, h.Epochs[1].ValLoss, h.Epochs[1].ValAccuracy, h.TestAccuracy)
			}
			if h.StateBytes != 4*tc.slots*h.Params {
				t.Errorf("%s: state %d bytes, want %d buffers of %d parameters", tc.spec, h.StateBytes, tc.slots, h.Params)
			}
			if len(h.Telemetry) != 4 || h.Telemetry[0].GradNorm <= 0 {
				t.Errorf("%s: %d telemetry records: %+v", tc.spec, len(h.Telemetry), h.Telemetry)
			}
			if !strings.Contains(out, "test_loss") {
				t.Errorf("output lacks the test metrics:\n%s", out)
			}
		})
	}
}
