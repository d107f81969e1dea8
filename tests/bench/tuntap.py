# SPDX-License-Identifier: GPL-2.0-or-later
"""`make bench`, tuntap part: the tuntap router's packet path beside a
kernel veth pair and pasta (Debian's passt), with iperf3, in the same run.

Paths, each measured with iperf3 TCP (SECS seconds) and UDP (1400-byte
datagrams at UDP_RATE: received throughput and loss):
  ours      host <-> vassal: a jailed vassal with `tuntap-device` (its tun
            descriptor in our emperor's router), iperf3 run in its network
            namespace with nsenter; the host end in this namespace, on the
            router's device address. h2v: host sends; v2h: the vassal
            sends (iperf3 -R on the same connection).
  ours v2v  vassal -> vassal through the router (allowed by a
            `tuntap-router-firewall-out` rule).
  veth      the same pairs over kernel veth pairs between namespaces made
            here (this one and two `unshare --net` ones; default MTU, the
            kernel's offloads).
  pasta     this namespace <-> a namespace pasta makes (tap mode, MTU
            65520): host -> namespace through pasta's port forward to
            127.0.0.1, and -R for the other way. pasta needs an interface to
            take its template from: a veth pair kept inside this namespace.
  framed    host <-> a real uWSGI instance (Debian's uwsgi-core, tuntap
            plugin, `tuntap-device`) connected to our router's socket:
            uWSGI's framing, its 1500-byte MTU device.
Medians over ROUNDS rounds; the table prints ours/veth and ours/pasta.
Figures also go to BUILD/bench-tuntap.json. Knobs: BENCH_TT_SECS (10),
BENCH_TT_ROUNDS (3), BENCH_TT_UDP_RATE ("5G"), BENCH_TT_PATHS (all:
"ours veth pasta framed"), BENCH_TT_PROTOS (both: "tcp udp"), BENCH_TT_MTU (the router's `tuntap-mtu`, 65520).

Every address lives in the namespaces this makes (10.90/16); nothing is
routed or NATed anywhere else. Run by run.sh in its network namespace; run
alone (as root) it re-executes itself in a fresh one. Processes are started
with `setpriv --pdeathsig KILL` and stopped by PID at the end.
"""
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procs import bench_args, become_subreaper  # noqa: E402
from router import BenchError, Procs, enter_netns  # noqa: E402

SECS = int(os.environ.get("BENCH_TT_SECS", 10))
ROUNDS = int(os.environ.get("BENCH_TT_ROUNDS", 3))
UDP_RATE = os.environ.get("BENCH_TT_UDP_RATE", "5G")
PATHS = os.environ.get("BENCH_TT_PATHS", "ours veth pasta framed").split()
MTU = int(os.environ.get("BENCH_TT_MTU", 65520))
PROTOS = os.environ.get("BENCH_TT_PROTOS", "tcp udp").split()
PORT = 19500
HOST_IP, VA_IP, VB_IP, UW_IP = "10.90.0.1", "10.90.0.2", "10.90.0.3", "10.90.0.9"


