package sysmem

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

func TestReadsMeminfoAndCgroupLimits(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if got := memTotal(write("meminfo", "MemTotal:       16384 kB\nMemFree: 1 kB\n")); got != 16384*1024 {
		t.Errorf("memTotal = %d", got)
	}
	if got := memTotal(write("bad", "nothing here\n")); got != 0 {
		t.Errorf("memTotal of a file without MemTotal = %d", got)
	}
	for body, want := range map[string]uint64{"max\n": 0, "2147483648\n": 2 << 30, "9223372036854771712\n": 0} {
		if got := cgroupLimit(write("limit", body)); got != want {
			t.Errorf("cgroupLimit(%q) = %d, want %d", body, got, want)
		}
	}
	if got := cgroupLimit(filepath.Join(dir, "missing")); got != 0 {
		t.Errorf("missing file: %d", got)
	}
	if runtime.GOOS == "linux" && Limit() < 64<<20 {
		t.Errorf("Limit() = %d on Linux", Limit())
	}
}
