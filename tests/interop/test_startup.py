# -*- test-case-name: tests.interop.test_startup -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Start-up failures run as a user runs them (issue 10, criterion 2): each
case of C{twistd -n vdeswitch}, C{twistd -n slirp}, C{vdetwist switch},
C{vdetwist slirp} and C{vdetwist cat} exits with a non-zero status and
exactly one line on standard error, no traceback anywhere, and leaves no
socket, directory or pid file behind.

The processes are waited for with a generous guard (a hang fails the
test); no duration is asserted.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from typing import List, Optional

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT
from tests.util import shortTempDir

TWISTD = [sys.executable, "-c", "from twisted.scripts.twistd import run; run()"]
VDETWIST = [sys.executable, "-m", "vdetwist"]
#: A hang guard, not a timing assertion.
GUARD = 30


def run(args: List[str], cwd: str) -> "subprocess.CompletedProcess[str]":
    """
    Run a command to its end, standard input empty.
    """
    env = dict(os.environ, PYTHONPATH=ROOT)
    return subprocess.run(args, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                          capture_output=True, text=True, timeout=GUARD)


def takenPort() -> socket.socket:
    """
    A listening TCP socket on all addresses: its port is taken.
    """
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    s.listen()
    return s


def busySocket(path: str) -> socket.socket:
    """
    A live UNIX socket at C{path} (a console someone else serves).
    """
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.listen()
    return s