def sh(*argv, check=True):
    r = subprocess.run(argv, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise BenchError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r.stdout


def wait_for(what, cond, timeout=15):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise BenchError(f"{what}: not after {timeout} s")
        time.sleep(0.1)


def ns(pid):
    """argv prefix running a command in process @pid's network namespace
    (None: this one; a negative pid: -pid's user and network namespaces,
    for pasta's, which it makes with a user namespace of its own)."""
    if pid and pid < 0:
        return ["nsenter", "-t", str(-pid), "-U", "-n", "--preserve-credentials", "--"]
    return ["nsenter", "-t", str(pid), "-n", "--"] if pid else []


# ------------------------------------------------------------------ iperf3

def iperf(procs, srv_pid, srv_ip, cli_pid, dst, udp, reverse, port=PORT):
    """One iperf3 run: server in @srv_pid's namespace on @srv_ip, client in
    @cli_pid's to @dst. Returns {gbps, loss} (received throughput)."""
    name = f"iperf-s-{time.monotonic_ns()}"
    srv = procs.start(name, [*ns(srv_pid), "iperf3", "-s", "-1", "-B", srv_ip, "-p", str(port)])
    argv = [*ns(cli_pid), "iperf3", "-c", dst, "-p", str(port), "-t", str(SECS), "-J"]
    if udp:
        argv += ["-u", "-l", "1400", "-b", UDP_RATE]
    if reverse:
        argv.append("-R")
    # Connect once it listens: through pasta's port forward a connection is
    # accepted here before the server side is tried.
    wait_for(f"iperf3 server on {srv_ip}:{port}", lambda: f":{port} " in sh(
        *ns(srv_pid), "ss", "-Hltn", check=False), 10)
    r = subprocess.run(argv, capture_output=True, text=True, timeout=SECS + 30)
    try:
        srv.wait(5)
    except subprocess.TimeoutExpired:
        srv.kill()
        srv.wait()
    log = procs.tail(name)
    procs.started = [x for x in procs.started if x[1] is not srv]  # done: not watched
    try:
        doc = json.loads(r.stdout)
    except ValueError:
        raise BenchError(f"iperf3 {' '.join(argv)}: {r.stderr.strip() or r.stdout[-300:]}")
    if "error" in doc:
        raise BenchError(f"iperf3 to {dst}: {doc['error']}; the server's log:\n  " +
                         "\n  ".join(log))
    end = doc["end"]
    if udp:
        s = end.get("sum_received") or end["sum"]
        lost = end["sum"].get("lost_percent", 0.0)
        bps = s["bits_per_second"]
        if "sum_received" not in end:  # older iperf3: sender's rate
            bps *= 1 - lost / 100
        return {"gbps": bps / 1e9, "loss": lost}
    return {"gbps": end["sum_received"]["bits_per_second"] / 1e9, "loss": 0.0}


# ------------------------------------------------------------------ set-ups

def start_ours(procs, bin_dir, tmp):
    """Our emperor with the tuntap router and two jailed vassals va, vb.
    Returns {"va": pid, "vb": pid} (each vassal's pid, for nsenter)."""
    work = os.path.join(tmp, "imperium")
    vd = os.path.join(work, "vassals.d")
    os.makedirs(vd)
    sock = os.path.join(work, "tt.sock")
    with open(os.path.join(work, "emperor.ini"), "w") as f:
        f.write("[emperor]\n"
                f"vassals = {vd}\nrun-dir = {work}/run\n"
                f"tuntap-router = tb0 {sock}\ntuntap-router-ip = {HOST_IP}/24\n"
                f"tuntap-mtu = {MTU}\n"
                f"tuntap-router-firewall-out = allow {VA_IP} {VB_IP}\n"
                f"tuntap-router-firewall-out = allow {VB_IP} {VA_IP}\n")
    procs.start("imperium", [os.path.join(bin_dir, "emperor"), "-c",
                             os.path.join(work, "emperor.ini")])
    wait_for("the tuntap router's socket", lambda: os.path.exists(sock), 10)
    for name, ip in (("va", VA_IP), ("vb", VB_IP)):
        with open(os.path.join(vd, f".{name}.tmp"), "w") as f:
            f.write("[vassal]\nexec = /app/hello\n"
                    f"env = HELLO_ADDR={ip}:8080\n"
                    "use-clone = ipc,uts,fs,pid,net\n"
                    f"bind-ro = {os.path.join(bin_dir, 'hello')}:/app/hello\n"
                    f"hostname = {name}\nuid = 65534\n"
                    f"tuntap-device = tv0 {sock}\ntuntap-ip = {ip}/24\n"
                    f"tuntap-gateway = {HOST_IP}\n")
        os.rename(os.path.join(vd, f".{name}.tmp"), os.path.join(vd, f"{name}.ini"))
    pids = {}

    def found(name, ip):
        r = subprocess.run(["pgrep", "-f", f"vassal --name {name} "], capture_output=True,
                           text=True)
        for pid in r.stdout.split():
            addr = sh(*ns(int(pid)), "ip", "-o", "addr", "show", "tv0", check=False)
            if f"inet {ip}/" in addr:
                pids[name] = int(pid)
                return True
        return False

    for name, ip in (("va", VA_IP), ("vb", VB_IP)):
        wait_for(f"vassal {name}'s tun device", lambda n=name, a=ip: found(n, a))
    for name in ("va", "vb"):
        link = sh(*ns(pids[name]), "ip", "-o", "link", "show", "tv0")
        print(f"#   ours: {name} tv0 {' '.join(link.split()[2:5])}", flush=True)
    print(f"#   ours: tb0 {' '.join(sh('ip', '-o', 'link', 'show', 'tb0').split()[2:5])}",
          flush=True)
    return pids, sock


def netns_proc(procs, name):
    """A process holding a new network namespace with lo up; its pid."""
    p = procs.start(name, ["unshare", "--net", "--", "sleep", "100000"])
    wait_for(f"{name}'s namespace", lambda: os.readlink(f"/proc/{p.pid}/ns/net") !=
             os.readlink("/proc/self/ns/net"), 5)
    sh(*ns(p.pid), "ip", "link", "set", "lo", "up")
    return p.pid


def start_veth(procs):
    """host (here) <-> nsA over veth 10.90.1.0/24, nsA <-> nsB over veth
    10.90.2.0/24. Returns (pidA, pidB)."""
    a, b = netns_proc(procs, "veth-a"), netns_proc(procs, "veth-b")
    sh("ip", "link", "add", "bv0", "type", "veth", "peer", "name", "bv1", "netns", str(a))
    sh("ip", "addr", "add", "10.90.1.1/24", "dev", "bv0")
    sh("ip", "link", "set", "bv0", "up")
    sh(*ns(a), "ip", "addr", "add", "10.90.1.2/24", "dev", "bv1")
    sh(*ns(a), "ip", "link", "set", "bv1", "up")
    sh(*ns(a), "ip", "link", "add", "bw0", "type", "veth", "peer", "name", "bw1", "netns", str(b))
    sh(*ns(a), "ip", "addr", "add", "10.90.2.2/24", "dev", "bw0")
    sh(*ns(a), "ip", "link", "set", "bw0", "up")
    sh(*ns(b), "ip", "addr", "add", "10.90.2.3/24", "dev", "bw1")
    sh(*ns(b), "ip", "link", "set", "bw1", "up")
    return a, b


def start_pasta(procs):
    """pasta (tap mode, MTU 65520) giving a namespace of its own 10.90.3.2,
    with PORT forwarded from here. Returns the pid in that namespace."""
    sh("ip", "link", "add", "bp0", "type", "veth", "peer", "name", "bp1")
    sh("ip", "addr", "add", "10.90.3.1/24", "dev", "bp0")
    sh("ip", "link", "set", "bp1", "up")
    sh("ip", "link", "set", "bp0", "up")
    p = procs.start("pasta", ["pasta", "-f", "-q", "--runas", "0", "--config-net", "-i", "bp0",
                              "-I", "tap0", "-m", "65520", "-a", "10.90.3.2", "-n", "24",
                              "-g", "10.90.3.1", "-t", str(PORT), "-u", str(PORT), "-T", "none",
                              "-U", "none", "--ipv4-only", "--", "sleep", "100000"])
    pid = []

    def child():
        r = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True, text=True)
        pid[:] = [int(x) for x in r.stdout.split()]
        return pid and "tap0" in sh("nsenter", "-t", str(pid[0]), "-U", "-n",
                                    "--preserve-credentials", "ip", "-o", "addr", check=False)

    wait_for("pasta's namespace", child, 10)
    return pid[0]


