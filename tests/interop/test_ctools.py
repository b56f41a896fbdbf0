# -*- test-case-name: tests.interop.test_ctools -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The seed tutorial's own commands with C{vdetwist} in front (issue 10,
criterion 5):

    vde_switch -d -s /tmp/vde -M /tmp/mgmt
    slirpvde -d -s /tmp/vde -n 192.168.77.0 -L30000:192.168.77.100:10000

become C{vdetwist switch -d ...} and C{vdetwist slirp -d ...}, with C{-p}
pid files, in a fresh directory and on a free host port.  They behave as
the C tools do: the commands return at once (daemonized), the pid files
hold the live daemons' pids, a connection to the forwarded port reaches
a listener at 192.168.77.100 port 10000 (a C{vdetwist cat}), and killing
each daemon by its pid removes its sockets and pid file.
"""

import os
import select
import signal
import socket
import subprocess
import sys

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT
from tests.interop.test_startup import GUARD, VDETWIST, alive, readPid, run, waitFor
from tests.util import shortTempDir


def freePort() -> int:
    """
    A TCP port free right now on all addresses.
    """
    s = socket.socket()
    s.bind(("0.0.0.0", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class TutorialCommandsTests(SynchronousTestCase):
    """
    The tutorial's C commands, run with C{vdetwist} in front.
    """

    def setUp(self) -> None:
        self.dir = shortTempDir(self)

    def path(self, name: str) -> str:
        return os.path.join(self.dir, name)

    def daemon(self, args: list, pidfile: str) -> int:
        """
        Run a C{-d} command: it returns 0 with nothing on standard error,
        and its pid file names a live process (killed at the end).

        @return: the daemon's pid.
        """
        result = run(VDETWIST + args, self.dir)
        self.assertEqual((result.returncode, result.stderr), (0, ""), result)
        pid = readPid(pidfile)
        self.assertIsNotNone(pid, pidfile)
        self.assertTrue(alive(pid))

        def stop() -> None:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)
        self.addCleanup(stop)
        return pid

    def test_tutorial(self) -> None:
        """
        switch and slirp daemonized with pid files; a host connection to
        the forwarded port reaches the virtual listener; SIGTERM by pid
        stops each and leaves nothing of theirs behind.
        """
        vde, mgmt = self.path("vde"), self.path("mgmt")
        switchPid = self.daemon(["switch", "-d", "-s", vde, "-M", mgmt,
                                 "-p", self.path("sw.pid")], self.path("sw.pid"))
        self.assertTrue(os.path.exists(os.path.join(vde, "ctl")))
        self.assertTrue(os.path.exists(mgmt))
        port = freePort()
        slirpPid = self.daemon(["slirp", "-d", "-p", self.path("slirp.pid"), "-s", vde,
                                "-n", "192.168.77.0",
                                "-L%d:192.168.77.100:10000" % (port,)],
                               self.path("slirp.pid"))
        self.assertNotEqual(slirpPid, switchPid)

        listener = subprocess.Popen(
            VDETWIST + ["cat", "-v", "-s", vde, "--ip", "192.168.77.100/24",
                        "--gw", "192.168.77.2", "-l", "-p", "10000"],
            cwd=self.dir, env=dict(os.environ, PYTHONPATH=ROOT), stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.addCleanup(lambda: (listener.poll() is None and listener.kill(),
                                 listener.wait()))
        self.assertIn(b"listening", listener.stderr.readline())

        client = socket.create_connection(("127.0.0.1", port), timeout=GUARD)
        self.addCleanup(client.close)
        client.sendall(b"hello from the host\n")
        client.shutdown(socket.SHUT_WR)
        got = b""
        while not got.endswith(b"\n"):
            if not select.select([listener.stdout], [], [], GUARD)[0]:
                break
            chunk = listener.stdout.read1(4096)
            if not chunk:
                break
            got += chunk
        self.assertEqual(got, b"hello from the host\n")
        client.close()
        listener.kill()
        listener.wait()

        os.kill(slirpPid, signal.SIGTERM)
        self.assertTrue(waitFor(lambda: not alive(slirpPid)))
        self.assertFalse(os.path.exists(self.path("slirp.pid")))
        os.kill(switchPid, signal.SIGTERM)
        self.assertTrue(waitFor(lambda: not alive(switchPid)))
        for name in ("sw.pid", "vde", "mgmt"):
            self.assertFalse(os.path.lexists(self.path(name)), name)
        self.assertEqual(os.listdir(self.dir), [])

    def test_slirpvdeSpellings(self) -> None:
        """
        slirpvde's one-dash long options (C{-socket}, C{-dhcp},
        C{-daemon}, C{-network}, C{-pidfile}) run the same daemon.
        """
        vde = self.path("vde")
        switchPid = self.daemon(["switch", "--daemon", "--sock", vde,
                                 "--pidfile", self.path("sw.pid")], self.path("sw.pid"))
        slirpPid = self.daemon(["slirp", "-socket", vde, "-dhcp", "-daemon",
                                "-network", "10.9.0.0", "-pidfile", self.path("slirp.pid")],
                               self.path("slirp.pid"))
        for pid in (slirpPid, switchPid):
            os.kill(pid, signal.SIGTERM)
            self.assertTrue(waitFor(lambda: not alive(pid)))
        self.assertEqual(os.listdir(self.dir), [])


if sys.platform != "linux":
    TutorialCommandsTests.skip = "Linux only (/proc)"
