// Package runs shows training runs: Keras-like epoch lines and history
// tables, summary tables over seeds, loss and accuracy curves (one panel per
// metric, validation dashed, mean and band over seeds), and the per-epoch CSV
// and JSON files `optlab compare` and `optlab train` write.
//
// It reads the runner's values (optlab.History) and draws with optlab/plots;
// the runner itself returns data and shows nothing. It must not import sweeps,
// stores, benchmarks or the command line.
package runs
