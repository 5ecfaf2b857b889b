package datasets

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// loadMNIST loads the real data set once per test binary.
func loadMNIST(t *testing.T) *Set {
	t.Helper()
	m, err := LoadMNIST("")
	if err != nil {
		t.Fatalf("LoadMNIST: %v", err)
	}
	return m
}

func TestLoadMNIST(t *testing.T) {
	m := loadMNIST(t)
	if m.Train.Len() != 60000 || m.Test.Len() != 10000 {
		t.Fatalf("sizes %d/%d, want 60000/10000", m.Train.Len(), m.Test.Len())
	}
	// Pixels are scaled to [0,1] and every class appears.
	lo, hi := float32(1), float32(0)
	for _, v := range m.Train.Features {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != 0 || hi != 1 {
		t.Errorf("pixel range [%v, %v], want [0, 1]", lo, hi)
	}
	var counts [10]int
	for _, l := range m.Test.Labels {
		counts[l]++
	}
	// The test set's class counts are well known: 980 zeros ... 1009 nines.
	want := [10]int{980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009}
	if counts != want {
		t.Errorf("test class counts %v, want %v", counts, want)
	}
	// The first training label of MNIST is a 5.
	if m.Train.Labels[0] != 5 {
		t.Errorf("first training label %d, want 5", m.Train.Labels[0])
	}
}

func TestSplits(t *testing.T) {
	m := loadMNIST(t)
	cases := []struct {
		split                 DataSplit
		limit                 int
		train, val, test      int
		valStartsAtTrainIndex int // -1: validation is the test set
	}{
		{SplitTest, 0, 60000, 10000, 10000, -1},
		{SplitHoldout5k, 0, 55000, 5000, 10000, 0},
		{SplitTest, 6000, 6000, 1000, 1000, -1},
		{SplitHoldout5k, 300, 300, 100, 100, 0},
	}
	for _, c := range cases {
		tr, val, te, err := m.Splits(c.split, c.limit)
		if err != nil {
			t.Fatalf("%s/%d: %v", c.split, c.limit, err)
		}
		if tr.Len() != c.train || val.Len() != c.val || te.Len() != c.test {
			t.Errorf("%s/%d: sizes %d/%d/%d, want %d/%d/%d", c.split, c.limit, tr.Len(), val.Len(), te.Len(), c.train, c.val, c.test)
		}
		if c.split == SplitHoldout5k {
			// Validation is the first 5,000 training images, training starts after them.
			if !slices.Equal(val.Example(0), m.Train.Example(0)) || !slices.Equal(tr.Example(0), m.Train.Example(5000)) {
				t.Errorf("holdout5k: validation must be train[0:5000] and training train[5000:]")
			}
		}
	}
	// SplitsFullEval cuts only the training set.
	for _, c := range []struct {
		split            DataSplit
		limit            int
		train, val, test int
	}{
		{SplitHoldout5k, 8000, 8000, 5000, 10000},
		{SplitTest, 6000, 6000, 10000, 10000},
		{SplitHoldout5k, 0, 55000, 5000, 10000},
	} {
		tr, val, te, err := m.SplitsFullEval(c.split, c.limit)
		if err != nil {
			t.Fatalf("full eval %s/%d: %v", c.split, c.limit, err)
		}
		if tr.Len() != c.train || val.Len() != c.val || te.Len() != c.test {
			t.Errorf("full eval %s/%d: sizes %d/%d/%d, want %d/%d/%d", c.split, c.limit, tr.Len(), val.Len(), te.Len(), c.train, c.val, c.test)
		}
	}
	if _, _, _, err := m.SplitsFullEval(SplitHoldout5k, -1); err == nil || !strings.Contains(err.Error(), "-1") {
		t.Errorf("full eval, negative limit: error %v should name it", err)
	}
	if _, _, _, err := m.Splits("bogus", 0); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Errorf("unknown split: error %v should name it", err)
	}
	if _, _, _, err := m.Splits(SplitTest, -3); err == nil || !strings.Contains(err.Error(), "-3") {
		t.Errorf("negative limit: error %v should name it", err)
	}
}

