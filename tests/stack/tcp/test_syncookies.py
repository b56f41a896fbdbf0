# -*- test-case-name: tests.stack.tcp.test_syncookies -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.tcp.syncookies} (the cookie codec, exact values
for a fixed secret and time) and for the SYN cookie path of
L{vdetwist.stack.tcp.demux.TCPLayer} (a SYN meeting a full SYN queue gets
a cookie SYN-ACK; the peer's ACK completes the connection; a forged ACK is
refused and counted).
"""

import hashlib
import struct

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from tests.stack.tcp.fakes import RecordingIPv4
from tests.stack.tcp.test_demux import THEM, US, LayerTestsMixin, RecorderFactory
from vdetwist.stack.tcp.demux import TCPLayer
from vdetwist.stack.tcp.machine import ESTABLISHED, TCPConfig
from vdetwist.stack.tcp.syncookies import (
    MSS_TABLE,
    SYNCookies,
    cookieTimestamp,
    decodeTimestamp,
)
from vdetwist.wire.tcp import ACK, FIN, PSH, RST, SYN, TCPSegment

SECRET = bytes(range(32))


def linuxHash(source: bytes, destination: bytes, sourcePort: int, destinationPort: int,
              count: int, which: int) -> int:
    """
    The keyed hash as the codec documents it, written out independently.
    """
    return int.from_bytes(hashlib.blake2b(
        source + destination + struct.pack("!HHIB", sourcePort, destinationPort, count, which),
        key=SECRET, digest_size=4).digest(), "big")


class CodecTests(SynchronousTestCase):
    """
    Making and checking cookies, exact values for a fixed secret and time.
    """

    def setUp(self) -> None:
        """
        A codec with a fixed secret.
        """
        self.cookies = SYNCookies(SECRET)

    def test_exactValues(self) -> None:
        """
        For a fixed secret and time (t = 600 s: counter 10) the cookie is
        Linux's formula: hash0 + their ISN + (count << 24) + ((hash1 +
        mssIndex) mod 2**24), mod 2**32.  Known values, and the formula
        spelled out.
        """
        self.assertEqual(self.cookies.make(THEM, US, 40000, 80, 7000, 1460, 600.0),
                         (2576532035, 1460))
        self.assertEqual(self.cookies.make(THEM, US, 40000, 80, 7000, 1400, 600.0),
                         (2576532033, 1300))
        self.assertEqual(self.cookies.make(THEM, US, 40000, 80, 0xFFFFFFF0, 536, 600.0),
                         (2576525016, 536))
        h0 = linuxHash(THEM, US, 40000, 80, 0, 0)
        h1 = linuxHash(THEM, US, 40000, 80, 10, 1)
        self.assertEqual((h0, h1), (2393080150, 1911498130))
        self.assertEqual((h0 + 7000 + (10 << 24) + ((h1 + 3) & 0xFFFFFF)) & 0xFFFFFFFF,
                         2576532035)
        self.assertEqual(self.cookies.timestampOffset(THEM, US, 40000, 80),
                         linuxHash(THEM, US, 40000, 80, 0, 2))

    def test_mssTable(self) -> None:
        """
        The MSS is rounded down to Linux's table (536 below it all).
        """
        self.assertEqual(MSS_TABLE, (536, 1300, 1440, 1460))
        for mss, expected in [(100, 536), (536, 536), (1299, 536), (1300, 1300),
                              (1452, 1440), (1460, 1460), (8960, 1460)]:
            cookie, rounded = self.cookies.make(THEM, US, 1, 2, 5, mss, 0.0)
            self.assertEqual(rounded, expected)
            self.assertEqual(self.cookies.check(THEM, US, 1, 2, 5, cookie, 0.0), expected)

    def test_validForTwoPeriods(self) -> None:
        """
        A cookie is valid in the minute it was made and the next, not
        after, and not before.
        """
        cookie, _ = self.cookies.make(THEM, US, 40000, 80, 7000, 1460, 600.0)
        for now in (600.0, 659.9, 660.0, 719.9):
            self.assertEqual(self.cookies.check(THEM, US, 40000, 80, 7000, cookie, now), 1460)
        for now in (720.0, 599.9, 6000.0):
            self.assertIsNone(self.cookies.check(THEM, US, 40000, 80, 7000, cookie, now))

    def test_boundToTheSegment(self) -> None:
        """
        A cookie checked against another ISN, address, port or secret, or
        changed in any bit above the two that hold the MSS index, is
        refused.  (As in Linux, the ISN and the MSS index are added: an ISN
        off by one or two, or a change of the two low bits, moves the index
        within the table; forging that still needs the cookie.)
        """
        cookie, _ = self.cookies.make(THEM, US, 40000, 80, 7000, 1460, 600.0)
        check = self.cookies.check
        self.assertEqual(check(THEM, US, 40000, 80, 7001, cookie, 600.0), 1440)
        self.assertIsNone(check(THEM, US, 40000, 80, 7004, cookie, 600.0))
        self.assertIsNone(check(THEM, US, 40000, 80, 6000, cookie, 600.0))
        self.assertIsNone(check(THEM, US, 40001, 80, 7000, cookie, 600.0))
        self.assertIsNone(check(THEM, US, 40000, 81, 7000, cookie, 600.0))
        self.assertIsNone(check(US, THEM, 40000, 80, 7000, cookie, 600.0))
        self.assertIsNone(SYNCookies(b"other").check(THEM, US, 40000, 80, 7000, cookie, 600.0))
        for bit in range(2, 32):
            self.assertIsNone(check(THEM, US, 40000, 80, 7000, cookie ^ (1 << bit), 600.0))

    def test_timestampOptions(self) -> None:
        """
        The window scale (15: none) and SACK-permitted go in the low 6 bits
        of TSval, which never goes ahead of the clock; the echo decodes
        them.
        """
        self.assertEqual(cookieTimestamp(1000, 7, True), 960 | 0x10 | 7)
        self.assertEqual(cookieTimestamp(961, None, False), 960 - 64 + 15)
        self.assertEqual(cookieTimestamp(1023, 14, False), 960 | 14)
        self.assertEqual(cookieTimestamp(10, 2, False), 2)
        self.assertEqual(cookieTimestamp(10, 12, False), (12 - 64) & 0xFFFFFFFF)
        self.assertEqual(decodeTimestamp(960 | 0x10 | 7), (7, True, False))
        self.assertEqual(decodeTimestamp(960 | 15), (None, False, False))
        self.assertEqual(decodeTimestamp(0x20 | 0x10 | 0), (0, True, True))


class CookieLayerTests(LayerTestsMixin, SynchronousTestCase):
    """
    The layer's SYN queue full: cookies (without timestamps).
    """

    def fill(self, factory: RecorderFactory, backlog: int = 2) -> None:
        """
        Listen on port 80 with a small backlog and fill it with SYNs.
        """
        self.port = self.layer.listen(80, factory, backlog=backlog)
        for port in range(41000, 41000 + backlog):
            self.inject(TCPSegment(port, 80, 5000, 0, SYN, 8000))
        self.assertEqual(len(self.sent()), backlog)

    def test_fullQueueAnswersWithCookie(self) -> None:
        """
        A SYN meeting a full SYN queue gets a SYN-ACK whose ISN is the
        cookie (MSS 1000 rounded down to 536), and no state is kept.
        """
        self.fill(RecorderFactory())
        self.inject(TCPSegment(40000, 80, 7000, 0, SYN, 8000, mss=1000))
        cookie, _ = self.layer.cookies.make(THEM, US, 40000, 80, 7000, 1000, 100.0)
        self.assertEqual(self.sent(), [
            TCPSegment(80, 40000, cookie, 7001, SYN | ACK, 8000, b"", 1000)])
        self.assertEqual(len(self.layer.connections), 2)
        self.assertEqual(self.layer.synQueue, 2)
        self.assertEqual(self.layer.stats.synCookiesSent, 1)
        self.assertEqual(self.layer.stats.synFloodDrops, 0)

    def test_ackCompletes(self) -> None:
        """
        The ACK of a cookie creates the connection in ESTABLISHED and the
        listener accepts it as any other: the protocol is built with the
        peer's address and gets the data; the MSS is the cookie's.
        """
        factory = RecorderFactory()
        self.fill(factory)
        self.inject(TCPSegment(40000, 80, 7000, 0, SYN, 8000, mss=1460))
        [synAck] = self.sent()
        self.clock.advance(30)
        self.sent()  # the half-open connections' SYN-ACK retransmissions
        self.inject(TCPSegment(40000, 80, 7001, synAck.seq + 1, ACK | PSH, 8000, b"hello"))
        [protocol] = factory.built
        self.assertEqual(protocol.received, [b"hello"])
        self.assertEqual(factory.addresses[0].port, 40000)
        connection = self.layer.connections[(US, 80, THEM, 40000)]
        self.assertEqual(connection.machine.state, ESTABLISHED)
        self.assertEqual(connection.machine.mss, 1000)
        self.assertEqual(connection.machine.sndWnd, 8000)
        self.assertEqual(self.layer.stats.synCookiesValidated, 1)
        self.assertEqual(self.layer.stats.connectionsAccepted, 1)
        self.assertEqual(self.port.embryonic, 2)
        self.assertEqual(self.layer.synQueue, 2)
        protocol.transport.write(b"world")
        self.assertEqual(self.sent(), [
            TCPSegment(80, 40000, synAck.seq + 1, 7006, ACK | PSH, 7995, b"world")])

    def test_forgedAckRefused(self) -> None:
        """
        An ACK whose acknowledgment number is no cookie of ours is refused
        with a RST and counted; so is a valid cookie acknowledged too late.
        """
        factory = RecorderFactory()
        self.fill(factory)
        self.inject(TCPSegment(40000, 80, 7000, 0, SYN, 8000))
        [synAck] = self.sent()
        self.inject(TCPSegment(40001, 80, 7001, synAck.seq + 1, ACK, 8000))
        self.assertEqual(self.sent(), [TCPSegment(80, 40001, synAck.seq + 1, 0, RST, 0)])
        self.assertEqual(self.layer.stats.synCookiesFailed, 1)
        self.clock.advance(119.9)  # two periods later (counter 1 to 3)
        self.sent()
        self.inject(TCPSegment(40000, 80, 7001, synAck.seq + 1, ACK, 8000))
        self.assertEqual([s.flags for s in self.sent()], [RST])
        self.assertEqual(self.layer.stats.synCookiesFailed, 2)
        self.assertEqual(factory.built, [])
        self.assertNotIn((US, 80, THEM, 40000), self.layer.connections)

    def test_laterSegmentHeldBack(self) -> None:
        """
        Data or a FIN that fails the check (the cookie covers the peer's
        ISN: a segment after lost ones does not validate) is dropped
        without a RST while cookies are in use, so the peer retransmits
        its first data, which validates; the connection then gets all of
        it.  A pure ACK failing the check still gets a RST.
        """
        factory = RecorderFactory()
        self.fill(factory)
        self.inject(TCPSegment(40000, 80, 7000, 0, SYN, 8000))
        [synAck] = self.sent()
        self.inject(TCPSegment(40000, 80, 7006, synAck.seq + 1, ACK | FIN, 8000))
        self.inject(TCPSegment(40000, 80, 7003, synAck.seq + 1, ACK | PSH, 8000, b"lo"))
        self.assertEqual(self.sent(), [])
        self.assertEqual(self.layer.stats.synCookiesFailed, 2)
        self.assertEqual(factory.built, [])
        self.inject(TCPSegment(40000, 80, 7001, synAck.seq + 1, ACK | PSH | FIN, 8000,
                               b"hello"))
        [protocol] = factory.built
        self.assertEqual(protocol.received, [b"hello"])
        self.assertEqual(self.layer.stats.synCookiesValidated, 1)
        self.inject(TCPSegment(40001, 80, 7006, synAck.seq + 1, ACK, 8000))
        self.assertEqual([s.flags for s in self.sent()][-1:], [RST])

    def test_notCheckedWithoutRecentCookies(self) -> None:
        """
        ACKs for no connection are not checked as cookies unless a cookie
        was sent in the last two minutes.
        """
        self.layer.listen(80, RecorderFactory())
        self.inject(TCPSegment(40000, 80, 7001, 1234, ACK, 8000))
        self.assertEqual([s.flags for s in self.sent()], [RST])
        self.assertEqual(self.layer.stats.synCookiesFailed, 0)

    def test_layerWideBound(self) -> None:
        """
        The layer's SYN queue bound holds over all listeners; SYNs beyond
        it get cookies; a half-open connection that completes or times out
        leaves the queue.
        """
        self.layer.maxSynQueue = 3
        self.layer.listen(80, RecorderFactory())
        self.layer.listen(81, RecorderFactory())
        for i in range(10):
            self.inject(TCPSegment(41000 + i, 80 + i % 2, 5000, 0, SYN, 8000))
        self.assertEqual(len(self.sent()), 10)
        self.assertEqual(len(self.layer.connections), 3)
        self.assertEqual(self.layer.synQueue, 3)
        self.assertEqual(self.layer.stats.synCookiesSent, 7)
        self.clock.pump([1] * 300)
        self.assertEqual((self.layer.synQueue, len(self.layer.connections)), (0, 0))

    def test_defaultBacklog(self) -> None:
        """
        The default backlog is Linux's somaxconn (4096); the layer bounds
        its SYN queue at 1024.
        """
        port = self.layer.listen(80, RecorderFactory())
        self.assertEqual(port.backlog, 4096)
        self.assertEqual(TCPLayer(self.clock, self.ip).maxSynQueue, 1024)


class CookieTimestampTests(SynchronousTestCase):
    """
    Cookies with timestamps: window scale and SACK survive.
    """

    def setUp(self) -> None:
        """
        A layer with timestamps, window scaling and SACK on, and a full
        SYN queue.
        """
        self.clock = Clock()
        self.clock.advance(100)
        self.ip = RecordingIPv4(US)
        self.layer = TCPLayer(self.clock, self.ip, TCPConfig(
            mss=1460, receiveBufferSize=256 * 1024), seed=1, maxSynQueue=0)
        self.factory = RecorderFactory()
        self.layer.listen(80, self.factory)

    def inject(self, segment: TCPSegment) -> None:
        """
        Deliver a segment from THEM.
        """
        self.layer.packetReceived(THEM, US, segment.encode(THEM, US), b"")

    def sent(self):
        """
        @return: what the layer sent since last asked.
        """
        self.clock.advance(0)
        return self.ip.segments()

    def test_optionsRestored(self) -> None:
        """
        The SYN-ACK offers window scaling and SACK with the peer's options
        in its TSval; the ACK echoing it makes a connection with them.
        """
        self.inject(TCPSegment(40000, 80, 7000, 0, SYN, 65535, b"", 1460, 7, True, (),
                               (555, 0)))
        [synAck] = self.sent()
        self.assertEqual((synAck.flags, synAck.mss, synAck.windowScale, synAck.sackPermitted),
                         (SYN | ACK, 1460, 3, True))
        tsVal, tsEcr = synAck.timestamp
        self.assertEqual((tsVal & 0x3F, tsEcr), (0x10 | 7, 555))
        self.clock.advance(0.5)
        self.inject(TCPSegment(40000, 80, 7001, synAck.seq + 1, ACK, 100, b"", None, None,
                               False, (), (600, tsVal)))
        [protocol] = self.factory.built
        machine = protocol.transport.machine
        self.assertEqual(machine.state, ESTABLISHED)
        self.assertEqual((machine.wsEnabled, machine.sndShift, machine.rcvShift),
                         (True, 7, 3))
        self.assertEqual(machine.sndWnd, 100 << 7)
        self.assertTrue(machine.sackEnabled)
        self.assertTrue(machine.tsEnabled)
        self.assertEqual(machine.tsRecent, 600)
        self.assertEqual(machine.mss, 1460 - 12)
        protocol.transport.write(b"x")
        [data] = self.sent()
        self.assertEqual(data.timestamp[1], 600)
        # Our clock goes on from the SYN-ACK's TSval, not backwards.
        self.assertTrue(0 <= (data.timestamp[0] - tsVal) & 0xFFFFFFFF < 1000)

    def test_noTimestampNoOptions(self) -> None:
        """
        Without timestamps, the cookie SYN-ACK offers neither window
        scaling nor SACK.
        """
        self.inject(TCPSegment(40000, 80, 7000, 0, SYN, 65535, b"", 1460, 7, True))
        [synAck] = self.sent()
        self.assertEqual((synAck.windowScale, synAck.sackPermitted, synAck.timestamp),
                         (None, False, None))
        self.inject(TCPSegment(40000, 80, 7001, synAck.seq + 1, ACK, 100))
        [protocol] = self.factory.built
        machine = protocol.transport.machine
        self.assertEqual((machine.wsEnabled, machine.sackEnabled, machine.tsEnabled),
                         (False, False, False))
        self.assertEqual(machine.sndWnd, 100)


class FloodTests(LayerTestsMixin, SynchronousTestCase):
    """
    A flood of 20,000 SYNs at a listener with the default settings.
    """

    def test_tablesBounded(self) -> None:
        """
        The SYN queue and the connection table hold at most the layer's
        bound (1,024); every other SYN gets a cookie; a peer connecting
        in the middle of the flood gets through; when the half-open
        connections time out the tables are empty but for it.
        """
        factory = RecorderFactory()
        self.layer.listen(80, factory)
        rng = __import__("random").Random(7)
        for i in range(20000):
            self.inject(TCPSegment(1024 + i, 80, rng.getrandbits(32), 0, SYN,
                                   8000), source=bytes([10, 0, 1 + i % 200, 9]))
            if i == 10000:
                self.ip.segments()
                self.inject(TCPSegment(40000, 80, 7000, 0, SYN, 8000))
                [synAck] = [s for s in self.sent() if s.dstPort == 40000]
                self.inject(TCPSegment(40000, 80, 7001, synAck.seq + 1, ACK, 8000))
        self.assertEqual(self.layer.synQueue, 1024)
        self.assertEqual(len(self.layer.connections), 1025)
        self.assertEqual(self.layer.stats.synCookiesSent, 20001 - 1024)
        self.assertEqual(self.layer.stats.synCookiesValidated, 1)
        self.assertEqual(len(factory.built), 1)
        self.clock.pump([10] * 30)
        self.ip.segments()
        self.assertEqual(self.layer.synQueue, 0)
        self.assertEqual(list(self.layer.connections), [(US, 80, THEM, 40000)])
