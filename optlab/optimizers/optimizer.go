package optimizers

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	gomlxopt "github.com/gomlx/gomlx/ml/train/optimizer"
)

// Optimizer is a chain of transformations with the options every optimizer
// accepts: a learning-rate schedule, gradient clipping (transforms placed at the
// head of the chain) and skipping of non-finite steps. A named optimizer (from
// Parse or a typed constructor such as Adam) also knows its family and typed
// configuration, so it can list and change its hyperparameters; New builds one
// from any transforms. It implements GoMLX's optimizer.Interface and
// train.OptimizeWithGradients.
//
// An Optimizer is an immutable value: With and the other With* methods return
// modified copies.
type Optimizer struct {
	name   string
	family family        // nil for an optimizer built with New
	cfg    configuration // the family's typed configuration; nil with New
	lr     float64
	newLR  float64 // New's learning rate: the default of lr without a family
	body   []Transform
	opts   options
	// base is the wrapped optimizer of a wrapper (lookahead, sam, cautious,
	// ema), nil otherwise. A wrapper's opts are a copy of its base's: the
	// schedule, clipping and skipping are the base's, written inside base=...
	base   *Optimizer
	groups []Group // parameter groups (groups.go), in the order they are tried
}

// options are the keys every optimizer accepts besides its hyperparameters.
type options struct {
	schedule            *Schedule
	clipNorm, clipValue float64
	skipNonFinite       bool
}

// params binds the numeric options to their keys, in canonical order.
func (o *options) params() []param {
	return []param{
		floatParam("clip_norm", &o.clipNorm, "rescale gradients to this global L2 norm at most (0: off)", nonNegative),
		floatParam("clip_value", &o.clipValue, "clamp gradient elements to [-clip_value, clip_value] (0: off)", nonNegative),
		boolParam("skip_nonfinite", &o.skipNonFinite, "skip updates whose gradients are not all finite"),
	}
}

var _ gomlxopt.Interface = (*Optimizer)(nil)

// New returns an optimizer that applies transforms in order (see Chain) with
// base learning rate lr; name is its Family, which String prints first. Use it
// to train a rule of your own:
//
//	opt, err := optimizers.New("heavy_ball", 0.1,
//		optimizers.TraceMomentum{Momentum: 0.9}, optimizers.ScaleByLearningRate{})
//
// Its hyperparameters are lr and the general options; String describes it but,
// its name not being a registered optimizer, does not parse back.
func New(name string, lr float64, transforms ...Transform) (*Optimizer, error) {
	if name == "" {
		return nil, fmt.Errorf("optimizers: New: empty name")
	}
	if msg := positive(lr); msg != "" || math.IsInf(lr, 0) {
		return nil, &ParamError{Name: name, Key: "lr", Value: formatFloat(lr), Msg: "must be a finite number > 0"}
	}
	for i, t := range transforms {
		if t == nil {
			return nil, fmt.Errorf("optimizers: New(%q): transform %d is nil", name, i)
		}
	}
	return &Optimizer{name: name, lr: lr, newLR: lr, body: append([]Transform(nil), transforms...)}, nil
}

// named returns the optimizer of the registered family name with configuration
// c (a pointer to the constructor's own copy) and the given chain, after
// validating c. Typed constructors end with it.
func named(name string, c configuration, chain ...Transform) (*Optimizer, error) {
	f := findFamily(name)
	if f == nil {
		panic(fmt.Sprintf("optimizers: %q is not registered (see families)", name))
	}
	if err := validate(c); err != nil {
		err.Name = name
		return nil, err
	}
	lr, ok := findParam(c.params(), "lr")
	if !ok {
		panic(fmt.Sprintf("optimizers: %s has no lr key", name))
	}
	return &Optimizer{name: name, family: f, cfg: c, lr: lr.get(), body: chain}, nil
}

// Family returns the optimizer's spec name, e.g. "adamw" for an optimizer parsed
// from "adamw(lr=1e-3)" or built by AdamW: the name its typed constructor
// registers, which String prints first. Optimizers built with New return the
// name given to New.
func (o *Optimizer) Family() string { return o.name }

// Name returns the optimizer's family.
//
// Deprecated: use Family.
func (o *Optimizer) Name() string { return o.name }

