#!/usr/bin/env bash
# Notebook tooling for optlab: install Jupyter + GoNB, serve, execute, check.
#
#   scripts/notebooks.sh install            Jupyter (Debian packages), GoNB v0.11.3, goimports, kernel
#   scripts/notebooks.sh serve [ARGS...]    Jupyter on 127.0.0.1 with a token (extra ARGS go to jupyter)
#   scripts/notebooks.sh execute [--cold] [NB...]
#                                           re-run notebooks in full mode and write the outputs back, then
#                                           time a quick-mode run; both wall times go into the notebook
#                                           (metadata and the generated line under its title). --cold
#                                           recomputes every cache from scratch (an empty OPTLAB_CACHE_DIR,
#                                           moved into data/cache afterwards): only a cold run's time counts
#                                           as the notebook's full run time
#   scripts/notebooks.sh check [NB...]      run notebooks with OPTLAB_QUICK=1 into a temporary copy;
#                                           fail on any error
#   scripts/notebooks.sh lint [--strict] [NB...]
#                                           check committed notebooks without running anything (scripts/
#                                           nbtool.py): errors for unexecuted cells, error outputs, machine
#                                           paths, timestamps, `go: downloading` lines, no figure in 02-09;
#                                           warnings (errors with --strict) for numbers typed into prose,
#                                           no run-time line, no exercises cell, an old setup cell
#   scripts/notebooks.sh caches             check that every committed cache in data/cache was computed by
#                                           the current code (optlab caches)
#   scripts/notebooks.sh selftest           prove that check runs optlab code, that the setup cell is
#                                           silent, and that a failing cell fails; unit-test nbtool/nbgen
#
# NB defaults to every notebooks/*.ipynb. Nothing reads stdin; every step is
# safe to repeat (install skips what is already present at the pinned version).
#
# Environment:
#   OPTLAB_JUPYTER_TOKEN / JUPYTER_TOKEN   token for serve (default: generated and printed)
#   OPTLAB_PORT                            port for serve (default 8888)
#   OPTLAB_CELL_TIMEOUT                    seconds a cell may run (default 1800 execute, 900 check)
#   OPTLAB_CHECK_OUT                       folder for check's executed copies (default: a temporary one,
#                                          kept only when a notebook fails)
#   GOMLX_BACKEND                          GoMLX backend for the kernel (default go, the pure-Go backend)
#   OPTLAB_CACHE_DIR                       folder that replaces every cache's folder (notebook.CachePath)
set -euo pipefail

GONB_VERSION=v0.11.3
GOIMPORTS_VERSION=v0.52.0 # golang.org/x/tools
JUPYTER_PACKAGES=(jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel jupyter-client)
# Debian's Jupyter runs on Debian's Python; a pyenv python3 first on PATH must not shadow it.
PY=/usr/bin/python3
JUPYTER=/usr/bin/jupyter

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
log() { printf '[notebooks] %s\n' "$*" >&2; }
die() {
	log "error: $*"
	exit 1
}

# setup_env makes go, gonb and goimports reachable for this script and for the
# kernels Jupyter starts (they inherit this environment).
setup_env() {
	if ! command -v go >/dev/null; then
		[[ -x /usr/local/go/bin/go ]] && PATH=/usr/local/go/bin:$PATH
	fi
	command -v go >/dev/null || die "go is not on PATH (install Go 1.26.5 or newer)"
	GOBIN_DIR=$(go env GOBIN)
	[[ -n $GOBIN_DIR ]] || GOBIN_DIR=$(go env GOPATH)/bin
	case ":$PATH:" in *":$GOBIN_DIR:"*) ;; *) PATH=$GOBIN_DIR:$PATH ;; esac
	export PATH
	export HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
	export GOMLX_BACKEND=${GOMLX_BACKEND:-go}
	# The kernel builds every cell with go build: the pure-Go backend's AVX2/AVX-512
	# matrix kernels are compiled only with this experiment on.
	export GOEXPERIMENT=${GOEXPERIMENT:-simd}
	# A missing XLA plugin must be an error, not a download attempt that hangs.
	export GOMLX_NO_AUTO_INSTALL=${GOMLX_NO_AUTO_INSTALL:-1}
}

