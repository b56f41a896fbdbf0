# -*- test-case-name: tests.stack.tcp.test_congestion -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.tcp.congestion}: the expected windows are
worked out by hand from RFC 5681, 3042, 5827, 6582 and 6675, with SMSS =
1000 and sequence numbers starting at 0 unless said otherwise.
"""

from typing import List

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.stack.tcp.congestion import INFINITE_SSTHRESH, CongestionControl

SMSS = 1000


def never() -> bool:
    """
    @return: C{False}: no new data could be sent.
    """
    return False


def always() -> bool:
    """
    @return: C{True}: new data could be sent.
    """
    return True


def dupAcks(cc: CongestionControl, n: int, una: int, sndMax: int,
            sack: bool = False) -> List[bool]:
    """
    Feed C{n} duplicate ACKs.

    @return: what each returned (whether fast retransmit began).
    """
    return [cc.duplicateAck(una, sndMax, SMSS, sack, never) for _ in range(n)]


class GrowthTests(SynchronousTestCase):
    """
    RFC 5681 section 3.1: slow start and congestion avoidance.
    """

    def test_initial(self) -> None:
        """
        The window starts as given (RFC 6928: IW = 10 segments) and ssthresh
        arbitrarily high.
        """
        cc = CongestionControl(10 * SMSS, 0)
        self.assertEqual(cc.cwnd, 10000)
        self.assertEqual(cc.ssthresh, INFINITE_SSTHRESH)
        self.assertFalse(cc.inRecovery)

    def test_slowStart(self) -> None:
        """
        In slow start each ACK of N <= SMSS new bytes adds N (equation 2):
        four ACKs of 1000 take 2000 to 6000.
        """
        cc = CongestionControl(2 * SMSS, 0)
        for ack in (1000, 2000, 3000, 4000):
            cc.newAck(ack, 1000, 10000, SMSS)
        self.assertEqual(cc.cwnd, 6000)

    def test_slowStartStretchAck(self) -> None:
        """
        A stretch ACK of 3 SMSS counts in full (RFC 3465 appropriate byte
        counting without its L limit, as Linux).
        """
        cc = CongestionControl(2 * SMSS, 0)
        cc.newAck(3000, 3000, 10000, SMSS)
        self.assertEqual(cc.cwnd, 5000)

    def test_congestionAvoidance(self) -> None:
        """
        At or above ssthresh the window grows by SMSS once the bytes
        acknowledged reach cwnd (section 3.1's byte counting): with cwnd
        4000, the fourth ACK of 1000 makes it 5000, and 5000 more bytes are
        needed for 6000.
        """
        cc = CongestionControl(4 * SMSS, 0)
        cc.ssthresh = 4000
        windows = []
        for i in range(1, 10):
            cc.newAck(i * 1000, 1000, 20000, SMSS)
            windows.append(cc.cwnd)
        self.assertEqual(windows, [4000, 4000, 4000, 5000, 5000, 5000, 5000, 5000, 6000])


    def test_notCwndLimited(self) -> None:
        """
        The window does not grow while the sender does not use it (RFC
        7661): in slow start while less than half of it is in flight, in
        congestion avoidance while the flight is more than two segments
        below it; it grows again once used.
        """
        cc = CongestionControl(10 * SMSS, 0)
        for ack in (1000, 2000, 3000, 4000):
            cc.newAck(ack, 1000, ack + 3000, SMSS)
        self.assertEqual(cc.cwnd, 10000)
        cc.newAck(5000, 1000, 10000, SMSS)
        self.assertEqual(cc.cwnd, 11000)
        cc.ssthresh = 11000
        for i in range(1, 30):
            cc.newAck(5000 + i * 1000, 1000, 5000 + i * 1000 + 7000, SMSS)
        self.assertEqual(cc.cwnd, 11000)
        for i in range(30, 41):
            cc.newAck(5000 + i * 1000, 1000, 5000 + i * 1000 + 8000, SMSS)
        self.assertEqual(cc.cwnd, 12000)


class FastRetransmitTests(SynchronousTestCase):
    """
    RFC 5681 section 3.2 with RFC 6582's NewReno recovery.
    """

    def recovering(self) -> CongestionControl:
        """
        @return: a sender with 10000 bytes in flight (SND.UNA 0) that got
            three duplicate ACKs.
        """
        cc = CongestionControl(10 * SMSS, 0)
        self.assertEqual(dupAcks(cc, 3, 0, 10000), [False, False, True])
        return cc

    def test_third(self) -> None:
        """
        The third duplicate ACK: ssthresh = max(FlightSize / 2, 2 * SMSS) =
        5000 (equation 4), cwnd = ssthresh + 3 * SMSS = 8000, the first
        segment is retransmitted, recover = the highest sent (RFC 6582 3.2
        step 2).
        """
        cc = self.recovering()
        self.assertEqual((cc.ssthresh, cc.cwnd, cc.recover), (5000, 8000, 10000))
        self.assertTrue(cc.inRecovery and cc.retransmitFirst)
        self.assertFalse(cc.sackRecovery)

    def test_smallFlight(self) -> None:
        """
        ssthresh is at least 2 * SMSS: FlightSize 3000 gives 2000 (here at
        the second duplicate ACK, by early retransmit).
        """
        cc = CongestionControl(10 * SMSS, 0)
        self.assertEqual(dupAcks(cc, 2, 0, 3000), [False, True])
        self.assertEqual((cc.ssthresh, cc.cwnd), (2000, 5000))

    def test_inflate(self) -> None:
        """
        Each further duplicate ACK inflates cwnd by SMSS (RFC 6582 step 4).
        """
        cc = self.recovering()
        dupAcks(cc, 2, 0, 10000)
        self.assertEqual(cc.cwnd, 10000)

    def test_partialAck(self) -> None:
        """
        A partial ACK retransmits the next segment and deflates cwnd by the
        amount acknowledged, adding back SMSS (step 5): 8000 - 2000 + 1000.
        """
        cc = self.recovering()
        cc.retransmitFirst = False
        cc.newAck(2000, 2000, 10000, SMSS)
        self.assertEqual(cc.cwnd, 7000)
        self.assertTrue(cc.inRecovery and cc.retransmitFirst)

    def test_fullAck(self) -> None:
        """
        An ACK of recover or beyond ends recovery with cwnd = min(ssthresh,
        max(FlightSize, SMSS) + SMSS) (step 6, option 1): 3000 still in
        flight after ACK 10000 with SND.MAX 13000 gives 4000.
        """
        cc = self.recovering()
        cc.newAck(10000, 10000, 13000, SMSS)
        self.assertFalse(cc.inRecovery)
        self.assertEqual(cc.cwnd, 4000)

    def test_fullAckBoundedBySsthresh(self) -> None:
        """
        The same with 9000 in flight: min(5000, 10000) = 5000.
        """
        cc = self.recovering()
        cc.newAck(10000, 10000, 19000, SMSS)
        self.assertEqual(cc.cwnd, 5000)

    def test_recoverGuard(self) -> None:
        """
        Duplicate ACKs below C{recover} do not start a new recovery (RFC
        6582 section 4.1): after a timeout with 10000 sent, three
        duplicates at 2000 leave the window alone.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.timeout(True, 0, 10000, SMSS)
        self.assertEqual(dupAcks(cc, 3, 2000, 10000), [False, False, False])
        self.assertEqual(cc.cwnd, SMSS)
        self.assertFalse(cc.inRecovery)


class TimeoutTests(SynchronousTestCase):
    """
    RFC 5681 section 3.1 on a retransmission timeout.
    """

    def test_first(self) -> None:
        """
        The first timeout: ssthresh = max(FlightSize / 2, 2 * SMSS) (equation
        4), cwnd = LW = 1 SMSS, recovery and the scoreboard forgotten.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((4000, 5000),), 0, 8000)
        dupAcks(cc, 3, 0, 8000, sack=True)
        cc.timeout(True, 0, 8000, SMSS)
        self.assertEqual((cc.ssthresh, cc.cwnd), (4000, 1000))
        self.assertFalse(cc.inRecovery or cc.sackRecovery or cc.retransmitFirst)
        self.assertEqual((cc.scoreboard, cc.dupAcks, cc.recover), ([], 0, 8000))

    def test_repeated(self) -> None:
        """
        A timeout of a segment already retransmitted by the timer keeps
        ssthresh.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.timeout(True, 0, 8000, SMSS)
        cc.timeout(False, 0, 8000, SMSS)
        self.assertEqual((cc.ssthresh, cc.cwnd), (4000, 1000))


class SmallWindowTests(SynchronousTestCase):
    """
    Limited transmit (RFC 3042) and early retransmit (RFC 5827).
    """

    def test_limitedTransmit(self) -> None:
        """
        The first two duplicate ACKs each allow one more SMSS beyond cwnd.
        """
        cc = CongestionControl(4 * SMSS, 0)
        self.assertEqual(cc.room(4000, SMSS, 0, 4000), 0)
        cc.duplicateAck(0, 4000, SMSS, False, always)
        self.assertEqual(cc.room(4000, SMSS, 0, 4000), 1000)
        cc.duplicateAck(0, 4000, SMSS, False, always)
        self.assertEqual(cc.room(5000, SMSS, 0, 5000), 1000)

    def test_earlyRetransmit(self) -> None:
        """
        With oseg = 3 segments outstanding and no new data to send, the
        threshold is ER_thresh = oseg - 1 = 2 duplicate ACKs.
        """
        cc = CongestionControl(10 * SMSS, 0)
        self.assertEqual(dupAcks(cc, 2, 0, 3000), [False, True])

    def test_earlyRetransmitNotWithNewData(self) -> None:
        """
        When new data can be sent the threshold stays three.
        """
        cc = CongestionControl(10 * SMSS, 0)
        results = [cc.duplicateAck(0, 3000, SMSS, False, always) for _ in range(3)]
        self.assertEqual(results, [False, False, True])

    def test_noEarlyRetransmitFourSegments(self) -> None:
        """
        Four or more segments outstanding: three duplicates.
        """
        cc = CongestionControl(10 * SMSS, 0)
        self.assertEqual(dupAcks(cc, 3, 0, 4000), [False, False, True])


class ScoreboardTests(SynchronousTestCase):
    """
    The SACK scoreboard (RFC 2018, RFC 6675 section 4).
    """

    def test_merge(self) -> None:
        """
        Blocks are kept sorted and merged when they touch or overlap.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((5000, 6000), (2000, 3000)), 0, 10000)
        cc.updateScoreboard(((3000, 4000), (5500, 7000)), 0, 10000)
        self.assertEqual(cc.scoreboard, [(2000, 4000), (5000, 7000)])
        self.assertEqual(cc.sackedBytes(), 4000)

    def test_invalid(self) -> None:
        """
        Blocks at or below SND.UNA, beyond SND.MAX, or empty are ignored.
        """
        cc = CongestionControl(10 * SMSS, 1000)
        cc.updateScoreboard(((0, 1000), (1000, 2000), (9000, 11001), (3000, 3000)),
                            1000, 11000)
        self.assertEqual(cc.scoreboard, [])

    def test_cumulativeAck(self) -> None:
        """
        What the cumulative ACK covers leaves the scoreboard.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((2000, 3000), (5000, 6000)), 0, 10000)
        cc.updateScoreboard((), 2500, 10000)
        self.assertEqual(cc.scoreboard, [(2500, 3000), (5000, 6000)])
        cc.updateScoreboard((), 6000, 10000)
        self.assertEqual(cc.scoreboard, [])

    def test_wraps(self) -> None:
        """
        Sequence numbers wrap modulo 2**32.
        """
        una = 2 ** 32 - 1000
        cc = CongestionControl(10 * SMSS, una)
        cc.updateScoreboard(((2 ** 32 - 500, 500),), una, 2000)
        self.assertEqual(cc.scoreboard, [(2 ** 32 - 500, 500)])
        self.assertEqual(cc.sackedBytes(), 1000)


