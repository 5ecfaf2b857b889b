#!/usr/bin/python3
"""Golden trajectories for the optimizers of issue 18, computed in NumPy from the papers.

    /usr/bin/python3 scripts/reference/gen_goldens_new.py [OUTDIR]

NumPy only (no torch). OUTDIR defaults to optlab/optimizers/testdata; the script
writes numpy_new.json there, in the case format of numpy_paper.json:

    {"spec": optlab spec string, "reference": paper + algorithm/equation,
     "problem": {...as gen_goldens.py...}, "steps": 50,
     "trajectory": [[w_0...], [w_1...], ...]}       (row 0 = start, float64)

plus, for the ema wrapper only,

    "ema_trajectory": [[e_0...], [e_1...], ...]     (row 0 = w_0; row t = the
                                                      reported EMA after step t)

The trajectory is always what the parameter variable holds after each step (for
lookahead: the fast weights, which equal the slow weights right after a sync; for
ema: the base optimizer's iterates, unchanged by the wrapper). The problems
(quad2, quad3, rosenbrock, mat3x2, mat2x4) are read from gen_goldens.py with ast,
without importing it (it imports torch), so both files always use the same
ones; mat5x3 (a dimension larger than the block sizes used) and
rosenbrock_valley (Rosenbrock from (−1.5, 2.25) on the valley floor, where
∂f/∂y starts at 0, so ADOPT's clipping acts) are defined here.

Every rule below is transcribed from the paper's algorithm box or equations
(named in a comment and in each case's "reference"). Where the common
implementations (the authors' code, optax, PyTorch) differ, the paper is the
default and the implementation form is an option when users would need it; the
differences are listed per rule, and in scripts/reference/NEW_OPTIMIZERS.md
(the hand-off for the Go implementation, with the exact order of operations).
No code of any project was copied; implementations were read only to document
how they differ from the papers.

Conventions (all rules): t is the optimizer's step, 1-based (t = 1 on the first
update); η is the learning rate of the step (after any schedule); g the gradient
of the loss at the current parameter p (after clip_norm / clip_value, before any
weight decay); decays are written in the "decay" convention b·old + (1 − b)·new
(Adan's paper uses the other one; see adan).

Spec syntax for wrappers (the choice, and why)
----------------------------------------------
    lookahead(base=adam(lr=0.001),k=5,alpha=0.5)
    sam(base=sgd(lr=0.1,momentum=0.9),rho=0.05,adaptive=true)
    cautious(base=lion(lr=0.0001))
    ema(base=adamw(lr=0.001,schedule=cosine(steps=1000)),decay=0.999)

The base optimizer is the value of the key `base`, written as a nested call.
Reasons:
  * parse.go's grammar is name(key=value,...) only: parseCall reads an identifier
    and then requires '='. A positional first argument, lookahead(adam(...),k=5),
    would need a grammar change; base=adam(...) does not: parseValue already
    returns a valCall for a nested call (that is how schedule=cosine(...) works),
    so the tokenizer, the error positions (column of the token) and the fuzz
    target stay as they are.
  * It reads the same in Go, on the CLI and in notebooks, and the canonical
    String() can print base=<base canonical spec> first, then the wrapper's keys
    in their fixed order, like every other spec.
  * maxSpecDepth = 4 already allows ema(base=lookahead(base=adam(schedule=cosine(...)))).
  * Defaults: a wrapper without base is an error ("base is required"); base must
    be an optimizer (the error names the bad token, e.g. an unknown name).
  * The general options (schedule, clip_norm, clip_value, skip_nonfinite) belong to
    the base: a wrapper should reject them with "put schedule inside base=...",
    so that there is one place for each. Wrappers share the base's step counter t.
  * cautious needs a base whose update is p ← p − η·d (plus, optionally, decoupled
    weight decay added after d), so that it can mask d: in optlab's chains, the
    rules ending [..., (AddWeightDecay after the direction), ScaleByLearningRate,
    (DecoupledWeightDecay)]: sgd/momentum/nesterov, adagrad, adadelta, rmsprop,
    adam/amsgrad/adamw, adamax, nadam, radam, lion, and adabelief, yogi, ademamix
    when written as a direction transform + ScaleByLearningRate (as
    NEW_OPTIMIZERS.md suggests). Others (lamb and lars, whose trust ratios wrap the
    decay; rprop, asgd, muon, schedule_free_adamw, adafactor, madgrad, prodigy,
    adan, adopt, shampoo, soap, which produce the final update themselves) are
    rejected with an error at the base token.

EMA ("ema_trajectory"): e_0 = p_0; after step t, e_t = β·e_{t−1} + (1 − β)·p_t;
with debias=true, e_0 = 0 and the reported value is e_t/(1 − βᵗ) (row 0 is p_0).

Self-checks (asserted before anything is written):
  * the NumPy bases used inside wrappers (sgd, adam, adamw, lion) reproduce the
    committed goldens (torch_optimizers.json, numpy_paper.json) to 1e-12;
  * lookahead(k=1, alpha=1) == base; cautious == base when every sign agrees;
    sam(rho=0) == base; ademamix(alpha=0) == adamw; soap without rotation
    (vector, precondition_1d=false, or no refresh within the run) == adamw;
    shampoo(block_size=1) == AdaGrad with ε inside the root; prodigy with d frozen
    at d0 == adam without bias correction at lr·d0; adopt(form=authors) is
    adopt(form=paper) delayed by one step (clip on and off);
  * every case is finite, moves (max |w_50 − w_0| ≥ 0.01), stays within |w| ≤ 20,
    and is stable: rerun three times with every gradient multiplied by
    (1 + 1e-15·u), u uniform in [−1, 1] (a few ulps, about what separates two
    implementations), it stays within 1e-11 relative (the tests allow 1e-10); sign
    and mask decisions keep a relative margin ≥ 1e-10 from their thresholds. So no
    sign test, mask or eigendecomposition in a golden sits on a knife edge.
  * lookahead(base=adam(lr=0.1),k=1,alpha=1) equals the committed PyTorch golden
    adam(lr=0.1) to 1e-12;
  * every spec string parses under parse.go's grammar (check_grammar mirrors it).
The run prints, per case, how far it moved, the perturbation spread, the smallest
margin and how often an option acted (masked / clipped entries, steps where
Prodigy's d grew or was growth-limited, Yogi's decreases of v).
"""

import ast
import json
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
TESTDATA = os.path.join(HERE, "..", "..", "optlab", "optimizers", "testdata")


def _from_gen_goldens(*names):
    """Literal assignments of gen_goldens.py, read without importing it (it imports torch)."""
    with open(os.path.join(HERE, "gen_goldens.py")) as f:
        tree = ast.parse(f.read())
    out = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            if node.targets[0].id in names:
                out[node.targets[0].id] = ast.literal_eval(node.value)
    missing = set(names) - set(out)
    if missing:
        raise SystemExit(f"gen_goldens.py no longer defines {sorted(missing)} as literals")
    return [out[n] for n in names]


STEPS, VEC_PROBLEMS, MATRIX_PROBLEMS = _from_gen_goldens("STEPS", "PROBLEMS", "MATRIX_PROBLEMS")
QUAD2, QUAD3, ROSEN = VEC_PROBLEMS
MAT3X2, MAT2X4 = MATRIX_PROBLEMS
# A matrix with a dimension (5) larger than the block size / max_precond_dim used below.
MAT5X3 = {"name": "mat5x3", "type": "quadratic", "shape": [5, 3],
          "a": [1.2, 0.6, 2.1, 0.9, 1.7, 0.4, 2.6, 1.1, 0.7, 1.5, 0.8, 1.9, 0.5, 2.3, 1.3],
          "b": [0.2, -0.1, 0.0, 0.3, -0.4, 0.1, -0.2, 0.25, 0.05, 0.0, -0.3, 0.15, 0.4, -0.05, 0.1],
          "w0": [0.8, -1.0, 0.6, -0.4, 1.1, 0.9, -0.7, 0.3, 1.3, -0.2, 0.5, -1.2, 1.0, 0.2, -0.6]}
