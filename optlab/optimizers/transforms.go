package optimizers

import (
	"math"

	. "github.com/gomlx/gomlx/pkg/core/graph" //nolint:revive // graph code reads like the equations.
)

// Transform is one gradient transformation: it maps the updates u_i (one per
// trainable variable, initially the gradients g_i) to new updates, reading and
// writing its own state through the Step. A chain of transforms ends with the
// update that is added to the parameters: p ← p + u.
//
// The notation in the doc comments: g gradient, p parameter, u incoming update,
// t the optimizer's step (1-based), η the learning rate of the step.
type Transform interface {
	// Slots is the number of per-parameter float buffers the transform keeps.
	Slots() int
	// Apply builds the graph of the transformation.
	Apply(s *Step, u []*Node) []*Node
}

// mapEach applies fn to every update.
func mapEach(u []*Node, fn func(i int, u *Node) *Node) []*Node {
	out := make([]*Node, len(u))
	for i := range u {
		out[i] = fn(i, u[i])
	}
	return out
}

// ScaleByLearningRate is the last link of most chains: u ← −η·u.
type ScaleByLearningRate struct{}

// Slots implements Transform.
func (ScaleByLearningRate) Slots() int { return 0 }

// Apply implements Transform.
func (ScaleByLearningRate) Apply(s *Step, u []*Node) []*Node {
	negLR := Neg(s.LR)
	return mapEach(u, func(_ int, x *Node) *Node { return Mul(negLR, x) })
}

// AddWeightDecay is coupled (L2) weight decay, added to the gradient before the
// rule sees it: u ← u + λ·p. (In Lion and LAMB it is applied after the rule's
// direction, where the papers put it.)
type AddWeightDecay struct{ Lambda float64 }

// Slots implements Transform.
func (AddWeightDecay) Slots() int { return 0 }

// Apply implements Transform.
func (w AddWeightDecay) Apply(s *Step, u []*Node) []*Node {
	if w.Lambda == 0 {
		return u
	}
	lambda := s.Const(w.Lambda)
	return mapEach(u, func(i int, x *Node) *Node { return Add(x, Mul(lambda, s.Param(i))) })
}

// DecoupledWeightDecay is AdamW's weight decay, applied after the learning-rate
// scaling: u ← u − η·λ·p, i.e. p ← p·(1 − η·λ) + u.
type DecoupledWeightDecay struct{ Lambda float64 }

// Slots implements Transform.
func (DecoupledWeightDecay) Slots() int { return 0 }

// Apply implements Transform.
func (w DecoupledWeightDecay) Apply(s *Step, u []*Node) []*Node {
	if w.Lambda == 0 {
		return u
	}
	c := Mul(s.LR, s.Const(w.Lambda))
	return mapEach(u, func(i int, x *Node) *Node { return Sub(x, Mul(c, s.Param(i))) })
}

// ClipByValue clamps every element: u ← clip(u, −c, c)
// (torch.nn.utils.clip_grad_value_).
type ClipByValue struct{ C float64 }

// Slots implements Transform.
func (ClipByValue) Slots() int { return 0 }

// Apply implements Transform.
func (c ClipByValue) Apply(_ *Step, u []*Node) []*Node {
	return mapEach(u, func(_ int, x *Node) *Node { return ClipScalar(x, -c.C, c.C) })
}

// ClipByGlobalNorm rescales all updates together when their joint L2 norm exceeds
// Max, as torch.nn.utils.clip_grad_norm_ does:
//
//	n = sqrt(Σ_i ‖u_i‖²),  u ← u · min(1, Max/(n + 1e-6)).
type ClipByGlobalNorm struct{ Max float64 }

// Slots implements Transform.
func (ClipByGlobalNorm) Slots() int { return 0 }

// Apply implements Transform.
func (c ClipByGlobalNorm) Apply(s *Step, u []*Node) []*Node {
	if len(u) == 0 {
		return u
	}
	var sq *Node
	for _, x := range u {
		n := ReduceAllSum(Square(x))
		if sq == nil {
			sq = n
		} else {
			sq = Add(sq, n)
		}
	}
	norm := Sqrt(sq)
	coef := Div(s.Const(c.Max), Add(norm, s.Const(1e-6)))
	coef = Min(coef, s.Const(1))
	return mapEach(u, func(_ int, x *Node) *Node { return Mul(x, coef) })
}

