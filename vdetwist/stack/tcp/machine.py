# -*- test-case-name: tests.stack.tcp.test_machine -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The TCP state machine of one connection, pure: no reactor, no clock, no
I/O (modelled on smoltcp's C{socket/tcp.rs}).

Time is always an argument.  The owner (L{vdetwist.stack.tcp.connection})
drives a L{TCPMachine} with four kinds of calls:

    - L{TCPMachine.segmentReceived}C{(segment, now)} for each incoming
      segment addressed to this connection;
    - the application's requests: L{TCPMachine.send}, L{TCPMachine.read},
      L{TCPMachine.close}, L{TCPMachine.abort};
    - L{TCPMachine.dispatch}C{(now)}, which runs expired timers and returns
      every segment to transmit now (retransmissions, as much new data as
      the windows allow, FIN, ACKs);
    - L{TCPMachine.pollAt}C{()}, the time at which C{dispatch} must next be
      called (C{0.0} meaning at once, C{None} meaning never).

What happened for the application is appended to L{TCPMachine.events}
(L{EVENT_CONNECTED}, L{EVENT_EOF}, L{EVENT_CLOSED} with a reason); data
received in order waits in L{TCPMachine.receiveBuffer} until C{read}.

Implemented: RFC 9293 states and segment processing, RFC 5961 (RST and
SYN challenge ACKs, ACK range check), ACKs to unacceptable segments rate
limited as Linux does, RFC 6298 RTO with Karn's rule (extended to
timestamps echoing a pre-timeout transmission) and exponential backoff
(minimum RTO 200 ms, as Linux: the 1 s of RFC 6298 is far longer than any
virtual LAN's RTT), RFC 5681 slow start and congestion avoidance with an
initial window of 10 segments (RFC 6928), limited transmit (RFC 3042),
early retransmit (RFC 5827), fast retransmit with NewReno recovery (RFC
6582) or, when the peer sends SACK blocks, scoreboard-driven recovery
(RFC 6675: cwnd = ssthresh, holes and new data gated by the pipe) with
losses found by time rather than by duplicate ACKs and a tail loss probe
(RACK-TLP, RFC 8985, L{vdetwist.stack.tcp.rack}), optionally BBR v1
instead of NewReno (L{vdetwist.stack.tcp.bbr}), RFC
7323 window scaling, timestamps and PAWS, RFC 2018 SACK both ways (out
of order data is reassembled and reported, the peer's blocks kept in a
scoreboard), the MSS option, delayed ACKs (every second full-sized
segment is acknowledged at once), Nagle's algorithm (switchable) and
sender and receiver silly window avoidance (never holding back a
retransmission), zero-window probing (Linux style: an old sequence number
with no data, which the peer must answer with its window; a window too
small to use is forced by the same timer), keepalive, half-close,
TIME_WAIT for 2*MSL, a short-cut for in-order data (header prediction).

The parts live by concern: this module processes input (RFC 9293 section
3.10.7) and the application's requests; L{vdetwist.stack.tcp.output}
builds what goes out, L{vdetwist.stack.tcp.acks} processes the ACK field
and L{vdetwist.stack.tcp.timers} runs the deadlines (mixins sharing the
machine's state, with no indirection per segment);
L{vdetwist.stack.tcp.congestion} (congestion control and loss recovery)
and L{vdetwist.stack.tcp.rtt} (the RFC 6298 estimator) are objects of
their own, driven through method calls and tested alone; the tunables and
counters are in L{vdetwist.stack.tcp.config}, the state names in
L{vdetwist.stack.tcp.states}.
"""

from typing import List, Optional, Tuple

from vdetwist.stack.tcp.acks import AckMixin
from vdetwist.stack.tcp.bbr import BBR
from vdetwist.stack.tcp.buffers import ReassemblyBuffer, ReceiveBuffer, SendBuffer
from vdetwist.stack.tcp.config import QUICK_ACKS, TCPConfig, TCPStatistics, windowShiftFor
from vdetwist.stack.tcp.congestion import CongestionControl
from vdetwist.stack.tcp.output import OutputMixin
from vdetwist.stack.tcp.rack import SentLog
from vdetwist.stack.tcp.rtt import RTTEstimator
from vdetwist.stack.tcp.seq import (
    SEQ_MASK,
    seqGE,
    seqGT,
    seqInWindow,
    seqLE,
    seqLT,
    seqSub,
)
from vdetwist.stack.tcp.states import (
    CLOSE_WAIT,
    CLOSED,
    CLOSING,
    ESTABLISHED,
    EVENT_CLOSED,
    EVENT_CONNECTED,
    EVENT_EOF,
    FIN_WAIT_1,
    FIN_WAIT_2,
    LAST_ACK,
    LISTEN,
    REASON_ABORTED,
    REASON_DONE,
    REASON_REFUSED,
    REASON_RESET,
    REASON_TIMEOUT,
    REASON_UNREACHABLE,
    RECEIVING_STATES,
    SYN_RECEIVED,
    SYN_SENT,
    TIME_WAIT,
)
from vdetwist.stack.tcp.timers import TimersMixin
from vdetwist.wire.tcp import ACK, FIN, RST, SYN, TCPSegment

#: Half the sequence space (see L{vdetwist.stack.tcp.seq}), for the
#: comparisons written out on the per-segment path.
_HALF = 0x80000000

__all__ = [
    "CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED",
    "FIN_WAIT_1", "FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK",
    "TIME_WAIT",
    "EVENT_CONNECTED", "EVENT_EOF", "EVENT_CLOSED",
    "REASON_DONE", "REASON_RESET", "REASON_REFUSED", "REASON_TIMEOUT",
    "REASON_ABORTED", "REASON_UNREACHABLE",
    "TCPConfig", "TCPStatistics", "TCPMachine",
]


class TCPMachine(AckMixin, OutputMixin, TimersMixin):
    """
    One TCP connection's state.  See the module docstring for how to drive
    it.  Attributes named after RFC 9293's variables are public for tests
    and diagnostics; treat them as read-only.

    @ivar state: one of the state constants.
    @ivar events: C{(event, detail)} pairs not yet consumed by the owner.
    @ivar sendBuffer: unacknowledged and unsent data.
    @ivar receiveBuffer: in-order data not yet read.
    @ivar reassembly: out-of-order data.
    @ivar noDelay: disable Nagle's algorithm.
    @ivar keepAlive: send keepalive probes when idle.
    @ivar readClosed: the application will read no more (fully closed):
        data is acknowledged and discarded, and FIN_WAIT_2 times out.
    @ivar congestion: the sender's congestion control and loss recovery.
    @ivar rtt: the RTT estimator and retransmission timeout.
    @ivar log: what is in flight and when it was sent (RACK's loss
        detection and the delivery rate samples).
    @ivar tlpDeadline: when the tail loss probe goes, or C{None}.
    @cvar headerPrediction: take the short-cut for in-order data (tests
        compare the output with and without it).
    """

    headerPrediction = True

    def __init__(
        self,
        localPort: int,
        remotePort: int,
        iss: int,
        config: Optional[TCPConfig] = None,
        statistics: Optional[TCPStatistics] = None,
        timestampOffset: int = 0,
    ) -> None:
        """
        @param localPort: our port.
        @param remotePort: the peer's port.
        @param iss: our initial sequence number.
        @param config: tunables; the defaults when omitted.
        @param statistics: where to count; a private set when omitted.
        @param timestampOffset: added to our millisecond clock for TSval.
        """
        if config is None:
            config = TCPConfig()
        self.config = config
        self.stats = statistics if statistics is not None else TCPStatistics()
        self.localPort = localPort
        self.remotePort = remotePort
        self.state = CLOSED
        self.events: List[Tuple[str, Optional[str]]] = []
        self.outbox: List[TCPSegment] = []

        self.iss = iss
        self.sndUna = iss
        self.sndNxt = iss
        self.sndMax = iss
        self.sndWnd = 0
        self.sndWl1 = 0
        self.sndWl2 = iss
        self.maxSndWnd = 0
        self.sndShift = 0
        self.finQueued = False
        self.finSent = False
        self.finSeq = 0

        self.irs = 0
        self.rcvNxt = 0
        self.rcvAdv = 0
        self.rcvShift = 0
        self.rcvStream = 0
        self.peerFinOffset: Optional[int] = None

        self.sendBuffer = SendBuffer(config.sendBufferSize)
        self.receiveBuffer = ReceiveBuffer(config.receiveBufferSize)
        self.reassembly = ReassemblyBuffer(config.maxOutOfOrder)

        self.peerMSS = 536
        self.mss = min(536, config.mss)
        self.tsEnabled = False
        self.tsRecent = 0
        self.timestampOffset = timestampOffset
        self.sackEnabled = False
        self.wsEnabled = False
        self.noDelay = False
        self.keepAlive = False
        self.readClosed = False

        if config.congestionControl == "bbr":
            self.congestion: CongestionControl = BBR(config.initialWindow * self.mss, iss)
        elif config.congestionControl in ("newreno", "auto"):
            self.congestion = CongestionControl(config.initialWindow * self.mss, iss)
        else:
            raise ValueError(f"unknown congestion control {config.congestionControl!r}")
        #: "auto" decides at the handshake's round trip (L{chooseCongestion}).
        self.congestionUndecided = config.congestionControl == "auto"
        self.log = SentLog(iss)
        self.log.rateSampling = self.congestion.modelBased
        self.tlpDeadline: Optional[float] = None
        self._tlpEnd: Optional[int] = None
        self.rtt = RTTEstimator(config.initialRTO, config.minRTO, config.maxRTO,
                                timestampOffset)
        self._force = False
        self._sackRoom = 0
        self.retries = 0
        self.pacing, self.pacingBurst = bool(config.pacing), config.pacingBurst

        self.rtoDeadline: Optional[float] = None
        self.persistDeadline: Optional[float] = None
        self._persistBackoff = 0
        self.ackDeadline: Optional[float] = None
        self.keepaliveDeadline: Optional[float] = None
        self._keepaliveProbes = 0
        self.closeDeadline: Optional[float] = None
        self.ackNow = False
        self._unackedBytes = 0
        self._quickAcks = 0
        self._rcvMSS = 0
        self._challengeStart = -1.0
        self._challengeCount = 0
        self._lastOutOfWindowAck = float("-inf")
        self._lastReceived = 0.0

    # -- diagnostics: the estimators' values under RFC names ---------------

    @property
    def cwnd(self) -> int:
        """
        The congestion window (L{CongestionControl.cwnd}); settable, for
        tests that start from a given window.
        """
        return self.congestion.cwnd

    @cwnd.setter
    def cwnd(self, value: int) -> None:
        self.congestion.cwnd = value

    @property
    def ssthresh(self) -> int:
        """
        The slow start threshold (L{CongestionControl.ssthresh}).
        """
        return self.congestion.ssthresh

    @property
    def inRecovery(self) -> bool:
        """
        Whether fast recovery is under way (L{CongestionControl.inRecovery}).
        """
        return self.congestion.inRecovery

    @property
    def sackRecovery(self) -> bool:
        """
        Whether recovery is scoreboard driven
        (L{CongestionControl.sackRecovery}).
        """
        return self.congestion.sackRecovery

    @property
    def scoreboard(self) -> List[Tuple[int, int]]:
        """
        The peer's SACKed ranges (L{CongestionControl.scoreboard}).
        """
        return self.congestion.scoreboard

    @property
    def srtt(self) -> Optional[float]:
        """
        The smoothed RTT (L{RTTEstimator.srtt}).
        """
        return self.rtt.srtt

    @property
    def rto(self) -> float:
        """
        The retransmission timeout (L{RTTEstimator.rto}).
        """
        return self.rtt.rto

    # -- application requests ---------------------------------------------

    def listen(self) -> None:
        """
        Wait for a SYN (passive open).
        """
        self.state = LISTEN

    def openFromCookie(self, syn: TCPSegment, now: float) -> None:
        """
        Recreate the half-open connection a SYN cookie stood for (see
        L{vdetwist.stack.tcp.syncookies}): as if C{syn} had been received
        in LISTEN and our SYN-ACK, with our ISS as the cookie, sent.  The
        peer's ACK, given next to L{segmentReceived}, completes the
        handshake.

        @param syn: the peer's SYN as the cookie describes it: its
            sequence number, and the MSS, window scale, SACK-permitted and
            timestamp options the cookie (and the ACK's timestamp) carried.
        @param now: the current time.
        """
        self.state = LISTEN
        self._inListen(syn, now)
        self.sndNxt = self.sndMax = (self.iss + 1) & SEQ_MASK

    def connect(self, now: float, timeout: Optional[float] = None) -> None:
        """
        Start an active open: the next L{dispatch} sends the SYN.

        @param now: the current time.
        @param timeout: give up (closing with L{REASON_TIMEOUT}) if the
            handshake has not completed this many seconds from now; without
            it, L{TCPConfig.synRetries} bounds the attempt.
        """
        self.state = SYN_SENT
        self._lastReceived = now
        if timeout is not None:
            self.closeDeadline = now + timeout

    def send(self, data: bytes) -> None:
        """
        Queue data for sending.  Data written after L{close} still goes
        out before the FIN as long as the FIN has not been sent (as a
        Twisted transport sends what is written after C{loseConnection}
        until it is really closed); after that it is dropped.

        @param data: the bytes.
        """
        if self.finSent or self.state in (CLOSED, LISTEN, TIME_WAIT):
            return
        self.sendBuffer.write(data)

    def read(self) -> bytes:
        """
        Take the data received in order so far, and note the window that
        reading opens (a window update is sent when it grew enough).

        @return: the bytes, possibly empty.
        """
        receiveBuffer = self.receiveBuffer
        data = receiveBuffer.read()
        if data and self.state in RECEIVING_STATES:
            # Written out: this runs for every delivery.
            advertised = ((self.rcvAdv - self.rcvNxt + _HALF) & SEQ_MASK) - _HALF
            if advertised < 0:
                advertised = 0
            half = receiveBuffer.capacity // 2
            if advertised < half:
                space = receiveBuffer.capacity - receiveBuffer.length
                if space < 0:
                    space = 0
                if space - advertised >= min(half, 2 * self.mss):
                    self.ackNow = True
        return data

    def sendBacklog(self) -> int:
        """
        The bytes of the send buffer that count against the producer's
        high-water mark (L{TCPConfig.sendBufferSize}): what is not yet
        sent, plus what is in flight beyond L{TCPConfig.sendFlightAllowance}.
        Data in flight waits on the path, not on the application: counting
        it would starve a sender whose flight holds SACKed data above a
        hole for a few round trips (the lossy path of issue 13).

        @return: a byte count.
        """
        length = self.sendBuffer.length
        flight = (self.sndMax - self.sndUna) & SEQ_MASK
        if flight > length:
            flight = length
        allowance = self.config.sendFlightAllowance
        return length - (flight if flight < allowance else allowance)

    def close(self, now: float) -> None:
        """
        Close our sending direction: a FIN follows the queued data.

        @param now: the current time.
        """
        state = self.state
        if state in (LISTEN, SYN_SENT):
            self._closed(REASON_DONE)
        elif state in (SYN_RECEIVED, ESTABLISHED, CLOSE_WAIT):
            self.finQueued = True
            if state == ESTABLISHED:
                self.state = FIN_WAIT_1
            elif state == CLOSE_WAIT:
                self.state = LAST_ACK

    def abort(self, now: float) -> None:
        """
        Drop the connection at once, sending a RST when synchronized.

        @param now: the current time.
        """
        if self.state in (CLOSED, LISTEN, SYN_SENT, TIME_WAIT):
            if self.state != CLOSED:
                self._closed(REASON_ABORTED)
            return
        self.outbox.append(
            TCPSegment(self.localPort, self.remotePort, self.sndNxt,
                       self.rcvNxt, RST | ACK, 0)
        )
        self.stats.resetsSent += 1
        self._closed(REASON_ABORTED)

    def errorReceived(self, reason: str, seq: int) -> None:
        """
        An ICMP error (or a local delivery failure) quoting one of our
        segments.  Only an attempt to connect is given up (RFC 1122
        4.2.3.9, RFC 5927: errors for synchronized connections are soft
        and ignored), and only when the quoted sequence number is one we
        have sent and not had acknowledged.

        @param reason: L{REASON_REFUSED} (port or protocol unreachable) or
            L{REASON_UNREACHABLE}.
        @param seq: the sequence number in the quoted TCP header.
        """
        if self.state == SYN_SENT and seqGE(seq, self.sndUna) and seqLT(seq, self.sndMax):
            self._closed(reason)

    # -- helpers ------------------------------------------------------------

    def _closed(self, reason: str) -> None:
        """
        Enter CLOSED and tell the owner why.

        @param reason: one of the C{REASON_*} values.
        """
        self.state = CLOSED
        self.rtoDeadline = None
        self.persistDeadline = None
        self.ackDeadline = None
        self.keepaliveDeadline = None
        self.closeDeadline = None
        self.ackNow = False
        self.congestion.retransmitFirst = False
        self.tlpDeadline = None
        self.log.forget()
        self.events.append((EVENT_CLOSED, reason))

    def _timeWait(self, now: float) -> None:
        """
        Enter TIME_WAIT for 2*MSL.

        @param now: the current time.
        """
        self.state = TIME_WAIT
        self.rtoDeadline = None
        self.tlpDeadline = None
        self.log.forget()
        self.persistDeadline = None
        self.keepaliveDeadline = None
        self.closeDeadline = now + 2 * self.config.msl

    def _tsVal(self, now: float) -> int:
        """
        @param now: the current time.
        @return: our timestamp clock (milliseconds) for TSval.
        """
        return (int(now * 1000) + self.timestampOffset) & SEQ_MASK

    def _outOfWindowAck(self, now: float, segLen: int = 0) -> None:
        """
        Answer an unacceptable segment (out of window, failing PAWS, or
        acknowledging data never sent) with an ACK, at most once per
        L{TCPConfig.outOfWindowAckInterval}, as Linux's
        C{tcp_invalid_ratelimit} does.  Without the limit two ends that
        disagree about the sequence space (after a forged segment was
        accepted) answer each other's ACKs for ever: an ACK storm.

        Segments carrying data or FIN are always answered (as Linux's
        C{tcp_oow_rate_limited} exempts them): they are retransmissions
        whose sender needs our ACK to stop.

        @param now: the current time.
        @param segLen: the segment's sequence length without SYN.
        """
        if segLen > 0:
            self.ackNow = True
        elif now - self._lastOutOfWindowAck >= self.config.outOfWindowAckInterval:
            self._lastOutOfWindowAck = now
            self.ackNow = True
        else:
            self.stats.outOfWindowAcksLimited += 1

    def _challengeAck(self, now: float) -> None:
        """
        Send a challenge ACK (RFC 5961), at most
        L{TCPConfig.challengeAckLimit} per second.

        @param now: the current time.
        """
        if now - self._challengeStart >= 1.0:
            self._challengeStart = now
            self._challengeCount = 0
        if self._challengeCount < self.config.challengeAckLimit:
            self._challengeCount += 1
            self.stats.challengeAcks += 1
            self.ackNow = True

    def _reset(self, seq: int) -> None:
        """
        Queue a RST answering a segment with an unacceptable ACK.

        @param seq: the sequence number for the RST (the segment's ACK).
        """
        self.outbox.append(TCPSegment(self.localPort, self.remotePort, seq, 0, RST, 0))
        self.stats.resetsSent += 1

    def _negotiate(self, segment: TCPSegment) -> None:
        """
        Take the peer's SYN options into account.

        @param segment: the SYN or SYN-ACK.
        """
        config = self.config
        self.peerMSS = segment.mss or 536
        self.tsEnabled = config.timestamps and segment.timestamp is not None
        if self.tsEnabled:
            self.tsRecent = segment.timestamp[0]  # type: ignore[index]
        self.sackEnabled = config.sack and segment.sackPermitted
        self.congestion.rack = self.sackEnabled and bool(config.rack)
        self.wsEnabled = config.windowScaling and segment.windowScale is not None
        if self.wsEnabled:
            self.sndShift = min(segment.windowScale or 0, 14)
            self.rcvShift = windowShiftFor(config.receiveBufferSize)
        else:
            self.sndShift = 0
            self.rcvShift = 0
        self.mss = max(64, min(self.peerMSS, config.mss) - (12 if self.tsEnabled else 0))
        self.log.dupThreshBytes = 3 * self.mss
        self.congestion.cwnd = config.initialWindow * self.mss
        self.irs = segment.seq
        self.rcvNxt = (segment.seq + 1) & SEQ_MASK
        self.rcvAdv = (self.rcvNxt + min(self.receiveBuffer.space(), 65535)) & SEQ_MASK

    def chooseCongestion(self) -> None:
        """
        C{congestionControl="auto"}, once a round trip is measured (the
        handshake's, before any data is sent): BBR on a path whose round
        trip is at least L{TCPConfig.bbrAboveRTT} (a WAN, where random loss
        is common and a loss-based window collapses under it), NewReno
        below (a LAN of virtual machines, where losses are a full queue
        and NewReno spends less per ACK: docs/performance.txt).
        """
        srtt = self.rtt.srtt
        if srtt is None:
            return
        self.congestionUndecided = False
        # Only before any data is sent (a connection opened from a SYN
        # cookie has no handshake round trip: it stays with NewReno).
        if srtt >= self.config.bbrAboveRTT and self.sndMax == self.sndUna:
            bbr = BBR(self.congestion.cwnd, self.iss)
            bbr.rack = self.congestion.rack
            self.congestion = bbr
            self.log.rateSampling = True

    def _established(self) -> None:
        """
        The handshake completed.
        """
        self.closeDeadline = None
        if self.finQueued:
            self.state = FIN_WAIT_1
        else:
            self.state = ESTABLISHED
        self.events.append((EVENT_CONNECTED, None))

    # -- input --------------------------------------------------------------

    def segmentReceived(self, segment: TCPSegment, now: float) -> None:
        """
        Process one incoming segment (RFC 9293 section 3.10.7).  Replies
        are produced by the next L{dispatch}.

        @param segment: the segment, addressed to this connection.
        @param now: the current time.
        """
        state = self.state
        flags = segment.flags
        if state == ESTABLISHED and flags & 0x37 == ACK and self.headerPrediction:
            # Header prediction (RFC 9293's processing, short-cut for the
            # two commonest segments, when in sequence and, with
            # timestamps, not older than TS.Recent, which they become).
            (_, _, seq, ack, _, window, payload, _, _, _, sackBlocks, timestamp,
             _) = segment
            rcvNxt = self.rcvNxt
            if seq == rcvNxt and (not self.tsEnabled or (
                    timestamp is not None
                    and not 0 < ((self.tsRecent - timestamp[0]) & SEQ_MASK) < _HALF)):
                if payload:
                    if (
                        ack == self.sndUna
                        and not self.reassembly.bytes
                        and not self.readClosed
                        and (window << self.sndShift) == self.sndWnd
                        and len(payload) <= ((self.rcvAdv - rcvNxt + _HALF) & SEQ_MASK) - _HALF
                    ):
                        # In-order data that changes nothing else.
                        if self.tsEnabled:
                            self.tsRecent = timestamp[0]  # type: ignore[index]
                        self._lastReceived = now
                        self._keepaliveProbes = 0
                        self.sndWl1 = seq
                        self._inOrder(payload, now)
                        return
                elif self._fastAck(seq, ack, window, sackBlocks, timestamp, now):
                    return
        if state == CLOSED:
            return
        if state == LISTEN:
            self._inListen(segment, now)
        elif state == SYN_SENT:
            self._inSynSent(segment, now)
        else:
            self._inSynchronized(segment, now)
        self._updateTimers(now)
        if flags & RST:
            self.stats.resetsReceived += 1

    def _inListen(self, segment: TCPSegment, now: float) -> None:
        """
        A segment for a listening machine.

        @param segment: the segment.
        @param now: the current time.
        """
        flags = segment.flags
        if flags & RST:
            return
        if flags & ACK:
            self._reset(segment.ack)
            return
        if not flags & SYN:
            return
        self._negotiate(segment)
        self.sndWnd = segment.window
        self.maxSndWnd = self.sndWnd
        self.sndWl1 = segment.seq
        self.sndWl2 = self.iss
        self.state = SYN_RECEIVED
        self._lastReceived = now

    def _inSynSent(self, segment: TCPSegment, now: float) -> None:
        """
        A segment while our SYN is outstanding.

        @param segment: the segment.
        @param now: the current time.
        """
        flags = segment.flags
        if flags & ACK:
            ack = segment.ack
            if seqLE(ack, self.iss) or seqGT(ack, self.sndMax):
                if not flags & RST:
                    self._reset(ack)
                return
        if flags & RST:
            if flags & ACK:
                self._closed(REASON_REFUSED)
            return
        if not flags & SYN:
            return
        self._negotiate(segment)
        self._lastReceived = now
        if flags & ACK:
            self.sndUna = segment.ack
            if seqLT(self.sndNxt, self.sndUna):
                self.sndNxt = self.sndUna
            self.sndWnd = segment.window
            self.maxSndWnd = self.sndWnd
            self.sndWl1 = segment.seq
            self.sndWl2 = segment.ack
            self.rtoDeadline = None
            self.retries = 0
            rtt = self.rtt
            if rtt.timedSeq is not None:
                rtt.sample(now - rtt.timedAt)
                rtt.timedSeq = None
            if self.congestionUndecided:
                self.chooseCongestion()
            self._established()
            self.ackNow = True
        else:
            # Simultaneous open: answer with SYN-ACK, same ISS.
            self.sndWnd = segment.window
            self.maxSndWnd = self.sndWnd
            self.sndWl1 = segment.seq
            self.state = SYN_RECEIVED
            self.sndNxt = self.iss
            self.rtoDeadline = None

    def _inSynchronized(self, segment: TCPSegment, now: float) -> None:
        """
        A segment in SYN_RECEIVED or a later state.

        @param segment: the segment.
        @param now: the current time.
        """
        flags = segment.flags
        seq = segment.seq
        payload = segment.payload
        rcvNxt = self.rcvNxt
        window = max(0, seqSub(self.rcvAdv, rcvNxt))
        segLen = len(payload) + (flags & SYN) // SYN + (flags & FIN)

        # RST (RFC 5961 section 3.2).
        if flags & RST:
            if seq == rcvNxt:
                self._closed(REASON_RESET)
            elif seqInWindow(seq, rcvNxt, max(window, 1)):
                self._challengeAck(now)
            return

        # SYN in a synchronized state (RFC 5961 section 4).
        if flags & SYN:
            if self.state == SYN_RECEIVED and seq == self.irs:
                if not flags & ACK:
                    # The peer did not hear our SYN-ACK: send it again.
                    self.sndNxt = self.iss
                    return
                if segment.ack == self.sndMax and not payload:
                    # Simultaneous open: the peer's SYN-ACK acknowledges
                    # our SYN (as Linux's tcp_validate_incoming allows).
                    segment = segment._replace(seq=rcvNxt, flags=flags & ~SYN)
                    flags = segment.flags
                    seq = rcvNxt
                    segLen = 0
                else:
                    self._challengeAck(now)
                    return
            else:
                self._challengeAck(now)
                return

        # PAWS (RFC 7323 section 5).
        timestamp = segment.timestamp
        if self.tsEnabled and timestamp is not None:
            if seqLT(timestamp[0], self.tsRecent):
                self.stats.pawsDropped += 1
                self._outOfWindowAck(now, segLen - (flags & SYN) // SYN)
                return

        # Acceptability (RFC 9293 section 3.10.7.4, first check).
        if segLen == 0:
            acceptable = seq == rcvNxt if window == 0 else seqInWindow(seq, rcvNxt, window)
        elif window == 0:
            acceptable = False
            if seq == rcvNxt:
                # Zero window: still take the ACK, drop the data.
                payload = b""
                flags &= ~FIN
                segLen = 0
                acceptable = True
                self.ackNow = True
        else:
            acceptable = seqInWindow(seq, rcvNxt, window) or seqInWindow(
                (seq + segLen - 1) & SEQ_MASK, rcvNxt, window
            )
        if not acceptable:
            self._outOfWindowAck(now, segLen)
            if self.state == TIME_WAIT and flags & FIN:
                self.closeDeadline = now + 2 * self.config.msl
            return

        self._lastReceived = now
        self._keepaliveProbes = 0
        if timestamp is not None and self.tsEnabled and seqLE(seq, rcvNxt):
            self.tsRecent = timestamp[0]

        # Trim to the window.
        if payload:
            if seqLT(seq, rcvNxt):
                payload = payload[seqSub(rcvNxt, seq):]
                seq = rcvNxt
            room = seqSub(self.rcvAdv, seq)
            if len(payload) > room:
                payload = payload[:max(0, room)]
                flags &= ~FIN

        # ACK.
        if not flags & ACK:
            return
        if not self._processAck(segment, now):
            return

        # Data.
        state = self.state
        if payload and state in RECEIVING_STATES:
            if seq == self.rcvNxt:
                self._inOrder(payload, now)
            else:
                offset = self.rcvStream + seqSub(seq, self.rcvNxt)
                self.stats.outOfOrderSegments += 1
                self._quickAcks = QUICK_ACKS
                if not self.reassembly.add(offset, payload):
                    self.stats.reassemblyDrops += 1
                if flags & FIN:
                    self.peerFinOffset = offset + len(payload)
                    flags &= ~FIN
                self.ackNow = True
        elif payload:
            payload = b""

        # FIN.
        if flags & FIN and (seq + len(payload)) & SEQ_MASK == self.rcvNxt:
            self._finReceived(now)
        elif (
            self.peerFinOffset is not None
            and self.peerFinOffset == self.rcvStream
            and self.state in RECEIVING_STATES
        ):
            self._finReceived(now)

    def _inOrder(self, payload: bytes, now: float) -> None:
        """
        Accept data that starts at RCV.NXT, with whatever it unlocks from
        the reassembly buffer.

        @param payload: the data.
        @param now: the current time.
        """
        size = len(payload)
        if not self.readClosed:
            self.receiveBuffer.write(payload)
        self.rcvNxt = (self.rcvNxt + size) & SEQ_MASK
        self.rcvStream += size
        if self.reassembly.bytes:
            pieces = self.reassembly.pop(self.rcvStream)
            for piece in pieces:
                if not self.readClosed:
                    self.receiveBuffer.write(piece)
                self.rcvNxt = (self.rcvNxt + len(piece)) & SEQ_MASK
                self.rcvStream += len(piece)
            self.ackNow = True
        if size > self._rcvMSS:
            # At most the MSS we advertised (as Linux's tcp_measure_rcv_mss):
            # a segment the receive offload merged is several of the
            # peer's, and must not make the ACK rules wait for several of
            # its size.
            self._rcvMSS = size if size <= self.config.mss else self.config.mss
        if self._quickAcks:
            self._quickAcks -= 1
        self._unackedBytes += size
        if self._unackedBytes >= 2 * self._rcvMSS:
            self.ackNow = True
        elif self.ackDeadline is None:
            self.ackDeadline = now + self.config.ackDelay

    def _finReceived(self, now: float) -> None:
        """
        The peer's FIN is next in sequence: consume it.

        @param now: the current time.
        """
        self.rcvNxt = (self.rcvNxt + 1) & SEQ_MASK
        self.peerFinOffset = None
        self.ackNow = True
        state = self.state
        if state in (SYN_RECEIVED, ESTABLISHED):
            self.state = CLOSE_WAIT
        elif state == FIN_WAIT_1:
            if self._finAcked():
                self._timeWait(now)
            else:
                self.state = CLOSING
        elif state == FIN_WAIT_2:
            self._timeWait(now)
        else:
            return
        self.events.append((EVENT_EOF, None))

    def _finAcked(self) -> bool:
        """
        @return: whether our FIN was sent and acknowledged.
        """
        return self.finSent and self.sndUna == (self.finSeq + 1) & SEQ_MASK
