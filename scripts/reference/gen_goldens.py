#!/usr/bin/python3
"""Golden optimizer trajectories for optlab's conformance tests.

Run with Debian's PyTorch 1.13 (not the pyenv python first on PATH):

    /usr/bin/python3 scripts/reference/gen_goldens.py [OUTDIR]

OUTDIR defaults to optlab/optimizers/testdata. It writes:

  torch_optimizers.json  every optimizer PyTorch 1.13 has (torch.optim: SGD,
                         Adagrad, Adadelta, RMSprop, Adam, AdamW, Adamax, NAdam,
                         RAdam, Rprop, ASGD) on analytic problems, several
                         hyperparameter sets each, float64, trajectories produced
                         by torch itself (autograd gradients, optimizer.step()).
  torch_schedules.json   torch.optim.lr_scheduler schedules (StepLR, MultiStepLR,
                         ExponentialLR, PolynomialLR, CosineAnnealingLR,
                         CosineAnnealingWarmRestarts, LinearLR, OneCycleLR), and
                         gradient clipping with torch.nn.utils.clip_grad_norm_ /
                         clip_grad_value_. Schedules torch 1.13 lacks as a class
                         (linear warm-up from zero, cosine after warm-up, inverse
                         time decay) run through torch's LambdaLR with the closed
                         form written here; the file says which.
  numpy_paper.json       rules PyTorch 1.13 does not have, computed in NumPy from
                         the papers' equations (Lion: Chen et al. 2023 Alg. 2;
                         LAMB: You et al. 2019 Alg. 2; LARS: You et al. 2017
                         Alg. 1), the Keras conventions of Adam and RMSprop (from
                         the Keras update equations) and Adam without bias
                         correction. These are NOT PyTorch references.

Each case carries the optlab spec string, the reference it came from, the
problem, the start point and the parameters after every step (row 0 = start).

NAdam note: PyTorch 1.13's default single-tensor NAdam multiplies mu_t into the
momentum product twice in its second term (fixed in 2.0); its foreach path has
the paper's equation. The goldens use foreach=True, i.e. the paper's NAdam.
"""

import json
import math
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

STEPS = 50

PROBLEMS = [
    {"name": "quad2", "type": "quadratic", "a": [1.0, 10.0], "b": [0.0, 0.0], "w0": [1.0, 1.0]},
    {"name": "quad3", "type": "quadratic", "a": [0.5, 2.0, 4.0], "b": [1.0, -2.0, 0.5], "w0": [-1.5, 0.7, 2.0]},
    {"name": "rosenbrock", "type": "rosenbrock", "w0": [-1.5, 2.0]},
]


# Matrix-shaped quadratics (elementwise a, b), for rules that treat matrices
# specially (Muon). Values are flattened row-major; "shape" gives the matrix.
MATRIX_PROBLEMS = [
    {"name": "mat3x2", "type": "quadratic", "shape": [3, 2], "a": [1.0, 2.0, 0.5, 3.0, 1.5, 0.8],
     "b": [0.1, -0.2, 0.3, 0.0, -0.5, 0.25], "w0": [1.0, -0.5, 0.3, 0.8, -1.2, 0.4]},
    {"name": "mat2x4", "type": "quadratic", "shape": [2, 4], "a": [0.7, 1.1, 2.0, 0.4, 1.6, 0.9, 1.3, 2.5],
     "b": [0.0, 0.3, -0.1, 0.2, -0.4, 0.1, 0.0, 0.5], "w0": [0.9, -1.1, 0.5, 0.2, -0.3, 0.7, 1.4, -0.6]},
]


def objective_torch(problem, w):
    if problem["type"] == "quadratic":
        a = torch.tensor(problem["a"])
        b = torch.tensor(problem["b"])
        return (0.5 * a * w * w + b * w).sum()
    x, y = w[0], w[1]
    return (1 - x) ** 2 + 100 * (y - x * x) ** 2


def grad_numpy(problem, w):
    if problem["type"] == "quadratic":
        return np.asarray(problem["a"]) * w + np.asarray(problem["b"])
    x, y = w
    return np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])