// LearningRate returns the base learning rate (before any schedule).
func (o *Optimizer) LearningRate() float64 { return o.lr }

// Schedule returns the learning-rate schedule, or nil when the rate is constant.
func (o *Optimizer) Schedule() *Schedule { return o.opts.schedule }

// Transforms returns the chain of transformations the optimizer applies to the
// gradients, in order: the clipping transforms (ClipByValue, then
// ClipByGlobalNorm) when clip_value or clip_norm is set, then the optimizer's
// own chain.
func (o *Optimizer) Transforms() []Transform {
	return append(o.clipTransforms(), o.body...)
}

// clipTransforms returns the clipping head of the chain (see Transforms).
func (o *Optimizer) clipTransforms() []Transform {
	var ts []Transform
	if o.opts.clipValue > 0 {
		ts = append(ts, ClipByValue{C: o.opts.clipValue})
	}
	if o.opts.clipNorm > 0 {
		ts = append(ts, ClipByGlobalNorm{Max: o.opts.clipNorm})
	}
	return ts
}

// Hyperparameter is one hyperparameter of an optimizer, as listed by
// Optimizer.Hyperparameters.
type Hyperparameter struct {
	// Key is the spec key, e.g. "b1".
	Key string
	// Value is the optimizer's value (booleans read as 0 or 1).
	Value float64
	// Default is the value the key takes when a spec omits it: PyTorch's default,
	// or Keras's when the optimizer has keras=true.
	Default float64
	// Doc says what the hyperparameter does.
	Doc string
	// Bool reports a boolean hyperparameter (Value and Default are 0 or 1).
	Bool bool
}

// Base returns the optimizer a wrapper (lookahead, sam, cautious, ema) wraps,
// or nil for an optimizer that wraps none.
func (o *Optimizer) Base() *Optimizer { return o.base }

// Hyperparameters returns the optimizer's own numeric and boolean
// hyperparameters in canonical order, the order String prints them: lr first,
// then the keys of its family (an optimizer built with New has lr only). The
// options every optimizer accepts are not included: see Schedule, and Get for
// clip_norm, clip_value and skip_nonfinite; nor are the keys whose values are
// names (adabelief's form, shampoo's root: see Args). For a wrapper, the list
// is its base's, each key prefixed with "base." (base.lr first), followed by
// the wrapper's own keys; Get and With accept the prefixed keys.
func (o *Optimizer) Hyperparameters() []Hyperparameter {
	var out []Hyperparameter
	if o.base != nil {
		for _, h := range o.base.Hyperparameters() {
			h.Key = "base." + h.Key
			out = append(out, h)
		}
	}
	defs := o.defaultParams()
	for i, p := range o.ownParams() {
		if p.numeric() {
			out = append(out, Hyperparameter{Key: p.key, Value: p.get(), Default: defs[i].get(), Doc: p.doc, Bool: p.b != nil})
		}
	}
	return out
}

// defaultParams binds the defaults of the optimizer's own keys, in the order
// of ownParams: its family's defaults (Keras's with keras=true), or New's
// learning rate.
func (o *Optimizer) defaultParams() []param {
	if o.cfg == nil {
		return []param{floatParam("lr", &o.newLR, "", nil)}
	}
	keras := false
	if p, ok := findParam(o.ownParams(), "keras"); ok {
		keras = p.get() != 0
	}
	return o.family.config(keras).params()
}

// Get returns the value of a hyperparameter or option (booleans read as 0 or
// 1) and whether the optimizer has it. Keys are those of Hyperparameters, their
// aliases (learning_rate, beta1, ...), and clip_norm, clip_value and
// skip_nonfinite (0 when off). A wrapper answers for its own keys first and
// for its base's otherwise ("lr" is its base's); "base.eps" names the base's
// key explicitly.
func (o *Optimizer) Get(key string) (float64, bool) {
	if p, ok := o.findParam(key); ok {
		return p.get(), true
	}
	return 0, false
}

