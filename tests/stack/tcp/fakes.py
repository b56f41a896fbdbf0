# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Fakes for testing the TCP layer without an IPv4 stack: L{RecordingIPv4}
keeps what is sent.  (The simulated network joining TCP layers is the
public L{vdetwist.testing.FakeNetwork}.)
"""

from typing import List, Tuple

from zope.interface import implementer
from zope.interface.verify import verifyClass

from vdetwist.interfaces import IIPv4Sender
from vdetwist.wire.tcp import TCPSegment, parseSegment

Packet = Tuple[int, bytes, bytes, bytes]


@implementer(IIPv4Sender)
class RecordingIPv4:
    """
    An IPv4 layer that records every packet sent.

    @ivar sent: C{(protocol, source, destination, payload)} tuples.
    """

    def __init__(self, address: bytes, mtu: int = 1500) -> None:
        """
        @param address: our only address.
        @param mtu: the MTU reported.
        """
        self.address = address
        self.mtu = mtu
        self.sent: List[Packet] = []

    def sendPacket(self, protocol: int, source: bytes, destination: bytes,
                   payload: bytes) -> None:
        """
        Record a packet.

        @param protocol: the protocol number.
        @param source: 4 bytes.
        @param destination: 4 bytes.
        @param payload: the segment.
        """
        self.sent.append((protocol, source, destination, payload))

    def sourceFor(self, destination: bytes) -> bytes:
        """
        @param destination: ignored.
        @return: our address.
        """
        return self.address

    def segments(self) -> List[TCPSegment]:
        """
        Parse and forget what was sent.

        @return: the segments.
        """
        out = [parseSegment(payload) for _, _, _, payload in self.sent]
        del self.sent[:]
        return out


verifyClass(IIPv4Sender, RecordingIPv4)
