#!/usr/bin/python3
"""Run `optlab bench` and the PyTorch reference back to back; print the ratios.

    /usr/bin/python3 scripts/bench/compare.py [--repeats 3] [--steps 200]
        [--models mlp-small,mlp-bn] [--batch-sizes 32,256] [--backend go]
        [--update-params 1e6,1e8] [--torch-threads N] [--no-openblas]
        [--optlab BIN] [--out FILE.json]

Each repeat runs, in this order, optlab, PyTorch with Debian's reference BLAS
and PyTorch with OpenBLAS (when libopenblas0-pthread is installed), so that
the three see the same machine; the table shows the median of the repeats.
The BLAS is chosen per process with LD_LIBRARY_PATH, which takes precedence
over the system's libblas.so.3 alternative, so nothing system-wide changes.
Ratios > 1 mean optlab is faster. Besides wall-clock samples/s the table gives
samples per CPU-second: on a machine shared with other work the wall-clock
figures move with the load, the CPU-time ones much less (but they hide how
well a run uses several cores).

The optimizer update part compares `optlab bench --update-params` with
scripts/reference/bench_adam.py (torch.optim.Adam, single-tensor and foreach,
the faster counted).

Needs: go (to build cmd/optlab unless --optlab is given), /usr/bin/python3 with
python3-torch. Run from anywhere inside the repository.
"""

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BLAS_DIRS = {
    "reference": "/usr/lib/x86_64-linux-gnu/blas",
    "openblas": "/usr/lib/x86_64-linux-gnu/openblas-pthread",
}


def run_json(cmd, env=None):
    t = time.time()
    out = subprocess.run(cmd, cwd=ROOT, env=env, check=True, stdout=subprocess.PIPE, text=True).stdout
    print(f"  {os.path.basename(cmd[0])} {' '.join(cmd[1:3])}... {time.time() - t:.0f} s", file=sys.stderr)
    return json.loads(out)