// findParam finds key among the optimizer's hyperparameters and options, bound
// to o's own values.
func (o *Optimizer) findParam(key string) (param, bool) {
	if o.base != nil {
		if rest, ok := strings.CutPrefix(key, "base."); ok {
			return o.base.findParam(rest)
		}
		if p, ok := findParam(o.ownParams(), key); ok && p.numeric() {
			return p, true
		}
		return o.base.findParam(key)
	}
	if p, ok := findParam(o.ownParams(), key); ok {
		return p, true
	}
	return findParam(o.opts.params(), key)
}

// ownParams binds the optimizer's own hyperparameters (not the options), in
// canonical order.
func (o *Optimizer) ownParams() []param {
	if o.cfg == nil {
		return []param{floatParam("lr", &o.lr, "learning rate", positive).alias("learning_rate")}
	}
	return o.cfg.params()
}

// keys lists every key Get and With accept, for error messages.
func (o *Optimizer) keys() string {
	if o.base != nil {
		var own []param
		for _, p := range o.ownParams() {
			if p.numeric() {
				own = append(own, p)
			}
		}
		return keyList(own) + "; base.KEY or the base's: " + o.base.keys()
	}
	return keyList(append(o.ownParams(), o.opts.params()...))
}

// With returns a copy of o with the hyperparameter or option key set to value
// (booleans as 0 or 1), validated as Parse validates a spec: With("lr", 0.1),
// With("b1", 0.95), With("clip_norm", 1). Errors name the key and the value
// (a *ParamError), or the valid keys when key is unknown. The copy keeps o's
// schedule and options; its String is o's with that one value changed. A
// wrapper changes its own key, or else its base's (see Get), and wraps the
// changed base.
func (o *Optimizer) With(key string, value float64) (*Optimizer, error) {
	if o.base != nil {
		rest, explicit := strings.CutPrefix(key, "base.")
		if p, own := findParam(o.ownParams(), key); explicit || !own || !p.numeric() {
			if !explicit {
				rest = key
			}
			if _, ok := o.base.findParam(rest); !ok {
				return nil, fmt.Errorf("optimizers: %s has no hyperparameter %q (valid: %s)", o.name, key, o.keys())
			}
			b, err := o.base.With(rest, value)
			if err != nil {
				return nil, err
			}
			return o.withBase(b)
		}
	}
	c := *o
	if o.cfg != nil {
		c.cfg = o.family.clone(o.cfg)
	}
	p, ok := c.findParam(key)
	if !ok {
		return nil, fmt.Errorf("optimizers: %s has no hyperparameter %q (valid: %s)", o.name, key, o.keys())
	}
	if msg := p.set(value); msg != "" {
		return nil, &ParamError{Name: o.name, Key: p.key, Value: formatFloat(value), Msg: msg}
	}
	if c.cfg == nil {
		return &c, nil
	}
	// Rebuild through the typed constructor: it checks combinations of values
	// and makes the chain of the new configuration.
	n, err := c.family.build(c.cfg)
	if err != nil {
		return nil, err
	}
	n.opts, n.groups = c.opts, c.groups
	if err := n.checkGroups(); err != nil {
		return nil, err
	}
	return n, nil
}

// withBase returns the wrapper o wrapping b in place of its base.
func (o *Optimizer) withBase(b *Optimizer) (*Optimizer, error) {
	cfg := o.family.clone(o.cfg)
	bp, _ := findParam(cfg.params(), "base")
	*bp.opt = b
	return o.family.build(cfg)
}

// mustWithBase is withBase for changes of the base that cannot make the
// wrapper invalid (its options).
func (o *Optimizer) mustWithBase(b *Optimizer) *Optimizer {
	w, err := o.withBase(b)
	if err != nil {
		panic(fmt.Sprintf("optimizers: rewrapping %s: %v", o.name, err))
	}
	return w
}

// String returns the canonical spec: every hyperparameter in a fixed order with
// its value, then the general options that are set. Parse(o.String()) gives an
// equivalent optimizer (for registered families: not for New's). A wrapper
// prints base=<its base's canonical spec> first, then its own keys; the
// options are inside the base's spec.
func (o *Optimizer) String() string {
	var b strings.Builder
	b.WriteString(o.name)
	b.WriteByte('(')
	for i, a := range o.Args() {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.Key + "=" + a.Value)
	}
	b.WriteByte(')')
	return b.String()
}

