#!/usr/bin/env bash
# Coverage-guided fuzzing (libFuzzer) of the decoders that read untrusted
# bytes: one target per Fuzz/<Name>.swift, seeded from Fuzz/corpus/<Name>/
# and the kept findings in Fuzz/findings/<Name>/.
#
#   scripts/fuzz.sh [-seconds N] [TARGET...]   build, then fuzz each target (all by default) for N s (default 60)
#   scripts/fuzz.sh -keep-going ...            fuzz on after a crash (libFuzzer's fork mode), keeping each
#   scripts/fuzz.sh -no-build ...              use the targets as last built (no build, no lock)
#   scripts/fuzz.sh -build                     build only
#   scripts/fuzz.sh -list                      the target names
#   scripts/fuzz.sh -run TARGET FILE...        run one target on saved inputs (a crash, to reproduce it)
#   scripts/fuzz.sh -write-seeds [TARGET...]   regenerate Fuzz/corpus/<Name>/ from the targets' fuzzSeeds()
#
# A run prints exactly one line per target on stdout, `NAME execs=E
# crashes=C`, and exits 1 if any target crashed: a trap (a failed
# precondition or property of the target), an ASan report, a leak, a hang
# longer than -timeout (10 s), more than -rss_limit_mb (2048) or one
# allocation over -malloc_limit_mb (512). A target stops at its first
# crash unless -keep-going; C counts the crashing inputs, kept in
# .build-fuzz/crashes/<Name>/ (crash-, leak-, timeout- or oom-<sha1>) with
# the run's log beside it (both named on stderr). Exit 2: the build failed
# or a target is unknown.
#
# Each target runs in .build-fuzz/work/<Name>/ on a fresh copy of its
# corpus (the grown corpus stays there until the next run). The library
# modules are built by SwiftPM, instrumented (-sanitize=fuzzer,address)
# and with -enable-testing, so a target can `@testable import` a module and
# reach its internal decoders; swiftc links each target (Fuzz/<Name>.swift
# with Fuzz/Support*.swift) against the modules' objects. Builds take the
# shared build lock (FEDAGENT_BUILD_LOCK, default /tmp/fedagent-build.lock;
# empty: none), unless an ancestor process already holds it (a `flock LOCK
# swift test` running the suite's fuzz test). FUZZ_BUILD_DIR moves
# .build-fuzz. Leak reports of the targets' own fixtures are suppressed
# in Fuzz/lsan.supp (see there why).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${FUZZ_BUILD_DIR:-$ROOT/.build-fuzz}"
LOCK="${FEDAGENT_BUILD_LOCK-/tmp/fedagent-build.lock}"
MODULES="CSystem Primitives Sockets Crypto JSON Filter MembershipCore Membership CatalogCore RaftCore KVCore Agent HTTPAPI DNSServer"
SWIFT_FLAGS=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing)

seconds=60
mode=fuzz
keep_going=0
no_build=0
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        -seconds|--seconds) seconds="${2:?-seconds needs a number}"; shift 2 ;;
        -seconds=*|--seconds=*) seconds="${1#*=}"; shift ;;
        -keep-going) keep_going=1; shift ;;
        -no-build) no_build=1; shift ;;
        -build) mode=build; shift ;;
        -list) mode=list; shift ;;
        -run) mode=run; shift; break ;;
        -write-seeds) mode=seeds; shift ;;
        -h|-help|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        -*) echo "fuzz.sh: unknown option $1 (see -help)" >&2; exit 2 ;;
        *) targets+=("$1"); shift ;;
    esac
done
case "$seconds" in ''|*[!0-9]*) echo "fuzz.sh: -seconds takes a whole number" >&2; exit 2 ;; esac

