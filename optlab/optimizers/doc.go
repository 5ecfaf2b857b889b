// Package optimizers implements neural-network update rules as small composable
// gradient transformations written as GoMLX graph code, in the style of optax.
//
// A named optimizer (sgd, adam, lion, ...) is a chain of transformations: each
// one maps the incoming update (initially the gradient g) to a new update, and
// the last one scales by the learning rate; the parameter then moves by the final
// update. Every named optimizer's equations are written in List and in the
// documentation of its constructor, with PyTorch 1.13's conventions as the
// defaults, and the package's tests replay golden trajectories recorded with
// PyTorch (or, for rules PyTorch lacks, with a NumPy transcription of the paper).
//
// Optimizers are built from a spec string that reads the same in Go, on the
// command line and in notebooks:
//
//	adam(lr=1e-3,b1=0.9,b2=0.999,eps=1e-8)
//	sgd(lr=0.01,momentum=0.9,nesterov=true)
//	adamw(lr=3e-4,weight_decay=0.05,schedule=cosine(steps=10000,warmup=500),clip_norm=1)
//
// Parse returns an *Optimizer, which implements GoMLX's
// github.com/gomlx/gomlx/pkg/ml/train/optimizers.Interface and can be handed to
// train.NewTrainer.
//
// # Optimizers
//
// Notation: g gradient, p parameter, η learning rate, λ weight decay, t the
// optimizer's step (1 at the first update). Keys in brackets; run
// `optlab optimizers --equations` for the full list with defaults.
//
//	sgd        d = g + λp;  b = μb + (1 − τ)d (b₁ = d);  d ← b, or d + μb (Nesterov);  p ← p − ηd   [momentum, dampening, nesterov]
//	momentum   sgd with μ = 0.9
//	nesterov   sgd with μ = 0.9 and Nesterov momentum
//	adagrad    G = G + g²;  p ← p − η/(1 + (t − 1)·lr_decay) · g/(√G + ε)
//	adadelta   v = ρv + (1 − ρ)g²;  δ = √(a + ε)/√(v + ε)·g;  a = ρa + (1 − ρ)δ²;  p ← p − ηδ
//	rmsprop    v = ρv + (1 − ρ)g² (centered: minus m², m = ρm + (1 − ρ)g);  d = g/(√v + ε) [keras: g/√(v + ε)];  b = μb + d;  p ← p − ηb
//	adam       m = β₁m + (1 − β₁)g;  v = β₂v + (1 − β₂)g²;  p ← p − η·(m/(1 − β₁ᵗ))/(√v/√(1 − β₂ᵗ) + ε)   [amsgrad, bias_correction, keras]
//	amsgrad    adam with v replaced by its running maximum
//	adamw      p ← p(1 − ηλ), then adam without the coupled decay
//	adamax     m as adam;  u = max(β₂u, |g| + ε);  p ← p − η/(1 − β₁ᵗ)·m/u
//	nadam      Adam with Nesterov momentum and the schedule μ_t = β₁(1 − ½·0.96^(tψ))
//	radam      Adam whose adaptive term is switched on and rectified once the variance estimate is trustworthy (ρ_t > 5)
//	rprop      per-element step sizes grown by η₊ when the gradient keeps its sign, shrunk by η₋ when it flips;  p ← p − sign(g)·Δ
//	asgd       p ← p(1 − λη_t) − η_t·g with η_t = η/(1 + λη(t − 1))^α, plus an average of the iterates
//	lion       c = β₁m + (1 − β₁)g;  p ← p − η(sign(c) + λp);  m = β₂m + (1 − β₂)g
//	lamb       r = m̂/(√v̂ + ε) + λp;  p ← p − η·(‖p‖/‖r‖)·r
//	lars       b = μb + η·c‖p‖/(‖g‖ + λ‖p‖)·(g + λp);  p ← p − b
//	muon       matrices: p ← p − η·√max(1, fan_out/fan_in)·NewtonSchulz₅(momentum);  other parameters: AdamW
//	adafactor  factored second moment V̂ = RC/ΣR for matrices;  p ← p − max(ε₂, RMS(p))·min(η, 1/√t)·clip(g/√V̂)
//	schedule_free_adamw  z ← z − γ_t·g/(√v + ε);  x ← running γ²-weighted average of z;  p = (1 − β₁)z + β₁x
//
// PyTorch's defaults are used; keras=true on adam and rmsprop switches to
// Keras's conventions (ε added to √v before Adam's bias correction, i.e. the
// paper's ε̂; ε inside RMSprop's square root; ε = 1e-7; RMSprop ρ = 0.9 and
// η = 1e-3). Keras's RMSprop folds η into its momentum buffer; with a constant
// rate that is the same update, with a schedule it differs slightly.
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
// what a context actually holds.
package optimizers
