# -*- test-case-name: tests.stack.tcp.test_offload -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Receive offload: the segments of one batch of frames that continue each
other reach their connection as one (what Linux's GRO does below its TCP).

A batch is what the interface handles between C{cork} and the outermost
C{uncork}: the frames the VDE plug read in one go.  Python pays per segment
for everything above the checksum and the parse (the state machine, the
receive buffer, the ACK decision, the wakeup): on CPython about two thirds
of a virtual host's time receiving (docs/performance.txt, 2026-12-06).
Handing a run of in-order data segments over as one pays that once.

Only the common cases are merged, so what the connection sees is what it
would have made of the segments one by one:

  - data segments of one connection, each starting where the last ended,
    with the same acknowledgment number, window and timestamps (as Linux's
    GRO requires identical options), flags ACK and PSH only (PSH kept if
    any had it), at most L{MAX_BYTES} in all;
  - pure ACKs of one connection that each acknowledge more than the last
    (never duplicates: the sender counts those), with the same sequence
    number and no SACK blocks: only the last is delivered, a stretch ACK
    (slow start counts bytes acknowledged, not ACKs; see
    L{vdetwist.stack.tcp.congestion}).

Anything else (SYN, FIN, RST, URG, SACK blocks, another connection, a gap)
first delivers what is held, then goes on as before.  At most one segment
is held at a time, so order across connections is kept and the memory is
bounded by L{MAX_BYTES}.
"""

from typing import Any, Callable, List, Optional

from vdetwist.stack.tcp.seq import SEQ_MASK, seqGT
from vdetwist.wire.tcp import ACK, PSH, TCPSegment

__all__ = ["MAX_BYTES", "ReceiveOffload"]

#: The most payload merged into one segment (Linux's GRO stops at 64 KiB).
MAX_BYTES = 65536

_newTuple = tuple.__new__


class ReceiveOffload:
    """
    Holds at most one segment for its connection while a batch lasts,
    merging the next ones into it when they continue it.
    """

    def __init__(self, deliver: Callable[[Any, TCPSegment], None], stats: Any) -> None:
        """
        @param deliver: called with a connection and a segment (merged or
            not) to hand it over.
        @param stats: a L{TCPStatistics<vdetwist.stack.tcp.config.TCPStatistics>}
            whose C{segmentsCoalesced} counts the segments merged into
            another.
        """
        self._deliver = deliver
        self._stats = stats
        self._connection: Optional[Any] = None
        self._segment: Optional[TCPSegment] = None
        self._parts: List[bytes] = []
        self._size = 0
        self._flags = 0

    def hold(self, connection: Any, segment: TCPSegment) -> None:
        """
        A segment for C{connection} arrived during a batch: merge it into
        the held one, hold it, or deliver it (after what is held).

        @param connection: its connection.
        @param segment: the parsed segment, checksum verified.
        """
        mergeable = segment.flags & ~PSH == ACK and not segment.sackBlocks and not segment.urgent
        if self._connection is not None:
            if mergeable and self._connection is connection and self._merge(segment):
                self._stats.segmentsCoalesced += 1
                return
            self.release()
        if mergeable:
            self._connection = connection
            self._segment = segment
            size = len(segment.payload)
            self._size = size
            if size:
                self._parts = [segment.payload]
                self._flags = segment.flags
            return
        self._deliver(connection, segment)

    def _merge(self, segment: TCPSegment) -> bool:
        """
        Merge C{segment} into the held one if it continues it.

        @param segment: a mergeable segment of the held one's connection.
        @return: whether it was merged.
        """
        held = self._segment
        assert held is not None
        payload = segment.payload
        if payload:
            size = len(payload)
            if (not self._size or segment.seq != (held.seq + self._size) & SEQ_MASK
                    or segment.ack != held.ack
                    or segment.window != held.window or segment.timestamp != held.timestamp
                    or self._size + size > MAX_BYTES):
                return False
            self._parts.append(payload)
            self._size += size
            self._flags |= segment.flags
            return True
        if (self._size or segment.seq != held.seq or not seqGT(segment.ack, held.ack)
                or (segment.timestamp is None) != (held.timestamp is None)):
            return False
        self._segment = segment
        return True

    def release(self) -> None:
        """
        Deliver what is held (the end of a batch, or something that cannot
        be merged came).  Safe to call when nothing is held, and from what
        a delivery causes.
        """
        connection = self._connection
        if connection is None:
            return
        segment = self._segment
        assert segment is not None
        self._connection = self._segment = None
        if self._size and len(self._parts) > 1:
            (srcPort, dstPort, seq, ack, _, window, _, mss, windowScale, sackPermitted,
             sackBlocks, timestamp, urgent) = segment
            segment = _newTuple(TCPSegment, (
                srcPort, dstPort, seq, ack, self._flags, window, b"".join(self._parts), mss,
                windowScale, sackPermitted, sackBlocks, timestamp, urgent))
        self._parts = []
        self._size = 0
        self._deliver(connection, segment)

    def drop(self) -> None:
        """
        Forget what is held (the layer is stopping).
        """
        self._connection = self._segment = None
        self._parts = []
        self._size = 0
