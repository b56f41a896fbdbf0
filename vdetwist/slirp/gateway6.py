# -*- test-case-name: tests.slirp.test_ipv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The IPv6 side of the slirp gateway, on the gateway's interface beside
its IPv4 host: Neighbor Discovery answering for C{PREFIX::2}, C{PREFIX::3}
and a link-local address (as a router: NAs carry the R flag), router
advertisements (L{vdetwist.slirp.ra}), echo answered on those addresses,
DNS on C{::3} over UDP and TCP, the outbound NAT (L{vdetwist.slirp.nat6})
for TCP, UDP and ICMPv6 echo, and the stack's TCP over IPv6 that the
inbound forwards to IPv6 guests connect through.

libslirp's convention: the gateway is C{::2} and the DNS server C{::3}
of the virtual /64.  The default prefix is the ULA L{DEFAULT_PREFIX6}.

TCP is the stack's L{TCPLayer} over the gateway's router-mode IPv6
layer: a guest's SYN to an outside address goes to L{NAT6.forwardTCP},
which connects on the host first and then lets the layer answer the SYN
(or RST it when refused, or send "address unreachable" first when the
host cannot reach the destination), exactly as on IPv4.  UDP is the
stack's L{UDPLayer} too: the forwards' flows are its sockets, and what
no socket takes goes to L{_UDP6Services} (DNS on C{::3}, the NAT).
"""

import struct
from collections import Counter
from typing import Any, Tuple

from vdetwist.slirp.dns import DNSStreamFactory
from vdetwist.slirp.nat6 import NAT6
from vdetwist.slirp.ra import RouterAdvertiser
from vdetwist.stack.icmpv6 import ICMPv6Layer
from vdetwist.stack.ipv6 import IPv6Layer
from vdetwist.stack.nd import NDLayer
from vdetwist.stack.tcp.demux import TCPLayer
from vdetwist.stack.udp import UDPLayer
from vdetwist.wire.addr6 import (
    ALL_ROUTERS,
    formatIPv6,
    isLinkLocal,
    multicastMAC,
    networkPrefix,
    parseIPv6,
    solicitedNode,
)
from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.ethernet import ETHERTYPE_IPV6
from vdetwist.wire.icmpv6 import (
    CODE_ADDRESS_UNREACHABLE,
    CODE_ADMINISTRATIVELY_PROHIBITED,
    TYPE_ECHO_REQUEST,
    TYPE_ROUTER_SOLICITATION,
)
from vdetwist.wire.ipv6 import HEADER, pseudoHeaderSum

__all__ = ["Gateway6", "parsePrefix6", "DEFAULT_PREFIX6"]

#: The default virtual prefix: a ULA /64 (RFC 4193 space; libslirp's
#: historical default is the deprecated site-local fec0::/64).
DEFAULT_PREFIX6 = "fd00:0:0:2::/64"

def parsePrefix6(text: str) -> bytes:
    """
    Parse C{--prefix6 PREFIX/64}.

    @param text: for instance C{"fd00:77::/64"} (a missing length is /64).
    @return: the 16-byte prefix.
    @raise ValueError: not an IPv6 /64 usable for hosts.
    """
    address, slash, bits = text.partition("/")
    if slash and bits != "64":
        raise ValueError(f"the IPv6 prefix {text!r} must be a /64 (SLAAC needs one)")
    prefix = networkPrefix(parseIPv6(address), 64)
    if prefix[0] == 0xFF or isLinkLocal(prefix) or prefix == b"\0" * 16:
        raise ValueError(f"{text!r} is not a unicast prefix")
    return prefix


class _UDP6Services:
    """
    What the gateway does with a guest's UDP datagram over IPv6 that no
    virtual socket (a forward's flow) took: DNS on C{::3} port 53, other
    ports of the gateway's own addresses unreachable, datagrams to outside
    addresses (and to C{::2}, the host's loopback) to the NAT.  It is the
    fallback of the gateway's L{UDPLayer}.

    @ivar counters: C{dns}, C{multicast}, C{prohibited}.
    """

    def __init__(self, gateway: "Gateway6") -> None:
        """
        @param gateway: the IPv6 gateway.
        """
        self.gateway = gateway
        self.counters: Counter[str] = Counter()

    def datagramReceived(self, source: bytes, sourcePort: int, destination: bytes,
                         destinationPort: int, data: bytes, packet: bytes) -> bool:
        """
        One UDP datagram, its checksum checked by the layer.  Never raises
        for bad input.

        @param source: the guest.
        @param sourcePort: its port.
        @param destination: where it goes.
        @param destinationPort: the port.
        @param data: the payload.
        @param packet: the whole packet.
        @return: C{True} when taken; C{False} for the layer's port
            unreachable.
        """
        counters = self.counters
        gateway = self.gateway
        if destination[0] == 0xFF:
            counters["multicast"] += 1
            return True
        if destination in gateway.localAddresses and destination != gateway.address:
            # (The gateway's ::2 stands for the host's loopback: the NAT.)
            if (destination == gateway.dnsAddress and destinationPort == 53
                    and gateway.dns is not None):
                counters["dns"] += 1
                self._dns(source, sourcePort, destination, data)
                return True
            return False
        if not gateway.nat.datagramReceived(source, sourcePort, destination,
                                            destinationPort, data, packet):
            counters["prohibited"] += 1
            gateway.icmp.sendUnreachable(CODE_ADMINISTRATIVELY_PROHIBITED, packet)
        return True

    def _dns(self, guest: bytes, guestPort: int, server: bytes, data: bytes) -> None:
        """
        Answer one DNS query through the DNS proxy.

        @param guest: the guest.
        @param guestPort: its port.
        @param server: the DNS address it asked.
        @param data: the query.
        """
        d = self.gateway.dns.answer(data)
        if d is None:
            return

        def reply(response: Any) -> None:
            if response is not None:
                self.gateway.udp.sendDatagram(server, 53, guest, guestPort,
                                              self.gateway.dns.encodeForUDP(response))
        d.addCallback(reply)


class _ICMPv6Intercept:
    """
    ICMPv6 on the gateway: router solicitations trigger an RA, echo
    requests to outside addresses go through the NAT; everything else is
    the stack's ICMPv6 layer's.
    """

    def __init__(self, gateway: "Gateway6") -> None:
        """
        @param gateway: the IPv6 gateway.
        """
        self.gateway = gateway

    def packetReceived(self, source: bytes, destination: bytes, payload: bytes,
                       packet: bytes) -> None:
        """
        One ICMPv6 message.

        @param source: the sender.
        @param destination: where it goes.
        @param payload: the message.
        @param packet: the whole packet.
        """
        gateway = self.gateway
        if len(payload) >= 8:
            kind = payload[0]
            if kind == TYPE_ROUTER_SOLICITATION:
                if packet[7] == 255 and payload[1] == 0 and internetChecksum(
                        payload, pseudoHeaderSum(source, destination, 58, len(payload))) == 0:
                    gateway.advertiser.solicited()
                else:
                    gateway.icmp.counters["badRouterSolicitation"] += 1
                return
            if (kind == TYPE_ECHO_REQUEST and destination[0] != 0xFF
                    and destination not in gateway.localAddresses):
                if internetChecksum(payload, pseudoHeaderSum(
                        source, destination, 58, len(payload))) != 0:
                    gateway.icmp.counters["badChecksum"] += 1
                    return
                gateway.nat.icmp.echoRequest(source, destination, payload)
                return
        gateway.icmp.packetReceived(source, destination, payload, packet)


class Gateway6:
    """
    The gateway's IPv6 addresses and services.

    @ivar prefix: the virtual /64, 16 bytes.
    @ivar address: C{PREFIX::2}.
    @ivar dnsAddress: C{PREFIX::3}.
    @ivar linkLocal: the gateway's link-local address (from its MAC).
    @ivar localAddresses: the three.
    @ivar nd: the L{NDLayer}; C{ip} the L{IPv6Layer}; C{icmp} the
        L{ICMPv6Layer}; C{udp} the L{UDPLayer} over IPv6 (its fallback
        C{udpServices} answers DNS and feeds the NAT); C{tcp} the
        L{TCPLayer} over IPv6 (the NAT is its forwarder; forwards to
        IPv6 guests connect through it; DNS over TCP listens on C{::3}).
    @ivar nat: the L{NAT6}.
    @ivar advertiser: the L{RouterAdvertiser}.
    @ivar dns: the DNS proxy answering on C{::3}, or C{None}.
    """

    def __init__(self, reactor: Any, interface: Any, prefix: str = DEFAULT_PREFIX6,
                 mtu: int = 1500, dns: Any = None, allowHostLoopback: bool = False,
                 maxTCP: int = 1024, maxUDPFlows: int = 1024,
                 icmpSocketFactory: Any = None, raInterval: Tuple[float, float] = (20.0, 60.0),
                 tcpConfig: Any = None) -> None:
        """
        @param reactor: the reactor.
        @param interface: the gateway's L{NetworkInterface}.
        @param prefix: the virtual /64 (see L{parsePrefix6}).
        @param mtu: the link MTU (at least 1280).
        @param dns: the L{DNSProxy} to answer on C{::3}, or C{None}.
        @param allowHostLoopback: C{::2} reaches the host's C{::1}.
        @param maxTCP: the NAT's bound on TCP relays.
        @param maxUDPFlows: the NAT's bound on UDP flows.
        @param icmpSocketFactory: see L{NAT}.
        @param raInterval: the least and most seconds between
            unsolicited RAs.
        @param tcpConfig: the TCP layer's
            L{vdetwist.stack.tcp.config.TCPConfig} (its MSS is lowered to
            the MTU less 60), or C{None} for the defaults.
        @raise ValueError: a bad prefix or MTU.
        """
        self.reactor = reactor
        self.prefix = parsePrefix6(prefix)
        base = int.from_bytes(self.prefix, "big")
        self.address = (base + 2).to_bytes(16, "big")
        self.dnsAddress = (base + 3).to_bytes(16, "big")
        self.nd = nd = NDLayer(reactor, interface, mtu=mtu, dadTransmits=0, acceptRA=False,
                               solicitRouters=False)
        nd.isRouter = True
        nd.addAddress(self.address, 64)
        nd.proxyAddresses.add(self.dnsAddress)
        nd.groups.update({ALL_ROUTERS, solicitedNode(self.dnsAddress)})
        self.linkLocal: bytes = nd.linkLocal  # type: ignore[assignment]
        self.localAddresses = {self.address, self.dnsAddress, self.linkLocal}
        self.ip = IPv6Layer(reactor, nd, router=True)
        self.icmp = ICMPv6Layer(reactor, self.ip, nd)
        self.ip.registerProtocol(58, _ICMPv6Intercept(self))
        self.udp = UDPLayer(reactor, self.ip, self.icmp.sendUnreachable, ipv6=True)
        self.ip.registerProtocol(17, self.udp)
        self.icmp.registerErrorHandler(17, self.udp.errorReceived)
        self.udpServices = _UDP6Services(self)
        self.udp.setFallback(self.udpServices.datagramReceived)
        self.tcp = TCPLayer(reactor, self.ip, tcpConfig, ipv6=True)
        self.ip.registerProtocol(6, self.tcp)
        self.icmp.registerErrorHandler(6, self.tcp.errorReceived)
        self.dns = dns
        self.nat = NAT6(reactor, self.udp, self.address, self.dnsAddress, 64,
                        allowHostLoopback=allowHostLoopback, maxTCP=maxTCP,
                        maxUDPFlows=maxUDPFlows, icmpSocketFactory=icmpSocketFactory,
                        unreachable=self._tcpUnreachable, icmpToGuest=self._icmpToGuest)
        self.tcp.setForwarder(self.nat.forwardTCP)
        if dns is not None:
            self.tcp.listen(53, DNSStreamFactory(dns, reactor), interface=self.dnsAddress)
        self.advertiser = RouterAdvertiser(
            reactor, self._sendRA, interface.mac, self.linkLocal, self.prefix, mtu=mtu,
            dnsServers=[self.dnsAddress] if dns is not None else [],
            minInterval=raInterval[0], maxInterval=raInterval[1])
        interface.addConnectObserver(self.advertiser.start)

    def _sendRA(self, destination: bytes, message: bytes) -> None:
        """
        Send a router advertisement from the link-local address, hop
        limit 255.

        @param destination: a multicast group.
        @param message: the ICMPv6 message.
        """
        packet = HEADER.pack(0x60000000, len(message), 58, 255, self.linkLocal,
                             destination) + message
        self.nd.interface.sendFrame(multicastMAC(destination), ETHERTYPE_IPV6, packet)

    def _icmpToGuest(self, source: bytes, guest: bytes, message: bytes) -> None:
        """
        Send an ICMPv6 message from outside to a guest.

        @param source: the outside address.
        @param guest: the guest.
        @param message: the message, checksum filled in.
        """
        self.ip.sendPacket(58, source, guest, message)

    def _tcpUnreachable(self, destination: bytes, destinationPort: int, guest: bytes,
                        guestPort: int) -> None:
        """
        The host could not reach a guest's TCP destination (no answer, no
        route): answer its pending SYN with an ICMPv6 "address
        unreachable" quoting it (its sequence number lets the guest's
        stack match it), before the TCP layer's RST.

        @param destination: where the guest connects.
        @param destinationPort: the port.
        @param guest: the guest.
        @param guestPort: its port.
        """
        segment = self.tcp._pendingForwards.get((destination, destinationPort, guest, guestPort))
        if segment is None:
            return
        head = struct.pack("!HHI", guestPort, destinationPort, segment.seq)
        quoted = HEADER.pack(0x60000000, len(head), 6, 64, guest, destination) + head
        self.icmp.sendUnreachable(CODE_ADDRESS_UNREACHABLE, quoted)

    def describe(self) -> str:
        """
        One line for the startup text.

        @return: C{PREFIX/64 gateway ::2 dns ::3}.
        """
        return (f"{formatIPv6(self.prefix)}/64 gateway {formatIPv6(self.address)} "
                f"dns {formatIPv6(self.dnsAddress)}")

    def stop(self) -> None:
        """
        Stop advertising, close the NAT's flows, cancel the timers.
        """
        self.advertiser.stop()
        self.nat.stop()
        self.tcp.stop()
        self.ip.stop()
        self.nd.stop()

