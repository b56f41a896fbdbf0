# -*- test-case-name: tests.wire.test_icmp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
ICMP messages for IPv4 (RFC 792, RFC 1191 for "fragmentation needed").

Every ICMP message is a type, a code, a checksum over the whole message, a
32-bit "rest of header" whose meaning depends on the type (identifier and
sequence for echo, the next-hop MTU for "fragmentation needed") and data
(the echo payload, or the quoted offending datagram for an error).
"""

import struct
from dataclasses import dataclass
from typing import Union

from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.icmpbase import HEADER, HEADER_LENGTH, MessageRepr, MessageView

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "TYPE_ECHO_REPLY",
    "TYPE_DESTINATION_UNREACHABLE",
    "TYPE_SOURCE_QUENCH",
    "TYPE_REDIRECT",
    "TYPE_ECHO_REQUEST",
    "TYPE_TIME_EXCEEDED",
    "TYPE_PARAMETER_PROBLEM",
    "CODE_NET_UNREACHABLE",
    "CODE_HOST_UNREACHABLE",
    "CODE_PROTOCOL_UNREACHABLE",
    "CODE_PORT_UNREACHABLE",
    "CODE_FRAGMENTATION_NEEDED",
    "ERROR_TYPES",
    "HEADER_LENGTH",
    "HEADER",
    "ICMPView",
    "ICMPRepr",
    "quoteDatagram",
]

TYPE_ECHO_REPLY = 0
TYPE_DESTINATION_UNREACHABLE = 3
TYPE_SOURCE_QUENCH = 4
TYPE_REDIRECT = 5
TYPE_ECHO_REQUEST = 8
TYPE_TIME_EXCEEDED = 11
TYPE_PARAMETER_PROBLEM = 12

CODE_NET_UNREACHABLE = 0
CODE_HOST_UNREACHABLE = 1
CODE_PROTOCOL_UNREACHABLE = 2
CODE_PORT_UNREACHABLE = 3
CODE_FRAGMENTATION_NEEDED = 4

#: The types that quote an offending datagram.
ERROR_TYPES = frozenset({
    TYPE_DESTINATION_UNREACHABLE, TYPE_SOURCE_QUENCH, TYPE_REDIRECT,
    TYPE_TIME_EXCEEDED, TYPE_PARAMETER_PROBLEM,
})

#: For "fragmentation needed", the next-hop MTU is in the low 16 bits.
NEXT_HOP_MTU_OFFSET = 6

#: RFC 1812 4.3.2.3: an error quotes as much of the offending datagram as
#: fits in a 576-byte reply (576 - 20 IP - 8 ICMP).
MAX_QUOTE = 548


def quoteDatagram(datagram: Buffer, limit: int = MAX_QUOTE) -> bytes:
    """
    The part of an offending datagram an ICMP error quotes: its header and
    as much payload as fits in C{limit} bytes (at least the header and 8
    bytes of payload, as RFC 792 asks).

    @param datagram: the whole offending datagram.
    @param limit: the most bytes to quote.
    @return: the quoted bytes.
    """
    headerLength = (datagram[0] & 0x0F) * 4 if datagram else 0
    return bytes(datagram[:max(limit, headerLength + 8)])


class ICMPView(MessageView):
    """
    A view over an ICMP message.

    @ivar buffer: the IP payload.
    """

    __slots__ = ()

    protocol = "ICMP"

    @property
    def nextHopMTU(self) -> int:
        """
        The next-hop MTU of a "fragmentation needed" message.
        """
        return int(struct.unpack_from("!H", self.buffer, NEXT_HOP_MTU_OFFSET)[0])

    @property
    def checksumValid(self) -> bool:
        """
        Whether the checksum over the whole message is correct.
        """
        return internetChecksum(self.buffer) == 0


@dataclass(frozen=True)
class ICMPRepr(MessageRepr):
    """
    An ICMP message as a value.  Use the class methods to build the common
    kinds.

    @ivar type: the message type.
    @ivar code: the message code.
    @ivar restOfHeader: the 32-bit word after the checksum.
    @ivar data: the echo payload, or the quoted datagram of an error.
    """

    type: int
    echoRequestType = TYPE_ECHO_REQUEST
    echoReplyType = TYPE_ECHO_REPLY

    @classmethod
    def destinationUnreachable(
        cls, code: int, datagram: Buffer, nextHopMTU: int = 0
    ) -> "ICMPRepr":
        """
        A destination-unreachable error quoting C{datagram}.

        @param code: why (L{CODE_PORT_UNREACHABLE}, ...).
        @param datagram: the offending datagram; it is quoted with
            L{quoteDatagram}.
        @param nextHopMTU: for L{CODE_FRAGMENTATION_NEEDED}, the MTU.
        @return: the message.
        """
        return cls(TYPE_DESTINATION_UNREACHABLE, code, nextHopMTU & 0xFFFF,
                   quoteDatagram(datagram))

    @classmethod
    def timeExceeded(cls, code: int, datagram: Buffer) -> "ICMPRepr":
        """
        A time-exceeded error (code 0 TTL, 1 reassembly) quoting C{datagram}.

        @param code: 0 for TTL expired in transit, 1 for reassembly timeout.
        @param datagram: the offending datagram.
        @return: the message.
        """
        return cls(TYPE_TIME_EXCEEDED, code, 0, quoteDatagram(datagram))

    @property
    def nextHopMTU(self) -> int:
        """
        The next-hop MTU of "fragmentation needed".
        """
        return self.restOfHeader & 0xFFFF

    @property
    def isError(self) -> bool:
        """
        Whether this message is an error quoting a datagram.
        """
        return self.type in ERROR_TYPES

    @classmethod
    def parse(cls, view: ICMPView, verifyChecksum: bool = True) -> "ICMPRepr":
        """
        Read a message from a checked view.

        @param view: a view made by L{ICMPView.checked}.
        @param verifyChecksum: check the checksum.
        @return: the message.
        @raise MalformedPacket: the checksum is wrong, or an error message
            quotes less than an IPv4 header.
        """
        if verifyChecksum and not view.checksumValid:
            raise MalformedPacket("ICMP checksum is wrong")
        data = bytes(view.data)
        repr = cls(view.type, view.code, view.restOfHeader, data)
        if repr.isError and (len(data) < 20 or (data[0] & 0x0F) * 4 > len(data)):
            raise MalformedPacket("ICMP error quotes less than an IPv4 header")
        return repr

    @classmethod
    def fromBytes(cls, message: Buffer) -> "ICMPRepr":
        """
        Parse untrusted bytes: L{ICMPView.checked} then L{parse}.

        @param message: the IP payload.
        @return: the message.
        @raise MalformedPacket: see L{ICMPView.checked} and L{parse}.
        """
        return cls.parse(ICMPView.checked(message))

    def emitInto(self, buffer: Union[bytearray, memoryview]) -> None:
        """
        Write the message, checksum computed, at the start of C{buffer}.

        @param buffer: at least L{bufferLength} writable bytes.
        """
        self._emitInto(buffer, 0)

    def emit(self) -> bytes:
        """
        The message's bytes.

        @return: the ICMP message.
        """
        buffer = bytearray(self.bufferLength())
        self.emitInto(buffer)
        return bytes(buffer)