def torch_env(blas):
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = BLAS_DIRS[blas] + (":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    return env


def adam_reference(threads):
    """torch.optim.Adam step time from scripts/reference/bench_adam.py: {params: best seconds}."""
    cmd = ["/usr/bin/python3", "scripts/reference/bench_adam.py"]
    if threads:
        cmd += ["--threads", str(threads)]
    out = subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.PIPE, text=True).stdout
    best = {}
    for m in re.finditer(r"params=(\d+)M\s+(\w+)\s+([\d.]+) ms/update", out):
        n, sec = int(m.group(1)) * 1_000_000, float(m.group(3)) / 1e3
        best[n] = min(best.get(n, sec), sec)
    return best, out.splitlines()[0] if out else ""


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=200, help="timed steps per epoch (both sides)")
    ap.add_argument("--epochs", type=int, default=1, help="timed epochs after the warm-up epoch (both sides)")
    ap.add_argument("--models", default="mlp-small,mlp-bn")
    ap.add_argument("--batch-sizes", default="32,256")
    ap.add_argument("--backend", default="", help="optlab --backend (default: $GOMLX_BACKEND or go)")
    ap.add_argument("--update-params", default="1e6,1e8", help='parameter counts for the Adam update ("" to skip)')
    ap.add_argument("--torch-threads", type=int, default=0, help="torch.set_num_threads (0: torch's default)")
    ap.add_argument("--no-openblas", action="store_true")
    ap.add_argument("--optlab", default="", help="optlab binary (default: build cmd/optlab)")
    ap.add_argument("--out", default="", help="write every raw result here as JSON")
    args = ap.parse_args()

    optlab = args.optlab
    if not optlab:
        optlab = os.path.join(tempfile.mkdtemp(prefix="optlab-bench-"), "optlab")
        subprocess.run(["go", "build", "-o", optlab, "./cmd/optlab"], cwd=ROOT, check=True)
    blases = ["reference"]
    if not args.no_openblas:
        if os.path.exists(os.path.join(BLAS_DIRS["openblas"], "libblas.so.3")):
            blases.append("openblas")
        else:
            print("OpenBLAS not installed (apt-get install libopenblas0-pthread): reference BLAS only", file=sys.stderr)

    common = ["--models", args.models, "--batch-sizes", args.batch_sizes, "--steps", str(args.steps),
              "--epochs", str(args.epochs)]
    ocmd = [optlab, "bench"] + common + ["--update-params", "", "--json", "-"]
    if args.backend:
        ocmd += ["--backend", args.backend]
    tcmd = ["/usr/bin/python3", "scripts/bench/torch_mlp.py"] + common + ["--json", "-"]
    if args.torch_threads:
        tcmd += ["--threads", str(args.torch_threads)]

    raw = {"optlab": [], **{f"torch-{b}": [] for b in blases}}
    for r in range(args.repeats):
        print(f"repeat {r + 1}/{args.repeats}", file=sys.stderr)
        raw["optlab"].append(run_json(ocmd))
        for b in blases:
            raw[f"torch-{b}"].append(run_json(tcmd, torch_env(b)))

    def series(engine, model, batch, key):
        vals = []
        for rep in raw[engine]:
            for t in rep["training"]:
                if t["model"] == model and t["batch_size"] == batch:
                    vals.append(t["samples_per_sec"] if key == "wall" else t["steps"] * t["batch_size"] / t["cpu_seconds"])
        return vals

    o0, t0 = raw["optlab"][0], raw[f"torch-{blases[0]}"][0]
    print(f"\noptlab: backend {o0['backend_config']} ({o0['training'][0]['backend'] if o0['training'] else ''}), "
          f"{o0['host'].get('cpus', o0['host'].get('num_cpu'))} CPUs, {o0['host'].get('go', o0['host'].get('go_version'))}")
    for b in blases:
        tr = raw[f"torch-{b}"][0]
        print(f"torch-{b}: torch {tr['torch']}, {tr['threads']} threads, BLAS {', '.join(tr['blas_libraries'])}")
    print(f"median of {args.repeats} repeat(s), {args.steps * args.epochs} timed steps each; ratio = optlab / torch\n")
    head = f"{'model':>10} {'batch':>5} | {'optlab':>8}"
    for b in blases:
        head += f" | {'torch-' + b:>16} {'ratio':>6}"
    for kind, label in [("wall", "samples/s (wall clock)"), ("cpu", "samples per CPU-second")]:
        print(label)
        print(head)
        pairs = sorted({(t["model"], t["batch_size"]) for t in o0["training"]}, key=lambda p: (args.models.split(",").index(p[0]), p[1]))
        for model, batch in pairs:
            ov = med(series("optlab", model, batch, kind))
            line = f"{model:>10} {batch:>5} | {ov:>8.0f}"
            for b in blases:
                tv = med(series(f"torch-{b}", model, batch, kind))
                line += f" | {tv:>16.0f} {ov / tv:>6.2f}"
            print(line)
        print()

    if args.update_params:
        ref, ref_head = adam_reference(args.torch_threads)
        print(f"Adam update, float32 ({ref_head}; optlab: {o0['backend_config']})")
        print(f"{'params':>10} | {'optlab ms':>10} {'torch ms':>10} {'ratio':>6} | {'state MiB':>10} {'RSS growth MiB':>15}")
        raw["updates"] = []
        for n in [int(float(v)) for v in args.update_params.split(",") if v]:
            steps = max(3, min(50, int(5e7 // n)))
            ucmd = [optlab, "bench", "--models", "", "--update-params", str(n), "--update-steps", str(steps), "--json", "-"]
            if args.backend:
                ucmd += ["--backend", args.backend]
            u = run_json(ucmd)["updates"][0]
            raw["updates"].append(u)
            tsec = ref.get(n)
            ratio = f"{tsec / u['seconds_per_step']:>6.2f}" if tsec else "   n/a"
            tms = f"{tsec * 1e3:>10.3f}" if tsec else f"{'n/a':>10}"
            print(f"{n:>10} | {u['seconds_per_step'] * 1e3:>10.3f} {tms} {ratio} | "
                  f"{u['state_bytes'] / 2**20:>10.1f} {u['rss_growth_bytes'] / 2**20:>15.1f}")
        raw["torch_adam_seconds"] = {str(k): v for k, v in ref.items()}
    if args.out:
        with open(args.out, "w") as f:
            json.dump(raw, f, indent=2)
        print(f"raw results: {args.out}")


if __name__ == "__main__":
    main()
