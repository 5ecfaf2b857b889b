package optimizers

import (
	"fmt"
	"sort"
	"strings"

	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/spec"
)

// Group is a parameter group: the trainable variables that Match selects are
// updated with the hyperparameter values in Set instead of the optimizer's
// own (PyTorch's param_groups, optax's partition). In a spec a group reads
//
//	adamw(lr=1e-3,weight_decay=0.05,group=biases(weight_decay=0),group=bn(weight_decay=0))
//
// the call's name being Match and its arguments Set; the key group may be
// repeated. Match is a name compared with each component of a variable's
// path: "biases" selects /model/dense1/biases and /model/out/biases, "bn"
// every variable of the layer bn (its γ and β), "dense1" both variables of
// the layer dense1. The first group that matches a variable takes it; the
// others keep the optimizer's values. A group that matches no trainable
// variable is an error when the update is built, naming the pattern.
//
// Each group runs its own chain, built by the optimizer's typed constructor
// from the optimizer's configuration with Set applied; gradient clipping
// (clip_norm, clip_value) acts on all gradients together before the groups
// split them, as torch.nn.utils.clip_grad_norm_ does over every parameter. A
// group's learning rate is a factor on the base rate (lr_group/lr), so a
// schedule and reduce-on-plateau scale every group alike.
type Group struct {
	// Match is the path component the group selects (a name: letters, digits
	// and '_', not starting with a digit; compared case-insensitively).
	Match string
	// Set lists the hyperparameters the group changes, in canonical order.
	Set []Setting
}

// Setting is one hyperparameter value of a Group.
type Setting struct {
	Key   string
	Value float64
	// Bool reports a boolean hyperparameter (Value 0 or 1, printed false or true).
	Bool bool
}

// String returns the group in spec syntax, e.g. "biases(weight_decay=0)".
func (g Group) String() string {
	parts := make([]string, len(g.Set))
	for i, s := range g.Set {
		v := formatFloat(s.Value)
		if s.Bool {
			v = map[bool]string{false: "false", true: "true"}[s.Value != 0]
		}
		parts[i] = s.Key + "=" + v
	}
	return g.Match + "(" + strings.Join(parts, ",") + ")"
}

// Groups returns the optimizer's parameter groups in the order they are
// tried (none for most optimizers). A wrapper's groups are its base's: they
// are written inside base=..., like the schedule, and Groups and WithGroup
// reach them there.
func (o *Optimizer) Groups() []Group {
	if o.base != nil {
		return o.base.Groups()
	}
	out := make([]Group, len(o.groups))
	for i, g := range o.groups {
		out[i] = Group{Match: g.Match, Set: append([]Setting(nil), g.Set...)}
	}
	return out
}

