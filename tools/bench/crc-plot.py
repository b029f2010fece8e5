#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Plot crc-run.py JSON: GB/s, ns per buffer and copied bytes per mode.

usage: crc-plot.py RESULTS.json OUTPUT.png
"""
import sys

sys.dont_write_bytecode = True
from plotlib import (annotate, bar_positions, finish, group, human, legend, load,  # noqa: E402
                     plt, style_axes)

COLORS = {"bpf": "#4c72b0", "sw": "#55a868", "sse42": "#a6d4a9", "read": "#c44e52"}
LABELS = {
    "bpf": "bpf: crc32c.bpf.c in place (OP_BPF)",
    "sw": "sw: user space, slicing-by-8, mmap",
    "sse42": "sse42: user space, crc32 instr., mmap",
    "read": "read: read() + slicing-by-8",
}
NS_UNITS = ((" ms", 1e6), (" µs", 1e3))


def main():
    data, out = load(__doc__)
    sizes, modes, by = group(data["results"], "bs")

    fig, axes = plt.subplots(1, 3, figsize=(16, 5.8))
    ax_gbs, ax_ns, ax_copy = axes
    xs = range(len(sizes))
    width, positions = bar_positions(xs, len(modes))
    for i, mode in enumerate(modes):
        pos = positions(i)
        rows = [by[(bs, mode)] for bs in sizes]
        color = COLORS.get(mode)
        ok = [r["gb_per_s"] is not None for r in rows]
        gbs = [r["gb_per_s"] or 0 for r in rows]
        err = [[r["gb_per_s"] - r["gb_per_s_min"] if k else 0 for r, k in zip(rows, ok)],
               [r["gb_per_s_max"] - r["gb_per_s"] if k else 0 for r, k in zip(rows, ok)]]
        bars = ax_gbs.bar(pos, gbs, width, yerr=err, capsize=2, color=color,
                          label=LABELS.get(mode, mode))
        for bar, r, k in zip(bars, rows, ok):
            bpf = by[(r["bs"], "bpf")]["gb_per_s"]
            annotate(ax_gbs, bar, f"{r['gb_per_s']:.3f}\n{r['gb_per_s'] / bpf:.2f}x"
                     if k else "n/a", r.get("gb_per_s_max"))
        ns = [r["ns_per_buf"] or 0 for r in rows]
        bars = ax_ns.bar(pos, ns, width, color=color)
        for bar, v, k in zip(bars, ns, ok):
            annotate(ax_ns, bar, human(v, NS_UNITS, " ns") if k else "n/a")
        cpb = [r["copy"]["copied_per_byte"] if k and r["copy"] else None
               for r, k in zip(rows, ok)]
        bars = ax_copy.bar(pos, [c or 0 for c in cpb], width, color=color)
        for bar, c in zip(bars, cpb):
            annotate(ax_copy, bar, "n/a" if c is None else f"{c:.2f}")

    style_axes(axes, xs, [f"{bs // 1024} KiB buffers" for bs in sizes], 0.25)
    ax_gbs.set_ylabel("GB/s (median; bars min..max)")
    ax_gbs.set_title("CRC32C throughput (label: GB/s, ratio to bpf)")
    ax_ns.set_yscale("log")
    ax_ns.set_ylabel("ns per buffer (median, log)")
    ax_ns.set_title("Time per buffer (bpf: per descriptor)")
    ax_copy.set_ylabel("bytes copied user<->kernel per byte checksummed")
    ax_copy.set_title("CPU copies (copycount, set-up subtracted)")
    ax_copy.set_ylim(0, 1.3)
    legend(fig, ax_gbs, len(modes), 0.93)
    cfg, sysinfo = data.get("config", {}), data.get("system", {})
    check = data.get("crc_check", {})
    fig.suptitle(f"CRC32C over region buffers: BPF in place vs user space vs read() "
                 f"({cfg.get('area', 0) >> 20} MiB per size, {cfg.get('runtime')} s x "
                 f"{cfg.get('reps')} reps, batch {cfg.get('batch')}, CRCs "
                 f"{'identical' if check.get('ok') else 'DIFFERENT'}, kernel "
                 f"{sysinfo.get('kernel', '?')})", fontsize=12)
    finish(fig, out, data.get("note", ""), (0, 0.06, 1, 0.88), 100, note_size=8, wrap=True)


if __name__ == "__main__":
    main()
