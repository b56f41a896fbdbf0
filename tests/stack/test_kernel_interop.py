# -*- test-case-name: tests.stack.test_kernel_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
vdetwist's host stack against a Linux kernel stack, in real time: a
network namespace joined to Debian's C{vde_switch} by C{vde_plug2tap}, and
a L{VirtualHost} joined to the same switch by vdetwist's VDE plug.  The
kernel is the independent implementation: it must resolve us with ARP,
get answers to its pings, and exchange (fragmented) UDP with us.

Skipped without root, the Debian tools, or C{/dev/net/tun}.
"""

import shutil
import sys
from typing import Any, Generator, Tuple

from twisted.internet import reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase

from tests.interop.netns import Namespace, missingTools
from tests.util import shortTempDir
from tests.vde.realswitch import SKIP_REASON, RealVDESwitch
from vdetwist.stack.host import VirtualHost
from vdetwist.vde.plug import connectPlug
from vdetwist.wire.addr import parseIPv4

SKIP = missingTools("vde_plug2tap", "vde_switch", "ip")

#: iputils' ping, or busybox's.
PING = ["ping"] if shutil.which("ping") else ["busybox", "ping"] if shutil.which(
    "busybox") else None
if SKIP is None and PING is None:
    SKIP = "neither ping nor busybox is installed"

#: A UDP client run in the namespace: sends one datagram of the given size
#: to the address and port, prints the length and the equality of the
#: echo.
UDP_CLIENT = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(5)
data = bytes(range(256)) * (int(sys.argv[3]) // 256) + b"t" * (int(sys.argv[3]) % 256)
s.sendto(data, (sys.argv[1], int(sys.argv[2])))
echo, peer = s.recvfrom(65535)
print(len(echo), echo == data, peer[1], flush=True)
"""

#: A UDP server run in the namespace: answers one datagram in upper case.
UDP_SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(10)
s.bind((sys.argv[1], int(sys.argv[2])))
print("ready", flush=True)
data, peer = s.recvfrom(65535)
s.sendto(data.upper(), peer)
"""


class Echo(DatagramProtocol):
    """
    A UDP echo server.
    """

    def datagramReceived(self, datagram: bytes, addr: Tuple[str, int]) -> None:
        """
        Send the datagram back.

        @param datagram: the data.
        @param addr: the sender.
        """
        self.transport.write(datagram, addr)


class Catch(DatagramProtocol):
    """
    Fires a Deferred with the first datagram.
    """

    def __init__(self) -> None:
        """
        Nothing received yet.
        """
        self.received: Deferred[Tuple[bytes, Tuple[str, int]]] = Deferred()

    def datagramReceived(self, datagram: bytes, addr: Tuple[str, int]) -> None:
        """
        Fire with the datagram.

        @param datagram: the data.
        @param addr: the sender.
        """
        if not self.received.called:
            self.received.callback((datagram, addr))


class KernelInteropTests(TestCase):
    """
    A L{VirtualHost} and a kernel stack on one Debian C{vde_switch}.
    """

    skip = SKIP or SKIP_REASON
    timeout = 60

    @inlineCallbacks
    def setUp(self) -> Generator[Any, Any, None]:
        """
        Start the switch, plug a namespace (10.77.0.1/24) and a virtual host
        (10.77.0.2/24) into it.
        """
        self.switch = RealVDESwitch(shortTempDir(self))
        self.switch.start([])
        self.addCleanup(self.switch.stop)
        self.namespace = Namespace(self.addCleanup, shortTempDir(self))
        self.namespace.plug(self.switch.ctlDir, "10.77.0.1/24")
        self.host = VirtualHost(reactor, "10.77.0.2/24")
        lost: Deferred[None] = Deferred()
        original = self.host.interface.connectionLost

        def connectionLost(reason: object) -> None:
            original(reason)
            if not lost.called:
                lost.callback(None)

        self.host.interface.connectionLost = connectionLost  # type: ignore[method-assign]
        self.plug = yield connectPlug(reactor, "vde://" + self.switch.ctlDir,
                                      self.host.interface, description="stack interop")

        def stopHost() -> "Deferred[None]":
            self.host.stop()
            return lost

        self.addCleanup(stopHost)

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
        The kernel resolves our address with ARP and gets echo replies,
        small and fragmented.
        """
        assert PING is not None
        out, err, code = yield self.inNamespace(*PING, "-c", "2", "-W", "3", "10.77.0.2")
        self.assertEqual(code, 0, (out + err).decode())
        self.assertRegex(out, rb"\b2 (packets )?received")
        out, err, code = yield self.inNamespace(
            *PING, "-c", "1", "-s", "4000", "-W", "3", "10.77.0.2")
        self.assertEqual(code, 0, (out + err).decode())
        self.assertIn(b"4008 bytes from 10.77.0.2", out)

    @inlineCallbacks
    def test_wePingKernel(self) -> Generator[Any, Any, None]:
        """
        Our ping reaches the kernel, which answers.
        """
        rtt = yield self.host.icmp.ping(parseIPv4("10.77.0.1"), b"x" * 56, timeout=5)
        self.assertGreaterEqual(rtt, 0)

    @inlineCallbacks
    def test_udpEchoFromKernel(self) -> Generator[Any, Any, None]:
        """
        A kernel UDP client gets its datagrams echoed by our echo server,
        including one the kernel fragments and we reassemble (and the
        reverse).
        """
        self.host.udp.listenUDP(7, Echo())
        for size in (5, 4000, 20000):
            out, err, code = yield self.inNamespace(
                sys.executable, "-c", UDP_CLIENT, "10.77.0.2", "7", str(size))
            self.assertEqual(code, 0, (out + err).decode())
            self.assertEqual(out.split(), [str(size).encode(), b"True", b"7"])

    @inlineCallbacks
    def test_udpToKernel(self) -> Generator[Any, Any, None]:
        """
        Our UDP client talks to a kernel UDP server: its checksum is
        accepted and the answer comes back.
        """
        catch = Catch()
        port = self.host.udp.listenUDP(0, catch)
        self.addCleanup(port.stopListening)
        server = self.inNamespace(sys.executable, "-c", UDP_SERVER, "10.77.0.1", "9999")
        # The server needs a moment to bind; resend until it answers.
        for _ in range(50):
            port.write(b"hello kernel", ("10.77.0.1", 9999))
            d: Deferred[None] = Deferred()
            reactor.callLater(0.1, d.callback, None)
            yield d
            if catch.received.called:
                break
        data, addr = yield catch.received
        self.assertEqual((data, addr), (b"HELLO KERNEL", ("10.77.0.1", 9999)))
        yield server
