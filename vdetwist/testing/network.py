# -*- test-case-name: tests.stack.tcp.test_fakenetwork -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A simulated network for TCP layers: L{FakeNetwork} joins
L{vdetwist.stack.tcp.demux.TCPLayer}s by address, with no IPv4 stack below
them: a link with latency, a shared bandwidth, and seeded loss, duplication
and reordering, driven by a Clock.
"""

import random as _random
from typing import Dict, Optional

from twisted.internet.task import Clock
from zope.interface import implementer
from zope.interface.verify import verifyClass

from vdetwist.interfaces import IIPv4Sender
from vdetwist.stack.tcp.demux import TCPLayer
from vdetwist.wire.tcp import parseSegment

__all__ = ["FakeNetwork", "NetworkPort"]


@implementer(IIPv4Sender)
class NetworkPort:
    """
    One host's attachment to a L{FakeNetwork}: the L{IIPv4Sender} its TCP
    layer sends through.
    """

    def __init__(self, network: "FakeNetwork", address: bytes, mtu: int) -> None:
        """
        @param network: the network.
        @param address: the host's address.
        @param mtu: the MTU.
        """
        self.network = network
        self.address = address
        self.mtu = mtu

    def sendPacket(self, protocol: int, source: bytes, destination: bytes,
                   payload: bytes) -> None:
        """
        Put a packet on the simulated link.

        @param protocol: the protocol number.
        @param source: 4 bytes.
        @param destination: 4 bytes.
        @param payload: the segment.
        """
        self.network.transmit(source, destination, payload)

    def sourceFor(self, destination: bytes) -> bytes:
        """
        @param destination: ignored.
        @return: the host's address.
        """
        return self.address


class FakeNetwork:
    """
    A link joining TCP layers by address, with latency, loss, duplication
    and reordering drawn from a seeded random generator.

    @ivar clock: the clock driving everything.
    @ivar layers: the TCP layers by address.
    @ivar delivered: packets delivered.
    @ivar dropped: packets lost on purpose.
    @ivar tap: if not C{None}, a list receiving C{(time, source,
        destination, segment)} of every packet sent.
    """

    def __init__(self, seed: int = 0, latency: float = 0.005, loss: float = 0.0,
                 duplicate: float = 0.0, reorder: float = 0.0,
                 bandwidth: Optional[float] = None) -> None:
        """
        @param seed: the random seed.
        @param latency: one-way delay in seconds.
        @param loss: probability a packet is lost.
        @param duplicate: probability a packet is delivered twice.
        @param reorder: probability a packet is delayed by a few latencies.
        @param bandwidth: bytes per second of a shared queue (C{None}:
            unlimited).
        """
        self.clock = Clock()
        self.random = _random.Random(seed)
        self.latency = latency
        self.loss = loss
        self.duplicate = duplicate
        self.reorder = reorder
        self.bandwidth = bandwidth
        self._linkFree: Dict[bytes, float] = {}
        self.layers: Dict[bytes, TCPLayer] = {}
        self.delivered = 0
        self.dropped = 0
        self.tap: Optional[list] = None

    def addHost(self, address: bytes, mtu: int = 1500, **kwargs: object) -> TCPLayer:
        """
        Attach a new TCP layer.

        @param address: its address, 4 bytes.
        @param mtu: its MTU.
        @param kwargs: passed to L{TCPLayer}.
        @return: the layer.
        """
        layer = TCPLayer(self.clock, NetworkPort(self, address, mtu),
                         seed=self.random.getrandbits(32), **kwargs)  # type: ignore[arg-type]
        self.layers[address] = layer
        return layer

    def transmit(self, source: bytes, destination: bytes, payload: bytes) -> None:
        """
        Carry one packet, maybe losing, duplicating or delaying it.

        @param source: 4 bytes.
        @param destination: 4 bytes.
        @param payload: the segment.
        """
        if self.tap is not None:
            self.tap.append((self.clock.seconds(), source, destination, parseSegment(payload)))
        rng = self.random
        if self.loss and rng.random() < self.loss:
            self.dropped += 1
            return
        delay = self.latency
        if self.bandwidth:
            now = self.clock.seconds()
            free = max(now, self._linkFree.get(source, 0.0))
            free += len(payload) / self.bandwidth
            self._linkFree[source] = free
            delay += free - now
        if self.reorder and rng.random() < self.reorder:
            delay += self.latency * rng.uniform(1, 4)
        copies = 2 if self.duplicate and rng.random() < self.duplicate else 1
        for _ in range(copies):
            self.clock.callLater(delay, self._deliver, source, destination, payload)

    def _deliver(self, source: bytes, destination: bytes, payload: bytes) -> None:
        """
        Hand a packet to its destination's layer.

        @param source: 4 bytes.
        @param destination: 4 bytes.
        @param payload: the segment.
        """
        layer = self.layers.get(destination)
        if layer is not None:
            self.delivered += 1
            layer.packetReceived(source, destination, payload, b"")

    def run(self, until: float = 3600.0, maxSteps: int = 2_000_000) -> None:
        """
        Advance the clock from event to event until nothing is scheduled or
        C{until} is reached.

        @param until: the time limit.
        @param maxSteps: a bound on the number of steps.
        """
        clock = self.clock
        for _ in range(maxSteps):
            calls = clock.getDelayedCalls()
            if not calls:
                return
            nextTime = min(call.getTime() for call in calls)
            if nextTime > until:
                clock.advance(until - clock.seconds())
                return
            clock.advance(max(0.0, nextTime - clock.seconds()))

    def runWhile(self, condition, until: float = 3600.0) -> None:  # type: ignore[no-untyped-def]
        """
        Advance the clock while C{condition()} is true.

        @param condition: a callable returning a bool.
        @param until: the time limit.
        """
        clock = self.clock
        while condition() and clock.seconds() < until:
            calls = clock.getDelayedCalls()
            if not calls:
                return
            nextTime = min(call.getTime() for call in calls)
            clock.advance(max(0.0, min(nextTime, until) - clock.seconds()))


verifyClass(IIPv4Sender, NetworkPort)