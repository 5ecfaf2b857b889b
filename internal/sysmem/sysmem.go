// Package sysmem tells how much memory this process may use: the machine's
// physical memory, or its control group's limit when that is lower (a
// container, a Slurm job with a memory limit). Commands compare it with a
// run's estimated need before they start, so a batch that cannot fit fails
// with one line instead of a Go out-of-memory stack dump.
//
// It imports only the standard library.
package sysmem

import (
	"bufio"
	"os"
	"strconv"
	"strings"
)

// Limit returns the bytes of memory this process may use, or 0 when it
// cannot tell (on systems other than Linux).
func Limit() uint64 {
	total := memTotal("/proc/meminfo")
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if l := cgroupLimit(f); l > 0 && (total == 0 || l < total) {
			total = l
		}
	}
	return total
}

// memTotal reads MemTotal from a meminfo file (0 if it cannot).
func memTotal(path string) uint64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 2 && fields[0] == "MemTotal:" {
			kb, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil {
				return 0
			}
			return kb * 1024
		}
	}
	return 0
}

// cgroupLimit reads a control group's memory limit in bytes (0 when there
// is none: "max", or v1's huge "unlimited" value, or no file).
func cgroupLimit(path string) uint64 {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(raw)), 10, 64)
	if err != nil || v >= 1<<62 {
		return 0
	}
	return v
}
