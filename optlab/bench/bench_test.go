package bench

import (
	"fmt"
	"strings"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

func TestBenchTrainingReportsThroughput(t *testing.T) {
	d := testData(t, datasets.SplitTest, 2000)
	r, err := Training(testBackend(t), d.Train, "mlp-small", optimizers.MustParse("adam"), 32, 10, 1, 1, nil)
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
	d := testData(t, datasets.SplitTest, 100)
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
		{"no optimizer", "mlp-small", "", 10, 1, 1, "optimizer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Training(b, d.Train, c.model, parseOrNil(c.opt), c.batch, c.steps, c.epoch, 1, nil)
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
			r, err := Update(testBackend(t), optimizers.MustParse(c.spec), n, 2)
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
		{"", 10, 1, "optimizer"},
	} {
		if _, err := Update(b, parseOrNil(c.spec), c.params, c.steps); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Update(%q, %d, %d): error %v, want one containing %q", c.spec, c.params, c.steps, err, c.want)
		}
	}
}

// BenchmarkTrain measures training steps (Adam) of the walkthrough's two
// models at batch 32 and 256 on the backend named by $GOMLX_BACKEND (default:
// the pure-Go backend), through the same loop as optlab.Train. ns/op is the time of
// one step; samples/s is the throughput. The reference figures come from
// scripts/bench/torch_mlp.py, and scripts/bench/compare.py prints the ratios.
func BenchmarkTrain(b *testing.B) {
	backend, err := optlab.NewBackend("")
	if err != nil {
		b.Fatal(err)
	}
	m, err := datasets.LoadMNIST("")
	if err != nil {
		b.Fatal(err)
	}
	for _, model := range []string{"mlp-small", "mlp-bn"} {
		for _, batch := range []int{32, 256} {
			b.Run(fmt.Sprintf("%s/batch=%d", model, batch), func(b *testing.B) {
				steps := min(b.N, m.Train.Len()/batch)
				epochs := (b.N + steps - 1) / steps
				r, err := Training(backend, m.Train, model, optimizers.MustParse("adam"), batch, steps, epochs, 1, nil)
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

// TestBenchUpdateNewRules runs the update benchmark for sam (two gradients
// per step, driven by a loss) and for shampoo and soap on a matrix, whose
// state depends on the shape: the state the optimizer reports must be what
// the update creates, but for the scalar state (step counter, ≤ 64 bytes).
func TestBenchUpdateNewRules(t *testing.T) {
	for _, c := range []struct {
		spec    string
		dims    []int
		traffic int64 // float32 reads and writes per parameter besides the state's
	}{
		{"sam(base=sgd(lr=0.01))", []int{4096}, 7},
		{"sam(base=adam)", []int{64, 32}, 7},
		{"shampoo(block_size=16)", []int{64, 32}, 3},
		{"soap(precondition_frequency=1)", []int{48, 40}, 3},
		{"ema(base=lookahead(base=adamw))", []int{1000}, 3},
	} {
		t.Run(c.spec, func(t *testing.T) {
			opt := optimizers.MustParse(c.spec)
			r, err := UpdateShaped(testBackend(t), opt, c.dims, 2)
			if err != nil {
				t.Fatal(err)
			}
			extra := r.MeasuredStateBytes - r.StateBytes
			if extra < 0 || extra > 64 {
				t.Errorf("reported state %d bytes, measured %d", r.StateBytes, r.MeasuredStateBytes)
			}
			if want := 4*r.Params*c.traffic + 2*r.StateBytes; r.TrafficBytesPerStep != want {
				t.Errorf("traffic %d bytes/step, want %d", r.TrafficBytesPerStep, want)
			}
			if fmt.Sprint(r.Shape) != fmt.Sprint(c.dims) || r.SecondsPerStep <= 0 {
				t.Errorf("shape %v, %g s/step", r.Shape, r.SecondsPerStep)
			}
		})
	}
	for _, dims := range [][]int{{}, {0, 3}, {1 << 20, 1 << 20}} {
		if _, err := UpdateShaped(testBackend(t), optimizers.MustParse("adam"), dims, 1); err == nil {
			t.Errorf("shape %v accepted", dims)
		}
	}
}
