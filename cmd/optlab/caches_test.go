package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"optlab.dev/optlab"
	"optlab.dev/optlab/notebook"
	"optlab.dev/optlab/store"
	"optlab.dev/optlab/sweep"
)

func TestCachesCommand(t *testing.T) {
	dir := t.TempDir()
	code, err := notebook.CodeFingerprint(dir)
	if err != nil {
		t.Fatal(err)
	}
	writeCache := func(name, code string) {
		c := map[string]any{
			"key": map[string]any{"model": "logreg", "optimizers": []string{"sgd"}, "seeds": []int{1}, "protocol": "fresh",
				"epochs": 1, "batch_size": 32, "train_examples": 100, "val_examples": 10, "val_split": "test", "backend": "SimpleGo (go)"},
			"code": code, "complete": true,
			"runs": []*optlab.History{{Model: "logreg", Label: "sgd", Seed: 1}},
		}
		raw, _ := json.Marshal(c)
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	trials, err := sweep.Grid{Models: []string{"logreg"}, Optimizers: []string{"sgd(lr=0.1)"}, Seeds: []int64{1, 2}, Epochs: 1, Limit: 300}.Trials()
	if err != nil {
		t.Fatal(err)
	}
	s, err := store.Open(filepath.Join(dir, "sweep.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range trials {
		h := &optlab.History{Model: "logreg", Seed: tr.Seed, Epochs: []optlab.Epoch{{Epoch: 1, Loss: 1}}}
		if _, err := s.Append(sweep.Record{ID: tr.ID(), Trial: tr, Hist: h, Env: optlab.RunEnv{Code: code}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	writeCache("01_a.json", code)

	rc, out, errOut := runCLI("caches", "--dir", dir)
	if rc != 0 || !strings.Contains(out, "current  01_a.json (1 run)") || !strings.Contains(out, "current  sweep.db (2 records)") || !strings.Contains(out, "all 2 caches are current") {
		t.Fatalf("all current: exit %d\n%s%s", rc, out, errOut)
	}

	writeCache("02_b.json", "")
	rc, out, errOut = runCLI("caches", "--dir", dir)
	if rc != 1 || !strings.Contains(out, "stale    02_b.json (1 run): no code fingerprint") ||
		!strings.Contains(errOut, "1 of 3 caches in "+dir+" are stale") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
		t.Fatalf("one stale: exit %d\n%s%s", rc, out, errOut)
	}

	for _, tc := range []struct {
		name string
		dir  string
		want string
	}{
		{"missing folder", filepath.Join(dir, "nope"), "reading the caches"},
		{"no caches", t.TempDir(), "no caches (*.json, *.db, *.jsonl)"},
	} {
		rc, _, errOut := runCLI("caches", "--dir", tc.dir)
		if rc != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tc.name, rc, errOut, tc.want)
		}
	}
	// Findings about the walkthrough's claims (notebook.Record) are checked too.
	writeFindings := func(name, code string) {
		raw, _ := json.Marshal(map[string]any{"notebook": "01_why_optimize", "code": code,
			"findings": []map[string]string{{"claim": "Q1.5", "verdict": "shown", "number": "bump 0.4"}}})
		if err := os.WriteFile(filepath.Join(dir, name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Remove(filepath.Join(dir, "02_b.json"))
	writeFindings("01_claims.json", code)
	if rc, out, errOut := runCLI("caches", "--dir", dir); rc != 0 || !strings.Contains(out, "current  01_claims.json (1 finding)") {
		t.Errorf("current findings: exit %d\n%s%s", rc, out, errOut)
	}
	writeFindings("01_claims.json", "sha256:other")
	if rc, out, _ := runCLI("caches", "--dir", dir); rc != 1 || !strings.Contains(out, "stale    01_claims.json (1 finding): computed by other code") {
		t.Errorf("stale findings: exit %d\n%s", rc, out)
	}
	os.WriteFile(filepath.Join(dir, "03_c.json"), []byte("{"), 0o644)
	if rc, _, errOut := runCLI("caches", "--dir", dir); rc != 1 || !strings.Contains(errOut, "03_c.json is not a comparison cache") {
		t.Errorf("damaged cache: exit %d, stderr %q", rc, errOut)
	}
}
