# -*- test-case-name: tests.vde.test_attach -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.vde.attach}: attach in process when this process
serves the switch, else over a VDE plug (on a fake OS and a memory
reactor); and stay attached across the switch's restarts
(L{SwitchAttachment}, on a L{Clock}).
"""

import errno
from typing import Any, List, Optional, Tuple

from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IPushProducer
from twisted.internet.task import Clock
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import formatEvent, globalLogPublisher
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from tests.vde.test_control import REPLY, REQUEST_PORT5
from tests.vde.test_stream import RecordingFrameProtocol
from vdetwist.interfaces import (
    AttachError, IFrameReceiver, IFrameTransport, IPortAttachment, IPortProvider)
from vdetwist.testing import FakeSystem
from vdetwist.vde import local
from vdetwist.vde.attach import (
    CONFIRM_DELAY, SwitchAttachment, _Relay, attachPersistently, attachToSwitch)
from vdetwist.vde.plug import VDEPlug

#: A directory no switch serves on this machine.
DIRECTORY = "/nonexistent/vdetwist-attach"


@implementer(IPortAttachment)
class FakeAttachment:
    """
    The sending half of a port of L{FakeProvider}.
    """

    def __init__(self, portNumber: int) -> None:
        self.portNumber = portNumber
        self.endpointID = 1
        self.sent: List[bytes] = []
        self.lost = False

    def sendFrame(self, frame: bytes) -> None:
        """Record a frame."""
        self.sent.append(frame)

    def loseConnection(self) -> None:
        """Give the port back."""
        self.lost = True


@implementer(IPortProvider)
class FakeProvider:
    """
    An L{IPortProvider} that records each attach, or refuses with
    C{refusal}.
    """

    mac = b"\x02\x00\x00\x00\x00\x01"

    def __init__(self, refusal: Optional[AttachError] = None) -> None:
        self.refusal = refusal
        self.attached: List[Tuple[IFrameReceiver, str, int, FakeAttachment]] = []

    def attach(self, receiver: IFrameReceiver, description: str = "in-process",
               port: int = 0) -> IPortAttachment:
        """Take a port (1 when any will do), or refuse."""
        if self.refusal is not None:
            raise self.refusal
        attachment = FakeAttachment(port or 1)
        receiver.makeConnection(attachment)  # type: ignore[attr-defined]
        self.attached.append((receiver, description, port, attachment))
        return attachment


class InProcessTests(SynchronousTestCase):
    """
    A switch registered in L{vdetwist.vde.local} is attached by call.
    """

    def setUp(self) -> None:
        self.provider = FakeProvider()
        local.register(DIRECTORY, self.provider)
        self.addCleanup(local.unregister, DIRECTORY)
        self.reactor = MemoryReactorClock()
        self.protocol = RecordingFrameProtocol()

    def test_fakes(self) -> None:
        """
        The fakes provide the interfaces they stand for.
        """
        self.assertTrue(verifyObject(IPortProvider, self.provider))
        self.assertTrue(verifyObject(IPortAttachment, FakeAttachment(1)))

    def test_attached(self) -> None:
        """
        The Deferred fires at once with the provider's attachment, which
        the protocol got in C{makeConnection}; the URL's port is asked for,
        with the in-process description; no socket is opened.
        """
        d = attachToSwitch(self.reactor, "vde://" + DIRECTORY + "[5]", self.protocol,
                           "tag", inProcessDescription="tag user=me")
        transport = self.successResultOf(d)
        [(receiver, description, port, attachment)] = self.provider.attached
        self.assertIs(transport, attachment)
        self.assertIs(receiver, self.protocol)
        self.assertIs(self.protocol.transport, attachment)
        self.assertEqual((description, port), ("tag user=me", 5))
        self.assertEqual(self.reactor.unixClients, [])

    def test_description(self) -> None:
        """
        Without an in-process description the description is shown, and a
        bare directory asks for any port.
        """
        self.successResultOf(attachToSwitch(self.reactor, DIRECTORY, self.protocol, "tag"))
        [(_, description, port, _)] = self.provider.attached
        self.assertEqual((description, port), ("tag", 0))

    def test_refused(self) -> None:
        """
        A switch that refuses fails the Deferred with its L{AttachError}.
        """
        self.provider.refusal = AttachError(errno.ENOSPC, "no free port")
        failure = self.failureResultOf(
            attachToSwitch(self.reactor, DIRECTORY, self.protocol), AttachError)
        self.assertEqual(failure.value.code, errno.ENOSPC)

    def test_badURL(self) -> None:
        """
        A malformed URL fails the Deferred with L{ValueError}.
        """
        self.failureResultOf(
            attachToSwitch(self.reactor, "vde://" + DIRECTORY + "[port=-1]", self.protocol),
            ValueError)
        self.assertEqual(self.provider.attached, [])


class PlugTests(SynchronousTestCase):
    """
    A switch this process does not serve is reached over a VDE plug.
    """

    def test_plug(self) -> None:
        """
        The plug's handshake runs against C{DIR/ctl} with the description
        tagged as vdeplug does, and the Deferred fires with the plug.
        """
        reactor = MemoryReactorClock()
        system = FakeSystem(pid=4370)
        protocol = RecordingFrameProtocol()
        d = attachToSwitch(reactor, "vde:///tmp/cap/sw[5]", protocol, "vdeplug:",
                           inProcessDescription="unused", system=system)
        [(path, factory, _, _)] = reactor.unixClients
        self.assertEqual(path, "/tmp/cap/sw/ctl")
        ctl = factory.buildProtocol(None)
        transport = StringTransport()
        ctl.makeConnection(transport)
        self.assertEqual(transport.value(), REQUEST_PORT5)
        ctl.dataReceived(REPLY)
        plug = self.successResultOf(d)
        self.assertIsInstance(plug, VDEPlug)
        self.assertIs(protocol.transport, plug)


class ClosingAttachment(FakeAttachment):
    """
    A L{FakeAttachment} whose C{loseConnection} ends the receiver's
    attachment, as the switch's in-process ports do.
    """

    def __init__(self, portNumber: int, receiver: Any) -> None:
        FakeAttachment.__init__(self, portNumber)
        self.receiver = receiver

    def loseConnection(self) -> None:
        """Give the port back and tell the receiver."""
        FakeAttachment.loseConnection(self)
        self.receiver.connectionLost(Failure(ConnectionDone("port closed")))


class ClosingProvider(FakeProvider):
    """
    A L{FakeProvider} handing out L{ClosingAttachment}s.
    """

    def attach(self, receiver: IFrameReceiver, description: str = "in-process",
               port: int = 0) -> IPortAttachment:
        """Take a port, or refuse."""
        if self.refusal is not None:
            raise self.refusal
        attachment = ClosingAttachment(port or 1, receiver)
        receiver.makeConnection(attachment)  # type: ignore[attr-defined]
        self.attached.append((receiver, description, port, attachment))
        return attachment


class TimedSystem(FakeSystem):
    """
    A L{FakeSystem} that notes when each plug attempt resolves the switch
    directory (one C{realpath} per attempt).
    """

    def __init__(self, clock: Clock) -> None:
        FakeSystem.__init__(self)
        self.clock = clock
        self.attemptTimes: List[float] = []

    def realpath(self, path: str) -> str:
        """Note the time, then resolve (or refuse) as L{FakeSystem}."""
        self.attemptTimes.append(self.clock.seconds())
        return FakeSystem.realpath(self, path)


def switchGoesAway(provider: FakeProvider) -> None:
    """
    The in-process switch exits: it no longer serves L{DIRECTORY}, and its
    ports end.

    @param provider: the switch.
    """
    local.unregister(DIRECTORY)
    for receiver, _, _, _ in provider.attached:
        receiver.connectionLost(Failure(ConnectionLost("switch gone")))  # type: ignore[attr-defined]


class SwitchAttachmentInProcessTests(SynchronousTestCase):
    """
    L{SwitchAttachment} with in-process switches, on a L{Clock}: the
    switch going away, the drops meanwhile, the backoff, reattaching.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.system = TimedSystem(self.clock)
        self.system.missing.add(DIRECTORY)
        self.provider = ClosingProvider()
        local.register(DIRECTORY, self.provider)
        self.addCleanup(local.unregister, DIRECTORY)
        self.protocol = RecordingFrameProtocol()
        self.logged: List[dict] = []
        globalLogPublisher.addObserver(self.logged.append)
        self.addCleanup(globalLogPublisher.removeObserver, self.logged.append)

    def attach(self) -> SwitchAttachment:
        """
        Attach persistently, successfully.

        @return: the attachment.
        """
        return self.successResultOf(attachPersistently(
            self.clock, "vde://" + DIRECTORY + "[4]", self.protocol, "tag",
            inProcessDescription="tag in", system=self.system))

    def messages(self) -> List[str]:
        """
        @return: the attachment's log messages so far.
        """
        return [formatEvent(e) for e in self.logged
                if e.get("log_namespace") == "vdetwist.vde.attach"]

    def test_interfaces(self) -> None:
        """
        A L{SwitchAttachment} is an L{IFrameTransport} and an
        L{IPushProducer}.
        """
        attachment = self.attach()
        self.assertTrue(verifyObject(IFrameTransport, attachment))
        self.assertTrue(verifyObject(IPushProducer, attachment))

    def test_attached(self) -> None:
        """
        The protocol gets the attachment itself as its transport, once;
        its frames go straight to the port (C{sendFrame} is the port's own
        bound method, nothing added per frame) and the port's frames
        straight to the protocol.
        """
        attachment = self.attach()
        [(relay, description, port, fake)] = self.provider.attached
        self.assertEqual((description, port), ("tag in", 4))
        self.assertIs(self.protocol.transport, attachment)
        self.assertEqual(attachment.sendFrame, fake.sendFrame)
        self.assertEqual(relay.frameReceived, self.protocol.frameReceived)
        attachment.sendFrame(b"f" * 60)
        self.assertEqual(fake.sent, [b"f" * 60])
        self.assertTrue(attachment.attached)

    def test_relayExposesTheCork(self) -> None:
        """
        The relay a plug delivers to offers the protocol's C{cork} and
        C{uncork} when it has them (a plug corks around each batch), and
        none when it does not.
        """
        self.attach()
        [(relay, _, _, _)] = self.provider.attached
        self.assertIsNone(relay.cork)
        self.assertIsNone(relay.uncork)
        self.protocol.cork = lambda: None  # type: ignore[attr-defined]
        self.protocol.uncork = lambda: None  # type: ignore[attr-defined]
        relay = _Relay(relay.owner)
        self.assertIs(relay.cork, self.protocol.cork)
        self.assertIs(relay.uncork, self.protocol.uncork)

    def test_firstAttachFails(self) -> None:
        """
        A first attach that fails is reported, not retried.
        """
        self.provider.refusal = AttachError(errno.ENOSPC, "no free port")
        self.failureResultOf(attachPersistently(
            self.clock, DIRECTORY, self.protocol, system=self.system), AttachError)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_badURL(self) -> None:
        """
        A malformed URL fails the Deferred with L{ValueError}.
        """
        self.failureResultOf(attachPersistently(
            self.clock, "vde://" + DIRECTORY + "[port=-1]", self.protocol), ValueError)

    def test_wentAwayDropsCounted(self) -> None:
        """
        When the switch goes away the protocol is not told; it logs once
        that the switch went away, and frames sent meanwhile are dropped
        and counted.
        """
        attachment = self.attach()
        wentAway: List[bool] = []
        attachment.addWentAwayObserver(lambda: wentAway.append(True))
        switchGoesAway(self.provider)
        self.assertEqual(self.protocol.lost, [])
        self.assertEqual(wentAway, [True])
        self.assertFalse(attachment.attached)
        for _ in range(3):
            attachment.sendFrame(b"x" * 60)
        self.assertEqual(attachment.detachedDrops, 3)
        self.assertEqual(attachment.drops, 3)
        self.assertEqual(attachment.counters()["detachedDrops"], 3)
        self.clock.advance(10)
        self.assertEqual(
            [m for m in self.messages() if "went away" in m],
            ["switch %s went away; reconnecting" % (DIRECTORY,)])

    def test_backoff(self) -> None:
        """
        Attempts begin 0.1 s after the switch went away; each failure
        doubles the wait, up to 2 s.
        """
        self.attach()
        switchGoesAway(self.provider)
        while len(self.system.attemptTimes) < 8:
            [call] = self.clock.getDelayedCalls()
            self.clock.advance(call.getTime() - self.clock.seconds())
        times = [round(t, 6) for t in self.system.attemptTimes]
        self.assertEqual(times, [0.1, 0.3, 0.7, 1.5, 3.1, 5.1, 7.1, 9.1])

    def test_reattach(self) -> None:
        """
        When the switch is back the same protocol is attached again, with
        the same port asked for; frames flow again through the new port,
        the protocol is not told anything, the reattach observers are, it
        is logged, and the backoff starts over for the next outage.
        """
        attachment = self.attach()
        announced: List[bool] = []
        attachment.addReattachObserver(lambda: announced.append(True))
        attachment.sendFrame(b"a" * 60)
        switchGoesAway(self.provider)
        self.clock.advance(0.1)
        self.clock.advance(0.2)
        newProvider = ClosingProvider()
        local.register(DIRECTORY, newProvider)
        self.clock.advance(0.4)
        [(_, description, port, fake)] = newProvider.attached
        self.assertEqual((description, port), ("tag in", 4))
        self.assertEqual(announced, [True])
        self.assertIs(self.protocol.transport, attachment)
        self.assertEqual(self.protocol.lost, [])
        self.assertEqual(attachment.sendFrame, fake.sendFrame)
        attachment.sendFrame(b"b" * 60)
        self.assertEqual(fake.sent, [b"b" * 60])
        self.assertEqual((attachment.reattachments, attachment.detachments,
                          attachment.attempts), (1, 1, 3))
        self.assertIn("reattached to switch %s after 0.7 s (3 attempts)" % (DIRECTORY,),
                      self.messages())
        # The next outage starts at 0.1 s again.
        self.system.attemptTimes = []
        switchGoesAway(newProvider)
        self.clock.advance(0.1)
        self.assertEqual(len(self.system.attemptTimes), 1)

    def test_operatorClosedPort(self) -> None:
        """
        A port closed while its switch still runs (C{port/epclose}) ends
        the attachment: the protocol is told, nothing is retried.
        """
        attachment = self.attach()
        [(relay, _, _, _)] = self.provider.attached
        reason = Failure(ConnectionDone("port closed"))
        relay.connectionLost(reason)
        self.assertEqual(self.protocol.lost, [reason])
        self.assertTrue(attachment.disconnected)
        self.assertEqual(self.clock.getDelayedCalls(), [])
        attachment.sendFrame(b"x" * 60)
        self.assertEqual(attachment.detachedDrops, 1)

    def test_loseConnectionAttached(self) -> None:
        """
        C{loseConnection} gives the port back and ends the attachment for
        good; the protocol's C{connectionLost} follows once.
        """
        attachment = self.attach()
        [(_, _, _, fake)] = self.provider.attached
        attachment.loseConnection()
        attachment.loseConnection()
        self.assertTrue(fake.lost)
        self.assertEqual(len(self.protocol.lost), 1)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_loseConnectionDetached(self) -> None:
        """
        C{loseConnection} while detached stops the retries and tells the
        protocol (L{ConnectionDone}).
        """
        attachment = self.attach()
        switchGoesAway(self.provider)
        attachment.loseConnection()
        self.assertEqual(self.clock.getDelayedCalls(), [])
        [reason] = self.protocol.lost
        self.assertTrue(reason.check(ConnectionDone))
        local.register(DIRECTORY, ClosingProvider())
        self.clock.advance(10)
        self.assertEqual(self.system.attemptTimes, [])

    def test_pauseKept(self) -> None:
        """
        A paused attachment pauses the port it reattaches to.
        """
        attachment = self.attach()
        switchGoesAway(self.provider)
        attachment.pauseProducing()
        paused: List[str] = []
        newProvider = ClosingProvider()
        local.register(DIRECTORY, newProvider)
        original = ClosingAttachment.__init__

        def recordingInit(fake: ClosingAttachment, portNumber: int, receiver: Any) -> None:
            original(fake, portNumber, receiver)
            fake.pauseProducing = lambda: paused.append("pause")  # type: ignore[attr-defined]
            fake.resumeProducing = lambda: paused.append("resume")  # type: ignore[attr-defined]
        self.patch(ClosingAttachment, "__init__", recordingInit)
        self.clock.advance(0.1)
        self.assertEqual(paused, ["pause"])
        attachment.resumeProducing()
        self.assertEqual(paused, ["pause", "resume"])