// Arg is one key=value argument of an optimizer's canonical spec.
type Arg struct {
	Key, Value string
	// Default reports a hyperparameter at the value it takes when a spec omits
	// it (Hyperparameter.Default); always false for the general options.
	Default bool
}

// Args returns the arguments of the canonical spec (String) in order: every
// hyperparameter with its value, then the general options that are set
// (schedule, clip_norm, clip_value, skip_nonfinite), then one "group" per
// parameter group (see Group). A wrapper's arguments are "base" (its base's
// canonical spec; Base gives the optimizer, whose Args describe it) and its
// own keys: the options and groups are inside the base's spec.
func (o *Optimizer) Args() []Arg {
	var out []Arg
	defs := o.defaultParams()
	for i, p := range o.ownParams() {
		v := p.format()
		def := v == defs[i].format()
		if p.numeric() {
			def = p.get() == defs[i].get()
		}
		out = append(out, Arg{Key: p.key, Value: v, Default: def && p.opt == nil})
	}
	if o.base != nil {
		return out
	}
	if o.opts.schedule != nil {
		out = append(out, Arg{Key: "schedule", Value: o.opts.schedule.String()})
	}
	for _, p := range o.opts.params() {
		if p.get() != 0 {
			out = append(out, Arg{Key: p.key, Value: p.format()})
		}
	}
	for _, g := range o.groups {
		out = append(out, Arg{Key: "group", Value: g.String()})
	}
	return out
}

// formatFloat prints the shortest decimal that reads back as v.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// StateSlots returns the number of float buffers the optimizer keeps per
// parameter (SGD 0, momentum 1, Adam 2, AMSGrad 3, ...). Scalar state shared by
// all parameters (step counter, NAdam's momentum product) is not counted. With
// parameter groups that change the state (momentum=0 in one group, say), it is
// the count of the variables outside the groups.
func (o *Optimizer) StateSlots() int {
	n := 0
	for _, t := range o.Transforms() {
		n += t.Slots()
	}
	return n
}

// StateBytes returns the size of the optimizer's per-parameter state for a model
// of params scalars stored with bytesPerElem bytes each (4 for float32):
// StateSlots buffers of every parameter's size. It is exact for rules whose
// state is a whole number of parameter-shaped buffers (sgd … lion, the new
// elementwise rules and the wrappers around them); for the others (shampoo,
// soap, adafactor, muon) it counts only those buffers: use StateBytesFor,
// which knows the shapes.
func (o *Optimizer) StateBytes(params int64, bytesPerElem int) int64 {
	return int64(o.StateSlots()) * params * int64(bytesPerElem)
}

// StateBytesFor returns the bytes of state the optimizer keeps for trainable
// variables of the given shapes, each stored in its shape's dtype (as the
// state buffers are): exact for every rule, including those whose state is
// not a whole number of parameter-shaped buffers — Shampoo's and SOAP's
// preconditioner matrices (per block), Adafactor's row and column statistics,
// Muon's AdamW buffers for non-matrices. Scalar state shared by all parameters
// (the int64 step counter, Prodigy's d and r, NAdam's product) is not counted.
// MeasureStateBytes measures the same after an update, plus that scalar state.
func (o *Optimizer) StateBytesFor(params ...shapes.Shape) int64 {
	var n int64
	for _, sh := range params {
		var elems int64
		for _, t := range o.Transforms() {
			elems += stateSize(t, sh.Dimensions)
		}
		n += elems * int64(sh.DType.Size())
	}
	return n
}

// SkipNonFinite reports whether updates with non-finite gradients are skipped.
func (o *Optimizer) SkipNonFinite() bool { return o.opts.skipNonFinite }

// WithSkipNonFinite returns a copy whose update leaves every variable and every
// state buffer unchanged when any gradient (or the loss) is not finite; the
// global step still advances, the optimizer's own step counter does not.
func (o *Optimizer) WithSkipNonFinite(skip bool) *Optimizer {
	if o.base != nil {
		return o.mustWithBase(o.base.WithSkipNonFinite(skip))
	}
	c := *o
	c.opts.skipNonFinite = skip
	return &c
}