// WithGroup returns a copy of o with one more parameter group (see Group),
// tried after the existing ones: the variables match selects take the values
// in set, keyed as Hyperparameters keys them (aliases accepted). Errors name
// the pattern or the key and value: a malformed or repeated pattern, an
// unknown key, an invalid value, or an empty set.
func (o *Optimizer) WithGroup(match string, set map[string]float64) (*Optimizer, error) {
	if o.base != nil {
		b, err := o.base.WithGroup(match, set)
		if err != nil {
			return nil, err
		}
		return o.withBase(b)
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	vals := make([]Setting, len(keys))
	for i, k := range keys {
		vals[i] = Setting{Key: k, Value: set[k]}
	}
	g, err := o.newGroup(match, vals)
	if err != nil {
		return nil, err
	}
	c := *o
	c.groups = append(append([]Group(nil), o.groups...), g)
	return &c, nil
}

// newGroup validates a group against o: its pattern, that it is new, and that
// o's configuration with the settings applied builds. The settings come back
// under their canonical keys in canonical order.
func (o *Optimizer) newGroup(match string, set []Setting) (Group, error) {
	m := strings.ToLower(match)
	if !validName(m) {
		return Group{}, fmt.Errorf("optimizers: %s: group pattern %q must be a name (letters, digits, '_'; not starting with a digit) matching a component of a variable's path, such as biases or dense1", o.name, match)
	}
	for _, g := range o.groups {
		if g.Match == m {
			return Group{}, fmt.Errorf("optimizers: %s: group %q given twice", o.name, m)
		}
	}
	if len(set) == 0 {
		return Group{}, fmt.Errorf("optimizers: %s: group %q sets no hyperparameter (write e.g. %s(weight_decay=0))", o.name, m, m)
	}
	g := Group{Match: m, Set: set}
	canon, _, err := o.groupChain(g)
	if err != nil {
		return Group{}, err
	}
	g.Set = canon
	return g, nil
}

// validName reports whether s is a name as the spec tokenizer reads one.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_' || (c >= 'a' && c <= 'z'):
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// groupChain returns the settings of g under canonical keys in canonical
// order, and the chain and learning-rate factor (lr_group/lr) of its
// variables, built from o's configuration with g's settings applied.
func (o *Optimizer) groupChain(g Group) ([]Setting, groupRule, error) {
	var ps []param
	var cfg configuration
	lr := o.lr
	if o.cfg == nil {
		ps = []param{floatParam("lr", &lr, "learning rate", positive).alias("learning_rate")}
	} else {
		cfg = o.family.clone(o.cfg)
		ps = cfg.params()
	}
	seen := map[string]bool{}
	for _, s := range g.Set {
		p, ok := findParam(ps, s.Key)
		if !ok || !p.numeric() || p.key == "keras" {
			valid := make([]param, 0, len(ps))
			for _, q := range ps {
				if q.numeric() && q.key != "keras" {
					valid = append(valid, q)
				}
			}
			return nil, groupRule{}, fmt.Errorf("optimizers: %s: group %s: unknown key %q (valid: %s)", o.name, g.Match, s.Key, keyList(valid))
		}
		if seen[p.key] {
			return nil, groupRule{}, fmt.Errorf("optimizers: %s: group %s: key %q given twice", o.name, g.Match, p.key)
		}
		seen[p.key] = true
		if msg := p.set(s.Value); msg != "" {
			return nil, groupRule{}, &ParamError{Name: o.name + " group " + g.Match, Key: p.key, Value: formatFloat(s.Value), Msg: msg}
		}
	}
	var canon []Setting
	for _, p := range ps {
		if seen[p.key] {
			canon = append(canon, Setting{Key: p.key, Value: p.get(), Bool: p.b != nil})
		}
	}
	if o.cfg == nil {
		return canon, groupRule{body: o.body, lrFactor: lr / o.lr}, nil
	}
	n, err := o.family.build(cfg)
	if err != nil {
		if pe, ok := err.(*ParamError); ok {
			pe.Name = o.name + " group " + g.Match
		}
		return nil, groupRule{}, err
	}
	return canon, groupRule{body: n.body, lrFactor: n.lr / o.lr}, nil
}

// groupRule is what a group's variables are updated with.
type groupRule struct {
	body     []Transform
	lrFactor float64
}

// checkGroups rebuilds every group against o's (new) configuration.
func (o *Optimizer) checkGroups() error {
	for _, g := range o.groups {
		if _, _, err := o.groupChain(g); err != nil {
			return err
		}
	}
	return nil
}

// matches reports whether the group selects the variable at path.
func (g Group) matches(path string) bool {
	for _, c := range strings.Split(path, model.ScopeSeparator) {
		if strings.ToLower(c) == g.Match {
			return true
		}
	}
	return false
}

// applyBody applies the optimizer's own chain (after the clipping head) to u:
// the whole chain for every variable, or, with groups, each group's chain to
// its variables. It panics (graph-building convention) when a group matches no
// variable.
func (o *Optimizer) applyBody(s *Step, u []*Node) []*Node {
	if len(o.groups) == 0 {
		for _, t := range o.body {
			u = t.Apply(s, u)
		}
		return u
	}
	members := make([][]int, len(o.groups)+1) // the last holds the variables no group takes
	for i, v := range s.vars {
		k := len(o.groups)
		for j, g := range o.groups {
			if g.matches(v.Path()) {
				k = j
				break
			}
		}
		members[k] = append(members[k], i)
	}
	for j, g := range o.groups {
		if len(members[j]) == 0 {
			names := make([]string, len(s.vars))
			for i, v := range s.vars {
				names[i] = v.Path()
			}
			panic(fmt.Errorf("optimizers: %s: group pattern %q matches no trainable variable (variables: %s)",
				o.name, g.Match, strings.Join(names, ", ")))
		}
	}
	out := make([]*Node, len(u))
	for j := range members {
		if len(members[j]) == 0 {
			continue
		}
		rule := groupRule{body: o.body, lrFactor: 1}
		prefix := ""
		if j < len(o.groups) {
			var err error
			if _, rule, err = o.groupChain(o.groups[j]); err != nil {
				panic(err) // validated when the group was added
			}
			prefix = "group_" + o.groups[j].Match + "."
		}
		sub := s.subStep(members[j], rule.lrFactor, prefix)
		gu := make([]*Node, len(members[j]))
		for k, i := range members[j] {
			gu[k] = u[i]
		}
		for _, t := range rule.body {
			gu = t.Apply(sub, gu)
		}
		for k, i := range members[j] {
			out[i] = gu[k]
		}
		s.writes = append(s.writes, sub.writes...)
	}
	return out
}

// subStep returns a Step over the variables idx of s, whose learning rate is
// s's times lrFactor and whose state names carry s's prefix followed by
// prefix (so groups with different hyperparameters keep separate running
// products, as Nested keeps a wrapper's base apart). State writes go to the
// sub-step; the caller moves them to s.
func (s *Step) subStep(idx []int, lrFactor float64, prefix string) *Step {
	sub := &Step{scope: s.scope, g: s.g, dtype: s.dtype, T: s.T, K: s.K, LR: s.LR, Base: s.Base, First: s.First,
		step: s.step, prefix: s.prefix + prefix, serial: s.serial, telemetry: s.telemetry}
	if lrFactor != 1 {
		f := s.Const(lrFactor)
		sub.LR, sub.Base = Mul(s.LR, f), Mul(s.Base, f)
	}
	for _, i := range idx {
		sub.vars = append(sub.vars, s.vars[i])
		sub.params = append(sub.params, s.params[i])
		sub.index = append(sub.index, s.globalIndex(i))
	}
	return sub
}

// globalIndex maps the i-th variable of s to its index in the whole update.
func (s *Step) globalIndex(i int) int {
	if s.index == nil {
		return i
	}
	return s.index[i]
}

// parseGroup reads one group=NAME(key=value,...) argument of a spec.
func (o *Optimizer) parseGroup(src string, v spec.Value) (Group, error) {
	if v.Kind != spec.Nested {
		return Group{}, specErrorf(src, v.Pos, v.Token(), "group must be NAME(key=value,...), e.g. group=biases(weight_decay=0)")
	}
	c := v.Call
	set := make([]Setting, 0, len(c.Args))
	for _, a := range c.Args {
		switch {
		case a.Value.Kind == spec.Number:
			set = append(set, Setting{Key: a.Key, Value: a.Value.Num})
		case a.Value.Kind == spec.Ident && (a.Value.Text == "true" || a.Value.Text == "false"):
			b := 0.0
			if a.Value.Text == "true" {
				b = 1
			}
			set = append(set, Setting{Key: a.Key, Value: b})
		default:
			return Group{}, specErrorf(src, a.Value.Pos, a.Value.Token(), "group %s: %s must be a number or true/false", c.Name, a.Key)
		}
	}
	g, err := o.newGroup(c.Name, set)
	if err != nil {
		return Group{}, specErrorf(src, c.Pos, c.Name, "%s", strings.TrimPrefix(err.Error(), "optimizers: "))
	}
	return g, nil
}
