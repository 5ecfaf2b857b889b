package datasets

import (
	"hash/crc32"
	"testing"
)

// TestCRC32C checks the checksum against the standard library's over the
// bytes written out by hand, and that a change of one feature or one label
// changes it.
func TestCRC32C(t *testing.T) {
	d := &Dataset{Width: 2, Features: []float32{1, -2.5, 0, 3}, Labels: []int32{7, 1}}
	want := crc32.Checksum([]byte{
		0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x20, 0xc0, 0, 0, 0, 0, 0x00, 0x00, 0x40, 0x40, // 1, -2.5, 0, 3
		7, 0, 0, 0, 1, 0, 0, 0,
	}, crc32.MakeTable(crc32.Castagnoli))
	if got := d.CRC32C(); got != want {
		t.Fatalf("CRC32C %08x, want %08x", got, want)
	}
	big := &Dataset{Width: 1, Features: make([]float32, 40000), Labels: make([]int32, 40000)}
	base := big.CRC32C()
	big.Features[39999] = 1
	if big.CRC32C() == base {
		t.Error("a changed feature leaves the checksum unchanged")
	}
	big.Features[39999] = 0
	big.Labels[0] = 3
	if big.CRC32C() == base {
		t.Error("a changed label leaves the checksum unchanged")
	}
}

// BenchmarkCRC32C checksums a training set the size of MNIST's (60,000 × 784),
// as every checkpointed run does once when it starts.
func BenchmarkCRC32C(b *testing.B) {
	d := &Dataset{Width: 784, Features: make([]float32, 60000*784), Labels: make([]int32, 60000)}
	b.SetBytes(int64(4 * (len(d.Features) + len(d.Labels))))
	for range b.N {
		d.CRC32C()
	}
}
