# SPDX-License-Identifier: GPL-2.0-or-later
"""`make bench`: imperium's emperor beside uWSGI's Emperor, measured in the
same run, on the same machine. run.sh calls it inside a throwaway network
namespace with a temp dir; it prints a table and the lines for README.md.

Measurements, each repeated for ROUNDS rounds (a fresh emperor each time,
the two systems interleaved) and reported as the median of the rounds:

1. file-to-ready: SEQ vassals one after another. Each vassal file is
   renamed into the watched directory only once the previous vassal is
   ready; the time runs from just before the rename to the arrival, on the
   emperor's log pipe, of its "ready" line (timestamped by a reader thread).
   Per round: median and p90; for imperium also the emperor's own figure
   (the X of "ready (pid P) in X ms", spawn to ready).
   uWSGI polls its directory (emperor-freq = 1 s): it is measured as
   shipped, with the rename at a random moment of its poll cycle (POLLED
   vassals a round, as each costs ~1 s), and with the scan forced right
   after the rename (a connection to its emperor-stats socket wakes its
   loop, which rescans), which leaves the spawn itself.
   Done jailed (namespaces ipc,uts,fs,pid,net, fresh root, hostname, uid
   65534) and unjailed (no namespaces, uid 65534).
2. memory: MANY jailed vassals at once; when all are ready, the emperor's
   VmRSS (median of 5 reads 1 s apart) and the sum of VmRSS and Pss over
   every process under it (vassals and apps).

No timing is asserted: it reports. It exits 1 only if a measurement could
not be made (an emperor died or a vassal never became ready).
"""
import argparse
import math
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time

from procs import count_lines, descendants, status_kib
from systems import UWSGI_FREQ, Imperium, UWSGI

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
SEQ = int(os.environ.get("BENCH_SEQ", 30))
POLLED = int(os.environ.get("BENCH_POLLED", 10))
MANY = int(os.environ.get("BENCH_MANY", 200))
READY_TIMEOUT = 10  # s, one vassal (uWSGI's poll included)
MANY_TIMEOUT = 120  # s, all MANY vassals


def p90(values):
    """Nearest-rank 90th percentile."""
    s = sorted(values)
    return s[max(math.ceil(0.9 * len(s)) - 1, 0)]


def wait_ready(system, name):
    """Wait for NAME's ready line; returns (arrival time, match)."""
    while True:
        t, m = system.emperor.wait_line(system.ready_re, READY_TIMEOUT)
        if system.ready_name(m) == name:
            return t, m


def file_to_ready(system, n, kick=True, phase=None):
    """n vassals one after another; returns {'ms': [...], 'own': [...]}.

    kick: force a directory scan right after each rename (uWSGI).
    phase: a random.Random: sleep a random part of the poll interval before
    each rename, so it lands anywhere in uWSGI's poll cycle.
    """
    out = {"ms": [], "own": []}
    system.start()
    try:
        for i in range(n):
            name = f"seq{i:03d}"
            staged, final = system.stage(name, 20000 + i)
            if phase:
                time.sleep(phase.uniform(0, UWSGI_FREQ))
            t0 = time.monotonic()
            os.rename(staged, final)
            if kick:
                system.kick()
            t1, m = wait_ready(system, name)
            out["ms"].append((t1 - t0) * 1000)
            own = system.own_ms(m)
            if own is not None:
                out["own"].append(own)
    finally:
        system.stop()
    return out


def tree_memory(pid):
    """(processes, sum of VmRSS, sum of Pss) under pid, in KiB."""
    procs = descendants(pid)
    rss = sum(status_kib(p, "VmRSS") or 0 for p in procs)
    pss = sum(status_kib(p, "Pss", "smaps_rollup") or 0 for p in procs)
    return len(procs), rss, pss


def memory(system, n):
    """n vassals at once; returns the emperor's and its tree's memory."""
    system.start()
    try:
        staged = [system.stage(f"many{i:03d}", 21000 + i) for i in range(n)]
        t0 = time.monotonic()
        for src, dst in staged:
            os.rename(src, dst)
        system.kick()
        times = count_lines(system.emperor, system.ready_re, n, MANY_TIMEOUT)
        all_ready = times[-1] - t0
        time.sleep(1)  # let the last starts settle
        reads = []
        for i in range(5):
            if i:
                time.sleep(1)
            reads.append((status_kib(system.emperor.pid, "VmRSS"),
                          *tree_memory(system.emperor.pid)))
        cols = list(zip(*reads))
        return {"all_ready_s": all_ready,
                "rss_kib": statistics.median(cols[0]),
                "procs": statistics.median(cols[1]),
                "tree_rss_kib": statistics.median(cols[2]),
                "tree_pss_kib": statistics.median(cols[3])}
    finally:
        system.stop()


