package optlab

import (
	"fmt"
	"strings"
	"testing"

	"optlab.dev/optlab/models"
)

func TestBenchTrainingReportsThroughput(t *testing.T) {
	d := testData(t, models.SplitTest, 2000)
	r, err := BenchTraining(testBackend(t), d.Train, "mlp-small", "adam", 32, 10, 1, 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.Steps != 10 || r.BatchSize != 32 || r.Model != "mlp-small" {
		t.Errorf("got steps %d batch %d model %q, want 10, 32, mlp-small", r.Steps, r.BatchSize, r.Model)
	}
	if r.SamplesPerSec <= 0 || r.Seconds <= 0 || r.FirstStepSeconds <= 0 {
		t.Errorf("non-positive timing: %+v", r)
	}
	if want := int64(784*128 + 128 + 128*64 + 64 + 64*10 + 10); r.Params != want {
		t.Errorf("params = %d, want %d", r.Params, want)
	}
	if r.PeakRSSBytes <= 0 {
		t.Errorf("peak RSS = %d, want > 0", r.PeakRSSBytes)
	}
}

func TestBenchTrainingRejectsBadInput(t *testing.T) {
	d := testData(t, models.SplitTest, 100)
	b := testBackend(t)
	cases := []struct {
		name                string
		model, opt          string
		batch, steps, epoch int
		want                string
	}{
		{"too few examples", "mlp-small", "adam", 32, 10, 1, "need 320 examples"},
		{"zero batch", "mlp-small", "adam", 0, 1, 1, "batch size must be ≥ 1, got 0"},
		{"zero steps", "mlp-small", "adam", 1, 0, 1, "steps must be ≥ 1, got 0"},
		{"zero epochs", "mlp-small", "adam", 1, 1, 0, "epochs must be ≥ 1, got 0"},
		{"unknown model", "mlp-huge", "adam", 10, 1, 1, `"mlp-huge"`},
		{"bad optimizer", "mlp-small", "adam(lr=-1)", 10, 1, 1, "lr"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := BenchTraining(b, d.Train, c.model, c.opt, c.batch, c.steps, c.epoch, 1, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

// TestBenchUpdateStateMemory checks the update benchmark's accounting: the
// state the optimizer reports, the state variables that exist, and (on the
// pure-Go backend, whose buffers are Go memory) the growth of resident memory
// agree within 5%.
func TestBenchUpdateStateMemory(t *testing.T) {
	const n = 32 << 20 // 32M parameters: 128 MiB per slot, so the few MiB of unrelated allocation seen between runs stay well inside 5%
	for _, c := range []struct {
		spec  string
		slots int64
	}{{"sgd", 0}, {"momentum", 1}, {"adam", 2}} {
		t.Run(c.spec, func(t *testing.T) {
			r, err := BenchUpdate(testBackend(t), c.spec, n, 2)
			if err != nil {
				t.Fatal(err)
			}
			if want := 4 * n * c.slots; r.StateBytes != want || r.MeasuredStateBytes < want {
				t.Errorf("state bytes %d (variables %d), want %d", r.StateBytes, r.MeasuredStateBytes, want)
			}
			if want := 4 * n * (3 + 2*c.slots); r.TrafficBytesPerStep != want {
				t.Errorf("traffic %d bytes/step, want %d", r.TrafficBytesPerStep, want)
			}
			if c.slots > 0 {
				diff := float64(r.RSSGrowthBytes-r.StateBytes) / float64(r.StateBytes)
				if diff < -0.05 || diff > 0.05 {
					t.Errorf("resident memory grew %d bytes across the first step, optimizer reports %d state bytes (%+.1f%%)",
						r.RSSGrowthBytes, r.StateBytes, 100*diff)
				}
			}
			t.Logf("%s: state %d B, RSS growth %d B, %.3g params/s", c.spec, r.StateBytes, r.RSSGrowthBytes, r.ParamsPerSec)
			if r.ParamsPerSec <= 0 {
				t.Errorf("params/s = %v", r.ParamsPerSec)
			}
		})
	}
}

func TestBenchUpdateRejectsBadInput(t *testing.T) {
	b := testBackend(t)
	for _, c := range []struct {
		spec   string
		params int64
		steps  int
		want   string
	}{
		{"adam", 0, 1, "parameter count must be ≥ 1, got 0"},
		{"adam", 10, 0, "steps must be ≥ 1, got 0"},
		{"adamm", 10, 1, "adamm"},
	} {
		if _, err := BenchUpdate(b, c.spec, c.params, c.steps); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("BenchUpdate(%q, %d, %d): error %v, want one containing %q", c.spec, c.params, c.steps, err, c.want)
		}
	}
}

// BenchmarkTrain measures training steps (Adam) of the walkthrough's two
// models at batch 32 and 256 on the backend named by $GOMLX_BACKEND (default:
// the pure-Go backend), through the same loop as Train. ns/op is the time of
// one step; samples/s is the throughput. The reference figures come from
// scripts/bench/torch_mlp.py, and scripts/bench/compare.py prints the ratios.
func BenchmarkTrain(b *testing.B) {
	backend, err := NewBackend("")
	if err != nil {
		b.Fatal(err)
	}
	m, err := models.LoadMNIST("")
	if err != nil {
		b.Fatal(err)
	}
	for _, model := range []string{"mlp-small", "mlp-bn"} {
		for _, batch := range []int{32, 256} {
			b.Run(fmt.Sprintf("%s/batch=%d", model, batch), func(b *testing.B) {
				steps := min(b.N, m.Train.Len()/batch)
				epochs := (b.N + steps - 1) / steps
				r, err := BenchTraining(backend, m.Train, model, "adam", batch, steps, epochs, 1, nil)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(r.Seconds/float64(r.Steps)*1e9, "ns/op")
				b.ReportMetric(r.SamplesPerSec, "samples/s")
				b.ReportMetric(float64(r.Steps*batch)/r.CPUSeconds, "samples/cpu-s")
			})
		}
	}
}
