#!/usr/bin/python3
"""PyTorch reference for population training: a learning-rate sweep run one trial at a time.

Run with Debian's PyTorch 1.13 (not the pyenv python first on PATH), one thread:

    /usr/bin/python3 scripts/bench/torch_sweep.py [--models mlp-small,mlp-bn]
        [--members 16] [--lr 1e-3] [--batch-size 32] [--epochs 1] [--limit 0]
        [--threads 1] [--device cpu|cuda] [--mnist DIR] [--json FILE|-]

It times what `optlab sweep --population K` and BenchmarkPopulationSweep
(optlab/population) time, the way anyone would run it in PyTorch: the K trials
one after the other, each a whole trial — a fresh model (Glorot-uniform
kernels, zero biases; torch_mlp.py's models), Adam at its learning rate
(lr·10^(−1 + 2k/(K−1)), k = 0 … K−1: bench.SweepLRs), `epochs` epochs over
the first `limit` training images (all 60,000 by default) in a fresh random
order, every step reading the loss and the number of correct predictions back
as optlab's step does, then the validation and test passes optlab makes with
`--split test` (both on the 10,000 test images, batches of 500, eval mode). It
reports trials/hour: K·3600 / the sweep's wall time.

PyTorch 1.13 on these 2-core machines runs this MLP ~6× faster with 1 thread
than with 2 (shared/environment.md): the default is --threads 1; compare with
--threads 2 too and keep the faster. The BLAS PyTorch loaded is reported
(torch_mlp.py explains how to choose reference BLAS or OpenBLAS).
"""

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_idx import find_mnist, load_train, read_idx  # noqa: E402
from torch_mlp import MODELS, blas_libraries, peak_rss_bytes  # noqa: E402


def load_test(explicit):
    """The 10,000 test images as float32 [N, 784] in [0, 1], and their labels."""
    d = find_mnist(explicit)
    x = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255.0
    y = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))
    return x, y


def sweep_lrs(lr, n):
    """bench.SweepLRs: n rates log-spaced from lr/10 to lr·10."""
    if n == 1:
        return [lr]
    return [lr * 10 ** (-1 + 2 * k / (n - 1)) for k in range(n)]


def evaluate(model, x, y, device, batch=500):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(y), batch):
            xb, yb = x[s:s + batch].to(device), y[s:s + batch].to(device)
            logits = model(xb)
            loss += F.cross_entropy(logits, yb, reduction="sum").item()
            correct += (logits.argmax(1) == yb).sum().item()
    r = model.reg()
    model.train()
    return loss / len(y) + (r.item() if r is not None else 0.0), correct / len(y)


def trial(name, lr, x, y, xt, yt, batch, epochs, seed, device):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = MODELS[name]().to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(y)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        for s in range(0, n, batch):
            idx = perm[s:s + batch]
            xb, yb = x[idx].to(device), y[idx].to(device)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            r = model.reg()
            if r is not None:
                loss = loss + r
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss.item()
            (logits.argmax(1) == yb).sum().item()
        evaluate(model, xt, yt, device)  # validation (the test images, as optlab's --split test)
    return evaluate(model, xt, yt, device)  # test


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="mlp-small,mlp-bn")
    ap.add_argument("--members", type=int, default=16)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--limit", type=int, default=0, help="use the first N training images (0: all)")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mnist", default="")
    ap.add_argument("--json", default="", help="write JSON here ('-': stdout instead of the table)")
    args = ap.parse_args()
    if args.members < 1 or args.batch_size < 1 or args.epochs < 1 or args.limit < 0:
        sys.exit("--members, --batch-size and --epochs must be >= 1 and --limit >= 0")
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y = load_train(args.mnist)
    if args.limit:
        x, y = x[:args.limit], y[:args.limit]
    xt, yt = load_test(args.mnist)
    x, y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    xt, yt = torch.from_numpy(xt), torch.from_numpy(yt.astype(np.int64))
    results = []
    for name in [m for m in args.models.split(",") if m]:
        if name not in MODELS:
            sys.exit(f"unknown model {name!r} (valid: {', '.join(MODELS)})")
        start = time.perf_counter()
        accs = []
        for lr in sweep_lrs(args.lr, args.members):
            accs.append(trial(name, lr, x, y, xt, yt, args.batch_size, args.epochs, args.seed, args.device)[1])
        secs = time.perf_counter() - start
        results.append({
            "model": name, "members": args.members, "batch_size": args.batch_size, "epochs": args.epochs,
            "train_images": len(y), "seconds": secs, "trials_per_hour": args.members * 3600 / secs,
            "test_accuracies": accs, "backend": f"torch {torch.__version__} {args.device}",
        })
    rep = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "blas_libraries": blas_libraries(), "peak_rss_bytes": peak_rss_bytes(), "sweeps": results,
    }
    if args.json == "-":
        json.dump(rep, sys.stdout, indent=2)
        print()
        return
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rep, f, indent=2)
    print(f"torch {rep['torch']}, {rep['threads']} threads, BLAS loaded: {', '.join(rep['blas_libraries']) or 'none found'}")
    print(f"{'model':>10} {'trials':>7} {'batch':>6} {'seconds':>9} {'trials/h':>9} {'best test acc':>14}")
    for r in results:
        print(f"{r['model']:>10} {r['members']:>7} {r['batch_size']:>6} {r['seconds']:>9.1f} {r['trials_per_hour']:>9.1f}"
              f" {max(r['test_accuracies']):>14.4f}")


if __name__ == "__main__":
    main()
