package optlab

import (
	"runtime"

	"golang.org/x/sys/cpu"
)

// SIMDKernels names the vector instructions the pure-Go backend's matrix
// kernels use in this binary: "AVX-512" or "AVX2" when it was built with
// GOEXPERIMENT=simd on an amd64 processor that has them, "" otherwise (the
// portable kernels, several times slower at batch 256). GOMLX_SIMD_AVX512=false
// makes the backend use its AVX2 kernels on an AVX-512 machine.
func SIMDKernels() string {
	if !simdBuild || runtime.GOARCH != "amd64" {
		return ""
	}
	switch {
	case cpu.X86.HasAVX512F:
		return "AVX-512"
	case cpu.X86.HasAVX2 && cpu.X86.HasFMA:
		return "AVX2"
	}
	return ""
}

// SIMDHint is the one line to print when the pure-Go backend runs without
// SIMD kernels: why, and how to rebuild. It is empty when there is nothing to
// say (SIMD kernels in use, or a processor that has none to offer).
func SIMDHint() string {
	if SIMDKernels() != "" || runtime.GOARCH != "amd64" || !(cpu.X86.HasAVX2 && cpu.X86.HasFMA) {
		return ""
	}
	return "note: this binary was built without GOEXPERIMENT=simd, so the pure-Go backend runs its slow portable kernels; " +
		"rebuild with `GOEXPERIMENT=simd go build ./cmd/optlab` (or prefix `go run`) for AVX2/AVX-512 kernels"
}
