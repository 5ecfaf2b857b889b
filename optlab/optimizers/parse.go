package optimizers

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// SpecError reports a bad optimizer or schedule spec: the offending token, its
// position and what is wrong with it.
type SpecError struct {
	// Spec is the whole spec string.
	Spec string
	// Pos is the byte offset of the offending token in Spec (0-based).
	Pos int
	// Token is the offending text (a key, a value, a name or a character).
	Token string
	// Msg says what is wrong.
	Msg string
}

// Error implements error. Positions are printed 1-based ("column").
func (e *SpecError) Error() string {
	return fmt.Sprintf("optimizers: spec %q: column %d, %q: %s", e.Spec, e.Pos+1, e.Token, e.Msg)
}

// Parse builds an optimizer from a spec such as
//
//	adam(lr=1e-3,b1=0.9,b2=0.999,eps=1e-8)
//	sgd(lr=0.01,momentum=0.9,nesterov=true)
//	rmsprop(keras=true)
//	adamw(lr=3e-4,schedule=cosine(steps=5000,warmup=200),clip_norm=1)
//	adam
//
// Keys not given take their defaults (PyTorch's, or Keras's for optimizers with
// keras=true). Besides its own hyperparameters (see List), every optimizer accepts
// schedule=NAME(...), clip_norm=X, clip_value=X and skip_nonfinite=BOOL. Errors are
// *SpecError values naming the bad token and its position: unknown optimizer or
// key, malformed number, or impossible value (lr ≤ 0, β outside [0, 1), ε ≤ 0,
// negative weight decay, ...).
func Parse(spec string) (*Optimizer, error) {
	p := &parser{src: spec}
	c, err := p.parseSpec()
	if err != nil {
		return nil, err
	}
	return p.buildOptimizer(c)
}

// MustParse is Parse for specs known to be valid (tests, examples); it panics on
// error.
func MustParse(spec string) *Optimizer {
	o, err := Parse(spec)
	if err != nil {
		panic(err)
	}
	return o
}

// ParseSchedule builds a learning-rate schedule from a spec such as
// "cosine(steps=1000,warmup=100)" or "multistep(milestones=[30,80],gamma=0.1)".
func ParseSchedule(spec string) (*Schedule, error) {
	p := &parser{src: spec}
	c, err := p.parseSpec()
	if err != nil {
		return nil, err
	}
	return p.buildSchedule(c)
}

// Syntax tree of a spec.

type call struct {
	name string
	pos  int
	args []arg
	// parens records whether an argument list was written.
	parens bool
}

type arg struct {
	key    string
	keyPos int
	val    value
}

type valueKind int

const (
	valNumber valueKind = iota
	valIdent
	valCall
	valList
)

type value struct {
	kind valueKind
	pos  int
	text string
	num  float64
	call *call
	list []float64
}

const maxSpecDepth = 4

type parser struct {
	src string
	pos int
}

