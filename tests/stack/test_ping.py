# -*- test-case-name: tests.stack.test_ping -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.ping}.
"""

from typing import List

from twisted.internet.defer import CancelledError
from twisted.internet.error import TimeoutError
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.stack.ping import PingTracker

THEM = b"\x0a\x00\x00\x01"
OTHER = b"\x0a\x00\x00\x02"


class PingTrackerTests(SynchronousTestCase):
    """
    Tests for L{PingTracker}.
    """

    def setUp(self) -> None:
        """
        A tracker on a fake clock, its identifiers counting from 0xFFFE.
        """
        self.clock = Clock()
        self.tracker = PingTracker(self.clock, 0xFFFE)

    def test_identifiers(self) -> None:
        """
        A ping without an identifier gets the next one, wrapping at 2**16;
        one given is used as it is and does not advance the count.
        """
        identifiers = [self.tracker.start(THEM, 1, 5)[0] for _ in range(2)]
        identifiers.append(self.tracker.start(THEM, 1, 5, identifier=77)[0])
        identifiers.append(self.tracker.start(THEM, 2, 5)[0])
        self.assertEqual(identifiers, [0xFFFE, 0xFFFF, 77, 0])

    def test_reply(self) -> None:
        """
        The reply from the destination, with the identifier and sequence
        of the request, fires the ping with the round-trip time and stops
        its timer; replies from elsewhere or with other numbers do not.
        """
        results: List[float] = []
        identifier, d = self.tracker.start(THEM, 3, 5)
        d.addCallback(results.append)
        self.clock.advance(0.5)
        self.tracker.replyReceived(OTHER, identifier, 3)
        self.tracker.replyReceived(THEM, identifier + 1, 3)
        self.tracker.replyReceived(THEM, identifier, 4)
        self.assertEqual(results, [])
        self.clock.advance(0.25)
        self.tracker.replyReceived(THEM, identifier, 3)
        self.assertEqual(results, [0.75])
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.tracker.replyReceived(THEM, identifier, 3)
        self.assertEqual(results, [0.75])

    def test_timeout(self) -> None:
        """
        Without a reply, the ping fails with L{TimeoutError} at its
        timeout, and a late reply is ignored.
        """
        identifier, d = self.tracker.start(THEM, 1, 2)
        self.clock.advance(1.9)
        self.assertNoResult(d)
        self.clock.advance(0.1)
        self.failureResultOf(d, TimeoutError)
        self.tracker.replyReceived(THEM, identifier, 1)

    def test_cancel(self) -> None:
        """
        Cancelling a ping stops its timer and forgets it.
        """
        identifier, d = self.tracker.start(THEM, 1, 5)
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        self.tracker.replyReceived(THEM, identifier, 1)
