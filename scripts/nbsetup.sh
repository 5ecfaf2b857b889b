#!/usr/bin/env bash
# The setup step of every optlab notebook. A notebook's first code cell is
#
#   !*"${GONB_DIR}/../scripts/nbsetup.sh"
#
# (scripts/nbgen.py writes it from a `#### setup` marker, with the right number
# of `..` for the notebook's folder). GoNB runs `!*` commands in its own module
# folder (GONB_TMP_DIR), which holds the go.mod its cells are built with. This
# script makes that module build like the repository:
#   - optlab.dev is required and replaced by this working tree;
#   - every module the repository's go.mod requires is required at exactly
#     that version, and the repository's go.sum entries are added, so the
#     versions come from one place (go.mod) and never drift;
#   - the modules are downloaded and optlab.dev/optlab is resolved once.
# It prints nothing when it succeeds and the go command's own messages when
# something fails (exit status 1), so a notebook's first output is empty.
# Running it again is harmless. It refuses to run outside a GoNB module folder,
# so it cannot edit the repository's own go.mod.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
fail() {
	printf 'nbsetup: %s\n' "$*" >&2
	exit 1
}

[[ -n ${GONB_TMP_DIR:-} ]] || fail "GONB_TMP_DIR is not set: run this from a GoNB cell (!*\"\${GONB_DIR}/../scripts/nbsetup.sh\")"
cd "$GONB_TMP_DIR" || fail "cannot enter GoNB's module folder $GONB_TMP_DIR"
[[ -f go.mod ]] || fail "$GONB_TMP_DIR has no go.mod (is this GoNB's module folder?)"
[[ $(cd "$GONB_TMP_DIR" && pwd -P) != "$(cd "$root" && pwd -P)" ]] || fail "refusing to edit the repository's own go.mod"
[[ -f $root/go.mod ]] || fail "no go.mod in $root"
module=$(awk '$1 == "module" { print $2; exit }' "$root/go.mod")
[[ $module == optlab.dev ]] || fail "$root/go.mod is module '$module', want optlab.dev"
command -v go >/dev/null || fail "the go command is not on PATH"

# quiet CMD... runs a command and shows its output only when it fails.
quiet() {
	local out
	if ! out=$("$@" 2>&1); then
		printf '%s\n' "$out" >&2
		fail "'$*' failed"
	fi
}

# The repository's go directive, toolchain line, requirements and replacements,
# read with the go command itself (no hand-written go.mod parser).
edits=()
while IFS= read -r line; do
	edits+=("$line")
done < <(go mod edit -json "$root/go.mod" | /usr/bin/env python3 -c '
import json, os, sys
m = json.load(sys.stdin)
root = sys.argv[1]
if m.get("Go"):
    print("-go=" + m["Go"])
if m.get("Toolchain"):
    print("-toolchain=" + m["Toolchain"]["Name"])
for r in m.get("Require") or []:
    print("-require=%s@%s" % (r["Path"], r["Version"]))
for r in m.get("Replace") or []:
    old = r["Old"]["Path"] + ("@" + r["Old"]["Version"] if r["Old"].get("Version") else "")
    new = r["New"]["Path"]
    if r["New"].get("Version"):
        new += "@" + r["New"]["Version"]
    elif not os.path.isabs(new):
        new = os.path.normpath(os.path.join(root, new))  # a local path, relative to the repository
    print("-replace=%s=%s" % (old, new))
' "$root")
((${#edits[@]} > 0)) || fail "could not read the requirements of $root/go.mod"
quiet go mod edit "${edits[@]}" \
	-require=optlab.dev@v0.0.0-00010101000000-000000000000 -replace=optlab.dev="$root"

# The repository's checksums, so nothing is looked up or added.
if [[ -f $root/go.sum ]]; then
	touch go.sum
	sort -u go.sum "$root/go.sum" -o go.sum
fi

# Download what is missing (nothing, usually) and check that optlab resolves;
# both are silent unless they fail.
quiet go mod download
err=$(go list -e -f '{{with .Error}}{{.}}{{end}}' optlab.dev/optlab 2>&1) || fail "go list optlab.dev/optlab: $err"
[[ -z $err ]] || fail "optlab.dev/optlab does not resolve: $err"

case ",$(go env GOEXPERIMENT)," in
*,simd,*) ;;
*) printf 'nbsetup: note: GOEXPERIMENT=simd is off, so the pure-Go backend runs without its AVX2/AVX-512 kernels (several times slower); start Jupyter with GOEXPERIMENT=simd, or run: go env -w GOEXPERIMENT=simd\n' >&2 ;;
esac