// TraceMomentum is the heavy-ball momentum of PyTorch's SGD:
//
//	b_1 = u_1,  b_t = μ·b_{t−1} + (1 − τ)·u_t   (τ: dampening)
//	u ← b_t, or with Nesterov u ← u_t + μ·b_t.
type TraceMomentum struct {
	Momentum, Dampening float64
	Nesterov            bool
}

// Slots implements Transform.
func (m TraceMomentum) Slots() int {
	if m.Momentum == 0 {
		return 0
	}
	return 1
}

// Apply implements Transform.
func (m TraceMomentum) Apply(s *Step, u []*Node) []*Node {
	if m.Momentum == 0 {
		return u
	}
	mu := s.Const(m.Momentum)
	damp := s.Const(1 - m.Dampening)
	return mapEach(u, func(i int, x *Node) *Node {
		buf := s.Slot("momentum_buffer", i, 0)
		buf = Where(s.First, x, Add(Mul(mu, buf), Mul(damp, x)))
		s.SetSlot("momentum_buffer", i, buf)
		if m.Nesterov {
			return Add(x, Mul(mu, buf))
		}
		return buf
	})
}

// ScaleByAdagrad divides by the root of the sum of squared gradients:
//
//	G_t = G_{t−1} + u²  (G_0 = InitialAccumulator),  u ← u / (√G_t + ε).
type ScaleByAdagrad struct{ InitialAccumulator, Eps float64 }

// Slots implements Transform.
func (ScaleByAdagrad) Slots() int { return 1 }

// Apply implements Transform.
func (a ScaleByAdagrad) Apply(s *Step, u []*Node) []*Node {
	eps := s.Const(a.Eps)
	return mapEach(u, func(i int, x *Node) *Node {
		sum := Add(s.Slot("sum", i, a.InitialAccumulator), Square(x))
		s.SetSlot("sum", i, sum)
		return Div(x, Add(Sqrt(sum), eps))
	})
}

// ScaleByInverseTimeStep divides by 1 + (t−1)·Decay: Adagrad's lr_decay.
type ScaleByInverseTimeStep struct{ Decay float64 }

// Slots implements Transform.
func (ScaleByInverseTimeStep) Slots() int { return 0 }

// Apply implements Transform.
func (d ScaleByInverseTimeStep) Apply(s *Step, u []*Node) []*Node {
	if d.Decay == 0 {
		return u
	}
	f := Add(s.Const(1), Mul(Sub(s.T, s.Const(1)), s.Const(d.Decay)))
	return mapEach(u, func(_ int, x *Node) *Node { return Div(x, f) })
}

// ScaleByRMS is RMSprop's scaling by a decaying mean of squared gradients:
//
//	v_t = ρ·v_{t−1} + (1 − ρ)·u²
//	centered: m_t = ρ·m_{t−1} + (1 − ρ)·u,  v̄ = v_t − m_t², else v̄ = v_t
//	PyTorch: u ← u / (√v̄ + ε);  Keras (EpsInside): u ← u / √(v̄ + ε).
type ScaleByRMS struct {
	Rho, Eps            float64
	Centered, EpsInside bool
}

// Slots implements Transform.
func (r ScaleByRMS) Slots() int {
	if r.Centered {
		return 2
	}
	return 1
}

// Apply implements Transform.
func (r ScaleByRMS) Apply(s *Step, u []*Node) []*Node {
	rho, oneMinusRho, eps := s.Const(r.Rho), s.Const(1-r.Rho), s.Const(r.Eps)
	return mapEach(u, func(i int, x *Node) *Node {
		v := Add(Mul(rho, s.Slot("square_avg", i, 0)), Mul(oneMinusRho, Square(x)))
		s.SetSlot("square_avg", i, v)
		if r.Centered {
			m := Add(Mul(rho, s.Slot("grad_avg", i, 0)), Mul(oneMinusRho, x))
			s.SetSlot("grad_avg", i, m)
			v = Sub(v, Square(m))
		}
		if r.EpsInside {
			return Div(x, Sqrt(Add(v, eps)))
		}
		return Div(x, Add(Sqrt(v), eps))
	})
}

// AccumulateMomentum is RMSprop's momentum buffer: b_t = μ·b_{t−1} + u, u ← b_t.
// It runs before the learning-rate scaling, as in PyTorch; Keras accumulates
// η·u instead, which is the same update while η is constant.
type AccumulateMomentum struct{ Momentum float64 }

