# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.tcp.rack} (RACK's time-based loss detection and
the delivery rate samples) alone, and for RACK-TLP in L{TCPMachine}: a
tail loss recovered by a probe before the RTO, a lost retransmission
found and resent again, bounded state under hostile SACK blocks.
"""

import random

from twisted.trial.unittest import SynchronousTestCase

from tests.stack.tcp.helpers import ISS, RISS, config, ours, passive, theirs
from tests.stack.tcp.test_machine import data
from vdetwist.stack.tcp.machine import TCPConfig, TCPMachine
from vdetwist.stack.tcp.rack import MAX_RECORDS, SentLog
from vdetwist.stack.tcp.timers import TLP_SLACK, WORST_DELAYED_ACK
from vdetwist.wire.tcp import ACK, PSH

#: An ISS close to the wrap, so positions and sequence numbers differ.
NEAR_WRAP = 0xFFFFFF00


class SentLogTests(SynchronousTestCase):
    """
    L{SentLog} on its own: records, RACK's rule, the reordering window,
    lost ranges and rate samples.
    """

    def test_cumulativeAckDropsRecords(self) -> None:
        """
        A cumulative ACK drops the records it covers and takes RACK's send
        time and round trip from the newest of them.
        """
        log = SentLog(NEAR_WRAP)
        log.sent(NEAR_WRAP, 1000, 1.0, False)
        log.sent((NEAR_WRAP + 1000) & 0xFFFFFFFF, 1000, 1.01, False)
        log.sent((NEAR_WRAP + 2000) & 0xFFFFFFFF, 1000, 1.02, False)
        log.ackedTo((NEAR_WRAP + 2000) & 0xFFFFFFFF, 1.11)
        self.assertEqual([r[:3] for r in log.records], [[2000, 3000, 1.02]])
        self.assertEqual(log.xmitTime, 1.01)
        self.assertAlmostEqual(log.rtt, 0.1)
        self.assertEqual((log.una, log.delivered), (2000, 2000))

    def test_roundTripTo(self) -> None:
        """
        L{SentLog.roundTripTo} gives the round trip, at the clock's
        resolution, of the newest transmission an ACK completes, before
        the ACK is taken in; none for an ACK that completes none, or whose
        newest is a retransmission (Karn's rule).
        """
        log = SentLog(NEAR_WRAP)
        log.sent(NEAR_WRAP, 1000, 1.0, False)
        log.sent((NEAR_WRAP + 1000) & 0xFFFFFFFF, 1000, 1.0002, False)
        log.sent((NEAR_WRAP + 2000) & 0xFFFFFFFF, 1000, 1.0004, True)
        self.assertEqual(log.roundTripTo((NEAR_WRAP + 500) & 0xFFFFFFFF, 1.001), 0.0)
        self.assertAlmostEqual(log.roundTripTo((NEAR_WRAP + 1500) & 0xFFFFFFFF, 1.001), 0.001)
        self.assertAlmostEqual(log.roundTripTo((NEAR_WRAP + 2000) & 0xFFFFFFFF, 1.001), 0.0008)
        self.assertEqual(log.roundTripTo((NEAR_WRAP + 3000) & 0xFFFFFFFF, 1.001), 0.0)
        self.assertEqual(len(log.records), 3)

    def test_roundTripOnALanWithTimestamps(self) -> None:
        """
        With timestamps on, a connection's smoothed round trip on a path
        of 100 us at 1 Gbit/s comes from the send times of the data acknowledged, not
        from the echoes' millisecond ticks (which read 0 there and took
        SRTT to tens of microseconds, pacing with it to nothing).
        """
        from tests.stack.tcp.lossypath import LossyPath
        lan = LossyPath(1e9, 0.00005, 0, TCPConfig(congestionControl="newreno",
                                                     receiveBufferSize=1 << 20), 64)
        lan.run(0.05, b"x" * 65536)
        self.assertTrue(lan.sender.tsEnabled)
        self.assertGreater(lan.received, 0)
        self.assertGreaterEqual(lan.sender.rtt.srtt, 0.0001)
        self.assertLess(lan.sender.rtt.srtt, 0.001)

    def test_olderThanDeliveredIsLost(self) -> None:
        """
        Data sent before data that was delivered, and longer ago than the
        round trip plus the reordering window, is lost (RFC 8985 6.2).
        """
        log = SentLog(0)
        log.sent(0, 1000, 1.0, False)
        log.sent(1000, 1000, 1.05, False)
        newly = log.onAck(0, [(1000, 2000)], 1.2)
        self.assertEqual(newly, 1000)
        self.assertEqual(log.lost, [[0, 1000]])
        self.assertEqual((log.lostBytes, log.sacked), (1000, 1000))
        self.assertEqual(log.pipe(2000), 0)

    def test_reorderingWindowDefers(self) -> None:
        """
        Within the reordering window (a quarter of the least round trip)
        the older data is not yet lost: L{SentLog.deadline} says when it
        will be, and L{SentLog.detectLosses} then marks it.
        """
        log = SentLog(0)
        log.sent(0, 1000, 1.0, False)
        log.sent(1000, 1000, 1.02, False)
        self.assertEqual(log.onAck(0, [(1000, 2000)], 1.12), 0)
        self.assertEqual(log.lost, [])
        self.assertAlmostEqual(log.deadline, 1.0 + 0.1 + 0.025)
        self.assertEqual(log.detectLosses(1.13), 1000)
        self.assertEqual(log.lost, [[0, 1000]])
        self.assertIsNone(log.deadline)

    def test_lostRetransmission(self) -> None:
        """
        A retransmission is logged like new data: when data sent after it
        is delivered and it is not, it is found lost again.
        """
        log = SentLog(0)
        log.sent(0, 1000, 1.0, False)
        log.sent(1000, 1000, 1.01, False)
        log.onAck(0, [(1000, 2000)], 1.11)
        self.assertEqual(log.detectLosses(1.13), 1000)
        self.assertEqual(log.takeLost(1000), (0, 1000))
        self.assertEqual(log.lostBytes, 0)
        log.sent(0, 1000, 1.13, True)
        log.sent(2000, 1000, 1.14, False)
        log.dupThreshBytes = 3000
        self.assertEqual(log.onAck(0, [(1000, 3000)], 1.24), 0)
        self.assertAlmostEqual(log.deadline, 1.13 + 0.1 + 0.025)
        self.assertEqual(log.detectLosses(1.26), 1000)
        self.assertEqual(log.lost, [[0, 1000]])

    def test_noReorderingWindowInRecovery(self) -> None:
        """
        While no reordering has been seen, the window is zero in recovery
        or once DupThresh bytes are SACKed (RFC 8985 6.2 step 4); a
        retransmission acknowledged too soon (its original was late) shows
        reordering, and the window is back.
        """
        log = SentLog(0)
        log.sent(0, 1000, 1.0, False)
        log.sent(1000, 1000, 1.01, False)
        log.onAck(0, [(1000, 2000)], 1.11)
        self.assertAlmostEqual(log.reorderingWindow(), 0.025)
        log.recovering = True
        self.assertEqual(log.reorderingWindow(), 0.0)
        log.recovering = False
        log.dupThreshBytes = 1000
        self.assertEqual(log.reorderingWindow(), 0.0)
        log.sent(0, 1000, 1.12, True)
        log.ackedTo(2000, 1.13)
        self.assertTrue(log.reordering)
        self.assertAlmostEqual(log.reorderingWindow(), 0.025)

    def test_sackedLostRangeIsNotResent(self) -> None:
        """
        A range taken for lost that the peer then SACKs (it was only
        reordered) leaves the lost ranges.
        """
        log = SentLog(0)
        log.sent(0, 2000, 1.0, False)
        log.sent(2000, 1000, 1.1, False)
        log.onAck(0, [(2000, 3000)], 1.2)
        self.assertEqual(log.lost, [[0, 2000]])
        log.onAck(0, [(1000, 3000)], 1.21)
        self.assertEqual((log.lost, log.lostBytes), ([[0, 1000]], 1000))
        log.onAck(1000, [(1000, 3000)], 1.22)
        self.assertEqual((log.lost, log.lostBytes), ([], 0))

    def test_allLostOnTimeout(self) -> None:
        """
        On a timeout every byte in flight and not SACKed is lost.
        """
        log = SentLog(0)
        log.sent(0, 4000, 1.0, False)
        log.onAck(0, [(1000, 2000)], 1.001)
        self.assertEqual(log.markAllLost(4000), 3000)
        self.assertEqual(log.lost, [[0, 1000], [2000, 4000]])
        self.assertEqual(list(log.records), [])

    def test_retransmissionTooSoonIsAmbiguous(self) -> None:
        """
        A retransmission acknowledged sooner than the least round trip was
        acknowledged for its original: it neither moves RACK's clock nor
        gives a round trip.
        """
        log = SentLog(0)
        log.sent(0, 1000, 1.0, False)
        log.ackedTo(1000, 1.1)
        log.sent(1000, 1000, 1.2, False)
        log.sent(1000, 1000, 1.25, True)
        log.ackedTo(2000, 1.3)
        self.assertEqual(log.xmitTime, 1.2)
        self.assertAlmostEqual(log.minRTT, 0.1)

    def test_recordsBounded(self) -> None:
        """
        At most L{MAX_RECORDS} transmissions are remembered.
        """
        log = SentLog(0)
        for i in range(MAX_RECORDS + 10):
            log.sent(i * 10, 10, 1.0 + i * 1e-4, False)
        self.assertEqual(len(log.records), MAX_RECORDS)
        self.assertEqual(log.records[0][0], 100)

    def test_rateSample(self) -> None:
        """
        With sampling on, the newest delivered transmission gives the
        delivery rate since it was sent (the data delivered over the
        longer of its send and ACK intervals).
        """
        log = SentLog(0)
        log.rateSampling = True
        log.sent(0, 10000, 1.0, False)
        log.ackedTo(10000, 1.1)
        log.sent(10000, 10000, 1.1, False)
        log.ackedTo(20000, 1.2)
        self.assertAlmostEqual(log.sampleRate, 10000 / 0.1)
        self.assertAlmostEqual(log.sampleRTT, 0.1)
        self.assertEqual(log.samplePriorDelivered, 10000)


def sackMachine(segments: int, queued: int) -> TCPMachine:
    """
    A SACK machine (no pacing) with a measured 100 ms round trip that has
    sent C{segments} 1000-byte segments at time 1.0.

    @param segments: segments to send (the congestion window).
    @param queued: further bytes queued after them.
    @return: the machine.
    """
    m = passive(config(sack=True, pacing=False), peerWindow=60000, sackPermitted=True)
    m.noDelay = True
    m.rtt.srtt = None
    m.rtt.sample(0.1)
    m.cwnd = segments * 1000
    m.send(data(segments * 1000 + queued))
    assert len(m.dispatch(1.0)) == segments
    return m


class RACKMachineTests(SynchronousTestCase):
    """
    RACK-TLP in L{TCPMachine}.
    """

    def test_tailLossProbe(self) -> None:
        """
        When the tail of a flight is lost and the ACKs stop, the last
        segment is sent again two round trips later, well before the RTO;
        its SACK lets RACK find the earlier loss, which is resent: no
        timeout.
        """
        m = sackMachine(4, 0)
        m.segmentReceived(theirs(RISS + 1, ISS + 2001, window=60000), 1.1)
        self.assertEqual(m.dispatch(1.1), [])
        # Two round trips and Linux's slack of two jiffies.
        self.assertAlmostEqual(m.pollAt(), 1.3 + TLP_SLACK)
        self.assertLess(m.pollAt(), m.rtoDeadline)
        self.assertEqual(m.dispatch(1.3), [])
        self.assertEqual(m.dispatch(1.3 + TLP_SLACK), [
            ours(ISS + 3001, RISS + 1, ACK | PSH, payload=data(1000, 3000))])
        self.assertEqual(m.stats.tailLossProbes, 1)
        m.segmentReceived(theirs(RISS + 1, ISS + 2001, window=60000, sackBlocks=(
            (ISS + 3001, ISS + 4001),)), 1.4)
        self.assertEqual(m.dispatch(1.4), [
            ours(ISS + 2001, RISS + 1, ACK, payload=data(1000, 2000))])
        self.assertTrue(m.inRecovery)
        m.segmentReceived(theirs(RISS + 1, ISS + 4001, window=60000), 1.5)
        self.assertEqual(m.sndUna, ISS + 4001)
        self.assertEqual(m.stats.retransmissionTimeouts, 0)

    def test_tailLossProbeSlack(self) -> None:
        """
        The probe waits two round trips plus the slack when several
        segments are out (not yet at two round trips: on a LAN of virtual
        machines that is a fraction of a millisecond), and plus the worst
        delayed ACK when one is (unless the RTO comes first).
        """
        m = sackMachine(4, 0)
        m.segmentReceived(theirs(RISS + 1, ISS + 2001, window=60000), 1.1)
        self.assertEqual(m.dispatch(1.1), [])
        self.assertAlmostEqual(m.pollAt(), 1.1 + 2 * m.srtt + TLP_SLACK)
        self.assertEqual(m.dispatch(1.1 + 2 * m.srtt), [])
        self.assertEqual(m.stats.tailLossProbes, 0)
        # One segment out: the worst delayed ACK instead, which puts the
        # probe past the RTO here, so the RTO stands.
        m.segmentReceived(theirs(RISS + 1, ISS + 3001, window=60000), 1.15)
        self.assertEqual(m.dispatch(1.15), [])
        self.assertIsNone(m.tlpDeadline)
        self.assertLess(m.rtoDeadline, 1.15 + 2 * m.srtt + WORST_DELAYED_ACK)
        self.assertEqual(m.pollAt(), m.rtoDeadline)

    def test_lossFoundByTime(self) -> None:
        """
        One SACK above a hole does not make it lost at once (no duplicate
        ACK count): a reordering window later it is, and is resent as soon
        as the pipe allows.
        """
        m = sackMachine(4, 0)
        m.segmentReceived(theirs(RISS + 1, ISS + 1, window=60000, sackBlocks=(
            (ISS + 1001, ISS + 2001),)), 1.1)
        self.assertEqual(m.dispatch(1.1), [])
        self.assertAlmostEqual(m.pollAt(), 1.125)
        # Lost now; recovery halves the window to the pipe (2000: the two
        # segments sent after the SACKed one are not lost), so it waits.
        self.assertEqual(m.dispatch(1.125), [])
        self.assertEqual((m.log.lost, m.log.lostBytes), ([[1, 1001]], 1000))
        self.assertTrue(m.inRecovery)
        self.assertEqual((m.ssthresh, m.cwnd), (2000, 2000))
        # The next SACK shrinks the pipe: the hole goes first.
        m.segmentReceived(theirs(RISS + 1, ISS + 1, window=60000, sackBlocks=(
            (ISS + 1001, ISS + 3001),)), 1.13)
        self.assertEqual(m.dispatch(1.13), [
            ours(ISS + 1, RISS + 1, ACK, payload=data(1000))])

    def test_lostRetransmissionResent(self) -> None:
        """
        A retransmission that is lost too is found by RACK once data sent
        after it is SACKed, and resent again, without a timeout.
        """
        m = sackMachine(4, 8000)

        def sack(end: int, now: float) -> list:
            """
            SACK from the second segment to C{end}, SND.UNA unmoved.

            @param end: the SACKed range's end, in segments.
            @param now: the time.
            @return: the sequence numbers sent then.
            """
            m.segmentReceived(theirs(RISS + 1, ISS + 1, window=60000, sackBlocks=(
                (ISS + 1001, ISS + 1 + end * 1000),)), now)
            return [segment.seq - ISS for segment in m.dispatch(now)]

        # Three segments SACKed (DupThresh, no reordering seen: no
        # reordering window): the first is lost and resent at once, and a
        # new segment goes in the same burst.
        self.assertEqual(sack(4, 1.1), [1, 4001])
        # That segment arrives: sent with the retransmission, it tells
        # nothing about it.
        self.assertEqual(sack(5, 1.2), [5001])
        # What was sent after the retransmission arrives, and it does
        # not: lost again, and resent.
        self.assertEqual(sack(6, 1.3), [1, 6001])
        self.assertEqual(m.stats.retransmissionTimeouts, 0)

    def test_timeoutResendsOnlyUnSACKed(self) -> None:
        """
        On a timeout the SACKed data is kept: only what it does not cover
        is resent, one segment at first.
        """
        m = sackMachine(4, 0)
        m.segmentReceived(theirs(RISS + 1, ISS + 1, window=60000, sackBlocks=(
            (ISS + 1001, ISS + 2001),)), 1.001)
        self.assertEqual(m.dispatch(m.rtoDeadline), [
            ours(ISS + 1, RISS + 1, ACK, payload=data(1000))])
        self.assertEqual(m.stats.retransmissionTimeouts, 1)
        m.segmentReceived(theirs(RISS + 1, ISS + 2001, window=60000), m.rtoDeadline - 0.1)
        self.assertEqual(m.dispatch(m.rtoDeadline - 0.1), [
            ours(ISS + 2001, RISS + 1, ACK, payload=data(1000, 2000)),
            ours(ISS + 3001, RISS + 1, ACK | PSH, payload=data(1000, 3000))])

    def test_hostileSACKBlocksBounded(self) -> None:
        """
        Random, overlapping, out-of-window and wrapping SACK blocks and
        ACKs neither crash the sender nor grow its state beyond bounds, and
        the lost ranges stay sorted, disjoint and inside the flight.
        """
        rng = random.Random(13)
        m = sackMachine(40, 200000)
        m.cwnd = 40000
        now = 1.0
        for _ in range(3000):
            now += rng.random() * 0.02
            flight = (m.sndMax - m.sndUna) & 0xFFFFFFFF
            blocks = []
            for _ in range(rng.randint(0, 4)):
                left = m.sndUna + rng.randint(-70000, flight + 70000)
                right = left + rng.randint(-10, 30000)
                blocks.append((left & 0xFFFFFFFF, right & 0xFFFFFFFF))
            ack = m.sndUna + (rng.randint(0, 3000) if rng.random() < 0.2 else 0)
            m.segmentReceived(theirs(m.rcvNxt, ack, window=60000, sackBlocks=tuple(blocks)),
                              now)
            m.dispatch(now)
            log = m.log
            flight = (m.sndMax - m.sndUna) & 0xFFFFFFFF
            una = log.position(m.sndUna)
            self.assertLessEqual(len(m.scoreboard), 128)
            self.assertLessEqual(len(log.records), MAX_RECORDS)
            self.assertEqual(log.lostBytes, sum(end - start for start, end in log.lost))
            for (s1, e1), (s2, e2) in zip(log.lost, log.lost[1:]):
                self.assertLess(e1, s2)
            for start, end in log.lost:
                self.assertTrue(una <= start < end <= una + flight, (start, end, una, flight))
            self.assertGreaterEqual(log.pipe(flight), 0)
