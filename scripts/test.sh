#!/usr/bin/env bash
# The project's test command: installs what the tests need (idempotent),
# builds the debug binary and runs the whole test suite. Works from any cwd.
#
#   scripts/test.sh [extra `swift test` arguments, e.g. --filter IntegrationTests]
#
# Environment: SKIP_INSTALL=1 skips the package step; FEDAGENT_BIN points the
# integration tests at another binary (default: the one `swift build` makes).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Debian packages the build and the tests use: libssl-dev (libcrypto, linked
# statically for gossip encryption and TLS), openssl and sslscan (check
# certificates and TLS), podman with runc, catatonit and iptables (the
# image), netavark and aardvark-dns (the pod lab's networks and names: with
# --no-install-recommends podman would get CNI), debootstrap (the example
# workload's images), python3-yaml (the pod lab's converter), dig (bind9-dnsutils) for the DNS tests,
# curl inside the network namespaces, and for the federation demo's workload
# Chromium (headless) and scikit-learn (the digit classifier); nftables (the
# loss tests drop gossip at random inside a namespace); prometheus
# (promtool lints /v1/agent/metrics, and a real Prometheus scrapes it).
APT_PACKAGES="libssl-dev openssl sslscan podman runc catatonit iptables nftables netavark aardvark-dns debootstrap python3-yaml iproute2 procps bind9-dnsutils curl chromium python3-sklearn prometheus"
# Python packages from PyPI the tests use, installed with pip: a Consul
# client library, and the Kubernetes schema validator and IaC scanner the
# manifest tests run.
PIP_PACKAGES="py-consul kubernetes-validate checkov"

install_packages() {
    local missing=()
    local pkg
    for pkg in $APT_PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "test.sh: missing packages (${missing[*]}) and not root: install them first" >&2
        return 1
    fi
    echo "== installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

# python-hcl2 (the Terraform tests' parser) goes apart, in .build-tools/:
# installed beside checkov it would replace the HCL module checkov needs.
install_hcl_parser() {
    local target=.build-tools/python-hcl2
    [ -d "$target/hcl2" ] && return 0
    echo "== pip installing python-hcl2 into $target"
    python3 -m pip install -q --target "$target" python-hcl2
}

install_pip_packages() {
    local missing=()
    local pkg
    for pkg in $PIP_PACKAGES; do
        if ! python3 -m pip show -q "$pkg" >/dev/null 2>&1; then
            missing+=("$pkg")
        fi
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "== pip installing: ${missing[*]}"
        python3 -m pip install -q "${missing[@]}"
    fi
}

echo "== swift version"
swift --version

if [ "${SKIP_INSTALL:-0}" != "1" ]; then
    if command -v dpkg-query >/dev/null 2>&1; then
        install_packages
    else
        echo "test.sh: not a Debian system, skipping package install" >&2
    fi
    install_pip_packages
    install_hcl_parser
fi

echo "== swift build"
swift build

echo "== swift test"
swift test "$@"
echo "== all tests passed"