class SwitchAttachmentPlugTests(SynchronousTestCase):
    """
    L{SwitchAttachment} over a VDE plug (a memory reactor, the fake OS):
    the control stream ending while nobody listens on the switch's control
    socket is the switch going away; while someone does, twice, the
    operator closed our port.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.system = FakeSystem(pid=4370)
        self.protocol = RecordingFrameProtocol()

    def handshake(self, index: int) -> Tuple[Any, VDEPlug]:
        """
        Complete the index-th control connection's handshake.

        @param index: which C{connectUNIX} call.
        @return: the control protocol and the plug.
        """
        path, factory = self.reactor.unixClients[index][:2]
        self.assertEqual(path, "/tmp/cap/sw/ctl")
        ctl = factory.buildProtocol(None)
        ctl.makeConnection(StringTransport())
        ctl.dataReceived(REPLY)
        return ctl, self.system.sockets[-1]

    def attach(self) -> Tuple[SwitchAttachment, Any]:
        """
        Attach and complete the first handshake.

        @return: the attachment and the control protocol.
        """
        d = attachPersistently(self.reactor, "vde:///tmp/cap/sw[5]", self.protocol,
                               "vdeplug:", system=self.system)
        ctl, _ = self.handshake(0)
        return self.successResultOf(d), ctl

    def test_switchGoneAndBack(self) -> None:
        """
        The switch exits (its control socket refuses): frames are dropped
        and counted while it is away; a new handshake is made 0.1 s later
        and the protocol's frames, from the same protocol, go to the new
        plug.
        """
        attachment, ctl = self.attach()
        firstPlug = attachment.transport
        attachment.sendFrame(b"1" * 60)
        self.system.connectError = errno.ECONNREFUSED
        ctl.connectionLost(Failure(ConnectionLost()))
        self.assertEqual(self.protocol.lost, [])
        attachment.sendFrame(b"2" * 60)
        self.assertEqual(attachment.detachedDrops, 1)
        self.reactor.advance(0.1)
        self.assertEqual(len(self.reactor.unixClients), 2)
        self.system.connectError = None
        _, data = self.handshake(1)
        self.assertIsNot(attachment.transport, firstPlug)
        self.assertIsInstance(attachment.transport, VDEPlug)
        attachment.sendFrame(b"3" * 60)
        self.assertEqual(data.sent, [b"3" * 60])
        self.assertEqual(self.protocol.transport, attachment)
        self.assertEqual((attachment.framesOut, attachment.drops), (2, 1))

    def test_exitingSwitch(self) -> None:
        """
        A control socket that still listens when our stream ends, but not
        a moment later, is a switch exiting: reattach.
        """
        attachment, ctl = self.attach()
        ctl.connectionLost(Failure(ConnectionLost()))
        self.system.connectError = errno.ENOENT
        self.reactor.advance(CONFIRM_DELAY)
        self.assertEqual(self.protocol.lost, [])
        self.assertEqual(attachment.detachments, 1)
        self.reactor.advance(0.1)
        self.assertEqual(len(self.reactor.unixClients), 2)

    def test_operatorClosedPort(self) -> None:
        """
        A control socket that still listens when our stream ends and a
        moment later is a switch that closed our port: the protocol is
        told and nothing is retried.
        """
        attachment, ctl = self.attach()
        reason = Failure(ConnectionLost())
        ctl.connectionLost(reason)
        self.assertEqual(self.protocol.lost, [])
        self.reactor.advance(CONFIRM_DELAY)
        self.assertEqual(len(self.protocol.lost), 1)
        self.assertTrue(attachment.disconnected)
        self.reactor.advance(10)
        self.assertEqual(len(self.reactor.unixClients), 1)
        self.assertEqual(attachment.detachments, 0)
