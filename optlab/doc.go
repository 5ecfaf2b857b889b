// Package optlab is the runner: it selects a GoMLX backend (NewBackend), cuts
// the data into splits (LoadData, SplitData), trains a model with one
// optimizer (Train, Network.Fit) under a non-finite policy and optional
// reduce-on-plateau, compares optimizers over seeds (Compare, Summarize), and
// returns the record of each run (History), which it can also write as CSV and
// JSON and draw as tables and curves.
//
// An optimizer enters the runner parsed, as an *optimizers.Optimizer (see
// ParseSpecs for the labelled form Compare takes): nothing here parses a spec
// string again.
//
// It imports optlab/optimizers, optlab/models, optlab/datasets, optlab/plots
// and internal helpers, and must not import the packages built on it:
// optlab/sweep, store, reportcard, landscape, bench and notebook.
package optlab
