#!/usr/bin/python3
"""The Python side of optlab/safetensors' interoperability test.

    /usr/bin/python3 scripts/reference/gen_safetensors_fixture.py [OUTDIR]
    /usr/bin/python3 scripts/reference/gen_safetensors_fixture.py --dump FILE

Without --dump it writes, to OUTDIR (default optlab/safetensors/testdata):

  python.safetensors  a file written by st_format.py (struct + json + NumPy,
                      no safetensors library: Debian 12 does not package it)
                      with F32, F64, I32 and I64 tensors, a scalar, an empty
                      tensor, a non-ASCII name and __metadata__;
  python.json         what the file holds: per tensor dtype, shape and the
                      values as bit patterns (floats as their IEEE-754 bits,
                      integers as themselves), plus the metadata.

The Go test reads python.safetensors and compares it with python.json bit for
bit, and checks that the Go writer, given the same tensors, produces the same
bytes. With --dump, the strict Python reader decodes FILE (a file written by
Go) and prints the same JSON description on standard output; the Go test runs
this when /usr/bin/python3 with NumPy is present, so each side reads the other's
files.
"""

import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import st_format  # noqa: E402

BITS = {"F32": np.uint32, "F64": np.uint64, "F16": np.uint16}


def fixture():
    f32 = np.array([[1.5, -0.0, 1e-45], [np.finfo(np.float32).max, np.inf, np.nan]], dtype=np.float32)
    return {
        "dense1.weight": f32,
        "dense1.bias": np.array([0.1, -0.2, 0.3], dtype=np.float32),
        "scale": np.array(np.pi, dtype=np.float64),
        "lr_history": np.array([1e-3, 5e-4, -2.5e-300, 1e300], dtype=np.float64),
        "labels": np.array([7, 2, -1, 2**31 - 1, -2**31], dtype=np.int32),
        "step": np.array([np.iinfo(np.int64).min, -1, 0, np.iinfo(np.int64).max], dtype=np.int64),
        "empty": np.zeros((0, 3), dtype=np.float32),
        "bn.γ": np.ones((2, 2, 1), dtype=np.float32),
    }, {"format": "pt", "source": "scripts/reference/gen_safetensors_fixture.py"}


def describe(tensors, metadata):
    out = {"metadata": metadata, "tensors": {}}
    for name in sorted(tensors):
        a = tensors[name]
        key = st_format.KEY_OF[(a.dtype.kind, a.dtype.itemsize)]
        flat = a.reshape(-1)
        bits = flat.view(BITS[key]) if key in BITS else flat
        out["tensors"][name] = {"dtype": key, "shape": list(a.shape), "bits": [int(v) for v in bits]}
    return out


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "--dump":
        tensors, metadata = st_format.read(sys.argv[2])
        json.dump(describe(tensors, metadata), sys.stdout, ensure_ascii=False, sort_keys=True)
        return
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join("optlab", "safetensors", "testdata")
    os.makedirs(outdir, exist_ok=True)
    tensors, metadata = fixture()
    path = os.path.join(outdir, "python.safetensors")
    st_format.write(path, tensors, metadata)
    back, meta_back = st_format.read(path)
    assert json.dumps(describe(back, meta_back)) == json.dumps(describe(tensors, metadata))
    with open(os.path.join(outdir, "python.json"), "w", encoding="utf-8") as f:
        json.dump(describe(tensors, metadata), f, ensure_ascii=False, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", path, os.path.getsize(path), "bytes")


if __name__ == "__main__":
    main()
