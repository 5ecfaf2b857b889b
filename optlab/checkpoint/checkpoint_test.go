package checkpoint_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/optlab/checkpoint"
	"optlab.dev/optlab/safetensors"
)

type runConfig struct {
	Model string `json:"model"`
	Batch int    `json:"batch"`
}

type runState struct {
	Epoch, Step int
	Sum         float64
}

// storeWithState is a model store plus the kind of state a run keeps: a
// non-trainable optimizer slot, an int64 step counter and the RNG state.
func storeWithState(t *testing.T) *model.Store {
	t.Helper()
	store := model.NewStore()
	if err := store.SetRNGStateFromSeed(7); err != nil {
		t.Fatal(err)
	}
	s := newModelStore(t, 1)
	for v := range s.IterVariables() {
		if _, err := store.CreateVariable(v.Path(), v.MustValue()); err != nil {
			t.Fatal(err)
		}
	}
	store.GetVariable("/model/bn/moving_mean").SetTrainable(false)
	slot, err := store.CreateVariable("/optimizers/optlab/model/dense1/weights~exp_avg", tensors.FromFlatDataAndDimensions([]float32{0.5, -0.25}, 2))
	if err != nil {
		t.Fatal(err)
	}
	slot.SetTrainable(false)
	return store
}

func TestSaveLoadRestore(t *testing.T) {
	dir := t.TempDir()
	src := storeWithState(t)
	state := runState{Epoch: 2, Step: 17, Sum: 0.1 + 0.2}
	path, err := checkpoint.Save(dir, src, 1234, runConfig{"mlp-small", 32}, state, 3)
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(path) != "ckpt-000000001234.safetensors" {
		t.Errorf("file name %s", filepath.Base(path))
	}
	c, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var cfg runConfig
	var st runState
	if err := c.DecodeConfig(&cfg); err != nil {
		t.Fatal(err)
	}
	if err := c.DecodeState(&st); err != nil {
		t.Fatal(err)
	}
	if cfg != (runConfig{"mlp-small", 32}) || st != state || c.Manifest.Step != 1234 {
		t.Errorf("config %+v, state %+v, step %d", cfg, st, c.Manifest.Step)
	}
	// Restore into a fresh store that has only the RNG state (as a new network).
	dst := model.NewStore()
	if err := dst.SetRNGStateFromSeed(99); err != nil {
		t.Fatal(err)
	}
	if err := c.Restore(dst); err != nil {
		t.Fatal(err)
	}
	var srcPaths, dstPaths []string
	for v := range src.IterVariables() {
		srcPaths = append(srcPaths, v.Path())
		w := dst.GetVariable(v.Path())
		if w.Trainable != v.Trainable {
			t.Errorf("%s: trainable %v, saved %v", v.Path(), w.Trainable, v.Trainable)
		}
		var a, b []byte
		_ = v.MustValue().ConstBytes(func(x []byte) { a = slices.Clone(x) })
		_ = w.MustValue().ConstBytes(func(x []byte) { b = slices.Clone(x) })
		if !slices.Equal(a, b) || v.MustValue().Shape().String() != w.MustValue().Shape().String() {
			t.Errorf("%s: restored %s differs from saved %s", v.Path(), w.MustValue(), v.MustValue())
		}
	}
	for v := range dst.IterVariables() {
		dstPaths = append(dstPaths, v.Path())
	}
	if !slices.Equal(srcPaths, dstPaths) {
		t.Errorf("restored order %v, saved %v", dstPaths, srcPaths)
	}
}

func TestSaveKeepsTheNewest(t *testing.T) {
	dir := t.TempDir()
	store := storeWithState(t)
	// A temporary file left by a save that a crash interrupted.
	stale := filepath.Join(dir, ".ckpt-000000000009.safetensors.tmp123")
	if err := os.WriteFile(stale, []byte("torn"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, step := range []int64{10, 20, 5, 30, 40} {
		if _, err := checkpoint.Save(dir, store, step, nil, nil, 3); err != nil {
			t.Fatal(err)
		}
	}
	paths, err := checkpoint.List(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, filepath.Base(p))
	}
	want := []string{"ckpt-000000000020.safetensors", "ckpt-000000000030.safetensors", "ckpt-000000000040.safetensors"}
	if !slices.Equal(names, want) {
		t.Errorf("kept %v, want %v", names, want)
	}
	if latest, _ := checkpoint.Latest(dir); filepath.Base(latest) != want[2] {
		t.Errorf("latest %s", latest)
	}
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file still there (%v)", err)
	}
	if latest, err := checkpoint.Latest(filepath.Join(dir, "missing")); latest != "" || err != nil {
		t.Errorf("Latest of a missing dir: %q, %v", latest, err)
	}
}

func TestLoadRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	path, err := checkpoint.Save(dir, storeWithState(t), 1, runConfig{"logreg", 8}, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := safetensors.Decode(good)
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	flipped := slices.Clone(good)
	flipped[len(flipped)-3] ^= 0x10 // a bit of the last tensor's data
	plain := &safetensors.File{Tensors: f.Tensors}
	plainBytes, _ := plain.Encode()
	badFormat := &safetensors.File{Tensors: f.Tensors, Metadata: map[string]string{
		"optlab.checkpoint": strings.Replace(f.Metadata["optlab.checkpoint"], checkpoint.Format, "optlab.checkpoint/v0", 1)}}
	badFormatBytes, _ := badFormat.Encode()
	fewer := &safetensors.File{Tensors: map[string]safetensors.Tensor{}, Metadata: f.Metadata}
	for k, v := range f.Tensors {
		if k != "/model/bn/beta" {
			fewer.Tensors[k] = v
		}
	}
	fewerBytes, _ := fewer.Encode()
	tests := []struct{ name, path, want string }{
		{"bit flip", write("flip.safetensors", flipped), "fails its checksum"},
		{"truncated", write("trunc.safetensors", good[:len(good)-100]), "is corrupt"},
		{"not a checkpoint", write("plain.safetensors", plainBytes), "has no optlab manifest"},
		{"other format", write("v0.safetensors", badFormatBytes), `has format "optlab.checkpoint/v0"`},
		{"tensor missing", write("fewer.safetensors", fewerBytes), "the manifest lists"},
		{"missing file", filepath.Join(dir, "none.safetensors"), "no such file"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := checkpoint.Load(tc.path)
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %v, want one line containing %q", err, tc.want)
			}
		})
	}
}

