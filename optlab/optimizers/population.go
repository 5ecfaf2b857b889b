package optimizers

import (
	"fmt"
	"math"
	"reflect"
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	gomlxopt "github.com/gomlx/gomlx/ml/train/optimizer"
)

// Population is K optimizers of one structure (see Optimizer.Structure)
// updating K models at once: every trainable variable is stacked along a
// leading member axis ([K, ...], member k's parameters at index k), and so is
// every state buffer. The members may differ in every numeric hyperparameter —
// learning rate, schedule, momentum, betas, ε, weight decay, clipping
// thresholds — which the update reads as per-member tensors fed from
// variables (Step.Hyper), not as constants compiled into the graph.
//
// Inside a population update a Transform sees each parameter and update as a
// [K, n] matrix (member k's n values in row k, in row-major order); each
// hyperparameter that differs between members as a [K, 1] column that
// broadcasts against it (one the members share is a scalar, as in an ordinary
// update: broadcasting a column costs more than a scalar on some backends);
// LR as such a column when the members' rates or schedules differ. T and
// First are scalars — the members step in lockstep — except with
// skip_nonfinite, where a skipped member's counter stays behind: then T is a
// [K, 1] column and First a [K] vector. Only transforms that say so
// (Stackable) take part: NewPopulation refuses an optimizer with any other.
//
// The update of member k is the update its own optimizer makes on its own
// parameters, up to the summation order of reductions (ClipByGlobalNorm, the
// trust ratios of LAMB and LARS), which can differ in the last bits.
type Population struct {
	opts []*Optimizer
}

// Stackable is implemented by a Transform that can run in a population
// update (see Population). A transform is stackable when its Apply
//
//   - reads every value that may differ between members through Step.Hyper,
//     Step.Hyper64 or Step.LR, under the hyperparameter's spec key, and skips
//     work only when Step.Zero says a value is zero for every member (with
//     some members at zero, its general form must give the zero case's result);
//   - reduces a parameter or update only through Step.SumAll, and selects
//     with a condition computed from hyperparameters, T or sums through
//     Step.Select;
//   - makes no decision from a parameter's shape or rank.
//
// NewPopulation accepts an optimizer only when every transform of its chain
// is Stackable and says true. A population update also checks, when its graph
// is built, that every hyperparameter whose value differs between members was
// read through Step.Hyper: a transform that reads one as a constant makes the
// build fail with an error naming the key, never a silent mix of values.
type Stackable interface {
	// Stackable reports whether the transform meets the conditions above.
	Stackable() bool
}

// stackable reports whether t can run in a population update.
func stackable(t Transform) bool {
	s, ok := t.(Stackable)
	return ok && s.Stackable()
}

// Structure returns the part of the optimizer that members of one
// population share: its family with its boolean hyperparameters and the keys
// whose values are names (adabelief's form), and which of clip_value,
// clip_norm and skip_nonfinite are on, e.g.
// "adam(amsgrad=false,bias_correction=true,keras=false)". Optimizers of equal
// Structure may differ in every numeric hyperparameter and in their schedules,
// and can train together (NewPopulation). An optimizer built with New has
// the structure "NAME(custom)": such optimizers train together only when their
// transforms are equal. A wrapper's structure starts with its base's, e.g.
// "lookahead(base=adam(...))".
func (o *Optimizer) Structure() string {
	var parts []string
	if o.base != nil {
		parts = append(parts, "base="+o.base.Structure())
	}
	if o.cfg == nil {
		parts = append(parts, "custom")
	}
	for _, p := range o.ownParams() {
		switch {
		case p.b != nil:
			parts = append(parts, fmt.Sprintf("%s=%t", p.key, *p.b))
		case p.enum != nil:
			parts = append(parts, p.key+"="+*p.enum)
		}
	}
	if o.base != nil {
		return o.name + "(" + strings.Join(parts, ",") + ")"
	}
	if o.opts.clipValue > 0 {
		parts = append(parts, "clip_value")
	}
	if o.opts.clipNorm > 0 {
		parts = append(parts, "clip_norm")
	}
	if o.opts.skipNonFinite {
		parts = append(parts, "skip_nonfinite")
	}
	return o.name + "(" + strings.Join(parts, ",") + ")"
}

