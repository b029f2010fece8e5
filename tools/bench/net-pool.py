#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Pool issue 14's throughput pairs over several network bench runs.

usage: net-pool.py [--json OUT] NET.JSON...

Each net.json that net-run.py wrote holds, per flow count, the throughput
ratio native-armed / zcrx-region of every back-to-back pair of reps
(bar_armed.throughput). Pairs from different boots are independent
samples of the same ratio, so pooling them narrows the interval that one
run of five pairs leaves wide under TCG. Prints, per flow count: pairs,
how many are at least 1x, the median and a distribution-free 90%
interval for it (order statistics), and which kernels the runs booted.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.dont_write_bytecode = True
from benchrun import median_ci  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the pooled figures here too")
    ap.add_argument("runs", nargs="+", metavar="NET.JSON")
    args = ap.parse_args()
    pooled, kernels, used = {}, set(), []
    for path in args.runs:
        with open(path) as f:
            data = json.load(f)
        tp = (data.get("bar_armed") or {}).get("throughput")
        if not tp:
            print(f"{path}: no throughput pairs (an older net-run.py, or the bar "
                  f"was not measured): left out", file=sys.stderr)
            continue
        used.append(path)
        kernels.add((data.get("system") or {}).get("kernel", "?"))
        for row in tp:
            pooled.setdefault(row["flows"], []).extend(row["paired_ratios"])
    if not pooled:
        sys.exit("net-pool: no run had throughput pairs")
    out = {"runs": used, "kernels": sorted(kernels), "flows": []}
    print(f"issue 14, throughput of native-armed over zcrx-region, pooled over "
          f"{len(used)} run(s) on {', '.join(sorted(kernels))}")
    for flows in sorted(pooled):
        xs = pooled[flows]
        med, lo, hi, cov = median_ci(xs)
        ge = sum(1 for x in xs if x >= 1.0)
        print(f"  {flows} flow(s): {len(xs)} pairs, {ge} at least 1x; median {med:.3f}x, "
              f"{cov:.0%} interval {lo:.3f}x to {hi:.3f}x")
        out["flows"].append({"flows": flows, "pairs": len(xs), "at_least_1x": ge,
                             "median": med, "interval": [lo, hi], "coverage": cov})
    print("Pairs ran back to back in one boot; absolute figures under QEMU TCG are not "
          "hardware figures.")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
