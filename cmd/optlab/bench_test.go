package main

import (
	"encoding/json"
	"strings"
	"testing"

	"optlab.dev/optlab/bench"
)

func TestBenchBadFlags(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"bench", "--models", "vgg"}, `"vgg"`},
		{[]string{"bench", "--batch-sizes", "32,x"}, `"x" is not a positive integer`},
		{[]string{"bench", "--batch-sizes", "0"}, `"0" is not a positive integer`},
		{[]string{"bench", "--batch-sizes", ""}, "no batch size"},
		{[]string{"bench", "--steps", "0"}, "--steps must be ≥ 1, got 0"},
		{[]string{"bench", "--epochs", "-1"}, "--epochs must be ≥ 1, got -1"},
		{[]string{"bench", "--update-params", "1e6,2.5"}, `"2.5" is not a whole number`},
		{[]string{"bench", "--update-params", "-3"}, `"-3"`},
		{[]string{"bench", "--update-steps", "0"}, "--update-steps must be ≥ 1, got 0"},
		{[]string{"bench", "--update-shapes", "100x0"}, `--update-shapes: "100x0": want dimensions ≥ 1 separated by x`},
		{[]string{"bench", "--update-shapes", "100000x100000x100"}, "more than 1e10 parameters"},
		{[]string{"bench", "--population", "0"}, "--population must be ≥ 1, got 0"},
		{[]string{"bench", "--memory-limit", "-2GB"}, "--memory-limit"},
		{[]string{"bench", "--optimizer", "adamx"}, "adamx"},
		{[]string{"bench", "--update-optimizer", "adam(b1=2)"}, "b1"},
		{[]string{"bench", "--steps", "2000", "--batch-sizes", "256", "--update-params", ""}, "needs 512000 training images"},
	}
	for _, c := range cases {
		code, _, stderr := runCLI(c.args...)
		if code != 2 || strings.Count(strings.TrimSpace(stderr), "\n") != 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one line containing %q", c.args, code, stderr, c.want)
		}
	}
}

func TestBenchJSON(t *testing.T) {
	code, out, stderr := runCLI("bench", "--models", "logreg", "--batch-sizes", "16", "--steps", "3", "--epochs", "1",
		"--update-params", "1000", "--update-steps", "2", "--json", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out)
	}
	if len(rep.Training) != 1 || rep.Training[0].Model != "logreg" || rep.Training[0].Steps != 3 || rep.Training[0].SamplesPerSec <= 0 {
		t.Errorf("training results %+v", rep.Training)
	}
	if len(rep.Updates) != 1 || rep.Updates[0].Params != 1000 || rep.Updates[0].StateBytes != 8000 {
		t.Errorf("update results %+v", rep.Updates)
	}
	// Shampoo on a matrix, sam with its second gradient.
	for _, spec := range []string{"shampoo(block_size=16)", "sam(base=sgd(lr=0.1))"} {
		code, out, stderr = runCLI("bench", "--models", "", "--update-params", "", "--update-shapes", "32x24",
			"--update-optimizer", spec, "--update-steps", "1", "--json", "-")
		if code != 0 {
			t.Fatalf("%s: exit %d: %s", spec, code, stderr)
		}
		rep = bench.Report{}
		if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Updates) != 1 || rep.Updates[0].Params != 32*24 {
			t.Errorf("%s: %v %+v", spec, err, rep.Updates)
		}
	}
	if rep.BackendCfg == "" || rep.Host.CPUs < 1 {
		t.Errorf("missing host or backend: %+v", rep)
	}
}

func TestBenchPopulation(t *testing.T) {
	args := []string{"bench", "--models", "logreg", "--batch-sizes", "16", "--steps", "3", "--epochs", "1",
		"--update-params", "", "--population", "3"}
	code, out, stderr := runCLI(append(args, "--json", "-")...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("output is not the JSON report: %v\n%s", err, out)
	}
	if len(rep.Populations) != 1 {
		t.Fatalf("population results %+v", rep.Populations)
	}
	p := rep.Populations[0]
	if p.Members != 3 || p.Model != "logreg" || p.Steps != 3 || p.TrialsPerHour <= 0 || p.SequentialTrialsPerHour <= 0 || p.Speedup <= 0 {
		t.Errorf("population result %+v", p)
	}
	code, out, stderr = runCLI(args...)
	if code != 0 || !strings.Contains(out, "Population throughput") || !strings.Contains(out, "trials/h one by one") {
		t.Fatalf("table: exit %d, stderr %q\n%s", code, stderr, out)
	}
}
