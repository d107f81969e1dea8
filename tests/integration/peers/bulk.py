#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bulk TCP for the tuntap router's integration tests: one side sends N
bytes of random data, the other receives them; each side prints
"BYTES SHA256" of what it sent or received, so the test compares the two.

  bulk.py serve ADDR PORT MODE [N] --ready PATH --out PATH [--timeout S]
      listen on ADDR:PORT, write PATH (--ready) once listening, take one
      connection and either send N random bytes (MODE send) or receive
      until the peer closes (MODE recv); write "BYTES SHA256" to --out.
  bulk.py connect ADDR PORT MODE [N] [--timeout S]
      connect to ADDR:PORT and send N random bytes (MODE send) or receive
      until the peer closes (MODE recv); print "BYTES SHA256".

Every socket operation has a timeout (--timeout, 20 s by default, for the
whole run); a side that runs out of it exits 1 without a result.
"""
import argparse
import hashlib
import os
import socket
import sys
import time

CHUNK = 1 << 20


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def left(deadline):
    t = deadline - time.monotonic()
    if t <= 0:
        raise socket.timeout("out of time")
    return t


def send(s, n, deadline):
    h = hashlib.sha256()
    sent = 0
    while sent < n:
        b = os.urandom(min(CHUNK, n - sent))
        h.update(b)
        s.settimeout(left(deadline))
        s.sendall(b)
        sent += len(b)
    s.shutdown(socket.SHUT_WR)
    # wait for the receiver to close: everything was taken
    s.settimeout(left(deadline))
    while s.recv(4096):
        s.settimeout(left(deadline))
    return sent, h.hexdigest()


def recv(s, deadline):
    h = hashlib.sha256()
    got = 0
    while True:
        s.settimeout(left(deadline))
        b = s.recv(CHUNK)
        if not b:
            return got, h.hexdigest()
        h.update(b)
        got += len(b)


def run(s, mode, n, deadline):
    return send(s, n, deadline) if mode == "send" else recv(s, deadline)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("role", choices=("serve", "connect"))
    ap.add_argument("addr")
    ap.add_argument("port", type=int)
    ap.add_argument("mode", choices=("send", "recv"))
    ap.add_argument("n", type=int, nargs="?", default=0)
    ap.add_argument("--ready")
    ap.add_argument("--out")
    ap.add_argument("--timeout", type=float, default=20.0)
    a = ap.parse_args()
    deadline = time.monotonic() + a.timeout
    try:
        if a.role == "serve":
            ls = socket.socket(family(a.addr), socket.SOCK_STREAM)
            ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            ls.bind((a.addr, a.port))
            ls.listen(1)
            if a.ready:
                open(a.ready, "w").close()
            ls.settimeout(left(deadline))
            c, _ = ls.accept()
            ls.close()
        else:
            c = socket.create_connection((a.addr, a.port), timeout=left(deadline))
        with c:
            got, digest = run(c, a.mode, a.n, deadline)
    except OSError as e:
        print(f"bulk.py {a.role} {a.addr} {a.port} {a.mode}: {e}", file=sys.stderr)
        return 1
    line = f"{got} {digest}\n"
    if a.out:
        with open(a.out + ".tmp", "w") as f:
            f.write(line)
        os.rename(a.out + ".tmp", a.out)
    else:
        sys.stdout.write(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
