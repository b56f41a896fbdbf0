# -*- test-case-name: tests.slirp.test_ipv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
slirp's outbound NAT to IPv6 destinations: L{NAT6} is the IPv4 L{NAT}
with IPv6 policy, host sockets and formatting.

  - UDP: one host C{AF_INET6} socket per guest (address, port), bounded
    and aged as on IPv4.
  - ICMPv6 echo: through unprivileged C{AF_INET6} ICMPv6 sockets, where
    C{net.ipv4.ping_group_range} allows them (it covers both families).
  - TCP: L{NAT6.forwardTCP} connects on the host first
    (C{TCP6ClientEndpoint}) exactly as on IPv4; it is the seam for the
    stack's TCP over IPv6, which calls it for a guest's SYN to an outside
    address once the gateway's TCP layer takes IPv6 segments.

The gateway's C{::2} stands for the host's C{::1} only with
C{allowHostLoopback}; loopback, IPv4-mapped and -compatible addresses
(which would reach the host's IPv4 loopback), link-local, multicast,
unspecified addresses and the virtual prefix are never reached.
"""

import socket
import struct
from typing import Any, Optional

from twisted.internet.endpoints import TCP6ClientEndpoint

from vdetwist.slirp.nat import NAT, _ICMPRelay, _ICMPSocket
from vdetwist.wire.addr6 import LOOPBACK, formatIPv6, samePrefix
from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.icmpv6 import TYPE_ECHO_REPLY
from vdetwist.wire.ipv6 import pseudoHeaderSum

__all__ = ["NAT6"]

_NEXT_HEADER_ICMPV6 = 58


class _ICMPv6Relay(_ICMPRelay):
    """
    ICMPv6 echo through unprivileged ICMPv6 sockets.
    """

    def __init__(self, *args: Any) -> None:
        """
        @param args: L{_ICMPRelay}'s.
        """
        super().__init__(*args)
        if args[2] is None:
            self.socketFactory = lambda: socket.socket(
                socket.AF_INET6, socket.SOCK_DGRAM, socket.IPPROTO_ICMPV6)

    def replyReceived(self, entry: _ICMPSocket, data: bytes, source: str) -> None:
        """
        An echo reply: restore the guest's identifier and the checksum
        (over the pseudo-header as the guest sees it), and send it on.

        @param entry: the socket.
        @param data: the ICMPv6 message.
        @param source: who replied.
        """
        nat = self.nat
        if len(data) < 8 or data[0] != TYPE_ECHO_REPLY:
            return
        address = nat.fromHost(source)
        if address is None or self.sendToGuest is None:
            return
        message = bytearray(data)
        struct.pack_into("!HH", message, 2, 0, entry.identifier)
        struct.pack_into("!H", message, 2, internetChecksum(message, pseudoHeaderSum(
            address, entry.guest, _NEXT_HEADER_ICMPV6, len(message))))
        entry.lastSeen = nat.reactor.seconds()
        entry.bytesIn += len(message)
        nat.counters["icmpReceived"] += 1
        self.sendToGuest(address, entry.guest, bytes(message))


class NAT6(NAT):
    """
    The outbound NAT of a slirp gateway, for IPv6 destinations.  Its
    C{prefixLength} is the virtual prefix's (64); C{gatewayAddress} is
    C{PREFIX::2} and C{dnsAddress} C{PREFIX::3}.
    """

    clientEndpoint = TCP6ClientEndpoint
    udpInterface = "::"
    formatAddress = staticmethod(formatIPv6)

    def _makeICMPRelay(self, *args: Any) -> _ICMPRelay:
        """
        The ICMPv6 echo relay.

        @param args: L{_ICMPRelay}'s arguments.
        @return: the relay.
        """
        return _ICMPv6Relay(*args)

    def toHost(self, destination: bytes) -> Optional[str]:
        """
        Where a guest's IPv6 destination is reached on the host.

        @param destination: 16 bytes.
        @return: the host-side address text, or C{None} when it may not be
            reached.
        """
        if destination == self.gatewayAddress:
            return "::1" if self.allowHostLoopback else None
        if (destination[0] == 0xFF or destination[:12] == b"\0" * 12
                or destination[:12] == b"\0" * 10 + b"\xff\xff"
                or (destination[0] == 0xFE and destination[1] & 0xC0 == 0x80)
                or destination == self.dnsAddress
                or samePrefix(destination, self.gatewayAddress, self.prefixLength)):
            return None
        return formatIPv6(destination)

    def fromHost(self, address: str) -> Optional[bytes]:
        """
        The IPv6 source a host-side peer appears as to the guest.

        @param address: the peer's address text (scope removed).
        @return: 16 bytes, or C{None} when it should not be shown.
        """
        try:
            packed = socket.inet_pton(socket.AF_INET6, address.partition("%")[0])
        except OSError:
            return None
        if packed == LOOPBACK:
            return self.gatewayAddress if self.allowHostLoopback else None
        if packed[:12] == b"\0" * 10 + b"\xff\xff" or packed[:12] == b"\0" * 12:
            return None
        return packed

    def _silentlyRefused(self, destination: bytes) -> bool:
        """
        Refused multicast datagrams get no error.

        @param destination: the destination.
        @return: C{True} for multicast.
        """
        return destination[0] == 0xFF