def start_uwsgi_peer(procs, sock):
    """A uWSGI instance with `tuntap-device` on our router's socket, in a
    network namespace of its own, UW_IP. Returns its pid."""
    p = procs.start("uwsgi-peer", [
        "uwsgi", "--unshare", "net", "--plugin", "tuntap", "--tuntap-device", f"tunu0 {sock}",
        "--socket", "127.0.0.1:18331", "--exec-as-root", "ip link set lo up",
        "--exec-as-root", f"ip addr add {UW_IP}/24 dev tunu0",
        # uWSGI connects more than once; the connections that learn no
        # address stay quiet without IPv6
        "--exec-as-root", "sysctl -qw net.ipv6.conf.tunu0.disable_ipv6=1",
        "--exec-as-root", "ip link set tunu0 up"])
    wait_for("uWSGI's worker", lambda: "spawned uWSGI worker" in procs.log("uwsgi-peer"), 15)
    wait_for("uWSGI's tunu0", lambda: UW_IP in sh(*ns(p.pid), "ip", "-4", "-o", "addr",
                                                   check=False), 10)
    # its first packet (a UDP datagram to the discard port) tells the
    # router its address
    sh(*ns(p.pid), "python3", "-c", "import socket; socket.socket(socket.AF_INET, "
       f"socket.SOCK_DGRAM).sendto(b'x', ('{HOST_IP}', 9))")
    time.sleep(0.2)
    return p.pid


# ------------------------------------------------------------------ the run

