#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Plot net-run.py JSON: throughput (ratio to recv()), system calls per MiB and
copied bytes per byte, per mode and flow count; and, when the store part ran,
system calls per MiB stored per form of the wire -> BPF -> NVMe pipeline.

usage: net-plot.py RESULTS.json OUTPUT.png
"""
import sys
import textwrap

sys.dont_write_bytecode = True
from plotlib import (annotate, bar_positions, finish, group, legend, load,  # noqa: E402
                     plt, style_axes, throughput_bars)

COLORS = {"native": "#4c72b0", "native-armed": "#8172b2", "zcrx-region": "#55a868",
          "zcrx": "#a6d4a9", "recv": "#c44e52"}
LABELS = {
    "native": "native: region = NIC queue memory (NET_BIND), poll() + RECV",
    "native-armed": "native-armed: the same, one armed RECV per flow",
    "zcrx-region": "zcrx-region: io_uring zcrx into the data area",
    "zcrx": "zcrx: io_uring zcrx, anonymous area",
    "recv": "recv: recv() into region buffers",
}


def plot_store(ax, rows):
    """System calls per MiB stored, one bar per form, grouped by flows."""
    sflows = list(dict.fromkeys(r["flows"] for r in rows))
    forms = list(dict.fromkeys(r["form"] for r in rows))
    by = {(r["flows"], r["form"]): r for r in rows}
    xs = range(len(sflows))
    width, positions = bar_positions(xs, len(forms))
    for i, form in enumerate(forms):
        vals = [by.get((f, form)) for f in sflows]
        mode = next((r["mode"] for r in vals if r), None)
        color = COLORS.get(mode)
        # A form that did not run (or has no kernel count) gets no bar, not a 0.
        heights = [(r or {}).get("syscalls_per_mib_stored") for r in vals]
        bars = ax.bar(positions(i), [float("nan") if h is None else h for h in heights],
                      width, color=color,
                      hatch=None if "two ring" in form else "//", label=form)
        for bar, r, h in zip(bars, vals, heights):
            if h is not None:
                annotate(ax, bar, f"{h:.2f}\n{r['mib_per_s']:.0f} MiB/s")
            else:
                ax.annotate("not measured", (bar.get_x() + bar.get_width() / 2, 0),
                            ha="center", va="bottom", rotation=90, fontsize=7)
    style_axes([ax], xs, [f"{f} flow{'s' if f > 1 else ''}" for f in sflows], 0.25)
    ax.set_ylabel("system calls of the loop per MiB stored (kernel count)")
    ax.set_title("wire -> BPF -> NVMe (--store): sc per MiB stored")
    ax.legend(fontsize=7, loc="upper right")


def main():
    data, out = load(__doc__)
    results = data.get("results", [])
    store = (data.get("store") or {}).get("results") or []
    fig, axes = plt.subplots(1, 4 if store else 3, figsize=(21 if store else 16, 5.8))
    ax_tp, ax_sc, ax_cp = axes[:3]
    if not results:
        for ax in axes:
            ax.set_axis_off()
        fig.suptitle("Network receive into a unified_io region: not run")
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
                        "ratio_to_recv")
        sc = [r["syscalls_per_mib"] if r else 0 for r in rows]
        bars = ax_sc.bar(pos, sc, width, color=color)
        for bar, r in zip(bars, rows):
            if r:
                tot = r["syscount"]["per_mib"]
                annotate(ax_sc, bar, f"{r['syscalls_per_mib']:.2f}"
                         + (f"\n({tot:.1f})" if tot is not None else ""))
        cp = [r["copy"]["copied_per_byte"] if r else None for r in rows]
        fb = [r["fallback_copy"]["per_byte"] if r else None for r in rows]
        bars = ax_cp.bar(pos, [max(c or 0, f or 0) for c, f in zip(cp, fb)], width,
                         color=color)
        for bar, c, f in zip(bars, cp, fb):
            annotate(ax_cp, bar, f"{'n/a' if c is None else format(c, '.2f')}\n"
                     f"fb {'n/a' if f is None else format(f, '.2f')}")

    style_axes(axes[:3], xs, [f"{f} flow{'s' if f > 1 else ''}" for f in flows], 0.25)
    if store:
        plot_store(axes[3], store)
    ax_tp.set_ylabel("MiB/s received (median; bars min..max)")
    ax_tp.set_title("Throughput (label: MiB/s, ratio to recv())")
    ax_sc.set_ylabel("system calls of the receive loop per MiB")
    ax_sc.set_title("System calls per MiB (label: loop; (all, syscount))")
    ax_cp.set_ylabel("bytes copied per stream byte")
    ax_cp.set_title("Copies per byte: user<->kernel; fb: kernel fallback")
    ax_cp.set_ylim(0, 1.35)
    legend(fig, ax_tp, len(modes), 0.93)
    cfg, sysinfo = data.get("config", {}), data.get("system", {})
    fig.suptitle(f"TCP receive into a unified_io region over unionic "
                 f"({cfg.get('bytes_per_flow', 0) >> 20} MiB per flow, MTU {cfg.get('mtu')}, "
                 f"{cfg.get('reps')} reps, kernel {sysinfo.get('kernel', '?')})", fontsize=12)
    finish(fig, out, textwrap.fill(data.get("note", ""), 190), (0, 0.07, 1, 0.88), 100,
           note_size=8)


if __name__ == "__main__":
    main()
