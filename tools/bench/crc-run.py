#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""CRC32C benchmark: the BPF program in place vs user space vs read() + CRC.

Run in the guest by tools/bench/run.sh (make bench). For 4 KiB and 64 KiB
buffers, runs every unio-crc-bench mode as its own process under copycount
(and once more with --setup-only, whose copies are subtracted), checks that
every mode computed the same CRC of every buffer, and writes
build/bench/bpf.json, bpf.txt and bpf.png.

usage: crc-run.py [--area 16M] [--runtime 0.4] [--reps 5] [--batch 64]
                  [--out DIR]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
from benchrun import (REPO, TOOLS, CopyCounter, copy_summary, log,  # noqa: E402
                      parse_size, run_bench, system_info, write_outputs)

BENCH = os.path.join(TOOLS, "unio-crc-bench")

SIZES = [4096, 65536]
MODES = [
    ("bpf", "(a) crc32c.bpf.c in place, UNIFIED_IO_OP_BPF in SQ batches"),
    ("sw", "(b) user space over the mmap, slicing-by-8"),
    ("sse42", "(b') user space over the mmap, SSE4.2 crc32 instruction"),
    ("read", "(c) read() from tmpfs into a private buffer + slicing-by-8"),
]
NOTE = ("Absolute figures under QEMU TCG emulation are not hardware figures: the "
        "guest CPU is emulated, so are the BPF JIT's x86 code and the SSE4.2 crc32 "
        "instruction (a TCG helper call, slower here than the table code; on "
        "hardware it is several times faster). Only ratios between modes within "
        "one boot mean something.")


def tmpfs_dir():
    """A tmpfs directory for the read route's file (page cache, no disk)."""
    mounts = {}
    with open("/proc/mounts") as f:
        for line in f:
            fields = line.split()
            mounts[fields[1]] = fields[2]
    for d in ("/dev/shm", "/tmp", "/run"):
        if mounts.get(d) == "tmpfs" and os.access(d, os.W_OK):
            return d, True
    return None, False


def read_jit():
    try:
        with open("/proc/sys/net/core/bpf_jit_enable") as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def run_mode(cc, args, mode, bs, nbufs, path, tmp):
    common = [BENCH, "--mode", mode, "--bs", str(bs), "--nbufs", str(nbufs),
              "--batch", str(args.batch), "--runtime", str(args.runtime),
              "--reps", str(args.reps), "--file", path]
    return run_bench(cc, common, f"{mode}-{bs}", tmp)


def summarize(mode, desc, res, report, base, wall):
    reps = res["reps"]
    row = {"mode": mode, "description": desc, "impl": res["impl"], "bs": res["bs"],
           "nbufs": res["nbufs"], "batch": res["batch"] if mode == "bpf" else None,
           "available": res["available"], "wall_seconds": wall}
    if not res["available"] or not reps:
        row.update({"gb_per_s": None, "ns_per_buf": None, "copy": None, "crc_digest": None})
        return row
    gbs = [r["gb_per_s"] for r in reps]
    med = statistics.median(gbs)
    bufs = sum(r["buffers"] for r in reps)
    cpu = sum(r["cpu_usr_s"] + r["cpu_sys_s"] for r in reps)
    total = res["bytes_total"]
    row.update({
        "gb_per_s": med, "gb_per_s_min": min(gbs), "gb_per_s_max": max(gbs),
        "ns_per_buf": statistics.median(r["ns_per_buf"] for r in reps),
        "cpu_ns_per_buf": cpu / bufs * 1e9 if bufs else None,
        "sys_share": (sum(r["cpu_sys_s"] for r in reps) / cpu) if cpu else None,
        "submit_calls": res["submit_calls"],
        "crc_digest": res["crc_digest"], "crc_head": res["crc_head"],
        "check_value_ok": res["check_value_ok"],
        "reps": reps, "bytes_checksummed": total,
        "copy": copy_summary(report, base, total, "copied_per_byte"),
    })
    return row


def check_crcs(results):
    """Every available mode must give the same CRC of every buffer."""
    ok, lines = True, []
    for bs in SIZES:
        rows = [r for r in results if r["bs"] == bs and r["available"]]
        digests = {r["mode"]: r["crc_digest"] for r in rows}
        same = len(set(digests.values())) == 1 and all(r["check_value_ok"] for r in rows)
        ok = ok and same
        lines.append(f"{bs // 1024} KiB: {'same' if same else 'DIFFERENT'} CRCs of all "
                     f"{rows[0]['nbufs']} buffers in "
                     + ", ".join(f"{m} ({d})" for m, d in digests.items())
                     + f"; buffer 0: {rows[0]['crc_head'][0]}")
    return ok, lines


def fmt(v, spec, na="n/a"):
    return na if v is None else format(v, spec)


