package optimizers

import (
	"errors"
	"fmt"
	"strings"

	"optlab.dev/internal/spec"
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

func specErrorf(src string, pos int, token, format string, args ...any) *SpecError {
	return &SpecError{Spec: src, Pos: pos, Token: token, Msg: fmt.Sprintf(format, args...)}
}

// tokenize reads a spec with the shared tokenizer, converting its errors.
func tokenize(src string) (*spec.Call, error) {
	c, err := spec.Parse(src, spec.Options{})
	if err != nil {
		var se *spec.Error
		if errors.As(err, &se) {
			return nil, &SpecError{Spec: se.Spec, Pos: se.Pos, Token: se.Token, Msg: se.Msg}
		}
		return nil, err
	}
	return c, nil
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
// schedule=NAME(...), clip_norm=X, clip_value=X, skip_nonfinite=BOOL and
// parameter groups, group=NAME(key=value,...) (see Group). Errors are
// *SpecError values naming the bad token and its position: unknown optimizer or
// key, malformed number, or impossible value (lr ≤ 0, β outside [0, 1), ε ≤ 0,
// negative weight decay, ...).
//
// Wrappers take the optimizer they wrap as a nested spec under the key base,
// which holds the schedule and the options too:
//
//	lookahead(base=adam(lr=1e-3),k=5,alpha=0.5)
//	ema(base=adamw(lr=1e-3,schedule=cosine(steps=1000)),decay=0.999)
//
// The spec's name selects the typed constructor (adam: Adam) and its keys set
// the fields of the constructor's configuration, starting from its defaults.
func Parse(s string) (*Optimizer, error) {
	c, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	return buildOptimizer(s, c)
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
func ParseSchedule(s string) (*Schedule, error) {
	c, err := tokenize(s)
	if err != nil {
		return nil, err
	}
	return buildSchedule(s, c)
}

// atKey converts a *ParamError from a constructor into a *SpecError at the key
// it names (or at the call's name when the key was not written). A wrapper's
// base is blamed at its value, the nested optimizer's name.
func atKey(src string, c *spec.Call, seen map[string]int, err error) error {
	var pe *ParamError
	if !errors.As(err, &pe) {
		return specErrorf(src, c.Pos, c.Name, "%v", err)
	}
	pos, tok := c.Pos, c.Name
	if kp, ok := seen[pe.Key]; ok {
		pos, tok = kp, pe.Key
		for _, a := range c.Args {
			if a.Key == pe.Key && a.Value.Call != nil && (a.Value.Kind == spec.Nested || a.Value.Kind == spec.Ident) && pe.Key == "base" {
				pos, tok = a.Value.Call.Pos, a.Value.Call.Name
			}
		}
	}
	return specErrorf(src, pos, tok, "%s %s", pe.Key, pe.Msg)
}

func buildOptimizer(src string, c *spec.Call) (*Optimizer, error) {
	f := findFamily(c.Name)
	if f == nil {
		return nil, specErrorf(src, c.Pos, c.Name, "unknown optimizer (known: %s)", strings.Join(Names(), ", "))
	}
	// The Keras convention changes defaults, so read it first.
	keras := false
	for _, a := range c.Args {
		if a.Key == "keras" && (a.Value.Kind == spec.Ident && a.Value.Text == "true" ||
			a.Value.Kind == spec.Number && a.Value.Num == 1) {
			keras = true
		}
	}
	cfg := f.config(keras)
	ps := cfg.params()
	wrapper := isWrapper(cfg)
	var opts options
	optParams := opts.params()
	var schedule *Schedule
	var groups []spec.Value
	seen := map[string]int{}
	for _, a := range c.Args {
		if a.Key == "group" {
			if wrapper {
				return nil, specErrorf(src, a.KeyPos, a.Key,
					"group belongs to the base optimizer: put it inside base=..., e.g. %s(base=adamw(group=biases(weight_decay=0)))", f.name())
			}
			groups = append(groups, a.Value) // repeatable; read once the optimizer is built
			continue
		}
		p, own := findParam(ps, a.Key)
		if !own {
			p, _ = findParam(optParams, a.Key)
		}
		canonical := a.Key
		if p.key != "" {
			canonical = p.key
		}
		if prev, dup := seen[canonical]; dup {
			return nil, specErrorf(src, a.KeyPos, a.Key, "duplicate key (first given at column %d)", prev+1)
		}
		seen[canonical] = a.KeyPos
		if wrapper && !own && (p.key != "" || a.Key == "schedule") {
			return nil, specErrorf(src, a.KeyPos, a.Key,
				"%s belongs to the base optimizer: put it inside base=..., e.g. %s(base=adam(lr=1e-3,%s=...))", a.Key, f.name(), a.Key)
		}
		switch {
		case p.key != "":
			if err := p.assign(src, a.Value); err != nil {
				return nil, err
			}
		case a.Key == "schedule":
			if a.Value.Kind != spec.Nested && a.Value.Kind != spec.Ident {
				return nil, specErrorf(src, a.Value.Pos, a.Value.Token(), "schedule must be a schedule spec such as cosine(steps=1000)")
			}
			s, err := buildSchedule(src, a.Value.Call)
			if err != nil {
				return nil, err
			}
			schedule = s
		case wrapper:
			return nil, specErrorf(src, a.KeyPos, a.Key, "unknown key for %s (valid: %s; the base optimizer's keys go inside base=...)",
				f.name(), keyList(ps))
		default:
			extra := []string{"schedule"}
			for _, op := range optParams {
				extra = append(extra, op.key)
			}
			extra = append(extra, "group")
			return nil, specErrorf(src, a.KeyPos, a.Key, "unknown key for %s (valid: %s)", f.name(), keyList(ps, extra...))
		}
	}
	o, err := f.build(cfg)
	if err != nil {
		return nil, atKey(src, c, seen, err)
	}
	if !wrapper {
		opts.schedule = schedule
		o.opts = opts
	}
	for _, v := range groups {
		g, err := o.parseGroup(src, v)
		if err != nil {
			return nil, err
		}
		o.groups = append(o.groups, g)
	}
	return o, nil
}

// isWrapper reports a configuration with a base optimizer (lookahead, sam,
// cautious, ema).
func isWrapper(c configuration) bool {
	for _, p := range c.params() {
		if p.opt != nil {
			return true
		}
	}
	return false
}

func buildSchedule(src string, c *spec.Call) (*Schedule, error) {
	def := findSchedule(c.Name)
	if def == nil {
		var names []string
		for _, d := range scheduleDefs() {
			names = append(names, d.name)
		}
		return nil, specErrorf(src, c.Pos, c.Name, "unknown schedule (known: %s)", strings.Join(names, ", "))
	}
	cfg := def.defaults()
	ps := cfg.params()
	seen := map[string]int{}
	for _, a := range c.Args {
		p, ok := findParam(ps, a.Key)
		if !ok {
			return nil, specErrorf(src, a.KeyPos, a.Key, "unknown key for schedule %s (valid: %s)", def.name, keyList(ps))
		}
		if prev, dup := seen[p.key]; dup {
			return nil, specErrorf(src, a.KeyPos, a.Key, "duplicate key (first given at column %d)", prev+1)
		}
		seen[p.key] = a.KeyPos
		if err := p.assign(src, a.Value); err != nil {
			return nil, err
		}
	}
	if err := validate(cfg); err != nil {
		return nil, atKey(src, c, seen, err)
	}
	return &Schedule{def: def, cfg: cfg}, nil
}