// WithSchedule returns a copy with the given learning-rate schedule (nil for a
// constant rate). A wrapper sets its base's schedule.
func (o *Optimizer) WithSchedule(s *Schedule) *Optimizer {
	if o.base != nil {
		return o.mustWithBase(o.base.WithSchedule(s))
	}
	c := *o
	c.opts.schedule = s
	return &c
}

// UpdateGraph builds the update of every trainable variable used by g for one
// step minimizing loss. It implements GoMLX's optimizers.Interface; like all graph
// building functions it panics on error, in particular for an optimizer that
// needs a second gradient per step (sam: see GradientsPerStep and
// UpdateGraphWithLossFunc).
func (o *Optimizer) UpdateGraph(scope *model.Scope, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panic(fmt.Errorf("optimizer %s requires a scalar loss, got shape %s", o.name, loss.Shape()))
	}
	o.mustBeSinglePass()
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	o.update(scope, g, grads, loss.DType(), nil, loss)
}

// UpdateGraphWithGradients is UpdateGraph with the gradients given (in the order
// of ctx's trainable variables used by the graph). It implements
// train.OptimizeWithGradients, used for gradient accumulation. Like
// UpdateGraph, it panics for an optimizer that needs a second gradient.
func (o *Optimizer) UpdateGraphWithGradients(scope *model.Scope, grads []*Node, lossDType dtypes.DType) {
	if len(grads) == 0 {
		panic(fmt.Errorf("optimizer %s: no gradients: are there trainable variables?", o.name))
	}
	o.mustBeSinglePass()
	o.update(scope, grads[0].Graph(), grads, lossDType, nil)
}

// GradientsPerStep returns how many gradient evaluations one update needs: 1,
// or 2 for sharpness-aware minimization (sam, at any depth of wrappers), whose
// update uses the gradient at a perturbed point. An optimizer that needs 2 must
// be driven by UpdateGraphWithLossFunc; it cannot take accumulated gradients
// (UpdateGraphWithGradients).
func (o *Optimizer) GradientsPerStep() int {
	if o.perturber() != nil {
		return 2
	}
	return 1
}

func (o *Optimizer) mustBeSinglePass() {
	if o.perturber() != nil {
		panic(fmt.Errorf("optimizer %s needs the gradient at a second, perturbed point every step: "+
			"build its update with UpdateGraphWithLossFunc (a single gradient is not enough)", o))
	}
}

// perturber returns the transform that asks for a second gradient, or nil.
func (o *Optimizer) perturber() Perturber {
	return findPerturber(o.body)
}

// UpdateGraphWithLossFunc builds one update minimizing the loss that lossFn
// builds, and returns that loss (at the current parameters). lossFn must build
// the loss from the variables' current values (model.Variable.NodeValue), as a
// model's forward pass does; it is called once for most optimizers, and
// twice for those that need the gradient at a second point (GradientsPerStep
// 2: sam). For those, the first gradient g is taken at the parameters p, the
// optimizer's Perturber gives the point p + e, the trainable variables are
// moved there while lossFn builds the second loss, whose gradient feeds the
// update; then every variable the first pass set (trainable or not, such as a
// batch-normalization average) is restored to its first-pass value, and the
// update starts from p. Use it in place of UpdateGraph in a training step:
//
//	loss := opt.UpdateGraphWithLossFunc(scope, g, func() *Node { return lossOf(model(scope, x), y) })
//
// For an optimizer that needs one gradient it builds exactly the graph of
// UpdateGraph(scope, g, lossFn()). Each call of lossFn must return that
// pass's loss alone: a loss read back from a per-graph accumulator (GoMLX's
// train.TotalLoss) would add the first pass's terms into the second's. A
// model built in a sub-scope must enter it with Scope.Shared on the second
// call (GoMLX refuses to enter a sub-scope twice with In).
func (o *Optimizer) UpdateGraphWithLossFunc(scope *model.Scope, g *Graph, lossFn func() *Node) *Node {
	return o.updateWithLossFunc(scope, g, lossFn, nil)
}

