# -*- test-case-name: tests.links.test_switchport -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The switch side of a link: how a cable connection or a VXLAN port takes a
switch port through the attach contract (L{IPortProvider.attach}) and
routes its two directions, directly or through link emulation
(L{vdetwist.links.linkemu}), or drops them while the loop guard blocks it.

A link knows the switch only as an L{IPortProvider}.  Frames leaving the
switch port go to the link's C{sendFrame}; frames from the peer go to its
C{_forward}, which is the attachment's C{sendFrame} (or the link
emulation's delay line in front of it).  When the provider's attachment
offers C{receiverChanged} (vdetwist's switch does), the switch calls the
link's current send function with no call in between, as it did when
links were switch endpoints themselves.
"""

from typing import Any, Callable, Optional

from zope.interface import implementer

from vdetwist.interfaces import IFrameProtocol, IFrameTransport, IPortAttachment, IPortProvider
from vdetwist.links.linkemu import EmulatedLink, LinkParameters

#: The first endpoint ID given to links (port/print's "ID"): 20000 + cable ID.
FIRST_ENDPOINT_ID = 20000
# The shortest frame a link accepts from its peer is MIN_FRAME, an
# Ethernet header.


@implementer(IFrameProtocol)
class SwitchSide:
    """
    The receiver a link attaches to the switch: it carries the link's
    C{module} and C{endpointID} for port/print, hands the frames leaving
    the port to the link, and tells the link when the switch closes the
    port (port/epclose, port/remove, shutdown).

    @ivar link: the L{LinkPort}.
    @ivar module: the link's module name, for port/print.
    @ivar endpointID: the link's endpoint ID, for port/print.
    @ivar attachment: the attachment, once made.
    """

    def __init__(self, link: "LinkPort") -> None:
        """
        @param link: the link.
        """
        self.link = link
        self.module = link.module
        self.endpointID = link.endpointID
        self.attachment: Optional[IFrameTransport] = None

    def frameReceived(self, frame: bytes) -> None:
        """
        A frame leaving the switch port: to the link's current send
        function.  (Replaced by that function itself, as an instance
        attribute, when the attachment supports C{receiverChanged}.)

        @param frame: the frame.
        """
        self.link.sendFrame(frame)

    def makeConnection(self, transport: IFrameTransport) -> None:
        """
        The switch gave the port.

        @param transport: the attachment.
        """
        self.attachment = transport

    def connectionLost(self, reason: object) -> None:
        """
        The port was closed: tell the link, unless it asked for it.

        @param reason: why.
        """
        self.link._switchClosed(self)


class LinkPort:
    """
    The switch-facing half of a link, mixed into L{CableProtocol
    <vdetwist.links.cable.CableProtocol>} and L{VXLANPort
    <vdetwist.links.vxlan.VXLANPort>}.

    A subclass sets C{module}, C{endpointID}, C{description}, C{switch}
    (an L{IPortProvider}), C{reactor} and calls L{_initLinkPort}; it
    provides C{sendDirect} (a frame to the peer) and C{switchClosed} (the
    switch closed the port).

    @ivar attachment: the L{IPortAttachment} while attached, else L{None}.
    @ivar link: the L{EmulatedLink} frames go through, or L{None}.
    @ivar blocked: whether the loop guard blocked this link.
    @ivar blockedDrops: frames dropped while blocked.
    @ivar drops: frames to the peer dropped (not attached, too long, the
        peer not reading).
    @ivar sendFrame: the current send function: switch to peer.
    """

    module = ""
    endpointID = 0
    description = ""
    switch: IPortProvider
    reactor: Any

    def _initLinkPort(self) -> None:
        """
        Set up the link-port state.
        """
        self.attachment: Optional[IPortAttachment] = None
        self.link: Optional[EmulatedLink] = None
        self.blocked = False
        self.blockedDrops = 0
        self.drops = 0
        self._side: Optional[SwitchSide] = None
        self._direct = False
        self._forward: Callable[[bytes], None] = self._notAttached
        self.sendFrame: Callable[[bytes], None] = self._notAttached

    @property
    def portNumber(self) -> Optional[int]:
        """
        The switch port number while attached, else L{None}.
        """
        attachment = self.attachment
        return None if attachment is None else attachment.portNumber

    def _notAttached(self, frame: bytes) -> None:
        """
        The send function of a link not attached: drop and count.

        @param frame: dropped.
        """
        self.drops += 1

    def _dropBlocked(self, frame: bytes) -> None:
        """
        The send and forward function of a link the loop guard blocked.

        @param frame: dropped and counted.
        """
        self.blockedDrops += 1

    def sendDirect(self, frame: bytes) -> None:
        """
        Send one frame to the peer, past link emulation and the loop guard
        (loop probes go this way).  Never raises.

        @param frame: the frame.
        """
        raise NotImplementedError()

    def switchClosed(self) -> None:
        """
        The switch closed the port (port/epclose, shutdown): close the link.
        """
        raise NotImplementedError()

    def attachToSwitch(self, params: Optional[LinkParameters]) -> None:
        """
        Take a free switch port and route frames (through C{params}).

        @param params: the link emulation, or L{None}.
        @raise vdetwist.interfaces.AttachError: when the switch gives none.
        """
        side = SwitchSide(self)
        attachment = self.switch.attach(side, self.description)
        self._side = side
        self.attachment = attachment
        self._direct = hasattr(attachment, "receiverChanged")
        self.routeFrames(params)

    def detachFromSwitch(self) -> None:
        """
        Give the port back and stop the link emulation; frames to the peer
        are dropped (and counted) from now on.
        """
        if self.link is not None:
            self.link.stop()
            self.link = None
        self.sendFrame = self._notAttached
        self._forward = self._notAttached
        attachment, self.attachment = self.attachment, None
        self._side = None
        if attachment is not None:
            attachment.loseConnection()

    def _switchClosed(self, side: SwitchSide) -> None:
        """
        A receiver's attachment ended: when it is the current one and we
        did not ask for it, the switch closed the port.

        @param side: the receiver whose port closed.
        """
        if side is self._side and self.attachment is not None:
            self.attachment = None
            self._side = None
            self.switchClosed()

    def routeFrames(self, params: Optional[LinkParameters]) -> None:
        """
        Point both directions through link emulation, or straight through
        when there is none, or to the blocked-drop counter while blocked;
        the old emulation stops (what it held is discarded).

        @param params: the link parameters, or L{None}.
        """
        if self.link is not None:
            self.link.stop()
            self.link = None
        attachment = self.attachment
        into = attachment.sendFrame if attachment is not None else self._notAttached
        if self.blocked:
            send = forward = self._dropBlocked
        elif params is None or params.isIdentity():
            send, forward = self.sendDirect, into
        else:
            self.link = EmulatedLink(self.reactor, params, self.sendDirect, into)
            send, forward = self.link.sendOut, self.link.sendIn
        self.sendFrame = send
        self._forward = forward
        side = self._side
        if self._direct and side is not None and attachment is not None:
            side.frameReceived = send  # type: ignore[method-assign]
            attachment.receiverChanged()  # type: ignore[attr-defined]
