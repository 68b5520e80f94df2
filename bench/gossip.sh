#!/usr/bin/env bash
# Gossip benchmark, fedagent vs Serf, in one run (see ../shared/bench/README.md
# and the docstring of ../shared/bench/gossip_bench.py for the method).
#
#   bench/gossip.sh [gossip_bench.py options...]    e.g. --repeat 3 --settle 30 --window 180
#   bench/gossip.sh --help                          this text, then gossip_bench.py's options
#   bench/gossip.sh --dry-run [options...]          print the commands, run nothing
#
# Environment:
#   NODES=8,32,64      cluster sizes (comma list)
#   IMPLS=serf,fedagent which implementations to run, in this order; add
#                      serf-encrypt and fedagent-encrypt for the same run with
#                      gossip encryption (one 32-byte key, AES-256-GCM, for both);
#                      with all four the run ends with bench/gossip_encrypt_summary.py;
#                      fedagent-nocoord runs with disable_coordinates, for what
#                      network coordinates cost (compare B/s/agent with fedagent)
#   FEDAGENT_BIN=PATH  use this binary instead of building the release one
#   BENCH_DIR=PATH     where gossip_bench.py lives (default: ../shared/bench beside the repo)
#
# Builds the release binary users ship (scripts/build-release.sh: fully static when the toolchain
# can), installs `serf nftables` with apt when missing (as root), runs each
# implementation, saves the JSON under bench/results/ with a date stamp, and
# prints the side-by-side report. Agents use 127.0.1.x and the default ports:
# nothing else may listen there during the run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

NODES="${NODES:-8,32,64}"
IMPLS="${IMPLS:-serf,fedagent}"
BENCH_DIR="${BENCH_DIR:-$ROOT/../shared/bench}"
if [ -d "$BENCH_DIR" ]; then BENCH_DIR="$(cd "$BENCH_DIR" && pwd)"; fi
APT_PACKAGES="serf nftables"

DRY_RUN=0
if [ "${1:-}" = "--dry-run" ]; then
    DRY_RUN=1
    shift
fi

run() {
    echo "+ $*" >&2
    if [ "$DRY_RUN" = 0 ]; then "$@"; fi
}

if [ ! -f "$BENCH_DIR/gossip_bench.py" ]; then
    echo "gossip.sh: $BENCH_DIR/gossip_bench.py not found (set BENCH_DIR)" >&2
    exit 1
fi

case "${1:-}" in
    -h|--help)
        sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//'
        echo
        echo "gossip_bench.py options:"
        python3 "$BENCH_DIR/gossip_bench.py" --help
        exit 0
        ;;
esac

# The bench folder may be read-only: run a private copy then.
if [ ! -w "$BENCH_DIR" ]; then
    copy="$(mktemp -d /tmp/fedagent-bench-XXXXXX)"
    cp -r "$BENCH_DIR/." "$copy/"
    BENCH_DIR="$copy"
    echo "== bench folder not writable, using a copy in $BENCH_DIR"
fi
BENCH="$BENCH_DIR/gossip_bench.py"

install_packages() {
    local missing=() pkg
    for pkg in $APT_PACKAGES; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "gossip.sh: missing packages (${missing[*]}); install them as root" >&2
        return 1
    fi
    export DEBIAN_FRONTEND=noninteractive
    run apt-get update -q
    run apt-get install -y -q --no-install-recommends "${missing[@]}"
}
if command -v dpkg-query >/dev/null 2>&1; then install_packages; fi

# The release binary.
if [ -n "${FEDAGENT_BIN:-}" ]; then
    BIN="$FEDAGENT_BIN"
elif [[ ",$IMPLS," == *",fedagent"* ]]; then
    # The binary users ship: clean, fully static (scripts/build-release.sh).
    SCRATCH="$ROOT/.build-bench"
    echo "== scripts/build-release.sh $SCRATCH"
    run "$ROOT/scripts/build-release.sh" "$SCRATCH" >/dev/null
    BIN="$SCRATCH/release/fedagent"
fi

# One key for both encrypted runs (Serf and fedagent both take base64 of 32 bytes).
KEY="$(head -c 32 /dev/urandom | base64)"
SERF_CMD="{bin} agent -node n{i} -bind {ip}:7946 -rpc-addr {ip}:7373 -profile lan -log-level info -join {seed}"
FED_CMD="{bin} agent -node n{i} -bind {ip} -client {ip} -data-dir {tmp}/n{i} -retry-join {seed}"

STAMP="$(date +%Y%m%d-%H%M%S)"
RESULTS="$ROOT/bench/results"
if [ "$DRY_RUN" = 0 ]; then mkdir -p "$RESULTS"; fi
outputs=()
IFS=',' read -r -a impls <<< "$IMPLS"
for impl in "${impls[@]}"; do
    out="$RESULTS/gossip-$impl-$STAMP.json"
    case "$impl" in
        serf) run python3 "$BENCH" --impl serf --nodes "$NODES" --out "$out" "$@" ;;
        fedagent) run python3 "$BENCH" --impl fedagent --bin "$BIN" --nodes "$NODES" --out "$out" "$@" ;;
        serf-encrypt) run python3 "$BENCH" --impl serf --nodes "$NODES" --out "$out" --agent-cmd "$SERF_CMD -encrypt $KEY" "$@" ;;
        fedagent-encrypt) run python3 "$BENCH" --impl fedagent --bin "$BIN" --nodes "$NODES" --out "$out" --agent-cmd "$FED_CMD -encrypt $KEY" "$@" ;;
        fedagent-nocoord)
            nocoord="$(mktemp /tmp/fedagent-nocoord-XXXXXX.json)"
            echo '{"disable_coordinates": true}' > "$nocoord"
            run python3 "$BENCH" --impl fedagent --bin "$BIN" --nodes "$NODES" --out "$out" --agent-cmd "$FED_CMD -config-file $nocoord" "$@"
            rm -f "$nocoord" ;;
        *) echo "gossip.sh: unknown implementation '$impl' in IMPLS" >&2; exit 1 ;;
    esac
    outputs+=("$out")
done

echo "== report"
if [ "$DRY_RUN" = 0 ]; then
    python3 "$BENCH" --report "${outputs[@]}" | tee "$RESULTS/gossip-report-$STAMP.txt"
    if [[ ",$IMPLS," == *",serf-encrypt,"* && ",$IMPLS," == *",fedagent-encrypt,"* ]]; then
        python3 "$ROOT/bench/gossip_encrypt_summary.py" "$RESULTS"/gossip-{serf,serf-encrypt,fedagent,fedagent-encrypt}-"$STAMP".json \
            | tee -a "$RESULTS/gossip-report-$STAMP.txt"
    fi
    echo "== saved: ${outputs[*]} $RESULTS/gossip-report-$STAMP.txt"
else
    echo "+ python3 $BENCH --report ${outputs[*]}" >&2
fi
