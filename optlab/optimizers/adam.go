package optimizers

// AdamConfig configures Adam, AMSGrad and AdamW. Start from DefaultAdamConfig
// (DefaultAMSGradConfig, DefaultAdamWConfig): zero is a meaningful value for most
// fields, so a zero field is taken as given. Keras's conventions are Keras: true
// with Eps: 1e-7, the defaults the spec key keras=true selects. Each field's spec
// key is in its comment.
type AdamConfig struct {
	LR             float64 // lr: learning rate η
	B1             float64 // b1: decay β₁ of the first moment
	B2             float64 // b2: decay β₂ of the second moment
	Eps            float64 // eps: ε added to the denominator
	WeightDecay    float64 // weight_decay: λ, coupled (Adam, AMSGrad) or decoupled (AdamW)
	AMSGrad        bool    // amsgrad: divide by the running maximum of v_t
	BiasCorrection bool    // bias_correction: divide the moments by (1 − βᵗ)
	Keras          bool    // keras: Keras's ε placement (see ScaleByAdam)
}

// DefaultAdamConfig returns PyTorch's defaults: lr 1e-3, β = (0.9, 0.999), ε 1e-8.
func DefaultAdamConfig() AdamConfig {
	return AdamConfig{LR: 1e-3, B1: 0.9, B2: 0.999, Eps: 1e-8, BiasCorrection: true}
}

// DefaultAMSGradConfig returns Adam's defaults with AMSGrad on.
func DefaultAMSGradConfig() AdamConfig {
	c := DefaultAdamConfig()
	c.AMSGrad = true
	return c
}

// DefaultAdamWConfig returns PyTorch's AdamW defaults: Adam's, with weight decay 0.01.
func DefaultAdamWConfig() AdamConfig {
	c := DefaultAdamConfig()
	c.WeightDecay = 0.01
	return c
}

// kerasAdam is the change keras=true makes to the defaults.
func kerasAdam(c *AdamConfig) { c.Eps = 1e-7 }

func (c *AdamConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		b1Param(&c.B1, docB1),
		b2Param(&c.B2, docB2),
		epsParam(&c.Eps, docEpsDenom),
		weightDecayParam(&c.WeightDecay, "weight decay λ"),
		boolParam("amsgrad", &c.AMSGrad, "keep the maximum of v_t (AMSGrad)"),
		boolParam("bias_correction", &c.BiasCorrection, "divide the moments by (1 − βᵗ); turn off to see why it matters"),
		boolParam("keras", &c.Keras, "Keras convention: ε added to √v_t before bias correction (ε̂ of the paper), default ε 1e-7"),
	}
}

func (c AdamConfig) scaleByAdam() ScaleByAdam {
	return ScaleByAdam{B1: c.B1, B2: c.B2, Eps: c.Eps, AMSGrad: c.AMSGrad, NoBiasCorrection: !c.BiasCorrection, Keras: c.Keras}
}

// Adam is Kingma & Ba's adaptive moments with coupled weight decay, as
// torch.optim.Adam computes it:
//
//	g ← g + λp;
//	m_t = β₁m + (1 − β₁)g,  v_t = β₂v + (1 − β₂)g²,
//	m̂ = m_t/(1 − β₁ᵗ),  v̂ = v_t/(1 − β₂ᵗ),  p ← p − η·m̂/(√v̂ + ε)
//
// ScaleByAdam gives the AMSGrad, Keras and no-bias-correction forms.
// Chain: AddWeightDecay, ScaleByAdam, ScaleByLearningRate.
func Adam(c AdamConfig) (*Optimizer, error) {
	return named("adam", &c, AddWeightDecay{c.WeightDecay}, c.scaleByAdam(), ScaleByLearningRate{})
}

// AMSGrad is Adam dividing by the running maximum of the second moment (Reddi
// et al. 2018), torch.optim.Adam with amsgrad=True:
//
//	g ← g + λp;
//	m_t = β₁m + (1 − β₁)g,  v_t = β₂v + (1 − β₂)g²,  v_t ← max(v_{t−1}^max, v_t),
//	m̂ = m_t/(1 − β₁ᵗ),  v̂ = v_t/(1 − β₂ᵗ),  p ← p − η·m̂/(√v̂ + ε)
//
// Chain: Adam's; DefaultAMSGradConfig sets AMSGrad.
func AMSGrad(c AdamConfig) (*Optimizer, error) {
	return named("amsgrad", &c, AddWeightDecay{c.WeightDecay}, c.scaleByAdam(), ScaleByLearningRate{})
}

// AdamW is Adam with decoupled weight decay (Loshchilov & Hutter 2019), as
// torch.optim.AdamW computes it:
//
//	p ← p·(1 − ηλ);
//	m_t = β₁m + (1 − β₁)g,  v_t = β₂v + (1 − β₂)g²,
//	m̂ = m_t/(1 − β₁ᵗ),  v̂ = v_t/(1 − β₂ᵗ),  p ← p − η·m̂/(√v̂ + ε)
//
// Chain: ScaleByAdam, ScaleByLearningRate, DecoupledWeightDecay.
func AdamW(c AdamConfig) (*Optimizer, error) {
	return named("adamw", &c, c.scaleByAdam(), ScaleByLearningRate{}, DecoupledWeightDecay{c.WeightDecay})
}