// UpdateGraphWithLossFuncAndTelemetry is UpdateGraphWithLossFunc that also
// returns the update's Telemetry nodes. For sam they describe the gradient
// the base received, the one at the perturbed point.
func (o *Optimizer) UpdateGraphWithLossFuncAndTelemetry(scope *model.Scope, g *Graph, lossFn func() *Node) (*Node, *Telemetry) {
	tel := &Telemetry{}
	loss := o.updateWithLossFunc(scope, g, lossFn, tel)
	return loss, tel
}

func (o *Optimizer) updateWithLossFunc(scope *model.Scope, g *Graph, lossFn func() *Node, tel *Telemetry) *Node {
	loss := lossFn()
	if !loss.Shape().IsScalar() {
		panic(fmt.Errorf("optimizer %s requires a scalar loss, got shape %s", o.name, loss.Shape()))
	}
	dtype := loss.DType()
	grads := scope.BuildTrainableVariablesGradientsGraph(loss)
	p := o.perturber()
	if p == nil {
		o.update(scope, g, grads, dtype, tel, loss)
		return loss
	}
	vars := o.trainableVars(scope, g, len(grads))
	params := make([]*Node, len(vars))
	gs := make([]*Node, len(vars))
	for i, v := range vars {
		params[i] = toDType(v.NodeValue(g), dtype)
		gs[i] = toDType(grads[i], dtype)
	}
	at := p.Perturb(params, gs)
	// Every variable's value after the first pass, restored after the second.
	saved := map[*model.Variable]*Node{}
	for v := range scope.IterVariables() {
		if v.InUseByGraph(g) {
			saved[v] = v.NodeValue(g)
		}
	}
	for i, v := range vars {
		v.SetNodeValue(toDType(at[i], v.DType()))
	}
	loss2 := lossFn()
	if !loss2.Shape().IsScalar() || loss2.DType() != dtype {
		panic(fmt.Errorf("optimizer %s: the loss of the second pass must be a scalar like the first's (%s), got %s", o.name, loss.Shape(), loss2.Shape()))
	}
	grads2 := scope.BuildTrainableVariablesGradientsGraph(loss2)
	for v, n := range saved {
		v.SetNodeValue(n)
	}
	o.update(scope, g, grads2, dtype, tel, loss, loss2)
	return loss
}

// toDType converts x to dtype when it differs.
func toDType(x *Node, dtype dtypes.DType) *Node {
	if x.DType() != dtype {
		return ConvertDType(x, dtype)
	}
	return x
}

// trainableVars returns the trainable variables used by g, checking that
// there is one per gradient.
func (o *Optimizer) trainableVars(scope *model.Scope, g *Graph, nGrads int) []*model.Variable {
	var vars []*model.Variable
	for v := range scope.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	if len(vars) != nGrads {
		panic(fmt.Errorf("optimizer %s: %d gradients for %d trainable variables", o.name, nGrads, len(vars)))
	}
	if len(vars) == 0 {
		panic(fmt.Errorf("optimizer %s: no trainable variables in use by the graph", o.name))
	}
	return vars
}

// update builds the update from the gradients; tel, when not nil, receives
// the telemetry nodes; losses, when given, are checked for finiteness with
// the gradients when non-finite steps are skipped.
func (o *Optimizer) update(scope *model.Scope, g *Graph, grads []*Node, dtype dtypes.DType, tel *Telemetry, losses ...*Node) {
	if !dtype.IsFloat() {
		panic(fmt.Errorf("optimizer %s: the loss must be a float, got %s", o.name, dtype))
	}
	vars := o.trainableVars(scope, g, len(grads))
	s := &Step{scope: scope, g: g, dtype: dtype, vars: vars, serial: &loopOrder{}, telemetry: tel}

	// Global step (GoMLX's, always advances) and the learning rate.
	gsVar := gomlxopt.GetGlobalStepVar(scope)
	gsBefore := gsVar.NodeValue(g)
	gsVar.SetNodeValue(Add(gsBefore, OnesLike(gsBefore)))
	s.K = ConvertDType(gsBefore, dtype)
	lr := toDType(gomlxopt.LearningRateVarWithValue(scope, dtype, o.lr).NodeValue(g), dtype)
	s.Base = lr
	if o.opts.schedule != nil {
		lr = o.opts.schedule.Graph(lr, s.K)
	}
	s.LR = lr

	// The optimizer's own step counter.
	tVar := scope.Store().VariableWithValue(model.JoinPath(StateScope, "step"), int64(0)).SetTrainable(false)
	tOld := tVar.NodeValue(g)
	tNew := Add(tOld, OnesLike(tOld))
	s.writes = append(s.writes, stateWrite{v: tVar, old: tOld, new: tNew})
	s.step = tNew
	s.T = ConvertDType(tNew, dtype)
	s.First = Equal(tNew, OnesLike(tNew))

	u := make([]*Node, len(grads))
	for i, v := range vars {
		s.params = append(s.params, toDType(v.NodeValue(g), dtype))
		u[i] = toDType(grads[i], dtype)
	}

	var guard *Node
	if o.opts.skipNonFinite {
		for _, x := range u {
			guard = andNode(guard, LogicalAll(IsFinite(x)))
		}
		for _, l := range losses {
			guard = andNode(guard, IsFinite(l))
		}
	}

	if tel != nil {
		s.startTelemetry(u)
	}
	for _, t := range o.clipTransforms() {
		u = t.Apply(s, u)
	}
	u = o.applyBody(s, u)
	if tel != nil {
		s.finishTelemetry(u)
	}
	for i, v := range vars {
		s.writes = append(s.writes, stateWrite{v: v, old: v.NodeValue(g), new: Add(s.params[i], u[i])})
	}
	s.commit(guard)
}

