#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Plot uio-bench JSON: ops/s and system calls per op for each mode.

usage: plot.py RESULTS.json OUTPUT.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after use("Agg"))

COLORS = {"inline": "#9e9e9e", "batch32": "#4c72b0", "batch256": "#dd8452"}


def human(v):
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if v >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.3g}"


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip())
    with open(sys.argv[1]) as f:
        data = json.load(f)

    results = data["results"]
    workloads = list(dict.fromkeys(r["workload"] for r in results))
    modes = list(dict.fromkeys(r["mode"] for r in results))
    units = {r["workload"]: r["op_unit"] for r in results}
    by = {(r["workload"], r["mode"]): r for r in results}

    fig, (ax_ops, ax_sys) = plt.subplots(1, 2, figsize=(12, 5.5))
    width = 0.8 / len(modes)
    xs = range(len(workloads))

    for i, mode in enumerate(modes):
        pos = [x - 0.4 + width * (i + 0.5) for x in xs]
        rows = [by[(w, mode)] for w in workloads]
        ops = [r["ops_per_sec"] for r in rows]
        err = [[r["ops_per_sec"] - r["ops_per_sec_min"] for r in rows],
               [r["ops_per_sec_max"] - r["ops_per_sec"] for r in rows]]
        label = f"{mode} (batch {rows[0]['batch']})"
        bars = ax_ops.bar(pos, ops, width, yerr=err, capsize=3,
                          color=COLORS.get(mode), label=label)
        for bar, r in zip(bars, rows):
            ax_ops.annotate(f"{human(r['ops_per_sec'])}\n{r['ratio_to_inline']:.1f}x",
                            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=8,
                            xytext=(0, 3), textcoords="offset points")
        sys_ = [r["syscalls_per_op"] for r in rows]
        bars = ax_sys.bar(pos, sys_, width, color=COLORS.get(mode), label=label)
        for bar, v in zip(bars, sys_):
            ax_sys.annotate(f"{v:.3g}",
                            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=8,
                            xytext=(0, 3), textcoords="offset points")

    labels = [f"{w}\n(op = {units[w]})" for w in workloads]
    for ax in (ax_ops, ax_sys):
        ax.set_yscale("log")
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels)
        ax.grid(axis="y", which="major", alpha=0.3)
        ax.margins(y=0.25)
    ax_ops.set_ylabel("ops/s (median, log scale; bars: min..max)")
    ax_ops.set_title("Throughput (label: ops/s, speedup vs inline)")
    ax_sys.set_ylabel("ioctls per op (log scale)")
    ax_sys.set_title("System calls per op")
    handles, leg_labels = ax_ops.get_legend_handles_labels()
    fig.legend(handles, leg_labels, loc="upper center", ncol=len(modes),
               bbox_to_anchor=(0.5, 0.94), fontsize=9, frameon=False)

    sysinfo = data.get("system", {})
    cfg = data.get("config", {})
    fig.suptitle(f"unified_io region: one descriptor per ioctl vs SQ batches  "
                 f"(kernel {sysinfo.get('kernel', '?')}, {cfg.get('ops', '?')} ops "
                 f"x {cfg.get('reps', '?')} reps)", fontsize=12)
    fig.text(0.5, 0.01, data.get("note", ""), ha="center", fontsize=9,
             style="italic", wrap=True)
    fig.tight_layout(rect=(0, 0.05, 1, 0.90))
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