MATS = [MAT3X2, MAT2X4, MAT5X3]
# Rosenbrock started on the valley floor (y = x²): ∂f/∂y = 0 at the start, so it grows
# from 0 and ADOPT's clipping acts (without it ADOPT blows up here).
ROSEN_VALLEY = {"name": "rosenbrock_valley", "type": "rosenbrock", "w0": [-1.5, 2.25]}

PERTURB = 1e-15      # relative size of the gradient perturbation of the stability check (a few ulps)
STABLE_TOL = 1e-11   # what the perturbed reruns may differ by (the tests allow 1e-10)
STABLE_DRAWS = 3     # perturbed reruns per case


# ---------------------------------------------------------------- problems and runner

def grad(problem, w):
    """Gradient of the problem at w (any shape; values row-major)."""
    flat = w.ravel()
    if problem["type"] == "quadratic":
        g = np.asarray(problem["a"]) * flat + np.asarray(problem["b"])
    else:
        x, y = flat
        g = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
    return g.reshape(w.shape)


def shape_of(problem):
    return problem.get("shape", [len(problem["w0"])])


def run(problem, opt, steps=STEPS, rng=None):
    """Runs opt from w0; returns (trajectory rows, state). With rng, every gradient
    evaluation is multiplied by (1 + PERTURB·u) (the stability check)."""
    w = np.array(problem["w0"], dtype=np.float64).reshape(shape_of(problem))

    def gradf(x):
        g = grad(problem, x)
        if rng is not None:
            g = g * (1 + PERTURB * rng.uniform(-1, 1, g.shape))
        return g

    state = {}
    traj = [w.ravel().tolist()]
    for t in range(1, steps + 1):
        w = opt(w, gradf(w), t, state, gradf)
        traj.append(w.ravel().tolist())
    return traj, state


def max_rel_diff(a, b):
    a, b = np.asarray(a), np.asarray(b)
    scale = max(np.max(np.abs(a)), 1e-300)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-3 * scale)))


# ---------------------------------------------------------------- spec strings

def fmt(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, str):
        return v
    return repr(float(v))


def spec(name, kw):
    if not kw:
        return name
    return name + "(" + ",".join(f"{k}={fmt(v)}" for k, v in kw.items()) + ")"


def check_grammar(text):
    """Asserts that text is a spec under parse.go's grammar: name[(key=value,...)], value a
    number, identifier, list or nested call, at most maxSpecDepth = 4 nested calls."""
    import re
    ident = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
    number = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
    pos = 0

    def call(depth):
        nonlocal pos
        assert depth <= 4, f"{text}: nested too deeply"
        m = ident.match(text, pos)
        assert m, f"{text}: expected a name at column {pos + 1}"
        pos = m.end()
        if pos >= len(text) or text[pos] != "(":
            return
        pos += 1
        if text[pos] == ")":
            pos += 1
            return
        while True:
            m = ident.match(text, pos)
            assert m and text[m.end()] == "=", f"{text}: expected key= at column {pos + 1}"
            pos = m.end() + 1
            if text[pos] == "[":
                end = text.index("]", pos)
                for item in text[pos + 1:end].split(","):
                    assert number.fullmatch(item), f"{text}: bad list item {item!r}"
                pos = end + 1
            elif ident.match(text, pos):
                call(depth + 1)
            else:
                m = number.match(text, pos)
                assert m, f"{text}: expected a value at column {pos + 1}"
                pos = m.end()
            assert text[pos] in ",)", f"{text}: expected ',' or ')' at column {pos + 1}"
            pos += 1
            if text[pos - 1] == ")":
                return

    call(0)
    assert pos == len(text), f"{text}: unexpected text at column {pos + 1}"


# ---------------------------------------------------------------- base rules used inside wrappers
#
# A "direction rule" returns d with p ← p − η·(d + λ_dec·p): the split cautious needs.
# These are optlab's existing sgd/adam/adamw/lion (PyTorch / Chen et al. forms, as in
# registry.go); check_bases() verifies them against the committed goldens.

class Direction:
    def __init__(self, name, kw, fn, lr, decoupled_wd=0.0):
        self.name, self.kw, self.fn, self.lr, self.dwd = name, kw, fn, lr, decoupled_wd

    def spec(self):
        return spec(self.name, self.kw)

    def step(self, direction=None):
        fn = direction or self.fn

        def step(w, g, t, s, gradf):
            d = fn(w, g, t, s)
            return w - self.lr * (d + self.dwd * w)
        return step


def sgd(lr, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0):
    # torch.optim.SGD: d = g + λp; b_1 = d, b_t = μb + (1 − τ)d; d ← b (or d + μb).
    kw = {"lr": lr}
    for k, v, dflt in [("momentum", momentum, 0.0), ("dampening", dampening, 0.0),
                       ("nesterov", nesterov, False), ("weight_decay", weight_decay, 0.0)]:
        if v != dflt:
            kw[k] = v

    def fn(w, g, t, s):
        d = g + weight_decay * w
        if momentum:
            b = d.copy() if t == 1 else momentum * s["b"] + (1 - dampening) * d
            s["b"] = b
            d = d + momentum * b if nesterov else b
        return d
    return Direction("sgd", kw, fn, lr)


def _adam_fn(b1, b2, eps, coupled_wd, bias_correction=True):
    # Kingma & Ba 2015 Alg. 1 in PyTorch's form: (m/(1 − β₁ᵗ)) / (√v/√(1 − β₂ᵗ) + ε).
    def fn(w, g, t, s):
        g = g + coupled_wd * w
        m = b1 * s.get("m", 0.0) + (1 - b1) * g
        v = b2 * s.get("v", 0.0) + (1 - b2) * g * g
        s["m"], s["v"] = m, v
        if not bias_correction:
            return m / (np.sqrt(v) + eps)
        return (m / (1 - b1 ** t)) / (np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps)
    return fn


def adam(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, bias_correction=True):
    kw = {"lr": lr}
    for k, v, dflt in [("b1", b1, 0.9), ("b2", b2, 0.999), ("eps", eps, 1e-8),
                       ("weight_decay", weight_decay, 0.0), ("bias_correction", bias_correction, True)]:
        if v != dflt:
            kw[k] = v
    return Direction("adam", kw, _adam_fn(b1, b2, eps, weight_decay, bias_correction), lr)


def adamw(lr, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01):
    # torch.optim.AdamW: p ← p(1 − ηλ) − η·u = p − η(u + λp).
    kw = {"lr": lr}
    for k, v, dflt in [("b1", b1, 0.9), ("b2", b2, 0.999), ("eps", eps, 1e-8), ("weight_decay", weight_decay, 0.01)]:
        if v != dflt:
            kw[k] = v
    return Direction("adamw", kw, _adam_fn(b1, b2, eps, 0.0), lr, weight_decay)


def lion(lr, b1=0.9, b2=0.99, weight_decay=0.0):
    # Chen et al. 2023, Algorithm 2: c = β₁m + (1 − β₁)g; p ← p − η(sign(c) + λp); m ← β₂m + (1 − β₂)g.
    kw = {"lr": lr}
    for k, v, dflt in [("b1", b1, 0.9), ("b2", b2, 0.99), ("weight_decay", weight_decay, 0.0)]:
        if v != dflt:
            kw[k] = v

    def fn(w, g, t, s):
        m = s.get("m", np.zeros_like(w))
        c = b1 * m + (1 - b1) * g
        knife_edge("lion sign(c)", c, np.maximum(np.abs(b1 * m), np.abs((1 - b1) * g)))
        s["m"] = b2 * m + (1 - b2) * g
        return np.sign(c)
    return Direction("lion", kw, fn, lr, weight_decay)


