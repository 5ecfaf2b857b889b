package optlab

import "optlab.dev/internal/jsonfloat"

// MarshalJSON writes the epoch as encoding/json would, except that NaN and
// ±Inf metrics (a diverged or skipped run has them) are the strings "NaN",
// "+Inf" and "-Inf": JSON has no numbers for them, and a run's results must
// never be lost for want of a spelling. UnmarshalJSON, Python's float() and
// pandas read them back.
func (e Epoch) MarshalJSON() ([]byte, error) {
	type plain Epoch
	return jsonfloat.Marshal(plain(e))
}

// UnmarshalJSON reads an epoch, accepting the strings MarshalJSON writes for
// non-finite metrics.
func (e *Epoch) UnmarshalJSON(b []byte) error {
	type plain Epoch
	return jsonfloat.Unmarshal(b, (*plain)(e))
}

// MarshalJSON writes the history as encoding/json would, with non-finite
// metrics as strings (see Epoch.MarshalJSON).
func (h History) MarshalJSON() ([]byte, error) {
	type plain History
	return jsonfloat.Marshal(plain(h))
}

// UnmarshalJSON reads a history, accepting the strings MarshalJSON writes for
// non-finite metrics.
func (h *History) UnmarshalJSON(b []byte) error {
	type plain History
	return jsonfloat.Unmarshal(b, (*plain)(h))
}
