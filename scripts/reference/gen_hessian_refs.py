#!/usr/bin/python3
"""Exact Hessian references for optlab/diagnostics' sharpness tests.

Run with Debian's PyTorch 1.13 (not the pyenv python first on PATH):

    /usr/bin/python3 scripts/reference/gen_hessian_refs.py [OUT]

OUT defaults to optlab/diagnostics/testdata/hessian_refs.json. For two of
optlab's models on a few examples, with weights, inputs and a probe vector v
given by closed-form formulas (written identically in hessian_test.go, rounded
to float32 as the Go network stores them, then computed in float64), it
records the Hessian of the mean softmax cross-entropy:

  logreg     (784 -> 10, 7850 parameters, 8 examples): the Hessian is formed
             exactly from its closed form
                 H = (1/N) sum_n (diag(p_n) - p_n p_n^T) (x) [x_n;1][x_n;1]^T
             as H = A A^T with A of 7850 x 80 columns; its eigenvalues are
             those of A^T A (numpy.linalg.eigvalsh), its trace is ||A||_F^2,
             and H v = A (A^T v). Checked against torch's double backward.
  mlp-small  (784-128-64-10 ReLU, 109386 parameters, 16 examples): H v by
             torch.autograd double backward (reverse over reverse), and the
             extreme eigenvalues by 120 steps of Lanczos with full
             re-orthogonalisation (eigenvalues of the tridiagonal matrix by
             numpy.linalg.eigvalsh); the top one is converged to ~1e-12.

The loss is what optlab's Network.LossGraph computes in inference mode (no
regularisation in these models). Each record keeps ||H v|| per variable, H v
at fixed indices, lambda_max, lambda_min and (logreg) the trace.
"""

import json
import math
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)


def f32(a):
    return np.asarray(a, dtype=np.float32).astype(np.float64)


# Closed forms shared with hessian_test.go (keep them identical).
def inputs(n, width=784):
    i = np.arange(width)[None, :]
    k = np.arange(n)[:, None]
    x = 0.5 + 0.5 * np.sin(0.113 * (k + 1) * i + 0.7 * k + 0.3)
    x = np.where(x < 0.35, 0.0, x)  # blank pixels, as in MNIST
    return f32(x), (np.arange(n) * 7 + 3) % 10


def weight(shape, a, b, scale):
    i = np.arange(shape[0])[:, None]
    j = np.arange(shape[1])[None, :]
    return f32(scale * np.sin(a * i + b * j + 0.5))


def bias(n, a, scale):
    return f32(scale * np.cos(a * np.arange(n) + 0.25))


def probe(n, a):
    return np.sin(a * np.arange(n) + 1.0)


def layers_of(model):
    if model == "logreg":
        return [("/model/out/weights", weight((784, 10), 0.031, 0.9, 0.05)),
                ("/model/out/biases", bias(10, 0.7, 0.1))]
    return [("/model/dense1/weights", weight((784, 128), 0.017, 0.61, 0.08)),
            ("/model/dense1/biases", bias(128, 0.37, 0.05)),
            ("/model/dense2/weights", weight((128, 64), 0.071, 0.43, 0.15)),
            ("/model/dense2/biases", bias(64, 0.53, 0.05)),
            ("/model/out/weights", weight((64, 10), 0.29, 0.77, 0.3)),
            ("/model/out/biases", bias(10, 0.7, 0.1))]


def forward(params, x, model):
    if model == "logreg":
        return x @ params[0] + params[1]
    h = torch.relu(x @ params[0] + params[1])
    h = torch.relu(h @ params[2] + params[3])
    return h @ params[4] + params[5]


def loss_fn(params, x, y, model):
    return torch.nn.functional.cross_entropy(forward(params, x, model), y)


def flat_hvp(params, x, y, model, v):
    """H v by double backward; v flat."""
    ps = [p.detach().clone().requires_grad_(True) for p in params]
    g = torch.autograd.grad(loss_fn(ps, x, y, model), ps, create_graph=True)
    vs, off = [], 0
    for p in ps:
        k = p.numel()
        vs.append(v[off:off + k].reshape(p.shape))
        off += k
    dot = sum((gi * vi).sum() for gi, vi in zip(g, vs))
    hv = torch.autograd.grad(dot, ps)
    return torch.cat([h.reshape(-1) for h in hv])


