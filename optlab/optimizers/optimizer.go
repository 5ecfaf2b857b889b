package optimizers

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gomlx/gomlx/pkg/core/dtypes"
	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/pkg/core/tensors"
	"github.com/gomlx/gomlx/pkg/ml/context"
	gomlxopt "github.com/gomlx/gomlx/pkg/ml/train/optimizers"
)

// Optimizer is a named chain of transformations with its hyperparameters, plus
// the options every optimizer accepts: a learning-rate schedule, gradient
// clipping and skipping of non-finite steps. Build one with Parse (or New); it
// implements GoMLX's optimizers.Interface and train.OptimizeWithGradients.
//
// An Optimizer is immutable: the With* methods return modified copies.
type Optimizer struct {
	name     string
	def      *optDef
	vals     values
	lr       float64
	chain    []Transform
	schedule *Schedule

	clipNorm, clipValue float64
	skipNonFinite       bool
}

var _ gomlxopt.Interface = (*Optimizer)(nil)

// Name returns the optimizer's name, e.g. "adam".
func (o *Optimizer) Name() string { return o.name }

// LearningRate returns the base learning rate (before any schedule).
func (o *Optimizer) LearningRate() float64 { return o.lr }

// Schedule returns the learning-rate schedule, or nil when the rate is constant.
func (o *Optimizer) Schedule() *Schedule { return o.schedule }

// Transforms returns the chain of transformations the optimizer applies to the
// gradients, in order (clipping, when configured, comes before them).
func (o *Optimizer) Transforms() []Transform {
	return append([]Transform(nil), o.chain...)
}

// Hyperparameter returns the value of a numeric or boolean hyperparameter
// (booleans read as 0 or 1) and whether the optimizer has it.
func (o *Optimizer) Hyperparameter(key string) (float64, bool) {
	v, ok := o.vals.num[key]
	return v, ok
}

// String returns the canonical spec: every hyperparameter in a fixed order with
// its value, then the general options that are set. Parse(o.String()) gives an
// equivalent optimizer.
func (o *Optimizer) String() string {
	var b strings.Builder
	b.WriteString(o.name)
	b.WriteByte('(')
	first := true
	sep := func() {
		if !first {
			b.WriteByte(',')
		}
		first = false
	}
	for _, p := range o.def.params {
		sep()
		b.WriteString(p.key)
		b.WriteByte('=')
		b.WriteString(p.format(o.vals))
	}
	if o.schedule != nil {
		sep()
		b.WriteString("schedule=")
		b.WriteString(o.schedule.String())
	}
	if o.clipNorm > 0 {
		sep()
		b.WriteString("clip_norm=" + formatFloat(o.clipNorm))
	}
	if o.clipValue > 0 {
		sep()
		b.WriteString("clip_value=" + formatFloat(o.clipValue))
	}
	if o.skipNonFinite {
		sep()
		b.WriteString("skip_nonfinite=true")
	}
	b.WriteByte(')')
	return b.String()
}

// formatFloat prints the shortest decimal that reads back as v.
func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// StateSlots returns the number of float buffers the optimizer keeps per
// parameter (SGD 0, momentum 1, Adam 2, AMSGrad 3, ...). Scalar state shared by
// all parameters (step counter, NAdam's momentum product) is not counted.
func (o *Optimizer) StateSlots() int {
	n := 0
	for _, t := range o.chain {
		n += t.Slots()
	}
	return n
}

// StateBytes returns the size of the optimizer's per-parameter state for a model
// of params scalars stored with bytesPerElem bytes each (4 for float32).
func (o *Optimizer) StateBytes(params int64, bytesPerElem int) int64 {
	return int64(o.StateSlots()) * params * int64(bytesPerElem)
}

// SkipNonFinite reports whether updates with non-finite gradients are skipped.
func (o *Optimizer) SkipNonFinite() bool { return o.skipNonFinite }

// WithSkipNonFinite returns a copy whose update leaves every variable and every
// state buffer unchanged when any gradient (or the loss) is not finite; the
// global step still advances, the optimizer's own step counter does not.
func (o *Optimizer) WithSkipNonFinite(skip bool) *Optimizer {
	c := *o
	c.skipNonFinite = skip
	return &c
}

// WithSchedule returns a copy with the given learning-rate schedule (nil for a
// constant rate).
func (o *Optimizer) WithSchedule(s *Schedule) *Optimizer {
	c := *o
	c.schedule = s
	return &c
}

// WithClipNorm returns a copy that rescales gradients to a global L2 norm of at
// most maxNorm before the update (0 disables).
func (o *Optimizer) WithClipNorm(maxNorm float64) (*Optimizer, error) {
	if !(maxNorm >= 0) {
		return nil, fmt.Errorf("optimizers: clip_norm=%g: must be >= 0", maxNorm)
	}
	c := *o
	c.clipNorm = maxNorm
	return &c, nil
}

// WithClipValue returns a copy that clamps every gradient element to [−c, c]
// before the update (0 disables).
func (o *Optimizer) WithClipValue(v float64) (*Optimizer, error) {
	if !(v >= 0) {
		return nil, fmt.Errorf("optimizers: clip_value=%g: must be >= 0", v)
	}
	c := *o
	c.clipValue = v
	return &c, nil
}

// UpdateGraph builds the update of every trainable variable used by g for one
// step minimizing loss. It implements GoMLX's optimizers.Interface; like all graph
// building functions it panics on error.
func (o *Optimizer) UpdateGraph(ctx *context.Context, g *Graph, loss *Node) {
	if !loss.Shape().IsScalar() {
		panic(fmt.Errorf("optimizer %s requires a scalar loss, got shape %s", o.name, loss.Shape()))
	}
	grads := ctx.BuildTrainableVariablesGradientsGraph(loss)
	o.update(ctx, g, grads, loss.DType(), loss)
}

