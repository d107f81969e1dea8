# SPDX-License-Identifier: GPL-2.0-or-later
"""`make bench`, router part: imperium's HTTP router beside nginx and uWSGI's
HTTP router, measured with wrk on loopback against one and the same backend
(tests/bench/backend.c, built here), in the same run.

Paths, each at CONNS concurrent connections, wrk -t 2:
  direct         wrk -> backend's HTTP port (no proxy: the ceiling)
  imperium/http  wrk -> our emperor's `http` listener -> backend HTTP port
                 (node subscribed with proto=http: keep-alive to the node)
  imperium/uwsgi wrk -> our router -> backend uwsgi port (node without
                 proto: one uwsgi request per connection, as uWSGI nodes do)
  nginx          wrk -> nginx, 1 worker, upstream keepalive 64 -> backend
                 HTTP port
  uWSGI router   wrk -> uwsgi --http (1 router process, --http-keepalive)
                 -> backend uwsgi port
Our router and uWSGI's learn the node from subscription packets sent from
here every 2 s (UDP); nginx has it in its config. Every path is checked
with one curl (status 200, body "hello\n") before anything is measured,
and the benchmark stops with a message naming the path if one is not.

Each round runs every path at every connection count for SECS seconds
(paths interleaved); the table holds the medians over ROUNDS rounds of
requests/s and of wrk's p99 latency. Figures also go to
BUILD/bench-router.json. Knobs: BENCH_ROUNDS (3), BENCH_SECS (5),
BENCH_BACKEND_PROCS (1), BENCH_CONNS ("64,256"), BENCH_POOL (256: idle
keep-alive connections to the node, nginx's `keepalive` and our
`http-backend-pool`; beyond them, a finished request's node connection is
closed, so at 256 connections both open a new one for about a third of the
requests).

Besides wrk's figures it records, per run, the CPU time of the proxy's
processes (per request, and in % of one core), the new TCP connections
made to the node per request (the namespace's ActiveOpens), and how busy
the rest of the machine was: on a shared machine, other work competes for
the cores and makes the figures noisy, and the table says so.

Run by tests/bench/run.sh inside its network namespace; run alone (as
root: `BUILD=build python3 tests/bench/router.py`) it re-executes itself in
a fresh one the same way. Every process it starts runs under `setpriv
--pdeathsig KILL` and is stopped at the end by PID, with whatever it left
below it; its temp dir is removed.
"""
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procs import bench_args, become_subreaper, descendants, kill_if_same, kill_orphans, proc_stat  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
SECS = int(os.environ.get("BENCH_SECS", 5))
BACKEND_PROCS = int(os.environ.get("BENCH_BACKEND_PROCS", 1))
CONNS = [int(c) for c in os.environ.get("BENCH_CONNS", "64,256").split(",")]
POOL = int(os.environ.get("BENCH_POOL", 256))  # idle keep-alive connections to the node
WRK_THREADS = 2
WARMUP_SECS = 1

HOST = "bench.test"          # the key our router and uWSGI's route
HOST_UWSGI = "bench-uwsgi.test"  # our router's key for the uwsgi-protocol node
LO = "127.0.0.1"
PORT = {"backend_http": 19100, "backend_uwsgi": 19101, "ours_http": 19200,
        "ours_sub": 19201, "nginx": 19300, "uwsgi_http": 19400, "uwsgi_sub": 19401}
SUB_EVERY = 2.0              # seconds between two subscription packets


class BenchError(Exception):
    """A path could not be set up or checked: the benchmark stops."""


# ---------------------------------------------------------------- processes

