# -*- test-case-name: tests.interop.test_switch_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The switch with real peers: Linux kernel stacks in network namespaces joined
by Debian's vde_plug2tap, cables made with dpipe + vde_plug and wirefilter,
and Debian's slirpvde.  Each behaviour is written once and run against both
Debian's vde_switch (proving the test) and vdetwist's switch.
"""

import os
import re
import shutil
import socket
import subprocess
import time

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import Namespace, VdetwistSwitch, missingTools, run, transfer
from tests.util import shortTempDir
from tests.vde.realswitch import SKIP_REASON, RealVDESwitch

SKIP = missingTools("vde_plug2tap", "vde_plug", "vde_switch", "ip")

MB = 1000 * 1000


class SwitchInteropMixin:
    """
    Behaviour every VDE switch must show with Debian's tools.  Subclasses
    set C{switchClass}.
    """

    switchClass = RealVDESwitch

    def makeSwitch(self, *args: str) -> RealVDESwitch:
        """
        Start a switch in a fresh directory; stopped at cleanup.
        """
        switch = self.switchClass(shortTempDir(self))
        switch.start(list(args))
        self.addCleanup(switch.stop)
        return switch

    def twoHosts(self, switchA, switchB=None):
        """
        Two namespaces on 10.77.0.0/24, on one switch or one each.
        """
        directory = shortTempDir(self)
        a = Namespace(self.addCleanup, directory)
        b = Namespace(self.addCleanup, directory)
        a.plug(switchA.ctlDir, "10.77.0.1/24")
        b.plug((switchB or switchA).ctlDir, "10.77.0.2/24")
        return a, b

    def assertTransfer(self, a, b, size: int) -> None:
        """
        C{size} bytes cross from a to b over TCP, intact.
        """
        sent, received = transfer(a, b, size)
        self.assertEqual(sent, received)
        self.assertEqual(int(received.split()[0]), size)

    def test_tcpBetweenKernelStacks(self) -> None:
        """
        Two kernel stacks on the switch exchange 20 MB over TCP intact, and
        the console shows each vde_plug2tap endpoint with its description,
        live counters, and the two learned MACs.
        """
        switch = self.makeSwitch()
        a, b = self.twoHosts(switch)
        self.assertTransfer(a, b, 20 * MB)
        ports = switch.console("port/print")
        self.assertEqual(len(re.findall(r"module unix prog   : vde_plug2tap: user=root pid=\d+",
                                        ports)), 2, ports)
        counts = [int(n) for n in re.findall(r"IN:  pkts +(\d+)", ports)]
        self.assertTrue(all(n > 1000 for n in counts), ports)
        table = switch.console("hash/print")
        self.assertEqual(len(re.findall(r"^Hash: \d{4} Addr: ([0-9a-f:]{17}) VLAN 0000 to port: 00[12]  age",
                                        table, re.M)), 2, table)

    def test_dpipeCable(self) -> None:
        """
        Two switches joined by C{dpipe vde_plug A = vde_plug B} carry 20 MB
        between kernel stacks, one on each.
        """
        if shutil.which("dpipe") is None:
            raise self.skipTest("dpipe is not installed (apt-get install vdeplug)")
        one, two = self.makeSwitch(), self.makeSwitch()
        cable = subprocess.Popen(["dpipe", "vde_plug", "vde://" + one.ctlDir, "=",
                                  "vde_plug", "vde://" + two.ctlDir],
                                 stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.addCleanup(self._reap, cable)
        a, b = self.twoHosts(one, two)
        self.assertTransfer(a, b, 20 * MB)

    def test_wirefilterCable(self) -> None:
        """
        Debian's wirefilter joins two switches (shown on both consoles as
        vde_crosscable) and traffic crosses it.
        """
        if shutil.which("wirefilter") is None:
            raise self.skipTest("wirefilter is not installed (apt-get install vde-wirefilter)")
        one, two = self.makeSwitch(), self.makeSwitch()
        pidfile = os.path.join(shortTempDir(self), "wf.pid")
        run("wirefilter", "-v", "%s:%s" % (one.ctlDir, two.ctlDir), "--daemon",
            "--pidfile", pidfile)
        self.addCleanup(self._killPidfile, pidfile)
        for switch in (one, two):
            self._waitFor(lambda: "vde_crosscable" in switch.console("port/print"))
        a, b = self.twoHosts(one, two)
        self.assertTransfer(a, b, 2 * MB)

    def test_slirpvde(self) -> None:
        """
        Debian's slirpvde attaches and its port forward reaches a kernel
        stack behind it.
        """
        if shutil.which("slirpvde") is None:
            raise self.skipTest("slirpvde is not installed (apt-get install vde2)")
        switch = self.makeSwitch()
        directory = shortTempDir(self)
        hostPort = _freePort()
        pidfile = os.path.join(directory, "slirp.pid")
        run("slirpvde", "-s", switch.ctlDir, "-q", "-L",
            "%d:10.0.2.15:80" % (hostPort,), "-d", "-p", pidfile)
        self.addCleanup(self._killPidfile, pidfile)
        guest = Namespace(self.addCleanup, directory)
        guest.plug(switch.ctlDir, "10.0.2.15/24", gateway="10.0.2.2")
        # Fill slirpvde's single client-MAC slot (docs/vde-protocol.md 7.3).
        guest.exec("sh", "-c", "echo x | timeout 2 socat - UDP4:10.0.2.3:53", check=False)
        server = guest.popen("timeout", "10", "socat", "TCP4-LISTEN:80,reuseaddr",
                             "EXEC:echo via-slirp", stderr=subprocess.DEVNULL)
        self.addCleanup(self._reap, server)
        self.assertIn("slirpvde:", switch.console("port/print"))
        deadline = time.monotonic() + 8
        answer = b""
        while b"via-slirp" not in answer and time.monotonic() < deadline:
            answer = run("timeout", "3", "socat", "-", "TCP4:127.0.0.1:%d" % (hostPort,),
                         check=False).stdout
            time.sleep(0.1)
        self.assertIn(b"via-slirp", answer)

    def _waitFor(self, condition, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                self.fail("condition not reached")
            time.sleep(0.05)

    @staticmethod
    def _reap(process: subprocess.Popen) -> None:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    @staticmethod
    def _killPidfile(pidfile: str) -> None:
        try:
            with open(pidfile) as f:
                os.kill(int(f.read().strip()), 9)
        except (OSError, ValueError):
            pass
        try:
            os.unlink(pidfile)
        except OSError:
            pass


def _freePort() -> int:
    """
    A TCP port free on loopback right now.
    """
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class DebianSwitchTests(SwitchInteropMixin, SynchronousTestCase):
    """
    The behaviours on Debian's vde_switch (the reference).
    """

    skip = SKIP or SKIP_REASON


class VdetwistSwitchTests(SwitchInteropMixin, SynchronousTestCase):
    """
    The behaviours on vdetwist's switch (C{twistd -n vdeswitch}).
    """

    skip = SKIP
    switchClass = VdetwistSwitch
