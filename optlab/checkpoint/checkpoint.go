package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/atomicfile"
	"optlab.dev/optlab/safetensors"
)

// Format names the manifest's layout; Load refuses other formats.
const Format = "optlab.checkpoint/v1"

// manifestKey is the safetensors metadata key that holds the manifest.
const manifestKey = "optlab.checkpoint"

// filePrefix and fileSuffix frame a checkpoint's file name: ckpt-<step>.safetensors,
// the step written with 12 digits so that names sort by step.
const (
	filePrefix = "ckpt-"
	fileSuffix = ".safetensors"
)

// Manifest describes a checkpoint. It is stored as JSON in the safetensors
// file's metadata under the key "optlab.checkpoint".
type Manifest struct {
	Format string `json:"format"`
	// Step is the number of optimizer steps the run had taken (it names the file).
	Step  int64     `json:"step"`
	Saved time.Time `json:"saved"`
	// Variables lists the store's variables in the store's order (restored in
	// that order, so a resumed run builds the same graph).
	Variables []Variable `json:"variables"`
	// Config is what the caller says identifies the run (compared on resume).
	Config json.RawMessage `json:"config"`
	// State is the caller's loop state (position, history, ...).
	State json.RawMessage `json:"state"`
}

// Variable is one store variable of a checkpoint: its full path (also its
// tensor's name), whether it is trainable, and the CRC-32C (Castagnoli) of
// its tensor's bytes.
type Variable struct {
	Path      string `json:"path"`
	Trainable bool   `json:"trainable"`
	CRC32C    uint32 `json:"crc32c"`
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// FileName returns the name of the checkpoint of the given step.
func FileName(step int64) string { return fmt.Sprintf("%s%012d%s", filePrefix, step, fileSuffix) }

// stepOf parses a checkpoint file name; ok is false for other files.
func stepOf(name string) (int64, bool) {
	if !strings.HasPrefix(name, filePrefix) || !strings.HasSuffix(name, fileSuffix) {
		return 0, false
	}
	s, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(name, filePrefix), fileSuffix), 10, 64)
	return s, err == nil && s >= 0
}

// List returns the checkpoint files in dir, oldest (lowest step) first; a
// missing dir has none.
func List(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("listing checkpoints: %w", err)
	}
	type ckpt struct {
		step int64
		path string
	}
	var cs []ckpt
	for _, e := range entries {
		if s, ok := stepOf(e.Name()); ok && e.Type().IsRegular() {
			cs = append(cs, ckpt{s, filepath.Join(dir, e.Name())})
		}
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].step < cs[j].step })
	paths := make([]string, len(cs))
	for i, c := range cs {
		paths[i] = c.path
	}
	return paths, nil
}

// Latest returns the newest checkpoint in dir (the highest step), or "" when
// there is none.
func Latest(dir string) (string, error) {
	paths, err := List(dir)
	if err != nil || len(paths) == 0 {
		return "", err
	}
	return paths[len(paths)-1], nil
}

// Save writes every variable of store, with config and state (any values
// that encoding/json marshals), as the checkpoint of the given step in dir
// (created if needed), then deletes all but the newest keep checkpoints (keep
// ≤ 0 keeps all). The file is written to a temporary file, synced and renamed
// into place, and the directory is synced, so a crash leaves either the old
// or the new file, never a torn one. It returns the file's path.
func Save(dir string, store *model.Store, step int64, config, state any, keep int) (string, error) {
	if step < 0 {
		return "", fmt.Errorf("save checkpoint: step %d must be ≥ 0", step)
	}
	cfg, err := json.Marshal(config)
	if err != nil {
		return "", fmt.Errorf("save checkpoint: encoding the configuration: %w", err)
	}
	st, err := json.Marshal(state)
	if err != nil {
		return "", fmt.Errorf("save checkpoint: encoding the run state: %w", err)
	}
	m := Manifest{Format: Format, Step: step, Saved: time.Now().UTC(), Config: cfg, State: st}
	f := &safetensors.File{Metadata: map[string]string{}, Tensors: map[string]safetensors.Tensor{}}
	for v := range store.IterVariables() {
		value, err := v.Value()
		if err != nil || value == nil {
			return "", fmt.Errorf("save checkpoint: variable %s has no value", v.Path())
		}
		t, err := fromGoMLX(value)
		if err != nil {
			return "", fmt.Errorf("save checkpoint: %s: %w", v.Path(), err)
		}
		f.Tensors[v.Path()] = t
		m.Variables = append(m.Variables, Variable{Path: v.Path(), Trainable: v.Trainable, CRC32C: crc32.Checksum(t.Data, castagnoli)})
	}
	mb, err := json.Marshal(m)
	if err != nil {
		return "", fmt.Errorf("save checkpoint: encoding the manifest: %w", err)
	}
	f.Metadata[manifestKey] = string(mb)
	b, err := f.Encode()
	if err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	path := filepath.Join(dir, FileName(step))
	if err := atomicfile.WriteBytes(path, b); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return "", fmt.Errorf("save checkpoint: %w", err)
	}
	if err := Prune(dir, keep); err != nil {
		return path, err
	}
	return path, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}

// Prune deletes all but the newest keep checkpoints in dir (keep ≤ 0 keeps
// all), and the temporary files of saves that a crash interrupted.
func Prune(dir string, keep int) error {
	paths, err := List(dir)
	if err != nil {
		return err
	}
	if keep > 0 && len(paths) > keep {
		for _, p := range paths[:len(paths)-keep] {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("pruning old checkpoints: %w", err)
			}
		}
	}
	// atomicfile names its temporary files ".<name>.tmp<random>".
	tmps, _ := filepath.Glob(filepath.Join(dir, "."+filePrefix+"*"+fileSuffix+".tmp*"))
	for _, p := range tmps {
		_ = os.Remove(p)
	}
	return nil
}

