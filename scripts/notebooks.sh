#!/usr/bin/env bash
# Notebook tooling for optlab: install Jupyter + GoNB, serve, execute, check.
#
#   scripts/notebooks.sh install            Jupyter (Debian packages), GoNB v0.11.1, goimports, kernel
#   scripts/notebooks.sh serve [ARGS...]    Jupyter on 127.0.0.1 with a token (extra ARGS go to jupyter)
#   scripts/notebooks.sh execute [NB...]    re-run notebooks in full mode and write the outputs back
#   scripts/notebooks.sh check [NB...]      run notebooks with OPTLAB_QUICK=1 into a temporary copy;
#                                           fail on any error
#   scripts/notebooks.sh lint [NB...]       check committed outputs without running anything: every code
#                                           cell executed, no errors, no machine paths or timestamps,
#                                           a figure in each of 02-09
#   scripts/notebooks.sh selftest           prove that check runs optlab code and catches a failing cell
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
set -euo pipefail

GONB_VERSION=v0.11.1
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
	command -v go >/dev/null || die "go is not on PATH (install Go 1.24 or newer)"
	GOBIN_DIR=$(go env GOBIN)
	[[ -n $GOBIN_DIR ]] || GOBIN_DIR=$(go env GOPATH)/bin
	case ":$PATH:" in *":$GOBIN_DIR:"*) ;; *) PATH=$GOBIN_DIR:$PATH ;; esac
	export PATH
	export HOME=${HOME:-$(getent passwd "$(id -u)" | cut -d: -f6)}
	export GOMLX_BACKEND=${GOMLX_BACKEND:-go}
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
	$JUPYTER nbconvert --to notebook --execute \
		--ExecutePreprocessor.kernel_name=gonb \
		--ExecutePreprocessor.timeout="$timeout" \
		--ExecutePreprocessor.record_timing=False \
		--output-dir "$outdir" --output "$(basename "$in")" "$in" </dev/null
}

# error_outputs prints the failures recorded in an executed notebook, one line
# each: error outputs (compile errors, kernel errors) and cells whose program
# exited non-zero. GoNB v0.11.1 reports a program that panics or exits with a
# non-zero status (and a failing `!` shell command) only as a stderr line
# "exit status N" or "signal: NAME" while the cell still counts as executed,
# so such a line is a failure too.
error_outputs() {
	$PY - "$1" <<'EOF'
import json, re, sys
nb = json.load(open(sys.argv[1]))
strip = re.compile(r"\x1b\[[0-9;]*m")
exited = re.compile(r"^(\^C)?(exit status [1-9][0-9]*|signal: [a-z ]+)$", re.M)
code = 0
for cell in nb.get("cells", []):
    if cell.get("cell_type") != "code":
        continue
    code += 1
    where = f"code cell {code} (execution count {cell.get('execution_count')})"
    for out in cell.get("outputs", []):
        kind = out.get("output_type")
        if kind == "error":
            msg = strip.sub("", out.get("ename", "") + ": " + out.get("evalue", "")).strip()
            print(f"{where}: {msg}")
        elif kind == "stream" and out.get("name") == "stderr":
            text = strip.sub("", "".join(out.get("text", "")))
            m = exited.search(text)
            if m:
                first = next((l for l in text.splitlines() if l.startswith(("panic:", "fatal error:"))), m.group(0))
                print(f"{where}: program failed: {first.strip()} ({m.group(0)})")
EOF
}

# unexecuted_cells prints how many code cells of an executed notebook have no execution count.
unexecuted_cells() {
	$PY - "$1" <<'EOF'
import json, sys
nb = json.load(open(sys.argv[1]))
print(sum(1 for c in nb.get("cells", []) if c.get("cell_type") == "code" and c.get("source") and not c.get("execution_count")))
EOF
}

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

