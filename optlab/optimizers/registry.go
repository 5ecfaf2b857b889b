package optimizers

import (
	"sort"
)

// optDef describes one named optimizer: its hyperparameters, documentation and
// how its chain of transformations is built from their values.
type optDef struct {
	name, summary, equations, reference string
	params                              []paramDef
	// check validates combinations of values; it returns the offending key.
	check func(v values) (key, msg string)
	chain func(v values) []Transform
}

// Common hyperparameters.
var (
	pWeightDecay = floatParam("weight_decay", 0, "L2 penalty coefficient added to the gradient (coupled)", nonNegative)
	pB1          = floatParam("b1", 0.9, "decay of the first-moment average", beta).alias("beta1")
	pB2          = floatParam("b2", 0.999, "decay of the second-moment average", beta).alias("beta2")
)

func lrParam(def float64) paramDef {
	return floatParam("lr", def, "learning rate", positive).alias("learning_rate")
}

func epsParam(def float64, doc string) paramDef {
	return floatParam("eps", def, doc, positive).alias("epsilon")
}

func sgdDef(name, summary string, momentum float64, nesterov bool) *optDef {
	return &optDef{
		name: name, summary: summary,
		equations: "d = g + λp;  b_1 = d, b_t = μ·b_{t−1} + (1 − τ)·d;  " +
			"d ← b_t (or d + μ·b_t with Nesterov);  p ← p − η·d  (μ = 0: p ← p − η·d)",
		reference: "torch.optim.SGD",
		params: []paramDef{
			lrParam(0.01),
			floatParam("momentum", momentum, "momentum coefficient μ", beta),
			floatParam("dampening", 0, "dampening τ of the momentum", unitClosed),
			boolParam("nesterov", nesterov, "Nesterov momentum"),
			pWeightDecay,
		},
		check: func(v values) (string, string) {
			if v.num["nesterov"] != 0 && (v.num["momentum"] == 0 || v.num["dampening"] != 0) {
				return "nesterov", "needs momentum > 0 and dampening = 0"
			}
			return "", ""
		},
		chain: func(v values) []Transform {
			return []Transform{
				AddWeightDecay{v.num["weight_decay"]},
				TraceMomentum{Momentum: v.num["momentum"], Dampening: v.num["dampening"], Nesterov: v.num["nesterov"] != 0},
				ScaleByLearningRate{},
			}
		},
	}
}

func adamDef(name, summary string, lr float64, amsgrad bool, decoupled bool, wd float64) *optDef {
	eq := "m_t = β₁m + (1 − β₁)g,  v_t = β₂v + (1 − β₂)g²,  "
	if amsgrad {
		eq += "v_t ← max(v_{t−1}^max, v_t),  "
	}
	eq += "m̂ = m_t/(1 − β₁ᵗ),  v̂ = v_t/(1 − β₂ᵗ),  p ← p − η·m̂/(√v̂ + ε)"
	if decoupled {
		eq = "p ← p·(1 − ηλ);  " + eq
	} else {
		eq = "g ← g + λp;  " + eq
	}
	ref := "torch.optim.Adam"
	if decoupled {
		ref = "torch.optim.AdamW"
	}
	params := []paramDef{
		lrParam(lr), pB1, pB2,
		epsParam(1e-8, "added to the denominator").keras(1e-7),
		floatParam("weight_decay", wd, "weight decay λ", nonNegative),
		boolParam("amsgrad", amsgrad, "keep the maximum of v_t (AMSGrad)"),
		boolParam("bias_correction", true, "divide the moments by (1 − βᵗ); turn off to see why it matters"),
		boolParam("keras", false, "Keras convention: ε added to √v_t before bias correction (ε̂ of the paper), default ε 1e-7"),
	}
	return &optDef{
		name: name, summary: summary, equations: eq, reference: ref, params: params,
		chain: func(v values) []Transform {
			adam := ScaleByAdam{B1: v.num["b1"], B2: v.num["b2"], Eps: v.num["eps"],
				AMSGrad: v.num["amsgrad"] != 0, NoBiasCorrection: v.num["bias_correction"] == 0, Keras: v.num["keras"] != 0}
			if decoupled {
				return []Transform{adam, ScaleByLearningRate{}, DecoupledWeightDecay{v.num["weight_decay"]}}
			}
			return []Transform{AddWeightDecay{v.num["weight_decay"]}, adam, ScaleByLearningRate{}}
		},
	}
}

