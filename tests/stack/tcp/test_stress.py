# -*- test-case-name: tests.stack.tcp.test_stress -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A seeded stress run: many connections, each with random settings (MSS,
buffers, options on or off), a random link (loss, duplication, reordering,
latency, bandwidth) and random pauses of either reader, both sides sending
at once and half-closing.  Every run must deliver both streams intact and
end cleanly.  Two stalls were found this way (see the machine tests).
"""

import random
from typing import Optional

from twisted.internet import error
from twisted.trial.unittest import SynchronousTestCase

from tests.stack.tcp.test_connection import A, B, BothWays, factoryFor, pattern
from vdetwist.stack.tcp.machine import TCPConfig
from vdetwist.testing import FakeNetwork

#: How many seeded runs.
RUNS = 60


def run(seed: int) -> Optional[str]:
    """
    One stress run.

    @param seed: the seed of everything random in it.
    @return: C{None} when it went right, else a description.
    """
    rng = random.Random(seed)
    net = FakeNetwork(seed=seed, loss=rng.choice([0, 0.02, 0.05, 0.1]),
                      duplicate=rng.choice([0, 0.05]), reorder=rng.choice([0, 0.1, 0.3]),
                      latency=rng.choice([0.0005, 0.005, 0.05]),
                      bandwidth=rng.choice([None, 1e6, 1e7]))

    def config() -> TCPConfig:
        """
        @return: random settings for one side.
        """
        return TCPConfig(timestamps=rng.random() < 0.7, sack=rng.random() < 0.7,
                         windowScaling=rng.random() < 0.7,
                         receiveBufferSize=rng.choice([4096, 16384, 65536, 131072]),
                         sendBufferSize=rng.choice([8192, 65536, 262144]),
                         mss=rng.choice([536, 1460, 8960]))

    a = net.addHost(A, config=config())
    b = net.addHost(B, config=config())
    server = BothWays()
    server.payload = pattern(rng.randrange(0, 300000), seed)
    b.listen(5000, factoryFor(server))
    client = BothWays()
    client.payload = pattern(rng.randrange(0, 300000), seed + 1)
    a.connect(B, 5000, factoryFor(client))
    for _ in range(rng.randrange(0, 5)):
        start = rng.uniform(0, 5)
        who = rng.choice([server, client])

        def pause(who: BothWays = who) -> None:
            """
            Stop reading.

            @param who: the protocol.
            """
            if who.transport is not None and who.lost is None:
                who.transport.pauseProducing()

        def resume(who: BothWays = who) -> None:
            """
            Read again.

            @param who: the protocol.
            """
            if who.transport is not None and who.lost is None:
                who.transport.resumeProducing()

        net.clock.callLater(start, pause)
        net.clock.callLater(start + rng.uniform(0, 20), resume)
    net.run(until=3000)
    for name, receiver, sender in (("server", server, client), ("client", client, server)):
        if receiver.data() != sender.payload:
            return f"{name} got {len(receiver.data())} of {len(sender.payload)} bytes"
        if receiver.lost is None or not receiver.lost.check(error.ConnectionDone):
            return f"{name} ended with {receiver.lost}"
    return None


class StressTests(SynchronousTestCase):
    """
    The stress run.
    """

    def test_seededRuns(self) -> None:
        """
        Every seeded run delivers both directions intact and closes
        cleanly.
        """
        failures = {}
        for seed in range(RUNS):
            problem = run(seed)
            if problem is not None:
                failures[seed] = problem
        self.assertEqual(failures, {})