# cmd_lint checks the committed notebooks' outputs (it runs nothing): every
# code cell has an execution count, no cell failed, outputs hold no
# machine-specific paths or timestamps, and notebooks 02-09 have a figure.
cmd_lint() {
	notebook_list "$@"
	$PY - "${NBS[@]}" <<'EOF'
import json, os, re, sys
strip = re.compile(r"\x1b\[[0-9;]*m")
exited = re.compile(r"^(\^C)?(exit status [1-9][0-9]*|signal: [a-z ]+)$", re.M)
# Paths that name this machine or a run's temporary folders, and wall-clock stamps.
machine = re.compile(r"(/work/|/root/|/home/[A-Za-z0-9_.-]+/|/tmp/gonb_|/tmp/go-build|/tmp/tmp)")
stamp = re.compile(r"\b20[0-9]{2}-[01][0-9]-[0-3][0-9][T ][0-2][0-9]:[0-5][0-9](:[0-5][0-9])?")
problems = 0
def report(nb, msg):
    global problems
    problems += 1
    print(f"[notebooks] lint: {nb}: {msg}", file=sys.stderr)
for path in sys.argv[1:]:
    nb_name = os.path.basename(path)
    try:
        nb = json.load(open(path))
    except (OSError, ValueError) as e:
        report(path, f"unreadable: {e}")
        continue
    code, figures = 0, 0
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        code += 1
        where = f"code cell {code}"
        if "".join(cell.get("source", "")).strip() and not cell.get("execution_count"):
            report(path, f"{where} has no execution count")
        for out in cell.get("outputs", []):
            kind = out.get("output_type")
            texts = []
            if kind == "error":
                report(path, f"{where} has an error output: {strip.sub('', out.get('ename', '') + ': ' + out.get('evalue', ''))}")
            elif kind == "stream":
                texts.append("".join(out.get("text", "")))
                if out.get("name") == "stderr" and exited.search(strip.sub("", texts[-1])):
                    report(path, f"{where}: its program failed ({exited.search(strip.sub('', texts[-1])).group(0)})")
            elif kind in ("display_data", "execute_result"):
                data = out.get("data", {})
                if "image/png" in data or "image/svg+xml" in data:
                    figures += 1
                for mime in ("text/plain", "text/html", "text/markdown"):
                    if mime in data:
                        texts.append("".join(data[mime]))
            for t in texts:
                m = machine.search(t)
                if m:
                    report(path, f"{where}: machine-specific path in output: ...{t[max(0, m.start() - 30):m.end() + 30]!r}...")
                m = stamp.search(t)
                if m:
                    report(path, f"{where}: timestamp in output: {m.group(0)}")
    if re.match(r"0[2-9]_", nb_name) and figures == 0:
        report(path, "no figure (image/png or image/svg+xml output)")
print(f"[notebooks] lint: {len(sys.argv) - 1} notebook(s), {problems} problem(s)", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
}

cmd_execute() {
	require_tools
	# Committed outputs are full-mode outputs.
	unset OPTLAB_QUICK
	local timeout=${OPTLAB_CELL_TIMEOUT:-1800} nbs nb t0 tmp errs n total=$SECONDS
	notebook_list "$@"
	nbs=("${NBS[@]}")
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/optlab-execute.XXXXXX")
	EXECUTE_TMP=$tmp
	trap 'rm -rf "$EXECUTE_TMP"' EXIT
	log "execute: ${#nbs[@]} notebook(s), full mode, GOMLX_BACKEND=$GOMLX_BACKEND"
	for nb in "${nbs[@]}"; do
		t0=$SECONDS
		log "execute: $nb ..."
		if ! run_notebook "$nb" "$tmp" "$timeout" >"$tmp/log" 2>&1; then
			failure_summary "$tmp/log" >&2
			die "$nb failed; left unchanged"
		fi
		errs=$(error_outputs "$tmp/$(basename "$nb")")
		[[ -z $errs ]] || die "$nb has error outputs; left unchanged:"$'\n'"$errs"
		n=$(unexecuted_cells "$tmp/$(basename "$nb")")
		[[ $n == 0 ]] || die "$nb has $n code cell(s) without an execution count; left unchanged"
		cp "$tmp/$(basename "$nb")" "$nb"
		log "execute: $nb written ($((SECONDS - t0)) s)"
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

# cmd_selftest proves that check really runs notebooks: a notebook that imports
# optlab and computes with GoMLX must pass, one with a failing cell must fail.
cmd_selftest() {
	local td=$root/scripts/testdata/notebooks out want='quick=1 grad=[2 4 6] model=smoke epochs=1'
	out=$(mktemp -d "${TMPDIR:-/tmp}/optlab-selftest.XXXXXX")
	log "selftest: a notebook importing optlab must pass"
	(OPTLAB_CHECK_OUT=$out/pass cmd_check "$td/pass.ipynb") || die "selftest: pass.ipynb failed (outputs in $out)"
	# The executed copy must hold the cell's real output, computed in quick mode.
	grep -qF "$want" "$out/pass/pass.ipynb" || die "selftest: pass.ipynb lacks the output \"$want\" (see $out/pass)"
	log "selftest: a notebook with a failing cell must fail"
	if (OPTLAB_CHECK_OUT=$out/fail cmd_check "$td/fail.ipynb"); then
		die "selftest: check accepted fail.ipynb (outputs in $out)"
	fi
	grep -qF 'deliberate failure' "$out/fail/fail.log" "$out/fail/fail.ipynb" || die "selftest: fail.ipynb failed for another reason (see $out/fail)"
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