// optimizerDefs returns the definitions of every named optimizer.
func optimizerDefs() []*optDef {
	return []*optDef{
		sgdDef("sgd", "stochastic gradient descent, optionally with momentum, Nesterov momentum and weight decay", 0, false),
		sgdDef("momentum", "SGD with heavy-ball momentum (sgd with momentum=0.9)", 0.9, false),
		sgdDef("nesterov", "SGD with Nesterov momentum (sgd with momentum=0.9,nesterov=true)", 0.9, true),
		{
			name: "adagrad", summary: "per-parameter rates shrinking with the sum of squared gradients",
			equations: "g ← g + λp;  η_t = η/(1 + (t − 1)·lr_decay);  G = G + g²;  p ← p − η_t·g/(√G + ε)",
			reference: "torch.optim.Adagrad",
			params: []paramDef{
				lrParam(0.01),
				floatParam("lr_decay", 0, "inverse-time decay of the rate", nonNegative),
				pWeightDecay,
				floatParam("initial_accumulator_value", 0, "initial value of G", nonNegative),
				epsParam(1e-10, "added to the denominator"),
			},
			chain: func(v values) []Transform {
				return []Transform{
					AddWeightDecay{v.num["weight_decay"]},
					ScaleByAdagrad{InitialAccumulator: v.num["initial_accumulator_value"], Eps: v.num["eps"]},
					ScaleByInverseTimeStep{v.num["lr_decay"]},
					ScaleByLearningRate{},
				}
			},
		},
		{
			name: "adadelta", summary: "Adagrad's successor with no global rate: ratio of running RMS of updates and gradients",
			equations: "g ← g + λp;  v = ρv + (1 − ρ)g²;  δ = √(a + ε)/√(v + ε)·g;  a = ρa + (1 − ρ)δ²;  p ← p − η·δ",
			reference: "torch.optim.Adadelta",
			params: []paramDef{
				lrParam(1.0),
				floatParam("rho", 0.9, "decay of the running averages", beta),
				epsParam(1e-6, "added inside both square roots"),
				pWeightDecay,
			},
			chain: func(v values) []Transform {
				return []Transform{
					AddWeightDecay{v.num["weight_decay"]},
					ScaleByAdadelta{Rho: v.num["rho"], Eps: v.num["eps"]},
					ScaleByLearningRate{},
				}
			},
		},
		{
			name: "rmsprop", summary: "divides the step by a running RMS of the gradients (plain or centered, optional momentum)",
			equations: "g ← g + λp;  v = ρv + (1 − ρ)g²;  centered: m = ρm + (1 − ρ)g, v̄ = v − m²;  " +
				"d = g/(√v̄ + ε) (keras: g/√(v̄ + ε));  momentum: b = μb + d, d ← b;  p ← p − η·d",
			reference: "torch.optim.RMSprop",
			params: []paramDef{
				lrParam(0.01).keras(0.001),
				floatParam("rho", 0.99, "decay ρ of the squared-gradient average (PyTorch's alpha)", beta).alias("alpha").keras(0.9),
				epsParam(1e-8, "added to the denominator").keras(1e-7),
				pWeightDecay,
				floatParam("momentum", 0, "momentum coefficient μ", beta),
				boolParam("centered", false, "subtract the squared mean gradient (centered RMSprop)"),
				boolParam("keras", false, "Keras convention: ε inside the square root; defaults lr 1e-3, ρ 0.9, ε 1e-7"),
			},
			chain: func(v values) []Transform {
				return []Transform{
					AddWeightDecay{v.num["weight_decay"]},
					ScaleByRMS{Rho: v.num["rho"], Eps: v.num["eps"], Centered: v.num["centered"] != 0, EpsInside: v.num["keras"] != 0},
					AccumulateMomentum{v.num["momentum"]},
					ScaleByLearningRate{},
				}
			},
		},
		adamDef("adam", "adaptive moments: momentum on the gradient, per-parameter scale from its second moment", 1e-3, false, false, 0),
		adamDef("amsgrad", "Adam that divides by the running maximum of the second moment (adam with amsgrad=true)", 1e-3, true, false, 0),
		adamDef("adamw", "Adam with decoupled weight decay", 1e-3, false, true, 0.01),
		{
			name: "adamax", summary: "Adam with the infinity norm in place of the second moment",
			equations: "g ← g + λp;  m = β₁m + (1 − β₁)g;  u = max(β₂u, |g| + ε);  p ← p − η/(1 − β₁ᵗ)·m/u",
			reference: "torch.optim.Adamax",
			params:    []paramDef{lrParam(2e-3), pB1, pB2, epsParam(1e-8, "added to |g|"), pWeightDecay},
			chain: func(v values) []Transform {
				return []Transform{
					AddWeightDecay{v.num["weight_decay"]},
					ScaleByAdamax{B1: v.num["b1"], B2: v.num["b2"], Eps: v.num["eps"]},
					ScaleByLearningRate{},
				}
			},
		},
		{
			name: "nadam", summary: "Adam with Nesterov momentum and a warming momentum schedule",
			equations: "g ← g + λp;  μ_t = β₁(1 − ½·0.96^(tψ)),  Π_t = Π_{t−1}μ_t;  m, v as Adam;  d = √(v/(1 − β₂ᵗ)) + ε;  " +
				"p ← p − η·[(1 − μ_t)/(1 − Π_t)·g/d + μ_{t+1}/(1 − Π_tμ_{t+1})·m/d]",
			reference: "torch.optim.NAdam (≥ 2.0 / foreach form; see ScaleByNAdam)",
			params: []paramDef{lrParam(2e-3), pB1, pB2, epsParam(1e-8, "added to the denominator"), pWeightDecay,
				floatParam("momentum_decay", 4e-3, "ψ of the momentum schedule", nonNegative)},
			chain: func(v values) []Transform {
				return []Transform{
					AddWeightDecay{v.num["weight_decay"]},
					ScaleByNAdam{B1: v.num["b1"], B2: v.num["b2"], Eps: v.num["eps"], MomentumDecay: v.num["momentum_decay"]},
					ScaleByLearningRate{},
				}
			},
		},
		{
			name: "radam", summary: "rectified Adam: plain momentum SGD until the variance estimate is trustworthy",
			equations: "g ← g + λp;  m, v as Adam;  ρ_t = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ);  ρ_t > 5: p ← p − η·r_t·m̂·√(1 − β₂ᵗ)/(√v + ε), else p ← p − η·m̂",
			reference: "torch.optim.RAdam",
			params:    []paramDef{lrParam(1e-3), pB1, pB2, epsParam(1e-8, "added to the denominator"), pWeightDecay},
			chain: func(v values) []Transform {
				return []Transform{
					AddWeightDecay{v.num["weight_decay"]},
					ScaleByRAdam{B1: v.num["b1"], B2: v.num["b2"], Eps: v.num["eps"]},
					ScaleByLearningRate{},
				}
			},
		},
		{
			name: "rprop", summary: "resilient propagation: sign-based steps whose sizes grow or shrink with gradient agreement (full-batch)",
			equations: "s = sign(g·g_prev);  Δ ← clip(Δ·(η₊ if s>0, η₋ if s<0, 1), Δmin, Δmax), Δ_0 = η;  g ← 0 where s<0;  p ← p − sign(g)·Δ",
			reference: "torch.optim.Rprop",
			params: []paramDef{
				lrParam(0.01),
				floatParam("eta_minus", 0.5, "step-size shrink factor η₋", unitOpen),
				floatParam("eta_plus", 1.2, "step-size growth factor η₊", greaterThanOne),
				floatParam("step_min", 1e-6, "smallest step size", positive),
				floatParam("step_max", 50, "largest step size", positive),
			},
			check: func(v values) (string, string) {
				if v.num["step_min"] > v.num["step_max"] {
					return "step_min", "must not exceed step_max"
				}
				return "", ""
			},
			chain: func(v values) []Transform {
				return []Transform{Rprop{EtaMinus: v.num["eta_minus"], EtaPlus: v.num["eta_plus"],
					StepMin: v.num["step_min"], StepMax: v.num["step_max"]}}
			},
		},
		{
			name: "asgd", summary: "averaged SGD: decaying-rate SGD that also keeps a running average of the iterates",
			equations: "g ← g + λ_wd·p;  η_t = η/(1 + λη(t − 1))^α;  p ← p(1 − λη_t) − η_t·g;  ā ← ā + μ_t(p − ā)",
			reference: "torch.optim.ASGD",
			params: []paramDef{
				lrParam(0.01),
				floatParam("lambd", 1e-4, "decay term λ", nonNegative),
				floatParam("alpha", 0.75, "power α of the rate decay", nonNegative),
				floatParam("t0", 1e6, "update at which averaging starts", nonNegative),
				pWeightDecay,
			},
			chain: func(v values) []Transform {
				return []Transform{AddWeightDecay{v.num["weight_decay"]},
					ASGD{Lambda: v.num["lambd"], Alpha: v.num["alpha"], T0: v.num["t0"]}}
			},
		},
		{
			name: "lion", summary: "evolved sign momentum: the update is the sign of an interpolated momentum (Chen et al. 2023)",
			equations: "c = β₁m + (1 − β₁)g;  p ← p − η·(sign(c) + λp);  m = β₂m + (1 − β₂)g",
			reference: "Chen et al. 2023, Symbolic Discovery of Optimization Algorithms, Algorithm 2",
			params: []paramDef{lrParam(1e-4), floatParam("b1", 0.9, "interpolation of the update direction", beta).alias("beta1"),
				floatParam("b2", 0.99, "decay of the momentum", beta).alias("beta2"),
				floatParam("weight_decay", 0, "decoupled weight decay λ", nonNegative)},
			chain: func(v values) []Transform {
				return []Transform{ScaleByLion{B1: v.num["b1"], B2: v.num["b2"]}, AddWeightDecay{v.num["weight_decay"]}, ScaleByLearningRate{}}
			},
		},
		{
			name: "lamb", summary: "layer-wise adaptive Adam for large batches: Adam direction scaled by ‖p‖/‖update‖ (You et al. 2019)",
			equations: "m, v, m̂, v̂ as Adam;  r = m̂/(√v̂ + ε) + λp;  p ← p − η·(‖p‖/‖r‖)·r",
			reference: "You et al. 2019, Large Batch Optimization for Deep Learning, Algorithm 2",
			params: []paramDef{lrParam(1e-3), pB1, pB2, epsParam(1e-6, "added to the denominator"),
				floatParam("weight_decay", 0, "decoupled weight decay λ", nonNegative)},
			chain: func(v values) []Transform {
				return []Transform{ScaleByAdam{B1: v.num["b1"], B2: v.num["b2"], Eps: v.num["eps"]},
					AddWeightDecay{v.num["weight_decay"]}, ScaleByTrustRatio{}, ScaleByLearningRate{}}
			},
		},
		{
			name: "lars", summary: "layer-wise adaptive rate scaling with momentum for large-batch SGD (You et al. 2017)",
			equations: "λ_l = c·‖p‖/(‖g‖ + β‖p‖);  b = μb + η·λ_l·(g + βp);  p ← p − b",
			reference: "You et al. 2017, Large Batch Training of Convolutional Networks, Algorithm 1",
			params: []paramDef{lrParam(1.0), floatParam("momentum", 0.9, "momentum coefficient μ", beta),
				floatParam("weight_decay", 0, "weight decay β", nonNegative),
				floatParam("trust_coefficient", 1e-3, "trust coefficient c", positive)},
			chain: func(v values) []Transform {
				return []Transform{ScaleByLARS{TrustCoefficient: v.num["trust_coefficient"], WeightDecay: v.num["weight_decay"]},
					ScaleByLearningRate{}, TraceMomentum{Momentum: v.num["momentum"]}}
			},
		},
		{
			name: "muon", summary: "momentum orthogonalized by Newton–Schulz for matrix parameters, AdamW for the others (Jordan et al. 2024)",
			equations: "matrices: b = μb + g, d = g + μb (Nesterov) or b, O = NewtonSchulz₅(d/‖d‖_F), " +
				"p ← p(1 − ηλ) − η·√max(1, fan_out/fan_in)·O;  other parameters: AdamW with rate adam_lr·η/η₀",
			reference: "Jordan et al. 2024, Muon (modded-nanogpt reference implementation)",
			params: []paramDef{lrParam(0.02), floatParam("momentum", 0.95, "momentum coefficient μ", beta),
				boolParam("nesterov", true, "Nesterov momentum"),
				intParam("ns_steps", 5, "Newton–Schulz iterations (at most 50)", func(v float64) string {
					if v < 1 || v > 50 {
						return "must be in [1, 50]"
					}
					return ""
				}),
				floatParam("weight_decay", 0, "decoupled weight decay λ", nonNegative),
				floatParam("adam_lr", 3e-4, "base learning rate of the non-matrix parameters (AdamW)", positive),
				pB1, pB2, epsParam(1e-8, "AdamW's ε for the non-matrix parameters")},
			chain: func(v values) []Transform {
				return []Transform{Muon{Momentum: v.num["momentum"], Nesterov: v.num["nesterov"] != 0,
					NSSteps: int(v.num["ns_steps"]), WeightDecay: v.num["weight_decay"],
					AdamLR: v.num["adam_lr"], B1: v.num["b1"], B2: v.num["b2"], Eps: v.num["eps"]}}
			},
		},
		{
			name: "schedule_free_adamw", summary: "schedule-free AdamW: interpolates an SGD-like sequence and its average, no decay schedule needed (Defazio et al. 2024)",
			equations: "y = (1 − β₁)z + β₁x;  v = β₂v + (1 − β₂)g²;  γ_t = η√(1 − β₂ᵗ)·min(1, t/warmup);  " +
				"z ← z − γ_t·g/(√v + ε) − γ_tλy;  c = γ_t²/Σγ_i²;  x ← (1 − c)x + c·z;  p holds y",
			reference: "Defazio et al. 2024, The Road Less Scheduled, Algorithm 1",
			params: []paramDef{lrParam(0.0025), pB1, pB2, epsParam(1e-8, "added to the denominator"),
				floatParam("weight_decay", 0, "weight decay λ (applied at y)", nonNegative),
				intParam("warmup", 0, "linear warm-up updates of γ", nonNegative)},
			chain: func(v values) []Transform {
				return []Transform{ScheduleFreeAdamW{B1: v.num["b1"], B2: v.num["b2"], Eps: v.num["eps"],
					WeightDecay: v.num["weight_decay"], Warmup: int(v.num["warmup"])}}
			},
		},
		{
			name: "adafactor", summary: "factored second moments (row and column statistics for matrices), relative step sizes (Shazeer & Stern 2018)",
			equations: "β̂ = 1 − t^(−decay_rate), ρ = min(η, 1/√t), α = max(ε₂, RMS(p))ρ;  matrices: R, C running row/column sums of g² + ε₁, " +
				"V̂ = RC/ΣR;  vectors: V̂ running mean of g² + ε₁;  U = g/√V̂;  p ← p − α·U/max(1, RMS(U)/d)",
			reference: "Shazeer & Stern 2018, Adafactor, Algorithms 4 and 5 (no momentum)",
			params: []paramDef{floatParam("lr", 0.01, "cap of the relative step size ρ_t", positive).alias("learning_rate"),
				floatParam("decay_rate", 0.8, "β̂_t = 1 − t^(−decay_rate)", positive),
				floatParam("eps1", 1e-30, "added to g²", positive),
				floatParam("eps2", 1e-3, "lower bound of the parameter scale", positive),
				floatParam("clip_threshold", 1, "update clipping threshold d", positive)},
			chain: func(v values) []Transform {
				return []Transform{Adafactor{DecayRate: v.num["decay_rate"], Eps1: v.num["eps1"], Eps2: v.num["eps2"],
					ClipThreshold: v.num["clip_threshold"]}}
			},
		},
	}
}

