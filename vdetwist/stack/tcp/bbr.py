# -*- test-case-name: tests.stack.tcp.test_bbr -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Model-based congestion control after BBR v1 (draft-cardwell-iccrg-bbr-
congestion-control-00), pure like L{vdetwist.stack.tcp.congestion}: the
sender paces at a gain times the bottleneck bandwidth it measured and
keeps at most twice the bandwidth-delay product in flight, whatever
random losses happen (a loss-based sender's window collapses under them:
Mathis's formula gives about 140 KB/s at 10 % loss and a 40 ms round
trip).

The model: the delivery rate samples of L{vdetwist.stack.tcp.rack.SentLog}
feed a windowed maximum over ten round trips (the bottleneck bandwidth)
and the least round trip seen in ten seconds (the propagation delay).
STARTUP doubles the rate each round trip until the bandwidth stops
growing by a quarter for three rounds, DRAIN empties the queue that made,
PROBE_BW cycles the pacing gain over 1.25, 0.75 and six rounds of 1.  As
in Linux, the window also covers the data ACKs delivered in a batch
beyond the bandwidth (ACK aggregation, up to 100 ms of it).
PROBE_RTT is left out: the minimum round trip is simply allowed to rise
to a fresh sample once it is ten seconds old.

Loss recovery (which ranges to resend) stays with RACK and the
scoreboard; only the window and the pacing rate come from the model.
"""

from collections import deque
from typing import Deque, Tuple

from vdetwist.stack.tcp.congestion import MAX_CWND, CongestionControl
from vdetwist.stack.tcp.rack import SentLog
from vdetwist.stack.tcp.seq import seqGE

__all__ = ["BBR", "STARTUP", "DRAIN", "PROBE_BW", "HIGH_GAIN"]

STARTUP = "startup"
DRAIN = "drain"
PROBE_BW = "probe_bw"

#: 2/ln(2): the smallest gain that doubles the delivery rate per round.
HIGH_GAIN = 2.885
#: PROBE_BW's pacing gains, one round trip each.
CYCLE = (1.25, 0.75, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
#: The round trips the bandwidth filter remembers.
BW_WINDOW = 10
#: Seconds a minimum round trip is trusted.
MIN_RTT_WINDOW = 10.0
#: The least round trip the window is sized for (seconds): on a LAN the
#: least round trip seen (0.13 ms through vde_switch here) is a fraction of
#: the usual one (1.3-3 ms: the reactor wakes late, ACKs come in batches),
#: and twice the least bandwidth-delay product starved the sender
#: (docs/performance.txt); pacing, not the window, keeps the queue short.
MIN_RTT_FLOOR = 0.001
#: Rounds without a quarter more bandwidth that end STARTUP.
FULL_BW_ROUNDS = 3
#: Rounds each of the two slots of the ACK aggregation filter covers.
EXTRA_ACKED_ROUNDS = 5
#: The most time's worth of bandwidth the aggregation adds to the window.
EXTRA_ACKED_MAX_TIME = 0.1
#: An aggregation epoch ends after this many bytes (Linux: 2**20 packets
#: would be far more; a bound keeps old epochs from inflating it).
EPOCH_RESET_BYTES = 1 << 24


class BBR(CongestionControl):
    """
    BBR's model and control on top of L{CongestionControl}'s recovery
    bookkeeping.

    @ivar mode: L{STARTUP}, L{DRAIN} or L{PROBE_BW}.
    @ivar bw: the bottleneck bandwidth estimate, bytes per second.
    @ivar minRTT: the propagation delay estimate, seconds.
    @ivar pacingRate: the rate the sender paces at, bytes per second (0
        before the first estimate).
    @ivar pacingGain: the current pacing gain.
    @ivar cwndGain: the window's gain over the bandwidth-delay product.
    @ivar round: round trips counted (by delivered data).
    @ivar filledPipe: whether STARTUP found the bottleneck.
    """

    modelBased = True

    def __init__(self, cwnd: int, iss: int) -> None:
        """
        @param cwnd: the initial window in bytes.
        @param iss: our initial sequence number.
        """
        CongestionControl.__init__(self, cwnd, iss)
        self.mode = STARTUP
        self.pacingGain = HIGH_GAIN
        self.cwndGain = HIGH_GAIN
        self.bw = 0.0
        self._bwFilter: Deque[Tuple[int, float]] = deque()
        self.minRTT = float("inf")
        self._minRTTStamp = 0.0
        self.round = 0
        self._nextRoundDelivered = 0
        self._fullBw = 0.0
        self._fullBwCount = 0
        self.filledPipe = False
        self._cycleIndex = 0
        self._cycleStamp = 0.0
        self.pacingRate = 0.0
        self._initialCwnd = cwnd
        self.extraAcked = [0, 0]
        self._extraIndex = 0
        self._extraRounds = 0
        self._epochStart = 0.0
        self._epochAcked = 0
        self._lostSeen = 0

    def newAck(self, ack: int, acked: int, sndMax: int, mss: int) -> None:
        """
        SND.UNA advanced: only the end of recovery is noted here; the
        window follows the model in L{update}.

        @param ack: the new SND.UNA.
        @param acked: the sequence space it acknowledged.
        @param sndMax: the highest sequence number sent.
        @param mss: the sender's segment size.
        """
        self.dupAcks = 0
        if self.inRecovery:
            if seqGE(ack, self.recover):
                self.inRecovery = False
            else:
                self.sackRetransmit = True

    def enterRecovery(self, una: int, sndMax: int, mss: int) -> None:
        """
        RACK found a loss: resend it, but keep the window (random loss is
        not taken for congestion).

        @param una: SND.UNA.
        @param sndMax: the highest sequence number sent.
        @param mss: the sender's segment size.
        """
        self.recover = sndMax
        self.inRecovery = True
        self.sackRecovery = True

    def timeout(self, firstTimeout: bool, una: int, sndMax: int, mss: int) -> None:
        """
        The retransmission timer expired: restart from one segment (the
        window grows back by what each ACK delivers, up to the model's
        target), keeping the model.

        @param firstTimeout: whether this is the first consecutive timeout.
        @param una: SND.UNA.
        @param sndMax: the highest sequence number sent.
        @param mss: the sender's segment size.
        """
        CongestionControl.timeout(self, firstTimeout, una, sndMax, mss)

    def update(self, log: SentLog, acked: int, inflight: int, mss: int, now: float) -> None:
        """
        An ACK delivered C{acked} bytes: take the rate sample, if any,
        into the model, move between the modes, and set the pacing rate
        and the window.

        @param log: the sender's log, holding this ACK's rate sample.
        @param acked: bytes newly delivered (acknowledged or SACKed).
        @param inflight: the bytes in flight after the ACK.
        @param mss: the sender's segment size.
        @param now: the current time.
        """
        rate = log.sampleRate
        roundStart = False
        if rate:
            if log.samplePriorDelivered >= self._nextRoundDelivered:
                self._nextRoundDelivered = log.delivered
                self.round += 1
                roundStart = True
            bwFilter = self._bwFilter
            if not log.sampleAppLimited or rate >= self.bw:
                while bwFilter and bwFilter[-1][1] <= rate:
                    bwFilter.pop()
                bwFilter.append((self.round, rate))
            while bwFilter and bwFilter[0][0] <= self.round - BW_WINDOW:
                bwFilter.popleft()
            if bwFilter:
                self.bw = bwFilter[0][1]
            rtt = log.sampleRTT
            if rtt > 0 and (rtt <= self.minRTT or now - self._minRTTStamp > MIN_RTT_WINDOW):
                self.minRTT = rtt
                self._minRTTStamp = now
            if roundStart and not self.filledPipe and not log.sampleAppLimited:
                if self.bw >= self._fullBw * 1.25:
                    self._fullBw = self.bw
                    self._fullBwCount = 0
                else:
                    self._fullBwCount += 1
                    if self._fullBwCount >= FULL_BW_ROUNDS:
                        self.filledPipe = True
        bw = self.bw
        if not bw or self.minRTT == float("inf"):
            self.cwnd = min(self.cwnd + acked, MAX_CWND)
            return
        floored = self.minRTT if self.minRTT > MIN_RTT_FLOOR else MIN_RTT_FLOOR
        losses = log.lostTotal != self._lostSeen
        self._lostSeen = log.lostTotal
        # ACK aggregation (Linux's bbr_update_ack_aggregation): ACKs that
        # arrive in batches deliver more than bw * time for a while, and
        # the window must cover that or the sender idles between batches
        # (a Python peer or reactor batches its ACKs).
        if roundStart:
            self._extraRounds += 1
            if self._extraRounds >= EXTRA_ACKED_ROUNDS:
                self._extraRounds = 0
                self._extraIndex ^= 1
                self.extraAcked[self._extraIndex] = 0
        expected = bw * (now - self._epochStart)
        if self._epochAcked <= expected or self._epochAcked + acked >= EPOCH_RESET_BYTES:
            self._epochAcked = 0
            self._epochStart = now
            expected = 0.0
        self._epochAcked += acked
        extra = int(self._epochAcked - expected)
        if extra > self.cwnd:
            extra = self.cwnd
        if extra > self.extraAcked[self._extraIndex]:
            self.extraAcked[self._extraIndex] = extra
        mode = self.mode
        if mode == STARTUP and self.filledPipe:
            mode = self.mode = DRAIN
            self.pacingGain = 1 / HIGH_GAIN
            self.cwndGain = HIGH_GAIN
        if mode == DRAIN and inflight <= floored * bw:
            mode = self.mode = PROBE_BW
            self.cwndGain = 2.0
            self._cycleIndex = 2
            self.pacingGain = CYCLE[2]
            self._cycleStamp = now
        if mode == PROBE_BW:
            # Linux's bbr_is_next_cycle_phase: a phase lasts a round trip,
            # a probe (gain above 1) until it has put gain * BDP in flight
            # or met a loss, a drain (below 1) no longer than a round trip
            # and less once the flight is down to the BDP.
            gain = self.pacingGain
            fullLength = now - self._cycleStamp > floored
            if gain == 1.0:
                advance = fullLength
            elif gain > 1.0:
                advance = fullLength and (losses or inflight >= gain * floored * bw)
            else:
                advance = fullLength or inflight <= floored * bw
            if advance:
                self._cycleIndex = (self._cycleIndex + 1) % len(CYCLE)
                self.pacingGain = CYCLE[self._cycleIndex]
                self._cycleStamp = now
        pacingRate = self.pacingGain * bw
        if self.filledPipe or pacingRate > self.pacingRate:
            self.pacingRate = pacingRate
        target = int(self.cwndGain * bw * floored) + 3 * mss
        if self.filledPipe:
            target += int(min(max(self.extraAcked), bw * EXTRA_ACKED_MAX_TIME))
        cwnd = self.cwnd + acked
        if self.filledPipe:
            if cwnd > target:
                cwnd = target
        elif cwnd > target and log.delivered >= self._initialCwnd:
            cwnd = max(self.cwnd, target)
        if cwnd < 4 * mss:
            cwnd = 4 * mss
        self.cwnd = cwnd if cwnd <= MAX_CWND else MAX_CWND
