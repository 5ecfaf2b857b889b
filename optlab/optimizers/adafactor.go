package optimizers

import . "github.com/gomlx/gomlx/core/graph" //nolint:revive // graph code reads like the equations.

// AdafactorConfig configures Adafactor. Start from DefaultAdafactorConfig: a
// zero field is taken as given. Each field's spec key is in its comment.
type AdafactorConfig struct {
	LR            float64 // lr: cap of the relative step size ρ_t
	DecayRate     float64 // decay_rate: β̂_t = 1 − t^(−decay_rate)
	Eps1          float64 // eps1: ε₁ added to g²
	Eps2          float64 // eps2: ε₂, lower bound of the parameter scale
	ClipThreshold float64 // clip_threshold: update clipping threshold d
}

// DefaultAdafactorConfig returns the paper's defaults: lr 0.01, decay rate 0.8,
// ε = (1e-30, 1e-3), d 1.
func DefaultAdafactorConfig() AdafactorConfig {
	return AdafactorConfig{LR: 0.01, DecayRate: 0.8, Eps1: 1e-30, Eps2: 1e-3, ClipThreshold: 1}
}

func (c *AdafactorConfig) params() []param {
	return []param{
		floatParam("lr", &c.LR, "cap of the relative step size ρ_t", positive).alias("learning_rate"),
		floatParam("decay_rate", &c.DecayRate, "β̂_t = 1 − t^(−decay_rate)", positive),
		floatParam("eps1", &c.Eps1, "added to g²", positive),
		floatParam("eps2", &c.Eps2, "lower bound of the parameter scale", positive),
		floatParam("clip_threshold", &c.ClipThreshold, "update clipping threshold d", positive),
	}
}

// Adafactor keeps factored second moments, row and column statistics for
// matrices, and takes relative step sizes scaled by the parameter's RMS (Shazeer
// & Stern 2018, "Adafactor: Adaptive Learning Rates with Sublinear Memory Cost",
// Algorithms 4 and 5, without momentum):
//
//	β̂ = 1 − t^(−decay_rate), ρ = min(η, 1/√t), α = max(ε₂, RMS(p))ρ;
//	matrices: R, C running row/column sums of g² + ε₁, V̂ = RC/ΣR;
//	vectors: V̂ running mean of g² + ε₁;
//	U = g/√V̂;
//	p ← p − α·U/max(1, RMS(U)/d)
//
// For a parameter of rank ≥ 2 the statistics are over its last two axes (n×m):
// n + m numbers instead of n·m.
//
// Chain: AdafactorUpdate.
func Adafactor(c AdafactorConfig) (*Optimizer, error) {
	return named("adafactor", &c, AdafactorUpdate{DecayRate: c.DecayRate, Eps1: c.Eps1, Eps2: c.Eps2, ClipThreshold: c.ClipThreshold})
}

// AdafactorUpdate is Adafactor's update; see Adafactor for the equations. It
// produces the final update itself.
type AdafactorUpdate struct {
	DecayRate, Eps1, Eps2, ClipThreshold float64
}

// Slots implements Transform: one buffer for vectors; matrices keep only their
// row and column statistics (see StateSize for the exact size).
func (AdafactorUpdate) Slots() int { return 1 }

// StateSize implements StateSizer: for rank ≥ 2, the row statistics (the
// parameter's shape without its last axis) and the column statistics
// (without its second-to-last axis); for vectors and scalars, one buffer.
func (AdafactorUpdate) StateSize(dims []int) int64 {
	r := len(dims)
	if r < 2 {
		return numElems(dims)
	}
	col := append(append([]int(nil), dims[:r-2]...), dims[r-1])
	return numElems(dims[:r-1]) + numElems(col)
}

// Apply implements Transform.
func (o AdafactorUpdate) Apply(s *Step, u []*Node) []*Node {
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
