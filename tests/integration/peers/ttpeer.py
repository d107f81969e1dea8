#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A hand-made peer of the tuntap router, and a ping, for its integration tests.

  ttpeer.py ping ADDR [--timeout S]
      one ICMP (or ICMPv6) echo over a raw socket; exit 0 on its reply.
  ttpeer.py peer SOCKET STEP...
      connect to the router's unix stream socket and run the steps in order;
      exit 0 when every step did what it says. Steps:
        echo SRC DST       an echo request SRC -> DST in a frame; wait for the
                           echo reply DST -> SRC (3 s)
        send SRC DST       the same request, no wait
        noreply            no echo reply arrives within 1 s
        garbage            bytes that are no frame (modifier1 0xde)
        badpkt             a frame whose packet is not IP (version 9)
        badpkts N          N such frames
        rules              a uWSGI rule block (modifier2 1, 24 bytes): skipped
        eof                the router closes the connection within 3 s
        sleep S            wait S seconds
        waitfile PATH      wait (up to 10 s) until PATH exists

Frames are uWSGI's tuntap framing: modifier1 0, u16 LE payload size,
modifier2 (0 packet, 1 rules), then the payload. Packets are built by hand:
IPv4 header (checksum), ICMP echo; IPv6 header, ICMPv6 echo with the
pseudo-header checksum.
"""
import os
import select
import socket
import struct
import sys
import time

IDENT = os.getpid() & 0xFFFF


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def is_v6(addr):
    return ":" in addr


def echo_packet(src, dst, seq, reply=False):
    payload = b"imperium-tuntap-" + struct.pack("!H", seq) * 8
    if is_v6(src):
        typ = 129 if reply else 128
        s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
        icmp = struct.pack("!BBHHH", typ, 0, 0, IDENT, seq) + payload
        pseudo = s + d + struct.pack("!I3xB", len(icmp), 58)
        icmp = icmp[:2] + struct.pack("!H", csum(pseudo + icmp)) + icmp[4:]
        return struct.pack("!IHBB", 6 << 28, len(icmp), 58, 64) + s + d + icmp
    typ = 0 if reply else 8
    icmp = struct.pack("!BBHHH", typ, 0, 0, IDENT, seq) + payload
    icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(icmp), seq, 0, 64, 1, 0,
                      socket.inet_aton(src), socket.inet_aton(dst))
    hdr = hdr[:10] + struct.pack("!H", csum(hdr)) + hdr[12:]
    return hdr + icmp


def is_reply(pkt, src, dst, seq):
    """pkt is the echo reply from dst to src with our ident and seq."""
    if is_v6(src):
        if len(pkt) < 48 or pkt[0] >> 4 != 6 or pkt[6] != 58:
            return False
        return (pkt[8:24] == socket.inet_pton(socket.AF_INET6, dst) and
                pkt[24:40] == socket.inet_pton(socket.AF_INET6, src) and
                pkt[40] == 129 and struct.unpack("!HH", pkt[44:48]) == (IDENT, seq))
    if len(pkt) < 28 or pkt[0] >> 4 != 4 or pkt[9] != 1:
        return False
    ihl = (pkt[0] & 15) * 4
    return (pkt[12:16] == socket.inet_aton(dst) and pkt[16:20] == socket.inet_aton(src) and
            pkt[ihl] == 0 and struct.unpack("!HH", pkt[ihl + 4:ihl + 8]) == (IDENT, seq))


def frame(payload, modifier2=0):
    return struct.pack("<BHB", 0, len(payload), modifier2) + payload


class Peer:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.s.connect(path)
        self.buf = b""
        self.closed = False
        self.seq = 0

    def read_frame(self, deadline):
        """The next packet from the router, None on timeout or end of file."""
        while True:
            if len(self.buf) >= 4:
                size = struct.unpack("<H", self.buf[1:3])[0]
                if len(self.buf) >= 4 + size:
                    p, self.buf = self.buf[4:4 + size], self.buf[4 + size:]
                    return p
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                return None
            r, _, _ = select.select([self.s], [], [], left)
            if not r:
                return None
            try:
                d = self.s.recv(65536)
            except ConnectionError:
                d = b""
            if not d:
                self.closed = True
                return None
            self.buf += d

    def wait_reply(self, src, dst, seq, secs):
        deadline = time.monotonic() + secs
        while True:
            p = self.read_frame(deadline)
            if p is None:
                return False
            if is_reply(p, src, dst, seq):
                return True

    def send(self, data):
        try:
            self.s.sendall(data)
            return True
        except (BrokenPipeError, ConnectionError):
            return False


def run_peer(path, steps):
    p = Peer(path)
    ok = True
    last = None
    i = 0
    while i < len(steps):
        step = steps[i]
        i += 1
        if step in ("echo", "send"):
            src, dst = steps[i], steps[i + 1]
            i += 2
            p.seq += 1
            last = (src, dst, p.seq)
            good = p.send(frame(echo_packet(src, dst, p.seq)))
            if step == "echo":
                good = good and p.wait_reply(src, dst, p.seq, 3)
        elif step == "noreply":
            good = last is not None and not p.wait_reply(*last, 1)
        elif step == "garbage":
            good = p.send(b"\xde\xad\xbe\xef" * 16)
        elif step == "badpkt":
            good = p.send(frame(b"\x90" + b"\0" * 39))
        elif step == "badpkts":
            good = p.send(frame(b"\x90" + b"\0" * 39) * int(steps[i]))
            i += 1
        elif step == "rules":
            good = p.send(frame(b"\0" * 24, modifier2=1))
        elif step == "eof":
            deadline = time.monotonic() + 3
            while p.read_frame(deadline) is not None:
                pass
            good = p.closed
        elif step == "waitfile":
            deadline = time.monotonic() + 10
            while not os.path.exists(steps[i]) and time.monotonic() < deadline:
                time.sleep(0.02)
            good = os.path.exists(steps[i])
            i += 1
        elif step == "sleep":
            time.sleep(float(steps[i]))
            i += 1
            good = True
        else:
            print("unknown step %s" % step, file=sys.stderr)
            return 2
        print("%s: %s" % (step, "ok" if good else "FAILED"))
        ok = ok and good
    return 0 if ok else 1


def ping(addr, timeout):
    v6 = is_v6(addr)
    fam, proto = (socket.AF_INET6, 58) if v6 else (socket.AF_INET, 1)
    s = socket.socket(fam, socket.SOCK_RAW, proto)
    seq = 1
    payload = b"imperium-ping" * 4
    typ = 128 if v6 else 8
    icmp = struct.pack("!BBHHH", typ, 0, 0, IDENT, seq) + payload
    if not v6:
        icmp = icmp[:2] + struct.pack("!H", csum(icmp)) + icmp[4:]
    # the kernel computes the ICMPv6 checksum itself
    s.sendto(icmp, (addr, 0))
    deadline = time.monotonic() + timeout
    want = 129 if v6 else 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return 1
        r, _, _ = select.select([s], [], [], left)
        if not r:
            return 1
        d, _ = s.recvfrom(65536)
        if not v6:
            d = d[(d[0] & 15) * 4:]
        if len(d) >= 8 and d[0] == want and struct.unpack("!HH", d[4:8]) == (IDENT, seq):
            return 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "ping":
        t = float(sys.argv[4]) if len(sys.argv) >= 5 and sys.argv[3] == "--timeout" else 2.0
        return ping(sys.argv[2], t)
    if len(sys.argv) >= 3 and sys.argv[1] == "peer":
        return run_peer(sys.argv[2], sys.argv[3:])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
