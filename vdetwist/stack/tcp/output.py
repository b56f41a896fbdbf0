# -*- test-case-name: tests.stack.tcp.test_machine -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The output half of L{vdetwist.stack.tcp.machine.TCPMachine}, pure like
the rest of it: which segments go out when the owner calls C{dispatch}
(retransmissions asked for by loss recovery, new data as the send and
congestion windows allow under Nagle's algorithm and sender silly window
avoidance, FIN, ACKs), how each is built (window advertisement with
receiver silly window avoidance, SACK blocks, timestamps), and whether an
ACK may wait for the end of a batch.
"""

from typing import List, Optional, Tuple

from vdetwist.stack.tcp.config import COALESCE_SEGMENTS, windowShiftFor
from vdetwist.stack.tcp.seq import SEQ_MASK, seqSub
from vdetwist.stack.tcp.states import (
    CLOSED,
    ESTABLISHED,
    LISTEN,
    SENDING_STATES,
    SYN_RECEIVED,
    SYN_SENT,
)
from vdetwist.wire.tcp import ACK, FIN, PSH, SYN, TCPSegment

__all__ = ["OutputMixin"]

#: Half the sequence space: the sequence comparisons of L{seq
#: <vdetwist.stack.tcp.seq>} are written out with it in the per-segment
#: methods (a call each costs more than the arithmetic).
_HALF = 0x80000000

#: Builds a L{TCPSegment} from all its fields in one C call.
_newTuple = tuple.__new__

#: The most data L{OutputMixin._sendData} puts in one run of full segments
#: (a TSO segment's limit).
MAX_RUN_BYTES = 65536


class OutputMixin:
    """
    The sending side of L{TCPMachine<vdetwist.stack.tcp.machine.TCPMachine>}:
    a mixin working on the machine's own state (its RFC 9293 variables,
    buffers, L{congestion<vdetwist.stack.tcp.congestion.CongestionControl>}
    and L{rtt<vdetwist.stack.tcp.rtt.RTTEstimator>}), kept apart so the
    input processing and the output each read on their own, with no
    indirection on the per-segment path.
    """

    #: When the data sent so far has gone out at the pacing rate.
    paceNext = 0.0
    #: When pacing lets the next segment go, while it holds one back.
    pacedUntil: Optional[float] = None
    #: Whether the layer below cuts a segment carrying a run of full
    #: segments' data into segments of L{mss} bytes (segmentation offload,
    #: L{vdetwist.wire.tcp.encodeSegments}): set by a layer that does.
    #: Off, every segment L{dispatch} returns is at most L{mss}.
    segmentOffload = False

    def _advertise(self) -> int:
        """
        Choose the window field for a non-SYN segment and move the
        advertised right edge; the window never shrinks and grows only in
        steps of at least min(MSS, half the buffer) (RFC 1122 4.2.3.3).

        @return: the (scaled down) window field.
        """
        shift = self.rcvShift
        rcvNxt = self.rcvNxt
        rcvAdv = self.rcvAdv
        advertised = ((rcvAdv - rcvNxt + _HALF) & SEQ_MASK) - _HALF
        if advertised < 0:
            advertised = 0
        receiveBuffer = self.receiveBuffer
        capacity = receiveBuffer.capacity
        space = capacity - receiveBuffer.length
        if space < 0:
            space = 0
        step = capacity // 2
        if step > self.config.mss:
            step = self.config.mss
        if space - advertised >= step:
            window = space
        else:
            window = advertised
        field = window >> shift
        if (field << shift) < advertised:
            field = (advertised + (1 << shift) - 1) >> shift
        if field > 65535:
            field = 65535
        edge = (rcvNxt + (field << shift)) & SEQ_MASK
        if 0 < ((edge - rcvAdv) & SEQ_MASK) < _HALF:
            self.rcvAdv = edge
        return field

    def _sackBlocks(self) -> Tuple[Tuple[int, int], ...]:
        """
        @return: the SACK blocks to report, as sequence numbers.
        """
        base = self.rcvNxt - self.rcvStream
        limit = 3 if self.tsEnabled else 4
        return tuple(
            ((base + start) & SEQ_MASK, (base + end) & SEQ_MASK)
            for start, end in self.reassembly.blocks(limit)
        )

    def _segment(self, seq: int, flags: int, payload: bytes, now: float) -> TCPSegment:
        """
        Build an outgoing segment with the ACK, window, timestamp and SACK
        fields filled in, and note that an ACK went out.

        @param seq: its sequence number.
        @param flags: its flags (L{ACK} is expected).
        @param payload: its data.
        @param now: the current time.
        @return: the segment.
        """
        self.ackNow = False
        self.ackDeadline = None
        self._unackedBytes = 0
        return _newTuple(TCPSegment, (
            self.localPort, self.remotePort, seq, self.rcvNxt, flags,
            self._advertise(), payload, None, None, False,
            self._sackBlocks() if self.sackEnabled and self.reassembly.bytes else (),
            ((int(now * 1000) + self.timestampOffset) & SEQ_MASK, self.tsRecent)
            if self.tsEnabled else None, 0))

    def _synSegment(self, now: float) -> TCPSegment:
        """
        Build our SYN (SYN_SENT) or SYN-ACK (SYN_RECEIVED).

        @param now: the current time.
        @return: the segment.
        """
        config = self.config
        window = min(self.receiveBuffer.space(), 65535)
        if self.state == SYN_SENT:
            return TCPSegment(
                self.localPort, self.remotePort, self.iss, 0, SYN, window, b"",
                config.mss,
                windowShiftFor(config.receiveBufferSize) if config.windowScaling else None,
                config.sack,
                (),
                (self._tsVal(now), 0) if config.timestamps else None,
            )
        self.ackNow = False
        self.ackDeadline = None
        return TCPSegment(
            self.localPort, self.remotePort, self.iss, self.rcvNxt, SYN | ACK,
            window, b"", config.mss,
            self.rcvShift if self.wsEnabled else None,
            self.sackEnabled,
            (),
            (self._tsVal(now), self.tsRecent) if self.tsEnabled else None,
        )

    def _sendable(self) -> Optional[Tuple[int, bool]]:
        """
        Decide the next new (or go-back-N retransmitted) segment: its
        length and whether it carries our FIN, applying the send and
        congestion windows, Nagle's algorithm and sender SWS avoidance.

        @return: C{(length, fin)} or C{None} when nothing should go now.
        """
        sndNxt = self.sndNxt
        if self.finSent and sndNxt == (self.finSeq + 1) & SEQ_MASK:
            return None
        sndUna = self.sndUna
        offset = ((sndNxt - sndUna + _HALF) & SEQ_MASK) - _HALF
        avail = self.sendBuffer.length - offset
        if avail < 0:
            return None
        mss = self.mss - self._sackRoom
        congestion = self.congestion
        sndMax = self.sndMax
        if congestion.rack:
            # RACK's pipe: in flight less SACKed and lost (SND.NXT is
            # SND.MAX: lost ranges are resent by dispatch, not go-back-N).
            log = self.log
            room = congestion.cwnd - offset + log.sacked + log.lostBytes
        elif congestion.dupAcks or congestion.inRecovery:
            room = congestion.room(offset, mss, sndUna, sndMax)
        else:
            room = congestion.cwnd - offset
        usable = ((self.sndWl2 + self.sndWnd - sndNxt + _HALF) & SEQ_MASK) - _HALF
        if room < usable:
            usable = room
        retransmission = 0 < ((sndMax - sndNxt) & SEQ_MASK) < _HALF
        if offset == 0 and retransmission and self._force:
            # The first retransmission after a timeout goes whatever the
            # window (the peer may have shrunk it: Linux too always resends
            # the head).
            usable = max(usable, min(mss, seqSub(sndMax, sndNxt)))
        n = avail if avail < mss else mss
        if usable < n:
            n = usable
        if n < 0:
            n = 0
        fin = self.finQueued and n == avail
        if n == 0:
            return (0, True) if fin else None
        if n < mss and not fin and not self._force and not retransmission:
            # Nagle and sender silly window avoidance hold back new data
            # only: what was sent before must be resendable as it was.
            if n < avail:
                if n < self.maxSndWnd // 2:
                    return None
            elif not self.noDelay and offset > 0:
                return None
        return n, fin

    def _runMore(self, offset: int, n: int, sndNxt: int) -> int:
        """
        How many more full segments of new data may follow one of C{n}
        bytes at C{offset} (SND.NXT C{sndNxt}) in the same run, as far as
        the data, the send window and the congestion window go: never the
        buffer's last byte (the segment ending the data carries PSH and
        goes by itself), and no more than L{MAX_RUN_BYTES} in a run.

        @param offset: the first segment's offset from SND.UNA.
        @param n: its length, the MSS.
        @param sndNxt: its sequence number.
        @return: the number of further segments, 0 or more.
        """
        more = (self.sendBuffer.length - offset - n - 1) // n
        if more <= 0:
            return 0
        congestion = self.congestion
        end = offset + n
        if congestion.rack:
            log = self.log
            room = congestion.cwnd - end + log.sacked + log.lostBytes
        elif congestion.dupAcks or congestion.inRecovery:
            return 0
        else:
            room = congestion.cwnd - end
        usable = ((self.sndWl2 + self.sndWnd - sndNxt - n + _HALF) & SEQ_MASK) - _HALF
        if room < usable:
            usable = room
        usable //= n
        if usable < more:
            more = usable
        limit = MAX_RUN_BYTES // n - 1
        return more if more < limit else limit

    def _hasUnsent(self) -> bool:
        """
        A cheap test before L{_sendable}: is there data or a FIN not yet
        sent (or to be sent again after a timeout)?

        @return: whether L{_sendable} could return something.
        """
        unsent = self.sendBuffer.length - ((self.sndNxt - self.sndUna) & SEQ_MASK)
        if unsent > 0:
            return True
        return unsent == 0 and self.finQueued and not (
            self.finSent and self.sndNxt == (self.finSeq + 1) & SEQ_MASK)

    def ackCanWait(self) -> bool:
        """
        Whether all L{dispatch} would send now is a pure ACK of in-order
        data, which may wait for the end of the current batch of incoming
        segments (duplicate ACKs for out-of-order data never wait: the
        peer counts them; nor do ACKs for a while after out-of-order data,
        nor once L{COALESCE_SEGMENTS} full segments are unacknowledged).

        @return: C{True} when the ACK may be deferred.
        """
        return (
            self.ackNow
            and self._unackedBytes < COALESCE_SEGMENTS * self._rcvMSS
            and not self._quickAcks
            and self.state == ESTABLISHED
            and not self.outbox
            and not self.congestion.retransmitFirst
            and not self.congestion.sackRetransmit
            and not self.reassembly.bytes
            and not (self._hasUnsent() and self._sendable() is not None)
        )

    def _synchronizedSending(self) -> bool:
        """
        @return: whether the state allows sending data or FIN.
        """
        return self.state in SENDING_STATES

    def dispatch(self, now: float) -> List[TCPSegment]:
        """
        Run expired timers and emit everything that should be sent now.

        @param now: the current time.
        @return: the segments to transmit, in order.
        """
        out = self.outbox
        self.outbox = []
        self._runTimers(now, out)
        state = self.state
        if state == CLOSED or state == LISTEN:
            return out
        if state == SYN_SENT or state == SYN_RECEIVED:
            if self.sndNxt == self.iss:
                out.append(self._synSegment(now))
                self.sndNxt = (self.iss + 1) & SEQ_MASK
                if self.sndMax == self.iss:
                    self.sndMax = self.sndNxt
                    self.rtt.startTiming(self.sndNxt, now)
            elif self.ackNow and state == SYN_RECEIVED:
                out.append(self._segment(self.sndNxt, ACK, b"", now))
            self._updateTimers(now)
            return out
        sent = False
        if self.sackEnabled and self.reassembly.bytes:
            # SACK blocks ride on data segments too: keep them in the MTU.
            self._sackRoom = 4 + 8 * len(self.reassembly.blocks(3 if self.tsEnabled else 4))
        else:
            self._sackRoom = 0
        congestion = self.congestion
        if congestion.retransmitFirst:
            congestion.retransmitFirst = False
            if self._synchronizedSending() and self.sndUna != self.sndMax:
                out.append(self._retransmission(now))
                sent = True
        if congestion.sackRetransmit:
            congestion.sackRetransmit = False
            if congestion.rack:
                if self.log.lost and self._synchronizedSending():
                    sent = self._retransmitLost(now, out) or sent
            elif (congestion.inRecovery and congestion.sackRecovery
                    and self._synchronizedSending()):
                # Retransmit lost holes while the pipe has room (RFC 6675
                # section 5, NextSeg rule 1); new data follows in
                # _sendData under the same limit.
                while congestion.pipe(self.sndUna, self.sndMax) + self.mss <= congestion.cwnd:
                    hole = congestion.nextHole(self.sndUna, self.mss - self._sackRoom)
                    if hole is None:
                        break
                    seq, n = hole
                    congestion.rexmitNext = (seq + n) & SEQ_MASK
                    self.stats.retransmissions += 1
                    self.stats.sackRetransmissions += 1
                    self.rtt.timedSeq = None
                    out.append(self._segment(seq, ACK, self.sendBuffer.peek(
                        seqSub(seq, self.sndUna), n), now))
                    self.log.sent(seq, n, now, True)
                    sent = True
        if self.state in SENDING_STATES and self._hasUnsent():
            first = self.sndNxt
            sndMax = self.sndMax
            if self._sendData(now, out):
                sent = True
                self.log.sent(first, (self.sndNxt - first) & SEQ_MASK, now,
                              0 < ((sndMax - first) & SEQ_MASK) < _HALF)
            if congestion.modelBased and not self._hasUnsent():
                self.log.markAppLimited((self.sndMax - self.sndUna) & SEQ_MASK)
        if (self.ackNow and not sent) and state != CLOSED:
            # A pure ACK carries SND.MAX, not SND.NXT: after a timeout
            # SND.NXT goes back for retransmission, and the peer (which may
            # have received up to SND.MAX) would find a lower sequence
            # number unacceptable and ignore the ACK, and each side then
            # retransmits for ever what the other has (BSD's tcp_output
            # does the same; Linux's tcp_acceptable_seq).
            out.append(self._segment(self.sndMax, ACK, b"", now))
        self._updateTimers(now)
        return out

    def _retransmission(self, now: float) -> TCPSegment:
        """
        Build the retransmission of the first unacknowledged segment (fast
        retransmit, NewReno partial ACK).

        @param now: the current time.
        @return: the segment.
        """
        n = min(self.mss - self._sackRoom, len(self.sendBuffer))
        flags = ACK
        if n == len(self.sendBuffer):
            if self.finSent:
                flags |= FIN
            if n:
                flags |= PSH
        self.stats.retransmissions += 1
        self.rtt.timedSeq = None
        self.congestion.rexmitNext = (self.sndUna + n) & SEQ_MASK
        self.log.sent(self.sndUna, n + (flags & FIN), now, True)
        return self._segment(self.sndUna, flags, self.sendBuffer.peek(0, n), now)

    def _resend(self, offset: int, n: int, now: float) -> TCPSegment:
        """
        Build the retransmission of C{n} sequence numbers from C{offset}
        bytes above SND.UNA (data, and our FIN if they reach it), and log
        it.

        @param offset: where it starts, from SND.UNA.
        @param n: its sequence length.
        @param now: the current time.
        @return: the segment.
        """
        sendBuffer = self.sendBuffer
        data = sendBuffer.length - offset
        if data > n:
            data = n
        if data < 0:
            data = 0
        flags = ACK
        if data < n and self.finSent:
            flags |= FIN
        elif data < n:
            n = data
        if offset + data == sendBuffer.length and data:
            flags |= PSH
        seq = (self.sndUna + offset) & SEQ_MASK
        self.stats.retransmissions += 1
        self.rtt.timedSeq = None
        self.log.sent(seq, data + (flags & FIN), now, True)
        return self._segment(seq, flags, sendBuffer.peek(offset, data), now)

    def _retransmitLost(self, now: float, out: List[TCPSegment]) -> bool:
        """
        Resend the ranges RACK marked lost, in sequence order, while the
        pipe leaves a segment's room in the congestion window (RFC 6675's
        NextSeg rule 1 with RACK's losses; new data follows in
        L{_sendData} under the same limit).

        @param now: the current time.
        @param out: where to append the segments.
        @return: whether anything was emitted.
        """
        log = self.log
        congestion = self.congestion
        mss = self.mss - self._sackRoom
        sent = False
        flight = (self.sndMax - self.sndUna) & SEQ_MASK
        una = log.position(self.sndUna)
        while log.lost and log.pipe(flight) < congestion.cwnd:
            taken = log.takeLost(mss)
            if taken is None:
                break
            start, n = taken
            if start < una:
                continue
            if start == una:
                # The head again: the RTO counts from now (as Linux
                # re-arms it), so RACK, not the timer, handles a loss of
                # this retransmission if data sent after it gets through.
                self.rtoDeadline = now + self.rtt.rto
            self.stats.sackRetransmissions += 1
            out.append(self._resend(start - una, n, now))
            sent = True
        return sent

    def _sendData(self, now: float, out: List[TCPSegment]) -> bool:
        """
        Emit as many data segments (and the FIN) as the windows allow.

        @param now: the current time.
        @param out: where to append them.
        @return: whether anything was emitted.
        """
        sent = False
        sendBuffer = self.sendBuffer
        window = -1
        sack: Tuple[Tuple[int, int], ...] = ()
        timestamp: Optional[Tuple[int, int]] = None
        rtt = self.rtt
        localPort = self.localPort
        remotePort = self.remotePort
        self.pacedUntil = None
        srtt = rtt.srtt
        perByte = 0.0
        congestion = self.congestion
        if self.pacing and (srtt or congestion.pacingRate):
            # Seconds per byte at the pacing rate, and how far ahead of it
            # a burst may run.
            slack = self.pacingBurst * self.mss
            paceNext = self.paceNext
            if congestion.pacingRate:
                perByte = 1.0 / congestion.pacingRate
                slack *= perByte
                # A model's rate is what the path delivered at the rate
                # sent: a timer that fires late must not lower it (the
                # reactor's timers are coarse), so up to a burst of the
                # lateness is made up.
                if paceNext < now - slack:
                    paceNext = now - slack
            else:
                perByte = srtt / ((2.0 if congestion.cwnd < congestion.ssthresh else 1.2)
                                  * congestion.cwnd)
                slack *= perByte
                if paceNext < now:
                    paceNext = now
        while True:
            decision = self._sendable()
            if decision is None:
                if perByte:
                    self.paceNext = paceNext
                return sent
            n, fin = decision
            if perByte:
                after = paceNext + (n + fin) * perByte
                if after - now > slack + 1e-6:
                    # Ahead of the pacing rate by more than a burst: wait.
                    # (The microsecond: the timer set for the moment pacing
                    # allows must find it allowed despite rounding.)
                    self.paceNext = paceNext
                    self.pacedUntil = after - slack
                    return sent
                paceNext = after
            if window < 0:
                # One ACK, window, timestamp and SACK for the whole burst.
                self.ackNow = False
                self.ackDeadline = None
                self._unackedBytes = 0
                window = self._advertise()
                if self.sackEnabled and self.reassembly.bytes:
                    sack = self._sackBlocks()
                if self.tsEnabled:
                    timestamp = ((int(now * 1000) + self.timestampOffset) & SEQ_MASK,
                                 self.tsRecent)  # _tsVal, inlined
            sndNxt = self.sndNxt
            sndMax = self.sndMax
            offset = ((sndNxt - self.sndUna + _HALF) & SEQ_MASK) - _HALF
            total = n
            if n == self.mss and self.segmentOffload and not fin and sndNxt == sndMax:
                # Full segments of new data: as many more as the windows
                # and pacing allow go as one segment, cut by the layer
                # below (segmentation offload; one decision, one copy out
                # of the buffer and one record for the run).
                more = self._runMore(offset, n, sndNxt)
                if more and perByte:
                    paced = int((slack + 1e-6 + now - paceNext) / (n * perByte))
                    if paced < more:
                        more = paced
                if more > 0:
                    total += more * n
                    if perByte:
                        paceNext += more * n * perByte
            payload = sendBuffer.peek(offset, total) if n else b""
            flags = ACK
            if fin:
                flags |= FIN
                self.finSent = True
                self.finSeq = (sndNxt + n) & SEQ_MASK
            if n and offset + total == sendBuffer.length:
                flags |= PSH
            if 0 < ((sndMax - sndNxt) & SEQ_MASK) < _HALF:
                self.stats.retransmissions += 1
            elif rtt.timedSeq is None and not self.tsEnabled:
                rtt.timedSeq = (sndNxt + n + fin) & SEQ_MASK
                rtt.timedAt = now
            out.append(_newTuple(TCPSegment, (localPort, remotePort, sndNxt, self.rcvNxt,
                                              flags, window, payload, None, None, False,
                                              sack, timestamp, 0)))
            sent = True
            sndNxt = (sndNxt + total + fin) & SEQ_MASK
            self.sndNxt = sndNxt
            if 0 < ((sndNxt - sndMax) & SEQ_MASK) < _HALF:
                self.sndMax = sndNxt
            self._force = False
            if fin:
                if perByte:
                    self.paceNext = paceNext
                return True
