package optlab

import (
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"testing"
)

// setFloats sets every float64 field of v (a struct, reached through slices
// and nested structs) to x and returns their number: the test below covers
// fields added to History or Epoch later without being told about them.
func setFloats(v reflect.Value, x float64) int {
	n := 0
	switch v.Kind() {
	case reflect.Float64:
		v.SetFloat(x)
		return 1
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			n += setFloats(v.Index(i), x)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				n += setFloats(v.Field(i), x)
			}
		}
	}
	return n
}

// checkFloats reports the first float64 field of v that is not like x.
func checkFloats(t *testing.T, v reflect.Value, x float64, path string) {
	t.Helper()
	switch v.Kind() {
	case reflect.Float64:
		if got := v.Float(); !(got == x || math.IsNaN(got) && math.IsNaN(x)) {
			t.Errorf("%s = %v after the round trip, want %v", path, got, x)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			checkFloats(t, v.Index(i), x, path+"["+strconv.Itoa(i)+"]")
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if f := v.Type().Field(i); f.IsExported() {
				checkFloats(t, v.Field(i), x, path+"."+f.Name)
			}
		}
	}
}

func TestHistoryJSONKeepsEveryNonFiniteMetric(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0.125} {
		h := History{Model: "logreg", Optimizer: "sgd(lr=1000)", Epochs: make([]Epoch, 2)}
		if n := setFloats(reflect.ValueOf(&h).Elem(), x); n < 10 {
			t.Fatalf("only %d float fields found", n)
		}
		b, err := json.Marshal(&h)
		if err != nil {
			t.Fatalf("%v: %v", x, err)
		}
		var back History
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%v: reading back %s: %v", x, b, err)
		}
		checkFloats(t, reflect.ValueOf(back), x, "History")
	}
}
