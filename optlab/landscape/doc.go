// Package landscape runs optimizers on analytic problems, where every step
// can be seen: Trace records N updates of an optimizer on an objective of a
// parameter vector (Quadratic is the exact test problem), TraceStochastic does
// the same with mini-batches of a finite sum (NoisyFunction makes one from a
// 2-D test function), and Run starts several optimizers from one point of a
// 2-D test function and draws their paths over its contours (Result.Figure,
// Result.Animation).
//
// It builds its own small graphs and uses the runner (optlab) only for the
// labelled optimizers it takes (optlab.Spec); it must not import sweeps,
// stores, benchmarks or cmd.
package landscape
