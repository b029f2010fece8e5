#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Plot send-run.py JSON: throughput (ratio to send()), sender system calls per
MiB and copied bytes per byte, per mode and flow count.

usage: send-plot.py RESULTS.json OUTPUT.png
"""
import sys
import textwrap

sys.dont_write_bytecode = True
from plotlib import (annotate, bar_positions, finish, group, legend, load,  # noqa: E402
                     plt, style_axes, throughput_bars)

COLORS = {"send": "#c44e52", "send-mmap": "#dd8452", "msg-zerocopy": "#8172b3",
          "sendfile": "#937860", "odirect-send": "#da8bc3", "region-zc": "#4c72b0"}
LABELS = {
    "send": "send: send() from private memory",
    "send-mmap": "send-mmap: send() from the region's data area",
    "msg-zerocopy": "msg-zerocopy: MSG_ZEROCOPY, private memory",
    "sendfile": "sendfile: file on the NVMe namespace",
    "odirect-send": "odirect-send: pread(O_DIRECT) + send()",
    "region-zc": "region-zc: NVMe -> region -> UNIFIED_IO_OP_SEND",
}


def main():
    data, out = load(__doc__)
    results = data.get("results", [])
    fig, axes = plt.subplots(1, 3, figsize=(17, 6))
    ax_tp, ax_sc, ax_cp = axes
    if not results:
        for ax in axes:
            ax.set_axis_off()
        fig.suptitle("TCP send from six sources: not run")
        finish(fig, out, str(data.get("skipped", data.get("note", ""))), (0, 0.04, 1, 0.9),
               100, wrap=True)
        return
    flows, modes, by = group(results, "flows")
    xs = range(len(flows))
    width, positions = bar_positions(xs, len(modes))
    for i, mode in enumerate(modes):
        pos = positions(i)
        rows = [by.get((f, mode)) for f in flows]
        color = COLORS.get(mode)
        throughput_bars(ax_tp, pos, width, rows, color, LABELS.get(mode, mode),
                        "ratio_to_send", fontsize=6)
        sc = [r["syscalls_per_mib"] if r else 0 for r in rows]
        bars = ax_sc.bar(pos, sc, width, color=color)
        for bar, r in zip(bars, rows):
            if r:
                annotate(ax_sc, bar, f"{r['syscalls_per_mib']:.1f}", fontsize=6)
        cp = [r["copy"]["copied_per_byte"] if r else None for r in rows]
        st = [r["stack_copied_per_byte"] if r else None for r in rows]
        bars = ax_cp.bar(pos, [(c or 0) + (s or 0) for c, s in zip(cp, st)], width,
                         color=color)
        for bar, c, s in zip(bars, cp, st):
            annotate(ax_cp, bar, f"{'n/a' if c is None else format(c, '.2f')}"
                     + ("" if s is None else f"\nst {s:.2f}"), fontsize=6)

    style_axes(axes, xs, [f"{f} flow{'s' if f > 1 else ''}" for f in flows], 0.25)
    ax_tp.set_ylabel("MiB/s sent (median; bars min..max)")
    ax_tp.set_title("Throughput (label: MiB/s, ratio to send())")
    ax_sc.set_ylabel("sender system calls per MiB (syscount, set-up subtracted)")
    ax_sc.set_title("System calls per MiB")
    ax_cp.set_ylabel("bytes copied per stream byte")
    ax_cp.set_title("Copies per byte: CPU user<->kernel; st: stack copied anyway")
    ax_cp.set_ylim(0, 1.35)
    legend(fig, ax_tp, 3, 0.95)
    cfg, sysinfo = data.get("config", {}), data.get("system", {})
    fig.suptitle(f"TCP send over unionic from six sources "
                 f"({cfg.get('bytes_per_flow', 0) >> 20} MiB per flow, "
                 f"{cfg.get('chunk', 0) >> 10} KiB per call, MTU {cfg.get('mtu')}, "
                 f"{cfg.get('reps')} reps, kernel {sysinfo.get('kernel', '?')})", fontsize=12)
    finish(fig, out, textwrap.fill(data.get("note", ""), 200), (0, 0.07, 1, 0.86), 100,
           note_size=8)


if __name__ == "__main__":
    main()