# Discrete decisions (signs, masks) must not sit within rounding of their threshold, or
# an implementation that rounds differently takes the other branch. knife_edge records
# the smallest relative margin seen in the current run; cases assert it is ≥ 1e-10,
# 10⁴ times the ~1e-14 by which implementations' iterates differ.
_MARGIN = [math.inf]
# How often an option actually acted in the current run (masked entries, clipped entries,
# growth-limited steps), so that a case that never exercises its option is noticed.
_EVENTS = {}


def event(name, n=1):
    _EVENTS[name] = _EVENTS.get(name, 0) + int(n)


def knife_edge(what, x, scale):
    x, scale = np.abs(np.asarray(x, dtype=np.float64)), np.asarray(scale, dtype=np.float64)
    nz = scale > 0
    if np.any(nz):
        _MARGIN[0] = min(_MARGIN[0], float(np.min(x[nz] / scale[nz])))


# ---------------------------------------------------------------- the new rules

def adabelief(lr=1e-3, b1=0.9, b2=0.999, eps=1e-16, weight_decay=0.0, decoupled=False, form="paper"):
    """Zhuang et al. 2020, "AdaBelief Optimizer", Algorithm 2 (arXiv 2010.07468 v2+):
        m_t = β₁m + (1 − β₁)g
        s_t = β₂s + (1 − β₂)(g − m_t)² + ε          (ε accumulates in the state)
        m̂ = m_t/(1 − β₁ᵗ),  ŝ = (s_t + ε)/(1 − β₂ᵗ)
        p ← p − η·m̂/(√ŝ + ε)
    form=authors: ŝ = s_t/(1 − β₂ᵗ) (no second ε), as adabelief-pytorch (the authors'
    code, which adds ε to s_t in place) and optax (eps_root) do, and as the v1 preprint
    wrote it; v2 added the ε inside the bias correction (Adabelief-Optimizer issues 23,
    32, 61). Weight decay (not in Alg. 2): coupled g ← g + λp, or
    decoupled=true, p ← p − η(u + λp) (the authors' weight_decouple). Not covered:
    the AMSGrad branch of Alg. 2 and the authors' rectify (RAdam) option."""
    def step(w, g, t, s, gradf):
        if weight_decay and not decoupled:
            g = g + weight_decay * w
        m = b1 * s.get("m", 0.0) + (1 - b1) * g
        sv = b2 * s.get("s", 0.0) + (1 - b2) * (g - m) ** 2 + eps
        s["m"], s["s"] = m, sv
        m_hat = m / (1 - b1 ** t)
        s_hat = (sv + eps) / (1 - b2 ** t) if form == "paper" else sv / (1 - b2 ** t)
        u = m_hat / (np.sqrt(s_hat) + eps)
        if weight_decay and decoupled:
            u = u + weight_decay * w
        return w - lr * u
    return step


def yogi(lr=1e-2, b1=0.9, b2=0.999, eps=1e-3, initial_accumulator_value=0.0, bias_correction=False,
         weight_decay=0.0):
    """Zaheer et al. 2018, "Adaptive Methods for Nonconvex Optimization", Algorithm 2 (Yogi):
        m_t = β₁m + (1 − β₁)g
        v_t = v − (1 − β₂)·sign(v − g²)·g²           (sign(0) = 0)
        p ← p − η·m_t/(√v_t + ε)                      (m_0 = 0, v_0 = 0: no bias correction)
    Options: initial_accumulator_value = v_0; bias_correction=true divides by (1 − β₁ᵗ),
    (1 − β₂ᵗ) as Adam. optax.yogi = bias_correction=true, initial_accumulator_value=1e-6,
    except that optax also starts m at 1e-6 (here m_0 = 0 always). weight_decay: coupled L2."""
    def step(w, g, t, s, gradf):
        g = g + weight_decay * w
        m = b1 * s.get("m", 0.0) + (1 - b1) * g
        v0 = s.get("v", np.full_like(w, initial_accumulator_value))
        g2 = g * g
        knife_edge("yogi sign(v − g²)", v0 - g2, np.maximum(v0, g2))
        v = v0 - (1 - b2) * np.sign(v0 - g2) * g2
        event("v-decreased", np.sum(v0 > g2))
        s["m"], s["v"] = m, v
        if bias_correction:
            return w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v) / math.sqrt(1 - b2 ** t) + eps)
        return w - lr * m / (np.sqrt(v) + eps)
    return step


def adan(lr=1e-3, b1=0.98, b2=0.92, b3=0.99, eps=1e-8, weight_decay=0.02, no_prox=False, form="paper"):
    """Xie et al. 2022/2024, "Adan: Adaptive Nesterov Momentum Algorithm", Algorithm 1
    (arXiv 2208.06677 v4 / TPAMI). The paper writes m_k = (1 − β₁)m + β₁g; optlab keys are
    decays, b = 1 − β_paper (defaults b1=0.98, b2=0.92, b3=0.99 = β 0.02, 0.08, 0.01), so
    the paper's (1 − β₂) is b2 below. Paper form (form=paper), with the paper's
    initialisation m_0 = g_0, v_0 = 0, v_1 = g_1 − g_0, n_0 = g_0² (k = t − 1):
        t = 1: m = g, v = 0, n = g²
        t = 2: m = b1·m + (1 − b1)g,  v = g − g_prev,                        n = b3·n + (1 − b3)(g + b2(g − g_prev))²
        t ≥ 3: m = b1·m + (1 − b1)g,  v = b2·v + (1 − b2)(g − g_prev),      n likewise
        η_t = η/√(n + ε)                                  (ε inside the root, Alg. 1 line 6)
        p ← (p − η_t∘(m + b2·v))/(1 + λη)                 (no_prox: p ← p(1 − λη) − η_t∘(m + b2·v))
    form=authors (sail-sg/Adan, timm): m, v, n start at 0 with bias corrections; the first
    difference is 0 (g_prev := g at t = 1); the root is √n/√(1 − b3ᵗ) + ε (ε outside):
        u = [m/(1 − b1ᵗ) + b2·v/(1 − b2ᵗ)] / (√n/√(1 − b3ᵗ) + ε)
    optax.adan (at 2edbcbe) also uses this form but multiplies the difference terms by
    (1 − b2) instead of b2. Not covered: the restart condition (Alg. 1 lines 8-10)."""
    def step(w, g, t, s, gradf):
        g_prev = s.get("g_prev", g)
        diff = g - g_prev
        if form == "paper":
            if t == 1:
                m, v, n = g.copy(), np.zeros_like(g), g * g
            else:
                m = b1 * s["m"] + (1 - b1) * g
                v = diff.copy() if t == 2 else b2 * s["v"] + (1 - b2) * diff
                n = b3 * s["n"] + (1 - b3) * (g + b2 * diff) ** 2
            u = (m + b2 * v) / np.sqrt(n + eps)
        else:
            m = b1 * s.get("m", 0.0) + (1 - b1) * g
            v = b2 * s.get("v", 0.0) + (1 - b2) * diff
            n = b3 * s.get("n", 0.0) + (1 - b3) * (g + b2 * diff) ** 2
            den = np.sqrt(n) / math.sqrt(1 - b3 ** t) + eps
            u = (m / (1 - b1 ** t) + b2 * v / (1 - b2 ** t)) / den
        s["m"], s["v"], s["n"], s["g_prev"] = m, v, n, g
        if no_prox:
            return w * (1 - lr * weight_decay) - lr * u
        return (w - lr * u) / (1 + lr * weight_decay)
    return step


