package optimizers

import (
	"math"
	"strings"
)

// kind is the type of a hyperparameter's value in a spec.
type kind int

const (
	kindFloat kind = iota
	kindInt
	kindBool
	kindList
	kindEnum
)

// paramDef describes one hyperparameter: its key, type, default, the default
// under the Keras convention (when it differs), documentation and validity check.
type paramDef struct {
	key      string
	kind     kind
	def      float64
	kerasDef float64 // NaN: same as def
	defStr   string  // kindEnum
	choices  []string
	doc      string
	check    func(v float64) string // "" when valid
	aliases  []string
}

// values holds the hyperparameters of one optimizer or schedule.
type values struct {
	num  map[string]float64
	list map[string][]float64
	str  map[string]string
}

func newValues() values {
	return values{num: map[string]float64{}, list: map[string][]float64{}, str: map[string]string{}}
}

func floatParam(key string, def float64, doc string, check func(float64) string) paramDef {
	return paramDef{key: key, kind: kindFloat, def: def, kerasDef: math.NaN(), doc: doc, check: check}
}

func intParam(key string, def float64, doc string, check func(float64) string) paramDef {
	return paramDef{key: key, kind: kindInt, def: def, kerasDef: math.NaN(), doc: doc, check: check}
}

func boolParam(key string, def bool, doc string) paramDef {
	d := 0.0
	if def {
		d = 1
	}
	return paramDef{key: key, kind: kindBool, def: d, kerasDef: math.NaN(), doc: doc}
}

func listParam(key, doc string) paramDef {
	return paramDef{key: key, kind: kindList, kerasDef: math.NaN(), doc: doc}
}

func enumParam(key, def, doc string, choices ...string) paramDef {
	return paramDef{key: key, kind: kindEnum, defStr: def, choices: choices, kerasDef: math.NaN(), doc: doc}
}

// keras returns a copy of p whose default under keras=true is v.
func (p paramDef) keras(v float64) paramDef {
	p.kerasDef = v
	return p
}

// alias returns a copy of p that also accepts the given keys.
func (p paramDef) alias(keys ...string) paramDef {
	p.aliases = append(append([]string(nil), p.aliases...), keys...)
	return p
}

// setDefault stores p's default into v (the Keras one when keras is set).
func (p paramDef) setDefault(v values, keras bool) {
	switch p.kind {
	case kindList:
		v.list[p.key] = nil
	case kindEnum:
		v.str[p.key] = p.defStr
	default:
		d := p.def
		if keras && !math.IsNaN(p.kerasDef) {
			d = p.kerasDef
		}
		v.num[p.key] = d
	}
}

// format prints p's value in spec syntax.
func (p paramDef) format(v values) string {
	switch p.kind {
	case kindBool:
		if v.num[p.key] != 0 {
			return "true"
		}
		return "false"
	case kindList:
		parts := make([]string, len(v.list[p.key]))
		for i, x := range v.list[p.key] {
			parts[i] = formatFloat(x)
		}
		return "[" + strings.Join(parts, ",") + "]"
	case kindEnum:
		return v.str[p.key]
	default:
		return formatFloat(v.num[p.key])
	}
}

// defaultString prints p's default in spec syntax (the Keras default in brackets
// when there is one).
func (p paramDef) defaultString() string {
	v := newValues()
	p.setDefault(v, false)
	s := p.format(v)
	if p.kind == kindList && s == "[]" {
		s = "(required)"
	}
	if !math.IsNaN(p.kerasDef) {
		kv := newValues()
		p.setDefault(kv, true)
		s += " (keras: " + p.format(kv) + ")"
	}
	return s
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

func positiveAtMostOne(v float64) string { return unitOpenClosed(v) }

func greaterThanOne(v float64) string {
	if v > 1 {
		return ""
	}
	return "must be > 1"
}
