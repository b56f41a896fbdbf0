# -*- test-case-name: tests.stack.tcp.test_kernel_interop -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
vdetwist's TCP against the Linux kernel's, in real time: a network
namespace joined to Debian's C{vde_switch} by C{vde_plug2tap}, and a
L{VirtualHost} with a L{TCPLayer} joined to the same switch by vdetwist's
VDE plug.  The kernel connects to us and we to it; bulk data goes both
ways and is checked by hash, also with packets dropped on purpose in both
directions (inside our stack, since C{netem} may be unavailable).

Skipped without root, the Debian tools, or C{/dev/net/tun}.
"""

import hashlib
import random
import sys
from typing import Any, Generator, List, Optional, Tuple

from twisted.internet import error, reactor
from twisted.internet.defer import Deferred, inlineCallbacks
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.utils import getProcessOutputAndValue
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from tests.interop.netns import Namespace, missingTools
from tests.util import shortTempDir
from tests.vde.realswitch import SKIP_REASON, RealVDESwitch
from vdetwist.stack.host import VirtualHost
from vdetwist.stack.tcp.demux import TCPLayer
from vdetwist.vde.plug import connectPlug
from vdetwist.wire.addr import parseIPv4

SKIP = missingTools("vde_plug2tap", "vde_switch", "ip")

KERNEL = "10.78.0.1"
US = "10.78.0.2"

#: A kernel TCP client: sends N pseudo-random bytes (seed 1) while reading
#: the echo, half-closes, and prints the length and hash of what came back
#: and the hash of what it sent.
KERNEL_CLIENT = r"""
import hashlib, random, socket, sys, threading
host, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
data = random.Random(1).randbytes(n)
s = socket.create_connection((host, port), timeout=30)
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
t = threading.Thread(target=send); t.start()
h = hashlib.sha256(); total = 0
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    h.update(chunk); total += len(chunk)
t.join()
print(total, h.hexdigest(), hashlib.sha256(data).hexdigest(), flush=True)
"""

#: A kernel TCP server: accepts one connection, reads to EOF, then sends
#: "length hash\n" followed by M pseudo-random bytes (seed 2) and closes.
KERNEL_SERVER = r"""
import hashlib, random, socket, sys
host, port, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
l.bind((host, port)); l.listen(1); l.settimeout(30)
print("ready", flush=True)
c, peer = l.accept(); c.settimeout(30)
h = hashlib.sha256(); total = 0
while True:
    chunk = c.recv(65536)
    if not chunk:
        break
    h.update(chunk); total += len(chunk)
