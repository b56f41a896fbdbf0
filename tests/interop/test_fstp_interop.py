# -*- test-case-name: tests.interop.test_fstp_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
FSTP in a mixed mesh: a ring of two Debian C{vde_switch -F} and one
vdetwist switch with C{-F}, joined by C{dpipe vde_plug = vde_plug} cables,
with kernel namespaces on our switch and on one of Debian's.

Debian's switch A has the lowest MAC and becomes the root; our switch B
and Debian's C each take their cable to A as root port, and both ends of
the B-C cable block.  Traffic between B's namespace and C's goes through A
without a broadcast storm; when the A-B cable is cut, B and C unblock
their cable and traffic flows again.
"""

import os
import re
import signal
import subprocess
import sys
import time
from typing import Callable, List

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import Namespace, VdetwistSwitch, missingTools, transfer
from tests.util import shortTempDir
from tests.vde.realswitch import RealVDESwitch

SKIP = missingTools("vde_switch", "vde_plug", "vde_plug2tap", "dpipe", "ip")

ROOT_ID = "80:00:02:00:00:00:00:01"
#: A UDP echo server for the namespace at the far end.
ECHO = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 7)); print("ready", flush=True)
while True:
    data, peer = s.recvfrom(2048); s.sendto(data, peer)
"""

#: Send C{count} datagrams to the echo server, each waiting up to a second
#: for its echo; exit 0 when every one came back.
PROBE = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(1)
for i in range(int(sys.argv[2])):
    s.sendto(b"probe %d" % i, (sys.argv[1], 7))
    try:
        while s.recv(2048) != b"probe %d" % i:
            pass
    except socket.timeout:
        sys.exit(1)
"""

#: Frames all switches together may send while one ARP broadcast and a
#: few pings cross the ring; a broadcast storm sends that many in a few
#: milliseconds.
STORM_BOUND = 2000


def waitFor(predicate: Callable[[], bool], timeout: float, what: str,
            explain: Callable[[], str] = lambda: "") -> None:
    """
    Poll C{predicate} until it is true, or fail after C{timeout} seconds.
    """
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("%s: not within %ss\n%s" % (what, timeout, explain()))
        time.sleep(0.2)


class FSTPRingTests(SynchronousTestCase):
    """
    A ring of Debian's vde_switch and ours, with FSTP.
    """

    if SKIP:
        skip = SKIP

    def cable(self, a: RealVDESwitch, b: RealVDESwitch) -> subprocess.Popen:
        """
        Join two switches with C{dpipe vde_plug A = vde_plug B}; dpipe makes
        its own process group, so the cable is cut by killing that group.
        """
        process = subprocess.Popen(["dpipe", "vde_plug", a.ctlDir, "=", "vde_plug", b.ctlDir],
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        waitFor(lambda: process.poll() is not None or os.getpgid(process.pid) == process.pid,
                10, "dpipe's process group")
        self.assertIsNone(process.poll(), "dpipe exited")
        self.addCleanup(self.cut, process)
        return process

    def cut(self, process: subprocess.Popen) -> None:
        """
        Kill a cable (its process group).
        """
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            process.wait(10)

    def stopEcho(self, process: subprocess.Popen) -> None:
        """
        Stop the echo server.
        """
        if process.poll() is None:
            process.kill()
        process.wait(10)
        process.stdout.close()

    def fstpState(self) -> str:
        """
        Every switch's C{fstp/print}, for failure messages.
        """
        return "\n".join("%s:\n%s" % (name, s.console("fstp/print"))
                         for name, s in zip("ABC", self.switches))

    def outPackets(self) -> int:
        """
        The frames every port of every switch has sent.
        """
        return sum(int(n) for s in self.switches
                   for n in re.findall(r"OUT: pkts +(\d+)", s.console("port/print")))

    def converged(self) -> bool:
        """
        Every switch knows A as root, and the B-C cable is blocked.
        """
        texts = [s.console("fstp/print") for s in self.switches]
        return (all("++ root " + ROOT_ID in t for t in texts)
                and "Alternate/Backup" in texts[1] and "Alternate/Backup" in texts[2])

    def reaches(self, a: Namespace, b: Namespace) -> bool:
        """
        Whether one datagram from a to b's echo server comes back.
        """
        return a.exec(sys.executable, "-c", PROBE, b.address, "1",
                      check=False).returncode == 0

    def assertNoStorm(self, a: Namespace, b: Namespace) -> None:
        """
        One ARP broadcast and five echoed datagrams make a bounded number
        of frames.
        """
        before = self.outPackets()
        a.exec("ip", "neigh", "flush", "all")
        result = a.exec(sys.executable, "-c", PROBE, b.address, "5", check=False)
        sent = self.outPackets() - before
        self.assertEqual(result.returncode, 0, result.stdout.decode())
        self.assertLess(sent, STORM_BOUND, self.fstpState())

    def assertTransfer(self, a: Namespace, b: Namespace, size: int) -> None:
        """
        C{size} bytes cross from a to b over TCP, intact.
        """
        sent, received = transfer(a, b, size)
        self.assertEqual(received, sent)
        self.assertTrue(sent.startswith("%d " % (size,)), sent)

    def test_ring(self) -> None:
        """
        No storm, traffic flows, and the ring heals when a cable is cut.
        """
        a = RealVDESwitch(shortTempDir(self))
        a.start(["-F", "--macaddr", "02:00:00:00:00:01"])
        self.addCleanup(a.stop)
        b = VdetwistSwitch(shortTempDir(self))
        b.start(["-F", "--macaddr", "02:00:00:00:00:02"])
        self.addCleanup(b.stop)
        c = RealVDESwitch(shortTempDir(self))
        c.start(["-F", "--macaddr", "02:00:00:00:00:03"])
        self.addCleanup(c.stop)
        self.switches: List[RealVDESwitch] = [a, b, c]

        cableAB = self.cable(a, b)
        self.cable(a, c)
        self.cable(b, c)
        waitFor(self.converged, 30, "FSTP convergence", self.fstpState)
        self.assertIn("role=Alternate/Backup", b.console("fstp/print"))

        directory = shortTempDir(self)
        hostB = Namespace(self.addCleanup, directory)
        hostC = Namespace(self.addCleanup, directory)
        hostB.plug(b.ctlDir, "10.78.0.2/24")
        hostC.plug(c.ctlDir, "10.78.0.3/24")
        echo = hostC.popen(sys.executable, "-c", ECHO, hostC.address, stdout=subprocess.PIPE)
        self.addCleanup(self.stopEcho, echo)
        self.assertEqual(echo.stdout.readline().strip(), b"ready")
        waitFor(lambda: self.reaches(hostB, hostC), 30, "B reaches C", self.fstpState)
        self.assertNoStorm(hostB, hostC)
        self.assertTransfer(hostB, hostC, 2 * 1000 * 1000)

        # Cut A-B: B's root port goes, and B-C must carry the traffic.
        self.cut(cableAB)
        waitFor(lambda: "Alternate/Backup" not in b.console("fstp/print")
                and "Alternate/Backup" not in c.console("fstp/print"),
                30, "B-C unblocked", self.fstpState)
        waitFor(lambda: self.reaches(hostB, hostC), 30, "B reaches C after the cut",
                self.fstpState)
        self.assertNoStorm(hostB, hostC)
        self.assertTransfer(hostB, hostC, 2 * 1000 * 1000)
