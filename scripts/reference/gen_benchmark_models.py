#!/usr/bin/python3
"""Reference forward and backward passes of the benchmark networks (PyTorch, float64).

Writes optlab/models/testdata/benchmark_models.json, which
optlab/models/benchmarks_test.go compares with GoMLX's graphs of the same
networks: logits, the mean cross-entropy and three summaries of the gradient of
every parameter (sum, sum of squares and a sum weighted by sin(0.7 i + 0.3)
over the flat index i, which changes when elements move: a wrong layout shows).

Parameters and inputs are not random: element i (row-major, in optlab's
layout: dense weights [in, out], convolution kernels [kh, kw, in, out]) of
parameter k (in the order listed below) is s_k · sin(0.37 i + 0.5 k + 0.1),
with s_k = 1/√fan_in for weights (fan_in: every axis but the last) and 0.1 for
biases; pixel j of image b is 0.5 + 0.5 sin(0.013 (784 b + j) + b). Both sides
round these to float32 first, as the Go side holds them.

Run: /usr/bin/python3 scripts/reference/gen_benchmark_models.py
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn.functional as F

torch.set_default_dtype(torch.float64)

BATCH = 4
LABELS = [3, 7, 1, 9]

# name -> list of (path, shape) in optlab's layout and order.
MODELS = {
    "logreg-deepobs": [("/out/weights", [784, 10]), ("/out/biases", [10])],
    "mlp-deepobs": [
        ("/dense1/weights", [784, 1000]), ("/dense1/biases", [1000]),
        ("/dense2/weights", [1000, 500]), ("/dense2/biases", [500]),
        ("/dense3/weights", [500, 100]), ("/dense3/biases", [100]),
        ("/out/weights", [100, 10]), ("/out/biases", [10]),
    ],
    "mlp-algoperf": [
        ("/dense1/weights", [784, 128]), ("/dense1/biases", [128]),
        ("/out/weights", [128, 10]), ("/out/biases", [10]),
    ],
    "cnn-2c2d": [
        ("/conv1/conv/weights", [5, 5, 1, 32]), ("/conv1/conv/biases", [32]),
        ("/conv2/conv/weights", [5, 5, 32, 64]), ("/conv2/conv/biases", [64]),
        ("/dense1/weights", [3136, 1024]), ("/dense1/biases", [1024]),
        ("/out/weights", [1024, 10]), ("/out/biases", [10]),
    ],
}


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


def param_values(k, shape):
    n = int(np.prod(shape))
    scale = 0.1 if len(shape) == 1 else 1 / math.sqrt(int(np.prod(shape[:-1])))
    i = np.arange(n, dtype=np.float64)
    return f32(scale * np.sin(0.37 * i + 0.5 * k + 0.1)).reshape(shape)


def inputs():
    idx = np.arange(BATCH * 784, dtype=np.float64).reshape(BATCH, 784)
    b = np.arange(BATCH, dtype=np.float64)[:, None]
    return f32(0.5 + 0.5 * np.sin(0.013 * idx + b))


def dense(x, w, b):
    return x @ w + b  # optlab's layout: w is [in, out]


def conv_same(h, w, b):
    # h: [batch, height, width, channels]; w: [kh, kw, in, out] (cross-correlation, as XLA's).
    y = F.conv2d(h.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), b, padding=w.shape[0] // 2)
    return y.permute(0, 2, 3, 1)


def maxpool2(h):
    return F.max_pool2d(h.permute(0, 3, 1, 2), 2).permute(0, 2, 3, 1)


def forward(name, x, p):
    if name == "logreg-deepobs":
        return dense(x, p[0], p[1])
    if name == "mlp-deepobs":
        h = torch.relu(dense(x, p[0], p[1]))
        h = torch.relu(dense(h, p[2], p[3]))
        h = torch.relu(dense(h, p[4], p[5]))
        return dense(h, p[6], p[7])
    if name == "mlp-algoperf":
        h = torch.sigmoid(dense((x - 0.1307) / 0.3081, p[0], p[1]))
        return dense(h, p[2], p[3])
    if name == "cnn-2c2d":
        h = x.reshape(BATCH, 28, 28, 1)
        h = maxpool2(torch.relu(conv_same(h, p[0], p[1])))
        h = maxpool2(torch.relu(conv_same(h, p[2], p[3])))
        h = torch.relu(dense(h.reshape(BATCH, -1), p[4], p[5]))  # flattened as [h, w, c]
        return dense(h, p[6], p[7])
    raise ValueError(name)


def main():
    x = torch.tensor(inputs())
    labels = torch.tensor(LABELS)
    out = {"batch": BATCH, "labels": LABELS, "models": {}}
    for name, spec in MODELS.items():
        params = [torch.tensor(param_values(k, shape), requires_grad=True) for k, (_, shape) in enumerate(spec)]
        logits = forward(name, x, params)
        loss = F.cross_entropy(logits, labels)
        loss.backward()
        grads = {}
        for (path, _), p in zip(spec, params):
            g = p.grad.detach().numpy().reshape(-1)
            i = np.arange(g.size, dtype=np.float64)
            grads[path] = {"sum": float(g.sum()), "sum_sq": float((g * g).sum()),
                           "weighted": float((g * np.sin(0.7 * i + 0.3)).sum())}
        out["models"][name] = {"params": [[path, shape] for path, shape in spec],
                               "logits": logits.detach().numpy().tolist(), "loss": float(loss), "grads": grads}
    path = os.path.join(os.path.dirname(__file__), "..", "..", "optlab", "models", "testdata", "benchmark_models.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
        f.write("\n")
    print("wrote", os.path.normpath(path), "with torch", torch.__version__)


if __name__ == "__main__":
    main()
