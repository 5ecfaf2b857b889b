// Package sweep runs grids of training runs that survive interruption: a
// Trial is one run's whole configuration with a stable ID (a hash of its
// canonical form, the same on every machine), a Grid expands into trials, and
// Run trains the trials a results store does not hold yet, handing each
// finished Record to the store the moment it exists, so a killed sweep
// resumes by running it again. Shard and exported trial files fan a sweep
// out over machines.
//
// It builds on the runner (optlab) and takes the store as an interface
// (Store), which optlab/store implements; it must not import optlab/store,
// optlab/reportcard or cmd, which build on it.
package sweep
