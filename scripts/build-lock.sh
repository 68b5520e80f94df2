# Sourced by scripts that build or run suites under the shared build lock
# ($LOCK, a file for flock): two cores do not take two builds at once.

# Whether an ancestor is `flock ... $LOCK` (a `flock LOCK swift test` that
# runs the script, or the script run under the lock): taking the lock
# again would wait for ourselves.
lock_held_above() {
    local pid=$PPID cmd
    while [ "${pid:-0}" -gt 1 ]; do
        cmd="$(tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null || true)"
        case "$cmd" in flock*"$LOCK"*) return 0 ;; esac
        pid="$(awk '/^PPid:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)"
    done
    return 1
}
