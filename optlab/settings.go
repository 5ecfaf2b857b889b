package optlab

import (
	"fmt"
	"strings"

	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/models"
)

// Settings are the values every run shares besides its optimizer and seed,
// named as the CLI's flags and a sweep's trial files name them: the model,
// epochs, batch size, data split and limit, the non-finite policy and
// reduce-on-plateau. Validate is the one check of them that Train, the CLI
// and sweeps use.
type Settings struct {
	Model     string
	Epochs    int
	BatchSize int
	// Split names the data split ("" is datasets.SplitTest); Limit > 0 keeps
	// only the first Limit training examples (see datasets.Set.Splits).
	Split string
	Limit int
	// NonFinite is the divergence policy ("" is StopOnNonFinite).
	NonFinite NonFinitePolicy
	Plateau   *Plateau
}

// Validate returns a *SettingError naming the first bad setting, or nil.
func (s Settings) Validate() error {
	if _, err := models.Get(s.Model); err != nil {
		return &SettingError{Key: "model", Problem: err.Error()}
	}
	if s.Epochs < 1 {
		return &SettingError{Key: "epochs", Problem: fmt.Sprintf("must be ≥ 1, got %d", s.Epochs), Predicate: true}
	}
	if s.BatchSize < 1 {
		return &SettingError{Key: "batch_size", Problem: fmt.Sprintf("must be ≥ 1, got %d", s.BatchSize), Predicate: true}
	}
	if s.Limit < 0 {
		return &SettingError{Key: "limit", Problem: fmt.Sprintf("must be ≥ 0, got %d", s.Limit), Predicate: true}
	}
	if s.Split != "" {
		split, err := datasets.ParseSplit(s.Split)
		if err != nil {
			return &SettingError{Key: "split", Problem: err.Error()}
		}
		if n := datasets.TrainSize(split, s.Limit); s.BatchSize > n {
			return &SettingError{Key: "batch_size", Problem: fmt.Sprintf("must be ≤ the training set's %d examples (split %s, limit %d), got %d",
				n, split, s.Limit, s.BatchSize), Predicate: true}
		}
	}
	switch s.NonFinite {
	case "", StopOnNonFinite, SkipNonFinite:
	default:
		return &SettingError{Key: "non_finite", Problem: fmt.Sprintf("unknown non-finite policy %q (valid: stop, skip)", s.NonFinite)}
	}
	if err := s.Plateau.Validate(); err != nil {
		return &SettingError{Key: "plateau", Problem: err.Error()}
	}
	return nil
}

// SettingError is a run setting with a bad value.
type SettingError struct {
	// Key names the setting as a trial file's JSON key does ("model",
	// "epochs", "batch_size", "limit", "split", "non_finite", "plateau"); a
	// flag spells it with '-' for '_'.
	Key string
	// Problem says what is wrong: a sentence of its own (`unknown model
	// "vgg" (valid: ...)`), or, when Predicate is set, the rest of a sentence
	// whose subject is the setting ("must be ≥ 1, got 0").
	Problem   string
	Predicate bool
}

// Error reads, for example, "batch size must be ≥ 1, got 0" or
// `unknown split "half" (valid: test, holdout5k)`.
func (e *SettingError) Error() string {
	if e.Predicate {
		return strings.ReplaceAll(e.Key, "_", " ") + " " + e.Problem
	}
	return e.Problem
}
