package optimizers

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"optlab.dev/internal/spec"
)

// param binds one spec key to one field of a typed configuration (an
// optimizer's or a schedule's): the parser, String, Get, With and the listings
// all go through it, so a key is spelt once, next to the field it sets.
// Exactly one of the pointers is set.
type param struct {
	key     string
	aliases []string
	doc     string
	// check returns "" for a valid number, or what is wrong with it.
	check func(v float64) string

	f       *float64
	i       *int
	b       *bool
	list    *[]float64 // schedules' milestones
	enum    *string
	choices []string
	opt     **Optimizer // a wrapper's base optimizer, written as a nested spec
}

func floatParam(key string, f *float64, doc string, check func(float64) string) param {
	return param{key: key, f: f, doc: doc, check: check}
}

func intParam(key string, i *int, doc string, check func(float64) string) param {
	return param{key: key, i: i, doc: doc, check: check}
}

func boolParam(key string, b *bool, doc string) param {
	return param{key: key, b: b, doc: doc}
}

func listParam(key string, l *[]float64, doc string) param {
	return param{key: key, list: l, doc: doc}
}

func enumParam(key string, s *string, doc string, choices ...string) param {
	return param{key: key, enum: s, doc: doc, choices: choices}
}

// optParam binds a key whose value is an optimizer spec (a wrapper's base).
func optParam(key string, o **Optimizer, doc string) param {
	return param{key: key, opt: o, doc: doc}
}

// alias returns a copy of p that also accepts the given keys.
func (p param) alias(keys ...string) param {
	p.aliases = append(append([]string(nil), p.aliases...), keys...)
	return p
}

// numeric reports whether the value is a number or a boolean (what Get and
// With handle).
func (p param) numeric() bool { return p.f != nil || p.i != nil || p.b != nil }

// get returns a numeric value (booleans as 0 or 1).
func (p param) get() float64 {
	switch {
	case p.f != nil:
		return *p.f
	case p.i != nil:
		return float64(*p.i)
	case p.b != nil && *p.b:
		return 1
	}
	return 0
}

// set stores a numeric value after checking it; it returns "" or what is wrong.
func (p param) set(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "must be a finite number"
	}
	switch {
	case p.b != nil:
		if v != 0 && v != 1 {
			return "must be true or false"
		}
		*p.b = v == 1
		return ""
	case p.i != nil:
		if v != math.Trunc(v) || math.Abs(v) > 1e15 {
			return "must be an integer"
		}
	case p.f == nil:
		return "is not a number"
	}
	if p.check != nil {
		if msg := p.check(v); msg != "" {
			return msg
		}
	}
	if p.i != nil {
		*p.i = int(v)
	} else {
		*p.f = v
	}
	return ""
}

// valid checks the value held: "" or what is wrong.
func (p param) valid() string {
	if p.opt != nil && *p.opt == nil {
		return "is required: the optimizer to wrap, e.g. base=adam(lr=1e-3)"
	}
	if !p.numeric() {
		return ""
	}
	v := p.get()
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "must be a finite number"
	}
	if p.check != nil {
		return p.check(v)
	}
	return ""
}

