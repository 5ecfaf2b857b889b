package main

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"optlab.dev/optlab"
	"optlab.dev/optlab/checkpoint"
)

// resumeRunArgs trains mlp-bn (batch norm, dropout) with Adam and
// reduce-on-plateau: 3 epochs of 94 steps on 3,000 images.
func resumeRunArgs(extra ...string) []string {
	return append([]string{"train", "--model", "mlp-bn", "--optimizers", "adam(lr=0.005)", "--epochs", "3",
		"--batch-size", "32", "--limit", "3000", "--seed", "4", "--plateau-factor", "0.5", "--plateau-patience", "1",
		"--quiet"}, extra...)
}

// readHistory reads train.json from dir, without the fields that measure time.
func readHistory(t *testing.T, dir string) optlab.History {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "train.json"))
	if err != nil {
		t.Fatal(err)
	}
	var hs []optlab.History
	if err := json.Unmarshal(b, &hs); err != nil {
		t.Fatalf("train.json: %v", err)
	}
	if len(hs) != 1 {
		t.Fatalf("train.json holds %d runs", len(hs))
	}
	h := hs[0]
	for i := range h.Epochs {
		h.Epochs[i].Seconds, h.Epochs[i].SamplesPerSec = 0, 0
	}
	h.CompileSeconds, h.Started, h.Elapsed = 0, time.Time{}, 0
	return h
}

// killAtCheckpoint starts cmd and kills it with SIGKILL as soon as dir holds
// a checkpoint of at least step steps. It fails the test if the run ends
// first.
func killAtCheckpoint(t *testing.T, cmd *exec.Cmd, dir string, step int64) {
	t.Helper()
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case err := <-done:
			t.Fatalf("the run ended (%v) before it had a checkpoint of step %d to kill it at:\n%s", err, step, out.String())
		case <-time.After(2 * time.Millisecond):
		}
		paths, _ := checkpoint.List(dir)
		if len(paths) > 0 && filepath.Base(paths[len(paths)-1]) >= checkpoint.FileName(step) {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			<-done
			return
		}
	}
}