// NewPopulation returns the population of the given optimizers, member k
// updating with members[k]. They must share one Structure, and every
// transform of their chain must be Stackable; errors say which member and
// what differs.
func NewPopulation(members ...*Optimizer) (*Population, error) {
	if len(members) == 0 {
		return nil, fmt.Errorf("optimizers: a population needs at least one member")
	}
	for i, o := range members {
		if o == nil {
			return nil, fmt.Errorf("optimizers: population member %d has no optimizer", i)
		}
		if o.base != nil {
			return nil, fmt.Errorf("optimizers: population member %d, %s: wrappers (%s) do not train as a population (train it alone)",
				i, o, strings.Join(wrapperNames(), ", "))
		}
		if len(o.groups) > 0 {
			return nil, fmt.Errorf("optimizers: population member %d, %s: parameter groups do not train as a population (train it alone)", i, o)
		}
	}
	first := members[0]
	for _, t := range first.Transforms() {
		if !stackable(t) {
			return nil, fmt.Errorf("optimizers: %s cannot train as a population: its transform %T does not support stacked members (see Stackable)",
				first.name, t)
		}
	}
	want := first.Structure()
	for i, o := range members[1:] {
		if got := o.Structure(); got != want {
			return nil, fmt.Errorf("optimizers: population members must share one structure: member 0 is %s, member %d is %s (%s)",
				want, i+1, got, o)
		}
		if first.cfg == nil && !reflect.DeepEqual(first.Transforms(), o.Transforms()) {
			return nil, fmt.Errorf("optimizers: population members built with New must have equal transforms (they may differ in lr and schedule): member %d differs from member 0", i+1)
		}
	}
	return &Population{opts: append([]*Optimizer(nil), members...)}, nil
}

// Len returns the number of members.
func (p *Population) Len() int { return len(p.opts) }

// Member returns the optimizer of member k.
func (p *Population) Member(k int) *Optimizer { return p.opts[k] }

// Varying returns the keys of the hyperparameters and options whose values
// differ between members (schedules are compared as a whole, under
// "schedule"), sorted.
func (p *Population) Varying() []string {
	var out []string
	for _, key := range p.keys() {
		if p.varies(key) {
			out = append(out, key)
		}
	}
	for _, o := range p.opts[1:] {
		if scheduleString(o.opts.schedule) != scheduleString(p.opts[0].opts.schedule) {
			out = append(out, "schedule")
			break
		}
	}
	sort.Strings(out)
	return out
}

// keys lists the numeric keys members may vary: the hyperparameters and the
// clipping thresholds.
func (p *Population) keys() []string {
	var keys []string
	for _, h := range p.opts[0].Hyperparameters() {
		if !h.Bool {
			keys = append(keys, h.Key)
		}
	}
	return append(keys, "clip_norm", "clip_value")
}

func (p *Population) varies(key string) bool {
	v0, _ := p.opts[0].Get(key)
	for _, o := range p.opts[1:] {
		if v, _ := o.Get(key); v != v0 && !(math.IsNaN(v) && math.IsNaN(v0)) {
			return true
		}
	}
	return false
}

func scheduleString(s *Schedule) string {
	if s == nil {
		return ""
	}
	return s.String()
}

// members is what a Step knows of the population it updates.
type members struct {
	pop *Population
	k   int
	// read records the hyperparameters the transforms read per member.
	read map[string]bool
	// hyper caches each hyperparameter's [K, 1] float64 node.
	hyper map[string]*Node
}

// hyperPath is the variable holding every member's value of key ([K] float64).
func hyperPath(key string) string { return model.JoinPath(StateScope, "hyper", key) }

// Members returns the number of members of a population update (see
// Population), and 0 in an ordinary update.
func (s *Step) Members() int {
	if s.pop == nil {
		return 0
	}
	return s.pop.k
}