func TestPermutationDeterministic(t *testing.T) {
	a, b, c := Permutation(1000, 7, 1), Permutation(1000, 7, 1), Permutation(1000, 7, 2)
	if !slices.Equal(a, b) {
		t.Error("same seed and epoch gave different permutations")
	}
	if slices.Equal(a, c) {
		t.Error("different epochs gave the same permutation")
	}
	s := slices.Clone(a)
	slices.Sort(s)
	for i, v := range s {
		if v != i {
			t.Fatalf("not a permutation of [0,1000)")
		}
	}
}

// copyMNIST copies the four real files into a temporary directory.
func copyMNIST(t *testing.T) string {
	t.Helper()
	m := loadMNIST(t)
	dir := t.TempDir()
	for _, f := range []mnistFile{trainImagesFile, trainLabelsFile, testImagesFile, testLabelsFile} {
		raw, err := os.ReadFile(filepath.Join(m.Dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestLoadMNISTBadFiles(t *testing.T) {
	t.Run("missing directory", func(t *testing.T) {
		_, err := LoadMNIST(filepath.Join(t.TempDir(), "nope"))
		if !errors.Is(err, ErrMNISTNotFound) || !strings.Contains(err.Error(), "nope") {
			t.Errorf("error %v should be ErrMNISTNotFound and name the directory", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		dir := copyMNIST(t)
		os.Remove(filepath.Join(dir, testLabelsFile.name))
		_, err := LoadMNIST(dir)
		if err == nil || !strings.Contains(err.Error(), testLabelsFile.name) {
			t.Errorf("error %v should name %s", err, testLabelsFile.name)
		}
	})
	t.Run("corrupt byte", func(t *testing.T) {
		dir := copyMNIST(t)
		p := filepath.Join(dir, trainImagesFile.name)
		raw, _ := os.ReadFile(p)
		raw[len(raw)/2] ^= 0xff
		os.WriteFile(p, raw, 0o644)
		_, err := LoadMNIST(dir)
		if err == nil || !strings.Contains(err.Error(), "corrupt") || !strings.Contains(err.Error(), p) {
			t.Errorf("error %v should say corrupt and name %s", err, p)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		dir := copyMNIST(t)
		p := filepath.Join(dir, testImagesFile.name)
		raw, _ := os.ReadFile(p)
		os.WriteFile(p, raw[:1000], 0o644)
		_, err := LoadMNIST(dir)
		if err == nil || !strings.Contains(err.Error(), "truncated") || !strings.Contains(err.Error(), p) {
			t.Errorf("error %v should say truncated and name %s", err, p)
		}
	})
}

func gz(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestParseIDX(t *testing.T) {
	header := func(magic uint32, dims ...uint32) []byte {
		var b bytes.Buffer
		binary.Write(&b, binary.BigEndian, magic)
		binary.Write(&b, binary.BigEndian, dims)
		return b.Bytes()
	}
	labels := append(header(0x801, 3), 1, 2, 3)
	cases := []struct {
		name    string
		data    []byte
		magic   uint32
		count   int
		wantErr string
	}{
		{"ok labels", gz(labels), 0x801, 3, ""},
		{"not gzip", labels, 0x801, 3, "not a gzip"},
		{"wrong magic", gz(labels), 0x803, 3, "magic"},
		{"wrong count", gz(labels), 0x801, 4, "holds 3 items"},
		{"short payload", gz(append(header(0x801, 5), 1, 2)), 0x801, 5, "truncated"},
		{"empty", gz(nil), 0x801, 0, "header"},
		{"bad image size", gz(append(header(0x803, 1, 2, 2), 1, 2, 3, 4)), 0x803, 1, "2×2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := ParseIDX(bytes.NewReader(c.data), "f.gz", c.magic, c.count)
			if c.wantErr == "" {
				if err != nil || !bytes.Equal(got, []byte{1, 2, 3}) {
					t.Fatalf("got %v, %v", got, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "f.gz") {
				t.Fatalf("error %v, want one containing %q and the file name", err, c.wantErr)
			}
		})
	}
}

// FuzzParseIDX checks that no input makes the IDX parser panic.
func FuzzParseIDX(f *testing.F) {
	f.Add(gz([]byte{0, 0, 8, 1, 0, 0, 0, 2, 7, 9}), uint32(0x801))
	f.Add([]byte("garbage"), uint32(0x803))
	f.Fuzz(func(t *testing.T, data []byte, magic uint32) {
		ParseIDX(bytes.NewReader(gz(data)), "fuzz", magic, 0)
		ParseIDX(bytes.NewReader(data), "fuzz", magic, 0)
	})
}
