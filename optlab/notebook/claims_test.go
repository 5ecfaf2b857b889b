package notebook

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestClaimRegistry: IDs are unique and numbered per question, every claim
// names a notebook of the series, and a claim that is not TODO names a
// section heading its notebook's source has.
func TestClaimRegistry(t *testing.T) {
	nbs := map[string]bool{}
	for _, n := range Series() {
		nbs[n.Name] = true
	}
	next := map[int]int{}
	for _, c := range Claims() {
		next[c.Question]++
		if want := fmt.Sprintf("Q%d.%d", c.Question, next[c.Question]); c.ID != want {
			t.Errorf("claim %s: want ID %s (numbered in order within its question)", c.ID, want)
		}
		if !nbs[c.Notebook] {
			t.Errorf("claim %s: notebook %q is not in the series", c.ID, c.Notebook)
		}
		if c.Text == "" {
			t.Errorf("claim %s has no text", c.ID)
		}
		if c.TODO != "" {
			continue
		}
		src, err := os.ReadFile(filepath.Join("..", "..", "notebooks", "src", c.Notebook+".txt"))
		if err != nil {
			t.Errorf("claim %s: %v", c.ID, err)
			continue
		}
		if !strings.Contains(string(src), "\n## "+c.Section+"\n") {
			t.Errorf("claim %s: notebook %s has no heading %q", c.ID, c.Notebook, "## "+c.Section)
		}
	}
	for q := 1; q <= 9; q++ {
		if next[q] == 0 {
			t.Errorf("question %d has no claim", q)
		}
	}
}

// TestNotebooksRecordTheirClaims: every claim that is not TODO is recorded by
// its own notebook's source, and no source records another notebook's claim
// or an unknown one.
func TestNotebooksRecordTheirClaims(t *testing.T) {
	srcs, err := filepath.Glob(filepath.Join("..", "..", "notebooks", "src", "*.txt"))
	if err != nil || len(srcs) == 0 {
		t.Fatalf("no notebook sources: %v", err)
	}
	rx := regexp.MustCompile(`notebook\.Record\("(Q[0-9]+\.[0-9]+)"`)
	recorded := map[string]string{}
	for _, path := range srcs {
		raw, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		name := strings.TrimSuffix(filepath.Base(path), ".txt")
		for _, m := range rx.FindAllStringSubmatch(string(raw), -1) {
			c, err := LookupClaim(m[1])
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			if c.Notebook != name {
				t.Errorf("%s records %s, a claim of %s", name, c.ID, c.Notebook)
			}
			recorded[c.ID] = name
		}
	}
	for _, c := range Claims() {
		if c.TODO == "" && recorded[c.ID] == "" {
			t.Errorf("claim %s (%s) is not TODO but its notebook never records it", c.ID, c.Notebook)
		}
		if c.TODO != "" && recorded[c.ID] != "" {
			t.Errorf("claim %s is recorded by %s: remove its TODO", c.ID, recorded[c.ID])
		}
	}
}

