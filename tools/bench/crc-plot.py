#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Plot crc-run.py JSON: GB/s, ns per buffer and copied bytes per mode.

usage: crc-plot.py RESULTS.json OUTPUT.png
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after use("Agg"))

COLORS = {"bpf": "#4c72b0", "sw": "#55a868", "sse42": "#a6d4a9", "read": "#c44e52"}
LABELS = {
    "bpf": "bpf: crc32c.bpf.c in place (OP_BPF)",
    "sw": "sw: user space, slicing-by-8, mmap",
    "sse42": "sse42: user space, crc32 instr., mmap",
    "read": "read: read() + slicing-by-8",
}


def human_ns(v):
    for unit, div in (("ms", 1e6), ("µs", 1e3)):
        if v >= div:
            return f"{v / div:.3g} {unit}"
    return f"{v:.3g} ns"


def annotate(ax, bar, text, top=None):
    y = bar.get_height() if top is None else max(top, bar.get_height())
    ax.annotate(text, (bar.get_x() + bar.get_width() / 2, y),
                ha="center", va="bottom", fontsize=7, xytext=(0, 2),
                textcoords="offset points")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.strip())
    with open(sys.argv[1]) as f:
        data = json.load(f)
    results = data["results"]
    sizes = list(dict.fromkeys(r["bs"] for r in results))
    modes = list(dict.fromkeys(r["mode"] for r in results))
    by = {(r["bs"], r["mode"]): r for r in results}

    fig, axes = plt.subplots(1, 3, figsize=(16, 5.8))
    ax_gbs, ax_ns, ax_copy = axes
    width = 0.8 / len(modes)
    xs = range(len(sizes))
    for i, mode in enumerate(modes):
        pos = [x - 0.4 + width * (i + 0.5) for x in xs]
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
            annotate(ax_ns, bar, human_ns(v) if k else "n/a")
        cpb = [r["copy"]["copied_per_byte"] if k and r["copy"] else None
               for r, k in zip(rows, ok)]
        bars = ax_copy.bar(pos, [c or 0 for c in cpb], width, color=color)
        for bar, c in zip(bars, cpb):
            annotate(ax_copy, bar, "n/a" if c is None else f"{c:.2f}")

    for ax in axes:
        ax.set_xticks(list(xs))
        ax.set_xticklabels([f"{bs // 1024} KiB buffers" for bs in sizes])
        ax.grid(axis="y", alpha=0.3)
        ax.margins(y=0.25)
    ax_gbs.set_ylabel("GB/s (median; bars min..max)")
    ax_gbs.set_title("CRC32C throughput (label: GB/s, ratio to bpf)")
    ax_ns.set_yscale("log")
    ax_ns.set_ylabel("ns per buffer (median, log)")
    ax_ns.set_title("Time per buffer (bpf: per descriptor)")
    ax_copy.set_ylabel("bytes copied user<->kernel per byte checksummed")
    ax_copy.set_title("CPU copies (copycount, set-up subtracted)")
    ax_copy.set_ylim(0, 1.3)
    handles, labels = ax_gbs.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=len(modes),
               bbox_to_anchor=(0.5, 0.93), fontsize=9, frameon=False)
    cfg, sysinfo = data.get("config", {}), data.get("system", {})
    check = data.get("crc_check", {})
    fig.suptitle(f"CRC32C over region buffers: BPF in place vs user space vs read() "
                 f"({cfg.get('area', 0) >> 20} MiB per size, {cfg.get('runtime')} s x "
                 f"{cfg.get('reps')} reps, batch {cfg.get('batch')}, CRCs "
                 f"{'identical' if check.get('ok') else 'DIFFERENT'}, kernel "
                 f"{sysinfo.get('kernel', '?')})", fontsize=12)
    fig.text(0.5, 0.01, data.get("note", ""), ha="center", fontsize=8, style="italic",
             wrap=True)
    fig.tight_layout(rect=(0, 0.06, 1, 0.88))
    fig.savefig(sys.argv[2], dpi=100)


if __name__ == "__main__":
    main()