# module_version prints the version of MODULE that built BINARY, or nothing.
module_version() {
	local bin=$1 mod=$2
	[[ -x $bin ]] || return 0
	go version -m "$bin" 2>/dev/null | awk -v m="$mod" '($1 == "mod" || $1 == "dep") && $2 == m { print $3; exit }'
}

have_jupyter() {
	[[ -x $JUPYTER ]] && [[ -x /usr/bin/jupyter-nbconvert ]] &&
		$PY -c 'import notebook, nbconvert, nbclient, ipykernel, jupyter_client' 2>/dev/null
}

install_jupyter() {
	if have_jupyter; then
		log "jupyter: present ($($PY -c 'import notebook, nbconvert; print("notebook", notebook.__version__, "nbconvert", nbconvert.__version__)'))"
		return
	fi
	local sudo=()
	if [[ $(id -u) != 0 ]]; then
		if ! command -v sudo >/dev/null || ! sudo -n true 2>/dev/null; then
			die "Jupyter is missing and installing it needs root: sudo apt-get install -y --no-install-recommends ${JUPYTER_PACKAGES[*]}"
		fi
		sudo=(sudo -n)
	fi
	log "jupyter: apt-get install ${JUPYTER_PACKAGES[*]}"
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q </dev/null >/dev/null
	"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${JUPYTER_PACKAGES[@]}" </dev/null >/dev/null
	have_jupyter || die "jupyter still missing after apt-get install"
}

install_goimports() {
	local v
	v=$(module_version "$GOBIN_DIR/goimports" golang.org/x/tools)
	if [[ $v == "$GOIMPORTS_VERSION" ]]; then
		log "goimports: present ($v)"
		return
	fi
	log "goimports: go install golang.org/x/tools/cmd/goimports@$GOIMPORTS_VERSION"
	GOFLAGS='' go install "golang.org/x/tools/cmd/goimports@$GOIMPORTS_VERSION" </dev/null
}

install_gonb() {
	local v tmp
	v=$(module_version "$GOBIN_DIR/gonb" github.com/janpfeifer/gonb)
	if [[ $v == "$GONB_VERSION" ]]; then
		log "gonb: present ($v)"
		return
	fi
	# `go install ...@version` refuses GoNB (its deprecation check needs a version
	# list the proxy does not serve), so build it from a throwaway module.
	log "gonb: building $GONB_VERSION from a throwaway module"
	tmp=$(mktemp -d)
	(
		cd "$tmp"
		export GOFLAGS=
		go mod init tools >/dev/null 2>&1
		go get "github.com/janpfeifer/gonb@$GONB_VERSION" </dev/null >/dev/null 2>&1 ||
			go get "github.com/janpfeifer/gonb@$GONB_VERSION" </dev/null
		go install github.com/janpfeifer/gonb </dev/null
	)
	rm -rf "$tmp"
}

# gonb_path prints the gonb binary to register: the one on PATH, else GOBIN's.
gonb_path() {
	command -v gonb 2>/dev/null || echo "$GOBIN_DIR/gonb"
}

# kernel_ok succeeds when Jupyter knows a gonb kernel whose binary is ours.
kernel_ok() {
	$JUPYTER kernelspec list --json 2>/dev/null | $PY -c '
import json, os, sys
specs = json.load(sys.stdin)["kernelspecs"]
spec = specs.get("gonb")
sys.exit(0 if spec and os.path.realpath(spec["spec"]["argv"][0]) == os.path.realpath(sys.argv[1]) else 1)
' "$(gonb_path)"
}

install_kernel() {
	if kernel_ok; then
		log "kernel: gonb registered"
		return
	fi
	log "kernel: gonb --install"
	local force=()
	command -v gopls >/dev/null || force=(--force_deps) # gopls is optional (auto-complete only)
	"$(gonb_path)" --install "${force[@]}" </dev/null 2>&1 | sed 's/^/[gonb] /' >&2
	kernel_ok || die "gonb kernel not registered (see jupyter kernelspec list)"
}