func TestRecordAndShow(t *testing.T) {
	t.Setenv(QuickEnv, "")
	dir := t.TempDir()
	t.Setenv(CacheDirEnv, "") // CachePath(path) is path itself
	code, err := CodeFingerprint(".")
	if err != nil {
		t.Fatal(err)
	}
	if err := recordIn(dir, "Q1.5", Shown, "bump 0.4 above the chord"); err != nil {
		t.Fatal(err)
	}
	if err := recordIn(dir, "Q1.5", NotShown, "no bump"); err != nil { // replaces
		t.Fatal(err)
	}
	if err := recordIn(dir, "Q2.8", Shown, "0 B, 1×, 2× the weights"); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []struct{ id, verdict, number, want string }{
		{"Q0.1", "shown", "x", "unknown claim"},
		{"Q1.5", "proven", "x", "not one of"},
		{"Q1.5", "shown", " ", "needs the number"},
	} {
		if err := recordIn(dir, bad.id, Verdict(bad.verdict), bad.number); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("Record(%q, %q, %q): %v, want an error containing %q", bad.id, bad.verdict, bad.number, err, bad.want)
		}
	}
	st, err := ClaimStatuses(dir, code)
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]ClaimStatus{}
	for _, s := range st {
		byID[s.ID] = s
	}
	if s := byID["Q1.5"]; s.Finding == nil || s.Finding.Verdict != NotShown || s.Stale {
		t.Errorf("Q1.5: %+v", s.Finding)
	}
	if s := byID["Q1.1"]; s.Finding != nil {
		t.Errorf("Q1.1 was never recorded, got %+v", s.Finding)
	}
	n := VerdictCounts(st)
	if n[Shown] != 1 || n[NotShown] != 1 || n[""] != len(Claims())-2 {
		t.Errorf("counts %v", n)
	}
	md := ClaimsMarkdown(st)
	for _, want := range []string{
		"| Q1.5 | A network's loss surface is non-convex | **not shown** | no bump | [01 §4](01_why_optimize.ipynb#4-·-A-non-convex-surface) |",
		"| Q2.8 |", "*not measured yet*",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("table lacks %q:\n%s", want, md)
		}
	}
	// A claim no notebook records yet says who fills it in.
	todo := ClaimStatus{Claim: Claim{ID: "Q9.9", Question: 9, Text: "x", Notebook: "09_choosing_an_optimizer", TODO: "notebook 09's writer"}}
	if md := ClaimsMarkdown([]ClaimStatus{todo}); !strings.Contains(md, "*not measured yet*") || !strings.Contains(md, "TODO: notebook 09's writer") {
		t.Errorf("a TODO claim's row: %s", md)
	}
	// Findings of other code are stale: shown as such, rejected by CheckFindings.
	st, _ = ClaimStatuses(dir, "sha256:other")
	for _, s := range st {
		if s.Finding != nil && !s.Stale {
			t.Errorf("%s: finding of other code not stale", s.ID)
		}
	}
	if !strings.Contains(ClaimsMarkdown(st), "(stale: computed by older code)") {
		t.Error("stale findings not marked in the table")
	}
	fs, err := CheckFindings(filepath.Join(dir, "01_claims.json"), code)
	if err != nil || !fs.Current || fs.Findings != 1 {
		t.Errorf("CheckFindings: %+v, %v", fs, err)
	}
	if fs, _ := CheckFindings(filepath.Join(dir, "01_claims.json"), "sha256:other"); fs.Current || !strings.Contains(fs.Reason, "other code") {
		t.Errorf("CheckFindings with other code: %+v", fs)
	}
	// A quick-mode finding is not a committed result.
	t.Setenv(QuickEnv, "1")
	t.Setenv(CacheDirEnv, dir) // quick runs write here instead of the temporary folder
	if err := recordIn(dir, "Q2.1", Shown, "x"); err != nil {
		t.Fatal(err)
	}
	if fs, _ := CheckFindings(filepath.Join(dir, "02_claims.json"), code); fs.Current || !strings.Contains(fs.Reason, "quick mode") {
		t.Errorf("quick finding: %+v", fs)
	}
	// A damaged file is an error naming it.
	os.WriteFile(filepath.Join(dir, "03_claims.json"), []byte("{"), 0o644)
	if _, err := ClaimStatuses(dir, code); err == nil || !strings.Contains(err.Error(), "03_claims.json") {
		t.Errorf("damaged findings: %v", err)
	}
}

func TestSeriesMarkdown(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "01_why_optimize.ipynb"), []byte("{}"), 0o644)
	md, err := SeriesMarkdown(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md, "[01 Why optimize?](01_why_optimize.ipynb)") || !strings.Contains(md, "| 02 Gradient descent and its variants *(coming)* | Q2 |") {
		t.Errorf("part 1:\n%s", md)
	}
	if strings.Contains(md, "06 Adam") {
		t.Errorf("part 1 lists a part-2 notebook:\n%s", md)
	}
	md, _ = SeriesMarkdown(dir, 0)
	if !strings.Contains(md, "11 Diagnostics *(coming)*") || !strings.Contains(md, "| – |") {
		t.Errorf("beyond:\n%s", md)
	}
}
