package optimizers

import (
	"math"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// telemetryRun runs two updates of opt on f(w, b) = Σ ½·a_i·w_i² + Σ b_j² with
// telemetry and returns the second update's outputs in order: lr, gradient
// norm, then per variable (w, b) the parameter norm, the update norm and the
// step sizes (nil when not reported).
func telemetryRun(t *testing.T, opt *Optimizer, a, w0, b0 []float64) (lr, gradNorm float64, pn, un [2]float64, ss [2][]float64) {
	t.Helper()
	store := model.NewStore()
	wVar := store.VariableWithValue("/model/l/weights", append([]float64(nil), w0...))
	bVar := store.VariableWithValue("/model/l/biases", append([]float64(nil), b0...))
	var has [2]bool
	exec, err := model.NewExec(testBackend(t), store, func(scope *model.Scope, g *Graph) []*Node {
		w, b := wVar.NodeValue(g), bVar.NodeValue(g)
		loss := Add(quadraticGraph(a, make([]float64, len(a)))(w), ReduceAllSum(Square(b)))
		tel := opt.UpdateGraphWithTelemetry(scope, g, loss)
		if tel.Names[0] != "/model/l/weights" || tel.Names[1] != "/model/l/biases" {
			t.Errorf("names %v", tel.Names)
		}
		out := []*Node{tel.LR, tel.GradNorm}
		for i := range 2 {
			out = append(out, tel.ParamNorms[i], tel.UpdateNorms[i])
			if tel.StepSizes[i] != nil {
				has[i] = true
				out = append(out, tel.StepSizes[i])
			}
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	var outs []*tensors.Tensor
	for range 2 {
		if outs, err = exec.Call(); err != nil {
			t.Fatalf("%s: %v", opt, err)
		}
	}
	lr, gradNorm = tensors.ToScalar[float64](outs[0]), tensors.ToScalar[float64](outs[1])
	k := 2
	for i := range 2 {
		pn[i], un[i] = tensors.ToScalar[float64](outs[k]), tensors.ToScalar[float64](outs[k+1])
		k += 2
		if has[i] {
			ss[i] = tensors.MustCopyFlatData[float64](outs[k])
			k++
		}
	}
	return
}

func norm(x []float64) float64 {
	var s float64
	for _, v := range x {
		s += v * v
	}
	return math.Sqrt(s)
}

// TestTelemetryAdam recomputes Adam's second step by hand: the learning rate
// after the schedule, the gradient norm, the norms and the effective step
// sizes η/(√v̂ + ε), with bias correction and in a parameter group.
func TestTelemetryAdam(t *testing.T) {
	a, w0, b0 := []float64{1, 4, 9}, []float64{1, -2, 0.5}, []float64{0.3, -0.1}
	const eta, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
	// Hand-computed Adam (PyTorch form) for a separable quadratic.
	adam := func(p, curv []float64, etas [2]float64) (grad2, p1, step2 []float64, upd2 []float64) {
		p = append([]float64(nil), p...)
		m, v := make([]float64, len(p)), make([]float64, len(p))
		var g []float64
		for tt := 1; tt <= 2; tt++ {
			g = make([]float64, len(p))
			upd := make([]float64, len(p))
			step := make([]float64, len(p))
			for i := range p {
				g[i] = curv[i] * p[i]
				m[i] = b1*m[i] + (1-b1)*g[i]
				v[i] = b2*v[i] + (1-b2)*g[i]*g[i]
				mh, vh := m[i]/(1-math.Pow(b1, float64(tt))), v[i]/(1-math.Pow(b2, float64(tt)))
				step[i] = etas[tt-1] / (math.Sqrt(vh) + eps)
				upd[i] = -step[i] * mh
			}
			if tt == 2 {
				return g, p, step, upd
			}
			for i := range p {
				p[i] += upd[i]
			}
		}
		return
	}
	gw, pw, sw, uw := adam(w0, a, [2]float64{2 * eta, eta})
	gb, pb, sb, ub := adam(b0, []float64{2, 2}, [2]float64{eta / 2, eta / 4})
	opt := MustParse("adam(lr=0.2,schedule=step(step_size=1,gamma=0.5),group=biases(lr=0.05))")
	lr, gn, pn, un, ss := telemetryRun(t, opt, a, w0, b0)
	close := func(what string, got, want float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-12*(1+math.Abs(want)) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
	}
	close("lr (0.2 after one halving)", lr, eta)
	close("gradient norm", gn, norm(append(append([]float64(nil), gw...), gb...)))
	close("‖w‖", pn[0], norm(pw))
	close("‖b‖", pn[1], norm(pb))
	close("‖Δw‖", un[0], norm(uw))
	close("‖Δb‖", un[1], norm(ub))
	for i := range sw {
		close("w step size", ss[0][i], sw[i])
	}
	for i := range sb {
		close("b step size (group lr 0.05 halved)", ss[1][i], sb[i])
	}
}

func TestTelemetryStepSizesByRule(t *testing.T) {
	a, w0, b0 := []float64{1, 4, 9}, []float64{1, -2, 0.5}, []float64{0.3, -0.1}
	// RMSprop's second step: v = ρ·(1−ρ)g₁² + (1−ρ)g₂².
	rho, eta, eps := 0.99, 0.01, 1e-8
	p := append([]float64(nil), w0...)
	v := make([]float64, 3)
	var want []float64
	for tt := 1; tt <= 2; tt++ {
		want = make([]float64, 3)
		for i := range p {
			g := a[i] * p[i]
			v[i] = rho*v[i] + (1-rho)*g*g
			want[i] = eta / (math.Sqrt(v[i]) + eps)
		}
		for i := range p {
			p[i] -= want[i] * a[i] * p[i]
		}
	}
	_, _, _, _, ss := telemetryRun(t, MustParse("rmsprop(lr=0.01)"), a, w0, b0)
	for i := range want {
		if math.Abs(ss[0][i]-want[i]) > 1e-12*want[i] {
			t.Errorf("rmsprop step size %d = %v, want %v", i, ss[0][i], want[i])
		}
	}
	// SGD reports none.
	if _, _, _, _, ss := telemetryRun(t, MustParse("sgd(lr=0.01,momentum=0.9)"), a, w0, b0); ss[0] != nil || ss[1] != nil {
		t.Errorf("sgd reported step sizes %v", ss)
	}
}
