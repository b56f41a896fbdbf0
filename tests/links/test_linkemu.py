# -*- test-case-name: tests.links.test_linkemu -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.links.linkemu}: wirefilter's value syntax, the pure
scheduling of one direction at chosen times, and the delay lines on a
fake clock.
"""

import random
from typing import List

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.links.linkemu import (
    DEFAULT_CAPACITY, DirectionParameters, EmulatedLink, LinkDirection, LinkParameters,
    LinkValueError)


class ParameterTests(SynchronousTestCase):
    """
    C{[LR|RL]value[+jitter][K|M|G][U|N]}, as wirefilter reads it.
    """

    def test_bothDirections(self) -> None:
        """
        A value without a direction sets both.
        """
        p = LinkParameters()
        p.set("loss", "5")
        self.assertEqual((p.out.loss, p.into.loss), (5.0, 5.0))

    def test_oneDirection(self) -> None:
        """
        C{LR} is out of our switch, C{RL} into it.
        """
        p = LinkParameters()
        p.set("delay", "LR50+10N")
        p.set("delay", "RL7")
        self.assertEqual((p.out.delay, p.out.jitter, p.out.gaussian), (50.0, 10.0, True))
        self.assertEqual((p.into.delay, p.into.jitter, p.into.gaussian), (7.0, 0.0, False))

    def test_multipliers(self) -> None:
        """
        K, M, G are powers of 1024; C{band} is C{bandwidth}.
        """
        p = LinkParameters()
        p.set("band", "1M")
        self.assertEqual(p.out.bandwidth, 1048576)
        p.set("capacity", "2K")
        self.assertEqual(p.into.capacity, 2048)

    def test_bad(self) -> None:
        """
        Unknown names, bad numbers, percentages over 100, jitter on other
        than delay, and fractional byte counts are refused.
        """
        p = LinkParameters()
        for name, value in [("nosuch", "1"), ("loss", "x"), ("loss", "101"),
                            ("loss", "5+1"), ("mtu", "1.5"), ("delay", "LX5")]:
            self.assertRaises(LinkValueError, p.set, name, value)

    def test_setManyAndDescribe(self) -> None:
        """
        C{name=value,...} sets several; the description lists what is set,
        per direction where they differ.
        """
        p = LinkParameters()
        self.assertTrue(p.isIdentity())
        self.assertEqual(p.describe(), "none")
        p.setMany("delay=LR50+10,loss=2.5,mtu=1400")
        self.assertFalse(p.isIdentity())
        self.assertEqual(p.describe(), "loss 2.5 delay LR 50+10U RL 0 mtu 1400")
        self.assertRaises(LinkValueError, p.setMany, "delay")

    def test_copy(self) -> None:
        """
        Copies are independent.
        """
        p = LinkParameters()
        q = p.copy()
        q.set("loss", "1")
        self.assertEqual(p.out.loss, 0)


class DirectionTests(SynchronousTestCase):
    """
    L{LinkDirection.schedule} at chosen times.
    """

    def direction(self, **values: float) -> LinkDirection:
        """
        A direction with the given parameters and a seeded random source.
        """
        params = DirectionParameters()
        for name, value in values.items():
            setattr(params, name, value)
        return LinkDirection(params, random.Random(1))

    def test_delay(self) -> None:
        """
        A delay of 100 ms makes frames arrive 0.1 s later.
        """
        d = self.direction(delay=100)
        self.assertEqual(d.schedule(100, 10.0), [10.1])

    def test_bandwidth(self) -> None:
        """
        At 1000 bytes/s, back-to-back 100-byte frames arrive 0.1 s apart,
        and the link idles once it has caught up.
        """
        d = self.direction(bandwidth=1000)
        times = [d.schedule(100, 0.0)[0] for _ in range(3)]
        self.assertEqual([round(t, 6) for t in times], [0.1, 0.2, 0.3])
        self.assertEqual(round(d.schedule(100, 5.0)[0], 6), 5.1)

    def test_jitterKeepsOrder(self) -> None:
        """
        Jitter adds up to its value, and never reorders frames.
        """
        d = self.direction(delay=10, jitter=50)
        times = [d.schedule(60, i * 0.001)[0] for i in range(200)]
        self.assertEqual(times, sorted(times))
        self.assertTrue(all(0.010 <= t - i * 0.001 <= 0.060 + 0.2 for i, t in enumerate(times)))

    def test_loss(self) -> None:
        """
        With 30% loss, about 30% of many frames are lost (seeded).
        """
        d = self.direction(loss=30)
        kept = sum(len(d.schedule(60, 0.0)) for _ in range(10000))
        self.assertEqual(d.lost + kept, 10000)
        self.assertTrue(2700 < d.lost < 3300, d.lost)

    def test_duplication(self) -> None:
        """
        Duplicated frames are scheduled twice.
        """
        d = self.direction(dup=100)
        self.assertEqual(d.schedule(60, 1.0), [1.0, 1.0])
        self.assertEqual(d.duplicated, 1)

    def test_mtu(self) -> None:
        """
        Frames longer than the MTU are dropped; equal ones pass.
        """
        d = self.direction(mtu=1514)
        self.assertEqual(d.schedule(1515, 0.0), [])
        self.assertEqual(d.schedule(1514, 0.0), [0.0])
        self.assertEqual(d.tooBig, 1)

    def test_capacity(self) -> None:
        """
        What is queued is bounded; delivering frees room.
        """
        d = self.direction(delay=1000, capacity=250)
        self.assertEqual(len(d.schedule(100, 0.0)), 1)
        self.assertEqual(len(d.schedule(100, 0.0)), 1)
        self.assertEqual(d.schedule(100, 0.0), [])
        self.assertEqual(d.overflows, 1)
        d.delivered(100)
        self.assertEqual(len(d.schedule(100, 0.0)), 1)
        self.assertEqual(DirectionParameters().capacity, DEFAULT_CAPACITY)


class EmulatedLinkTests(SynchronousTestCase):
    """
    Both delay lines on a fake clock.
    """

    def test_delayLines(self) -> None:
        """
        Frames are delivered, each direction to its own side, when their
        time comes; changes to the parameters apply to later frames;
        stopping discards what waits.
        """
        clock = Clock()
        params = LinkParameters()
        params.set("delay", "LR100")
        params.set("delay", "RL10")
        out: List[bytes] = []
        into: List[bytes] = []
        link = EmulatedLink(clock, params, out.append, into.append, random.Random(1))
        link.sendOut(b"a")
        link.sendIn(b"b")
        clock.advance(0.01)
        self.assertEqual((out, into), ([], [b"b"]))
        clock.advance(0.1)
        self.assertEqual(out, [b"a"])
        params.set("delay", "LR0")
        link.sendOut(b"c")
        self.assertEqual(out, [b"a", b"c"])
        params.set("delay", "LR50")
        link.sendOut(b"d")
        link.stop()
        clock.advance(1)
        self.assertEqual(out, [b"a", b"c"])
        self.assertEqual(link.out.queued, 0)
        self.assertEqual(clock.getDelayedCalls(), [])
