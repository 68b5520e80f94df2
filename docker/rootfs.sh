#!/usr/bin/env bash
# rootfs.sh BINARY DIR: lays out what the image holds, in DIR/rootfs: the agent
# (stripped) at /usr/bin/fedagent; when it is not fully static (see
# scripts/build-release.sh), the C runtime it links dynamically (glibc's
# loader, libc, libm, libstdc++, libgcc_s), at the paths the loader finds
# them; a passwd and group naming the non-root user 10001, an nsswitch.conf
# (hosts from /etc/hosts, then DNS: both built into glibc 2.36); and
# DIR/data, the empty /data for -data-dir (apart, because COPY gives
# everything to root and only a COPY of its own can give /data to the
# agent's user). Nothing else: no shell, no package manager.
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: $0 BINARY DIR" >&2; exit 2; }
BIN=$1 OUT=$2/rootfs
rm -rf "$2"
mkdir -p "$OUT/usr/bin" "$OUT/etc" "$OUT/tmp" "$2/data"
cp "$BIN" "$OUT/usr/bin/fedagent"
strip "$OUT/usr/bin/fedagent"
# A dynamic binary: every library the loader resolves, at the path it
# resolved it to, and the loader itself (a static one has no interpreter).
if readelf -lW "$BIN" | grep -q "Requesting program interpreter"; then
    ldd "$BIN" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}' | while read -r lib; do
        mkdir -p "$OUT$(dirname "$lib")"
        cp -L "$lib" "$OUT$lib"
    done
    if ldd "$BIN" | grep -q "not found"; then echo "rootfs.sh: a library of $BIN is missing" >&2; exit 1; fi
fi
printf 'root:x:0:0:root:/:/usr/sbin/nologin\nfedagent:x:10001:10001:fedagent:/data:/usr/sbin/nologin\n' >"$OUT/etc/passwd"
printf 'root:x:0:\nfedagent:x:10001:\n' >"$OUT/etc/group"
printf 'hosts: files dns\n' >"$OUT/etc/nsswitch.conf"
chmod 1777 "$OUT/tmp"
