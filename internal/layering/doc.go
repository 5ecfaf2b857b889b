// Package layering holds no code: its test checks the direction of the
// imports between optlab's packages (see layers in layering_test.go), so that
// no package imports one above it or one beside it.
package layering
