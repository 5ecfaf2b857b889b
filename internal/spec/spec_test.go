package spec

import (
	"errors"
	"testing"
)

func TestParseTree(t *testing.T) {
	c, err := Parse(" Adam ( lr = 1e-3 , schedule=cosine(steps=10), m=[1, 2], keras=TRUE ) ", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Name != "adam" || c.Pos != 1 || !c.Parens || len(c.Args) != 4 {
		t.Fatalf("call %+v", c)
	}
	lr, sched, m, keras := c.Args[0], c.Args[1], c.Args[2], c.Args[3]
	if lr.Key != "lr" || lr.KeyPos != 8 || lr.Value.Kind != Number || lr.Value.Num != 1e-3 || lr.Value.Text != "1e-3" {
		t.Errorf("lr: %+v", lr)
	}
	if sched.Value.Kind != Nested || sched.Value.Call.Name != "cosine" || sched.Value.Text != "cosine(steps=10)" ||
		sched.Value.Call.Args[0].Value.Num != 10 {
		t.Errorf("schedule: %+v", sched.Value)
	}
	if m.Value.Kind != List || len(m.Value.List) != 2 || m.Value.List[1] != 2 || m.Value.Text != "[1, 2]" {
		t.Errorf("list: %+v", m.Value)
	}
	if keras.Value.Kind != Ident || keras.Value.Text != "true" {
		t.Errorf("ident: %+v", keras.Value)
	}
	if c, err := Parse("sgd", Options{}); err != nil || c.Name != "sgd" || c.Parens {
		t.Errorf("bare name: %+v, %v", c, err)
	}
}

func TestHyphens(t *testing.T) {
	c, err := Parse("Six-Hump-Camel(kappa=-2)", Options{Hyphens: true})
	if err != nil || c.Name != "six-hump-camel" || c.Args[0].Value.Num != -2 {
		t.Errorf("with hyphens: %+v, %v", c, err)
	}
	var e *Error
	if _, err := Parse("six-hump-camel", Options{}); !errors.As(err, &e) || e.Pos != 3 || e.Token != "-" {
		t.Errorf("without hyphens: %v", err)
	}
}

func TestErrors(t *testing.T) {
	for _, tc := range []struct {
		src    string
		pos    int
		token  string
		reason Reason
	}{
		{"adam(lr=1", 9, "end of spec", Unclosed},
		{"adam(lr=[1,2", 12, "end of spec", Unclosed},
		{"adam(lr", 7, "end of spec", MissingEquals},
		{"adam(lr)", 7, ")", MissingEquals},
		{"adam(lr=1e-3x)", 8, "1e-3x", Malformed},
		{"adam(lr=1e999)", 8, "1e999", Malformed},
		{"adam(", 5, "end of spec", Unclosed},
		{"", 0, "end of spec", Malformed},
		{"a(b=c(d=e(f=g(h=i(j=k(l=1))))))", 20, "k", Malformed}, // nested too deeply
	} {
		_, err := Parse(tc.src, Options{})
		var e *Error
		if !errors.As(err, &e) {
			t.Errorf("Parse(%q) = %v, want an *Error", tc.src, err)
			continue
		}
		if e.Pos != tc.pos || e.Token != tc.token || e.Reason != tc.reason || e.Msg == "" {
			t.Errorf("Parse(%q): %+v; want pos %d token %q reason %d", tc.src, e, tc.pos, tc.token, tc.reason)
		}
	}
}
