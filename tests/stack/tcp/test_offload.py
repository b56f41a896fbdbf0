# -*- test-case-name: tests.stack.tcp.test_offload -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.tcp.offload} and its use by the TCP layer.
"""

from typing import Any, List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from tests.stack.tcp.fakes import RecordingIPv4
from tests.stack.tcp.test_demux import THEM, US, LayerTestsMixin, RecorderFactory
from vdetwist.stack.interface import NetworkInterface
from vdetwist.stack.tcp.config import TCPStatistics
from vdetwist.stack.tcp.demux import TCPLayer
from vdetwist.stack.tcp.machine import TCPConfig
from vdetwist.stack.tcp.offload import MAX_BYTES, ReceiveOffload
from vdetwist.wire.tcp import ACK, FIN, PSH, RST, SYN, URG, TCPSegment


def data(seq: int, payload: bytes, flags: int = ACK, ack: int = 500, window: int = 8000,
         timestamp: Any = None, sack: Tuple[Tuple[int, int], ...] = ()) -> TCPSegment:
    """
    A segment from port 40000 to 80.

    @param seq: its sequence number.
    @param payload: its data.
    @param flags: its flags.
    @param ack: its acknowledgment number.
    @param window: its window.
    @param timestamp: its timestamps.
    @param sack: its SACK blocks.
    @return: the segment.
    """
    return TCPSegment(40000, 80, seq, ack, flags, window, payload, sackBlocks=sack,
                      timestamp=timestamp)


class ReceiveOffloadTests(SynchronousTestCase):
    """
    L{ReceiveOffload} merges what continues the held segment and delivers
    everything else in order.
    """

    def setUp(self) -> None:
        """
        An offload delivering into a list.
        """
        self.delivered: List[Tuple[object, TCPSegment]] = []
        self.stats = TCPStatistics()
        self.offload = ReceiveOffload(lambda c, s: self.delivered.append((c, s)), self.stats)

    def test_contiguousDataMerged(self) -> None:
        """
        Data segments each starting where the last ended are delivered as
        one at the release, their payloads joined, PSH kept; each merged
        one is counted.
        """
        self.offload.hold("c", data(1000, b"a" * 100))
        self.offload.hold("c", data(1100, b"b" * 100))
        self.offload.hold("c", data(1200, b"c" * 50, ACK | PSH))
        self.assertEqual(self.delivered, [])
        self.offload.release()
        [(connection, segment)] = self.delivered
        self.assertEqual(connection, "c")
        self.assertEqual(segment, data(1000, b"a" * 100 + b"b" * 100 + b"c" * 50, ACK | PSH))
        self.assertEqual(self.stats.segmentsCoalesced, 2)
        self.offload.release()
        self.assertEqual(len(self.delivered), 1)

    def test_notMerged(self) -> None:
        """
        A gap, another acknowledgment number, window or timestamp, another
        connection, or a pure ACK after data: what is held is delivered
        first, the new segment held in its place.
        """
        for other, connection in [
            (data(1200, b"x"), "c"),
            (data(1100, b"x", ack=501), "c"),
            (data(1100, b"x", window=7000), "c"),
            (data(1100, b"x", timestamp=(1, 2)), "c"),
            (data(1100, b"x"), "d"),
            (data(1100, b""), "c"),
        ]:
            del self.delivered[:]
            first = data(1000, b"a" * 100)
            self.offload.hold("c", first)
            self.offload.hold(connection, other)
            self.assertEqual(self.delivered, [("c", first)], other)
            self.offload.release()
            self.assertEqual(self.delivered, [("c", first), (connection, other)])
        self.assertEqual(self.stats.segmentsCoalesced, 0)

    def test_unmergeableDeliveredAtOnce(self) -> None:
        """
        A segment with SYN, FIN, RST or URG, urgent data or SACK blocks is
        delivered at once, after what is held, and not held.
        """
        for other in [data(1100, b"x", ACK | FIN), data(1100, b"", ACK | RST),
                      data(1100, b"", SYN), data(1100, b"x", ACK | URG),
                      data(1100, b"", sack=((5000, 6000),))]:
            del self.delivered[:]
            first = data(1000, b"a" * 100)
            self.offload.hold("c", first)
            self.offload.hold("c", other)
            self.assertEqual(self.delivered, [("c", first), ("c", other)])
            self.offload.release()
            self.assertEqual(len(self.delivered), 2)

    def test_advancingAcksMerged(self) -> None:
        """
        Pure ACKs that each acknowledge more are delivered as the last one
        (a stretch ACK), its window included.
        """
        self.offload.hold("c", data(1000, b"", ack=500))
        self.offload.hold("c", data(1000, b"", ack=1948, window=9000))
        self.offload.hold("c", data(1000, b"", ack=3396, window=7000))
        self.offload.release()
        self.assertEqual(self.delivered, [("c", data(1000, b"", ack=3396, window=7000))])
        self.assertEqual(self.stats.segmentsCoalesced, 2)

    def test_duplicateAcksNotMerged(self) -> None:
        """
        A duplicate ACK (the same acknowledgment number, or an older one)
        is never merged: the sender counts them.
        """
        for ack in (500, 400):
            del self.delivered[:]
            self.offload.hold("c", data(1000, b"", ack=500))
            self.offload.hold("c", data(1000, b"", ack=ack))
            self.offload.release()
            self.assertEqual(self.delivered, [("c", data(1000, b"", ack=500)),
                                              ("c", data(1000, b"", ack=ack))])

    def test_ackAfterAckWithDifferentSequenceOrOptions(self) -> None:
        """
        Pure ACKs with different sequence numbers, or one with timestamps
        and one without, are not merged.
        """
        for second in (data(1001, b"", ack=600), data(1000, b"", ack=600, timestamp=(1, 1))):
            del self.delivered[:]
            self.offload.hold("c", data(1000, b"", ack=500))
            self.offload.hold("c", second)
            self.offload.release()
            self.assertEqual(len(self.delivered), 2)

    def test_limit(self) -> None:
        """
        No merged segment carries more than L{MAX_BYTES}.
        """
        piece = 1448
        seq = 0
        for _ in range(3 * MAX_BYTES // piece):
            self.offload.hold("c", data(seq, b"z" * piece))
            seq += piece
        self.offload.release()
        sizes = [len(segment.payload) for _, segment in self.delivered]
        self.assertEqual(sum(sizes), seq)
        self.assertTrue(all(size <= MAX_BYTES for size in sizes), sizes)
        self.assertEqual(len(sizes), 3)  # 45 segments of 1448 bytes each

    def test_sequenceWraps(self) -> None:
        """
        Data that crosses the top of the sequence space still continues.
        """
        self.offload.hold("c", data(0xFFFFFFF0, b"a" * 0x10))
        self.offload.hold("c", data(0, b"b" * 4))
        self.offload.release()
        [(_, segment)] = self.delivered
        self.assertEqual(segment.payload, b"a" * 0x10 + b"b" * 4)

    def test_reentrantRelease(self) -> None:
        """
        A delivery that causes another segment to be held (a peer answering
        at once) finds the offload empty: nothing is delivered twice or lost.
        """
        events: List[TCPSegment] = []

        def deliver(connection: object, segment: TCPSegment) -> None:
            events.append(segment)
            if len(events) == 1:
                offload.hold("c", data(5000, b"later"))
        offload = ReceiveOffload(deliver, self.stats)
        offload.hold("c", data(1000, b"first"))
        offload.release()
        self.assertEqual([s.payload for s in events], [b"first"])
        offload.release()
        self.assertEqual([s.payload for s in events], [b"first", b"later"])

    def test_drop(self) -> None:
        """
        L{ReceiveOffload.drop} forgets what is held.
        """
        self.offload.hold("c", data(1000, b"a"))
        self.offload.drop()
        self.offload.release()
        self.assertEqual(self.delivered, [])


class BatchingIPv4(RecordingIPv4):
    """
    A recording IPv4 layer on a real, detached L{NetworkInterface}, whose
    cork marks a batch of frames.
    """

    def __init__(self, address: bytes) -> None:
        """
        @param address: our only address.
        """
        RecordingIPv4.__init__(self, address)
        self.interface = NetworkInterface()

    def cork(self) -> None:
        """
        Cork the interface.
        """
        self.interface.cork()

    def uncork(self) -> None:
        """
        Uncork the interface.
        """
        self.interface.uncork()


class LayerOffloadTests(LayerTestsMixin, SynchronousTestCase):
    """
    The TCP layer holds segments while its interface is corked (a batch)
    and delivers them, merged, when the batch ends.
    """

    def setUp(self) -> None:
        """
        The layer on an IP layer with an interface.
        """
        LayerTestsMixin.setUp(self)
        self.ip = BatchingIPv4(US)
        self.layer = TCPLayer(self.clock, self.ip, TCPConfig(
            mss=1000, receiveBufferSize=8000, timestamps=False, sack=False,
            windowScaling=False, pacing=False), seed=1)
        self.factory = RecorderFactory()
        self.layer.listen(80, self.factory)
        self.iss = self.handshake()
        [self.protocol] = self.factory.built

    def test_batchMerged(self) -> None:
        """
        Three data segments in one batch reach the protocol as one, when the
        batch ends, and are acknowledged together.
        """
        interface = self.ip.interface
        interface.cork()
        for i in range(3):
            self.inject(TCPSegment(40000, 80, 7001 + 1000 * i, self.iss + 1, ACK, 8000,
                                   bytes([65 + i]) * 1000))
        self.assertEqual(self.protocol.received, [])
        interface.uncork()
        self.assertEqual(self.protocol.received, [b"A" * 1000 + b"B" * 1000 + b"C" * 1000])
        self.assertEqual(self.layer.stats.segmentsCoalesced, 2)
        self.assertEqual(self.layer.stats.segmentsReceived, 5)
        acks = [segment.ack for segment in self.sent()]
        self.assertEqual(acks[-1], 7001 + 3000)

    def test_notCorked(self) -> None:
        """
        Outside a batch, segments are delivered one by one, at once.
        """
        for i in range(2):
            self.inject(TCPSegment(40000, 80, 7001 + 1000 * i, self.iss + 1, ACK, 8000,
                                   b"x" * 1000))
            self.assertEqual(len(self.protocol.received), i + 1)
        self.assertEqual(self.layer.stats.segmentsCoalesced, 0)

    def test_orderWithFin(self) -> None:
        """
        Data held, then a FIN in the same batch: the data first, then the
        close.
        """
        interface = self.ip.interface
        interface.cork()
        self.inject(TCPSegment(40000, 80, 7001, self.iss + 1, ACK, 8000, b"x" * 500))
        self.inject(TCPSegment(40000, 80, 7501, self.iss + 1, ACK | FIN, 8000, b"y" * 10))
        interface.uncork()
        self.assertEqual(b"".join(self.protocol.received), b"x" * 500 + b"y" * 10)
        self.clock.advance(1)
        self.assertIsNotNone(self.protocol.lost)

    def test_otherSegmentReleases(self) -> None:
        """
        A segment for no connection in the batch delivers what is held
        first (the order they came in).
        """
        interface = self.ip.interface
        interface.cork()
        self.inject(TCPSegment(40000, 80, 7001, self.iss + 1, ACK | PSH, 8000, b"x" * 500))
        self.inject(TCPSegment(40001, 81, 1, 1, ACK, 8000, b""), source=THEM)
        self.assertEqual(self.protocol.received, [b"x" * 500])
        interface.uncork()

    def test_closedWhileHeld(self) -> None:
        """
        A segment held for a connection that went away before the batch
        ended is dropped, not delivered to it.
        """
        interface = self.ip.interface
        interface.cork()
        self.inject(TCPSegment(40000, 80, 7001, self.iss + 1, ACK, 8000, b"x" * 500))
        self.layer.stop()
        interface.uncork()
        self.assertEqual(self.protocol.received, [])

    def test_ackDecisionUsesAdvertisedMSS(self) -> None:
        """
        A merged segment larger than the MSS we advertised does not raise
        the receiver's idea of the peer's segment size: the next two
        full-sized segments are acknowledged at once, not after two merged
        segments' worth.
        """
        interface = self.ip.interface
        interface.cork()
        for i in range(4):
            self.inject(TCPSegment(40000, 80, 7001 + 1000 * i, self.iss + 1, ACK, 8000,
                                   b"x" * 1000))
        interface.uncork()
        self.sent()
        connection = self.protocol.transport
        self.assertEqual(connection.machine._rcvMSS, 1000)
