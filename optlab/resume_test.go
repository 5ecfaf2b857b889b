package optlab

import (
	"bytes"
	stdctx "context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"optlab.dev/optlab/checkpoint"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
	"optlab.dev/optlab/optimizers"
	"optlab.dev/optlab/safetensors"
)

// deterministic returns h without the fields that measure time.
func deterministic(h *History) History {
	c := *h
	c.Epochs = append([]Epoch(nil), h.Epochs...)
	for i := range c.Epochs {
		c.Epochs[i].Seconds, c.Epochs[i].SamplesPerSec = 0, 0
	}
	c.Evals = append([]Eval(nil), h.Evals...)
	for i := range c.Evals {
		c.Evals[i].Seconds = 0
	}
	c.CompileSeconds, c.Started, c.Elapsed = 0, time.Time{}, 0
	return c
}

// storeBytes returns every variable of the network's store as raw bytes.
func storeBytes(t *testing.T, n *Network) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for v := range n.Store().IterVariables() {
		val, err := v.Value()
		if err != nil {
			t.Fatalf("%s: %v", v.Path(), err)
		}
		_ = val.ConstBytes(func(b []byte) { out[v.Path()] = bytes.Clone(b) })
	}
	return out
}

// resumeConfig trains mlp-bn (batch norm, and dropout, whose random numbers
// come from GoMLX's RNG state) with Adam, a cosine schedule,
// reduce-on-plateau and evaluations every 4 steps: every kind of state a
// checkpoint must carry.
func resumeConfig(dir string) Config {
	return Config{Model: "mlp-bn", Optimizer: optimizers.MustParse("adam(lr=0.01,schedule=cosine(steps=60))"),
		Epochs: 3, BatchSize: 32, Seed: 5, Plateau: &Plateau{Factor: 0.5, Patience: 1}, EvalEvery: 4,
		Checkpoint: &Checkpointing{Dir: dir, Every: 7, Keep: 100}}
}

// TestResumeIsExact trains a run that checkpoints every 7 steps and at epoch
// ends, then resumes a fresh network from each checkpoint (as after a kill at
// that point) and checks that it ends with the same history and the same
// bits in every variable (weights, optimizer state, step counters, learning
// rate, RNG state) as the run that was never stopped.
func TestResumeIsExact(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 600) // 19 steps an epoch, the last one of 24 examples
	dir := t.TempDir()
	ref, err := NewNetwork(b, "mlp-bn", 5, nil)
	if err != nil {
		t.Fatal(err)
	}
	refHist, err := ref.Fit(stdctx.Background(), data, resumeConfig(dir))
	if err != nil {
		t.Fatal(err)
	}
	if lrs := []float64{refHist.Epochs[0].LR, refHist.Epochs[2].LR}; lrs[0] == lrs[1] {
		t.Logf("the plateau never lowered the learning rate (%v): its state is checked less", lrs)
	}
	refVars := storeBytes(t, ref)
	paths, err := checkpoint.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	// 57 steps: saves at 7, 14, 19 (epoch end), 21, 28, 35, 38 (end), 42, 49, 56, 57 (end).
	if len(paths) != 11 {
		t.Fatalf("%d checkpoints, want 11: %v", len(paths), paths)
	}
	for _, p := range []string{paths[0], paths[2], paths[5], paths[9]} {
		t.Run(filepath.Base(p), func(t *testing.T) {
			one := t.TempDir()
			raw, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(one, filepath.Base(p)), raw, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg := resumeConfig(one)
			cfg.Checkpoint.Resume = true
			net, err := NewNetwork(b, "mlp-bn", 5, nil)
			if err != nil {
				t.Fatal(err)
			}
			h, err := net.Fit(stdctx.Background(), data, cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := deterministic(h), deterministic(refHist); !equalJSON(t, got, want) {
				t.Errorf("resumed history differs:\n got %+v\nwant %+v", got, want)
			}
			got := storeBytes(t, net)
			if len(got) != len(refVars) {
				t.Errorf("%d variables, the uninterrupted run has %d", len(got), len(refVars))
			}
			for path, want := range refVars {
				if !bytes.Equal(got[path], want) {
					t.Errorf("variable %s differs from the uninterrupted run's", path)
				}
			}
		})
	}
}

