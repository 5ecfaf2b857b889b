#!/usr/bin/python3
"""Summarizes the committed shards of the full benchmark: the figures quoted in
docs/benchmark.md ("The full benchmark's time is measured shard by shard").

    scripts/benchmark-shards-summary.py [DIR]     # DIR defaults to data/benchmark

Reads DIR/shards.tsv (written by scripts/benchmark-shard.sh) and each
DIR/full-shard-K-of-N.db read-only, and prints, per shard, its wall time, how
many trials reached their target and the median seconds per step of its
fmnist_2c2d trials (seconds to the last evaluation over that evaluation's step:
the same graph on every shard, so it compares the machines the shards ran on);
then the sums, the share of time and mean trial seconds per workload, how close
the trials' own seconds come to the commands' wall time, and the whole
benchmark's projected time at the mean, fastest and slowest shard. Standard
library only.
"""
import csv
import glob
import json
import os
import sqlite3
import statistics
import sys
from collections import defaultdict

CALIBRATION = "fmnist_2c2d"


def hms(seconds):
    m = round(seconds / 60)
    return f"{m // 60} h {m % 60:02d} min"


def read_store(path):
    """Returns [(workload, seconds, seconds per step of the last evaluation)]."""
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = []
        for trial, history, seconds in con.execute("SELECT trial, history, seconds FROM trials"):
            workload = json.loads(trial)["protocol"]["workload"]
            evals = (json.loads(history) or {}).get("evals") or []
            per_step = None
            if evals and evals[-1].get("step"):
                per_step = evals[-1]["seconds"] / evals[-1]["step"]
            rows.append((workload, seconds, per_step))
        return rows
    finally:
        con.close()


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else "data/benchmark"
    tsv = os.path.join(folder, "shards.tsv")
    try:
        with open(tsv, newline="") as f:
            lines = list(csv.DictReader(f, delimiter="\t"))
    except OSError as e:
        sys.exit(f"benchmark-shards-summary: {e}")
    if not lines:
        sys.exit(f"benchmark-shards-summary: {tsv} lists no shards")
    n = int(lines[0]["shard"].split("/")[1])

    walls, reached, trials = [], 0, 0
    by_workload = defaultdict(list)
    print(f"{'shard':>6} {'start (UTC)':>20} {'wall':>7} {'reached':>9} {CALIBRATION + ' s/step':>20}  status")
    for line in lines:
        k, n_line = (int(x) for x in line["shard"].split("/"))
        if n_line != n:
            sys.exit(f"benchmark-shards-summary: {tsv}: shard {line['shard']} is not of {n}")
        db = os.path.join(folder, f"full-shard-{k}-of-{n}.db")
        if not os.path.exists(db):
            sys.exit(f"benchmark-shards-summary: {db} is listed in {tsv} but missing")
        rows = read_store(db)
        for workload, seconds, _ in rows:
            by_workload[workload].append(seconds)
        steps = [p for w, _, p in rows if w == CALIBRATION and p is not None]
        step = f"{statistics.median(steps):.3f}" if steps else "-"
        wall = int(line["wall_s"])
        walls.append(wall)
        reached += int(line["reached"])
        trials += int(line["trials"])
        print(f"{line['shard']:>6} {line['start_utc']:>20} {wall:>6}s {line['reached']:>3} of {line['trials']:>3} {step:>20}  {line['status']}")

    dbs = glob.glob(os.path.join(folder, f"full-shard-*-of-{n}.db"))
    if len(dbs) != len(lines):
        print(f"note: {len(dbs)} stores but {len(lines)} lines in {tsv}")
    total = sum(walls)
    trial_seconds = sum(sum(v) for v in by_workload.values())
    print(f"\n{len(lines)} of {n} shards: {total:,} s = {hms(total)}, {reached} of {trials} trials reached their target")
    print(f"trials' own seconds: {trial_seconds:,.1f} s, {100 * abs(total - trial_seconds) / total:.2f}% off the commands' wall time")
    for workload, secs in sorted(by_workload.items(), key=lambda kv: -sum(kv[1])):
        print(f"  {workload:<18} {100 * sum(secs) / trial_seconds:5.1f}%  {statistics.mean(secs):7.1f} s a trial ({len(secs)} trials)")
    mean = total / len(walls)
    if len(lines) < n:
        print(f"projection for all {n}: {hms(n * mean)} at the mean shard ({mean:,.0f} s), "
              f"{hms(n * min(walls))} to {hms(n * max(walls))} at the fastest and slowest; "
              f"the other {n - len(lines)} at the mean: {hms((n - len(lines)) * mean)}")


if __name__ == "__main__":
    main()
