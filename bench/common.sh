# Shared by the bench scripts (sourced): packages and the benchmarked binary.

# bench_packages PKG...: installs the Debian packages that are missing (root).
bench_packages() {
    local missing=() pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] || { apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"; }
}

# bench_binary ROOT: builds the binary users ship (scripts/build-release.sh:
# clean, fully static) in ROOT/.build-bench unless REUSE_BUILD=1 and one is
# there; prints its path.
bench_binary() {
    local scratch="$1/.build-bench"
    if [ "${REUSE_BUILD:-0}" != 1 ] || [ ! -x "$scratch/release/fedagent" ]; then
        "$1/scripts/build-release.sh" "$scratch" >/dev/null
    fi
    echo "$scratch/release/fedagent"
}

# bench_shared_work NAME: copies the shared harness (../shared/bench, or
# BENCH_DIR) into a fresh $WORK and, on exit, stops $agent_pid (when set)
# and the anchors, and removes $WORK. Sets WORK and agent_pid.
bench_shared_work() {
    local shared="${BENCH_DIR:-$ROOT/../shared/bench}"
    WORK="$(mktemp -d "/tmp/fedagent-$1-XXXXXX")"
    cp -r "$shared/." "$WORK/"
    chmod -R u+w,a+rX "$WORK"  # nginx workers run as www-data
    agent_pid=""
    trap 'bench_shared_cleanup' EXIT
}
bench_shared_cleanup() {
    [ -n "$agent_pid" ] && kill "$agent_pid" 2>/dev/null || true
    "$WORK/anchor_down.sh" all >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