// Hyper returns the hyperparameter key (its spec key, e.g. "b1") of this
// update in the update's dtype. v is the transform's own value. In an
// ordinary update it is the scalar constant v, as Const(v). In a population
// update whose members' values of key differ, it is a [K, 1] column holding
// each member's value, read from a variable the population fills from the
// members' optimizers (so it is fed, not compiled in); where they share it,
// it is the scalar constant. v must be the first member's value (a transform
// reads its value under its own key). A key the optimizers do not have reads
// as the constant v, which is right because members with equal structure
// share such values.
func (s *Step) Hyper(key string, v float64) *Node {
	if s.pop == nil {
		return s.Const(v)
	}
	return s.ToDType(s.Hyper64(key, v))
}

// Hyper64 is Hyper in float64. Compute quantities derived from
// hyperparameters in float64 (1 − ρ, bias corrections) and convert the result
// once with ToDType: an ordinary update then rounds them exactly as if they
// were computed on the host.
func (s *Step) Hyper64(key string, v float64) *Node {
	if s.pop == nil {
		return Scalar(s.g, dtypes.Float64, v)
	}
	m := s.pop
	first, ok := m.pop.opts[0].Get(key)
	if !ok {
		return Scalar(s.g, dtypes.Float64, v)
	}
	if first != v && !(math.IsNaN(first) && math.IsNaN(v)) {
		panic(fmt.Errorf("optimizers: population of %s: a transform reads %s=%v but the first member's %s is %v: a transform must read a hyperparameter under its own spec key",
			m.pop.opts[0].name, key, v, key, first))
	}
	m.read[key] = true
	if !m.pop.varies(key) {
		return Scalar(s.g, dtypes.Float64, v)
	}
	if n, ok := m.hyper[key]; ok {
		return n
	}
	values := make([]float64, m.k)
	for k, o := range m.pop.opts {
		values[k], _ = o.Get(key)
	}
	vr := s.scope.Store().VariableWithValue(hyperPath(key), values).SetTrainable(false)
	n := Reshape(vr.NodeValue(s.g), m.k, 1)
	m.hyper[key] = n
	return n
}

// ToDType converts a float64 node (see Hyper64) to the update's dtype.
func (s *Step) ToDType(x *Node) *Node {
	if x.DType() == s.dtype {
		return x
	}
	return ConvertDType(x, s.dtype)
}

// Zero reports whether the hyperparameter key is 0 for the whole update: v ==
// 0 in an ordinary update, and every member's value 0 in a population. A
// transform may skip what a zero value turns off (no weight decay, no
// momentum) when Zero says so; where only some members have 0, it runs its
// general form.
func (s *Step) Zero(key string, v float64) bool {
	if s.pop == nil {
		return v == 0
	}
	for _, o := range s.pop.pop.opts {
		x, ok := o.Get(key)
		if !ok {
			return v == 0
		}
		if x != 0 {
			return false
		}
	}
	return true
}

// SumAll returns the sum of every element of x, an update or parameter: a
// scalar in an ordinary update, and each member's own sum as a [K, 1] column
// in a population update.
func (s *Step) SumAll(x *Node) *Node {
	if s.pop == nil {
		return ReduceAllSum(x)
	}
	return ReduceAndKeep(x, ReduceSum, 1)
}

// Select is Where for a condition computed from hyperparameters, T, LR or
// SumAll (a scalar in an ordinary update, a [K, 1] column in a population):
// it picks onTrue or onFalse for each member as a whole.
func (s *Step) Select(cond, onTrue, onFalse *Node) *Node {
	if s.pop != nil && cond.Rank() == 2 {
		cond = Reshape(cond, s.pop.k)
	}
	return Where(cond, onTrue, onFalse)
}

// flat returns a stacked [K, ...] value as the [K, n] matrix transforms see
// in a population update; outside one it returns x.
func (s *Step) flat(x *Node) *Node {
	if s.pop == nil || x.Rank() == 2 {
		return x
	}
	return Reshape(x, s.pop.k, -1)
}

