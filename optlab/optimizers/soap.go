package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// SOAPConfig configures SOAP. Start from DefaultSOAPConfig: a zero field is
// taken as given. Each field's spec key is in its comment.
type SOAPConfig struct {
	LR                    float64 // lr: learning rate η
	B1                    float64 // b1: decay β₁ of the first moment M
	B2                    float64 // b2: decay β₂ of the second moment V (in the rotated basis)
	ShampooBeta           float64 // shampoo_beta: decay β_s of Shampoo's statistics L, R
	Eps                   float64 // eps: ε added to √V
	WeightDecay           float64 // weight_decay: decoupled weight decay λ
	PreconditionFrequency int     // precondition_frequency: steps f between refreshes of the eigenbases
	MaxPrecondDim         int     // max_precond_dim: largest side that gets a preconditioner
	Precondition1D        bool    // precondition_1d: rotate vectors too (as n×1 matrices)
	BiasCorrection        bool    // bias_correction: Adam's bias corrections
	Eigh                  bool    // eigh: exact eigenvectors at each refresh instead of one power iteration + QR
}

// DefaultSOAPConfig returns the authors' defaults: lr 3e-3, β = (0.95, 0.95),
// shampoo_beta 0.95, ε 1e-8, weight decay 0.01, a refresh every 10 steps, no
// preconditioner for sides above 10000, vectors unrotated, bias corrections,
// power iteration + QR.
func DefaultSOAPConfig() SOAPConfig {
	return SOAPConfig{LR: 3e-3, B1: 0.95, B2: 0.95, ShampooBeta: 0.95, Eps: 1e-8, WeightDecay: 0.01,
		PreconditionFrequency: 10, MaxPrecondDim: 10000, BiasCorrection: true}
}

func (c *SOAPConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		b1Param(&c.B1, docB1),
		b2Param(&c.B2, "decay of the second moment (kept in the rotated basis)"),
		floatParam("shampoo_beta", &c.ShampooBeta, "decay of Shampoo's statistics L and R", beta),
		epsParam(&c.Eps, docEpsDenom),
		weightDecayParam(&c.WeightDecay, docDecoupledWD),
		intParam("precondition_frequency", &c.PreconditionFrequency, "steps between refreshes of the eigenbases", atLeastOne),
		intParam("max_precond_dim", &c.MaxPrecondDim, "largest side that gets a preconditioner (cost O(d³) per refresh)", atLeastOne),
		boolParam("precondition_1d", &c.Precondition1D, "rotate vectors too, as n×1 matrices (otherwise AdamW)"),
		boolParam("bias_correction", &c.BiasCorrection, "Adam's bias corrections"),
		boolParam("eigh", &c.Eigh, "exact eigenvectors (Jacobi) at each refresh instead of one power iteration + QR"),
	}
}

// SOAP runs Adam in the eigenbasis of Shampoo's preconditioners, refreshed
// every few steps (Vyas, Morwani, Zhao, Shapira, Brandfonbrener, Janson &
// Kakade 2024, "SOAP: Improving and Stabilizing Shampoo using Adam", ICLR
// 2025, arXiv 2409.11321, Algorithm 3, with the eigenbases of Algorithm 4):
//
//	G' = Q_Lᵀ·G·Q_R,  M = β₁M + (1 − β₁)G,  M' = Q_Lᵀ·M·Q_R,  V = β₂V + (1 − β₂)G'²;
//	N = Q_L·[(M'/(1 − β₁ᵗ))/(√V/√(1 − β₂ᵗ) + ε)]·Q_Rᵀ;
//	p ← p − η·(N + λp);
//	L = β_sL + (1 − β_s)G·Gᵀ,  R = β_sR + (1 − β_s)Gᵀ·G;
//	t mod f = 0: Q_L ← QR(L·Q_L),  Q_R ← QR(R·Q_R)
//
// M is kept in the original basis, V in the rotated one (never re-rotated).
// QR(·) is the Q factor of one power iteration (Algorithm 4; its column signs
// do not matter); eigh=true takes the eigenvectors by decreasing eigenvalue
// instead. The paper leaves the start out: here M = V = 0, L = R = 0 and
// Q = I, so the first f steps are AdamW. A side of size d gets a
// preconditioner when 1 < d ≤ max_precond_dim (otherwise Q = I); vectors are
// AdamW unless precondition_1d (then n×1 matrices), parameters of rank ≥ 3
// are seen as [d₀, d₁·d₂·…]. The authors' code instead spends step 1 on L, R
// and exact eigenvectors, sorts the power-iteration columns by eigenvalue
// estimate (permuting V), folds the bias corrections into the step size and
// decays p after the update; dimension merging and gradient normalization
// are not offered. The decompositions run in the graph (Gram–Schmidt QR,
// Jacobi eigenvectors): O(d³) per side per refresh.
//
// Chain: SOAPUpdate.
func SOAP(c SOAPConfig) (*Optimizer, error) {
	return named("soap", &c, SOAPUpdate{B1: c.B1, B2: c.B2, ShampooBeta: c.ShampooBeta, Eps: c.Eps,
		WeightDecay: c.WeightDecay, Frequency: c.PreconditionFrequency, MaxDim: c.MaxPrecondDim,
		Precondition1D: c.Precondition1D, BiasCorrection: c.BiasCorrection, Eigh: c.Eigh})
}

