package optlab

import (
	"fmt"
	"os"
	"runtime"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
	_ "github.com/gomlx/compute/gobackend" // the embedded pure-Go backend
)

// DefaultBackend is the backend used when neither a flag nor GOMLX_BACKEND
// names one: GoMLX's pure-Go backend (github.com/gomlx/compute/gobackend), which
// needs no C library, with its default configuration. Its matrix kernels use
// AVX2/AVX-512 when the binary is built with GOEXPERIMENT=simd (see
// SIMDKernels). Options such as "go:parallelism=4" or "go:ops_sequential" are
// passed to it as given.
const DefaultBackend = "go"

// BackendName resolves the backend configuration to use: name if not empty,
// else $GOMLX_BACKEND, else DefaultBackend.
func BackendName(name string) string {
	if name != "" {
		return name
	}
	if env := os.Getenv(compute.ConfigEnvVar); env != "" {
		return env
	}
	return DefaultBackend
}

// NewBackend creates the backend named by name (see BackendName): "go" for the
// pure-Go backend, "xla:cpu" or "xla:cuda" for XLA through a PJRT plugin. XLA
// is compiled in only where cgo is available (see backend_xla.go); it never
// downloads a plugin unless OPTLAB_XLA_AUTO_INSTALL=1 is set.
func NewBackend(name string) (compute.Backend, error) {
	cfg := BackendName(name)
	kind, _, _ := strings.Cut(cfg, ":")
	switch kind {
	case "go":
	case "xla", "stablehlo":
		if err := prepareXLA(); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown backend %q (valid: go, xla:cpu, xla:cuda)", cfg)
	}
	b, err := newBackendSafely(cfg)
	if err != nil {
		if kind == "xla" || kind == "stablehlo" {
			return nil, fmt.Errorf("backend %q: %v\n  the XLA backend needs a PJRT plugin: put pjrt_c_api_cpu_plugin.so (CPU, from github.com/gomlx/pjrt-cpu-binaries) or the CUDA plugin (from JAX's jax-cuda plugin wheel) in /usr/local/lib/go-xla or a directory named by PJRT_PLUGIN_LIBRARY_PATH, or set OPTLAB_XLA_AUTO_INSTALL=1 to let GoMLX download it; or use --backend go", cfg, err)
		}
		return nil, fmt.Errorf("backend %q: %w", cfg, err)
	}
	return b, nil
}

func newBackendSafely(cfg string) (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	if strings.Contains(cfg, "parallelism=") {
		// The pure-Go backend announces "Go backend: parallelism set to N" on
		// standard output, which would corrupt machine-readable output such as
		// `optlab bench --json -`. Backends are created before a run prints
		// anything, so standard output is redirected only for this call.
		if devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0); err == nil {
			stdout := os.Stdout
			os.Stdout = devNull
			defer func() {
				os.Stdout = stdout
				_ = devNull.Close()
			}()
		}
	}
	return compute.NewWithConfig(cfg)
}

// DescribeBackend names a backend for run logs, e.g.
// "go (GoMLX pure-Go backend, 2 CPUs, AVX2 kernels)".
func DescribeBackend(b compute.Backend) string {
	if IsPureGo(b) {
		kernels := SIMDKernels()
		if kernels == "" {
			kernels = "portable"
		}
		return fmt.Sprintf("go (GoMLX pure-Go backend, %d CPUs, %s kernels)", runtime.NumCPU(), kernels)
	}
	return fmt.Sprintf("%s (%s)", b.Name(), b.Description())
}

// IsPureGo reports whether b is GoMLX's pure-Go backend.
func IsPureGo(b compute.Backend) bool {
	return b.String() == gobackend.BackendName
}