// unflat gives a [K, n] value back the shape of its variable.
func (s *Step) unflat(x *Node, shape shapes.Shape) *Node {
	if s.pop == nil || x.Shape().Dimensions == nil || shapesEqualDims(x.Shape(), shape) {
		return x
	}
	return Reshape(x, shape.Dimensions...)
}

func shapesEqualDims(a, b shapes.Shape) bool {
	if a.Rank() != b.Rank() {
		return false
	}
	for i, d := range a.Dimensions {
		if b.Dimensions[i] != d {
			return false
		}
	}
	return true
}

// UpdateGraph builds one update of every member: losses holds each member's
// scalar loss ([K], the loss dtype), whose sum is differentiated (members do
// not interact, so each member's gradient is that of its own loss). active,
// when not nil, is a [K] boolean vector: a member whose entry is false is
// frozen — its parameters, state and step counter stay as they are. With
// skip_nonfinite, a member whose loss or gradients are not all finite is
// skipped for this step. Like all graph-building functions it panics on error.
func (p *Population) UpdateGraph(scope *model.Scope, g *Graph, losses, active *Node) {
	K := len(p.opts)
	if losses.Rank() != 1 || losses.Shape().Dimensions[0] != K {
		panic(fmt.Errorf("optimizers: population of %d: losses must be [%d], got %s", K, K, losses.Shape()))
	}
	dtype := losses.DType()
	if !dtype.IsFloat() {
		panic(fmt.Errorf("optimizers: population: the losses must be floats, got %s", dtype))
	}
	if active != nil && (active.DType() != dtypes.Bool || !shapesEqualDims(active.Shape(), shapes.Make(dtypes.Bool, K))) {
		panic(fmt.Errorf("optimizers: population of %d: active must be a [%d] boolean vector, got %s", K, K, active.Shape()))
	}
	grads := scope.BuildTrainableVariablesGradientsGraph(ReduceAllSum(losses))
	var vars []*model.Variable
	for v := range scope.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	if len(vars) != len(grads) || len(vars) == 0 {
		panic(fmt.Errorf("optimizers: population: %d gradients for %d trainable variables", len(grads), len(vars)))
	}
	for _, v := range vars {
		if v.Shape().Rank() == 0 || v.Shape().Dimensions[0] != K {
			panic(fmt.Errorf("optimizers: population of %d: variable %s has shape %s, not stacked along a leading member axis of %d",
				K, v.Path(), v.Shape(), K))
		}
	}

	m := &members{pop: p, k: K, read: map[string]bool{}, hyper: map[string]*Node{}}
	s := &Step{scope: scope, g: g, dtype: dtype, vars: vars, pop: m, serial: &loopOrder{}}

	// Global step (shared: the members move in lockstep).
	gsVar := gomlxopt.GetGlobalStepVar(scope)
	gsBefore := gsVar.NodeValue(g)
	gsVar.SetNodeValue(Add(gsBefore, OnesLike(gsBefore)))
	s.K = ConvertDType(gsBefore, dtype)
	s.Base = p.baseRates(s)
	s.LR = p.schedules(s.Base, s.K)

	// The optimizers' step counter: shared, as the members step together,
	// unless skip_nonfinite lets a member skip a step alone (a frozen
	// member's counter may run on: its writes are masked anyway).
	skip := p.opts[0].opts.skipNonFinite
	var tVar *model.Variable
	if skip {
		tVar = scope.Store().VariableWithValue(model.JoinPath(StateScope, "step"), make([]int64, K)).SetTrainable(false)
	} else {
		tVar = scope.Store().VariableWithValue(model.JoinPath(StateScope, "step"), int64(0)).SetTrainable(false)
	}
	tOld := tVar.NodeValue(g)
	tNew := Add(tOld, OnesLike(tOld))
	s.writes = append(s.writes, stateWrite{v: tVar, old: tOld, new: tNew, shared: !skip})
	s.step = tNew
	s.T = ConvertDType(tNew, dtype)
	if skip {
		s.T = Reshape(s.T, K, 1)
	}
	s.First = Equal(tNew, OnesLike(tNew))

	u := make([]*Node, len(grads))
	for i, v := range vars {
		s.params = append(s.params, s.ToDType(s.flat(v.NodeValue(g))))
		u[i] = s.ToDType(s.flat(grads[i]))
	}

	guard := active
	if skip {
		finite := IsFinite(losses)
		for _, x := range u {
			finite = LogicalAnd(finite, LogicalAll(IsFinite(x), 1))
		}
		guard = andNode(guard, finite)
	}

	for _, t := range p.opts[0].Transforms() {
		u = t.Apply(s, u)
	}
	for i, v := range vars {
		s.writes = append(s.writes, stateWrite{v: v, old: v.NodeValue(g), new: s.unflat(Add(s.params[i], u[i]), v.Shape())})
	}
	s.commit(guard)

	for _, key := range p.keys() {
		if key != "lr" && p.varies(key) && !m.read[key] {
			panic(fmt.Errorf("optimizers: population of %s: %s differs between members but the %s update reads it as a constant, not per member (Step.Hyper); train these configurations separately",
				p.opts[0].name, key, p.opts[0].name))
		}
	}
}

