//go:build goexperiment.simd

package optlab

// simdBuild reports whether this binary was built with GOEXPERIMENT=simd.
const simdBuild = true
