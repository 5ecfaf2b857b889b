package optlab

import (
	"io"
	"os"
	"testing"
)

// TestNewBackendWritesNothingToStdout checks that creating the default backend
// prints nothing on standard output (simplego announces its parallelism
// setting there), so that `optlab bench --json -` and similar output stays
// machine-readable.
func TestNewBackendWritesNothingToStdout(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	b, err := NewBackend("go")
	os.Stdout = stdout
	_ = w.Close()
	printed, _ := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Finalize()
	if len(printed) != 0 {
		t.Errorf("NewBackend(%q) printed %q on standard output", "go", printed)
	}
}