class SACKRecoveryTests(SynchronousTestCase):
    """
    RFC 6675 loss recovery: IsLost, NextSeg rule 1, and the pipe.
    """

    def test_isLost(self) -> None:
        """
        DupThresh * SMSS = 3000 bytes SACKed above SND.UNA mean a loss at
        the first duplicate ACK (IsLost(HighACK + 1), section 5 step 2);
        recovery then sets ssthresh = cwnd = FlightSize / 2 (step 4.2).
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((1000, 4000),), 0, 10000)
        self.assertEqual(dupAcks(cc, 1, 0, 10000, sack=True), [True])
        self.assertTrue(cc.sackRecovery)
        self.assertEqual((cc.ssthresh, cc.cwnd, cc.rexmitNext), (5000, 5000, 0))

    def test_notLostYet(self) -> None:
        """
        2000 bytes SACKed and one duplicate ACK with ten segments
        outstanding are not a loss.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((1000, 3000),), 0, 10000)
        self.assertEqual(dupAcks(cc, 1, 0, 10000, sack=True), [False])

    def test_nextSeg(self) -> None:
        """
        NextSeg rule 1: the lowest lost octets above HighRxt, one SMSS at
        most.  SACKed 1000-2000 and 3000-7000: 0-1000 and 2000-3000 are
        lost (5000 and 4000 SACKed above), 7000-10000 not (nothing above).
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((1000, 2000), (3000, 7000)), 0, 10000)
        self.assertEqual(cc.nextHole(0, SMSS), (0, 1000))
        cc.rexmitNext = 1000
        self.assertEqual(cc.nextHole(0, SMSS), (2000, 1000))
        cc.rexmitNext = 3000
        self.assertIsNone(cc.nextHole(0, SMSS))

    def test_nextSegSplitsHole(self) -> None:
        """
        A hole larger than SMSS goes one SMSS at a time.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((4000, 10000),), 0, 10000)
        cc.rexmitNext = 1000
        self.assertEqual(cc.nextHole(0, SMSS), (1000, 1000))

    def test_nextSegNotLost(self) -> None:
        """
        A hole with less than 3 * SMSS SACKed above it is not lost.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((1000, 3000),), 0, 10000)
        self.assertIsNone(cc.nextHole(0, SMSS))

    def test_pipe(self) -> None:
        """
        SetPipe (section 4): SACKed 4000-10000 of 10000 sent, so 0-4000 is
        lost and pipe is 0; retransmitting 0-1000 adds 1000 (HighRxt); new
        data 10000-12000, not lost, adds 2000.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((4000, 10000),), 0, 10000)
        self.assertEqual(cc.pipe(0, 10000), 0)
        cc.rexmitNext = 1000
        self.assertEqual(cc.pipe(0, 10000), 1000)
        self.assertEqual(cc.pipe(0, 12000), 3000)

    def test_pipeWithoutScoreboard(self) -> None:
        """
        With nothing SACKed the pipe is the flight.
        """
        cc = CongestionControl(10 * SMSS, 0)
        self.assertEqual(cc.pipe(0, 7000), 7000)

    def test_roomIsCwndMinusPipe(self) -> None:
        """
        In SACK recovery the room to send is cwnd - pipe (section 5 step
        4.3): 5000 - 1000.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((4000, 10000),), 0, 10000)
        dupAcks(cc, 1, 0, 10000, sack=True)
        cc.rexmitNext = 1000
        self.assertEqual(cc.room(10000, SMSS, 0, 10000), 4000)

    def test_dupAckInRecovery(self) -> None:
        """
        A duplicate ACK during SACK recovery asks to fill the pipe and does
        not inflate cwnd.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((1000, 4000),), 0, 10000)
        dupAcks(cc, 1, 0, 10000, sack=True)
        cc.sackRetransmit = False
        dupAcks(cc, 1, 0, 10000, sack=True)
        self.assertTrue(cc.sackRetransmit)
        self.assertEqual(cc.cwnd, 5000)

    def test_partialAck(self) -> None:
        """
        A partial ACK in SACK recovery retransmits the first segment unless
        it was already resent, and fills the pipe.
        """
        cc = CongestionControl(10 * SMSS, 0)
        cc.updateScoreboard(((1000, 4000),), 0, 10000)
        dupAcks(cc, 1, 0, 10000, sack=True)
        cc.retransmitFirst = False
        cc.rexmitNext = 2000
        cc.newAck(1000, 1000, 10000, SMSS)
        self.assertFalse(cc.retransmitFirst)
        self.assertTrue(cc.sackRetransmit)
        cc.newAck(2000, 1000, 10000, SMSS)
        self.assertTrue(cc.retransmitFirst)
        self.assertEqual(cc.cwnd, 5000)
