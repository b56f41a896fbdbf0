# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Helpers for the IPv6 stack tests: an IPv6 host (interface, ND, IPv6,
ICMPv6) on a fake clock and a recording transport, and frames for it built
with scapy, an independent encoder.
"""

from typing import Any, List, Optional

from twisted.internet.task import Clock

from tests.wire.oracle import scapy
from vdetwist.stack.icmpv6 import ICMPv6Layer
from vdetwist.stack.interface import NetworkInterface
from vdetwist.stack.ipv6 import IPv6Layer
from vdetwist.stack.nd import NDLayer
from vdetwist.testing import FakeFrameTransport
from vdetwist.wire.addr6 import formatIPv6, parseIPv6
from vdetwist.wire.addr import formatMAC

MAC = bytes.fromhex("020000000001")
PEER_MAC = bytes.fromhex("020000000002")
ROUTER_MAC = bytes.fromhex("020000000003")
US = parseIPv6("fd00:77::100")
PEER = parseIPv6("fd00:77::1")
PEER_LL = parseIPv6("fe80::2")
ROUTER_LL = parseIPv6("fe80::3")
OUTSIDE = parseIPv6("2001:db8::1")
#: Our EUI-64 link-local address (from MAC).
US_LL = parseIPv6("fe80::ff:fe00:1")


class Host:
    """
    An IPv6 host on a fake clock with a recording transport.

    @ivar clock: the clock.
    @ivar interface: the interface.
    @ivar nd: the ND layer.
    @ivar ip: the IPv6 layer.
    @ivar icmp: the ICMPv6 layer.
    @ivar transport: the recording transport (attached).
    """

    def __init__(self, static: Optional[bytes] = US, dad: int = 0, attach: bool = True,
                 clock: Optional[Clock] = None, hardware: bytes = MAC,
                 **ndArgs: Any) -> None:
        """
        @param static: a static /64 address, or C{None}.
        @param dad: DAD probes per address.
        @param attach: attach the interface.
        @param clock: the clock (a new one when C{None}).
        @param hardware: the MAC.
        @param ndArgs: more arguments for L{NDLayer}.
        """
        self.clock = clock if clock is not None else Clock()
        self.interface = NetworkInterface(hardware)
        ndArgs.setdefault("solicitRouters", False)
        self.nd = NDLayer(self.clock, self.interface, dadTransmits=dad, **ndArgs)
        self.ip = IPv6Layer(self.clock, self.nd)
        self.icmp = ICMPv6Layer(self.clock, self.ip)
        if static is not None:
            self.ip.addAddress(static, 64)
        self.transport = FakeFrameTransport()
        if attach:
            self.interface.makeConnection(self.transport)

    def receive(self, packet: Any, source: bytes = PEER_MAC,
                destination: bytes = MAC) -> None:
        """
        Deliver a scapy IPv6 packet (or bytes) in an Ethernet frame.

        @param packet: the packet.
        @param source: the Ethernet source.
        @param destination: the Ethernet destination.
        """
        self.interface.frameReceived(destination + source + b"\x86\xdd" + bytes(packet))

    def sent(self) -> List[Any]:
        """
        Take the frames sent, parsed by scapy.

        @return: scapy Ether packets.
        """
        return [scapy.Ether(f) for f in self.transport.clear()]


def text(address: bytes) -> str:
    """
    An address for scapy.

    @param address: 16 bytes.
    @return: its text.
    """
    return formatIPv6(address)


def mac(address: bytes) -> str:
    """
    A MAC for scapy.

    @param address: 6 bytes.
    @return: its text.
    """
    return formatMAC(address)
