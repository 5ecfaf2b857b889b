package optimizers

import (
	"fmt"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// EMAConfig configures EMA. Start from DefaultEMAConfig and set Base. Each
// field's spec key is in its comment.
type EMAConfig struct {
	Base   *Optimizer // base: the optimizer that trains the weights (required)
	Decay  float64    // decay: decay β of the average
	Debias bool       // debias: start the average at 0 and divide by 1 − βᵗ, as optax.ema
}

// DefaultEMAConfig returns β 0.999 (a common choice; timm uses 0.9998–0.9999)
// without debiasing, and no base.
func DefaultEMAConfig() EMAConfig { return EMAConfig{Decay: 0.999} }

func (c *EMAConfig) params() []param {
	return []param{
		optParam("base", &c.Base, docBase),
		floatParam("decay", &c.Decay, "decay β of the average", beta),
		boolParam("debias", &c.Debias, "start from 0 and divide by 1 − βᵗ (optax.ema) instead of starting from p₀"),
	}
}

// EMA trains with the base optimizer and keeps an exponential moving average
// of the weights for evaluation (Polyak & Juditsky averaging with exponential
// weights, as TensorFlow's ExponentialMovingAverage and timm's ModelEma; the
// debiased form as optax.ema):
//
//	p ← base step;
//	e = β·e + (1 − β)·p;
//	evaluate with e (debias: e/(1 − βᵗ))
//
// e starts at p₀ (debias: at 0), and its horizon is about 1/(1 − β)
// updates: with β = 0.999, an evaluation in the first thousand updates sees
// mostly p₀ (debias=true, or a smaller β, suits short runs). The parameters
// follow the base unchanged;
// the average is a state variable, found with Optimizer.AveragedVariable and
// swapped in for evaluation with Optimizer.SwapInAverage. The variable holds
// the value to evaluate with: with debias, r = e/(1 − βᵗ), updated as
// r = a·r + (1 − a)·p with a = β(1 − βᵗ⁻¹)/(1 − βᵗ).
//
// Chain: EMAUpdate around the base's chain.
func EMA(c EMAConfig) (*Optimizer, error) {
	return wrap("ema", &c, EMAUpdate{Base: baseOf(c.Base), Decay: c.Decay, Debias: c.Debias})
}

// EMAUpdate is EMA around the transform Base: it passes Base's update through
// and keeps the average of the updated parameters in its buffer "ema" (Base's
// state under "base."). See EMA.
type EMAUpdate struct {
	Base   Transform
	Decay  float64
	Debias bool
}

// Slots implements Transform.
func (e EMAUpdate) Slots() int { return 1 + e.Base.Slots() }

// StateSize implements StateSizer.
func (e EMAUpdate) StateSize(dims []int) int64 { return numElems(dims) + stateSize(e.Base, dims) }

func (e EMAUpdate) inner() []Transform { return []Transform{e.Base} }

// emaSlot is the name of EMAUpdate's buffer.
const emaSlot = "ema"

// Apply implements Transform.
func (e EMAUpdate) Apply(s *Step, u []*Node) []*Node {
	u = s.Nested("base", e.Base, u)
	keep := s.Const(e.Decay) // weight of the old average
	if e.Debias {
		t := s.float64T()
		b := Scalar(s.Graph(), dtypes.Float64, e.Decay)
		prev := OneMinus(Pow(b, Sub(t, OnesLike(t)))) // 1 − βᵗ⁻¹
		keep = ConvertDType(Div(Mul(b, prev), OneMinus(Pow(b, t))), s.DType())
	}
	for i, x := range u {
		p := s.Param(i)
		old := s.Slot(emaSlot, i, 0)
		if !e.Debias {
			old = Where(s.First, p, old)
		}
		s.SetSlot(emaSlot, i, Add(Mul(keep, old), Mul(OneMinus(keep), Add(p, x))))
	}
	return u
}

// emaPrefix returns the state-name prefix of the ema wrapper inside o (""
// when o is one, "base." per wrapper around it), and false when o holds none.
func (o *Optimizer) emaPrefix() (string, bool) {
	prefix := ""
	for w := o; w != nil; w = w.base {
		if w.name == "ema" && w.base != nil {
			return prefix, true
		}
		prefix += "base."
	}
	return "", false
}

// AveragedVariable returns the state variable in store that holds the
// exponential moving average of the trainable variable v kept by an ema
// wrapper (the outermost, at any depth of wrappers), or nil when o keeps no
// average or no update has created it yet. Its value is the weights to
// evaluate with (already debiased).
func (o *Optimizer) AveragedVariable(store *model.Store, v *model.Variable) *model.Variable {
	prefix, ok := o.emaPrefix()
	if !ok {
		return nil
	}
	return store.GetVariable(slotPath(v, prefix+emaSlot))
}

// SwapInAverage copies the moving averages kept by an ema wrapper into the
// trainable variables of store, for evaluation, and returns the function that
// puts the trained values back (call it before the next training step). It
// is an error when o keeps no average or no update has run.
func (o *Optimizer) SwapInAverage(store *model.Store) (restore func() error, err error) {
	if _, ok := o.emaPrefix(); !ok {
		return nil, fmt.Errorf("optimizers: %s keeps no moving average of the weights (wrap it in ema(base=...))", o.name)
	}
	type saved struct {
		v *model.Variable
		t *tensors.Tensor
	}
	var kept []saved
	undo := func() error {
		for _, k := range kept {
			if err := k.v.SetValue(k.t); err != nil {
				return fmt.Errorf("optimizers: restoring %s: %w", k.v.Path(), err)
			}
		}
		return nil
	}
	for v := range store.IterVariables() {
		if !v.Trainable {
			continue
		}
		avg := o.AveragedVariable(store, v)
		if avg == nil {
			continue
		}
		trained, err := v.Value()
		if err != nil {
			return nil, err
		}
		val, err := avg.Value()
		if err != nil {
			return nil, err
		}
		clone, err := val.LocalClone()
		if err != nil {
			return nil, err
		}
		if err := v.SetValuePreservingOld(clone); err != nil {
			return nil, fmt.Errorf("optimizers: setting %s to its average: %w", v.Path(), err)
		}
		kept = append(kept, saved{v, trained})
	}
	if len(kept) == 0 {
		return nil, fmt.Errorf("optimizers: no moving averages in the store yet (run an update first)")
	}
	return undo, nil
}

// KeepsAverage reports whether o keeps a moving average of the weights (an
// ema wrapper at any depth), which a runner evaluates with (SwapInAverage).
func (o *Optimizer) KeepsAverage() bool {
	_, ok := o.emaPrefix()
	return ok
}
