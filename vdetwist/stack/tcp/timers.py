# -*- test-case-name: tests.stack.tcp.test_machine -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The timers of L{vdetwist.stack.tcp.machine.TCPMachine}, pure like the
rest of it: deadlines are times kept in the machine, acted on when the
owner calls C{dispatch(now)} and reported by C{pollAt}.  The
retransmission timer (RFC 6298), the tail loss probe and RACK's reordering
timer (RFC 8985), the persist timer (zero-window probes
and the override of a window too small to use), delayed ACKs, keepalive,
and the close deadline (TIME_WAIT, FIN_WAIT_2, a connect timeout).
"""

from typing import List, Optional

from vdetwist.stack.tcp.seq import SEQ_MASK, seqSub
from vdetwist.stack.tcp.states import (
    CLOSED,
    EVENT_CLOSED,
    KEEPALIVE_STATES,
    LISTEN,
    REASON_DONE,
    REASON_TIMEOUT,
    SENDING_STATES,
    SYN_RECEIVED,
    SYN_SENT,
    TIME_WAIT,
)
from vdetwist.wire.tcp import ACK, RST, TCPSegment

__all__ = ["TimersMixin", "WORST_DELAYED_ACK", "TLP_SLACK"]

#: RFC 8985's WCDelAckT: the longest a peer may delay an ACK of a single
#: segment, added to the tail loss probe's timeout then.
WORST_DELAYED_ACK = 0.2
#: Added to the tail loss probe's two round trips when more than one
#: segment is out, as Linux adds TCP_TIMEOUT_MIN (two jiffies, 2 ms at
#: HZ=1000).  On a LAN of virtual machines the round trip is 0.1-1 ms and
#: the peer's ACK of a flight's tail waits for its scheduler and ours:
#: without the slack, a forward host->guest sent 600 probes in 5 s
#: (2026-12-06, PyPy), most of them answered by a delayed ACK already on
#: its way, each a spurious retransmission.
TLP_SLACK = 0.002


class TimersMixin:
    """
    The timers of L{TCPMachine<vdetwist.stack.tcp.machine.TCPMachine>}: a
    mixin working on the machine's own state.
    """

    def _runTimers(self, now: float, out: List[TCPSegment]) -> None:
        """
        Act on every deadline that has passed.

        @param now: the current time.
        @param out: where segments go.
        """
        if self.ackDeadline is not None and now >= self.ackDeadline:
            self.ackDeadline = None
            self.ackNow = True
        if self.closeDeadline is not None and now >= self.closeDeadline:
            if self.state in (SYN_SENT, SYN_RECEIVED):
                self._closed(REASON_TIMEOUT)
            else:
                self._closed(REASON_DONE)
            return
        if self.rtoDeadline is not None and now >= self.rtoDeadline:
            self.rtoDeadline = None
            self.tlpDeadline = None
            self._retransmitTimeout(now, out)
            if self.state == CLOSED:
                return
        if self.tlpDeadline is not None and now >= self.tlpDeadline:
            self.tlpDeadline = None
            self._lossProbe(now, out)
        log = self.log
        if log.deadline is not None and now >= log.deadline:
            log.recovering = self.congestion.inRecovery
            if log.detectLosses(now):
                self._rackLoss()
        if self.persistDeadline is not None and now >= self.persistDeadline:
            self.persistDeadline = None
            self._persistBackoff += 1
            usable = seqSub((self.sndWl2 + self.sndWnd) & SEQ_MASK, self.sndNxt)
            if usable > 0 and self.sndNxt == self.sndUna:
                # A small window is open: send what fits (RFC 9293
                # 3.8.6.2.1's override timeout).
                self._force = True
            else:
                self.stats.zeroWindowProbes += 1
                out.append(self._segment((self.sndUna - 1) & SEQ_MASK, ACK, b"", now))
        if self.keepaliveDeadline is not None and now >= self.keepaliveDeadline:
            if self._keepaliveProbes >= self.config.keepCount:
                self.abort(now)
                self.events[-1] = (EVENT_CLOSED, REASON_TIMEOUT)
                out.extend(self.outbox)
                self.outbox = []
                return
            self._keepaliveProbes += 1
            self.stats.keepaliveProbes += 1
            self.keepaliveDeadline = now + self.config.keepInterval
            out.append(self._segment((self.sndUna - 1) & SEQ_MASK, ACK, b"", now))

    def _retransmitTimeout(self, now: float, out: List[TCPSegment]) -> None:
        """
        The retransmission timer expired (RFC 6298 section 5, RFC 5681
        section 3.1): back off, collapse the congestion window and go back
        to the first unacknowledged byte.

        @param now: the current time.
        @param out: where segments go.
        """
        config = self.config
        self.retries += 1
        handshake = self.state in (SYN_SENT, SYN_RECEIVED)
        if self.retries > (config.synRetries if handshake else config.maxRetries):
            if not handshake:
                out.append(TCPSegment(self.localPort, self.remotePort, self.sndNxt,
                                      self.rcvNxt, RST | ACK, 0))
                self.stats.resetsSent += 1
            self._closed(REASON_TIMEOUT)
            return
        self.stats.retransmissionTimeouts += 1
        congestion = self.congestion
        self._tlpEnd = None
        if handshake:
            self.sndNxt = self.iss
        elif congestion.rack and self.sndNxt == self.sndMax:
            # RFC 8985 section 6.3: all that is in flight and not SACKed
            # is lost, and is resent from the lost ranges as the window
            # (one segment now) grows.
            congestion.timeout(self.retries == 1, self.sndUna, self.sndMax, self.mss)
            log = self.log
            log.ackedTo(self.sndUna, now)
            log.markAllLost(self.sndMax)
            congestion.sackRetransmit = True
        else:
            congestion.timeout(self.retries == 1, self.sndUna, self.sndMax, self.mss)
            self.log.forget()
            self.sndNxt = self.sndUna
            self._force = True
        self.rtt.backoff(self._tsVal(now))

    def _lossProbe(self, now: float, out: List[TCPSegment]) -> None:
        """
        The tail loss probe's timer expired (RFC 8985 section 7.3): resend
        the last segment sent, so that the peer's ACK (with SACK blocks)
        lets RACK find losses at the tail of the flight without waiting
        for the RTO; then the RTO is armed afresh.

        @param now: the current time.
        @param out: where segments go.
        """
        flight = (self.sndMax - self.sndUna) & SEQ_MASK
        if not flight or self._tlpEnd is not None or not self._synchronizedSending():
            return
        n = self.mss - self._sackRoom
        if n > flight:
            n = flight
        self.stats.tailLossProbes += 1
        self._tlpEnd = self.sndMax
        out.append(self._resend(flight - n, n, now))
        self.rtoDeadline = now + self.rtt.rto

    def _updateTimers(self, now: float) -> None:
        """
        Arm or disarm the retransmission, persist and keepalive timers from
        the current state.

        @param now: the current time.
        """
        state = self.state
        if state == CLOSED or state == TIME_WAIT or state == LISTEN:
            return
        if self.sndMax != self.sndUna:
            if self.rtoDeadline is None:
                self.rtoDeadline = now + self.rtt.rto
            self.persistDeadline = None
            congestion = self.congestion
            if (self.tlpDeadline is None and congestion.rack and self._tlpEnd is None
                    and not congestion.inRecovery and not self.log.lost and self.rtt.srtt):
                # The tail loss probe (RFC 8985 section 7.2): two round
                # trips, plus the worst delayed ACK when one segment is
                # out (a little slack otherwise, as Linux), unless the
                # RTO comes first.
                srtt = self.rtt.srtt
                pto = 2 * srtt
                if ((self.sndMax - self.sndUna) & SEQ_MASK) <= self.mss:
                    pto += WORST_DELAYED_ACK
                else:
                    pto += TLP_SLACK
                if now + pto < self.rtoDeadline:
                    self.tlpDeadline = now + pto
        else:
            self.rtoDeadline = None
            if (self.sendBuffer.length and self.state in SENDING_STATES
                    and (self.sndWnd == 0 or self._sendable() is None)):
                # Zero window, or one too small to use (sender SWS
                # avoidance): the persist timer probes or forces a segment.
                if self.persistDeadline is None:
                    interval = max(self.rtt.rto, self.config.minRTO) * (
                        1 << min(self._persistBackoff, 10))
                    self.persistDeadline = now + min(interval, self.config.maxRTO)
            else:
                self.persistDeadline = None
                self._persistBackoff = 0
        if self.keepAlive and state in KEEPALIVE_STATES:
            if self._keepaliveProbes == 0:
                self.keepaliveDeadline = self._lastReceived + self.config.keepIdle
        else:
            self.keepaliveDeadline = None
            self._keepaliveProbes = 0

    def pollAt(self) -> Optional[float]:
        """
        When L{dispatch} must next be called.

        @return: C{0.0} when there is something to send at once, the
            earliest deadline otherwise, or C{None} when nothing is
            pending.
        """
        state = self.state
        if self.outbox:
            return 0.0
        if state == CLOSED:
            return None
        congestion = self.congestion
        if self.ackNow or congestion.retransmitFirst or congestion.sackRetransmit:
            return 0.0
        if state == SYN_SENT or state == SYN_RECEIVED:
            if self.sndNxt == self.iss:
                return 0.0
        deadline = None
        if (state in SENDING_STATES and self._hasUnsent()
                and self._sendable() is not None):
            # Pacing may hold the next segment back until a moment.
            deadline = self.pacedUntil
            if deadline is None:
                return 0.0
        # The earliest of the deadlines, written out (this runs after
        # every wakeup).
        candidate = self.ackDeadline
        if candidate is not None and (deadline is None or candidate < deadline):
            deadline = candidate
        candidate = self.rtoDeadline
        if candidate is not None and (deadline is None or candidate < deadline):
            deadline = candidate
        candidate = self.tlpDeadline
        if candidate is not None and (deadline is None or candidate < deadline):
            deadline = candidate
        candidate = self.log.deadline
        if candidate is not None and (deadline is None or candidate < deadline):
            deadline = candidate
        candidate = self.persistDeadline
        if candidate is not None and (deadline is None or candidate < deadline):
            deadline = candidate
        candidate = self.keepaliveDeadline
        if candidate is not None and (deadline is None or candidate < deadline):
            deadline = candidate
        candidate = self.closeDeadline
        if candidate is not None and (deadline is None or candidate < deadline):
            deadline = candidate
        return deadline
