# -*- test-case-name: tests.vde.test_attach -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.vde.attach}: attach in process when this process
serves the switch, else over a VDE plug (on a fake OS and a memory
reactor).
"""

import errno
from typing import List, Optional, Tuple

from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from tests.vde.test_control import REPLY, REQUEST_PORT5
from tests.vde.test_stream import RecordingFrameProtocol
from vdetwist.interfaces import (
    AttachError, IFrameReceiver, IPortAttachment, IPortProvider)
from vdetwist.testing import FakeSystem
from vdetwist.vde import local
from vdetwist.vde.attach import attachToSwitch
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
