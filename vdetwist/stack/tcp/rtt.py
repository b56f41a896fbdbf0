# -*- test-case-name: tests.stack.tcp.test_rtt -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The round-trip time estimator and retransmission timeout of one TCP
connection (RFC 6298), pure: no reactor, no clock; times are arguments.

Samples come two ways: from a timed segment (one at a time, its
acknowledgment measured against the time it was sent), or, with RFC 7323
timestamps, from the echoed TSval of every acknowledgment.  Karn's rule
(RFC 6298 section 3) is kept both ways: a retransmission cancels the timed
segment, and after a timeout echoes of timestamps sent before it are not
sampled (they may belong to any of the transmissions).
"""

from typing import Optional

from vdetwist.stack.tcp.seq import SEQ_MASK, seqGE

__all__ = ["RTTEstimator", "CLOCK_GRANULARITY"]

#: G of RFC 6298: the clock granularity, in seconds.
CLOCK_GRANULARITY = 0.001


class RTTEstimator:
    """
    SRTT, RTTVAR and RTO (RFC 6298 section 2) with exponential backoff
    (section 5.5) and the bookkeeping of Karn's rule.

    @ivar srtt: the smoothed round-trip time, C{None} before any sample.
    @ivar rttvar: the round-trip time variation.
    @ivar rto: the retransmission timeout, in seconds.
    @ivar minRTO: the lower bound of the RTO.
    @ivar maxRTO: the upper bound of the RTO, and of backoff.
    @ivar timedSeq: the sequence number whose acknowledgment ends the
        timed segment, or C{None} when no segment is timed.
    @ivar timedAt: when the timed segment was sent.
    @ivar tsAtTimeout: our TSval at the last timeout; echoes older than it
        give no sample.
    """

    def __init__(self, initialRTO: float, minRTO: float, maxRTO: float,
                 tsNow: int = 0) -> None:
        """
        @param initialRTO: the RTO before any sample (RFC 6298: 1 s).
        @param minRTO: the lower bound of the RTO.
        @param maxRTO: the upper bound of the RTO.
        @param tsNow: our TSval clock at creation (echoes are compared to
            it until the first timeout).
        """
        self.srtt: Optional[float] = None
        self.rttvar = 0.0
        self.rto = initialRTO
        self.minRTO = minRTO
        self.maxRTO = maxRTO
        self.timedSeq: Optional[int] = None
        self.timedAt = 0.0
        self.tsAtTimeout = tsNow & SEQ_MASK

    def sample(self, r: float) -> None:
        """
        Take one RTT measurement (RFC 6298 sections 2.2 and 2.3, K = 4,
        alpha = 1/8, beta = 1/4), then bound the RTO by L{minRTO} and
        L{maxRTO}.

        @param r: the measured round-trip time, in seconds.
        """
        srtt = self.srtt
        if srtt is None:
            srtt = r
            self.rttvar = r / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(srtt - r)
            srtt = 0.875 * srtt + 0.125 * r
        self.srtt = srtt
        self.rto = min(self.maxRTO,
                       max(self.minRTO, srtt + max(CLOCK_GRANULARITY, 4 * self.rttvar)))

    def startTiming(self, seq: int, now: float) -> None:
        """
        Time a segment: its acknowledgment is expected to reach C{seq}.

        @param seq: the sequence number just after the segment.
        @param now: when it is sent.
        """
        self.timedSeq = seq
        self.timedAt = now

    def acked(self, ack: int, now: float, echo: int = 0, tsNow: int = 0) -> None:
        """
        An acknowledgment of new data arrived: sample from its timestamp
        echo when it has one, else from the timed segment if C{ack} covers
        it.  A timed segment covered by C{ack} stops being timed either way.

        @param ack: the acknowledgment number.
        @param now: the current time.
        @param echo: the segment's TSecr, 0 without timestamps.
        @param tsNow: our TSval clock now (used only with C{echo}).
        """
        timedSeq = self.timedSeq
        if echo:
            if seqGE(echo, self.tsAtTimeout):
                sample = (tsNow - echo) & SEQ_MASK
                if sample < 0x7FFFFFFF:
                    self.sample(sample / 1000.0)
        elif timedSeq is not None and seqGE(ack, timedSeq):
            self.sample(now - self.timedAt)
        if timedSeq is not None and seqGE(ack, timedSeq):
            self.timedSeq = None

    def backoff(self, tsNow: int) -> None:
        """
        The retransmission timer expired: double the RTO up to L{maxRTO}
        (RFC 6298 section 5.5) and, by Karn's rule, drop the timed segment
        and ignore echoes of timestamps sent before now.

        @param tsNow: our TSval clock now.
        """
        self.rto = min(self.rto * 2, self.maxRTO)
        self.timedSeq = None
        self.tsAtTimeout = tsNow
