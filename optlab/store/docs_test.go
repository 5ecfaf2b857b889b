package store

import (
	"database/sql"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"optlab.dev/optlab/sweep/sweeptest"
)

// TestDocumentedQueriesRun runs the SQL of docs/results-store.md on a store
// of known records and checks their answers, and that the page names every
// column.
func TestDocumentedQueriesRun(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "results-store.md"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(raw)
	for _, c := range Columns() {
		if !strings.Contains(page, "`"+c.Name+"`") {
			t.Errorf("docs/results-store.md does not describe the column %s", c.Name)
		}
	}
	queries := regexp.MustCompile("(?s)```sql\n(.*?)```").FindAllStringSubmatch(page, -1)
	if len(queries) != 3 {
		t.Fatalf("%d SQL blocks in the page, want 3", len(queries))
	}
	diverged := sweeptest.FakeRecord(t, "sgd(lr=100)", 1, 0.1)
	diverged.Hist.Err = "diverged: loss is NaN at epoch 1, step 3"
	diverged.Hist.Epochs = diverged.Hist.Epochs[:1]
	diverged.Hist.TestLoss = math.NaN()
	path := filepath.Join(t.TempDir(), "s.db")
	writeStore(t, path,
		sweeptest.FakeRecord(t, "adam(lr=0.01)", 1, 0.8), sweeptest.FakeRecord(t, "adam(lr=0.01)", 2, 0.82),
		sweeptest.FakeRecord(t, "adam(lr=0.1)", 1, 0.6), sweeptest.FakeRecord(t, "sgd(lr=0.1)", 1, 0.7), diverged)
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	want := []string{
		"logreg adam 0.01 0.81 2 | logreg sgd 0.1 0.7 1",
		"logreg adam 0.01 2 0.8 0.0141 | logreg adam 0.1 1 0.59 0 | logreg sgd 0.1 1 0.69 0",
		"sgd 100 1 1 diverged: loss is NaN at epoch 1, step 3",
	}
	for i, q := range queries {
		got := rowsText(t, db, q[1])
		if got != want[i] {
			t.Errorf("query %d:\n%s\n got %s\nwant %s", i+1, q[1], got, want[i])
		}
	}
}

// rowsText runs a query and joins its rows' cells with spaces, rows with " | ".
func rowsText(t *testing.T, db *sql.DB, q string) string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		cells := make([]string, len(vals))
		for i, v := range vals {
			cells[i] = cell(v)
		}
		out = append(out, strings.Join(cells, " "))
	}
	return strings.Join(out, " | ")
}