// Checkpoint is a checkpoint read by Load.
type Checkpoint struct {
	Path     string
	Manifest Manifest
	tensors  map[string]safetensors.Tensor
}

// Load reads and verifies a checkpoint file: a safetensors file whose
// manifest has this package's format, lists every tensor of the file once,
// and whose tensors match their checksums. Any other file is refused with an
// error naming the file and what is wrong.
func Load(path string) (*Checkpoint, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint %s is corrupt: %w", path, err)
	}
	raw, ok := f.Metadata[manifestKey]
	if !ok {
		return nil, fmt.Errorf("checkpoint %s has no optlab manifest (not a checkpoint written by optlab)", path)
	}
	var m Manifest
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		return nil, fmt.Errorf("checkpoint %s: corrupt manifest: %w", path, err)
	}
	if m.Format != Format {
		return nil, fmt.Errorf("checkpoint %s has format %q; this optlab reads %q", path, m.Format, Format)
	}
	if len(m.Variables) != len(f.Tensors) {
		return nil, fmt.Errorf("checkpoint %s is corrupt: the manifest lists %d variables, the file holds %d tensors", path, len(m.Variables), len(f.Tensors))
	}
	for _, v := range m.Variables {
		t, ok := f.Tensors[v.Path]
		if !ok {
			return nil, fmt.Errorf("checkpoint %s is corrupt: no tensor for variable %s", path, v.Path)
		}
		if crc32.Checksum(t.Data, castagnoli) != v.CRC32C {
			return nil, fmt.Errorf("checkpoint %s is corrupt: variable %s fails its checksum", path, v.Path)
		}
	}
	return &Checkpoint{Path: path, Manifest: m, tensors: f.Tensors}, nil
}

// DecodeConfig decodes the manifest's configuration into v.
func (c *Checkpoint) DecodeConfig(v any) error {
	if err := json.Unmarshal(c.Manifest.Config, v); err != nil {
		return fmt.Errorf("checkpoint %s: reading its configuration: %w", c.Path, err)
	}
	return nil
}

// DecodeState decodes the manifest's run state into v.
func (c *Checkpoint) DecodeState(v any) error {
	if err := json.Unmarshal(c.Manifest.State, v); err != nil {
		return fmt.Errorf("checkpoint %s: reading its run state: %w", c.Path, err)
	}
	return nil
}

// Restore sets store's variables to the checkpoint's, in the checkpoint's
// order: a variable the store lacks is created (with its trainable flag), one
// it has must have the same element type and shape. Restore into a store that
// holds nothing but what the checkpoint has (a fresh network, before its
// first step), so that the order of variables, and with it the graph a
// resumed run builds, is that of the saved run.
func (c *Checkpoint) Restore(store *model.Store) error {
	values := make([]*tensors.Tensor, 0, len(c.Manifest.Variables))
	for _, mv := range c.Manifest.Variables {
		t, err := toGoMLX(c.tensors[mv.Path])
		if err != nil {
			return fmt.Errorf("checkpoint %s: variable %s: %w", c.Path, mv.Path, err)
		}
		if v := store.GetVariable(mv.Path); v != nil && !v.Shape().Equal(t.Shape()) {
			return fmt.Errorf("checkpoint %s: variable %s is %s there and %s here", c.Path, mv.Path, t.Shape(), v.Shape())
		}
		values = append(values, t)
	}
	for i, mv := range c.Manifest.Variables {
		v := store.GetVariable(mv.Path)
		if v == nil {
			var err error
			if v, err = store.CreateVariable(mv.Path, values[i]); err != nil {
				return fmt.Errorf("checkpoint %s: restoring %s: %w", c.Path, mv.Path, err)
			}
		} else if err := v.SetValue(values[i]); err != nil {
			return fmt.Errorf("checkpoint %s: restoring %s: %w", c.Path, mv.Path, err)
		}
		v.SetTrainable(mv.Trainable)
	}
	return nil
}

// LoadLatest loads the newest checkpoint in dir (see Latest and Load), or
// returns nil and no error when dir holds none.
func LoadLatest(dir string) (*Checkpoint, error) {
	path, err := Latest(dir)
	if err != nil || path == "" {
		return nil, err
	}
	return Load(path)
}

// Resume continues a run from the newest checkpoint in dir, if there is
// one: it checks that the checkpoint was saved with config (compared with
// Differences, skipping the keys in ignore), decodes its state into state (a
// pointer) and restores its variables into store (see Restore). It returns
// the checkpoint's path, or "" when dir holds none (nothing is changed then).
// A checkpoint saved with another configuration is refused with an error
// that lists every difference.
func Resume(dir string, store *model.Store, config, state any, ignore ...string) (string, error) {
	c, err := LoadLatest(dir)
	if err != nil || c == nil {
		return "", err
	}
	if diffs := Differences(c.Manifest.Config, config, ignore...); len(diffs) > 0 {
		return "", fmt.Errorf("checkpoint %s was saved by another run: %s", c.Path, strings.Join(diffs, "; "))
	}
	if err := c.DecodeState(state); err != nil {
		return "", err
	}
	if err := c.Restore(store); err != nil {
		return "", err
	}
	return c.Path, nil
}
