#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""An HTTP/1.1 node for the router's integration tests (asyncio, keep-alive).

  httpnode.py PORT NAME [--host 127.0.0.1]

  GET /whoami   NAME (Content-Length framed)
  any /echo     JSON: name, request line, method, target, version, headers
                as [name, value] pairs, body_len and sha256 of the body
                (Content-Length or chunked), conn (this connection's number)
                and conn_requests (requests so far on this connection)
  any /slow     reads the request, never answers
  any /close    a response with no Content-Length, closed after
  any /chunked  a chunked response
  GET /ws       with Upgrade: websocket, 101 then echoes raw bytes
  GET /blob?N   N bytes of blob(N) (Content-Length framed)
  other         404

Every response but 101 carries X-Node: NAME.
"""
import argparse
import asyncio
import hashlib
import json
import sys

CONNS = 0


def blob(n):
    """N bytes of a fixed pattern that no shift of itself matches."""
    unit = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(4096))
    return (unit * (n // len(unit) + 1))[:n]


async def read_body(reader, headers):
    h = {k.lower(): v for k, v in headers}
    digest, n = hashlib.sha256(), 0
    te = h.get("transfer-encoding", "").lower()
    if te:
        if te != "chunked":
            raise ValueError("unsupported transfer-encoding " + te)
        while True:
            line = await reader.readline()
            size = int(line.split(b";")[0].strip(), 16)
            if size == 0:
                while (await reader.readline()) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                break
            left = size
            while left:
                chunk = await reader.read(min(left, 1 << 16))
                if not chunk:
                    raise ConnectionError("eof in chunk")
                digest.update(chunk)
                n += len(chunk)
                left -= len(chunk)
            await reader.readline()
    elif "content-length" in h:
        left = int(h["content-length"])
        while left:
            chunk = await reader.read(min(left, 1 << 16))
            if not chunk:
                raise ConnectionError("eof in body")
            digest.update(chunk)
            n += len(chunk)
            left -= len(chunk)
    return n, digest.hexdigest()


def response(name, status, body, ctype="text/plain"):
    reason = {200: "OK", 404: "Not Found"}.get(status, "X")
    return (b"HTTP/1.1 %d %s\r\nX-Node: %s\r\nContent-Type: %s\r\nContent-Length: %d\r\n\r\n"
            % (status, reason.encode(), name.encode(), ctype.encode(), len(body)) + body)


async def tunnel(reader, writer):
    while True:
        data = await reader.read(65536)
        if not data:
            break
        writer.write(data)
        await writer.drain()


async def serve(reader, writer, name):
    global CONNS
    CONNS += 1
    conn, served = CONNS, 0
    try:
        while True:
            line = await reader.readline()
            if not line:
                return
            if line in (b"\r\n", b"\n"):
                continue
            reqline = line.decode("latin-1").rstrip("\r\n")
            method, target, version = reqline.split(" ", 2)
            headers = []
            while True:
                h = await reader.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, _, v = h.decode("latin-1").partition(":")
                headers.append([k.strip(), v.strip()])
            hl = {k.lower(): v for k, v in headers}
            served += 1
            path = target.split("?", 1)[0]
            if path == "/ws" and hl.get("upgrade", "").lower() == "websocket":
                writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                             b"Connection: Upgrade\r\n\r\n")
                await writer.drain()
                await tunnel(reader, writer)
                return
            blen, sha = await read_body(reader, headers)
            close = hl.get("connection", "").lower() == "close" or version == "HTTP/1.0"
            if path == "/whoami":
                writer.write(response(name, 200, name.encode()))
            elif path == "/echo":
                doc = {"name": name, "request_line": reqline, "method": method,
                       "target": target, "version": version, "headers": headers,
                       "body_len": blen, "sha256": sha, "conn": conn,
                       "conn_requests": served}
                writer.write(response(name, 200, json.dumps(doc).encode(), "application/json"))
            elif path == "/blob":
                n = int(target.split("?", 1)[1])
                writer.write(response(name, 200, blob(n), "application/octet-stream"))
            elif path == "/slow":
                await asyncio.sleep(3600)
                return
            elif path == "/close":
                writer.write(b"HTTP/1.1 200 OK\r\nX-Node: " + name.encode() + b"\r\n"
                             b"Content-Type: text/plain\r\nConnection: close\r\n\r\nclosed-body-from-" + name.encode())
                await writer.drain()
                return
            elif path == "/chunked":
                writer.write(b"HTTP/1.1 200 OK\r\nX-Node: %s\r\n"
                             b"Content-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"6\r\nchunk-\r\n5\r\nbody-\r\n%x\r\n%s\r\n0\r\n\r\n"
                             % (name.encode(), len(name), name.encode()))
            else:
                writer.write(response(name, 404, b"no such path\n"))
            await writer.drain()
            if close:
                return
    except (ConnectionError, ValueError, asyncio.IncompleteReadError):
        return
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("name")
    ap.add_argument("--host", default="127.0.0.1")
    a = ap.parse_args()
    srv = await asyncio.start_server(lambda r, w: serve(r, w, a.name), a.host, a.port,
                                     limit=1 << 20)
    print("httpnode %s listening on %s:%d" % (a.name, a.host, a.port), flush=True)
    async with srv:
        await srv.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
