#!/usr/bin/python3
"""Runs torch.optim optimizers on diagonal quadratics, for live comparisons.

Reads a JSON list of cases on standard input, each
  {"class": "Adam", "kwargs": {...}, "a": [...], "b": [...], "w0": [...], "steps": N}
and writes a JSON list of trajectories (steps+1 rows of parameters, float64),
produced by PyTorch itself: f(w) = sum(a*w*w/2 + b*w), autograd, optimizer.step().
Tuples in kwargs (betas, etas, step_sizes) arrive as JSON lists.

Used by cmd/optlab's TestTraceAgainstLiveTorch with Debian's /usr/bin/python3.
"""

import json
import sys

import torch

torch.set_default_dtype(torch.float64)


def run(case):
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in case["kwargs"].items()}
    a, b = torch.tensor(case["a"]), torch.tensor(case["b"])
    w = torch.tensor(case["w0"], requires_grad=True)
    opt = getattr(torch.optim, case["class"])([w], **kwargs)
    traj = [w.detach().tolist()]
    for _ in range(case["steps"]):
        opt.zero_grad()
        (0.5 * a * w * w + b * w).sum().backward()
        opt.step()
        traj.append(w.detach().tolist())
    return traj


def main():
    cases = json.load(sys.stdin)
    json.dump([run(c) for c in cases], sys.stdout)


if __name__ == "__main__":
    main()
