# SPDX-License-Identifier: GPL-2.0-only
"""Shared by nvme-run.py and crc-run.py: paths, running a benchmark process
(and its --setup-only twin) under copycount, the copy arithmetic, and
writing NAME.json, NAME.txt and NAME.png.
"""
import json
import math
import os
import statistics
import subprocess
import sys
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOLS = os.path.join(REPO, "build", "tools")
COPYCOUNT = os.path.join(TOOLS, "copycount")


def log(msg):
    print(msg, flush=True)


def parse_size(text):
    """'256M' -> 268435456 (K, M, G: powers of 1024; no suffix: bytes)."""
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    a = text.upper()
    return int(a[:-1]) * mult[a[-1]] if a[-1] in mult else int(a)


class CopyCounter:
    """Runs commands under copycount; falls back to kprobes, then to none."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.args = None
        self.reason = None
        if not os.access(COPYCOUNT, os.X_OK):
            self.reason = f"{COPYCOUNT} not built"
            return
        errors = []
        for extra in ([], ["-k"]):
            out = os.path.join(tmp, "probe.cc.json")
            p = subprocess.run([COPYCOUNT, "-j", "-o", out] + extra + ["--", "true"],
                               capture_output=True, text=True)
            if p.returncode == 0 and self._load(out) is not None:
                self.args = extra
                return
            errors.append((p.stderr.strip().splitlines() or ["?"])[-1])
        self.reason = "copycount failed: " + " / ".join(errors)

    @staticmethod
    def _load(path):
        try:
            with open(path) as f:
                return json.load(f)
        except (OSError, ValueError):
            return None

    @property
    def probe(self):
        if self.args is None:
            return None
        return "kprobe" if self.args else "fexit"

    def run(self, cmd, tag):
        """Run cmd; return copycount's report (None if not available)."""
        if self.args is None:
            subprocess.run(cmd, check=True)
            return None
        out = os.path.join(self.tmp, tag + ".cc.json")
        subprocess.run([COPYCOUNT, "-j", "-o", out] + self.args + ["--"] + cmd,
                       check=True)
        return self._load(out)


def median_ci(xs, level=0.9):
    """The median of xs and a distribution-free confidence interval for it
    (order statistics, binomial): (median, low, high, coverage). The interval
    is the narrowest symmetric pair of order statistics whose coverage is at
    least level, or the whole range when even that covers less (few reps)."""
    xs = sorted(xs)
    n = len(xs)
    med = statistics.median(xs)

    def cover(k):  # P(x_(k) < median < x_(n-k+1)), k from 1
        tail = sum(math.comb(n, i) for i in range(k)) / 2 ** n
        return 1 - 2 * tail

    k = 1
    while k + 1 <= n // 2 and cover(k + 1) >= level:
        k += 1
    return med, xs[k - 1], xs[n - k], cover(k)


def payload_copied(report):
    return None if report is None else report["payload"]["bytes"]


def run_bench(cc, cmd, tag, tmp):
    """Run cmd --setup-only, then for real, each under copycount.

    Returns (the benchmark's JSON, copycount report, set-up report, wall
    seconds of the real run).
    """
    base_json = os.path.join(tmp, tag + "-base.json")
    base = cc.run(cmd + ["--setup-only", "--json", base_json], tag + "-base")
    out = os.path.join(tmp, tag + ".json")
    t0 = time.monotonic()
    report = cc.run(cmd + ["--json", out], tag)
    wall = time.monotonic() - t0
    with open(out) as f:
        res = json.load(f)
    return res, report, base, wall


def copy_summary(report, base, total, per_key):
    """The "copy" object of a result: set-up copies subtracted, per byte."""
    raw, fixed = payload_copied(report), payload_copied(base)
    net = None if raw is None or fixed is None else max(raw - fixed, 0)
    return {
        "payload_copied_bytes": raw,
        "fixed_copied_bytes": fixed,
        "net_copied_bytes": net,
        per_key: None if net is None or not total else net / total,
        "report": report, "baseline_report": base,
    }


def system_info(**extra):
    uname = os.uname()
    # The kernel release, and the kernel matrix entry tools/vm/run booted.
    info = {"kernel": uname.release,
            "kernel_entry": os.environ.get("UNIFIED_IO_KERNEL", "?"),
            "machine": uname.machine, "cpus": os.cpu_count()}
    info.update(extra)
    return info


def write_outputs(out_dir, name, data, text, plot_script, who):
    """NAME.json, NAME.txt (text, also printed) and NAME.png by plot_script."""
    json_path = os.path.join(out_dir, name + ".json")
    with open(json_path, "w") as f:
        json.dump(data, f, indent=1)
    with open(os.path.join(out_dir, name + ".txt"), "w") as f:
        f.write(text)
    print(text, end="")
    subprocess.run([sys.executable, os.path.join(REPO, "tools", "bench", plot_script),
                    json_path, os.path.join(out_dir, name + ".png")],
                   check=True)
    log(f"{who}: wrote {out_dir}/{name}.json, {name}.txt and {name}.png")
