package optimizers

// LARSConfig configures LARS. Start from DefaultLARSConfig: a zero field is
// taken as given. Each field's spec key is in its comment.
type LARSConfig struct {
	LR               float64 // lr: learning rate η
	Momentum         float64 // momentum: momentum coefficient μ
	WeightDecay      float64 // weight_decay: weight decay β
	TrustCoefficient float64 // trust_coefficient: trust coefficient c
}

// DefaultLARSConfig returns the paper's defaults: lr 1, μ 0.9, c 1e-3.
func DefaultLARSConfig() LARSConfig {
	return LARSConfig{LR: 1.0, Momentum: 0.9, TrustCoefficient: 1e-3}
}

func (c *LARSConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		floatParam("momentum", &c.Momentum, "momentum coefficient μ", beta),
		weightDecayParam(&c.WeightDecay, "weight decay β"),
		floatParam("trust_coefficient", &c.TrustCoefficient, "trust coefficient c", positive),
	}
}

// LARS is layer-wise adaptive rate scaling with momentum for large-batch SGD
// (You et al. 2017, "Large Batch Training of Convolutional Networks",
// Algorithm 1):
//
//	λ_l = c·‖p‖/(‖g‖ + β‖p‖);
//	b = μb + η·λ_l·(g + βp);
//	p ← p − b
//
// Chain: ScaleByLARS, ScaleByLearningRate, TraceMomentum.
func LARS(c LARSConfig) (*Optimizer, error) {
	return named("lars", &c, ScaleByLARS{TrustCoefficient: c.TrustCoefficient, WeightDecay: c.WeightDecay},
		ScaleByLearningRate{}, TraceMomentum{Momentum: c.Momentum})
}