class Bench:
    """Runs the rounds and keeps every per-round figure."""

    def __init__(self, tmp, bin_dir):
        self.tmp, self.bin = tmp, bin_dir
        self.pidfile = os.path.join(tmp, "pids")
        self.rounds = []  # one {metric: {system: value}} per round
        self.errors = []
        self.n = 0

    def make(self, kind, jailed):
        self.n += 1
        work = os.path.join(self.tmp, f"{self.n:02d}-{kind.label}")
        if kind is Imperium:
            return Imperium(work, self.pidfile, jailed, self.bin)
        return UWSGI(work, self.pidfile, jailed)

    def attempt(self, what, system, fn):
        """Run fn(system); a failure is reported with the emperor's last
        log lines, and the benchmark goes on."""
        t0 = time.monotonic()
        try:
            result = fn(system)
        except Exception as e:  # noqa: BLE001: report whatever broke
            self.errors.append(f"{what}: {type(e).__name__}: {e}")
            print(f"#   {what}: FAILED: {type(e).__name__}: {e}", flush=True)
            if system.emperor:
                for line in system.emperor.tail():
                    print(f"#     | {line}")
            return None
        print(f"#   {what}: done in {time.monotonic() - t0:.1f} s", flush=True)
        return result

    def one_round(self, r):
        """Every measurement once, the two systems interleaved."""
        rec = {}

        def keep(scenario, label, result):
            if result:
                rec.setdefault(scenario, {})[label] = result

        for kind in (Imperium, UWSGI):
            for scenario, jailed, how in (("seq_jailed", True, "jailed"),
                                          ("seq_free", False, "unjailed")):
                keep(scenario, kind.label, self.attempt(
                    f"round {r}: {kind.label} file-to-ready, {how}",
                    self.make(kind, jailed), lambda s: file_to_ready(s, SEQ)))
        phase = random.Random(1000 + r)
        keep("seq_polled", "uWSGI", self.attempt(
            f"round {r}: uWSGI file-to-ready, jailed, polled", self.make(UWSGI, True),
            lambda s: file_to_ready(s, POLLED, kick=False, phase=phase)))
        for kind in (Imperium, UWSGI):
            keep("many", kind.label, self.attempt(
                f"round {r}: {kind.label} {MANY} jailed vassals", self.make(kind, True),
                lambda s: memory(s, MANY)))
        self.rounds.append(rec)

    def value(self, scenario, system, fn):
        """Median over the rounds of fn(that round's result), or None."""
        vals = [fn(r[scenario][system]) for r in self.rounds
                if system in r.get(scenario, {})]
        vals = [v for v in vals if v is not None]
        return statistics.median(vals) if vals else None

    def per_round(self, scenario, system, fn):
        return [fn(r[scenario][system]) if system in r.get(scenario, {}) else None
                for r in self.rounds]


def med(key):
    return lambda s: statistics.median(s[key]) if s[key] else None


def pct90(key):
    return lambda s: p90(s[key]) if s[key] else None


def field(key, scale=1.0):
    return lambda s: s[key] * scale


MIB = 1 / 1024

# (label, scenario for imperium, scenario for uWSGI, figure, format)
ROWS = [
    ("file-to-ready, jailed: median (ms)", "seq_jailed", "seq_jailed", med("ms"), "{:.1f}"),
    ("file-to-ready, jailed: p90 (ms)", "seq_jailed", "seq_jailed", pct90("ms"), "{:.1f}"),
    ("  emperor's own spawn-to-ready: median (ms)", "seq_jailed", None, med("own"), "{:.1f}"),
    (f"file-to-ready, jailed, uWSGI polling ({UWSGI_FREQ} s): median (ms)",
     "seq_jailed", "seq_polled", med("ms"), "{:.1f}"),
    (f"file-to-ready, jailed, uWSGI polling ({UWSGI_FREQ} s): p90 (ms)",
     "seq_jailed", "seq_polled", pct90("ms"), "{:.1f}"),
    ("file-to-ready, unjailed: median (ms)", "seq_free", "seq_free", med("ms"), "{:.1f}"),
    ("file-to-ready, unjailed: p90 (ms)", "seq_free", "seq_free", pct90("ms"), "{:.1f}"),
    (f"emperor RSS, {MANY} jailed vassals (MiB)", "many", "many", field("rss_kib", MIB), "{:.1f}"),
    (f"  processes under the emperor", "many", "many", field("procs"), "{:.0f}"),
    (f"  their total RSS (MiB)", "many", "many", field("tree_rss_kib", MIB), "{:.0f}"),
    (f"  their total PSS (MiB)", "many", "many", field("tree_pss_kib", MIB), "{:.0f}"),
    (f"  {MANY} files to all ready (s)", "many", "many", field("all_ready_s"), "{:.2f}"),
]


def fmt(f, v):
    return "n/a" if v is None else f.format(v)


def table(bench):
    """The rows as (label, ours, theirs, ratio) strings, plus per-round detail."""
    rows, detail = [], []
    for label, s_ours, s_theirs, fn, f in ROWS:
        ours = bench.value(s_ours, "imperium", fn)
        theirs = bench.value(s_theirs, "uWSGI", fn) if s_theirs else None
        ratio = fmt("{:.3f}" if theirs and ours / theirs < 0.1 else "{:.2f}",
                    ours / theirs if ours is not None and theirs else None)
        rows.append((label.strip(), fmt(f, ours), fmt(f, theirs), ratio, label))
        rounds = [" / ".join(fmt(f, v) for v in bench.per_round(s, sysname, fn))
                  for sysname, s in (("imperium", s_ours), ("uWSGI", s_theirs)) if s]
        detail.append((label.strip(), rounds))
    return rows, detail


