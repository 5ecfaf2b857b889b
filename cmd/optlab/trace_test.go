package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math"
	"math/rand"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

func TestTraceCLI(t *testing.T) {
	for _, tc := range []struct {
		args     []string
		code     int
		contains string // in stdout for code 0, in stderr otherwise
	}{
		{[]string{"trace", "--optimizer", "sgd(lr=0.1)", "--a", "1,2", "--w0", "1,1", "--steps", "2"}, 0, "2,0.81,0.64"},
		{[]string{"trace", "--optimizer", "adam(lr=0.1)", "--a", "1", "--b", "1", "--w0", "0", "--steps", "1", "--loss"}, 0, "step,w0,loss"},
		{[]string{"trace", "--a", "1", "--w0", "1", "--dtype", "float32", "--steps", "1"}, 0, "1,0.9"},
		{[]string{"trace", "--function", "rosenbrock", "--steps", "1", "--optimizer", "sgd(lr=1e-4)"}, 0, "step,w0,w1"},
		{[]string{"trace", "--optimizer", "adam(lr=-1)", "--a", "1", "--w0", "1"}, 2, `"-1": lr must be > 0`},
		{[]string{"trace", "--optimizer", "adamm", "--a", "1", "--w0", "1"}, 2, "unknown optimizer"},
		{[]string{"trace", "--a", "1,2", "--w0", "1"}, 2, "same length"},
		{[]string{"trace", "--a", "1,nan", "--w0", "1,1"}, 2, `"nan", is not a finite number`},
		{[]string{"trace", "--a", "1"}, 2, "--w0 is required"},
		{[]string{"trace"}, 2, "give a problem"},
		{[]string{"trace", "--function", "nope"}, 2, "--function"},
		{[]string{"trace", "--function", "rosenbrock", "--a", "1"}, 2, "exclusive"},
		{[]string{"trace", "--a", "1", "--w0", "1", "--dtype", "int8"}, 2, "--dtype"},
		{[]string{"trace", "--a", "10", "--w0", "1", "--optimizer", "sgd(lr=1)", "--steps", "400"}, 1, "diverged at step 323"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(tc.args, &stdout, &stderr)
		if code != tc.code {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tc.args, code, tc.code, stderr.String())
			continue
		}
		where := stdout.String()
		if code != 0 {
			where = stderr.String()
			if strings.Count(strings.TrimSpace(where), "\n") != 0 {
				t.Errorf("%q: error is not one line: %q", tc.args, where)
			}
		}
		if !strings.Contains(where, tc.contains) {
			t.Errorf("%q: output %q lacks %q", tc.args, where, tc.contains)
		}
	}
}

