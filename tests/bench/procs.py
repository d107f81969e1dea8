# SPDX-License-Identifier: GPL-2.0-or-later
"""Process plumbing for the benchmark: start an emperor (ours or uWSGI's)
with its log on a pipe, timestamp every log line on arrival, wait for lines,
walk its process tree, read memory figures from /proc, and stop it again,
killing only the processes it started, by PID.

Every emperor is started through `setpriv --pdeathsig KILL` from the main
thread, so if the benchmark itself is killed the emperors die with it. The
benchmark is a child subreaper: a vassal orphaned by its emperor's death
(uWSGI's vassals lose their parent-death signal when they drop their uid)
becomes our child, is killed by PID and reaped here. Each emperor's PID is
also appended to a file that run.sh's trap reads as a last resort.
"""
import argparse
import ctypes
import os
import queue
import signal
import subprocess
import sys
import threading
import time


def bench_args(doc, name, needs, more=None):
    """The arguments every bench script takes (--tmp, --pidfile, --bin),
    plus what @more(parser) adds, parsed; None (after saying why) when not
    run as root, which @needs explains."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0])
    if more:
        more(ap)
    ap.add_argument("--tmp", help="temp dir to work in (default: a new one, removed after)")
    ap.add_argument("--pidfile", help="file to append \"PID STARTTIME\" of each process "
                    "started to (default: TMP/pids)")
    ap.add_argument("--bin", default=os.environ.get("IMP_BUILD") or os.environ.get("BUILD")
                    or "build", help="imperium's build dir (default $IMP_BUILD, $BUILD, build)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print(f"bench {name}: needs root ({needs})", file=sys.stderr)
        return None
    return args


def proc_stat(pid):
    """(ppid, starttime) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    fields = data[data.rfind(b")") + 2:].split()
    return int(fields[1]), int(fields[19])


def descendants(root):
    """Every descendant of PID root (zombies too), as {pid: starttime}."""
    children = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st:
            children.setdefault(st[0], []).append((int(name), st[1]))
    found, todo = {}, [root]
    while todo:
        for pid, start in children.get(todo.pop(), []):
            found[pid] = start
            todo.append(pid)
    return found


def status_num(pid, key, path="status"):
    """The first number of a `Key:` line of /proc/PID/status (or of another
    file there, e.g. smaps_rollup): KiB for memory fields, the real uid for
    Uid. None when the process or the key is gone."""
    try:
        with open(f"/proc/{pid}/{path}") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def kill_if_same(pid, start, sig):
    """Send sig to pid only if it is still the process that started at start."""
    st = proc_stat(pid)
    if st and st[1] == start:
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


PR_SET_CHILD_SUBREAPER = 36


def become_subreaper():
    """Make orphans of our descendants our children (and so reapable)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def kill_orphans(timeout=5):
    """SIGKILL every process still under us, and reap them all.

    Called with no emperor running: anything left below us is a vassal
    process (or its app) that outlived its emperor.
    """
    deadline = time.monotonic() + timeout
    while True:
        left = descendants(os.getpid())  # zombies included: /proc has them
        for pid, start in left.items():
            kill_if_same(pid, start, signal.SIGKILL)
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not left or time.monotonic() > deadline:
            return len(left)
        time.sleep(0.01)


class Emperor:
    """A running emperor whose stdout+stderr are read line by line.

    argv: the command; stop_signal: what makes it stop every vassal and
    exit (see systems.py); pidfile: where the PID is recorded for run.sh's
    trap. Only one emperor runs at a time (stop() relies on it).
    """

    def __init__(self, argv, stop_signal, pidfile, cwd=None):
        self.stop_signal = stop_signal
        self.lines = []  # (monotonic time, bytes) of every line seen so far
        self._queue = queue.Queue()
        self.proc = subprocess.Popen(
            ["setpriv", "--pdeathsig", "KILL", *argv],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, cwd=cwd, start_new_session=True)
        self.pid = self.proc.pid  # setpriv execs: same PID
        # The start time is set at fork: it identifies this process even
        # before setpriv has exec'd the emperor.
        self.start = proc_stat(self.pid)[1]
        with open(pidfile, "a") as f:
            f.write(f"{self.pid} {self.start}\n")
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        # Timestamp each line the moment it arrives: the main thread may be
        # busy (writing a file, sleeping) when it does.
        for line in iter(self.proc.stdout.readline, b""):
            self._queue.put((time.monotonic(), line))
        self._queue.put(None)

    def wait_line(self, regex, timeout):
        """Wait for the next line matching regex (a compiled bytes pattern).

        Returns (arrival time, match), or raises TimeoutError / EOFError.
        Lines before it are kept in self.lines and skipped.
        """
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                item = self._queue.get(timeout=max(left, 0))
            except queue.Empty:
                raise TimeoutError(f"no line matching {regex.pattern!r} "
                                   f"within {timeout:.0f} s") from None
            if item is None:
                self._queue.put(None)  # stay at EOF for later calls
                raise EOFError(f"emperor exited ({self.proc.wait()}) before "
                               f"a line matching {regex.pattern!r}")
            self.lines.append(item)
            m = regex.search(item[1])
            if m:
                return item[0], m

    def tail(self, n=30):
        """The last n log lines, for an error report."""
        return [line.decode(errors="replace").rstrip() for _, line in self.lines[-n:]]

    def alive(self):
        return self.proc.poll() is None

    def stop(self, timeout=15):
        """Stop the emperor and every process under it; returns seconds taken.

        The tree is noted first, so that whatever is left after the emperor
        has gone (it should be nothing) is killed by PID.
        """
        t0 = time.monotonic()
        tree = descendants(self.pid)
        if self.alive():
            os.kill(self.pid, self.stop_signal)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.kill(self.pid, signal.SIGKILL)
                self.proc.wait()
        for pid, start in tree.items():
            kill_if_same(pid, start, signal.SIGKILL)
        kill_orphans()
        self._reader.join(5)
        return time.monotonic() - t0


def wait_path(path, timeout):
    """Wait until path exists (a socket the emperor creates)."""
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout} s")
        time.sleep(0.01)


def count_lines(emperor, regex, n, timeout):
    """Wait until n lines matching regex have arrived; returns their times."""
    deadline = time.monotonic() + timeout
    times = []
    while len(times) < n:
        t, _ = emperor.wait_line(regex, max(deadline - time.monotonic(), 0))
        times.append(t)
    return times

