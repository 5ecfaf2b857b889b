#!/bin/bash
# Fan an optlab sweep out over a Slurm job array: one array task per trial.
#
# Export the trials once, on a login node, from the repository root:
#
#   go build -o bin/optlab ./cmd/optlab
#   bin/optlab sweep --config docs/sweeps/grid.json --export-trials sweep/trials
#   mkdir -p sweep/logs
#   n=$(ls sweep/trials/*.json | wc -l)
#   sbatch --array=0-$((n-1))%16 docs/sweeps/slurm-array.sh
#
# Each task runs its trial standalone and appends the record to its own store
# (sweep/stores/NNNN.jsonl), so tasks never share a file. A requeued task whose
# trial is already stored exits at once. When the array is done:
#
#   bin/optlab merge --into sweep/all.jsonl sweep/stores/*.jsonl
#   bin/optlab report --store sweep/all.jsonl --out sweep/report
#
#SBATCH --job-name=optlab-sweep
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=01:00:00
#SBATCH --requeue
#SBATCH --output=sweep/logs/%A_%a.out
set -euo pipefail
idx=$(printf '%04d' "${SLURM_ARRAY_TASK_ID}")
mkdir -p sweep/stores
export GOMLX_BACKEND="${GOMLX_BACKEND:-go}"
exec bin/optlab train --trial "sweep/trials/${idx}.json" --store "sweep/stores/${idx}.jsonl" --quiet
