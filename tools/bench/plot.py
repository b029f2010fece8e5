#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Plot unio-bench JSON: ops/s and system calls per op for each mode.

usage: plot.py RESULTS.json OUTPUT.png
"""
import sys

sys.dont_write_bytecode = True
from plotlib import (annotate, bar_positions, finish, group, human, legend, load,  # noqa: E402
                     plt, style_axes)

COLORS = {"inline": "#9e9e9e", "batch32": "#4c72b0", "batch256": "#dd8452"}


def main():
    data, out = load(__doc__)
    results = data["results"]
    workloads, modes, by = group(results, "workload")
    units = {r["workload"]: r["op_unit"] for r in results}

    fig, (ax_ops, ax_sys) = plt.subplots(1, 2, figsize=(12, 5.5))
    xs = range(len(workloads))
    width, positions = bar_positions(xs, len(modes))

    for i, mode in enumerate(modes):
        pos = positions(i)
        rows = [by[(w, mode)] for w in workloads]
        ops = [r["ops_per_sec"] for r in rows]
        err = [[r["ops_per_sec"] - r["ops_per_sec_min"] for r in rows],
               [r["ops_per_sec_max"] - r["ops_per_sec"] for r in rows]]
        label = f"{mode} (batch {rows[0]['batch']})"
        bars = ax_ops.bar(pos, ops, width, yerr=err, capsize=3,
                          color=COLORS.get(mode), label=label)
        for bar, r in zip(bars, rows):
            annotate(ax_ops, bar, f"{human(r['ops_per_sec'])}\n{r['ratio_to_inline']:.1f}x",
                     fontsize=8, offset=3)
        sys_ = [r["syscalls_per_op"] for r in rows]
        bars = ax_sys.bar(pos, sys_, width, color=COLORS.get(mode), label=label)
        for bar, v in zip(bars, sys_):
            annotate(ax_sys, bar, f"{v:.3g}", fontsize=8, offset=3)

    style_axes((ax_ops, ax_sys), xs, [f"{w}\n(op = {units[w]})" for w in workloads], 0.25,
               yscale="log")
    ax_ops.set_ylabel("ops/s (median, log scale; bars: min..max)")
    ax_ops.set_title("Throughput (label: ops/s, speedup vs inline)")
    ax_sys.set_ylabel("ioctls per op (log scale)")
    ax_sys.set_title("System calls per op")
    legend(fig, ax_ops, len(modes), 0.94)

    sysinfo = data.get("system", {})
    cfg = data.get("config", {})
    fig.suptitle(f"unified_io region: one descriptor per ioctl vs SQ batches  "
                 f"(kernel {sysinfo.get('kernel', '?')}, {cfg.get('ops', '?')} ops "
                 f"x {cfg.get('reps', '?')} reps)", fontsize=12)
    finish(fig, out, data.get("note", ""), (0, 0.05, 1, 0.90), 110, wrap=True)


if __name__ == "__main__":
    main()
