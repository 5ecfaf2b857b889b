package datasets

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// FashionMNISTPackage is the Debian package that ships Fashion-MNIST's four
// IDX files, and FashionMNISTSystemDir the folder it puts them in.
const (
	FashionMNISTPackage   = "dataset-fashion-mnist"
	FashionMNISTSystemDir = "/usr/share/datasets/fashion-mnist"
)

// The Fashion-MNIST files: the names, formats and counts of MNIST's, other
// contents. The SHA-256s are those of the files Debian's package
// dataset-fashion-mnist 0.0~git20200523.55506a9-1 installs, which are
// Zalando Research's published files byte for byte (their MD5s match the
// ones the fashion-mnist README lists).
var (
	fashionTrainImages = mnistFile{"train-images-idx3-ubyte.gz", "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7", 0x803, 60000}
	fashionTrainLabels = mnistFile{"train-labels-idx1-ubyte.gz", "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056", 0x801, 60000}
	fashionTestImages  = mnistFile{"t10k-images-idx3-ubyte.gz", "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa", 0x803, 10000}
	fashionTestLabels  = mnistFile{"t10k-labels-idx1-ubyte.gz", "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05", 0x801, 10000}
)

var fashionFiles = idxSource{"Fashion-MNIST", "reinstall it with `apt-get install --reinstall " + FashionMNISTPackage + "`"}

// FashionMNISTClasses names the ten Fashion-MNIST classes by label.
var FashionMNISTClasses = [MNISTClasses]string{"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}

// ErrFashionMNISTNotFound is returned (wrapped) when no directory holds the
// Fashion-MNIST files.
var ErrFashionMNISTNotFound = errors.New("Fashion-MNIST files not found")

// FashionMNISTSearchDirs returns, in order, the directories LoadFashionMNIST
// searches when no directory is given: $OPTLAB_DATA/fashion-mnist,
// ./data/fashion-mnist and the folder Debian's dataset-fashion-mnist installs.
func FashionMNISTSearchDirs() []string {
	var dirs []string
	if d := os.Getenv(DataEnv); d != "" {
		dirs = append(dirs, filepath.Join(d, "fashion-mnist"))
	}
	return append(dirs, filepath.Join("data", "fashion-mnist"), FashionMNISTSystemDir)
}

// LoadFashionMNIST reads Zalando's Fashion-MNIST (60,000 training and 10,000
// test images of clothing, 28×28 pixels, 10 classes: FashionMNISTClasses) from
// dir or, when dir is empty, from the first directory of
// FashionMNISTSearchDirs that has it. The files have MNIST's names and format;
// each one's SHA-256 is verified before it is parsed. When they are missing,
// the error names the Debian package that installs them.
func LoadFashionMNIST(dir string) (*Set, error) {
	return loadFashionMNIST(dir, FashionMNISTSearchDirs())
}

// loadFashionMNIST is LoadFashionMNIST searching the given folders.
func loadFashionMNIST(dir string, searched []string) (*Set, error) {
	if dir == "" {
		for _, d := range searched {
			if _, err := os.Stat(filepath.Join(d, fashionTrainImages.name)); err == nil {
				dir = d
				break
			}
		}
		if dir == "" {
			return nil, fmt.Errorf("%w (searched %s): install Debian's package %s (apt-get install %s) or set %s to a folder with a fashion-mnist/ subfolder holding %s and the other three files",
				ErrFashionMNISTNotFound, strings.Join(searched, ", "), FashionMNISTPackage, FashionMNISTPackage, DataEnv, fashionTrainImages.name)
		}
	} else if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return nil, fmt.Errorf("%w: data directory %q does not exist or is not a directory", ErrFashionMNISTNotFound, dir)
	}
	train, err := loadPair(dir, "train", fashionTrainImages, fashionTrainLabels, fashionFiles)
	if err != nil {
		return nil, err
	}
	test, err := loadPair(dir, "test", fashionTestImages, fashionTestLabels, fashionFiles)
	if err != nil {
		return nil, err
	}
	return &Set{Name: "fashion-mnist", Train: train, Test: test, Dir: dir}, nil
}