// format prints the value in spec syntax.
func (p param) format() string {
	switch {
	case p.b != nil:
		if *p.b {
			return "true"
		}
		return "false"
	case p.list != nil:
		parts := make([]string, len(*p.list))
		for i, x := range *p.list {
			parts[i] = formatFloat(x)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case p.enum != nil:
		return *p.enum
	case p.opt != nil:
		if *p.opt == nil {
			return "(required)"
		}
		return (*p.opt).String()
	}
	return formatFloat(p.get())
}

// defaultString prints def (p's binding in a default configuration) for
// listings, with keras (the binding in the Keras defaults, when there are any)
// noted when it differs.
func defaultString(def param, keras *param) string {
	s := def.format()
	if def.list != nil && s == "[]" {
		s = "(required)"
	}
	if keras != nil && keras.format() != def.format() {
		s += " (keras: " + keras.format() + ")"
	}
	return s
}

// assign stores the spec value v into p, or returns what is wrong as a
// *SpecError at the value (at the key for lists, checked later with the rest of
// the configuration).
func (p param) assign(src string, v spec.Value) *SpecError {
	switch {
	case p.b != nil:
		switch {
		case v.Kind == spec.Ident && (v.Text == "true" || v.Text == "false"):
			*p.b = v.Text == "true"
		case v.Kind == spec.Number && (v.Num == 0 || v.Num == 1):
			*p.b = v.Num == 1
		default:
			return specErrorf(src, v.Pos, v.Token(), "%s must be true or false", p.key)
		}
	case p.f != nil, p.i != nil:
		if v.Kind != spec.Number {
			return specErrorf(src, v.Pos, v.Token(), "%s must be a number", p.key)
		}
		if msg := p.set(v.Num); msg != "" {
			return specErrorf(src, v.Pos, v.Text, "%s %s", p.key, msg)
		}
	case p.list != nil:
		switch v.Kind {
		case spec.List:
			*p.list = v.List
		case spec.Number:
			*p.list = []float64{v.Num}
		default:
			return specErrorf(src, v.Pos, v.Token(), "%s must be a list of numbers such as [30,80]", p.key)
		}
	case p.enum != nil:
		if v.Kind == spec.Ident {
			for _, c := range p.choices {
				if v.Text == c {
					*p.enum = c
					return nil
				}
			}
		}
		return specErrorf(src, v.Pos, v.Token(), "%s must be one of %s", p.key, strings.Join(p.choices, ", "))
	case p.opt != nil:
		if v.Kind != spec.Nested && v.Kind != spec.Ident {
			return specErrorf(src, v.Pos, v.Token(), "%s must be an optimizer spec such as adam(lr=1e-3)", p.key)
		}
		o, err := buildOptimizer(src, v.Call)
		if err != nil {
			var se *SpecError
			if errors.As(err, &se) {
				return se
			}
			return specErrorf(src, v.Pos, v.Token(), "%v", err)
		}
		*p.opt = o
	}
	return nil
}

// findParam finds key (or an alias of it) among ps.
func findParam(ps []param, key string) (param, bool) {
	for _, p := range ps {
		if p.key == key {
			return p, true
		}
		for _, a := range p.aliases {
			if a == key {
				return p, true
			}
		}
	}
	return param{}, false
}

// keyList joins the keys of ps and extra for error messages.
func keyList(ps []param, extra ...string) string {
	var ks []string
	for _, p := range ps {
		ks = append(ks, p.key)
	}
	ks = append(ks, extra...)
	if len(ks) == 0 {
		return "(none)"
	}
	return strings.Join(ks, ", ")
}

// validate checks every value of a configuration, then its combinations.
func validate(c configuration) *ParamError {
	for _, p := range c.params() {
		if msg := p.valid(); msg != "" {
			return &ParamError{Key: p.key, Value: p.format(), Msg: msg}
		}
	}
	if ch, ok := c.(checker); ok {
		if key, msg := ch.check(); key != "" {
			p, _ := findParam(c.params(), key)
			return &ParamError{Key: key, Value: p.format(), Msg: msg}
		}
	}
	return nil
}

// configuration is a typed configuration (a pointer to an optimizer's or a
// schedule's config struct) seen through its keys.
type configuration interface {
	// params binds the keys to the fields, in canonical order.
	params() []param
}

// checker is a configuration with constraints between its values.
type checker interface {
	// check returns the offending key and what is wrong, or "", "".
	check() (key, msg string)
}

// ParamError is an invalid hyperparameter value given to a constructor or to
// With: the key, the value and what is wrong.
type ParamError struct {
	// Name is the optimizer or schedule, when known.
	Name string
	// Key is the hyperparameter's key, e.g. "b1".
	Key string
	// Value is the value in spec syntax.
	Value string
	// Msg says what is wrong, e.g. "must be in [0, 1)".
	Msg string
}

// Error implements error.
func (e *ParamError) Error() string {
	name := e.Name
	if name != "" {
		name += ": "
	}
	return fmt.Sprintf("optimizers: %s%s=%s %s", name, e.Key, e.Value, e.Msg)
}

// Validity checks: they return "" for a valid value, or what is wrong.

func positive(v float64) string {
	if v > 0 {
		return ""
	}
	return "must be > 0"
}

func nonNegative(v float64) string {
	if v >= 0 {
		return ""
	}
	return "must be >= 0"
}

// unitOpen is the interval (0, 1).
func unitOpen(v float64) string {
	if v > 0 && v < 1 {
		return ""
	}
	return "must be in (0, 1)"
}

// beta is the interval [0, 1) of moving-average coefficients.
func beta(v float64) string {
	if v >= 0 && v < 1 {
		return ""
	}
	return "must be in [0, 1)"
}

func unitClosed(v float64) string {
	if v >= 0 && v <= 1 {
		return ""
	}
	return "must be in [0, 1]"
}

func unitOpenClosed(v float64) string {
	if v > 0 && v <= 1 {
		return ""
	}
	return "must be in (0, 1]"
}

func greaterThanOne(v float64) string {
	if v > 1 {
		return ""
	}
	return "must be > 1"
}

func between(lo, hi float64) func(float64) string {
	return func(v float64) string {
		if v >= lo && v <= hi {
			return ""
		}
		return fmt.Sprintf("must be in [%g, %g]", lo, hi)
	}
}

// Keys shared by many optimizers.

func lrParam(f *float64) param {
	return floatParam("lr", f, "learning rate", positive).alias("learning_rate")
}

func weightDecayParam(f *float64, doc string) param {
	return floatParam("weight_decay", f, doc, nonNegative)
}

func b1Param(f *float64, doc string) param { return floatParam("b1", f, doc, beta).alias("beta1") }
func b2Param(f *float64, doc string) param { return floatParam("b2", f, doc, beta).alias("beta2") }

func epsParam(f *float64, doc string) param {
	return floatParam("eps", f, doc, positive).alias("epsilon")
}

const (
	docB1          = "decay of the first-moment average"
	docB2          = "decay of the second-moment average"
	docCoupledWD   = "L2 penalty coefficient added to the gradient (coupled)"
	docDecoupledWD = "decoupled weight decay λ"
	docEpsDenom    = "added to the denominator"
)
