# SPDX-License-Identifier: GPL-2.0-only
"""Shared by net-run.py and send-run.py: the unionic test NIC pair between two
network namespaces (receiver in RNS, sender in SNS), the programs run in
them, and the module's feature bits.
"""
import json
import os
import subprocess

from benchrun import REPO, TOOLS

NS = os.path.join(TOOLS, "unio-netstream")
UNIFIED_IO = os.path.join(TOOLS, "unified-io")
SYSCOUNT = os.path.join(TOOLS, "syscount")
PORT = 7300
RXQ = 1
RNS, SNS = "unionb-r", "unionb-s"
NIC = "unionb0"
RADDR, SADDR = "10.78.0.1", "10.78.0.2"


def sh(*cmd, check=True):
    return subprocess.run(list(cmd), check=check, capture_output=True, text=True)


def in_ns(ns, cmd):
    return ["nsenter", f"--net=/run/netns/{ns}"] + cmd


def features():
    out = sh(UNIFIED_IO, "-j", "feature").stdout
    return json.loads(out)["features"]


def setup_net(mtu):
    """Two namespaces joined by a unionic pair; None, or why not."""
    teardown_net()
    if sh("ip", "link", "add", NIC, "type", "unionic", check=False).returncode:
        ko = os.path.join(os.environ.get("UNIFIED_IO_KMOD_DIR",
                                         os.path.join(REPO, "drivers", "unio_nic")),
                          "unio_nic.ko")
        if os.environ.get("UNIFIED_IO_GUEST") == "1" and os.path.exists(ko):
            sh("insmod", ko, check=False)
        p = sh("ip", "link", "add", NIC, "type", "unionic", check=False)
        if p.returncode:
            return "the unionic kind does not exist: " + p.stderr.strip()
    for cmd in (["ip", "netns", "add", RNS], ["ip", "netns", "add", SNS],
                ["ip", "link", "set", NIC, "netns", RNS],
                ["ip", "link", "set", NIC + "p", "netns", SNS],
                ["ip", "-n", RNS, "link", "set", NIC, "mtu", str(mtu), "up"],
                ["ip", "-n", SNS, "link", "set", NIC + "p", "mtu", str(mtu), "up"],
                ["ip", "-n", RNS, "addr", "add", RADDR + "/24", "dev", NIC],
                ["ip", "-n", SNS, "addr", "add", SADDR + "/24", "dev", NIC + "p"],
                ["ip", "-n", RNS, "link", "set", "lo", "up"],
                ["ip", "-n", SNS, "link", "set", "lo", "up"],
                in_ns(RNS, ["ethtool", "-N", NIC, "flow-type", "tcp4", "dst-port",
                            str(PORT), "action", str(RXQ)])):
        p = sh(*cmd, check=False)
        if p.returncode:
            return f"{' '.join(cmd)}: {p.stderr.strip()}"
    return None


def teardown_net():
    for ns in (RNS, SNS):
        sh("ip", "netns", "del", ns, check=False)
