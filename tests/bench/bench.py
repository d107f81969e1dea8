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
import textwrap
import time

from procs import become_subreaper, count_lines, descendants, status_num
from systems import UWSGI_FREQ, Imperium, UWSGI

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))
SEQ = int(os.environ.get("BENCH_SEQ", 30))
POLLED = int(os.environ.get("BENCH_POLLED", 30))
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
    rss = sum(status_num(p, "VmRSS") or 0 for p in procs)
    pss = sum(status_num(p, "Pss", "smaps_rollup") or 0 for p in procs)
    return len(procs), rss, pss


def jail_summary(emperor_pid):
    """How one tenant process under the emperor is jailed, as seen from here:
    which namespaces differ from ours, its uids, what its root holds. Printed
    so that a reader can check both systems are compared like for like."""
    tree = descendants(emperor_pid)
    tenant = next((p for p in sorted(tree) if (status_num(p, "Uid") or 0) == 65534), None)
    if tenant is None:
        return "no process runs as uid 65534"
    own = [ns for ns in ("ipc", "uts", "mnt", "pid", "net")
           if os.readlink(f"/proc/{tenant}/ns/{ns}") != os.readlink(f"/proc/self/ns/{ns}")]
    try:
        root = " ".join(sorted(os.listdir(f"/proc/{tenant}/root")))
    except OSError as e:
        root = f"? ({e.strerror})"
    return f"own namespaces: {','.join(own) or 'none'}; uid 65534; root holds: {root}"


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
        jail = jail_summary(system.emperor.pid)
        time.sleep(1)  # let the last starts settle
        reads = []
        for i in range(5):
            if i:
                time.sleep(1)
            reads.append((status_num(system.emperor.pid, "VmRSS"),
                          *tree_memory(system.emperor.pid)))
        cols = list(zip(*reads))
        return {"all_ready_s": all_ready, "jail": jail,
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

MANY_L = f"{MANY} jailed vassals"
POLL_L = f"file-to-ready, jailed, uWSGI polling {UWSGI_FREQ} s"
PROCS = f"{MANY_L}: processes under the emperor"
NO_RATIO = {PROCS}  # a count of processes: a ratio would mean nothing

# (label, scenario for imperium, scenario for uWSGI or None, figure, format).
# The polling rows repeat imperium's jailed figures: it has no poll.
ROWS = [
    ("file-to-ready, jailed: median (ms)", "seq_jailed", "seq_jailed", med("ms"), "{:.1f}"),
    ("file-to-ready, jailed: p90 (ms)", "seq_jailed", "seq_jailed", pct90("ms"), "{:.1f}"),
    ("spawn-to-ready, jailed, emperor's own figure: median (ms)", "seq_jailed", None,
     med("own"), "{:.1f}"),
    (f"{POLL_L}: median (ms)", "seq_jailed", "seq_polled", med("ms"), "{:.1f}"),
    (f"{POLL_L}: p90 (ms)", "seq_jailed", "seq_polled", pct90("ms"), "{:.1f}"),
    ("file-to-ready, unjailed: median (ms)", "seq_free", "seq_free", med("ms"), "{:.1f}"),
    ("file-to-ready, unjailed: p90 (ms)", "seq_free", "seq_free", pct90("ms"), "{:.1f}"),
    (f"{MANY_L}: emperor RSS (MiB)", "many", "many", field("rss_kib", MIB), "{:.1f}"),
    (PROCS, "many", "many", field("procs"), "{:.0f}"),
    (f"{MANY_L}: their RSS, summed (MiB)", "many", "many", field("tree_rss_kib", MIB), "{:.0f}"),
    (f"{MANY_L}: their PSS, summed (MiB)", "many", "many", field("tree_pss_kib", MIB), "{:.0f}"),
    (f"{MANY_L}: first file to all ready (s)", "many", "many", field("all_ready_s"), "{:.2f}"),
]


def fmt(f, v):
    return "n/a" if v is None else f.format(v)


def table(bench):
    """ROWS as (label, ours, theirs, ratio) strings, and the per-round figures."""
    rows, detail = [], []
    for label, s_ours, s_theirs, fn, f in ROWS:
        ours = bench.value(s_ours, "imperium", fn)
        theirs = bench.value(s_theirs, "uWSGI", fn) if s_theirs else None
        ratio = None
        if ours is not None and theirs and label not in NO_RATIO:
            ratio = ours / theirs
        ratio = fmt("{:.3f}" if ratio and ratio < 0.1 else "{:.2f}", ratio)
        rows.append((label, fmt(f, ours), fmt(f, theirs), ratio))
        rounds = [" / ".join(fmt(f, v) for v in bench.per_round(s, sysname, fn))
                  for sysname, s in (("imperium", s_ours), ("uWSGI", s_theirs)) if s]
        detail.append((label, rounds))
    return rows, detail


def print_table(rows):
    w = max(len(r[0]) for r in rows) + 2
    print(f"{'metric':<{w}}{'imperium':>10}{'uWSGI':>10}{'ratio':>9}")
    for label, ours, theirs, ratio in rows:
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
    out += [f"| {label} | {ours} | {theirs} | {ratio} |" for label, ours, theirs, ratio in rows]
    out += ["",
            f"- *file-to-ready*: from just before a vassal file is renamed into the watched "
            f"directory to the arrival of its emperor's \"ready\" log line, {SEQ} vassals one "
            "after another (median and p90 per round). Ready is, for imperium, `vassal NAME: "
            "ready (pid P) in X ms` (the app was exec'd in its jail) and, for uWSGI, `[emperor] "
            "vassal NAME.ini is ready to accept requests` (its worker entered its accept loop). "
            "X, the emperor's own figure, runs from spawn to ready.",
            "- *jailed*: namespaces ipc, uts, mount, pid and net, a fresh tmpfs root, a hostname, "
            "uid 65534. imperium's vassal is the static demo app alone in its root, on a "
            "loopback socket the emperor binds in the host. uWSGI's is the smallest uWSGI "
            "instance (one process, `master = false`, no plugin, no app) with "
            "`emperor-use-clone = fs,ipc,uts,pid,net`; it jails itself: pre-jail hooks (private "
            "mounts, tmpfs root, /proc, /dev/null, zero and urandom), `pivot_root`, as-root hooks "
            "(detach the old root, hostname), `uid`/`gid = 65534`. It binds its loopback socket "
            "itself, inside its own network namespace (so unreachable from the host). uWSGI 2.0 "
            "has no no_new_privs option, and its vassal keeps the host's capability bounding set "
            "(it jails itself after exec, as root: `emperor-cap` would take away what it needs "
            "for that); imperium sets no_new_privs and clears the bounding set.",
            f"- uWSGI polls its directory (`emperor-freq`, default 3 s, here {UWSGI_FREQ} s, "
            "its minimum); imperium uses inotify. In the *uWSGI polling* rows each file is "
            f"renamed at a random point of uWSGI's poll cycle ({POLLED} vassals a round); "
            "imperium's column repeats its jailed figures. The other uWSGI rows force a scan "
            "right after the rename (a connection to its `emperor-stats` socket wakes its loop, "
            "which rescans), so they measure its spawn alone.",
            f"- *{MANY} jailed vassals*: all files renamed in at once, each vassal on its own "
            "loopback port; once all are ready, VmRSS of the emperor process alone (median of "
            "5 reads 1 s apart), and VmRSS and PSS summed over every process under it "
            "(imperium: vassal + app per vassal; uWSGI: one process per vassal)."]
    return [w for line in out for w in wrap(line)]


def wrap(line):
    """Wrap prose like the rest of README.md (120 columns, list items
    indented); table rows and headings stay whole."""
    if line.startswith(("|", "#")) or not line:
        return [line]
    return textwrap.wrap(line, 120, subsequent_indent="  " if line.startswith("- ") else "",
                         break_on_hyphens=False, break_long_words=False)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tmp", required=True, help="temp dir to work in")
    ap.add_argument("--bin", required=True, help="imperium's build dir")
    args = ap.parse_args()
    # run.sh's timeout sends SIGTERM: unwind, so every emperor is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    become_subreaper()

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
    print("\none jailed tenant process of each, from the last round:")
    for label in ("imperium", "uWSGI"):
        last = [r["many"][label]["jail"] for r in bench.rounds if label in r.get("many", {})]
        print(f"  {label}: {last[-1] if last else 'n/a'}")
    ours = {r[0]: r[1] for r in rows}
    print(f"\nimperium targets: file-to-ready jailed median < 15 ms: "
          f"{ours['file-to-ready, jailed: median (ms)']} ms; emperor RSS < 16 MiB: "
          f"{ours[f'{MANY_L}: emperor RSS (MiB)']} MiB")
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