c.sendall(("%d %s\n" % (total, h.hexdigest())).encode() + random.Random(2).randbytes(m))
c.close()
"""


class Echo(Protocol):
    """
    Echoes everything; half-closes when the peer does.
    """

    def dataReceived(self, data: bytes) -> None:
        """
        @param data: sent back.
        """
        self.transport.write(data)


@implementer(IHalfCloseableProtocol)
class HalfCloseEcho(Echo):
    """
    An echo that answers EOF with its own FIN after the echoed data.
    """

    def readConnectionLost(self) -> None:
        """
        The peer is done sending: finish our direction.
        """
        self.transport.loseWriteConnection()

    def writeConnectionLost(self) -> None:
        """
        Nothing more to do.
        """


@implementer(IHalfCloseableProtocol)
class Uploader(Protocol):
    """
    Sends C{data}, half-closes, collects the reply until the connection
    ends, and fires C{done} with it.
    """

    def __init__(self, data: bytes) -> None:
        """
        @param data: what to upload.
        """
        self.data = data
        self.received: List[bytes] = []
        self.done: Deferred[bytes] = Deferred()

    def connectionMade(self) -> None:
        """
        Upload and half-close.
        """
        self.transport.write(self.data)
        self.transport.loseWriteConnection()

    def dataReceived(self, data: bytes) -> None:
        """
        @param data: kept.
        """
        self.received.append(data)

    def readConnectionLost(self) -> None:
        """
        The server finished.
        """

    def writeConnectionLost(self) -> None:
        """
        Our FIN is out.
        """

    def connectionLost(self, reason: Any) -> None:
        """
        Fire C{done} with the reply, or the failure if it was not clean.

        @param reason: why.
        """
        if reason.check(error.ConnectionDone):
            self.done.callback(b"".join(self.received))
        else:
            self.done.errback(reason)


class LossyIPv4:
    """
    An C{IIPv4Sender} and C{IIPv4Protocol} wrapper that drops a fraction of
    TCP packets in both directions with a seeded generator.
    """

    def __init__(self, ip: Any, loss: float, seed: int) -> None:
        """
        @param ip: the real IPv4 layer.
        @param loss: the drop probability per packet and direction.
        @param seed: the random seed.
        """
        self.ip = ip
        self.mtu = ip.mtu
        self.loss = loss
        self.random = random.Random(seed)
        self.tcp: Optional[TCPLayer] = None
        self.dropped = 0

    def sendPacket(self, protocol: int, source: bytes, destination: bytes,
                   payload: bytes) -> None:
        """
        Send, or drop.

        @param protocol: the IP protocol.
        @param source: 4 bytes.
        @param destination: 4 bytes.
        @param payload: the segment.
        """
        if self.random.random() < self.loss:
            self.dropped += 1
            return
        self.ip.sendPacket(protocol, source, destination, payload)

    def sourceFor(self, destination: bytes) -> bytes:
        """
        @param destination: the peer.
        @return: our address.
        """
        return self.ip.sourceFor(destination)

    def packetReceived(self, source: bytes, destination: bytes, payload: bytes,
                       datagram: bytes) -> None:
        """
        Deliver, or drop.

        @param source: 4 bytes.
        @param destination: 4 bytes.
        @param payload: the segment.
        @param datagram: the datagram.
        """
        if self.random.random() < self.loss:
            self.dropped += 1
            return
        assert self.tcp is not None
        self.tcp.packetReceived(source, destination, payload, datagram)


def factoryFor(protocol: Protocol) -> Factory:
    """
    @param protocol: the instance to hand out.
    @return: a factory returning it.
    """
    factory = Factory()
    factory.buildProtocol = lambda addr: protocol  # type: ignore[method-assign]
    return factory


class KernelTCPTests(TestCase):
    """
    A L{TCPLayer} on a L{VirtualHost} and a kernel stack on one Debian
    C{vde_switch}.
    """

    skip = SKIP or SKIP_REASON
    timeout = 120

    @inlineCallbacks
    def setUp(self) -> Generator[Any, Any, None]:
        """
        Start the switch, plug a namespace and a virtual host into it.
        """
        self.switch = RealVDESwitch(shortTempDir(self))
        self.switch.start([])
        self.addCleanup(self.switch.stop)
        self.namespace = Namespace(self.addCleanup, shortTempDir(self))
        self.namespace.plug(self.switch.ctlDir, KERNEL + "/24")
        self.host = VirtualHost(reactor, US + "/24")
        lost: Deferred[None] = Deferred()
        original = self.host.interface.connectionLost

        def connectionLost(reason: object) -> None:
            """
            Pass on, and note that the interface is detached.

            @param reason: why.
            """
            original(reason)
            if not lost.called:
                lost.callback(None)

        self.host.interface.connectionLost = connectionLost  # type: ignore[method-assign]
        self.plug = yield connectPlug(reactor, "vde://" + self.switch.ctlDir,
                                      self.host.interface, description="tcp interop")

        def stopHost() -> "Deferred[None]":
            """
            Tear TCP and the host down.

            @return: fires when the interface is detached.
            """
            self.tcp.stop()
            self.host.stop()
            return lost

        self.addCleanup(stopHost)

    def useTCP(self, loss: float = 0.0) -> TCPLayer:
        """
        Register a TCP layer with the host, optionally behind packet loss.

        @param loss: drop probability per packet and direction.
        @return: the layer.
        """
        if loss:
            self.lossy = LossyIPv4(self.host.ip, loss, 42)
            self.tcp = TCPLayer(reactor, self.lossy)  # type: ignore[arg-type]
            self.lossy.tcp = self.tcp
            self.host.registerProtocol(6, self.lossy)  # type: ignore[arg-type]
        else:
            self.tcp = TCPLayer(reactor, self.host.ip)
            self.host.registerProtocol(6, self.tcp)
        self.host.icmp.registerErrorHandler(6, self.tcp.errorReceived)
        return self.tcp

    def inNamespace(self, *argv: str) -> "Deferred[Tuple[bytes, bytes, int]]":
        """
        Run a command in the namespace without blocking the reactor.

        @param argv: the command.
        @return: a Deferred firing with (stdout, stderr, exit code).
        """
        return getProcessOutputAndValue(
            "/usr/bin/env", ["ip", "netns", "exec", self.namespace.name, *argv])

    @inlineCallbacks
    def kernelClient(self, size: int) -> Generator[Any, Any, None]:
        """
        Run the kernel client against our echo server on port 7 and check
        that the echo is what it sent.

        @param size: bytes to send.
        """
        out, err, code = yield self.inNamespace(
            sys.executable, "-c", KERNEL_CLIENT, US, "7", str(size))
        self.assertEqual(code, 0, (out + err).decode())
        total, echoed, sent = out.split()
        self.assertEqual(int(total), size)
        self.assertEqual(echoed, sent)

    @inlineCallbacks
    def test_kernelConnectsToUs(self) -> Generator[Any, Any, None]:
        """
        A kernel client's 2 MB go through our echo server and back intact,
        and the half-close finishes both sides.
        """
        tcp = self.useTCP()
        tcp.listen(7, Factory.forProtocol(HalfCloseEcho))
        yield self.kernelClient(2 << 20)
        self.assertEqual(tcp.stats.badChecksums, 0)

    @inlineCallbacks
    def test_kernelConnectsToUsWithLoss(self) -> Generator[Any, Any, None]:
        """
        The same with 3% of packets lost in each direction.
        """
        tcp = self.useTCP(loss=0.03)
        tcp.listen(7, Factory.forProtocol(HalfCloseEcho))
        yield self.kernelClient(1 << 20)
        self.assertTrue(self.lossy.dropped > 0)

    @inlineCallbacks
    def upload(self, size: int, replySize: int) -> Generator[Any, Any, None]:
        """
        Connect to a kernel server, upload C{size} bytes, and check its
        summary line and the C{replySize} bytes it sends back.

        @param size: bytes to upload.
        @param replySize: bytes the server sends after reading to EOF.
        """
        server = self.inNamespace(sys.executable, "-c", KERNEL_SERVER, KERNEL, "9000",
                                  str(replySize))
        data = random.Random(3).randbytes(size)
        protocol = None
        for _ in range(50):
            protocol = Uploader(data)
            try:
                yield self.tcp.connect(parseIPv4(KERNEL), 9000, factoryFor(protocol),
                                       timeout=10)
                break
            except error.ConnectionRefusedError:
                d: Deferred[None] = Deferred()
                reactor.callLater(0.1, d.callback, None)
                yield d
        assert protocol is not None
        reply = yield protocol.done
        line, _, rest = reply.partition(b"\n")
        self.assertEqual(line.split(), [str(size).encode(),
                                        hashlib.sha256(data).hexdigest().encode()])
        self.assertEqual(len(rest), replySize)
        self.assertTrue(rest == random.Random(2).randbytes(replySize))
        out, err, code = yield server
        self.assertEqual(code, 0, (out + err).decode())

    @inlineCallbacks
    def test_weConnectToKernel(self) -> Generator[Any, Any, None]:
        """
        We upload 2 MB to a kernel server and download 2 MB from it.
        """
        self.useTCP()
        yield self.upload(2 << 20, 2 << 20)

    @inlineCallbacks
    def test_weConnectToKernelWithLoss(self) -> Generator[Any, Any, None]:
        """
        The same, 512 KB each way, with 3% loss in each direction.
        """
        self.useTCP(loss=0.03)
        yield self.upload(512 * 1024, 512 * 1024)

    @inlineCallbacks
    def test_kernelRefuses(self) -> Generator[Any, Any, None]:
        """
        Connecting to a closed kernel port fails with
        ConnectionRefusedError (the kernel's RST).
        """
        tcp = self.useTCP()
        d = tcp.connect(parseIPv4(KERNEL), 9, factoryFor(Protocol()), timeout=10)
        yield self.assertFailure(d, error.ConnectionRefusedError)

    @inlineCallbacks
    def test_kernelSeesOurRefusal(self) -> Generator[Any, Any, None]:
        """
        The kernel connecting to a port we do not listen on gets our RST
        (connection refused).
        """
        self.useTCP()
        out, err, code = yield self.inNamespace(
            sys.executable, "-c",
            "import socket\ntry:\n socket.create_connection(('%s', 9), timeout=5)\n"
            "except ConnectionRefusedError:\n print('refused')\n" % (US,))
        self.assertEqual(out.strip(), b"refused", (out + err).decode())
