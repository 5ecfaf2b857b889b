package lists

import (
	"reflect"
	"strings"
	"testing"
)

func TestLists(t *testing.T) {
	if got := Split(" a, b,,", ","); !reflect.DeepEqual(got, []string{"a", "b"}) {
		t.Errorf("Split = %q", got)
	}
	if got, err := Seeds("2-4"); err != nil || !reflect.DeepEqual(got, []int64{2, 3, 4}) {
		t.Errorf("Seeds(2-4) = %v, %v", got, err)
	}
	if got, err := Seeds("1, 5"); err != nil || !reflect.DeepEqual(got, []int64{1, 5}) {
		t.Errorf("Seeds(1, 5) = %v, %v", got, err)
	}
	if got, err := Counts("1e6,200"); err != nil || !reflect.DeepEqual(got, []int64{1000000, 200}) {
		t.Errorf("Counts = %v, %v", got, err)
	}
	if got, err := Point("1,-2.5"); err != nil || !reflect.DeepEqual(got, []float64{1, -2.5}) {
		t.Errorf("Point = %v, %v", got, err)
	}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{second(Seeds("1-x")), `bad range "1-x"`},
		{second(Seeds("1,x")), `"x" is not an integer`},
		{second(Floats("0.1,x")), `"x" is not a number`},
		{second(FiniteFloats("1,,2")), `value 2, "", is not a finite number`},
		{second(Ints("3,y")), `"y" is not an integer`},
		{second(PositiveInts("0")), `"0" is not a positive integer`},
		{second(Counts("2.5")), `"2.5" is not a whole number`},
		{second(Point("1")), `want x,y, got "1"`},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("got %v, want an error containing %q", tc.err, tc.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }
