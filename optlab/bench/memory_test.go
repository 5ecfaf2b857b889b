package bench

import (
	"testing"

	"optlab.dev/optlab/optimizers"
)

func TestMemory(t *testing.T) {
	backend := testBackend(t)
	// logreg has 784·10 + 10 = 7,850 float32 parameters.
	const params = 7850
	tests := []struct {
		spec  string
		slots int
	}{{"sgd(lr=0.1)", 0}, {"momentum(lr=0.1)", 1}, {"rmsprop", 1}, {"adam", 2}, {"amsgrad", 3}}
	for _, tc := range tests {
		t.Run(tc.spec, func(t *testing.T) {
			m, err := Memory(backend, "logreg", optimizers.MustParse(tc.spec))
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
			if want := int64(tc.slots) * 4 * params; m.BufferBytes != want {
				t.Fatalf("buffers %d bytes, want %d (%d float32 buffers of %d)", m.BufferBytes, want, tc.slots, params)
			}
			if m.ScalarBytes <= 0 || m.ScalarBytes > 64 {
				t.Fatalf("scalars %d bytes, want a step counter (1..64 bytes)", m.ScalarBytes)
			}
			if m.StateBytes != m.BufferBytes+m.ScalarBytes {
				t.Fatalf("state %d bytes ≠ buffers %d + scalars %d", m.StateBytes, m.BufferBytes, m.ScalarBytes)
			}
			// The buffers are what the runner records for the run (History.StateBytes).
			if want := optimizers.MustParse(tc.spec).StateBytes(params, 4); m.BufferBytes != want {
				t.Fatalf("buffers %d bytes, optimizer's StateBytes says %d", m.BufferBytes, want)
			}
			if r := m.StateRatio(); r != float64(tc.slots) {
				t.Fatalf("state ratio %v, want %d", r, tc.slots)
			}
		})
	}
	if _, err := Memory(backend, "logreg", nil); err == nil {
		t.Fatal("no optimizer accepted")
	}
	if _, err := Memory(backend, "nope", optimizers.MustParse("adam")); err == nil {
		t.Fatal("unknown model accepted")
	}
}
