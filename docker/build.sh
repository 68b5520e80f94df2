#!/usr/bin/env bash
# docker/build.sh [IMAGE]: builds the fully static release binary on the
# host (scripts/build-release.sh: a fresh scratch path, as the benchmarks do), lays out the image's tree
# (docker/rootfs.sh) and builds the image from it with podman (or docker)
# offline; prints the image name (default localhost/fedagent:<version>).
# Root for podman here; CONTAINERS_CONF defaults to docker/containers.conf.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRATCH="${SCRATCH:-$ROOT/.build-image}"
if [ "${REUSE_BUILD:-0}" != 1 ] || [ ! -x "$SCRATCH/release/fedagent" ]; then
    "$ROOT/scripts/build-release.sh" "$SCRATCH" >/dev/null
fi
BIN="$SCRATCH/release/fedagent"
VERSION=$("$BIN" version | awk 'NR == 1 {sub(/^v/, "", $2); print $2}')
IMAGE=${1:-localhost/fedagent:$VERSION}
TREE=$(mktemp -d /tmp/fedagent-image-XXXXXX)
trap 'rm -rf "$TREE"' EXIT
"$ROOT/docker/rootfs.sh" "$BIN" "$TREE/stage"
ENGINE=${ENGINE:-$(command -v podman || command -v docker)}
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/docker/containers.conf}"
# The stages' intermediate images are this build's to remove (podman 4.3
# fails multi-stage builds with --layers=false).
before=$("$ENGINE" images -q --filter dangling=true | sort)
"$ENGINE" build --quiet --build-arg SOURCE=host --build-arg VERSION="$VERSION" \
    --build-arg REVISION="$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)" \
    --build-arg CREATED="$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
    -f "$ROOT/docker/Containerfile" -t "$IMAGE" "$TREE/stage" >&2
for id in $(comm -13 <(echo "$before") <("$ENGINE" images -q --filter dangling=true | sort)); do
    "$ENGINE" rmi "$id" >/dev/null 2>&1 || true
done
echo "$IMAGE"