def ademamix_alpha(t, alpha, warmup):
    # Pagliardini et al. 2024, Sec. 3 ("Schedulers"): f_α(t) = min(t·α/T_α, α).
    return alpha if warmup <= 0 else min(t * alpha / warmup, alpha)


def ademamix_beta3(t, b1, b3, warmup):
    # Pagliardini et al. 2024, Sec. 3: β3 warm-up that grows the half-life linearly,
    # f_β3(t) = min(exp(ln(β_start)·ln(β3) / ((1 − t/T)·ln(β3) + (t/T)·ln(β_start))), β3),
    # with β_start = β1 as in the paper.
    if warmup <= 0:
        return b3
    x = t / warmup
    return min(math.exp(math.log(b1) * math.log(b3) / ((1 - x) * math.log(b3) + x * math.log(b1))), b3)


def ademamix(lr=1e-3, b1=0.9, b2=0.999, b3=0.9999, alpha=5.0, eps=1e-8, weight_decay=0.0,
             alpha_warmup=0, b3_warmup=0):
    """Pagliardini, Ablin & Grangier 2024, "The AdEMAMix Optimizer: Better, Faster, Older",
    Algorithm 1:
        α_t = f_α(t), β3_t = f_β3(t)   (schedulers, off when their warm-up is 0)
        m1 = β₁m1 + (1 − β₁)g,  m2 = β3_t·m2 + (1 − β3_t)g,  ν = β₂ν + (1 − β₂)g²
        m̂1 = m1/(1 − β₁ᵗ),  ν̂ = ν/(1 − β₂ᵗ)        (m2 is not bias-corrected)
        p ← p − η((m̂1 + α_t·m2)/(√ν̂ + ε) + λp)
    optax.contrib.ademamix evaluates b3/alpha schedules at t − 1 (its count before the
    increment); here the paper's t. With α = 0 this is AdamW (checked)."""
    def step(w, g, t, s, gradf):
        a_t = ademamix_alpha(t, alpha, alpha_warmup)
        b3_t = ademamix_beta3(t, b1, b3, b3_warmup)
        m1 = b1 * s.get("m1", 0.0) + (1 - b1) * g
        m2 = b3_t * s.get("m2", 0.0) + (1 - b3_t) * g
        nu = b2 * s.get("nu", 0.0) + (1 - b2) * g * g
        s["m1"], s["m2"], s["nu"] = m1, m2, nu
        m1_hat = m1 / (1 - b1 ** t)
        nu_hat = nu / (1 - b2 ** t)
        return w - lr * ((m1_hat + a_t * m2) / (np.sqrt(nu_hat) + eps) + weight_decay * w)
    return step


def adopt(lr=1e-3, b1=0.9, b2=0.9999, eps=1e-6, clip=False, weight_decay=0.0, decoupled=False, form="paper"):
    """Taniguchi et al. 2024, "ADOPT: Modified Adam Can Converge with Any β2", Algorithm 2:
        v_0 = g_0⊙g_0, m_0 = 0;  for t ≥ 1:
        m_t = β₁m + (1 − β₁)·g_t/max(√v_{t−1}, ε)      (clip=true: Clip(·, c_t), c_t = t^(1/4))
        p ← p − η·m_t
        v_t = β₂v_{t−1} + (1 − β₂)g_t²
    One gradient per step (form=paper): g_0 is the gradient of step 1 (both are taken at
    p_0), so v_0 = g_1². form=authors (iShohei220/adopt, and optax.contrib.adopt): the first
    step only sets v_0 = g_1² and leaves p unchanged; then the rule runs from step 2 with
    c = (t − 1)^(1/4): the authors' clip_lambda(step) reads the step counter before its
    increment (src/adopt/adopt.py at 6468572: step == 0 is the init call), as optax's
    (count − 1)^(1/4) does, i.e. the number of real updates, the paper's t. So
    form=authors is form=paper delayed by one step, with or without clipping (checked).
    (An earlier version of this script clipped form=authors at t^(1/4), one step ahead of
    the authors' code; its two goldens were regenerated.) Weight decay (not in Alg. 2,
    as the authors' code): coupled g ← g + λp (also before v_0), or decoupled=true,
    p ← p − η(m_t + λp)."""
    def step(w, g, t, s, gradf):
        if weight_decay and not decoupled:
            g = g + weight_decay * w
        if form == "authors":
            if t == 1:
                s["v"] = g * g
                return w
            c = (t - 1) ** 0.25  # the authors' step counter before its increment
        else:
            if t == 1:
                s["v"] = g * g
            c = t ** 0.25
        x = g / np.maximum(np.sqrt(s["v"]), eps)
        if clip:
            event("clipped", np.sum(np.abs(x) > c))
            x = np.clip(x, -c, c)
        m = b1 * s.get("m", 0.0) + (1 - b1) * x
        s["m"] = m
        s["v"] = b2 * s["v"] + (1 - b2) * g * g
        u = m + weight_decay * w if (weight_decay and decoupled) else m
        return w - lr * u
    return step


def prodigy(lr=1.0, b1=0.9, b2=0.999, eps=1e-8, d0=1e-6, d_coef=1.0, growth=0.0, safeguard_warmup=False,
            weight_decay=0.0, bias_correction=False):
    """Mishchenko & Defazio 2023/2024, "Prodigy: An Expeditiously Adaptive Parameter-Free
    Learner", Algorithm 4 (Prodigy, Adam version), k = t − 1, sums over all parameters:
        γ = η (bias_correction: γ = η·√(1 − β₂ᵗ)/(1 − β₁ᵗ))
        m = β₁m + (1 − β₁)·d·g,   v = β₂v + (1 − β₂)·d²·g²
        r = √β₂·r + (1 − √β₂)·γ·d²·⟨g, p_0 − p⟩
        s = √β₂·s + (1 − √β₂)·γ·d²·g           (safeguard_warmup: d² instead of γd²)
        d̂ = d_coef·r/‖s‖₁  (d̂ = 0 when ‖s‖₁ = 0),   d_new = max(d, d̂)
        growth > 0: d_new = min(d_new, growth·d)
        p ← p − γ·d·(m/(√v + d·ε) + λp)          (old d; decoupled weight decay)
        d ← d_new
    The authors' prodigyopt uses d_new for ε in the denominator (here, as the paper, the
    old d), keeps d_max and lets d = min(d_max, growth·d), and skips the growth limit
    while d = d0; optax.contrib.prodigy always bias-corrects and has no growth limit."""
    def step(w, g, t, s, gradf):
        if t == 1:
            s["x0"], s["d"], s["r"] = w.copy(), d0, 0.0
        d = s["d"]
        gam = lr * (math.sqrt(1 - b2 ** t) / (1 - b1 ** t) if bias_correction else 1.0)
        sb2 = math.sqrt(b2)
        m = b1 * s.get("m", 0.0) + (1 - b1) * d * g
        v = b2 * s.get("v", 0.0) + (1 - b2) * d * d * g * g
        r = sb2 * s["r"] + (1 - sb2) * gam * d * d * float(np.sum(g * (s["x0"] - w)))
        sw = d * d if safeguard_warmup else gam * d * d
        sv = sb2 * s.get("s", 0.0) + (1 - sb2) * sw * g
        s["m"], s["v"], s["r"], s["s"] = m, v, r, sv
        den = float(np.sum(np.abs(sv)))
        d_hat = d_coef * r / den if den > 0 else 0.0
        d_new = max(d, d_hat)
        if growth > 0:
            if d_new > growth * d:
                event("growth-limited")
            d_new = min(d_new, growth * d)
        if d_new > d:
            event("d-grew")
        w = w - gam * d * (m / (np.sqrt(v) + d * eps) + weight_decay * w)
        s["d"] = d_new
        return w
    return step


