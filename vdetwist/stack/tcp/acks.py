# -*- test-case-name: tests.stack.tcp.test_machine -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The acknowledgment processing of L{vdetwist.stack.tcp.machine.TCPMachine},
pure like the rest of it: the ACK field of an acceptable segment (RFC 9293
3.10.7.4, RFC 5961 section 5), what an ACK of new data does (the send
buffer, the RTT, the congestion window), duplicate ACKs and SACK blocks
handed to loss recovery, and the header-prediction short-cut for a pure
ACK of new data.
"""

from typing import Optional, Tuple

from vdetwist.stack.tcp.seq import SEQ_MASK, seqGE, seqGT, seqLE, seqLT
from vdetwist.stack.tcp.states import (
    CLOSING,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    REASON_DONE,
    SYN_RECEIVED,
    TIME_WAIT,
)
from vdetwist.wire.tcp import FIN, SYN, TCPSegment

__all__ = ["AckMixin"]

#: Half the sequence space (see L{vdetwist.stack.tcp.seq}), for the
#: comparisons written out on the per-segment path.
_HALF = 0x80000000


class AckMixin:
    """
    The ACK processing of L{TCPMachine<vdetwist.stack.tcp.machine.TCPMachine>}:
    a mixin working on the machine's own state, like
    L{OutputMixin<vdetwist.stack.tcp.output.OutputMixin>} and
    L{TimersMixin<vdetwist.stack.tcp.timers.TimersMixin>}.
    """

    def _fastAck(self, seq: int, ack: int, window: int,
                 sackBlocks: Tuple[Tuple[int, int], ...],
                 timestamp: Optional[Tuple[int, int]], now: float) -> bool:
        """
        Header prediction for a pure ACK of new data, in sequence, in
        ESTABLISHED (checked by L{segmentReceived}): what L{_inSynchronized}
        and L{_processAck} do with it, without their checks that cannot
        apply.  SACK blocks, a scoreboard or a FIN waiting out of order
        take the general path.

        @param seq: the segment's sequence number (RCV.NXT).
        @param ack: its acknowledgment number.
        @param window: its window field.
        @param sackBlocks: its SACK blocks.
        @param timestamp: its timestamp option.
        @param now: the current time.
        @return: whether the segment was processed.
        """
        sndUna = self.sndUna
        if (
            (sackBlocks and self.sackEnabled)
            or self.congestion.scoreboard
            or self.log.lost
            or self.peerFinOffset is not None
            # SND.UNA < SEG.ACK <= SND.MAX, and not below SND.UNA -
            # MAX.SND.WND (_processAck's checks).
            or not 0 < ((ack - sndUna) & SEQ_MASK) < _HALF
            or 0 < ((ack - self.sndMax) & SEQ_MASK) < _HALF
            or 0 < (((sndUna - self.maxSndWnd) - ack) & SEQ_MASK) < _HALF
        ):
            return False
        self._lastReceived = now
        self._keepaliveProbes = 0
        if self.tsEnabled:
            self.tsRecent = timestamp[0]  # type: ignore[index]
        self._ackAdvanced(ack, sndUna, timestamp, now)
        log = self.log
        delivered = log.delivered
        log.ackedTo(ack, now)
        congestion = self.congestion
        if congestion.modelBased:
            congestion.update(log, log.delivered - delivered,
                              (self.sndMax - ack) & SEQ_MASK, self.mss, now)
        # The window update of _processAck.
        sndWl1 = self.sndWl1
        if 0 < ((seq - sndWl1) & SEQ_MASK) < _HALF or (
                sndWl1 == seq and ((ack - self.sndWl2) & SEQ_MASK) < _HALF):
            window <<= self.sndShift
            self.sndWnd = window
            self.sndWl1 = seq
            self.sndWl2 = ack
            if window > self.maxSndWnd:
                self.maxSndWnd = window
        self._updateTimers(now)
        return True

    def _processAck(self, segment: TCPSegment, now: float) -> bool:
        """
        The ACK field of an acceptable segment (RFC 9293 3.10.7.4, fifth
        check; RFC 5961 section 5; RFC 5681/6582 for congestion control).

        @param segment: the segment.
        @param now: the current time.
        @return: whether processing of the segment should continue.
        """
        ack = segment.ack
        sndUna = self.sndUna
        if self.state == SYN_RECEIVED:
            if seqGT(ack, sndUna) and seqLE(ack, self.sndMax):
                self._established()
            else:
                self._reset(ack)
                return False
        if seqGT(ack, self.sndMax):
            self._outOfWindowAck(now)
            return False
        if seqLT(ack, (sndUna - self.maxSndWnd) & SEQ_MASK):
            self._outOfWindowAck(now)
            return False

        window = segment.window << self.sndShift
        congestion = self.congestion
        sackBlocks = segment.sackBlocks if self.sackEnabled else ()
        sackNew = False
        if ack == sndUna and sackBlocks:
            # An ACK that SACKs new data counts as a duplicate even when it
            # moves the window (RFC 6675's DupAck; Linux's receivers grow
            # their window all the time).
            before = congestion.sackedBytes()
            congestion.updateScoreboard(sackBlocks, sndUna, self.sndMax)
            sackNew = congestion.sackedBytes() > before
            sackBlocks = ()
        if seqGT(ack, sndUna):
            self._ackAdvanced(ack, sndUna, segment.timestamp, now)
        elif (
            ack == sndUna
            and self.sndMax != sndUna
            and not segment.payload
            and not segment.flags & (SYN | FIN)
            and (window == self.sndWnd or sackNew)
            and self.state != SYN_RECEIVED
        ):
            self.stats.duplicateAcks += 1
            if congestion.rack:
                # RACK, not the count, decides what is lost.
                congestion.dupAcks += 1
                if sackNew:
                    self.tlpDeadline = None
            elif congestion.duplicateAck(sndUna, self.sndMax, self.mss, self.sackEnabled,
                                         self._newDataSendable):
                self.stats.fastRetransmits += 1

        if sackBlocks or congestion.scoreboard:
            congestion.updateScoreboard(sackBlocks, self.sndUna, self.sndMax)
        if self.state != SYN_RECEIVED:
            self._logAck(now)

        # Window update.
        seq = segment.seq
        if seqLT(self.sndWl1, seq) or (
            self.sndWl1 == seq and seqLE(self.sndWl2, ack)
        ):
            self.sndWnd = window
            self.sndWl1 = seq
            self.sndWl2 = ack
            if window > self.maxSndWnd:
                self.maxSndWnd = window

        state = self.state
        if state == FIN_WAIT_1:
            if self._finAcked():
                self.state = FIN_WAIT_2
                if self.readClosed:
                    self.closeDeadline = now + self.config.finWait2Timeout
        elif state == CLOSING:
            if self._finAcked():
                self._timeWait(now)
        elif state == LAST_ACK:
            if self._finAcked():
                self._closed(REASON_DONE)
                return False
        elif state == TIME_WAIT:
            if segment.flags & FIN:
                self.ackNow = True
                self.closeDeadline = now + 2 * self.config.msl
        return True

    def _ackAdvanced(self, ack: int, sndUna: int, timestamp: Optional[Tuple[int, int]],
                     now: float) -> None:
        """
        An acceptable ACK moved SND.UNA forward: drop the acknowledged
        data, stop the RTO timer, sample the RTT, grow the window.

        @param ack: the acknowledgment number.
        @param sndUna: SND.UNA before it.
        @param timestamp: the segment's timestamp option.
        @param now: the current time.
        """
        acked = ((ack - sndUna + _HALF) & SEQ_MASK) - _HALF
        dataAcked = acked
        if sndUna == self.iss:
            dataAcked -= 1
        if self.finSent and ack == (self.finSeq + 1) & SEQ_MASK:
            dataAcked -= 1
        if dataAcked > 0:
            sendBuffer = self.sendBuffer
            sendBuffer.consume(min(dataAcked, sendBuffer.length))
        self.sndUna = ack
        if 0 < ((ack - self.sndNxt) & SEQ_MASK) < _HALF:
            self.sndNxt = ack
        self.retries = 0
        self.rtoDeadline = None
        self.tlpDeadline = None
        tlpEnd = self._tlpEnd
        if tlpEnd is not None and not 0 < ((tlpEnd - ack) & SEQ_MASK) < _HALF:
            self._tlpEnd = None
        # RTT (Karn's rule: the estimator forgets retransmitted segments
        # and echoes of timestamps sent before a timeout).
        # The send time of the newest transmission acknowledged gives the
        # round trip at this clock's resolution; the timestamp echo's
        # millisecond ticks read 0 on a LAN (an SRTT of tens of
        # microseconds, and pacing at its rate is none).
        rtt = self.rtt
        sample = self.log.roundTripTo(ack, now)
        if sample > 0.0:
            rtt.sample(sample)
            if rtt.timedSeq is not None and seqGE(ack, rtt.timedSeq):
                rtt.timedSeq = None
        elif self.tsEnabled and timestamp is not None and timestamp[1]:
            rtt.acked(ack, now, timestamp[1],
                      (int(now * 1000) + self.timestampOffset) & SEQ_MASK)  # _tsVal
        else:
            rtt.acked(ack, now)
        if self.congestionUndecided:
            self.chooseCongestion()
        self.congestion.newAck(ack, acked, self.sndMax, self.mss)
        self._persistBackoff = 0

    def _logAck(self, now: float) -> None:
        """
        Tell the sender's log what an ACK delivered: RACK marks losses
        (and recovery starts) when the peer SACKs, and a model-based
        congestion control takes the rate sample.

        @param now: the current time.
        """
        log = self.log
        congestion = self.congestion
        delivered = log.delivered
        if congestion.rack and (congestion.scoreboard or log.sacked):
            log.recovering = congestion.inRecovery
            if log.onAck(self.sndUna, congestion.scoreboard, now):
                self._rackLoss()
            if log.lost:
                congestion.sackRetransmit = True
        else:
            log.ackedTo(self.sndUna, now)
        if congestion.modelBased:
            congestion.update(log, log.delivered - delivered,
                              log.pipe((self.sndMax - self.sndUna) & SEQ_MASK), self.mss, now)

    def _rackLoss(self) -> None:
        """
        RACK marked data lost: enter recovery unless this loss belongs to
        one already answered (below RFC 6582's C{recover}), and resend.
        """
        congestion = self.congestion
        self.stats.rackLosses += 1
        if not congestion.inRecovery and seqGE(self.sndUna, congestion.recover):
            congestion.enterRecovery(self.sndUna, self.sndMax, self.mss)
            self.stats.fastRetransmits += 1
            self._tlpEnd = None
        congestion.sackRetransmit = True

    def _newDataSendable(self) -> bool:
        """
        @return: whether new data (or a FIN) could be sent now.
        """
        return self._sendable() is not None
