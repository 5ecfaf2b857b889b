// Package checkpoint moves a network's variables between a GoMLX model.Store
// and safetensors files, in two forms:
//
//   - Weight files with PyTorch's names and layouts (ExportWeights,
//     ImportWeights; the mapping is in docs/weights.md): a dense layer's
//     [in, out] kernel becomes "<layer>.weight" [out, in], a convolution's
//     [kh, kw, in, out] kernel becomes [out, in, kh, kw], batch
//     normalisation's γ, β and moving statistics become weight, bias,
//     running_mean and running_var. PyTorch's load_state_dict reads them.
//   - Checkpoints of a whole run (Save, Load, Latest): every variable of the
//     store in GoMLX's own names and layouts (weights, optimizer state and
//     step counters, GoMLX's global step, learning-rate and random-number
//     generator variables), with a JSON manifest in the file's metadata that
//     holds the caller's run configuration and loop state, and a CRC-32C of
//     every tensor. A checkpoint is one file, written to a temporary file,
//     synced and renamed into place, so a run killed while saving leaves the
//     previous checkpoint intact; Save keeps the newest K and deletes older
//     ones.
//
// The manifest's configuration and state are opaque JSON to this package: the
// runner (optlab.Train) stores its loop position and history there, and a
// population runner can store one state per member next to a store that holds
// every member's variables.
//
// Why not GoMLX's ml/model/checkpoint: it writes a JSON file and a binary file
// with os.Create, neither synced nor renamed into place, so a kill while saving
// can leave a truncated latest checkpoint that the next run loads; its
// manifest carries only the store's parameters, not a loop's state; and its
// binary format is GoMLX's own. A safetensors file is one file, written
// atomically, that PyTorch and NumPy tools can read.
//
// This package imports GoMLX, optlab/safetensors and the internal helpers; it
// must not import the runner (optlab) or any package built on it, so that the
// runner, sweeps and the population runner can all use it.
package checkpoint