// baseRates returns the members' base learning rates: a [K, 1] column read
// from the variable SetBaseLearningRates changes (reduce-on-plateau acts per
// member), in the update's dtype.
func (p *Population) baseRates(s *Step) *Node {
	lrs := make([]float64, len(p.opts))
	for k, o := range p.opts {
		lrs[k] = o.lr
	}
	v := s.scope.Store().VariableWithValue(hyperPath("lr"), lrs).SetTrainable(false)
	s.pop.read["lr"] = true
	return s.ToDType(Reshape(v.NodeValue(s.g), len(p.opts), 1))
}

// schedules returns each member's learning rate for global step k given the
// base rates ([K, 1]): one schedule applied to the column when the members
// share it, else each member's own schedule on its own base rate.
func (p *Population) schedules(base, k *Node) *Node {
	same := true
	for _, o := range p.opts[1:] {
		if scheduleString(o.opts.schedule) != scheduleString(p.opts[0].opts.schedule) {
			same = false
			break
		}
	}
	if same {
		if sch := p.opts[0].opts.schedule; sch != nil {
			return sch.Graph(base, k)
		}
		return base
	}
	rows := make([]*Node, len(p.opts))
	for i, o := range p.opts {
		b := Reshape(Slice(base, AxisElem(i)), []int{}...)
		if o.opts.schedule != nil {
			b = o.opts.schedule.Graph(b, k)
		}
		rows[i] = Reshape(b, 1, 1)
	}
	return Concatenate(rows, 0)
}

// BaseLearningRates returns every member's base learning rate held in store
// (before schedules), and false before a population update has been built.
func (p *Population) BaseLearningRates(store *model.Store) ([]float64, bool) {
	v := store.GetVariable(hyperPath("lr"))
	if v == nil {
		return nil, false
	}
	t, err := v.Value()
	if err != nil || t == nil {
		return nil, false
	}
	out, err := tensors.CopyFlatData[float64](t)
	if err != nil || len(out) != len(p.opts) {
		return nil, false
	}
	return out, true
}

// SetBaseLearningRates changes every member's base learning rate held in store
// (reduce-on-plateau per member); schedules still apply on top. Every rate
// must be > 0 and finite, one per member.
func (p *Population) SetBaseLearningRates(store *model.Store, lrs []float64) error {
	if len(lrs) != len(p.opts) {
		return fmt.Errorf("optimizers: %d learning rates for a population of %d", len(lrs), len(p.opts))
	}
	for k, lr := range lrs {
		if !(lr > 0) || math.IsInf(lr, 0) {
			return fmt.Errorf("optimizers: member %d: learning rate %g must be a positive number", k, lr)
		}
	}
	v := store.GetVariable(hyperPath("lr"))
	if v == nil {
		return fmt.Errorf("optimizers: no population learning rates in the store yet (build an update first)")
	}
	if err := v.SetValue(tensors.FromFlatDataAndDimensions(append([]float64(nil), lrs...), len(lrs))); err != nil {
		return fmt.Errorf("optimizers: setting the learning rates: %w", err)
	}
	return nil
}
