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
# A benchmark's trials run the same way: export them with
# `bin/optlab benchmark ... --export-trials sweep/trials` instead, and score
# the merged store with `bin/optlab benchmark report --store sweep/all.db`.
#
# Each task runs its trial standalone and appends the record to its own store
# (sweep/stores/NNNN.db), so tasks never share a file. A requeued task whose
# trial is already stored exits at once; one killed mid-trial runs it again
# from the start, and its log keeps both attempts (--open-mode=append). When
# the array is done:
#
#   bin/optlab merge --into sweep/all.db sweep/stores/*.db
#   bin/optlab report --store sweep/all.db --out sweep/report
#
# The #SBATCH lines are defaults: options given to sbatch override them, e.g.
# on small nodes `sbatch --array=0-3 --cpus-per-task=1 --mem=1G ...`, or
# `--output=/scratch/me/logs/%A_%a.out` (the folder must exist). Sbatch passes
# the submitting shell's environment to the tasks, where these are read:
#
#   OPTLAB_BIN     the optlab binary (default bin/optlab, relative to the
#                  folder sbatch was called from)
#   OPTLAB_SWEEP   the folder holding trials/; stores/ is made in it
#                  (default sweep)
#   GOMLX_BACKEND  the backend (default go, the pure-Go one)
#
# scripts/slurm-test.sh runs this script on a one-node Slurm cluster, requeues
# one task mid-trial and checks the merged store against a one-machine sweep.
#
#SBATCH --job-name=optlab-sweep
#SBATCH --cpus-per-task=4
#SBATCH --mem=4G
#SBATCH --time=01:00:00
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=sweep/logs/%A_%a.out
set -euo pipefail
optlab=${OPTLAB_BIN:-bin/optlab}
sweep=${OPTLAB_SWEEP:-sweep}
idx=$(printf '%04d' "${SLURM_ARRAY_TASK_ID}")
mkdir -p "$sweep/stores"
export GOMLX_BACKEND="${GOMLX_BACKEND:-go}"
echo "slurm-array: job ${SLURM_ARRAY_JOB_ID} task ${SLURM_ARRAY_TASK_ID} attempt $((${SLURM_RESTART_COUNT:-0} + 1)) on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ)"
exec "$optlab" train --trial "$sweep/trials/${idx}.json" --store "$sweep/stores/${idx}.db" --quiet
