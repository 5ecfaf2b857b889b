package optimizers

// SGDConfig configures SGD and its presets Momentum and Nesterov. Start from
// DefaultSGDConfig (or DefaultMomentumConfig, DefaultNesterovConfig): zero is a
// meaningful value for most fields, so a zero field is taken as given, never
// replaced by a default. Each field's spec key is in its comment.
type SGDConfig struct {
	LR          float64 // lr: learning rate η
	Momentum    float64 // momentum: momentum coefficient μ
	Dampening   float64 // dampening: dampening τ of the momentum
	Nesterov    bool    // nesterov: Nesterov momentum
	WeightDecay float64 // weight_decay: coupled L2 penalty λ
}

// DefaultSGDConfig returns PyTorch's defaults: lr 0.01, no momentum.
func DefaultSGDConfig() SGDConfig { return SGDConfig{LR: 0.01} }

// DefaultMomentumConfig returns the defaults of the momentum preset: SGD with μ = 0.9.
func DefaultMomentumConfig() SGDConfig { return SGDConfig{LR: 0.01, Momentum: 0.9} }

// DefaultNesterovConfig returns the defaults of the nesterov preset: SGD with
// μ = 0.9 and Nesterov momentum.
func DefaultNesterovConfig() SGDConfig { return SGDConfig{LR: 0.01, Momentum: 0.9, Nesterov: true} }

func (c *SGDConfig) params() []param {
	return []param{
		lrParam(&c.LR),
		floatParam("momentum", &c.Momentum, "momentum coefficient μ", beta),
		floatParam("dampening", &c.Dampening, "dampening τ of the momentum", unitClosed),
		boolParam("nesterov", &c.Nesterov, "Nesterov momentum"),
		weightDecayParam(&c.WeightDecay, docCoupledWD),
	}
}

func (c *SGDConfig) check() (string, string) {
	if c.Nesterov && (c.Momentum == 0 || c.Dampening != 0) {
		return "nesterov", "needs momentum > 0 and dampening = 0"
	}
	return "", ""
}

// SGD is stochastic gradient descent with optional heavy-ball or Nesterov
// momentum and coupled weight decay, as torch.optim.SGD computes it:
//
//	d = g + λp;
//	b_1 = d, b_t = μ·b_{t−1} + (1 − τ)·d;
//	d ← b_t (or d + μ·b_t with Nesterov);
//	p ← p − η·d
//	(μ = 0: p ← p − η·d)
//
// Chain: AddWeightDecay, TraceMomentum, ScaleByLearningRate.
func SGD(c SGDConfig) (*Optimizer, error) { return named("sgd", &c, sgdChain(c)...) }

// Momentum is [SGD] under the name momentum, whose defaults have μ = 0.9.
func Momentum(c SGDConfig) (*Optimizer, error) { return named("momentum", &c, sgdChain(c)...) }

// Nesterov is [SGD] under the name nesterov, whose defaults have μ = 0.9 and
// Nesterov momentum.
func Nesterov(c SGDConfig) (*Optimizer, error) { return named("nesterov", &c, sgdChain(c)...) }

func sgdChain(c SGDConfig) []Transform {
	return []Transform{
		AddWeightDecay{c.WeightDecay},
		TraceMomentum{Momentum: c.Momentum, Dampening: c.Dampening, Nesterov: c.Nesterov},
		ScaleByLearningRate{},
	}
}
