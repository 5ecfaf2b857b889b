package optimizers

// AdagradConfig configures Adagrad. Start from DefaultAdagradConfig: a zero
// field is taken as given. Each field's spec key is in its comment.
type AdagradConfig struct {
	LR                      float64 // lr: learning rate η
	LRDecay                 float64 // lr_decay: inverse-time decay of the rate
	WeightDecay             float64 // weight_decay: coupled L2 penalty λ
	InitialAccumulatorValue float64 // initial_accumulator_value: G_0
	Eps                     float64 // eps: ε added to the denominator
}

// DefaultAdagradConfig returns PyTorch's defaults: lr 0.01, ε 1e-10.
func DefaultAdagradConfig() AdagradConfig { return AdagradConfig{LR: 0.01, Eps: 1e-10} }

func (c *AdagradConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		floatParam("lr_decay", &c.LRDecay, "inverse-time decay of the rate", nonNegative),
		weightDecayParam(&c.WeightDecay, docCoupledWD),
		floatParam("initial_accumulator_value", &c.InitialAccumulatorValue, "initial value of G", nonNegative),
		epsParam(&c.Eps, docEpsDenom),
	}
}

// Adagrad divides each step by the root of the running sum of squared
// gradients (Duchi et al. 2011), as torch.optim.Adagrad computes it:
//
//	g ← g + λp;
//	η_t = η/(1 + (t − 1)·lr_decay);
//	G = G + g²;
//	p ← p − η_t·g/(√G + ε)
//
// Chain: AddWeightDecay, ScaleByAdagrad, ScaleByInverseTimeStep, ScaleByLearningRate.
func Adagrad(c AdagradConfig) (*Optimizer, error) {
	return named("adagrad", &c,
		AddWeightDecay{c.WeightDecay},
		ScaleByAdagrad{InitialAccumulator: c.InitialAccumulatorValue, Eps: c.Eps},
		ScaleByInverseTimeStep{c.LRDecay},
		ScaleByLearningRate{},
	)
}
