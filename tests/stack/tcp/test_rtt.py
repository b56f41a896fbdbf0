# -*- test-case-name: tests.stack.tcp.test_rtt -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.tcp.rtt}: the expected values are worked out by
hand from RFC 6298's formulas (K = 4, alpha = 1/8, beta = 1/4, G = 1 ms),
with samples chosen so every step is exact in binary floating point.
"""

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.stack.tcp.rtt import RTTEstimator


def estimator(minRTO: float = 0.0, maxRTO: float = 60.0) -> RTTEstimator:
    """
    @param minRTO: the lower bound (0 so the formula shows unclamped).
    @param maxRTO: the upper bound.
    @return: an estimator with an initial RTO of 1 s (RFC 6298 2.1).
    """
    return RTTEstimator(1.0, minRTO, maxRTO)


class FormulaTests(SynchronousTestCase):
    """
    RFC 6298 section 2.
    """

    def test_initial(self) -> None:
        """
        Before any sample the RTO is the initial one and SRTT is unset
        (2.1).
        """
        e = estimator()
        self.assertIsNone(e.srtt)
        self.assertEqual(e.rto, 1.0)

    def test_firstSample(self) -> None:
        """
        The first measurement R sets SRTT = R, RTTVAR = R/2, RTO = SRTT +
        max(G, 4*RTTVAR) (2.2): R = 0.5 gives 0.5, 0.25 and 1.5.
        """
        e = estimator()
        e.sample(0.5)
        self.assertEqual((e.srtt, e.rttvar, e.rto), (0.5, 0.25, 1.5))

    def test_secondSample(self) -> None:
        """
        A later R' updates RTTVAR with the old SRTT first (2.3):
        RTTVAR = 3/4 * 0.25 + 1/4 * |0.5 - 1.0| = 0.3125, then SRTT = 7/8 *
        0.5 + 1/8 * 1.0 = 0.5625, RTO = 0.5625 + 4 * 0.3125 = 1.8125.
        """
        e = estimator()
        e.sample(0.5)
        e.sample(1.0)
        self.assertEqual((e.srtt, e.rttvar, e.rto), (0.5625, 0.3125, 1.8125))

    def test_granularity(self) -> None:
        """
        With no variation the RTO is SRTT + G (2.2, 2.3): zero-length
        samples give 0 + 0.001.
        """
        e = estimator()
        e.sample(0.0)
        e.sample(0.0)
        self.assertEqual((e.srtt, e.rttvar, e.rto), (0.0, 0.0, 0.001))

    def test_minimum(self) -> None:
        """
        An RTO below the minimum is raised to it (2.4, with RFC 6298's 1 s
        minimum): R = 0.125 computes 0.375.
        """
        e = estimator(minRTO=1.0)
        e.sample(0.125)
        self.assertEqual(e.srtt, 0.125)
        self.assertEqual(e.rto, 1.0)

    def test_maximum(self) -> None:
        """
        An RTO above the maximum is lowered to it (2.5): R = 30 computes 90.
        """
        e = estimator(maxRTO=60.0)
        e.sample(30.0)
        self.assertEqual(e.rto, 60.0)


class BackoffTests(SynchronousTestCase):
    """
    RFC 6298 section 5.5 and Karn's rule (section 3).
    """

    def test_doubles(self) -> None:
        """
        Each expiry doubles the RTO, up to the maximum.
        """
        e = estimator(maxRTO=5.0)
        rtos = []
        for _ in range(4):
            e.backoff(0)
            rtos.append(e.rto)
        self.assertEqual(rtos, [2.0, 4.0, 5.0, 5.0])

    def test_sampleAfterBackoff(self) -> None:
        """
        A new sample recomputes the RTO from the formula, ending the
        backoff (5.7): after backing off to 4 s, R = 0.5 gives 1.5.
        """
        e = estimator()
        e.backoff(0)
        e.backoff(0)
        e.sample(0.5)
        self.assertEqual(e.rto, 1.5)


class TimedSegmentTests(SynchronousTestCase):
    """
    Samples from one timed segment at a time.
    """

    def test_sample(self) -> None:
        """
        An ACK covering the timed segment gives R = now - sent time: sent
        at 1.0, acknowledged at 1.25, R = 0.25 (SRTT 0.25, RTO 0.75).
        """
        e = estimator()
        e.startTiming(2000, 1.0)
        e.acked(2000, 1.25)
        self.assertEqual((e.srtt, e.rto), (0.25, 0.75))
        self.assertIsNone(e.timedSeq)

    def test_partialAck(self) -> None:
        """
        An ACK below the end of the timed segment does not sample, and the
        segment stays timed.
        """
        e = estimator()
        e.startTiming(2000, 1.0)
        e.acked(1500, 1.25)
        self.assertIsNone(e.srtt)
        self.assertEqual(e.timedSeq, 2000)

    def test_karn(self) -> None:
        """
        Karn's rule: after a timeout (the segment is retransmitted) its
        acknowledgment gives no sample.
        """
        e = estimator()
        e.startTiming(2000, 1.0)
        e.backoff(0)
        e.acked(2000, 3.0)
        self.assertIsNone(e.srtt)
        self.assertEqual(e.rto, 2.0)

    def test_wraps(self) -> None:
        """
        Sequence numbers compare modulo 2**32.
        """
        e = estimator()
        e.startTiming(10, 1.0)
        e.acked(20, 1.5)
        self.assertEqual(e.srtt, 0.5)


class TimestampTests(SynchronousTestCase):
    """
    Samples from echoed timestamps (RFC 7323 section 4.3), in milliseconds.
    """

    def test_echo(self) -> None:
        """
        R is our clock minus the echoed TSval: 1500 - 1250 ms = 0.25 s.
        """
        e = estimator()
        e.acked(7, 0.0, 1250, 1500)
        self.assertEqual((e.srtt, e.rttvar, e.rto), (0.25, 0.125, 0.75))

    def test_echoWraps(self) -> None:
        """
        The timestamp clock wraps modulo 2**32: TSval 2**32 - 150 echoed at
        clock 100 is 250 ms old (the clock started at 2**32 - 1000).
        """
        e = RTTEstimator(1.0, 0.0, 60.0, 2 ** 32 - 1000)
        e.acked(7, 0.0, 2 ** 32 - 150, 100)
        self.assertEqual(e.srtt, 0.25)

    def test_echoBeforeTimeout(self) -> None:
        """
        Karn's rule for timestamps: an echo of a TSval sent before the last
        timeout may acknowledge any transmission and gives no sample; one
        sent at or after it does.
        """
        e = estimator()
        e.backoff(2000)
        e.acked(7, 0.0, 1999, 2500)
        self.assertIsNone(e.srtt)
        e.acked(8, 0.0, 2000, 2500)
        self.assertEqual(e.srtt, 0.5)

    def test_echoEndsTiming(self) -> None:
        """
        With an echo, a timed segment the ACK covers stops being timed
        (only the echo is sampled).
        """
        e = estimator()
        e.startTiming(100, 0.0)
        e.acked(100, 5.0, 1000, 1500)
        self.assertEqual(e.srtt, 0.5)
        self.assertIsNone(e.timedSeq)
