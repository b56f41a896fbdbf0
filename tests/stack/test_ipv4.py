# -*- test-case-name: tests.stack.test_ipv4 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.ipv4}.
"""

from typing import List, Tuple

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from tests.wire.oracle import scapy
from vdetwist.interfaces import IIPv4Protocol, IIPv4Sender
from vdetwist.stack.arp import ARPLayer
from vdetwist.stack.icmp import ICMPLayer
from vdetwist.stack.interface import NetworkInterface
from vdetwist.stack.ipv4 import IPv4Layer, Reassembler
from vdetwist.testing import (
    FakeFrameTransport,
    checkFrame,
    checkIPv4,
    dstAddr,
    dstMAC,
    ethernet,
    fragmentOffset,
    icmp,
    icmpCode,
    icmpType,
    ipv4,
    ipv4Packet,
    moreFragments,
    payloadLength,
    srcAddr,
    totalLength,
    validChecksum,
)
from vdetwist.wire.addr import parseIPv4

MAC = bytes.fromhex("020000000001")
PEER = bytes.fromhex("020000000002")
GATEWAY_MAC = bytes.fromhex("020000000003")
US = parseIPv4("192.168.77.100")
THEM = parseIPv4("192.168.77.1")
GATEWAY = parseIPv4("192.168.77.254")
OUTSIDE = parseIPv4("8.8.8.8")


@implementer(IIPv4Protocol)
class RecordingProtocol:
    """
    An L{IIPv4Protocol} that records what it receives.
    """

    def __init__(self) -> None:
        """
        Nothing received yet.
        """
        self.received: List[Tuple[bytes, bytes, bytes, bytes]] = []

    def packetReceived(self, source: bytes, destination: bytes, payload: bytes,
                       datagram: bytes) -> None:
        """
        Record one datagram.

        @param source: the source.
        @param destination: the destination.
        @param payload: the payload.
        @param datagram: the datagram.
        """
        self.received.append((source, destination, payload, datagram))


def fragments(datagram: bytes, size: int) -> List[Tuple[int, bool, bytes]]:
    """
    Split a datagram's payload into (offset, more, chunk) pieces.

    @param datagram: a 20-byte-header datagram.
    @param size: the chunk size (a multiple of 8).
    @return: the pieces.
    """
    data = datagram[20:]
    return [(o, o + size < len(data), data[o:o + size]) for o in range(0, len(data), size)]


class ReassemblerTests(SynchronousTestCase):
    """
    Tests for the pure L{Reassembler}.
    """

    KEY = (THEM, US, 17, 42)
    HEADER = ipv4Packet(THEM, US, 17, b"", identification=42)

    def feed(self, r: Reassembler, pieces: List[Tuple[int, bool, bytes]],
             now: float = 0) -> List[bytes]:
        """
        Add pieces and collect completed datagrams.

        @param r: the reassembler.
        @param pieces: (offset, more, data) triples.
        @param now: the time.
        @return: the completed datagrams.
        """
        done = []
        for offset, more, data in pieces:
            whole = r.add(self.KEY, self.HEADER, offset, more, data, now)
            if whole is not None:
                done.append(whole)
        return done

    def test_inOrderAndOutOfOrder(self) -> None:
        """
        Pieces in any order make the datagram, with a clean header.
        """
        data = bytes(range(256)) * 10
        pieces = fragments(self.HEADER + data, 800)
        for order in (pieces, pieces[::-1], [pieces[1], pieces[3], pieces[0], pieces[2]]):
            r = Reassembler()
            [whole] = self.feed(r, order)
            checkIPv4(whole, srcAddr(THEM), totalLength(20 + len(data)),
                      moreFragments(False), fragmentOffset(0), validChecksum())
            self.assertEqual(whole[20:], data)
            self.assertEqual((len(r), r.bytesHeld), (0, 0))

    def test_duplicate(self) -> None:
        """
        An exact duplicate is ignored.
        """
        r = Reassembler()
        pieces = fragments(self.HEADER + bytes(24), 16)
        self.assertEqual(self.feed(r, [pieces[0], pieces[0]]), [])
        self.assertEqual(r.counters["duplicates"], 1)
        self.assertEqual(len(self.feed(r, [pieces[1]])), 1)

    def test_overlapping(self) -> None:
        """
        An overlapping fragment abandons the whole datagram.
        """
        r = Reassembler()
        self.feed(r, [(0, True, bytes(16)), (8, False, bytes(16))])
        self.assertEqual(r.counters["overlapping"], 1)
        self.assertEqual((len(r), r.bytesHeld), (0, 0))
        self.assertEqual(self.feed(r, [(16, False, bytes(8))]), [])

    def test_oversized(self) -> None:
        """
        A fragment that would make the datagram exceed 65535 bytes is
        refused (the "ping of death").
        """
        r = Reassembler()
        self.feed(r, [(0, True, bytes(8)), (65528, False, bytes(16))])
        self.assertEqual(r.counters["oversized"], 1)
        self.assertEqual(len(r), 0)

    def test_inconsistent(self) -> None:
        """
        A non-last fragment whose length is not a multiple of 8, data past
        the end, or two different ends are refused.
        """
        for pieces in [[(0, True, bytes(12))],
                       [(8, False, bytes(8)), (16, True, bytes(8))],
                       [(8, False, bytes(16)), (0, False, bytes(16))]]:
            r = Reassembler()
            self.assertEqual(self.feed(r, pieces), [])
            self.assertEqual(r.counters["inconsistent"], 1)
            self.assertEqual((len(r), r.bytesHeld), (0, 0))

    def test_timeout(self) -> None:
        """
        Incomplete datagrams are abandoned at their deadline; the first
        fragment is returned for an ICMP time exceeded.
        """
        r = Reassembler(timeout=30)
        self.feed(r, [(0, True, b"A" * 8)], now=0)
        self.assertEqual(r.nextDeadline(), 30)
        self.assertEqual(r.expire(29.9), [])
        [first] = r.expire(30)
        self.assertEqual(first, self.HEADER + b"A" * 8)
        self.assertIsNone(r.nextDeadline())
        self.feed(r, [(8, False, b"B" * 8)], now=40)
        self.assertEqual(r.expire(70), [None])

    def test_bounds(self) -> None:
        """
        The count of datagrams, the bytes held and the fragments per
        datagram are bounded.
        """
        r = Reassembler(maxDatagrams=2, maxBytes=100, maxFragments=3)
        for ident in range(3):
            r.add((THEM, US, 17, ident), self.HEADER, 0, True, bytes(40), 0)
        self.assertEqual((len(r), r.bytesHeld, r.counters["tooMany"]), (2, 80, 1))
        r.add((THEM, US, 17, 0), self.HEADER, 40, True, bytes(40), 0)
        self.assertEqual((len(r), r.bytesHeld), (1, 40))
        r2 = Reassembler(maxFragments=3)
        for i in range(4):
            r2.add(self.KEY, self.HEADER, i * 8, True, bytes(8), 0)
        self.assertEqual((len(r2), r2.counters["tooManyFragments"]), (0, 1))


class IPv4LayerTests(SynchronousTestCase):
    """
    Tests for L{IPv4Layer} with hand-built frames.
    """

    def setUp(self) -> None:
        """
        A layer for 192.168.77.100/24 via .254, with the ARP cache knowing
        the peer and the gateway, a recording protocol 17, and ICMP.
        """
        self.clock = Clock()
        self.interface = NetworkInterface(MAC)
        self.arp = ARPLayer(self.clock, self.interface, announce=False)
        self.ip = IPv4Layer(self.clock, self.arp, US, 24, GATEWAY, mtu=1500)
        self.icmp = ICMPLayer(self.clock, self.ip)
        self.ip.registerProtocol(1, self.icmp)
        self.proto = RecordingProtocol()
        self.ip.registerProtocol(17, self.proto)
        self.arp.cache.update(THEM, PEER, 0)
        self.arp.cache.update(GATEWAY, GATEWAY_MAC, 0)
        self.transport = FakeFrameTransport()
        self.interface.makeConnection(self.transport)

    def receive(self, datagram: bytes) -> None:
        """
        Deliver a datagram in a frame from the peer.

        @param datagram: the datagram.
        """
        self.interface.frameReceived(MAC + PEER + b"\x08\x00" + datagram)

    def test_interface(self) -> None:
        """
        L{IPv4Layer} provides L{IIPv4Sender}.
        """
        self.assertTrue(verifyObject(IIPv4Sender, self.ip))

    def test_cork(self) -> None:
        """
        The layer's cork is its interface's: datagrams sent under it reach
        the wire together when it ends.
        """
        self.ip.cork()
        self.ip.sendPacket(17, US, THEM, b"one")
        self.ip.sendPacket(17, US, THEM, b"two")
        self.assertEqual(self.transport.frames, [])
        self.ip.uncork()
        self.assertEqual([frame[-3:] for frame in self.transport.frames], [b"one", b"two"])

    def sentBothWays(self, destination: bytes, payloads: List[bytes]) -> Tuple[list, list]:
        """
        Send C{payloads} with L{IPv4Layer.sendPackets}, then the same with
        L{IPv4Layer.sendPacket} one by one from the same identification.

        @param destination: where to.
        @param payloads: the datagrams' payloads.
        @return: the frames of each way.
        """
        start = self.ip._identification
        self.ip.sendPackets(17, US, destination, payloads)
        burst = self.transport.frames[:]
        del self.transport.frames[:]
        self.ip._identification = start
        for payload in payloads:
            self.ip.sendPacket(17, US, destination, payload)
        single = self.transport.frames[:]
        del self.transport.frames[:]
        return burst, single

    def test_sendPacketsAsSendPacket(self) -> None:
        """
        L{IPv4Layer.sendPackets} puts on the wire exactly the frames
        L{IPv4Layer.sendPacket} would, in order, on link and through the
        gateway, and counts them as sent; scapy reads valid checksums.
        """
        payloads = [b"a" * 1000, b"b", b"c" * 1480]
        for destination in (THEM, OUTSIDE):
            burst, single = self.sentBothWays(destination, payloads)
            self.assertEqual(burst, single)
            self.assertEqual(len(burst), 3)
        packet = scapy.Ether(burst[0])
        rebuilt = scapy.Ether(burst[0])
        del rebuilt[scapy.IP].chksum
        self.assertEqual(scapy.Ether(bytes(rebuilt))[scapy.IP].chksum,
                         packet[scapy.IP].chksum)
        self.assertEqual(self.ip.counters["sent"], 12)

    def test_sendPacketsFallsBack(self) -> None:
        """
        What the burst path does not handle goes through sendPacket, the
        order kept: a datagram over the MTU (fragmented) in the middle, a
        broadcast, an unresolved next hop (queued for ARP).
        """
        payloads = [b"a" * 100, b"b" * 3000, b"c" * 100]
        burst, single = self.sentBothWays(THEM, payloads)
        self.assertEqual(burst, single)
        self.assertEqual(len(burst), 5)  # the middle one in three fragments
        burst, single = self.sentBothWays(parseIPv4("192.168.77.255"), [b"x", b"y"])
        self.assertEqual(burst, single)
        self.assertEqual(burst[0][:6], b"\xff" * 6)
        unknown = parseIPv4("192.168.77.7")
        self.ip.sendPackets(17, US, unknown, [b"x", b"y"])
        [request] = self.transport.frames
        self.assertEqual(request[12:14], b"\x08\x06")

    def test_sendPacketsCorked(self) -> None:
        """
        Under the cork, a burst is held with the rest and goes when it
        ends.
        """
        self.ip.cork()
        self.ip.sendPackets(17, US, THEM, [b"one", b"two"])
        self.assertEqual(self.transport.frames, [])
        self.ip.uncork()
        self.assertEqual([frame[-3:] for frame in self.transport.frames], [b"one", b"two"])

    def test_deliver(self) -> None:
        """
        A datagram for us reaches its protocol; link padding is stripped.
        """
        datagram = ipv4Packet(THEM, US, 17, b"hello")
        self.receive(datagram + b"\0" * 10)
        self.assertEqual(self.proto.received, [(THEM, US, b"hello", datagram)])

    def test_counts(self) -> None:
        """
        Datagrams received, delivered and sent are counted, the same
        whenever the counters are read; the dropped ones are counted
        apart.
        """
        datagram = ipv4Packet(THEM, US, 17, b"hello")
        self.receive(datagram)
        self.receive(ipv4Packet(THEM, US, 99, b"nobody"))
        self.ip.sendPacket(17, US, THEM, b"out")
        self.assertEqual((self.ip.counters["received"], self.ip.counters["delivered"],
                          self.ip.counters["unknownProtocol"]), (2, 1, 1))
        self.receive(datagram)
        self.ip.sendPacket(17, US, THEM, b"out")
        self.assertEqual(
            {key: value for key, value in self.ip.allCounters().items()
             if key in ("received", "delivered", "sent")},
            {"received": 3, "delivered": 2, "sent": 3})

    def test_options(self) -> None:
        """
        Options are skipped: the payload starts after the IHL.
        """
        datagram = ipv4Packet(THEM, US, 17, b"hello", options=b"\x94\x04\x00\x00")
        self.receive(datagram)
        self.assertEqual(self.proto.received[0][2], b"hello")

    def test_badHeaders(self) -> None:
        """
        Wrong version, short IHL, bad total length, bad checksum and the
        reserved flag are all dropped and counted.
        """
        good = ipv4Packet(THEM, US, 17, b"hello")

        def fix(header: bytearray) -> bytes:
            header[10:12] = b"\0\0"
            total = sum(int.from_bytes(header[i:i + 2], "big") for i in range(0, 20, 2))
            while total >> 16:
                total = (total & 0xFFFF) + (total >> 16)
            header[10:12] = (~total & 0xFFFF).to_bytes(2, "big")
            return bytes(header)

        bad = []
        for index, value in [(0, 0x65), (0, 0x44), (2, 0), (6, 0x80)]:
            header = bytearray(good[:20])
            header[index] = value
            if index == 2:
                header[3] = 10
            bad.append(fix(header) + good[20:])
        bad.append(good[:10] + b"\0\0" + good[12:])
        bad.append(good[:2] + b"\x00\x40" + fix(bytearray(good[:20]))[4:] + good[20:])
        bad.append(good[:19])
        for datagram in bad:
            self.receive(datagram)
        self.assertEqual(self.proto.received, [])
        self.assertEqual(self.ip.counters["malformed"] + self.ip.counters["badChecksum"], 7)

    def test_notForUs(self) -> None:
        """
        Datagrams for other addresses and from martian sources are dropped;
        broadcasts are accepted.
        """
        self.receive(ipv4Packet(THEM, OUTSIDE, 17, b"x"))
        self.receive(ipv4Packet(parseIPv4("224.0.0.1"), US, 17, b"x"))
        self.receive(ipv4Packet(THEM, parseIPv4("192.168.77.255"), 17, b"b1"))
        self.receive(ipv4Packet(THEM, b"\xff" * 4, 17, b"b2"))
        self.assertEqual([p for _, _, p, _ in self.proto.received], [b"b1", b"b2"])
        self.assertEqual((self.ip.counters["notForUs"], self.ip.counters["martian"]), (1, 1))

    def test_routerMode(self) -> None:
        """
        In router mode datagrams for any unicast address are accepted, and
        any source may be used to send.
        """
        self.ip.router = True
        self.receive(ipv4Packet(THEM, OUTSIDE, 17, b"x"))
        self.assertEqual(self.proto.received[0][1], OUTSIDE)
        self.ip.sendPacket(17, OUTSIDE, THEM, b"reply")
        [frame] = self.transport.clear()
        checkFrame(frame, ethernet(dstMAC(PEER)), ipv4(srcAddr(OUTSIDE), dstAddr(THEM)))

    def test_badSource(self) -> None:
        """
        Outside router mode, a foreign source address is refused.
        """
        self.ip.sendPacket(17, OUTSIDE, THEM, b"x")
        self.assertEqual(self.transport.frames, [])
        self.assertEqual(self.ip.counters["badSource"], 1)

    def test_protocolUnreachable(self) -> None:
        """
        An unknown protocol gets an ICMP protocol unreachable quoting it.
        """
        datagram = ipv4Packet(THEM, US, 99, b"x" * 8)
        self.receive(datagram)
        [frame] = self.transport.clear()
        checkFrame(frame, ethernet(dstMAC(PEER)),
                   ipv4(srcAddr(US), dstAddr(THEM), validChecksum(),
                        icmp(icmpType(3), icmpCode(2), validChecksum())))
        self.assertEqual(frame[14 + 28:], datagram)

    def test_routing(self) -> None:
        """
        On-link destinations go to their own MAC, others to the gateway's;
        with no gateway they are dropped and counted.
        """
        self.ip.sendPacket(17, US, THEM, b"a")
        self.ip.sendPacket(17, US, OUTSIDE, b"b")
        first, second = self.transport.clear()
        checkFrame(first, ethernet(dstMAC(PEER)), ipv4(dstAddr(THEM)))
        checkFrame(second, ethernet(dstMAC(GATEWAY_MAC)), ipv4(dstAddr(OUTSIDE)))
        self.ip.gateway = None
        self.ip.sendPacket(17, US, OUTSIDE, b"c")
        self.assertEqual(self.transport.frames, [])
        self.assertEqual(self.ip.counters["noRoute"], 1)

    def test_broadcastAndMulticastSend(self) -> None:
        """
        Broadcasts go to ff:ff:ff:ff:ff:ff, multicast to its 01:00:5e MAC.
        """
        self.ip.sendPacket(17, US, b"\xff" * 4, b"a")
        self.ip.sendPacket(17, US, parseIPv4("224.1.2.3"), b"b")
        first, second = self.transport.clear()
        checkFrame(first, ethernet(dstMAC(b"\xff" * 6)))
        checkFrame(second, ethernet(dstMAC(bytes.fromhex("01005e010203"))))

    def test_fragmentation(self) -> None:
        """
        A datagram over the MTU leaves as fragments of at most the MTU,
        offsets multiples of 8, MF on all but the last; the same layer
        reassembles them.
        """
        data = bytes(range(256)) * 16
        self.ip.sendPacket(17, US, THEM, data)
        frames = self.transport.clear()
        self.assertEqual(len(frames), 3)
        for i, frame in enumerate(frames):
            self.assertLessEqual(len(frame) - 14, 1500)
            checkFrame(frame, ethernet(), ipv4(fragmentOffset(1480 * i),
                                               moreFragments(i < 2), validChecksum()))
        for frame in reversed(frames):
            self.receive(self._swap(frame))
        [(source, destination, received, _)] = self.proto.received
        self.assertEqual(received, data)

    def _swap(self, frame: bytes) -> bytes:
        """
        Turn one of our outgoing fragments into one the peer sent us: swap
        the addresses and fix the checksum.

        @param frame: our frame.
        @return: the datagram as if from the peer.
        """
        datagram = bytearray(frame[14:])
        datagram[12:20] = THEM + US
        datagram[10:12] = b"\0\0"
        from vdetwist.wire.checksum import internetChecksum
        datagram[10:12] = internetChecksum(datagram[:20]).to_bytes(2, "big")
        return bytes(datagram)

    def test_scapyFragments(self) -> None:
        """
        Fragments made by scapy (an independent implementation) reassemble.
        """
        if scapy is None:
            raise self.skipTest("scapy is not installed")
        pkt = scapy.IP(src="192.168.77.1", dst="192.168.77.100", proto=17, id=777) / (
            b"z" * 3000)
        for fragment in reversed(scapy.fragment(pkt, fragsize=1000)):
            self.receive(bytes(fragment))
        self.assertEqual(self.proto.received[0][2], b"z" * 3000)

    def test_reassemblyTimeout(self) -> None:
        """
        An incomplete datagram times out after 30 seconds, and an ICMP time
        exceeded (code 1) goes back when its first fragment had arrived.
        """
        self.receive(ipv4Packet(THEM, US, 17, b"A" * 8, moreFragments=True, identification=5))
        self.clock.advance(29)
        self.assertEqual(self.transport.frames, [])
        self.clock.advance(1)
        [frame] = self.transport.clear()
        checkFrame(frame, ethernet(), ipv4(dstAddr(THEM), icmp(icmpType(11), icmpCode(1))))
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_loopback(self) -> None:
        """
        A datagram to our own address is delivered locally on the next
        reactor turn, not sent.
        """
        self.ip.sendPacket(17, US, US, b"self")
        self.assertEqual(self.proto.received, [])
        self.clock.advance(0)
        self.assertEqual(self.proto.received[0][2], b"self")
        self.assertEqual(self.transport.frames, [])

    def test_tooBig(self) -> None:
        """
        A payload that cannot fit an IPv4 datagram is refused.
        """
        self.ip.sendPacket(17, US, THEM, bytes(65516))
        self.assertEqual(self.ip.counters["tooBig"], 1)

    def test_smallMTU(self) -> None:
        """
        MTUs below 68 are refused.
        """
        self.assertRaises(ValueError, IPv4Layer, self.clock, self.arp, US, 24, mtu=67)

    def test_payloadLengthChecker(self) -> None:
        """
        The checkers see the fragment payload lengths the MTU allows.
        """
        self.ip.mtu = 576
        self.ip.sendPacket(17, US, THEM, bytes(1000))
        first = self.transport.clear()[0]
        checkFrame(first, ethernet(), ipv4(payloadLength(552)))
