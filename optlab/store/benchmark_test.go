package store

import "optlab.dev/optlab/benchmark"

// A results store is a benchmark's cache: benchmark.RunCached takes one
// (notebook 12 runs its benchmark through data/cache/12_benchmark.db).
var _ benchmark.CacheStore = (*Store)(nil)
