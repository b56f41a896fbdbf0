# -*- test-case-name: tests.stack.test_ipv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.ipv6}.
"""

import os
from typing import List, Tuple

from hypothesis import given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.stack.ipv6helpers import (
    MAC,
    OUTSIDE,
    PEER,
    PEER_MAC,
    ROUTER_LL,
    ROUTER_MAC,
    US,
    US_LL,
    Host,
    mac,
    text,
)
from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.stack.ipv6 import Reassembler
from vdetwist.wire.addr6 import parseIPv6
from vdetwist.wire.ipv6 import IPv6Repr


class Recorder:
    """
    An upper protocol that records what it receives.
    """

    def __init__(self) -> None:
        """
        Nothing yet.
        """
        self.received: List[Tuple[bytes, bytes, bytes, bytes]] = []

    def packetReceived(self, source: bytes, destination: bytes, payload: bytes,
                       packet: bytes) -> None:
        """
        Record one packet.

        @param source: the source.
        @param destination: the destination.
        @param payload: the upper-layer bytes.
        @param packet: the whole packet.
        """
        self.received.append((source, destination, bytes(payload), bytes(packet)))


HEADER = IPv6Repr(PEER, US, 17, 0).emit()


class ReassemblerTests(SynchronousTestCase):
    """
    Tests for the pure L{Reassembler}.
    """

    KEY = (PEER, US, 7)

    def feed(self, r: Reassembler, pieces: List[Tuple[int, bool, bytes]],
             now: float = 0) -> List[bytes]:
        """
        Add pieces (a fixed header only as the unfragmentable part).

        @param r: the reassembler.
        @param pieces: (offset, more, data).
        @param now: the time.
        @return: completed packets.
        """
        done = []
        for offset, more, data in pieces:
            whole = r.add(self.KEY, HEADER, 6, 17, offset, more, data, now, b"first")
            if whole is not None:
                done.append(whole)
        return done

    def test_orders(self) -> None:
        """
        Pieces in any order make the packet: the fixed header with the
        fragment's next header and the whole payload length.
        """
        data = os.urandom(3000)
        pieces = [(o, o + 1000 < 3000, data[o:o + 1000]) for o in range(0, 3000, 1000)]
        for order in (pieces, pieces[::-1], [pieces[1], pieces[0], pieces[2]]):
            r = Reassembler()
            [whole] = self.feed(r, order)
            self.assertEqual(whole, IPv6Repr(PEER, US, 17, 3000).emit(data))
            self.assertEqual((len(r), r.bytesHeld), (0, 0))

    def test_overlapAndDuplicate(self) -> None:
        """
        An exact duplicate is ignored; an overlap abandons the packet
        (RFC 5722).
        """
        r = Reassembler()
        self.feed(r, [(0, True, b"a" * 16), (0, True, b"a" * 16)])
        self.assertEqual(r.counters["duplicates"], 1)
        self.feed(r, [(8, True, b"b" * 16)])
        self.assertEqual((r.counters["overlapping"], len(r)), (1, 0))
        self.assertEqual(self.feed(r, [(16, False, b"c")]), [])

    def test_inconsistent(self) -> None:
        """
        Non-final pieces not a multiple of 8, pieces past the end, two
        different ends, and packets over 65535 bytes are refused.
        """
        r = Reassembler()
        self.feed(r, [(0, True, b"x" * 12)])
        self.feed(r, [(16, False, b"x" * 8), (24, True, b"x" * 8)])
        self.feed(r, [(8, False, b"x" * 8), (8, False, b"x" * 16)])
        self.assertEqual(r.counters["inconsistent"], 3)
        self.feed(r, [(65528, False, b"x" * 16)])
        self.assertEqual(r.counters["oversized"], 1)

    def test_bounds(self) -> None:
        """
        Packets, bytes and fragments per packet are bounded; time limits
        them too, reporting first fragments.
        """
        r = Reassembler(maxPackets=2, maxBytes=100, maxFragments=3, timeout=60)
        for n in range(5):
            r.add((PEER, US, n), HEADER, 6, 17, 8, True, b"x" * 8, 0)
        self.assertEqual((len(r), r.counters["tooMany"]), (2, 3))
        r.add((PEER, US, 0), HEADER, 6, 17, 16, True, b"x" * 96, 0)
        self.assertLessEqual(r.bytesHeld, 100)
        r = Reassembler(maxFragments=3)
        self.feed(r, [(8 * n, True, b"x" * 8) for n in range(1, 5)])
        self.assertEqual((r.counters["tooManyFragments"], len(r)), (1, 0))
        self.feed(r, [(0, True, b"y" * 8)], now=10)
        self.assertEqual(r.nextDeadline(), 70)
        self.assertEqual(r.expire(69), [])
        self.assertEqual(r.expire(70), [b"first"])
        self.assertEqual(r.counters["timedOut"], 1)


class IPv6LayerTests(SynchronousTestCase):
    """
    Tests for L{IPv6Layer} with packets built and read by scapy.
    """

    if scapy is None:
        skip = SKIP_REASON

    def setUp(self) -> None:
        """
        A host at US with a recorder for UDP (17).
        """
        self.host = Host()
        self.udp = Recorder()
        self.host.ip.registerProtocol(17, self.udp)

    def udpPacket(self, payload: bytes = b"hello", src: bytes = PEER,
                  dst: bytes = US) -> object:
        """
        A UDP packet from scapy.

        @param payload: the data.
        @param src: the source.
        @param dst: the destination.
        @return: the scapy IPv6 packet.
        """
        return scapy.IPv6(src=text(src), dst=text(dst)) / scapy.UDP(sport=5, dport=7) / payload

    def test_deliver(self) -> None:
        """
        A packet for us reaches its protocol with the UDP bytes; link
        padding is cut off.
        """
        packet = bytes(self.udpPacket())
        self.host.receive(packet + b"\0" * 6)
        [(source, destination, payload, whole)] = self.udp.received
        self.assertEqual((source, destination, payload, whole),
                         (PEER, US, packet[40:], packet))
        self.assertEqual(self.host.ip.counters["delivered"], 1)

    def test_counts(self) -> None:
        """
        Packets received, delivered and sent are counted, the same
        whenever the counters are read.
        """
        ip = self.host.ip
        packet = bytes(self.udpPacket())
        self.host.receive(packet)
        self.host.receive(bytes(self.udpPacket(dst=parseIPv6("fd00:77::99"))))
        ip.sendPacket(17, US, PEER, b"out")
        self.assertEqual((ip.counters["received"], ip.counters["delivered"],
                          ip.counters["notForUs"]), (2, 1, 1))
        self.host.receive(packet)
        ip.sendPacket(17, US, PEER, b"out")
        self.assertEqual(
            {key: value for key, value in ip.allCounters().items()
             if key in ("received", "delivered", "sent")},
            {"received": 3, "delivered": 2, "sent": 2})

    def test_filters(self) -> None:
        """
        Packets for other addresses, unjoined groups, tentative addresses,
        from multicast sources, and malformed ones are counted and dropped.
        """
        ip = self.host.ip
        self.host.receive(self.udpPacket(dst=parseIPv6("fd00:77::99")))
        self.host.receive(self.udpPacket(dst=parseIPv6("ff02::1234")))
        self.host.receive(self.udpPacket(src=parseIPv6("ff02::1")))
        self.host.receive(bytes(self.udpPacket())[:39])
        self.host.receive(b"\x45" + bytes(self.udpPacket())[1:])
        self.host.receive(bytes(self.udpPacket())[:-1])
        tentative = Host(dad=1)
        tentative.ip.registerProtocol(17, self.udp)
        tentative.receive(self.udpPacket())
        self.assertEqual(self.udp.received, [])
        self.assertEqual((ip.counters["notForUs"], ip.counters["martian"],
                          ip.counters["malformed"], tentative.ip.counters["notForUs"]),
                         (2, 1, 3, 1))
        # All-nodes is joined.
        self.host.receive(self.udpPacket(dst=parseIPv6("ff02::1")))
        self.assertEqual(len(self.udp.received), 1)

    def test_extensionHeaders(self) -> None:
        """
        Hop-by-hop and destination options with padding and router alert
        are walked over; the payload handed up is the UDP part.
        """
        packet = (scapy.IPv6(src=text(PEER), dst=text(US))
                  / scapy.IPv6ExtHdrHopByHop(options=[scapy.RouterAlert()])
                  / scapy.IPv6ExtHdrDestOpt()
                  / scapy.UDP(sport=5, dport=7) / b"x")
        self.host.receive(packet)
        [(_, _, payload, _)] = self.udp.received
        self.assertEqual(payload, bytes(packet[scapy.UDP]))

    def test_longChain(self) -> None:
        """
        A chain of 100 destination options headers is refused cheaply and
        counted.
        """
        packet = scapy.IPv6(src=text(PEER), dst=text(US))
        for _ in range(100):
            packet = packet / scapy.IPv6ExtHdrDestOpt()
        self.host.receive(packet / scapy.UDP() / b"x")
        self.assertEqual(self.udp.received, [])
        self.assertEqual(self.host.ip.counters["badExtensionHeaders"], 1)

    def test_unknownNextHeader(self) -> None:
        """
        An unknown next header gets a parameter problem (code 1) pointing
        at the next-header byte that named it.
        """
        self.host.nd.cache.learn(PEER, PEER_MAC, 0)
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US), nh=200) / b"12345678")
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US)) / scapy.IPv6ExtHdrDestOpt(nh=201)
                          / b"12345678")
        first, second = [self.resolved(p) for p in self.host.sent()]
        self.assertEqual((first.type, first.code, first.ptr), (4, 1, 6))
        self.assertEqual((second.type, second.code, second.ptr), (4, 1, 40))
        self.assertEqual(self.host.ip.counters["unknownNextHeader"], 2)
        # Not for multicast destinations, and nothing for "no next header".
        self.host.receive(scapy.IPv6(src=text(PEER), dst="ff02::1", nh=200) / b"12345678")
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US), nh=59) / b"12345678")
        self.assertEqual(self.host.sent(), [])

    def resolved(self, frame: object) -> object:
        """
        The ICMPv6 layer of a frame we sent, after answering the NS it
        may be (we resolve PEER first).

        @param frame: a scapy Ether packet.
        @return: the ICMPv6 layer.
        """
        if scapy.ICMPv6ND_NS in frame:  # type: ignore[operator]
            self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US), hlim=255)
                              / scapy.ICMPv6ND_NA(tgt=text(PEER), S=1, O=1)
                              / scapy.ICMPv6NDOptDstLLAddr(lladdr=mac(PEER_MAC)))
            [frame] = self.host.sent()
        self.assertEqual(frame.dst, mac(PEER_MAC))  # type: ignore[attr-defined]
        return frame.getlayer(2)  # type: ignore[attr-defined]

    def test_unknownOption(self) -> None:
        """
        An unknown option whose type asks for it gets a parameter problem
        (code 2) pointing at it; one marked "skip" is skipped.
        """
        skip = scapy.HBHOptUnknown(otype=0x1E, optdata=b"ab")
        error = scapy.HBHOptUnknown(otype=0x9E, optdata=b"ab")
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                          / scapy.IPv6ExtHdrDestOpt(options=[skip]) / scapy.UDP() / b"x")
        self.assertEqual(len(self.udp.received), 1)
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                          / scapy.IPv6ExtHdrDestOpt(options=[error]) / scapy.UDP() / b"x")
        [frame] = self.host.sent()
        problem = self.resolved(frame)
        self.assertEqual((problem.type, problem.code, problem.ptr), (4, 2, 42))
        self.assertEqual(len(self.udp.received), 1)

    def test_routingHeader(self) -> None:
        """
        A routing header with segments left gets a parameter problem
        pointing at its routing type; with none left it is skipped.
        """
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                          / scapy.IPv6ExtHdrRouting(addresses=["fd00::1"], segleft=0)
                          / scapy.UDP() / b"x")
        self.assertEqual(len(self.udp.received), 1)
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                          / scapy.IPv6ExtHdrRouting(addresses=["fd00::1"], segleft=1)
                          / scapy.UDP() / b"x")
        problem = self.resolved(self.host.sent()[0])
        self.assertEqual((problem.type, problem.code, problem.ptr), (4, 0, 42))

    def test_fragments(self) -> None:
        """
        Fragments made by scapy are reassembled, in any order, and
        delivered once.
        """
        packet = (scapy.IPv6(src=text(PEER), dst=text(US)) / scapy.IPv6ExtHdrFragment(id=9)
                  / scapy.UDP(sport=5, dport=7) / os.urandom(3000))
        fragments = scapy.fragment6(packet, 1280)
        self.assertEqual(len(fragments), 3)
        for fragment in reversed(fragments):
            self.host.receive(fragment)
        [(_, _, payload, whole)] = self.udp.received
        self.assertEqual(payload, bytes(packet[scapy.UDP]))
        self.assertEqual(whole[6], 17)
        self.assertEqual(self.host.ip.allCounters()["reassembly.reassembled"], 1)

    def test_atomicFragment(self) -> None:
        """
        An atomic fragment (offset 0, no more) is delivered at once.
        """
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                          / scapy.IPv6ExtHdrFragment(id=1, m=0, offset=0, nh=17)
                          / scapy.UDP() / b"x")
        self.assertEqual(len(self.udp.received), 1)
        self.assertEqual(self.host.ip.counters["atomicFragments"], 1)

    def test_fragmentChecks(self) -> None:
        """
        A non-final fragment whose length is not a multiple of 8 gets a
        parameter problem at the payload length; an incomplete packet
        times out with a time exceeded quoting its first fragment; tiny
        overlapping fragments are dropped.
        """
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                          / scapy.IPv6ExtHdrFragment(id=2, m=1, nh=17) / (b"x" * 13))
        problem = self.resolved(self.host.sent()[0])
        self.assertEqual((problem.type, problem.code, problem.ptr), (4, 0, 4))
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                          / scapy.IPv6ExtHdrFragment(id=3, m=1, nh=17) / (b"x" * 16))
        self.host.clock.advance(60)
        [frame] = self.host.sent()
        self.assertEqual((frame[scapy.ICMPv6TimeExceeded].code), 1)
        self.assertEqual(frame[scapy.IPerror6].dst, text(US))
        for offset in (0, 1, 0):
            self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                              / scapy.IPv6ExtHdrFragment(id=4, m=1, offset=offset, nh=17)
                              / (b"y" * 16))
        self.assertEqual(self.host.ip.reassembler.counters["overlapping"], 1)
        self.assertEqual(self.udp.received, [])

    def test_send(self) -> None:
        """
        Sending on-link resolves the neighbor by ND and sends the packet
        with our hop limit; scapy reads it.
        """
        self.host.ip.sendPacket(17, US, PEER, bytes(scapy.UDP(sport=1, dport=2) / b"hi"))
        [ns] = self.host.sent()
        self.assertEqual(ns[scapy.ICMPv6ND_NS].tgt, text(PEER))
        frame = self.resolved(ns).underlayer.underlayer  # type: ignore[attr-defined]
        self.assertEqual(frame.type, 0x86DD)
        ip = frame[scapy.IPv6]
        self.assertEqual((ip.src, ip.dst, ip.hlim, ip.nh), (text(US), text(PEER), 64, 17))
        self.assertEqual(ip[scapy.UDP].load, b"hi")

    def sentBothWays(self, payloads: list) -> tuple:
        """
        Send C{payloads} to PEER (resolved) with L{IPv6Layer.sendPackets},
        then one by one with L{IPv6Layer.sendPacket}.

        @param payloads: the packets' payloads.
        @return: the frames of each way.
        """
        ip = self.host.ip
        ip.sendPackets(17, US, PEER, payloads)
        burst = self.host.transport.frames[:]
        self.host.transport.clear()
        for payload in payloads:
            ip.sendPacket(17, US, PEER, payload)
        single = self.host.transport.frames[:]
        self.host.transport.clear()
        return burst, single

    def test_sendPacketsAsSendPacket(self) -> None:
        """
        L{IPv6Layer.sendPackets} puts on the wire the frames
        L{IPv6Layer.sendPacket} would, in order; a packet over the MTU in
        the middle is fragmented (through sendPacket) in its place.
        """
        self.host.ip.sendPacket(17, US, PEER, b"resolve")
        [ns] = self.host.sent()
        self.resolved(ns)
        self.host.transport.clear()
        burst, single = self.sentBothWays([b"a" * 1000, b"b", b"c" * 1400])
        self.assertEqual(burst, single)
        self.assertEqual(len(burst), 3)
        burst, single = self.sentBothWays([b"a" * 10, b"b" * 3000, b"c" * 10])
        self.assertEqual([frame[:54] for frame in burst], [frame[:54] for frame in single])
        self.assertEqual(len(burst), 5)
        self.assertEqual(burst[-1][-10:], b"c" * 10)

    def test_sendPacketsResolves(self) -> None:
        """
        A burst to a neighbor not yet resolved waits for the resolution,
        all of it, and goes in order once it is.
        """
        self.host.ip.sendPackets(17, US, PEER, [b"one", b"two", b"six"])
        [ns] = self.host.sent()
        self.assertIn(scapy.ICMPv6ND_NS, ns)
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US), hlim=255)
                          / scapy.ICMPv6ND_NA(tgt=text(PEER), S=1, O=1)
                          / scapy.ICMPv6NDOptDstLLAddr(lladdr=mac(PEER_MAC)))
        self.assertEqual([frame[-3:] for frame in self.host.transport.frames][-3:],
                         [b"one", b"two", b"six"])

    def test_cork(self) -> None:
        """
        The layer's cork is its interface's: packets sent under it reach
        the wire together when it ends.
        """
        self.host.ip.sendPacket(17, US, PEER, b"resolve")
        [ns] = self.host.sent()
        self.resolved(ns)
        self.host.transport.clear()
        self.host.ip.cork()
        self.host.ip.sendPacket(17, US, PEER, b"one")
        self.host.ip.sendPacket(17, US, PEER, b"two")
        self.assertEqual(self.host.transport.frames, [])
        self.host.ip.uncork()
        self.assertEqual([frame[-3:] for frame in self.host.transport.frames],
                         [b"one", b"two"])

    def test_sendOffLink(self) -> None:
        """
        Off-link destinations go to the default router; without one they
        are counted as unroutable.
        """
        self.host.ip.sendPacket(17, US, OUTSIDE, b"x" * 8)
        self.assertEqual(self.host.ip.counters["noRoute"], 1)
        self.host.nd.setDefaultRouter(ROUTER_LL)
        self.host.nd.cache.learn(ROUTER_LL, ROUTER_MAC, 0)
        self.host.ip.sendPacket(17, US, OUTSIDE, b"x" * 8)
        [frame] = self.host.sent()
        self.assertEqual((frame.dst, frame[scapy.IPv6].dst), (mac(ROUTER_MAC), text(OUTSIDE)))

    def test_sendMulticastAndBadSource(self) -> None:
        """
        Multicast goes to the 33:33 MAC at once; a source that is not ours
        is refused.
        """
        self.host.ip.sendPacket(17, US_LL, parseIPv6("ff02::1"), b"x" * 8)
        [frame] = self.host.sent()
        self.assertEqual(frame.dst, "33:33:00:00:00:01")
        self.host.ip.sendPacket(17, PEER, parseIPv6("ff02::1"), b"x")
        self.assertEqual(self.host.ip.counters["badSource"], 1)

    def test_fragmentOnSend(self) -> None:
        """
        A payload over the MTU is sent in fragments that scapy reassembles;
        a learnt path MTU makes them smaller.
        """
        self.host.nd.cache.learn(PEER, PEER_MAC, 0)
        data = bytes(scapy.UDP(sport=1, dport=2) / os.urandom(4000))
        self.host.ip.sendPacket(17, US, PEER, data)
        frames = self.host.sent()
        # 4008 bytes in steps of (1500 - 40 - 8) & ~7 = 1448: 1448, 1448, 1112.
        self.assertEqual([len(f) - 14 for f in frames], [1496, 1496, 1160])
        whole = scapy.IPv6(bytes(scapy.defragment6([f[scapy.IPv6] for f in frames])))
        self.assertEqual(bytes(whole[scapy.UDP]), data)
        self.host.ip.updatePathMTU(PEER, 1300)
        self.host.ip.sendPacket(17, US, PEER, data)
        self.assertTrue(all(len(f) - 14 <= 1300 for f in self.host.sent()))
        self.assertEqual(self.host.ip.pathMTU(PEER), 1300)
        self.host.clock.advance(600)
        self.assertEqual(self.host.ip.pathMTU(PEER), 1500)

    def test_loopback(self) -> None:
        """
        A packet to ourselves is delivered on a later turn.
        """
        self.host.ip.sendPacket(17, US, US, b"x" * 8)
        self.assertEqual(self.udp.received, [])
        self.host.clock.advance(0)
        self.assertEqual(self.udp.received[0][:3], (US, US, b"x" * 8))

    def test_sourceSelection(self) -> None:
        """
        Link-local and link-scope multicast destinations get the link-local
        source; others the global one.
        """
        ip = self.host.ip
        self.assertEqual(ip.sourceFor(ROUTER_LL), US_LL)
        self.assertEqual(ip.sourceFor(parseIPv6("ff02::1")), US_LL)
        self.assertEqual(ip.sourceFor(OUTSIDE), US)
        self.assertEqual(ip.sourceFor(PEER), US)
        self.assertEqual(Host(dad=1).ip.sourceFor(PEER), bytes(16))

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=200))
    def test_arbitraryPackets(self, data: bytes) -> None:
        """
        Random bytes after a valid fixed header to us never raise out of
        the layer, whatever next header they claim.
        """
        for nextHeader in (0, 43, 44, 60, 58, 17, 99):
            self.host.receive(IPv6Repr(PEER, US, nextHeader, len(data), 255).emit(data))
        self.assertNotEqual(MAC, PEER_MAC)
