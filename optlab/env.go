package optlab

import (
	"os"
	"runtime"
	"runtime/debug"

	"github.com/gomlx/compute"
)

// Env bundles what every experiment needs: a backend and the data splits.
type Env struct {
	Backend compute.Backend
	Data    *Data
}

// RunEnv describes where a run ran (machine, toolchain, versions), so results
// from several machines can be told apart after a merge, and benchmarks say
// what they measured.
type RunEnv struct {
	Backend   string `json:"backend"` // DescribeBackend's words
	Host      string `json:"host"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go"`
	// GoMLX is the GoMLX module version compiled into the binary.
	GoMLX string `json:"gomlx,omitempty"`
	// Optlab is the source revision of the binary ("+dirty" when the working
	// tree had changes), when the build recorded it.
	Optlab string `json:"optlab,omitempty"`
	// Code is the fingerprint of the code that ran (internal/fingerprint:
	// the runner's source and its dependencies' versions), when the program
	// could tell (sweep.Run records it); results whose Code differs from the
	// current code's are stale (`optlab caches` lists them).
	Code string `json:"code,omitempty"`
}

// CurrentEnv returns the RunEnv of this process for a backend description.
func CurrentEnv(backend string) RunEnv {
	host, _ := os.Hostname()
	e := RunEnv{Backend: backend, Host: host, OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUs: runtime.NumCPU(), GoVersion: runtime.Version()}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/gomlx/gomlx" {
				e.GoMLX = d.Version
			}
		}
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			e.Optlab = rev + dirty
		}
	}
	return e
}