func TestRestoreRefusesOtherShapes(t *testing.T) {
	path, err := checkpoint.Save(t.TempDir(), storeWithState(t), 1, nil, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	c, err := checkpoint.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	dst := model.NewStore()
	if _, err := dst.CreateVariable("/model/dense1/weights", tensors.FromFlatDataAndDimensions(make([]float32, 6), 2, 3)); err != nil {
		t.Fatal(err)
	}
	err = c.Restore(dst)
	if err == nil || !strings.Contains(err.Error(), "variable /model/dense1/weights is (Float32)[4, 3] there and (Float32)[2, 3] here") {
		t.Fatalf("error %v", err)
	}
}

func TestDifferences(t *testing.T) {
	type data struct {
		Split string `json:"split"`
		Train int    `json:"train"`
	}
	type cfg struct {
		Model   string           `json:"model"`
		Epochs  int              `json:"epochs"`
		Data    data             `json:"data"`
		Plateau *struct{ F int } `json:"plateau,omitempty"`
		Losses  []float64        `json:"losses,omitempty"`
	}
	saved := cfg{Model: "mlp-small", Epochs: 5, Data: data{"test", 60000}}
	tests := []struct {
		name    string
		current cfg
		ignore  []string
		want    []string
	}{
		{"same", saved, nil, nil},
		{"model", cfg{Model: "mlp-bn", Epochs: 5, Data: data{"test", 60000}}, nil, []string{`model: "mlp-small" there, "mlp-bn" here`}},
		{"nested and ignored", cfg{Model: "mlp-small", Epochs: 9, Data: data{"test", 6000}}, []string{"epochs"},
			[]string{"data.train: 60000 there, 6000 here"}},
		{"ignored prefix", cfg{Model: "mlp-small", Epochs: 5, Data: data{"holdout5k", 1}}, []string{"data"}, nil},
		{"added", cfg{Model: "mlp-small", Epochs: 5, Data: data{"test", 60000}, Plateau: &struct{ F int }{2}}, nil,
			[]string{"plateau.F: (none) there, 2 here"}},
		{"array", cfg{Model: "mlp-small", Epochs: 5, Data: data{"test", 60000}, Losses: []float64{1, 2}}, nil,
			[]string{"losses.0: (none) there, 1 here", "losses.1: (none) there, 2 here"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := checkpoint.Differences(saved, tc.current, tc.ignore...); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestResume(t *testing.T) {
	dir := t.TempDir()
	src := storeWithState(t)
	if _, err := checkpoint.Save(dir, src, 5, runConfig{"mlp-small", 32}, runState{Epoch: 1, Step: 5}, 0); err != nil {
		t.Fatal(err)
	}
	var st runState
	if path, err := checkpoint.Resume(filepath.Join(dir, "none"), model.NewStore(), runConfig{"mlp-small", 32}, &st); path != "" || err != nil {
		t.Fatalf("no checkpoint: %q, %v", path, err)
	}
	dst := model.NewStore()
	_, err := checkpoint.Resume(dir, dst, runConfig{"mlp-small", 64}, &st)
	if err == nil || !strings.Contains(err.Error(), "was saved by another run: batch: 32 there, 64 here") {
		t.Fatalf("other batch size: %v", err)
	}
	if dst.NumVariables() != 0 || st != (runState{}) {
		t.Fatal("a refused resume changed the store or the state")
	}
	path, err := checkpoint.Resume(dir, dst, runConfig{"mlp-other", 64}, &st, "model", "batch")
	if err != nil || filepath.Base(path) != "ckpt-000000000005.safetensors" {
		t.Fatalf("resume: %q, %v", path, err)
	}
	if st != (runState{Epoch: 1, Step: 5}) || dst.NumVariables() != src.NumVariables() {
		t.Errorf("state %+v, %d variables", st, dst.NumVariables())
	}
}

// BenchmarkSave times one checkpoint of a store the size of mlp-bn trained
// with Adam (266,610 weights plus two state buffers each, 3.2 MB), written,
// synced and renamed, with pruning to 2.
func BenchmarkSave(b *testing.B) {
	store := model.NewStore()
	for _, v := range []struct {
		path string
		n    int
	}{{"/model/dense1/weights", 784 * 300}, {"/model/dense2/weights", 300 * 100}, {"/model/out/weights", 100 * 10}} {
		for _, suffix := range []string{"", "~exp_avg", "~exp_avg_sq"} {
			if _, err := store.CreateVariable(v.path+suffix, tensors.FromFlatDataAndDimensions(make([]float32, v.n), v.n)); err != nil {
				b.Fatal(err)
			}
		}
	}
	dir := b.TempDir()
	b.ResetTimer()
	for i := range b.N {
		if _, err := checkpoint.Save(dir, store, int64(i), runConfig{"mlp-bn", 32}, runState{Step: i}, 2); err != nil {
			b.Fatal(err)
		}
	}
}
