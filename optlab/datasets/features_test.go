package datasets

import (
	"slices"
	"testing"
)

func TestZeroFeatures(t *testing.T) {
	for _, c := range []struct {
		name     string
		width    int
		features []float32
		want     []int
	}{
		{"none zero", 2, []float32{1, 2, 3, 4}, nil},
		{"a column zero in every example", 3, []float32{0, 1, 0, 0, 2, 5}, []int{0}},
		{"zero in one example only", 2, []float32{0, 1, 3, 1}, nil},
		{"all zero", 2, []float32{0, 0, 0, 0}, []int{0, 1}},
		{"no examples: every feature", 2, nil, []int{0, 1}},
	} {
		d := &Dataset{Width: c.width, Features: c.features, Labels: make([]int32, len(c.features)/c.width)}
		if got := d.ZeroFeatures(); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
