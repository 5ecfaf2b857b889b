// Package benchmark is optlab's optimizer benchmark protocol: AlgoPerf's way
// of scoring training algorithms (Dahl et al. 2023, "Benchmarking Neural
// Network Training Algorithms"; the MLCommons AlgoPerf rules and
// documentation) on workloads small enough for a laptop's CPU, taken from
// DeepOBS (Schneider et al. 2019) and AlgoPerf's MNIST development workload.
//
// A Workload is a data set, a model, a loss, a batch size, a step budget, an
// evaluation interval and a validation target (Workloads lists them; the
// targets, in targets.json, were set the AlgoPerf way and carry their
// provenance). A Trial trains one optimizer configuration on one workload and
// records the validation metric every EvalEvery steps, with the training time
// (evaluations excluded) and the step count at each evaluation.
//
// Two tuning rulesets decide which trials run (Config.Trials):
//
//   - external tuning: for each optimizer family, a search space
//     (SearchSpaces) sampled quasi-randomly, N trials in each of S independent
//     studies; a study's time on a workload is that of its fastest trial to
//     reach the target, and the workload's time is the median over studies
//     (infinite when a study has no trial that reaches the target);
//   - self-tuning: each optimizer at the settings given (its defaults unless
//     the spec says otherwise), one run per study, with a step budget 1.5
//     times the workload's.
//
// Scoring (Score) follows AlgoPerf: performance ratios r = t/t_best per
// workload, performance profiles ρ(τ) = the fraction of workloads with r ≤ τ
// (Dolan and Moré 2002), and the benchmark score B = ∫₁⁴ ρ(τ) dτ / 3. Time
// is measured in steps (the default: deterministic, the same on every machine
// and after a resume) or in seconds of training (AlgoPerf's measure, which
// needs a quiet machine). Report adds learning-rate sensitivity and
// Crowded-Valley-style curves of the best result against the tuning budget
// (Schmidt et al. 2021), as tables (text, Markdown, CSV) and figures.
//
// Trials are stored through sweep.Store as sweep records whose trial carries
// the benchmark's part in sweep.Trial.Protocol, so a benchmark is resumable,
// shardable and mergeable as sweeps are, and Score rebuilds the result from a
// store alone. Trials are trained by a TrialRunner (Sequential by default), an
// interface behind which trials sharing a workload and family could be
// trained as one population.
//
// It builds on sweep (records, stores, shards) and the runner's data types; it
// must not import optlab/store, optlab/reportcard or cmd.
package benchmark
