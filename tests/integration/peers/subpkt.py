#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Send uWSGI subscription packets, for the router's integration tests.

  subpkt.py SERVER KEY ADDRESS [--proto P] [--weight N] [--backup N]
            [--algo A] [--modifier1 N] [--unsubscribe] [--every S --count N]
  subpkt.py SERVER --raw KIND [--key K --address A]

SERVER is host:port (UDP; [v6]:port too) or a path (unix datagram socket).
The packet is built as uWSGI does: header modifier1 224, u16 LE body size,
modifier2 0 (subscribe) or 1 (unsubscribe); vars key, address, modifier1,
modifier2, cores, load, weight, then backup, proto, algo when given.
--every/--count resend it (a refreshing node), a bounded number of times.

--raw sends a broken datagram instead:
  garbage    random bytes
  truncated  a valid packet cut inside its last record, size field matching
  badsize    a valid packet cut, the size field still the whole body's
  modifier1  a valid packet whose header modifier1 is 0, not 224
  short      two bytes
"""
import argparse
import os
import socket
import struct
import sys
import time


def record(k, v):
    if isinstance(k, str):
        k = k.encode()
    if isinstance(v, str):
        v = v.encode()
    return struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v


def packet(key, address, unsubscribe=False, proto=None, weight=1, backup=None, algo=None,
           modifier1=0, modifier2=0, extra=()):
    body = record("key", key) + record("address", address)
    body += record("modifier1", str(modifier1)) + record("modifier2", str(modifier2))
    body += record("cores", "1") + record("load", "0") + record("weight", str(weight))
    if backup is not None:
        body += record("backup", str(backup))
    if proto:
        body += record("proto", proto)
    if algo:
        body += record("algo", algo)
    for k, v in extra:
        body += record(k, v)
    return struct.pack("<BHB", 224, len(body), 1 if unsubscribe else 0) + body


def raw(kind, key, address):
    good = packet(key, address)
    if kind == "garbage":
        return b"\x7f" + os.urandom(63)
    if kind == "truncated":
        body = good[4:-3]
        return struct.pack("<BHB", 224, len(body), 0) + body
    if kind == "badsize":
        return good[:-3]
    if kind == "modifier1":
        return b"\x00" + good[1:]
    if kind == "short":
        return b"\xe0\x00"
    raise SystemExit("unknown --raw kind: " + kind)


def sender(server):
    if server.startswith("/") or server.startswith("."):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        return s, server
    host, _, port = server.rpartition(":")
    host = host.strip("[]")
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.socket(fam, socket.SOCK_DGRAM), (host, int(port))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("server")
    ap.add_argument("key", nargs="?")
    ap.add_argument("address", nargs="?")
    ap.add_argument("--proto")
    ap.add_argument("--weight", type=int, default=1)
    ap.add_argument("--backup", type=int)
    ap.add_argument("--algo")
    ap.add_argument("--modifier1", type=int, default=0)
    ap.add_argument("--unsubscribe", action="store_true")
    ap.add_argument("--every", type=float, default=0)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--raw")
    a = ap.parse_args()
    if a.raw:
        data = raw(a.raw, a.key or "raw.test", a.address or "127.0.0.1:1")
    else:
        if not a.key or not a.address:
            ap.error("KEY and ADDRESS are required")
        data = packet(a.key, a.address, a.unsubscribe, a.proto, a.weight, a.backup, a.algo,
                      a.modifier1)
    s, dest = sender(a.server)
    for i in range(max(1, a.count)):
        if i:
            time.sleep(a.every)
        try:
            s.sendto(data, dest)
        except OSError as e:  # the server may not be up yet: the refresh repairs it
            print("subpkt: %s" % e, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
