# -*- test-case-name: tests.wire.test_ipv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
IPv6 headers (RFC 8200): the fixed header, extension header chains, the
fragment header, hop-by-hop and destination options, and the
pseudo-header sum of upper-layer checksums.

L{IPv6View.checked} verifies, before reading any field, that the buffer
holds the 40-byte header and that the payload length fits in it
(link-layer padding after the payload is allowed and ignored).
L{IPv6Repr.parse} also rejects a version other than 6.  Jumbograms (RFC
2675) are not supported: a zero payload length means an empty payload.

L{walkExtensionHeaders} walks a chain of extension headers with a bound
on their number, checking each length before reading past it; it stops
at the first upper-layer header, at an unknown next header, or at a
fragment header (the rest of a fragment is walked after reassembly).

The stack's receive path uses L{HEADER} directly: one unpack of the
fixed 40 bytes into locals.
"""

import platform
import struct
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

from vdetwist.wire.checksum import pseudoHeaderSumWords as _pseudoHeaderSumWords
from vdetwist.wire.frames import MalformedPacket

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "NEXT_HEADER_HOP_BY_HOP",
    "NEXT_HEADER_TCP",
    "NEXT_HEADER_UDP",
    "NEXT_HEADER_ROUTING",
    "NEXT_HEADER_FRAGMENT",
    "NEXT_HEADER_ESP",
    "NEXT_HEADER_AH",
    "NEXT_HEADER_ICMPV6",
    "NEXT_HEADER_NONE",
    "NEXT_HEADER_DESTINATION_OPTIONS",
    "EXTENSION_HEADERS",
    "HEADER_LENGTH",
    "HEADER",
    "FRAGMENT_HEADER",
    "FRAGMENT_HEADER_LENGTH",
    "MAX_EXTENSION_HEADERS",
    "MIN_MTU",
    "IPv6View",
    "IPv6Repr",
    "FragmentRepr",
    "ExtensionHeader",
    "ExtensionChain",
    "walkExtensionHeaders",
    "parseOptions",
    "optionAction",
    "pseudoHeaderSum",
    "pseudoHeaderSumBigInt",
    "pseudoHeaderSumWords",
    "OPTION_PAD1",
    "OPTION_PADN",
    "OPTION_ROUTER_ALERT",
    "ACTION_SKIP",
    "ACTION_DISCARD",
    "ACTION_DISCARD_ERROR",
    "ACTION_DISCARD_ERROR_UNICAST",
]

NEXT_HEADER_HOP_BY_HOP = 0
NEXT_HEADER_TCP = 6
NEXT_HEADER_UDP = 17
NEXT_HEADER_ROUTING = 43
NEXT_HEADER_FRAGMENT = 44
NEXT_HEADER_ESP = 50
NEXT_HEADER_AH = 51
NEXT_HEADER_ICMPV6 = 58
NEXT_HEADER_NONE = 59
NEXT_HEADER_DESTINATION_OPTIONS = 60

#: The extension headers the walk steps over (ESP is opaque: it ends it).
EXTENSION_HEADERS = frozenset({
    NEXT_HEADER_HOP_BY_HOP, NEXT_HEADER_ROUTING, NEXT_HEADER_FRAGMENT,
    NEXT_HEADER_AH, NEXT_HEADER_DESTINATION_OPTIONS,
})

#: Field offsets of the fixed header.
VERSION_OFFSET = 0
PAYLOAD_LENGTH_OFFSET = 4
NEXT_HEADER_OFFSET = 6
HOP_LIMIT_OFFSET = 7
SOURCE_OFFSET = 8
DESTINATION_OFFSET = 24

#: The fixed header's length.
HEADER_LENGTH = 40
#: The smallest link MTU IPv6 runs on (RFC 8200 section 5).
MIN_MTU = 1280
#: The most extension headers L{walkExtensionHeaders} steps over before it
#: refuses the packet.  RFC 8200 recommends a dozen at most in practice;
#: RFC 7045 lets a node drop what it will not walk.
MAX_EXTENSION_HEADERS = 8

#: Version/traffic class/flow label word, payload length, next header,
#: hop limit, source, destination.
HEADER = struct.Struct("!IHBB16s16s")
#: Next header, reserved, offset/flags word, identification.
FRAGMENT_HEADER = struct.Struct("!BBHI")
FRAGMENT_HEADER_LENGTH = 8

#: Option types of hop-by-hop and destination options.
OPTION_PAD1 = 0
OPTION_PADN = 1
OPTION_ROUTER_ALERT = 5
#: The action (top two bits of the option type) for an unrecognized
#: option (RFC 8200 section 4.2).
ACTION_SKIP = 0
ACTION_DISCARD = 1
ACTION_DISCARD_ERROR = 2
ACTION_DISCARD_ERROR_UNICAST = 3


class IPv6View:
    """
    A view over an IPv6 packet.

    @ivar buffer: the packet (it may be followed by link padding).
    """

    __slots__ = ("buffer",)

    def __init__(self, buffer: Buffer) -> None:
        """
        Wrap C{buffer} without checking it; see L{checked}.

        @param buffer: the packet bytes.
        """
        self.buffer = buffer

    @classmethod
    def checked(cls, buffer: Buffer) -> "IPv6View":
        """
        Wrap C{buffer} after checking the lengths.

        @param buffer: the packet bytes.
        @return: the view.
        @raise MalformedPacket: the buffer is shorter than 40 bytes or than
            the header plus the payload length.
        """
        size = len(buffer)
        if size < HEADER_LENGTH:
            raise MalformedPacket(f"IPv6 packet too short: {size} bytes")
        view = cls(buffer)
        total = HEADER_LENGTH + view.payloadLength
        if total > size:
            raise MalformedPacket(f"IPv6 packet truncated: {size} < {total}")
        return view

    @property
    def version(self) -> int:
        """
        The version field (6 for IPv6).
        """
        return int(self.buffer[VERSION_OFFSET]) >> 4

    @property
    def trafficClass(self) -> int:
        """
        The traffic class byte (DSCP and ECN).
        """
        word = int(struct.unpack_from("!I", self.buffer, 0)[0])
        return (word >> 20) & 0xFF

    @property
    def flowLabel(self) -> int:
        """
        The 20-bit flow label.
        """
        word = int(struct.unpack_from("!I", self.buffer, 0)[0])
        return word & 0xFFFFF

    @property
    def payloadLength(self) -> int:
        """
        The payload length (extension headers included).
        """
        return int(struct.unpack_from("!H", self.buffer, PAYLOAD_LENGTH_OFFSET)[0])

    @property
    def nextHeader(self) -> int:
        """
        The type of the header after the fixed one.
        """
        return int(self.buffer[NEXT_HEADER_OFFSET])

    @property
    def hopLimit(self) -> int:
        """
        The hop limit.
        """
        return int(self.buffer[HOP_LIMIT_OFFSET])

    @property
    def source(self) -> bytes:
        """
        The source address, 16 bytes.
        """
        return bytes(self.buffer[SOURCE_OFFSET:SOURCE_OFFSET + 16])

    @property
    def destination(self) -> bytes:
        """
        The destination address, 16 bytes.
        """
        return bytes(self.buffer[DESTINATION_OFFSET:DESTINATION_OFFSET + 16])

    @property
    def payload(self) -> Buffer:
        """
        The bytes after the fixed header, up to the payload length.
        """
        return self.buffer[HEADER_LENGTH:HEADER_LENGTH + self.payloadLength]


@dataclass(frozen=True)
class IPv6Repr:
    """
    An IPv6 fixed header as a value.

    @ivar source: 16 bytes.
    @ivar destination: 16 bytes.
    @ivar nextHeader: the type of the next header.
    @ivar payloadLength: the payload length in bytes.
    @ivar hopLimit: the hop limit.
    @ivar trafficClass: the traffic class byte.
    @ivar flowLabel: the 20-bit flow label.
    """

    source: bytes
    destination: bytes
    nextHeader: int
    payloadLength: int
    hopLimit: int = 64
    trafficClass: int = 0
    flowLabel: int = 0

    @classmethod
    def parse(cls, view: IPv6View) -> "IPv6Repr":
        """
        Read a header from a checked view.

        @param view: a view made by L{IPv6View.checked}.
        @return: the header.
        @raise MalformedPacket: the version is not 6.
        """
        if view.version != 6:
            raise MalformedPacket(f"IPv6 version field is {view.version}")
        word, length, nextHeader, hopLimit, source, destination = HEADER.unpack_from(
            view.buffer)
        return cls(
            source=source,
            destination=destination,
            nextHeader=nextHeader,
            payloadLength=length,
            hopLimit=hopLimit,
            trafficClass=(word >> 20) & 0xFF,
            flowLabel=word & 0xFFFFF,
        )

    @classmethod
    def fromBytes(cls, packet: Buffer) -> "IPv6Repr":
        """
        Parse untrusted bytes: L{IPv6View.checked} then L{parse}.

        @param packet: the packet.
        @return: the header.
        @raise MalformedPacket: see L{IPv6View.checked} and L{parse}.
        """
        return cls.parse(IPv6View.checked(packet))

    def bufferLength(self) -> int:
        """
        The fixed header's length, 40.
        """
        return HEADER_LENGTH

    def emitInto(self, buffer: Union[bytearray, memoryview]) -> None:
        """
        Write the header at the start of C{buffer}.

        @param buffer: at least 40 writable bytes.
        @raise ValueError: an address is not 16 bytes, or a field is out of
            range.
        """
        if len(self.source) != 16 or len(self.destination) != 16:
            raise ValueError("IPv6 addresses are 16 bytes")
        if not 0 <= self.payloadLength <= 0xFFFF:
            raise ValueError(f"IPv6 payload length out of range: {self.payloadLength}")
        HEADER.pack_into(
            buffer, 0,
            0x60000000 | (self.trafficClass & 0xFF) << 20 | (self.flowLabel & 0xFFFFF),
            self.payloadLength, self.nextHeader, self.hopLimit, self.source,
            self.destination)

    def emit(self, payload: Buffer = b"") -> bytes:
        """
        Build a packet with this header.

        @param payload: the payload; its length should be C{payloadLength}.
        @return: the packet.
        """
        header = bytearray(HEADER_LENGTH)
        self.emitInto(header)
        return bytes(header) + bytes(payload)


@dataclass(frozen=True)
class FragmentRepr:
    """
    An IPv6 fragment header (RFC 8200 section 4.5) as a value.

    @ivar nextHeader: the type of the fragmentable part's first header.
    @ivar offset: the fragment offset in bytes (a multiple of 8).
    @ivar more: the M flag: more fragments follow.
    @ivar identification: the 32-bit identification.
    """

    nextHeader: int
    offset: int
    more: bool
    identification: int

    @classmethod
    def fromBytes(cls, data: Buffer, at: int = 0) -> "FragmentRepr":
        """
        Parse a fragment header (its reserved fields are ignored, as
        RFC 8200 asks).

        @param data: bytes holding the header.
        @param at: where the header starts.
        @return: the header.
        @raise MalformedPacket: fewer than 8 bytes are left.
        """
        if len(data) - at < FRAGMENT_HEADER_LENGTH or at < 0:
            raise MalformedPacket("IPv6 fragment header truncated")
        nextHeader, _, word, identification = FRAGMENT_HEADER.unpack_from(data, at)
        return cls(nextHeader, word & 0xFFF8, bool(word & 1), identification)

    def bufferLength(self) -> int:
        """
        The header's length, 8.
        """
        return FRAGMENT_HEADER_LENGTH

    def emitInto(self, buffer: Union[bytearray, memoryview], at: int = 0) -> None:
        """
        Write the header.

        @param buffer: writable bytes.
        @param at: where to write.
        @raise ValueError: the offset is not a multiple of 8 or too large.
        """
        if self.offset % 8 or not 0 <= self.offset <= 0xFFF8:
            raise ValueError(f"bad IPv6 fragment offset {self.offset}")
        FRAGMENT_HEADER.pack_into(buffer, at, self.nextHeader, 0,
                                  self.offset | (1 if self.more else 0),
                                  self.identification)

    def emit(self) -> bytes:
        """
        The header's 8 bytes.

        @return: the header.
        """
        out = bytearray(FRAGMENT_HEADER_LENGTH)
        self.emitInto(out)
        return bytes(out)


@dataclass(frozen=True)
class ExtensionHeader:
    """
    One extension header found by L{walkExtensionHeaders}.

    @ivar type: its type (the next-header value that named it).
    @ivar offset: where it starts in the walked payload.
    @ivar length: its length in bytes.
    """

    type: int
    offset: int
    length: int


@dataclass(frozen=True)
class ExtensionChain:
    """
    What L{walkExtensionHeaders} found.

    @ivar nextHeader: the type of the header where the walk stopped: an
        upper-layer protocol, L{NEXT_HEADER_NONE}, an unknown type, or,
        after a fragment header, the fragment's next header.
    @ivar offset: where that header starts in the payload (after a
        fragment header: where the fragment's data starts).
    @ivar headers: the extension headers walked, in order.
    @ivar fragment: the fragment header, if the walk stopped at one.
    @ivar nextHeaderOffset: where, in the payload, the next-header byte
        naming the header at C{offset} sits, or C{-1} when it is the fixed
        header's (for an ICMPv6 parameter problem pointer, which counts
        from the start of the packet: add 40).
    """

    nextHeader: int
    offset: int
    headers: Tuple[ExtensionHeader, ...]
    fragment: Optional[FragmentRepr] = None
    nextHeaderOffset: int = -1


def walkExtensionHeaders(nextHeader: int, payload: Buffer,
                         maxHeaders: int = MAX_EXTENSION_HEADERS,
                         start: int = 0) -> ExtensionChain:
    """
    Walk the extension headers at the start of an IPv6 payload.

    Every header's length is checked against the payload before the walk
    steps past it; a hop-by-hop options header anywhere but first is
    refused (RFC 8200 section 4.1); the walk stops at a fragment header
    (its data is the rest of the payload, walked again after reassembly).
    The walk is bounded: more than C{maxHeaders} extension headers are
    refused, whatever the payload holds.

    @param nextHeader: the fixed header's next header.
    @param payload: the payload (after the fixed header).
    @param maxHeaders: the most extension headers stepped over.
    @param start: where the chain starts in C{payload} (0, or after a
        reassembled packet's unfragmentable part).
    @return: the chain.
    @raise MalformedPacket: a header is truncated, misplaced, or there are
        too many.
    """
    size = len(payload)
    offset = start
    where = -1
    headers: List[ExtensionHeader] = []
    while nextHeader in EXTENSION_HEADERS:
        if len(headers) >= maxHeaders:
            raise MalformedPacket(
                f"more than {maxHeaders} IPv6 extension headers")
        if nextHeader == NEXT_HEADER_FRAGMENT:
            fragment = FragmentRepr.fromBytes(payload, offset)
            headers.append(ExtensionHeader(nextHeader, offset, FRAGMENT_HEADER_LENGTH))
            return ExtensionChain(fragment.nextHeader, offset + FRAGMENT_HEADER_LENGTH,
                                  tuple(headers), fragment, offset)
        if nextHeader == NEXT_HEADER_HOP_BY_HOP and (headers or offset != 0):
            raise MalformedPacket("IPv6 hop-by-hop options header not first")
        if size - offset < 2:
            raise MalformedPacket(f"IPv6 extension header {nextHeader} truncated")
        if nextHeader == NEXT_HEADER_AH:
            length = (int(payload[offset + 1]) + 2) * 4
        else:
            length = (int(payload[offset + 1]) + 1) * 8
        if size - offset < length:
            raise MalformedPacket(f"IPv6 extension header {nextHeader} truncated")
        headers.append(ExtensionHeader(nextHeader, offset, length))
        where = offset
        nextHeader = int(payload[offset])
        offset += length
    return ExtensionChain(nextHeader, offset, tuple(headers), None, where)


def parseOptions(header: Buffer) -> List[Tuple[int, int, bytes]]:
    """
    Read the options of a hop-by-hop or destination options header
    (RFC 8200 section 4.2), padding included.

    @param header: the whole extension header (next header and length
        bytes first).
    @return: C{(offset, type, data)} for each option but Pad1 and PadN,
        C{offset} counted from the header's start.
    @raise MalformedPacket: an option runs past the header.
    """
    size = len(header)
    offset = 2
    options: List[Tuple[int, int, bytes]] = []
    while offset < size:
        kind = int(header[offset])
        if kind == OPTION_PAD1:
            offset += 1
            continue
        if size - offset < 2:
            raise MalformedPacket("IPv6 option truncated")
        end = offset + 2 + int(header[offset + 1])
        if end > size:
            raise MalformedPacket("IPv6 option runs past its header")
        if kind != OPTION_PADN:
            options.append((offset, kind, bytes(header[offset + 2:end])))
        offset = end
    return options


def optionAction(optionType: int) -> int:
    """
    What to do with an unrecognized option (RFC 8200 section 4.2): the
    top two bits of its type.

    @param optionType: the option type.
    @return: L{ACTION_SKIP}, L{ACTION_DISCARD}, L{ACTION_DISCARD_ERROR} or
        L{ACTION_DISCARD_ERROR_UNICAST} (send the error only when the
        destination was not multicast).
    """
    return optionType >> 6


def pseudoHeaderSumBigInt(source: bytes, destination: bytes, nextHeader: int,
                          length: int) -> int:
    """
    The uncomplemented sum of the IPv6 pseudo-header of upper-layer
    checksums (RFC 8200 section 8.1): source, destination, the 32-bit
    upper-layer length and the next header in a zero-padded 32-bit word.

    Each address is read as one integer: by the folding trick of
    L{vdetwist.wire.checksum}, that is congruent to the sum of its 16-bit
    words modulo C{0xffff}.  Pass the result as C{initial} to
    L{vdetwist.wire.checksum.internetChecksum}.  This is the way for
    CPython, whose big integers are fast; see L{pseudoHeaderSum}.

    @param source: 16 bytes.
    @param destination: 16 bytes (the final destination).
    @param nextHeader: the upper-layer protocol (6, 17, 58).
    @param length: the upper-layer header and data length.
    @return: a non-negative integer (folded by the checksum), C{0} only
        when every field is zero.
    """
    return (int.from_bytes(source, "big") + int.from_bytes(destination, "big")
            + length + nextHeader)


#: L{pseudoHeaderSumBigInt}'s sum modulo C{0xffff} (so the same checksum),
#: from the addresses' 32-bit words (C{2**32} is 1 modulo C{0xffff} too):
#: machine integers on PyPy, where a 16-byte address read whole is a big
#: integer, slow there in every sum it enters.  The same function as
#: L{vdetwist.wire.checksum.pseudoHeaderSumWords}, whose 16-byte case it is.
pseudoHeaderSumWords = _pseudoHeaderSumWords


#: The IPv6 pseudo-header sum (RFC 8200 section 8.1), computed the faster
#: way for the running interpreter: L{pseudoHeaderSumWords} on PyPy,
#: L{pseudoHeaderSumBigInt} elsewhere.  The two return different integers
#: with the same remainder modulo C{0xffff}, so every checksum chained
#: from them is the same.
pseudoHeaderSum = (pseudoHeaderSumWords if platform.python_implementation() == "PyPy"
                   else pseudoHeaderSumBigInt)
