#!/usr/bin/env python3
"""JAX + optax reference for `optlab bench` (meant for the GPU machine).

    python3 scripts/bench/jax_mlp.py [--models mlp-small,mlp-bn] [--batch-sizes 32,256]
        [--steps 200] [--epochs 2] [--update-params 1e6,1e8] [--mnist DIR] [--json FILE|-]

The same protocol as scripts/bench/torch_mlp.py and bench.Training (optlab/bench): the
first steps·batch MNIST training images, one untimed epoch (compilation,
warm-up), then `epochs` timed epochs in fresh random orders; each step gathers
its batch on the host, transfers it, runs one jitted step (forward, softmax
cross-entropy, gradient, optax.adam(1e-3, eps=1e-8)) and reads the loss and
the number of correct predictions back, as optlab does. Models, initialisation
(Glorot-uniform kernels, zero biases) and the batch-norm model's details (L2
1e-4 on the first kernel, momentum 0.99, eps 1e-3, dropout 0.2) match
torch_mlp.py. The update benchmark times optax.adam on one float32 vector of
N parameters with a fixed gradient, jitted with the state donated.

Needs jax and optax (the GPU machines' /opt/torch/.venv has JAX; pip install
optax there if it is missing). Not runnable on the 2-core development
machine, which has neither.
"""

import argparse
import json
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from mnist_idx import load_train  # noqa: E402

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import optax  # noqa: E402


def glorot(key, fan_in, fan_out):
    limit = np.sqrt(6.0 / (fan_in + fan_out))
    return jax.random.uniform(key, (fan_in, fan_out), jnp.float32, -limit, limit)


def init(name, key):
    sizes = {"mlp-small": [784, 128, 64, 10], "mlp-bn": [784, 300, 100, 10]}[name]
    keys = jax.random.split(key, len(sizes) - 1)
    params = {f"d{i}": {"w": glorot(k, a, b), "b": jnp.zeros((b,), jnp.float32)}
              for i, (k, a, b) in enumerate(zip(keys, sizes[:-1], sizes[1:]))}
    state = {}
    if name == "mlp-bn":
        params["bn"] = {"gamma": jnp.ones((300,), jnp.float32), "beta": jnp.zeros((300,), jnp.float32)}
        state = {"mean": jnp.zeros((300,), jnp.float32), "var": jnp.ones((300,), jnp.float32)}
    return params, state


def forward(name, params, state, x, key):
    """Training-mode forward pass: logits, regularisation term, new batch-norm state."""
    dense = lambda p, h: h @ p["w"] + p["b"]  # noqa: E731
    if name == "mlp-small":
        h = jax.nn.relu(dense(params["d0"], x))
        h = jax.nn.relu(dense(params["d1"], h))
        return dense(params["d2"], h), 0.0, state
    h = jax.nn.relu(dense(params["d0"], x))
    mean, var = h.mean(0), h.var(0)
    h = params["bn"]["gamma"] * (h - mean) / jnp.sqrt(var + 1e-3) + params["bn"]["beta"]
    new_state = {"mean": 0.99 * state["mean"] + 0.01 * mean, "var": 0.99 * state["var"] + 0.01 * var}
    h = jax.nn.relu(dense(params["d1"], h))
    keep = jax.random.bernoulli(key, 0.8, h.shape)
    h = jnp.where(keep, h / 0.8, 0.0)
    reg = 1e-4 * jnp.sum(params["d0"]["w"] ** 2)
    return dense(params["d2"], h), reg, new_state


def make_step(name, opt):
    def loss_fn(params, state, x, y, key):
        logits, reg, new_state = forward(name, params, state, x, key)
        ce = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
        return ce + reg, (logits, new_state)

    @jax.jit
    def step(params, state, opt_state, x, y, key):
        (loss, (logits, new_state)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params, state, x, y, key)
        updates, opt_state = opt.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        correct = jnp.sum(jnp.argmax(logits, 1) == y)
        return params, new_state, opt_state, loss, correct

    return step


