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
