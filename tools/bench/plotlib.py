# SPDX-License-Identifier: GPL-2.0-only
"""Shared by plot.py, nvme-plot.py and crc-plot.py: reading the results,
grouped bars (one group per x value, one bar per mode), labels on bars,
axes, legend, footnote and saving.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402,F401  (after use("Agg"); for the plots)

SI = (("G", 1e9), ("M", 1e6), ("k", 1e3))


def load(doc):
    """(data, output path) from argv RESULTS.json OUTPUT.png, else usage."""
    if len(sys.argv) != 3:
        sys.exit(doc.strip())
    with open(sys.argv[1]) as f:
        return json.load(f), sys.argv[2]


def group(results, key):
    """x values (of key), modes, and {(x, mode): result}, in first-seen order."""
    xvals = list(dict.fromkeys(r[key] for r in results))
    modes = list(dict.fromkeys(r["mode"] for r in results))
    by = {(r[key], r["mode"]): r for r in results}
    return xvals, modes, by


def human(v, units=SI, plain=""):
    """3 significant digits with the largest unit v reaches: 12.3k, 4.5 ms."""
    for unit, div in units:
        if v >= div:
            return f"{v / div:.3g}{unit}"
    return f"{v:.3g}{plain}"


def bar_positions(xs, nmodes):
    """Bar width, and for the i-th mode its bars' x positions."""
    width = 0.8 / nmodes
    return width, lambda i: [x - 0.4 + width * (i + 0.5) for x in xs]


def annotate(ax, bar, text, top=None, fontsize=7, offset=2):
    """text above bar (above top instead, if higher: an error bar's end)."""
    y = bar.get_height() if top is None else max(top, bar.get_height())
    ax.annotate(text, (bar.get_x() + bar.get_width() / 2, y),
                ha="center", va="bottom", fontsize=fontsize, xytext=(0, offset),
                textcoords="offset points")


def throughput_bars(ax, pos, width, rows, color, label, ratio_key, fontsize=7):
    """One mode's median MiB/s per group, min..max error bars, and the label
    "MiB/s, ratio" (rows[i][ratio_key]) above each; rows may hold None."""
    tp = [r["mib_per_s"] if r else 0 for r in rows]
    err = [[r["mib_per_s"] - r["mib_per_s_min"] if r else 0 for r in rows],
           [r["mib_per_s_max"] - r["mib_per_s"] if r else 0 for r in rows]]
    bars = ax.bar(pos, tp, width, yerr=err, capsize=2, color=color, label=label)
    for bar, r in zip(bars, rows):
        if r:
            ratio = r.get(ratio_key)
            annotate(ax, bar, f"{r['mib_per_s']:.0f}\n"
                     + (f"{ratio:.2f}x" if ratio is not None else ""),
                     r["mib_per_s_max"], fontsize=fontsize)


def style_axes(axes, xs, labels, margin, yscale=None):
    for ax in axes:
        if yscale:
            ax.set_yscale(yscale)
        ax.set_xticks(list(xs))
        ax.set_xticklabels(labels)
        ax.grid(axis="y", alpha=0.3)
        ax.margins(y=margin)


def legend(fig, ax, ncol, top):
    handles, labels = ax.get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=ncol,
               bbox_to_anchor=(0.5, top), fontsize=9, frameon=False)


def finish(fig, out, note, rect, dpi, note_size=9, wrap=False):
    """Footnote, layout within rect, and save to out."""
    fig.text(0.5, 0.01, note, ha="center", fontsize=note_size, style="italic",
             wrap=wrap)
    fig.tight_layout(rect=rect)
    fig.savefig(out, dpi=dpi)