// Slots implements Transform.
func (m AccumulateMomentum) Slots() int {
	if m.Momentum == 0 {
		return 0
	}
	return 1
}

// Apply implements Transform.
func (m AccumulateMomentum) Apply(s *Step, u []*Node) []*Node {
	if m.Momentum == 0 {
		return u
	}
	mu := s.Const(m.Momentum)
	return mapEach(u, func(i int, x *Node) *Node {
		b := Add(Mul(mu, s.Slot("momentum_buffer", i, 0)), x)
		s.SetSlot("momentum_buffer", i, b)
		return b
	})
}

// ScaleByAdam is Adam's direction:
//
//	m_t = β₁·m_{t−1} + (1 − β₁)·u,   v_t = β₂·v_{t−1} + (1 − β₂)·u²
//	AMSGrad: v̂max_t = max(v̂max_{t−1}, v_t) replaces v_t below
//	PyTorch: u ← (m_t / (1 − β₁ᵗ)) / (√v_t / √(1 − β₂ᵗ) + ε)
//	Keras:   u ← (√(1 − β₂ᵗ) / (1 − β₁ᵗ)) · m_t / (√v_t + ε)
//
// With BiasCorrection off the factors (1 − βᵗ) are replaced by 1.
type ScaleByAdam struct {
	B1, B2, Eps               float64
	AMSGrad, NoBiasCorrection bool
	Keras                     bool
}

// Slots implements Transform.
func (a ScaleByAdam) Slots() int {
	if a.AMSGrad {
		return 3
	}
	return 2
}

// Apply implements Transform.
func (a ScaleByAdam) Apply(s *Step, u []*Node) []*Node {
	return mapEach(u, func(i int, x *Node) *Node { return a.applyOne(s, i, x) })
}

// applyOne is Apply for the i-th parameter alone.
func (a ScaleByAdam) applyOne(s *Step, i int, x *Node) *Node {
	b1, b2, eps := s.Const(a.B1), s.Const(a.B2), s.Const(a.Eps)
	bc1, bc2 := s.Const(1), s.Const(1)
	if !a.NoBiasCorrection {
		bc1 = OneMinus(Pow(b1, s.T))
		bc2 = OneMinus(Pow(b2, s.T))
	}
	bc2Sqrt := Sqrt(bc2)
	m := Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(OneMinus(b1), x))
	v := Add(Mul(b2, s.Slot("exp_avg_sq", i, 0)), Mul(OneMinus(b2), Square(x)))
	s.SetSlot("exp_avg", i, m)
	s.SetSlot("exp_avg_sq", i, v)
	if a.AMSGrad {
		v = Max(s.Slot("max_exp_avg_sq", i, 0), v)
		s.SetSlot("max_exp_avg_sq", i, v)
	}
	if a.Keras {
		return Mul(Div(bc2Sqrt, bc1), Div(m, Add(Sqrt(v), eps)))
	}
	return Div(Div(m, bc1), Add(Div(Sqrt(v), bc2Sqrt), eps))
}

// ScaleByAdamax is Adam with the infinity norm (PyTorch's form, ε inside the max):
//
//	m_t = β₁·m_{t−1} + (1 − β₁)·u,   n_t = max(β₂·n_{t−1}, |u| + ε)
//	u ← m_t / ((1 − β₁ᵗ)·n_t).
type ScaleByAdamax struct{ B1, B2, Eps float64 }

// Slots implements Transform.
func (ScaleByAdamax) Slots() int { return 2 }

// Apply implements Transform.
func (a ScaleByAdamax) Apply(s *Step, u []*Node) []*Node {
	b1, b2, eps := s.Const(a.B1), s.Const(a.B2), s.Const(a.Eps)
	bc1 := OneMinus(Pow(b1, s.T))
	return mapEach(u, func(i int, x *Node) *Node {
		m := Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(OneMinus(b1), x))
		n := Max(Mul(b2, s.Slot("exp_inf", i, 0)), Add(Abs(x), eps))
		s.SetSlot("exp_avg", i, m)
		s.SetSlot("exp_inf", i, n)
		return Div(Div(m, bc1), n)
	})
}

