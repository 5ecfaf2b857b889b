package diagnostics

import (
	stdctx "context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"optlab.dev/internal/graphexec"
	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
)

// HVPMethod says how Hessian-vector products H·v are computed.
type HVPMethod string

const (
	// HVPAuto uses HVPExact where GoMLX can differentiate the model's
	// gradient and HVPFiniteDifference where it cannot (GoMLX v0.28 cannot
	// differentiate the gradient of a convolution: cnn-small).
	HVPAuto HVPMethod = "auto"
	// HVPExact differentiates twice (reverse over reverse, Pearlmutter 1994):
	// H·v = ∇_w ⟨∇_w L(w), v⟩. Dense layers are built without FastDense's
	// custom gradients for it.
	HVPExact HVPMethod = "exact"
	// HVPFiniteDifference takes central differences of gradients:
	// H·v ≈ (∇L(w + h·v) − ∇L(w − h·v))/(2h), with the step size of FDStep.
	HVPFiniteDifference HVPMethod = "finite-difference"
)

// ParseHVPMethod reads "auto", "exact" or "finite-difference".
func ParseHVPMethod(s string) (HVPMethod, error) {
	switch m := HVPMethod(s); m {
	case HVPAuto, HVPExact, HVPFiniteDifference:
		return m, nil
	}
	return "", fmt.Errorf("unknown Hessian-vector product method %q (valid: auto, exact, finite-difference)", s)
}

// FDStep is the step h of central differences along v at w, for values with
// machine epsilon eps:
//
//	h = ∛eps · (1 + ‖w‖) / ‖v‖
//
// the classical choice balancing the O(h²) truncation error of a central
// difference against the O(eps/h) rounding error of the gradients (Nocedal &
// Wright, "Numerical Optimization", §8.1), scaled so that the perturbation
// h·v is small relative to the weights. In float32 (eps = 2⁻²³), ∛eps ≈ 4.9e-3.
func FDStep(eps, wNorm, vNorm float64) float64 {
	if vNorm == 0 {
		return 0
	}
	return math.Cbrt(eps) * (1 + wNorm) / vNorm
}

// Operator is a symmetric linear map known through its products, such as a
// Hessian: Apply returns H·v for v of length Dim.
type Operator interface {
	Dim() int
	Apply(v []float64) ([]float64, error)
}

// DefaultHessianExamples is the number of examples a network's Hessian uses
// unless told otherwise.
const DefaultHessianExamples = 1000

// HessianConfig configures the Hessian of a network's loss.
type HessianConfig struct {
	// Examples is how many examples, taken from the start of the data set,
	// define the loss (0: DefaultHessianExamples, or the whole set if smaller).
	Examples int
	// Chunk is the number of examples per graph call (0: 500).
	Chunk int
	// Method is how products are computed (""/HVPAuto: see HVPAuto).
	Method HVPMethod
}

// Hessian is the Hessian of a network's loss on fixed examples at its current
// weights, known through Hessian-vector products. The loss is the one Evaluate
// reports: the mean cross-entropy plus the model's regularisation, in inference
// mode (no dropout; batch norm with its moving statistics), so that it is a
// deterministic function of the weights. Products follow the weights: after
// training further, Apply differentiates at the new weights.
type Hessian struct {
	n         *optlab.Network
	layout    *Weights // names and shapes
	vars      []*model.Variable
	chunks    []chunk
	requested HVPMethod
	method    HVPMethod // resolved at the first product
	fallback  string    // why auto fell back to finite differences
	exact, fd *model.Exec
	products  int
}

type chunk struct {
	x, y   *tensors.Tensor
	weight float64 // examples in the chunk / all examples
}

