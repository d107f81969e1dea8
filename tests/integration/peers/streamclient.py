#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Clients for the stream front ends' integration tests. Exit 0 on success.

  streamclient.py echo PORT BYTES       send BYTES random bytes while reading the
                                        echo, shut the write side; the bytes read
                                        back must be the same (length, sha256)
  streamclient.py halfclose PORT BYTES  send BYTES, shut the write side, then
                                        read the answer "BYTES SHA256" to EOF
  streamclient.py closed PORT [SECS]    send a little and expect the router to
                                        close without a byte within SECS
  streamclient.py uwsgi PORT [--var K=V]... [--body N] [--modifier1 N] [--raw HEX]
                                        send a uwsgi request, print the answer's
                                        body (after the HTTP head) to stdout
"""
import argparse
import hashlib
import os
import socket
import struct
import sys
import threading


def connect(port):
    return socket.create_connection(("127.0.0.1", port), timeout=20)


def read_all(s):
    out = []
    while True:
        d = s.recv(65536)
        if not d:
            return b"".join(out)
        out.append(d)


def echo(port, n):
    data = os.urandom(n)
    s = connect(port)

    def writer():
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)

    t = threading.Thread(target=writer)
    t.start()
    h, got = hashlib.sha256(), 0
    while True:
        d = s.recv(65536)
        if not d:
            break
        h.update(d)
        got += len(d)
    t.join()
    want = hashlib.sha256(data).hexdigest()
    if got != n or h.hexdigest() != want:
        sys.exit("echo: sent %d bytes (%s), got %d (%s)" % (n, want, got, h.hexdigest()))
    print("ok %d %s" % (got, want))


def halfclose(port, n):
    data = os.urandom(n)
    s = connect(port)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    ans = read_all(s).decode().split()
    want = [str(n), hashlib.sha256(data).hexdigest()]
    if ans != want:
        sys.exit("halfclose: want %s, got %s" % (want, ans))
    print("ok", *ans)


def closed(port, secs):
    s = connect(port)
    s.settimeout(secs)
    try:
        s.sendall(b"hello?\n")
    except OSError:
        pass  # closed already
    try:
        d = s.recv(4096)
    except socket.timeout:
        sys.exit("closed: still open after %s s" % secs)
    except ConnectionError:
        d = b""
    if d:
        sys.exit("closed: got %r" % d[:40])



def record(k, v):
    k, v = k.encode(), v.encode()
    return struct.pack("<H", len(k)) + k + struct.pack("<H", len(v)) + v


def uwsgi(port, argv):
    ap = argparse.ArgumentParser()
    ap.add_argument("--var", action="append", default=[])
    ap.add_argument("--body", type=int, default=0)
    ap.add_argument("--modifier1", type=int, default=0)
    ap.add_argument("--raw")
    a = ap.parse_args(argv)
    if a.raw is not None:
        pkt = bytes.fromhex(a.raw)
    else:
        body = os.urandom(a.body)
        vs = b"".join(record(*kv.split("=", 1)) for kv in a.var)
        if a.body:
            vs += record("CONTENT_LENGTH", str(a.body))
        pkt = struct.pack("<BHB", a.modifier1, len(vs), 0) + vs + body
    s = connect(port)
    s.sendall(pkt)
    out = read_all(s)
    sys.stdout.write(out.partition(b"\r\n\r\n")[2].decode("latin-1"))


def main():
    mode, port = sys.argv[1], int(sys.argv[2])
    rest = sys.argv[3:]
    if mode == "echo":
        echo(port, int(rest[0]))
    elif mode == "halfclose":
        halfclose(port, int(rest[0]))
    elif mode == "closed":
        closed(port, float(rest[0]) if rest else 3.0)
    elif mode == "uwsgi":
        uwsgi(port, rest)
    else:
        sys.exit("unknown mode " + mode)


if __name__ == "__main__":
    main()