// ScaleByNAdam is Dozat's Nesterov Adam with PyTorch's momentum schedule:
//
//	μ_t = β₁·(1 − ½·0.96^(t·ψ)),  Π_t = Π_{t−1}·μ_t  (ψ: momentum decay)
//	m_t, v_t as in Adam,  d = √(v_t/(1 − β₂ᵗ)) + ε
//	u ← (1 − μ_t)/(1 − Π_t) · u/d + μ_{t+1}/(1 − Π_t·μ_{t+1}) · m_t/d.
//
// This is the equation of the paper, of PyTorch ≥ 2.0 and of PyTorch 1.13's
// foreach code path; PyTorch 1.13's default (single-tensor) path multiplies μ_t
// into Π twice in the second term, a bug fixed in 2.0.
type ScaleByNAdam struct{ B1, B2, Eps, MomentumDecay float64 }

// Slots implements Transform.
func (ScaleByNAdam) Slots() int { return 2 }

// Apply implements Transform.
func (a ScaleByNAdam) Apply(s *Step, u []*Node) []*Node {
	b1, b2, eps := s.Const(a.B1), s.Const(a.B2), s.Const(a.Eps)
	c096 := s.Const(0.96)
	psi := s.Const(a.MomentumDecay)
	mu := Mul(b1, Sub(s.Const(1), Mul(s.Const(0.5), Pow(c096, Mul(s.T, psi)))))
	muNext := Mul(b1, Sub(s.Const(1), Mul(s.Const(0.5), Pow(c096, Mul(Add(s.T, s.Const(1)), psi)))))
	prod := Mul(s.ScalarState("nadam_mu_product", 1), mu)
	s.SetScalarState("nadam_mu_product", prod)
	prodNext := Mul(prod, muNext)
	bc2 := OneMinus(Pow(b2, s.T))
	cGrad := Div(OneMinus(mu), OneMinus(prod))
	cAvg := Div(muNext, OneMinus(prodNext))
	return mapEach(u, func(i int, x *Node) *Node {
		m := Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(OneMinus(b1), x))
		v := Add(Mul(b2, s.Slot("exp_avg_sq", i, 0)), Mul(OneMinus(b2), Square(x)))
		s.SetSlot("exp_avg", i, m)
		s.SetSlot("exp_avg_sq", i, v)
		d := Add(Sqrt(Div(v, bc2)), eps)
		return Add(Mul(cGrad, Div(x, d)), Mul(cAvg, Div(m, d)))
	})
}

// ScaleByRAdam is rectified Adam (Liu et al. 2019), as PyTorch computes it:
//
//	m_t, v_t as in Adam,  ρ∞ = 2/(1 − β₂) − 1,  ρ_t = ρ∞ − 2t·β₂ᵗ/(1 − β₂ᵗ)
//	ρ_t > 5: r_t = √((ρ_t − 4)(ρ_t − 2)ρ∞ / ((ρ∞ − 4)(ρ∞ − 2)ρ_t)),
//	         u ← r_t · m_t/(1 − β₁ᵗ) · √(1 − β₂ᵗ)/(√v_t + ε)
//	otherwise u ← m_t/(1 − β₁ᵗ).
type ScaleByRAdam struct{ B1, B2, Eps float64 }

// Slots implements Transform.
func (ScaleByRAdam) Slots() int { return 2 }

// Apply implements Transform.
func (a ScaleByRAdam) Apply(s *Step, u []*Node) []*Node {
	b1, b2, eps := s.Const(a.B1), s.Const(a.B2), s.Const(a.Eps)
	bc1 := OneMinus(Pow(b1, s.T))
	b2t := Pow(b2, s.T)
	bc2 := OneMinus(b2t)
	rhoInf := 2/(1-a.B2) - 1
	rhoT := Sub(s.Const(rhoInf), Div(Mul(Mul(s.Const(2), s.T), b2t), bc2))
	// Guard the rectifier's square root: it is only used where ρ_t > 5.
	safeRho := Max(rhoT, s.Const(5))
	rect := Sqrt(Div(Mul(Mul(Sub(safeRho, s.Const(4)), Sub(safeRho, s.Const(2))), s.Const(rhoInf)),
		Mul(s.Const((rhoInf-4)*(rhoInf-2)), safeRho)))
	useRect := GreaterThan(rhoT, s.Const(5))
	bc2Sqrt := Sqrt(bc2)
	return mapEach(u, func(i int, x *Node) *Node {
		m := Add(Mul(b1, s.Slot("exp_avg", i, 0)), Mul(OneMinus(b1), x))
		v := Add(Mul(b2, s.Slot("exp_avg_sq", i, 0)), Mul(OneMinus(b2), Square(x)))
		s.SetSlot("exp_avg", i, m)
		s.SetSlot("exp_avg_sq", i, v)
		mHat := Div(m, bc1)
		adaptive := Div(bc2Sqrt, Add(Sqrt(v), eps))
		return Where(useRect, Mul(Mul(mHat, adaptive), rect), mHat)
	})
}