// NewHessian prepares the Hessian of n's loss on the first cfg.Examples
// examples of ds (creating n's weights from its seed if it has none yet).
func NewHessian(n *optlab.Network, ds *datasets.Dataset, cfg HessianConfig) (*Hessian, error) {
	if ds == nil || ds.Len() == 0 {
		return nil, errors.New("hessian: no data")
	}
	m := cfg.Examples
	switch {
	case m < 0:
		return nil, fmt.Errorf("hessian: examples must be ≥ 0 (0: %d), got %d", DefaultHessianExamples, m)
	case m == 0:
		m = min(DefaultHessianExamples, ds.Len())
	case m > ds.Len():
		return nil, fmt.Errorf("hessian: %d examples asked for, the data set has %d", m, ds.Len())
	}
	c := cfg.Chunk
	if c < 0 {
		return nil, fmt.Errorf("hessian: chunk must be ≥ 1 example (0: 500), got %d", c)
	}
	if c == 0 {
		c = 500
	}
	method := cfg.Method
	if method == "" {
		method = HVPAuto
	}
	if _, err := ParseHVPMethod(string(method)); err != nil {
		return nil, fmt.Errorf("hessian: %w", err)
	}
	if err := Materialize(n, ds); err != nil {
		return nil, err
	}
	layout, err := WeightsOf(n)
	if err != nil {
		return nil, err
	}
	h := &Hessian{n: n, layout: layout, vars: trainableVars(n), requested: method}
	for lo := 0; lo < m; lo += c {
		hi := min(lo+c, m)
		part := ds.Slice(ds.Name, lo, hi)
		h.chunks = append(h.chunks, chunk{
			x:      tensors.FromFlatDataAndDimensions(append([]float32(nil), part.Features...), hi-lo, ds.Width),
			y:      tensors.FromFlatDataAndDimensions(append([]int32(nil), part.Labels...), hi-lo),
			weight: float64(hi-lo) / float64(m),
		})
	}
	return h, nil
}

// Dim returns the number of parameters.
func (h *Hessian) Dim() int { return h.layout.Len() }

// Layout returns the weights' layout (names and shapes; values are those when
// the Hessian was made).
func (h *Hessian) Layout() *Weights { return h.layout }

// Method returns the method used (HVPAuto until the first product), and why
// HVPAuto fell back to finite differences, if it did.
func (h *Hessian) Method() (HVPMethod, string) {
	if h.method == "" {
		return h.requested, ""
	}
	return h.method, h.fallback
}

// Products returns the number of Hessian-vector products computed so far.
func (h *Hessian) Products() int { return h.products }

// Examples returns the number of examples the loss is taken over.
func (h *Hessian) Examples() int {
	n := 0
	for _, c := range h.chunks {
		n += int(c.x.Shape().Dimensions[0])
	}
	return n
}

