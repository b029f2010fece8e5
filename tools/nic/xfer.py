#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""TCP and UDP traffic with a checked pattern, for tools/nic/test.sh.

  xfer.py recv ADDR PORT BYTES    accept one connection, receive BYTES and
                                  check them; prints "ok BYTES SECS MB/s"
  xfer.py send ADDR PORT BYTES    connect and send BYTES of the pattern
                                  (BYTES 0: until the connection breaks)
  xfer.py udp-burst ADDR PORT N   N UDP GSO sends of 64 KB cut into 600-byte
                                  datagrams: each becomes ~108 frames that
                                  reach the NIC in one go

Byte o of the stream is byte (o + 4099 * (o >> 20)) % 2**20 of a fixed
random 1 MiB block, so lost, duplicated or reordered data is noticed. The
receiver writes "ready" to stderr once it listens.
"""
import random
import socket
import sys
import time

BLOCK = 1 << 20
_base = random.Random(0x7e57).randbytes(BLOCK)


def chunk(j):
    """The pattern's j-th MiB."""
    r = (4099 * j) % BLOCK
    return _base[r:] + _base[:r]


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def recv(addr, port, total):
    ls = socket.socket(family(addr), socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(60)
    print("ready", file=sys.stderr, flush=True)
    c, _ = ls.accept()
    c.settimeout(120)
    got = 0
    start = None
    buf = bytearray(BLOCK)
    view = memoryview(buf)
    want_j, want = -1, b""
    while got < total:
        j, off = divmod(got, BLOCK)
        if j != want_j:
            want_j, want = j, chunk(j)
        n = c.recv_into(view[off:], min(BLOCK, total - j * BLOCK) - off)
        if n == 0:
            print(f"short: {got} of {total} bytes", flush=True)
            return 1
        if start is None:
            start = time.monotonic()
        if view[off:off + n] != want[off:off + n]:
            for i in range(n):
                if buf[off + i] != want[off + i]:
                    print(f"mismatch at byte {got + i}", flush=True)
                    return 1
        got += n
    secs = time.monotonic() - (start or time.monotonic())
    c.close()
    print(f"ok {got} {secs:.2f} {got / 1e6 / max(secs, 1e-6):.1f}", flush=True)
    return 0


def send(addr, port, total):
    s = None
    for _ in range(100):
        try:
            s = socket.create_connection((addr, port), timeout=120)
            break
        except (ConnectionRefusedError, OSError):
            time.sleep(0.1)
    if s is None:
        print("cannot connect", flush=True)
        return 1
    sent, j = 0, 0
    try:
        while total == 0 or sent < total:
            data = chunk(j)
            if total:
                data = data[:total - sent]
            s.sendall(data)
            sent += len(data)
            j += 1
    except OSError as e:
        if total:
            print(f"send: {e}", flush=True)
            return 1
        return 0
    s.shutdown(socket.SHUT_WR)
    s.settimeout(120)
    while s.recv(1):
        pass
    return 0


def udp_burst(addr, port, count):
    udp_segment = getattr(socket, "UDP_SEGMENT", 103)
    s = socket.socket(family(addr), socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_UDP, udp_segment, 600)
    payload = bytes(600 * 108)
    for _ in range(count):
        s.sendto(payload, (addr, port))
    return 0


def main():
    if len(sys.argv) != 5:
        print(__doc__, file=sys.stderr)
        return 2
    mode, addr, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    if mode == "recv":
        return recv(addr, port, n)
    if mode == "send":
        return send(addr, port, n)
    if mode == "udp-burst":
        return udp_burst(addr, port, n)
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
