# -*- test-case-name: tests.wire.test_icmpv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
ICMPv6 (RFC 4443) and Neighbor Discovery (RFC 4861, RFC 4862's prefix
information, RFC 8106's RDNSS).

Every ICMPv6 message is a type, a code, a checksum over the IPv6
pseudo-header and the whole message, a 32-bit word whose meaning depends
on the type (identifier and sequence for echo, the MTU of "packet too
big", the pointer of "parameter problem", flags for ND), and data.
L{ICMPv6Repr} is that generic form; the Neighbor Discovery messages
(L{NeighborSolicitation}, L{NeighborAdvertisement},
L{RouterSolicitation}, L{RouterAdvertisement}) convert from and to it,
with their options parsed by L{parseNDOptions}.

The checks here are those that need only the ICMPv6 message (lengths,
codes, option lengths, a multicast target); RFC 4861's checks on the IP
header (a hop limit of 255, source address rules) belong to the stack.
"""

import struct
from dataclasses import dataclass
from typing import ClassVar, List, Optional, Sequence, Tuple, Type, TypeVar, Union

from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.icmpbase import HEADER, HEADER_LENGTH, MessageRepr, MessageView
from vdetwist.wire.ipv6 import MIN_MTU, NEXT_HEADER_ICMPV6, pseudoHeaderSum

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "TYPE_DESTINATION_UNREACHABLE",
    "TYPE_PACKET_TOO_BIG",
    "TYPE_TIME_EXCEEDED",
    "TYPE_PARAMETER_PROBLEM",
    "TYPE_ECHO_REQUEST",
    "TYPE_ECHO_REPLY",
    "TYPE_ROUTER_SOLICITATION",
    "TYPE_ROUTER_ADVERTISEMENT",
    "TYPE_NEIGHBOR_SOLICITATION",
    "TYPE_NEIGHBOR_ADVERTISEMENT",
    "TYPE_REDIRECT",
    "CODE_NO_ROUTE",
    "CODE_ADMINISTRATIVELY_PROHIBITED",
    "CODE_ADDRESS_UNREACHABLE",
    "CODE_PORT_UNREACHABLE",
    "CODE_HOP_LIMIT_EXCEEDED",
    "CODE_REASSEMBLY_TIME_EXCEEDED",
    "CODE_ERRONEOUS_HEADER_FIELD",
    "CODE_UNRECOGNIZED_NEXT_HEADER",
    "CODE_UNRECOGNIZED_OPTION",
    "ERROR_TYPES",
    "ND_TYPES",
    "HEADER",
    "HEADER_LENGTH",
    "MAX_QUOTE",
    "quotePacket",
    "ICMPv6View",
    "ICMPv6Repr",
    "OPTION_SOURCE_LINK_LAYER_ADDRESS",
    "OPTION_TARGET_LINK_LAYER_ADDRESS",
    "OPTION_PREFIX_INFORMATION",
    "OPTION_MTU",
    "OPTION_RDNSS",
    "LinkLayerAddressOption",
    "PrefixInformation",
    "MTUOption",
    "RDNSSOption",
    "UnknownOption",
    "NDOption",
    "parseNDOptions",
    "emitNDOptions",
    "findOption",
    "NeighborSolicitation",
    "NeighborAdvertisement",
    "RouterSolicitation",
    "RouterAdvertisement",
    "parseND",
]

TYPE_DESTINATION_UNREACHABLE = 1
TYPE_PACKET_TOO_BIG = 2
TYPE_TIME_EXCEEDED = 3
TYPE_PARAMETER_PROBLEM = 4
TYPE_ECHO_REQUEST = 128
TYPE_ECHO_REPLY = 129
TYPE_ROUTER_SOLICITATION = 133
TYPE_ROUTER_ADVERTISEMENT = 134
TYPE_NEIGHBOR_SOLICITATION = 135
TYPE_NEIGHBOR_ADVERTISEMENT = 136
TYPE_REDIRECT = 137

#: Destination unreachable codes.
CODE_NO_ROUTE = 0
CODE_ADMINISTRATIVELY_PROHIBITED = 1
CODE_ADDRESS_UNREACHABLE = 3
CODE_PORT_UNREACHABLE = 4
#: Time exceeded codes.
CODE_HOP_LIMIT_EXCEEDED = 0
CODE_REASSEMBLY_TIME_EXCEEDED = 1
#: Parameter problem codes.
CODE_ERRONEOUS_HEADER_FIELD = 0
CODE_UNRECOGNIZED_NEXT_HEADER = 1
CODE_UNRECOGNIZED_OPTION = 2

#: The error messages (types below 128): each quotes an offending packet.
ERROR_TYPES = frozenset({
    TYPE_DESTINATION_UNREACHABLE, TYPE_PACKET_TOO_BIG, TYPE_TIME_EXCEEDED,
    TYPE_PARAMETER_PROBLEM,
})
#: The Neighbor Discovery messages.
ND_TYPES = frozenset({
    TYPE_ROUTER_SOLICITATION, TYPE_ROUTER_ADVERTISEMENT,
    TYPE_NEIGHBOR_SOLICITATION, TYPE_NEIGHBOR_ADVERTISEMENT, TYPE_REDIRECT,
})

#: RFC 4443 2.4 (c): an error quotes as much of the offending packet as
#: fits in a minimum-MTU packet (1280 - 40 IPv6 - 8 ICMPv6).
MAX_QUOTE = MIN_MTU - 40 - HEADER_LENGTH


def quotePacket(packet: Buffer, limit: int = MAX_QUOTE) -> bytes:
    """
    The part of an offending packet an ICMPv6 error quotes.

    @param packet: the whole offending packet, IPv6 header first.
    @param limit: the most bytes to quote.
    @return: the quoted bytes.
    """
    return bytes(packet[:limit])


def _checksum(message: Buffer, source: bytes, destination: bytes) -> int:
    """
    The ICMPv6 checksum of C{message} (checksum field in place or zero).

    @param message: the ICMPv6 bytes.
    @param source: the IPv6 source, 16 bytes.
    @param destination: the IPv6 destination, 16 bytes.
    @return: the checksum (0 when a message with its checksum in place is
        correct).
    """
    return internetChecksum(message, pseudoHeaderSum(
        source, destination, NEXT_HEADER_ICMPV6, len(message)))


class ICMPv6View(MessageView):
    """
    A view over an ICMPv6 message.

    @ivar buffer: the IPv6 payload (after any extension headers).
    """

    __slots__ = ()

    protocol = "ICMPv6"

    def checksumValid(self, source: bytes, destination: bytes) -> bool:
        """
        Whether the checksum over the pseudo-header and message is correct.

        @param source: the IPv6 source, 16 bytes.
        @param destination: the IPv6 destination, 16 bytes.
        @return: the answer.
        """
        return _checksum(self.buffer, source, destination) == 0


@dataclass(frozen=True)
class ICMPv6Repr(MessageRepr):
    """
    An ICMPv6 message as a value.  The checksum is not a field: L{parse}
    verifies it and L{emitInto} computes it, both over the pseudo-header.

    @ivar type: the message type.
    @ivar code: the message code.
    @ivar restOfHeader: the 32-bit word after the checksum.
    @ivar data: the bytes after the header (echo payload, quoted packet,
        ND target and options).
    """

    echoRequestType = TYPE_ECHO_REQUEST
    echoReplyType = TYPE_ECHO_REPLY

    @classmethod
    def destinationUnreachable(cls, code: int, packet: Buffer) -> "ICMPv6Repr":
        """
        A destination unreachable error quoting C{packet}.

        @param code: why (L{CODE_PORT_UNREACHABLE}, ...).
        @param packet: the offending packet.
        @return: the message.
        """
        return cls(TYPE_DESTINATION_UNREACHABLE, code, 0, quotePacket(packet))

    @classmethod
    def packetTooBig(cls, mtu: int, packet: Buffer) -> "ICMPv6Repr":
        """
        A packet too big error (RFC 4443 3.2) quoting C{packet}.

        @param mtu: the MTU of the next hop.
        @param packet: the offending packet.
        @return: the message.
        """
        return cls(TYPE_PACKET_TOO_BIG, 0, mtu, quotePacket(packet))

    @classmethod
    def timeExceeded(cls, code: int, packet: Buffer) -> "ICMPv6Repr":
        """
        A time exceeded error quoting C{packet}.

        @param code: L{CODE_HOP_LIMIT_EXCEEDED} or
            L{CODE_REASSEMBLY_TIME_EXCEEDED}.
        @param packet: the offending packet.
        @return: the message.
        """
        return cls(TYPE_TIME_EXCEEDED, code, 0, quotePacket(packet))

    @classmethod
    def parameterProblem(cls, code: int, pointer: int, packet: Buffer) -> "ICMPv6Repr":
        """
        A parameter problem error (RFC 4443 3.4) quoting C{packet}.

        @param code: what kind of problem.
        @param pointer: the offset of the offending byte in C{packet}.
        @param packet: the offending packet.
        @return: the message.
        """
        return cls(TYPE_PARAMETER_PROBLEM, code, pointer, quotePacket(packet))

    @property
    def mtu(self) -> int:
        """
        The MTU of a packet too big.
        """
        return self.restOfHeader

    @property
    def pointer(self) -> int:
        """
        The pointer of a parameter problem.
        """
        return self.restOfHeader

    @property
    def isError(self) -> bool:
        """
        Whether this message is an error quoting a packet.
        """
        return self.type < 128

    @classmethod
    def parse(cls, view: ICMPv6View, source: Optional[bytes] = None,
              destination: Optional[bytes] = None) -> "ICMPv6Repr":
        """
        Read a message from a checked view.

        @param view: a view made by L{ICMPv6View.checked}.
        @param source: the IPv6 source; with C{destination}, the checksum
            is verified.  When C{None}, it is not.
        @param destination: the IPv6 destination.
        @return: the message.
        @raise MalformedPacket: the checksum is wrong, or a known error
            quotes less than an IPv6 header.
        """
        if source is not None and destination is not None and not view.checksumValid(
                source, destination):
            raise MalformedPacket("ICMPv6 checksum is wrong")
        data = bytes(view.data)
        repr = cls(view.type, view.code, view.restOfHeader, data)
        if repr.type in ERROR_TYPES and len(data) < 40:
            raise MalformedPacket("ICMPv6 error quotes less than an IPv6 header")
        return repr

    @classmethod
    def fromBytes(cls, message: Buffer, source: Optional[bytes] = None,
                  destination: Optional[bytes] = None) -> "ICMPv6Repr":
        """
        Parse untrusted bytes: L{ICMPv6View.checked} then L{parse}.

        @param message: the ICMPv6 bytes.
        @param source: the IPv6 source (to verify the checksum).
        @param destination: the IPv6 destination.
        @return: the message.
        @raise MalformedPacket: see L{ICMPv6View.checked} and L{parse}.
        """
        return cls.parse(ICMPv6View.checked(message), source, destination)

    def emitInto(self, buffer: Union[bytearray, memoryview], source: bytes,
                 destination: bytes) -> None:
        """
        Write the message, checksum computed, at the start of C{buffer}.

        @param buffer: at least L{bufferLength} writable bytes.
        @param source: the IPv6 source it will be sent from.
        @param destination: the IPv6 destination.
        """
        self._emitInto(buffer, pseudoHeaderSum(source, destination, NEXT_HEADER_ICMPV6,
                                               self.bufferLength()))

    def emit(self, source: bytes, destination: bytes) -> bytes:
        """
        The message's bytes.

        @param source: the IPv6 source it will be sent from.
        @param destination: the IPv6 destination.
        @return: the ICMPv6 message.
        """
        buffer = bytearray(self.bufferLength())
        self.emitInto(buffer, source, destination)
        return bytes(buffer)


# Neighbor Discovery options (RFC 4861 section 4.6)

OPTION_SOURCE_LINK_LAYER_ADDRESS = 1
OPTION_TARGET_LINK_LAYER_ADDRESS = 2
OPTION_PREFIX_INFORMATION = 3
OPTION_REDIRECTED_HEADER = 4
OPTION_MTU = 5
OPTION_RDNSS = 25

#: Prefix information flags.
PREFIX_ON_LINK = 0x80
PREFIX_AUTONOMOUS = 0x40
#: Type, length, prefix length, flags, valid, preferred, reserved, prefix.
_PREFIX = struct.Struct("!BBBBIII16s")
#: Type, length, reserved, MTU.
_MTU = struct.Struct("!BBHI")
#: Type, length, reserved, lifetime (then addresses).
_RDNSS = struct.Struct("!BBHI")
#: Lifetimes meaning "infinity".
INFINITY = 0xFFFFFFFF


@dataclass(frozen=True)
class LinkLayerAddressOption:
    """
    A source (type 1) or target (type 2) link-layer address option.

    @ivar type: L{OPTION_SOURCE_LINK_LAYER_ADDRESS} or
        L{OPTION_TARGET_LINK_LAYER_ADDRESS}.
    @ivar address: the MAC, 6 bytes.
    """

    type: int
    address: bytes

    def emit(self) -> bytes:
        """
        The option's 8 bytes.

        @return: the option.
        """
        return bytes([self.type, 1]) + bytes(self.address)


@dataclass(frozen=True)
class PrefixInformation:
    """
    A prefix information option (type 3, RFC 4861 4.6.2).

    @ivar prefixLength: the prefix length.
    @ivar onLink: the L flag: the prefix is on-link.
    @ivar autonomous: the A flag: usable for SLAAC (RFC 4862).
    @ivar validLifetime: seconds, L{INFINITY} for ever.
    @ivar preferredLifetime: seconds, L{INFINITY} for ever.
    @ivar prefix: 16 bytes.
    """

    type: ClassVar[int] = OPTION_PREFIX_INFORMATION
    prefixLength: int
    onLink: bool
    autonomous: bool
    validLifetime: int
    preferredLifetime: int
    prefix: bytes

    def emit(self) -> bytes:
        """
        The option's 32 bytes.

        @return: the option.
        """
        flags = (PREFIX_ON_LINK if self.onLink else 0) | (
            PREFIX_AUTONOMOUS if self.autonomous else 0)
        return _PREFIX.pack(OPTION_PREFIX_INFORMATION, 4, self.prefixLength, flags,
                            self.validLifetime, self.preferredLifetime, 0, self.prefix)


@dataclass(frozen=True)
class MTUOption:
    """
    An MTU option (type 5, RFC 4861 4.6.4).

    @ivar mtu: the link MTU.
    """

    type: ClassVar[int] = OPTION_MTU
    mtu: int

    def emit(self) -> bytes:
        """
        The option's 8 bytes.

        @return: the option.
        """
        return _MTU.pack(OPTION_MTU, 1, 0, self.mtu)


@dataclass(frozen=True)
class RDNSSOption:
    """
    A recursive DNS server option (type 25, RFC 8106 5.1).

    @ivar lifetime: seconds the servers may be used, L{INFINITY} for ever.
    @ivar addresses: the servers, 16 bytes each (at least one).
    """

    type: ClassVar[int] = OPTION_RDNSS
    lifetime: int
    addresses: Tuple[bytes, ...]

    def emit(self) -> bytes:
        """
        The option's bytes: 8 and 16 per address.

        @return: the option.
        @raise ValueError: there are no addresses.
        """
        if not self.addresses:
            raise ValueError("an RDNSS option holds at least one address")
        return _RDNSS.pack(OPTION_RDNSS, 1 + 2 * len(self.addresses), 0,
                           self.lifetime) + b"".join(bytes(a) for a in self.addresses)


@dataclass(frozen=True)
class UnknownOption:
    """
    An option this codec does not interpret (or a known one whose length
    is wrong for its type, which RFC 4861 says to ignore like an unknown
    one).

    @ivar type: the option type.
    @ivar data: the bytes after the type and length.
    """

    type: int
    data: bytes

    def emit(self) -> bytes:
        """
        The option's bytes.

        @return: the option.
        @raise ValueError: the option does not fill whole 8-byte units.
        """
        if (len(self.data) + 2) % 8:
            raise ValueError("an ND option fills whole 8-byte units")
        return bytes([self.type, (len(self.data) + 2) // 8]) + bytes(self.data)


NDOption = Union[LinkLayerAddressOption, PrefixInformation, MTUOption, RDNSSOption,
                 UnknownOption]

_O = TypeVar("_O")


def _parseOption(kind: int, option: bytes) -> NDOption:
    """
    Interpret one option whose length was checked against the message.

    @param kind: the option type.
    @param option: the whole option, type and length included.
    @return: the option value.
    """
    size = len(option)
    if kind in (OPTION_SOURCE_LINK_LAYER_ADDRESS, OPTION_TARGET_LINK_LAYER_ADDRESS) \
            and size == 8:
        return LinkLayerAddressOption(kind, option[2:8])
    if kind == OPTION_PREFIX_INFORMATION and size == 32:
        _, _, length, flags, valid, preferred, _, prefix = _PREFIX.unpack(option)
        if length <= 128:
            return PrefixInformation(length, bool(flags & PREFIX_ON_LINK),
                                     bool(flags & PREFIX_AUTONOMOUS), valid, preferred,
                                     prefix)
    if kind == OPTION_MTU and size == 8:
        return MTUOption(_MTU.unpack(option)[3])
    if kind == OPTION_RDNSS and size >= 24:
        lifetime = _RDNSS.unpack_from(option)[3]
        return RDNSSOption(lifetime, tuple(option[i:i + 16] for i in range(8, size, 16)))
    return UnknownOption(kind, option[2:])


def parseNDOptions(data: Buffer) -> List[NDOption]:
    """
    Read the options of an ND message.

    @param data: the bytes after the message's fixed part.
    @return: the options in order.
    @raise MalformedPacket: an option has a zero length or runs past the
        message (RFC 4861 6.1.1: such a message is discarded).
    """
    data = bytes(data)
    size = len(data)
    offset = 0
    options: List[NDOption] = []
    while offset < size:
        if size - offset < 2:
            raise MalformedPacket("ND option truncated")
        kind, units = data[offset], data[offset + 1]
        if units == 0:
            raise MalformedPacket("ND option with a zero length")
        end = offset + units * 8
        if end > size:
            raise MalformedPacket("ND option runs past the message")
        options.append(_parseOption(kind, data[offset:end]))
        offset = end
    return options


def emitNDOptions(options: Sequence[NDOption]) -> bytes:
    """
    The bytes of a list of options.

    @param options: the options.
    @return: their concatenation.
    """
    return b"".join(option.emit() for option in options)


def findOption(options: Sequence[NDOption], kind: Type[_O],
               type: Optional[int] = None) -> Optional[_O]:
    """
    The first option of a class (and type number, for the two link-layer
    address options).

    @param options: parsed options.
    @param kind: the option class.
    @param type: the option type number, or C{None} for any.
    @return: the option, or C{None}.
    """
    for option in options:
        if isinstance(option, kind) and (type is None or option.type == type):
            return option
    return None


def _linkLayer(options: Sequence[NDOption], kind: int) -> Optional[bytes]:
    """
    The address of the first link-layer address option of a type.

    @param options: parsed options.
    @param kind: L{OPTION_SOURCE_LINK_LAYER_ADDRESS} or
        L{OPTION_TARGET_LINK_LAYER_ADDRESS}.
    @return: the MAC, or C{None}.
    """
    option = findOption(options, LinkLayerAddressOption, kind)
    return None if option is None else option.address


def _checkND(message: ICMPv6Repr, expected: int, minimum: int) -> None:
    """
    RFC 4861's checks that need only the ICMPv6 message: type, code 0 and
    the minimum length.

    @param message: the message.
    @param expected: its type.
    @param minimum: the least ICMPv6 length.
    @raise MalformedPacket: a check failed.
    """
    if message.type != expected:
        raise MalformedPacket(f"ICMPv6 type {message.type} is not {expected}")
    if message.code != 0:
        raise MalformedPacket(f"ND message with code {message.code}")
    if HEADER_LENGTH + len(message.data) < minimum:
        raise MalformedPacket(f"ND message too short: {8 + len(message.data)} bytes")


def _target(message: ICMPv6Repr, expected: int, what: str) -> bytes:
    """
    The checks of L{_checkND} for a neighbor solicitation or
    advertisement, and its target, which is not multicast.

    @param message: the message.
    @param expected: its type.
    @param what: what it is, for the error.
    @return: the target address, 16 bytes.
    @raise MalformedPacket: a check failed.
    """
    _checkND(message, expected, 24)
    target = message.data[:16]
    if target[0] == 0xFF:
        raise MalformedPacket(f"{what} for a multicast target")
    return target


class _NDMessage:
    """
    What the ND messages share: options, and their bytes made from their
    ICMPv6 form.

    @ivar options: the options.
    """

    options: Tuple[NDOption, ...]

    def toICMPv6(self) -> ICMPv6Repr:
        """
        The ICMPv6 message.

        @return: the message.
        """
        raise NotImplementedError()

    def emit(self, source: bytes, destination: bytes) -> bytes:
        """
        The message's bytes.

        @param source: the IPv6 source.
        @param destination: the IPv6 destination.
        @return: the ICMPv6 message.
        """
        return self.toICMPv6().emit(source, destination)


class _SenderLinkLayerMessage(_NDMessage):
    """
    An ND message whose options may give its sender's link-layer address.
    """

    @property
    def sourceLinkLayerAddress(self) -> Optional[bytes]:
        """
        The source link-layer address option's MAC, or C{None}.
        """
        return _linkLayer(self.options, OPTION_SOURCE_LINK_LAYER_ADDRESS)


@dataclass(frozen=True)
class NeighborSolicitation(_SenderLinkLayerMessage):
    """
    A neighbor solicitation (type 135, RFC 4861 4.3).

    @ivar target: the address being resolved or checked, 16 bytes.
    @ivar options: the options (a source link-layer address, usually).
    """

    target: bytes
    options: Tuple[NDOption, ...] = ()

    @classmethod
    def fromICMPv6(cls, message: ICMPv6Repr) -> "NeighborSolicitation":
        """
        Interpret an ICMPv6 message.

        @param message: a type 135 message.
        @return: the solicitation.
        @raise MalformedPacket: too short, nonzero code, a multicast
            target, or bad options.
        """
        target = _target(message, TYPE_NEIGHBOR_SOLICITATION, "neighbor solicitation")
        return cls(target, tuple(parseNDOptions(message.data[16:])))

    def toICMPv6(self) -> ICMPv6Repr:
        """
        The ICMPv6 message.

        @return: the message.
        """
        return ICMPv6Repr(TYPE_NEIGHBOR_SOLICITATION, 0, 0,
                          bytes(self.target) + emitNDOptions(self.options))


#: Neighbor advertisement flags.
NA_ROUTER = 0x80000000
NA_SOLICITED = 0x40000000
NA_OVERRIDE = 0x20000000


@dataclass(frozen=True)
class NeighborAdvertisement(_NDMessage):
    """
    A neighbor advertisement (type 136, RFC 4861 4.4).

    @ivar target: the address advertised, 16 bytes.
    @ivar router: the R flag.
    @ivar solicited: the S flag: an answer to a solicitation.
    @ivar override: the O flag: replace a cached link-layer address.
    @ivar options: the options (a target link-layer address, usually).
    """

    target: bytes
    router: bool = False
    solicited: bool = False
    override: bool = False
    options: Tuple[NDOption, ...] = ()

    @property
    def targetLinkLayerAddress(self) -> Optional[bytes]:
        """
        The target link-layer address option's MAC, or C{None}.
        """
        return _linkLayer(self.options, OPTION_TARGET_LINK_LAYER_ADDRESS)

    @classmethod
    def fromICMPv6(cls, message: ICMPv6Repr) -> "NeighborAdvertisement":
        """
        Interpret an ICMPv6 message.

        @param message: a type 136 message.
        @return: the advertisement.
        @raise MalformedPacket: too short, nonzero code, a multicast
            target, or bad options.
        """
        target = _target(message, TYPE_NEIGHBOR_ADVERTISEMENT, "neighbor advertisement")
        flags = message.restOfHeader
        return cls(target, bool(flags & NA_ROUTER), bool(flags & NA_SOLICITED),
                   bool(flags & NA_OVERRIDE), tuple(parseNDOptions(message.data[16:])))

    def toICMPv6(self) -> ICMPv6Repr:
        """
        The ICMPv6 message.

        @return: the message.
        """
        flags = ((NA_ROUTER if self.router else 0) | (NA_SOLICITED if self.solicited else 0)
                 | (NA_OVERRIDE if self.override else 0))
        return ICMPv6Repr(TYPE_NEIGHBOR_ADVERTISEMENT, 0, flags,
                          bytes(self.target) + emitNDOptions(self.options))


@dataclass(frozen=True)
class RouterSolicitation(_SenderLinkLayerMessage):
    """
    A router solicitation (type 133, RFC 4861 4.1).

    @ivar options: the options (a source link-layer address, unless sent
        from the unspecified address).
    """

    options: Tuple[NDOption, ...] = ()

    @classmethod
    def fromICMPv6(cls, message: ICMPv6Repr) -> "RouterSolicitation":
        """
        Interpret an ICMPv6 message.

        @param message: a type 133 message.
        @return: the solicitation.
        @raise MalformedPacket: nonzero code or bad options.
        """
        _checkND(message, TYPE_ROUTER_SOLICITATION, 8)
        return cls(tuple(parseNDOptions(message.data)))

    def toICMPv6(self) -> ICMPv6Repr:
        """
        The ICMPv6 message.

        @return: the message.
        """
        return ICMPv6Repr(TYPE_ROUTER_SOLICITATION, 0, 0, emitNDOptions(self.options))


#: Router advertisement flags (in the byte after the hop limit).
RA_MANAGED = 0x80
RA_OTHER = 0x40


@dataclass(frozen=True)
class RouterAdvertisement(_SenderLinkLayerMessage):
    """
    A router advertisement (type 134, RFC 4861 4.2).

    @ivar curHopLimit: the hop limit hosts should use, 0 for unspecified.
    @ivar managed: the M flag (addresses from DHCPv6).
    @ivar other: the O flag (other configuration from DHCPv6).
    @ivar routerLifetime: seconds this router is a default router, 0 for
        "not a default router".
    @ivar reachableTime: milliseconds, 0 for unspecified.
    @ivar retransTimer: milliseconds, 0 for unspecified.
    @ivar options: prefix information, MTU, RDNSS, source link-layer
        address...
    """

    curHopLimit: int = 64
    managed: bool = False
    other: bool = False
    routerLifetime: int = 1800
    reachableTime: int = 0
    retransTimer: int = 0
    options: Tuple[NDOption, ...] = ()

    @classmethod
    def fromICMPv6(cls, message: ICMPv6Repr) -> "RouterAdvertisement":
        """
        Interpret an ICMPv6 message.

        @param message: a type 134 message.
        @return: the advertisement.
        @raise MalformedPacket: too short, nonzero code, or bad options.
        """
        _checkND(message, TYPE_ROUTER_ADVERTISEMENT, 16)
        rest = message.restOfHeader
        reachable, retrans = struct.unpack_from("!II", message.data)
        return cls(rest >> 24, bool(rest & (RA_MANAGED << 16)), bool(rest & (RA_OTHER << 16)),
                   rest & 0xFFFF, reachable, retrans,
                   tuple(parseNDOptions(message.data[8:])))

    def toICMPv6(self) -> ICMPv6Repr:
        """
        The ICMPv6 message.

        @return: the message.
        """
        flags = (RA_MANAGED if self.managed else 0) | (RA_OTHER if self.other else 0)
        rest = (self.curHopLimit << 24) | (flags << 16) | self.routerLifetime
        return ICMPv6Repr(TYPE_ROUTER_ADVERTISEMENT, 0, rest,
                          struct.pack("!II", self.reachableTime, self.retransTimer)
                          + emitNDOptions(self.options))


NDMessage = Union[NeighborSolicitation, NeighborAdvertisement, RouterSolicitation,
                  RouterAdvertisement]

_ND_CLASSES = {
    TYPE_NEIGHBOR_SOLICITATION: NeighborSolicitation,
    TYPE_NEIGHBOR_ADVERTISEMENT: NeighborAdvertisement,
    TYPE_ROUTER_SOLICITATION: RouterSolicitation,
    TYPE_ROUTER_ADVERTISEMENT: RouterAdvertisement,
}


def parseND(message: ICMPv6Repr) -> NDMessage:
    """
    Interpret an ND message of any of the four kinds.

    @param message: an ICMPv6 message of type 133 to 136.
    @return: the ND message.
    @raise MalformedPacket: another type, or the kind's checks fail.
    """
    cls = _ND_CLASSES.get(message.type)
    if cls is None:
        raise MalformedPacket(f"ICMPv6 type {message.type} is not an ND message")
    return cls.fromICMPv6(message)  # type: ignore[attr-defined, no-any-return]
