#!/usr/bin/env bash
# Smoke test of the optlab notebook image, run by CI and usable by hand:
#  1. picks docker if an engine answers, else podman (installed with apt when missing);
#  2. finds the base image (local, pulled, or built with debootstrap and cached);
#  3. builds docker/Dockerfile from the files git would commit;
#  4. starts the container with a token, a named volume and a loopback port;
#  5. waits for /api, checks that requests without the token get 403 and that
#     no process in the container runs as root;
#  6. runs Go cells through the Jupyter API that import optlab and train a
#     model for 20 steps on MNIST (timed from container start);
#  7. drives a real browser (headless Chromium, docker/browser-test.py): it
#     runs the explorer notebook (04b) from work/, drags a slider and checks
#     that the figure changes; screenshots go to results/ci-artifacts/browser;
#  8. writes a file into the volume, restarts the container, reads it back;
#  9. removes the container and the volume, also when a step fails.
#
# Environment:
#   OPTLAB_ENGINE        docker or podman (default: docker if `docker info` works)
#   OPTLAB_BASE_IMAGE    base image (default debian:bookworm-slim)
#   OPTLAB_IMAGE         tag for the built image (default localhost/optlab-notebooks:smoke)
#   OPTLAB_CACHE         cache folder for the debootstrap tarball (default ~/.cache/optlab)
#   OPTLAB_SKIP_BUILD=1  test an image built before
#   OPTLAB_NO_CACHE=1    build without the engine's layer cache (a cold build)
#   OPTLAB_KEEP=1        leave the container and volume behind for inspection
#   OPTLAB_RMI=1         also remove the built image at the end
#   OPTLAB_BROWSER=0     skip the real-browser test (step 7)
#   OPTLAB_ARTIFACTS     folder for CI artifacts (default results/ci-artifacts)
# Nothing reads stdin.
set -euo pipefail
exec </dev/null
# Turn signals into an exit so the EXIT trap cleans up.
trap 'exit 130' INT TERM

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
cache=${OPTLAB_CACHE:-$HOME/.cache/optlab}
image=${OPTLAB_IMAGE:-localhost/optlab-notebooks:smoke}
base=${OPTLAB_BASE_IMAGE:-debian:bookworm-slim}
PY=/usr/bin/python3
T0=$SECONDS

log() { printf '[smoke %4ds] %s\n' $((SECONDS - T0)) "$*"; }
die() {
	log "FAIL: $*"
	exit 1
}

# ---------------------------------------------------------------- engine
apt_install() {
	[[ $(id -u) == 0 ]] || die "missing packages ($*) and not root: install them with apt-get"
	log "apt-get install $*"
	DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null
}

engine=${OPTLAB_ENGINE:-}
if [[ -z $engine ]]; then
	if command -v docker >/dev/null && timeout 20 docker info >/dev/null 2>&1; then
		engine=docker
	else
		engine=podman
	fi
