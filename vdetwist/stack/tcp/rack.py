# -*- test-case-name: tests.stack.tcp.test_rack -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Time-based loss detection (RACK, RFC 8985) and delivery rate samples
(draft-cheng-iccrg-delivery-rate-estimation) for one TCP sender, pure: no
reactor, no clock, no segments built here.

The sender tells a L{SentLog} what it transmits (L{SentLog.sent}: a range
of the sequence space and when) and what the peer acknowledged
(L{SentLog.ackedTo} for a cumulative ACK alone, L{SentLog.onAck} with the
SACK scoreboard); the log answers which ranges are lost (L{SentLog.lost},
to be retransmitted) and how fast data was delivered.

A segment is lost when something sent after it has been delivered and
more than one round trip plus a reordering window has passed since it
was sent (RACK's rule).  Retransmissions are logged like any
transmission, so a lost retransmission is detected the same way, and the
tail of a flight is probed before the RTO (TLP, RFC 8985 section 7: the
machine's timers arm the probe).

Python pays per packet, so the log does not keep a record per segment:
one record per transmission burst (the segments one dispatch sends back
to back, which share a send time), in the order they were sent.  The
log works on stream positions (bytes since our ISS, unbounded integers)
rather than wrapping sequence numbers; L{SentLog.position} converts.
"""

from collections import deque
from typing import Deque, List, Optional, Sequence, Tuple

from vdetwist.stack.tcp.seq import SEQ_MASK

__all__ = ["SentLog", "MAX_RECORDS"]

#: The most transmission records kept; beyond it the oldest is forgotten
#: (its data is then recovered by the TLP or the RTO).
MAX_RECORDS = 1024

# The fields of a record (a list, so the log can update in place).
_START, _END, _TIME, _DELIVERED, _DELIVERED_TIME, _FIRST_SENT, _APP_LIMITED, _RETRANSMIT = range(8)


def _gaps(start: int, end: int, covered: Sequence[Tuple[int, int]]) -> List[Tuple[int, int]]:
    """
    @param start: a range's start.
    @param end: its end.
    @param covered: sorted disjoint C{(start, end)} ranges.
    @return: the parts of C{[start, end)} that C{covered} does not cover.
    """
    gaps = []
    for left, right in covered:
        if right <= start:
            continue
        if left >= end:
            break
        if left > start:
            gaps.append((start, left))
        start = right
        if start >= end:
            return gaps
    if start < end:
        gaps.append((start, end))
    return gaps


class SentLog:
    """
    What is in flight and when it was sent: RACK's state, the lost
    ranges waiting for retransmission, and the delivery rate estimator.

    @ivar una: the stream position of SND.UNA.
    @ivar unaSeq: SND.UNA as a sequence number.
    @ivar records: transmissions in the order they were sent, each
        C{[start, end, time, delivered, deliveredTime, firstSentTime,
        appLimited, retransmission]}.
    @ivar lost: ranges marked lost and not yet retransmitted, sorted and
        disjoint C{[start, end]} positions.
    @ivar lostBytes: the bytes in L{lost}.
    @ivar lostTotal: the bytes ever marked lost (a loss on an ACK shows as
        a change).
    @ivar sacked: the bytes above SND.UNA the scoreboard holds.
    @ivar xmitTime: RACK.xmit_ts, when the most recently sent of the
        delivered transmissions was sent.
    @ivar rtt: RACK.rtt, the round trip of that transmission.
    @ivar minRTT: the least RACK.rtt seen.
    @ivar deadline: when the reordering window of a transmission not yet
        taken for lost expires (RACK's reordering timer), or C{None}.
    @ivar delivered: bytes delivered so far (C.delivered).
    @ivar deliveredTime: when L{delivered} last grew.
    @ivar firstSentTime: the send time of the last delivered transmission.
    @ivar appLimitedUntil: while L{delivered} is below it, transmissions
        are marked application limited (0: not limited).
    @ivar rateSampling: compute a rate sample per ACK (for model-based
        congestion control).
    @ivar sampleRate: the last rate sample, bytes per second (0: none on
        this ACK).
    @ivar sampleRTT: the round trip of the rate sample's transmission.
    @ivar sampleAppLimited: whether the sample's transmission was sent
        while the application did not keep the window full.
    @ivar samplePriorDelivered: L{delivered} when the sample's
        transmission was sent (round counting).
    """

    def __init__(self, iss: int) -> None:
        """
        @param iss: our initial sequence number (position 0).
        """
        self.una = 0
        self.unaSeq = iss
        self.records: Deque[list] = deque()
        self.lost: List[List[int]] = []
        self.lostBytes = 0
        self.lostTotal = 0
        self.sacked = 0
        self.xmitTime = float("-inf")
        self.rtt = 0.0
        self.minRTT = float("inf")
        self.deadline: Optional[float] = None
        self.delivered = 0
        self.deliveredTime = 0.0
        self.firstSentTime = 0.0
        self.appLimitedUntil = 0
        self.rateSampling = False
        self.sampleRate = 0.0
        self.sampleRTT = 0.0
        self.sampleAppLimited = False
        self.samplePriorDelivered = 0

    def position(self, seq: int) -> int:
        """
        @param seq: a sequence number at or above SND.UNA.
        @return: its stream position.
        """
        return self.una + ((seq - self.unaSeq) & SEQ_MASK)

    # -- sending ----------------------------------------------------------------

    def sent(self, seq: int, length: int, now: float, retransmission: bool) -> None:
        """
        Note a transmission (new data, a retransmission, a probe).

        @param seq: its first sequence number.
        @param length: its sequence length (data plus FIN).
        @param now: when it was sent.
        @param retransmission: whether any of it was sent before.
        """
        if length <= 0:
            return
        records = self.records
        start = self.una + ((seq - self.unaSeq) & SEQ_MASK)
        if not records:
            # Nothing in flight: the delivery rate restarts from here.
            self.firstSentTime = now
            self.deliveredTime = now
        elif len(records) >= MAX_RECORDS:
            records.popleft()
        records.append([start, start + length, now, self.delivered, self.deliveredTime,
                        self.firstSentTime, self.appLimitedUntil > self.delivered,
                        retransmission])

    def markAppLimited(self, pipe: int) -> None:
        """
        The sender ran out of data with room in the window: rate samples
        of what is sent until the data now in flight is delivered
        understate the path (the draft's C.app_limited).

        @param pipe: the bytes in flight.
        """
        self.appLimitedUntil = max(self.delivered + pipe, 1)

    def takeLost(self, limit: int) -> Optional[Tuple[int, int]]:
        """
        Take the first lost range to retransmit (at most C{limit} bytes of
        it): it stops counting as lost, and the caller logs its
        retransmission with L{sent}.

        @param limit: the most bytes to take.
        @return: C{(position, length)} or C{None}.
        """
        lost = self.lost
        if not lost:
            return None
        first = lost[0]
        start = first[0]
        n = first[1] - start
        if n > limit:
            n = limit
            first[0] = start + n
        else:
            del lost[0]
        self.lostBytes -= n
        return start, n

    def pipe(self, flight: int) -> int:
        """
        @param flight: SND.MAX - SND.UNA.
        @return: the bytes believed in the network: not acknowledged,
            SACKed or taken for lost.
        """
        return flight - self.sacked - self.lostBytes

    # -- acknowledgments --------------------------------------------------------

    def roundTripTo(self, ack: int, now: float) -> float:
        """
        The round trip of the newest transmission a cumulative ACK up to
        C{ack} completes, measured on this clock (Linux's seq_rtt, which
        it prefers to the timestamp echo's millisecond ticks), before the
        ACK is taken in.

        @param ack: the new SND.UNA.
        @param now: the current time.
        @return: seconds, or C{0.0} when no transmission ends at or below
            C{ack} or the newest of them was a retransmission (Karn).
        """
        una = self.una + ((ack - self.unaSeq) & SEQ_MASK)
        newest = None
        for record in self.records:
            if record[1] > una:
                break
            newest = record
        if newest is None or newest[_RETRANSMIT]:
            return 0.0
        return now - newest[_TIME]

    def ackedTo(self, ack: int, now: float) -> None:
        """
        A cumulative ACK with no scoreboard (the common case, kept cheap):
        drop the records it covers and take RACK's and the rate's samples
        from the newest of them.

        @param ack: the new SND.UNA.
        @param now: the current time.
        """
        una = self.una + ((ack - self.unaSeq) & SEQ_MASK)
        if una == self.una:
            return
        if una > self._deliveredMark:
            self.delivered += una - self._deliveredMark
            self._deliveredMark = una
            self.deliveredTime = now
        self.una = una
        self.unaSeq = ack
        if self.sacked:
            self.sacked = 0
            self._sackedPositions = ()
        records = self.records
        newest = None
        while records and records[0][1] <= una:
            newest = records.popleft()
            if newest[2] > self.xmitTime:
                self._rackUpdate(newest, now)
        if self.lost:
            self._trimLost(())
        if records and records[0][0] < una and records[0][2] > self.xmitTime:
            self._rackUpdate(records[0], now)
        if self.rateSampling:
            self.sampleRate = 0.0
            if newest is not None:
                self._rateSample(newest, now)
        elif newest is not None:
            self.firstSentTime = newest[_TIME]

    def onAck(self, ack: int, scoreboard: Sequence[Tuple[int, int]], now: float) -> int:
        """
        An ACK with the SACK scoreboard (RFC 8985 section 6.2): note what
        it delivered, then mark as lost what was sent before the newest
        delivered transmission and is older than a round trip plus the
        reordering window, and set L{deadline} for the rest.

        @param ack: the new SND.UNA.
        @param scoreboard: the SACKed C{(left, right)} sequence numbers
            above it, sorted and disjoint.
        @param now: the current time.
        @return: the bytes newly marked lost.
        """
        una = self.una + ((ack - self.unaSeq) & SEQ_MASK)
        self.una = una
        self.unaSeq = ack
        sacked = []
        total = 0
        for left, right in scoreboard:
            start = una + ((left - ack) & SEQ_MASK)
            end = start + ((right - left) & SEQ_MASK)
            sacked.append((start, end))
            total += end - start
        self.sacked = total
        if una + total > self._deliveredMark:
            # Counted against the highest SND.UNA + SACKed seen, so SACK
            # ranges the scoreboard had to drop (or a peer reneged) are
            # not counted twice when reported again.
            self.delivered += una + total - self._deliveredMark
            self._deliveredMark = una + total
            self.deliveredTime = now
        if self.lost:
            self._trimLost(sacked)
        self.sampleRate = 0.0
        keep: Deque[list] = deque()
        newest = None
        for record in self.records:
            start, end = record[0], record[1]
            if end <= una:
                newest = record
                self._rackUpdate(record, now)
                continue
            if start < una:
                start = una
            gaps = _gaps(start, end, sacked)
            if not gaps:
                newest = record
                self._rackUpdate(record, now)
                continue
            if record[2] > self.xmitTime and (start > record[0] or len(gaps) > 1
                                              or gaps[0] != (start, end)):
                # Partly delivered: its send time counts for RACK.
                self._rackUpdate(record, now)
            keep.append(record)
        if newest is not None:
            self._rateSample(newest, now)
        self.records = keep
        return self.detectLosses(now, sacked)

    def detectLosses(self, now: float,
                     sacked: Optional[Sequence[Tuple[int, int]]] = None) -> int:
        """
        RACK's loss detection (RFC 8985 section 6.2 step 5), also run when
        L{deadline} passes.

        @param now: the current time.
        @param sacked: the scoreboard as positions, when the caller has
            them; else the SACKed ranges are taken from nothing (a timer
            runs after an ACK already trimmed the records).
        @return: the bytes newly marked lost.
        """
        self.deadline = None
        if sacked is not None:
            self._sackedPositions = sacked
        records = self.records
        if not records or self.xmitTime == float("-inf"):
            return 0
        wait = self.rtt + self.reorderingWindow()
        xmitTime = self.xmitTime
        una = self.una
        covered = sacked if sacked is not None else self._sackedPositions
        newly = 0
        while records:
            record = records[0]
            sentAt = record[2]
            if sentAt > xmitTime:
                break
            if sentAt + wait > now:
                self.deadline = sentAt + wait
                break
            start = record[0] if record[0] > una else una
            end = record[1]
            if sentAt == xmitTime:
                # Sent in the same burst as the newest delivered data:
                # only what precedes the delivered part in sequence is
                # lost (RFC 8985's tie-break on the end sequence); the
                # rest waits for later deliveries.
                limit = start
                for left, right in covered:
                    if left < end and right > limit:
                        limit = right if right < end else end
                if limit < end:
                    for gap in _gaps(start, limit, covered):
                        newly += self._addLost(gap[0], gap[1])
                    if limit > record[0]:
                        record[0] = limit
                    break
            records.popleft()
            for gap in _gaps(start, end, covered):
                newly += self._addLost(gap[0], gap[1])
        return newly

    #: The scoreboard of the last ACK, as positions (for the timer).
    _sackedPositions: Sequence[Tuple[int, int]] = ()
    #: The highest SND.UNA plus SACKed bytes seen (delivery is counted
    #: above it).
    _deliveredMark = 0

    #: Whether the peer has shown reordering (a retransmission
    #: acknowledged sooner than a round trip: the original arrived late).
    reordering = False
    #: Whether the sender is in loss recovery (set by the sender).
    recovering = False
    #: RFC 6675's DupThresh in bytes (three segments; set by the sender).
    dupThreshBytes = 3 * 536

    def reorderingWindow(self) -> float:
        """
        @return: RACK.reo_wnd (RFC 8985 section 6.2 step 4): none while no
            reordering has been seen and the sender is in recovery or
            DupThresh segments are SACKed; else a quarter of the least
            round trip, bounded by the round trip itself.
        """
        if self.minRTT == float("inf"):
            return 0.0
        if not self.reordering and (self.recovering or self.sacked >= self.dupThreshBytes):
            return 0.0
        return min(self.minRTT / 4, self.rtt)

    def markAllLost(self, sndMax: int) -> int:
        """
        The retransmission timer expired (RFC 8985 section 6.3): every
        byte in flight and not SACKed is lost.

        @param sndMax: SND.MAX.
        @return: the bytes newly marked lost.
        """
        self.records.clear()
        self.deadline = None
        end = self.position(sndMax)
        newly = 0
        for gap in _gaps(self.una, end, self._sackedPositions):
            newly += self._addLost(gap[0], gap[1])
        return newly

    def forget(self) -> None:
        """
        Forget the records and the lost ranges (the sender went back to
        SND.UNA after a timeout, or gave up SACK recovery).
        """
        self.records.clear()
        self.lost = []
        self.lostBytes = 0
        self.deadline = None

    # -- internals ----------------------------------------------------------------

    def _rackUpdate(self, record: list, now: float) -> None:
        """
        A transmission (or part of it) was delivered: advance RACK.xmit_ts
        and RACK.rtt if it was sent after the last one (RFC 8985 6.2 step
        2), unless it is a retransmission acknowledged too soon to tell
        from the original.

        @param record: the transmission.
        @param now: the current time.
        """
        sentAt = record[2]
        if sentAt <= self.xmitTime:
            return
        rtt = now - sentAt
        if record[_RETRANSMIT] and rtt < self.minRTT:
            self.reordering = True
            return
        self.xmitTime = sentAt
        self.rtt = rtt
        if rtt < self.minRTT:
            self.minRTT = rtt

    def _rateSample(self, record: list, now: float) -> None:
        """
        The delivery rate since the transmission was sent (the draft's
        GenerateRateSample), when sampling.

        @param record: the newest transmission fully delivered by this ACK.
        @param now: the current time.
        """
        self.firstSentTime = record[_TIME]
        if self.appLimitedUntil and self.delivered > self.appLimitedUntil:
            self.appLimitedUntil = 0
        if not self.rateSampling:
            return
        interval = record[_TIME] - record[_FIRST_SENT]
        ackElapsed = self.deliveredTime - record[_DELIVERED_TIME]
        if ackElapsed > interval:
            interval = ackElapsed
        rtt = now - record[_TIME]
        if interval <= 0 or interval < self.minRTT * 0.5:
            return
        self.sampleRate = (self.delivered - record[_DELIVERED]) / interval
        # A retransmission's round trip is ambiguous (Karn): no RTT from it.
        self.sampleRTT = 0.0 if record[_RETRANSMIT] else rtt
        self.sampleAppLimited = record[_APP_LIMITED]
        self.samplePriorDelivered = record[_DELIVERED]

    def _addLost(self, start: int, end: int) -> int:
        """
        Add a range to L{lost}, merged.

        @param start: its first position.
        @param end: its end.
        @return: the bytes newly marked lost.
        """
        lost = self.lost
        merged: List[List[int]] = []
        newly = end - start
        placed = False
        for item in lost:
            if item[1] < start:
                merged.append(item)
            elif item[0] > end:
                if not placed:
                    merged.append([start, end])
                    placed = True
                merged.append(item)
            else:
                overlap = min(item[1], end) - max(item[0], start)
                if overlap > 0:
                    newly -= overlap
                start = min(start, item[0])
                end = max(end, item[1])
        if not placed:
            merged.append([start, end])
        self.lost = merged
        self.lostBytes += newly
        self.lostTotal += newly
        return newly

    def _trimLost(self, sacked: Sequence[Tuple[int, int]]) -> None:
        """
        Drop from L{lost} what is acknowledged or SACKed (a spurious
        retransmission avoided).

        @param sacked: the scoreboard as positions.
        """
        una = self.una
        lost = []
        total = 0
        for start, end in self.lost:
            if start < una:
                start = una
            for gap in _gaps(start, end, sacked):
                lost.append([gap[0], gap[1]])
                total += gap[1] - gap[0]
        self.lost = lost
        self.lostBytes = total