def madgrad(lr=1e-2, momentum=0.9, eps=1e-6, weight_decay=0.0):
    """Defazio & Jelassi 2021/2022, "Adaptivity without Compromise: A Momentumized, Adaptive,
    Dual Averaged Gradient Method" (MADGRAD), Algorithm 1, k = t − 1:
        λ_k = η·√(k + 1)
        s = s + λ_k·g,   ν = ν + λ_k·g²                (s_0 = ν_0 = 0)
        z = p_0 − s/(∛ν + ε)
        p ← (1 − c)·p + c·z,   c = 1 − momentum        (momentum = 0: p ← z)
    The authors' code (facebookresearch/madgrad) and optax use η + ε in place of η.
    weight_decay: coupled, g ← g + λp (the authors' default)."""
    c = 1 - momentum

    def step(w, g, t, s, gradf):
        if t == 1:
            s["x0"] = w.copy()
        g = g + weight_decay * w
        lam = lr * math.sqrt(t)
        sv = s.get("s", 0.0) + lam * g
        nu = s.get("nu", 0.0) + lam * g * g
        s["s"], s["nu"] = sv, nu
        z = s["x0"] - sv / (np.cbrt(nu) + eps)
        if momentum == 0:
            return z
        return (1 - c) * w + c * z
    return step


def blocks(n, size):
    return [(i, min(i + size, n)) for i in range(0, n, size)]


def inverse_root(P, p):
    """P^(−1/p) of a symmetric positive-definite P by eigendecomposition P = QΛQᵀ."""
    lam, Q = np.linalg.eigh(P)
    return (Q * lam ** (-1.0 / p)) @ Q.T


def shampoo(lr=0.1, eps=1e-4, block_size=128, precondition_frequency=1):
    """Gupta, Koren & Singer 2018, "Shampoo: Preconditioned Stochastic Tensor Optimization",
    Algorithm 1 (matrices) and Algorithm 2 with k = 1 (vectors), with two practical options
    (Anil et al. 2020): blocks and a preconditioner refresh interval.
      Matrix m×n: split into blocks of at most block_size × block_size (row-major block order,
      last blocks smaller); per block B with gradient block G:
        L = L + G·Gᵀ,  R = R + Gᵀ·G                  (L_0 = εI, R_0 = εI; every step)
        refresh steps: L̃ = L^(−1/4), R̃ = R^(−1/4)     (eigendecomposition)
        U = L̃·G·R̃
      Vector n: blocks of at most block_size entries; per block: H = H + g·gᵀ (H_0 = εI),
        refresh: H̃ = H^(−1/2);  U = H̃·g               (full-matrix AdaGrad, Alg. 2 with k = 1)
      p ← p − η·U
    Refresh steps: t with (t − 1) mod precondition_frequency = 0 (t = 1, 1 + f, ...), using
    the statistics that include step t; between refreshes the stored roots are applied
    to the current gradient. (The paper refreshes every step: f = 1.)"""
    def step(w, g, t, s, gradf):
        refresh = (t - 1) % precondition_frequency == 0
        u = np.zeros_like(w)
        if w.ndim == 1:
            for (i, j) in blocks(w.shape[0], block_size):
                gb = g[i:j]
                key = ("H", i)
                H = s.get(key, eps * np.eye(j - i)) + np.outer(gb, gb)
                s[key] = H
                if refresh:
                    s[("Hr", i)] = inverse_root(H, 2)
                u[i:j] = s[("Hr", i)] @ gb
        else:
            for (i, j) in blocks(w.shape[0], block_size):
                for (k, l) in blocks(w.shape[1], block_size):
                    G = g[i:j, k:l]
                    L = s.get(("L", i, k), eps * np.eye(j - i)) + G @ G.T
                    R = s.get(("R", i, k), eps * np.eye(l - k)) + G.T @ G
                    s[("L", i, k)], s[("R", i, k)] = L, R
                    if refresh:
                        s[("Lr", i, k)], s[("Rr", i, k)] = inverse_root(L, 4), inverse_root(R, 4)
                    u[i:j, k:l] = s[("Lr", i, k)] @ G @ s[("Rr", i, k)]
        return w - lr * u
    return step


def soap(lr=3e-3, b1=0.95, b2=0.95, shampoo_beta=0.95, eps=1e-8, weight_decay=0.01, precondition_frequency=10,
         max_precond_dim=10000, precondition_1d=False, bias_correction=True, eigh=False):
    """Vyas et al. 2024, "SOAP: Improving and Stabilizing Shampoo using Adam", Algorithm 3
    (one step for an m×n layer) with Algorithm 4 (eigenvectors by one power iteration + QR):
        G' = Q_Lᵀ·G·Q_R                               (Q of the previous steps)
        M = β₁M + (1 − β₁)G,   M' = Q_Lᵀ·M·Q_R         (M kept in the original basis)
        V = β₂V + (1 − β₂)·G'⊙G'                       (V kept in the rotated basis)
        N' = (M'/(1 − β₁ᵗ)) / (√V/√(1 − β₂ᵗ) + ε)      (bias_correction=false: M'/(√V + ε))
        N = Q_L·N'·Q_Rᵀ
        p ← p − η(N + λp)                              (decoupled weight decay, AdamW order)
        L = βs·L + (1 − βs)·G·Gᵀ,  R = βs·R + (1 − βs)·Gᵀ·G     (βs = shampoo_beta)
        if t mod f = 0:  Q_L ← Eig(L, Q_L),  Q_R ← Eig(R, Q_R)
      Eig(P, Q) = QR(P·Q)'s Q factor (Alg. 4; column signs do not matter); eigh=true:
      the eigenvectors of P, ordered by decreasing eigenvalue.
    Initialisation (the paper leaves it out): M = V = 0, L = R = 0, Q_L = Q_R = I, so the
    first f steps are AdamW. A side (L or R) is kept only when 1 < its dimension ≤
    max_precond_dim; a missing side has Q = I. Vectors are plain AdamW unless
    precondition_1d=true, then they are n×1 matrices (left side only).
    The authors' code (nikhilvyas/SOAP) instead: spends step 1 on L, R and Q = eigh (no
    update), sorts the power-iteration columns by estimated eigenvalue and permutes V to
    match, folds bias correction into the step (ε on √V un-corrected; later versions use
    debiased betas 1 − (1 − β)/(1 − βᵗ) and max(√V, ε)), and decays p after the update."""
    def step(w, g, t, s, gradf):
        vec = w.ndim == 1
        G = g.reshape(-1, 1) if vec else g
        W = w.reshape(-1, 1) if vec else w
        mdim, ndim = G.shape
        left = 1 < mdim <= max_precond_dim and (not vec or precondition_1d)
        right = (not vec) and 1 < ndim <= max_precond_dim
        QL = s.get("QL", np.eye(mdim))
        QR = s.get("QR", np.eye(ndim))

        def proj(X):
            return (QL.T @ X if left else X) @ (QR if right else np.eye(ndim))

        def back(X):
            return (QL @ X if left else X) @ (QR.T if right else np.eye(ndim))

        Gp = proj(G)
        M = b1 * s.get("M", 0.0) + (1 - b1) * G
        Mp = proj(M)
        V = b2 * s.get("V", 0.0) + (1 - b2) * Gp * Gp
        s["M"], s["V"] = M, V
        if bias_correction:
            Np = (Mp / (1 - b1 ** t)) / (np.sqrt(V) / math.sqrt(1 - b2 ** t) + eps)
        else:
            Np = Mp / (np.sqrt(V) + eps)
        W = W - lr * (back(Np) + weight_decay * W)
        if left:
            s["L"] = shampoo_beta * s.get("L", 0.0) + (1 - shampoo_beta) * G @ G.T
        if right:
            s["R"] = shampoo_beta * s.get("R", 0.0) + (1 - shampoo_beta) * G.T @ G
        if t % precondition_frequency == 0:
            if left:
                s["QL"] = soap_eig(s["L"], QL, eigh)
            if right:
                s["QR"] = soap_eig(s["R"], QR, eigh)
        return W.reshape(w.shape)
    return step


