#!/usr/bin/env bash
# scripts/kube-demo.sh [COMMAND ARGS...]: the seed's deployment in real pods
# on this machine (root, podman). Builds the images (docker/build.sh,
# docker/digits/build.sh), renders deploy/kubernetes/overlays/eks (dc1) and
# overlays/aks (dc2) with `kubectl kustomize`, and plays them with
# `podman kube play` as two clusters: a network each as its pod network and
# a third, on which only the server (gateway) pods sit, as the path between
# the clouds' load balancers. scripts/kubelab/convert.py says what the lab
# does that Kubernetes' controllers and kubelet would (StatefulSet and
# Deployment pods, Service names, Secrets); the manifests are not edited.
#
# With no COMMAND: up, verify (`fedagent members -wan` in a server pod lists
# all six servers alive; getaddrinfo of backend.service.dc2.consul in the
# frontend's container; headless Chromium on the frontend's page gets
# predictions from dc2's backend), then down, also on failure.
# COMMANDs (for the tests): up | verify | recreate CLUSTER/POD... |
# delete CLUSTER/POD | exec CLUSTER/POD CONTAINER CMD... | info | down.
#
# Environment: KUBE_LAB_DIR (default /tmp/fedagent-kube-lab), KUBE_LAB_TAG
# (prefix of pod and network names, default fkl), KUBE_LAB_SUBNET (the
# networks are PREFIX.1-3.0/24, default 10.213), FEDAGENT_IMAGE (an image
# already built; default: docker/build.sh builds localhost/fedagent:<v>).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
[ "$(id -u)" = 0 ] || { echo "kube-demo.sh: run as root (podman, network namespaces)" >&2; exit 1; }
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/docker/containers.conf}"
LAB_DIR=${KUBE_LAB_DIR:-/tmp/fedagent-kube-lab}
TAG=${KUBE_LAB_TAG:-fkl}
SUBNET=${KUBE_LAB_SUBNET:-10.213}
lab() { (cd "$ROOT/scripts" && python3 -m kubelab "$LAB_DIR" "$@"); }

ensure_tools() {
    local missing=() tool
    for tool in podman:podman runc:runc catatonit:catatonit iptables:iptables netavark:netavark \
                aardvark-dns:aardvark-dns debootstrap:debootstrap nsenter:util-linux chromium:chromium; do
        command -v "${tool%%:*}" >/dev/null || [ -x "/usr/lib/podman/${tool%%:*}" ] || missing+=("${tool#*:}")
    done
    python3 -c 'import yaml' 2>/dev/null || missing+=(python3-yaml)
    if [ ${#missing[@]} -gt 0 ]; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
    command -v kubectl >/dev/null || { echo "kube-demo.sh: kubectl (with kustomize) is needed to render the overlays" >&2; exit 1; }
}

up() {
    ensure_tools
    local image=${FEDAGENT_IMAGE:-}
    [ -n "$image" ] || image=$("$ROOT/docker/build.sh" | tail -n 1)
    "$ROOT/docker/digits/build.sh" >/dev/null
    # The Secrets are made with the image's own binary (keygen, tls).
    mkdir -p "$LAB_DIR"
    local helper
    helper=$(podman create "$image" version)
    podman cp "$helper:/usr/bin/fedagent" "$LAB_DIR/fedagent" >/dev/null
    podman rm "$helper" >/dev/null
    lab up "$TAG" "$SUBNET" "$image" "$LAB_DIR/fedagent"
}

case "${1:-all}" in
    all)
        trap 'lab down' EXIT
        up
        lab verify
        echo
        echo "The seed's deployment works in pods: dc1's frontend used dc2's backend through the gateways."
        ;;
    up) up ;;
    *) lab "$@" ;;
esac
