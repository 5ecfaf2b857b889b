#!/usr/bin/env bash
# End-to-end test of optlab's Slurm fan-out (docs/sweeps/slurm-array.sh) on a
# throwaway one-node Slurm cluster, run by CI as root and usable by hand:
#  1. installs Debian's slurmctld, slurmd, slurm-client and munge if missing;
#  2. starts a private munged, slurmctld and slurmd whose keys, sockets, state,
#     spool, logs and slurm.conf all live in one temporary folder (SLURM_CONF
#     points there; /etc/slurm and /etc/munge are neither read nor written);
#  3. exports 4 trials and submits the project's job-array script with
#     `sbatch --array=0-3`: first a sweep's, then a benchmark's (optlab
#     benchmark --export-trials; the same script runs them with optlab train);
#  4. requeues one task while its trial is training (`scontrol requeue`) and
#     checks that it ran twice: Slurm's restart count, the two attempts in the
#     task's log, the job-completion log's REQUEUED record;
#  5. waits for the array, merges the per-task stores with `optlab merge`, runs
#     the same grid with `optlab sweep` (the same benchmark with `optlab
#     benchmark`) on this machine and checks that both stores hold the same
#     trial IDs with the same metrics, bit for bit, and that the report card
#     (the benchmark's score, rebuilt with `optlab benchmark report`) of the
#     merged store is the one-machine one;
#  6. tears everything down, also on failure or Ctrl-C: cancels the jobs, stops
#     the daemons by PID, checks that none of its processes is left, removes
#     the temporary folder.
# Prints the time of each phase and ends with a PASS or FAIL line.
#
# Environment:
#   OPTLAB_BIN             optlab binary to test (default: go build ./cmd/optlab)
#   SLURM_TEST_PORT        slurmctld's port; slurmd takes the next (default 16817)
#   SLURM_TEST_TIMEOUT     seconds the array may take (default 600)
#   SLURM_TEST_KEEP=1      leave the temporary folder (logs, stores) behind
#   SLURM_TEST_MODES       which arrays to run, in order (default "sweep benchmark")
#   SLURM_TEST_FAIL_AT=X   fail on purpose at point X (cluster, submit, running,
#                          requeued, merge) to test the teardown
# Nothing reads stdin.
set -euo pipefail
exec </dev/null
trap 'fail_reason="interrupted by a signal"; exit 130' INT TERM

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PY=/usr/bin/python3
port=${SLURM_TEST_PORT:-16817}
array_timeout=${SLURM_TEST_TIMEOUT:-600}
T0=$EPOCHREALTIME

# ---------------------------------------------------------------- store format
# The only lines that know the results store's format (a SQLite file).
STORE_EXT=db
# merge_stores INTO SRC...: gather per-task stores into one.
merge_stores() { "$OPTLAB" merge --into "$@"; }
# store_table STORE: one line per trial, sorted by ID: the ID, the trial's
# configuration and every metric the trial produced, every epoch's (or, for a
# benchmark trial, every evaluation's) included (not its timings or host):
# `optlab report --trials` without its header.
store_table() { "$OPTLAB" report --store "$1" --trials --format tsv | tail -n +2; }

# ---------------------------------------------------------------- helpers
now() { printf '%.1f' "$("$PY" -c "print($EPOCHREALTIME - $1)")"; }
log() { printf '[slurm-test %6ss] %s\n' "$(now "$T0")" "$*"; }
fail_reason=""
die() {
	fail_reason=$*
	log "FAIL: $*"
	exit 1
}
checks=0
ok() {
	checks=$((checks + 1))
	log "ok: $*"
}
phase_name="" phase_t0=""
phase_times=()
phase() {
	if [[ -n $phase_name ]]; then
		phase_times+=("$(printf '%-10s %6ss' "$phase_name" "$(now "$phase_t0")")")
	fi
	phase_name=$1 phase_t0=$EPOCHREALTIME
	log "==== $1"
}
maybe_fail() {
	if [[ ${SLURM_TEST_FAIL_AT:-} == "$1" ]]; then
		die "failure injected at '$1' (SLURM_TEST_FAIL_AT)"
	fi
}
# wait_for SECONDS CMD...: poll CMD every 0.2 s until it succeeds; fail after SECONDS.
wait_for() {
	local limit=$1 t=$EPOCHREALTIME
	shift
	until "$@"; do
		"$PY" -c "import sys; sys.exit(0 if $EPOCHREALTIME - $t > $limit else 1)" && return 1
		sleep 0.2
	done
}