// Apply returns H·v.
func (h *Hessian) Apply(v []float64) ([]float64, error) {
	if len(v) != h.Dim() {
		return nil, fmt.Errorf("hessian: vector of %d values for %d parameters", len(v), h.Dim())
	}
	if h.method == "" {
		switch h.requested {
		case HVPAuto:
			out, err := h.applyExact(v)
			if err == nil {
				h.method = HVPExact
				h.products++
				return out, nil
			}
			h.method = HVPFiniteDifference
			h.fallback = "GoMLX cannot differentiate this model's gradient: " + firstLine(err.Error())
		default:
			h.method = h.requested
		}
	}
	var out []float64
	var err error
	if h.method == HVPExact {
		out, err = h.applyExact(v)
	} else {
		out, err = h.applyFD(v)
	}
	if err != nil {
		return nil, err
	}
	h.products++
	return out, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// tensorsOf splits a flat vector into one tensor per variable, in the
// variables' dtype.
func (h *Hessian) tensorsOf(v []float64) []any {
	out := make([]any, len(h.vars))
	off := 0
	for i, vr := range h.vars {
		k := vr.Shape().Size()
		part := v[off : off+k]
		off += k
		if vr.DType() == dtypes.Float64 {
			out[i] = tensors.FromFlatDataAndDimensions(append([]float64(nil), part...), vr.Shape().Dimensions...)
			continue
		}
		f := make([]float32, k)
		for j, x := range part {
			f[j] = float32(x)
		}
		out[i] = tensors.FromFlatDataAndDimensions(f, vr.Shape().Dimensions...)
	}
	return out
}

// sumOutputs adds scale × the outputs (one per variable) into acc.
func sumOutputs(acc []float64, outs []*tensors.Tensor, scale float64) {
	off := 0
	for _, t := range outs {
		t.ConstFlatData(func(flat any) {
			switch f := flat.(type) {
			case []float32:
				for j, x := range f {
					acc[off+j] += scale * float64(x)
				}
				off += len(f)
			case []float64:
				for j, x := range f {
					acc[off+j] += scale * x
				}
				off += len(f)
			}
		})
	}
}

// params returns the variables' values in g, in layout order.
func (h *Hessian) params(g *graph.Graph) []*graph.Node {
	ps := make([]*graph.Node, len(h.vars))
	for i, v := range h.vars {
		ps[i] = v.NodeValue(g)
	}
	return ps
}

func (h *Hessian) applyExact(v []float64) ([]float64, error) {
	if h.exact == nil {
		opts := h.n.Options()
		opts.FastDense = false
		e, err := model.NewExec(h.n.Backend(), h.n.Store(), func(scope *model.Scope, in []*graph.Node) []*graph.Node {
			x, y, vs := in[0], in[1], in[2:]
			loss, _ := h.n.LossGraph(scope, x, y, false, &opts)
			ps := h.params(x.Graph())
			grads := graph.Gradient(loss, ps...)
			var dot *graph.Node
			for i := range grads {
				d := graph.ReduceAllSum(graph.Mul(grads[i], vs[i]))
				if dot == nil {
					dot = d
				} else {
					dot = graph.Add(dot, d)
				}
			}
			return graph.Gradient(dot, ps...)
		})
		if err != nil {
			return nil, fmt.Errorf("hessian: building the product graph: %w", err)
		}
		e.SetMaxCache(4)
		h.exact = e
	}
	out := make([]float64, len(v))
	vt := h.tensorsOf(v)
	for _, c := range h.chunks {
		outs, err := graphexec.Call(h.exact, append([]any{c.x, c.y}, vt...)...)
		if err != nil {
			return nil, fmt.Errorf("hessian-vector product: %w", err)
		}
		sumOutputs(out, outs, c.weight)
	}
	return out, nil
}

// gradientAt returns ∇L(w + step·v), v given as tensors.
func (h *Hessian) gradientAt(step float64, vt []any) ([]float64, error) {
	if h.fd == nil {
		e, err := model.NewExec(h.n.Backend(), h.n.Store(), func(scope *model.Scope, in []*graph.Node) []*graph.Node {
			x, y, hs, vs := in[0], in[1], in[2], in[3:]
			g := x.Graph()
			orig := h.params(g)
			for i, vr := range h.vars {
				vr.SetNodeValue(graph.Add(orig[i], graph.Mul(graph.ConvertDType(hs, orig[i].DType()), vs[i])))
			}
			loss, _ := h.n.LossGraph(scope, x, y, false, nil)
			grads := graph.Gradient(loss, h.params(g)...)
			// Put the variables back: the graph then writes nothing to the store.
			for i, vr := range h.vars {
				vr.SetNodeValue(orig[i])
			}
			return grads
		})
		if err != nil {
			return nil, fmt.Errorf("hessian: building the gradient graph: %w", err)
		}
		e.SetMaxCache(4)
		h.fd = e
	}
	out := make([]float64, h.Dim())
	for _, c := range h.chunks {
		outs, err := graphexec.Call(h.fd, append([]any{c.x, c.y, tensors.FromScalar(step)}, vt...)...)
		if err != nil {
			return nil, fmt.Errorf("gradient for a finite difference: %w", err)
		}
		sumOutputs(out, outs, c.weight)
	}
	return out, nil
}

func (h *Hessian) applyFD(v []float64) ([]float64, error) {
	vNorm := math.Sqrt(dot(v, v))
	if vNorm == 0 {
		return make([]float64, len(v)), nil
	}
	w, err := WeightsOf(h.n)
	if err != nil {
		return nil, err
	}
	eps := 0x1p-23 // float32
	if h.vars[0].DType() == dtypes.Float64 {
		eps = 0x1p-52
	}
	step := FDStep(eps, w.Norm(), vNorm)
	vt := h.tensorsOf(v)
	plus, err := h.gradientAt(step, vt)
	if err != nil {
		return nil, err
	}
	minus, err := h.gradientAt(-step, vt)
	if err != nil {
		return nil, err
	}
	for i := range plus {
		plus[i] = (plus[i] - minus[i]) / (2 * step)
	}
	return plus, nil
}

// FunctionHessian is the Hessian of a scalar function of a parameter vector,
// built as a graph (as the 2-D test functions of optlab/functions are), at a
// point, computed in float64.
type FunctionHessian struct {
	at     []float64
	method HVPMethod
	exec   *graph.Exec
}

// NewFunctionHessian returns the Hessian of f at the point at, with products
// computed by method (HVPAuto is HVPExact here).
func NewFunctionHessian(backend compute.Backend, f func(w *graph.Node) *graph.Node, at []float64, method HVPMethod) (*FunctionHessian, error) {
	if len(at) == 0 {
		return nil, errors.New("function hessian: empty point")
	}
	if method == "" || method == HVPAuto {
		method = HVPExact
	}
	if _, err := ParseHVPMethod(string(method)); err != nil {
		return nil, err
	}
	fh := &FunctionHessian{at: append([]float64(nil), at...), method: method}
	var err error
	if method == HVPExact {
		fh.exec, err = graph.NewExec(backend, func(w, v *graph.Node) *graph.Node {
			return graph.Gradient(graph.ReduceAllSum(graph.Mul(graph.Gradient(f(w), w)[0], v)), w)[0]
		})
	} else {
		fh.exec, err = graph.NewExec(backend, func(w *graph.Node) *graph.Node { return graph.Gradient(f(w), w)[0] })
	}
	if err != nil {
		return nil, fmt.Errorf("function hessian: %w", err)
	}
	return fh, nil
}

// Dim returns the dimension of the point.
func (f *FunctionHessian) Dim() int { return len(f.at) }

// Apply returns H·v.
func (f *FunctionHessian) Apply(v []float64) (out []float64, err error) {
	if len(v) != len(f.at) {
		return nil, fmt.Errorf("function hessian: vector of %d values at a point of %d", len(v), len(f.at))
	}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("function hessian: %v", r)
		}
	}()
	call := func(args ...any) ([]float64, error) {
		outs, err := f.exec.Call(args...)
		if err != nil {
			return nil, err
		}
		return tensors.MustCopyFlatData[float64](outs[0]), nil
	}
	if f.method == HVPExact {
		return call(append([]float64(nil), f.at...), append([]float64(nil), v...))
	}
	step := FDStep(0x1p-52, math.Sqrt(dot(f.at, f.at)), math.Sqrt(dot(v, v)))
	if step == 0 {
		return make([]float64, len(v)), nil
	}
	p, m := append([]float64(nil), f.at...), append([]float64(nil), f.at...)
	axpy(p, step, v)
	axpy(m, -step, v)
	gp, err := call(p)
	if err != nil {
		return nil, err
	}
	gm, err := call(m)
	if err != nil {
		return nil, err
	}
	for i := range gp {
		gp[i] = (gp[i] - gm[i]) / (2 * step)
	}
	return gp, nil
}

// interrupted returns ctx's error, worded for the diagnostics' loops.
func interrupted(ctx stdctx.Context, what string) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s interrupted: %w", what, err)
	}
	return nil
}