def print_table(rows):
    w = max(len(r[4]) for r in rows) + 2
    print(f"{'metric':<{w}}{'imperium':>10}{'uWSGI':>10}{'ratio':>9}")
    for _, ours, theirs, ratio, label in rows:
        print(f"{label:<{w}}{ours:>10}{theirs:>10}{ratio:>9}")


def machine():
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    uwsgi = subprocess.run(["/usr/bin/uwsgi", "--version"], capture_output=True,
                           text=True).stdout.strip()
    return cpu, os.cpu_count(), platform.release(), uwsgi


def readme_lines(rows, cpu, ncpu, kernel, uwsgi):
    out = ["## Benchmarks", "",
           f"`sudo make bench` on {ncpu} cores ({cpu}), Linux {kernel}, against Debian's uWSGI "
           f"{uwsgi} Emperor measured in the same run: {ROUNDS} rounds, each a fresh emperor, "
           "medians of the rounds. Ratio = imperium / uWSGI.", "",
           "| metric | imperium | uWSGI | ratio |", "| --- | ---: | ---: | ---: |"]
    out += [f"| {label} | {ours} | {theirs} | {ratio} |" for label, ours, theirs, ratio, _ in rows]
    out += ["",
            f"- *file-to-ready*: from just before a vassal file is renamed into the watched "
            f"directory to its emperor's \"ready\" log line, {SEQ} vassals one after another "
            "(median and p90 per round). Ready is, for imperium, `vassal NAME: ready (pid P) "
            "in X ms` (the app was exec'd; X is the emperor's own spawn-to-ready figure) and, for "
            "uWSGI, `[emperor] vassal NAME.ini is ready to accept requests` (its worker entered "
            "its accept loop).",
            "- *jailed*: namespaces ipc, uts, mount, pid and net, a fresh tmpfs root, a hostname, "
            "uid 65534. imperium's vassal is the demo app alone in its root, its socket bound "
            "by the emperor. uWSGI's is the smallest uWSGI instance (one process, one loopback "
            "socket, no plugin, no app) with `emperor-use-clone = fs,ipc,uts,pid,net` and, in "
            "the vassal, pre-jail hooks (private mounts, tmpfs root, /proc, /dev/null, zero, "
            "urandom), `pivot_root`, as-root hooks (detach the old root, hostname) and "
            "`uid`/`gid = 65534`. uWSGI 2.0 cannot clear the capability bounding set or set "
            "no_new_privs; imperium does both.",
            f"- uWSGI polls its directory (`emperor-freq`, default 3 s, here {UWSGI_FREQ} s, "
            "its minimum); imperium uses inotify. The *uWSGI polling* rows rename each file at a "
            f"random point of the poll cycle ({POLLED} vassals a round). The other uWSGI rows "
            "force its scan right after the rename (a connection to its `emperor-stats` "
            "socket wakes its loop, which rescans), so they measure its spawn alone.",
            f"- *memory*: {MANY} jailed vassals at once, each on its own loopback port; once all "
            "are ready, VmRSS of the emperor process alone (median of 5 reads 1 s apart), and "
            "the sums of VmRSS and PSS over every process under it (imperium: vassal + app "
            "per vassal; uWSGI: one process per vassal)."]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tmp", required=True, help="temp dir to work in")
    ap.add_argument("--bin", required=True, help="imperium's build dir")
    args = ap.parse_args()
    # run.sh's timeout sends SIGTERM: unwind, so every emperor is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))

    bench = Bench(args.tmp, args.bin)
    cpu, ncpu, kernel, uwsgi = machine()
    print(f"# imperium vs uWSGI {uwsgi} Emperor: {ROUNDS} rounds, {SEQ} sequential vassals "
          f"({POLLED} for uWSGI polling), {MANY} for memory; {ncpu} x {cpu}, Linux {kernel}",
          flush=True)
    t0 = time.monotonic()
    for r in range(1, ROUNDS + 1):
        bench.one_round(r)
    print(f"# all rounds in {time.monotonic() - t0:.0f} s\n")

    rows, detail = table(bench)
    print_table(rows)
    print("\nper round (imperium | uWSGI):")
    for label, rounds in detail:
        print(f"  {label}: {' | '.join(rounds)}")
    ours = {r[0]: r[1] for r in rows}
    print(f"\nimperium targets: file-to-ready jailed median < 15 ms: "
          f"{ours['file-to-ready, jailed: median (ms)']} ms; emperor RSS < 16 MiB: "
          f"{ours[f'emperor RSS, {MANY} jailed vassals (MiB)']} MiB")
    if bench.errors:
        print("\nFAILED measurements:")
        for e in bench.errors:
            print(f"  {e}")
    print("\n----- README.md, section Benchmarks -----")
    print("\n".join(readme_lines(rows, cpu, ncpu, kernel, uwsgi)))
    print("----- end -----")
    return 1 if bench.errors else 0


if __name__ == "__main__":
    sys.exit(main())
