# SPDX-License-Identifier: GPL-2.0-or-later
"""The two emperors the benchmark compares, behind one small interface:
imperium's build/emperor and Debian's uWSGI Emperor (/usr/bin/uwsgi). Each
knows how to write its emperor config and a vassal file (jailed or not),
how to start and stop, which log line means "this vassal is ready", and
(uWSGI only) how to make its emperor rescan its directory at once.

A system object is used for one run: start(), some vassals, stop(). Its
files live in its own work directory, inside run.sh's temp dir.
"""
import os
import re
import signal
import socket

from procs import Emperor, wait_path

NAMESPACES = "ipc,uts,fs,pid,net"  # the "fully jailed" set, for both


class System:
    """What both emperors share: the work dir layout and vassal files.

    Vassal files are written in staging/ first and renamed into vassals.d/
    (same filesystem), so a vassal's file appears in one atomic step.
    """

    label = ""
    ready_re = None  # bytes regex; group 1 is the vassal's name

    def __init__(self, work, pidfile, jailed):
        self.work, self.pidfile, self.jailed = work, pidfile, jailed
        self.vassals = os.path.join(work, "vassals.d")
        self.staging = os.path.join(work, "staging")
        os.makedirs(self.vassals)
        os.makedirs(self.staging)
        self.emperor = None

    def stage(self, name, port):
        """Write vassal NAME's file in staging/; returns (staged, final) paths."""
        staged = os.path.join(self.staging, name + ".ini")
        with open(staged, "w") as f:
            f.write(self.vassal_ini(name, port))
        return staged, os.path.join(self.vassals, name + ".ini")

    def ready_name(self, match):
        return match.group(1).decode()

    def own_ms(self, match):
        """The emperor's own spawn-to-ready figure in a ready line, if any."""
        return None

    def kick(self):
        """Make the emperor look at its directory now (no-op with inotify)."""

    def stop(self):
        if self.emperor:
            self.emperor.stop()


class Imperium(System):
    label = "imperium"
    ready_re = re.compile(rb"vassal (\S+): ready \(pid \d+\) in ([0-9.]+) ms")

    def __init__(self, work, pidfile, jailed, bin_dir):
        super().__init__(work, pidfile, jailed)
        self.bin = bin_dir

    def start(self):
        ini = os.path.join(self.work, "emperor.ini")
        stats = os.path.join(self.work, "stats.sock")
        with open(ini, "w") as f:
            f.write("[emperor]\n"
                    f"vassals = {self.vassals}\n"
                    f"stats = {stats}\n"
                    f"run-dir = {self.work}/run\n"
                    "stop-timeout = 5\n")
        self.emperor = Emperor([f"{self.bin}/emperor", "-c", ini],
                               signal.SIGTERM, self.pidfile)
        wait_path(stats, 5)

    def vassal_ini(self, name, port):
        # Jailed: exactly tests/integration/lib.sh's jailed_vassal.
        if self.jailed:
            return ("[vassal]\n"
                    "exec = /app/hello\n"
                    f"socket = 127.0.0.1:{port}\n"
                    f"use-clone = {NAMESPACES}\n"
                    f"bind-ro = {self.bin}/hello:/app/hello\n"
                    f"hostname = {name}\n"
                    "uid = 65534\n")
        return ("[vassal]\n"
                f"exec = {self.bin}/hello\n"
                f"socket = 127.0.0.1:{port}\n"
                "uid = 65534\n")

    def own_ms(self, match):
        return float(match.group(2))


# uWSGI's Emperor polls its directory every emperor-freq seconds (default 3;
# an int, so 1 is the smallest that does not spin).
UWSGI_FREQ = 1


class UWSGI(System):
    label = "uWSGI"
    ready_re = re.compile(rb"\[emperor\] vassal (\S+)\.ini is ready to accept requests")

    def start(self):
        ini = os.path.join(self.work, "emperor.ini")
        self.stats = os.path.join(self.work, "stats.sock")
        lines = ["[uwsgi]",
                 f"emperor = {self.vassals}",
                 f"emperor-freq = {UWSGI_FREQ}",
                 # Only for kick(): any event wakes the Emperor's loop, and
                 # the loop rescans the directory after handling it.
                 f"emperor-stats = {self.stats}"]
        if self.jailed:
            lines.append(f"emperor-use-clone = {NAMESPACES}")
        with open(ini, "w") as f:
            f.write("\n".join(lines) + "\n")
        # Stopped with SIGKILL: its graceful stop (SIGINT) asks each vassal
        # to stop through the Emperor pipe, which a master-less vassal does
        # not read, so it would wait out its reload-mercy. Teardown is not
        # measured; its vassals die with it (parent-death signal), and
        # Emperor.stop() kills what it saw under it, by PID.
        self.emperor = Emperor(["/usr/bin/uwsgi", "--ini", ini],
                               signal.SIGKILL, self.pidfile, cwd=self.work)
        wait_path(self.stats, 5)

    def vassal_ini(self, name, port):
        # The smallest uWSGI instance: one process (no master), one socket, no
        # plugin, no app. It tells the Emperor it is ready when its (only)
        # worker enters its accept loop.
        lines = ["[uwsgi]",
                 f"socket = 127.0.0.1:{port}",
                 "master = false",
                 "uid = 65534",
                 "gid = 65534"]
        if self.jailed:
            lines += self.jail_lines(name)
        return "\n".join(lines) + "\n"

    def jail_lines(self, name):
        """The closest uWSGI gets to our jail, with its own options.

        emperor-use-clone gives the namespaces; the vassal then builds its
        root itself: pre-jail hooks make the mounts private and mount a
        tmpfs (on one shared, empty mount point: each vassal has its own
        mount namespace), a fresh /proc and a /dev of bound null, zero and
        urandom; pivot_root moves in, an as-root hook detaches the old root
        and one sets the hostname; then uid/gid drop to 65534. Not done (no
        uWSGI 2.0 option): clearing the capability bounding set,
        no_new_privs, a read-only root.
        """
        root = os.path.join(self.work, "root")
        os.makedirs(root, exist_ok=True)
        lines = ["hook-pre-jail = mount:none none / rec,private",
                 f"hook-pre-jail = mount:tmpfs none {root}",
                 f"hook-pre-jail = mkdir:{root}/old",
                 f"hook-pre-jail = mkdir:{root}/proc",
                 f"hook-pre-jail = mount:proc none {root}/proc nosuid,nodev,noexec",
                 f"hook-pre-jail = mkdir:{root}/dev"]
        for dev in ("null", "zero", "urandom"):
            lines += [f"hook-pre-jail = create:{root}/dev/{dev}",
                      f"hook-pre-jail = mount:none /dev/{dev} {root}/dev/{dev} bind"]
        lines += [f"pivot_root = {root} {root}/old",
                  "hook-as-root = umount:/old detach",
                  f"hook-as-root = hostname:{name}"]
        return lines

    def kick(self):
        # A connection to the emperor-stats socket: the Emperor answers with
        # its JSON, closes, and rescans its directory before sleeping again.
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(5)
            s.connect(self.stats)
            while s.recv(65536):
                pass
