// Package lists parses the small lists that optlab's command-line flags take:
// comma- or semicolon-separated values, seed ranges such as "1-3", counts in
// exponent notation such as "1e6" and points "x,y". Errors quote the bad value
// and leave naming the flag to the caller.
//
// It imports only the standard library.
package lists

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Split splits s at sep, trims white space and drops empty items:
// Split(" a, b,,", ",") is ["a", "b"].
func Split(s, sep string) []string {
	var out []string
	for _, p := range strings.Split(s, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// Seeds reads "1,2,3" or a range "1-5" (at most 1001 seeds); "" is no seeds.
func Seeds(s string) ([]int64, error) {
	if s == "" {
		return nil, nil
	}
	if a, b, ok := strings.Cut(s, "-"); ok && !strings.Contains(s, ",") {
		lo, err1 := strconv.ParseInt(a, 10, 64)
		hi, err2 := strconv.ParseInt(b, 10, 64)
		if err1 != nil || err2 != nil || hi < lo || hi-lo > 1000 {
			return nil, fmt.Errorf("bad range %q (want e.g. 1-5)", s)
		}
		var out []int64
		for v := lo; v <= hi; v++ {
			out = append(out, v)
		}
		return out, nil
	}
	var out []int64
	for _, p := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(p), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not an integer", p)
		}
		out = append(out, v)
	}
	return out, nil
}

// Floats reads a comma-separated list of numbers (empty items dropped).
func Floats(s string) ([]float64, error) {
	return each(s, "a number", func(p string) (float64, bool) {
		v, err := strconv.ParseFloat(p, 64)
		return v, err == nil
	})
}

// each parses the comma-separated items of s (empty items dropped), failing
// on the first item that parse rejects: "%q is not " + what.
func each[T any](s, what string, parse func(string) (T, bool)) ([]T, error) {
	var out []T
	for _, p := range Split(s, ",") {
		v, ok := parse(p)
		if !ok {
			return nil, fmt.Errorf("%q is not %s", p, what)
		}
		out = append(out, v)
	}
	return out, nil
}

// FiniteFloats reads a comma-separated list of finite numbers in which every
// item counts: an empty item is an error that names its position.
func FiniteFloats(s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	out := make([]float64, 0, len(parts))
	for i, p := range parts {
		p = strings.TrimSpace(p)
		x, err := strconv.ParseFloat(p, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, fmt.Errorf("value %d, %q, is not a finite number", i+1, p)
		}
		out = append(out, x)
	}
	return out, nil
}

// Ints reads a comma-separated list of integers (empty items dropped).
func Ints(s string) ([]int, error) {
	return each(s, "an integer", func(p string) (int, bool) {
		v, err := strconv.Atoi(p)
		return v, err == nil
	})
}

// PositiveInts reads a comma-separated list of integers ≥ 1 (empty items
// dropped).
func PositiveInts(s string) ([]int, error) {
	return each(s, "a positive integer", func(p string) (int, bool) {
		v, err := strconv.Atoi(p)
		return v, err == nil && v >= 1
	})
}

// Counts reads a comma-separated list of whole numbers from 1 to 1e10,
// accepting exponent notation ("1e6"); empty items are dropped.
func Counts(s string) ([]int64, error) {
	return each(s, "a whole number between 1 and 1e10", func(p string) (int64, bool) {
		v, err := strconv.ParseFloat(p, 64)
		return int64(v), err == nil && v >= 1 && v <= 1e10 && v == float64(int64(v))
	})
}

// Point reads "x,y": two finite numbers.
func Point(s string) ([]float64, error) {
	parts := strings.Split(s, ",")
	if len(parts) != 2 {
		return nil, fmt.Errorf("want x,y, got %q", s)
	}
	out := make([]float64, 2)
	for i, p := range parts {
		v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("%q is not a finite number", strings.TrimSpace(p))
		}
		out[i] = v
	}
	return out, nil
}
