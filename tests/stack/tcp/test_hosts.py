# -*- test-case-name: tests.stack.tcp.test_hosts -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
TCP between two whole L{VirtualHost}s (interface, ARP, IPv4) on an
in-memory Ethernet, as the C{vde:} endpoints compose them: bulk data both
ways at standard and jumbo MTUs, with frames lost on the wire.
"""

import hashlib
import random
from typing import List

from twisted.internet import error, protocol, task
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from vdetwist.stack.host import VirtualHost
from vdetwist.stack.tcp.demux import TCPLayer
from vdetwist.testing import MemoryWire


@implementer(IHalfCloseableProtocol)
class Exchange(protocol.Protocol):
    """
    Sends C{payload}, half-closes, and keeps what arrives until the
    connection ends.
    """

    def __init__(self, payload: bytes) -> None:
        """
        @param payload: what to send.
        """
        self.payload = payload
        self.chunks: List[bytes] = []
        self.reason = None

    def connectionMade(self) -> None:
        """
        Send and half-close.
        """
        self.transport.write(self.payload)
        self.transport.loseWriteConnection()

    def dataReceived(self, data: bytes) -> None:
        """
        @param data: kept.
        """
        self.chunks.append(data)

    def readConnectionLost(self) -> None:
        """
        The peer finished.
        """

    def writeConnectionLost(self) -> None:
        """
        Our FIN is out.
        """

    def connectionLost(self, reason: object) -> None:
        """
        @param reason: kept.
        """
        self.reason = reason


class HostPairTests(SynchronousTestCase):
    """
    Two virtual hosts with TCP on one memory wire.
    """

    def exchange(self, mtu: int, loss: float, size: int) -> None:
        """
        Exchange C{size} bytes each way and check them and the clean close.

        @param mtu: both hosts' MTU.
        @param loss: the fraction of frames the wire drops.
        @param size: bytes per direction.
        """
        clock = task.Clock()
        wire = MemoryWire(record=False)
        rng = random.Random(17)
        wire.filter = lambda sender, frame: [] if rng.random() < loss else [frame]
        layers = []
        hosts = []
        for address in ("10.5.0.1/24", "10.5.0.2/24"):
            host = VirtualHost(clock, address=address, mtu=mtu)
            tcp = TCPLayer(clock, host.ip)
            host.registerProtocol(6, tcp)
            host.icmp.registerErrorHandler(6, tcp.errorReceived)
            wire.attach(host.interface)
            layers.append(tcp)
            hosts.append(host)
        serverData = random.Random(1).randbytes(size)
        clientData = random.Random(2).randbytes(size)
        server = Exchange(serverData)
        layers[0].listen(80, protocol.Factory.forProtocol(lambda: server))
        client = Exchange(clientData)
        d = layers[1].connect(bytes([10, 5, 0, 1]), 80,
                              protocol.Factory.forProtocol(lambda: client))
        for _ in range(200000):
            wire.pump()
            if server.reason is not None and client.reason is not None:
                break
            clock.advance(0.002)
        self.assertIs(self.successResultOf(d), client)
        got = b"".join(server.chunks)
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(clientData).hexdigest())
        got = b"".join(client.chunks)
        self.assertEqual(hashlib.sha256(got).hexdigest(), hashlib.sha256(serverData).hexdigest())
        self.assertIsInstance(server.reason.value, error.ConnectionDone)
        self.assertIsInstance(client.reason.value, error.ConnectionDone)
        self.assertEqual(layers[0].config.mss, mtu - 40)
        counters = hosts[0].counters()
        self.assertEqual(counters["proto6.badChecksums"], 0)
        # No segment was fragmented: after one datagram that needs exactly
        # three fragments (RFC 791: fragment data in multiples of 8 bytes),
        # the IP layer's fragment counter exists and counts only those.
        step = (mtu - 20) & ~7
        hosts[0].ip.sendPacket(253, hosts[0].ip.address, hosts[1].ip.address,
                               bytes(2 * step + 100))
        self.assertEqual(hosts[0].counters()["ip.fragmentsSent"], 3)

    def test_standardMTU(self) -> None:
        """
        512 KB each way at MTU 1500, clean wire.
        """
        self.exchange(1500, 0.0, 512 * 1024)

    def test_jumboMTU(self) -> None:
        """
        512 KB each way at MTU 9000 (MSS 8960), clean wire.
        """
        self.exchange(9000, 0.0, 512 * 1024)

    def test_lossyWire(self) -> None:
        """
        256 KB each way with 5% of all frames (ARP included) lost.
        """
        self.exchange(1500, 0.05, 256 * 1024)
