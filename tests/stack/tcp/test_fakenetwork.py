# -*- test-case-name: tests.stack.tcp.test_fakenetwork -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.testing.FakeNetwork}, the simulated link joining TCP
layers.
"""

from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.testing import FakeNetwork

A = bytes([10, 0, 0, 1])
B = bytes([10, 0, 0, 2])


class FakeNetworkTests(SynchronousTestCase):
    """
    Delivery, latency and loss of L{FakeNetwork}.
    """

    def test_latency(self) -> None:
        """
        A packet arrives one latency after it is sent, not before: the SYN
        sent at 0 reaches the listener at 0.25, its SYN-ACK the client at
        0.5, which then connects.
        """
        net = FakeNetwork(latency=0.25)
        net.tap = []
        net.addHost(A).listen(80, Factory.forProtocol(Protocol))
        d = net.addHost(B).connect(A, 80, Factory.forProtocol(Protocol))
        net.clock.advance(0.125)
        self.assertEqual(net.delivered, 0)
        net.clock.advance(0.125)
        self.assertEqual(net.delivered, 1)
        net.clock.advance(0.125)
        self.assertNoResult(d)
        net.run(until=0.5)
        self.successResultOf(d)
        self.assertEqual(net.delivered, 2)
        self.assertEqual([(t, s, dst) for t, s, dst, _ in net.tap[:2]],
                         [(0.0, B, A), (0.25, A, B)])

    def test_loss(self) -> None:
        """
        With every packet lost nothing is delivered and each loss is
        counted.
        """
        net = FakeNetwork(loss=1.0)
        net.tap = []
        net.addHost(A)
        d = net.addHost(B).connect(A, 80, Factory.forProtocol(Protocol), timeout=1)
        net.run(until=2.0)
        self.failureResultOf(d)
        self.assertEqual(net.delivered, 0)
        self.assertEqual(net.dropped, len(net.tap))
        self.assertGreater(net.dropped, 0)