func equalJSON(t *testing.T, a, b any) bool {
	t.Helper()
	return len(checkpoint.Differences(a, b)) == 0
}

// TestResumeRefusesAnotherRun checks that a checkpoint is only resumed by the
// run that wrote it, and that the error says what differs.
func TestResumeRefusesAnotherRun(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 300)
	dir := t.TempDir()
	base := Config{Model: "logreg", Optimizer: optimizers.MustParse("sgd(lr=0.1)"), Epochs: 1, BatchSize: 50, Seed: 1,
		Checkpoint: &Checkpointing{Dir: dir}}
	if _, err := Train(stdctx.Background(), b, data, base); err != nil {
		t.Fatal(err)
	}
	other := func(fn func(c *Config)) Config {
		c := base
		ck := *base.Checkpoint
		ck.Resume = true
		c.Checkpoint = &ck
		fn(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  Config
		data *Data
		want string
	}{
		{"no resume", base, data, "already holds a run's checkpoints"},
		{"model", other(func(c *Config) { c.Model = "mlp-small" }), data, `model: "logreg" there, "mlp-small" here`},
		{"optimizer", other(func(c *Config) { c.Optimizer = optimizers.MustParse("adam") }), data, "optimizer: "},
		{"batch size", other(func(c *Config) { c.BatchSize = 32 }), data, "batch_size: 50 there, 32 here"},
		{"seed", other(func(c *Config) { c.Seed = 2 }), data, "seed: 1 there, 2 here"},
		{"data", other(func(*Config) {}), testData(t, datasets.SplitTest, 600), "data.limit: 300 there, 600 here"},
		{"model options", other(func(c *Config) { c.ModelOptions = &models.Options{} }), data, "model_options.FastDense: true there, false here"},
		{"accumulation", other(func(c *Config) { c.Accumulate = 2 }), data, "accumulate"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Train(stdctx.Background(), b, tc.data, tc.cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line containing %q", err, tc.want)
			}
		})
	}
	// The label may differ, and more epochs continue the run.
	longer := other(func(c *Config) { c.Label = "another name"; c.Epochs = 2 })
	h, err := Train(stdctx.Background(), b, data, longer)
	if err != nil {
		t.Fatal(err)
	}
	if len(h.Epochs) != 2 || h.Label != "another name" || h.Epochs[1].Steps != 12 {
		t.Errorf("continued run: %d epochs, label %q, steps %d", len(h.Epochs), h.Label, h.Last().Steps)
	}
}

// TestCheckpointOnInterrupt cancels a run during its second epoch and checks
// that the checkpoint saved on the way out resumes it to the uninterrupted
// result.
func TestCheckpointOnInterrupt(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 600)
	cfg := Config{Model: "mlp-small", Optimizer: optimizers.MustParse("momentum(lr=0.05)"), Epochs: 2, BatchSize: 32, Seed: 9}
	ref, err := Train(stdctx.Background(), b, data, cfg)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ctx, cancel := stdctx.WithCancel(stdctx.Background())
	interrupted := cfg
	interrupted.Checkpoint = &Checkpointing{Dir: dir}
	interrupted.OnEpoch = func(*History) { cancel() } // stops at the first step of epoch 2
	h, err := Train(ctx, b, data, interrupted)
	if err == nil || len(h.Epochs) != 1 || !strings.Contains(h.Err, "interrupted in epoch 2") {
		t.Fatalf("interrupted run: %v, %d epochs", err, len(h.Epochs))
	}
	resumed := cfg
	resumed.Checkpoint = &Checkpointing{Dir: dir, Resume: true}
	h, err = Train(stdctx.Background(), b, data, resumed)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := deterministic(h), deterministic(ref); !equalJSON(t, got, want) {
		t.Errorf("resumed history differs:\n got %+v\nwant %+v", got, want)
	}
}