// ScaleByAdadelta is Zeiler's Adadelta:
//
//	v_t = ρ·v_{t−1} + (1 − ρ)·u²,   δ = √(a_{t−1} + ε)/√(v_t + ε) · u
//	a_t = ρ·a_{t−1} + (1 − ρ)·δ²,   u ← δ.
type ScaleByAdadelta struct{ Rho, Eps float64 }

// Slots implements Transform.
func (ScaleByAdadelta) Slots() int { return 2 }

// Apply implements Transform.
func (a ScaleByAdadelta) Apply(s *Step, u []*Node) []*Node {
	rho, oneMinusRho, eps := s.Const(a.Rho), s.Const(1-a.Rho), s.Const(a.Eps)
	return mapEach(u, func(i int, x *Node) *Node {
		v := Add(Mul(rho, s.Slot("square_avg", i, 0)), Mul(oneMinusRho, Square(x)))
		acc := s.Slot("acc_delta", i, 0)
		delta := Mul(Div(Sqrt(Add(acc, eps)), Sqrt(Add(v, eps))), x)
		s.SetSlot("square_avg", i, v)
		s.SetSlot("acc_delta", i, Add(Mul(rho, acc), Mul(oneMinusRho, Square(delta))))
		return delta
	})
}

// Rprop is resilient backpropagation (PyTorch's variant, iRprop−). It produces
// the final update itself: the learning rate only initializes the step sizes.
//
//	s = sign(u·u_prev):  s > 0: Δ ← min(Δ·η₊, Δmax);  s < 0: Δ ← max(Δ·η₋, Δmin), u ← 0
//	Δ_0 = η,  u ← −sign(u)·Δ,  u_prev ← u (zeroed where s < 0).
type Rprop struct{ EtaMinus, EtaPlus, StepMin, StepMax float64 }

// Slots implements Transform.
func (Rprop) Slots() int { return 2 }

// Apply implements Transform.
func (r Rprop) Apply(s *Step, u []*Node) []*Node {
	return mapEach(u, func(i int, x *Node) *Node {
		prev := s.Slot("prev", i, 0)
		size := s.Slot("step_size", i, 0)
		size = Where(s.First, BroadcastToShape(s.LR, size.Shape()), size)
		sgn := Sign(Mul(x, prev))
		zero := ZerosLike(x)
		factor := Where(GreaterThan(sgn, zero), BroadcastToShape(s.Const(r.EtaPlus), x.Shape()),
			Where(LessThan(sgn, zero), BroadcastToShape(s.Const(r.EtaMinus), x.Shape()),
				OnesLike(x)))
		size = Clip(Mul(size, factor), s.Const(r.StepMin), s.Const(r.StepMax))
		g := Where(LessThan(sgn, zero), zero, x)
		s.SetSlot("step_size", i, size)
		s.SetSlot("prev", i, g)
		return Neg(Mul(Sign(g), size))
	})
}

// ASGD is PyTorch's averaged SGD. It produces the final update itself:
//
//	η_t = η/(1 + λ·η·(t − 1))^α,   p ← p·(1 − λ·η_t) − η_t·u
//
// and keeps the running average of the iterates, ā ← ā + μ_t·(p − ā) with
// μ_t = 1/max(1, t − 1 − t₀) (μ_1 = 1), as state.
type ASGD struct{ Lambda, Alpha, T0 float64 }

// Slots implements Transform.
func (ASGD) Slots() int { return 1 }

// Apply implements Transform.
func (a ASGD) Apply(s *Step, u []*Node) []*Node {
	tm1 := Sub(s.T, s.Const(1))
	eta := Div(s.LR, Pow(Add(s.Const(1), Mul(Mul(s.Const(a.Lambda), s.LR), tm1)), s.Const(a.Alpha)))
	mu := Where(s.First, s.Const(1), Reciprocal(Max(s.Const(1), Sub(tm1, s.Const(a.T0)))))
	return mapEach(u, func(i int, x *Node) *Node {
		p := s.Param(i)
		update := Neg(Add(Mul(Mul(s.Const(a.Lambda), eta), p), Mul(eta, x)))
		newP := Add(p, update)
		ax := s.Slot("ax", i, 0)
		s.SetSlot("ax", i, Add(ax, Mul(Sub(newP, ax), mu)))
		return update
	})
}

