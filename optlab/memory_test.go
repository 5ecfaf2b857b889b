package optlab

import (
	"testing"
)

func TestMeasureMemory(t *testing.T) {
	backend := traceBackend(t)
	// logreg has 784·10 + 10 = 7,850 float32 parameters.
	const params = 7850
	tests := []struct {
		spec  string
		slots int
	}{{"sgd(lr=0.1)", 0}, {"momentum(lr=0.1)", 1}, {"rmsprop", 1}, {"adam", 2}, {"amsgrad", 3}}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			m, err := MeasureMemory(backend, "logreg", tc.spec)
			if err != nil {
				t.Fatal(err)
			}
			if m.Params != params || m.ParamBytes != 4*params {
				t.Fatalf("params %d (%d bytes), want %d (%d bytes)", m.Params, m.ParamBytes, params, 4*params)
			}
			if m.StateSlots != tc.slots {
				t.Fatalf("slots %d, want %d", m.StateSlots, tc.slots)
			}
			// Per-parameter buffers plus a few scalars (step counters).
			min, max := int64(tc.slots)*4*params, int64(tc.slots)*4*params+64
			if m.StateBytes < min || m.StateBytes > max {
				t.Fatalf("state %d bytes, want %d..%d", m.StateBytes, min, max)
			}
		})
	}
	if _, err := MeasureMemory(backend, "logreg", "adam(lr=-1)"); err == nil {
		t.Fatal("bad spec accepted")
	}
	if _, err := MeasureMemory(backend, "nope", "adam"); err == nil {
		t.Fatal("unknown model accepted")
	}
}
