package optimizers

// RMSpropConfig configures RMSprop. Start from DefaultRMSpropConfig: a zero
// field is taken as given. Keras's conventions are Keras: true with LR 1e-3,
// Rho 0.9 and Eps 1e-7, the defaults the spec key keras=true selects. Each
// field's spec key is in its comment.
type RMSpropConfig struct {
	LR          float64 // lr: learning rate η
	Rho         float64 // rho (alias alpha): decay ρ of the squared-gradient average
	Eps         float64 // eps: ε added to the denominator
	WeightDecay float64 // weight_decay: coupled L2 penalty λ
	Momentum    float64 // momentum: momentum coefficient μ
	Centered    bool    // centered: subtract the squared mean gradient
	Keras       bool    // keras: ε inside the square root
}

// DefaultRMSpropConfig returns PyTorch's defaults: lr 0.01, ρ 0.99, ε 1e-8.
func DefaultRMSpropConfig() RMSpropConfig { return RMSpropConfig{LR: 0.01, Rho: 0.99, Eps: 1e-8} }

// kerasRMSprop is the change keras=true makes to the defaults.
func kerasRMSprop(c *RMSpropConfig) { c.LR, c.Rho, c.Eps = 0.001, 0.9, 1e-7 }

func (c *RMSpropConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		floatParam("rho", &c.Rho, "decay ρ of the squared-gradient average (PyTorch's alpha)", beta).alias("alpha"),
		epsParam(&c.Eps, docEpsDenom),
		weightDecayParam(&c.WeightDecay, docCoupledWD),
		floatParam("momentum", &c.Momentum, "momentum coefficient μ", beta),
		boolParam("centered", &c.Centered, "subtract the squared mean gradient (centered RMSprop)"),
		boolParam("keras", &c.Keras, "Keras convention: ε inside the square root; defaults lr 1e-3, ρ 0.9, ε 1e-7"),
	}
}

// RMSprop divides the step by a running RMS of the gradients (Hinton's
// lecture 6e), plain or centered, with optional momentum, as
// torch.optim.RMSprop computes it:
//
//	g ← g + λp;
//	v = ρv + (1 − ρ)g²;
//	centered: m = ρm + (1 − ρ)g, v̄ = v − m²;
//	d = g/(√v̄ + ε) (keras: g/√(v̄ + ε));
//	momentum: b = μb + d, d ← b;
//	p ← p − η·d
//
// Chain: AddWeightDecay, ScaleByRMS, AccumulateMomentum, ScaleByLearningRate.
func RMSprop(c RMSpropConfig) (*Optimizer, error) {
	return named("rmsprop", &c,
		AddWeightDecay{c.WeightDecay},
		ScaleByRMS{Rho: c.Rho, Eps: c.Eps, Centered: c.Centered, EpsInside: c.Keras},
		AccumulateMomentum{c.Momentum},
		ScaleByLearningRate{},
	)
}
