package jsonfloat

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

type inner struct {
	X float64 `json:"x"`
}

type sample struct {
	Name    string        `json:"name"`
	A       float64       `json:"a"`
	B       float64       `json:"b,omitempty"`
	List    []float64     `json:"list"`
	Ptr     *float64      `json:"ptr"`
	In      inner         `json:"in"`
	Ins     []inner       `json:"ins"`
	When    time.Time     `json:"when"`
	Elapsed time.Duration `json:"elapsed"`
	hidden  float64
}

func TestFiniteValuesAreWrittenAsEncodingJSONWritesThem(t *testing.T) {
	p := 2.5
	v := sample{Name: "n", A: 1e-7, B: 0, List: []float64{1, 0.1, 1e21}, Ptr: &p, In: inner{3}, Ins: []inner{{4}},
		When: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Elapsed: time.Second, hidden: 7}
	want, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}

func TestNonFiniteValuesRoundTrip(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	v := sample{A: nan, B: math.Inf(-1), List: []float64{1, inf, nan}, Ptr: &inf, In: inner{nan}, Ins: []inner{{math.Inf(-1)}}}
	b, err := Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"a":"NaN"`, `"b":"-Inf"`, `"list":[1,"+Inf","NaN"]`, `"ptr":"+Inf"`, `"in":{"x":"NaN"}`, `"ins":[{"x":"-Inf"}]`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var got sample
	got.hidden = 9
	if err := Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(got.A) || !math.IsInf(got.B, -1) || got.List[0] != 1 || !math.IsInf(got.List[1], 1) || !math.IsNaN(got.List[2]) ||
		!math.IsInf(*got.Ptr, 1) || !math.IsNaN(got.In.X) || !math.IsInf(got.Ins[0].X, -1) || got.hidden != 9 {
		t.Fatalf("round trip: %+v", got)
	}
}

func TestUnmarshalAcceptsOtherSpellingsAndRejectsWords(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want float64
		err  string
	}{
		{`{"a":"Infinity"}`, math.Inf(1), ""},
		{`{"a":"-inf"}`, math.Inf(-1), ""},
		{`{"a":"0.25"}`, 0.25, ""},
		{`{"a":null}`, 5, ""}, // null leaves the value as it was
		{`{"a":"fast"}`, 0, `"fast" is not a number`},
		{`{"a":true}`, 0, "cannot unmarshal"},
	} {
		got := sample{A: 5}
		err := Unmarshal([]byte(tc.in), &got)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: got %v, want an error containing %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got.A != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.in, got.A, err, tc.want)
		}
	}
}

func ExampleMarshal() {
	type run struct {
		Loss []float64 `json:"loss"`
	}
	b, _ := Marshal(run{Loss: []float64{0.5, math.NaN(), math.Inf(1)}})
	fmt.Println(string(b))
	var back run
	_ = Unmarshal(b, &back)
	fmt.Println(back.Loss)
	// Output:
	// {"loss":[0.5,"NaN","+Inf"]}
	// [0.5 NaN +Inf]
}
