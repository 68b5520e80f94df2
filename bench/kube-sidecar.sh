#!/usr/bin/env bash
# bench/kube-sidecar.sh: the figures of fedagent in pods (root, podman).
#
# Builds the image (docker/build.sh: the fully static binary users ship),
# plays both overlays with the pod lab (scripts/kube-demo.sh up, which prints
# the time from `kube play` to every pod ready), then measures the frontend
# pod's fedagent sidecar: its memory idle, and while the shared harness's HTTP
# and DNS loads (../shared/bench/http_bench.sh, dns_bench.sh) run against it
# from inside the pod's network namespace (127.0.0.1:8500 and :53, the
# addresses its app uses). Memory twice: `podman stats` (the container's
# cgroup: what a memory limit counts) and the agent's VmRSS; under load, the
# highest of one sample a second. The lab is removed at the end, also on
# failure. Log in bench/results/kube-sidecar-<stamp>.log.
#
# REUSE_BUILD=1 reuses docker/build.sh's last binary. Environment: SECONDS_PER_LOAD (default 20), IDLE_SECONDS (default 30, after
# every pod is ready, before the idle samples), KUBE_LAB_SUBNET (default 10.214),
# BENCH_DIR (default ../shared/bench beside the repository).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
. "$ROOT/bench/common.sh"
[ "$(id -u)" = 0 ] || { echo "kube-sidecar.sh: run as root" >&2; exit 1; }
SECS=${SECONDS_PER_LOAD:-20}
IDLE=${IDLE_SECONDS:-30}
export CONTAINERS_CONF="${CONTAINERS_CONF:-$ROOT/docker/containers.conf}"
export KUBE_LAB_DIR=/tmp/fedagent-kube-bench KUBE_LAB_TAG=fkb KUBE_LAB_SUBNET=${KUBE_LAB_SUBNET:-10.214}
STAMP=$(date -u +%Y%m%dT%H%M%SZ)
LOG="$ROOT/bench/results/kube-sidecar-$STAMP.log"
mkdir -p "$ROOT/bench/results"
exec > >(tee "$LOG") 2>&1

bench_packages wrk dnsperf curl
bench_shared_work kube-sidecar
demo() { "$ROOT/scripts/kube-demo.sh" "$@"; }
trap 'demo down >/dev/null 2>&1 || true; bench_shared_cleanup' EXIT

IMAGE=$("$ROOT/docker/build.sh" | tail -n 1)
echo "image $IMAGE: $(podman image inspect "$IMAGE" --format '{{.Size}}') bytes uncompressed"
FEDAGENT_IMAGE=$IMAGE demo up

# The frontend pod's sidecar: its container, and the agent's host PID.
POD=$(demo info | python3 -c 'import json,sys; print(next(v["podman_name"] for k,v in sorted(json.load(sys.stdin).items()) if k.startswith("eks/digits-frontend-")))')
SIDECAR=$POD-fedagent
PID=$(podman inspect --format '{{.State.Pid}}' "$SIDECAR")
echo "sidecar $SIDECAR, agent pid $PID; waiting ${IDLE} s"
sleep "$IDLE"

cgroup_mib() { podman stats --no-stream --no-reset --format '{{.MemUsage}}' "$SIDECAR" | awk '{print $1}'; }
rss_mib() { awk '/^VmRSS:/ {printf "%.1f\n", $2 / 1024}' "/proc/$PID/status"; }
report() { echo "RESULT phase=$1 podman_stats=$2 vmrss_mib=$3"; }

report idle "$(cgroup_mib)" "$(rss_mib)"
# Every agent of the lab, idle (servers and sidecars): podman stats per container.
podman stats --no-stream --no-reset --format '{{.Name}} {{.MemUsage}}' | awk '$1 ~ /-fedagent$/ {print "idle", $1, $2}'

# under LABEL CMD...: runs CMD in the pod's network namespace, sampling memory
# every second; reports the highest sample.
under() {
    local label=$1; shift
    nsenter -n -t "$PID" "$@" &
    local load=$! peak_rss=0 peak_cg="" rss cg
    while kill -0 "$load" 2>/dev/null; do
        rss=$(rss_mib); cg=$(cgroup_mib)
        if awk -v a="$rss" -v b="$peak_rss" 'BEGIN {exit !(a > b)}'; then peak_rss=$rss; peak_cg=$cg; fi
        sleep 1
    done
    wait "$load"
    report "$label" "$peak_cg" "$peak_rss"
}

under http env LAT_SECONDS=0 "$WORK/http_bench.sh" "http://127.0.0.1:8500/v1/catalog/service/frontend" "$SECS"
# The frontend's names and a miss. (In the run of 2026-12-07 every answer
# was NXDOMAIN: the frontend was not passing; a mix with node names stopped
# dns_bench.sh without a word and is left for later.)
printf 'frontend.service.consul A\nfrontend.service.consul SRV\n_frontend._tcp.service.consul SRV\nnothere.service.consul A\n' >"$WORK/sidecar-queries.txt"
under dns env LAT_SECONDS=0 QUERIES="$WORK/sidecar-queries.txt" "$WORK/dns_bench.sh" 127.0.0.1 53 "$SECS"
report after "$(cgroup_mib)" "$(rss_mib)"
echo "log: $LOG"
