#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Storage benchmark: NVMe reads into a unified_io region, mode by mode.

Run in the guest by tools/bench/run.sh (make bench). Writes the area first
so reads hit data, then for each workload runs every unio-nvme-bench mode and
fio's io_uring_cmd engine as separate processes, each under copycount, and
writes build/bench/nvme.json, nvme.txt and nvme.png.

usage: nvme-run.py [--dev /dev/ng0n1] [--area 256M] [--runtime 2] [--reps 3]
                   [--out DIR]
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
from benchrun import (REPO, TOOLS, CopyCounter, copy_summary, log, parse_size,  # noqa: E402
                      run_bench as run_process, system_info, write_outputs)

BENCH = os.path.join(TOOLS, "unio-nvme-bench")

WORKLOADS = {
    # name: (fio rw, bs, qd)
    "randread4k": ("randread", 4096, 32),
    "seqread128k": ("read", 131072, 8),
}
MODES = [
    ("pt-fixed", "passthrough, fixed region buffer (libunifiedio)"),
    ("pt-nofixed", "passthrough, no fixed buffer (UNIO_NVME_F_NO_FIXED)"),
    ("odirect-uring", "io_uring READ_FIXED, O_DIRECT block dev, same depth"),
    ("odirect-pread", "O_DIRECT pread into the region, synchronous (qd 1)"),
    ("buffered-pread", "buffered pread + memcpy into the region (qd 1)"),
    ("fio", "fio io_uring_cmd, fixedbufs (reference)"),
    ("fio-lean", "the same, --gtod_reduce=1 --norandommap (less fio CPU)"),
]
NOTE = ("Absolute figures under QEMU TCG emulation are not hardware figures; "
        "only ratios between modes within one boot mean something.")


def fio_cmd(dev, wl, area, runtime, out, size_only=False, lean=False):
    rw, bs, qd = WORKLOADS[wl]
    cmd = ["fio", "--name=ref", "--ioengine=io_uring_cmd", "--cmd_type=nvme",
           f"--filename={dev}", f"--rw={rw}", f"--bs={bs}", f"--iodepth={qd}",
           "--fixedbufs=1", "--registerfiles=1", f"--size={area}",
           "--output-format=json", f"--output={out}"]
    if lean:
        cmd += ["--gtod_reduce=1", "--norandommap", "--randrepeat=0"]
    if size_only:
        cmd.append(f"--io_size={bs}")
    else:
        cmd += ["--time_based", f"--runtime={runtime}"]
    return cmd


def run_fio(cc, args, wl, tmp, mode):
    """fio --reps times in one shell, all under one copycount."""
    lean = mode == "fio-lean"
    outs = [os.path.join(tmp, f"{mode}-{wl}-{i}.json") for i in range(args.reps)]
    script = "; ".join(shlex.join(fio_cmd(args.dev, wl, args.area, args.runtime, o,
                                          lean=lean)) for o in outs)
    t0 = time.monotonic()
    report = cc.run(["sh", "-ec", script + " >/dev/null"], f"{mode}-{wl}")
    wall = time.monotonic() - t0
    base_outs = [os.path.join(tmp, f"{mode}-{wl}-base-{i}.json") for i in range(args.reps)]
    script = "; ".join(shlex.join(fio_cmd(args.dev, wl, args.area, args.runtime, o, True,
                                          lean)) for o in base_outs)
    base = cc.run(["sh", "-ec", script + " >/dev/null"], f"{mode}-{wl}-base")
    reps, payload = [], 0
    for o in outs:
        with open(o) as f:
            job = json.load(f)["jobs"][0]
        rd = job["read"]
        secs = job["job_runtime"] / 1000.0
        reps.append({
            "ios": rd["total_ios"], "bytes": rd["io_bytes"], "seconds": secs,
            "iops": rd["iops"], "mb_per_s": rd["bw_bytes"] / 1e6,
            "cpu_usr_s": job["usr_cpu"] / 100.0 * secs,
            "cpu_sys_s": job["sys_cpu"] / 100.0 * secs,
        })
        payload += rd["io_bytes"]
    for o in base_outs:
        with open(o) as f:
            payload += json.load(f)["jobs"][0]["read"]["io_bytes"]
    return reps, payload, report, base, wall


def run_bench(cc, args, mode, wl, tmp):
    common = [BENCH, "--mode", mode, "--workload", wl, "--dev", args.dev,
              "--area", str(args.area), "--runtime", str(args.runtime),
              "--reps", str(args.reps)]
    res, report, base, wall = run_process(cc, common, f"{mode}-{wl}", tmp)
    return res["reps"], res["payload_bytes"], report, base, wall, res["qd"]


def summarize(wl, mode, desc, qd, reps, payload, report, base, wall):
    iops = [r["iops"] for r in reps]
    med = statistics.median(iops)
    mid = min(reps, key=lambda r: abs(r["iops"] - med))
    ios = sum(r["ios"] for r in reps)
    cpu = sum(r["cpu_usr_s"] + r["cpu_sys_s"] for r in reps)
    return {
        "workload": wl, "mode": mode, "description": desc, "qd": qd,
        "bs": WORKLOADS[wl][1],
        "iops": med, "iops_min": min(iops), "iops_max": max(iops),
        "mb_per_s": statistics.median(r["mb_per_s"] for r in reps),
        "cpu_us_per_io": cpu / ios * 1e6 if ios else None,
        "reps": reps, "wall_seconds": wall,
        "payload_bytes": payload,
        "copy": copy_summary(report, base, payload, "copied_per_payload_byte"),
    }


