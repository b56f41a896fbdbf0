# -*- test-case-name: tests.wire.test_ipv4 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
IPv4 headers (RFC 791).

L{IPv4View.checked} verifies, before reading any field, that the buffer
holds a 20-byte header, that the IHL is at least 5 and fits, and that the
total length covers the header and fits in the buffer (link-layer padding
after the total length is allowed and ignored).  L{IPv4Repr.parse} also
rejects a version other than 4 and a bad header checksum.

The stack's receive path uses L{HEADER} directly: one unpack of the fixed
20 bytes into locals.
"""

import struct
from dataclasses import dataclass
from typing import Union

from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.frames import MalformedPacket

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "PROTOCOL_ICMP",
    "PROTOCOL_TCP",
    "PROTOCOL_UDP",
    "HEADER_LENGTH",
    "HEADER",
    "FLAG_DF",
    "FLAG_MF",
    "OFFSET_MASK",
    "IPv4View",
    "IPv4Repr",
]

PROTOCOL_ICMP = 1
PROTOCOL_TCP = 6
PROTOCOL_UDP = 17

#: Field offsets.
VERSION_IHL_OFFSET = 0
TOS_OFFSET = 1
TOTAL_LENGTH_OFFSET = 2
IDENTIFICATION_OFFSET = 4
FLAGS_FRAGMENT_OFFSET = 6
TTL_OFFSET = 8
PROTOCOL_OFFSET = 9
CHECKSUM_OFFSET = 10
SOURCE_OFFSET = 12
DESTINATION_OFFSET = 16
OPTIONS_OFFSET = 20

#: The length of a header without options.
HEADER_LENGTH = 20
#: The longest header (IHL 15).
MAX_HEADER_LENGTH = 60
#: The largest datagram.
MAX_TOTAL_LENGTH = 65535

#: Flags in the flags/fragment-offset word.
FLAG_RESERVED = 0x8000
FLAG_DF = 0x4000
FLAG_MF = 0x2000
OFFSET_MASK = 0x1FFF

#: version/IHL, TOS, total length, identification, flags/offset, TTL,
#: protocol, checksum, source, destination.
HEADER = struct.Struct("!BBHHHBBH4s4s")


class IPv4View:
    """
    A view over an IPv4 datagram.

    @ivar buffer: the datagram (it may be followed by link padding).
    """

    __slots__ = ("buffer",)

    def __init__(self, buffer: Buffer) -> None:
        """
        Wrap C{buffer} without checking it; see L{checked}.

        @param buffer: the datagram bytes.
        """
        self.buffer = buffer

    @classmethod
    def checked(cls, buffer: Buffer) -> "IPv4View":
        """
        Wrap C{buffer} after checking the lengths.

        @param buffer: the datagram bytes.
        @return: the view.
        @raise MalformedPacket: the buffer is shorter than 20 bytes, the IHL
            is below 5 or runs past the buffer, or the total length is
            shorter than the header or longer than the buffer.
        """
        size = len(buffer)
        if size < HEADER_LENGTH:
            raise MalformedPacket(f"IPv4 datagram too short: {size} bytes")
        view = cls(buffer)
        headerLength = view.headerLength
        if headerLength < HEADER_LENGTH:
            raise MalformedPacket(f"IPv4 IHL too small: {headerLength // 4}")
        total = view.totalLength
        if total < headerLength:
            raise MalformedPacket(
                f"IPv4 total length {total} shorter than header {headerLength}"
            )
        if total > size:
            raise MalformedPacket(f"IPv4 datagram truncated: {size} < {total}")
        return view

    @property
    def version(self) -> int:
        """
        The version field (4 for IPv4).
        """
        return int(self.buffer[VERSION_IHL_OFFSET]) >> 4

    @property
    def headerLength(self) -> int:
        """
        The header length in bytes (IHL times 4).
        """
        return (int(self.buffer[VERSION_IHL_OFFSET]) & 0x0F) * 4

    @property
    def tos(self) -> int:
        """
        The type-of-service byte (DSCP and ECN).
        """
        return int(self.buffer[TOS_OFFSET])

    @property
    def totalLength(self) -> int:
        """
        The total length of the datagram, header included.
        """
        return int(struct.unpack_from("!H", self.buffer, TOTAL_LENGTH_OFFSET)[0])

    @property
    def identification(self) -> int:
        """
        The identification field.
        """
        return int(struct.unpack_from("!H", self.buffer, IDENTIFICATION_OFFSET)[0])

    @property
    def flagsAndOffset(self) -> int:
        """
        The raw flags/fragment-offset word.
        """
        return int(struct.unpack_from("!H", self.buffer, FLAGS_FRAGMENT_OFFSET)[0])

    @property
    def dontFragment(self) -> bool:
        """
        The DF flag.
        """
        return bool(self.flagsAndOffset & FLAG_DF)

    @property
    def moreFragments(self) -> bool:
        """
        The MF flag.
        """
        return bool(self.flagsAndOffset & FLAG_MF)

    @property
    def fragmentOffset(self) -> int:
        """
        The fragment offset in bytes (the field times 8).
        """
        return (self.flagsAndOffset & OFFSET_MASK) * 8

    @property
    def ttl(self) -> int:
        """
        The time to live.
        """
        return int(self.buffer[TTL_OFFSET])

    @property
    def protocol(self) -> int:
        """
        The payload's protocol number.
        """
        return int(self.buffer[PROTOCOL_OFFSET])

    @property
    def checksum(self) -> int:
        """
        The header checksum field.
        """
        return int(struct.unpack_from("!H", self.buffer, CHECKSUM_OFFSET)[0])

    @property
    def source(self) -> bytes:
        """
        The source address, 4 bytes.
        """
        return bytes(self.buffer[SOURCE_OFFSET:SOURCE_OFFSET + 4])

    @property
    def destination(self) -> bytes:
        """
        The destination address, 4 bytes.
        """
        return bytes(self.buffer[DESTINATION_OFFSET:DESTINATION_OFFSET + 4])

    @property
    def options(self) -> bytes:
        """
        The raw options (empty for IHL 5).
        """
        return bytes(self.buffer[OPTIONS_OFFSET:self.headerLength])

    @property
    def checksumValid(self) -> bool:
        """
        Whether the header checksum is correct.
        """
        return internetChecksum(self.buffer[:self.headerLength]) == 0

    @property
    def payload(self) -> Buffer:
        """
        The bytes after the header, up to the total length.
        """
        return self.buffer[self.headerLength:self.totalLength]


@dataclass(frozen=True)
class IPv4Repr:
    """
    An IPv4 header as a value.  The checksum is not a field: L{parse}
    verifies it and L{emitInto} computes it.

    @ivar source: 4 bytes.
    @ivar destination: 4 bytes.
    @ivar protocol: the payload's protocol number.
    @ivar payloadLength: the payload length in bytes.
    @ivar ttl: the time to live.
    @ivar identification: the identification field.
    @ivar dontFragment: the DF flag.
    @ivar moreFragments: the MF flag.
    @ivar fragmentOffset: the fragment offset in bytes (a multiple of 8).
    @ivar tos: the type-of-service byte.
    @ivar options: raw options, a multiple of 4 bytes, at most 40.
    """

    source: bytes
    destination: bytes
    protocol: int
    payloadLength: int
    ttl: int = 64
    identification: int = 0
    dontFragment: bool = False
    moreFragments: bool = False
    fragmentOffset: int = 0
    tos: int = 0
    options: bytes = b""

    @classmethod
    def parse(cls, view: IPv4View, verifyChecksum: bool = True) -> "IPv4Repr":
        """
        Read a header from a checked view.

        @param view: a view made by L{IPv4View.checked}.
        @param verifyChecksum: check the header checksum.
        @return: the header.
        @raise MalformedPacket: the version is not 4, the reserved flag is
            set, or the checksum is wrong.
        """
        if view.version != 4:
            raise MalformedPacket(f"IPv4 version field is {view.version}")
        flags = view.flagsAndOffset
        if flags & FLAG_RESERVED:
            raise MalformedPacket("IPv4 reserved flag set")
        if verifyChecksum and not view.checksumValid:
            raise MalformedPacket("IPv4 header checksum is wrong")
        return cls(
            source=view.source,
            destination=view.destination,
            protocol=view.protocol,
            payloadLength=view.totalLength - view.headerLength,
            ttl=view.ttl,
            identification=view.identification,
            dontFragment=bool(flags & FLAG_DF),
            moreFragments=bool(flags & FLAG_MF),
            fragmentOffset=(flags & OFFSET_MASK) * 8,
            tos=view.tos,
            options=view.options,
        )

    @classmethod
    def fromBytes(cls, datagram: Buffer) -> "IPv4Repr":
        """
        Parse untrusted bytes: L{IPv4View.checked} then L{parse}.

        @param datagram: the datagram.
        @return: the header.
        @raise MalformedPacket: see L{IPv4View.checked} and L{parse}.
        """
        return cls.parse(IPv4View.checked(datagram))

    def bufferLength(self) -> int:
        """
        The header's length: 20 plus the options.
        """
        return HEADER_LENGTH + len(self.options)

    def emitInto(self, buffer: Union[bytearray, memoryview]) -> None:
        """
        Write the header, checksum computed, at the start of C{buffer}.

        @param buffer: at least L{bufferLength} writable bytes.
        @raise ValueError: the options are not a multiple of 4 bytes or too
            long, or the fragment offset is not a multiple of 8.
        """
        if len(self.options) % 4 or len(self.options) > 40:
            raise ValueError("IPv4 options must be a multiple of 4, at most 40 bytes")
        if self.fragmentOffset % 8:
            raise ValueError("IPv4 fragment offset must be a multiple of 8")
        headerLength = self.bufferLength()
        flags = (
            (FLAG_DF if self.dontFragment else 0)
            | (FLAG_MF if self.moreFragments else 0)
            | (self.fragmentOffset // 8)
        )
        HEADER.pack_into(
            buffer, 0, 0x40 | (headerLength // 4), self.tos,
            headerLength + self.payloadLength, self.identification, flags,
            self.ttl, self.protocol, 0, self.source, self.destination,
        )
        buffer[OPTIONS_OFFSET:headerLength] = self.options
        struct.pack_into(
            "!H", buffer, CHECKSUM_OFFSET,
            internetChecksum(memoryview(buffer)[:headerLength]),
        )

    def emit(self, payload: Buffer = b"") -> bytes:
        """
        Build a datagram with this header.

        @param payload: the payload; its length should be C{payloadLength}.
        @return: the datagram.
        """
        header = bytearray(self.bufferLength())
        self.emitInto(header)
        return bytes(header) + bytes(payload)