class Procs:
    """Every process the benchmark starts: output to a log file, recorded
    as "PID STARTTIME" in pidfile (run.sh's trap reads it), stopped by PID
    with whatever it started below it."""

    def __init__(self, tmp, pidfile):
        self.tmp, self.pidfile = tmp, pidfile
        self.started = []  # (name, Popen, starttime, log path)

    def start(self, name, argv, cwd=None):
        log = os.path.join(self.tmp, f"{name}.log")
        with open(log, "ab") as out:
            p = subprocess.Popen(["setpriv", "--pdeathsig", "KILL", *argv],
                                 stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, cwd=cwd,
                                 start_new_session=True)
        st = proc_stat(p.pid)
        start = st[1] if st else 0
        with open(self.pidfile, "a") as f:
            f.write(f"{p.pid} {start}\n")
        self.started.append((name, p, start, log))
        return p

    def pid(self, name):
        return next((p.pid for n, p, _, _ in self.started if n == name), None)

    def log(self, name):
        for n, _, _, log in self.started:
            if n == name:
                with open(log, "rb") as f:
                    return f.read().decode(errors="replace")
        return ""

    def tail(self, name, n=20):
        return self.log(name).splitlines()[-n:]

    def check_alive(self):
        for name, p, _, _ in self.started:
            if p.poll() is not None:
                raise BenchError(f"{name} exited ({p.returncode}); its log:\n  " +
                                 "\n  ".join(self.tail(name)))

    def stop_all(self):
        for name, p, start, _ in reversed(self.started):
            tree = descendants(p.pid)
            if p.poll() is None:
                kill_if_same(p.pid, start, signal.SIGTERM)
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    kill_if_same(p.pid, start, signal.SIGKILL)
                    p.wait()
            for pid, st in tree.items():
                kill_if_same(pid, st, signal.SIGKILL)
        kill_orphans()


def wait_port(port, what, procs, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((LO, port), timeout=1).close()
            return
        except OSError:
            pass
        procs.check_alive()
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: nothing listens on {LO}:{port} after {timeout} s")
        time.sleep(0.05)


# ------------------------------------------------------------ subscriptions

def sub_packet(key, address, proto=None):
    """A uwsgi subscription packet (modifier1 224, subscribe) with the vars
    uWSGI's --subscribe-to sends, in its order, plus `proto` if given."""
    pairs = [("key", key), ("address", address), ("modifier1", "0"), ("modifier2", "0"),
             ("cores", "1"), ("load", "0"), ("weight", "1")]
    if proto:
        pairs.append(("proto", proto))
    body = b"".join(struct.pack("<H", len(k)) + k.encode() + struct.pack("<H", len(v)) +
                    v.encode() for k, v in pairs)
    return struct.pack("<BHB", 224, len(body), 0) + body


class Subscriber(threading.Thread):
    """Sends every packet to its server now and every SUB_EVERY seconds,
    as a subscribed node does."""

    def __init__(self, packets):
        super().__init__(daemon=True)
        self.packets = packets  # [(port, bytes)]
        self.halt = threading.Event()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)

    def send_all(self):
        for port, pkt in self.packets:
            try:
                self.sock.sendto(pkt, (LO, port))
            except OSError:
                pass  # not listening yet: the next round repairs it

    def run(self):
        while not self.halt.wait(SUB_EVERY):
            self.send_all()


# ------------------------------------------------------------------ systems

def build_backend(bin_dir, tmp):
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backend.c")
    out = os.path.join(bin_dir, "bench-backend")
    r = subprocess.run(["cc", "-O2", "-o", out, src], capture_output=True, text=True)
    if r.returncode != 0:
        raise BenchError(f"cannot build {src}:\n{r.stderr}")
    return out


def start_backend(procs, exe):
    procs.start("backend", [exe, str(PORT["backend_http"]), str(PORT["backend_uwsgi"]),
                            str(BACKEND_PROCS)])
    wait_port(PORT["backend_http"], "backend", procs)
    wait_port(PORT["backend_uwsgi"], "backend", procs)


def start_ours(procs, bin_dir, tmp, listen=None, port=None, sub_port=None):
    """Our emperor with one router listener: `listen` is its emperor.ini line
    (default our `http` listener), `port` the port it opens."""
    port = port or PORT["ours_http"]
    work = os.path.join(tmp, "imperium")
    os.makedirs(os.path.join(work, "vassals.d"))
    ini = os.path.join(work, "emperor.ini")
    with open(ini, "w") as f:
        f.write("[emperor]\n"
                f"vassals = {work}/vassals.d\n"
                f"run-dir = {work}/run\n"
                f"{listen or f'http = {LO}:{port}'}\n"
                f"subscription-server = {LO}:{sub_port or PORT['ours_sub']}\n"
                f"http-backend-pool = {POOL}\n")
    procs.start("imperium", [os.path.join(bin_dir, "emperor"), "-c", ini])
    wait_port(port, "imperium's router", procs)