all_targets() {
    local f
    for f in "$ROOT"/Fuzz/*.swift; do
        f="$(basename "$f" .swift)"
        case "$f" in Support*) ;; *) echo "$f" ;; esac
    done
}

if [ "$mode" = list ]; then all_targets; exit 0; fi
if [ "$mode" = run ]; then
    [ $# -ge 2 ] || { echo "fuzz.sh: -run TARGET FILE..." >&2; exit 2; }
    targets=("$1"); shift
fi
[ ${#targets[@]} -gt 0 ] || mapfile -t targets < <(all_targets)
for t in "${targets[@]}"; do
    [ -f "$ROOT/Fuzz/$t.swift" ] && [ "${t#Support}" = "$t" ] || { echo "fuzz.sh: no target $t (see -list)" >&2; exit 2; }
done

# lock_held_above: whether an ancestor already holds $LOCK.
source "$ROOT/scripts/build-lock.sh"
# The whole build holds the lock once (not once per command, which would
# queue behind every other build in between); the commands it runs get
# the lock's descriptor closed, so nothing they leave behind keeps it.
lock_build() {
    if [ -n "$LOCK" ] && ! lock_held_above; then
        exec 9>>"$LOCK"
        flock 9
    fi
}
unlock_build() {
    if [ -n "$LOCK" ] && { true >&9; } 2>/dev/null; then
        flock -u 9
        exec 9>&-
    fi
}

build() {
    local log="$BUILD/build.log" m t bin objects=() includes=()
    mkdir -p "$BUILD/bin"
    : > "$log"
    # Every library module (not the executables: libFuzzer brings main):
    # the two at the top of the dependency graph, and the cores beside them.
    for m in HTTPAPI DNSServer RaftCore KVCore; do
        if ! (cd "$ROOT" && swift build --build-path "$BUILD" -c debug --target "$m" "${SWIFT_FLAGS[@]}") >> "$log" 2>&1 9>&-; then
            tail -40 "$log" >&2
            echo "fuzz.sh: building the instrumented modules failed (log: $log)" >&2
            exit 2
        fi
    done
    for m in $MODULES; do objects+=("$BUILD"/debug/"$m".build/*.o); done
    includes=(-I "$BUILD/debug/Modules"
              -Xcc -fmodule-map-file="$BUILD/debug/CSystem.build/module.modulemap" -Xcc -I"$ROOT/Sources/CSystem/include"
              -Xcc -fmodule-map-file="$ROOT/Sources/COpenSSL/module.modulemap")
    for t in "${targets[@]}"; do
        bin="$BUILD/bin/$t"
        # Relinked when its sources or any module object changed.
        if [ -x "$bin" ] && [ -z "$(find "$ROOT/Fuzz/$t.swift" "$ROOT"/Fuzz/Support*.swift "${objects[@]}" -newer "$bin" 2>/dev/null | head -1)" ]; then
            continue
        fi
        if ! swiftc -sanitize=fuzzer,address -parse-as-library -g -Onone -warnings-as-errors -swift-version 6 \
                -module-name "Fuzz$t" "${includes[@]}" -use-ld=lld \
                "$ROOT/Fuzz/$t.swift" "$ROOT"/Fuzz/Support*.swift "${objects[@]}" \
                -Xlinker -l:libssl.a -Xlinker -l:libcrypto.a -o "$bin.tmp" >> "$log" 2>&1 9>&-; then
            tail -40 "$log" >&2
            echo "fuzz.sh: building target $t failed (log: $log)" >&2
            exit 2
        fi
        mv "$bin.tmp" "$bin"
    done
}

if [ "$no_build" = 1 ]; then
    for t in "${targets[@]}"; do
        [ -x "$BUILD/bin/$t" ] || { echo "fuzz.sh: -no-build, but $BUILD/bin/$t is not built" >&2; exit 2; }
    done
else
    lock_build
    build
    unlock_build
fi
[ "$mode" = build ] && exit 0

# Swift's own backtracer would fork a helper at a trap that outlives the
# target (holding its output open); libFuzzer's handler prints the stack.
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=0}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$ROOT/Fuzz/lsan.supp:print_suppressions=0}"
command -v llvm-symbolizer >/dev/null && export ASAN_SYMBOLIZER_PATH="$(command -v llvm-symbolizer)"

if [ "$mode" = run ]; then
    exec "$BUILD/bin/${targets[0]}" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512 "$@"
fi

if [ "$mode" = seeds ]; then
    for t in "${targets[@]}"; do
        rm -rf "$ROOT/Fuzz/corpus/$t"
        mkdir -p "$ROOT/Fuzz/corpus/$t"
        FUZZ_WRITE_SEEDS="$ROOT/Fuzz/corpus/$t" "$BUILD/bin/$t"
        echo "$t $(ls "$ROOT/Fuzz/corpus/$t" | wc -l) seeds"
    done
    exit 0
fi

# libFuzzer's flags: hangs, memory, crashes. -keep-going: fork mode, which
# goes on after a crash (each one kept), for the long runs.
flags=(-timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=512)
[ "$keep_going" = 1 ] && flags+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)

status=0
for t in "${targets[@]}"; do
    work="$BUILD/work/$t"
    crashes="$BUILD/crashes/$t"
    rm -rf "$work"
    mkdir -p "$work/corpus" "$work/artifacts" "$crashes"
    for d in "$ROOT/Fuzz/corpus/$t" "$ROOT/Fuzz/findings/$t"; do
        [ -d "$d" ] && cp -r "$d"/. "$work/corpus/"
    done
    rc=0
    (cd "$work" && "$BUILD/bin/$t" "${flags[@]}" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$work/artifacts/" corpus > "$work/fuzz.log" 2>&1) || rc=$?
    found="$(find "$work/artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)"
    # A non-zero exit without an artifact (the target could not start) counts too.
    [ "$rc" -ne 0 ] && [ "$found" -eq 0 ] && found=1
    # The final stats, or (fork mode, a crash) the last status line.
    execs="$(awk '/^stat::number_of_executed_units:/ { n = $2 } END { print n }' "$work/fuzz.log")"
    [ -n "$execs" ] || execs="$(grep -o -E '^#[0-9]+' "$work/fuzz.log" | tail -1 | tr -d '#')"
    echo "$t execs=${execs:-0} crashes=$found"
    if [ "$found" -gt 0 ]; then
        status=1
        stamp="$(date -u +%Y%m%dT%H%M%SZ)"
        cp "$work"/artifacts/* "$crashes/" 2>/dev/null || true
        cp "$work/fuzz.log" "$crashes/fuzz-$stamp.log"
        echo "fuzz.sh: $t: $found crashing input(s) in $crashes/, log $crashes/fuzz-$stamp.log" >&2
        grep -m3 -E 'ERROR: |Fatal error|fuzz property failed|deadly signal' "$work/fuzz.log" | cut -c1-400 >&2 || true
    fi
done
exit $status