# ---------------------------------------------------------------- teardown
tmp="" munged_pid="" slurmctld_pid="" slurmd_pid="" jobid=""
declare -A preexisting=()
for p in $(ps -eo pid=,comm= | awk '$2 ~ /^(slurmctld|slurmd|slurmstepd|munged)$/ {print $1}'); do
	preexisting[$p]=1
done
# stop_pid NAME PID: SIGTERM, wait up to 15 s, then SIGKILL; reap it.
stop_pid() {
	local name=$1 pid=$2 i
	[[ -n $pid ]] || return 0
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 75; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.2
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "teardown: $name ($pid) ignored SIGTERM for 15 s: SIGKILL"
			kill -KILL "$pid" 2>/dev/null || true
		fi
	fi
	wait "$pid" 2>/dev/null || true
}
# leftovers: our processes still alive (daemons, job steps, optlab tasks):
# new slurm/munge daemons, and anything whose environment names our folder.
leftovers() {
	local p pid comm out=""
	while read -r pid comm; do
		[[ -z ${preexisting[$pid]:-} ]] && out+=" $pid($comm)"
	done < <(ps -eo pid=,comm= | awk '$2 ~ /^(slurmctld|slurmd|slurmstepd|munged)$/')
	if [[ -n $tmp ]]; then
		for p in /proc/[0-9]*; do
			pid=${p#/proc/}
			[[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
			if grep -qaF "SLURM_TEST_DIR=$tmp" "$p/environ" 2>/dev/null; then
				comm=$(cat "$p/comm" 2>/dev/null) || continue
				[[ $out == *" $pid("* ]] || out+=" $pid($comm)"
			fi
		done
	fi
	printf '%s' "$out"
}
teardown() {
	local rc=$? t=$EPOCHREALTIME left
	set +e
	trap - EXIT INT TERM
	[[ -n $phase_name ]] && phase teardown
	if ((rc != 0)) && [[ -n $tmp && -d $tmp ]]; then
		# What a failed run needs for a diagnosis.
		for f in "$tmp"/slurm/*.log "$tmp"/munge/munged.out "$tmp"/work/*/sweep/logs/*.out; do
			[[ -s $f ]] || continue
			echo "---- tail of ${f#"$tmp"/}"
			tail -n 15 "$f"
		done
	fi
	if [[ -n $slurmctld_pid ]] && kill -0 "$slurmctld_pid" 2>/dev/null; then
		if [[ -n $jobid ]]; then
			scancel "$jobid" 2>/dev/null
		fi
		# Let running steps end (KillWait=2) before their slurmd goes.
		for ((i = 0; i < 100; i++)); do
			[[ -z $(squeue -h -o %i 2>/dev/null) ]] && break
			sleep 0.2
		done
	fi
	stop_pid slurmd "$slurmd_pid"
	stop_pid slurmctld "$slurmctld_pid"
	stop_pid munged "$munged_pid"
	# Job steps are not children of slurmd; give stragglers a moment.
	for ((i = 0; i < 50; i++)); do
		left=$(leftovers)
		[[ -z $left ]] && break
		sleep 0.2
	done
	if [[ -n $left ]]; then
		log "teardown: processes left:$left; killing them"
		for p in $left; do kill -KILL "${p%%(*}" 2>/dev/null; done
		sleep 1
		left=$(leftovers)
		((rc == 0)) && rc=1 && fail_reason="processes were left after the teardown:$left"
		[[ -n $left ]] && log "teardown: still alive:$left"
	else
		log "teardown: no slurm, munge or job process of this test is left"
	fi
	if [[ -n $tmp && -d $tmp ]]; then
		if [[ ${SLURM_TEST_KEEP:-} == 1 ]]; then
			log "teardown: kept $tmp"
		else
			rm -rf "$tmp"
		fi
	fi
	phase_times+=("$(printf '%-10s %6ss' teardown "$(now "$t")")")
	log "phase times:"
	printf '    %s\n' "${phase_times[@]}"
	if ((rc == 0)); then
		log "slurm-test: PASS ($checks checks, $(now "$T0")s)"
	else
		log "slurm-test: FAIL${fail_reason:+: $fail_reason} ($(now "$T0")s)"
	fi
	exit "$rc"
}
trap teardown EXIT

# ---------------------------------------------------------------- install
phase install
need=()
for c in slurmctld slurmd sbatch munged; do command -v "$c" >/dev/null || need+=("$c"); done
if ((${#need[@]})); then
	[[ $(id -u) == 0 ]] || die "missing ${need[*]} and not root: apt-get install slurmctld slurmd slurm-client munge"
	log "apt-get install slurmctld slurmd slurm-client munge"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null || { sleep 5; apt-get update -q >/dev/null; }
	apt-get install -y -q --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
fi
[[ $(id -u) == 0 ]] || die "run as root: slurmd and munged must be started as root"
id munge >/dev/null 2>&1 || die "no user munge (the munge package creates it)"
log "$(slurmctld -V), $(munged -V 2>&1 | head -n1)"

# ---------------------------------------------------------------- build
phase build
tmp=$(mktemp -d /tmp/optlab-slurm.XXXXXX)
chmod 755 "$tmp"
export SLURM_TEST_DIR=$tmp # marks every process this test starts (see leftovers)
if [[ -n ${OPTLAB_BIN:-} ]]; then
	OPTLAB=$(realpath "$OPTLAB_BIN")
	[[ -x $OPTLAB ]] || die "OPTLAB_BIN=$OPTLAB is not an executable"
	log "optlab: $OPTLAB (from OPTLAB_BIN)"
else
	command -v go >/dev/null || { [[ -x /usr/local/go/bin/go ]] && export PATH="$PATH:/usr/local/go/bin"; }
	mkdir -p "$tmp/bin"
	(cd "$root" && go build -o "$tmp/bin/optlab" ./cmd/optlab)
	OPTLAB=$tmp/bin/optlab
	log "optlab: built from $root"
fi

# ---------------------------------------------------------------- cluster
phase cluster
host=$(hostname -s)
ncpu=$(nproc)
mem_mb=$(($(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 3 / 4 / 1024)) # MiB, below the machine's
mkdir -p "$tmp"/munge "$tmp"/slurm/state "$tmp"/slurm/spool "$tmp"/work
head -c 1024 /dev/urandom >"$tmp/munge/munge.key"
chown -R munge: "$tmp/munge"
chmod 755 "$tmp/munge" # munged wants its socket's folder searchable by all
chmod 400 "$tmp/munge/munge.key"
# setpriv execs, so $! is munged itself (runuser would stay in between).
setpriv --reuid=munge --regid=munge --init-groups /usr/sbin/munged --foreground \
	--key-file="$tmp/munge/munge.key" --socket="$tmp/munge/munge.socket" \
	--pid-file="$tmp/munge/munged.pid" --seed-file="$tmp/munge/munged.seed" \
	--log-file="$tmp/munge/munged.log" >"$tmp/munge/munged.out" 2>&1 &
munged_pid=$!
# up PID FILE: the daemon PID is running and FILE (its socket) exists.
up() { kill -0 "$1" 2>/dev/null || die "the daemon $1 exited: $(tail -n 3 "$2" | tr '\n' ' ')"; }
munge_up() { up "$munged_pid" "$tmp/munge/munged.out" && test -S "$tmp/munge/munge.socket"; }
wait_for 20 munge_up || die "munged made no socket within 20 s"
export SLURM_CONF=$tmp/slurm/slurm.conf
: >"$tmp/slurm/plugstack.conf"
cat >"$SLURM_CONF" <<EOF
# One-node cluster of scripts/slurm-test.sh; everything lives in $tmp.
ClusterName=optlabtest
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
# cred_expire is also how long a requeued job waits before it may start again.
AuthInfo=socket=$tmp/munge/munge.socket,cred_expire=10
StateSaveLocation=$tmp/slurm/state
SlurmdSpoolDir=$tmp/slurm/spool
SlurmctldPidFile=$tmp/slurm/slurmctld.pid
SlurmdPidFile=$tmp/slurm/slurmd.pid
SlurmctldLogFile=$tmp/slurm/slurmctld.log
SlurmdLogFile=$tmp/slurm/slurmd.log
PlugStackConfig=$tmp/slurm/plugstack.conf
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$tmp/slurm/jobcomp.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmctldTimeout=10
SlurmdTimeout=10
MessageTimeout=5
KillWait=2
MinJobAge=600
InactiveLimit=0
Waittime=0
JobRequeue=1
NodeName=$host NodeAddr=127.0.0.1 CPUs=$ncpu RealMemory=$mem_mb State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i >"$tmp/slurm/slurmctld.out" 2>&1 &
slurmctld_pid=$!
slurmd -D >"$tmp/slurm/slurmd.out" 2>&1 &
slurmd_pid=$!
node_idle() {
	up "$slurmctld_pid" "$tmp/slurm/slurmctld.out" && up "$slurmd_pid" "$tmp/slurm/slurmd.out" &&
		[[ $(sinfo -h -N -o %T 2>/dev/null) == idle ]]
}
wait_for 60 node_idle || die "the node was not idle in sinfo within 60 s"
log "$(sinfo -N -o '%N %T %c %m' | tr '\n' ' ')"
ok "one-node cluster up: $host, $ncpu CPUs, RealMemory=${mem_mb}M"
maybe_fail cluster

# ---------------------------------------------------------------- cases
# The benchmark: quadratic_deep, two optimizer families with two trials each,
# run to the end of their budgets (700 steps, a few seconds each) so that
# task 0 is still training when it is requeued. Adam comes first: task 0's
# trial is Adam's first, which trains to the end (SGD's first learning rate
# diverges within a second).
BENCHMARK_ARGS=(--workloads quadratic_deep --optimizers adam,sgd --budget 2 --studies 1 --full-budget --quiet)
# run_case MODE: export 4 trials (MODE sweep or benchmark), run them as a job
# array with one task requeued mid-trial, merge the stores and compare them
# with a one-machine run.
run_case() {
mode=$1
# ---------------------------------------------------------------- submit
phase "submit ($mode)"
work=$tmp/work/$mode
mkdir -p "$work"
cd "$work"
if [[ $mode == sweep ]]; then
	# Four trials of 40,000 samples (two epochs of 20,000): 3 s each alone on
	# an idle AVX-512 machine, about twice that two at a time on two cores, and
	# slower elsewhere. Long enough that the requeue lands mid-trial (8,000
	# samples took 0.6 s on AVX-512, and the trial finished before Slurm's
	# signal arrived), short enough for CI.
	cat >grid.json <<'EOF'
{"models": ["mlp-small"], "optimizers": ["sgd(momentum=0.9)", "adam"], "lrs": [0.01, 0.001],
 "seeds": [1], "batch_sizes": [32], "epochs": 2, "split": "holdout5k", "limit": 20000, "non_finite": "stop"}
EOF
	"$OPTLAB" sweep --config grid.json --export-trials sweep/trials
else
	"$OPTLAB" benchmark "${BENCHMARK_ARGS[@]}" --export-trials sweep/trials
fi
ntrials=$(find sweep/trials -name '*.json' | wc -l)
((ntrials == 4)) || die "expected 4 exported trials, got $ntrials"
mkdir -p sweep/logs
# The documented layout (sweep/ in the submit folder, the #SBATCH --output);
# the binary comes from OPTLAB_BIN; one CPU and 1G a task so two run at once.
jobid=$(OPTLAB_BIN=$OPTLAB sbatch --parsable --array=0-$((ntrials - 1)) --cpus-per-task=1 --mem=1G \
	"$root/docs/sweeps/slurm-array.sh")
jobid=${jobid%%;*}
log "submitted job array $jobid"
maybe_fail submit

# ---------------------------------------------------------------- requeue
phase "requeue ($mode)"
victim=0
vlog=sweep/logs/${jobid}_${victim}.out
task_state() { squeue -h -j "${jobid}_$1" -o %T 2>/dev/null | head -n1; }
# Training has begun once the trial's header is printed (after data loading).
victim_training() { [[ $(task_state $victim) == RUNNING ]] && grep -q '^== trial ' "$vlog" 2>/dev/null; }
wait_for 120 victim_training || die "task $victim did not start training within 120 s"
maybe_fail running
sleep 0.05 # requeue at once: a benchmark trial lasts ~1 s on an idle AVX-512 machine
grep -q '^stored in ' "$vlog" && die "task $victim finished before it could be requeued; make its trial longer"
scontrol requeue "${jobid}_$victim" || die "scontrol requeue ${jobid}_$victim failed (did the task end first?)"
log "requeued ${jobid}_$victim mid-trial"
maybe_fail requeued

# ---------------------------------------------------------------- array
phase "array ($mode)"
array_done() { [[ -z $(squeue -h -j "$jobid" -o %i 2>/dev/null) ]]; }
if ! wait_for "$array_timeout" array_done; then
	log "squeue: $(squeue -j "$jobid" -o '%i %T %r' | tr '\n' ';')"
	die "the array did not finish within ${array_timeout}s (SLURM_TEST_TIMEOUT)"
fi
ok "array $jobid finished"
declare -A restarts=()
while read -r line; do
	task=$(grep -o 'ArrayTaskId=[0-9]*' <<<"$line" | cut -d= -f2)
	state=$(grep -o 'JobState=[A-Z_]*' <<<"$line" | cut -d= -f2)
	code=$(grep -o ' ExitCode=[0-9:]*' <<<"$line" | cut -d= -f2)
	restarts[$task]=$(grep -o 'Restarts=[0-9]*' <<<"$line" | cut -d= -f2)
	[[ $state == COMPLETED && $code == 0:0 ]] || die "task $task ended $state with exit code $code"
done < <(scontrol -o show job "$jobid")
((${#restarts[@]} == ntrials)) || die "scontrol shows ${#restarts[@]} tasks, expected $ntrials"
ok "all $ntrials tasks COMPLETED with exit code 0:0"
for ((i = 0; i < ntrials; i++)); do
	want=0
	((i == victim)) && want=1
	[[ ${restarts[$i]} == "$want" ]] || die "task $i: Restarts=${restarts[$i]}, expected $want"
done
ok "scontrol: task $victim Restarts=1, the others 0"
# The log holds both attempts (--open-mode=append): the first was cut off
# before it stored anything, the second stored the trial.
attempts=$(grep -c '^slurm-array: .* attempt ' "$vlog" || true)
starts=$(grep -c '^== trial ' "$vlog" || true)
stored=$(grep -c '^stored in ' "$vlog" || true)
[[ $attempts == 2 && $starts == 2 && $stored == 1 ]] ||
	die "task $victim log: $attempts attempts, $starts trial starts, $stored stores (want 2, 2, 1)"
first=$(awk '/^slurm-array: .* attempt 2 /{exit} /^stored in /{print "stored"}' "$vlog")
[[ -z $first ]] || die "task $victim's first attempt stored its trial: it was not cut off mid-trial"
if [[ $mode == sweep ]]; then
	cut=$(grep -o '^optlab train: interrupted in epoch [0-9]* at step [0-9]*' "$vlog" || true)
else
	# A benchmark trial checks for the signal before each step and before each
	# evaluation (every 10 steps on quadratic_deep); caught in an evaluation,
	# the message names the split, not the step (in about 1 of 8 random
	# interruptions of a quadratic_deep trial), so both forms count.
	cut=$(grep -oE '^optlab train: trial [0-9a-f]* .*: interrupted (at step [0-9]+ of [0-9]+|while evaluating on [a-z]+)' "$vlog" | sed 's/ (.*)//' || true)
fi
[[ -n $cut ]] || die "task $victim's log does not say where its first attempt was interrupted"
ok "task $victim log: attempt 1 was cut off ($cut), attempt 2 stored the trial"
# The job-completion log has a record per run: the cut-off one (left PENDING,
# as requeued) and the completed one, under the same job ID.
comp=$(awk -v key=" ArrayJobId=$jobid ArrayTaskId=$victim " 'index($0, key) {
	for (i = 1; i <= NF; i++) if ($i ~ /^(JobId|JobState)=/) { printf "%s%s", sep, $i; sep = " " } }' "$tmp/slurm/jobcomp.log")
[[ $comp =~ ^JobId=([0-9]+)\ JobState=PENDING\ JobId=([0-9]+)\ JobState=COMPLETED$ && ${BASH_REMATCH[1]} == "${BASH_REMATCH[2]}" ]] ||
	die "job-completion log for task $victim: '$comp' (want a PENDING then a COMPLETED record)"
ok "job-completion log: task $victim has two records, requeued ($comp)"
maybe_fail array

# ---------------------------------------------------------------- merge
phase "merge ($mode)"
maybe_fail merge
stores=(sweep/stores/*."$STORE_EXT")
((${#stores[@]} == ntrials)) || die "expected $ntrials per-task stores, found ${#stores[@]}"
merged=$work/all.$STORE_EXT
merge_out=$(merge_stores "$merged" "${stores[@]}")
log "$merge_out"
[[ $merge_out == *"$ntrials records added, 0 duplicates skipped, 0 damaged lines skipped"* ]] ||
	die "merge did not add exactly $ntrials records"
ok "merged $ntrials per-task stores"

# ---------------------------------------------------------------- single
phase "single ($mode)"
single=$work/single.$STORE_EXT
if [[ $mode == sweep ]]; then
	"$OPTLAB" sweep --config grid.json --store "$single" --quiet
else
	"$OPTLAB" benchmark "${BENCHMARK_ARGS[@]}" --store "$single" --out single-score >/dev/null
fi

# ---------------------------------------------------------------- compare
phase "compare ($mode)"
if [[ $mode == sweep ]]; then
	dry=$("$OPTLAB" sweep --config grid.json --store "$merged" --dry-run | tail -n1)
else
	dry=$("$OPTLAB" benchmark "${BENCHMARK_ARGS[@]}" --store "$merged" --dry-run | tail -n1)
fi
[[ $dry == "$ntrials trials, $ntrials in $merged, 0 to run" ]] || die "$mode --dry-run on the merged store: $dry"
ok "$mode --dry-run: the merged store holds every trial"
store_table "$merged" >merged.tsv
store_table "$single" >single.tsv
((ntrials == $(wc -l <merged.tsv))) || die "merged store has $(wc -l <merged.tsv) records"
if ! diff <(cut -f1 single.tsv) <(cut -f1 merged.tsv); then die "trial IDs differ"; fi
ok "same $ntrials trial IDs: $(cut -f1 merged.tsv | tr '\n' ' ')"
if ! diff single.tsv merged.tsv; then die "metrics differ between the array and the one-machine $mode"; fi
ok "same metrics, bit for bit (every epoch's or evaluation's losses and accuracies, test loss and accuracy)"
if [[ $mode == sweep ]]; then
	# The report cards of both stores agree but for timings (a check that does
	# not depend on the store's format).
	report_card() { "$OPTLAB" report --store "$1" --out "$2" | grep -v '^wrote \|Fastest step' | sed -E 's/ +[0-9.]+ (ms|µs|s)$//'; }
	report_card "$merged" report-merged >report-merged.txt || die "optlab report failed on the merged store"
	report_card "$single" report-single >report-single.txt || die "optlab report failed on the one-machine store"
	if ! diff report-single.txt report-merged.txt; then die "the report cards differ"; fi
	ok "optlab report: the same report card from both stores (timings aside)"
else
	# The score rebuilt from the merged store alone is the one-machine run's
	# (time to target in steps: deterministic).
	"$OPTLAB" benchmark report --store "$merged" --full-budget --out merged-score >/dev/null || die "optlab benchmark report failed on the merged store"
	if ! diff single-score/scores.csv merged-score/scores.csv; then die "the benchmark scores differ"; fi
	ok "optlab benchmark report: the merged store's score is the one-machine score ($(($(grep -c . merged-score/scores.csv) - 1)) rows of scores.csv)"
fi
jobid="" # finished: nothing for the teardown to cancel
}

modes=${SLURM_TEST_MODES:-sweep benchmark}
for mode in $modes; do
	[[ $mode == sweep || $mode == benchmark ]] || die "unknown mode '$mode' in SLURM_TEST_MODES (valid: sweep, benchmark)"
done
for mode in $modes; do
	run_case "$mode"
done
