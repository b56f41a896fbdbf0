# -*- test-case-name: tests.stack.test_icmp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.icmp}.
"""

from typing import List

from twisted.internet.error import TimeoutError
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from vdetwist.interfaces import IIPv4Protocol
from vdetwist.stack.icmp import ICMPLayer, TokenBucket
from vdetwist.testing import (
    FakeIPv4Sender,
    checkIPv4,
    echoIdentifier,
    echoSequence,
    icmp,
    icmpCode,
    icmpType,
    ipv4Packet,
    payload,
    validChecksum,
)
from vdetwist.wire.addr import parseIPv4
from vdetwist.wire.icmp import ICMPRepr

US = parseIPv4("192.168.77.100")
THEM = parseIPv4("192.168.77.1")


def asDatagram(sent: tuple) -> bytes:
    """
    Turn a L{FakeIPv4Sender} record into a datagram for the checkers.

    @param sent: (protocol, source, destination, payload).
    @return: the datagram.
    """
    protocol, source, destination, data = sent
    return ipv4Packet(source, destination, protocol, data)


class TokenBucketTests(SynchronousTestCase):
    """
    Tests for L{TokenBucket}.
    """

    def test_bucket(self) -> None:
        """
        A full bucket allows a burst, then the rate.
        """
        bucket = TokenBucket(rate=2, burst=3)
        self.assertEqual([bucket.take(0) for _ in range(4)], [True, True, True, False])
        self.assertFalse(bucket.take(0.4))
        self.assertTrue(bucket.take(0.5))
        self.assertFalse(bucket.take(0.5))
        self.assertEqual(sum(bucket.take(100) for _ in range(10)), 3)


class ICMPLayerTests(SynchronousTestCase):
    """
    Tests for L{ICMPLayer} over a L{FakeIPv4Sender}.
    """

    def setUp(self) -> None:
        """
        An ICMP layer on a fake sender, with a fake clock.
        """
        self.clock = Clock()
        self.ip = FakeIPv4Sender(US)
        self.icmp = ICMPLayer(self.clock, self.ip, errorRate=1, errorBurst=2)

    def deliver(self, message: bytes, destination: bytes = US) -> None:
        """
        Deliver an ICMP message from THEM.

        @param message: the ICMP bytes.
        @param destination: where it was sent.
        """
        self.icmp.packetReceived(THEM, destination, message,
                                 ipv4Packet(THEM, destination, 1, message))

    def test_interface(self) -> None:
        """
        L{ICMPLayer} provides L{IIPv4Protocol}.
        """
        self.assertTrue(verifyObject(IIPv4Protocol, self.icmp))

    def test_echo(self) -> None:
        """
        An echo request gets a reply with the same identifier, sequence
        and data.
        """
        self.deliver(ICMPRepr.echoRequest(7, 9, b"data" * 100).emit())
        [sent] = self.ip.clear()
        self.assertEqual(sent[1:3], (US, THEM))
        checkIPv4(asDatagram(sent), icmp(icmpType(0), echoIdentifier(7), echoSequence(9),
                                         payload(b"data" * 100), validChecksum()))

    def test_broadcastEcho(self) -> None:
        """
        Echo requests to a broadcast are ignored unless enabled; then the
        reply comes from our address.
        """
        request = ICMPRepr.echoRequest(1, 1, b"x").emit()
        self.deliver(request, b"\xff" * 4)
        self.assertEqual(self.ip.sent, [])
        self.icmp.answerBroadcastEcho = True
        self.deliver(request, b"\xff" * 4)
        self.assertEqual(self.ip.clear()[0][1], US)

    def test_badMessages(self) -> None:
        """
        Short messages and bad checksums are counted and dropped.
        """
        self.deliver(b"\x08\x00\x00")
        good = ICMPRepr.echoRequest(1, 1, b"x").emit()
        self.deliver(good[:2] + b"\0\0" + good[4:])
        self.assertEqual(self.ip.sent, [])
        self.assertEqual((self.icmp.counters["malformed"], self.icmp.counters["badChecksum"]),
                         (1, 1))

    def test_unreachable(self) -> None:
        """
        A port unreachable goes back to the offender's source, from the
        address it was sent to, quoting it.
        """
        offending = ipv4Packet(THEM, US, 17, b"\x00\x01\x00\x02\x00\x0c\x00\x00data")
        self.icmp.sendUnreachable(3, offending)
        [sent] = self.ip.clear()
        self.assertEqual(sent[1:3], (US, THEM))
        checkIPv4(asDatagram(sent), icmp(icmpType(3), icmpCode(3), payload(offending),
                                         validChecksum()))

    def test_errorRules(self) -> None:
        """
        No errors about ICMP errors, non-first fragments, or datagrams from
        broadcast, multicast or zero sources (RFC 1122 3.2.2).
        """
        error = ICMPRepr.destinationUnreachable(3, ipv4Packet(US, THEM, 17, bytes(8))).emit()
        for offending in [
            ipv4Packet(THEM, US, 1, error),
            ipv4Packet(THEM, US, 17, bytes(16), fragmentOffset=8),
            ipv4Packet(b"\xff" * 4, US, 17, bytes(8)),
            ipv4Packet(parseIPv4("224.0.0.9"), US, 17, bytes(8)),
            ipv4Packet(b"\0" * 4, US, 17, bytes(8)),
        ]:
            self.icmp.sendUnreachable(3, offending)
        self.assertEqual(self.ip.sent, [])
        self.assertEqual(self.icmp.counters["errorsSuppressed"], 5)
        echo = ICMPRepr.echoRequest(1, 1).emit()
        self.icmp.sendUnreachable(2, ipv4Packet(THEM, US, 1, echo))
        self.assertEqual(len(self.ip.clear()), 1)

    def test_rateLimit(self) -> None:
        """
        Errors beyond the burst wait for the rate.
        """
        offending = ipv4Packet(THEM, US, 17, bytes(8))
        for _ in range(5):
            self.icmp.sendUnreachable(3, offending)
        self.assertEqual(len(self.ip.clear()), 2)
        self.assertEqual(self.icmp.counters["errorsRateLimited"], 3)
        self.clock.advance(1)
        self.icmp.sendUnreachable(3, offending)
        self.assertEqual(len(self.ip.clear()), 1)

    def test_errorDelivery(self) -> None:
        """
        Received errors reach the handler registered for the quoted
        datagram's protocol, with the reporter, type, code, rest of header
        and quote.
        """
        calls: List[tuple] = []
        self.icmp.registerErrorHandler(6, lambda *a: calls.append(a))
        quoted = ipv4Packet(US, THEM, 6, bytes(20))
        self.deliver(ICMPRepr.destinationUnreachable(4, quoted, 1400).emit())
        self.deliver(ICMPRepr.destinationUnreachable(3, ipv4Packet(US, THEM, 17, bytes(8)))
                     .emit())
        self.assertEqual(calls, [(THEM, 3, 4, 1400, quoted)])
        self.deliver(ICMPRepr(3, 3, 0, bytes(10)).emit())
        self.assertEqual(self.icmp.counters["malformed"], 1)

    def test_ping(self) -> None:
        """
        C{ping} sends an echo request and fires with the round-trip time
        when the reply comes.
        """
        results: List[object] = []
        self.icmp.ping(THEM, b"hi", sequence=3, identifier=77).addCallback(results.append)
        [sent] = self.ip.clear()
        checkIPv4(asDatagram(sent), icmp(icmpType(8), echoIdentifier(77), echoSequence(3)))
        self.clock.advance(0.25)
        replies: List[tuple] = []
        self.icmp.echoReplyReceived = lambda *a: replies.append(a)
        self.deliver(ICMPRepr.echoReply(77, 3, b"hi").emit())
        self.assertEqual(results, [0.25])
        self.assertEqual(replies, [(THEM, 77, 3, b"hi")])
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_pingTimeout(self) -> None:
        """
        Without a reply, C{ping} fails with L{TimeoutError}.
        """
        d = self.icmp.ping(THEM, timeout=2)
        self.clock.advance(2)
        self.failureResultOf(d, TimeoutError)

    def test_pingCancel(self) -> None:
        """
        Cancelling a ping stops its timer.
        """
        d = self.icmp.ping(THEM)
        d.cancel()
        self.failureResultOf(d)
        self.assertEqual(self.clock.getDelayedCalls(), [])