# The part of an nginx config every bench shares: 1 worker, its files in
# prefix {p}, no logs; {wc} worker connections; the http block left open.
NGINX_HEAD = """\
daemon off;
master_process on;
worker_processes 1;
pid {p}/nginx.pid;
error_log {p}/error.log warn;
events {{ worker_connections {wc}; }}
http {{
    access_log off;
    client_body_temp_path {p}/client_body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;
    keepalive_timeout 75s;
    keepalive_requests 1000000;
"""

NGINX_CONF = NGINX_HEAD + """\
    upstream backend {{
        server {lo}:{backend};
        keepalive {pool};
        keepalive_requests 1000000;
    }}
    server {{
        listen {lo}:{port}{listen_extra};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def start_nginx(procs, tmp, port=None, listen_extra=""):
    """nginx, 1 worker, proxying to the backend's HTTP port; `listen_extra`
    ends its `listen` line (e.g. TLS directives)."""
    port = port or PORT["nginx"]
    prefix = os.path.join(tmp, "nginx")
    os.makedirs(prefix)
    conf = os.path.join(prefix, "nginx.conf")
    with open(conf, "w") as f:
        f.write(NGINX_CONF.format(p=prefix, lo=LO, backend=PORT["backend_http"],
                                  port=port, pool=POOL, listen_extra=listen_extra, wc=4096))
    procs.start("nginx", ["/usr/sbin/nginx", "-p", prefix, "-c", conf,
                          "-e", os.path.join(prefix, "error.log")])
    wait_port(port, "nginx", procs)


UWSGI_ARGS = ["--plugin", "corerouter,http", "--master", "--http", f"{LO}:{PORT['uwsgi_http']}",
              "--http-subscription-server", f"{LO}:{PORT['uwsgi_sub']}",
              "--http-keepalive", "--http-processes", "1", "--workers", "1",
              "--disable-logging"]


def start_uwsgi(procs, tmp):
    work = os.path.join(tmp, "uwsgi")
    os.makedirs(work)
    procs.start("uwsgi", ["/usr/bin/uwsgi", *UWSGI_ARGS], cwd=work)
    wait_port(PORT["uwsgi_http"], "uWSGI's HTTP router", procs)


# -------------------------------------------------------------------- paths

class Path:
    def __init__(self, name, label, port, host, proc, log=None, log_re=None):
        self.name, self.label, self.port, self.host = name, label, port, host
        self.proc = proc  # the name (in Procs) of the proxy's process
        self.log, self.log_re = log, log_re  # a line proving the node was registered

    @property
    def url(self):
        return f"http://{LO}:{self.port}/"


PATHS = [
    Path("direct", "direct (backend, no proxy)", PORT["backend_http"], None, None),
    Path("imperium_http", "imperium router -> http node", PORT["ours_http"], HOST,
         "imperium", "imperium",
         rf"router: {re.escape(HOST)}: new node {LO}:{PORT['backend_http']}"),
    Path("imperium_uwsgi", "imperium router -> uwsgi node", PORT["ours_http"], HOST_UWSGI,
         "imperium", "imperium",
         rf"router: {re.escape(HOST_UWSGI)}: new node {LO}:{PORT['backend_uwsgi']}"),
    Path("nginx", "nginx, 1 worker -> http keepalive", PORT["nginx"], None, "nginx"),
    Path("uwsgi_router", "uWSGI http router -> uwsgi node", PORT["uwsgi_http"], HOST,
         "uwsgi", "uwsgi", rf"{re.escape(HOST)} => new node: {LO}:{PORT['backend_uwsgi']}"),
]


def curl(path, urls=1):
    """curl through path; with urls=2, verbose (to see connection reuse)."""
    argv = ["curl", "-sS", "--max-time", "5", "-o", "-", "-w", r"\n%{http_code}"]
    if urls > 1:
        argv.append("-v")
    if path.host:
        argv += ["-H", f"Host: {path.host}"]
    return subprocess.run(argv + [path.url] * urls, capture_output=True)


def verify(path, procs, timeout=10):
    """One curl through the path must give 200 and "hello\\n" (retried while
    the node's subscription is on its way); then the node's registration
    must be in the router's log, and a second request on the same client
    connection tells whether the path keeps clients alive."""
    deadline = time.monotonic() + timeout
    while True:
        r = curl(path)
        body, _, code = r.stdout.rpartition(b"\n")
        if code == b"200" and body == b"hello\n":
            break
        procs.check_alive()
        if time.monotonic() > deadline:
            host = f" -H 'Host: {path.host}'" if path.host else ""
            raise BenchError(
                f"{path.label}: curl {path.url}{host}"
                f" gave status {code.decode(errors='replace') or '-'} and body {body[:200]!r}, "
                f"not 200 and b'hello\\n' {r.stderr.decode(errors='replace').strip()[-300:]}" +
                (f"; {path.log}'s log:\n  " + "\n  ".join(procs.tail(path.log)) if path.log else ""))
        time.sleep(0.2)
    if path.log and not re.search(path.log_re, procs.log(path.log)):
        raise BenchError(f"{path.label}: answered, but its log has no line matching "
                         f"{path.log_re!r}, so it did not route to our node:\n  " +
                         "\n  ".join(procs.tail(path.log)))
    r = curl(path, urls=2)
    two = r.stdout.count(b"hello\n") == 2
    return two and b"Re-using existing connection" in r.stderr


# ---------------------------------------------------------------------- wrk

UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(out):
    """Figures of one wrk --latency run: req/s, p99 (ms), errors."""
    def num(pattern):
        m = re.search(pattern, out)
        return m.groups() if m else None

    rps = num(r"Requests/sec:\s+([0-9.]+)")
    p99 = num(r"\n\s+99%\s+([0-9.]+)(us|ms|s|m)\b")
    total = num(r"(\d+) requests in")
    if not rps or not p99 or not total:
        raise BenchError(f"cannot read wrk's output:\n{out}")
    non2xx = num(r"Non-2xx or 3xx responses:\s+(\d+)")
    sock = num(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")
    return {"rps": float(rps[0]), "p99_ms": float(p99[0]) * UNITS[p99[1]],
            "requests": int(total[0]), "non2xx": int(non2xx[0]) if non2xx else 0,
            "socket_errors": dict(zip(("connect", "read", "write", "timeout"),
                                      map(int, sock))) if sock else {}}


TICK = os.sysconf("SC_CLK_TCK")


def tree_ticks(pid):
    """CPU time (user + system, clock ticks) of pid and every process under it."""
    total = 0
    for p in [pid, *descendants(pid)]:
        try:
            with open(f"/proc/{p}/stat", "rb") as f:
                data = f.read()
        except OSError:
            continue
        fields = data[data.rfind(b")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
    return total


def machine_ticks():
    """(busy, all) clock ticks of every CPU of the machine so far. Busy
    leaves out idle, iowait and interrupts: with IRQ time accounting, the
    loopback's softirq work is nobody's process time, ours included."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    busy = user + nice + system + steal
    return busy, busy + idle + iowait + irq + softirq


def active_opens():
    """TCP connect()s made in this network namespace so far."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index("ActiveOpens")])


def wrk(path, conns, secs, procs=None):
    """One wrk run through path. With procs: also the CPU time the proxy
    and the backend spent, and how busy the rest of the machine was (other
    work on a shared machine makes the figures noisy: it is reported)."""
    argv = ["wrk", "-t", str(WRK_THREADS), "-c", str(conns), "-d", f"{secs}s", "--latency"]
    if path.host:
        argv += ["-H", f"Host: {path.host}"]
    watched = {}
    if procs:
        watched = {"proxy": procs.pid(path.proc), "backend": procs.pid("backend")}
    before = {k: tree_ticks(v) if v else 0 for k, v in watched.items()}
    m0, c0, o0 = machine_ticks(), os.times(), active_opens()
    r = subprocess.run(argv + [path.url], capture_output=True, text=True, timeout=secs + 30)
    m1, c1, o1 = machine_ticks(), os.times(), active_opens()
    if r.returncode != 0:
        raise BenchError(f"{path.label}: wrk failed ({r.returncode}): {r.stderr.strip()}")
    res = parse_wrk(r.stdout)
    if procs:
        used = {k: (tree_ticks(v) - before[k]) / TICK if v else 0.0 for k, v in watched.items()}
        wrk_cpu = (c1.children_user + c1.children_system) - (c0.children_user + c0.children_system)
        busy, total = (m1[0] - m0[0]) / TICK, (m1[1] - m0[1]) / TICK
        n = max(res["requests"], 1)
        # wrk's own connects are one per connection (all paths keep clients alive)
        res.update(node_connects_per_req=max(o1 - o0 - conns, 0) / n if path.proc else None,
                   proxy_cpu_s=used["proxy"], backend_cpu_s=used["backend"], wrk_cpu_s=wrk_cpu,
                   proxy_us_per_req=used["proxy"] / n * 1e6 if path.proc else None,
                   proxy_core_pct=100 * used["proxy"] / secs if path.proc else None,
                   others_pct=100 * max(busy - sum(used.values()) - wrk_cpu, 0) / total
                   if total else None)
    return res


# ------------------------------------------------------------------- report

def med(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def versions():
    nginx = subprocess.run(["/usr/sbin/nginx", "-v"], capture_output=True, text=True).stderr
    uwsgi = subprocess.run(["/usr/bin/uwsgi", "--version"], capture_output=True, text=True).stdout
    wrkv = subprocess.run(["wrk", "--version"], capture_output=True, text=True)
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"nginx": nginx.strip().split("/")[-1], "uwsgi": uwsgi.strip(),
            "wrk": (wrkv.stdout + wrkv.stderr).split()[1], "cpu": cpu,
            "ncpu": os.cpu_count(), "kernel": platform.release()}


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(f, v):
    return "n/a" if v is None else f.format(v)


def report(results, keepalive, meta):
    """Print the table and ratio lines; return the JSON document."""
    rows = []
    for c in CONNS:
        for p in PATHS:
            runs = results[(p.name, c)]
            rows.append({"path": p.name, "label": p.label, "conns": c,
                         "rps": med([r["rps"] for r in runs]),
                         "p99_ms": med([r["p99_ms"] for r in runs]),
                         "proxy_us_per_req": med([r.get("proxy_us_per_req") for r in runs]),
                         "proxy_core_pct": med([r.get("proxy_core_pct") for r in runs]),
                         "node_connects_per_req": med([r.get("node_connects_per_req")
                                                       for r in runs]),
                         "others_pct": med([r.get("others_pct") for r in runs]),
                         "errors": sum(r["non2xx"] + sum(r["socket_errors"].values())
                                       for r in runs),
                         "client_keepalive": keepalive[p.name],
                         "rounds": runs})
    get = {(r["path"], r["conns"]): r for r in rows}
    w = max(len(p.label) for p in PATHS) + 2
    print(f"\n{'path':<{w}}{'conns':>6}{'req/s':>9}{'p99 ms':>8}{'proxy':>7}{'proxy':>7}"
          f"{'node':>7}{'other':>7}{'errors':>7}  req/s per round")
    print(f"{'':<{w}}{'':>6}{'median':>9}{'median':>8}{'us/req':>7}{'%core':>7}"
          f"{'conn/r':>7}{'load%':>7}{'':>7}")
    for r in rows:
        per = " / ".join(f"{x['rps']:.0f}" for x in r["rounds"])
        print(f"{r['label']:<{w}}{r['conns']:>6}{fmt('{:.0f}', r['rps']):>9}"
              f"{fmt('{:.2f}', r['p99_ms']):>8}{fmt('{:.1f}', r['proxy_us_per_req']):>7}"
              f"{fmt('{:.0f}', r['proxy_core_pct']):>7}"
              f"{fmt('{:.2f}', r['node_connects_per_req']):>7}{fmt('{:.0f}', r['others_pct']):>7}"
              f"{r['errors']:>7}  {per}")
    print("proxy us/req, %core: CPU time of the proxy's processes per request and per second "
          "of the run (100 = one core).\nnode conn/r: new TCP connections to the node per "
          "request. other load%: CPU used by processes outside the\nbenchmark during the runs, "
          "in % of all cores; above a few %, the machine is shared and the figures are noisy.")
    ratios = {}
    print()
    for c in CONNS:
        ours, ours_u = get[("imperium_http", c)], get[("imperium_uwsgi", c)]
        ng, uw, direct = get[("nginx", c)], get[("uwsgi_router", c)], get[("direct", c)]
        rc = {"ours_http/nginx": ratio(ours["rps"], ng["rps"]),
              "ours_http/uwsgi_router": ratio(ours["rps"], uw["rps"]),
              "ours_uwsgi/uwsgi_router": ratio(ours_u["rps"], uw["rps"]),
              "ours_http/direct": ratio(ours["rps"], direct["rps"]),
              "nginx/direct": ratio(ng["rps"], direct["rps"]),
              "p99 ours_http/nginx": ratio(ours["p99_ms"], ng["p99_ms"]),
              "cpu_per_req ours_http/nginx": ratio(ours["proxy_us_per_req"],
                                                   ng["proxy_us_per_req"])}
        ratios[str(c)] = rc
        print(f"ratios at {c} connections:\n"
              f"  req/s: ours (http node) / nginx {fmt('{:.2f}', rc['ours_http/nginx'])}; "
              f"ours (http node) / uWSGI router {fmt('{:.2f}', rc['ours_http/uwsgi_router'])}; "
              f"ours (uwsgi node) / uWSGI router {fmt('{:.2f}', rc['ours_uwsgi/uwsgi_router'])}"
              f" (same protocol to the node)\n"
              f"  p99: ours (http node) {fmt('{:.2f}', ours['p99_ms'])} ms, nginx "
              f"{fmt('{:.2f}', ng['p99_ms'])} ms: ratio {fmt('{:.2f}', rc['p99 ours_http/nginx'])}"
              f"\n  proxy CPU per request: ours (http node) / nginx "
              f"{fmt('{:.2f}', rc['cpu_per_req ours_http/nginx'])}")
    ok_rps = all((r["ours_http/nginx"] or 0) >= 1.0 for r in ratios.values())
    ok_p99 = all((r["p99 ours_http/nginx"] or 99) <= 1.0 for r in ratios.values())
    print(f"target, ours >= nginx in req/s at every count: {'met' if ok_rps else 'NOT met'}; "
          f"p99 no worse than nginx: {'met' if ok_p99 else 'NOT met'}")
    bad = [f"{r['label']} at {r['conns']}" for r in rows if r["errors"]]
    if bad:
        print(f"WARNING: wrk saw non-2xx responses or socket errors: {'; '.join(bad)}")
    print("client keep-alive (two requests on one connection): " +
          ", ".join(f"{p.name} {'yes' if keepalive[p.name] else 'no'}" for p in PATHS))
    return {"meta": meta, "rows": rows, "ratios": ratios,
            "targets": {"rps_ge_nginx": ok_rps, "p99_le_nginx": ok_p99}}


# --------------------------------------------------------------------- main

def enter_netns(script=__file__):
    """Re-execute @script in a fresh network namespace unless already in one
    of ours (run.sh's, or an earlier re-exec); bring its loopback up."""
    if not os.environ.get("IMP_BENCH_IN_NETNS"):
        os.environ["IMP_BENCH_IN_NETNS"] = "1"
        os.execvp("unshare", ["unshare", "--net", "--", sys.executable, "-B",
                              os.path.abspath(script), *sys.argv[1:]])
    if subprocess.run(["ip", "link", "set", "lo", "up"]).returncode != 0:
        raise BenchError("cannot bring lo up in the network namespace")


def preflight(bin_dir):
    missing = [f for f in (os.path.join(bin_dir, "emperor"), "/usr/sbin/nginx", "/usr/bin/uwsgi")
               if not os.access(f, os.X_OK)]
    missing += [t for t in ("wrk", "curl", "cc", "setpriv", "unshare") if not shutil.which(t)]
    if missing:
        raise BenchError(f"missing: {', '.join(missing)} (make all; apt-get install wrk nginx "
                         "uwsgi-core curl)")


def run(args):
    bin_dir = os.path.join(ROOT, args.bin)  # as run.sh: relative to the repository
    preflight(bin_dir)
    tmp = args.tmp
    own_tmp = tmp is None
    if own_tmp:
        tmp = tempfile.mkdtemp(prefix="imperium-bench-router.")
    else:
        os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o755)  # nginx's worker runs as nobody
    procs = Procs(tmp, args.pidfile or os.path.join(tmp, "pids"))
    sub = None
    try:
        meta = versions()
        meta.update(rounds=ROUNDS, secs=SECS, conns=CONNS, wrk_threads=WRK_THREADS,
                    backend_procs=BACKEND_PROCS, uwsgi_args=UWSGI_ARGS,
                    pool=POOL, nginx_setup=f"worker_processes 1, upstream keepalive {POOL}")
        print(f"# router benchmark: wrk {meta['wrk']} -t {WRK_THREADS}, {ROUNDS} rounds of "
              f"{SECS} s per path and connection count, medians; {meta['ncpu']} x {meta['cpu']}, "
              f"Linux {meta['kernel']}", flush=True)
        print(f"# single-threaded proxies on both sides: imperium's router (the emperor's one "
              f"loop), nginx {meta['nginx']} with worker_processes 1, uWSGI {meta['uwsgi']} "
              f"http router with 1 process; {POOL} idle keep-alive connections to the node "
              f"(nginx keepalive, our http-backend-pool); backend: bench-backend, "
              f"{BACKEND_PROCS} process(es)", flush=True)
        b0 = machine_ticks()
        time.sleep(1)
        b1 = machine_ticks()
        meta["idle_load_pct"] = 100 * (b1[0] - b0[0]) / max(b1[1] - b0[1], 1)
        print(f"# machine load before starting (other work): {meta['idle_load_pct']:.0f}% of "
              f"all cores", flush=True)
        exe = build_backend(bin_dir, tmp)
        start_backend(procs, exe)
        start_ours(procs, bin_dir, tmp)
        start_nginx(procs, tmp)
        start_uwsgi(procs, tmp)
        sub = Subscriber([
            (PORT["ours_sub"], sub_packet(HOST, f"{LO}:{PORT['backend_http']}", "http")),
            (PORT["ours_sub"], sub_packet(HOST_UWSGI, f"{LO}:{PORT['backend_uwsgi']}")),
            (PORT["uwsgi_sub"], sub_packet(HOST, f"{LO}:{PORT['backend_uwsgi']}")),
        ])
        sub.send_all()
        sub.start()
        keepalive = {}
        for p in PATHS:
            keepalive[p.name] = verify(p, procs)
            print(f"#   {p.label}: curl ok (200, hello)", flush=True)
        for p in PATHS:
            wrk(p, CONNS[0], WARMUP_SECS)
        results = {(p.name, c): [] for p in PATHS for c in CONNS}
        t0 = time.monotonic()
        for rnd in range(1, ROUNDS + 1):
            for c in CONNS:
                for p in PATHS:
                    res = wrk(p, c, SECS, procs)
                    procs.check_alive()
                    results[(p.name, c)].append(res)
                    print(f"#   round {rnd}, {c} conns, {p.label}: {res['rps']:.0f} req/s, "
                          f"p99 {res['p99_ms']:.2f} ms", flush=True)
        print(f"# all rounds in {time.monotonic() - t0:.0f} s")
        doc = report(results, keepalive, meta)
        out = os.path.join(bin_dir, "bench-router.json")
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
    args = bench_args(__doc__, "router", "network namespace")
    if args is None:
        return 1
    # A timeout's SIGTERM unwinds through the finally blocks: all is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    try:
        enter_netns()
        become_subreaper()
        return run(args)
    except BenchError as e:
        print(f"bench router: FAILED: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
