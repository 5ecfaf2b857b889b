#!/bin/bash
# Population training against one-by-one training (issue 14): a learning-rate
# sweep of MEMBERS trials (Adam, lr 1e-4 … 1e-2 log-spaced, seed 1, batch 32,
# one epoch of MNIST, validation and test on the test images) run
#   1. one by one:            optlab sweep ...
#   2. as populations:        optlab sweep ... --population MEMBERS
#   3. one by one in PyTorch: scripts/bench/torch_sweep.py (1 and 2 threads)
# and the trials/hour of each, whole trials (compilation and evaluation
# included), with the ratios the issue's targets name (≥ 3× optlab one by one,
# ≥ 1.5× the faster PyTorch, on 2 cores).
#
#     scripts/bench/population.sh [OUTDIR]
#
# Environment: OPTLAB (binary; default: built into bin/optlab with
# GOEXPERIMENT=simd), BACKEND (default go), MEMBERS (default 16), MODELS
# (default "mlp-small mlp-bn"), LIMIT (training images, default 0 = all),
# TORCH (default 1; 0 skips PyTorch), TORCH_DEVICE (default cpu).
# On a lent GPU (see scripts/bench/gpu.sh for the PJRT set-up):
#     BACKEND=xla:cuda MEMBERS=64 TORCH_DEVICE=cuda scripts/bench/population.sh results/pop-gpu
# and the steady-state figure: optlab bench --backend xla:cuda --population 64 --batch-sizes 32 --update-params ""
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-results/bench-population}
mkdir -p "$OUT"
BACKEND=${BACKEND:-go}
MEMBERS=${MEMBERS:-16}
MODELS=${MODELS:-mlp-small mlp-bn}
LIMIT=${LIMIT:-0}
TORCH=${TORCH:-1}
TORCH_DEVICE=${TORCH_DEVICE:-cpu}
if [ -z "${OPTLAB:-}" ]; then
  OPTLAB=bin/optlab
  GOEXPERIMENT=simd go build -o "$OPTLAB" ./cmd/optlab
fi
LRS=$(awk -v n="$MEMBERS" 'BEGIN { for (k = 0; k < n; k++) printf "%s%.6g", (k ? "," : ""), 1e-3 * 10 ^ (-1 + (n > 1 ? 2 * k / (n - 1) : 1)) }')

# sweep_secs STORE [FLAGS...]: runs the sweep into a fresh STORE, prints its wall seconds.
sweep_secs() {
  local store=$1 model=$2
  shift 2
  rm -f "$store"
  local t0 t1
  t0=$(date +%s.%N)
  "$OPTLAB" sweep --backend "$BACKEND" --models "$model" --optimizers adam --lrs "$LRS" --seeds 1 --epochs 1 \
    --batch-sizes 32 --split test --limit "$LIMIT" --quiet --store "$store" "$@" >"$store.log"
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}

{
  date -u +%Y-%m-%dT%H:%M:%SZ
  echo "backend $BACKEND, $MEMBERS trials per sweep, lrs $LRS, $(nproc) CPUs"
  for model in $MODELS; do
    seq=$(sweep_secs "$OUT/$model-one-by-one.db" "$model")
    pop=$(sweep_secs "$OUT/$model-population.db" "$model" --population "$MEMBERS")
    awk -v m="$model" -v k="$MEMBERS" -v s="$seq" -v p="$pop" 'BEGIN {
      printf "%-10s optlab one by one: %7.1f s %8.1f trials/h | population of %d: %7.1f s %8.1f trials/h | %.2fx\n",
        m, s, k * 3600 / s, k, p, k * 3600 / p, s / p }'
  done
  if [ "$TORCH" = 1 ]; then
    for threads in 1 2; do
      /usr/bin/python3 scripts/bench/torch_sweep.py --models "${MODELS// /,}" --members "$MEMBERS" --threads "$threads" \
        --limit "$LIMIT" --device "$TORCH_DEVICE" --json "$OUT/torch-$threads-threads.json"
      /usr/bin/python3 - "$OUT/torch-$threads-threads.json" <<'EOF'
import json, sys
rep = json.load(open(sys.argv[1]))
for r in rep["sweeps"]:
    print(f"{r['model']:<10} PyTorch {rep['torch']}, {rep['threads']} thread(s): {r['seconds']:7.1f} s {r['trials_per_hour']:8.1f} trials/h")
EOF
    done
  fi
} 2>&1 | tee "$OUT/summary.txt"
