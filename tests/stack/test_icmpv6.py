# -*- test-case-name: tests.stack.test_icmpv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.icmpv6}.
"""

from typing import List

from twisted.internet.error import TimeoutError
from twisted.trial.unittest import SynchronousTestCase

from tests.stack.ipv6helpers import PEER, PEER_MAC, US, US_LL, Host, mac, text
from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.stack.icmpv6 import quotedUpperLayer
from vdetwist.testing import MemoryWire
from vdetwist.wire.addr6 import parseIPv6
from vdetwist.wire.ipv6 import IPv6Repr


class ICMPv6LayerTests(SynchronousTestCase):
    """
    Tests for L{ICMPv6Layer} with packets built and read by scapy.
    """

    if scapy is None:
        skip = SKIP_REASON

    def setUp(self) -> None:
        """
        A host at US that knows PEER's MAC.
        """
        self.host = Host()
        self.host.nd.cache.learn(PEER, PEER_MAC, 0)

    def test_echo(self) -> None:
        """
        An echo request is answered with the same identifier, sequence and
        data, a checksum scapy agrees with, from the address pinged.
        """
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                          / scapy.ICMPv6EchoRequest(id=77, seq=3, data=b"ping6"))
        [frame] = self.host.sent()
        self.assertEqual(frame.dst, mac(PEER_MAC))
        reply = frame[scapy.ICMPv6EchoReply]
        self.assertEqual((frame[scapy.IPv6].src, frame[scapy.IPv6].dst), (text(US), text(PEER)))
        self.assertEqual((reply.id, reply.seq, reply.data), (77, 3, b"ping6"))
        checksum = reply.cksum
        rebuilt = scapy.IPv6(bytes(frame[scapy.IPv6]))
        del rebuilt[scapy.ICMPv6EchoReply].cksum
        self.assertEqual(scapy.IPv6(bytes(rebuilt))[scapy.ICMPv6EchoReply].cksum, checksum)
        self.assertEqual(self.host.icmp.counters["echoRequests"], 1)

    def test_multicastEcho(self) -> None:
        """
        An echo request to all-nodes is answered from our link-local
        address for a link-local asker.
        """
        self.host.nd.cache.learn(parseIPv6("fe80::2"), PEER_MAC, 0)
        self.host.receive(scapy.IPv6(src="fe80::2", dst="ff02::1")
                          / scapy.ICMPv6EchoRequest(id=1, seq=1))
        [frame] = self.host.sent()
        self.assertEqual(frame[scapy.IPv6].src, text(US_LL))
        self.host.icmp.answerMulticastEcho = False
        self.host.receive(scapy.IPv6(src="fe80::2", dst="ff02::1")
                          / scapy.ICMPv6EchoRequest(id=1, seq=2))
        self.assertEqual(self.host.sent(), [])

    def test_badChecksum(self) -> None:
        """
        A message with a wrong checksum (here: checksummed for another
        destination) is counted and dropped.
        """
        message = bytes(scapy.IPv6(src=text(PEER), dst="fd00:77::99")
                        / scapy.ICMPv6EchoRequest())[40:]
        self.host.receive(IPv6Repr(PEER, US, 58, len(message)).emit(message))
        self.host.receive(IPv6Repr(PEER, US, 58, 3).emit(b"abc"))
        self.assertEqual(self.host.sent(), [])
        self.assertEqual((self.host.icmp.counters["badChecksum"],
                          self.host.icmp.counters["malformed"]), (1, 1))

    def test_errorsRateLimited(self) -> None:
        """
        Errors beyond the burst are dropped until tokens come back.
        """
        host = Host()
        host.icmp._bucket.burst = host.icmp._bucket._tokens = 2
        host.icmp._bucket.rate = 1
        host.nd.cache.learn(PEER, PEER_MAC, 0)
        for _ in range(5):
            host.receive(scapy.IPv6(src=text(PEER), dst=text(US), nh=200) / (b"x" * 8))
        self.assertEqual(len(host.sent()), 2)
        self.assertEqual(host.icmp.counters["errorsRateLimited"], 3)
        host.clock.advance(1)
        host.receive(scapy.IPv6(src=text(PEER), dst=text(US), nh=200) / (b"x" * 8))
        self.assertEqual(len(host.sent()), 1)

    def test_noErrorAboutErrors(self) -> None:
        """
        No error is sent about an ICMPv6 error, nor about a packet from a
        multicast or unspecified source.
        """
        quoted = bytes(scapy.IPv6(src=text(US), dst=text(PEER)) / scapy.UDP())
        error = bytes(scapy.IPv6(src=text(PEER), dst=text(US))
                      / scapy.ICMPv6DestUnreach(code=4) / quoted)
        self.host.icmp.sendError(4, 0, 0, error)
        self.host.icmp.sendError(1, 4, 0, bytes(scapy.IPv6(src="::", dst=text(US)) / scapy.UDP()))
        self.assertEqual(self.host.sent(), [])
        self.assertEqual(self.host.icmp.counters["errorsSuppressed"], 2)

    def test_errorDelivered(self) -> None:
        """
        A received error reaches the handler of the quoted packet's
        protocol, past its extension headers; a packet too big sets the
        path MTU.
        """
        seen: List[tuple] = []
        self.host.icmp.registerErrorHandler(17, lambda *a: seen.append(a))
        quoted = bytes(scapy.IPv6(src=text(US), dst=text(PEER)) / scapy.IPv6ExtHdrDestOpt()
                       / scapy.UDP(sport=1, dport=2))
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                          / scapy.ICMPv6DestUnreach(code=4) / quoted)
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                          / scapy.ICMPv6PacketTooBig(mtu=1400) / quoted)
        self.assertEqual([(s, t, c, r, q) for s, t, c, r, q in seen],
                         [(PEER, 1, 4, 0, quoted), (PEER, 2, 0, 1400, quoted)])
        self.assertEqual(self.host.ip.pathMTU(PEER), 1400)
        self.assertEqual(quotedUpperLayer(quoted), (17, 48))
        self.assertEqual(quotedUpperLayer(quoted[:44]), (None, 0))

    def test_unreachable(self) -> None:
        """
        L{ICMPv6Layer.sendUnreachable} quotes the packet, from the address
        it was sent to.
        """
        packet = bytes(scapy.IPv6(src=text(PEER), dst=text(US)) / scapy.UDP(dport=9) / b"q")
        self.host.icmp.sendUnreachable(4, packet)
        [frame] = self.host.sent()
        self.assertEqual(frame[scapy.ICMPv6DestUnreach].code, 4)
        self.assertEqual(frame[scapy.IPv6].src, text(US))
        self.assertEqual(frame[scapy.UDPerror].dport, 9)

    def test_localError(self) -> None:
        """
        L{ICMPv6Layer.deliverLocalError} tells the sending protocol.
        """
        seen: List[tuple] = []
        self.host.icmp.registerErrorHandler(17, lambda *a: seen.append(a))
        packet = bytes(scapy.IPv6(src=text(US), dst=text(PEER)) / scapy.UDP())
        self.host.icmp.deliverLocalError(1, 3, packet)
        self.assertEqual(seen, [(US, 1, 3, 0, packet)])

    def test_ping(self) -> None:
        """
        L{ICMPv6Layer.ping} fires with the round-trip time when the reply
        comes, or fails after the timeout.
        """
        results: List[object] = []
        self.host.icmp.ping(PEER, b"data", sequence=5).addBoth(results.append)
        [frame] = self.host.sent()
        request = frame[scapy.ICMPv6EchoRequest]
        self.assertEqual((request.seq, request.data), (5, b"data"))
        self.host.clock.advance(0.25)
        self.host.receive(scapy.IPv6(src=text(PEER), dst=text(US))
                          / scapy.ICMPv6EchoReply(id=request.id, seq=5, data=b"data"))
        self.assertEqual(results, [0.25])
        self.host.icmp.ping(PEER, timeout=2).addBoth(results.append)
        self.host.clock.advance(2)
        self.assertIsInstance(results[1].value, TimeoutError)  # type: ignore[attr-defined]


class TwoHostsTests(SynchronousTestCase):
    """
    Two IPv6 hosts on a L{MemoryWire}: DAD, ND and ping6 between them.
    """

    def test_ping(self) -> None:
        """
        After DAD, one host pings the other through neighbor resolution.
        """
        wire = MemoryWire()
        a = Host(static=US, dad=1, attach=False)
        b = Host(static=PEER, dad=1, attach=False, clock=a.clock, hardware=PEER_MAC,
                 linkLocal=False)
        for host in (a, b):
            wire.attach(host.interface)
        wire.pump()
        a.clock.advance(1)
        self.assertEqual((a.nd.assigned, b.nd.assigned), ({US, US_LL}, {PEER}))
        results: List[object] = []
        a.icmp.ping(PEER).addCallback(results.append)
        wire.pump()
        self.assertEqual(results, [0.0])
        self.assertEqual(a.nd.cache.lookup(PEER), PEER_MAC)
        self.assertEqual(b.icmp.counters["echoRequests"], 1)
