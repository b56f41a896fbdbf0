# -*- test-case-name: tests.ns.test_relay -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.ns.relay.TapRelay} on the fake OS layer: batched
reads into the switch, writes to the tap, drops counted while no switch
is attached, the switch's loss reported with the tap kept.
"""

import errno

from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.testing import MemoryReactor
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from vdetwist.interfaces import IFrameProtocol
from vdetwist.ns.relay import READ_BATCH, READ_SIZE, TapRelay
from vdetwist.testing import FakeFrameTransport, FakeSystem

FRAME = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + b"x" * 50


class TapRelayTests(SynchronousTestCase):
    """
    L{TapRelay}.
    """

    def setUp(self) -> None:
        """
        A relay on a fake tap, attached to a fake switch.
        """
        self.reactor = MemoryReactor()
        self.system = FakeSystem()
        self.relay = TapRelay(self.reactor, self.system)
        self.transport = FakeFrameTransport()
        self.relay.makeConnection(self.transport)
        self.relay.startTap(7)

    def test_interface(self) -> None:
        """
        The relay is an L{IFrameProtocol}; the tap is read by the reactor.
        """
        verifyObject(IFrameProtocol, self.relay)
        (reader,) = self.reactor.getReaders()
        self.assertEqual(reader.fileno(), 7)

    def test_batchedRead(self) -> None:
        """
        One wakeup reads until EAGAIN, at most READ_BATCH frames, each of
        READ_SIZE bytes asked for.
        """
        self.system.inbound = [FRAME] * (READ_BATCH + 3)
        (reader,) = self.reactor.getReaders()
        reader.doRead()
        self.assertEqual(len(self.transport.frames), READ_BATCH)
        self.assertEqual(set(self.system.reads), {READ_SIZE})
        reader.doRead()
        self.assertEqual(len(self.transport.frames), READ_BATCH + 3)
        self.assertEqual(self.relay.framesIn, READ_BATCH + 3)

    def test_oversized(self) -> None:
        """
        A frame longer than the largest carried is dropped and counted.
        """
        self.system.inbound = [b"x" * READ_SIZE, FRAME]
        self.relay.readFrames()
        self.assertEqual((self.transport.frames, self.relay.drops), ([FRAME], 1))

    def test_write(self) -> None:
        """
        Frames from the switch are written to the tap; a full tap drops.
        """
        self.relay.frameReceived(FRAME)
        self.system.full = True
        self.relay.frameReceived(FRAME)
        self.assertEqual(self.system.outbound, [FRAME])
        self.assertEqual((self.relay.framesOut, self.relay.drops), (1, 1))

    def test_beforeTap(self) -> None:
        """
        Frames from the switch before the tap arrived are dropped and counted.
        """
        relay = TapRelay(self.reactor, FakeSystem())

        def write(fd, data):
            raise OSError(errno.EBADF, "bad fd")
        relay._write = write
        relay.frameReceived(FRAME)
        self.assertEqual((relay.drops, relay.errors), (1, 0))

    def test_switchLost(self) -> None:
        """
        The switch going away is reported; the tap stays read and its
        frames are dropped and counted until another attachment.
        """
        lost = []
        self.relay.onSwitchLost = lost.append
        self.relay.connectionLost(Failure(ConnectionLost("gone")))
        self.assertEqual(len(lost), 1)
        self.assertEqual(len(self.reactor.getReaders()), 1)
        self.system.inbound = [FRAME, FRAME]
        self.relay.readFrames()
        self.assertEqual((self.relay.drops, self.relay.framesIn), (2, 0))
        again = FakeFrameTransport()
        self.relay.makeConnection(again)
        self.system.inbound = [FRAME]
        self.relay.readFrames()
        self.assertEqual(again.frames, [FRAME])

    def test_detach(self) -> None:
        """
        L{TapRelay.detach} gives the port back; its end is not reported
        as a loss but through C{onDetached}.
        """
        lost, detached = [], []
        self.relay.onSwitchLost = lost.append
        self.relay.onDetached = lambda: detached.append(True)
        self.relay.detach()
        self.assertTrue(self.transport.disconnecting)
        self.relay.connectionLost(Failure(ConnectionDone()))
        self.assertEqual((lost, detached), ([], [True]))

    def test_stopTap(self) -> None:
        """
        Stopping closes the tap once and leaves the reactor.
        """
        self.relay.stopTap()
        self.relay.stopTap()
        self.assertEqual(self.system.closed, [7])
        self.assertEqual(self.reactor.getReaders(), [])

    def test_readError(self) -> None:
        """
        A fatal read error closes the tap and is reported.
        """
        errors = []
        self.relay.onTapLost = errors.append
        self.system.readError = errno.EIO
        self.relay.readFrames()
        self.assertEqual(len(errors), 1)
        self.assertTrue(self.relay.tapClosed)
        self.assertEqual(self.system.closed, [7])
