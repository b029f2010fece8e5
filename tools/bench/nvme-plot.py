#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Plot nvme-run.py JSON: IOPS (ratio to fio), CPU per I/O and copied bytes.

usage: nvme-plot.py RESULTS.json OUTPUT.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after use("Agg"))

COLORS = {
    "pt-fixed": "#4c72b0", "pt-nofixed": "#8fa9d6", "odirect-uring": "#55a868",
    "odirect-pread": "#a6d4a9", "buffered-pread": "#c44e52", "fio": "#7f7f7f", "fio-lean": "#bdbdbd",
}


def human(v):
    for unit, div in (("M", 1e6), ("k", 1e3)):
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
    by = {(r["workload"], r["mode"]): r for r in results}

    fig, axes = plt.subplots(1, 3, figsize=(16, 5.8))
    ax_iops, ax_cpu, ax_copy = axes
    width = 0.8 / len(modes)
    xs = range(len(workloads))
    for i, mode in enumerate(modes):
        pos = [x - 0.4 + width * (i + 0.5) for x in xs]
        rows = [by[(w, mode)] for w in workloads]
        color = COLORS.get(mode)
        label = f"{mode} (qd {'/'.join(str(r['qd']) for r in rows)})"
        err = [[r["iops"] - r["iops_min"] for r in rows],
               [r["iops_max"] - r["iops"] for r in rows]]
        bars = ax_iops.bar(pos, [r["iops"] for r in rows], width, yerr=err, capsize=2,
                           color=color, label=label)
        for bar, r in zip(bars, rows):
            ax_iops.annotate(f"{human(r['iops'])}\n{r['ratio_to_fio']:.2f}x",
                             (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                             ha="center", va="bottom", fontsize=7,
                             xytext=(0, 2), textcoords="offset points")
        cpu = [r["cpu_us_per_io"] or 0 for r in rows]
        bars = ax_cpu.bar(pos, cpu, width, color=color)
        for bar, v in zip(bars, cpu):
            ax_cpu.annotate(f"{v:.0f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                            ha="center", va="bottom", fontsize=7,
                            xytext=(0, 2), textcoords="offset points")
        copy = [r["copy"]["copied_per_payload_byte"] for r in rows]
        bars = ax_copy.bar(pos, [c or 0 for c in copy], width, color=color)
        for bar, c in zip(bars, copy):
            ax_copy.annotate("n/a" if c is None else f"{c:.2f}",
                             (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                             ha="center", va="bottom", fontsize=7,
                             xytext=(0, 2), textcoords="offset points")

    for ax in axes:
        ax.set_xticks(list(xs))
        ax.set_xticklabels(workloads)
        ax.grid(axis="y", alpha=0.3)
        ax.margins(y=0.2)
    ax_iops.set_yscale("log")
    ax_iops.set_ylabel("IOPS (median, log; bars min..max)")
    ax_iops.set_title("Throughput (label: IOPS, ratio to fio)")
    ax_cpu.set_ylabel("CPU time (user+sys) per I/O, µs")
    ax_cpu.set_title("CPU per I/O")
    ax_copy.set_ylabel("bytes copied user<->kernel per payload byte")
    ax_copy.set_title("CPU copies (copycount, set-up subtracted)")
    ax_copy.set_ylim(0, 1.3)
    handles, labels = ax_iops.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(modes),
               bbox_to_anchor=(0.5, 0.93), fontsize=9, frameon=False)
    cfg, sysinfo = data.get("config", {}), data.get("system", {})
    fig.suptitle(f"NVMe reads into a unified_io region, {cfg.get('dev')} "
                 f"({cfg.get('area', 0) >> 20} MiB area, {cfg.get('runtime')} s x "
                 f"{cfg.get('reps')} reps, kernel {sysinfo.get('kernel', '?')})", fontsize=12)
    fig.text(0.5, 0.01, data.get("note", ""), ha="center", fontsize=9, style="italic")
    fig.tight_layout(rect=(0, 0.04, 1, 0.88))
    fig.savefig(sys.argv[2], dpi=100)


if __name__ == "__main__":
    main()
