# -*- test-case-name: tests.wire.test_addr -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Parsing and formatting of MAC and IPv4 addresses, and netmask arithmetic.

Inside vdetwist, MAC addresses are 6-byte C{bytes} and IPv4 addresses are
4-byte C{bytes} in network order; these helpers convert them from and to
the text forms people type and read.
"""

import os
import socket
from typing import Tuple

__all__ = [
    "BROADCAST_MAC",
    "ZERO_MAC",
    "ANY_IPV4",
    "BROADCAST_IPV4",
    "parseMAC",
    "formatMAC",
    "randomMAC",
    "isMulticastMAC",
    "parseIPv4",
    "formatIPv4",
    "parseInterface",
    "netmaskFromPrefix",
    "prefixFromNetmask",
    "networkAddress",
    "broadcastAddress",
    "sameNetwork",
]

#: The Ethernet broadcast address.
BROADCAST_MAC = b"\xff" * 6
#: The all-zero MAC address (ARP requests' target hardware address).
ZERO_MAC = b"\x00" * 6
#: 0.0.0.0.
ANY_IPV4 = b"\x00" * 4
#: 255.255.255.255, the limited broadcast address.
BROADCAST_IPV4 = b"\xff" * 4


def parseMAC(text: str) -> bytes:
    """
    Parse a MAC address written as six hexadecimal octets separated by
    colons or dashes (C{"aa:bb:cc:dd:ee:ff"}, C{"aa-bb-..."}); single-digit
    octets (C{"a:b:c:d:e:f"}) are accepted.

    @param text: the address.
    @return: 6 bytes.
    @raise ValueError: C{text} is not a MAC address.
    """
    parts = text.replace("-", ":").split(":")
    if len(parts) != 6:
        raise ValueError(f"not a MAC address: {text!r}")
    out = bytearray()
    for part in parts:
        if not 1 <= len(part) <= 2 or any(
            c not in "0123456789abcdefABCDEF" for c in part
        ):
            raise ValueError(f"not a MAC address: {text!r}")
        out.append(int(part, 16))
    return bytes(out)


def formatMAC(mac: bytes) -> str:
    """
    Format a MAC address as lower-case colon-separated hexadecimal.

    @param mac: 6 bytes.
    @return: for instance C{"52:54:00:12:34:56"}.
    @raise ValueError: C{mac} is not 6 bytes long.
    """
    if len(mac) != 6:
        raise ValueError(f"a MAC address is 6 bytes, not {len(mac)}")
    return ":".join(f"{b:02x}" for b in mac)


def randomMAC() -> bytes:
    """
    A random locally administered unicast MAC address (the second-lowest
    bit of the first octet set, the lowest clear).

    @return: 6 bytes.
    """
    raw = bytearray(os.urandom(6))
    raw[0] = (raw[0] & 0xFC) | 0x02
    return bytes(raw)


def isMulticastMAC(mac: bytes) -> bool:
    """
    Whether C{mac} is a group (multicast or broadcast) address.

    @param mac: 6 bytes.
    @return: C{True} when the I/G bit of the first octet is set.
    """
    return bool(mac[0] & 1)


def parseIPv4(text: str) -> bytes:
    """
    Parse a dotted-quad IPv4 address (strictly four decimal parts).

    @param text: for instance C{"192.168.77.100"}.
    @return: 4 bytes in network order.
    @raise ValueError: C{text} is not a dotted-quad address.
    """
    try:
        return socket.inet_pton(socket.AF_INET, text)
    except (OSError, TypeError):
        raise ValueError(f"not an IPv4 address: {text!r}") from None


def formatIPv4(address: bytes) -> str:
    """
    Format an IPv4 address as a dotted quad.

    @param address: 4 bytes in network order.
    @return: for instance C{"10.0.2.2"}.
    @raise ValueError: C{address} is not 4 bytes long.
    """
    if len(address) != 4:
        raise ValueError(f"an IPv4 address is 4 bytes, not {len(address)}")
    return "%d.%d.%d.%d" % tuple(address)


def netmaskFromPrefix(prefixLength: int) -> bytes:
    """
    The netmask for a prefix length.

    @param prefixLength: 0 to 32.
    @return: 4 bytes, e.g. C{b"\\xff\\xff\\xff\\x00"} for 24.
    @raise ValueError: the prefix length is out of range.
    """
    if not 0 <= prefixLength <= 32:
        raise ValueError(f"prefix length out of range: {prefixLength}")
    return ((0xFFFFFFFF << (32 - prefixLength)) & 0xFFFFFFFF).to_bytes(4, "big")


def prefixFromNetmask(netmask: bytes) -> int:
    """
    The prefix length of a contiguous netmask.

    @param netmask: 4 bytes.
    @return: 0 to 32.
    @raise ValueError: the netmask's one bits are not contiguous.
    """
    value = int.from_bytes(netmask, "big")
    inverted = ~value & 0xFFFFFFFF
    if len(netmask) != 4 or inverted & (inverted + 1):
        raise ValueError(f"not a contiguous netmask: {netmask!r}")
    return 32 - inverted.bit_length()


def parseInterface(text: str) -> Tuple[bytes, int]:
    """
    Parse an interface address in CIDR form, C{"192.168.77.100/24"}.  A
    missing prefix means C{/32}.

    @param text: the address and prefix length.
    @return: C{(address, prefixLength)}, the address as 4 bytes.
    @raise ValueError: either part is malformed.
    """
    address, slash, prefix = text.partition("/")
    if not slash:
        return parseIPv4(address), 32
    if not prefix.isdigit():
        raise ValueError(f"bad prefix length in {text!r}")
    length = int(prefix)
    if length > 32:
        raise ValueError(f"prefix length out of range in {text!r}")
    return parseIPv4(address), length


def networkAddress(address: bytes, prefixLength: int) -> bytes:
    """
    The network address of C{address}'s subnet.

    @param address: 4 bytes.
    @param prefixLength: 0 to 32.
    @return: 4 bytes with the host bits cleared.
    """
    mask = int.from_bytes(netmaskFromPrefix(prefixLength), "big")
    return (int.from_bytes(address, "big") & mask).to_bytes(4, "big")


def broadcastAddress(address: bytes, prefixLength: int) -> bytes:
    """
    The directed broadcast address of C{address}'s subnet.

    @param address: 4 bytes.
    @param prefixLength: 0 to 32.
    @return: 4 bytes with the host bits set.
    """
    mask = int.from_bytes(netmaskFromPrefix(prefixLength), "big")
    value = int.from_bytes(address, "big") | (~mask & 0xFFFFFFFF)
    return value.to_bytes(4, "big")


def sameNetwork(a: bytes, b: bytes, prefixLength: int) -> bool:
    """
    Whether two addresses are in the same subnet.

    @param a: 4 bytes.
    @param b: 4 bytes.
    @param prefixLength: 0 to 32.
    @return: C{True} when their first C{prefixLength} bits agree.
    """
    shift = 32 - prefixLength
    return (int.from_bytes(a, "big") >> shift) == (int.from_bytes(b, "big") >> shift)
