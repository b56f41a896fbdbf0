# -*- test-case-name: tests.stack.tcp.test_congestion -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Congestion control and loss recovery of one TCP connection's sender, pure:
no reactor, no clock, no segments built here.  The state machine
(L{vdetwist.stack.tcp.machine}) tells it what the acknowledgments say and
asks it how much may be in flight and what to retransmit.

Implemented: RFC 5681 slow start and congestion avoidance (slow start
counting every byte acknowledged, as Linux does), limited transmit (RFC
3042), early retransmit (RFC 5827), fast retransmit with NewReno recovery
(RFC 6582) or, when the peer sends SACK blocks, scoreboard-driven recovery
(RFC 6675: cwnd = ssthresh, holes and new data gated by the pipe), and
the collapse of the window on a retransmission timeout (RFC 5681 section
3.1).  With RACK (L{vdetwist.stack.tcp.rack}) the losses are found by
time and recovery entered by L{CongestionControl.enterRecovery}; BBR
(L{vdetwist.stack.tcp.bbr}) is a subclass.

Sequence numbers are those of the connection; C{una} and C{sndMax} (the
first unacknowledged and the highest sent sequence numbers) are passed in
by the caller, which owns them.
"""

from typing import Callable, List, Optional, Tuple

from vdetwist.stack.tcp.seq import SEQ_MASK, seqGE, seqLE, seqSub

__all__ = ["CongestionControl", "MAX_CWND", "INFINITE_SSTHRESH", "DUPTHRESH"]

#: The initial slow start threshold: arbitrarily high (RFC 5681 3.1).
INFINITE_SSTHRESH = 1 << 30
#: The congestion window never grows beyond this many bytes.
MAX_CWND = 16 * 1024 * 1024
#: Duplicate ACKs that signal a loss (RFC 5681's and RFC 6675's DupThresh).
DUPTHRESH = 3
#: In congestion avoidance the window counts as limiting the sender while
#: the bytes in flight reach it less this many segments (an ACK arrives
#: after the sender has filled the window, less what pacing held back).
CWND_LIMITED_SLACK = 2
#: The most SACK ranges the scoreboard keeps.
SCOREBOARD_RANGES = 128


class CongestionControl:
    """
    The congestion window, the slow start threshold, and fast
    retransmit/fast recovery with the SACK scoreboard.

    @ivar cwnd: the congestion window, in bytes.
    @ivar ssthresh: the slow start threshold, in bytes.
    @ivar recover: the highest sequence number sent when the current (or
        last) recovery began (RFC 6582's C{recover}).
    @ivar inRecovery: whether fast recovery is under way.
    @ivar sackRecovery: whether the current recovery is driven by the
        scoreboard (RFC 6675: cwnd = ssthresh, sending limited by the pipe)
        rather than NewReno's window inflation.
    @ivar dupAcks: consecutive duplicate ACKs.
    @ivar caBytes: bytes acknowledged towards the next congestion avoidance
        increment.
    @ivar scoreboard: SACKed ranges reported by the peer, C{(left, right)}
        sequence numbers above SND.UNA, sorted and disjoint (RFC 6675's
        scoreboard, simplified).
    @ivar rexmitNext: where the next retransmission of this recovery
        starts (holes below it have been resent).
    @ivar retransmitFirst: a request to the sender: retransmit the first
        unacknowledged segment now.
    @ivar sackRetransmit: a request to the sender: fill the pipe with
        holes and new data now (SACK recovery).
    @ivar rack: whether losses are found by RACK (L{vdetwist.stack.tcp.rack})
        rather than by counting duplicate ACKs: recovery is entered by
        L{enterRecovery}, and the sender resends the ranges RACK marks
        lost instead of walking the scoreboard's holes.
    @cvar modelBased: whether the window follows a model fed by rate
        samples (L{update}) rather than the ACKs' count.
    @cvar pacingRate: the rate the model asks the sender to pace at, bytes
        per second; 0 lets the sender derive it from cwnd and SRTT.
    """

    modelBased = False
    pacingRate = 0.0
    rack = False

    def __init__(self, cwnd: int, iss: int) -> None:
        """
        @param cwnd: the initial window in bytes (RFC 6928: ten segments).
        @param iss: our initial sequence number.
        """
        self.cwnd = cwnd
        self.ssthresh = INFINITE_SSTHRESH
        self.recover = iss
        self.inRecovery = False
        self.sackRecovery = False
        self.dupAcks = 0
        self.caBytes = 0
        self.scoreboard: List[Tuple[int, int]] = []
        self.rexmitNext = iss
        self.retransmitFirst = False
        self.sackRetransmit = False

    # -- acknowledgments ------------------------------------------------------

    def newAck(self, ack: int, acked: int, sndMax: int, mss: int) -> None:
        """
        An ACK advanced SND.UNA to C{ack}: grow the window (slow start or
        congestion avoidance), or during recovery handle a partial ACK
        (RFC 6582 section 3.2 step 5, RFC 6675) or leave recovery on a full
        one.

        @param ack: the new SND.UNA.
        @param acked: the sequence space it acknowledged.
        @param sndMax: the highest sequence number sent.
        @param mss: the sender's segment size.
        """
        if self.inRecovery:
            if seqGE(ack, self.recover):
                flight = max(0, seqSub(sndMax, ack))
                self.cwnd = min(self.ssthresh, flight + mss)
                self.inRecovery = False
                self.dupAcks = 0
            elif self.rack:
                # RACK has marked what is lost; the pipe decides.
                self.sackRetransmit = True
            elif self.sackRecovery:
                # Partial ACK: the segment now first is lost too (RFC
                # 6582's reasoning) unless already resent; the pipe
                # decides what else goes.
                if seqLE(self.rexmitNext, ack):
                    self.retransmitFirst = True
                self.sackRetransmit = True
            else:
                # NewReno partial ACK: retransmit the next hole, deflate.
                self.retransmitFirst = True
                self.cwnd = max(mss, self.cwnd - acked + mss)
        else:
            self.dupAcks = 0
            cwnd = self.cwnd
            # The window grows only while it limits the sender (RFC 7661,
            # as Linux's tcp_is_cwnd_limited): a sender held back by its
            # application or its send buffer would otherwise grow it
            # without bound, and the pacing rate derived from it with it,
            # so the next burst the application writes would leave at
            # once and overflow a small queue on the path.
            flight = ((sndMax - ack) & SEQ_MASK) + acked
            if cwnd < self.ssthresh:
                # Slow start counts every byte acknowledged (as Linux
                # does, beyond RFC 3465's L = 2*SMSS), so stretch ACKs
                # from a receiver that acknowledges a burst at once do
                # not slow it down; it is limited while it uses half.
                if cwnd < 2 * flight:
                    cwnd += acked
            elif flight + CWND_LIMITED_SLACK * mss >= cwnd:
                self.caBytes += acked
                if self.caBytes >= cwnd:
                    self.caBytes -= cwnd
                    cwnd += mss
            self.cwnd = cwnd if cwnd <= MAX_CWND else MAX_CWND

    def duplicateAck(self, una: int, sndMax: int, mss: int, sackEnabled: bool,
                     newDataSendable: Callable[[], bool]) -> bool:
        """
        A duplicate ACK (RFC 5681's definition, or one SACKing new data)
        arrived: count it, inflate the window or fill the pipe during
        recovery, or enter fast retransmit when it signals a loss.

        @param una: SND.UNA.
        @param sndMax: the highest sequence number sent.
        @param mss: the sender's segment size.
        @param sackEnabled: whether the peer sends SACK blocks.
        @param newDataSendable: tells whether the sender could send new
            data now (asked only for early retransmit).
        @return: whether fast retransmit was entered.
        """
        self.dupAcks += 1
        if self.inRecovery:
            if self.sackRecovery:
                # The pipe shrank: the next dispatch fills it.
                self.sackRetransmit = True
            else:
                self.cwnd += mss
            return False
        if not (self.lossDetected(una, sndMax, mss, newDataSendable)
                and seqGE(una, self.recover)):
            return False
        flight = seqSub(sndMax, una)
        self.ssthresh = max(flight // 2, 2 * mss)
        self.recover = sndMax
        self.sackRecovery = sackEnabled and bool(self.scoreboard)
        if self.sackRecovery:
            self.cwnd = self.ssthresh
        else:
            self.cwnd = self.ssthresh + 3 * mss
        self.inRecovery = True
        self.retransmitFirst = True
        self.rexmitNext = una
        return True

    def enterRecovery(self, una: int, sndMax: int, mss: int) -> None:
        """
        RACK marked a loss outside recovery: halve the flight into
        ssthresh and start a scoreboard-driven recovery (cwnd = ssthresh,
        sending limited by the pipe) that lasts until SND.MAX is
        acknowledged.

        @param una: SND.UNA.
        @param sndMax: the highest sequence number sent.
        @param mss: the sender's segment size.
        """
        self.ssthresh = max(seqSub(sndMax, una) // 2, 2 * mss)
        self.cwnd = self.ssthresh
        self.caBytes = 0
        self.recover = sndMax
        self.inRecovery = True
        self.sackRecovery = True

    def update(self, log: object, acked: int, inflight: int, mss: int, now: float) -> None:
        """
        A rate sample for a model-based controller (see
        L{vdetwist.stack.tcp.bbr.BBR.update}); this one counts ACKs.

        @param log: the sender's L{SentLog<vdetwist.stack.tcp.rack.SentLog>}.
        @param acked: bytes newly delivered.
        @param inflight: the bytes in flight.
        @param mss: the sender's segment size.
        @param now: the current time.
        """

    def lossDetected(self, una: int, sndMax: int, mss: int,
                     newDataSendable: Callable[[], bool]) -> bool:
        """
        Whether the duplicate ACKs so far mean a loss: three of them (RFC
        5681), three segments' worth SACKed above SND.UNA (RFC 6675's
        IsLost), or with fewer than four segments outstanding and nothing
        new to send, one less than the segments outstanding (early
        retransmit, RFC 5827).

        @param una: SND.UNA.
        @param sndMax: the highest sequence number sent.
        @param mss: the sender's segment size.
        @param newDataSendable: tells whether the sender could send new
            data now.
        @return: whether to enter fast retransmit.
        """
        dupAcks = self.dupAcks
        if dupAcks >= DUPTHRESH:
            return True
        if self.scoreboard and self.sackedBytes() >= DUPTHRESH * mss:
            return True
        outstanding = (seqSub(sndMax, una) + mss - 1) // mss
        if outstanding >= 4 or newDataSendable():
            return False
        return dupAcks == max(1, outstanding - 1)

    def timeout(self, firstTimeout: bool, una: int, sndMax: int, mss: int) -> None:
        """
        The retransmission timer expired (RFC 5681 section 3.1): halve the
        flight into ssthresh on the first of consecutive timeouts, restart
        from one segment, and forget recovery and the scoreboard (RFC 6675
        section 5.1).

        @param firstTimeout: whether this is the first consecutive timeout.
        @param una: SND.UNA.
        @param sndMax: the highest sequence number sent.
        @param mss: the sender's segment size.
        """
        if firstTimeout:
            self.ssthresh = max(seqSub(sndMax, una) // 2, 2 * mss)
        self.cwnd = mss
        self.caBytes = 0
        self.recover = sndMax
        self.inRecovery = False
        self.sackRecovery = False
        self.dupAcks = 0
        self.retransmitFirst = False
        self.sackRetransmit = False
        if not self.rack:
            # RACK keeps the SACKed ranges: what it resends is what they
            # do not cover.
            self.scoreboard = []

    # -- sending ----------------------------------------------------------------

    def room(self, offset: int, mss: int, una: int, sndMax: int) -> int:
        """
        How many more bytes the congestion window lets the sender put in
        flight.

        @param offset: the bytes from SND.UNA to SND.NXT.
        @param mss: the size of the next segment at most.
        @param una: SND.UNA.
        @param sndMax: the highest sequence number sent.
        @return: a byte count, possibly negative.
        """
        cwnd = self.cwnd
        inRecovery = self.inRecovery
        if 0 < self.dupAcks < DUPTHRESH and not inRecovery:
            # Limited transmit (RFC 3042): a new segment per early
            # duplicate ACK keeps the ACK clock going in small windows.
            cwnd += self.dupAcks * mss
        if self.sackRecovery and inRecovery:
            return cwnd - self.pipe(una, sndMax)
        return cwnd - offset

    def pipe(self, una: int, sndMax: int) -> int:
        """
        The bytes believed in the network during SACK recovery (RFC 6675
        section 4, simplified): those sent above the highest SACKed byte,
        plus the holes below it already retransmitted in this recovery;
        the other holes are taken as lost, SACKed bytes as delivered.

        @param una: SND.UNA.
        @param sndMax: the highest sequence number sent.
        @return: a byte count.
        """
        flight = seqSub(sndMax, una)
        scoreboard = self.scoreboard
        if not scoreboard:
            return flight
        rexmit = max(0, seqSub(self.rexmitNext, una))
        highest = seqSub(scoreboard[-1][1], una)
        limit = min(rexmit, highest)
        retransmitted = limit
        for left, right in scoreboard:
            start, end = seqSub(left, una), seqSub(right, una)
            if start >= limit:
                break
            retransmitted -= min(end, limit) - start
        return (flight - highest) + retransmitted

    def nextHole(self, una: int, mss: int) -> Optional[Tuple[int, int]]:
        """
        The next range to retransmit in SACK recovery: the first un-SACKed
        bytes at or after L{rexmitNext} that have at least three segments'
        worth of SACKed data above them (RFC 6675's IsLost with DupThresh
        3).

        @param una: SND.UNA.
        @param mss: the largest segment to retransmit.
        @return: C{(seq, length)} or C{None}.
        """
        if not self.scoreboard:
            return None
        position = max(seqSub(self.rexmitNext, una), 0)
        offsets = [(seqSub(left, una), seqSub(right, una)) for left, right in self.scoreboard]
        above = sum(end - start for start, end in offsets)
        for start, end in offsets:
            if position < start:
                if above < DUPTHRESH * mss:
                    return None
                return (una + position) & SEQ_MASK, min(start - position, mss)
            above -= end - start
            position = max(position, end)
        return None

    # -- the scoreboard -------------------------------------------------------

    def sackedBytes(self) -> int:
        """
        @return: the bytes the scoreboard holds as SACKed.
        """
        return sum((right - left) & SEQ_MASK for left, right in self.scoreboard)

    def updateScoreboard(self, blocks: Tuple[Tuple[int, int], ...], una: int,
                         sndMax: int) -> None:
        """
        Merge the peer's SACK blocks into the scoreboard and drop what the
        cumulative ACK now covers.  Blocks outside C{(una, sndMax]} are
        ignored (RFC 2018 section 8's validity check).

        @param blocks: C{(left, right)} sequence numbers.
        @param una: SND.UNA.
        @param sndMax: the highest sequence number sent.
        """
        limit = seqSub(sndMax, una)
        ranges = []
        for left, right in self.scoreboard:
            start, end = seqSub(left, una), seqSub(right, una)
            if end > 0:
                ranges.append((max(start, 0), end))
        for left, right in blocks:
            start, end = seqSub(left, una), seqSub(right, una)
            if 0 < start < end <= limit:
                ranges.append((start, end))
        ranges.sort()
        merged: List[List[int]] = []
        for start, end in ranges:
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1][1] = end
            else:
                merged.append([start, end])
        del merged[SCOREBOARD_RANGES:]
        self.scoreboard = [((una + start) & SEQ_MASK, (una + end) & SEQ_MASK)
                           for start, end in merged]
