#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Network benchmark: one TCP stream received into a unified_io region, four ways.

Run in the guest by tools/bench/run.sh (make bench), on the patched kernel
for the native mode. Jumbo frames (MTU 9000) by default: under TCG the
emulated per-packet work (the test NIC's NAPI, TCP) dominates at MTU 1500
and hides what the receive path itself costs. Over a unionic pair (drivers/unio_nic, the software
header-split NIC) between two network namespaces, queue 1 of the receiving
port steered to the benchmark's port, the same stream (--bytes per flow,
--flows flows in parallel, from unio-netstream send) is received with
unio-netstream recv in each mode:

  native       the region is the queue's page pool memory provider
               (UNIFIED_IO_NET_BIND); RECV descriptors in batches, poll()
               for readiness, buffers back through the refill ring
  native-armed the same binding, one armed RECV per flow (recv --mode
               native --armed): completions read from the CQ without a
               system call, COMPLETE only when it is empty
  zcrx-region  io_uring zero-copy receive with the region's data area as
               its area (the stock kernel's route into the region)
  recv         recv() into region buffers (ALLOC'd): the copying baseline
  (zcrx        io_uring zcrx with an anonymous area, with --modes)

For each flow count, one warm-up transfer per mode, then --reps plain
transfers per mode, interleaved (MiB/s: the median), then per mode one under
syscount (the receiver's system calls, counted in the kernel) and one
under copycount (bytes the CPU copied between user and kernel for the
receiver, minus a --setup-only run of the same command). Every transfer
checks every byte. Two bars are printed: the native mode's against recv()
and issue 14's, native-armed against zcrx-region (receive-loop system calls
per MiB at most a quarter, throughput at least zcrx-region's, no payload
byte copied), at every flow count. The throughput is the median ratio of
back-to-back pairs of reps, with a 90% interval (net-pool.py pools boots).
--armed-ring io_uring runs native-armed as a multishot uring_cmd instead.

Then the store part (--store-flows; needs /dev/ng0n1): the wire -> region ->
BPF -> NVMe pipeline, recv --store /dev/ng0n1 --bpf-stats, in the forms this
unio-netstream has, each --store-reps times, interleaved: native and
native-armed on two rings (the region's ring for the network, libunifiedio's
io_uring for NVMe), and native-armed on one io_uring (--ring io_uring) once
unio-netstream has it. Its figure is every system call of the loop per MiB
stored, counted by the kernel (a perf counter on raw_syscalls:sys_enter in
the receiver), so the NVMe I/O is in it; its bar: one ring below the
two-ring form issue 14 measured (native RECV by poll + SUBMIT).

Writes build/bench/net.json, net.txt and net.png.

usage: net-run.py [--bytes 64M] [--flows 1,4] [--reps 5] [--mtu 9000]
                  [--modes native,native-armed,zcrx-region,recv]
                  [--armed-ring module|io_uring] [--armed-wait BATCH:USECS]
                  [--store-flows 1] [--store-reps 3]
                  [--out DIR]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True
from benchrun import (REPO, TOOLS, CopyCounter, log, median_ci,  # noqa: E402
                      parse_size, system_info, write_outputs)
from netpair import (NIC, NS, PORT, RADDR, RNS, RXQ, SNS, SYSCOUNT,  # noqa: E402
                     features, in_ns, setup_net, sh, teardown_net)

FEAT_NET_RECV = 1 << 7
FEAT_NET_PROVIDER = 1 << 8
FEAT_RECV_ARM = 1 << 10
NVME = "/dev/ng0n1"

MODES = {
    "native": "native provider: the region is the NIC queue's memory (NET_BIND), RECV",
    "native-armed": "native provider, one armed RECV per flow: no system call while data flows",
    "zcrx-region": "io_uring zcrx, the region's data area as the zcrx area",
    "recv": "recv() into region buffers (ALLOC'd): the copying baseline",
    "zcrx": "io_uring zcrx, anonymous memory (upstream reference)",
}
BASELINE = "recv"
# Issue 14's bar: native-armed against zcrx-region.
ARMED, ZCRX = "native-armed", "zcrx-region"
# The store part's forms: (name, recv arguments, ring).
STORE_FORMS = [
    ("native", ["--mode", "native"], "two"),
    ("native-armed", ["--mode", "native", "--armed"], "two"),
    ("native-armed", ["--mode", "native", "--armed", "--ring", "io_uring"], "one"),
    # Issue 15: each flow stored contiguously (SGL gather), against the
    # per-buffer slots of the forms above.
    ("native-armed-stream", ["--mode", "native", "--armed", "--store-layout", "stream"],
     "two"),
]
NOTE = ("Absolute figures under QEMU TCG emulation are not hardware figures; only ratios "
        "between modes within one boot mean something. System call and copy counts do not "
        "depend on emulation. The test NIC's simulated DMA (unio_nic copies each frame's "
        "payload into page-pool buffers in its NAPI poll) is the device's work and is not "
        "counted as a CPU copy.")


def queue_stats():
    """rxN_packets / rxN_hds_bytes of the receiving port, from ethtool -S."""
    out = sh(*in_ns(RNS, ["ethtool", "-S", NIC]), check=False).stdout
    stats = {}
    for line in out.splitlines():
        k, _, v = line.strip().partition(":")
        if v.strip().isdigit():
            stats[k] = int(v)
    return stats


def mode_args(args, mode):
    """recv's arguments for a mode of the table."""
    if mode == ARMED:
        extra = []
        if args.armed_wait:
            batch, _, usecs = args.armed_wait.partition(":")
            extra = ["--wait-batch", batch, "--wait-usecs", usecs]
        if args.armed_ring != "module":
            extra += ["--ring", args.armed_ring]
        return ["--mode", "native", "--armed"] + extra
    return ["--mode", mode]


def transfer(args, mode, flows, tmp, tag, wrapper=None, setup_only=False, recv_args=None,
             nbytes=None):
    """One transfer; (receiver's report, wrapper's report or None). recv_args
    replaces the mode's own arguments (the store part)."""
    ready = os.path.join(tmp, "ready")
    rjson = os.path.join(tmp, tag + ".json")
    wjson = os.path.join(tmp, tag + ".wrap.json")
    for f in (ready, rjson, wjson):
        if os.path.exists(f):
            os.unlink(f)
    recv = [NS, "recv"] + (recv_args or mode_args(args, mode)) + [
        "--port", str(PORT), "--flows", str(flows),
        "--data-size", args.data_size, "--ready", ready, "-Q", "-j", "-o", rjson,
        "--timeout", "60"]
    if mode != "recv":
        recv += ["--ifname", NIC, "--rxq", str(RXQ)]
    if setup_only:
        recv.append("--setup-only")
    cmd = recv if wrapper is None else wrapper + ["-j", "-o", wjson, "--"] + recv
    rerr = open(os.path.join(tmp, tag + ".err"), "w")
    p = subprocess.Popen(in_ns(RNS, cmd), stdout=subprocess.DEVNULL, stderr=rerr)
    deadline = time.monotonic() + 60
    while not os.path.exists(ready) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    cpu0, split0 = guest_cpu(), guest_cpu_split()
    if not setup_only and os.path.exists(ready):
        s = subprocess.run(in_ns(SNS, [NS, "send", f"{RADDR}:{PORT}", "--flows", str(flows),
                                       "--bytes", str(nbytes or args.bytes), "-Q",
                                       "--timeout", "60"]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if s.returncode:
            log(f"net bench: sender failed: {s.stderr.strip()}")
    rc = p.wait(timeout=180)
    cpu1, split1 = guest_cpu(), guest_cpu_split()
    rerr.close()
    try:
        with open(rjson) as f:
            rep = json.load(f)
    except (OSError, ValueError):
        rep = None
    if rc or rep is None or not rep["verify"]["ok"]:
        with open(os.path.join(tmp, tag + ".err")) as f:
            err = f.read().strip().splitlines()
        raise RuntimeError(f"{mode}, {flows} flows ({tag}): exit status {rc}: "
                           + (err[-1] if err else (rep or {}).get("verify", {}).get("detail", "?")))
    rep["guest_cpu_s"] = cpu1 - cpu0
    rep["guest_cpu_split_s"] = {k: split1[k] - split0[k] for k in split0}
    wrap = None
    if wrapper is not None:
        with open(wjson) as f:
            wrap = json.load(f)
    return rep, wrap


def guest_cpu():
    """Busy CPU seconds of the whole guest so far (/proc/stat: every CPU's
    time but idle and iowait): the receiver, the sender, softirq, the test
    NIC's NAPI poll and kernel workers alike."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def guest_cpu_split():
    """/proc/stat's busy fields, in seconds: user, nice, system, irq, softirq."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    return {"user": v[0] / hz, "nice": v[1] / hz, "system": v[2] / hz,
            "irq": v[5] / hz, "softirq": v[6] / hz}


def run_reps(args, modes, flows, tmp):
    """--reps plain transfers per mode, interleaved (A B C A B C ...), so a
    change of load on the host (TCG shares its CPUs) weighs on every mode
    alike. Returns {mode: [reports]} and the queue counters' growth."""
    reps = {m: [] for m in modes}
    # Warm-up, not counted: TCG translates the code of a path the first
    # time it runs, and the first transfer of a mode pays for it.
    warm = argparse.Namespace(**vars(args))
    warm.bytes = min(args.bytes, 8 << 20)
    for mode in modes:
        transfer(warm, mode, flows, tmp, f"{mode}-{flows}-warm")
    q0 = queue_stats()
    for i in range(args.reps):
        for mode in modes:
            rep, _ = transfer(args, mode, flows, tmp, f"{mode}-{flows}-{i}")
            reps[mode].append(rep)
    q1 = queue_stats()
    return reps, {k: q1.get(k, 0) - q0.get(k, 0) for k in (f"rx{RXQ}_packets",
                                                            f"rx{RXQ}_hds_bytes")}


def run_mode(args, cc, mode, flows, tmp, reps, queue):
    tag = f"{mode}-{flows}"
    stream = (args.bytes + 64) * flows
    mib = args.bytes * flows / 1048576.0
    rates = [r["mib_per_s"] for r in reps]
    med = statistics.median(rates)
    mid = min(reps, key=lambda r: abs(r["mib_per_s"] - med))

    sc_rep, sc = transfer(args, mode, flows, tmp, f"{tag}-sc", wrapper=[SYSCOUNT])
    copy = {"payload_copied_bytes": None, "fixed_copied_bytes": None,
            "net_copied_bytes": None, "copied_per_byte": None}
    if cc.args is not None:
        _, base = transfer(args, mode, flows, tmp, f"{tag}-ccbase",
                           wrapper=[os.path.join(TOOLS, "copycount")] + cc.args,
                           setup_only=True)
        _, full = transfer(args, mode, flows, tmp, f"{tag}-cc",
                           wrapper=[os.path.join(TOOLS, "copycount")] + cc.args)
        raw, fixed = full["payload"]["bytes"], base["payload"]["bytes"]
        net = max(raw - fixed, 0)
        copy = {"payload_copied_bytes": raw, "fixed_copied_bytes": fixed,
                "net_copied_bytes": net, "copied_per_byte": net / stream,
                "mode": full.get("mode"), "report": full, "baseline_report": base}
    k = mid["copies"].get("kernel") or {}
    loop = mid["syscalls"]
    sc_total = sc["total"] if sc else None
    return {
        "mode": mode, "flows": flows, "description": MODES[mode],
        "bytes_per_flow": args.bytes, "payload_bytes": args.bytes * flows,
        "stream_bytes": stream,
        "mib_per_s": med, "mib_per_s_min": min(rates), "mib_per_s_max": max(rates),
        "reps": [{"mib_per_s": r["mib_per_s"], "seconds": r["seconds"],
                  "cpu_user_s": r["cpu_user_s"], "cpu_sys_s": r["cpu_sys_s"],
                  "guest_cpu_s": r["guest_cpu_s"],
                  "guest_cpu_split_s": r["guest_cpu_split_s"],
                  "syscalls": r["syscalls"]["total"]} for r in reps],
        "cpu_s_per_gib": (mid["cpu_user_s"] + mid["cpu_sys_s"]) / (mib / 1024.0),
        "guest_cpu_s_per_gib": mid["guest_cpu_s"] / (mib / 1024.0),
        "syscalls_per_mib": loop["per_mib"],
        "syscalls_loop": loop,
        "syscalls_kernel_per_mib": (loop.get("kernel") or {}).get("per_mib"),
        "retries": mid.get("retries"),
        "armed": mid.get("armed"),
        "syscount": {"total": sc_total,
                     "per_mib": sc_total / mib if sc_total is not None else None,
                     "syscalls": sc["syscalls"] if sc else None,
                     "loop_counted_by_program": sc_rep["syscalls"]["total"]},
        "copy": copy,
        "fallback_copy": {"source": k.get("source"), "bytes": k.get("bytes"),
                          "per_byte": (k["bytes"] / stream) if k.get("bytes") is not None
                          else None},
        "net_info": mid.get("net_info"),
        "queue_all_modes": queue,
    }


def fmt(v, spec, none="n/a"):
    return none if v is None else format(v, spec)


def table(results, skipped, cc):
    lines = []
    hdr = (f"{'flows':>5} {'mode':<12} {'MiB/s':>8} {'vs recv':>8} {'CPU s/GiB':>9} "
           f"{'all CPU':>8} "
           f"{'sc/MiB':>7} {'sc/MiB+':>8} {'sc/MiB*':>8} {'copied/B':>9} {'fallback/B':>10}")
    lines += [hdr, "-" * len(hdr)]
    for r in results:
        lines.append(
            f"{r['flows']:>5} {r['mode']:<12} {r['mib_per_s']:>8.1f} "
            f"{fmt(r.get('ratio_to_recv'), '.2f') + 'x':>8} {r['cpu_s_per_gib']:>9.1f} "
            f"{r['guest_cpu_s_per_gib']:>8.1f} "
            f"{r['syscalls_per_mib']:>7.2f} {fmt(r['syscalls_kernel_per_mib'], '.2f'):>8} "
            f"{fmt(r['syscount']['per_mib'], '.2f'):>8} "
            f"{fmt(r['copy']['copied_per_byte'], '.3f'):>9} "
            f"{fmt(r['fallback_copy']['per_byte'], '.3f'):>10}")
    for mode, why in skipped.items():
        lines.append(f"      {mode:<12} skipped: {why}")
    lines += [
        "",
        "MiB/s: payload, median of the reps (first connection to last EOF, receiver side); "
        "vs recv: ratio to the recv() baseline with the same flows.",
        "CPU s/GiB: the receiving process's user+system CPU per GiB (median rep); "
        "all CPU: every busy CPU second of the guest per GiB over the same transfer "
        "(receiver, sender, softirq, the test NIC, kernel workers; /proc/stat).",
        "sc/MiB: system calls of the receive loop per MiB, counted by unio-netstream "
        "(poll, ioctl SUBMIT and COMPLETE, recvfrom, io_uring_enter, io_uring_register); "
        "sc/MiB+: every system call of the loop, counted by the kernel (a perf counter on "
        "raw_syscalls:sys_enter in the receiver: sc/MiB plus the close() at each end of "
        "stream); sc/MiB*: every system call of the receiving process, set-up included, "
        "counted in the kernel by syscount.",
        "copied/B: payload bytes the CPU copied between user and kernel memory for the "
        f"receiver (copycount, {cc.probe or 'unavailable: ' + str(cc.reason)}), minus its "
        "--setup-only run, per stream byte.",
        "fallback/B: bytes the kernel copied into region (or zcrx) buffers because they did "
        "not arrive in one (GET_INFO net.copy_bytes; zcrx_stats.copy_bytes), per stream "
        "byte; kernel-to-kernel, so copycount does not see them. recv: every byte, by "
        "copy_to_user.",
        NOTE,
    ]
    return "\n".join(lines)


def verdict(results):
    out, ok = [], True
    for flows in sorted({r["flows"] for r in results}):
        by = {r["mode"]: r for r in results if r["flows"] == flows}
        if "native" not in by or BASELINE not in by:
            continue
        n, b = by["native"], by[BASELINE]
        copy0 = n["copy"]["net_copied_bytes"] in (0, None)
        fb = n["fallback_copy"]["per_byte"]
        good = copy0 and (fb is None or fb <= 0.01) and \
            n["syscalls_per_mib"] < b["syscalls_per_mib"]
        ok = ok and good
        out.append(f"{flows} flow(s): native {n['ratio_to_recv']:.2f}x recv() throughput, "
                   f"{n['syscalls_per_mib']:.2f} vs {b['syscalls_per_mib']:.2f} system calls "
                   f"per MiB, {fmt(n['copy']['net_copied_bytes'], 'd', 'unmeasured')} bytes "
                   f"copied user<->kernel, fallback copies {fmt(fb, '.4f')} per byte")
    return ok, out


def paired_ratios(a, z):
    """Throughput of rep i of one mode over rep i of the other: the two ran
    back to back (run_reps interleaves them), so a change of the host's load
    weighs on both halves of a pair alike."""
    return [x["mib_per_s"] / y["mib_per_s"] for x, y in zip(a["reps"], z["reps"])
            if y["mib_per_s"]]


def armed_verdict(results):
    """Issue 14's bar, which asks for 1 and 4 flows: (met, lines). met is
    None (not measured) when native-armed or zcrx-region did not run at
    both flow counts, or a figure the bar needs is missing (no copycount,
    zcrx-region at 0 system calls or 0 MiB/s)."""
    out, ok, measured, pooled = [], True, True, []
    for flows in (1, 4):
        by = {r["mode"]: r for r in results if r["flows"] == flows}
        if ARMED not in by or ZCRX not in by:
            out.append(f"{flows} flow(s): not measured (native-armed or zcrx-region did not run)")
            measured = False
            continue
        a, z = by[ARMED], by[ZCRX]
        copied = a["copy"]["net_copied_bytes"]
        # The loop's system calls as the kernel counted them (sc/MiB+):
        # unio-netstream counts one io_uring_enter per unio_reap() call
        # that may sleep, and a call can enter more than once.
        sa, sz = a["syscalls_kernel_per_mib"], z["syscalls_kernel_per_mib"]
        if copied is None or not sa or not sz or not z["mib_per_s"]:
            out.append(f"{flows} flow(s): not measured (no copycount figure, no kernel count "
                       f"of the loop's system calls, or zcrx-region at 0 MiB/s)")
            measured = False
            continue
        sc_ok = sa <= sz / 4
        pairs = paired_ratios(a, z)
        if not pairs:
            out.append(f"{flows} flow(s): not measured (no rep of zcrx-region moved data)")
            measured = False
            continue
        tp, lo, hi, cov = median_ci(pairs)
        tp_ok = tp >= 1.0
        cp_ok = copied == 0
        good = sc_ok and tp_ok and cp_ok
        ok = ok and good
        cpu_x = (f" ({a['cpu_s_per_gib'] / z['cpu_s_per_gib']:.2f}x)"
                 if z["cpu_s_per_gib"] else "")
        noise = ("; the interval holds 1x: parity within this run's noise"
                 if lo <= 1.0 <= hi else "")
        out.append(
            f"{flows} flow(s): {'MET' if good else 'NOT MET'}: receive-loop system calls per "
            f"MiB (counted by the kernel) {sa:.2f} vs zcrx-region {sz:.2f} "
            f"({sa / sz:.3f}x, at most 0.25x: "
            f"{'yes' if sc_ok else 'no'}); throughput {a['mib_per_s']:.1f} vs "
            f"{z['mib_per_s']:.1f} MiB/s, median of {len(pairs)} back-to-back pairs "
            f"{tp:.2f}x (at least 1x: {'yes' if tp_ok else 'no'}; {cov:.0%} interval "
            f"{lo:.2f}x to {hi:.2f}x{noise}); receiver CPU per GiB {a['cpu_s_per_gib']:.2f} "
            f"vs {z['cpu_s_per_gib']:.2f} s{cpu_x}; "
            f"payload bytes copied user<->kernel {copied} (0: {'yes' if cp_ok else 'no'}); "
            f"kernel fallback copies {fmt(a['fallback_copy']['per_byte'], '.4f')} per byte")
        pooled.append({"flows": flows, "paired_ratios": pairs, "median": tp,
                       "interval": [lo, hi], "coverage": cov})
    return (ok if measured else None), out, pooled


def store_part(args, tmp, have):
    """The wire -> region -> BPF -> NVMe pipeline, recv --store, in each form
    this unio-netstream has, --store-reps times interleaved. Returns
    (rows, skipped, bar)."""
    rows, skipped = [], {}
    forms = []
    for name, rargs, ring in STORE_FORMS:
        key = f"{name} ({ring} ring{'s' if ring == 'two' else ''})"
        if "--armed" in rargs and not have["armed"]:
            skipped[key] = have["armed_why"]
        elif ring == "one" and not have["ring"]:
            skipped[key] = ("this unio-netstream has no --ring io_uring (the region's "
                            "operations on the application's io_uring: libunifiedio's "
                            "io_uring path and the module's uring_cmd)")
        else:
            forms.append((key, name, rargs, ring))
    if not forms:
        return rows, skipped, None
    nbytes = args.store_bytes
    for flows in [int(x) for x in args.store_flows.split(",")]:
        reps = {f[0]: [] for f in forms}
        extra = ["--store", NVME, "--bpf-stats", "--ifname", NIC, "--rxq", str(RXQ)]
        warm = min(nbytes, 8 << 20)
        log(f"net bench: store: {flows} flow(s) x {nbytes >> 20} MiB, {args.store_reps} reps "
            f"of {', '.join(f[0] for f in forms)}, interleaved")
        try:
            for key, name, rargs, ring in forms:
                transfer(args, name, flows, tmp, f"store-{name}-{ring}-{flows}-warm",
                         recv_args=rargs + extra, nbytes=warm)
            for i in range(args.store_reps):
                for key, name, rargs, ring in forms:
                    rep, _ = transfer(args, name, flows, tmp,
                                      f"store-{name}-{ring}-{flows}-{i}",
                                      recv_args=rargs + extra, nbytes=nbytes)
                    if not rep["store"]["verified"]:
                        raise RuntimeError(f"store, {key}: {rep['store']['detail']}")
                    reps[key].append(rep)
        except RuntimeError as e:
            log(f"net bench: store: {e}")
            skipped[f"store, {flows} flows"] = str(e)
            continue
        for key, name, rargs, ring in forms:
            rs = reps[key]
            mib = nbytes * flows / 1048576.0
            kern = [r["syscalls"]["kernel"]["total"] for r in rs if r["syscalls"].get("kernel")]
            rates = [r["mib_per_s"] for r in rs]
            med = statistics.median(rates)
            mid = min(rs, key=lambda r: abs(r["mib_per_s"] - med))
            st = mid["store"]
            rows.append({
                "form": key, "mode": name, "ring": ring, "flows": flows,
                "command": rargs + extra, "bytes_per_flow": nbytes, "payload_bytes": nbytes * flows,
                "mib_per_s": med, "mib_per_s_min": min(rates), "mib_per_s_max": max(rates),
                "syscalls_per_mib_stored": statistics.median(kern) / mib if kern else None,
                "syscalls_per_mib_stored_reps": [k / mib for k in kern],
                "syscalls_kernel_unavailable": None if kern else
                mid["syscalls"].get("kernel_unavailable", "?"),
                "receive_loop_syscalls_per_mib": mid["syscalls"]["per_mib"],
                "receive_loop_by_name": mid["syscalls"]["by_name"],
                "store_writes": st["writes"], "store_bytes_written": st["bytes_written"],
                "store_layout": st.get("layout", "slots"),
                "lba_size": st.get("lba_size"),
                # Slots: one command per buffer written; a stream's gathers
                # may take several.
                "nvme_commands": st.get("nvme_commands", st["writes"]),
                "nvme_commands_per_mib": st.get("nvme_commands", st["writes"]) / mib,
                "drive_bytes_per_byte": st["bytes_written"] / mid["stream_bytes"],
                "store_copied_bytes": st.get("copied_bytes", 0),
                "recv_copied_bytes": (mid.get("net_info") or {}).get("copy_bytes"),
                "store_submit_calls": st.get("submit_calls"),
                "store_reap_calls": st.get("reap_calls"),
                "bpf_bytes": (mid.get("bpf_stats") or {}).get("bytes"),
                "retries": mid.get("retries"),
                "verified": all(r["store"]["verified"] for r in rs),
            })
    lines, met = [], None
    for flows in sorted({r["flows"] for r in rows}):
        by = {(r["mode"], r["ring"]): r for r in rows if r["flows"] == flows}
        # The bar's baseline is the two-ring form issue 14 measured: native
        # RECV (poll + SUBMIT) on the module's ring, NVMe on libunifiedio's.
        old, one = by.get(("native", "two")), by.get((ARMED, "one"))
        figs = ", ".join(f"{r['form']} {fmt(r['syscalls_per_mib_stored'], '.2f')}"
                         for r in rows if r["flows"] == flows)
        if old is None or one is None:
            lines.append(f"{flows} flow(s): not measured (no one-ring form here); system "
                         f"calls per MiB stored: {figs}")
            continue
        a, b = one["syscalls_per_mib_stored"], old["syscalls_per_mib_stored"]
        good = a is not None and b is not None and a < b
        met = good if met is None else met and good
        lines.append(f"{flows} flow(s): {'MET' if good else 'NOT MET'}: one ring "
                     f"{fmt(a, '.2f')} vs two rings (native poll + SUBMIT) {fmt(b, '.2f')} "
                     f"system calls per MiB stored; {figs}")
        # Armed receive on the module's ring needs no system call either.
        two = by.get((ARMED, "two"))
        if two is not None and a is not None and two["syscalls_per_mib_stored"]:
            c = two["syscalls_per_mib_stored"]
            lines.append(f"  (not the bar: against armed RECV on the module's ring, which "
                         f"enters the kernel as seldom, one ring {a:.2f} vs {c:.2f}, "
                         f"{a / c:.2f}x: the NVMe writes make nearly all of both)")
        # Issue 15's bars: the per-chunk store (slots) against the stream.
        slots, stream = by.get((ARMED, "two")), by.get(("native-armed-stream", "two"))
        if slots is not None and stream is not None:
            wa_ok = stream["drive_bytes_per_byte"] <= 1.0 + flows * (
                stream["lba_size"] or 4096) / (stream["payload_bytes"] + 64 * flows)
            cmd_x = stream["nvme_commands_per_mib"] / slots["nvme_commands_per_mib"]
            lines.append(
                f"  issue 15, {flows} flow(s): drive bytes per byte received: slots "
                f"{slots['drive_bytes_per_byte']:.3f}, stream {stream['drive_bytes_per_byte']:.4f} "
                f"({'MET' if wa_ok else 'NOT MET'}: at most 1 + a block per flow); NVMe commands "
                f"per MiB: slots {slots['nvme_commands_per_mib']:.1f}, stream "
                f"{stream['nvme_commands_per_mib']:.1f} ({cmd_x:.3f}x, "
                f"{'MET' if cmd_x <= 0.125 else 'NOT MET'}: at most 1/8); bytes copied by the "
                f"store {stream['store_copied_bytes']}, by RECV {stream['recv_copied_bytes']}; "
                f"throughput stream/slots {stream['mib_per_s'] / slots['mib_per_s']:.2f}x")
    return rows, skipped, {"met": met, "detail": lines}


def store_table(rows, skipped):
    lines = []
    hdr = (f"{'flows':>5} {'form':<33} {'MiB/s':>8} {'sc/MiB stored':>13} "
           f"{'recv loop sc/MiB':>16} {'NVMe submit+reap calls':>22} {'drive B/B':>9} "
           f"{'NVMe cmd/MiB':>12}")
    lines += [hdr, "-" * len(hdr)]
    for r in rows:
        calls = (f"{r['store_submit_calls']}+{r['store_reap_calls']}"
                 if r["store_submit_calls"] is not None else "n/a")
        lines.append(f"{r['flows']:>5} {r['form']:<33} {r['mib_per_s']:>8.1f} "
                     f"{fmt(r['syscalls_per_mib_stored'], '.2f'):>13} "
                     f"{r['receive_loop_syscalls_per_mib']:>16.2f} {calls:>22} "
                     f"{r['drive_bytes_per_byte']:>9.4f} {r['nvme_commands_per_mib']:>12.1f}")
    for form, why in skipped.items():
        lines.append(f"      {form:<33} skipped: {why}")
    lines += [
        "",
        "The wire -> region -> BPF -> NVMe pipeline (recv --store /dev/ng0n1 --bpf-stats), "
        "every byte written to the drive before its buffer goes back, read back and checked "
        "at the end (not timed). sc/MiB stored: every system call of the loop, NVMe I/O "
        "included, counted by the kernel, per MiB of payload (median of the reps); recv "
        "loop sc/MiB: those of the receive side alone, counted by unio-netstream. "
        "drive B/B: bytes written to the drive per byte received (slots: a whole buffer per "
        "chunk; stream: each flow contiguous, padded to a block at its end); NVMe cmd/MiB: "
        "passthrough commands per MiB received.",
    ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bytes", default="64M", help="payload per flow")
    ap.add_argument("--flows", default="1,4", help="flow counts, comma-separated")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--mtu", type=int, default=9000)
    ap.add_argument("--data-size", default="128M", help="region data area / zcrx area")
    ap.add_argument("--modes", default="native,native-armed,zcrx-region,recv")
    ap.add_argument("--armed-ring", default="module", choices=("module", "io_uring"),
                    help="native-armed of the table: on the module's ring (default) or "
                    "as a multishot uring_cmd on io_uring (recv --ring io_uring)")
    ap.add_argument("--armed-wait", default=None, metavar="BATCH:USECS",
                    help="native-armed: --wait-batch and --wait-usecs (default: "
                    "unio-netstream's)")
    ap.add_argument("--store-flows", default="1",
                    help="flow counts of the store part, comma-separated ('' skips it)")
    ap.add_argument("--store-reps", type=int, default=3)
    ap.add_argument("--store-bytes", default=None, help="payload per flow (default --bytes)")
    ap.add_argument("--out", default=os.path.join(REPO, "build", "bench"))
    args = ap.parse_args()
    if args.reps < 1 or args.store_reps < 1:
        ap.error("--reps and --store-reps take at least 1 (a median of nothing is no figure); "
                 "--store-flows '' skips the store part")
    args.bytes = parse_size(args.bytes)
    args.store_bytes = parse_size(args.store_bytes) if args.store_bytes else args.bytes
    flow_counts = [int(x) for x in args.flows.split(",")]
    modes = args.modes.split(",")
    for m in modes:
        if m not in MODES:
            sys.exit(f"net bench: unknown mode {m}")
    os.makedirs(args.out, exist_ok=True)
    t_start = time.monotonic()

    feats = features()
    skipped = {}
    if "native" in modes and not feats & FEAT_NET_PROVIDER:
        skipped["native"] = ("this kernel has no UNIFIED_IO_FEAT_NET_PROVIDER "
                             "(run on the patched kernel: tools/vm/run --kernel patched)")
    if "native" in modes and not feats & FEAT_NET_RECV:
        skipped["native"] = "the module has no UNIFIED_IO_FEAT_NET_RECV"
    have = {"armed": False, "armed_why": None,
            "ring": "--ring" in sh(NS, "--help", check=False).stdout}
    if not feats & FEAT_NET_PROVIDER:
        have["armed_why"] = ("this kernel has no UNIFIED_IO_FEAT_NET_PROVIDER "
                             "(run on the patched kernel: tools/vm/run --kernel patched)")
    elif not feats & FEAT_RECV_ARM:
        have["armed_why"] = "the module has no UNIFIED_IO_FEAT_RECV_ARM"
    else:
        have["armed"] = True
    if ARMED in modes and not have["armed"]:
        skipped[ARMED] = have["armed_why"]
    why = setup_net(args.mtu)
    if why:
        log(f"net bench: skipped: {why}")
        data = {"benchmark": "unio-netstream", "note": NOTE, "skipped": why,
                "system": system_info(), "results": []}
        write_outputs(args.out, "net", data, f"net bench skipped: {why}\n", "net-plot.py",
                      "net bench")
        return
    results = []
    store_rows, store_skipped, store_bar = [], {}, None
    try:
        with tempfile.TemporaryDirectory(prefix="unio-net-bench.") as tmp:
            cc = CopyCounter(tmp)
            if cc.args is None:
                log(f"net bench: copy counts unavailable ({cc.reason})")
            for flows in flow_counts:
                run = [m for m in modes if m not in skipped]
                log(f"net bench: {flows} flow(s) x {args.bytes >> 20} MiB, {args.reps} reps "
                    f"of {', '.join(run)}, interleaved")
                try:
                    reps, queue = run_reps(args, run, flows, tmp)
                except RuntimeError as e:
                    log(f"net bench: {e}")
                    skipped[f"{flows} flows"] = str(e)
                    continue
                for mode in run:
                    log(f"net bench: {flows} flow(s), {mode} under syscount and copycount")
                    try:
                        results.append(run_mode(args, cc, mode, flows, tmp, reps[mode],
                                                queue))
                    except RuntimeError as e:
                        log(f"net bench: {e}")
                        skipped[mode] = str(e)
            if not args.store_flows:
                store_skipped["all"] = "--store-flows ''"
            elif not os.path.exists(NVME):
                store_skipped["all"] = f"no {NVME} in this machine"
            elif not feats & FEAT_NET_PROVIDER or not feats & FEAT_NET_RECV:
                store_skipped["all"] = ("this kernel has no UNIFIED_IO_FEAT_NET_PROVIDER: the "
                                        "pipeline's forms are native (tools/vm/run --kernel "
                                        "patched)")
            else:
                store_rows, more, store_bar = store_part(args, tmp, have)
                store_skipped.update(more)
    finally:
        teardown_net()
    for r in results:
        base = next((b for b in results if b["flows"] == r["flows"]
                     and b["mode"] == BASELINE), None)
        r["ratio_to_recv"] = r["mib_per_s"] / base["mib_per_s"] if base else None
    ok, lines = verdict(results)
    armed_ok, armed_lines, armed_pairs = armed_verdict(results)
    data = {
        "benchmark": "unio-netstream", "note": NOTE,
        "system": system_info(features=feats),
        "config": {"bytes_per_flow": args.bytes, "flows": flow_counts, "reps": args.reps,
                   "mtu": args.mtu, "nic": "unionic (drivers/unio_nic)", "rxq": RXQ,
                   "data_size": args.data_size, "copycount_probe": cc.probe,
                   "copycount_unavailable": cc.reason},
        "skipped": skipped,
        "bar": {"met": ok, "detail": lines},
        "bar_armed": {"met": armed_ok, "detail": armed_lines, "throughput": armed_pairs},
        "store": {"results": store_rows, "skipped": store_skipped, "bar": store_bar,
                  "bytes_per_flow": args.store_bytes, "reps": args.store_reps},
        "wall_seconds": time.monotonic() - t_start,
        "results": results,
    }
    text = table(results, skipped, cc) + "\n\nbar (native: no user<->kernel payload copy, " \
        "fallback copies at most 1%, fewer system calls per MiB than recv()): " + \
        ("MET" if ok and lines else "NOT MET" if lines else "not measured (no native run)") + \
        "".join("\n  " + x for x in lines) + \
        "\n\nbar of issue 14 (native-armed against zcrx-region, same boot: receive-loop " \
        "system calls per MiB at most a quarter, throughput at least zcrx-region's, 0 " \
        "payload bytes copied): " + \
        ("MET" if armed_ok else "NOT MET" if armed_ok is not None else
         "not measured (native-armed or zcrx-region did not run)") + \
        "".join("\n  " + x for x in armed_lines) + \
        "\n\nstore: wire -> region -> BPF -> NVMe\n" + store_table(store_rows, store_skipped) + \
        "\n\nbar of issue 14 (the pipeline on one io_uring: fewer system calls per MiB " \
        "stored than the two-ring version the issue measured, native poll + SUBMIT): " + \
        ("not measured" if not store_bar or store_bar["met"] is None else
         "MET" if store_bar["met"] else "NOT MET") + \
        "".join("\n  " + x for x in (store_bar or {}).get("detail", [])) + \
        "\n" + NOTE + \
        f"\nnetwork bench took {data['wall_seconds']:.0f} s\n"
    write_outputs(args.out, "net", data, text, "net-plot.py", "net bench")


if __name__ == "__main__":
    main()
