# -*- test-case-name: tests.links.test_switchport -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.links.switchport}: a link taking a switch port through
the attach contract, routing frames directly, through link emulation or to
the blocked counter, and leaving the port from either side.
"""

from typing import Any, List, Optional

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from tests.switch.test_switch import BROADCAST, MAC1, MAC2, Recorder, frame
from vdetwist.interfaces import AttachError, IFrameProtocol, IPortAttachment, IPortProvider
from vdetwist.links.linkemu import LinkParameters
from vdetwist.links.switchport import FIRST_ENDPOINT_ID, LinkPort, SwitchSide
from vdetwist.switch.switch import Switch


class FakeLink(LinkPort):
    """
    A link whose peer is a list.
    """

    module = "fake"

    def __init__(self, switch: Any, reactor: Any) -> None:
        self.switch = switch
        self.reactor = reactor
        self.endpointID = FIRST_ENDPOINT_ID + 7
        self.description = "fake 7"
        self._initLinkPort()
        self.toPeer: List[bytes] = []
        self.closedBySwitch = 0

    def sendDirect(self, frame: bytes) -> None:
        self.toPeer.append(frame)

    def switchClosed(self) -> None:
        self.closedBySwitch += 1
        self.detachFromSwitch()

    def fromPeer(self, frame: bytes) -> None:
        self._forward(frame)


@implementer(IPortAttachment)
class MinimalAttachment:
    """
    An attachment with only what L{IPortAttachment} promises.
    """

    def __init__(self, provider: "MinimalProvider", receiver: Any) -> None:
        self.provider = provider
        self.receiver = receiver
        self.portNumber = 1
        self.endpointID = 1

    def sendFrame(self, frame: bytes) -> None:
        self.provider.intoSwitch.append(frame)

    def loseConnection(self) -> None:
        self.provider.receiver = None


@implementer(IPortProvider)
class MinimalProvider:
    """
    A switch that keeps the C{frameReceived} bound at attach time, as the
    contract allows, and offers no C{receiverChanged}.
    """

    mac = b"\x00\xff\x00\x00\x00\x01"

    def __init__(self) -> None:
        self.intoSwitch: List[bytes] = []
        self.receiver: Optional[Any] = None
        self.send: Any = None

    def attach(self, receiver: Any, description: str = "in-process",
               port: int = 0) -> MinimalAttachment:
        if self.receiver is not None:
            raise AttachError(28, "busy")
        self.receiver = receiver
        self.send = receiver.frameReceived
        attachment = MinimalAttachment(self, receiver)
        receiver.makeConnection(attachment)
        return attachment


class LinkPortTests(SynchronousTestCase):
    """
    A link on vdetwist's switch.
    """

    def setUp(self) -> None:
        self.clock = Clock()
        self.switch = Switch(numports=3)
        self.host = Recorder()
        self.switch.attach(self.host, "host")
        self.link = FakeLink(self.switch, self.clock)

    def test_notAttached(self) -> None:
        """
        Before attaching, frames either way are dropped and counted.
        """
        self.link.sendFrame(b"x" * 14)
        self.link.fromPeer(b"y" * 14)
        self.assertEqual((self.link.drops, self.link.portNumber), (2, None))

    def test_attach(self) -> None:
        """
        Attaching takes a port shown with the link's module, ID and
        description; frames pass both ways, with no call in between on the
        switch's side.
        """
        self.link.attachToSwitch(None)
        self.assertTrue(verifyObject(IPortAttachment, self.link.attachment))
        self.assertTrue(verifyObject(IFrameProtocol, self.link._side))
        number = self.link.portNumber
        endpoint = self.switch.getPort(number).endpoints[0]
        self.assertEqual((endpoint.module, endpoint.endpointID, endpoint.description),
                         ("fake", 20007, "fake 7"))
        self.assertEqual(self.switch.getPort(number).send, self.link.sendDirect)
        self.link.fromPeer(frame(BROADCAST, MAC1))
        self.assertEqual(self.host.frames, [frame(BROADCAST, MAC1)])
        self.host.transport.sendFrame(frame(MAC1, MAC2))
        self.assertEqual(self.link.toPeer, [frame(MAC1, MAC2)])

    def test_linkEmulation(self) -> None:
        """
        With a delay both directions wait for it; routing again without
        parameters sends directly and discards what was held.
        """
        self.link.attachToSwitch(None)
        params = LinkParameters()
        params.set("delay", "10")
        self.link.routeFrames(params)
        self.link.fromPeer(frame(BROADCAST, MAC1))
        self.host.transport.sendFrame(frame(MAC1, MAC2))
        self.assertEqual((self.host.frames, self.link.toPeer), ([], []))
        self.clock.advance(0.01)
        self.assertEqual((len(self.host.frames), len(self.link.toPeer)), (1, 1))
        self.host.transport.sendFrame(frame(MAC1, MAC2))
        self.link.routeFrames(None)
        self.clock.advance(1)
        self.assertEqual(len(self.link.toPeer), 1)
        self.assertIsNone(self.link.link)

    def test_blocked(self) -> None:
        """
        A blocked link drops (and counts) data both ways.
        """
        self.link.attachToSwitch(None)
        self.link.blocked = True
        self.link.routeFrames(None)
        self.link.fromPeer(frame(BROADCAST, MAC1))
        self.host.transport.sendFrame(frame(BROADCAST, MAC2))
        self.assertEqual((self.host.frames, self.link.toPeer, self.link.blockedDrops),
                         ([], [], 2))

    def test_detach(self) -> None:
        """
        Detaching gives the port back without telling the link it was
        closed; later frames are dropped.
        """
        self.link.attachToSwitch(None)
        number = self.link.portNumber
        self.link.detachFromSwitch()
        self.assertFalse(self.switch.getPort(number).active)
        self.assertEqual(self.link.closedBySwitch, 0)
        self.assertIsNone(self.link.attachment)
        self.link.fromPeer(frame(BROADCAST, MAC1))
        self.assertEqual(self.host.frames, [])

    def test_closedBySwitch(self) -> None:
        """
        port/epclose tells the link once.
        """
        self.link.attachToSwitch(None)
        number = self.link.portNumber
        self.switch.closeEndpoint(number, 20007)
        self.assertEqual(self.link.closedBySwitch, 1)
        self.assertIsNone(self.link.attachment)
        self.assertFalse(self.switch.getPort(number).active)

    def test_noPort(self) -> None:
        """
        A full switch raises L{AttachError}; the link stays detached.
        """
        self.switch.attach(Recorder())
        self.assertRaises(AttachError, self.link.attachToSwitch, None)
        self.assertIsNone(self.link.attachment)


class MinimalProviderTests(SynchronousTestCase):
    """
    A link on a provider that offers only the contract: frames still
    follow the link's current routing.
    """

    def test_followsRouting(self) -> None:
        """
        The provider keeps calling what it bound at attach; that forwards
        to the link's current send function.
        """
        clock = Clock()
        provider = MinimalProvider()
        link = FakeLink(provider, clock)
        link.attachToSwitch(None)
        self.assertIsInstance(provider.receiver, SwitchSide)
        provider.send(b"a" * 14)
        self.assertEqual(link.toPeer, [b"a" * 14])
        params = LinkParameters()
        params.set("delay", "5")
        link.routeFrames(params)
        provider.send(b"b" * 14)
        link.fromPeer(b"c" * 14)
        self.assertEqual((link.toPeer, provider.intoSwitch), ([b"a" * 14], []))
        clock.advance(0.005)
        self.assertEqual((link.toPeer, provider.intoSwitch), ([b"a" * 14, b"b" * 14],
                                                              [b"c" * 14]))
        link.detachFromSwitch()
        self.assertIsNone(provider.receiver)