def report(res):
    def med(key):
        v = res.get(key)
        return statistics.median(x["gbps"] for x in v) if v else None

    def loss(key):
        v = res.get(key)
        return statistics.median(x["loss"] for x in v) if v else None

    print()
    print(f"tuntap: iperf3 TCP {SECS} s and UDP 1400 B at {UDP_RATE}, medians of {ROUNDS} "
          f"round(s), Gbit/s received (UDP: loss %)")
    print(f"{'path':<24}{'ours':>9}{'veth':>9}{'pasta':>9}{'framed':>9}"
          f"{'ours/veth':>11}{'ours/pasta':>12}")
    for proto in ("tcp", "udp"):
        for d in ("h2v", "v2h", "v2v"):
            row = {p: med((p, proto, d)) for p in ("ours", "veth", "pasta", "framed")}
            if all(v is None for v in row.values()):
                continue
            cells = []
            for p in ("ours", "veth", "pasta", "framed"):
                v = row[p]
                if v is None:
                    cells.append(f"{'-':>9}")
                elif proto == "udp":
                    cells.append(f"{v:>6.2f}/{loss((p, proto, d)):<2.0f}")
                else:
                    cells.append(f"{v:>9.2f}")
            o = row["ours"]
            rv = f"{o / row['veth']:.2f}" if o and row["veth"] else "-"
            rp = f"{o / row['pasta']:.2f}" if o and row["pasta"] else "-"
            print(f"{proto + ' ' + d:<24}{''.join(cells)}{rv:>11}{rp:>12}")
    return {f"{p}/{proto}/{d}": {"gbps": med((p, proto, d)), "loss": loss((p, proto, d)),
                                  "runs": v} for (p, proto, d), v in res.items()}


def run(args):
    bin_dir = os.path.abspath(args.bin)
    own_tmp = args.tmp is None
    tmp = tempfile.mkdtemp(prefix="imperium-bench-tt.") if own_tmp else args.tmp
    os.makedirs(tmp, exist_ok=True)
    os.chmod(tmp, 0o755)
    procs = Procs(tmp, args.pidfile or os.path.join(tmp, "pids"))
    try:
        cases = []  # (path, direction, srv_pid, srv_ip, cli_pid, dst, reverse)
        if "ours" in PATHS or "framed" in PATHS:
            v, sock = start_ours(procs, bin_dir, tmp)
        if "ours" in PATHS:
            cases += [("ours", "h2v", v["va"], VA_IP, None, VA_IP, False),
                      ("ours", "v2h", v["va"], VA_IP, None, VA_IP, True),
                      ("ours", "v2v", v["vb"], VB_IP, v["va"], VB_IP, False)]
        if "veth" in PATHS:
            a, b = start_veth(procs)
            cases += [("veth", "h2v", a, "10.90.1.2", None, "10.90.1.2", False),
                      ("veth", "v2h", a, "10.90.1.2", None, "10.90.1.2", True),
                      ("veth", "v2v", b, "10.90.2.3", a, "10.90.2.3", False)]
        if "pasta" in PATHS:
            pp = start_pasta(procs)
            # the server in pasta's namespace, the client here through the
            # port forward
            cases += [("pasta", "h2v", -pp, "0.0.0.0", None, "127.0.0.1", False),
                      ("pasta", "v2h", -pp, "0.0.0.0", None, "127.0.0.1", True)]
        if "framed" in PATHS:
            uw = start_uwsgi_peer(procs, sock)
            cases += [("framed", "h2v", uw, UW_IP, None, UW_IP, False),
                      ("framed", "v2h", uw, UW_IP, None, UW_IP, True)]
        res = {}
        for rnd in range(1, ROUNDS + 1):
            for proto in PROTOS:
                for path, d, sp, sip, cp, dst, rev in cases:
                    r = iperf(procs, sp, sip, cp, dst, proto == "udp", rev)
                    procs.check_alive()
                    res.setdefault((path, proto, d), []).append(r)
                    extra = f", loss {r['loss']:.1f} %" if proto == "udp" else ""
                    print(f"#   round {rnd}, {path} {proto} {d}: {r['gbps']:.2f} Gbit/s{extra}",
                          flush=True)
        doc = report(res)
        out = os.path.join(bin_dir, "bench-tuntap.json")
        with open(out, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"figures written to {out}")
        return 0
    finally:
        procs.stop_all()
        for dev in ("bv0", "bp0"):
            subprocess.run(["ip", "link", "del", dev], capture_output=True)
        if own_tmp:
            shutil.rmtree(tmp, ignore_errors=True)


def main():
    args = bench_args(__doc__, "tuntap", "namespaces, tun devices")
    if args is None:
        return 1
    missing = [t for t in ("iperf3", "pasta", "uwsgi", "nsenter", "setpriv", "unshare")
               if not shutil.which(t)]
    if missing:
        print(f"bench tuntap: missing {', '.join(missing)} (make deps)", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    try:
        enter_netns(__file__)
        become_subreaper()
        return run(args)
    except BenchError as e:
        print(f"bench tuntap: FAILED: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
