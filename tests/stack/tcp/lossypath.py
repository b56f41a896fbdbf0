# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A deterministic in-memory path for two L{TCPMachine}s, driven by a fake
clock: a bottleneck of a given rate and one-way delay on the data
direction that drops every Nth data segment (retransmissions included),
and a plain delay back.  Used to watch a sender's loss recovery and
congestion control over a lossy path without real time or sockets.
"""

import heapq
from typing import List, Optional, Tuple

from vdetwist.stack.tcp.machine import TCPConfig, TCPMachine
from vdetwist.wire.tcp import TCPSegment

__all__ = ["LossyPath"]


class LossyPath:
    """
    A client machine sending to a server machine through a lossy
    bottleneck.

    @ivar now: the simulated time.
    @ivar sender: the client (the data's sender).
    @ivar receiver: the server, whose data is read as it arrives.
    @ivar received: bytes the receiver's application has read.
    @ivar dropped: data segments the path dropped.
    """

    def __init__(self, rate: float, delay: float, lossEvery: int,
                 config: TCPConfig, queue: int = 64) -> None:
        """
        @param rate: the bottleneck's rate, bytes per second.
        @param delay: the one-way delay, seconds.
        @param lossEvery: drop every this many data segments (0: none).
        @param config: both machines' configuration.
        @param queue: data segments the bottleneck queues; more are
            dropped (tail drop).
        """
        self.rate = rate
        self.delay = delay
        self.lossEvery = lossEvery
        self.queue = queue
        self.now = 0.0
        self.sender = TCPMachine(40000, 80, 1000, config)
        self.receiver = TCPMachine(80, 40000, 90000, config)
        self.receiver.listen()
        self.sender.connect(0.0)
        self._events: List[Tuple[float, int, int, TCPSegment]] = []
        self._counter = 0
        self._dataSegments = 0
        self._linkFree = 0.0
        self._departures: List[float] = []
        self.received = 0
        self.dropped = 0

    def _transmit(self, fromSender: bool, segments: List[TCPSegment]) -> None:
        """
        Put segments on the path.

        @param fromSender: whether they go from the sender to the receiver.
        @param segments: the segments.
        """
        now = self.now
        for segment in segments:
            self._counter += 1
            if fromSender and segment.payload:
                self._dataSegments += 1
                if self.lossEvery and self._dataSegments % self.lossEvery == 0:
                    self.dropped += 1
                    continue
                departures = self._departures
                while departures and departures[0] <= now:
                    heapq.heappop(departures)
                if len(departures) >= self.queue:
                    self.dropped += 1
                    continue
                depart = max(now, self._linkFree) + len(segment.payload) / self.rate
                self._linkFree = depart
                heapq.heappush(departures, depart)
                arrive = depart + self.delay
            else:
                arrive = now + self.delay
            heapq.heappush(self._events, (arrive, self._counter, 1 if fromSender else 0, segment))

    def run(self, until: float, data: Optional[bytes] = None) -> None:
        """
        Run the path until a time, keeping the sender's buffer full.

        @param until: the time to stop at.
        @param data: a chunk the sender writes whenever its buffer runs
            low (nothing when omitted).
        """
        sender, receiver = self.sender, self.receiver
        while self.now < until:
            if data is not None and len(sender.sendBuffer) < 4 * len(data):
                sender.send(data)
            self._transmit(True, sender.dispatch(self.now))
            self._transmit(False, receiver.dispatch(self.now))
            self.received += len(receiver.read())
            times = [t for t in (sender.pollAt(), receiver.pollAt()) if t is not None]
            if self._events:
                times.append(self._events[0][0])
            step = min(times) if times else until
            if step <= self.now:
                step = self.now + 1e-4
            self.now = min(step, until)
            while self._events and self._events[0][0] <= self.now:
                _, _, toReceiver, segment = heapq.heappop(self._events)
                (receiver if toReceiver else sender).segmentReceived(segment, self.now)
