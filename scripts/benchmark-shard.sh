#!/usr/bin/env bash
# Runs shards of the full benchmark (the default `optlab benchmark`: every
# workload with a target, six families, 5 trials × 3 studies) one after another
# and records how long each took, so that the full benchmark's time on a given
# machine can be measured over several sittings and summed:
#
#   scripts/benchmark-shard.sh 10 0 1 2      # shards 0, 1 and 2 of 10
#
# Each shard K of N trains its trials into data/benchmark/full-shard-K-of-N.db
# (resumable: run the same command again after a kill) and, when it ends,
# appends one tab-separated line to data/benchmark/shards.tsv: shard, UTC start
# and end, wall seconds (the whole `optlab benchmark` command: data loading,
# compilation, training and evaluation), trials and how many reached their
# target, the 1-minute load average before and after, CPUs and CPU model, and
# the commit of the source tree. A shard that fails or was resumed says so in
# its line ("resumed": its wall time is not the shard's). Run it on a quiet
# machine: another job on the cores inflates every number.
#
# scripts/benchmark-shards-summary.py sums the committed shards' times.
# cmd/optlab's TestCommittedFullBenchmark checks the committed stores against
# the benchmark's current trials; `optlab merge` joins them and `optlab
# benchmark report` scores the merged store (docs/benchmark.md).
#
# Environment:
#   OPTLAB_BIN   optlab binary (default: go build ./cmd/optlab into the scratch folder
#                that also keeps each shard's log; the script prints its path)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [[ $# -lt 2 ]]; then
	echo "usage: $0 N K [K ...]   (run shards K of N of the full benchmark)" >&2
	exit 2
fi
n=$1
shift
for k in "$@"; do
	if ! [[ $n =~ ^[0-9]+$ && $k =~ ^[0-9]+$ ]] || ((n < 1 || k >= n)); then
		echo "$0: shard $k of $n: want integers with 0 ≤ K < N" >&2
		exit 2
	fi
done

scratch=$(mktemp -d) # the shards' logs (kept) and the binary it builds
bin=${OPTLAB_BIN:-}
if [[ -z $bin ]]; then
	bin=$scratch/optlab
	go build -o "$bin" ./cmd/optlab
fi

out=data/benchmark
mkdir -p "$out"
tsv=$out/shards.tsv
if [[ ! -s $tsv ]]; then
	printf 'shard\tstart_utc\tend_utc\twall_s\ttrials\treached\tload_before\tload_after\tcpus\tcpu\tcommit\tstatus\n' >"$tsv"
fi
commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if git status --porcelain -- cmd optlab internal go.mod go.sum 2>/dev/null | grep -qv '_test\.go$'; then # tests are not in the binary
	commit+="+dirty"
fi
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
load() { cut -d' ' -f1 /proc/loadavg; }

for k in "$@"; do
	db=$out/full-shard-$k-of-$n.db
	log=$scratch/shard-$k-of-$n.log
	status=ok
	if [[ -e $db ]]; then
		status=resumed
	fi
	before=$(load)
	start=$(date -u +%FT%TZ)
	s=$(date +%s)
	echo "shard $k/$n: started $start (load $before), log in $log"
	if ! "$bin" benchmark --quiet --shard "$k/$n" --store "$db" --out "$scratch" >"$log" 2>&1; then
		status=failed
	fi
	e=$(date +%s)
	end=$(date -u +%FT%TZ)
	trials=$(grep -c '^\[[0-9]*/[0-9]*\]' "$log" || true)
	reached=$(grep -c '^\[[0-9]*/[0-9]*\] .*: reached ' "$log" || true)
	printf '%s/%s\t%s\t%s\t%d\t%d\t%d\t%s\t%s\t%d\t%s\t%s\t%s\n' "$k" "$n" "$start" "$end" $((e - s)) "$trials" "$reached" \
		"$before" "$(load)" "$(nproc)" "$cpu" "$commit" "$status" >>"$tsv"
	tail -1 "$tsv"
	if [[ $status == failed ]]; then
		tail -5 "$log" >&2
		exit 1
	fi
done