def soap_eig(P, Q, use_eigh):
    if use_eigh:
        lam, E = np.linalg.eigh(P)
        order = np.argsort(-lam, kind="stable")
        return E[:, order]
    Qn, R = np.linalg.qr(P @ Q)
    return Qn * np.where(np.diag(R) < 0, -1.0, 1.0)   # diag(R) ≥ 0: a fixed, harmless sign choice


# ---------------------------------------------------------------- wrappers

def lookahead(base, k=5, alpha=0.5):
    """Zhang, Lucas, Hinton & Ba 2019, "Lookahead Optimizer: k steps forward, 1 step back",
    Algorithm 1: the parameter holds the fast weights θ; the slow weights φ (state) start at p_0.
        θ ← base step (the base's state and step counter are kept across syncs)
        if t mod k = 0:  φ ← φ + α(θ − φ);  θ ← φ"""
    bstep = base.step()

    def step(w, g, t, s, gradf):
        if t == 1:
            s["phi"] = w.copy()
        theta = bstep(w, g, t, s.setdefault("base", {}), gradf)
        if t % k == 0:
            s["phi"] = s["phi"] + alpha * (theta - s["phi"])
            theta = s["phi"].copy()
        return theta
    return step


def sam(base, rho=0.05, adaptive=False, adaptive_eta=0.01):
    """Foret et al. 2021, "Sharpness-Aware Minimization", Algorithm 1 (p = 2), and the
    adaptive variant ASAM of Kwon et al. 2021 (ICML), eq. for ε̂ with T_w = |w| + η_a:
        g = ∇f(p)
        SAM:  e = ρ·g/‖g‖₂              ASAM: e = ρ·T²g/‖T·g‖₂, T = |p| + adaptive_eta
        (norms over all parameters together; e = 0 when the norm is 0)
        g_sam = ∇f(p + e)                (second gradient evaluation)
        p ← base step with gradient g_sam, taken from p (not p + e)
    Implementations commonly add 1e-12 to the norm; adaptive_eta=0 is the ASAM form of
    the widely used davda54/sam (T = |p|)."""
    bstep = base.step()

    def step(w, g, t, s, gradf):
        if adaptive:
            T = np.abs(w) + adaptive_eta
            nrm = np.linalg.norm(T * g)
            e = rho * T * T * g / nrm if nrm > 0 else np.zeros_like(w)
        else:
            nrm = np.linalg.norm(g)
            e = rho * g / nrm if nrm > 0 else np.zeros_like(w)
        g_sam = gradf(w + e)
        return bstep(w, g_sam, t, s.setdefault("base", {}), gradf)
    return step


def cautious(base, eps=1e-8):
    """Liang, Chen, Liu & Liu 2024, "Cautious Optimizers: Improving Training with One Line of
    Code", Algorithm 1 (arXiv 2411.16085 v4): with d the base's direction (p ← p − η·d) and
    g the loss gradient (before coupled weight decay),
        φ = 1[d⊙g > 0]                                (elementwise, strict)
        d ← d⊙φ/(mean(φ) + ε)    (mean over the elements of each parameter; 0 if mean(φ) = 0)
    then the base's learning-rate scaling and decoupled weight decay (not masked).
    v1 of the paper and the authors' C-Lion scale by dim/(nnz + 1); their C-AdamW and timm
    divide by max(mean(φ), 1e-3) (with mask from m instead of d: same signs for Adam)."""
    def masked(w, g, t, s):
        d = base.fn(w, g, t, s)
        # A mask decision is fragile when d_i or g_i is ~0 relative to its vector's size.
        knife_edge("cautious d_i", d, np.full(d.shape, np.max(np.abs(d))))
        knife_edge("cautious g_i", g, np.full(g.shape, np.max(np.abs(g))))
        phi = (d * g > 0).astype(np.float64)
        event("masked", np.sum(phi == 0))
        mean = float(np.mean(phi))
        return d * phi / (mean + eps) if mean > 0 else np.zeros_like(d)
    bstep = base.step(masked)

    def step(w, g, t, s, gradf):
        return bstep(w, g, t, s.setdefault("base", {}), gradf)
    return step


def ema(base, decay=0.999, debias=False):
    """Exponential moving average of the weights, for evaluation (Polyak averaging with
    exponential weights, as TF's ExponentialMovingAverage / timm ModelEma; debias as optax.ema):
        e_0 = p_0  (debias: e_0 = 0)
        after the base step t:  e_t = β·e_{t−1} + (1 − β)·p_t
        reported: e_t  (debias: e_t/(1 − βᵗ))
    The parameter itself follows the base; the EMA is recorded in "ema_trajectory"."""
    bstep = base.step()

    def step(w, g, t, s, gradf):
        if t == 1:
            s["e"] = np.zeros_like(w) if debias else w.copy()
            s["rows"] = [w.ravel().tolist()]
        w = bstep(w, g, t, s.setdefault("base", {}), gradf)
        s["e"] = decay * s["e"] + (1 - decay) * w
        rep = s["e"] / (1 - decay ** t) if debias else s["e"]
        s["rows"].append(rep.ravel().tolist())
        return w
    return step


# ---------------------------------------------------------------- cases

class Case:
    def __init__(self, name, kw, ref, factory, problems, extra=None):
        self.name, self.kw, self.ref, self.factory, self.problems = name, kw, ref, factory, problems
        self.extra = extra


def rule(name, ref, problems, **kw):
    fn = {"adabelief": adabelief, "yogi": yogi, "adan": adan, "ademamix": ademamix, "adopt": adopt,
          "prodigy": prodigy, "madgrad": madgrad, "shampoo": shampoo, "soap": soap}[name]
    return Case(name, kw, ref, lambda: fn(**kw), problems)


def wrapper(name, ref, problems, base, **kw):
    fn = {"lookahead": lookahead, "sam": sam, "cautious": cautious, "ema": ema}[name]
    skw = {"base": base.spec()}
    skw.update(kw)
    return Case(name, skw, ref, lambda: fn(base, **kw), problems)


VEC = VEC_PROBLEMS
QUADS = [QUAD2, QUAD3]
R_ADABELIEF = "Zhuang et al. 2020, AdaBelief, Algorithm 2 (arXiv 2010.07468 v2+)"
R_YOGI = "Zaheer et al. 2018, Adaptive Methods for Nonconvex Optimization, Algorithm 2 (Yogi)"
R_ADAN = "Xie et al. 2022/2024, Adan, Algorithm 1 (arXiv 2208.06677 v4)"
R_ADEMAMIX = "Pagliardini et al. 2024, AdEMAMix, Algorithm 1 and the Sec. 3 schedulers for alpha and beta3"
R_ADOPT = "Taniguchi et al. 2024, ADOPT, Algorithm 2 (clip: Clip(., t^(1/4)))"
R_PRODIGY = "Mishchenko & Defazio 2023/2024, Prodigy, Algorithm 4 (Adam version)"
R_MADGRAD = "Defazio & Jelassi 2021, MADGRAD, Algorithm 1"
R_SHAMPOO = ("Gupta et al. 2018, Shampoo, Algorithm 1 (matrices) / Algorithm 2 with k=1 (vectors); "
             "blocks and refresh interval as Anil et al. 2020")