// Info describes a named optimizer or schedule for listings and help text.
type Info struct {
	// Name is the spec name, e.g. "adam".
	Name string
	// Summary is a one-line description.
	Summary string
	// Equations is the update rule in plain notation.
	Equations string
	// Reference names the implementation or paper the rule follows.
	Reference string
	// Params lists the hyperparameters in canonical order.
	Params []ParamInfo
	// StateSlots is the number of per-parameter buffers the optimizer keeps with
	// its default hyperparameters (0 for schedules).
	StateSlots int
}

// ParamInfo describes one hyperparameter.
type ParamInfo struct {
	Key     string
	Aliases []string
	// Default is the default in spec syntax, with the Keras default noted when it differs.
	Default string
	Doc     string
}

func paramInfos(ps []paramDef) []ParamInfo {
	out := make([]ParamInfo, len(ps))
	for i, p := range ps {
		out[i] = ParamInfo{Key: p.key, Aliases: p.aliases, Default: p.defaultString(), Doc: p.doc}
	}
	return out
}

// List returns every named optimizer with its hyperparameters, in a stable order.
func List() []Info {
	var out []Info
	for _, d := range optimizerDefs() {
		slots := 0
		if o, err := Parse(d.name); err == nil {
			slots = o.StateSlots()
		}
		out = append(out, Info{Name: d.name, Summary: d.summary, Equations: d.equations,
			Reference: d.reference, Params: paramInfos(d.params), StateSlots: slots})
	}
	return out
}

