package datasets

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"math"
	"math/rand/v2"
)

// Set is a data set as published: its training and test examples, and the
// directory they were read from.
type Set struct {
	// Name is the data set's name in the registry (see Get), e.g. "mnist".
	Name        string
	Train, Test *Dataset
	// Dir is the directory the files were read from.
	Dir string
}

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

// CRC32C returns the CRC-32C (Castagnoli) of the examples: the features'
// float32 bits, little-endian, then the labels as int32. Checkpoints record it
// so that a run is not resumed on other data.
func (d *Dataset) CRC32C() uint32 {
	h := crc32.New(crc32.MakeTable(crc32.Castagnoli))
	buf := make([]byte, 0, 1<<16)
	flush := func() {
		_, _ = h.Write(buf) // a hash.Hash never fails
		buf = buf[:0]
	}
	for _, x := range d.Features {
		if len(buf) == cap(buf) {
			flush()
		}
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
	}
	for _, l := range d.Labels {
		if len(buf) == cap(buf) {
			flush()
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(l))
	}
	flush()
	return h.Sum32()
}

// Permutation returns a deterministic permutation of [0, n) for the given seed
// and epoch: the same (seed, epoch) always gives the same order.
func Permutation(n int, seed int64, epoch int) []int {
	r := rand.New(rand.NewPCG(uint64(seed), uint64(epoch)*0x9E3779B97F4A7C15+1))
	return r.Perm(n)
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

// MNIST's training set size, and the images SplitHoldout5k holds out of it.
const (
	MNISTTrainSize = 60000
	HoldoutSize    = 5000
)

// TrainSize returns the number of training examples Splits(split, limit)
// gives on MNIST (and Fashion-MNIST, which has its shape), without loading
// anything: what a batch size is checked against before a run starts.
func TrainSize(split DataSplit, limit int) int {
	n := MNISTTrainSize
	if split == SplitHoldout5k {
		n -= HoldoutSize
	}
	if limit > 0 && limit < n {
		n = limit
	}
	return n
}

// Splits returns the train, validation and test sets of a split. limit > 0
// keeps only the first limit training examples (after the hold-out) and
// limit/6 validation and test examples (at least 100), for quick runs.
func (m *Set) Splits(split DataSplit, limit int) (train, val, test *Dataset, err error) {
	return m.splits(split, limit, false)
}

// SplitsFullEval is Splits keeping the whole validation and test sets
// whatever the limit: limit cuts only the training examples. It is for
// experiments that train on a subset but must measure on every held-out
// image (a report card's validation split, say), where Splits' cut to
// limit/6 would make one image worth several tenths of a point.
func (m *Set) SplitsFullEval(split DataSplit, limit int) (train, val, test *Dataset, err error) {
	return m.splits(split, limit, true)
}

func (m *Set) splits(split DataSplit, limit int, fullEval bool) (train, val, test *Dataset, err error) {
	test = m.Test
	switch split {
	case SplitTest, "":
		train, val = m.Train, m.Test
	case SplitHoldout5k:
		val = m.Train.Slice("validation", 0, HoldoutSize)
		train = m.Train.Slice("train", HoldoutSize, m.Train.Len())
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
		train = cut(train, limit)
		if !fullEval {
			val, test = cut(val, evalN), cut(test, evalN)
		}
	}
	return train, val, test, nil
}
