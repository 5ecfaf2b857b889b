package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"optlab.dev/optlab/datasets"
)

func runCLI(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestBadInputExitsTwoWithOneLine(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"compare", "--epochs", "0"}, "--epochs must be ≥ 1, got 0"},
		{[]string{"compare", "--epochs", "abc"}, "abc"},
		{[]string{"compare", "--batch-size", "-4"}, "-4"},
		{[]string{"compare", "--limit", "-1"}, "-1"},
		{[]string{"compare", "--model", "vgg"}, `"vgg"`},
		{[]string{"compare", "--optimizers", "adamx(lr=1)"}, "adamx"},
		{[]string{"compare", "--optimizers", "adam(lr=-1)"}, "lr"},
		{[]string{"compare", "--optimizers", "sgd(lr=0.1"}, "sgd(lr=0.1"},
		{[]string{"compare", "--optimizers", " ; "}, "no optimizer"},
		{[]string{"compare", "--split", "half"}, `"half"`},
		{[]string{"compare", "--seeds", "1-x"}, "1-x"},
		{[]string{"compare", "--protocol", "random"}, `"random"`},
		{[]string{"compare", "--non-finite", "ignore"}, `"ignore"`},
		{[]string{"compare", "--nope"}, "-nope"},
		{[]string{"compare", "extra"}, `"extra"`},
		{[]string{"train", "--optimizers", "sgd;adam"}, "one optimizer"},
		{[]string{"train", "--optimizers", "sam(base=sgd)", "--accumulate", "2"}, "--accumulate 2: sam(base=sgd("},
		{[]string{"compare", "--optimizers", "adam;ema(base=sam(base=adam))", "--accumulate", "3"}, "use accumulate 1"},
		{[]string{"train", "--optimizers", "lookahead(base=adam,group=biases(lr=0.1))"}, "group belongs to the base optimizer"},
		{[]string{"train", "--plateau-factor", "2"}, "factor"},
		{[]string{"train", "--plateau-factor", "0.5", "--plateau-patience", "0"}, "patience"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		if code != 2 {
			t.Errorf("%v: exit code %d, want 2 (stderr %q)", c.args, code, stderr)
		}
		if strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: stderr %q, want one line containing %q", c.args, stderr, c.want)
		}
		if strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
			t.Errorf("%v: stack trace in %q", c.args, stderr)
		}
	}
}

func TestHelp(t *testing.T) {
	code, out, _ := runCLI("help")
	if code != 0 || !strings.Contains(out, "compare") || !strings.Contains(out, "train") {
		t.Errorf("help: code %d, output %q", code, out)
	}
	code, _, errOut := runCLI("compare", "-h")
	if code != 0 || !strings.Contains(errOut, "--optimizers") && !strings.Contains(errOut, "-optimizers") {
		t.Errorf("compare -h: code %d, output %q", code, errOut)
	}
}

func TestDataErrors(t *testing.T) {
	t.Run("missing directory", func(t *testing.T) {
		code, _, stderr := runCLI("compare", "--data", "/nonexistent/mnist", "--out", t.TempDir())
		if code != 1 || !strings.Contains(stderr, "/nonexistent/mnist") || strings.Contains(stderr, "goroutine") {
			t.Errorf("code %d, stderr %q", code, stderr)
		}
	})
	t.Run("corrupt file", func(t *testing.T) {
		m, err := datasets.LoadMNIST("")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		for _, name := range []string{"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"} {
			raw, err := os.ReadFile(filepath.Join(m.Dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if name == "train-labels-idx1-ubyte.gz" {
				raw = raw[:len(raw)-100]
			}
			os.WriteFile(filepath.Join(dir, name), raw, 0o644)
		}
		code, _, stderr := runCLI("train", "--data", dir, "--out", t.TempDir())
		if code != 1 || !strings.Contains(stderr, "train-labels-idx1-ubyte.gz") || !strings.Contains(stderr, "corrupt") {
			t.Errorf("code %d, stderr %q", code, stderr)
		}
	})
}

func TestCompareWritesResults(t *testing.T) {
	out := t.TempDir()
	code, stdout, stderr := runCLI("compare", "--model", "logreg", "--limit", "600", "--epochs", "1",
		"--optimizers", "sgd(lr=0.1); adam(lr=0.01)", "--out", out, "--backend", "go")
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"backend: go", "Epoch 1/1", "val_accuracy", "sgd(lr=0.1)", "adam(lr=0.01)", "test accuracy"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout)
		}
	}
	for _, f := range []string{"compare.csv", "compare.json", "compare.png"} {
		st, err := os.Stat(filepath.Join(out, f))
		if err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", f, err)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(out, "compare.csv"))
	if n := strings.Count(strings.TrimSpace(string(csv)), "\n"); n != 2 {
		t.Errorf("CSV has %d data rows, want 2 (one per optimizer and epoch):\n%s", n, csv)
	}
}

func TestUnknownBackend(t *testing.T) {
	code, _, stderr := runCLI("train", "--backend", "tpu", "--out", t.TempDir())
	if code != 1 || !strings.Contains(stderr, `"tpu"`) {
		t.Errorf("code %d, stderr %q", code, stderr)
	}
}

// TestCompareOnOneCore runs the main job's model pinned to a single core. With
// simplego's default worker pool, two matrix products running at once (a
// layer's weight and input gradients) waited for each other's pool slots
// forever on such a machine: `optlab compare` hung at its first step.
func TestCompareOnOneCore(t *testing.T) {
	taskset, err := exec.LookPath("taskset")
	if err != nil {
		t.Skip("taskset (util-linux) not installed")
	}
	if err := exec.Command(taskset, "-c", "0", "true").Run(); err != nil {
		t.Skipf("cannot pin a process to one core here: %v", err)
	}
	cmd := cliProcess("compare", "--limit", "600", "--epochs", "1", "--optimizers", "sgd; adam", "--out", t.TempDir())
	cmd.Args = append([]string{taskset, "-c", "0"}, cmd.Args...)
	cmd.Path = taskset
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// Not a speed bar: the run takes seconds; only a hang takes this long.
	select {
	case err := <-done:
		if err != nil || !strings.Contains(out.String(), "backend: go (GoMLX pure-Go backend, 1 CPUs, ") {
			t.Fatalf("compare on one core: %v\n%s", err, out.String())
		}
	case <-time.After(5 * time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("compare on one core did not finish in 5 minutes (deadlock?); output so far:\n%s", out.String())
	}
}