// ScaleByLion is the sign direction of Lion (Chen et al. 2023, "Symbolic
// Discovery of Optimization Algorithms", Algorithm 2):
//
//	c = β₁·m_{t−1} + (1 − β₁)·u,  u ← sign(c),  m_t = β₂·m_{t−1} + (1 − β₂)·u.
type ScaleByLion struct{ B1, B2 float64 }

// Slots implements Transform.
func (ScaleByLion) Slots() int { return 1 }

// Apply implements Transform.
func (l ScaleByLion) Apply(s *Step, u []*Node) []*Node {
	b1, b2 := s.Const(l.B1), s.Const(l.B2)
	return mapEach(u, func(i int, x *Node) *Node {
		m := s.Slot("exp_avg", i, 0)
		c := Add(Mul(b1, m), Mul(OneMinus(b1), x))
		s.SetSlot("exp_avg", i, Add(Mul(b2, m), Mul(OneMinus(b2), x)))
		return Sign(c)
	})
}

// ScaleByTrustRatio is LAMB's layer-wise trust ratio (You et al. 2019, "Large
// Batch Optimization for Deep Learning", Algorithm 2, φ = identity):
//
//	u ← (‖p‖/‖u‖)·u, with the ratio taken as 1 when either norm is 0.
type ScaleByTrustRatio struct{}

// Slots implements Transform.
func (ScaleByTrustRatio) Slots() int { return 0 }

// Apply implements Transform.
func (ScaleByTrustRatio) Apply(s *Step, u []*Node) []*Node {
	return mapEach(u, func(i int, x *Node) *Node {
		pn := Sqrt(ReduceAllSum(Square(s.Param(i))))
		un := Sqrt(ReduceAllSum(Square(x)))
		zero := s.Const(0)
		ok := LogicalAnd(GreaterThan(pn, zero), GreaterThan(un, zero))
		ratio := Where(ok, Div(pn, Where(ok, un, s.Const(1))), s.Const(1))
		return Mul(ratio, x)
	})
}

// ScaleByLARS is LARS's local learning rate with weight decay (You et al. 2017,
// "Large Batch Training of Convolutional Networks", Algorithm 1):
//
//	λ = c·‖p‖/(‖u‖ + β·‖p‖)  (1 when ‖p‖ or ‖u‖ is 0),  u ← λ·(u + β·p)
//
// where c is the trust coefficient and β the weight decay.
type ScaleByLARS struct{ TrustCoefficient, WeightDecay float64 }

// Slots implements Transform.
func (ScaleByLARS) Slots() int { return 0 }

// Apply implements Transform.
func (l ScaleByLARS) Apply(s *Step, u []*Node) []*Node {
	beta := s.Const(l.WeightDecay)
	return mapEach(u, func(i int, x *Node) *Node {
		p := s.Param(i)
		pn := Sqrt(ReduceAllSum(Square(p)))
		gn := Sqrt(ReduceAllSum(Square(x)))
		zero := s.Const(0)
		ok := LogicalAnd(GreaterThan(pn, zero), GreaterThan(gn, zero))
		den := Add(gn, Mul(beta, pn))
		local := Where(ok, Div(Mul(s.Const(l.TrustCoefficient), pn), Where(ok, den, s.Const(1))), s.Const(1))
		return Mul(local, Add(x, Mul(beta, p)))
	})
}

// Muon orthogonalizes the momentum of every matrix parameter (Jordan et al.
// 2024, "Muon: An optimizer for hidden layers in neural networks", as in the
// reference implementation of modded-nanogpt), and updates every other
// parameter (vectors, scalars) with AdamW at its own rate. It produces the final
// update itself.
//
// Matrices (rank 2, GoMLX's [fan_in, fan_out] layout; higher ranks are flattened
// to [d₀, d₁·d₂·…]):
//
//	b = μ·b + g,  d = g + μ·b (Nesterov) or b
//	X₀ = d/(‖d‖_F + 1e-7),  X ← aX + (bA + cA²)X with A = XXᵀ, (a, b, c) = (3.4445, −4.7750, 2.0315), NSSteps times
//	p ← p·(1 − ηλ) − η·√max(1, fan_out/fan_in)·X
//
// Other parameters: AdamW with rate η_adam·(η/η₀) (so schedules apply to both):
//
//	p ← p·(1 − η_adamλ) − η_adam·m̂/(√v̂ + ε).
type Muon struct {
	Momentum    float64
	Nesterov    bool
	NSSteps     int
	WeightDecay float64
	// AdamLR is η_adam, the base rate of the non-matrix parameters.
	AdamLR, B1, B2, Eps float64
}

