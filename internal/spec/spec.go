// Package spec is the one tokenizer of optlab's spec strings: optimizer specs
// such as "adam(lr=1e-3,schedule=cosine(steps=100))", learning-rate schedules
// and the 2-D test functions' "ill-conditioned(kappa=100)". It turns a spec
// into a syntax tree (a Call with key=value arguments whose values are numbers,
// names, nested calls or lists of numbers) and reports malformed text as an
// *Error naming the offending token and its byte offset.
//
// It knows no names or keys: what a call means is decided by its caller
// (optlab/optimizers, optlab/functions). It imports the standard library only,
// and must not import GoMLX or any optlab package.
package spec

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxDepth is how deeply calls may nest inside argument values.
const MaxDepth = 4

// Reason classifies an Error, for callers that word errors their own way.
type Reason int

const (
	// Malformed is any syntax error not classified below.
	Malformed Reason = iota
	// Unclosed is a '(' or '[' without its closing bracket.
	Unclosed
	// MissingEquals is a key not followed by '='.
	MissingEquals
)

// Error is a malformed spec: the offending token, its position and what is
// wrong. Callers usually convert it to their own error type.
type Error struct {
	// Spec is the whole spec string.
	Spec string
	// Pos is the byte offset of the offending token in Spec (0-based).
	Pos int
	// Token is the offending text, or "end of spec".
	Token string
	// Msg says what is wrong.
	Msg string
	// Reason classifies the error.
	Reason Reason
}

// Error implements error. Positions are printed 1-based ("column").
func (e *Error) Error() string {
	return fmt.Sprintf("spec %q: column %d, %q: %s", e.Spec, e.Pos+1, e.Token, e.Msg)
}

// Call is name or name(key=value,...).
type Call struct {
	// Name is the name, lower-cased.
	Name string
	// Pos is the byte offset of the name.
	Pos int
	// Args are the arguments in the order written.
	Args []Arg
	// Parens records whether an argument list, possibly empty, was written.
	Parens bool
}

// Arg is one key=value argument.
type Arg struct {
	// Key is the key, lower-cased.
	Key string
	// KeyPos is the byte offset of the key.
	KeyPos int
	// Value is what follows '='.
	Value Value
}

// Kind is the kind of a Value.
type Kind int

const (
	// Number is a finite decimal number.
	Number Kind = iota
	// Ident is a bare name such as true or cos.
	Ident
	// Nested is a call with an argument list, such as cosine(steps=10).
	Nested
	// List is a bracketed list of numbers, such as [30,80].
	List
)

// Value is the value of an argument.
type Value struct {
	// Kind says which of the fields below hold the value.
	Kind Kind
	// Pos is the byte offset of the value.
	Pos int
	// Text is the value as written (a name lower-cased; empty for an empty list).
	Text string
	// Num is the value of a Number.
	Num float64
	// Call is the call of a Nested value, and of an Ident (as a call without
	// arguments).
	Call *Call
	// List holds the numbers of a List.
	List []float64
}

// Token returns the value's text for error messages ("value" when empty).
func (v Value) Token() string {
	if v.Text != "" {
		return v.Text
	}
	return "value"
}

// Options changes what Parse accepts.
type Options struct {
	// Hyphens allows '-' inside names and keys (after the first character), as
	// in "six-hump-camel".
	Hyphens bool
}

