#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Signed (and tampered) uWSGI subscription packets, for the tests that attack
the router's signature checks.

  signed.py SERVER KEY ADDRESS --sign DIGEST:PRIVKEY [options]
  signed.py SERVER --replay FILE

Options:
  --proto P            announce proto P (http for an HTTP node)
  --unsubscribe        an unsubscribe packet
  --unix N             the `unix` var (default: now; N may be +S / -S, from now)
  --tamper KIND        forge: random signature bytes of the right length
                       truncate: the signature cut by 16 bytes
                       flip: one bit of the signed body flipped after signing
                       nosign: `unix` sent, no `sign` record
  --extra NAME=VALUE   one more var, before `unix` (repeatable), e.g. sni_crt=...
  --save FILE          also write the datagram to FILE (a captured packet)
  --replay FILE        send the datagram saved in FILE again, as is
  --every S --count N  resend, with `unix` advancing by at least 1 each time
  --fd N --pid P       send through descriptor N of process P (pidfd_getfd),
                       the way a vassal's own subscription socket is used

Signing is `openssl dgst -DIGEST -sign PRIVKEY` over the body from byte 4 up
to and including the `unix` record, as uWSGI does (PKCS#1 v1.5).
"""
import argparse
import ctypes
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from subpkt import packet, record, sender  # noqa: E402


def sign(data, digest, key):
    r = subprocess.run(["openssl", "dgst", "-" + digest.lower(), "-sign", key],
                       input=data, capture_output=True, check=True)
    return r.stdout


def build(a, unix):
    extra = [tuple(e.split("=", 1)) for e in a.extra]
    pkt = packet(a.key, a.address, a.unsubscribe, a.proto, extra=extra)
    body = pkt[4:] + record("unix", str(unix))
    if a.tamper == "nosign":
        return struct.pack("<BHB", 224, len(body), pkt[3]) + body
    digest, _, key = a.sign.partition(":")
    sig = sign(body, digest, key)
    if a.tamper == "forge":
        sig = os.urandom(len(sig))
    elif a.tamper == "truncate":
        sig = sig[:-16]
    elif a.tamper == "flip":
        i = body.index(a.address.encode())
        body = body[:i] + bytes([body[i] ^ 1]) + body[i + 1:]
    body += record("sign", sig)
    return struct.pack("<BHB", 224, len(body), pkt[3]) + body


def unix_of(spec):
    now = int(time.time())
    if spec is None:
        return now
    if spec[0] in "+-":
        return now + int(spec)
    return int(spec)


def grab_fd(pid, fd):
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        got = libc.syscall(438, pidfd, fd, 0)  # pidfd_getfd
        if got < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
        return socket.socket(fileno=got)
    finally:
        os.close(pidfd)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("server")
    ap.add_argument("key", nargs="?")
    ap.add_argument("address", nargs="?")
    ap.add_argument("--sign")
    ap.add_argument("--proto")
    ap.add_argument("--unsubscribe", action="store_true")
    ap.add_argument("--unix")
    ap.add_argument("--tamper", choices=["forge", "truncate", "flip", "nosign"])
    ap.add_argument("--extra", action="append", default=[])
    ap.add_argument("--save")
    ap.add_argument("--replay")
    ap.add_argument("--every", type=float, default=0)
    ap.add_argument("--count", type=int, default=1)
    ap.add_argument("--fd", type=int)
    ap.add_argument("--pid", type=int)
    a = ap.parse_args()
    if a.fd is not None:
        s, dest = grab_fd(a.pid, a.fd), None
    else:
        s, dest = sender(a.server)
    last = 0
    for i in range(max(1, a.count)):
        if i:
            time.sleep(a.every)
        if a.replay:
            with open(a.replay, "rb") as f:
                data = f.read()
        else:
            if not (a.key and a.address and (a.sign or a.tamper == "nosign")):
                ap.error("KEY, ADDRESS and --sign are required")
            unix = max(unix_of(a.unix), last + 1)
            last = unix
            data = build(a, unix)
            if a.save:
                with open(a.save, "wb") as f:
                    f.write(data)
        try:
            if dest is None:
                s.send(data)
            else:
                s.sendto(data, dest)
        except OSError as e:  # the server may not be up yet: the refresh repairs it
            print("signed: %s" % e, file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