// Slots implements Transform: one buffer (the momentum) per matrix parameter;
// other parameters keep AdamW's two.
func (Muon) Slots() int { return 1 }

// Apply implements Transform.
func (o Muon) Apply(s *Step, u []*Node) []*Node {
	mu := s.Const(o.Momentum)
	wd := s.Const(o.WeightDecay)
	adamLR := Mul(s.Const(o.AdamLR), Div(s.LR, s.Base))
	adam := ScaleByAdam{B1: o.B1, B2: o.B2, Eps: o.Eps}
	return mapEach(u, func(i int, x *Node) *Node {
		p := s.Param(i)
		if x.Rank() < 2 {
			dir := adam.applyOne(s, i, x)
			return Neg(Mul(adamLR, Add(dir, Mul(wd, p))))
		}
		buf := Add(Mul(mu, s.Slot("momentum_buffer", i, 0)), x)
		s.SetSlot("momentum_buffer", i, buf)
		d := buf
		if o.Nesterov {
			d = Add(x, Mul(mu, buf))
		}
		dims := x.Shape().Dimensions
		rows, cols := dims[0], x.Shape().Size()/dims[0]
		m := Reshape(d, rows, cols)
		transposed := rows > cols
		if transposed {
			m = Transpose(m, 0, 1)
		}
		m = Div(m, Add(Sqrt(ReduceAllSum(Square(m))), s.Const(1e-7)))
		ca, cb, cc := s.Const(3.4445), s.Const(-4.7750), s.Const(2.0315)
		for k := 0; k < o.NSSteps; k++ {
			a := Dot(m, Transpose(m, 0, 1))
			b := Add(Mul(cb, a), Mul(cc, Dot(a, a)))
			m = Add(Mul(ca, m), Dot(b, m))
		}
		if transposed {
			m = Transpose(m, 0, 1)
		}
		scale := s.Const(math.Sqrt(math.Max(1, float64(cols)/float64(rows))))
		update := Mul(Mul(s.LR, scale), Reshape(m, dims...))
		return Neg(Add(update, Mul(Mul(s.LR, wd), p)))
	})
}

// ScheduleFreeAdamW is schedule-free AdamW (Defazio et al. 2024, "The Road Less
// Scheduled", Algorithm 1). It produces the final update itself. The parameter
// holds y_t, the point where gradients are taken; the state keeps z_t, the
// averaged iterate x_t (the point the paper evaluates) and v_t:
//
//	y_t = (1 − β₁)·z_t + β₁·x_t   (z_1 = x_1 = p_0)
//	v_t = β₂·v_{t−1} + (1 − β₂)·g²
//	γ_t = η·√(1 − β₂ᵗ)·min(1, t/warmup)
//	z_{t+1} = z_t − γ_t·g/(√v_t + ε) − γ_t·λ·y_t
//	c_{t+1} = γ_t² / Σ_{i≤t} γ_i²,   x_{t+1} = (1 − c_{t+1})·x_t + c_{t+1}·z_{t+1}
//	p ← y_{t+1} = (1 − β₁)·z_{t+1} + β₁·x_{t+1}.
type ScheduleFreeAdamW struct {
	B1, B2, Eps, WeightDecay float64
	Warmup                   int
}

// Slots implements Transform (z, x and v).
func (ScheduleFreeAdamW) Slots() int { return 3 }

