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

TYPE_OFFSET = 0
CODE_OFFSET = 1
CHECKSUM_OFFSET = 2
REST_OFFSET = 4
#: For echo messages, the rest of the header is identifier and sequence.
IDENTIFIER_OFFSET = 4
SEQUENCE_OFFSET = 6
#: For "fragmentation needed", the next-hop MTU is in the low 16 bits.
NEXT_HOP_MTU_OFFSET = 6
DATA_OFFSET = 8
HEADER_LENGTH = 8

#: Type, code, checksum, rest of header.
HEADER = struct.Struct("!BBHI")

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


class ICMPView:
    """
    A view over an ICMP message.

    @ivar buffer: the IP payload.
    """

    __slots__ = ("buffer",)

    def __init__(self, buffer: Buffer) -> None:
        """
        Wrap C{buffer} without checking it; see L{checked}.

        @param buffer: the ICMP bytes.
        """
        self.buffer = buffer

    @classmethod
    def checked(cls, buffer: Buffer) -> "ICMPView":
        """
        Wrap C{buffer} after checking it holds the 8-byte header.

        @param buffer: the ICMP bytes.
        @return: the view.
        @raise MalformedPacket: the message is too short.
        """
        if len(buffer) < HEADER_LENGTH:
            raise MalformedPacket(f"ICMP message too short: {len(buffer)} bytes")
        return cls(buffer)

    @property
    def type(self) -> int:
        """
        The message type.
        """
        return int(self.buffer[TYPE_OFFSET])

    @property
    def code(self) -> int:
        """
        The message code.
        """
        return int(self.buffer[CODE_OFFSET])

    @property
    def checksum(self) -> int:
        """
        The checksum field.
        """
        return int(struct.unpack_from("!H", self.buffer, CHECKSUM_OFFSET)[0])

    @property
    def restOfHeader(self) -> int:
        """
        The 32-bit word after the checksum.
        """
        return int(struct.unpack_from("!I", self.buffer, REST_OFFSET)[0])

    @property
    def identifier(self) -> int:
        """
        The echo identifier (high half of the rest of the header).
        """
        return int(struct.unpack_from("!H", self.buffer, IDENTIFIER_OFFSET)[0])

    @property
    def sequence(self) -> int:
        """
        The echo sequence number (low half of the rest of the header).
        """
        return int(struct.unpack_from("!H", self.buffer, SEQUENCE_OFFSET)[0])

    @property
    def nextHopMTU(self) -> int:
        """
        The next-hop MTU of a "fragmentation needed" message.
        """
        return int(struct.unpack_from("!H", self.buffer, NEXT_HOP_MTU_OFFSET)[0])

    @property
    def data(self) -> Buffer:
        """
        The bytes after the header.
        """
        return self.buffer[DATA_OFFSET:]

    @property
    def checksumValid(self) -> bool:
        """
        Whether the checksum over the whole message is correct.
        """
        return internetChecksum(self.buffer) == 0


@dataclass(frozen=True)
class ICMPRepr:
    """
    An ICMP message as a value.  Use the class methods to build the common
    kinds.

    @ivar type: the message type.
    @ivar code: the message code.
    @ivar restOfHeader: the 32-bit word after the checksum.
    @ivar data: the echo payload, or the quoted datagram of an error.
    """

    type: int
    code: int
    restOfHeader: int = 0
    data: bytes = b""

    @classmethod
    def echoRequest(cls, identifier: int, sequence: int, data: bytes = b"") -> "ICMPRepr":
        """
        An echo request.

        @param identifier: the echo identifier.
        @param sequence: the sequence number.
        @param data: the payload.
        @return: the message.
        """
        return cls(TYPE_ECHO_REQUEST, 0, (identifier << 16) | sequence, data)

    @classmethod
    def echoReply(cls, identifier: int, sequence: int, data: bytes = b"") -> "ICMPRepr":
        """
        An echo reply.

        @param identifier: the echo identifier of the request.
        @param sequence: the request's sequence number.
        @param data: the request's payload.
        @return: the message.
        """
        return cls(TYPE_ECHO_REPLY, 0, (identifier << 16) | sequence, data)

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
    def identifier(self) -> int:
        """
        The echo identifier.
        """
        return self.restOfHeader >> 16

    @property
    def sequence(self) -> int:
        """
        The echo sequence number.
        """
        return self.restOfHeader & 0xFFFF

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

    def bufferLength(self) -> int:
        """
        8 plus the data.
        """
        return HEADER_LENGTH + len(self.data)

    def emitInto(self, buffer: Union[bytearray, memoryview]) -> None:
        """
        Write the message, checksum computed, at the start of C{buffer}.

        @param buffer: at least L{bufferLength} writable bytes.
        """
        length = self.bufferLength()
        HEADER.pack_into(buffer, 0, self.type, self.code, 0, self.restOfHeader)
        buffer[DATA_OFFSET:length] = self.data
        struct.pack_into(
            "!H", buffer, CHECKSUM_OFFSET,
            internetChecksum(memoryview(buffer)[:length]),
        )

    def emit(self) -> bytes:
        """
        The message's bytes.

        @return: the ICMP message.
        """
        buffer = bytearray(self.bufferLength())
        self.emitInto(buffer)
        return bytes(buffer)
