# -*- test-case-name: tests.interop.test_control_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Hostile control requests at a switch run as a user runs it, written once
and run against Debian's vde_switch (proving the test) and vdetwist's
(C{twistd -n vdeswitch}): refused requests leave only C{ctl} in the switch
directory, Debian's vde_plug still attaches, and the directory is gone
when the switch exits.
"""

import os
import shutil
import socket
import subprocess
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import VdetwistSwitch
from tests.util import shortTempDir
from tests.vde.realswitch import SKIP_REASON, RealVDESwitch
from vdetwist.vde.control import ControlRequest

VDE_PLUG = shutil.which("vde_plug")
SKIP = None if VDE_PLUG else "vde_plug is not installed (apt-get install vdeplug)"


class HostileControlMixin:
    """
    Hostile control requests; subclasses set C{switchClass}.
    """

    switchClass = RealVDESwitch

    def setUp(self) -> None:
        self.switch = self.switchClass(shortTempDir(self))
        self.switch.start()
        self.addCleanup(self.switch.stop)
        self.ctlPath = os.path.join(self.switch.ctlDir, "ctl")

    def waitFor(self, predicate, timeout: float = 10.0) -> None:
        """
        Poll a condition; fail when it does not come.
        """
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                self.fail("condition not reached")
            time.sleep(0.02)

    def refused(self, data: bytes) -> None:
        """
        Send C{data} on a new control connection and wait until the switch
        closes it without a reply.
        """
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(self.ctlPath)
            s.sendall(data)
            s.settimeout(10)
            self.assertEqual(s.recv(200), b"", data[:16])
        finally:
            s.close()

    def assertOnly(self, names) -> None:
        """
        The switch directory holds exactly C{names}.
        """
        self.assertEqual(sorted(os.listdir(self.switch.ctlDir)), sorted(names))

    def plugAttaches(self) -> subprocess.Popen:
        """
        Start vde_plug and wait until the switch made its data socket and
        it finished its handshake (it removes its own socket, which it
        makes in the directory, then).

        @return: the process (stopped at cleanup).
        """
        process = subprocess.Popen([VDE_PLUG, "vde://" + self.switch.ctlDir],
                                   stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        self.addCleanup(self._reap, process)
        def attached() -> bool:
            names = os.listdir(self.switch.ctlDir)
            return len(names) == 2 and not any(name.startswith(".") for name in names)
        self.waitFor(attached)
        return process

    @staticmethod
    def _reap(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.kill()
        process.wait()
        process.stdin.close()

    def test_refusedRequestsLeaveOnlyCtl(self) -> None:
        """
        37 requests naming client sockets that do not exist, one with bad
        magic and one with a bad version are each refused; the directory
        holds only C{ctl}; vde_plug attaches; when the switch stops the
        directory is gone.
        """
        for n in range(37):
            self.refused(ControlRequest(
                3, 0, 0, b"/nonexistent/.%05d-%05d" % (os.getpid(), n), "probe").encode())
        good = ControlRequest(3, 0, 0, b"/nonexistent/x", "probe").encode()
        self.refused(b"\x78\x56\x34\x12" + good[4:])
        self.refused(good[:4] + b"\x02\x00\x00\x00" + good[8:])
        self.assertOnly(["ctl"])
        plug = self.plugAttaches()
        self._reap(plug)
        self.waitFor(lambda: os.listdir(self.switch.ctlDir) == ["ctl"])
        self.switch.stop()
        self.waitFor(lambda: not os.path.lexists(self.switch.ctlDir))


class DebianSwitchTests(HostileControlMixin, SynchronousTestCase):
    """
    On Debian's vde_switch (the reference).
    """

    skip = SKIP or SKIP_REASON


class VdetwistSwitchTests(HostileControlMixin, SynchronousTestCase):
    """
    On vdetwist's switch, which also refuses partial requests (Debian's
    r586 takes one read as the request).
    """

    skip = SKIP
    switchClass = VdetwistSwitch

    def test_partialRequestsRefused(self) -> None:
        """
        Truncated requests (1, 61, 121 bytes) are refused and leave only
        C{ctl}, while vde_plug attaches; the directory is gone at exit.
        """
        good = ControlRequest(3, 0, 0, b"/nonexistent/x", "probe").encode()
        for n in (1, 61, 121):
            self.refused(good[:n])
        self.assertOnly(["ctl"])
        self.plugAttaches()
        self.switch.stop()
        self.waitFor(lambda: not os.path.lexists(self.switch.ctlDir))