// Apply implements Transform.
func (o ScheduleFreeAdamW) Apply(s *Step, u []*Node) []*Node {
	b1, b2, eps, wd := s.Const(o.B1), s.Const(o.B2), s.Const(o.Eps), s.Const(o.WeightDecay)
	gamma := Mul(s.LR, Sqrt(OneMinus(Pow(b2, s.T))))
	if o.Warmup > 0 {
		gamma = Mul(gamma, Min(s.Const(1), Div(s.T, s.Const(float64(o.Warmup)))))
	}
	gamma2 := Square(gamma)
	sum := Add(s.ScalarState("schedule_free_gamma2_sum", 0), gamma2)
	s.SetScalarState("schedule_free_gamma2_sum", sum)
	c := Div(gamma2, sum)
	return mapEach(u, func(i int, g *Node) *Node {
		y := s.Param(i)
		z := Where(s.First, y, s.Slot("z", i, 0))
		x := Where(s.First, y, s.Slot("x", i, 0))
		v := Add(Mul(b2, s.Slot("exp_avg_sq", i, 0)), Mul(OneMinus(b2), Square(g)))
		z = Sub(z, Add(Mul(gamma, Div(g, Add(Sqrt(v), eps))), Mul(Mul(gamma, wd), y)))
		x = Add(Mul(OneMinus(c), x), Mul(c, z))
		s.SetSlot("exp_avg_sq", i, v)
		s.SetSlot("z", i, z)
		s.SetSlot("x", i, x)
		yNext := Add(Mul(OneMinus(b1), z), Mul(b1, x))
		return Sub(yNext, y)
	})
}

// Adafactor is Shazeer & Stern 2018 ("Adafactor: Adaptive Learning Rates with
// Sublinear Memory Cost", Algorithms 4 and 5, without momentum), with relative
// step sizes scaled by the parameter's RMS. It produces the final update itself.
// For a parameter of rank ≥ 2 the second moment of the last two axes (n×m) is
// kept factored as row and column sums (n + m numbers instead of n·m):
//
//	β̂_t = 1 − t^(−decay_rate),  ρ_t = min(η, 1/√t),  α_t = max(ε₂, RMS(p))·ρ_t
//	matrices: R = β̂_t·R + (1 − β̂_t)·(g² + ε₁)·1,  C = β̂_t·C + (1 − β̂_t)·1ᵀ·(g² + ε₁),  V̂ = R·C/(1ᵀR)
//	vectors:  V̂ = β̂_t·V̂ + (1 − β̂_t)·(g² + ε₁)
//	U = g/√V̂,  Û = U / max(1, RMS(U)/d),  p ← p − α_t·Û.
type Adafactor struct {
	DecayRate, Eps1, Eps2, ClipThreshold float64
}

// Slots implements Transform: one buffer for vectors; matrices keep only their
// row and column statistics (see MeasureStateBytes for the exact size).
func (Adafactor) Slots() int { return 1 }

// Apply implements Transform.
func (o Adafactor) Apply(s *Step, u []*Node) []*Node {
	beta := OneMinus(Pow(s.T, s.Const(-o.DecayRate)))
	rho := Min(s.LR, Rsqrt(s.T))
	eps1 := s.Const(o.Eps1)
	rms := func(x *Node) *Node { return Sqrt(ReduceAllMean(Square(x))) }
	return mapEach(u, func(i int, g *Node) *Node {
		p := s.Param(i)
		alpha := Mul(Max(s.Const(o.Eps2), rms(p)), rho)
		g2 := Add(Square(g), eps1)
		var invSqrt *Node // 1/√V̂
		if g.Rank() >= 2 {
			r := g.Rank()
			dims := g.Shape().Dimensions
			rowDims := append([]int(nil), dims[:r-1]...)
			colDims := append(append([]int(nil), dims[:r-2]...), dims[r-1])
			row := Add(Mul(beta, s.SlotWithShape("row", i, rowDims...)), Mul(OneMinus(beta), ReduceSum(g2, r-1)))
			col := Add(Mul(beta, s.SlotWithShape("col", i, colDims...)), Mul(OneMinus(beta), ReduceSum(g2, r-2)))
			s.SetSlotWithShape("row", i, row)
			s.SetSlotWithShape("col", i, col)
			// 1/√V̂ = rsqrt(R/ΣR)·rsqrt(C): the same value as g/√(R·C/ΣR), but the
			// product R·C of two tiny sums (ε₁² for an all-zero row and column)
			// underflows to 0 in float32 and would turn g/√V̂ into 0/0.
			rowFrac := Div(row, ExpandAxes(ReduceSum(row, r-2), -1))
			invSqrt = Mul(ExpandAxes(Rsqrt(rowFrac), -1), ExpandAxes(Rsqrt(col), -2))
		} else {
			vHat := Add(Mul(beta, s.Slot("v", i, 0)), Mul(OneMinus(beta), g2))
			s.SetSlot("v", i, vHat)
			invSqrt = Rsqrt(vHat)
		}
		upd := Mul(g, invSqrt)
		upd = Div(upd, Max(s.Const(1), Div(rms(upd), s.Const(o.ClipThreshold))))
		return Neg(Mul(alpha, upd))
	})
}
