// Package notebook holds what the GoNB notebooks need around the runner:
// quick mode (Quick, Pick), which shrinks experiments for CI and a first
// look; comparisons cached in a file that records the code that computed
// them (CompareCached, CompareCachedPopulations for seeds and sweeps trained
// as populations, CachePath, CodeFingerprint, CheckCache), so re-executing a
// notebook does not retrain, an interrupted comparison resumes and a stale
// result is recomputed, never shown; statistics over seeds (Groups, CI,
// Paired, CITable) and verdicts and words chosen by confidence intervals
// (Judge, JudgeAny, Word); prose whose numbers come from the results
// (Markdown with Times, Percent, Sig, Count, Seconds and confidence
// intervals: MeanCI, PairedDiff); the registry of the walkthrough's claims,
// whose verdicts the notebooks record and the index shows (Claims, Record,
// ShowClaims) and the map of the notebooks (Series, ShowSeries); and the
// interactive learning-rate × momentum
// explorer over a 2-D landscape (Explorer, ExploreMomentum), built on GoNB's
// widgets.
//
// It builds on the runner (optlab), the landscapes (optlab/landscape) and
// populations (optlab/population); it must not import sweeps, stores,
// benchmarks or cmd.
package notebook
