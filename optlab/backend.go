package optlab

import (
	"fmt"
	"os"
	"strings"

	"github.com/gomlx/gomlx/backends"
	_ "github.com/gomlx/gomlx/backends/simplego" // the embedded pure-Go backend
)

// DefaultBackend is the backend used when neither a flag nor GOMLX_BACKEND
// names one: GoMLX's pure-Go backend, which needs no C library.
const DefaultBackend = "go"

// PureGoConfig is the pure-Go backend configuration that "go" (with no options
// of its own) stands for.
//
// dotgeneral_large sends every matrix product through simplego's blocked
// kernel, which splits the work over the cores and keeps four accumulators per
// row; its default sends products with fewer than 16,384 output elements per
// batch item (every forward product of the MLPs at batch 32) to a
// single-threaded kernel that measured 1.1–2.2× more CPU time.
//
// parallelism=-1 lets simplego start a goroutine for every task instead of
// drawing from a pool of 2 per core. With the pool, an operation executing in
// the pool waits for a free slot to split a matrix product, so as many
// concurrent products as slots wait for each other forever: on a one-core
// machine two concurrent products (the weight and input gradients of one
// layer) hung `optlab compare` at its first step. Without a pool nothing waits
// for a slot, and independent products (the halves FastMatMul splits large
// products into) run side by side. See docs/performance.md.
//
// A configuration with options of its own is used as given: "go:" for
// simplego's defaults, "go:dotgeneral_large,ops_sequential", ...
const PureGoConfig = "go:dotgeneral_large,parallelism=-1"

// BackendName resolves the backend configuration to use: name if not empty,
// else $GOMLX_BACKEND, else DefaultBackend.
func BackendName(name string) string {
	if name != "" {
		return name
	}
	if env := os.Getenv(backends.ConfigEnvVar); env != "" {
		return env
	}
	return DefaultBackend
}

// NewBackend creates the backend named by name (see BackendName): "go" for the
// pure-Go backend, "xla:cpu" or "xla:cuda" for XLA through a PJRT plugin. XLA
// is compiled in only where cgo is available (see backend_xla.go); it never
// downloads a plugin unless OPTLAB_XLA_AUTO_INSTALL=1 is set.
func NewBackend(name string) (backends.Backend, error) {
	cfg := BackendName(name)
	kind, _, _ := strings.Cut(cfg, ":")
	if cfg == "go" || cfg == "simplego" {
		cfg = PureGoConfig
	}
	switch kind {
	case "go", "simplego":
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

func newBackendSafely(cfg string) (b backends.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	if strings.Contains(cfg, "parallelism=") {
		// simplego announces "SimpleGo backend: parallelism set to N" on
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
	return backends.NewWithConfig(cfg)
}
