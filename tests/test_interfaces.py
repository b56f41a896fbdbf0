# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.interfaces}: every boundary interface has the classes
that claim it, and those classes have what the interface names.
"""

import errno

from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyClass, verifyObject

from vdetwist import interfaces
from vdetwist.links.switchport import SwitchSide
from vdetwist.stack.icmp import ICMPLayer
from vdetwist.stack.interface import NetworkInterface
from vdetwist.stack.ipv4 import IPv4Layer
from vdetwist.stack.tcp.demux import TCPLayer
from vdetwist.stack.udp import UDPLayer
from vdetwist.switch.attachment import InProcessEndpoint, PortAttachment
from vdetwist.switch.switch import Switch, SwitchError
from vdetwist.vde.plug import VDEPlug
from vdetwist.vde.stream import StreamFrameProtocol

#: Each interface with the classes of vdetwist that implement it.
IMPLEMENTERS = [
    (interfaces.IPortProvider, [Switch]),
    (interfaces.IPortAttachment, [PortAttachment]),
    (interfaces.IFrameTransport, [VDEPlug, StreamFrameProtocol, PortAttachment]),
    (interfaces.IFrameProtocol, [NetworkInterface, SwitchSide]),
    (interfaces.IFrameReceiver, [NetworkInterface, SwitchSide]),
    (interfaces.IIPv4Sender, [IPv4Layer]),
    (interfaces.IIPv4Protocol, [UDPLayer, TCPLayer, ICMPLayer]),
]


class ImplementerTests(SynchronousTestCase):
    """
    The classes that declare an interface provide all of it.
    """

    def test_declaredAndComplete(self) -> None:
        """
        Each listed class declares its interface and has every method the
        interface names, with compatible signatures.
        """
        for interface, classes in IMPLEMENTERS:
            for cls in classes:
                self.assertTrue(interface.implementedBy(cls), (interface, cls))
                self.assertTrue(verifyClass(interface, cls))

    def test_switchIsAPortProvider(self) -> None:
        """
        A live switch provides the attach contract, its C{mac} included, and
        its attachments provide L{interfaces.IPortAttachment}.
        """
        switch = Switch()
        verifyObject(interfaces.IPortProvider, switch)

        class Receiver:
            def frameReceived(self, frame: bytes) -> None:
                pass

        attachment = switch.attach(Receiver(), "test")
        verifyObject(interfaces.IPortAttachment, attachment)
        # The endpoint binds sendFrame per instance (the forwarding path
        # calls the receiver with no hop), so it is checked as an object.
        self.assertIsInstance(attachment.endpoint, InProcessEndpoint)
        verifyObject(interfaces.ISwitchPort, attachment.endpoint)
        self.assertEqual(len(switch.mac), 6)


class AttachErrorTests(SynchronousTestCase):
    """
    L{interfaces.AttachError} carries an errno and a reason.
    """

    def test_fields(self) -> None:
        """
        The code and the reason are kept as attributes and in C{args}.
        """
        error = interfaces.AttachError(errno.ENOSPC, "no free port")
        self.assertEqual((error.code, error.reason), (errno.ENOSPC, "no free port"))
        self.assertEqual(error.args, (errno.ENOSPC, "no free port"))

    def test_switchErrorIsAnAttachError(self) -> None:
        """
        The switch's refusals are attach errors, so callers of the contract
        catch one type.
        """
        self.assertTrue(issubclass(SwitchError, interfaces.AttachError))