R_SOAP = "Vyas et al. 2024, SOAP, Algorithm 3 with Algorithm 4 (power iteration + QR)"
R_LOOKAHEAD = "Zhang et al. 2019, Lookahead, Algorithm 1"
R_SAM = "Foret et al. 2021, SAM, Algorithm 1"
R_ASAM = "Foret et al. 2021, SAM, Algorithm 1, with the adaptive ascent of Kwon et al. 2021 (ASAM)"
R_CAUTIOUS = "Liang et al. 2024, Cautious Optimizers, Algorithm 1 (arXiv 2411.16085 v4)"
R_EMA = "exponential moving average of the weights (e_0 = p_0; optax.ema's debiasing)"

CASES = [
    rule("adabelief", R_ADABELIEF, VEC, lr=0.1),
    rule("adabelief", R_ADABELIEF, VEC, lr=0.05, b1=0.8, b2=0.99, eps=1e-8, weight_decay=0.1, decoupled=True),
    rule("adabelief", R_ADABELIEF + ", form=authors (adabelief-pytorch / optax epsilon)", VEC,
         lr=0.1, eps=1e-6, form="authors"),

    rule("yogi", R_YOGI, VEC, lr=0.05),
    rule("yogi", R_YOGI + ", with optax's bias correction and v_0", VEC,
         lr=0.05, b1=0.8, b2=0.99, eps=1e-4, initial_accumulator_value=1e-6, bias_correction=True, weight_decay=0.1),

    rule("adan", R_ADAN, VEC, lr=0.05),
    rule("adan", R_ADAN, VEC, lr=0.02, b1=0.9, b2=0.9, b3=0.999, weight_decay=0.1, no_prox=True),
    rule("adan", R_ADAN + ", form=authors (sail-sg/Adan code)", VEC, lr=0.05, weight_decay=0.0, form="authors"),

    rule("ademamix", R_ADEMAMIX, VEC, lr=0.05),
    rule("ademamix", R_ADEMAMIX, VEC, lr=0.02, b1=0.8, b2=0.99, b3=0.99, alpha=8.0, weight_decay=0.1),
    rule("ademamix", R_ADEMAMIX, VEC, lr=0.05, b3=0.999, alpha_warmup=30, b3_warmup=30),

    rule("adopt", R_ADOPT, VEC, lr=0.05),
    rule("adopt", R_ADOPT, VEC + [ROSEN_VALLEY], lr=0.02, b1=0.8, b2=0.999, eps=1e-4, clip=True, weight_decay=0.1,
         decoupled=True),
    rule("adopt", R_ADOPT + ", form=authors (iShohei220/adopt: step 1 only sets v_0)", VEC,
         lr=0.05, clip=True, form="authors"),
    rule("adopt", R_ADOPT + ", form=authors (iShohei220/adopt: step 1 only sets v_0)", [ROSEN_VALLEY],
         lr=0.02, clip=True, form="authors"),

    rule("prodigy", R_PRODIGY, VEC, d0=1e-3),
    rule("prodigy", R_PRODIGY, VEC, lr=0.5, b1=0.8, b2=0.99, d0=1e-4, d_coef=0.5, growth=1.5, weight_decay=0.1,
         bias_correction=True),
    rule("prodigy", R_PRODIGY, VEC, lr=0.5, d0=1e-3, safeguard_warmup=True),

    rule("madgrad", R_MADGRAD, QUADS, lr=0.01),
    rule("madgrad", R_MADGRAD, [ROSEN], lr=0.001),
    rule("madgrad", R_MADGRAD, VEC, lr=0.002, momentum=0.5, eps=1e-4, weight_decay=0.1),
    rule("madgrad", R_MADGRAD, QUADS, lr=0.005, momentum=0.0),

    rule("shampoo", R_SHAMPOO, VEC + [MAT3X2, MAT2X4], lr=0.1),
    rule("shampoo", R_SHAMPOO, [QUAD3, MAT3X2, MAT5X3], lr=0.05, eps=1e-3, block_size=2, precondition_frequency=5),
    # Stale roots of a vector's full-matrix H amplify directions ⊥ the first gradients by
    # ε^(−1/2): with f > 1, vectors need a large ε (and Rosenbrock's valley blows up).
    rule("shampoo", R_SHAMPOO, QUADS + MATS, lr=0.1, eps=0.01, precondition_frequency=4),

    rule("soap", R_SOAP, MATS, lr=0.05),
    rule("soap", R_SOAP, VEC + MATS, lr=0.05, precondition_frequency=3, precondition_1d=True),
    rule("soap", R_SOAP + ", exact eigenvectors", VEC + MATS, lr=0.02, b1=0.9, b2=0.99, shampoo_beta=0.9, eps=1e-6,
         weight_decay=0.0, precondition_frequency=5, precondition_1d=True, eigh=True),
    rule("soap", R_SOAP, [MAT2X4, MAT5X3], lr=0.05, precondition_frequency=4, max_precond_dim=4,
         bias_correction=False),

    # Plain SGD needs a smaller rate in Rosenbrock's valley (curvature ~2000 at the start)
    # than on the quadratics, so the SGD-based wrapper cases come in two rates.
    wrapper("lookahead", R_LOOKAHEAD, QUADS, sgd(0.01)),
    wrapper("lookahead", R_LOOKAHEAD, [ROSEN], sgd(0.0005)),
    wrapper("lookahead", R_LOOKAHEAD, VEC, sgd(0.0005, momentum=0.9), k=3, alpha=0.8),
    wrapper("lookahead", R_LOOKAHEAD, VEC, adam(0.05)),
    # Equals the base; adam(lr=0.1) so the Go test can also compare it with the PyTorch
    # golden adam(lr=0.1) of torch_optimizers.json (asserted in generate()).
    wrapper("lookahead", R_LOOKAHEAD + " (k=1, alpha=1: equals the base)", VEC, adam(0.1), k=1, alpha=1.0),

    wrapper("sam", R_SAM, QUADS, sgd(0.01)),
    wrapper("sam", R_SAM, [ROSEN], sgd(0.0005)),
    wrapper("sam", R_SAM, VEC, adam(0.05), rho=0.1),
    wrapper("sam", R_ASAM, VEC, sgd(0.0005, momentum=0.9), rho=0.2, adaptive=True),

    wrapper("cautious", R_CAUTIOUS, VEC, adam(0.05)),
    wrapper("cautious", R_CAUTIOUS, VEC, adam(0.05, weight_decay=0.1)),
    wrapper("cautious", R_CAUTIOUS, VEC, adamw(0.05, weight_decay=0.1)),
    wrapper("cautious", R_CAUTIOUS, VEC, lion(0.01)),
    wrapper("cautious", R_CAUTIOUS, VEC, lion(0.003, b1=0.8, b2=0.95, weight_decay=0.5), eps=1e-3),
    wrapper("cautious", R_CAUTIOUS, VEC, sgd(0.0005, momentum=0.9)),

    wrapper("ema", R_EMA, VEC, adam(0.05), decay=0.9),
    wrapper("ema", R_EMA, VEC, adam(0.05), decay=0.95, debias=True),
]


# ---------------------------------------------------------------- self-checks

def assert_close(name, a, b, tol):
    e = max_rel_diff(a, b)
    if not e <= tol:
        raise AssertionError(f"self-check {name}: max relative difference {e:.3g} > {tol:g}")


def load_goldens(fname):
    with open(os.path.join(TESTDATA, fname)) as f:
        return {(c["spec"], c["problem"]["name"]): c for c in json.load(f)["cases"]}


