package data

import "testing"

func TestReferenceFiles(t *testing.T) {
	a, err := ReadReference("q8_answer_a_history.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Rows) != 15 || a.Source == "" {
		t.Errorf("answer A history: %d rows, source %q; want 15 rows and a source", len(a.Rows), a.Source)
	}
	acc, err := a.Column("val_accuracy")
	if err != nil || acc[4] != "0.9828" {
		t.Errorf("SGD's epoch-5 val_accuracy = %v (%v), want 0.9828", acc, err)
	}
	b, err := ReadReference("q8_test_results.csv")
	if err != nil || len(b.Rows) != 9 {
		t.Fatalf("test results: %v rows, %v", b, err)
	}
	if _, err := b.Column("nope"); err == nil {
		t.Error("unknown column should be an error")
	}
	if _, err := ReadReference("missing.csv"); err == nil {
		t.Error("missing file should be an error")
	}
}
