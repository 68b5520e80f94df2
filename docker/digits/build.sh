#!/usr/bin/env bash
# docker/digits/build.sh [VERSION]: the example workload's images, built from
# Debian's archive alone (no image can be pulled on this project's
# machines): a Debian 12 root made by debootstrap (minbase, python3; for
# the backend also python3-sklearn), without docs, man pages and apt's
# lists, imported with `podman import`, then a Containerfile adds the app
# (examples/digits) and a non-root user. Prints the two image names
# (localhost/digits-frontend:<v>, localhost/digits-backend:<v>). Root.
# The bases are kept (localhost/digits-base-*:<v>) and reused when present;
# `FRESH=1` builds them again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VERSION=${1:-0.1.0}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/docker/containers.conf}"
WORK=$(mktemp -d /tmp/fedagent-digits-XXXXXX)
trap 'rm -rf "$WORK"' EXIT

base() {  # base NAME PACKAGES: a Debian root with PACKAGES, as image localhost/digits-base-NAME
    local image="localhost/digits-base-$1:$VERSION" root="$WORK/root-$1"
    if [ "${FRESH:-0}" != 1 ] && podman image exists "$image"; then echo "$image"; return; fi
    debootstrap --variant=minbase --include="$2" bookworm "$root" "$MIRROR" >"$WORK/debootstrap-$1.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap-$1.log" >&2; exit 1; }
    rm -rf "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/locale/* "$root"/var/lib/apt/lists/* \
           "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
    tar -C "$root" -c . | podman import --quiet - "$image" >/dev/null
    echo "$image"
}

app() {  # app NAME BASE SCRIPT PORT
    mkdir -p "$WORK/app-$1"
    cp "$ROOT/examples/digits/$3" "$WORK/app-$1/"
    [ "$1" = frontend ] && cp "$ROOT/examples/digits/upload-image.html" "$WORK/app-$1/"
    cat >"$WORK/app-$1/Containerfile" <<CONTAINERFILE
FROM $2
COPY . /app/
ENV PATH=/usr/local/bin:/usr/bin:/bin PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
LABEL org.opencontainers.image.title="digits-$1" org.opencontainers.image.version="$VERSION"
USER 10002:10002
WORKDIR /app
EXPOSE $4
ENTRYPOINT ["python3", "/app/$3"]
CONTAINERFILE
    podman build --quiet -t "localhost/digits-$1:$VERSION" "$WORK/app-$1" >/dev/null
    echo "localhost/digits-$1:$VERSION"
}

frontend_base=$(base python python3)
backend_base=$(base sklearn python3,python3-sklearn)
app frontend "$frontend_base" frontend.py 8080
app backend "$backend_base" backend.py 9090
