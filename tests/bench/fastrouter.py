# SPDX-License-Identifier: GPL-2.0-or-later
"""`make bench`, fastrouter part: the cost of imperium's `fastrouter` hop
behind nginx's uwsgi_pass, measured with wrk in the same run against one and
the same node: router.py's bench-backend on its uwsgi port (one packet,
"hello\\n" as raw HTTP, close: what a uWSGI app does), so that only the hop
differs, and a C node keeps the node's own cost small beside the hop's.

Paths, wrk -t 2 with keep-alive to nginx (1 worker):
  nginx -> fastrouter -> node   uwsgi_pass to our emperor's `fastrouter`
                                listener, which routes by HTTP_HOST to the
                                node (subscribed from here every 2 s, UDP)
                                and pipes the bytes both ways
  nginx -> node                 uwsgi_pass straight to the node's port
The uwsgi protocol has no keep-alive: on both paths every request opens a
new connection from nginx, and on the first one a second from our router to
the node. Both paths are checked with one curl (200, "hello\\n") and our
router's log must show the node registered before anything is measured.

Each round runs both paths at every connection count for SECS seconds
(paths interleaved); the table holds the medians over ROUNDS rounds of
req/s and wrk's p99, and the CPU time per request of nginx and of our
emperor; the ratio via-fastrouter / direct of the medians is the hop's cost.
`--node uwsgi` puts Debian's uWSGI there instead (1 process, a python3
hello app): the issue's literal nginx -> fastrouter -> uWSGI against nginx ->
uWSGI; run.sh runs both (BENCH_FASTROUTER_NODES, "backend uwsgi").
Figures also go to BUILD/bench-fastrouter-NODE.json. Knobs as router.py:
BENCH_ROUNDS (3), BENCH_SECS (5), BENCH_CONNS ("64,256"),
BENCH_BACKEND_PROCS (1). Run by tests/bench/run.sh in its network
namespace, or alone as root (`BUILD=build python3 tests/bench/fastrouter.py`).
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procs import bench_args, become_subreaper  # noqa: E402
from router import (CONNS, LO, ROOT, ROUNDS, SECS, TICK, WARMUP_SECS, WRK_THREADS,  # noqa: E402
                    BACKEND_PROCS, BenchError, Procs, Subscriber, build_backend,
                    fmt, med, parse_wrk, preflight, ratio, start_backend, sub_packet,
                    tree_ticks, versions, wait_port)
from router import PORT as RPORT  # noqa: E402
import router  # noqa: E402

HOST = "bench.test"
PORT = {"ours_fast": 19600, "ours_sub": 19601, "nginx_fast": 19610, "nginx_direct": 19611,
        "uwsgi_node": 19620}

# --node uwsgi: Debian's uWSGI as the node (1 process, python3 plugin), so the
# path is the literal nginx -> fastrouter -> uWSGI; the node's own cost
# then dominates both paths.
UWSGI_APP = """\
def application(env, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello\\n"]
"""


class Path:
    def __init__(self, name, label, port):
        self.name, self.label, self.port = name, label, port

    @property
    def url(self):
        return f"http://{LO}:{self.port}/"


PATHS = [
    Path("via_fastrouter", "nginx -> fastrouter -> node", PORT["nginx_fast"]),
    Path("direct", "nginx -> node (uwsgi_pass)", PORT["nginx_direct"]),
]

# The vars nginx sends: Debian's uwsgi_params, but HTTP_HOST left to the
# client's Host header (nginx passes every header as HTTP_*).
UWSGI_PARAMS = "".join(f"\n            uwsgi_param {k} {v};" for k, v in (
    ("QUERY_STRING", "$query_string"), ("REQUEST_METHOD", "$request_method"),
    ("CONTENT_TYPE", "$content_type"), ("CONTENT_LENGTH", "$content_length"),
    ("REQUEST_URI", "$request_uri"), ("PATH_INFO", "$document_uri"),
    ("DOCUMENT_ROOT", "$document_root"), ("SERVER_PROTOCOL", "$server_protocol"),
    ("REQUEST_SCHEME", "$scheme"), ("REMOTE_ADDR", "$remote_addr"),
    ("REMOTE_PORT", "$remote_port"), ("SERVER_PORT", "$server_port"),
    ("SERVER_NAME", "$server_name")))

NGINX_CONF = router.NGINX_HEAD + """\
    server {{
        listen {lo}:{fast};
        location / {{{params}
            uwsgi_pass {lo}:{ours};
        }}
    }}
    server {{
        listen {lo}:{direct};
        location / {{{params}
            uwsgi_pass {lo}:{node};
        }}
    }}
}}
"""


def start_uwsgi_node(procs, tmp):
    app = os.path.join(tmp, "hello_app.py")
    with open(app, "w") as f:
        f.write(UWSGI_APP)
    procs.start("uwsgi-node", ["/usr/bin/uwsgi", "--plugin", "python3", "--socket",
                               f"{LO}:{PORT['uwsgi_node']}", "--wsgi-file", app, "--master",
                               "--processes", "1", "--disable-logging", "--die-on-term"])
    wait_port(PORT["uwsgi_node"], "uWSGI node", procs)
    return PORT["uwsgi_node"]


def start_nginx(procs, tmp, node_port):
    prefix = os.path.join(tmp, "nginx")
    os.makedirs(prefix)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(p=prefix, lo=LO, fast=PORT["nginx_fast"],
                                  direct=PORT["nginx_direct"], ours=PORT["ours_fast"],
                                  node=node_port, params=UWSGI_PARAMS, wc=8192))
    procs.start("nginx", ["/usr/sbin/nginx", "-p", prefix, "-c", conf,
                          "-e", os.path.join(prefix, "error.log")])
    wait_port(PORT["nginx_fast"], "nginx", procs)
    wait_port(PORT["nginx_direct"], "nginx", procs)


def verify(path, procs, timeout=10):
    """curl through the path must give 200 and "hello\\n" (retried while the
    node's subscription is on its way)."""
    deadline = time.monotonic() + timeout
    argv = ["curl", "-sS", "--max-time", "5", "-H", f"Host: {HOST}", "-o", "-",
            "-w", r"\n%{http_code}", path.url]
    while True:
        r = subprocess.run(argv, capture_output=True)
        body, _, code = r.stdout.rpartition(b"\n")
        if code == b"200" and body == b"hello\n":
            return
        procs.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(
                f"{path.label}: curl {path.url} -H 'Host: {HOST}' gave status "
                f"{code.decode(errors='replace') or '-'}, body {body[:200]!r} "
                f"{r.stderr.decode(errors='replace').strip()[-300:]}; imperium's log:\n  " +
                "\n  ".join(procs.tail("imperium")) + "\n nginx's error log:\n  " +
                "\n  ".join(procs.tail("nginx")))
        time.sleep(0.2)


def run_wrk(path, conns, secs, procs=None):
    """One wrk run through path: router.py's figures (req/s, p99, errors)
    and, with procs, the CPU time per request of nginx and of our emperor."""
    argv = ["wrk", "-t", str(WRK_THREADS), "-c", str(conns), "-d", f"{secs}s", "--latency",
            "-H", f"Host: {HOST}"]
    pids = {k: procs.pid(k) for k in ("nginx", "imperium")} if procs else {}
    before = {k: tree_ticks(v) for k, v in pids.items()}
    r = subprocess.run(argv + [path.url], capture_output=True, text=True, timeout=secs + 30)
    if r.returncode != 0:
        raise BenchError(f"{path.label}: wrk failed ({r.returncode}): {r.stderr.strip()}")
    res = parse_wrk(r.stdout)
    n = max(res["requests"], 1)
    for k, v in pids.items():
        res[f"{k}_us_per_req"] = (tree_ticks(v) - before[k]) / TICK / n * 1e6
    return res


def report(results, meta):
    rows = []
    for c in CONNS:
        for p in PATHS:
            runs = results[(p.name, c)]
            rows.append({"path": p.name, "label": p.label, "conns": c,
                         "rps": med([r["rps"] for r in runs]),
                         "p99_ms": med([r["p99_ms"] for r in runs]),
                         "nginx_us_per_req": med([r.get("nginx_us_per_req") for r in runs]),
                         "imperium_us_per_req": med([r.get("imperium_us_per_req")
                                                     for r in runs]),
                         "errors": sum(r["non2xx"] + sum(r["socket_errors"].values())
                                       for r in runs),
                         "rounds": runs})
    get = {(r["path"], r["conns"]): r for r in rows}
    w = max(len(p.label) for p in PATHS) + 2
    print(f"\n{'path':<{w}}{'conns':>6}{'req/s':>9}{'p99 ms':>8}{'nginx':>7}{'ours':>7}"
          f"{'errors':>7}  req/s per round")
    print(f"{'':<{w}}{'':>6}{'median':>9}{'median':>8}{'us/req':>7}{'us/req':>7}")
    for r in rows:
        per = " / ".join(f"{x['rps']:.0f}" for x in r["rounds"])
        ours = r["imperium_us_per_req"] if r["path"] == "via_fastrouter" else None
        print(f"{r['label']:<{w}}{r['conns']:>6}{fmt('{:.0f}', r['rps']):>9}"
              f"{fmt('{:.2f}', r['p99_ms']):>8}{fmt('{:.1f}', r['nginx_us_per_req']):>7}"
              f"{fmt('{:.1f}', ours):>7}{r['errors']:>7}  {per}")
    ratios = {}
    print()
    for c in CONNS:
        a, b = get[("via_fastrouter", c)], get[("direct", c)]
        rc = {"rps": ratio(a["rps"], b["rps"]), "p99": ratio(a["p99_ms"], b["p99_ms"])}
        ratios[str(c)] = rc
        print(f"fastrouter hop, {c} connections: req/s via fastrouter / direct "
              f"{fmt('{:.2f}', rc['rps'])} ({fmt('{:.0f}', a['rps'])} / "
              f"{fmt('{:.0f}', b['rps'])}); p99 ratio {fmt('{:.2f}', rc['p99'])} "
              f"({fmt('{:.2f}', a['p99_ms'])} / {fmt('{:.2f}', b['p99_ms'])} ms); our router "
              f"{fmt('{:.1f}', a['imperium_us_per_req'])} us CPU per request")
    bad = [f"{r['label']} at {r['conns']}" for r in rows if r["errors"]]
    if bad:
        print(f"WARNING: wrk saw non-2xx responses or socket errors: {'; '.join(bad)}")
    return {"meta": meta, "rows": rows, "ratios": ratios}


def run(args):
    bin_dir = os.path.join(ROOT, args.bin)
    preflight(bin_dir)
    tmp = args.tmp
    own_tmp = tmp is None
    if own_tmp:
        tmp = tempfile.mkdtemp(prefix="imperium-bench-fastrouter.")
    else:
        os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o755)  # nginx's worker runs as nobody
    procs = Procs(tmp, args.pidfile or os.path.join(tmp, "pids"))
    sub = None
    try:
        meta = versions()
        meta.update(rounds=ROUNDS, secs=SECS, conns=CONNS, wrk_threads=WRK_THREADS,
                    backend_procs=BACKEND_PROCS,
                    node=("uWSGI 1 process, python3" if args.node == "uwsgi"
                          else "bench-backend uwsgi port"),
                    nginx_setup="worker_processes 1, uwsgi_pass, no upstream keepalive")
        print(f"# fastrouter benchmark: wrk {meta['wrk']} -t {WRK_THREADS}, {ROUNDS} rounds of "
              f"{SECS} s per path and connection count, medians; {meta['ncpu']} x "
              f"{meta['cpu']}", flush=True)
        print(f"# nginx {meta['nginx']} (worker_processes 1, uwsgi_pass) -> imperium's "
              f"fastrouter (the emperor's one loop) -> node, against nginx -> node; node: "
              f"{meta['node']}", flush=True)
        exe = build_backend(bin_dir, tmp)
        start_backend(procs, exe)
        router.start_ours(procs, bin_dir, tmp, listen=f"fastrouter = {LO}:{PORT['ours_fast']}",
                          port=PORT["ours_fast"], sub_port=PORT["ours_sub"])
        node_port = (start_uwsgi_node(procs, tmp) if args.node == "uwsgi"
                     else RPORT["backend_uwsgi"])
        start_nginx(procs, tmp, node_port)
        sub = Subscriber([(PORT["ours_sub"],
                           sub_packet(HOST, f"{LO}:{node_port}"))])
        sub.send_all()
        sub.start()
        for p in PATHS:
            verify(p, procs)
            print(f"#   {p.label}: curl ok (200, hello)", flush=True)
        node_re = rf"router: {re.escape(HOST)}: new node {LO}:{node_port}"
        if not re.search(node_re, procs.log("imperium")):
            raise BenchError(f"our router's log has no line matching {node_re!r}:\n  " +
                             "\n  ".join(procs.tail("imperium")))
        for p in PATHS:
            run_wrk(p, CONNS[0], WARMUP_SECS)
        results = {(p.name, c): [] for p in PATHS for c in CONNS}
        t0 = time.monotonic()
        for rnd in range(1, ROUNDS + 1):
            for c in CONNS:
                for p in PATHS:
                    res = run_wrk(p, c, SECS, procs)
                    procs.check_alive()
                    results[(p.name, c)].append(res)
                    print(f"#   round {rnd}, {c} conns, {p.label}: {res['rps']:.0f} req/s, "
                          f"p99 {res['p99_ms']:.2f} ms", flush=True)
        print(f"# all rounds in {time.monotonic() - t0:.0f} s")
        doc = report(results, meta)
        out = os.path.join(bin_dir, f"bench-fastrouter-{args.node}.json")
        with open(out, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"figures written to {out}")
        return 0
    finally:
        if sub:
            sub.halt.set()
        procs.stop_all()
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    def more(ap):
        ap.add_argument("--node", choices=["backend", "uwsgi"], default="backend",
                        help="the node: bench-backend's uwsgi port (default) or a uWSGI app")
    args = bench_args(__doc__, "fastrouter", "network namespace", more)
    if args is None:
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    try:
        router.enter_netns(__file__)
        become_subreaper()
        return run(args)
    except BenchError as e:
        print(f"bench fastrouter: FAILED: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