func andNode(a, b *Node) *Node {
	if a == nil {
		return b
	}
	return LogicalAnd(a, b)
}

// Clear deletes the optimizer's state (every variable under StateScope) and
// GoMLX's learning-rate variable, so that the next update starts afresh from
// this optimizer's own learning rate. The global step is kept. It implements
// GoMLX's optimizers.Interface.
func (o *Optimizer) Clear(scope *model.Scope) error {
	if err := scope.Store().DeleteVariablesInScope(StateScope); err != nil {
		return fmt.Errorf("optimizer %s: clearing state: %w", o.name, err)
	}
	if err := scope.Store().DeleteVariable(learningRatePath()); err != nil {
		return fmt.Errorf("optimizer %s: clearing the learning rate: %w", o.name, err)
	}
	return nil
}

// MeasureStateBytes returns the bytes held by the optimizer state variables that
// exist in store (everything under StateScope), measured from their shapes.
func MeasureStateBytes(store *model.Store) int64 {
	var n int64
	for v := range store.Scope(StateScope).IterVariables() {
		n += v.Shape().ByteSize()
	}
	return n
}

// learningRatePath is the full path of GoMLX's learning-rate variable, which
// UpdateGraph creates under the scope it is given: the root scope wherever
// optlab builds an update (see optimizer.LearningRateVarWithValue).
func learningRatePath() string {
	return model.JoinPath("/", gomlxopt.Scope, gomlxopt.ParamLearningRate)
}

// BaseLearningRate returns the base learning rate currently held in store (GoMLX's
// learning-rate variable, before any schedule), and false when no update graph
// has created it yet.
func BaseLearningRate(store *model.Store) (float64, bool) {
	v := store.GetVariable(learningRatePath())
	if v == nil {
		return 0, false
	}
	t, err := v.Value()
	if err != nil {
		return 0, false
	}
	switch x := t.Value().(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	return 0, false
}

// SetBaseLearningRate changes the base learning rate held in store, for example to
// reduce it on a plateau; a schedule, if any, still applies on top of it. The
// variable must exist (an update graph has been built), and lr must be > 0.
func SetBaseLearningRate(store *model.Store, lr float64) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("optimizers: learning rate %g must be a positive number", lr)
	}
	v := store.GetVariable(learningRatePath())
	if v == nil {
		return fmt.Errorf("optimizers: no learning-rate variable in the store yet (build an update first)")
	}
	var t *tensors.Tensor
	switch v.DType() {
	case dtypes.Float64:
		t = tensors.FromScalar(lr)
	case dtypes.Float32:
		t = tensors.FromScalar(float32(lr))
	default:
		return fmt.Errorf("optimizers: learning-rate variable has dtype %s", v.DType())
	}
	if err := v.SetValue(t); err != nil {
		return fmt.Errorf("optimizers: setting the learning rate: %w", err)
	}
	return nil
}