def check_bases():
    """The NumPy bases reproduce optlab's committed goldens (PyTorch 1.13 / Chen et al.)."""
    torch_g = load_goldens("torch_optimizers.json")
    paper_g = load_goldens("numpy_paper.json")
    bases = [(torch_g, sgd(0.01)), (torch_g, sgd(0.004, momentum=0.9)),
             (torch_g, sgd(0.002, momentum=0.8, dampening=0.3, weight_decay=0.1)),
             (torch_g, sgd(0.003, momentum=0.9, nesterov=True, weight_decay=0.01)),
             (torch_g, adam(0.1)), (torch_g, adam(0.05, b1=0.8, b2=0.99, eps=1e-6, weight_decay=0.1)),
             (torch_g, adamw(0.1)), (paper_g, adam(0.02, bias_correction=False)),
             (paper_g, lion(0.01)), (paper_g, lion(0.003, b1=0.8, b2=0.95, weight_decay=0.5))]
    n = 0
    for gold, b in bases:
        for p in VEC:
            c = gold.get((b.spec(), p["name"]))
            if c is None:
                continue
            assert c["problem"] == p, f"problem {p['name']} differs from the committed goldens"
            traj, _ = run(p, b.step())
            assert_close(f"base {b.spec()} on {p['name']} vs committed golden", c["trajectory"], traj, 1e-12)
            n += 1
    assert n >= 25, f"only {n} base trajectories checked"
    return n


def check_relations():
    checks = []

    def same(name, problem, f1, f2, tol=1e-14, shift=0):
        t1, _ = run(problem, f1)
        t2, _ = run(problem, f2)
        if shift:
            t1, t2 = t1[shift:], t2[:-shift]
        assert_close(name + " on " + problem["name"], t1, t2, tol)
        checks.append(name)

    for p in VEC:
        for b in [sgd(0.001), adam(0.05), sgd(0.0005, momentum=0.9), lion(0.01)]:
            same(f"lookahead(k=1,alpha=1) == {b.spec()}", p, lookahead(b, 1, 1.0), b.step())
            same(f"sam(rho=0) == {b.spec()}", p, sam(b, 0.0), b.step(), tol=0)
            same(f"sam(rho=0,adaptive) == {b.spec()}", p, sam(b, 0.0, adaptive=True), b.step(), tol=0)
        # Every sign agrees: plain SGD (d = g) and Adam with b1 = 0 (d = g/(|g| + ε)).
        for b in [sgd(0.001), adam(0.05, b1=0.0)]:
            same(f"cautious(eps=0) == {b.spec()} (signs agree)", p, cautious(b, eps=0.0), b.step(), tol=0)
        same("ademamix(alpha=0) == adamw", p, ademamix(lr=0.05, alpha=0.0, weight_decay=0.1),
             adamw(0.05, weight_decay=0.1).step(), tol=1e-13)
        same("soap(vector, precondition_1d=false) == adamw", p, soap(lr=0.05, b1=0.9, b2=0.999),
             adamw(0.05, weight_decay=0.01).step(), tol=1e-13)
        same("adopt(form=authors) == adopt(form=paper) one step later", p, adopt(lr=0.05, form="authors"),
             adopt(lr=0.05), tol=1e-14, shift=1)
        same("adopt(form=authors,clip) == adopt(form=paper,clip) one step later", p,
             adopt(lr=0.05, clip=True, form="authors"), adopt(lr=0.05, clip=True), tol=1e-14, shift=1)
        same("shampoo(block_size=1) == AdaGrad with eps inside the root", p,
             shampoo(lr=0.1, eps=1e-4, block_size=1), adagrad_eps_inside(0.1, 1e-4), tol=1e-13)
        same("prodigy with d frozen at d0 == adam(bias_correction=false) at lr*d0", p,
             prodigy(lr=0.5, d0=0.1, d_coef=1e-30), adam(0.05, bias_correction=False).step(), tol=1e-12)
    for p in MATS:
        same("soap(no refresh in the run) == adamw", p, soap(lr=0.05, precondition_frequency=STEPS + 1),
             adamw(0.05, b1=0.95, b2=0.95, weight_decay=0.01).step(), tol=1e-13)
        same("shampoo(block_size=1) == AdaGrad with eps inside the root", p,
             shampoo(lr=0.1, eps=1e-4, block_size=1), adagrad_eps_inside_matrix(0.1, 1e-4), tol=1e-13)
    return len(checks)


def adagrad_eps_inside(lr, eps):
    def step(w, g, t, s, gradf):
        s["G"] = s.get("G", eps) + g * g
        return w - lr * g / np.sqrt(s["G"])
    return step


def adagrad_eps_inside_matrix(lr, eps):
    # 1×1 blocks: L = R = ε + Σg², U = L^(−1/4)·g·R^(−1/4) = g/√(ε + Σg²).
    return adagrad_eps_inside(lr, eps)


# ---------------------------------------------------------------- generation

def generate():
    cases = []
    rng = np.random.default_rng(18)
    for c in CASES:
        sp = spec(c.name, c.kw)
        check_grammar(sp)
        for p in c.problems:
            _MARGIN[0] = math.inf
            _EVENTS.clear()
            traj, state = run(p, c.factory())
            margin = _MARGIN[0]
            events = " ".join(f"{k} {v}" for k, v in sorted(_EVENTS.items()))
            arr = np.asarray(traj)
            if not np.all(np.isfinite(arr)):
                raise AssertionError(f"{sp} on {p['name']}: non-finite trajectory")
            moved = float(np.max(np.abs(arr[-1] - arr[0])))
            if moved < 0.01:
                raise AssertionError(f"{sp} on {p['name']}: moves only {moved:.3g}")
            if np.max(np.abs(arr)) > 20:
                raise AssertionError(f"{sp} on {p['name']}: wanders to |w| = {np.max(np.abs(arr)):.3g}")
            if margin < 1e-10:
                raise AssertionError(f"{sp} on {p['name']}: a sign/mask decision is within {margin:.3g} "
                                     "of its threshold")
            unstable = max(max_rel_diff(traj, run(p, c.factory(), rng=rng)[0]) for _ in range(STABLE_DRAWS))
            if unstable > STABLE_TOL:
                raise AssertionError(f"{sp} on {p['name']}: a {PERTURB:g} gradient perturbation moves the "
                                     f"trajectory by {unstable:.3g} (relative)")
            if c.name == "lookahead" and c.kw.get("k") == 1 and c.kw["base"] == "adam(lr=0.1)":
                want = load_goldens("torch_optimizers.json")[("adam(lr=0.1)", p["name"])]["trajectory"]
                assert_close(f"{sp} on {p['name']} vs the PyTorch golden adam(lr=0.1)", want, traj, 1e-12)
            case = {"spec": sp, "reference": "NumPy from " + c.ref, "problem": p, "steps": STEPS,
                    "trajectory": traj}
            if c.name == "ema":
                case["ema_trajectory"] = state["rows"]
            cases.append(case)
            print(f"  {sp:<95} {p['name']:<10} moved {moved:8.3g}  perturbed {unstable:8.2g}"
                  + (f"  margin {margin:.2g}" if margin < math.inf else "") + (f"  [{events}]" if events else ""))
    return cases


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else TESTDATA
    n_bases = check_bases()
    n_rel = check_relations()
    print(f"self-checks: {n_bases} base trajectories match the committed goldens; {n_rel} relations hold")
    cases = generate()
    os.makedirs(out, exist_ok=True)
    meta = {"generator": "scripts/reference/gen_goldens_new.py", "numpy": np.__version__, "dtype": "float64",
            "note": "NumPy transcriptions of the papers (see each reference); ema cases carry ema_trajectory"}
    path = os.path.join(out, "numpy_new.json")
    with open(path, "w") as f:
        json.dump(dict(meta, cases=cases), f, indent=None, separators=(",", ":"))
        f.write("\n")
    specs = sorted({c["spec"] for c in cases})
    print(f"numpy_new.json: {len(cases)} cases, {len(specs)} specs, {os.path.getsize(path)} bytes")


if __name__ == "__main__":
    main()
