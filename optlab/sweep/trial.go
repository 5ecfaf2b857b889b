package sweep

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"

	"optlab.dev/internal/atomicfile"
	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

// Trial is one training run of a sweep: everything that decides its result.
// Its identity (ID) is a hash of its canonical form, so the same trial gets the
// same ID on every machine and in every run of a sweep. In JSON (trial files,
// store records) the optimizer is its canonical spec string.
type Trial struct {
	Model string
	// Optimizer is the parsed optimizer; its learning rate is the trial's.
	Optimizer *optimizers.Optimizer
	Seed      int64
	BatchSize int
	Epochs    int
	// Split is the data split (datasets.SplitTest or datasets.SplitHoldout5k).
	Split string
	// Limit, when > 0, keeps only the first Limit training examples (see
	// datasets.Set.Splits).
	Limit int
	// NonFinite is the divergence policy ("stop" or "skip").
	NonFinite string
	// EvalEvery > 0 also evaluates on the validation split every EvalEvery
	// steps (optlab.Config.EvalEvery; the history's Evals).
	EvalEvery int
	// FullEval, with Limit > 0, keeps the whole validation and test splits:
	// Limit cuts only the training examples (optlab.SplitDataFullEval).
	FullEval bool
	// Protocol, when set, places the trial in a protocol built on sweeps, such
	// as an optimizer benchmark (optlab/benchmark): a JSON object that is part
	// of the trial's identity (and so of its ID) but that this package does
	// not read. Such a trial is trained by its protocol's own runner, which
	// reads Protocol and checks the other fields: Run and RunTrial refuse it,
	// and Canonical checks only that it has an optimizer.
	Protocol json.RawMessage
}

// trialJSON is a Trial's JSON form. Its fields, their order and their
// spelling make the bytes that trial IDs hash: changing any of them changes
// every trial's ID.
type trialJSON struct {
	Model     string `json:"model"`
	Optimizer string `json:"optimizer"`
	Seed      int64  `json:"seed"`
	BatchSize int    `json:"batch_size"`
	Epochs    int    `json:"epochs"`
	Split     string `json:"split"`
	Limit     int    `json:"limit"`
	NonFinite string `json:"non_finite"`
	// Fields added later are left out when zero, so that the trials
	// written before them keep their IDs.
	EvalEvery int  `json:"eval_every,omitempty"`
	FullEval  bool `json:"full_eval,omitempty"`
	// Protocol is omitted when empty, so that adding it changed no ID.
	Protocol json.RawMessage `json:"protocol,omitempty"`
}

// specOf is opt's canonical spec, or "" for no optimizer.
func specOf(opt *optimizers.Optimizer) string {
	if opt == nil {
		return ""
	}
	return opt.String()
}

func (t Trial) wire() trialJSON {
	return trialJSON{Model: t.Model, Optimizer: specOf(t.Optimizer), Seed: t.Seed, BatchSize: t.BatchSize,
		Epochs: t.Epochs, Split: t.Split, Limit: t.Limit, NonFinite: t.NonFinite, EvalEvery: t.EvalEvery, FullEval: t.FullEval,
		Protocol: t.Protocol}
}

func (w trialJSON) trial() (Trial, error) {
	opt, err := optimizers.Parse(w.Optimizer)
	if err != nil {
		return Trial{}, fmt.Errorf("trial: %w", err)
	}
	return Trial{Model: w.Model, Optimizer: opt, Seed: w.Seed, BatchSize: w.BatchSize, Epochs: w.Epochs,
		Split: w.Split, Limit: w.Limit, NonFinite: w.NonFinite, EvalEvery: w.EvalEvery, FullEval: w.FullEval, Protocol: w.Protocol}, nil
}

// MarshalJSON writes the trial with its optimizer as the canonical spec.
func (t Trial) MarshalJSON() ([]byte, error) { return json.Marshal(t.wire()) }

// UnmarshalJSON reads a trial, parsing its optimizer spec.
func (t *Trial) UnmarshalJSON(b []byte) error {
	var w trialJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	tr, err := w.trial()
	if err != nil {
		return err
	}
	*t = tr
	return nil
}

// Canonical validates t (optlab.Settings.Validate) and returns it with the
// defaults filled in (split "test", non-finite policy "stop"; FullEval
// without a limit is the same trial as without it, and is dropped). A trial
// with a Protocol is returned as it is once it has an optimizer: its protocol
// checks the rest.
func (t Trial) Canonical() (Trial, error) {
	if t.Optimizer == nil {
		return t, errors.New("trial: no optimizer")
	}
	if len(t.Protocol) > 0 {
		return t, nil
	}
	if t.Split == "" {
		t.Split = string(datasets.SplitTest)
	}
	if t.NonFinite == "" {
		t.NonFinite = string(optlab.StopOnNonFinite)
	}
	if t.EvalEvery < 0 {
		return t, fmt.Errorf("trial: eval every must be ≥ 0 steps (0: at epoch ends only), got %d", t.EvalEvery)
	}
	if t.Limit == 0 {
		t.FullEval = false
	}
	if err := (optlab.Settings{Model: t.Model, Epochs: t.Epochs, BatchSize: t.BatchSize, Split: t.Split, Limit: t.Limit,
		NonFinite: optlab.NonFinitePolicy(t.NonFinite)}).Validate(); err != nil {
		return t, fmt.Errorf("trial: %w", err)
	}
	return t, nil
}