// TestTrainResumesAfterKill kills a training run with SIGKILL twice, at
// random points mid-epoch (in epoch 1, then in epoch 2 of the resumed run),
// resumes it with --resume each time, and checks that the final history and
// the final weights (byte for byte) are those of an uninterrupted run.
func TestTrainResumesAfterKill(t *testing.T) {
	if testing.Short() {
		t.Skip("trains three times in child processes")
	}
	dir := t.TempDir()
	refOut, refW := filepath.Join(dir, "ref"), filepath.Join(dir, "ref.safetensors")
	if out, err := cliProcess(resumeRunArgs("--out", refOut, "--save-weights", refW)...).CombinedOutput(); err != nil {
		t.Fatalf("uninterrupted run: %v\n%s", err, out)
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("random seed %d", seed)
	r := rand.New(rand.NewPCG(seed, 2))
	ck, out, w := filepath.Join(dir, "ckpt"), filepath.Join(dir, "killed"), filepath.Join(dir, "killed.safetensors")
	// Checkpoints every 3 steps; epochs end at steps 94, 188 and 282.
	killAt := []int64{int64(10 + r.IntN(70)), int64(100 + r.IntN(70))}
	t.Logf("killing after the checkpoints of steps %v", killAt)
	killAtCheckpoint(t, cliProcess(resumeRunArgs("--checkpoint-dir", ck, "--checkpoint-every", "3", "--out", out)...), ck, killAt[0])
	killAtCheckpoint(t, cliProcess("train", "--resume", ck, "--checkpoint-every", "3", "--out", out, "--quiet"), ck, killAt[1])
	res, err := cliProcess("train", "--resume", ck, "--checkpoint-every", "3", "--out", out, "--quiet", "--save-weights", w).CombinedOutput()
	if err != nil {
		t.Fatalf("resumed run: %v\n%s", err, res)
	}
	if !strings.Contains(string(res), "resuming from ") {
		t.Errorf("the resumed run does not say where it resumed from:\n%s", res)
	}
	got, want := readHistory(t, out), readHistory(t, refOut)
	if diffs := checkpoint.Differences(want, got); len(diffs) > 0 {
		t.Errorf("resumed history differs from the uninterrupted run's: %s", strings.Join(diffs, "; "))
	}
	gw, err := os.ReadFile(w)
	if err != nil {
		t.Fatal(err)
	}
	rw, err := os.ReadFile(refW)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(gw, rw) {
		t.Error("the resumed run's final weights differ from the uninterrupted run's")
	}
	if paths, _ := checkpoint.List(ck); len(paths) != 2 {
		t.Errorf("%d checkpoints kept, want 2 (--keep's default)", len(paths))
	}
	if tmps, _ := filepath.Glob(filepath.Join(ck, ".*")); len(tmps) != 0 {
		t.Errorf("temporary files left in the checkpoint directory: %v", tmps)
	}
}

// TestTrainResumeFlags checks train's refusals around checkpoints and weight
// files: each is one line naming the flag or what differs.
func TestTrainResumeFlags(t *testing.T) {
	dir := t.TempDir()
	ck := filepath.Join(dir, "ck")
	base := []string{"train", "--model", "logreg", "--optimizers", "sgd(lr=0.1)", "--epochs", "1", "--limit", "300",
		"--quiet", "--out", filepath.Join(dir, "out")}
	var stdout, stderr bytes.Buffer
	if code := run(append(slices.Clone(base), "--checkpoint-dir", ck, "--save-weights", filepath.Join(dir, "w.safetensors")), &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"dir in use", append(slices.Clone(base), "--checkpoint-dir", ck), 1, "already holds a run's checkpoints"},
		{"other batch size", []string{"train", "--resume", ck, "--batch-size", "64"}, 2, "--batch-size 64 differs from the checkpoint's 32"},
		{"other optimizer", []string{"train", "--resume", ck, "--optimizers", "adam"}, 2, "--optimizers adam differs from the checkpoint's sgd("},
		{"same optimizer spelled differently", []string{"train", "--resume", ck, "--optimizers", "sgd(lr=0.1,momentum=0)", "--quiet", "--out", filepath.Join(dir, "o2")}, 0, ""},
		{"fewer epochs", []string{"train", "--resume", ck, "--epochs", "0"}, 2, "--epochs 0 is fewer than the run's 1"},
		{"no checkpoint", []string{"train", "--resume", filepath.Join(dir, "none")}, 1, "no checkpoint in"},
		{"resume with init weights", []string{"train", "--resume", ck, "--init-weights", "w.safetensors"}, 2, "drop --init-weights"},
		{"negative every", []string{"train", "--checkpoint-dir", ck, "--checkpoint-every", "-1"}, 2, "--checkpoint-every must be ≥ 0"},
		{"other model's weights", append([]string{"train"}, "--model", "mlp-small", "--init-weights", filepath.Join(dir, "w.safetensors"), "--limit", "300", "--quiet", "--out", filepath.Join(dir, "o3")), 1,
			"were exported from model logreg, not mlp-small"},
		{"init weights", append(slices.Clone(base), "--init-weights", filepath.Join(dir, "w.safetensors")), 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(tc.args, &stdout, &stderr)
			if code != tc.code || !strings.Contains(stderr.String(), tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", code, stderr.String(), tc.code, tc.want)
			}
			if lines := strings.Count(strings.TrimSpace(stderr.String()), "\n"); tc.code != 0 && lines > 1 {
				t.Errorf("error takes %d lines: %q", lines+1, stderr.String())
			}
		})
	}
}

// TestTrialFileCheckpoints runs a trial file with --checkpoint-dir: the trial
// is stored and its checkpoint folder is removed afterwards.
func TestTrialFileCheckpoints(t *testing.T) {
	dir := t.TempDir()
	trials, ck, st := filepath.Join(dir, "trials"), filepath.Join(dir, "ck"), filepath.Join(dir, "s.db")
	var stdout, stderr bytes.Buffer
	if code := run([]string{"sweep", "--models", "logreg", "--optimizers", "adam", "--epochs", "1", "--limit", "300",
		"--export-trials", trials}, &stdout, &stderr); code != 0 {
		t.Fatalf("export: exit %d: %s", code, stderr.String())
	}
	if code := run([]string{"train", "--trial", filepath.Join(trials, "0000.json"), "--store", st, "--checkpoint-dir", ck,
		"--quiet"}, &stdout, &stderr); code != 0 {
		t.Fatalf("train --trial: exit %d: %s", code, stderr.String())
	}
	if !strings.Contains(stdout.String(), "stored in") {
		t.Errorf("the trial was not stored:\n%s", stdout.String())
	}
	if entries, err := os.ReadDir(ck); err != nil || len(entries) != 0 {
		t.Errorf("checkpoint folder after the trial: %v, %v", entries, err)
	}
}