def readPid(path: str) -> Optional[int]:
    """
    The pid in a pid file, or L{None}.
    """
    try:
        with open(path) as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def alive(pid: int) -> bool:
    """
    Whether a process exists and is not a zombie.
    """
    try:
        with open("/proc/%d/stat" % (pid,)) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def waitFor(condition, timeout: float = GUARD) -> bool:
    """
    Poll until C{condition()} or the guard expires.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


class StartupFailureTests(SynchronousTestCase):
    """
    Every face's failed start: one line, status 1, nothing left behind.
    """

    def setUp(self) -> None:
        self.dir = shortTempDir(self)
        self.pidfile = os.path.join(self.dir, "x.pid")

    def path(self, *names: str) -> str:
        return os.path.join(self.dir, *names)

    def liveSwitch(self) -> str:
        """
        A running switch (vdetwist's, in the background), stopped by its
        pid at the end.

        @return: its directory.
        """
        sock, mgmt, pidfile = self.path("live"), self.path("live.mgmt"), self.path("live.pid")
        result = run(VDETWIST + ["switch", "-d", "-s", sock, "-M", mgmt, "-p", pidfile],
                     self.dir)
        self.assertEqual((result.returncode, result.stderr), (0, ""))
        pid = readPid(pidfile)
        self.assertIsNotNone(pid)

        def stop() -> None:
            if alive(pid):
                os.kill(pid, signal.SIGTERM)
                waitFor(lambda: not alive(pid))
        self.addCleanup(stop)
        return sock

    def assertFails(self, args: List[str], expected: str, absent: List[str] = ()) -> None:
        """
        C{args} exits non-zero with one line on standard error containing
        C{expected}, no traceback, and the paths in C{absent} (and our
        pid file) do not exist afterwards, nor C{twistd.pid}.
        """
        result = run(args, self.dir)
        self.assertNotEqual(result.returncode, 0, result)
        lines = result.stderr.splitlines()
        self.assertEqual(len(lines), 1, result.stderr)
        self.assertIn(expected, lines[0])
        self.assertNotIn("Traceback", result.stdout + result.stderr)
        for path in list(absent) + [self.pidfile, self.path("twistd.pid")]:
            self.assertFalse(os.path.lexists(path), path)

    # -- the switch -----------------------------------------------------

    def test_switchNoParent(self) -> None:
        """
        C{-s /no/such/dir/a}: the directory cannot be made.
        """
        bad = self.path("no", "such", "a")
        for args in (TWISTD + ["-n", "vdeswitch", "-s", bad],
                     VDETWIST + ["switch", "-s", bad, "-p", self.pidfile],
                     VDETWIST + ["switch", "-d", "-s", bad, "-p", self.pidfile]):
            self.assertFails(args, "%s: No such file or directory" % (bad,),
                             [self.path("no")])

    def test_switchDirectoryServed(self) -> None:
        """
        C{-s DIR} where a live switch serves: refused, and the live
        switch's socket stays.
        """
        live = self.liveSwitch()
        for args in (TWISTD + ["-n", "vdeswitch", "-s", live],
                     VDETWIST + ["switch", "-d", "-s", live, "-p", self.pidfile]):
            self.assertFails(args, "Address already in use")
            self.assertTrue(os.path.exists(os.path.join(live, "ctl")))

    def test_switchConsoleBusy(self) -> None:
        """
        C{-M} on a console socket a live process serves: refused, and the
        new switch's directory and control socket are gone.
        """
        held = busySocket(self.path("busy.mgmt"))
        self.addCleanup(held.close)
        new = self.path("new")
        for args in (TWISTD + ["-n", "vdeswitch", "-s", new, "-M", self.path("busy.mgmt")],
                     VDETWIST + ["switch", "-s", new, "-M", self.path("busy.mgmt"),
                                 "-p", self.pidfile],
                     VDETWIST + ["switch", "-d", "-s", new, "-M", self.path("busy.mgmt"),
                                 "-p", self.pidfile]):
            self.assertFails(args, "cannot open the management console", [new])
            self.assertTrue(os.path.exists(self.path("busy.mgmt")))

    def test_switchSockIsAFile(self) -> None:
        """
        C{-s} naming a regular file: refused, the file's mode untouched.
        """
        path = self.path("file")
        with open(path, "w"):
            pass
        os.chmod(path, 0o644)
        self.assertFails(VDETWIST + ["switch", "-d", "-s", path, "-p", self.pidfile],
                         "not a directory")
        self.assertEqual(os.stat(path).st_mode & 0o7777, 0o644)

    def test_pidfileUnwritable(self) -> None:
        """
        A pid file that cannot be written: one line, nothing started.
        """
        new = self.path("new")
        self.assertFails(VDETWIST + ["switch", "-d", "-s", new, "-p",
                                     self.path("no", "x.pid")],
                         "cannot write the pid file", [new])

    # -- slirp ----------------------------------------------------------

    def slirpCommands(self, *args: str) -> List[List[str]]:
        return [TWISTD + ["-n", "slirp"] + list(args),
                VDETWIST + ["slirp", "-p", self.pidfile] + list(args),
                VDETWIST + ["slirp", "-d", "-p", self.pidfile] + list(args)]

    def test_slirpNoSuchSwitch(self) -> None:
        """
        A switch path that does not exist (today's run-forever case).
        """
        for args in self.slirpCommands("-s", self.path("nothing")):
            self.assertFails(args, "cannot attach to the switch")

    def test_slirpNotASwitch(self) -> None:
        """
        A regular file, an empty directory, a directory with a dead
        C{ctl}: no switch there.
        """
        with open(self.path("file"), "w"):
            pass
        os.mkdir(self.path("empty"))
        os.mkdir(self.path("dead"))
        dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        dead.bind(self.path("dead", "ctl"))
        dead.close()
        for where in ("file", "empty", "dead"):
            for args in self.slirpCommands("-s", self.path(where)):
                self.assertFails(args, "cannot attach to the switch")

    def test_slirpForwardPortTaken(self) -> None:
        """
        A forward whose host port is taken: refused, nothing attached.
        """
        live = self.liveSwitch()
        held = takenPort()
        self.addCleanup(held.close)
        port = held.getsockname()[1]
        for args in self.slirpCommands("-s", live, "-L%d:10.0.2.15:80" % (port,)):
            self.assertFails(args, "port %d" % (port,))

    def test_slirpConsoleBusy(self) -> None:
        """
        slirp's C{-M} on a live console socket.
        """
        live = self.liveSwitch()
        held = busySocket(self.path("busy.mgmt"))
        self.addCleanup(held.close)
        for args in self.slirpCommands("-s", live, "-M", self.path("busy.mgmt")):
            self.assertFails(args, "cannot open the management console")

    # -- cat ------------------------------------------------------------

    def test_catBadSwitch(self) -> None:
        """
        C{vdetwist cat} with no switch at its path, or a bad port.
        """
        os.mkdir(self.path("empty"))
        for where in ("nothing", "empty"):
            self.assertFails(VDETWIST + ["cat", "-s", self.path(where), "--ip",
                                         "10.0.0.5/24", "-l", "-p", "1000"],
                             "cannot attach to")
        self.assertFails(VDETWIST + ["cat", "-s", self.path("empty"), "--ip",
                                     "10.0.0.5/24", "-l", "-p", "99999"],
                         "port out of range")