// UpdateGraphWithGradients is UpdateGraph with the gradients given (in the order
// of ctx's trainable variables used by the graph). It implements
// train.OptimizeWithGradients, used for gradient accumulation.
func (o *Optimizer) UpdateGraphWithGradients(ctx *context.Context, grads []*Node, lossDType dtypes.DType) {
	if len(grads) == 0 {
		panic(fmt.Errorf("optimizer %s: no gradients: are there trainable variables?", o.name))
	}
	o.update(ctx, grads[0].Graph(), grads, lossDType, nil)
}

func (o *Optimizer) update(ctx *context.Context, g *Graph, grads []*Node, dtype dtypes.DType, loss *Node) {
	if !dtype.IsFloat() {
		panic(fmt.Errorf("optimizer %s: the loss must be a float, got %s", o.name, dtype))
	}
	var vars []*context.Variable
	for v := range ctx.IterVariables() {
		if v.Trainable && v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	if len(vars) != len(grads) {
		panic(fmt.Errorf("optimizer %s: %d gradients for %d trainable variables", o.name, len(grads), len(vars)))
	}
	if len(vars) == 0 {
		panic(fmt.Errorf("optimizer %s: no trainable variables in use by the graph", o.name))
	}

	s := &Step{ctx: ctx, g: g, dtype: dtype, vars: vars}

	// Global step (GoMLX's, always advances) and the learning rate.
	gsVar := gomlxopt.GetGlobalStepVar(ctx)
	gsBefore := gsVar.ValueGraph(g)
	gsVar.SetValueGraph(Add(gsBefore, OnesLike(gsBefore)))
	s.K = ConvertDType(gsBefore, dtype)
	lr := gomlxopt.LearningRateVarWithValue(ctx, dtype, o.lr).ValueGraph(g)
	if lr.DType() != dtype {
		lr = ConvertDType(lr, dtype)
	}
	s.Base = lr
	if o.schedule != nil {
		lr = o.schedule.Graph(lr, s.K)
	}
	s.LR = lr

	// The optimizer's own step counter.
	tVar := ctx.Checked(false).InAbsPath(StateScope).VariableWithValue("step", int64(0)).SetTrainable(false)
	tOld := tVar.ValueGraph(g)
	tNew := Add(tOld, OnesLike(tOld))
	s.writes = append(s.writes, stateWrite{v: tVar, old: tOld, new: tNew})
	s.T = ConvertDType(tNew, dtype)
	s.First = Equal(tNew, OnesLike(tNew))

	u := make([]*Node, len(grads))
	for i, v := range vars {
		p := v.ValueGraph(g)
		if p.DType() != dtype {
			p = ConvertDType(p, dtype)
		}
		s.params = append(s.params, p)
		u[i] = grads[i]
		if u[i].DType() != dtype {
			u[i] = ConvertDType(u[i], dtype)
		}
	}

	var guard *Node
	if o.skipNonFinite {
		for _, x := range u {
			guard = andNode(guard, LogicalAll(IsFinite(x)))
		}
		if loss != nil {
			guard = andNode(guard, IsFinite(loss))
		}
	}

	if o.clipValue > 0 {
		u = ClipByValue{C: o.clipValue}.Apply(s, u)
	}
	if o.clipNorm > 0 {
		u = ClipByGlobalNorm{Max: o.clipNorm}.Apply(s, u)
	}
	for _, t := range o.chain {
		u = t.Apply(s, u)
	}
	for i, v := range vars {
		s.writes = append(s.writes, stateWrite{v: v, old: v.ValueGraph(g), new: Add(s.params[i], u[i])})
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
func (o *Optimizer) Clear(ctx *context.Context) error {
	if err := ctx.InAbsPath(StateScope).DeleteVariablesInScope(); err != nil {
		return fmt.Errorf("optimizer %s: clearing state: %w", o.name, err)
	}
	if err := ctx.DeleteVariable(ctx.In(gomlxopt.Scope).Scope(), gomlxopt.ParamLearningRate); err != nil {
		return fmt.Errorf("optimizer %s: clearing the learning rate: %w", o.name, err)
	}
	return nil
}

// MeasureStateBytes returns the bytes held by the optimizer state variables that
// exist in ctx (everything under StateScope), measured from their shapes.
func MeasureStateBytes(ctx *context.Context) int64 {
	var n int64
	for v := range ctx.IterVariables() {
		if v.Scope() == StateScope || strings.HasPrefix(v.Scope(), StateScope+context.ScopeSeparator) {
			n += int64(v.Shape().Memory())
		}
	}
	return n
}

// BaseLearningRate returns the base learning rate currently held in ctx (GoMLX's
// learning-rate variable, before any schedule), and false when no update graph
// has created it yet.
func BaseLearningRate(ctx *context.Context) (float64, bool) {
	v := ctx.InspectVariable(ctx.In(gomlxopt.Scope).Scope(), gomlxopt.ParamLearningRate)
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

// SetBaseLearningRate changes the base learning rate held in ctx, for example to
// reduce it on a plateau; a schedule, if any, still applies on top of it. The
// variable must exist (an update graph has been built), and lr must be > 0.
func SetBaseLearningRate(ctx *context.Context, lr float64) error {
	if !(lr > 0) || math.IsInf(lr, 0) {
		return fmt.Errorf("optimizers: learning rate %g must be a positive number", lr)
	}
	v := ctx.InspectVariable(ctx.In(gomlxopt.Scope).Scope(), gomlxopt.ParamLearningRate)
	if v == nil {
		return fmt.Errorf("optimizers: no learning-rate variable in the context yet (build an update first)")
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
