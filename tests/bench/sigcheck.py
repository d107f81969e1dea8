# SPDX-License-Identifier: GPL-2.0-or-later
"""`make bench`, signatures part: signed subscription packets verified per
second by the emperor's subscription server, with RSA-2048 and RSA-4096
keys (SHA256), beside OpenSSL's own single-core verify rate for the same key
size measured in the same run (`openssl speed rsaN`): the ratio is what the
rest of the packet path (receive, parse, key file stat, replay counter)
costs on top of the RSA arithmetic.

The packets are signed beforehand (tests/bench/sigpackets.c, built here
against the build's libimperium.a): each unsubscribes a distinct node the
router does not have, so each is verified and its counter stored, and
nothing else happens. They go over a unix datagram subscription socket,
whose sender blocks when the queue is full, so none is lost; the time runs
from the first send until the stats count them all as verified. Medians
over BENCH_ROUNDS (3) rounds, each with a fresh emperor, of the same
BENCH_SIG_COUNT packets (20000 for 2048 bits, a tenth of it for 4096). Figures also go to BUILD/bench-sigcheck.json.

Run by tests/bench/run.sh inside its network namespace (nothing here uses
the network but a unix socket); every process it starts is stopped by PID.
"""
import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
COUNT = int(os.environ.get("BENCH_SIG_COUNT", 20000))


def run(argv, **kw):
    r = subprocess.run(argv, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise SystemExit("bench: %s failed: %s" % (argv[0], (r.stderr or r.stdout)[-400:]))
    return r.stdout


def build_tool(bin_dir, tmp):
    out = os.path.join(tmp, "sigpackets")
    src = os.path.join(ROOT, "tests", "bench", "sigpackets.c")
    libs = run(["pkg-config", "--libs", "openssl"]).split()
    run(["cc", "-O2", "-I", ROOT, "-o", out, src, os.path.join(bin_dir, "libimperium.a")] + libs)
    return out


def verified(bin_dir, stats):
    out = subprocess.run([os.path.join(bin_dir, "emperor"), "stats", "-s", stats],
                         capture_output=True, text=True, timeout=10).stdout
    return json.loads(out)["router"]["signatures"]["verified"]


def openssl_verify_rate(bits):
    r = subprocess.run(["openssl", "speed", "-seconds", "2", "rsa%d" % bits],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = r.stdout
    m = re.search(r"^rsa\s+%d bits\s+\S+\s+\S+\s+(\S+)\s+(\S+)" % bits, out, re.M)
    if not m:
        raise SystemExit("bench: cannot read openssl speed's output for rsa%d" % bits)
    return float(m.group(2))


def load(path):
    pkts = []
    with open(path, "rb") as f:
        data = f.read()
    i = 0
    while i < len(data):
        n = data[i] | data[i + 1] << 8
        pkts.append(data[i + 2:i + 2 + n])
        i += 2 + n
    return pkts


def start_emperor(a, ini, stats, sub):
    for f in (stats, sub):
        if os.path.exists(f):
            os.unlink(f)
    log = open(os.path.join(a.tmp, "emperor.log"), "a")
    emp = subprocess.Popen(["setpriv", "--pdeathsig", "KILL", os.path.join(a.bin, "emperor"),
                            "-c", ini], stdout=log, stderr=subprocess.STDOUT)
    with open(a.pidfile, "a") as f:
        start = open("/proc/%d/stat" % emp.pid).read().rsplit(")", 1)[1].split()[19]
        f.write("%d %s\n" % (emp.pid, start))
    for _ in range(200):
        if os.path.exists(stats) and os.path.exists(sub):
            return emp
        time.sleep(0.025)
    stop(emp)
    raise SystemExit("bench: the emperor did not start (see its log)")


def stop(emp):
    emp.terminate()
    try:
        emp.wait(10)
    except subprocess.TimeoutExpired:
        emp.kill()
        emp.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tmp", required=True)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--pidfile", required=True)
    a = ap.parse_args()
    os.makedirs(a.tmp, exist_ok=True)
    tool = build_tool(a.bin, a.tmp)
    keys = os.path.join(a.tmp, "keys")
    os.makedirs(keys, exist_ok=True)
    for bits in (2048, 4096):
        priv = os.path.join(a.tmp, "k%d.pem" % bits)
        run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:%d" % bits,
             "-out", priv])
        run(["openssl", "pkey", "-in", priv, "-pubout", "-out",
             os.path.join(keys, "b%d.test.pem" % bits)])
    sub = os.path.join(a.tmp, "sub.sock")
    stats = os.path.join(a.tmp, "stats.sock")
    os.makedirs(os.path.join(a.tmp, "vassals.d"), exist_ok=True)
    ini = os.path.join(a.tmp, "emperor.ini")
    with open(ini, "w") as f:
        f.write("[emperor]\nvassals = %s/vassals.d\nstats = %s\nrun-dir = %s/run\n"
                "subscription-server = %s\nsubscriptions-sign-check = SHA256:%s\n"
                "subscriptions-sign-tolerance = 1h\nsubscriptions-sign-counters = 1000000\n"
                % (a.tmp, stats, a.tmp, sub, keys))
    results = {}
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    for bits in (2048, 4096):
        n = COUNT if bits == 2048 else max(100, COUNT // 10)
        path = os.path.join(a.tmp, "pk%d" % bits)
        run([tool, os.path.join(a.tmp, "k%d.pem" % bits), "SHA256", "b%d.test" % bits,
             str(n), "1000", path])
        pkts = load(path)
        rates = []
        for _ in range(ROUNDS):
            # a fresh emperor each round: the same packets, fresh counters
            emp = start_emperor(a, ini, stats, sub)
            try:
                t0 = time.monotonic()
                for p in pkts:
                    s.sendto(p, sub)
                while verified(a.bin, stats) < n:
                    if time.monotonic() - t0 > 120:
                        raise SystemExit("bench: the router did not verify %d packets in 120 s"
                                         % n)
                    time.sleep(0.005)
                rates.append(n / (time.monotonic() - t0))
            finally:
                stop(emp)
        raw = openssl_verify_rate(bits)
        results[bits] = {"router_verify_per_s": statistics.median(rates),
                         "rounds": rates, "openssl_verify_per_s": raw, "packets": n}
    print("Signed subscriptions verified per second (SHA256, median of %d rounds; "
          "openssl speed = one core's raw RSA verify rate, same run)" % ROUNDS)
    print("%-10s %16s %18s %8s" % ("key", "router verify/s", "openssl verify/s", "ratio"))
    for bits, r in results.items():
        print("%-10s %16.0f %18.0f %8.2f" % ("RSA-%d" % bits, r["router_verify_per_s"],
                                              r["openssl_verify_per_s"],
                                              r["router_verify_per_s"] / r["openssl_verify_per_s"]))
    with open(os.path.join(a.bin, "bench-sigcheck.json"), "w") as f:
        json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
