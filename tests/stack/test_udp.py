# -*- test-case-name: tests.stack.test_udp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.udp}.
"""

import errno
from typing import List, Tuple

from twisted.internet import error
from twisted.internet.address import IPv4Address
from twisted.internet.interfaces import IListeningPort, IUDPTransport
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from vdetwist.interfaces import IIPv4Protocol
from vdetwist.stack.udp import UDPLayer
from vdetwist.testing import (
    FakeIPv4Sender,
    checkIPv4,
    dstPort,
    ipv4Packet,
    payload,
    srcPort,
    udp,
    udpPacket,
    validChecksum,
)
from vdetwist.wire.addr import parseIPv4

US = parseIPv4("192.168.77.100")
THEM = parseIPv4("192.168.77.1")
PROXY = parseIPv4("192.168.77.3")
OUTSIDE = parseIPv4("8.8.8.8")


class Recorder(DatagramProtocol):
    """
    A datagram protocol that records what it receives.
    """

    def __init__(self) -> None:
        """
        Nothing yet.
        """
        self.received: List[Tuple[bytes, Tuple[str, int]]] = []
        self.refused = 0
        self.started = 0
        self.stopped = 0

    def startProtocol(self) -> None:
        """
        Count starts.
        """
        self.started += 1

    def stopProtocol(self) -> None:
        """
        Count stops.
        """
        self.stopped += 1

    def datagramReceived(self, datagram: bytes, addr: Tuple[str, int]) -> None:
        """
        Record a datagram.

        @param datagram: the data.
        @param addr: the sender.
        """
        self.received.append((datagram, addr))

    def connectionRefused(self) -> None:
        """
        Count refusals.
        """
        self.refused += 1


class UDPLayerTests(SynchronousTestCase):
    """
    Tests for L{UDPLayer} and L{UDPPort} over a L{FakeIPv4Sender}.
    """

    def setUp(self) -> None:
        """
        A UDP layer with a recording unreachable hook.
        """
        self.ip = FakeIPv4Sender(US)
        self.unreachables: List[Tuple[int, bytes]] = []
        self.udp = UDPLayer(Clock(), self.ip, lambda c, d: self.unreachables.append((c, d)),
                            localAddresses=[PROXY])

    def deliver(self, sport: int, dport: int, data: bytes, source: bytes = THEM,
                destination: bytes = US, checksum: bool = True) -> bytes:
        """
        Deliver a UDP datagram to the layer.

        @param sport: the source port.
        @param dport: the destination port.
        @param data: the payload.
        @param source: the source address.
        @param destination: the destination address.
        @param checksum: include a checksum.
        @return: the IPv4 datagram delivered.
        """
        segment = udpPacket(source, sport, destination, dport, data, checksum)
        datagram = ipv4Packet(source, destination, 17, segment)
        self.udp.packetReceived(source, destination, segment, datagram)
        return datagram

    def test_interfaces(self) -> None:
        """
        The layer provides L{IIPv4Protocol}; its ports provide
        L{IListeningPort} and L{IUDPTransport}.
        """
        self.assertTrue(verifyObject(IIPv4Protocol, self.udp))
        port = self.udp.listenUDP(53, Recorder())
        self.assertTrue(verifyObject(IListeningPort, port))
        self.assertTrue(verifyObject(IUDPTransport, port))

    def test_receive(self) -> None:
        """
        A datagram reaches the protocol bound to its port with the sender as
        a (dotted quad, port) pair, with or without a checksum.
        """
        proto = Recorder()
        port = self.udp.listenUDP(53, proto)
        self.assertIs(proto.transport, port)
        self.assertEqual(proto.started, 1)
        self.deliver(1234, 53, b"query")
        self.deliver(1235, 53, b"bare", checksum=False)
        self.assertEqual(proto.received, [(b"query", ("192.168.77.1", 1234)),
                                          (b"bare", ("192.168.77.1", 1235))])

    def test_send(self) -> None:
        """
        C{write} sends from the bound port with a correct checksum.
        """
        port = self.udp.listenUDP(53, Recorder())
        port.write(b"answer", ("192.168.77.1", 1234))
        [sent] = self.ip.clear()
        self.assertEqual(sent[:3], (17, US, THEM))
        checkIPv4(ipv4Packet(*sent[1:3], 17, sent[3]),
                  udp(srcPort(53), dstPort(1234), payload(b"answer"), validChecksum()))

    def test_badDatagrams(self) -> None:
        """
        Bad checksums, bad lengths and port 0 are counted and dropped.
        """
        proto = Recorder()
        self.udp.listenUDP(53, proto)
        segment = udpPacket(THEM, 1, US, 53, b"x")
        self.udp.packetReceived(THEM, US, segment[:6] + b"\x12\x34" + segment[8:], b"")
        self.udp.packetReceived(THEM, US, segment[:4] + b"\x00\x07" + segment[6:], b"")
        self.udp.packetReceived(THEM, US, segment[:4] + b"\x00\xff" + segment[6:], b"")
        self.udp.packetReceived(THEM, US, b"\x00\x01\x00", b"")
        self.deliver(1, 0, b"x")
        self.assertEqual(proto.received, [])
        self.assertEqual(self.udp.counters["badChecksum"], 1)
        self.assertEqual(self.udp.counters["malformed"], 4)

    def test_portUnreachable(self) -> None:
        """
        A datagram for a closed port gets a port unreachable, unless it was
        broadcast.
        """
        datagram = self.deliver(1, 9999, b"x")
        self.deliver(1, 9999, b"x", destination=b"\xff" * 4)
        self.assertEqual(self.unreachables, [(3, datagram)])

    def test_fallback(self) -> None:
        """
        The NAT hook sees datagrams no socket takes, and suppresses the
        port unreachable when it takes them.
        """
        seen: List[tuple] = []

        def fallback(*args: object) -> bool:
            seen.append(args[:5])
            return args[3] == 53

        self.udp.setFallback(fallback)
        self.deliver(1, 53, b"dns", destination=OUTSIDE)
        self.deliver(1, 54, b"other", destination=OUTSIDE)
        self.assertEqual(seen, [(THEM, 1, OUTSIDE, 53, b"dns"), (THEM, 1, OUTSIDE, 54, b"other")])
        self.assertEqual(len(self.unreachables), 1)

    def test_wildcardAndSpecific(self) -> None:
        """
        A socket bound to an address gets only that address's datagrams; a
        wildcard socket gets ours, the proxies' and broadcasts, not
        foreign addresses (those go to the NAT hook).
        """
        wild, proxy = Recorder(), Recorder()
        self.udp.listenUDP(53, wild)
        specific = self.udp.listenUDP(67, proxy, interface="192.168.77.3")
        self.deliver(1, 53, b"a")
        self.deliver(1, 53, b"b", destination=PROXY)
        self.deliver(1, 53, b"c", destination=b"\xff" * 4)
        self.deliver(1, 53, b"d", destination=OUTSIDE)
        self.deliver(1, 67, b"e", destination=PROXY)
        self.deliver(1, 67, b"f")
        self.assertEqual([d for d, _ in wild.received], [b"a", b"b", b"c"])
        self.assertEqual([d for d, _ in proxy.received], [b"e"])
        self.assertEqual(specific.getHost(), IPv4Address("UDP", "192.168.77.3", 67))

    def test_addressInUse(self) -> None:
        """
        Binding a taken port fails; a wildcard conflicts with a specific
        binding on the same port and the reverse.
        """
        self.udp.listenUDP(53, Recorder())
        self.assertRaises(error.CannotListenError, self.udp.listenUDP, 53, Recorder())
        self.assertRaises(error.CannotListenError, self.udp.listenUDP, 53, Recorder(),
                          interface=US)
        self.udp.listenUDP(54, Recorder(), interface=US)
        self.assertRaises(error.CannotListenError, self.udp.listenUDP, 54, Recorder())
        self.assertRaises(error.CannotListenError, self.udp.listenUDP, 70000, Recorder())

    def test_ephemeral(self) -> None:
        """
        Port 0 picks distinct ports in the ephemeral range.
        """
        ports = {self.udp.listenUDP(0, Recorder()).getHost().port for _ in range(50)}
        self.assertEqual(len(ports), 50)
        self.assertTrue(all(49152 <= p <= 65535 for p in ports))

    def test_stopListening(self) -> None:
        """
        C{stopListening} stops the protocol and frees the port.
        """
        proto = Recorder()
        port = self.udp.listenUDP(53, proto)
        self.successResultOf(port.stopListening())
        self.assertEqual(proto.stopped, 1)
        self.assertIsNone(proto.transport)
        self.deliver(1, 53, b"x")
        self.assertEqual(proto.received, [])
        self.udp.listenUDP(53, Recorder())

    def test_connected(self) -> None:
        """
        A connected socket writes without an address, hears only its peer,
        and learns of an ICMP port unreachable through C{connectionRefused}.
        """
        proto = Recorder()
        port = self.udp.listenUDP(5000, proto)
        port.connect("192.168.77.1", 53)
        port.write(b"q")
        self.assertEqual(self.ip.clear()[0][2], THEM)
        self.assertRaises(ValueError, port.write, b"q", ("192.168.77.2", 53))
        self.deliver(53, 5000, b"from peer")
        self.deliver(54, 5000, b"from other")
        self.assertEqual([d for d, _ in proto.received], [b"from peer"])
        quoted = ipv4Packet(US, THEM, 17, udpPacket(US, 5000, THEM, 53, b"q"))
        self.udp.errorReceived(THEM, 3, 3, 0, quoted)
        self.assertEqual(proto.refused, 1)

    def test_writeErrors(self) -> None:
        """
        Oversized datagrams, bad addresses and unallowed broadcasts raise.
        """
        port = self.udp.listenUDP(53, Recorder())
        self.assertRaises(error.MessageLengthError, port.write, bytes(65508), ("1.2.3.4", 1))
        self.assertRaises(ValueError, port.write, b"x", ("example.com", 1))
        self.assertRaises(ValueError, port.write, b"x")
        e = self.assertRaises(OSError, port.write, b"x", ("255.255.255.255", 67))
        self.assertEqual(e.errno, errno.EACCES)
        port.setBroadcastAllowed(True)
        self.assertTrue(port.getBroadcastAllowed())
        port.write(b"x", ("255.255.255.255", 67))
        self.assertEqual(len(self.ip.sent), 1)

    def test_protocolErrorLogged(self) -> None:
        """
        An exception in C{datagramReceived} is logged, not raised.
        """
        class Broken(DatagramProtocol):
            def datagramReceived(self, datagram: bytes, addr: object) -> None:
                raise ZeroDivisionError()
        self.udp.listenUDP(53, Broken())
        self.deliver(1, 53, b"x")
        self.assertEqual(len(self.flushLoggedErrors(ZeroDivisionError)), 1)

    def test_sendDatagramAnySource(self) -> None:
        """
        C{sendDatagram} sends from any address and port (for a NAT).
        """
        self.udp.sendDatagram(OUTSIDE, 53, THEM, 1234, b"reply")
        [sent] = self.ip.clear()
        self.assertEqual(sent[1:3], (OUTSIDE, THEM))
        checkIPv4(ipv4Packet(OUTSIDE, THEM, 17, sent[3]), udp(srcPort(53), validChecksum()))
