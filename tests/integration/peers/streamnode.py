#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""A TCP node for the stream front ends' integration tests (a thread a connection).

  streamnode.py PORT MODE [NAME]

  echo       every byte back as it comes; after the client's EOF, close
  after-eof  read to EOF, then answer "BYTES SHA256\\n" and close (half-close)
  greet      send "NAME\\n", then echo until EOF, then close
  hello      send "NAME\\n" and close
  uwsgi      read one uwsgi request (header, vars, CONTENT_LENGTH body) and
             answer an HTTP response whose body is JSON: name, modifier1,
             modifier2, the vars, body_len and body sha256; then close
"""
import hashlib
import json
import socket
import struct
import sys
import threading


def recv_exact(c, n):
    out = b""
    while len(out) < n:
        d = c.recv(n - len(out))
        if not d:
            raise EOFError("short read")
        out += d
    return out


def parse_vars(body):
    out, off = {}, 0
    while off < len(body):
        (kl,) = struct.unpack_from("<H", body, off)
        k = body[off + 2:off + 2 + kl].decode("latin-1")
        off += 2 + kl
        (vl,) = struct.unpack_from("<H", body, off)
        v = body[off + 2:off + 2 + vl].decode("latin-1")
        off += 2 + vl
        out[k] = v
    return out


def serve_uwsgi(c, name):
    m1, size, m2 = struct.unpack("<BHB", recv_exact(c, 4))
    env = parse_vars(recv_exact(c, size))
    n = int(env.get("CONTENT_LENGTH") or 0)
    body = recv_exact(c, n)
    doc = json.dumps({"name": name, "modifier1": m1, "modifier2": m2, "vars": env,
                      "body_len": len(body), "sha256": hashlib.sha256(body).hexdigest()})
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n" + doc.encode())


def handle(c, mode, name):
    try:
        if mode in ("greet", "hello"):
            c.sendall(name.encode() + b"\n")
            if mode == "hello":
                return
        if mode == "uwsgi":
            serve_uwsgi(c, name)
            return
        h, n = hashlib.sha256(), 0
        while True:
            d = c.recv(65536)
            if not d:
                break
            if mode == "after-eof":
                h.update(d)
                n += len(d)
            else:
                c.sendall(d)
        if mode == "after-eof":
            c.sendall(b"%d %s\n" % (n, h.hexdigest().encode()))
    except (OSError, EOFError):
        pass
    finally:
        c.close()


def main():
    port, mode = int(sys.argv[1]), sys.argv[2]
    name = sys.argv[3] if len(sys.argv) > 3 else "node"
    if mode not in ("echo", "after-eof", "greet", "hello", "uwsgi"):
        sys.exit("unknown mode " + mode)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(128)
    while True:
        c, _ = s.accept()
        threading.Thread(target=handle, args=(c, mode, name), daemon=True).start()


if __name__ == "__main__":
    main()
