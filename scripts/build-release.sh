#!/usr/bin/env bash
# scripts/build-release.sh SCRATCH: builds the binary users ship, clean, in
# SCRATCH (incremental release builds have kept stale cross-module inlined
# code), and prints its path. Fully static: the Swift runtime, OpenSSL and
# glibc linked in (`-static-executable`), no loader and no shared library, so
# a scratch image holds the binary alone and the pages the loader, libc.so
# and libstdc++.so would map (about 3.5 MiB resident per agent) are gone.
# Linked with the toolchain's lld: GNU ld prints glibc's notes that
# getaddrinfo and dlopen in a static program need glibc's NSS modules at run
# time; glibc 2.34+ has `files` and `dns` built in, which is all the image's
# nsswitch.conf names (on a host naming other modules, e.g. mdns, those
# are loaded from the host's glibc, which must then be the one linked: 2.36).
# Falls back to --static-swift-stdlib (C runtime dynamic) when the toolchain
# cannot link statically, and says so.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 SCRATCH" >&2; exit 2; }
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SCRATCH=$1
rm -rf "$SCRATCH"
cd "$ROOT"
if ! swift build -c release -Xswiftc -static-executable -Xswiftc -use-ld=lld \
        --scratch-path "$SCRATCH" --product fedagent >&2; then
    echo "build-release.sh: no fully static link with this toolchain; the C runtime stays dynamic" >&2
    rm -rf "$SCRATCH"
    swift build -c release --static-swift-stdlib --scratch-path "$SCRATCH" --product fedagent >&2
fi
echo "$SCRATCH/release/fedagent"