// SOAPUpdate is SOAP's update; see SOAP for the equations. It produces the
// final update itself; M and V are its buffers of the parameter's shape, and
// L, Q_L (m×m) and R, Q_R (n×n) those of the sides that are preconditioned.
type SOAPUpdate struct {
	B1, B2, ShampooBeta, Eps, WeightDecay float64
	Frequency, MaxDim                     int
	Precondition1D, BiasCorrection, Eigh  bool
}

// Slots implements Transform: M and V (see StateSize for the matrices).
func (SOAPUpdate) Slots() int { return 2 }

// sides returns the matrix view [m, n] of a parameter of dims and which of its
// sides get a preconditioner.
func (o SOAPUpdate) sides(dims []int) (view []int, left, right bool) {
	sh := shampooShape(dims)
	if len(sh) == 1 {
		return []int{sh[0], 1}, o.Precondition1D && sh[0] > 1 && sh[0] <= o.MaxDim, false
	}
	m, n := sh[0], sh[1]
	return sh, m > 1 && m <= o.MaxDim, n > 1 && n <= o.MaxDim
}

// StateSize implements StateSizer.
func (o SOAPUpdate) StateSize(dims []int) int64 {
	view, left, right := o.sides(dims)
	n := 2 * numElems(dims)
	if left {
		n += 2 * int64(view[0]*view[0])
	}
	if right {
		n += 2 * int64(view[1]*view[1])
	}
	return n
}

// Apply implements Transform.
func (o SOAPUpdate) Apply(s *Step, u []*Node) []*Node {
	b1, b2, bs, eps, wd := s.Const(o.B1), s.Const(o.B2), s.Const(o.ShampooBeta), s.Const(o.Eps), s.Const(o.WeightDecay)
	var bc1, bc2Sqrt *Node
	if o.BiasCorrection {
		bc1, bc2Sqrt = s.OneMinusPow("b1", o.B1), Sqrt(s.OneMinusPow("b2", o.B2))
	}
	step := s.StepInt()
	refresh := Equal(Rem(step, Scalar(s.Graph(), step.DType(), o.Frequency)), ZerosLike(step))
	return mapEach(u, func(i int, g *Node) *Node {
		dims := g.Shape().Dimensions
		view, left, right := o.sides(dims)
		G := Reshape(g, view...)
		W := Reshape(s.Param(i), view...)
		var qL, qR *Node
		if left {
			qL = Where(s.First, eye(s.Graph(), s.DType(), view[0]), s.SlotWithShape("soap_QL", i, view[0], view[0]))
		}
		if right {
			qR = Where(s.First, eye(s.Graph(), s.DType(), view[1]), s.SlotWithShape("soap_QR", i, view[1], view[1]))
		}
		project := func(x *Node) *Node {
			if left {
				x = s.Einsum("ji,jk->ik", qL, x)
			}
			if right {
				x = s.Einsum("ij,jk->ik", x, qR)
			}
			return x
		}
		back := func(x *Node) *Node {
			if left {
				x = s.Einsum("ij,jk->ik", qL, x)
			}
			if right {
				x = s.Einsum("ij,kj->ik", x, qR)
			}
			return x
		}
		gp := project(G)
		m := Add(Mul(b1, Reshape(s.Slot("exp_avg", i, 0), view...)), Mul(OneMinus(b1), G))
		v := Add(Mul(b2, Reshape(s.Slot("exp_avg_sq", i, 0), view...)), Mul(OneMinus(b2), Square(gp)))
		s.SetSlot("exp_avg", i, Reshape(m, dims...))
		s.SetSlot("exp_avg_sq", i, Reshape(v, dims...))
		mp := project(m)
		var np *Node
		if o.BiasCorrection {
			np = Div(Div(mp, bc1), Add(Div(Sqrt(v), bc2Sqrt), eps))
		} else {
			np = Div(mp, Add(Sqrt(v), eps))
		}
		delta := Neg(Mul(s.LR, Add(back(np), Mul(wd, W))))
		if left {
			l := Add(Mul(bs, s.SlotWithShape("soap_L", i, view[0], view[0])), Mul(OneMinus(bs), s.Einsum("ij,kj->ik", G, G)))
			s.SetSlotWithShape("soap_L", i, l)
			s.SetSlotWithShape("soap_QL", i, Where(refresh, o.eigenbasis(s, l, qL, refresh), qL))
		}
		if right {
			r := Add(Mul(bs, s.SlotWithShape("soap_R", i, view[1], view[1])), Mul(OneMinus(bs), s.Einsum("ji,jk->ik", G, G)))
			s.SetSlotWithShape("soap_R", i, r)
			s.SetSlotWithShape("soap_QR", i, Where(refresh, o.eigenbasis(s, r, qR, refresh), qR))
		}
		return Reshape(delta, dims...)
	})
}

// eigenbasis returns the refreshed basis of the statistic p ([d, d]) from the
// previous basis q: Q of QR(p·q) (Algorithm 4), or p's eigenvectors by
// decreasing eigenvalue (eigh). Its loops run only when refresh is true.
func (o SOAPUpdate) eigenbasis(s *Step, p, q, refresh *Node) *Node {
	if o.Eigh {
		d := p.Shape().Dimensions[0]
		vals, vecs := symEig(Reshape(p, 1, d, d), refresh, s.serial)
		return Reshape(sortEigDescending(vals, vecs, s.serial), d, d)
	}
	return qrQ(s.Einsum("ij,jk->ik", p, q), q, refresh, s.serial)
}
