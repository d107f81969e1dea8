# SPDX-License-Identifier: GPL-2.0-or-later
"""`make bench`, https part: imperium's `https` listener beside nginx's
`listen ssl`, with the same certificate and key (made here: EC P-256,
self-signed), both proxying to one and the same backend (router.py's
bench-backend) over HTTP with keep-alive to the node, measured with wrk in
the same run.

Paths, wrk -t 2:
  imperium/https        wrk (TLS, keep-alive) -> our router -> backend HTTP port
  nginx/https           wrk (TLS, keep-alive) -> nginx, 1 worker -> backend
  imperium/https close  the same with "Connection: close": one full TLS
  nginx/https close     handshake per request (at the first connection count
                        only: loopback ports run out beyond)
Both sides negotiate what wrk's OpenSSL prefers (TLS 1.3); the certificate
is the only one either side has, so ours serves its listener's default.

Each round runs every path at every connection count for SECS seconds
(paths interleaved); the table holds medians over ROUNDS rounds, and the
ratio ours/nginx of the median req/s. Figures also go to
BUILD/bench-https.json. Knobs as router.py: BENCH_ROUNDS (3), BENCH_SECS
(5), BENCH_CONNS ("64,256"), BENCH_POOL (256), BENCH_BACKEND_PROCS (1).
Run by tests/bench/run.sh in its network namespace, or alone as root
(`BUILD=build python3 tests/bench/https.py`).
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procs import bench_args, become_subreaper  # noqa: E402
from router import (CONNS, LO, POOL, ROOT, ROUNDS, SECS, TICK, WARMUP_SECS,  # noqa: E402
                    WRK_THREADS, BenchError, Procs, Subscriber, build_backend, enter_netns,
                    fmt, med, parse_wrk, preflight, ratio, start_backend, sub_packet,
                    tree_ticks, versions)
from router import PORT as RPORT  # noqa: E402
import router  # noqa: E402

HOST = "bench.test"
PORT = {"ours_https": 19500, "ours_sub": 19501, "nginx_https": 19510}


class Path:
    def __init__(self, name, label, port, proc, close=False):
        self.name, self.label, self.port, self.proc = name, label, port, proc
        self.close = close

    @property
    def url(self):
        return f"https://{LO}:{self.port}/"


PATHS = [
    Path("imperium_https", "imperium https -> http node", PORT["ours_https"], "imperium"),
    Path("nginx_https", "nginx ssl, 1 worker -> http", PORT["nginx_https"], "nginx"),
    Path("imperium_close", "imperium https, close/req", PORT["ours_https"], "imperium", True),
    Path("nginx_close", "nginx ssl, close/req", PORT["nginx_https"], "nginx", True),
]


def runs_of(path):
    """The connection counts a path runs at."""
    return CONNS[:1] if path.close else CONNS


def make_cert(tmp):
    crt, key = os.path.join(tmp, "bench.crt"), os.path.join(tmp, "bench.key")
    r = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-keyout", key,
                        "-out", crt, "-subj", f"/CN={HOST}",
                        "-addext", f"subjectAltName=DNS:{HOST},IP:{LO}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"openssl req failed: {r.stderr.strip()}")
    os.chmod(key, 0o644)  # nginx reads it as root anyway; keep the tree readable
    return crt, key


def start_ours(procs, bin_dir, tmp, crt, key):
    router.start_ours(procs, bin_dir, tmp, listen=f"https = {LO}:{PORT['ours_https']},{crt},{key}",
                      port=PORT["ours_https"], sub_port=PORT["ours_sub"])


def start_nginx(procs, tmp, crt, key):
    router.start_nginx(procs, tmp, port=PORT["nginx_https"],
                       listen_extra=(f" ssl;\n        ssl_certificate {crt};\n"
                                     f"        ssl_certificate_key {key};\n"
                                     "        ssl_protocols TLSv1.2 TLSv1.3"))


def verify(path, procs, crt, timeout=10):
    """curl through the path (certificate verified against the one we
    made) must give 200 and "hello\\n"; retried while the node's
    subscription is on its way."""
    deadline = time.monotonic() + timeout
    argv = ["curl", "-sS", "--max-time", "5", "--cacert", crt, "-H", f"Host: {HOST}",
            "-o", "-", "-w", r"\n%{http_code}", path.url]
    while True:
        r = subprocess.run(argv, capture_output=True)
        body, _, code = r.stdout.rpartition(b"\n")
        if code == b"200" and body == b"hello\n":
            return
        procs.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(f"{path.label}: curl {path.url} gave status "
                             f"{code.decode(errors='replace') or '-'}, body {body[:200]!r} "
                             f"{r.stderr.decode(errors='replace').strip()[-300:]}; "
                             f"{path.proc}'s log:\n  " + "\n  ".join(procs.tail(path.proc)))
        time.sleep(0.2)


def run_wrk(path, conns, secs, procs=None):
    """One wrk run through path (router.wrk's figures: req/s, p99, errors,
    and with procs the proxy's CPU time per request); a close path adds
    "Connection: close", so wrk reconnects after every response."""
    argv = ["wrk", "-t", str(WRK_THREADS), "-c", str(conns), "-d", f"{secs}s", "--latency",
            "-H", f"Host: {HOST}"]
    if path.close:
        argv += ["-H", "Connection: close"]
    pid = procs.pid(path.proc) if procs else None
    before, c0 = (tree_ticks(pid) if pid else 0), os.times()
    r = subprocess.run(argv + [path.url], capture_output=True, text=True, timeout=secs + 30)
    c1 = os.times()
    if r.returncode != 0:
        raise BenchError(f"{path.label}: wrk failed ({r.returncode}): {r.stderr.strip()}")
    res = parse_wrk(r.stdout)
    if pid:
        used = (tree_ticks(pid) - before) / TICK
        n = max(res["requests"], 1)
        res.update(proxy_cpu_s=used, proxy_us_per_req=used / n * 1e6,
                   proxy_core_pct=100 * used / secs,
                   wrk_cpu_s=(c1.children_user + c1.children_system) -
                   (c0.children_user + c0.children_system))
    return res


def report(results, meta):
    rows = []
    for p in PATHS:
        for c in runs_of(p):
            runs = results[(p.name, c)]
            rows.append({"path": p.name, "label": p.label, "conns": c,
                         "rps": med([r["rps"] for r in runs]),
                         "p99_ms": med([r["p99_ms"] for r in runs]),
                         "proxy_us_per_req": med([r.get("proxy_us_per_req") for r in runs]),
                         "proxy_core_pct": med([r.get("proxy_core_pct") for r in runs]),
                         "errors": sum(r["non2xx"] + sum(r["socket_errors"].values())
                                       for r in runs),
                         "rounds": runs})
    get = {(r["path"], r["conns"]): r for r in rows}
    w = max(len(p.label) for p in PATHS) + 2
    print(f"\n{'path':<{w}}{'conns':>6}{'req/s':>9}{'p99 ms':>8}{'proxy':>7}{'proxy':>7}"
          f"{'errors':>7}  req/s per round")
    print(f"{'':<{w}}{'':>6}{'median':>9}{'median':>8}{'us/req':>7}{'%core':>7}")
    for r in rows:
        per = " / ".join(f"{x['rps']:.0f}" for x in r["rounds"])
        print(f"{r['label']:<{w}}{r['conns']:>6}{fmt('{:.0f}', r['rps']):>9}"
              f"{fmt('{:.2f}', r['p99_ms']):>8}{fmt('{:.1f}', r['proxy_us_per_req']):>7}"
              f"{fmt('{:.0f}', r['proxy_core_pct']):>7}{r['errors']:>7}  {per}")
    ratios = {}
    print()
    for ours, theirs, what in (("imperium_https", "nginx_https", "keep-alive"),
                               ("imperium_close", "nginx_close", "a handshake per request")):
        for c in runs_of(next(p for p in PATHS if p.name == ours)):
            a, b = get[(ours, c)], get[(theirs, c)]
            rc = {"rps": ratio(a["rps"], b["rps"]), "p99": ratio(a["p99_ms"], b["p99_ms"]),
                  "cpu_per_req": ratio(a["proxy_us_per_req"], b["proxy_us_per_req"])}
            ratios[f"{ours}/{theirs}@{c}"] = rc
            print(f"https, {what}, {c} connections: req/s ours / nginx "
                  f"{fmt('{:.2f}', rc['rps'])} ({fmt('{:.0f}', a['rps'])} / "
                  f"{fmt('{:.0f}', b['rps'])}); p99 ratio {fmt('{:.2f}', rc['p99'])}; "
                  f"proxy CPU per request ratio {fmt('{:.2f}', rc['cpu_per_req'])}")
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
        tmp = tempfile.mkdtemp(prefix="imperium-bench-https.")
    else:
        os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o755)  # nginx's worker runs as nobody
    procs = Procs(tmp, args.pidfile or os.path.join(tmp, "pids"))
    sub = None
    try:
        meta = versions()
        meta.update(rounds=ROUNDS, secs=SECS, conns=CONNS, pool=POOL,
                    cert="EC P-256, self-signed", nginx_setup="worker_processes 1, listen ssl, "
                    f"ssl_protocols TLSv1.2 TLSv1.3, upstream keepalive {POOL}")
        print(f"# https benchmark: wrk {meta['wrk']}, {ROUNDS} rounds of {SECS} s per path and "
              f"connection count, medians; {meta['ncpu']} x {meta['cpu']}", flush=True)
        print(f"# imperium's https listener (the emperor's one loop) vs nginx {meta['nginx']} "
              f"listen ssl, worker_processes 1, same certificate and key (EC P-256); both "
              f"keep {POOL} idle connections to the node", flush=True)
        crt, key = make_cert(tmp)
        exe = build_backend(bin_dir, tmp)
        start_backend(procs, exe)
        start_ours(procs, bin_dir, tmp, crt, key)
        start_nginx(procs, tmp, crt, key)
        sub = Subscriber([(PORT["ours_sub"],
                           sub_packet(HOST, f"{LO}:{RPORT['backend_http']}", "http"))])
        sub.send_all()
        sub.start()
        for p in PATHS:
            if not p.close:
                verify(p, procs, crt)
                print(f"#   {p.label}: curl ok (200, hello, certificate verified)", flush=True)
        for p in PATHS:
            run_wrk(p, CONNS[0], WARMUP_SECS)
        results = {(p.name, c): [] for p in PATHS for c in runs_of(p)}
        t0 = time.monotonic()
        for rnd in range(1, ROUNDS + 1):
            for c in CONNS:
                for p in PATHS:
                    if c not in runs_of(p):
                        continue
                    res = run_wrk(p, c, SECS, procs)
                    procs.check_alive()
                    results[(p.name, c)].append(res)
                    print(f"#   round {rnd}, {c} conns, {p.label}: {res['rps']:.0f} req/s, "
                          f"p99 {res['p99_ms']:.2f} ms", flush=True)
        print(f"# all rounds in {time.monotonic() - t0:.0f} s")
        doc = report(results, meta)
        out = os.path.join(bin_dir, "bench-https.json")
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
    args = bench_args(__doc__, "https", "network namespace")
    if args is None:
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    try:
        enter_netns(__file__)
        become_subreaper()
        return run(args)
    except BenchError as e:
        print(f"bench https: FAILED: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
