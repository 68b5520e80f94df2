#!/usr/bin/env python3
"""Medians of a bench/gateway.sh log: throughput and request latency per
path, and the latency each relayed path adds over the direct one (per
round, path minus direct, then the median), with fedagent/HAProxy ratios.

    bench/gateway_summary.py bench/results/gateway-<time>.log
"""
import os
import re
import statistics
import sys
from collections import defaultdict


def microseconds(text):
    value, unit = re.fullmatch(r"([0-9.]+)(us|ms|s)", text).groups()
    return float(value) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]


def main(path):
    rounds = defaultdict(dict)  # round -> {(kind, label): fields}
    current = 0
    for line in open(path):
        if line.startswith("## round"):
            current = int(line.split()[2])
        elif line.startswith("RESULT"):
            fields = dict(part.split("=", 1) for part in line.split()[1:])
            rounds[current][(fields["kind"], fields["label"])] = fields
    if not rounds:
        sys.exit(f"no RESULT lines in {path}")

    def series(kind, label, key, minus_direct=False):
        values = []
        for results in rounds.values():
            if (kind, label) not in results:
                continue
            value = results[(kind, label)][key]
            value = microseconds(value) if kind == "latency" else float(value)
            if minus_direct:
                value -= microseconds(results[(kind, "direct")][key])
            values.append(value)
        return values

    print(f"# medians of {len(rounds)} rounds ({os.path.basename(path)})")
    for label in ("direct", "haproxy", "fedagent"):
        gbit = series("throughput", label, "gbit_per_s")
        p50, p99 = series("latency", label, "p50"), series("latency", label, "p99")
        print(f"{label:9} throughput {statistics.median(gbit):6.2f} Gbit/s   p50 {statistics.median(p50):5.0f} us   p99 {statistics.median(p99):5.0f} us   (p99 per round: {', '.join(f'{v:.0f}' for v in p99)})")
    for key in ("p50", "p99"):
        added = {label: statistics.median(series("latency", label, key, minus_direct=True)) for label in ("haproxy", "fedagent")}
        print(f"added {key} over direct: haproxy {added['haproxy']:.0f} us, fedagent {added['fedagent']:.0f} us ({added['fedagent'] / added['haproxy']:.2f}x)")
    ratio = statistics.median(series("throughput", "fedagent", "gbit_per_s")) / statistics.median(series("throughput", "haproxy", "gbit_per_s"))
    print(f"throughput fedagent/haproxy: {ratio:.2f}x")


if __name__ == "__main__":
    main(sys.argv[1])
