# -*- test-case-name: tests.stack.tcp.test_ratelimit -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
ACKs sent in answer to unacceptable segments are rate limited (Linux's
tcp_invalid_ratelimit): two ends that disagree about the sequence space
must not answer each other's ACKs for ever.
"""

from twisted.trial.unittest import SynchronousTestCase

from tests.stack.tcp.helpers import ISS, RISS, config, ours, passive, theirs
from vdetwist.wire.tcp import ACK


class OutOfWindowAckTests(SynchronousTestCase):
    """
    Out-of-window segments and ACKs of unsent data.
    """

    def test_outOfWindowAckedOncePerInterval(self) -> None:
        """
        The first out-of-window pure ACK is answered with an ACK at once;
        more within 0.5 s are counted and not answered; after the interval
        one is answered again.
        """
        m = passive()
        stale = theirs(RISS + 1 - 5000, ISS + 1, ACK)
        m.segmentReceived(stale, 1.0)
        self.assertEqual(m.dispatch(1.0), [ours(ISS + 1, RISS + 1)])
        for t in (1.1, 1.2, 1.3):
            m.segmentReceived(stale, t)
            self.assertEqual(m.dispatch(t), [])
        self.assertEqual(m.stats.outOfWindowAcksLimited, 3)
        m.segmentReceived(stale, 1.6)
        self.assertEqual(m.dispatch(1.6), [ours(ISS + 1, RISS + 1)])

    def test_ackOfUnsentDataLimited(self) -> None:
        """
        A segment acknowledging data we never sent is dropped; the ACK it
        calls for is rate limited the same way.
        """
        m = passive()
        bogus = theirs(RISS + 1, ISS + 100000, ACK)
        m.segmentReceived(bogus, 2.0)
        self.assertEqual(m.dispatch(2.0), [ours(ISS + 1, RISS + 1)])
        m.segmentReceived(bogus, 2.1)
        self.assertEqual(m.dispatch(2.1), [])
        self.assertEqual(m.stats.outOfWindowAcksLimited, 1)

    def test_dataAlwaysAnswered(self) -> None:
        """
        Old data (a retransmission whose ACK was lost) is answered every
        time, as Linux exempts data from the limit: its sender needs the ACK.
        """
        m = passive()
        stale = theirs(RISS + 1 - 5000, ISS + 1, ACK, payload=b"old")
        for t in (1.0, 1.1, 1.2):
            m.segmentReceived(stale, t)
            self.assertEqual(m.dispatch(t), [ours(ISS + 1, RISS + 1)])

    def test_configurable(self) -> None:
        """
        An interval of 0 answers every unacceptable segment.
        """
        m = passive(config(outOfWindowAckInterval=0.0))
        stale = theirs(RISS + 1 - 5000, ISS + 1, ACK)
        for t in (1.0, 1.0, 1.0):
            m.segmentReceived(stale, t)
            self.assertEqual(m.dispatch(t), [ours(ISS + 1, RISS + 1)])
