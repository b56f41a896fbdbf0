# -*- test-case-name: tests.stack.test_ping, tests.stack.test_icmp, tests.stack.test_icmpv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The bookkeeping of a small ping, shared by ICMP and ICMPv6: the echo
requests awaiting their reply, each with a Deferred, its send time and a
timeout (L{PingTracker}).  The ICMP layers build and send the messages.
"""

from typing import Any, Dict, Optional, Tuple

from twisted.internet.defer import Deferred
from twisted.internet.error import TimeoutError
from twisted.python.failure import Failure

#: What identifies a ping: (destination, identifier, sequence).
PingKey = Tuple[bytes, int, int]


class PingTracker:
    """
    The echo requests sent and not yet answered.

    @ivar reactor: an L{IReactorTime} provider.
    """

    def __init__(self, reactor: Any, firstIdentifier: int) -> None:
        """
        @param reactor: an L{IReactorTime} provider.
        @param firstIdentifier: the identifier the first ping without one
            gets (the next ones count up from it, modulo 2**16).
        """
        self.reactor = reactor
        self._pending: Dict[PingKey, Tuple["Deferred[float]", float, Any]] = {}
        self._nextIdentifier = firstIdentifier

    def start(self, destination: bytes, sequence: int, timeout: float,
              identifier: Optional[int] = None) -> Tuple[int, "Deferred[float]"]:
        """
        Await the reply to an echo request about to be sent.

        @param destination: the address pinged.
        @param sequence: the sequence number.
        @param timeout: seconds to wait for the reply.
        @param identifier: the identifier (a fresh one when C{None}).
        @return: the identifier, and a Deferred firing with the round-trip
            time in seconds or failing with L{TimeoutError}; cancelling it
            forgets the ping.
        """
        if identifier is None:
            identifier = self._nextIdentifier
            self._nextIdentifier = (self._nextIdentifier + 1) & 0xFFFF
        key = (destination, identifier, sequence)
        d: "Deferred[float]" = Deferred(lambda _: self._cancel(key))

        def expired() -> None:
            if self._pending.pop(key, None) is not None:
                d.errback(Failure(TimeoutError(f"no echo reply in {timeout}s")))  # type: ignore[no-untyped-call]

        timer = self.reactor.callLater(timeout, expired)
        self._pending[key] = (d, self.reactor.seconds(), timer)
        return identifier, d

    def replyReceived(self, source: bytes, identifier: int, sequence: int) -> None:
        """
        An echo reply came: fire the ping it answers, if any.

        @param source: who replied.
        @param identifier: the reply's identifier.
        @param sequence: its sequence number.
        """
        pending = self._pending.pop((source, identifier, sequence), None)
        if pending is not None:
            d, sent, timer = pending
            timer.cancel()
            d.callback(self.reactor.seconds() - sent)

    def _cancel(self, key: PingKey) -> None:
        """
        Forget a cancelled ping.

        @param key: (destination, identifier, sequence).
        """
        pending = self._pending.pop(key, None)
        if pending is not None and pending[2].active():
            pending[2].cancel()


__all__ = ["PingTracker"]