func TestOptimizersCLI(t *testing.T) {
	var stdout, stderr bytes.Buffer
	if code := run([]string{"optimizers"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, name := range []string{"sgd", "momentum", "nesterov", "adagrad", "adadelta", "rmsprop", "adam", "amsgrad",
		"adamw", "adamax", "nadam", "radam", "rprop", "asgd", "lion", "lamb", "lars", "muon", "adafactor", "schedule_free_adamw",
		"cosine", "onecycle", "clip_norm"} {
		if !strings.Contains(out, "\n  "+name+" — ") && !strings.Contains(out, name+"\t") && !strings.Contains(out, "    "+name) {
			t.Errorf("optlab optimizers does not list %s", name)
		}
	}
}

// liveCase is one randomly drawn optimizer configuration, as an optlab spec and
// as the torch.optim class and keyword arguments that should compute the same.
type liveCase struct {
	Spec   string         `json:"-"`
	Class  string         `json:"class"`
	Kwargs map[string]any `json:"kwargs"`
	A      []float64      `json:"a"`
	B      []float64      `json:"b"`
	W0     []float64      `json:"w0"`
	Steps  int            `json:"steps"`
}

func uniform(r *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*r.Float64() }
func logUniform(r *rand.Rand, lo, hi float64) float64 {
	return math.Exp(uniform(r, math.Log(lo), math.Log(hi)))
}

// randomLiveCase draws hyperparameters for torch optimizer i within ranges that
// keep a quadratic with curvatures up to 4 from diverging.
func randomLiveCase(r *rand.Rand, i int) liveCase {
	f := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	b := func(x bool) string { return strconv.FormatBool(x) }
	var c liveCase
	kw := map[string]any{}
	var spec []string
	add := func(goKey string, torchKey string, v any) {
		switch x := v.(type) {
		case float64:
			spec = append(spec, goKey+"="+f(x))
		case bool:
			spec = append(spec, goKey+"="+b(x))
		}
		if torchKey != "" {
			kw[torchKey] = v
		}
	}
	lr := logUniform(r, 1e-3, 0.1)
	switch i {
	case 0:
		c.Class, c.Spec = "SGD", "sgd"
		add("lr", "lr", uniform(r, 0.01, 0.2))
		mom := uniform(r, 0, 0.95)
		nesterov := r.Intn(2) == 0
		add("momentum", "momentum", mom)
		if !nesterov {
			add("dampening", "dampening", uniform(r, 0, 0.5))
		}
		add("nesterov", "nesterov", nesterov)
		add("weight_decay", "weight_decay", uniform(r, 0, 0.2))
	case 1:
		c.Class, c.Spec = "Adagrad", "adagrad"
		add("lr", "lr", uniform(r, 0.05, 0.5))
		add("lr_decay", "lr_decay", uniform(r, 0, 0.05))
		add("weight_decay", "weight_decay", uniform(r, 0, 0.1))
		add("initial_accumulator_value", "initial_accumulator_value", uniform(r, 0, 0.5))
		add("eps", "eps", logUniform(r, 1e-10, 1e-4))
	case 2:
		c.Class, c.Spec = "Adadelta", "adadelta"
		add("lr", "lr", uniform(r, 0.5, 2))
		add("rho", "rho", uniform(r, 0.8, 0.99))
		add("eps", "eps", logUniform(r, 1e-7, 1e-3))
		add("weight_decay", "weight_decay", uniform(r, 0, 0.1))
	case 3:
		c.Class, c.Spec = "RMSprop", "rmsprop"
		add("lr", "lr", lr/2)
		add("rho", "alpha", uniform(r, 0.8, 0.999))
		add("eps", "eps", logUniform(r, 1e-10, 1e-4))
		add("weight_decay", "weight_decay", uniform(r, 0, 0.1))
		add("momentum", "momentum", uniform(r, 0, 0.9))
		add("centered", "centered", r.Intn(2) == 0)
	case 4, 5:
		c.Class, c.Spec = "Adam", "adam"
		wd := uniform(r, 0, 0.1)
		if i == 5 {
			c.Class, c.Spec = "AdamW", "adamw"
			wd = uniform(r, 0, 0.5)
		}
		add("lr", "lr", lr)
		b1, b2 := uniform(r, 0.5, 0.95), uniform(r, 0.9, 0.9999)
		add("b1", "", b1)
		add("b2", "", b2)
		kw["betas"] = []float64{b1, b2}
		add("eps", "eps", logUniform(r, 1e-10, 1e-4))
		add("weight_decay", "weight_decay", wd)
		add("amsgrad", "amsgrad", r.Intn(2) == 0)
	case 6, 7, 8:
		c.Class, c.Spec = map[int][2]string{6: {"Adamax", "adamax"}, 7: {"NAdam", "nadam"}, 8: {"RAdam", "radam"}}[i][0],
			map[int][2]string{6: {"Adamax", "adamax"}, 7: {"NAdam", "nadam"}, 8: {"RAdam", "radam"}}[i][1]
		add("lr", "lr", lr)
		b1, b2 := uniform(r, 0.5, 0.95), uniform(r, 0.9, 0.9999)
		add("b1", "", b1)
		add("b2", "", b2)
		kw["betas"] = []float64{b1, b2}
		add("eps", "eps", logUniform(r, 1e-10, 1e-4))
		add("weight_decay", "weight_decay", uniform(r, 0, 0.1))
		if i == 7 {
			add("momentum_decay", "momentum_decay", uniform(r, 0, 0.01))
			kw["foreach"] = true // PyTorch 1.13's paper-exact NAdam path (see ScaleByNAdam)
		}
	case 9:
		c.Class, c.Spec = "Rprop", "rprop"
		add("lr", "lr", lr)
		em, ep := uniform(r, 0.2, 0.7), uniform(r, 1.05, 1.5)
		smin, smax := logUniform(r, 1e-6, 1e-3), uniform(r, 0.5, 5)
		add("eta_minus", "", em)
		add("eta_plus", "", ep)
		add("step_min", "", smin)
		add("step_max", "", smax)
		kw["etas"] = []float64{em, ep}
		kw["step_sizes"] = []float64{smin, smax}
	case 10:
		c.Class, c.Spec = "ASGD", "asgd"
		add("lr", "lr", lr)
		add("lambd", "lambd", uniform(r, 0, 0.01))
		add("alpha", "alpha", uniform(r, 0.3, 1))
		add("t0", "t0", float64(r.Intn(20)))
		add("weight_decay", "weight_decay", uniform(r, 0, 0.1))
	}
	c.Spec += "(" + strings.Join(spec, ",") + ")"
	c.Kwargs = kw
	n := 2 + r.Intn(3)
	for j := 0; j < n; j++ {
		c.A = append(c.A, uniform(r, 0.3, 4))
		c.B = append(c.B, uniform(r, -1, 1))
		c.W0 = append(c.W0, uniform(r, -2, 2))
	}
	c.Steps = 40
	return c
}

// TestTraceAgainstLiveTorch draws fresh hyperparameters and quadratics (seed
// from OPTLAB_TRACE_SEED, default 1), runs `optlab trace` on them and compares
// with PyTorch run live through /usr/bin/python3. It is skipped where PyTorch
// is not installed.
func TestTraceAgainstLiveTorch(t *testing.T) {
	if testing.Short() {
		t.Skip("runs PyTorch")
	}
	if err := exec.Command("/usr/bin/python3", "-c", "import torch").Run(); err != nil {
		t.Skipf("PyTorch not available through /usr/bin/python3: %v", err)
	}
	seed := int64(1)
	if s := os.Getenv("OPTLAB_TRACE_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("OPTLAB_TRACE_SEED: %v", err)
		}
	}
	r := rand.New(rand.NewSource(seed))
	var cases []liveCase
	for rep := 0; rep < 3; rep++ {
		for i := 0; i <= 10; i++ {
			cases = append(cases, randomLiveCase(r, i))
		}
	}
	input, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/usr/bin/python3", "../../scripts/reference/torch_trace.py")
	cmd.Stdin = bytes.NewReader(input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	output, err := cmd.Output()
	if err != nil {
		t.Fatalf("torch_trace.py: %v\n%s", err, stderr.String())
	}
	var want [][][]float64
	if err := json.Unmarshal(output, &want); err != nil {
		t.Fatal(err)
	}
	worst := 0.0
	for ci, c := range cases {
		floats := func(v []float64) string {
			s := make([]string, len(v))
			for i, x := range v {
				s[i] = strconv.FormatFloat(x, 'g', -1, 64)
			}
			return strings.Join(s, ",")
		}
		var stdout, errOut bytes.Buffer
		args := []string{"trace", "--optimizer", c.Spec, "--a", floats(c.A), "--b", floats(c.B), "--w0", floats(c.W0),
			"--steps", fmt.Sprint(c.Steps)}
		if code := run(args, &stdout, &errOut); code != 0 {
			t.Fatalf("%q: exit %d: %s", args, code, errOut.String())
		}
		rows, err := csv.NewReader(&stdout).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		rows = rows[1:]
		if len(rows) != len(want[ci]) {
			t.Fatalf("%s: %d rows, torch %d", c.Spec, len(rows), len(want[ci]))
		}
		for k, row := range rows {
			for i, cell := range row[1:] {
				got, err := strconv.ParseFloat(cell, 64)
				if err != nil {
					t.Fatal(err)
				}
				w := want[ci][k][i]
				e := math.Abs(got-w) / math.Max(math.Abs(w), 1e-3)
				worst = math.Max(worst, e)
				if e > 1e-10 {
					t.Fatalf("%s vs torch.optim.%s(%v): step %d w[%d] = %.17g, torch %.17g (rel. error %.3g)",
						c.Spec, c.Class, c.Kwargs, k, i, got, w, e)
				}
			}
		}
	}
	t.Logf("seed %d: %d random configurations, max relative error %.3g", seed, len(cases), worst)
}
