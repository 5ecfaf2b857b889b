#!/usr/bin/python3
"""PyTorch reference for `optlab bench`: training throughput of the same models.

Run with Debian's PyTorch 1.13 (not the pyenv python first on PATH):

    /usr/bin/python3 scripts/bench/torch_mlp.py [--models mlp-small,mlp-bn]
        [--batch-sizes 32,256] [--steps 200] [--epochs 2] [--threads N]
        [--device cpu|cuda] [--mnist DIR] [--json FILE|-]

It mirrors bench.Training (optlab/bench) step for step: the first `steps·batch` MNIST
training images (pixels/255), one untimed epoch of `steps` steps (warm-up),
then `epochs` timed epochs, each in a fresh random order; every step gathers
its batch from host memory, runs forward, softmax cross-entropy, backward and
Adam(lr=1e-3, eps=1e-8, torch's defaults = optlab's "adam"), and reads the
loss and the number of correct predictions back (optlab's step returns both).

Models (Glorot-uniform kernels, zero biases, as optlab and Keras):
  mlp-small  784-128-64-10, ReLU
  mlp-bn     Dense 300 ReLU (L2 1e-4 on its kernel, added to the loss)
             -> BatchNorm (Keras momentum 0.99 = torch momentum 0.01, eps 1e-3)
             -> Dense 100 ReLU -> Dropout 0.2 -> Dense 10

The BLAS library PyTorch really loaded is read from /proc/self/maps and
reported: Debian's torch links libblas.so.3, which is the reference BLAS by
default and OpenBLAS when LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-pthread
(or when the libblas.so.3 alternative points there).
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_idx import load_train  # noqa: E402


def dense(i, o):
    layer = nn.Linear(i, o)
    nn.init.xavier_uniform_(layer.weight)  # Glorot uniform: U(±sqrt(6/(in+out)))
    nn.init.zeros_(layer.bias)
    return layer


class MLPSmall(nn.Module):
    def __init__(self):
        super().__init__()
        self.d1, self.d2, self.out = dense(784, 128), dense(128, 64), dense(64, 10)

    def forward(self, x):
        return self.out(F.relu(self.d2(F.relu(self.d1(x)))))

    def reg(self):
        return None


class MLPBN(nn.Module):
    def __init__(self):
        super().__init__()
        self.d1 = dense(784, 300)
        self.bn = nn.BatchNorm1d(300, eps=1e-3, momentum=0.01)
        self.d2 = dense(300, 100)
        self.drop = nn.Dropout(0.2)
        self.out = dense(100, 10)

    def forward(self, x):
        h = self.bn(F.relu(self.d1(x)))
        return self.out(self.drop(F.relu(self.d2(h))))

    def reg(self):
        return 1e-4 * self.d1.weight.pow(2).sum()


MODELS = {"mlp-small": MLPSmall, "mlp-bn": MLPBN}


def blas_libraries():
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if "blas" in os.path.basename(p).lower() or "mkl" in os.path.basename(p).lower():
                    libs.add(os.path.realpath(p))
    except OSError:
        pass
    return sorted(libs)


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def bench(name, x, y, batch, steps, epochs, seed, device):
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    n = batch * steps
    x, y = x[:n], y[:n]
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    t0 = time.perf_counter()
    model = MODELS[name]().to(device)
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    first = None
    timed, timed_steps = 0.0, 0
    cpu0 = None
    for epoch in range(1 + epochs):
        if epoch == 1:
            cpu0 = time.process_time()
        perm = torch.randperm(n, generator=g)
        sync()
        start = time.perf_counter()
        loss_sum, correct = 0.0, 0
        for s in range(steps):
            idx = perm[s * batch:(s + 1) * batch]
            xb, yb = x[idx].to(device), y[idx].to(device)
            logits = model(xb)
            loss = F.cross_entropy(logits, yb)
            r = model.reg()
            if r is not None:
                loss = loss + r
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item()
            correct += (logits.argmax(1) == yb).sum().item()
            if first is None:
                sync()
                first = time.perf_counter() - t0
        sync()
        if epoch >= 1:
            timed += time.perf_counter() - start
            timed_steps += steps
    cpu = time.process_time() - cpu0
    params = sum(p.numel() for p in model.parameters())
    return {
        "model": name, "optimizer": "adam(lr=1e-3)", "backend": f"torch {torch.__version__} {device}",
        "batch_size": batch, "steps": timed_steps, "first_step_seconds": first, "seconds": timed,
        "cpu_seconds": cpu, "samples_per_sec": batch * timed_steps / timed, "params": params,
        "peak_rss_bytes": peak_rss_bytes(), "final_epoch_mean_loss": loss_sum / steps,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="mlp-small,mlp-bn")
    ap.add_argument("--batch-sizes", default="32,256")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mnist", default="")
    ap.add_argument("--json", default="", help="write JSON here ('-': stdout instead of the table)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    x, y = load_train(args.mnist)
    x, y = torch.from_numpy(x), torch.from_numpy(y.astype(np.int64))
    results = []
    for name in [m for m in args.models.split(",") if m]:
        if name not in MODELS:
            sys.exit(f"unknown model {name!r} (valid: {', '.join(MODELS)})")
        for b in [int(v) for v in args.batch_sizes.split(",") if v]:
            if b * args.steps > len(y):
                sys.exit(f"--steps {args.steps} at batch {b} needs {b * args.steps} images, MNIST has {len(y)}")
            results.append(bench(name, x, y, b, args.steps, args.epochs, args.seed, args.device))
    rep = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "torch": torch.__version__, "threads": torch.get_num_threads(),
        "blas_info": [l.strip() for l in torch.__config__.show().splitlines() if "BLAS_INFO" in l],
        "blas_libraries": blas_libraries(), "training": results,
    }
    if args.json == "-":
        json.dump(rep, sys.stdout, indent=2)
        print()
        return
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rep, f, indent=2)
    print(f"torch {rep['torch']}, {rep['threads']} threads, BLAS loaded: {', '.join(rep['blas_libraries']) or 'none found'}")
    print(f"{'model':>10} {'batch':>6} {'samples/s':>10} {'first step':>11} {'CPU/wall':>9} {'peak RSS':>10}")
    for r in results:
        print(f"{r['model']:>10} {r['batch_size']:>6} {r['samples_per_sec']:>10.0f} {r['first_step_seconds']:>9.2f} s"
              f" {r['cpu_seconds'] / r['seconds']:>9.2f} {r['peak_rss_bytes'] / 2**20:>6.1f} MiB")


if __name__ == "__main__":
    main()
