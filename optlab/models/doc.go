// Package models holds the networks optlab trains, findable by name
// (Get("mlp-small")): each maps a batch of flattened 28×28 images to class
// logits, built from GoMLX layers and optlab's dense layer with a fast
// backward pass (Dense, FastMatMul).
//
// It imports GoMLX and nothing of optlab: data sets live in
// optlab/datasets, optimizers in optlab/optimizers, 2-D test functions in
// optlab/functions.
package models
