# -*- test-case-name: tests.wire.test_addr6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
IPv6 addresses: parsing and formatting, prefixes, and the addresses
derived from others -- solicited-node multicast groups (RFC 4291 2.7.1),
their Ethernet multicast MACs (RFC 2464 7), modified EUI-64 interface
identifiers (RFC 4291 appendix A) and stable, semantically opaque ones
(RFC 7217).

Inside vdetwist, IPv6 addresses are 16-byte C{bytes} in network order.
"""

import hashlib
import socket
from typing import Tuple

__all__ = [
    "UNSPECIFIED",
    "LOOPBACK",
    "ALL_NODES",
    "ALL_ROUTERS",
    "LINK_LOCAL_PREFIX",
    "parseIPv6",
    "formatIPv6",
    "parseInterface6",
    "prefixMask",
    "networkPrefix",
    "samePrefix",
    "isMulticast",
    "isLinkLocal",
    "isUnspecified",
    "isSolicitedNode",
    "solicitedNode",
    "multicastMAC",
    "eui64",
    "linkLocalFromMAC",
    "addressFromPrefix",
    "stableInterfaceIdentifier",
]

#: C{::}.
UNSPECIFIED = b"\0" * 16
#: C{::1}.
LOOPBACK = b"\0" * 15 + b"\x01"
#: C{ff02::1}, the link-local all-nodes group.
ALL_NODES = b"\xff\x02" + b"\0" * 13 + b"\x01"
#: C{ff02::2}, the link-local all-routers group.
ALL_ROUTERS = b"\xff\x02" + b"\0" * 13 + b"\x02"
#: C{fe80::/64}.
LINK_LOCAL_PREFIX = b"\xfe\x80" + b"\0" * 14

_SOLICITED_PREFIX = b"\xff\x02" + b"\0" * 9 + b"\x01\xff"


def parseIPv6(text: str) -> bytes:
    """
    Parse an IPv6 address in any RFC 4291 text form (C{"fd00:77::1"},
    C{"::ffff:10.0.0.1"}).  Brackets and zone indices are not accepted.

    @param text: the address.
    @return: 16 bytes.
    @raise ValueError: C{text} is not an IPv6 address.
    """
    try:
        return socket.inet_pton(socket.AF_INET6, text)
    except (OSError, TypeError, ValueError):
        raise ValueError(f"not an IPv6 address: {text!r}") from None


def formatIPv6(address: bytes) -> str:
    """
    Format an IPv6 address in the canonical text form (RFC 5952: lower
    case, the longest run of zero groups compressed).

    @param address: 16 bytes.
    @return: for instance C{"fd00:77::1"}.
    @raise ValueError: C{address} is not 16 bytes long.
    """
    if len(address) != 16:
        raise ValueError(f"an IPv6 address is 16 bytes, not {len(address)}")
    return socket.inet_ntop(socket.AF_INET6, bytes(address))


def parseInterface6(text: str) -> Tuple[bytes, int]:
    """
    Parse an interface address with a prefix length,
    C{"fd00:77::100/64"}.  A missing prefix means C{/128}.

    @param text: the address and prefix length.
    @return: C{(address, prefixLength)}, the address as 16 bytes.
    @raise ValueError: either part is malformed.
    """
    address, slash, prefix = text.partition("/")
    if not slash:
        return parseIPv6(address), 128
    if not prefix.isdigit() or int(prefix) > 128:
        raise ValueError(f"bad prefix length in {text!r}")
    return parseIPv6(address), int(prefix)


def prefixMask(prefixLength: int) -> int:
    """
    The mask of a prefix length as a 128-bit integer.

    @param prefixLength: 0 to 128.
    @return: the mask.
    @raise ValueError: the prefix length is out of range.
    """
    if not 0 <= prefixLength <= 128:
        raise ValueError(f"prefix length out of range: {prefixLength}")
    return ((1 << prefixLength) - 1) << (128 - prefixLength)


def networkPrefix(address: bytes, prefixLength: int) -> bytes:
    """
    C{address} with the bits after the prefix cleared.

    @param address: 16 bytes.
    @param prefixLength: 0 to 128.
    @return: 16 bytes.
    """
    value = int.from_bytes(address, "big") & prefixMask(prefixLength)
    return value.to_bytes(16, "big")


def samePrefix(a: bytes, b: bytes, prefixLength: int) -> bool:
    """
    Whether two addresses agree in their first C{prefixLength} bits.

    @param a: 16 bytes.
    @param b: 16 bytes.
    @param prefixLength: 0 to 128.
    @return: the answer.
    """
    # Whole bytes compared as bytes, then the bits of the next one: no
    # 128-bit integers (big ones on PyPy: 0.07 us there against 0.01 this
    # way; 0.34 against 0.20 us on CPython), and the IPv6 layer asks this
    # for every datagram it sends.
    whole = prefixLength >> 3
    bits = prefixLength & 7
    if a[:whole] != b[:whole]:
        return False
    return not bits or not (a[whole] ^ b[whole]) >> (8 - bits)


def isMulticast(address: bytes) -> bool:
    """
    Whether C{address} is in C{ff00::/8}.

    @param address: 16 bytes.
    @return: the answer.
    """
    return address[0] == 0xFF


def isLinkLocal(address: bytes) -> bool:
    """
    Whether C{address} is a link-local unicast address (C{fe80::/10}).

    @param address: 16 bytes.
    @return: the answer.
    """
    return address[0] == 0xFE and address[1] & 0xC0 == 0x80


def isUnspecified(address: bytes) -> bool:
    """
    Whether C{address} is C{::}.

    @param address: 16 bytes.
    @return: the answer.
    """
    return address == UNSPECIFIED


def isSolicitedNode(address: bytes) -> bool:
    """
    Whether C{address} is a solicited-node multicast group
    (C{ff02::1:ffXX:XXXX}).

    @param address: 16 bytes.
    @return: the answer.
    """
    return address[:13] == _SOLICITED_PREFIX


def solicitedNode(address: bytes) -> bytes:
    """
    The solicited-node multicast group of a unicast address: C{ff02::1:ff}
    followed by the address's low 24 bits (RFC 4291 2.7.1).

    @param address: 16 bytes.
    @return: 16 bytes.
    """
    return _SOLICITED_PREFIX + bytes(address[13:16])


def multicastMAC(group: bytes) -> bytes:
    """
    The Ethernet destination of an IPv6 multicast group: C{33:33} and the
    group's low 32 bits (RFC 2464 section 7).

    @param group: a multicast address, 16 bytes.
    @return: 6 bytes.
    """
    return b"\x33\x33" + bytes(group[12:16])


def eui64(mac: bytes) -> bytes:
    """
    The modified EUI-64 interface identifier of a MAC (RFC 4291 appendix
    A): C{ff:fe} inserted in the middle and the universal/local bit
    inverted.

    @param mac: 6 bytes.
    @return: 8 bytes.
    @raise ValueError: C{mac} is not 6 bytes.
    """
    if len(mac) != 6:
        raise ValueError(f"a MAC address is 6 bytes, not {len(mac)}")
    return bytes([mac[0] ^ 0x02]) + bytes(mac[1:3]) + b"\xff\xfe" + bytes(mac[3:6])


def addressFromPrefix(prefix: bytes, interfaceIdentifier: bytes) -> bytes:
    """
    A /64 prefix's first 8 bytes followed by an interface identifier.

    @param prefix: 16 bytes (only the first 8 are used).
    @param interfaceIdentifier: 8 bytes.
    @return: 16 bytes.
    """
    return bytes(prefix[:8]) + bytes(interfaceIdentifier)


def linkLocalFromMAC(mac: bytes) -> bytes:
    """
    The EUI-64 link-local address of a MAC: C{fe80::} and L{eui64}.

    @param mac: 6 bytes.
    @return: 16 bytes.
    """
    return addressFromPrefix(LINK_LOCAL_PREFIX, eui64(mac))


def stableInterfaceIdentifier(prefix: bytes, netIface: bytes, secretKey: bytes,
                              dadCounter: int = 0, networkID: bytes = b"") -> bytes:
    """
    A stable, semantically opaque interface identifier (RFC 7217 section
    5): the first 64 bits of SHA-256 over the prefix, the interface, the
    network identifier, the DAD counter and a secret key.  The same
    inputs always give the same identifier; another prefix gives another.

    @param prefix: the /64 prefix (the first 8 bytes are used).
    @param netIface: what identifies the interface (its MAC, say).
    @param secretKey: a secret of at least 128 bits kept by the host.
    @param dadCounter: bumped after each duplicate-address failure.
    @param networkID: an optional network identifier.
    @return: 8 bytes, never one of the reserved identifiers (RFC 5453:
        all zeros, or the subnet-router anycast range C{fdff:ffff:ffff:ff80}
        and up), which are skipped by bumping the counter.
    """
    while True:
        digest = hashlib.sha256(
            bytes(prefix[:8]) + bytes(netIface) + bytes(networkID)
            + dadCounter.to_bytes(4, "big") + bytes(secretKey)).digest()[:8]
        value = int.from_bytes(digest, "big")
        if value != 0 and value < 0xFDFFFFFFFFFFFF80:
            return digest
        dadCounter += 1