// TestWeightsRoundTrip exports a trained network's weights and imports them
// into a fresh network, which then evaluates to the same loss.
func TestWeightsRoundTrip(t *testing.T) {
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 300)
	net, err := NewNetwork(b, "mlp-bn", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := net.Fit(stdctx.Background(), data, Config{Optimizer: optimizers.MustParse("adam"), Epochs: 1, BatchSize: 32}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "w.safetensors")
	if err := net.ExportWeights(path); err != nil {
		t.Fatal(err)
	}
	loss, acc, err := net.Evaluate(data.Test, 0)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := NewNetwork(b, "mlp-bn", 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := fresh.ImportWeights(path); err != nil {
		t.Fatal(err)
	}
	loss2, acc2, err := fresh.Evaluate(data.Test, 0)
	if err != nil {
		t.Fatal(err)
	}
	if loss2 != loss || acc2 != acc {
		t.Errorf("imported network: loss %v acc %v, exported one: %v %v", loss2, acc2, loss, acc)
	}
	other, err := NewNetwork(b, "mlp-small", 1, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := other.ImportWeights(path); err == nil || !strings.Contains(err.Error(), "exported from model mlp-bn, not mlp-small") {
		t.Errorf("importing mlp-bn weights into mlp-small: %v", err)
	}
}

// TestExportedWeightsLoadInPyTorch exports each model's weights (after a
// short training run for the batch-norm models), loads them into plain torch.nn modules with
// load_state_dict(strict=True) (scripts/reference/check_weights_torch.py) and
// checks that PyTorch evaluates them to optlab's loss and accuracy. It is
// skipped when /usr/bin/python3 has no torch.
func TestExportedWeightsLoadInPyTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PyTorch five times")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		t.Skipf("PyTorch is not available to /usr/bin/python3 (%v): install python3-torch to run this check", err)
	}
	b := testBackend(t)
	data := testData(t, datasets.SplitTest, 300)
	sample := data.Test.Slice("sample", 0, 64)
	dir := t.TempDir()
	dataPath := filepath.Join(dir, "data.safetensors")
	if err := safetensors.WriteFile(dataPath, &safetensors.File{Tensors: map[string]safetensors.Tensor{
		"x": safetensors.New([]int{64, sample.Width}, sample.Features),
		"y": safetensors.New([]int{64}, sample.Labels),
	}}); err != nil {
		t.Fatal(err)
	}
	for _, m := range models.ModelNames() {
		t.Run(m, func(t *testing.T) {
			net, err := NewNetwork(b, m, 1, nil)
			if err != nil {
				t.Fatal(err)
			}
			// Training moves batch norm's statistics away from 0 and 1; the
			// other models' layouts are checked as well on initial weights.
			if strings.HasPrefix(m, "mlp-bn") {
				if _, err := net.Fit(stdctx.Background(), data, Config{Optimizer: optimizers.MustParse("adam"), Epochs: 1, BatchSize: 50}); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, m+".safetensors")
			if err := net.ExportWeights(path); err != nil {
				t.Fatal(err)
			}
			loss, acc, err := net.Evaluate(sample, 0)
			if err != nil {
				t.Fatal(err)
			}
			out, err := exec.Command("/usr/bin/python3", "../scripts/reference/check_weights_torch.py", m, path, dataPath).CombinedOutput()
			if err != nil {
				t.Fatalf("check_weights_torch.py: %v\n%s", err, out)
			}
			var torch struct{ Loss, Accuracy float64 }
			if err := json.Unmarshal(out, &torch); err != nil {
				t.Fatalf("%v: %s", err, out)
			}
			if math.Abs(torch.Loss-loss) > 1e-5*math.Abs(loss) || torch.Accuracy != acc {
				t.Errorf("PyTorch: loss %.8g accuracy %v; optlab: %.8g %v", torch.Loss, torch.Accuracy, loss, acc)
			}
		})
	}
}