def table(results, cc, jit):
    lines = []
    hdr = (f"{'buffer':>6} {'mode':<6} {'GB/s':>7} {'min..max':>15} {'ns/buffer':>11} "
           f"{'vs bpf':>7} {'CPU ns/buf':>11} {'SUBMITs':>8} {'copied B':>11} "
           f"{'copied/B':>8}")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for bs in SIZES:
        rows = [r for r in results if r["bs"] == bs]
        bpf = next(r for r in rows if r["mode"] == "bpf")
        for r in rows:
            if not r["available"]:
                lines.append(f"{bs // 1024:>4}Ki {r['mode']:<6} {'n/a: no SSE4.2 in this CPU':>40}")
                continue
            c = r["copy"]
            rng = f"{r['gb_per_s_min']:.3f}..{r['gb_per_s_max']:.3f}"
            lines.append(
                f"{bs // 1024:>4}Ki {r['mode']:<6} {r['gb_per_s']:>7.3f} {rng:>15} "
                f"{r['ns_per_buf']:>11.0f} {r['gb_per_s'] / bpf['gb_per_s']:>6.2f}x "
                f"{fmt(r['cpu_ns_per_buf'], '.0f'):>11} {r['submit_calls']:>8} "
                f"{fmt(c['net_copied_bytes'], 'd'):>11} {fmt(c['copied_per_byte'], '.3f'):>8}")
    lines.append("")
    for mode, desc in MODES:
        impl = next(r["impl"] for r in results if r["mode"] == mode)
        lines.append(f"  {mode:<6} {desc}: {impl}")
    b = next(r for r in results if r["mode"] == "bpf")
    lines.append("")
    lines.append(f"GB/s (10^9 bytes/s) and ns/buffer: median of the reps; one buffer = one "
                 f"UNIFIED_IO_OP_BPF descriptor in bpf mode ({b['batch']} per SUBMIT), one "
                 "read() in read mode. CPU ns/buf: user+system time of the process per buffer.")
    lines.append("copied B: payload bytes the CPU copied between user and kernel (copycount, "
                 f"{cc.probe or 'unavailable: ' + str(cc.reason)}) minus the same process's "
                 "--setup-only run; copied/B: per byte checksummed (untimed first and last "
                 "passes included).")
    lines.append(f"BPF JIT: net.core.bpf_jit_enable = {jit}.")
    lines.append(NOTE)
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--area", default="16M", help="bytes of buffers per size (at most "
                    "4096 buffers)")
    ap.add_argument("--runtime", type=float, default=0.4, help="seconds per rep")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--batch", type=int, default=64, help="BPF descriptors per SUBMIT")
    ap.add_argument("--out", default=os.path.join(REPO, "build", "bench"))
    args = ap.parse_args()
    args.area = parse_size(args.area)
    os.makedirs(args.out, exist_ok=True)
    t_start = time.monotonic()
    jit = read_jit()
    fdir, is_tmpfs = tmpfs_dir()
    if not is_tmpfs:
        log("crc bench: no writable tmpfs found; the read route's file is on "
            "whatever file system holds the temporary directory")

    results = []
    with tempfile.TemporaryDirectory(prefix="unio-crc-bench.") as tmp, \
            tempfile.TemporaryDirectory(prefix="unio-crc-bench.", dir=fdir) as ftmp:
        cc = CopyCounter(tmp)
        if cc.args is None:
            log(f"crc bench: copy counts unavailable ({cc.reason}); running without")
        for bs in SIZES:
            nbufs = min(max(args.area // bs, 1), 4096)
            path = os.path.join(ftmp, f"data.{bs}")
            subprocess.run([BENCH, "--mode", "prep", "--bs", str(bs), "--nbufs", str(nbufs),
                            "--file", path], check=True)
            for mode, desc in MODES:
                log(f"crc bench: {bs // 1024} KiB x {nbufs} {mode}")
                res, report, base, wall = run_mode(cc, args, mode, bs, nbufs, path, tmp)
                results.append(summarize(mode, desc, res, report, base, wall))
            os.unlink(path)

    ok, check = check_crcs(results)
    data = {
        "benchmark": "unio-crc-bench", "note": NOTE,
        "system": system_info(bpf_jit_enable=jit),
        "config": {"area": args.area, "sizes": SIZES, "runtime": args.runtime,
                   "reps": args.reps, "batch": args.batch,
                   "file_dir": fdir, "file_on_tmpfs": is_tmpfs,
                   "copycount_probe": cc.probe, "copycount_unavailable": cc.reason},
        "crc_check": {"ok": ok, "detail": check},
        "wall_seconds": time.monotonic() - t_start,
        "results": results,
    }
    text = (table(results, cc, jit) + "\n\nCRC check (every mode, every buffer): "
            + ("OK" if ok else "FAILED") + "\n  " + "\n  ".join(check)
            + f"\ncrc bench took {data['wall_seconds']:.0f} s\n")
    write_outputs(args.out, "bpf", data, text, "crc-plot.py", "crc bench")
    if not ok:
        print("crc bench: FAILED: the modes computed different CRC32C values "
              "(see the CRC check above)", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