cmd_install() {
	local start=$SECONDS
	install_jupyter
	install_goimports
	install_gonb
	install_kernel
	log "install: done in $((SECONDS - start)) s"
}

require_tools() {
	have_jupyter || die "Jupyter is missing: run scripts/notebooks.sh install"
	command -v goimports >/dev/null || die "goimports is missing: run scripts/notebooks.sh install"
	kernel_ok || die "the gonb kernel is not registered: run scripts/notebooks.sh install"
}

# notebook_list sets NBS to the notebooks named in the arguments, or to all of
# notebooks/. It runs in the calling shell so that its errors stop the script.
notebook_list() {
	NBS=()
	if (($# > 0)); then
		local nb
		for nb in "$@"; do
			[[ -f $nb && $nb == *.ipynb ]] || die "not a notebook: $nb"
			NBS+=("$nb")
		done
		return
	fi
	shopt -s nullglob
	NBS=("$root"/notebooks/*.ipynb)
	shopt -u nullglob
	((${#NBS[@]} > 0)) || die "no notebooks in $root/notebooks"
}

# run_notebook IN OUTDIR TIMEOUT executes IN with the gonb kernel and writes the
# executed copy to OUTDIR/<name>. The kernel runs in IN's folder, so the
# notebooks' `${GONB_DIR}/..` resolves to the working tree even though the output
# goes elsewhere.
run_notebook() {
	local in=$1 outdir=$2 timeout=$3
	# No browser is attached: widgets show their static fallback at once
	# (notebook.HeadlessEnv).
	OPTLAB_HEADLESS=1 $JUPYTER nbconvert --to notebook --execute \
		--ExecutePreprocessor.kernel_name=gonb \
		--ExecutePreprocessor.timeout="$timeout" \
		--ExecutePreprocessor.record_timing=False \
		--output-dir "$outdir" --output "$(basename "$in")" "$in" </dev/null
}

# error_outputs prints the failures recorded in an executed notebook, one line
# each (error outputs, programs that exited non-zero: see scripts/nbtool.py).
error_outputs() { $PY "$root/scripts/nbtool.py" errors "$1"; }

# unexecuted_cells prints how many code cells of an executed notebook have no execution count.
unexecuted_cells() { $PY "$root/scripts/nbtool.py" unexecuted "$1"; }

# failure_summary prints the part of an nbconvert log that says why a cell
# failed: nbclient's message ends with the cell's source between two dashed
# lines, followed by the kernel's error.
failure_summary() {
	local logf=$1
	# Go compiler messages, which GoNB logs with line numbers of its generated main.go.
	grep -E '^\./[A-Za-z0-9_]+\.go:[0-9]+:[0-9]+: ' "$logf" | head -n 10 | sed 's/^/    go build: /'
	if grep -q '^------------------$' "$logf"; then
		awk '/^------------------$/ { n = NR } { line[NR] = $0 } END { for (i = n + 1; i <= NR && i <= n + 25; i++) if (line[i] != "") print "    " line[i] }' "$logf"
	else
		tail -n 20 "$logf" | sed 's/^/    /'
	fi
}

cmd_check() {
	require_tools
	export OPTLAB_QUICK=1
	local timeout=${OPTLAB_CELL_TIMEOUT:-900} out keep=0
	if [[ -n ${OPTLAB_CHECK_OUT:-} ]]; then
		out=$OPTLAB_CHECK_OUT
		mkdir -p "$out"
		keep=1
	else
		out=$(mktemp -d "${TMPDIR:-/tmp}/optlab-check.XXXXXX")
	fi
	local nbs failed=() nb t0 errs logf total=$SECONDS
	notebook_list "$@"
	nbs=("${NBS[@]}")
	log "check: ${#nbs[@]} notebook(s), OPTLAB_QUICK=1, GOMLX_BACKEND=$GOMLX_BACKEND, outputs in $out"
	for nb in "${nbs[@]}"; do
		t0=$SECONDS
		logf=$out/$(basename "$nb" .ipynb).log
		log "check: $nb ..."
		if ! run_notebook "$nb" "$out" "$timeout" >"$logf" 2>&1; then
			log "FAIL $nb ($((SECONDS - t0)) s): execution stopped"
			failure_summary "$logf" >&2
			failed+=("$nb")
			continue
		fi
		errs=$(error_outputs "$out/$(basename "$nb")")
		if [[ -n $errs ]]; then
			log "FAIL $nb ($((SECONDS - t0)) s): error outputs"
			printf '    %s\n' "$errs" >&2
			failed+=("$nb")
			continue
		fi
		log "ok   $nb ($((SECONDS - t0)) s)"
	done
	if ((${#failed[@]} > 0)); then
		log "check: ${#failed[@]} of ${#nbs[@]} notebook(s) failed in $((SECONDS - total)) s: ${failed[*]}"
		log "check: executed copies and logs kept in $out"
		return 1
	fi
	log "check: all ${#nbs[@]} notebook(s) ran without errors in $((SECONDS - total)) s"
	((keep)) || rm -rf "$out"
}

# cmd_lint checks the committed notebooks (it runs nothing): see
# scripts/nbtool.py for the rules. --strict turns warnings into errors.
cmd_lint() {
	local strict=()
	if [[ ${1:-} == --strict ]]; then
		strict=(--strict)
		shift
	fi
	notebook_list "$@"
	$PY "$root/scripts/nbtool.py" lint "${strict[@]}" "${NBS[@]}"
}

# cmd_caches checks that every committed cache was computed by the current code.
cmd_caches() {
	(($# == 0)) || die "caches takes no arguments"
	local bin
	bin=$(mktemp -d "${TMPDIR:-/tmp}/optlab-caches.XXXXXX")
	CACHES_TMP=$bin
	trap 'rm -rf "$CACHES_TMP"' EXIT
	(cd "$root" && go build -o "$bin/optlab" ./cmd/optlab) || die "building cmd/optlab failed"
	cd "$root"
	"$bin/optlab" caches --dir data/cache
}

# seconds_since T0_NS prints the seconds elapsed since T0_NS (date +%s%N), with one decimal.
seconds_since() { awk -v a="$1" -v b="$(date +%s%N)" 'BEGIN { printf "%.1f", (b - a) / 1e9 }'; }

# save_caches DIR moves the caches a cold run computed into data/cache.
save_caches() {
	local f n=0
	shopt -s nullglob
	for f in "$1"/*; do
		mv -f "$f" "$root/data/cache/$(basename "$f")"
		n=$((n + 1))
	done
	shopt -u nullglob
	log "execute: $n cache file(s) moved into data/cache"
}

# cmd_execute runs each notebook in full mode and writes its outputs back,
# then times a quick-mode run (with its own empty cache folder), and records
# both wall times in the notebook (scripts/nbtool.py runtime). A plain run
# reuses the committed caches, so its time is not the notebook's: only --cold
# (every cache recomputed into an empty OPTLAB_CACHE_DIR, then moved into
# data/cache, also when the notebook fails, so nothing computed is lost)
# records the full run time.
cmd_execute() {
	require_tools
	local cold=0
	if [[ ${1:-} == --cold ]]; then
		cold=1
		shift
	fi
	# Committed outputs are full-mode outputs.
	unset OPTLAB_QUICK
	local timeout=${OPTLAB_CELL_TIMEOUT:-1800} nbs nb name t0 full quick tmp errs n total=$SECONDS cores
	local record=()
	notebook_list "$@"
	nbs=("${NBS[@]}")
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/optlab-execute.XXXXXX")
	EXECUTE_TMP=$tmp
	trap 'rm -rf "$EXECUTE_TMP"' EXIT
	cores=$(nproc)
	log "execute: ${#nbs[@]} notebook(s), full mode$( ((cold)) && echo ' from empty caches (--cold)'), GOMLX_BACKEND=$GOMLX_BACKEND, $cores cores"
	for nb in "${nbs[@]}"; do
		name=$(basename "$nb")
		rm -rf "$tmp/full" "$tmp/quick" "$tmp/cache" "$tmp/qcache"
		mkdir -p "$tmp/full" "$tmp/quick" "$tmp/cache" "$tmp/qcache"
		log "execute: $nb ..."
		t0=$(date +%s%N)
		if ! (
			((cold)) && export OPTLAB_CACHE_DIR="$tmp/cache"
			run_notebook "$nb" "$tmp/full" "$timeout"
		) >"$tmp/log" 2>&1; then
			((cold)) && save_caches "$tmp/cache"
			failure_summary "$tmp/log" >&2
			die "$nb failed; left unchanged"
		fi
		full=$(seconds_since "$t0")
		((cold)) && save_caches "$tmp/cache"
		errs=$(error_outputs "$tmp/full/$name")
		[[ -z $errs ]] || die "$nb has error outputs; left unchanged:"$'\n'"$errs"
		n=$(unexecuted_cells "$tmp/full/$name")
		[[ $n == 0 ]] || die "$nb has $n code cell(s) without an execution count; left unchanged"
		log "execute: $nb ran in full mode in $full s; timing quick mode ..."
		t0=$(date +%s%N)
		if ! (
			export OPTLAB_QUICK=1 OPTLAB_CACHE_DIR="$tmp/qcache"
			run_notebook "$nb" "$tmp/quick" "$timeout"
		) >"$tmp/log" 2>&1; then
			failure_summary "$tmp/log" >&2
			die "$nb fails in quick mode (the full run passed); left unchanged"
		fi
		quick=$(seconds_since "$t0")
		errs=$(error_outputs "$tmp/quick/$name")
		[[ -z $errs ]] || die "$nb has error outputs in quick mode; left unchanged:"$'\n'"$errs"
		cp "$tmp/full/$name" "$nb"
		record=(--quick "$quick" --cores "$cores" --backend "$GOMLX_BACKEND")
		if ((cold)); then
			record+=(--full "$full")
		else
			log "execute: full run time not recorded (caches were reused; --cold measures it)"
		fi
		$PY "$root/scripts/nbtool.py" runtime "$nb" "${record[@]}"
		log "execute: $nb written (full $full s, quick $quick s)"
	done
	log "execute: done in $((SECONDS - total)) s"
}

cmd_serve() {
	require_tools
	local token=${OPTLAB_JUPYTER_TOKEN:-${JUPYTER_TOKEN:-}} port=${OPTLAB_PORT:-8888}
	if [[ -z $token ]]; then
		token=$($PY -c 'import secrets; print(secrets.token_hex(24))')
		log "serve: generated token (set OPTLAB_JUPYTER_TOKEN to choose one)"
	fi
	local extra=()
	if [[ $(id -u) == 0 ]]; then
		log "serve: running as root (--allow-root); prefer an ordinary user"
		extra=(--allow-root)
	fi
	log "serve: http://127.0.0.1:$port/?token=$token"
	cd "$root"
	exec $JUPYTER notebook --no-browser --ip=127.0.0.1 --port="$port" \
		--NotebookApp.token="$token" --notebook-dir="$root" "${extra[@]}" "$@"
}

# cmd_selftest proves that the tooling works: nbtool's and nbgen's unit tests
# pass; the setup script refuses to run outside GoNB and is silent inside a
# module; a notebook that imports optlab and computes with GoMLX passes check,
# with an empty setup output and a clean lint; one with a failing cell fails;
# and execute records run times in a notebook.
cmd_selftest() {
	local td=$root/scripts/testdata/notebooks out want='quick=1 grad=[2 4 6] model=smoke epochs=1' msg
	out=$(mktemp -d "${TMPDIR:-/tmp}/optlab-selftest.XXXXXX")
	log "selftest: unit tests of scripts/nbtool.py and scripts/nbgen.py"
	$PY -m unittest discover -s "$root/scripts" -p 'nb*_test.py' 2>"$out/unittest.log" || {
		cat "$out/unittest.log" >&2
		die "selftest: nbtool/nbgen unit tests failed"
	}

	log "selftest: the setup script"
	if msg=$(GONB_TMP_DIR='' "$root/scripts/nbsetup.sh" 2>&1); then
		die "selftest: nbsetup.sh ran without GONB_TMP_DIR"
	fi
	[[ $msg == *"GONB_TMP_DIR is not set"* ]] || die "selftest: nbsetup.sh without GONB_TMP_DIR said: $msg"
	if msg=$(GONB_TMP_DIR=$root "$root/scripts/nbsetup.sh" 2>&1); then
		die "selftest: nbsetup.sh agreed to edit the repository's go.mod"
	fi
	mkdir -p "$out/mod"
	printf 'module gonb_selftest\n\ngo 1.26\n' >"$out/mod/go.mod"
	msg=$(GONB_TMP_DIR=$out/mod GOEXPERIMENT=simd "$root/scripts/nbsetup.sh" 2>&1) || die "selftest: nbsetup.sh failed in a fresh module: $msg"
	[[ -z $msg ]] || die "selftest: nbsetup.sh printed on success: $msg"
	local gomlx
	gomlx=$(cd "$root" && go list -m -f '{{.Version}}' github.com/gomlx/gomlx)
	grep -q "github.com/gomlx/gomlx $gomlx" "$out/mod/go.mod" || die "selftest: nbsetup.sh did not pin gomlx $gomlx"

	log "selftest: a notebook importing optlab must pass"
	(OPTLAB_CHECK_OUT=$out/pass cmd_check "$td/pass.ipynb") || die "selftest: pass.ipynb failed (outputs in $out)"
	# The executed copy must hold the cell's real output, computed in quick mode,
	# an empty setup cell, and nothing lint rejects (module downloads included).
	grep -qF "$want" "$out/pass/pass.ipynb" || die "selftest: pass.ipynb lacks the output \"$want\" (see $out/pass)"
	$PY - "$out/pass/pass.ipynb" <<'PYEOF' || die "selftest: the setup cell of pass.ipynb printed something (see $out/pass)"
import json, sys
cells = [c for c in json.load(open(sys.argv[1]))["cells"] if c["cell_type"] == "code"]
sys.exit(1 if cells[0]["outputs"] else 0)
PYEOF
	cmd_lint "$out/pass/pass.ipynb" 2>"$out/lint.log" || {
		cat "$out/lint.log" >&2
		die "selftest: lint rejects the executed pass.ipynb"
	}

	log "selftest: a notebook with a failing cell must fail"
	if (OPTLAB_CHECK_OUT=$out/fail cmd_check "$td/fail.ipynb"); then
		die "selftest: check accepted fail.ipynb (outputs in $out)"
	fi
	grep -qF 'deliberate failure' "$out/fail/fail.log" "$out/fail/fail.ipynb" || die "selftest: fail.ipynb failed for another reason (see $out/fail)"

	log "selftest: execute --cold records the run times"
	local copy=$td/.selftest-execute.ipynb
	cp "$td/pass.ipynb" "$copy"
	(cmd_execute --cold "$copy") || {
		rm -f "$copy"
		die "selftest: execute failed on a copy of pass.ipynb"
	}
	$PY - "$copy" <<'PYEOF' || {
import json, sys
nb = json.load(open(sys.argv[1]))
rt = nb["metadata"]["optlab"]["runtime"]
first = "".join(nb["cells"][0]["source"])
ok = rt["full_seconds"] > 0 and rt["quick_seconds"] > 0 and rt["cores"] > 0 and "Runs in about" in first
print(rt, first.splitlines()[0], file=sys.stderr)
sys.exit(0 if ok else 1)
PYEOF
		rm -f "$copy"
		die "selftest: execute did not record the run times"
	}
	rm -f "$copy"
	rm -rf "$out"
	log "selftest: ok"
}

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d' | sed 's/^# \{0,1\}//' >&2
	exit 2
}

main() {
	(($# > 0)) || usage
	local sub=$1
	shift
	setup_env
	case $sub in
	install) cmd_install "$@" ;;
	serve) cmd_serve "$@" ;;
	execute) cmd_execute "$@" ;;
	check) cmd_check "$@" ;;
	lint) cmd_lint "$@" ;;
	caches) cmd_caches "$@" ;;
	selftest) cmd_selftest "$@" ;;
	-h | --help | help) usage ;;
	*)
		log "unknown command: $sub"
		usage
		;;
	esac
}

# exit on the same line: bash never reads past it, so editing this file cannot
# disturb a copy that is running.
main "$@"; exit