// Parse reads a whole spec: one call, surrounded by optional white space. Errors
// are *Error values.
func Parse(src string, opts Options) (*Call, error) {
	p := &parser{src: src, hyphens: opts.Hyphens}
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

type parser struct {
	src     string
	pos     int
	hyphens bool
}

func (p *parser) errorf(pos int, token, format string, args ...any) *Error {
	return &Error{Spec: p.src, Pos: pos, Token: token, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

func isIdentStart(c byte) bool { return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }
func isDigit(c byte) bool      { return c >= '0' && c <= '9' }

func (p *parser) isIdentChar(c byte) bool {
	return isIdentStart(c) || isDigit(c) || (p.hyphens && c == '-')
}

// tokenAt returns a short display of the text at pos, for error messages.
func (p *parser) tokenAt(pos int) string {
	if pos >= len(p.src) {
		return "end of spec"
	}
	end := pos + 1
	for end < len(p.src) && p.isIdentChar(p.src[end]) && p.isIdentChar(p.src[pos]) {
		end++
	}
	return p.src[pos:end]
}

func (p *parser) ident() (string, int, error) {
	start := p.pos
	if p.pos >= len(p.src) {
		return "", start, p.errorf(start, "end of spec", "expected a name")
	}
	if !isIdentStart(p.src[p.pos]) {
		return "", start, p.errorf(start, p.tokenAt(start), "expected a name")
	}
	for p.pos < len(p.src) && p.isIdentChar(p.src[p.pos]) {
		p.pos++
	}
	return strings.ToLower(p.src[start:p.pos]), start, nil
}

func (p *parser) parseCall(depth int) (*Call, error) {
	if depth > MaxDepth {
		return nil, p.errorf(p.pos, p.tokenAt(p.pos), "nested too deeply")
	}
	name, pos, err := p.ident()
	if err != nil {
		return nil, err
	}
	c := &Call{Name: name, Pos: pos}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != '(' {
		return c, nil
	}
	c.Parens = true
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
			e := p.errorf(keyPos, p.tokenAt(keyPos), "expected key=value")
			if keyPos >= len(p.src) {
				e.Reason = Unclosed
			}
			return nil, e
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != '=' {
			e := p.errorf(p.pos, p.tokenAt(p.pos), "expected '=' after key %q", key)
			e.Reason = MissingEquals
			return nil, e
		}
		p.pos++
		p.skipSpace()
		v, err := p.parseValue(depth)
		if err != nil {
			return nil, err
		}
		c.Args = append(c.Args, Arg{Key: key, KeyPos: keyPos, Value: v})
		p.skipSpace()
		if p.pos >= len(p.src) {
			e := p.errorf(p.pos, "end of spec", "missing ')' closing %s(", name)
			e.Reason = Unclosed
			return nil, e
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

func (p *parser) parseValue(depth int) (Value, error) {
	start := p.pos
	if p.pos >= len(p.src) {
		return Value{}, p.errorf(start, "end of spec", "expected a value")
	}
	ch := p.src[p.pos]
	switch {
	case ch == '[':
		p.pos++
		v := Value{Kind: List, Pos: start}
		p.skipSpace()
		if p.pos < len(p.src) && p.src[p.pos] == ']' {
			p.pos++
			return v, nil
		}
		for {
			p.skipSpace()
			n, err := p.parseNumber()
			if err != nil {
				return Value{}, err
			}
			v.List = append(v.List, n.Num)
			p.skipSpace()
			if p.pos >= len(p.src) {
				e := p.errorf(p.pos, "end of spec", "missing ']'")
				e.Reason = Unclosed
				return Value{}, e
			}
			if p.src[p.pos] == ',' {
				p.pos++
				continue
			}
			if p.src[p.pos] == ']' {
				p.pos++
				v.Text = p.src[start:p.pos]
				return v, nil
			}
			return Value{}, p.errorf(p.pos, p.tokenAt(p.pos), "expected ',' or ']' in a list")
		}
	case isIdentStart(ch):
		c, err := p.parseCall(depth + 1)
		if err != nil {
			return Value{}, err
		}
		if c.Parens {
			return Value{Kind: Nested, Pos: start, Text: p.src[start:p.pos], Call: c}, nil
		}
		return Value{Kind: Ident, Pos: start, Text: c.Name, Call: c}, nil
	default:
		return p.parseNumber()
	}
}

// parseNumber reads [+-]digits[.digits][e[+-]digits] (or .digits).
func (p *parser) parseNumber() (Value, error) {
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
	for i < len(p.src) && (p.isIdentChar(p.src[i]) || p.src[i] == '.') {
		i++
	}
	text := p.src[start:i]
	if text == "" {
		return Value{}, p.errorf(start, p.tokenAt(start), "expected a value")
	}
	p.pos = i
	if digits == 0 {
		return Value{}, p.errorf(start, text, "malformed number")
	}
	x, err := strconv.ParseFloat(text, 64)
	if err != nil {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange {
			return Value{}, p.errorf(start, text, "number out of range")
		}
		return Value{}, p.errorf(start, text, "malformed number")
	}
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return Value{}, p.errorf(start, text, "number out of range")
	}
	return Value{Kind: Number, Pos: start, Text: text, Num: x}, nil
}
