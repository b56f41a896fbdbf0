# -*- test-case-name: tests.stack.test_host -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A virtual host: one network interface with its ARP, IPv4, ICMP, UDP and
TCP layers, and beside them Neighbor Discovery, IPv6, ICMPv6 and a UDP
and a TCP layer for IPv6, composed: a dual-stack host.  Attach L{VirtualHost.interface} (an
L{IFrameProtocol}) to a VDE plug or a switch port
(L{vdetwist.vde.attach.attachToSwitch}).

    >>> host = VirtualHost(reactor, "192.168.77.100/24", gateway="192.168.77.1")
    >>> port = host.udp.listenUDP(10000, MyDatagramProtocol())
    >>> host.tcp.listen(8080, site)
    >>> host.icmp.ping(parseIPv4("192.168.77.1")).addCallback(print)

The IPv6 side always has a link-local address from the MAC, takes
addresses by SLAAC from router advertisements (unless C{acceptRA=False})
and static ones (C{ip6=["fd00:77::100/64"]}, usable once duplicate
address detection passes, about a second); C{host.tcp6} and C{host.udp6}
are its TCP and UDP (C{host.tcp6.listen(8080, site)}), or
L{VirtualHost.tcpFor} and L{VirtualHost.udpFor} pick the layer of an
address.
"""

from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Dict, Iterable, List, Optional, Union

from twisted.internet.defer import Deferred, fail, succeed

from vdetwist.interfaces import IIPv4Protocol
from vdetwist.stack.arp import ARPLayer
from vdetwist.stack.icmp import ICMPLayer
from vdetwist.stack.icmpv6 import ICMPv6Layer
from vdetwist.stack.interface import NetworkInterface
from vdetwist.stack.ipv4 import IPv4Layer
from vdetwist.stack.ipv6 import IPv6Layer
from vdetwist.stack.nd import NDLayer
from vdetwist.stack.tcp.demux import TCPLayer
from vdetwist.stack.udp import UDPLayer
from vdetwist.wire.addr import parseInterface, parseIPv4, parseMAC
from vdetwist.wire.addr6 import formatIPv6, parseInterface6, parseIPv6
from vdetwist.wire.icmp import CODE_HOST_UNREACHABLE, TYPE_DESTINATION_UNREACHABLE
from vdetwist.wire.ipv4 import PROTOCOL_ICMP, PROTOCOL_TCP, PROTOCOL_UDP
from vdetwist.wire.pcap import PcapWriter

if TYPE_CHECKING:
    from vdetwist.stack.tcp.machine import TCPConfig


#: The address of an unconfigured host.
_UNCONFIGURED = b"\0\0\0\0"


def _address(value: Union[str, bytes]) -> bytes:
    """
    An IPv4 address given as a dotted quad or as 4 bytes.

    @param value: the address.
    @return: 4 bytes.
    """
    return value if isinstance(value, bytes) else parseIPv4(value)


def _address6(value: Union[str, bytes]) -> bytes:
    """
    An IPv6 address given as text or as 16 bytes.

    @param value: the address.
    @return: 16 bytes.
    """
    return value if isinstance(value, bytes) else parseIPv6(value)


class VirtualHost:
    """
    A user-space dual-stack (IPv4 and IPv6) host on one Ethernet
    interface.

    @ivar interface: the L{NetworkInterface} (an L{IFrameProtocol}).
    @ivar arp: the L{ARPLayer}.
    @ivar ip: the L{IPv4Layer}, the L{IIPv4Sender} upper protocols use.
    @ivar icmp: the L{ICMPLayer}.
    @ivar udp: the L{UDPLayer}; C{host.udp.listenUDP(port, protocol)}.
    @ivar tcp: the L{TCPLayer}; C{host.tcp.listen(port, factory)},
        C{host.tcp.connect(address, port, factory)}.
    @ivar address: our address, 4 bytes (all zeros while unconfigured).
    @ivar prefixLength: the subnet prefix length.
    @ivar gateway: the default gateway, 4 bytes, or C{None}.
    @ivar nd: the L{NDLayer} (IPv6 addresses, neighbors, routers).
    @ivar ip6: the L{IPv6Layer}.
    @ivar icmp6: the L{ICMPv6Layer}.
    @ivar udp6: the L{UDPLayer} of IPv6.
    @ivar tcp6: the L{TCPLayer} of IPv6.
    """

    def __init__(
        self,
        reactor: Any = None,
        address: Optional[str] = "192.168.77.100/24",
        gateway: Union[str, bytes, None] = None,
        mac: Union[str, bytes, None] = None,
        mtu: int = 1500,
        router: bool = False,
        proxyAddresses: Iterable[Union[str, bytes]] = (),
        promiscuous: bool = False,
        tcpConfig: "Optional[TCPConfig]" = None,
        resolutionFailed: Optional[Callable[[bytes, List[bytes]], None]] = None,
        addresses6: Iterable[str] = (),
        gateway6: Union[str, bytes, None] = None,
        acceptRA: bool = True,
        dadTransmits: int = 1,
        ipv6: Optional[bool] = None,
    ) -> None:
        """
        @param reactor: an L{IReactorTime} provider; the global reactor
            when C{None}.
        @param address: our address and prefix, C{"a.b.c.d/n"}; C{None}
            starts the host unconfigured (for a DHCP client: see
            L{configure}).
        @param gateway: the default gateway, or C{None}.
        @param mac: our MAC (text or 6 bytes); random when C{None}.
        @param mtu: the link MTU.
        @param router: NAT mode: accept datagrams for any destination and
            send from any source.
        @param proxyAddresses: further addresses this host answers ARP
            for and receives on wildcard sockets (slirp's gateway and DNS
            addresses).
        @param promiscuous: accept unicast frames for other MACs.
        @param tcpConfig: TCP's tunables; by default the MSS follows the
            MTU.
        @param resolutionFailed: called with (next hop, dropped datagrams)
            when ARP gives up, instead of reporting a host unreachable to
            each datagram's protocol.
        @param addresses6: static IPv6 addresses, C{"ADDR/PREFIX"} each
            (usable once DAD passes).
        @param gateway6: the IPv6 default router (text or 16 bytes), or
            C{None} (routers are then learnt from advertisements).
        @param acceptRA: take routers, prefixes (SLAAC) and the MTU from
            router advertisements.
        @param dadTransmits: duplicate address detection probes per
            address (0: addresses are usable at once).
        @param ipv6: build the IPv6 side; C{False} makes an IPv4-only host
            (L{nd}, L{ip6}, L{icmp6}, L{udp6} and L{tcp6} are then
            C{None}), which sends no IPv6 frame at all.  By default on,
            except in router mode (a NAT builds its IPv6 side itself, then
            passes C{ipv6=True}: it sends no router solicitations and takes
            no advertisements).
        """
        if reactor is None:
            from twisted.internet import reactor as globalReactor
            reactor = globalReactor
        self.reactor = reactor
        if address is None:
            ownAddress, prefixLength = _UNCONFIGURED, 32
        else:
            ownAddress, prefixLength = parseInterface(address)
        proxies = [_address(a) for a in proxyAddresses]
        if isinstance(mac, str):
            mac = parseMAC(mac)
        self.interface = NetworkInterface(mac, promiscuous=promiscuous)
        self.arp = ARPLayer(reactor, self.interface, [], proxies)
        self.ip = IPv4Layer(
            reactor, self.arp, ownAddress, prefixLength,
            None if gateway is None else _address(gateway), mtu=mtu, router=router)
        self.icmp = ICMPLayer(reactor, self.ip)
        self.udp = UDPLayer(reactor, self.ip, self.icmp.sendUnreachable, proxies)
        self.ip.registerProtocol(PROTOCOL_ICMP, self.icmp)
        self.ip.registerProtocol(PROTOCOL_UDP, self.udp)
        self.icmp.registerErrorHandler(PROTOCOL_UDP, self.udp.errorReceived)
        self.tcp = TCPLayer(reactor, self.ip, tcpConfig)
        self.ip.registerProtocol(PROTOCOL_TCP, self.tcp)
        # ICMP unreachables (and ARP failures) fail connects early.
        self.icmp.registerErrorHandler(PROTOCOL_TCP, self.tcp.errorReceived)
        self.arp.resolutionFailed = (
            self._unresolved if resolutionFailed is None else resolutionFailed)
        statics = [parseInterface6(a) for a in addresses6]
        self.pcap: Optional[PcapWriter] = None
        if ipv6 is None:
            ipv6 = not router
        if not ipv6:
            if statics or gateway6 is not None:
                raise ValueError("IPv6 addresses given to an IPv4-only host")
            self.nd: Optional[NDLayer] = None
            self.ip6: Optional[IPv6Layer] = None
            self.icmp6: Optional[ICMPv6Layer] = None
            self.udp6: Optional[UDPLayer] = None
            self.tcp6: Optional[TCPLayer] = None
            return
        mtu6 = max(mtu, 1280)
        self.nd = NDLayer(reactor, self.interface, mtu6, dadTransmits=dadTransmits,
                          acceptRA=acceptRA and not router, solicitRouters=not router)
        self.ip6 = IPv6Layer(reactor, self.nd, router=router)
        self.icmp6 = ICMPv6Layer(reactor, self.ip6)
        self.udp6 = UDPLayer(reactor, self.ip6, self.icmp6.sendUnreachable, ipv6=True)
        self.ip6.registerProtocol(PROTOCOL_UDP, self.udp6)
        self.icmp6.registerErrorHandler(PROTOCOL_UDP, self.udp6.errorReceived)
        self.tcp6 = TCPLayer(reactor, self.ip6, tcpConfig, ipv6=True)
        self.ip6.registerProtocol(PROTOCOL_TCP, self.tcp6)
        self.icmp6.registerErrorHandler(PROTOCOL_TCP, self.tcp6.errorReceived)
        self.nd.resolutionFailed = self._unresolved6
        for address6, prefixLength6 in statics:
            self.ip6.addAddress(address6, prefixLength6)
        if gateway6 is not None:
            self.nd.setDefaultRouter(_address6(gateway6))
        self._statics6 = [address6 for address6, _ in statics]
        self._waiting6: List[Deferred[None]] = []
        self._duplicates6: List[bytes] = []
        self.nd.addressChanged = self._addressChanged6

    def _addressChanged6(self, address: bytes, state: str) -> None:
        """
        One of our IPv6 addresses changed state: fire L{whenReady6}'s
        Deferreds once every static address is usable, fail them when one
        is a duplicate.

        @param address: the address.
        @param state: its new state.
        """
        if address not in self._statics6:
            return
        if state == "duplicate":
            self._duplicates6.append(address)
        if not self._waiting6:
            return
        assert self.nd is not None
        waiting = self._waiting6
        if state == "duplicate":
            self._waiting6 = []
            for d in waiting:
                d.errback(self._duplicateError())
        elif all(a in self.nd.assigned for a in self._statics6):
            self._waiting6 = []
            for d in waiting:
                d.callback(None)

    def _duplicateError(self) -> ValueError:
        """
        @return: the error of a static address that failed DAD.
        """
        return ValueError(
            f"IPv6 address {formatIPv6(self._duplicates6[-1])} is in use on the link")

    def whenReady6(self) -> "Deferred[None]":
        """
        Wait until every static IPv6 address passed duplicate address
        detection (about a second after attaching).

        @return: a Deferred firing with C{None} then (at once when they
            are, or on an IPv4-only host), or failing with C{ValueError}
            when one is a duplicate.
        """
        if self.nd is None or all(a in self.nd.assigned for a in self._statics6):
            return succeed(None)
        if self._duplicates6:
            return fail(self._duplicateError())
        d: Deferred[None] = Deferred()
        self._waiting6.append(d)
        return d

    def _unresolved6(self, address: bytes, packets: List[bytes]) -> None:
        """
        Neighbor Discovery gave up on a next hop: report each dropped
        packet to its protocol as an address unreachable.

        @param address: the next hop.
        @param packets: the packets that were waiting.
        """
        assert self.icmp6 is not None
        for packet in packets:
            self.icmp6.deliverLocalError(1, 3, packet)

    def tcpFor(self, address: bytes) -> TCPLayer:
        """
        The TCP layer of an address's family.

        @param address: 4 or 16 bytes.
        @return: L{tcp} or L{tcp6}.
        @raise ValueError: an IPv6 address on an IPv4-only host.
        """
        if len(address) == 16:
            if self.tcp6 is None:
                raise ValueError("this host has no IPv6")
            return self.tcp6
        return self.tcp

    def udpFor(self, address: bytes) -> UDPLayer:
        """
        The UDP layer of an address's family.

        @param address: 4 or 16 bytes.
        @return: L{udp} or L{udp6}.
        @raise ValueError: an IPv6 address on an IPv4-only host.
        """
        if len(address) == 16:
            if self.udp6 is None:
                raise ValueError("this host has no IPv6")
            return self.udp6
        return self.udp

    @property
    def addresses6(self) -> List[bytes]:
        """
        Our usable IPv6 addresses (DAD passed), sorted (none on an
        IPv4-only host).
        """
        return [] if self.nd is None else sorted(self.nd.assigned)

    def _unresolved(self, address: bytes, datagrams: List[bytes]) -> None:
        """
        ARP gave up on a next hop: report each dropped datagram to its
        protocol as a host unreachable.

        @param address: the next hop.
        @param datagrams: the datagrams that were waiting.
        """
        for datagram in datagrams:
            self.icmp.deliverLocalError(
                TYPE_DESTINATION_UNREACHABLE, CODE_HOST_UNREACHABLE, datagram)

    def startCapture(self, file: BinaryIO) -> PcapWriter:
        """
        Write every frame this host receives or sends to C{file} in pcap
        format, stamped with the reactor's clock.

        @param file: a binary file open for writing.
        @return: the writer (C{host.stopCapture()} ends the capture).
        """
        writer = PcapWriter(file)
        seconds = self.reactor.seconds
        self.interface.capture = lambda frame: writer.writeFrame(frame, seconds())
        self.pcap = writer
        return writer

    def stopCapture(self) -> None:
        """
        Stop capturing (the file is flushed, not closed).
        """
        self.interface.capture = None
        if self.pcap is not None:
            self.pcap.flush()
            self.pcap = None

    @property
    def address(self) -> bytes:
        """
        Our address, 4 bytes; all zeros while unconfigured.
        """
        return self.ip.address

    @property
    def prefixLength(self) -> int:
        """
        The on-link prefix length.
        """
        return self.ip.prefixLength

    @property
    def gateway(self) -> Optional[bytes]:
        """
        The default gateway, 4 bytes, or C{None}.
        """
        return self.ip.gateway

    @property
    def configured(self) -> bool:
        """
        Whether the host has an address.
        """
        return self.ip.configured

    def configure(self, address: Union[str, bytes], prefixLength: int,
                  gateway: Union[str, bytes, None] = None) -> None:
        """
        Set or replace the host's address, prefix and default gateway at
        run time (a DHCP client does), announcing the address with a
        gratuitous ARP when it is new and the host is attached.
        Connections bound to an old address are left to fail.

        @param address: the address (dotted or 4 bytes).
        @param prefixLength: the on-link prefix length.
        @param gateway: the default gateway (dotted or 4 bytes), or
            C{None}.
        @raise ValueError: a bad address or prefix length.
        """
        address = _address(address)
        changed = address != self.ip.address
        self.ip.configure(address, prefixLength,
                          None if gateway is None else _address(gateway))
        if changed and self.interface.transport is not None:
            self.arp.announce()

    def unconfigure(self) -> None:
        """
        Remove the host's address and gateway (a DHCP lease expired or was
        released): it then receives only broadcasts and sends only from
        0.0.0.0 to the limited broadcast.
        """
        self.ip.unconfigure()

    @property
    def mac(self) -> bytes:
        """
        Our MAC address, 6 bytes.
        """
        return self.interface.mac

    def registerProtocol(self, number: int, handler: IIPv4Protocol) -> None:
        """
        Deliver IPv4 datagrams of protocol C{number} to C{handler} (ICMP,
        UDP and TCP are registered already; registering one of them again
        replaces it).

        @param number: the IP protocol number.
        @param handler: the protocol.
        """
        self.ip.registerProtocol(number, handler)

    def counters(self) -> Dict[str, int]:
        """
        Every layer's counters in one dict, keys prefixed with the layer
        (C{"interface.framesReceived"}, C{"ip.reassembly.timedOut"}, ...).

        @return: a new dict.
        """
        result: Dict[str, int] = {}
        layers = [
            ("interface", dict(self.interface.counters)),
            ("arp", dict(self.arp.counters)),
            ("ip", self.ip.allCounters()),
            ("icmp", dict(self.icmp.counters)),
            ("udp", dict(self.udp.counters)),
        ]
        if self.nd is not None and self.ip6 is not None and self.icmp6 is not None \
                and self.udp6 is not None and self.tcp6 is not None:
            layers += [
                ("nd", dict(self.nd.counters)),
                ("ip6", self.ip6.allCounters()),
                ("icmp6", dict(self.icmp6.counters)),
                ("udp6", dict(self.udp6.counters)),
                ("tcp6", self.tcp6.counters),
            ]
        for prefix, counts in layers:
            for key, value in counts.items():
                result[f"{prefix}.{key}"] = value
        for number, handler in self.ip.protocols.items():
            if number in (PROTOCOL_ICMP, PROTOCOL_UDP):
                continue
            extra = getattr(handler, "counters", None)
            if callable(extra):
                extra = extra()
            if isinstance(extra, dict):
                for key, value in extra.items():
                    result[f"proto{number}.{key}"] = value
        return result

    def stop(self) -> None:
        """
        Reset every TCP connection and stop listening, cancel the stack's
        timers (ARP retries, reassembly) and detach from the wire.
        """
        self.tcp.stop()
        self.arp.stop()
        self.ip.stop()
        if self.tcp6 is not None and self.nd is not None and self.ip6 is not None:
            self.tcp6.stop()
            self.nd.stop()
            self.ip6.stop()
        transport = self.interface.transport
        if transport is not None:
            transport.loseConnection()


__all__ = ["VirtualHost"]