def fmt_copy(r):
    c = r["copy"]
    if c["net_copied_bytes"] is None:
        return "n/a", "n/a"
    return f"{c['net_copied_bytes']}", f"{c['copied_per_payload_byte']:.3f}"


def table(results, cc):
    lines = []
    hdr = (f"{'workload':<12} {'mode':<15} {'qd':>3} {'IOPS':>9} {'MB/s':>8} "
           f"{'vs fio':>7} {'CPU us/IO':>9} {'copied B':>12} {'copied/B':>9}")
    lines.append(hdr)
    lines.append("-" * len(hdr))
    for r in results:
        cb, cr = fmt_copy(r)
        cpu = f"{r['cpu_us_per_io']:.1f}" if r["cpu_us_per_io"] is not None else "n/a"
        lines.append(f"{r['workload']:<12} {r['mode']:<15} {r['qd']:>3} {r['iops']:>9.0f} "
                     f"{r['mb_per_s']:>8.1f} {r['ratio_to_fio']:>6.2f}x {cpu:>9} "
                     f"{cb:>12} {cr:>9}")
    lines.append("")
    lines.append("IOPS, MB/s: median of the reps. copied B: payload bytes the CPU copied "
                 "between user and kernel (copycount, "
                 f"{cc.probe or 'unavailable: ' + str(cc.reason)}), minus the same "
                 "process's set-up run (--setup-only; fio: one-I/O runs).")
    lines.append("copied/B: per payload byte read. buffered-pread also memcpy()s every "
                 "byte into the region in user space (not a user/kernel copy).")
    lines.append(NOTE)
    return "\n".join(lines)


def verdict(results):
    out = []
    ok = True
    for wl in WORKLOADS:
        r = next(x for x in results if x["workload"] == wl and x["mode"] == "pt-fixed")
        ratio = r["ratio_to_fio"]
        net = r["copy"]["net_copied_bytes"]
        good_speed = ratio >= 0.9
        good_copy = net == 0
        ok = ok and good_speed and good_copy
        out.append(f"{wl}: pt-fixed at {ratio:.2f}x fio IOPS "
                   f"({'at or above' if good_speed else 'BELOW'} 0.90x), "
                   f"{'0' if good_copy else ('unmeasured' if net is None else net)} "
                   f"payload bytes copied")
    return ok, out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dev", default="/dev/ng0n1")
    ap.add_argument("--area", default="256M")
    ap.add_argument("--runtime", type=float, default=2.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(REPO, "build", "bench"))
    args = ap.parse_args()
    args.area = parse_size(args.area)
    os.makedirs(args.out, exist_ok=True)
    t_start = time.monotonic()

    with tempfile.TemporaryDirectory(prefix="unio-nvme-bench.") as tmp:
        cc = CopyCounter(tmp)
        if cc.args is None:
            log(f"nvme bench: copy counts unavailable ({cc.reason}); running without")
        log(f"nvme bench: writing {args.area >> 20} MiB of {args.dev} with fio "
            "so the reads hit data")
        subprocess.run(["fio", "--name=prep", "--ioengine=io_uring_cmd", "--cmd_type=nvme",
                        f"--filename={args.dev}", "--rw=write", "--bs=128k", "--iodepth=8",
                        f"--size={args.area}", "--output-format=terse",
                        f"--output={os.path.join(tmp, 'prep.txt')}"], check=True)
        results = []
        for wl in WORKLOADS:
            for mode, desc in MODES:
                log(f"nvme bench: {wl} {mode}")
                if mode.startswith("fio"):
                    reps, payload, rep, base, wall = run_fio(cc, args, wl, tmp, mode)
                    qd = WORKLOADS[wl][2]
                else:
                    reps, payload, rep, base, wall, qd = run_bench(cc, args, mode, wl, tmp)
                results.append(summarize(wl, mode, desc, qd, reps, payload, rep, base, wall))
            fio_iops = next(r["iops"] for r in results
                            if r["workload"] == wl and r["mode"] == "fio")
            for r in results:
                if r["workload"] == wl:
                    r["ratio_to_fio"] = r["iops"] / fio_iops if fio_iops else 0.0

    ok, lines = verdict(results)
    data = {
        "benchmark": "unio-nvme-bench", "note": NOTE,
        "system": system_info(),
        "config": {"dev": args.dev, "area": args.area, "runtime": args.runtime,
                   "reps": args.reps, "copycount_probe": cc.probe,
                   "copycount_unavailable": cc.reason},
        "bar": {"met": ok, "detail": lines},
        "wall_seconds": time.monotonic() - t_start,
        "results": results,
    }
    text = table(results, cc) + "\n\nbar (pt-fixed within 10% of fio IOPS, 0 payload " \
        "bytes copied): " + ("MET" if ok else "NOT MET") + "\n  " + "\n  ".join(lines) + \
        f"\nstorage bench took {data['wall_seconds']:.0f} s\n"
    write_outputs(args.out, "nvme", data, text, "nvme-plot.py", "nvme bench")


if __name__ == "__main__":
    main()