// ListSchedules returns every learning-rate schedule with its parameters.
func ListSchedules() []Info {
	var out []Info
	for _, d := range schedules() {
		out = append(out, Info{Name: d.name, Summary: d.summary, Equations: d.equation, Params: paramInfos(d.params)})
	}
	return out
}

// GeneralOptions describes the keys every optimizer spec accepts besides its own
// hyperparameters.
func GeneralOptions() []ParamInfo {
	return []ParamInfo{
		{Key: "schedule", Default: "constant()", Doc: "learning-rate schedule, e.g. cosine(steps=1000,warmup=100)"},
		{Key: "clip_norm", Default: "0", Doc: "rescale gradients to this global L2 norm at most (0: off)"},
		{Key: "clip_value", Default: "0", Doc: "clamp gradient elements to [-clip_value, clip_value] (0: off)"},
		{Key: "skip_nonfinite", Default: "false", Doc: "skip updates whose gradients are not all finite"},
	}
}

// Names returns the optimizer names, sorted.
func Names() []string {
	var out []string
	for _, d := range optimizerDefs() {
		out = append(out, d.name)
	}
	sort.Strings(out)
	return out
}

func findOpt(name string) *optDef {
	for _, d := range optimizerDefs() {
		if d.name == name {
			return d
		}
	}
	return nil
}

func findSched(name string) *schedDef {
	for _, d := range schedules() {
		if d.name == name {
			return d
		}
	}
	return nil
}