def lanczos(matvec, n, steps, seed=0):
    rng = np.random.default_rng(seed)
    q = rng.standard_normal(n)
    q /= np.linalg.norm(q)
    Q = [q]
    alpha, beta = [], []
    for k in range(steps):
        w = matvec(Q[-1])
        a = float(w @ Q[-1])
        alpha.append(a)
        for qj in Q:  # full re-orthogonalisation (twice is enough)
            w -= (w @ qj) * qj
        for qj in Q:
            w -= (w @ qj) * qj
        b = float(np.linalg.norm(w))
        if b < 1e-12 or k == steps - 1:
            break
        beta.append(b)
        Q.append(w / b)
    T = np.diag(alpha) + np.diag(beta[:len(alpha) - 1], 1) + np.diag(beta[:len(alpha) - 1], -1)
    ev = np.linalg.eigvalsh(T)
    return float(ev[-1]), float(ev[0])


def sample_indices(n):
    return sorted(set([0, 1, 7, 100, 784, n // 3, n // 2, n - 11, n - 1] + [int(n * f) for f in (0.1, 0.77, 0.93)]))


def case(model, n_examples):
    named = layers_of(model)
    x, y = inputs(n_examples)
    params = [torch.tensor(p) for _, p in named]
    X, Y = torch.tensor(x), torch.tensor(y)
    n = sum(p.numel() for p in params)
    v = torch.tensor(probe(n, 0.0123))
    hv = flat_hvp(params, X, Y, model, v).numpy()
    rec = {"model": model, "examples": n_examples, "params": n,
           "names": [k for k, _ in named],
           "hv_norms": [], "hv_index": sample_indices(n)}
    off = 0
    for _, p in named:
        k = p.size
        rec["hv_norms"].append(float(np.linalg.norm(hv[off:off + k])))
        off += k
    rec["hv_values"] = [float(hv[i]) for i in rec["hv_index"]]
    if model == "logreg":
        # Exact Hessian: H = A A^T, column (n, c) of A = L_n[:, c] (x) [x_n; 1] / sqrt(N).
        logits = x @ named[0][1] + named[1][1]
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        cols = []
        for k in range(n_examples):
            S = np.diag(p[k]) - np.outer(p[k], p[k])
            ev, U = np.linalg.eigh(S)
            L = U * np.sqrt(np.clip(ev, 0, None))  # S = L L^T
            xt = np.concatenate([x[k], [1.0]])
            for c in range(10):
                # Parameter order: weights [784, 10] row-major, then biases [10].
                m = np.outer(xt[:784], L[:, c]).reshape(-1)
                cols.append(np.concatenate([m, xt[784] * L[:, c]]) / math.sqrt(n_examples))
        A = np.stack(cols, 1)
        ev = np.linalg.eigvalsh(A.T @ A)
        hv_exact = A @ (A.T @ probe(n, 0.0123))
        assert np.max(np.abs(hv_exact - hv)) < 1e-10 * max(1, np.max(np.abs(hv))), "closed form != double backward"
        rec["lambda_max"], rec["lambda_min"] = float(ev[-1]), 0.0
        rec["trace"] = float((A * A).sum())
        rec["method"] = "closed form H = A A^T (numpy.linalg.eigvalsh of A^T A), checked against torch double backward"
    else:
        mv = lambda u: flat_hvp(params, X, Y, model, torch.tensor(u)).numpy()
        lmax, lmin = lanczos(mv, n, 120)
        rec["lambda_max"], rec["lambda_min"] = lmax, lmin
        rec["method"] = "torch 1.13 double backward (float64); eigenvalues by 120-step Lanczos with full re-orthogonalisation"
    return rec


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "optlab/diagnostics/testdata/hessian_refs.json"
    os.makedirs(os.path.dirname(out), exist_ok=True)
    data = {"generator": "scripts/reference/gen_hessian_refs.py", "torch": torch.__version__,
            "numpy": np.__version__, "cases": [case("logreg", 8), case("mlp-small", 16)]}
    with open(out, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    for c in data["cases"]:
        print(c["model"], "lambda_max", c["lambda_max"], "lambda_min", c["lambda_min"], "trace", c.get("trace"))


if __name__ == "__main__":
    main()
