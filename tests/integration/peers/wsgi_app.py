# SPDX-License-Identifier: GPL-2.0-or-later
# A WSGI app for uWSGI nodes in the router's integration tests: answers JSON
# with the node's name (env NODE_NAME), the CGI variables the router passed
# and the length and sha256 of the request body it read from wsgi.input.
# PATH_INFO /blob with QUERY_STRING N answers httpnode.blob(N) instead, with
# no Content-Length (uWSGI then closes to end it).
import hashlib
import json
import os


def blob(n):
    unit = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(4096))
    return (unit * (n // len(unit) + 1))[:n]


def application(env, start_response):
    if env.get("PATH_INFO") == "/blob":
        data = blob(int(env.get("QUERY_STRING") or 0))
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return [data[i:i + 65536] for i in range(0, len(data), 65536)]
    digest, n = hashlib.sha256(), 0
    inp = env["wsgi.input"]
    while True:
        chunk = inp.read(65536)
        if not chunk:
            break
        digest.update(chunk)
        n += len(chunk)
    doc = {"node": os.environ.get("NODE_NAME", "")}
    for k in ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "HTTP_HOST", "REMOTE_ADDR",
              "HTTP_X_FORWARDED_FOR", "HTTP_X_REAL_IP", "CONTENT_LENGTH"):
        doc[k] = env.get(k)
    doc["body_len"] = n
    doc["sha256"] = digest.hexdigest()
    body = json.dumps(doc).encode()
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", str(len(body)))])
    return [body]
