# -*- test-case-name: tests.stack.test_host6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for the IPv6 side of L{vdetwist.stack.host.VirtualHost}: two
dual-stack hosts on a L{MemoryWire} with a fake clock, TCP and UDP over
IPv6 both ways, checksums, the MSS and errors.
"""

import struct
from typing import List, Tuple

from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from vdetwist.interfaces import IIPv6Sender
from vdetwist.stack.host import VirtualHost
from vdetwist.testing import MemoryWire
from vdetwist.wire.addr import parseIPv4
from vdetwist.wire.addr6 import parseIPv6
from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.ethernet import ETHERTYPE_IPV6
from vdetwist.wire.ipv6 import pseudoHeaderSum

A6 = parseIPv6("fd00:77::100")
B6 = parseIPv6("fd00:77::1")
B4 = parseIPv4("192.168.77.1")


class Recorder(DatagramProtocol):
    """
    Records datagrams.
    """

    def __init__(self) -> None:
        """
        Nothing yet.
        """
        self.received: List[Tuple[bytes, Tuple[str, int]]] = []

    def datagramReceived(self, datagram: bytes, addr: Tuple[str, int]) -> None:
        """
        Record one datagram.

        @param datagram: the data.
        @param addr: the sender.
        """
        self.received.append((datagram, addr))


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


class Sink(Protocol):
    """
    Collects what it receives in its factory's C{received} list.
    """

    def dataReceived(self, data: bytes) -> None:
        """
        @param data: some bytes.
        """
        self.factory.received.append(data)  # type: ignore[attr-defined]


def sinkFactory() -> Factory:
    """
    @return: a factory of L{Sink}s sharing one C{received} list.
    """
    factory = Factory.forProtocol(Sink)
    factory.received = []  # type: ignore[attr-defined]
    return factory


class DualStackTests(SynchronousTestCase):
    """
    A (fd00:77::100, 192.168.77.100) and B (fd00:77::1, 192.168.77.1).
    """

    def setUp(self) -> None:
        """
        Build, attach and let DAD finish.
        """
        self.clock = Clock()
        self.wire = MemoryWire()
        self.a = VirtualHost(self.clock, "192.168.77.100/24", mac="02:00:00:00:00:0a",
                             addresses6=["fd00:77::100/64"])
        self.b = VirtualHost(self.clock, "192.168.77.1/24", mac="02:00:00:00:00:0b",
                             addresses6=["fd00:77::1/64"])
        self.wire.attach(self.a.interface)
        self.wire.attach(self.b.interface)
        self.spin(3)
        self.assertIn(A6, self.a.addresses6)
        self.assertIn(B6, self.b.addresses6)

    def tearDown(self) -> None:
        """
        Stop both hosts.
        """
        self.a.stop()
        self.b.stop()

    def spin(self, seconds: float = 1.0) -> None:
        """
        Pump the wire and advance the clock in steps.

        @param seconds: how long.
        """
        for _ in range(int(seconds * 10)):
            self.wire.pump()
            self.clock.advance(0.1)
        self.wire.pump()

    def test_interfaces(self) -> None:
        """
        The IPv6 layer provides L{IIPv6Sender}.
        """
        self.assertTrue(verifyObject(IIPv6Sender, self.a.ip6))

    def test_linkLocal(self) -> None:
        """
        Each host has a link-local address from its MAC beside the static
        one.
        """
        self.assertIn(parseIPv6("fe80::ff:fe00:a"), self.a.addresses6)

    def test_ping6(self) -> None:
        """
        A pings B over IPv6.
        """
        d = self.a.icmp6.ping(B6)
        self.spin(1)
        self.assertIsInstance(self.successResultOf(d), float)

    def tcpTransfer(self, client: VirtualHost, server: VirtualHost, serverAddress: bytes,
                    data: bytes) -> Tuple[Protocol, Factory]:
        """
        Connect from C{client} to a sink on C{server} over IPv6 and send
        C{data}.

        @return: the client protocol and the server's factory.
        """
        factory = sinkFactory()
        server.tcp6.listen(80, factory)
        d = client.tcp6.connect(serverAddress, 80, Factory.forProtocol(Protocol))
        self.spin(1)
        protocol = self.successResultOf(d)
        protocol.transport.write(data)
        self.spin(3)
        return protocol, factory

    def test_tcpBothWays(self) -> None:
        """
        TCP over IPv6 carries bytes intact from A to B and from B to A,
        with C{IPv6Address}es for both ends.
        """
        data = bytes(range(256)) * 200
        protocol, factory = self.tcpTransfer(self.a, self.b, B6, data)
        self.assertEqual(b"".join(factory.received), data)  # type: ignore[attr-defined]
        self.assertEqual(protocol.transport.getPeer(), IPv6Address("TCP", "fd00:77::1", 80))
        host = protocol.transport.getHost()
        self.assertIsInstance(host, IPv6Address)
        self.assertEqual(host.host, "fd00:77::100")
        protocol, factory = self.tcpTransfer(self.b, self.a, A6, data[::-1])
        self.assertEqual(b"".join(factory.received), data[::-1])  # type: ignore[attr-defined]
        self.assertEqual(self.a.tcp6.stats.badChecksums, 0)
        self.assertEqual(self.b.tcp6.stats.badChecksums, 0)
        # IPv4 still works beside, in its own layer.
        self.assertEqual(self.a.tcp.connections, {})

    def test_listenerGetHost(self) -> None:
        """
        An IPv6 listener's address is an C{IPv6Address}; an IPv4 one stays
        an C{IPv4Address}.
        """
        self.assertEqual(self.b.tcp6.listen(80, Factory()).getHost(),
                         IPv6Address("TCP", "::", 80))
        self.assertEqual(self.b.tcp.listen(80, Factory()).getHost(),
                         IPv4Address("TCP", "0.0.0.0", 80))

    def test_mssFromIPv6MTU(self) -> None:
        """
        The IPv6 TCP layer announces the MTU less 60; the IPv4 one the MTU
        less 40.  Segments of a bulk transfer fit the MTU unfragmented.
        """
        self.assertEqual(self.a.tcp6.config.mss, 1440)
        self.assertEqual(self.a.tcp.config.mss, 1460)
        sizes: List[int] = []
        self.tcpTransfer(self.a, self.b, B6, b"x" * 30000)
        for frame in self.wire.sentBy(self.a.interface):
            if int.from_bytes(frame[12:14], "big") == ETHERTYPE_IPV6:
                sizes.append(len(frame) - 14)
        self.assertLessEqual(max(sizes), 1500)
        self.assertEqual(self.b.ip6.allCounters().get("reassembled", 0), 0)

    def test_tcpRefused(self) -> None:
        """
        A connect over IPv6 to a closed port is refused (RST).
        """
        d = self.a.tcp6.connect(B6, 81, Factory.forProtocol(Protocol))
        self.spin(1)
        from twisted.internet.error import ConnectionRefusedError
        self.failureResultOf(d, ConnectionRefusedError)

    def test_tcpUnreachable(self) -> None:
        """
        A connect to an on-link IPv6 address nobody has fails when
        Neighbor Discovery gives up (an address unreachable delivered
        locally).
        """
        d = self.a.tcp6.connect(parseIPv6("fd00:77::99"), 80, Factory.forProtocol(Protocol))
        self.spin(10)
        self.failureResultOf(d)

    def test_udpBothWays(self) -> None:
        """
        UDP over IPv6 both ways, small and fragmented, with IPv6 text in
        the address tuples.
        """
        self.b.udp6.listenUDP(7, Echo())
        client = Recorder()
        port = self.a.udp6.listenUDP(0, client)
        big = bytes(range(256)) * 30
        port.write(b"hello", ("fd00:77::1", 7))
        port.write(big, ("fd00:77::1", 7))
        self.spin(1)
        self.assertEqual(client.received, [(b"hello", ("fd00:77::1", 7)),
                                           (big, ("fd00:77::1", 7))])
        self.assertEqual(port.getHost(), IPv6Address("UDP", "::", port.port))
        self.a.udp6.listenUDP(7, Echo())
        back = Recorder()
        self.b.udp6.listenUDP(0, back).write(b"back", ("fd00:77::100", 7))
        self.spin(1)
        self.assertEqual(back.received, [(b"back", ("fd00:77::100", 7))])

    def test_udpChecksums(self) -> None:
        """
        A UDP datagram over IPv6 carries a checksum over the IPv6
        pseudo-header even with C{checksumOnSend} off; a zero checksum and
        a wrong one are refused.
        """
        self.a.udp6.checksumOnSend = False
        received = Recorder()
        self.b.udp6.listenUDP(9, received)
        self.a.udp6.sendDatagram(A6, 5000, B6, 9, b"sum")
        self.spin(1)
        self.assertEqual(received.received, [(b"sum", ("fd00:77::100", 5000))])
        [frame] = [f for f in self.wire.sentBy(self.a.interface)
                   if len(f) > 54 and f[20] == 17]
        datagram = frame[54:]
        self.assertEqual(internetChecksum(datagram, pseudoHeaderSum(
            A6, B6, 17, len(datagram))), 0)
        zero = datagram[:6] + b"\0\0" + datagram[8:]
        wrong = datagram[:6] + bytes([datagram[6] ^ 1, datagram[7]]) + datagram[8:]
        before = self.b.udp6.counters["badChecksum"]
        self.b.udp6.packetReceived(A6, B6, zero, frame[14:54] + zero)
        self.b.udp6.packetReceived(A6, B6, wrong, frame[14:54] + wrong)
        self.assertEqual(self.b.udp6.counters["badChecksum"], before + 2)
        self.assertEqual(len(received.received), 1)

    def test_udpZeroChecksumMapped(self) -> None:
        """
        A datagram whose computed checksum is 0 goes out as 0xffff.
        """
        sent: List[bytes] = []
        self.a.ip6.sendPacket = lambda nh, s, d, payload: sent.append(payload)  # type: ignore
        # Find a payload whose checksum computes to 0.
        for n in range(70000):
            payload = n.to_bytes(4, "big")
            header = struct.pack("!HHHH", 5000, 9, 12, 0)
            if internetChecksum(header + payload,
                                pseudoHeaderSum(A6, B6, 17, 12)) == 0:
                break
        self.a.udp6.sendDatagram(A6, 5000, B6, 9, payload)
        self.assertEqual(sent[0][6:8], b"\xff\xff")

    def test_udpPortUnreachable(self) -> None:
        """
        A datagram to a closed IPv6 port brings an ICMPv6 port unreachable
        that a connected socket sees as a refusal.
        """
        refused: List[int] = []
        client = Recorder()
        client.connectionRefused = lambda: refused.append(1)  # type: ignore[method-assign]
        port = self.a.udp6.listenUDP(0, client)
        port.connect("fd00:77::1", 9)
        port.write(b"anyone?")
        self.spin(1)
        self.assertEqual(refused, [1])
        self.assertEqual(self.b.udp6.counters["noPort"], 1)

    def test_ipv4Beside(self) -> None:
        """
        IPv4 TCP still works on a dual-stack host, in its own layer.
        """
        factory = sinkFactory()
        self.b.tcp.listen(80, factory)
        d = self.a.tcp.connect(B4, 80, Factory.forProtocol(Protocol))
        self.spin(1)
        self.successResultOf(d).transport.write(b"v4")
        self.spin(1)
        self.assertEqual(b"".join(factory.received), b"v4")  # type: ignore[attr-defined]
        self.assertEqual(self.b.tcp6.connections, {})

    def test_counters(self) -> None:
        """
        The host's counters include the IPv6 layers'.
        """
        self.a.icmp6.ping(B6)
        self.spin(1)
        counters = self.a.counters()
        self.assertGreater(counters["icmp6.echoReplies"], 0)
        self.assertTrue(any(key.startswith("nd.") for key in counters))
        self.assertTrue(any(key.startswith("ip6.") for key in counters))

    def test_stop(self) -> None:
        """
        C{stop} cancels the IPv6 timers too.
        """
        self.a.stop()
        self.b.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class IPv4OnlyTests(SynchronousTestCase):
    """
    C{ipv6=False} and router mode.
    """

    def test_ipv4Only(self) -> None:
        """
        An IPv4-only host has no IPv6 layers and sends no IPv6 frame.
        """
        wire = MemoryWire()
        host = VirtualHost(Clock(), "192.168.77.5/24", ipv6=False)
        wire.attach(host.interface)
        wire.pump()
        self.assertIsNone(host.tcp6)
        self.assertEqual(host.addresses6, [])
        self.assertTrue(all(f[12:14] != b"\x86\xdd" for f in wire.sentBy(host.interface)))
        self.assertRaises(ValueError, host.tcpFor, A6)
        self.assertIs(host.tcpFor(B4), host.tcp)

    def test_routerDefault(self) -> None:
        """
        A router-mode host (a NAT) has no IPv6 unless asked.
        """
        self.assertIsNone(VirtualHost(Clock(), "10.0.2.2/24", router=True).ip6)
