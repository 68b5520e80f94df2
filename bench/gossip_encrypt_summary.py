#!/usr/bin/env python3
"""What gossip encryption costs, fedagent against Serf, from one run.

Usage: bench/gossip_encrypt_summary.py SERF.json SERF_ENC.json FED.json FED_ENC.json

For each cluster size: convergence, detection (median), bytes per agent per
second, CPU seconds per agent per minute and RSS (median) of the four runs;
then the cost of encryption for each (encrypted / plaintext, for CPU and
bytes), and the encrypted runs side by side (fedagent / Serf). The issue's
goal: fedagent's cost ratios no higher than Serf's, and every encrypted
fedagent figure below encrypted Serf's (ratio < 1).
"""
import json
import sys


def load(path):
    with open(path) as f:
        return {r["nodes"]: r for r in json.load(f)["runs"]}


def figures(r):
    st = r.get("steady", {})
    return {
        "converge_s": r.get("converge_s"),
        "detect_s": r.get("detect", {}).get("median"),
        "bytes_s": st.get("net", {}).get("bytes_per_s_per_agent"),
        "cpu_s_min": st.get("cpu_s_per_min_per_agent", {}).get("mean"),
        "rss_mib": st.get("rss_mib", {}).get("median"),
    }


def ratio(a, b):
    return None if a is None or not b else a / b


def fmt(x, nd=3):
    return "-" if x is None else f"{x:.{nd}f}"


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    serf, serf_enc, fed, fed_enc = (load(p) for p in sys.argv[1:])
    keys = ["converge_s", "detect_s", "bytes_s", "cpu_s_min", "rss_mib"]
    print("\n== gossip encryption: fedagent vs Serf (one run)")
    for n in sorted(set(serf) & set(serf_enc) & set(fed) & set(fed_enc)):
        rows = {name: figures(d[n]) for name, d in
                [("serf", serf), ("serf -encrypt", serf_enc), ("fedagent", fed), ("fedagent -encrypt", fed_enc)]}
        print(f"\nN = {n}")
        print("  " + "".ljust(18) + "".join(k.rjust(12) for k in keys))
        for name, f in rows.items():
            print("  " + name.ljust(18) + "".join(fmt(f[k]).rjust(12) for k in keys))
        for label, plain, enc in [("serf", "serf", "serf -encrypt"), ("fedagent", "fedagent", "fedagent -encrypt")]:
            cpu = ratio(rows[enc]["cpu_s_min"], rows[plain]["cpu_s_min"])
            net = ratio(rows[enc]["bytes_s"], rows[plain]["bytes_s"])
            print(f"  cost of encryption, {label}: CPU x{fmt(cpu, 2)}, bytes x{fmt(net, 2)}")
        side = {k: ratio(rows["fedagent -encrypt"][k], rows["serf -encrypt"][k]) for k in keys}
        print("  encrypted fedagent / encrypted Serf: " + ", ".join(f"{k} {fmt(v, 2)}x" for k, v in side.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