fi
if [[ $engine == podman ]]; then
	need=()
	command -v podman >/dev/null || need+=(podman buildah uidmap slirp4netns fuse-overlayfs runc)
	command -v debootstrap >/dev/null || need+=(debootstrap)
	((${#need[@]} == 0)) || apt_install "${need[@]}"
	# runc with bounded ulimits and no systemd: what works in CI containers.
	if [[ -z ${CONTAINERS_CONF:-} ]]; then
		mkdir -p "$cache"
		export CONTAINERS_CONF=$cache/containers.conf
		cat >"$CONTAINERS_CONF" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]
[engine]
runtime = "runc"
events_logger = "file"
cgroup_manager = "cgroupfs"
EOF
	fi
fi
$PY -c 'import tornado' 2>/dev/null || apt_install python3-tornado
command -v curl >/dev/null || apt_install curl
log "engine: $engine ($($engine --version | head -n1))"

# ------------------------------------------------------------- base image
have_image() { $engine image inspect "$1" >/dev/null 2>&1; }

if [[ ${OPTLAB_SKIP_BUILD:-0} != 1 ]]; then
	if have_image "$base"; then
		log "base image $base: present"
	elif have_image "localhost/$base"; then
		base=localhost/$base
		log "base image $base: present (built locally)"
	elif [[ -s $cache/debian-bookworm-minbase.tar && $base == debian:bookworm-slim ]]; then
		log "base image: importing the cached debootstrap tarball"
		ENGINE=$engine "$here/base-image.sh" "localhost/$base"
		base=localhost/$base
	elif timeout 90 "$engine" pull -q "docker.io/library/$base" >/dev/null 2>&1; then
		base=docker.io/library/$base
		log "base image $base: pulled"
	elif [[ $base == debian:bookworm-slim ]]; then
		log "base image: no registry answered; building it with debootstrap (cached for next time)"
		ENGINE=$engine "$here/base-image.sh" "localhost/$base"
		base=localhost/$base
	else
		die "base image $base is neither local nor pullable"
	fi
fi

# ------------------------------------------------------------------ build
if [[ ${OPTLAB_SKIP_BUILD:-0} != 1 ]]; then
	ctx=$(mktemp -d "${TMPDIR:-/tmp}/optlab-ctx.XXXXXX")
	trap 'rm -rf "$ctx"' EXIT
	# The build context is what git would commit (tracked and untracked files
	# that are not ignored), so stray outputs never reach the image.
	if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		(cd "$root" && git ls-files -z --cached --others --exclude-standard |
			tar --null -T - --ignore-failed-read -cf - 2>/dev/null) | tar -C "$ctx" -xf -
	else
		cp -a "$root"/. "$ctx"/
	fi
	# A proxy that re-signs HTTPS needs its CA inside the build.
	shopt -s nullglob
	certs=(/usr/local/share/ca-certificates/*.crt)
	shopt -u nullglob
	((${#certs[@]} == 0)) || cp "${certs[@]}" "$ctx/docker/certs/"
	fmt=()
	[[ $engine == podman ]] && fmt=(--format docker) # keeps HEALTHCHECK
	[[ ${OPTLAB_NO_CACHE:-0} == 1 ]] && fmt+=(--no-cache)
	mkdir -p "$cache"
	buildlog=$cache/build-$(date -u +%Y%m%dT%H%M%S)-$$.log
	log "building $image from $base (log: $buildlog)"
	old_id=$($engine image inspect -f '{{.Id}}' "$image" 2>/dev/null || true)
	t=$SECONDS
	if ! $engine build "${fmt[@]}" -f "$ctx/docker/Dockerfile" -t "$image" \
		--build-arg BASE_IMAGE="$base" "$ctx" >"$buildlog" 2>&1; then
		tail -n 60 "$buildlog"
		die "image build failed (full log: $buildlog)"
	fi
	# Which steps ran and which came from the layer cache (podman's log format).
	awk '/^(\[[0-9]+\/[0-9]+\] )?STEP [0-9]+\/[0-9]+: / { if (step != "") print (cached ? "    cached " : "    ran    ") substr(step, 1, 100); step = $0; cached = 0 }
		/^--> Using cache/ { cached = 1 }
		END { if (step != "") print (cached ? "    cached " : "    ran    ") substr(step, 1, 100) }' "$buildlog" | grep -v 'STEP [0-9]*/[0-9]*: \(ARG\|ENV\|USER\|WORKDIR\|EXPOSE\|FROM\)' || true
	log "built $image in $((SECONDS - t)) s ($($engine image inspect -f '{{.Size}}' "$image" | awk '{printf "%.2f GB", $1/1e9}'))"
	rm -rf "$ctx"
	trap - EXIT
	# The image this build replaced would otherwise pile up, untagged.
	new_id=$($engine image inspect -f '{{.Id}}' "$image")
	[[ -z $old_id || $old_id == "$new_id" ]] || $engine rmi "$old_id" >/dev/null 2>&1 || true
	# Keep the five newest build logs.
	find "$cache" -maxdepth 1 -name 'build-*.log' -printf '%T@ %p\n' | sort -rn | tail -n +6 | cut -d' ' -f2- | xargs -r rm -f
fi
have_image "$image" || die "image $image not found"

# ---------------------------------------------------------------- run it
# Remove what an earlier run left behind when it was killed (SIGKILL cannot
# be trapped): containers and volumes named after a process that is gone.
for stale in $($engine ps -a --format '{{.Names}}' | grep -E '^optlab-smoke-[0-9]+$' || true) \
	$($engine volume ls -q | grep -E '^optlab-smoke-[0-9]+$' || true); do
	kill -0 "${stale##*-}" 2>/dev/null && continue
	log "removing $stale, left by an earlier run"
	$engine rm -f "$stale" >/dev/null 2>&1 || true
	$engine volume rm -f "$stale" >/dev/null 2>&1 || true
done

name=optlab-smoke-$$
volume=optlab-smoke-$$
token=$($PY -c 'import secrets; print(secrets.token_hex(24))')
started=0

cleanup() {
	local rc=$?
	if ((rc != 0)) && ((started)); then
		log "container log (last 40 lines):"
		$engine logs "$name" 2>&1 | tail -n 40 | sed 's/^/    /' || true
	fi
	if [[ ${OPTLAB_KEEP:-0} == 1 ]]; then
		log "keeping container $name and volume $volume (OPTLAB_KEEP=1)"
	else
		$engine rm -f "$name" >/dev/null 2>&1 || true
		$engine volume rm -f "$volume" >/dev/null 2>&1 || true
		[[ ${OPTLAB_RMI:-0} != 1 ]] || $engine rmi -f "$image" >/dev/null 2>&1 || true
	fi
	rm -rf "${cells:-}"
	exit "$rc"
}
trap cleanup EXIT

$engine volume create "$volume" >/dev/null
log "starting $name (token auth, volume $volume on work/, loopback port)"
t_start=$SECONDS
t_start_ns=$(date +%s%N)
# start_container [ENV...] starts the container on the volume with the given
# extra environment (NAME=VALUE words).
start_container() {
	local envs=() e
	for e in "$@"; do envs+=(-e "$e"); done
	local health=()
	# podman would schedule the health check with systemd timers, which CI
	# containers lack; the check is run by hand below instead.
	[[ $engine == podman ]] && health=(--health-interval=disable)
	$engine run -d --name "$name" "${health[@]}" "${envs[@]}" \
		-v "$volume:/home/optlab/optlab/work" \
		-p 127.0.0.1::8888 \
		"$image" >/dev/null 2> >(grep -v 'unable to get systemd connection' >&2)
	started=1
}
start_container JUPYTER_TOKEN="$token"

# host_port prints the loopback port the engine published for 8888.
host_port() { $engine port "$name" 8888/tcp | head -n1 | sed 's/.*://'; }

# wait_api waits until /api answers, for at most $1 seconds.
wait_api() {
	local deadline=$((SECONDS + $1))
	while ((SECONDS < deadline)); do
		port=$(host_port 2>/dev/null || true)
		if [[ -n $port ]] && curl -fsS -o /dev/null "http://127.0.0.1:$port/api" 2>/dev/null; then
			return 0
		fi
		[[ $($engine inspect -f '{{.State.Running}}' "$name" 2>/dev/null) == true ]] || die "container stopped"
		sleep 0.5
	done
	die "/api did not answer within $1 s"
}
wait_api 120
base_url=http://127.0.0.1:$port
log "/api answers on $base_url after $((SECONDS - t_start)) s"

# Only loopback is published.
binding=$($engine port "$name" 8888/tcp | head -n1)
[[ $binding == 127.0.0.1:* ]] || die "port 8888 published on $binding, want 127.0.0.1 only"

# ------------------------------------------------------------ auth checks
code() { curl -s -o /dev/null -w '%{http_code}' "$@"; }
for path in /api/contents /api/kernels /api/sessions; do
	c=$(code "$base_url$path")
	[[ $c == 403 ]] || die "GET $path without a token answered $c, want 403"
	c=$(code -H "Authorization: token wrong$token" "$base_url$path")
	[[ $c == 403 ]] || die "GET $path with a wrong token answered $c, want 403"
done
c=$(code -X POST -H 'Content-Type: application/json' -d '{"name":"gonb"}' "$base_url/api/kernels")
[[ $c == 403 ]] || die "starting a kernel without a token answered $c, want 403"
c=$(code -H "Authorization: token $token" "$base_url/api/contents")
[[ $c == 200 ]] || die "GET /api/contents with the token answered $c, want 200"
log "auth: 403 without or with a wrong token, 200 with it"

# Nobody in the container is root.
# shellcheck disable=SC2016 # expanded inside the container
uids=$($engine exec "$name" sh -c 'for f in /proc/[0-9]*/status; do awk "/^Uid:/{print \$2}" "$f" 2>/dev/null; done' | sort -u | tr '\n' ' ')
[[ -n $uids && ! " $uids " =~ " 0 " ]] || die "processes in the container run as uid(s) $uids"
log "container processes run as uid $uids(not root)"

# ------------------------------------------------- a Go cell with optlab
cells=$(mktemp -d "${TMPDIR:-/tmp}/optlab-cells.XXXXXX")
cat >"$cells/1-setup.go" <<'EOF'
!*"${GONB_DIR}/../scripts/nbsetup.sh"
EOF
# Two short epochs of optlab.Train on real MNIST images (320 of them, 10 Adam
# steps an epoch) on the pure-Go backend; the cell itself fails unless the
# training loss went down, and the printed line is checked.
cat >"$cells/2-train.go" <<'EOF'
import (
	"context"
	"fmt"
	"math"

	"optlab.dev/optlab"
	"optlab.dev/optlab/datasets"
	"optlab.dev/optlab/optimizers"
)

%%
backend, err := optlab.NewBackend("")
if err != nil {
	panic(err)
}
data, err := optlab.LoadData("", datasets.SplitTest, 320)
if err != nil {
	panic(err)
}
h, err := optlab.Train(context.Background(), backend, data, optlab.Config{
	Model: "mlp-small", Optimizer: optimizers.MustParse("adam(lr=1e-3)"), Epochs: 2, BatchSize: 32, Seed: 1,
})
if err != nil {
	panic(err)
}
first, last := h.Epochs[0], h.Epochs[len(h.Epochs)-1]
if math.IsNaN(last.Loss) || !(last.Loss < first.Loss) {
	panic(fmt.Sprintf("training loss did not go down: %v then %v", first.Loss, last.Loss))
}
fmt.Printf("epoch 1: loss %.4f, epoch 2: loss %.4f, val accuracy %.3f, test accuracy %.3f\n",
	first.Loss, last.Loss, last.ValAccuracy, h.TestAccuracy)
fmt.Printf("backend: %s\n", h.Backend)
fmt.Printf("optlab smoke: model=%s steps=%d loss decreased\n", h.Model, last.Steps)
EOF
expect='optlab smoke: model=mlp-small steps=20 loss decreased'
log "running Go cells through the Jupyter API (notebook work/smoke.ipynb)"
$PY "$here/smoke-client.py" "$base_url" "$token" work/smoke.ipynb "$expect" "$cells/1-setup.go" "$cells/2-train.go" ||
	die "Go cells failed"
t_first=$(($(date +%s%N) - t_start_ns))
first_s=$(awk -v ns="$t_first" 'BEGIN { printf "%.1f", ns / 1e9 }')
log "container start -> first executed optlab cell: $first_s s (target < 60 s)"
awk -v s="$first_s" 'BEGIN { exit !(s < 60) }' || log "WARNING: slower than the 60 s target"

# On first start the entrypoint copies the shipped notebooks into the volume.
shipped=$($engine exec "$name" sh -c 'ls /home/optlab/optlab/notebooks/*.ipynb 2>/dev/null | wc -l')
seeded=$(curl -fsS -H "Authorization: token $token" "$base_url/api/contents/work" |
	$PY -c 'import json,sys; print(sum(1 for c in json.load(sys.stdin)["content"] if c["type"] == "notebook" and c["name"] != "smoke.ipynb"))')
[[ $seeded == "$shipped" ]] || die "work/ holds $seeded notebooks after the first start, want the $shipped shipped ones"
log "work/ was seeded with the $shipped shipped notebook(s)"

# ------------------------------------------------------- a real browser
artifacts=${OPTLAB_ARTIFACTS:-$root/results/ci-artifacts}/browser
if [[ ${OPTLAB_BROWSER:-1} == 1 ]]; then
	need=()
	command -v chromium >/dev/null || need+=(chromium)
	command -v chromedriver >/dev/null || need+=(chromium-driver)
	$PY -c 'import selenium' 2>/dev/null || need+=(python3-selenium)
	((${#need[@]} == 0)) || apt_install "${need[@]}"
	rm -rf "$artifacts"
	mkdir -p "$artifacts"
	log "browser: headless Chromium runs work/04b_explore_momentum.ipynb and drags a slider"
	if ! $PY "$here/browser-test.py" "$base_url" "$token" work/04b_explore_momentum.ipynb "$artifacts" 2>&1 | sed 's/^/    /'; then
		die "the browser test failed (screenshots and summary.json in $artifacts)"
	fi
	log "browser: the slider redrew the figure; screenshots in $artifacts"
fi

# --------------------------------------------------- volume persistence
stamp="optlab smoke $(date -u +%FT%TZ) $$"
body=$($PY -c 'import json,sys; print(json.dumps({"type":"file","format":"text","content":sys.argv[1]}))' "$stamp")
c=$(code -X PUT -H "Authorization: token $token" -H 'Content-Type: application/json' -d "$body" "$base_url/api/contents/work/smoke-persist.txt")
[[ $c == 200 || $c == 201 ]] || die "writing work/smoke-persist.txt answered $c"
log "wrote work/smoke-persist.txt through the contents API; restarting"
$engine restart "$name" >/dev/null 2> >(grep -v 'unable to get systemd connection' >&2)
wait_api 120
base_url=http://127.0.0.1:$port
got=$(curl -fsS -H "Authorization: token $token" "$base_url/api/contents/work/smoke-persist.txt" |
	$PY -c 'import json,sys; print(json.load(sys.stdin)["content"])')
[[ $got == "$stamp" ]] || die "after restart work/smoke-persist.txt holds '$got', want '$stamp'"
owner=$($engine exec "$name" stat -c %U /home/optlab/optlab/work/smoke-persist.txt)
log "after restart the file is back in the volume (owner $owner)"

# A new container on the same volume, this time without JUPYTER_TOKEN: the
# entrypoint must generate a token and print it, and the file must be there.
$engine rm -f "$name" >/dev/null 2> >(grep -v 'unable to get systemd connection' >&2)
start_container
wait_api 120
base_url=http://127.0.0.1:$port
gen=$($engine logs "$name" 2>&1 | sed -n 's/.*generated token.*: \([0-9a-f]\{32,\}\)$/\1/p' | head -n1)
[[ -n $gen ]] || die "no generated token in the log of a container started without JUPYTER_TOKEN"
c=$(code "$base_url/api/contents/work/smoke-persist.txt")
[[ $c == 403 ]] || die "without a token the re-created container answered $c, want 403"
got=$(curl -fsS -H "Authorization: token $gen" "$base_url/api/contents/work/smoke-persist.txt" |
	$PY -c 'import json,sys; print(json.load(sys.stdin)["content"])')
[[ $got == "$stamp" ]] || die "in a re-created container work/smoke-persist.txt holds '$got', want '$stamp'"
log "re-created container: generated token printed in its log, file still in the volume"

if [[ $engine == podman ]]; then
	podman healthcheck run "$name" >/dev/null || die "the image's HEALTHCHECK failed"
	log "HEALTHCHECK passes"
fi
log "PASS in $((SECONDS - T0)) s (first optlab cell $first_s s after start)"
[[ ${OPTLAB_BROWSER:-1} != 1 ]] || log "CI artifacts: $artifacts"
