#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Plot nvme-run.py JSON: IOPS (ratio to fio), CPU per I/O and copied bytes.

usage: nvme-plot.py RESULTS.json OUTPUT.png
"""
import sys

sys.dont_write_bytecode = True
from plotlib import (annotate, bar_positions, finish, group, human, legend, load,  # noqa: E402
                     plt, style_axes)

COLORS = {
    "pt-fixed": "#4c72b0", "pt-nofixed": "#8fa9d6", "odirect-uring": "#55a868",
    "odirect-pread": "#a6d4a9", "buffered-pread": "#c44e52", "fio": "#7f7f7f", "fio-lean": "#bdbdbd",
}


def main():
    data, out = load(__doc__)
    workloads, modes, by = group(data["results"], "workload")

    fig, axes = plt.subplots(1, 3, figsize=(16, 5.8))
    ax_iops, ax_cpu, ax_copy = axes
    xs = range(len(workloads))
    width, positions = bar_positions(xs, len(modes))
    for i, mode in enumerate(modes):
        pos = positions(i)
        rows = [by[(w, mode)] for w in workloads]
        color = COLORS.get(mode)
        label = f"{mode} (qd {'/'.join(str(r['qd']) for r in rows)})"
        err = [[r["iops"] - r["iops_min"] for r in rows],
               [r["iops_max"] - r["iops"] for r in rows]]
        bars = ax_iops.bar(pos, [r["iops"] for r in rows], width, yerr=err, capsize=2,
                           color=color, label=label)
        for bar, r in zip(bars, rows):
            annotate(ax_iops, bar, f"{human(r['iops'])}\n{r['ratio_to_fio']:.2f}x")
        cpu = [r["cpu_us_per_io"] or 0 for r in rows]
        bars = ax_cpu.bar(pos, cpu, width, color=color)
        for bar, v in zip(bars, cpu):
            annotate(ax_cpu, bar, f"{v:.0f}")
        copy = [r["copy"]["copied_per_payload_byte"] for r in rows]
        bars = ax_copy.bar(pos, [c or 0 for c in copy], width, color=color)
        for bar, c in zip(bars, copy):
            annotate(ax_copy, bar, "n/a" if c is None else f"{c:.2f}")

    style_axes(axes, xs, workloads, 0.2)
    ax_iops.set_yscale("log")
    ax_iops.set_ylabel("IOPS (median, log; bars min..max)")
    ax_iops.set_title("Throughput (label: IOPS, ratio to fio)")
    ax_cpu.set_ylabel("CPU time (user+sys) per I/O, µs")
    ax_cpu.set_title("CPU per I/O")
    ax_copy.set_ylabel("bytes copied user<->kernel per payload byte")
    ax_copy.set_title("CPU copies (copycount, set-up subtracted)")
    ax_copy.set_ylim(0, 1.3)
    legend(fig, ax_iops, len(modes), 0.93)
    cfg, sysinfo = data.get("config", {}), data.get("system", {})
    fig.suptitle(f"NVMe reads into a unified_io region, {cfg.get('dev')} "
                 f"({cfg.get('area', 0) >> 20} MiB area, {cfg.get('runtime')} s x "
                 f"{cfg.get('reps')} reps, kernel {sysinfo.get('kernel', '?')})", fontsize=12)
    finish(fig, out, data.get("note", ""), (0, 0.04, 1, 0.88), 100)


if __name__ == "__main__":
    main()
