#!/usr/bin/env bash
# Builds a Debian bookworm base image locally with debootstrap and imports it
# into podman (or $ENGINE, e.g. docker) under the name the Dockerfile expects (default
# localhost/debian:bookworm-slim). Use it where no registry can be reached.
#
# The root file system is cached as a tarball, so only the first run pays for
# debootstrap (about 2.5 minutes); later runs import the tarball (seconds) or
# do nothing when the image already exists.
#
# Usage: docker/base-image.sh [IMAGE_NAME]
# Environment:
#   OPTLAB_CACHE          cache folder (default ~/.cache/optlab)
#   OPTLAB_DEBIAN_MIRROR  Debian mirror (default: the host's apt sources, else deb.debian.org)
#   OPTLAB_FORCE_BASE=1   rebuild the tarball and re-import the image
#   ENGINE                podman (default) or docker
#   CONTAINERS_CONF       passed through to podman
set -euo pipefail

image=${1:-localhost/debian:bookworm-slim}
cache=${OPTLAB_CACHE:-$HOME/.cache/optlab}
tarball=$cache/debian-bookworm-minbase.tar
engine=${ENGINE:-podman}
log() { printf '[base-image] %s\n' "$*" >&2; }

if [[ ${OPTLAB_FORCE_BASE:-0} != 1 ]] && $engine image inspect "$image" >/dev/null 2>&1; then
	log "$image already present"
	exit 0
fi

# mirror prints the Debian mirror the host's apt uses for bookworm.
mirror() {
	if [[ -n ${OPTLAB_DEBIAN_MIRROR:-} ]]; then
		echo "$OPTLAB_DEBIAN_MIRROR"
		return
	fi
	local m
	m=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
		grep -oE '(https?://[^ ]+/debian)/?( |$)' | head -n1 | tr -d ' ' || true)
	echo "${m:-http://deb.debian.org/debian}"
}

if [[ ${OPTLAB_FORCE_BASE:-0} == 1 || ! -s $tarball ]]; then
	command -v debootstrap >/dev/null || {
		log "debootstrap is missing: apt-get install -y debootstrap"
		exit 1
	}
	[[ $(id -u) == 0 ]] || {
		log "debootstrap needs root"
		exit 1
	}
	mkdir -p "$cache"
	m=$(mirror)
	m=${m%/}
	rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
	trap 'rm -rf "$rootfs" "$tarball.tmp"' EXIT
	log "debootstrap --variant=minbase bookworm from $m (a few minutes, once)"
	start=$SECONDS
	debootstrap --variant=minbase bookworm "$rootfs" "$m" >"$cache/debootstrap.log" 2>&1 || {
		tail -n 20 "$cache/debootstrap.log" >&2
		exit 1
	}
	# Same suites as the official slim image: release, updates, security.
	cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $m bookworm main
deb $m bookworm-updates main
deb ${m}-security bookworm-security main
EOF
	# Trim what the official slim image trims.
	rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*
	tar --numeric-owner -C "$rootfs" -cf "$tarball.tmp" .
	mv "$tarball.tmp" "$tarball"
	log "rootfs cached in $tarball ($(du -h "$tarball" | cut -f1), $((SECONDS - start)) s)"
fi

log "importing $tarball as $image"
$engine import --change 'CMD ["/bin/bash"]' "$tarball" "$image" >/dev/null
log "done"
