#!/usr/bin/python3
"""PyTorch's Adam update time, the reference for optlab's BenchmarkAdamUpdate.

    /usr/bin/python3 scripts/reference/bench_adam.py [--device cpu|cuda] [--threads N]

For 1M and 100M float32 parameters it times optimizer.step() with a gradient
already in place (g = 0.01*p, as in the Go benchmark), for the single-tensor
loop, the foreach path and, on CUDA, the fused kernel. Output: one line per
variant with ms/update, parameters/s and effective GB/s at 24 bytes per
parameter (p, m, v read and written; the Go benchmark counts the same).
"""

import argparse
import time

import torch


def bench(n, device, variant, min_seconds=2.0):
    p = torch.randn(n, device=device, dtype=torch.float32, requires_grad=True)
    p.grad = 0.01 * p.detach().clone()
    kwargs = {"lr": 1e-3}
    if variant == "foreach":
        kwargs["foreach"] = True
    elif variant == "fused":
        kwargs["fused"] = True
    else:
        kwargs["foreach"] = False
    opt = torch.optim.Adam([p], **kwargs)
    opt.step()  # allocate the state
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    sync()
    reps, start = 0, time.perf_counter()
    while True:
        opt.step()
        reps += 1
        sync()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds and reps >= 3:
            break
    return elapsed / reps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads (0: leave the default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    variants = ["single", "foreach"] + (["fused"] if args.device == "cuda" else [])
    print(f"torch {torch.__version__}, device {args.device}, threads {torch.get_num_threads()}")
    for n in [1_000_000, 100_000_000]:
        for v in variants:
            try:
                sec = bench(n, args.device, v)
            except (RuntimeError, TypeError) as e:  # fused needs a recent torch
                print(f"params={n // 1_000_000}M {v}: unavailable ({e})")
                continue
            print(f"params={n // 1_000_000}M {v:8s} {sec * 1e3:9.3f} ms/update  {n / sec:.4g} params/s  {24 * n / sec / 1e9:.3g} GB/s")


if __name__ == "__main__":
    main()
