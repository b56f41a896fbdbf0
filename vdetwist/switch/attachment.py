# -*- test-case-name: tests.switch.test_switch -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Ports taken from inside the process (L{vdetwist.switch.switch.Switch.attach},
the attach contract): the switch's side, L{InProcessEndpoint}, an
L{ISwitchPort} whose C{sendFrame} is the receiver's own C{frameReceived};
and the receiver's side, L{PortAttachment}, an L{IPortAttachment} whose
C{sendFrame} is the switch's forwarding path for the port.
"""

from typing import Any, Optional

from twisted.internet.error import ConnectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import IFrameProtocol, IFrameReceiver, IPortAttachment, ISwitchPort
from vdetwist.switch.port import Port

__all__ = ["InProcessEndpoint", "PortAttachment"]


@implementer(ISwitchPort)
class InProcessEndpoint:
    """
    The switch's side of a port taken by something in the same process (a
    stack, a NAT, a cable): frames leaving the port go straight to the
    receiver's C{frameReceived}, with no socket and no call in between.

    @ivar module: shown by port/print: the receiver's C{module} attribute
        if it has one, else C{in-process}.
    @ivar attachment: the L{PortAttachment}, the receiver's side.
    """

    def __init__(self, switch: Any, receiver: IFrameReceiver,
                 description: str, endpointID: int, module: str) -> None:
        """
        @param switch: the switch.
        @param receiver: what gets the frames leaving the port.
        @param description: shown by port/print.
        @param endpointID: shown by port/print.
        @param module: shown by port/print.
        """
        self.switch = switch
        self.receiver = receiver
        self.description = description
        self.endpointID = endpointID
        self.module = module
        self.port: Optional[Port] = None
        self.sendFrame = receiver.frameReceived
        self.attachment = PortAttachment(self)
        self._closed = False

    def close(self) -> None:
        """
        Detach (from the switch's side or the receiver's); the receiver, if
        an L{IFrameProtocol}, is told with C{connectionLost}.
        """
        if self._closed:
            return
        self._closed = True
        self.switch.removeEndpoint(self)
        self.attachment._detached()
        if IFrameProtocol.providedBy(self.receiver):
            self.receiver.connectionLost(Failure(ConnectionDone("port closed")))


@implementer(IPortAttachment)
class PortAttachment:
    """
    What L{Switch.attach} returns: the L{IPortAttachment} an in-process
    receiver sends into.  C{sendFrame} is the switch's forwarding path for
    the port; C{loseConnection} gives the port back.

    @ivar endpoint: the L{InProcessEndpoint} this is the other side of.
    @ivar endpointID: as port/print shows it.
    """

    def __init__(self, endpoint: InProcessEndpoint) -> None:
        """
        @param endpoint: the endpoint.
        """
        self.endpoint = endpoint
        self.endpointID = endpoint.endpointID
        self._port: Optional[Port] = None
        self._forward = endpoint.switch.frameFromPort

    @property
    def portNumber(self) -> int:
        """
        The switch port number taken (-1 once detached).
        """
        port = self._port
        return -1 if port is None else port.number

    def sendFrame(self, frame: bytes) -> None:
        """
        Put one frame into the switch as if it arrived on the port; dropped
        once detached.

        @param frame: the frame.
        """
        port = self._port
        if port is not None:
            self._forward(port, frame)

    def loseConnection(self) -> None:
        """
        Give the port back; the receiver's C{connectionLost} is called.
        """
        self.endpoint.close()

    def receiverChanged(self) -> None:
        """
        The receiver replaced its C{frameReceived} (a cable switching to or
        from link emulation): the port sends to the new one from now on,
        still with no call in between.  Not part of L{IPortAttachment}: a
        receiver that swaps its C{frameReceived} calls this when present.
        """
        endpoint = self.endpoint
        endpoint.sendFrame = endpoint.receiver.frameReceived
        port = self._port
        if port is not None:
            port.rebind()

    def _detached(self) -> None:
        """
        The port was given back: frames sent from now on are dropped.
        """
        self._port = None
