// Package optimizers implements neural-network update rules as small composable
// gradient transformations written as GoMLX graph code, in the style of optax.
// It knows nothing of models, data sets, plots or the command line, and must not
// import them (nor any other optlab package but internal/spec): it depends on
// GoMLX and the standard library only.
//
// A named optimizer (sgd, adam, lion, ...) is a chain of transformations: each
// one maps the incoming update (initially the gradient g) to a new update, and
// the last one usually scales by the learning rate; the parameter then moves by
// the final update. PyTorch 1.13's conventions are the defaults, and the
// package's tests replay golden trajectories recorded with PyTorch (or, for
// rules PyTorch lacks, with a NumPy transcription of the paper).
//
// # Specs and typed constructors
//
// Optimizers are built from a spec string that reads the same in Go, on the
// command line and in notebooks:
//
//	adam(lr=1e-3,b1=0.9,b2=0.999,eps=1e-8)
//	sgd(lr=0.01,momentum=0.9,nesterov=true)
//	adamw(lr=3e-4,weight_decay=0.05,schedule=cosine(steps=10000,warmup=500),clip_norm=1)
//
// or in Go with the typed constructor of each named optimizer, one per name
// (adam: Adam, schedule_free_adamw: ScheduleFreeAdamW), as optax's alias.py:
//
//	c := optimizers.DefaultAdamConfig()
//	c.LR, c.B2 = 3e-4, 0.98
//	opt, err := optimizers.Adam(c)
//
// Defaults are written once, in DefaultXConfig functions: zero is a meaningful
// value for most hyperparameters (no momentum, no weight decay), so a config's
// zero fields are never replaced by defaults; start from DefaultXConfig and
// change what you need. Parse maps a spec's name to the constructor and its
// keys to the fields of the config (each key is bound to its field in one
// place, so a misspelt key is an error, never a silent zero), then calls the
// constructor; both validate the same way.
//
// The result is an *Optimizer, a value: String prints its canonical spec
// (Parse(o.String()) is equivalent), Family names it, Hyperparameters lists its
// values and defaults, Get reads one and With returns a validated copy with one
// changed, so nothing downstream re-parses a spec or edits its text. It
// implements GoMLX's optimizer.Interface and train.OptimizeWithGradients and
// can be handed to train.NewTrainer.
//
// New builds an optimizer from any transforms, for rules of your own (see the
// example of New); Chain groups transforms into one. The options every
// optimizer accepts are a learning-rate schedule (WithSchedule, schedule=...),
// gradient clipping (clip_value and clip_norm: ClipByValue and
// ClipByGlobalNorm placed at the head of the chain) and skipping of non-finite
// steps (WithSkipNonFinite, skip_nonfinite=true).
//
// Parameter groups (Group, WithGroup, group=NAME(key=value,...) in a spec,
// repeatable) give the variables whose path has the component NAME their own
// hyperparameters: each group runs its own chain, built by the typed
// constructor from the optimizer's configuration with the group's values;
// clipping acts on all gradients together first. A group matching no variable
// is an error when the update is built. An optimizer without groups has the
// canonical string it always had. A group's state is named with the prefix
// "group_NAME." (Step.Nested's mechanism, which also names a wrapper's base
// state "base.").
//
// UpdateGraphWithTelemetry builds the update together with its Telemetry:
// the learning rate applied, the gradient norm, per-variable weight and
// update norms and, for rules that divide by a running statistic
// (Step.ObserveStepSize), the effective per-parameter step sizes. UpdateGraph
// builds none of it. UpdateGraphWithLossFuncAndTelemetry does the same for
// optimizers that need a second gradient (sam).
//
// # Optimizers
//
// Notation: g gradient, p parameter, η learning rate, λ weight decay, t the
// optimizer's step (1 at the first update). Each rule is written once, in the
// doc comment of its typed constructor (named in brackets), and copied here
// and into `optlab optimizers --equations` by go generate (see
// internal/gendoc). Hyperparameters and defaults: `optlab optimizers`.
//
//	sgd                  d = g + λp;
//	                     b_1 = d, b_t = μ·b_{t−1} + (1 − τ)·d;
//	                     d ← b_t (or d + μ·b_t with Nesterov);
//	                     p ← p − η·d
//	                     (μ = 0: p ← p − η·d)
//	                     [SGD]
//	momentum             sgd with other defaults [Momentum]
//	nesterov             sgd with other defaults [Nesterov]
//	adagrad              g ← g + λp;
//	                     η_t = η/(1 + (t − 1)·lr_decay);
//	                     G = G + g²;
//	                     p ← p − η_t·g/(√G + ε)
//	                     [Adagrad]
//	adadelta             g ← g + λp;
//	                     v = ρv + (1 − ρ)g²;
//	                     δ = √(a + ε)/√(v + ε)·g;
//	                     a = ρa + (1 − ρ)δ²;
//	                     p ← p − η·δ
//	                     [Adadelta]
//	rmsprop              g ← g + λp;
//	                     v = ρv + (1 − ρ)g²;
//	                     centered: m = ρm + (1 − ρ)g, v̄ = v − m²;
//	                     d = g/(√v̄ + ε) (keras: g/√(v̄ + ε));
//	                     momentum: b = μb + d, d ← b;
//	                     p ← p − η·d
//	                     [RMSprop]
//	adam                 g ← g + λp;
//	                     m_t = β₁m + (1 − β₁)g,  v_t = β₂v + (1 − β₂)g²,
//	                     m̂ = m_t/(1 − β₁ᵗ),  v̂ = v_t/(1 − β₂ᵗ),  p ← p − η·m̂/(√v̂ + ε)
//	                     [Adam]
//	amsgrad              g ← g + λp;
//	                     m_t = β₁m + (1 − β₁)g,  v_t = β₂v + (1 − β₂)g²,  v_t ← max(v_{t−1}^max, v_t),
//	                     m̂ = m_t/(1 − β₁ᵗ),  v̂ = v_t/(1 − β₂ᵗ),  p ← p − η·m̂/(√v̂ + ε)
//	                     [AMSGrad]
//	adamw                p ← p·(1 − ηλ);
//	                     m_t = β₁m + (1 − β₁)g,  v_t = β₂v + (1 − β₂)g²,
//	                     m̂ = m_t/(1 − β₁ᵗ),  v̂ = v_t/(1 − β₂ᵗ),  p ← p − η·m̂/(√v̂ + ε)
//	                     [AdamW]
//	adamax               g ← g + λp;
//	                     m = β₁m + (1 − β₁)g;
//	                     u = max(β₂u, |g| + ε);
//	                     p ← p − η/(1 − β₁ᵗ)·m/u
//	                     [Adamax]
//	nadam                g ← g + λp;
//	                     μ_t = β₁(1 − ½·0.96^(tψ)),  Π_t = Π_{t−1}μ_t;
//	                     m, v as Adam;
//	                     d = √(v/(1 − β₂ᵗ)) + ε;
//	                     p ← p − η·[(1 − μ_t)/(1 − Π_t)·g/d + μ_{t+1}/(1 − Π_tμ_{t+1})·m/d]
//	                     [NAdam]
//	radam                g ← g + λp;
//	                     m, v as Adam;
//	                     ρ_t = ρ∞ − 2tβ₂ᵗ/(1 − β₂ᵗ);
//	                     ρ_t > 5: p ← p − η·r_t·m̂·√(1 − β₂ᵗ)/(√v + ε), else p ← p − η·m̂
//	                     [RAdam]
//	rprop                s = sign(g·g_prev);
//	                     Δ ← clip(Δ·(η₊ if s>0, η₋ if s<0, 1), Δmin, Δmax), Δ_0 = η;
//	                     g ← 0 where s<0;
//	                     p ← p − sign(g)·Δ
//	                     [Rprop]
//	asgd                 g ← g + λ_wd·p;
//	                     η_t = η/(1 + λη(t − 1))^α;
//	                     p ← p(1 − λη_t) − η_t·g;
//	                     ā ← ā + μ_t(p − ā)
//	                     [ASGD]
//	lion                 c = β₁m + (1 − β₁)g;
//	                     p ← p − η·(sign(c) + λp);
//	                     m = β₂m + (1 − β₂)g
//	                     [Lion]
//	lamb                 m, v, m̂, v̂ as Adam;
//	                     r = m̂/(√v̂ + ε) + λp;
//	                     p ← p − η·(‖p‖/‖r‖)·r
//	                     [LAMB]
//	lars                 λ_l = c·‖p‖/(‖g‖ + β‖p‖);
//	                     b = μb + η·λ_l·(g + βp);
//	                     p ← p − b
//	                     [LARS]
//	muon                 matrices: b = μb + g, d = g + μb (Nesterov) or b, O = NewtonSchulz₅(d/‖d‖_F), p ← p(1 − ηλ) − η·√max(1, fan_out/fan_in)·O;
//	                     other parameters: AdamW with rate adam_lr·η/η₀
//	                     [Muon]
//	schedule_free_adamw  y = (1 − β₁)z + β₁x;
//	                     v = β₂v + (1 − β₂)g²;
//	                     γ_t = η√(1 − β₂ᵗ)·min(1, t/warmup);
//	                     z ← z − γ_t·g/(√v + ε) − γ_tλy;
//	                     c = γ_t²/Σγ_i²;
//	                     x ← (1 − c)x + c·z;
//	                     p holds y
//	                     [ScheduleFreeAdamW]
//	adafactor            β̂ = 1 − t^(−decay_rate), ρ = min(η, 1/√t), α = max(ε₂, RMS(p))ρ;
//	                     matrices: R, C running row/column sums of g² + ε₁, V̂ = RC/ΣR;
//	                     vectors: V̂ running mean of g² + ε₁;
//	                     U = g/√V̂;
//	                     p ← p − α·U/max(1, RMS(U)/d)
//	                     [Adafactor]
//	adabelief            g ← g + λp (decoupled: p ← p − ηλp instead);
//	                     m = β₁m + (1 − β₁)g,  s = β₂s + (1 − β₂)(g − m)² + ε;
//	                     m̂ = m/(1 − β₁ᵗ),  ŝ = (s + ε)/(1 − β₂ᵗ) (form=authors: s/(1 − β₂ᵗ));
//	                     p ← p − η·m̂/(√ŝ + ε)
//	                     [AdaBelief]
//	yogi                 g ← g + λp;
//	                     m = β₁m + (1 − β₁)g;
//	                     v = v − (1 − β₂)·sign(v − g²)·g²;
//	                     p ← p − η·m/(√v + ε)   (bias_correction: p ← p − η·(m/(1 − β₁ᵗ))/(√v/√(1 − β₂ᵗ) + ε))
//	                     [Yogi]
//	adan                 Δ = g − g_prev;
//	                     m = b₁m + (1 − b₁)g,  v = b₂v + (1 − b₂)Δ,  n = b₃n + (1 − b₃)(g + b₂Δ)²;
//	                     u = (m + b₂v)/√(n + ε);
//	                     p ← (p − η·u)/(1 + ηλ)   (no_prox: p ← p(1 − ηλ) − η·u)
//	                     [Adan]
//	ademamix             m1 = β₁m1 + (1 − β₁)g,  m2 = β₃ₜm2 + (1 − β₃ₜ)g,  ν = β₂ν + (1 − β₂)g²;
//	                     m̂1 = m1/(1 − β₁ᵗ),  ν̂ = ν/(1 − β₂ᵗ);
//	                     p ← p − η·((m̂1 + αₜ·m2)/(√ν̂ + ε) + λp)
//	                     [AdEMAMix]
//	adopt                g ← g + λp (decoupled: p ← p − ηλp instead);
//	                     x = g/max(√v, ε)   (clip: x ← clamp(x, −t^¼, t^¼));
//	                     m = β₁m + (1 − β₁)x;
//	                     p ← p − η·m;
//	                     v = β₂v + (1 − β₂)g²
//	                     [ADOPT]
//	prodigy              γ = η (bias_correction: η·√(1 − β₂ᵗ)/(1 − β₁ᵗ));
//	                     m = β₁m + (1 − β₁)·d·g,  v = β₂v + (1 − β₂)·d²g²;
//	                     r = √β₂·r + (1 − √β₂)·γd²·Σ⟨g, p₀ − p⟩,  s = √β₂·s + (1 − √β₂)·γd²·g;
//	                     d̂ = d_coef·r/Σ‖s‖₁,  d' = max(d, d̂) (growth: min(d', growth·d));
//	                     p ← p − γd·(m/(√v + d·ε) + λp);  d ← d'
//	                     [Prodigy]
//	madgrad              g ← g + λp;
//	                     λₜ = η·√t;
//	                     s = s + λₜ·g,  ν = ν + λₜ·g²;
//	                     z = p₀ − s/(∛ν + ε);
//	                     p ← (1 − c)·p + c·z,  c = 1 − μ
//	                     [MADGRAD]
//	shampoo              matrices, per block G: L = L + G·Gᵀ,  R = R + Gᵀ·G,  U = L^(−1/4)·G·R^(−1/4);
//	                     vectors, per block g: H = H + g·gᵀ,  U = H^(−1/2)·g;
//	                     p ← p − η·U
//	                     [Shampoo]
//	soap                 G' = Q_Lᵀ·G·Q_R,  M = β₁M + (1 − β₁)G,  M' = Q_Lᵀ·M·Q_R,  V = β₂V + (1 − β₂)G'²;
//	                     N = Q_L·[(M'/(1 − β₁ᵗ))/(√V/√(1 − β₂ᵗ) + ε)]·Q_Rᵀ;
//	                     p ← p − η·(N + λp);
//	                     L = β_sL + (1 − β_s)G·Gᵀ,  R = β_sR + (1 − β_s)Gᵀ·G;
//	                     t mod f = 0: Q_L ← QR(L·Q_L),  Q_R ← QR(R·Q_R)
//	                     [SOAP]
//	lookahead            θ ← base step from p;
//	                     t mod k = 0: φ ← φ + α(θ − φ), θ ← φ;
//	                     p ← θ
//	                     [Lookahead]
//	sam                  g = ∇f(p);
//	                     e = ρ·g/‖g‖   (adaptive: e = ρ·T²g/‖Tg‖, T = |p| + η_a);
//	                     p ← base step from p with the gradient ∇f(p + e)
//	                     [SAM]
//	cautious             φ = 1[d ⊙ g > 0];
//	                     d ← d ⊙ φ/(mean(φ) + ε);
//	                     p ← p − η·d (then the base's decoupled decay, unmasked)
//	                     [Cautious]
//	ema                  p ← base step;
//	                     e = β·e + (1 − β)·p;
//	                     evaluate with e (debias: e/(1 − βᵗ))
//	                     [EMA]
//
// # Conventions
//
// PyTorch's defaults are used; keras=true on adam and rmsprop switches to
// Keras's conventions (ε added to √v before Adam's bias correction, i.e. the
// paper's ε̂; ε inside RMSprop's square root; ε = 1e-7; RMSprop ρ = 0.9 and
// η = 1e-3). Keras's RMSprop folds η into its momentum buffer; with a constant
// rate that is the same update, with a schedule it differs slightly.
//
// Rules PyTorch lacks (adabelief … soap, the wrappers) follow the paper's
// algorithm, with the paper's defaults (or the authors' where the paper gives
// none); where the authors' code differs in a way users meet (ε placement,
// initialisation), form=authors selects it (adabelief, adan, adopt). The
// constructors' doc comments list the differences; NEW_OPTIMIZERS.md in
// scripts/reference has the details and the sources.
//
// # Wrappers
//
// lookahead, sam, cautious and ema wrap another optimizer, given as a nested
// spec under the key base (in Go, the config's Base):
//
//	lookahead(base=adam(lr=1e-3),k=5,alpha=0.5)
//	sam(base=sgd(lr=0.1,momentum=0.9),rho=0.05)
//	ema(base=adamw(lr=1e-3,schedule=cosine(steps=1000)),decay=0.999)
//
// The base keeps its learning rate, schedule, clipping and skip_nonfinite (a
// wrapper rejects them at its own level), its parameter groups (group=...
// inside base=...; cautious accepts no base with groups), its step counter
// and its state, which lives under the prefix "base." of the wrapper's
// (Step.Nested), so wrappers nest. Get and With reach the base's keys ("lr",
// or "base.eps" where the wrapper has a key of that name); Args lists "base"
// (the base's canonical spec; Base returns it) and the wrapper's own keys.
// cautious needs a base whose update is p ← p − η·d. ema's average is read
// with AveragedVariable or swapped in for evaluation with SwapInAverage.
// Wrappers, shampoo and soap (like muon and adafactor) train alone, not in a
// population.
//
// sam needs the gradient at a second point every step (GradientsPerStep 2):
// drive it with UpdateGraphWithLossFunc, which takes the loss as a function
// that reads the variables and evaluates it twice; UpdateGraph and
// UpdateGraphWithGradients, which get one gradient, panic for it, so sam
// cannot take accumulated gradients.
//
// # Adding an optimizer
//
// Write a file with its config struct, DefaultXConfig, the params method that
// binds each spec key to a field, and the typed constructor X(XConfig) whose
// doc comment starts with the paper and the equations as its first code block
// and whose body is the chain of transforms (new transforms in the same file
// when the rule needs its own); add one register line to the table in
// registry.go; run go generate. Then verify it like the others: golden
// trajectories from a reference implementation or a NumPy transcription of the
// paper (scripts/reference), replayed by the conformance tests. So that the
// optimizer can train as a population, read every hyperparameter in Apply
// with Step.Hyper (or Hyper64 for quantities derived in float64) under its
// spec key instead of Step.Const, skip work only when Step.Zero says so,
// reduce with Step.SumAll and select on per-step conditions with
// Step.Select; then mark the transform Stackable (see Population) and add
// nothing else: TestPopulationMatchesSequential runs every registered
// optimizer that is stackable as a population and compares it with its runs
// alone.
//
// # Populations
//
// A Population updates K models at once, their variables stacked on a leading
// member axis, each member with its own optimizer of one shared Structure
// (family, booleans, which options are on) and its own numeric
// hyperparameters, fed per member as tensors rather than compiled in. An
// ordinary update is a population of none: Step.Hyper returns Const's scalar,
// Step.SumAll is ReduceAllSum, and the graph is the one it always was.
//
// # Steps and learning rates
//
// The base learning rate lives in GoMLX's learning-rate variable
// (optimizers.LearningRateVar, scope "optimizers", name "learning_rate"), so a
// runner may change it between steps (reduce-on-plateau) and GoMLX's own schedules
// keep working. A schedule given in the spec multiplies or replaces it as a
// function of GoMLX's global step counted before the current step (0 for the first
// update), which is what torch.optim.lr_scheduler gives after k calls of
// scheduler.step(). Each update also increments the global step. Bias corrections
// and other per-rule counters use the optimizer's own step counter t (1 at the
// first update), which does not advance on a step skipped for non-finite gradients.
//
// # State
//
// Per-parameter state buffers are non-trainable variables under the absolute scope
// "/optimizers/optlab", mirroring the trainable variable's scope; their count per
// parameter is StateSlots and their size StateBytes, and MeasureStateBytes sums
// what a context actually holds. Rules whose state is not a whole number of
// parameter-shaped buffers (shampoo's and soap's preconditioner matrices,
// adafactor's factored statistics, muon) report it exactly through
// StateBytesFor, which takes the parameters' shapes.
package optimizers

//go:generate go run ./internal/gendoc/cmd/gendoc