func (p *parser) errorf(pos int, token, format string, args ...any) *SpecError {
	return &SpecError{Spec: p.src, Pos: pos, Token: token, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

// tokenAt returns a short display of the text at pos, for error messages.
func (p *parser) tokenAt(pos int) string {
	if pos >= len(p.src) {
		return "end of spec"
	}
	end := pos + 1
	for end < len(p.src) && isIdentChar(p.src[end]) && isIdentChar(p.src[pos]) {
		end++
	}
	return p.src[pos:end]
}

func isIdentStart(c byte) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isIdentChar(c byte) bool  { return isIdentStart(c) || (c >= '0' && c <= '9') }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

func (p *parser) parseSpec() (*call, error) {
	p.skipSpace()
	c, err := p.parseCall(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos < len(p.src) {
		return nil, p.errorf(p.pos, p.tokenAt(p.pos), "unexpected text after the spec")
	}
	return c, nil
}

func (p *parser) ident() (string, int, error) {
	start := p.pos
	if p.pos >= len(p.src) {
		return "", start, p.errorf(start, "end of spec", "expected a name")
	}
	if !isIdentStart(p.src[p.pos]) {
		return "", start, p.errorf(start, p.tokenAt(start), "expected a name")
	}
	for p.pos < len(p.src) && isIdentChar(p.src[p.pos]) {
		p.pos++
	}
	return strings.ToLower(p.src[start:p.pos]), start, nil
}

func (p *parser) parseCall(depth int) (*call, error) {
	if depth > maxSpecDepth {
		return nil, p.errorf(p.pos, p.tokenAt(p.pos), "nested too deeply")
	}
	name, pos, err := p.ident()
	if err != nil {
		return nil, err
	}
	c := &call{name: name, pos: pos}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return c, nil
	}
	c.parens = true
	p.pos++
	p.skipSpace()
	if p.pos < len(p.src) && p.src[p.pos] == ')' {
		p.pos++
		return c, nil
	}
	for {
		p.skipSpace()
		key, keyPos, err := p.ident()
		if err != nil {
			return nil, p.errorf(keyPos, p.tokenAt(keyPos), "expected key=value")
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '=' {
			return nil, p.errorf(p.pos, p.tokenAt(p.pos), "expected '=' after key %q", key)
		}
		p.pos++
		p.skipSpace()
		v, err := p.parseValue(depth)
		if err != nil {
			return nil, err
		}
		c.args = append(c.args, arg{key: key, keyPos: keyPos, val: v})
		p.skipSpace()
		if p.pos >= len(p.src) {
			return nil, p.errorf(p.pos, "end of spec", "missing ')' closing %s(", name)
		}
		switch p.src[p.pos] {
		case ',':
			p.pos++
		case ')':
			p.pos++
			return c, nil
		default:
			return nil, p.errorf(p.pos, p.tokenAt(p.pos), "expected ',' or ')'")
		}
	}
}

func (p *parser) parseValue(depth int) (value, error) {
	start := p.pos
	if p.pos >= len(p.src) {
		return value{}, p.errorf(start, "end of spec", "expected a value")
	}
	ch := p.src[p.pos]
	switch {
	case ch == '[':
		p.pos++
		v := value{kind: valList, pos: start}
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ']' {
			p.pos++
			return v, nil
		}
		for {
			p.skipSpace()
			n, err := p.parseNumber()
			if err != nil {
				return value{}, err
			}
			v.list = append(v.list, n.num)
			p.skipSpace()
			if p.pos >= len(p.src) {
				return value{}, p.errorf(p.pos, "end of spec", "missing ']'")
			}
			if p.src[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.src[p.pos] == ']' {
				p.pos++
				v.text = p.src[start:p.pos]
				return v, nil
			}
			return value{}, p.errorf(p.pos, p.tokenAt(p.pos), "expected ',' or ']' in a list")
		}
	case isIdentStart(ch):
		c, err := p.parseCall(depth + 1)
		if err != nil {
			return value{}, err
		}
		if c.parens {
			return value{kind: valCall, pos: start, text: p.src[start:p.pos], call: c}, nil
		}
		return value{kind: valIdent, pos: start, text: c.name, call: c}, nil
	default:
		return p.parseNumber()
	}
}

// parseNumber reads [+-]digits[.digits][e[+-]digits] (or .digits).
func (p *parser) parseNumber() (value, error) {
	start := p.pos
	i := p.pos
	if i < len(p.src) && (p.src[i] == '+' || p.src[i] == '-') {
		i++
	}
	digits := 0
	for i < len(p.src) && (isDigit(p.src[i]) || p.src[i] == '.') {
		if isDigit(p.src[i]) {
			digits++
		}
		i++
	}
	if i < len(p.src) && digits > 0 && (p.src[i] == 'e' || p.src[i] == 'E') {
		i++
		if i < len(p.src) && (p.src[i] == '+' || p.src[i] == '-') {
			i++
		}
		for i < len(p.src) && isDigit(p.src[i]) {
			i++
		}
	}
	// Swallow trailing identifier characters so "1e-3x" or "0.9.1" is reported whole.
	for i < len(p.src) && (isIdentChar(p.src[i]) || p.src[i] == '.') {
		i++
	}
	text := p.src[start:i]
	if text == "" {
		return value{}, p.errorf(start, p.tokenAt(start), "expected a value")
	}
	p.pos = i
	if digits == 0 {
		return value{}, p.errorf(start, text, "malformed number")
	}
	x, err := strconv.ParseFloat(text, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return value{}, p.errorf(start, text, "number out of range")
		}
		return value{}, p.errorf(start, text, "malformed number")
	}
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return value{}, p.errorf(start, text, "number out of range")
	}
	return value{kind: valNumber, pos: start, text: text, num: x}, nil
}

// assign stores the value of argument a into vals according to its definition.
func (p *parser) assign(d paramDef, a arg, vals values) error {
	v := a.val
	switch d.kind {
	case kindBool:
		switch {
		case v.kind == valIdent && (v.text == "true" || v.text == "false"):
			vals.num[d.key] = map[bool]float64{true: 1, false: 0}[v.text == "true"]
		case v.kind == valNumber && (v.num == 0 || v.num == 1):
			vals.num[d.key] = v.num
		default:
			return p.errorf(v.pos, tokenOf(v), "%s must be true or false", d.key)
		}
	case kindFloat, kindInt:
		if v.kind != valNumber {
			return p.errorf(v.pos, tokenOf(v), "%s must be a number", d.key)
		}
		if d.kind == kindInt && (v.num != math.Trunc(v.num) || math.Abs(v.num) > 1e15) {
			return p.errorf(v.pos, v.text, "%s must be an integer", d.key)
		}
		if d.check != nil {
			if msg := d.check(v.num); msg != "" {
				return p.errorf(v.pos, v.text, "%s %s", d.key, msg)
			}
		}
		vals.num[d.key] = v.num
	case kindList:
		switch v.kind {
		case valList:
			vals.list[d.key] = v.list
		case valNumber:
			vals.list[d.key] = []float64{v.num}
		default:
			return p.errorf(v.pos, tokenOf(v), "%s must be a list of numbers such as [30,80]", d.key)
		}
	case kindEnum:
		if v.kind != valIdent {
			return p.errorf(v.pos, tokenOf(v), "%s must be one of %s", d.key, strings.Join(d.choices, ", "))
		}
		for _, c := range d.choices {
			if v.text == c {
				vals.str[d.key] = c
				return nil
			}
		}
		return p.errorf(v.pos, v.text, "%s must be one of %s", d.key, strings.Join(d.choices, ", "))
	}
	return nil
}

func tokenOf(v value) string {
	if v.text != "" {
		return v.text
	}
	return "value"
}

// resolveKey finds the definition of key among params (by key or alias).
func resolveKey(params []paramDef, key string) (paramDef, bool) {
	for _, d := range params {
		if d.key == key {
			return d, true
		}
		for _, a := range d.aliases {
			if a == key {
				return d, true
			}
		}
	}
	return paramDef{}, false
}

func keyList(params []paramDef, extra ...string) string {
	var ks []string
	for _, d := range params {
		ks = append(ks, d.key)
	}
	ks = append(ks, extra...)
	if len(ks) == 0 {
		return "(none)"
	}
	return strings.Join(ks, ", ")
}

func (p *parser) buildOptimizer(c *call) (*Optimizer, error) {
	def := findOpt(c.name)
	if def == nil {
		return nil, p.errorf(c.pos, c.name, "unknown optimizer (known: %s)", strings.Join(Names(), ", "))
	}
	vals := newValues()
	// The Keras convention changes defaults, so read it first.
	keras := false
	for _, a := range c.args {
		if a.key == "keras" && a.val.kind == valIdent && a.val.text == "true" ||
			a.key == "keras" && a.val.kind == valNumber && a.val.num == 1 {
			keras = true
		}
	}
	for _, d := range def.params {
		d.setDefault(vals, keras)
	}
	o := &Optimizer{name: def.name, def: def, vals: vals}
	seen := map[string]int{}
	for _, a := range c.args {
		d, ok := resolveKey(def.params, a.key)
		canonical := d.key
		if !ok {
			canonical = a.key
		}
		if prev, dup := seen[canonical]; dup {
			return nil, p.errorf(a.keyPos, a.key, "duplicate key (first given at column %d)", prev+1)
		}
		seen[canonical] = a.keyPos
		if ok {
			if err := p.assign(d, a, vals); err != nil {
				return nil, err
			}
			continue
		}
		if err := p.generalOption(o, a); err != nil {
			return nil, err
		}
	}
	if def.check != nil {
		if key, msg := def.check(vals); key != "" {
			pos, tok := c.pos, c.name
			if kp, ok := seen[key]; ok {
				pos, tok = kp, key
			}
			return nil, p.errorf(pos, tok, "%s %s", key, msg)
		}
	}
	o.lr = vals.num["lr"]
	o.chain = def.chain(vals)
	return o, nil
}

// generalOption handles the keys every optimizer accepts.
func (p *parser) generalOption(o *Optimizer, a arg) error {
	switch a.key {
	case "schedule":
		var c *call
		switch a.val.kind {
		case valCall, valIdent:
			c = a.val.call
		default:
			return p.errorf(a.val.pos, tokenOf(a.val), "schedule must be a schedule spec such as cosine(steps=1000)")
		}
		s, err := p.buildSchedule(c)
		if err != nil {
			return err
		}
		o.schedule = s
	case "clip_norm", "clip_value":
		if a.val.kind != valNumber {
			return p.errorf(a.val.pos, tokenOf(a.val), "%s must be a number", a.key)
		}
		if !(a.val.num >= 0) {
			return p.errorf(a.val.pos, a.val.text, "%s must be >= 0", a.key)
		}
		if a.key == "clip_norm" {
			o.clipNorm = a.val.num
		} else {
			o.clipValue = a.val.num
		}
	case "skip_nonfinite":
		d := boolParam("skip_nonfinite", false, "")
		tmp := newValues()
		if err := p.assign(d, a, tmp); err != nil {
			return err
		}
		o.skipNonFinite = tmp.num["skip_nonfinite"] != 0
	default:
		return p.errorf(a.keyPos, a.key, "unknown key for %s (valid: %s)", o.name,
			keyList(o.def.params, "schedule", "clip_norm", "clip_value", "skip_nonfinite"))
	}
	return nil
}

func (p *parser) buildSchedule(c *call) (*Schedule, error) {
	def := findSched(c.name)
	if def == nil {
		var names []string
		for _, d := range schedules() {
			names = append(names, d.name)
		}
		return nil, p.errorf(c.pos, c.name, "unknown schedule (known: %s)", strings.Join(names, ", "))
	}
	vals := newValues()
	for _, d := range def.params {
		d.setDefault(vals, false)
	}
	seen := map[string]int{}
	for _, a := range c.args {
		d, ok := resolveKey(def.params, a.key)
		if !ok {
			return nil, p.errorf(a.keyPos, a.key, "unknown key for schedule %s (valid: %s)", def.name, keyList(def.params))
		}
		if prev, dup := seen[d.key]; dup {
			return nil, p.errorf(a.keyPos, a.key, "duplicate key (first given at column %d)", prev+1)
		}
		seen[d.key] = a.keyPos
		if err := p.assign(d, a, vals); err != nil {
			return nil, err
		}
	}
	for _, d := range def.params {
		if d.kind == kindList && len(vals.list[d.key]) == 0 {
			if def.check == nil {
				return nil, p.errorf(c.pos, c.name, "schedule %s needs %s", def.name, d.key)
			}
		}
	}
	if def.check != nil {
		if key, msg := def.check(vals); key != "" {
			pos, tok := c.pos, c.name
			if kp, ok := seen[key]; ok {
				pos, tok = kp, key
			}
			return nil, p.errorf(pos, tok, "%s %s", key, msg)
		}
	}
	return &Schedule{name: def.name, def: def, vals: vals}, nil
}
