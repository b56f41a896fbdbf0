# -*- test-case-name: tests.stack.test_ipv6_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
vdetwist's IPv6 layers (ND, IPv6, ICMPv6) against a Linux kernel stack,
in real time: a network namespace joined to Debian's C{vde_switch} by
C{vde_plug2tap} with C{fd00:77::1/64}, and an in-process host with just
the IPv6 layers at C{fd00:77::100} joined to the same switch by
vdetwist's VDE plug.  The kernel must resolve us with Neighbor Discovery
after our DAD and get answers to its pings; we must resolve it and get
its answers; its router solicitations must not upset us.

Skipped without root, the Debian tools, or C{/dev/net/tun}.
"""

import shutil
import time
from typing import Any, Generator, Tuple

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks, succeed
from twisted.internet.task import deferLater
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from tests.interop.netns import Namespace, missingTools
from tests.util import shortTempDir
from tests.vde.realswitch import SKIP_REASON, RealVDESwitch
from vdetwist.stack.icmpv6 import ICMPv6Layer
from vdetwist.stack.interface import NetworkInterface
from vdetwist.stack.ipv6 import IPv6Layer
from vdetwist.stack.nd import NDLayer
from vdetwist.vde.plug import connectPlug
from vdetwist.wire.addr6 import parseIPv6

SKIP = missingTools("vde_plug2tap", "vde_switch", "ip")
PING = ["ping"] if shutil.which("ping") else ["busybox", "ping"] if shutil.which(
    "busybox") else None
if SKIP is None and PING is None:
    SKIP = "neither ping nor busybox is installed"

US = parseIPv6("fd00:77::100")
KERNEL = parseIPv6("fd00:77::1")


class IPv6KernelInteropTests(TestCase):
    """
    The IPv6 layers and a kernel stack on one Debian C{vde_switch}.
    """

    skip = SKIP or SKIP_REASON
    timeout = 60

    @inlineCallbacks
    def setUp(self) -> Generator[Any, Any, None]:
        """
        Start the switch, plug a namespace (fd00:77::1/64) and our layers
        (fd00:77::100/64) into it, and wait for both sides' DAD.
        """
        self.switch = RealVDESwitch(shortTempDir(self))
        self.switch.start([])
        self.addCleanup(self.switch.stop)
        self.namespace = Namespace(self.addCleanup, shortTempDir(self))
        self.namespace.plug(self.switch.ctlDir, "fd00:77::1/64")
        self.interface = NetworkInterface()
        self.nd = NDLayer(reactor, self.interface, dadTransmits=1)
        self.ip = IPv6Layer(reactor, self.nd)
        self.icmp = ICMPv6Layer(reactor, self.ip)
        self.ip.addAddress(US, 64)
        lost: Deferred[None] = Deferred()
        original = self.interface.connectionLost

        def connectionLost(reason: object) -> None:
            original(reason)
            if not lost.called:
                lost.callback(None)

        self.interface.connectionLost = connectionLost  # type: ignore[method-assign]
        self.plug = yield connectPlug(reactor, "vde://" + self.switch.ctlDir,
                                      self.interface, description="ipv6 interop")

        def stop() -> "Deferred[None]":
            self.nd.stop()
            self.ip.stop()
            if self.interface.transport is not None:
                self.interface.transport.loseConnection()
                return lost
            return succeed(None)

        self.addCleanup(stop)
        deadline = time.monotonic() + 10
        while US not in self.nd.assigned or self.namespace.exec(
                "ip", "-6", "addr", "show", "tentative").stdout.strip():
            if time.monotonic() > deadline:
                self.fail("DAD did not finish on both sides")
            yield deferLater(reactor, 0.1, lambda: None)

    def inNamespace(self, *argv: str) -> "Deferred[Tuple[bytes, bytes, int]]":
        """
        Run a command in the namespace without blocking the reactor.

        @param argv: the command.
        @return: a Deferred firing with (stdout, stderr, exit code).
        """
        return getProcessOutputAndValue(
            "/usr/bin/env", ["ip", "netns", "exec", self.namespace.name, *argv])

    @inlineCallbacks
    def test_kernelPingsUs(self) -> Generator[Any, Any, None]:
        """
        The kernel resolves us with ND and gets three echo replies; its
        router solicitations and ND traffic are counted without errors.
        """
        assert PING is not None
        out, err, code = yield self.inNamespace(*PING, "-6", "-c", "3", "-W", "3",
                                                "fd00:77::100")
        self.assertEqual(code, 0, (out + err).decode())
        self.assertRegex(out, rb"\b3 (packets )?received")
        self.assertEqual(self.interface.counters["handlerErrors"], 0)
        self.assertEqual(self.nd.counters["malformed"] + self.nd.counters["invalid"], 0)
        self.assertEqual(self.icmp.counters["badChecksum"], 0)
        self.assertGreaterEqual(self.icmp.counters["echoRequests"], 3)
        self.assertEqual(self.nd.routers, {})

    @inlineCallbacks
    def test_wePingKernel(self) -> Generator[Any, Any, None]:
        """
        We resolve the kernel with ND and its echo reply comes back, for a
        small and for a fragmented request.
        """
        rtt = yield self.icmp.ping(KERNEL, b"x" * 56, timeout=5)
        self.assertGreaterEqual(rtt, 0)
        rtt = yield self.icmp.ping(KERNEL, b"y" * 3000, timeout=5, sequence=2)
        self.assertGreaterEqual(rtt, 0)
        self.assertEqual(self.ip.allCounters().get("reassembly.reassembled"), 1)
