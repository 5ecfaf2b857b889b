// Package datasets holds the data sets optlab trains on, findable by name
// (Get("mnist"), Get("fashion-mnist")): examples held in memory (Dataset), their train, validation
// and test splits (DataSplit), deterministic batch orders (Permutation), and
// the loaders with their file formats (MNIST's and Fashion-MNIST's
// gzip-compressed IDX files, checked against their SHA-256).
//
// It must not import GoMLX or any other optlab package: it deals in plain Go
// slices, so loading data never builds a graph.
package datasets
