package optimizers

// LAMBConfig configures LAMB. Start from DefaultLAMBConfig: a zero field is
// taken as given. Each field's spec key is in its comment.
type LAMBConfig struct {
	LR          float64 // lr: learning rate η
	B1          float64 // b1: decay β₁ of the first moment
	B2          float64 // b2: decay β₂ of the second moment
	Eps         float64 // eps: ε added to the denominator
	WeightDecay float64 // weight_decay: decoupled weight decay λ
}

// DefaultLAMBConfig returns the paper's defaults: lr 1e-3, β = (0.9, 0.999), ε 1e-6.
func DefaultLAMBConfig() LAMBConfig { return LAMBConfig{LR: 1e-3, B1: 0.9, B2: 0.999, Eps: 1e-6} }

func (c *LAMBConfig) params() []param {
	return []param{lrParam(&c.LR), b1Param(&c.B1, docB1), b2Param(&c.B2, docB2),
		epsParam(&c.Eps, docEpsDenom), weightDecayParam(&c.WeightDecay, docDecoupledWD)}
}

// LAMB is the layer-wise adaptive Adam for large batches (You et al. 2019,
// "Large Batch Optimization for Deep Learning", Algorithm 2, φ = identity): the
// Adam direction plus decay, scaled per parameter tensor by ‖p‖/‖r‖:
//
//	m, v, m̂, v̂ as Adam;
//	r = m̂/(√v̂ + ε) + λp;
//	p ← p − η·(‖p‖/‖r‖)·r
//
// Chain: ScaleByAdam, AddWeightDecay, ScaleByTrustRatio, ScaleByLearningRate.
func LAMB(c LAMBConfig) (*Optimizer, error) {
	return named("lamb", &c, ScaleByAdam{B1: c.B1, B2: c.B2, Eps: c.Eps},
		AddWeightDecay{c.WeightDecay}, ScaleByTrustRatio{}, ScaleByLearningRate{})
}
