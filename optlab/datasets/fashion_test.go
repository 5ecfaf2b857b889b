package datasets

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fashionDir returns the folder holding Fashion-MNIST, or skips the test when
// Debian's dataset-fashion-mnist is not installed.
func fashionDir(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(FashionMNISTSystemDir, fashionTrainImages.name)); err != nil {
		t.Skipf("Fashion-MNIST is not installed (apt-get install %s)", FashionMNISTPackage)
	}
	return FashionMNISTSystemDir
}

func TestLoadFashionMNIST(t *testing.T) {
	s, err := Get("fashion-mnist")
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Load(fashionDir(t))
	if err != nil {
		t.Fatalf("LoadFashionMNIST: %v", err)
	}
	if m.Name != "fashion-mnist" || m.Train.Len() != 60000 || m.Test.Len() != 10000 || m.Train.Width != 784 {
		t.Fatalf("got %s with %d/%d examples of width %d, want fashion-mnist 60000/10000 of 784", m.Name, m.Train.Len(), m.Test.Len(), m.Train.Width)
	}
	// Fashion-MNIST is balanced: 6,000 training and 1,000 test images a class.
	var train, test [10]int
	for _, l := range m.Train.Labels {
		train[l]++
	}
	for _, l := range m.Test.Labels {
		test[l]++
	}
	for c := range 10 {
		if train[c] != 6000 || test[c] != 1000 {
			t.Errorf("class %d (%s): %d training and %d test images, want 6000 and 1000", c, FashionMNISTClasses[c], train[c], test[c])
		}
	}
	// The first training image is an ankle boot, the first test image too
	// (the data set's README shows them).
	if m.Train.Labels[0] != 9 || m.Test.Labels[0] != 9 {
		t.Errorf("first labels %d (train) and %d (test), want 9 and 9 (ankle boot)", m.Train.Labels[0], m.Test.Labels[0])
	}
}

func TestLoadFashionMNISTErrors(t *testing.T) {
	// Missing files name the Debian package, in one line.
	empty := t.TempDir()
	_, err := LoadFashionMNIST(empty)
	if err == nil {
		t.Fatal("no error for a folder without the files")
	}
	_, err = loadFashionMNIST("", []string{empty, filepath.Join(empty, "nowhere")})
	if !errors.Is(err, ErrFashionMNISTNotFound) || !strings.Contains(err.Error(), "apt-get install "+FashionMNISTPackage) ||
		!strings.Contains(err.Error(), empty) || strings.Contains(err.Error(), "\n") {
		t.Errorf("missing files: %v; want one line naming the folders searched and %s", err, FashionMNISTPackage)
	}
	// A corrupt file is reported by name with the reinstall command.
	dir := fashionDir(t)
	bad := t.TempDir()
	for _, f := range []mnistFile{fashionTrainImages, fashionTrainLabels, fashionTestImages, fashionTestLabels} {
		raw, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			t.Fatal(err)
		}
		if f == fashionTestLabels {
			raw = raw[:len(raw)-10]
		}
		if err := os.WriteFile(filepath.Join(bad, f.name), raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	_, err = LoadFashionMNIST(bad)
	if err == nil || !strings.Contains(err.Error(), fashionTestLabels.name) || !strings.Contains(err.Error(), "apt-get install --reinstall "+FashionMNISTPackage) {
		t.Errorf("truncated labels file: %v; want an error naming the file and the reinstall command", err)
	}
}
