# -*- test-case-name: tests.stack.test_ipv4, tests.stack.test_ipv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Fragment reassembly shared by IPv4 and IPv6: the bounded bookkeeping
(datagrams, bytes and fragments held, deadlines, the holes left, the
counters) in L{BaseReassembler}, and the reassembly timer of a layer in
L{ReassemblyTimerMixin}.

A family subclasses L{BaseReassembler} with its own C{add} (its key and
what it keeps of the first fragment), how it builds the whole datagram
(L{BaseReassembler._assemble}), what it reports when a datagram times
out (L{BaseReassembler._timedOut}), and its duplicate policy
(L{BaseReassembler.duplicatesMustMatch}):
L{vdetwist.stack.ipv4.Reassembler} and
L{vdetwist.stack.ipv6.Reassembler}.
"""

from collections import Counter
from typing import Any, ClassVar, Dict, Hashable, List, Optional


class PartialDatagram:
    """
    The fragments of one datagram received so far.

    @ivar pieces: offset to fragment data, non-overlapping.
    @ivar size: the bytes held.
    @ivar total: the length of the fragmented part, once the last
        fragment arrived.
    @ivar first: what the family keeps of the first fragment, once it
        arrived.
    @ivar deadline: when the reassembly is abandoned.
    """

    __slots__ = ("pieces", "size", "total", "first", "deadline")

    def __init__(self, deadline: float) -> None:
        """
        @param deadline: when the reassembly is abandoned.
        """
        self.pieces: Dict[int, bytes] = {}
        self.size = 0
        self.total: Optional[int] = None
        self.first: Any = None
        self.deadline = deadline


class BaseReassembler:
    """
    Reassembly with bounds, for one address family.  Pure: time is passed
    in.

    A datagram is complete when its last fragment and its first have
    arrived and the bytes held fill the length the last one gives (the
    pieces never overlap, so no hole is left).  Overlapping fragments
    abandon the datagram (RFC 5722, closing the door on overlap attacks);
    a duplicate is ignored.

    @cvar duplicatesMustMatch: whether a fragment at an offset already held
        is a duplicate only when its bytes are the same (other bytes are an
        overlap, as RFC 5722 has it); when false, the same length makes it
        a duplicate.
    @ivar timeout: seconds a datagram may take to complete.
    @ivar maxDatagrams: the most datagrams under reassembly at once.
    @ivar maxBytes: the most fragment bytes held in all.
    @ivar maxFragments: the most fragments one datagram may have.
    @ivar counters: C{reassembled}, C{overlapping}, C{duplicates},
        C{oversized}, C{tooMany} (a new datagram refused because of
        L{maxDatagrams} or L{maxBytes}, or one abandoned for L{maxBytes}),
        C{tooManyFragments}, C{timedOut}, C{inconsistent}.
    """

    duplicatesMustMatch: ClassVar[bool] = False

    def __init__(self, timeout: float, maxDatagrams: int, maxBytes: int,
                 maxFragments: int) -> None:
        """
        @param timeout: seconds a datagram may take to complete.
        @param maxDatagrams: the most datagrams under reassembly.
        @param maxBytes: the most fragment bytes held.
        @param maxFragments: the most fragments one datagram may have.
        """
        self.timeout = timeout
        self.maxDatagrams = maxDatagrams
        self.maxBytes = maxBytes
        self.maxFragments = maxFragments
        self.counters: Counter[str] = Counter()
        self._datagrams: Dict[Hashable, PartialDatagram] = {}
        self._bytes = 0

    def __len__(self) -> int:
        """
        The number of datagrams under reassembly.
        """
        return len(self._datagrams)

    @property
    def bytesHeld(self) -> int:
        """
        The fragment bytes held.
        """
        return self._bytes

    def nextDeadline(self) -> Optional[float]:
        """
        The earliest deadline, or C{None} when nothing is held.
        """
        if not self._datagrams:
            return None
        return min(r.deadline for r in self._datagrams.values())

    def _drop(self, key: Hashable) -> PartialDatagram:
        """
        Forget one datagram.

        @param key: its key.
        @return: what was held.
        """
        partial = self._datagrams.pop(key)
        self._bytes -= partial.size
        return partial

    def _add(self, key: Hashable, headerLength: int, first: Any, offset: int,
             more: bool, data: bytes, now: float) -> Optional[bytes]:
        """
        Add one fragment.

        @param key: the datagram's key.
        @param headerLength: the bytes the reassembled datagram's 16-bit
            length field counts besides the fragmented part.
        @param first: what to keep of this fragment if it is the first,
            for L{_assemble} and L{_timedOut}.
        @param offset: the fragment offset in bytes.
        @param more: the "more fragments" flag.
        @param data: the fragment's data.
        @param now: the current time.
        @return: the reassembled datagram when this fragment completes it,
            else C{None}.
        """
        counters = self.counters
        datagrams = self._datagrams
        end = offset + len(data)
        if end + headerLength > 65535:
            counters["oversized"] += 1
            if key in datagrams:
                self._drop(key)
            return None
        if more and (not data or len(data) % 8):
            counters["inconsistent"] += 1
            return None
        partial = datagrams.get(key)
        if partial is None:
            if (len(datagrams) >= self.maxDatagrams
                    or self._bytes + len(data) > self.maxBytes):
                counters["tooMany"] += 1
                return None
            partial = datagrams[key] = PartialDatagram(now + self.timeout)
        elif self._bytes + len(data) > self.maxBytes:
            counters["tooMany"] += 1
            self._drop(key)
            return None
        if not more:
            if partial.total is not None and partial.total != end:
                counters["inconsistent"] += 1
                self._drop(key)
                return None
            partial.total = end
        if partial.total is not None and end > partial.total:
            counters["inconsistent"] += 1
            self._drop(key)
            return None
        pieces = partial.pieces
        existing = pieces.get(offset)
        if existing is not None and (existing == data if self.duplicatesMustMatch
                                     else len(existing) == len(data)):
            counters["duplicates"] += 1
            return None
        if len(pieces) >= self.maxFragments:
            counters["tooManyFragments"] += 1
            self._drop(key)
            return None
        for start, piece in pieces.items():
            if start < end and offset < start + len(piece):
                counters["overlapping"] += 1
                self._drop(key)
                return None
        pieces[offset] = data
        partial.size += len(data)
        self._bytes += len(data)
        if offset == 0:
            partial.first = first
        if (partial.total is None or partial.first is None
                or partial.size != partial.total):
            return None
        self._drop(key)
        counters["reassembled"] += 1
        return self._assemble(partial.first, b"".join(pieces[k] for k in sorted(pieces)))

    def _assemble(self, first: Any, data: bytes) -> bytes:
        """
        Build the whole datagram.

        @param first: what was kept of the first fragment.
        @param data: the fragmented part, whole.
        @return: the datagram.
        """
        raise NotImplementedError()

    def _timedOut(self, partial: PartialDatagram) -> Optional[bytes]:
        """
        What to report about a datagram abandoned at its deadline whose
        first fragment had arrived.

        @param partial: what was held.
        @return: the first fragment, for a time-exceeded error, or C{None}.
        """
        raise NotImplementedError()

    def expire(self, now: float) -> List[Optional[bytes]]:
        """
        Abandon the datagrams past their deadline.

        @param now: the current time.
        @return: for each abandoned datagram, its first fragment if it had
            arrived (see L{_timedOut}), for a time-exceeded error, or
            C{None}.
        """
        dead = [k for k, r in self._datagrams.items() if r.deadline <= now]
        firsts: List[Optional[bytes]] = []
        for key in dead:
            partial = self._drop(key)
            self.counters["timedOut"] += 1
            firsts.append(None if partial.first is None else self._timedOut(partial))
        return firsts


class ReassemblyTimerMixin:
    """
    The one timer of a layer that expires its reassembler, and the
    layer's C{counters}, C{stop} and C{allCounters}.

    The layer has C{reactor} (an L{IReactorTime} provider),
    C{reassembler} (a L{BaseReassembler}), C{_counters} with the per-packet
    counts C{_received}, C{_delivered} and C{_sent} beside it, and
    C{_reassemblyTimer} (C{None} at first), and implements
    L{_reassemblyTimedOut}.
    """

    reactor: Any
    reassembler: BaseReassembler
    _counters: "Counter[str]"
    _received: int
    _delivered: int
    _sent: int
    _reassemblyTimer: Any

    @property
    def counters(self) -> "Counter[str]":
        """
        This layer's event counts (see the layer's docstring).  The
        per-packet ones are kept as attributes and added in when this is
        read: an increment of a C{Counter} costs several times one of an
        attribute.
        """
        counters = self._counters
        if self._received:
            counters["received"] += self._received
            self._received = 0
        if self._delivered:
            counters["delivered"] += self._delivered
            self._delivered = 0
        if self._sent:
            counters["sent"] += self._sent
            self._sent = 0
        return counters

    def _reassemblyTimedOut(self, first: bytes) -> None:
        """
        A reassembly was abandoned at its deadline after its first
        fragment arrived: report it to the sender (a time-exceeded error,
        code 1).

        @param first: the first fragment, as L{BaseReassembler.expire}
            gives it.
        """
        raise NotImplementedError()

    def _scheduleReassemblyTimer(self) -> None:
        """
        Make sure a timer fires at the reassembler's next deadline.
        """
        deadline = self.reassembler.nextDeadline()
        timer = self._reassemblyTimer
        if deadline is None:
            if timer is not None and timer.active():
                timer.cancel()
            self._reassemblyTimer = None
            return
        if timer is not None and timer.active():
            return
        delay = max(0.0, deadline - self.reactor.seconds())
        self._reassemblyTimer = self.reactor.callLater(delay, self._expireReassembly)

    def _expireReassembly(self) -> None:
        """
        Abandon timed-out reassemblies; report those whose first fragment
        arrived (L{_reassemblyTimedOut}).
        """
        self._reassemblyTimer = None
        for first in self.reassembler.expire(self.reactor.seconds()):
            if first:
                self._reassemblyTimedOut(first)
        self._scheduleReassemblyTimer()

    def stop(self) -> None:
        """
        Cancel the reassembly timer.
        """
        if self._reassemblyTimer is not None and self._reassemblyTimer.active():
            self._reassemblyTimer.cancel()
        self._reassemblyTimer = None

    def allCounters(self) -> Dict[str, int]:
        """
        This layer's counters merged with the reassembler's (prefixed
        C{reassembly.}).

        @return: a new dict.
        """
        merged = dict(self.counters)
        for key, value in self.reassembler.counters.items():
            merged["reassembly." + key] = value
        return merged


__all__ = ["BaseReassembler", "PartialDatagram", "ReassemblyTimerMixin"]