def fmt(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(fmt(x) for x in v) + "]"
    if isinstance(v, str):
        return v
    return repr(float(v))


def spec(name, kw):
    if not kw:
        return name
    return name + "(" + ",".join(f"{k}={fmt(v)}" for k, v in kw.items()) + ")"


def run_torch(problem, make_opt, steps, make_sched=None, clip=None):
    w = torch.tensor(problem["w0"], requires_grad=True)
    opt = make_opt([w])
    sched = make_sched(opt) if make_sched else None
    traj, lrs = [w.detach().tolist()], []
    for _ in range(steps):
        opt.zero_grad()
        loss = objective_torch(problem, w)
        loss.backward()
        if clip is not None:
            kind, value = clip
            if kind == "value":
                torch.nn.utils.clip_grad_value_([w], value)
            else:
                torch.nn.utils.clip_grad_norm_([w], value)
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        if sched is not None:
            sched.step()
        traj.append(w.detach().tolist())
    if not all(math.isfinite(x) for row in traj for x in row):
        raise ValueError("non-finite trajectory")
    return traj, lrs


# (optlab name, optlab keys, torch class, torch kwargs). optlab keys use the
# project's names (b1/b2, rho for RMSprop's alpha, eta_minus/eta_plus, step_min/step_max).
TORCH_CASES = [
    ("sgd", {"lr": 0.01}, torch.optim.SGD, {"lr": 0.01}),
    ("sgd", {"lr": 0.004, "momentum": 0.9}, torch.optim.SGD, {"lr": 0.004, "momentum": 0.9}),
    ("sgd", {"lr": 0.002, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1},
     torch.optim.SGD, {"lr": 0.002, "momentum": 0.8, "dampening": 0.3, "weight_decay": 0.1}),
    ("sgd", {"lr": 0.003, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01},
     torch.optim.SGD, {"lr": 0.003, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("momentum", {"lr": 0.001}, torch.optim.SGD, {"lr": 0.001, "momentum": 0.9}),
    ("nesterov", {"lr": 0.001}, torch.optim.SGD, {"lr": 0.001, "momentum": 0.9, "nesterov": True}),
    ("adagrad", {"lr": 0.1}, torch.optim.Adagrad, {"lr": 0.1}),
    ("adagrad", {"lr": 0.5, "lr_decay": 0.01, "weight_decay": 0.05, "initial_accumulator_value": 0.1, "eps": 1e-6},
     torch.optim.Adagrad, {"lr": 0.5, "lr_decay": 0.01, "weight_decay": 0.05, "initial_accumulator_value": 0.1, "eps": 1e-6}),
    ("adadelta", {}, torch.optim.Adadelta, {}),
    ("adadelta", {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1},
     torch.optim.Adadelta, {"lr": 0.5, "rho": 0.8, "eps": 1e-4, "weight_decay": 0.1}),
    ("rmsprop", {"lr": 0.01}, torch.optim.RMSprop, {"lr": 0.01}),
    ("rmsprop", {"lr": 0.005, "rho": 0.9, "momentum": 0.9, "centered": True, "weight_decay": 0.01, "eps": 1e-6},
     torch.optim.RMSprop, {"lr": 0.005, "alpha": 0.9, "momentum": 0.9, "centered": True, "weight_decay": 0.01, "eps": 1e-6}),
    ("rmsprop", {"lr": 0.01, "centered": True}, torch.optim.RMSprop, {"lr": 0.01, "centered": True}),
    ("adam", {"lr": 0.1}, torch.optim.Adam, {"lr": 0.1}),
    ("adam", {"lr": 0.05, "b1": 0.8, "b2": 0.99, "eps": 1e-6, "weight_decay": 0.1},
     torch.optim.Adam, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("adam", {"lr": 0.1, "amsgrad": True}, torch.optim.Adam, {"lr": 0.1, "amsgrad": True}),
    ("amsgrad", {"lr": 0.05}, torch.optim.Adam, {"lr": 0.05, "amsgrad": True}),
    ("adamw", {"lr": 0.1}, torch.optim.AdamW, {"lr": 0.1}),
    ("adamw", {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}, torch.optim.AdamW, {"lr": 0.05, "weight_decay": 0.3, "amsgrad": True}),
    ("adamax", {}, torch.optim.Adamax, {}),
    ("adamax", {"lr": 0.05, "b1": 0.7, "b2": 0.9, "weight_decay": 0.1}, torch.optim.Adamax, {"lr": 0.05, "betas": (0.7, 0.9), "weight_decay": 0.1}),
    ("nadam", {"lr": 0.05}, torch.optim.NAdam, {"lr": 0.05, "foreach": True}),
    ("nadam", {"lr": 0.1, "b1": 0.85, "b2": 0.95, "momentum_decay": 0.01, "weight_decay": 0.05},
     torch.optim.NAdam, {"lr": 0.1, "betas": (0.85, 0.95), "momentum_decay": 0.01, "weight_decay": 0.05, "foreach": True}),
    ("radam", {"lr": 0.05}, torch.optim.RAdam, {"lr": 0.05}),
    ("radam", {"lr": 0.1, "b1": 0.9, "b2": 0.9, "weight_decay": 0.1}, torch.optim.RAdam, {"lr": 0.1, "betas": (0.9, 0.9), "weight_decay": 0.1}),
    ("rprop", {"lr": 0.01}, torch.optim.Rprop, {"lr": 0.01}),
    ("rprop", {"lr": 0.1, "eta_minus": 0.3, "eta_plus": 1.5, "step_min": 1e-4, "step_max": 1.0},
     torch.optim.Rprop, {"lr": 0.1, "etas": (0.3, 1.5), "step_sizes": (1e-4, 1.0)}),
    ("asgd", {"lr": 0.002}, torch.optim.ASGD, {"lr": 0.002}),
    ("asgd", {"lr": 0.002, "lambd": 0.01, "alpha": 0.5, "t0": 10, "weight_decay": 0.1},
     torch.optim.ASGD, {"lr": 0.002, "lambd": 0.01, "alpha": 0.5, "t0": 10, "weight_decay": 0.1}),
]


def torch_optimizer_cases():
    cases = []
    for name, go_kw, cls, t_kw in TORCH_CASES:
        for problem in PROBLEMS:
            try:
                traj, _ = run_torch(problem, lambda ps: cls(ps, **t_kw), STEPS)
            except ValueError:
                print(f"skipping {spec(name, go_kw)} on {problem['name']}: diverges", file=sys.stderr)
                continue
            cases.append({
                "spec": spec(name, go_kw),
                "reference": f"torch.optim.{cls.__name__}({', '.join(f'{k}={v!r}' for k, v in t_kw.items())})",
                "problem": problem, "steps": STEPS, "trajectory": traj,
            })
    return cases


S = torch.optim.lr_scheduler


def lambda_factor(fn):
    return lambda opt: S.LambdaLR(opt, fn)


def cosine_warmup(steps, warmup, min_ratio):
    def f(k):
        if k < warmup:
            return k / warmup
        x = min(1.0, (k - warmup) / (steps - warmup))
        return min_ratio + (1 - min_ratio) * (1 + math.cos(math.pi * x)) / 2
    return f


# (optlab schedule spec, reference description, scheduler factory).
SCHEDULES = [
    ("constant", "no scheduler", None),
    ("step(step_size=7,gamma=0.5)", "StepLR(step_size=7, gamma=0.5)", lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
    ("multistep(milestones=[5,12,30],gamma=0.3)", "MultiStepLR(milestones=[5,12,30], gamma=0.3)",
     lambda o: S.MultiStepLR(o, milestones=[5, 12, 30], gamma=0.3)),
    ("exponential(gamma=0.95)", "ExponentialLR(gamma=0.95)", lambda o: S.ExponentialLR(o, gamma=0.95)),
    ("polynomial(steps=30,power=2)", "PolynomialLR(total_iters=30, power=2.0)", lambda o: S.PolynomialLR(o, total_iters=30, power=2.0)),
    ("polynomial(steps=25)", "PolynomialLR(total_iters=25, power=1.0)", lambda o: S.PolynomialLR(o, total_iters=25, power=1.0)),
    # optlab's cosine stays at min_lr after `steps`; torch's keeps oscillating, so T_max covers the run.
    ("cosine(steps=50,min_lr=0.001)", "CosineAnnealingLR(T_max=50, eta_min=0.001)", lambda o: S.CosineAnnealingLR(o, T_max=50, eta_min=0.001)),
    ("cosine(steps=60)", "CosineAnnealingLR(T_max=60)", lambda o: S.CosineAnnealingLR(o, T_max=60)),
    ("cosine_restarts(t0=5,t_mult=2,min_lr=0.01)", "CosineAnnealingWarmRestarts(T_0=5, T_mult=2, eta_min=0.01)",
     lambda o: S.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=2, eta_min=0.01)),
    ("cosine_restarts(t0=7)", "CosineAnnealingWarmRestarts(T_0=7)", lambda o: S.CosineAnnealingWarmRestarts(o, T_0=7)),
    ("cosine_restarts(t0=3,t_mult=3)", "CosineAnnealingWarmRestarts(T_0=3, T_mult=3)", lambda o: S.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=3)),
    ("linear(start_factor=0.25,end_factor=1,steps=10)", "LinearLR(start_factor=0.25, end_factor=1.0, total_iters=10)",
     lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=10)),
    ("linear(start_factor=1,end_factor=0.1,steps=20)", "LinearLR(start_factor=1.0, end_factor=0.1, total_iters=20)",
     lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=20)),
    ("onecycle(steps=50)", "OneCycleLR(max_lr=lr, total_steps=50, cycle_momentum=False)",
     lambda o: S.OneCycleLR(o, max_lr=o.param_groups[0]["lr"], total_steps=50, cycle_momentum=False)),
    ("onecycle(steps=60,pct_start=0.25,div_factor=10,final_div_factor=100,anneal=linear)",
     "OneCycleLR(max_lr=lr, total_steps=60, pct_start=0.25, div_factor=10, final_div_factor=100, anneal_strategy='linear', cycle_momentum=False)",
     lambda o: S.OneCycleLR(o, max_lr=o.param_groups[0]["lr"], total_steps=60, pct_start=0.25, div_factor=10,
                            final_div_factor=100, anneal_strategy="linear", cycle_momentum=False)),
    ("warmup(steps=10)", "LambdaLR with closed form min(k,10)/10 (no torch class warms up from 0)",
     lambda_factor(lambda k: min(k, 10) / 10)),
    ("cosine(steps=45,warmup=8)", "LambdaLR with closed form: k/8 for k<8, then cosine to 0 at k=45",
     lambda_factor(cosine_warmup(45, 8, 0.0))),
    ("inverse_time(decay_rate=0.5,decay_steps=5)", "LambdaLR with closed form 1/(1+0.5*k/5) (Keras InverseTimeDecay)",
     lambda_factor(lambda k: 1 / (1 + 0.5 * k / 5))),
    ("inverse_time(decay_rate=0.5,decay_steps=5,staircase=true)", "LambdaLR with closed form 1/(1+0.5*floor(k/5))",
     lambda_factor(lambda k: 1 / (1 + 0.5 * math.floor(k / 5)))),
]


def schedule_cases():
    cases = []
    problem = PROBLEMS[1]
    for sched_spec, ref, factory in SCHEDULES:
        for opt_name, kw, cls, t_kw in [("sgd", {"lr": 0.1}, torch.optim.SGD, {"lr": 0.1}),
                                        ("adam", {"lr": 0.1}, torch.optim.Adam, {"lr": 0.1})]:
            steps = 50 if "steps=60" not in sched_spec else 60
            traj, lrs = run_torch(problem, lambda ps: cls(ps, **t_kw), steps, make_sched=factory)
            go_kw = dict(kw)
            go_kw["schedule"] = sched_spec
            cases.append({
                "spec": spec(opt_name, go_kw), "schedule": sched_spec, "base_lr": kw["lr"],
                "reference": f"torch.optim.{cls.__name__}({t_kw}) + {ref}",
                "problem": problem, "steps": steps, "trajectory": traj, "lrs": lrs,
            })
    for clip in [("norm", 0.5), ("value", 0.3), ("norm", 2.0)]:
        for opt_name, kw, cls, t_kw in [("sgd", {"lr": 0.05, "momentum": 0.9}, torch.optim.SGD, {"lr": 0.05, "momentum": 0.9}),
                                        ("adam", {"lr": 0.1}, torch.optim.Adam, {"lr": 0.1})]:
            for problem in PROBLEMS:
                traj, _ = run_torch(problem, lambda ps: cls(ps, **t_kw), STEPS, clip=clip)
                go_kw = dict(kw)
                go_kw["clip_" + clip[0]] = clip[1]
                fn = "clip_grad_norm_" if clip[0] == "norm" else "clip_grad_value_"
                cases.append({
                    "spec": spec(opt_name, go_kw),
                    "reference": f"torch.optim.{cls.__name__}({t_kw}) + torch.nn.utils.{fn}({clip[1]})",
                    "problem": problem, "steps": STEPS, "trajectory": traj,
                })
    return cases


# ---- NumPy transcriptions of the papers' (or Keras's) equations. ----

def np_run(problem, step_fn, steps):
    shape = problem.get("shape", [len(problem["w0"])])
    w = np.array(problem["w0"], dtype=np.float64).reshape(shape)
    state = {}
    traj = [w.ravel().tolist()]
    for t in range(1, steps + 1):
        g = grad_numpy(problem, w.ravel()).reshape(shape)
        w = step_fn(w, g, t, state)
        traj.append(w.ravel().tolist())
    return traj


def lion(lr, b1=0.9, b2=0.99, wd=0.0):
    # Chen et al. 2023, Algorithm 2.
    def step(w, g, t, s):
        m = s.get("m", np.zeros_like(w))
        c = b1 * m + (1 - b1) * g
        w = w - lr * (np.sign(c) + wd * w)
        s["m"] = b2 * m + (1 - b2) * g
        return w
    return step


def lamb(lr, b1=0.9, b2=0.999, eps=1e-6, wd=0.0):
    # You et al. 2019, Algorithm 2, phi = identity, one layer.
    def step(w, g, t, s):
        m = b1 * s.get("m", np.zeros_like(w)) + (1 - b1) * g
        v = b2 * s.get("v", np.zeros_like(w)) + (1 - b2) * g * g
        s["m"], s["v"] = m, v
        mh, vh = m / (1 - b1 ** t), v / (1 - b2 ** t)
        r = mh / (np.sqrt(vh) + eps) + wd * w
        pn, rn = np.linalg.norm(w), np.linalg.norm(r)
        ratio = pn / rn if pn > 0 and rn > 0 else 1.0
        return w - lr * ratio * r
    return step


def lars(lr, momentum=0.9, wd=0.0, coef=1e-3):
    # You et al. 2017, Algorithm 1: local lr = coef*||w||/(||g|| + wd*||w||).
    def step(w, g, t, s):
        pn, gn = np.linalg.norm(w), np.linalg.norm(g)
        local = coef * pn / (gn + wd * pn) if pn > 0 and gn > 0 else 1.0
        v = momentum * s.get("v", np.zeros_like(w)) + lr * local * (g + wd * w)
        s["v"] = v
        return w - v
    return step


def keras_adam(lr, b1=0.9, b2=0.999, eps=1e-7, amsgrad=False):
    # Keras Adam: lr_t = lr*sqrt(1-b2^t)/(1-b1^t); w -= lr_t*m/(sqrt(v)+eps).
    def step(w, g, t, s):
        m = b1 * s.get("m", np.zeros_like(w)) + (1 - b1) * g
        v = b2 * s.get("v", np.zeros_like(w)) + (1 - b2) * g * g
        s["m"], s["v"] = m, v
        if amsgrad:
            v = np.maximum(s.get("vmax", np.zeros_like(w)), v)
            s["vmax"] = v
        lr_t = lr * math.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        return w - lr_t * m / (np.sqrt(v) + eps)
    return step


def adam_no_bias_correction(lr, b1=0.9, b2=0.999, eps=1e-8):
    def step(w, g, t, s):
        m = b1 * s.get("m", np.zeros_like(w)) + (1 - b1) * g
        v = b2 * s.get("v", np.zeros_like(w)) + (1 - b2) * g * g
        s["m"], s["v"] = m, v
        return w - lr * m / (np.sqrt(v) + eps)
    return step


def keras_rmsprop(lr=0.001, rho=0.9, eps=1e-7, momentum=0.0, centered=False):
    # Keras RMSprop: v = rho*v + (1-rho)g^2; centered subtracts mean^2; eps inside sqrt.
    def step(w, g, t, s):
        v = rho * s.get("v", np.zeros_like(w)) + (1 - rho) * g * g
        s["v"] = v
        den = v
        if centered:
            mg = rho * s.get("mg", np.zeros_like(w)) + (1 - rho) * g
            s["mg"] = mg
            den = v - mg * mg
        inc = lr * g / np.sqrt(den + eps)
        if momentum > 0:
            b = momentum * s.get("b", np.zeros_like(w)) + inc
            s["b"] = b
            inc = b
        return w - inc
    return step


def newton_schulz5(g, steps):
    a, b, c = 3.4445, -4.7750, 2.0315
    x = g / (np.linalg.norm(g) + 1e-7)
    transposed = x.shape[0] > x.shape[1]
    if transposed:
        x = x.T
    for _ in range(steps):
        A = x @ x.T
        B = b * A + c * A @ A
        x = a * x + B @ x
    return x.T if transposed else x


def muon(lr, momentum=0.95, nesterov=True, ns_steps=5, wd=0.0, adam_lr=3e-4, b1=0.9, b2=0.999, eps=1e-8):
    # Jordan et al. 2024 (modded-nanogpt's Muon); matrices in GoMLX's [fan_in, fan_out]
    # layout, scaled by sqrt(max(1, fan_out/fan_in)); vectors use AdamW at adam_lr.
    def step(w, g, t, s):
        if w.ndim < 2:
            m = b1 * s.get("m", np.zeros_like(w)) + (1 - b1) * g
            v = b2 * s.get("v", np.zeros_like(w)) + (1 - b2) * g * g
            s["m"], s["v"] = m, v
            d = (m / (1 - b1 ** t)) / (np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps)
            return w - adam_lr * (d + wd * w)
        buf = momentum * s.get("buf", np.zeros_like(w)) + g
        s["buf"] = buf
        d = g + momentum * buf if nesterov else buf
        o = newton_schulz5(d, ns_steps)
        scale = math.sqrt(max(1.0, w.shape[1] / w.shape[0]))
        return w - lr * scale * o - lr * wd * w
    return step


NUMPY_CASES = [
    ("lion", {"lr": 0.01}, "Chen et al. 2023 Alg. 2", lion(0.01)),
    ("lion", {"lr": 0.003, "b1": 0.8, "b2": 0.95, "weight_decay": 0.5}, "Chen et al. 2023 Alg. 2", lion(0.003, 0.8, 0.95, 0.5)),
    ("lamb", {"lr": 0.05}, "You et al. 2019 Alg. 2", lamb(0.05)),
    ("lamb", {"lr": 0.02, "b1": 0.8, "b2": 0.99, "eps": 1e-4, "weight_decay": 0.1}, "You et al. 2019 Alg. 2", lamb(0.02, 0.8, 0.99, 1e-4, 0.1)),
    ("lars", {"lr": 1.0}, "You et al. 2017 Alg. 1", lars(1.0)),
    ("lars", {"lr": 0.5, "momentum": 0.8, "weight_decay": 0.01, "trust_coefficient": 0.02}, "You et al. 2017 Alg. 1",
     lars(0.5, 0.8, 0.01, 0.02)),
    ("adam", {"lr": 0.05, "keras": True}, "Keras Adam equations (epsilon-hat)", keras_adam(0.05)),
    ("adam", {"lr": 0.05, "keras": True, "amsgrad": True, "eps": 1e-3}, "Keras Adam equations (epsilon-hat), amsgrad",
     keras_adam(0.05, eps=1e-3, amsgrad=True)),
    ("adam", {"lr": 0.02, "bias_correction": False}, "Adam without bias correction", adam_no_bias_correction(0.02)),
    ("rmsprop", {"keras": True}, "Keras RMSprop equations (eps inside sqrt)", keras_rmsprop()),
    ("rmsprop", {"keras": True, "lr": 0.003, "momentum": 0.5, "centered": True},
     "Keras RMSprop equations (eps inside sqrt), centered, momentum", keras_rmsprop(0.003, momentum=0.5, centered=True)),
]


def schedule_free_adamw(lr, b1=0.9, b2=0.999, eps=1e-8, wd=0.0, warmup=0):
    # Defazio et al. 2024, Algorithm 1; the parameter holds y_t.
    def step(y, g, t, s):
        z = s.get("z", y.copy())
        x = s.get("x", y.copy())
        v = b2 * s.get("v", np.zeros_like(y)) + (1 - b2) * g * g
        gamma = lr * math.sqrt(1 - b2 ** t) * (min(1.0, t / warmup) if warmup > 0 else 1.0)
        s["sum"] = s.get("sum", 0.0) + gamma * gamma
        z = z - gamma * g / (np.sqrt(v) + eps) - gamma * wd * y
        c = gamma * gamma / s["sum"]
        x = (1 - c) * x + c * z
        s["z"], s["x"], s["v"] = z, x, v
        return (1 - b1) * z + b1 * x
    return step


def adafactor(lr=0.01, decay_rate=0.8, eps1=1e-30, eps2=1e-3, d=1.0):
    # Shazeer & Stern 2018, Algorithms 4 (matrices, factored) and 5 (vectors), no momentum.
    def rms(x):
        return math.sqrt(np.mean(x * x))

    def step(w, g, t, s):
        beta = 1 - t ** (-decay_rate)
        rho = min(lr, 1 / math.sqrt(t))
        alpha = max(eps2, rms(w)) * rho
        g2 = g * g + eps1
        if w.ndim >= 2:
            R = beta * s.get("R", np.zeros(w.shape[0])) + (1 - beta) * g2.sum(axis=1)
            C = beta * s.get("C", np.zeros(w.shape[1])) + (1 - beta) * g2.sum(axis=0)
            s["R"], s["C"] = R, C
            v = np.outer(R, C) / R.sum()
        else:
            v = beta * s.get("V", np.zeros_like(w)) + (1 - beta) * g2
            s["V"] = v
        U = g / np.sqrt(v)
        U = U / max(1.0, rms(U) / d)
        return w - alpha * U
    return step


MUON_CASES = [
    ("muon", {"lr": 0.02}, "Jordan et al. 2024 (Muon, modded-nanogpt)", muon(0.02)),
    ("muon", {"lr": 0.05, "momentum": 0.9, "nesterov": False, "ns_steps": 3, "weight_decay": 0.1, "adam_lr": 0.01},
     "Jordan et al. 2024 (Muon, modded-nanogpt)", muon(0.05, 0.9, False, 3, 0.1, 0.01)),
]


ADAFACTOR_CASES = [
    ("adafactor", {}, "Shazeer & Stern 2018 Alg. 4/5", adafactor()),
    ("adafactor", {"lr": 0.1, "decay_rate": 0.5, "eps2": 0.01, "clip_threshold": 0.5},
     "Shazeer & Stern 2018 Alg. 4/5", adafactor(0.1, 0.5, 1e-30, 0.01, 0.5)),
]

SCHEDULE_FREE_CASES = [
    ("schedule_free_adamw", {"lr": 0.05}, "Defazio et al. 2024 Alg. 1", schedule_free_adamw(0.05)),
    ("schedule_free_adamw", {"lr": 0.1, "b1": 0.8, "b2": 0.99, "eps": 1e-6, "weight_decay": 0.05, "warmup": 10},
     "Defazio et al. 2024 Alg. 1", schedule_free_adamw(0.1, 0.8, 0.99, 1e-6, 0.05, 10)),
]


def numpy_cases():
    cases = []
    for name, kw, ref, step in NUMPY_CASES + MUON_CASES + ADAFACTOR_CASES + SCHEDULE_FREE_CASES:
        problems = PROBLEMS + (MATRIX_PROBLEMS if name in ("muon", "adafactor") else [])
        for problem in problems:
            # Step functions keep their state in the dict np_run passes, so each run starts fresh.
            traj = np_run(problem, step, STEPS)
            if not all(math.isfinite(x) for row in traj for x in row):
                print(f"skipping {spec(name, kw)} on {problem['name']}: diverges", file=sys.stderr)
                continue
            cases.append({"spec": spec(name, kw), "reference": "NumPy from " + ref,
                          "problem": problem, "steps": STEPS, "trajectory": traj})
    return cases


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", "optlab", "optimizers", "testdata")
    os.makedirs(out, exist_ok=True)
    meta = {"generator": "scripts/reference/gen_goldens.py", "torch": torch.__version__, "numpy": np.__version__,
            "dtype": "float64"}
    for fname, cases in [("torch_optimizers.json", torch_optimizer_cases()),
                         ("torch_schedules.json", schedule_cases()),
                         ("numpy_paper.json", numpy_cases())]:
        with open(os.path.join(out, fname), "w") as f:
            json.dump(dict(meta, cases=cases), f, indent=None, separators=(",", ":"))
            f.write("\n")
        print(f"{fname}: {len(cases)} cases")


if __name__ == "__main__":
    main()
