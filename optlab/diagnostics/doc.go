// Package diagnostics measures why optimizers behave as they do on real
// networks, with tools no optimizer library ships as one call:
//
//   - the learning-rate range test (LRFind, Smith 2017): the loss as the
//     learning rate grows exponentially over a short run, with the steepest
//     descent and divergence points;
//   - sharpness: the top eigenvalue (and trace) of the Hessian of the loss,
//     from Hessian-vector products by the Lanczos iteration (power
//     iteration's Krylov form) and Hutchinson's estimator (Hessian,
//     TopEigenvalue, Trace, MeasureSharpness), tracked during training by
//     SharpnessProbe;
//   - loss-landscape slices (Li et al. 2018): the loss along the segment
//     between two weight sets (Interpolate), on a plane through a solution
//     spanned by filter-normalised random directions (RandomPlane), and on the
//     plane of a training trajectory's top two principal directions
//     (TrajectoryPlane, with TrajectoryRecorder);
//   - figures of the per-step telemetry the runner records (TelemetryFigure).
//
// Every result writes a CSV and draws a figure with optlab/plots.
//
// It builds on the runner (optlab: Network, Stepper, Probe) and must not
// import sweeps, stores, benchmarks, landscapes or cmd.
package diagnostics
