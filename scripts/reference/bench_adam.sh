#!/bin/sh
# Adam update time side by side: optlab (GoMLX, backend from $GOMLX_BACKEND,
# default the pure-Go one) against PyTorch's Adam on the same machine.
#
#   scripts/reference/bench_adam.sh [cpu|cuda]
#
# Prints both tools' lines and, per size, the ratio optlab time / best PyTorch
# variant time (below 1: optlab faster).
set -eu
device=${1:-cpu}
cd "$(dirname "$0")/../.."
go_out=$(go test ./optlab/optimizers -run '^$' -bench 'AdamUpdate' -benchtime 3x)
py_out=$(/usr/bin/python3 scripts/reference/bench_adam.py --device "$device" --threads "$(nproc)")
echo "$go_out" | grep Benchmark
echo "$py_out"
for size in 1M 100M; do
	go_ms=$(echo "$go_out" | awk -v s="params=$size/" 'index($0, s) { for (i = 1; i <= NF; i++) if ($i == "ms/update") print $(i-1) }')
	py_ms=$(echo "$py_out" | awk -v s="params=$size" '$1 == s && $4 == "ms/update" { print $3 }' | sort -g | head -1)
	if [ -n "$go_ms" ] && [ -n "$py_ms" ]; then
		echo "$size: optlab $go_ms ms, PyTorch best $py_ms ms, ratio $(echo "$go_ms $py_ms" | awk '{ printf "%.2f", $1 / $2 }')"
	fi
done
