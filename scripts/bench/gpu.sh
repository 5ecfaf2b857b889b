#!/bin/bash
# GPU benchmark: optlab on XLA CUDA against PyTorch eager (CUDA) and JAX+optax,
# training throughput at batch 32 and 256 and the Adam update over 1M and 100M
# parameters, all in one run on one machine.
#
# Build the binary on the development machine (cgo is needed for XLA):
#     CGO_ENABLED=1 go build -o bin/optlab ./cmd/optlab
# then, on the GPU machine, from the repository root:
#     scripts/bench/gpu.sh [OUTDIR]
# It follows the recipe in shared/environment.md: the PJRT CUDA plugin comes
# from the JAX CUDA plugin installed in the machine's Python environment
# ($SITE, default /opt/torch/.venv/lib/python3.12/site-packages). Results go
# to OUTDIR (default results/bench-gpu) as JSON plus a text summary.
set -euo pipefail
cd "$(dirname "$0")/../.."
OUT=${1:-results/bench-gpu}
mkdir -p "$OUT"
SITE=${SITE:-/opt/torch/.venv/lib/python3.12/site-packages}
PY=${PY:-$(dirname "$(dirname "$(dirname "$SITE")")")/bin/python3}
OPTLAB=${OPTLAB:-bin/optlab}
STEPS=${STEPS:-200}

mkdir -p /tmp/pjrt
ln -sf "$SITE"/jax_plugins/xla_cuda*/xla_cuda_plugin.so /tmp/pjrt/pjrt_c_api_cuda_plugin.so
export PJRT_PLUGIN_LIBRARY_PATH=/tmp/pjrt GOPJRT_CUDA_CHECKS=0 GOMLX_NO_AUTO_INSTALL=1
CU=$(ls -d "$SITE"/nvidia/cu* 2>/dev/null | head -1)
export LD_LIBRARY_PATH=${CU:+$CU/lib:}$SITE/nvidia/cudnn/lib:$SITE/nvidia/nccl/lib:$SITE/nvidia/nvshmem/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export PATH=$PATH:/usr/local/cuda/bin

{
  date -u +%Y-%m-%dT%H:%M:%SZ
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader || true
  echo "== optlab, XLA CUDA, FastDense off (XLA fuses GoMLX's own matrix-product gradient)"
  "$OPTLAB" bench --backend xla:cuda --fast-dense=false --steps "$STEPS" --update-params 1e6,1e8 --json "$OUT/optlab-cuda.json"
  echo "== optlab, XLA CUDA, FastDense on"
  "$OPTLAB" bench --backend xla:cuda --fast-dense=true --steps "$STEPS" --update-params "" --json "$OUT/optlab-cuda-fast.json"
  echo "== optlab, XLA CUDA: a learning-rate sweep of 64 members in one population vs one by one"
  "$OPTLAB" bench --backend xla:cuda --population 64 --models mlp-small,mlp-bn --batch-sizes 32 --steps "$STEPS" --update-params "" --json "$OUT/optlab-cuda-population.json"
  echo "== PyTorch eager, CUDA"
  "$PY" scripts/bench/torch_mlp.py --device cuda --steps "$STEPS" --json "$OUT/torch-cuda.json"
  "$PY" scripts/bench/torch_mlp.py --device cuda --steps "$STEPS"
  echo "== PyTorch Adam update, CUDA (single-tensor, foreach, fused)"
  "$PY" scripts/reference/bench_adam.py --device cuda
  echo "== JAX + optax"
  "$PY" scripts/bench/jax_mlp.py --steps "$STEPS" --json "$OUT/jax.json"
} 2>&1 | tee "$OUT/summary.txt"
