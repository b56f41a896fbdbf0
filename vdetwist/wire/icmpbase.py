# -*- test-case-name: tests.wire.test_icmp, tests.wire.test_icmpv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The message layout ICMP (L{vdetwist.wire.icmp}) and ICMPv6
(L{vdetwist.wire.icmpv6}) share: a type, a code, a checksum, a 32-bit
"rest of header" (identifier and sequence for echo) and data.

L{MessageView} and L{MessageRepr} hold what the two families read and
write alike; each family's view and repr add their checksum (ICMPv6's
covers a pseudo-header) and their own fields.
"""

import struct
from dataclasses import dataclass
from typing import ClassVar, Type, TypeVar, Union

from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.frames import MalformedPacket

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "TYPE_OFFSET",
    "CODE_OFFSET",
    "CHECKSUM_OFFSET",
    "REST_OFFSET",
    "IDENTIFIER_OFFSET",
    "SEQUENCE_OFFSET",
    "DATA_OFFSET",
    "HEADER_LENGTH",
    "HEADER",
    "MessageView",
    "MessageRepr",
]

TYPE_OFFSET = 0
CODE_OFFSET = 1
CHECKSUM_OFFSET = 2
REST_OFFSET = 4
#: For echo messages, the rest of the header is identifier and sequence.
IDENTIFIER_OFFSET = 4
SEQUENCE_OFFSET = 6
DATA_OFFSET = 8
HEADER_LENGTH = 8

#: Type, code, checksum, rest of header.
HEADER = struct.Struct("!BBHI")

_V = TypeVar("_V", bound="MessageView")
_R = TypeVar("_R", bound="MessageRepr")


class MessageView:
    """
    A view over an ICMP or ICMPv6 message.

    @cvar protocol: the family's name, for errors.
    @ivar buffer: the message bytes.
    """

    __slots__ = ("buffer",)

    protocol: ClassVar[str] = "ICMP"

    def __init__(self, buffer: Buffer) -> None:
        """
        Wrap C{buffer} without checking it; see L{checked}.

        @param buffer: the message bytes.
        """
        self.buffer = buffer

    @classmethod
    def checked(cls: Type[_V], buffer: Buffer) -> _V:
        """
        Wrap C{buffer} after checking it holds the 8-byte header.

        @param buffer: the message bytes.
        @return: the view.
        @raise MalformedPacket: the message is too short.
        """
        if len(buffer) < HEADER_LENGTH:
            raise MalformedPacket(f"{cls.protocol} message too short: {len(buffer)} bytes")
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
    def data(self) -> Buffer:
        """
        The bytes after the 8-byte header.
        """
        return self.buffer[DATA_OFFSET:]


@dataclass(frozen=True)
class MessageRepr:
    """
    An ICMP or ICMPv6 message as a value.  The checksum is not a field:
    each family's repr verifies it when parsing and computes it when
    emitting.

    @cvar echoRequestType: the family's echo request type.
    @cvar echoReplyType: the family's echo reply type.
    @ivar type: the message type.
    @ivar code: the message code.
    @ivar restOfHeader: the 32-bit word after the checksum.
    @ivar data: the bytes after the header.
    """

    echoRequestType: ClassVar[int]
    echoReplyType: ClassVar[int]

    type: int
    code: int
    restOfHeader: int = 0
    data: bytes = b""

    @classmethod
    def echoRequest(cls: Type[_R], identifier: int, sequence: int, data: bytes = b"") -> _R:
        """
        An echo request.

        @param identifier: the echo identifier.
        @param sequence: the sequence number.
        @param data: the payload.
        @return: the message.
        """
        return cls(cls.echoRequestType, 0, (identifier << 16) | sequence, data)

    @classmethod
    def echoReply(cls: Type[_R], identifier: int, sequence: int, data: bytes = b"") -> _R:
        """
        An echo reply.

        @param identifier: the echo identifier of the request.
        @param sequence: the request's sequence number.
        @param data: the request's payload.
        @return: the message.
        """
        return cls(cls.echoReplyType, 0, (identifier << 16) | sequence, data)

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

    def bufferLength(self) -> int:
        """
        8 plus the data.
        """
        return HEADER_LENGTH + len(self.data)

    def _emitInto(self, buffer: Union[bytearray, memoryview], initial: int) -> None:
        """
        Write the message at the start of C{buffer}, its checksum computed
        over it and a partial sum.

        @param buffer: at least L{bufferLength} writable bytes.
        @param initial: the partial sum the checksum also covers (an IPv6
            pseudo-header's, or 0).
        """
        length = self.bufferLength()
        HEADER.pack_into(buffer, 0, self.type, self.code, 0, self.restOfHeader)
        buffer[DATA_OFFSET:length] = self.data
        struct.pack_into("!H", buffer, CHECKSUM_OFFSET,
                         internetChecksum(memoryview(buffer)[:length], initial))