// ID returns the trial's stable identity: the first 16 hex digits of the
// SHA-256 of its canonical JSON form. Equivalent spellings of a spec
// ("adam(lr=1e-3)" and "adam(lr=0.001,b1=0.9)") parse to the same optimizer
// and give the same ID. A trial that does not validate is hashed as it is.
func (t Trial) ID() string {
	if c, err := t.Canonical(); err == nil {
		t = c
	}
	b, _ := json.Marshal(t.wire()) // a struct of strings and integers always marshals
	return IDFromJSON(b)
}

// IDFromJSON returns the ID of a trial from its JSON form as written (a
// stored record's "trial" member), without decoding or canonicalising it:
// reading a store checks records with it, which keeps stores readable if a
// later version spells canonical specs differently.
func IDFromJSON(trial []byte) string {
	sum := sha256.Sum256(append([]byte("optlab.trial.v1\n"), trial...))
	return hex.EncodeToString(sum[:8])
}

// LR returns the trial's learning rate (NaN without an optimizer).
func (t Trial) LR() float64 {
	if t.Optimizer == nil {
		return math.NaN()
	}
	return t.Optimizer.LearningRate()
}

// Family returns the optimizer's canonical spec without its learning rate,
// e.g. "adam(b1=0.9,b2=0.999,eps=1e-08,...)": trials of one family differ only
// in the learning rate.
func (t Trial) Family() string {
	if t.Optimizer == nil {
		return ""
	}
	return family(t.Optimizer)
}

// Label returns a short name for the trial's optimizer family: the
// optimizer's name followed by the hyperparameters (other than lr) that differ
// from its defaults, e.g. "sgd(momentum=0.9)" or "adam".
func (t Trial) Label() string {
	if t.Optimizer == nil {
		return ""
	}
	return label(t.Optimizer)
}

// String describes the trial in one line.
func (t Trial) String() string {
	if len(t.Protocol) > 0 {
		return fmt.Sprintf("%s · %s · seed %d · batch %d · %s", t.Model, specOf(t.Optimizer), t.Seed, t.BatchSize, compactJSON(t.Protocol))
	}
	s := fmt.Sprintf("%s · %s · seed %d · batch %d · %d epoch", t.Model, specOf(t.Optimizer), t.Seed, t.BatchSize, t.Epochs)
	if t.Epochs != 1 {
		s += "s"
	}
	if t.Limit > 0 {
		s += fmt.Sprintf(" · limit %d", t.Limit)
	}
	if t.Split != "" && t.Split != string(datasets.SplitTest) {
		s += " · split " + t.Split
	}
	if t.FullEval && t.Limit > 0 {
		s += " · full evaluation splits"
	}
	if t.EvalEvery > 0 {
		s += fmt.Sprintf(" · evaluated every %d steps", t.EvalEvery)
	}
	return s
}

// compactJSON returns raw without insignificant white space (raw itself when
// it is not valid JSON).
func compactJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Compact(&b, raw); err != nil {
		return string(raw)
	}
	return b.String()
}

// Config returns the training configuration of the trial.
func (t Trial) Config() optlab.Config {
	return optlab.Config{Model: t.Model, Optimizer: t.Optimizer, Epochs: t.Epochs, BatchSize: t.BatchSize,
		Seed: t.Seed, NonFinite: optlab.NonFinitePolicy(t.NonFinite), EvalEvery: t.EvalEvery}
}

// ReadTrial reads a trial from a JSON file (as written by WriteTrial or
// `optlab sweep --export-trials`), rejecting unknown keys.
func ReadTrial(path string) (Trial, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return Trial{}, fmt.Errorf("reading trial: %w", err)
	}
	var w trialJSON
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return Trial{}, fmt.Errorf("trial file %s: %w", path, err)
	}
	t, err := w.trial()
	if err != nil {
		return t, fmt.Errorf("trial file %s: %w", path, err)
	}
	c, err := t.Canonical()
	if err != nil {
		return t, fmt.Errorf("trial file %s: %w", path, err)
	}
	return c, nil
}

// WriteTrial writes t as an indented JSON file (atomically).
func WriteTrial(path string, t Trial) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(t)
	})
}