def bench_training(name, x_all, y_all, batch, steps, epochs, seed):
    n = batch * steps
    x_all, y_all = x_all[:n], y_all[:n]
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    key = jax.random.PRNGKey(seed)
    params, state = init(name, key)
    opt = optax.adam(1e-3, eps=1e-8)
    opt_state = opt.init(params)
    step = make_step(name, opt)
    first, timed = None, 0.0
    cpu0 = None
    for epoch in range(1 + epochs):
        if epoch == 1:
            cpu0 = time.process_time()
        perm = rng.permutation(n)
        start = time.perf_counter()
        for s in range(steps):
            idx = perm[s * batch:(s + 1) * batch]
            key, sub = jax.random.split(key)
            params, state, opt_state, loss, correct = step(
                params, state, opt_state, jnp.asarray(x_all[idx]), jnp.asarray(y_all[idx]), sub)
            float(loss), int(correct)  # read back, as optlab's loop does
            if first is None:
                first = time.perf_counter() - t0
        if epoch >= 1:
            timed += time.perf_counter() - start
    n_params = sum(int(np.prod(v.shape)) for v in jax.tree_util.tree_leaves(params))
    return {
        "model": name, "optimizer": "optax.adam(1e-3)", "backend": f"jax {jax.__version__} {jax.devices()[0].platform}",
        "batch_size": batch, "steps": steps * epochs, "first_step_seconds": first, "seconds": timed,
        "cpu_seconds": time.process_time() - cpu0, "samples_per_sec": batch * steps * epochs / timed,
        "params": n_params, "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
    }


def bench_update(n, min_seconds=2.0):
    opt = optax.adam(1e-3)
    p = jnp.asarray(np.random.default_rng(0).standard_normal(n, dtype=np.float32))
    g = 0.01 * p
    s = opt.init(p)

    def update(p, s, g):
        u, s = opt.update(g, s, p)
        return optax.apply_updates(p, u), s

    upd = jax.jit(update, donate_argnums=(0, 1))
    p, s = upd(p, s, g)
    p.block_until_ready()
    reps, start = 0, time.perf_counter()
    while True:
        p, s = upd(p, s, g)
        reps += 1
        if reps % 10 == 0 or time.perf_counter() - start > min_seconds:
            p.block_until_ready()
            if time.perf_counter() - start >= min_seconds and reps >= 3:
                break
    sec = (time.perf_counter() - start) / reps
    return {"optimizer": "optax.adam(1e-3)", "params": n, "seconds_per_step": sec, "params_per_sec": n / sec,
            "bytes_per_sec_24": 24 * n / sec}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", default="mlp-small,mlp-bn")
    ap.add_argument("--batch-sizes", default="32,256")
    ap.add_argument("--steps", type=int, default=200)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--update-params", default="1e6,1e8")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--mnist", default="")
    ap.add_argument("--json", default="")
    args = ap.parse_args()
    x, y = load_train(args.mnist)
    y = y.astype(np.int32)
    training = [bench_training(m, x, y, int(b), args.steps, args.epochs, args.seed)
                for m in args.models.split(",") if m for b in args.batch_sizes.split(",") if b]
    updates = [bench_update(int(float(n))) for n in args.update_params.split(",") if n]
    rep = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "jax": jax.__version__,
           "optax": optax.__version__, "devices": [str(d) for d in jax.devices()],
           "training": training, "updates": updates}
    if args.json == "-":
        json.dump(rep, sys.stdout, indent=2)
        print()
        return
    if args.json:
        with open(args.json, "w") as f:
            json.dump(rep, f, indent=2)
    print(f"jax {rep['jax']}, optax {rep['optax']}, devices {rep['devices']}")
    for r in training:
        print(f"{r['model']:>10} {r['batch_size']:>5} {r['samples_per_sec']:>10.0f} samples/s  first step {r['first_step_seconds']:.2f} s")
    for u in updates:
        print(f"adam {u['params']:>11} params {u['seconds_per_step'] * 1e3:9.3f} ms/update {u['params_per_sec']:.4g} params/s")


if __name__ == "__main__":
    main()
