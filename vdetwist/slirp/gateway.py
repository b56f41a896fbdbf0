# -*- test-case-name: tests.slirp.test_gateway -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The slirp gateway: one virtual host on the LAN (address .2, MAC
C{52:55:<address>} as slirpvde) in router mode, answering ARP for .2 and
the DNS address .3, with the DHCP server, the DNS proxy, the outbound NAT
and the inbound forwards composed on it.

Unlike slirpvde, which keeps a single guest MAC and sends every frame to
it (docs/vde-protocol.md section 7.3), the gateway keeps a real neighbour
table (the stack's ARP cache), so every guest gets its own frames.

    gateway = Gateway(reactor, network="192.168.77.0/24")
    gateway.addForward("tcp", parseForwardSpec("30000:192.168.77.100:10000"))
    gateway.attach("/tmp/vde")          # Deferred
"""

import getpass
import os
import struct
from collections import Counter
from typing import Any, Dict, List, Optional, Tuple, Union

from twisted.internet import defer
from twisted.logger import Logger
from zope.interface import implementer

from vdetwist.interfaces import IFrameProtocol, IFrameTransport, IIPv4Protocol
from vdetwist.slirp.dhcp import DHCPProtocol, DHCPServer
from vdetwist.slirp.dns import DNSProxy, DNSStreamFactory, makeHostResolver
from vdetwist.slirp.forward import ForwardSpec, TCPForward, UDPForward, formatEndpoint
from vdetwist.slirp.gateway6 import DEFAULT_PREFIX6, Gateway6
from vdetwist.slirp.nat import NAT
from vdetwist.stack.host import VirtualHost
from vdetwist.stack.tcp.config import TCPConfig
from vdetwist.vde.attach import SwitchAttachment, attachPersistently
from vdetwist.wire.addr import formatIPv4, networkAddress, parseIPv4, sameNetwork
from vdetwist.wire.addr6 import formatIPv6, samePrefix
from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.icmp import ICMPRepr
from vdetwist.wire.ipv4 import PROTOCOL_ICMP, PROTOCOL_TCP, IPv4Repr

__all__ = ["Gateway", "parseNetwork", "slirpMAC", "DEFAULT_NETWORK", "GUEST_SEND_BUFFER"]

_log = Logger()

#: slirpvde's default network.
DEFAULT_NETWORK = "10.0.2.0/24"

#: The send buffer of the gateway's TCP connections to guests (forwarded
#: connections and the NAT's), in bytes.  A relay reads its host socket
#: while the guest connection buffers at most this much, pauses above it,
#: and resumes at half of it (the stack's low-water mark); so it bounds a
#: relay's memory towards a slow guest, and also the data in flight to the
#: guest (at most this plus one host read of 64 KiB).  That bound is what
#: decides the throughput through Debian's vde_switch: beyond about 100 KiB
#: in flight frames are lost between the switch and the guest, and the
#: congestion window shrinks.  Measured host->guest through a forward
#: (docs/performance.txt, Slirp, 2026-12-04), 64 KiB lost no frame and
#: carried the most (0.36-0.58 Gbit/s median per run); the stack's
#: default of 256 KiB lost 1-4 frames in 1000 and carried 0.29-0.47; 1 MiB,
#: which keeps the sender supplied with host data, lost more still and
#: carried 0.28-0.43 (it did better than 256 KiB only on a machine loaded
#: 4-6 times over).  Since the window grows only while it limits the
#: sender (RFC 7661), 128 KiB without pacing (L{GUEST_PACING}) carried the
#: most (2026-12-05: 0.97 of libslirp, against 0.74-0.79 for 64 or 128 KiB
#: paced and 0.85 for 256 KiB unpaced: docs/performance.txt).
GUEST_SEND_BUFFER = 128 * 1024
#: Whether the guests' TCP paces its sending.  Not on a forward: the relay
#: writes a host read (up to 64 KiB) at a time, ACK-clocked bursts let the
#: guest's kernel acknowledge several segments at once (fewer ACKs for the
#: gateway to process: 1.1 cores per Gbit/s unpaced against 1.4 paced on
#: CPython), and the bounded buffer, not pacing, keeps the switch's queue
#: to the guest from overflowing.
GUEST_PACING = False


def slirpMAC(address: bytes) -> bytes:
    """
    The MAC slirp gives an emulated host: C{52:55} then its IPv4 address.

    @param address: 4 bytes.
    @return: 6 bytes.
    """
    return b"\x52\x55" + address


def parseNetwork(text: str) -> Tuple[bytes, int]:
    """
    Parse slirpvde's C{-n/--network ADDR[/bits]}: a missing prefix means
    /24, and a host part of 0 means the host .2.

    @param text: for instance C{"192.168.77.0"} or C{"10.0.3.2/24"}.
    @return: (gateway address, prefix length).
    @raise ValueError: with a clear message.
    """
    address, slash, bits = text.partition("/")
    gateway = parseIPv4(address)
    prefix = 24
    if slash:
        if not bits.isdigit() or not 1 <= int(bits) <= 30:
            raise ValueError(f"bad network prefix length in {text!r} (1 to 30)")
        prefix = int(bits)
    if networkAddress(gateway, prefix) == gateway:
        gateway = (int.from_bytes(gateway, "big") + 2).to_bytes(4, "big")
    return gateway, prefix


@implementer(IFrameProtocol)
class _Attachment:
    """
    Passes frames between the switch attachment and the gateway's
    interface, and tells the gateway when the switch goes away.
    """

    def __init__(self, gateway: "Gateway") -> None:
        """
        @param gateway: the gateway.
        """
        self.gateway = gateway
        self.transport: Optional[IFrameTransport] = None

    def makeConnection(self, transport: IFrameTransport) -> None:
        """
        Attached.

        @param transport: the switch side.
        """
        self.transport = transport
        self.gateway.host.interface.makeConnection(transport)

    def frameReceived(self, frame: bytes) -> None:
        """
        A frame from the switch.

        @param frame: the frame.
        """
        self.gateway.host.interface.frameReceived(frame)

    def cork(self) -> None:
        """
        Hold the frames the gateway sends until L{uncork}: the plug corks
        around each batch it delivers (L{NetworkInterface.cork}).
        """
        self.gateway.host.interface.cork()

    def uncork(self) -> None:
        """
        Send what L{cork} held.
        """
        self.gateway.host.interface.uncork()

    def connectionLost(self, reason: object) -> None:
        """
        The switch closed the port for good (not a restart: the
        L{SwitchAttachment} reattaches then, unseen here).

        @param reason: why.
        """
        self.transport = None
        self.gateway.host.interface.connectionLost(reason)
        self.gateway._detached(reason)


@implementer(IIPv4Protocol)
class _GatewayICMP:
    """
    ICMP on the gateway: echo requests to outside addresses go through the
    NAT's ICMP sockets; everything else is the stack's ICMP layer's.
    """

    def __init__(self, gateway: "Gateway") -> None:
        """
        @param gateway: the gateway.
        """
        self.gateway = gateway

    def packetReceived(self, source: bytes, destination: bytes, payload: bytes,
                       datagram: bytes) -> None:
        """
        One ICMP message.

        @param source: the sender.
        @param destination: where it goes.
        @param payload: the message.
        @param datagram: the whole datagram.
        """
        gateway = self.gateway
        if (len(payload) >= 8 and payload[0] == 8 and destination not in gateway.localAddresses
                and not gateway.host.ip.isBroadcast(destination)):
            if internetChecksum(payload) != 0:
                gateway.host.icmp.counters["badChecksum"] += 1
                return
            gateway.nat.icmp.echoRequest(source, destination, payload)
            return
        gateway.host.icmp.packetReceived(source, destination, payload, datagram)


class Gateway:
    """
    slirp's virtual host and services.

    @ivar reactor: the reactor.
    @ivar address: the gateway address, 4 bytes.
    @ivar prefixLength: the network's prefix length.
    @ivar dnsAddress: the DNS address, 4 bytes.
    @ivar host: the L{VirtualHost}.
    @ivar tcp: its L{TCPLayer}.
    @ivar nat: the L{NAT}.
    @ivar dhcp: the L{DHCPServer}, or C{None} when DHCP is off.
    @ivar dns: the L{DNSProxy}, or C{None} when DNS is off.
    @ivar ipv6: the L{Gateway6} (C{::2}, C{::3}, RAs, the IPv6 NAT), or
        C{None} when IPv6 is off.
    @ivar forwards: the forwards by (protocol, host address, host port).
    @ivar localAddresses: the gateway's own addresses (.2 and .3).
    @ivar attachment: the switch attachment while attached.
    @ivar switchAttachment: the L{SwitchAttachment} under it: it reattaches
        when the switch restarts (its C{counters()} include the frames
        dropped meanwhile).
    @ivar switch: the switch as given to L{attach}.
    """

    def __init__(self, reactor: Any, network: str = DEFAULT_NETWORK,
                 dnsAddress: Optional[str] = None, dhcp: bool = False,
                 dhcpStart: Optional[str] = None, dns: bool = True,
                 resolver: Any = None, allowHostLoopback: bool = False,
                 preserveSource: bool = False, mtu: int = 1500,
                 maxTCP: int = 1024, maxUDPFlows: int = 1024,
                 icmpSocketFactory: Any = None, ipv6: bool = True,
                 prefix6: str = DEFAULT_PREFIX6,
                 raInterval: Tuple[float, float] = (20.0, 60.0),
                 sendBuffer: int = GUEST_SEND_BUFFER) -> None:
        """
        @param reactor: the reactor.
        @param network: C{ADDR[/bits]} (see L{parseNetwork}).
        @param dnsAddress: the DNS address, network + 3 by default.
        @param dhcp: run the DHCP server.
        @param dhcpStart: the pool's first address, network + 15 by
            default.
        @param dns: run the DNS proxy.
        @param resolver: the DNS proxy's resolver (the host's by default).
        @param allowHostLoopback: the gateway address reaches the host's
            loopback.
        @param preserveSource: inbound forwards connect from the host
            client's address.
        @param mtu: the link MTU.
        @param maxTCP: the NAT's bound on TCP relays.
        @param maxUDPFlows: the NAT's bound on UDP flows.
        @param icmpSocketFactory: see L{NAT}.
        @param ipv6: run IPv6 beside IPv4 (L{Gateway6}); off when the MTU
            is below IPv6's 1280.
        @param prefix6: the virtual IPv6 /64.
        @param raInterval: the least and most seconds between unsolicited
            router advertisements.
        @param sendBuffer: the send buffer of TCP connections to guests
            (see L{GUEST_SEND_BUFFER}).
        @raise ValueError: bad addresses.
        """
        self.reactor = reactor
        self.address, self.prefixLength = parseNetwork(network)
        base = int.from_bytes(networkAddress(self.address, self.prefixLength), "big")
        self.dnsAddress = (parseIPv4(dnsAddress) if dnsAddress
                           else (base + 3).to_bytes(4, "big"))
        self.preserveSource = preserveSource
        self.localAddresses = {self.address, self.dnsAddress}
        # The MSS as the TCP layer's default (the IPv6 layer lowers it).
        # The send buffer bounds what a relay holds for a guest, in flight
        # or not (a guest's window must not make the gateway hold more).
        tcpConfig = TCPConfig(mss=max(536, mtu - 40), sendBufferSize=sendBuffer,
                              sendFlightAllowance=0, pacing=GUEST_PACING)
        self.host = VirtualHost(
            reactor, address=f"{formatIPv4(self.address)}/{self.prefixLength}",
            mac=slirpMAC(self.address), mtu=mtu, router=True,
            proxyAddresses=[self.dnsAddress], resolutionFailed=self._neighbourUnreachable,
            tcpConfig=tcpConfig)
        self.tcp = self.host.tcp
        self.nat = NAT(reactor, self.host.udp, self.address, self.dnsAddress,
                       self.prefixLength, allowHostLoopback=allowHostLoopback,
                       maxTCP=maxTCP, maxUDPFlows=maxUDPFlows,
                       icmpSocketFactory=icmpSocketFactory,
                       unreachable=self._tcpUnreachable, icmpToGuest=self._icmpToGuest)
        self.tcp.setForwarder(self.nat.forwardTCP)
        self.host.udp.setFallback(self.nat.datagramReceived)
        self.host.registerProtocol(PROTOCOL_ICMP, _GatewayICMP(self))
        self.dhcp: Optional[DHCPServer] = None
        self.dhcpStart: Optional[bytes] = None
        if dhcp:
            self.dhcpStart = parseIPv4(dhcpStart) if dhcpStart else (base + 15).to_bytes(4, "big")
            self.dhcp = DHCPServer(self.address, self.prefixLength, self.dnsAddress,
                                   self.dhcpStart)
            self.host.udp.listenUDP(67, DHCPProtocol(
                reactor, self.dhcp, self.host.interface.sendFrame, self._leaseBound))
        self.dns: Optional[DNSProxy] = None
        if dns:
            if resolver is None:
                resolver = makeHostResolver(reactor)
            self.dns = DNSProxy(resolver)
            self.host.udp.listenUDP(53, self.dns, interface=self.dnsAddress)
            self.tcp.listen(53, DNSStreamFactory(self.dns, reactor), interface=self.dnsAddress)
        self.ipv6: Optional[Gateway6] = None
        if ipv6 and mtu >= 1280:
            self.ipv6 = Gateway6(reactor, self.host.interface, prefix6, mtu=mtu, dns=self.dns,
                                 allowHostLoopback=allowHostLoopback, maxTCP=maxTCP,
                                 maxUDPFlows=maxUDPFlows, icmpSocketFactory=icmpSocketFactory,
                                 raInterval=raInterval, tcpConfig=tcpConfig)
            self.ipv6.nd.resolutionFailed = self._neighbourUnreachable
        elif ipv6:
            _log.info("slirp: IPv6 is off: the MTU {mtu} is below IPv6's 1280", mtu=mtu)
        self.forwards: Dict[Tuple[str, str, int], Union[TCPForward, UDPForward]] = {}
        self.attachment: Optional[_Attachment] = None
        self.switchAttachment: Optional[SwitchAttachment] = None
        self.switch: Optional[str] = None
        self.counters: Counter[str] = Counter()
        self._detachObservers: List[Any] = []

    # -- the switch ------------------------------------------------------------

    def attach(self, sock: str, description: Optional[str] = None) -> "defer.Deferred[Any]":
        """
        Join the switch at C{sock} (a directory or C{vde://} URL): in
        process when this process serves it, else through the VDE control
        protocol; and join it again, announcing the gateway's addresses,
        whenever it restarts (L{attachPersistently}).  The detach observers
        are told only when the port is closed for good (the operator's
        C{port/epclose}, or L{stop}).

        @param sock: the switch.
        @param description: what port/print shows; slirpvde's style by
            default (C{vdetwist-slirp: user=U pid=P}).
        @return: a Deferred firing with the switch-side transport (the
            L{SwitchAttachment}).
        """
        self.switch = sock
        attachment = _Attachment(self)
        inProcess = description
        if inProcess is None:
            try:
                user = getpass.getuser()
            except Exception:
                user = str(os.getuid())
            inProcess = f"vdetwist-slirp: user={user} pid={os.getpid()}"
        # The plug adds " user=... pid=...", as vdeplug does.
        d = attachPersistently(self.reactor, sock, attachment,
                               description=description or "vdetwist-slirp:",
                               inProcessDescription=inProcess)

        def attached(transport: SwitchAttachment) -> SwitchAttachment:
            self.attachment = attachment
            self.switchAttachment = transport
            transport.addReattachObserver(self.host.arp.announce)
            return transport
        return d.addCallback(attached)

    def addDetachObserver(self, observer: Any) -> None:
        """
        Call C{observer(reason)} when the switch closes our port for good
        (not when the switch restarts: the gateway reattaches then).

        @param observer: a callable.
        """
        self._detachObservers.append(observer)

    def _detached(self, reason: object) -> None:
        """
        The port was closed for good (the operator's C{port/epclose}, or
        L{stop}); a switch that restarts is reattached instead.

        @param reason: why.
        """
        self.attachment = None
        for observer in list(self._detachObservers):
            observer(reason)

    # -- neighbours --------------------------------------------------------------

    def _leaseBound(self, address: bytes, mac: bytes) -> None:
        """
        DHCP acknowledged a lease: learn the neighbour.

        @param address: the leased address.
        @param mac: the client's MAC.
        """
        self.host.arp.cache.update(address, mac, self.reactor.seconds())

    def _neighbourUnreachable(self, address: bytes, packets: List[bytes]) -> None:
        """
        ARP (or, for an IPv6 guest, ND) gave up on C{address}: fail the forwarded connections waiting
        for that guest's handshake at once (a prompt close for the host
        client, not a hang).

        @param address: the unresolved address.
        @param packets: the dropped packets.
        """
        self.counters["neighbourUnreachable"] += 1
        for forward in list(self.forwards.values()):
            if isinstance(forward, TCPForward) and forward.spec.guestAddress == address:
                forward.guestUnreachable()

    def neighbours(self) -> List[Tuple[bytes, bytes, float]]:
        """
        The neighbour table.

        @return: (address, MAC, expiry) triples.
        """
        return self.host.arp.cache.entries(self.reactor.seconds())

    def _tcpUnreachable(self, destination: bytes, destinationPort: int, guest: bytes,
                        guestPort: int) -> None:
        """
        Answer a guest's pending SYN with an ICMP host unreachable (type 3
        code 1) from the gateway, quoting the SYN (its sequence number
        lets the guest's stack match it).

        @param destination: where the guest connects.
        @param destinationPort: the port.
        @param guest: the guest.
        @param guestPort: its port.
        """
        # The TCP layer keeps the SYN while the forwarder decides.
        pending = getattr(self.tcp, "_pendingForwards", {})
        segment = pending.get((destination, destinationPort, guest, guestPort))
        if segment is None:
            return
        tcpHead = struct.pack("!HHI", guestPort, destinationPort, segment.seq)
        quoted = IPv4Repr(source=guest, destination=destination, protocol=PROTOCOL_TCP,
                          payloadLength=20).emit(tcpHead)
        message = ICMPRepr(3, 1, 0, quoted).emit()
        self.host.ip.sendPacket(PROTOCOL_ICMP, self.address, guest, message)

    def _icmpToGuest(self, source: bytes, guest: bytes, message: bytes) -> None:
        """
        Send an ICMP message from outside to a guest.

        @param source: the outside address.
        @param guest: the guest.
        @param message: the ICMP message.
        """
        self.host.ip.sendPacket(PROTOCOL_ICMP, source, guest, message)

    # -- forwards ------------------------------------------------------------------

    def addForward(self, protocol: str, spec: ForwardSpec,
                   listen: bool = True) -> Union[TCPForward, UDPForward]:
        """
        Add an inbound forward (and listen on the host).

        @param protocol: C{"tcp"} or C{"udp"}.
        @param spec: the forward.
        @param listen: start listening now.
        @return: the forward.
        @raise ValueError: the guest address is not on the virtual
            network, or a forward already uses the host port.
        @raise CannotListenError: the host port is taken.
        """
        if len(spec.guestAddress) == 16:
            tcp, udp, source = self._forwardLayers6(protocol, spec)
        else:
            if not sameNetwork(spec.guestAddress, self.address, self.prefixLength):
                raise ValueError(f"guest address {formatIPv4(spec.guestAddress)} is not on "
                                 f"the virtual network")
            if spec.guestAddress in self.localAddresses:
                raise ValueError("a forward cannot point at the gateway itself")
            tcp, udp, source = self.tcp, self.host.udp, self.address
        key = (protocol, spec.hostAddress, spec.hostPort)
        if spec.hostPort and key in self.forwards:
            raise ValueError(f"{protocol} host port {spec.hostPort} is already forwarded")
        forward: Union[TCPForward, UDPForward]
        if protocol == "tcp":
            forward = TCPForward(self.reactor, tcp, source, spec,
                                 preserveSource=self.preserveSource)
        elif protocol == "udp":
            forward = UDPForward(self.reactor, udp, source, spec)
        else:
            raise ValueError(f"unknown protocol {protocol!r}")
        if listen:
            forward.startListening()
        key = (protocol, spec.hostAddress, forward.hostPort)
        self.forwards[key] = forward
        return forward

    def _forwardLayers6(self, protocol: str, spec: ForwardSpec) -> Tuple[Any, Any, bytes]:
        """
        The layers a forward to an IPv6 guest goes through.

        @param protocol: C{"tcp"} or C{"udp"}.
        @param spec: the forward (a 16-byte guest address).
        @return: (TCP layer, UDP layer, source address): the gateway's
            IPv6 ones.
        @raise ValueError: IPv6 is off, or the guest is not in the prefix
            or is the gateway.
        """
        ipv6 = self.ipv6
        if ipv6 is None:
            raise ValueError(f"forward {spec}: IPv6 is off")
        if not samePrefix(spec.guestAddress, ipv6.prefix, 64):
            raise ValueError(f"guest address {formatIPv6(spec.guestAddress)} is not in the "
                             f"IPv6 prefix {formatIPv6(ipv6.prefix)}/64")
        if spec.guestAddress in ipv6.localAddresses:
            raise ValueError("a forward cannot point at the gateway itself")
        return ipv6.tcp, ipv6.udp, ipv6.address

    def removeForward(self, protocol: str, hostPort: int, hostAddress: Optional[str] = None,
                      ) -> Union[TCPForward, UDPForward]:
        """
        Stop a forward accepting new connections; live TCP connections go
        on until they end (UDP flows are closed with the socket).

        @param protocol: C{"tcp"} or C{"udp"}.
        @param hostPort: its host port.
        @param hostAddress: its host address, if several forwards share the
            port.
        @return: the removed forward.
        @raise KeyError: no such forward.
        """
        for key in list(self.forwards):
            if key[0] == protocol and key[2] == hostPort and (
                    hostAddress is None or key[1] == hostAddress):
                forward = self.forwards.pop(key)
                forward.stopListening()
                return forward
        raise KeyError(f"no {protocol} forward on host port {hostPort}")

    # -- running ---------------------------------------------------------------------

    def startForwards(self) -> None:
        """
        Listen for every forward not listening yet.
        """
        for forward in self.forwards.values():
            if forward.listeningPort is None:
                forward.startListening()

    def stop(self) -> None:
        """
        Stop listening, abort the relays, close the flows, stop the stack
        and detach.
        """
        for forward in self.forwards.values():
            forward.stopListening()
            if isinstance(forward, TCPForward):
                forward.abortAll()
        self.nat.stop()
        if self.ipv6 is not None:
            self.ipv6.stop()
        self.tcp.stop()
        if self.dns is not None:
            self.dns.doStop()
        self._detachObservers = []
        self.host.stop()

    def startupText(self, quiet: bool = False) -> str:
        """
        slirpvde's startup text (docs/vde-protocol.md section 7.2).

        @param quiet: return nothing.
        @return: the text.
        """
        if quiet:
            return ""
        lines = [f"Starting slirpvde: virtual_host={formatIPv4(self.address)}/{self.prefixLength}",
                 f"                   DNS         ={formatIPv4(self.dnsAddress)}"]
        if self.dhcpStart is not None:
            lines.append(f"                   dhcp_start  ={formatIPv4(self.dhcpStart)}")
        lines.append(f"                   vde switch  ={self.switch or ''}")
        for (protocol, _, _), forward in self.forwards.items():
            label = "TCP" if protocol == "tcp" else "UDP"
            spec = forward.spec
            prefix = f"{spec.hostAddress}:" if spec.hostAddress else ""
            lines.append(f"                   redir {label}   ={prefix}{forward.hostPort}:"
                         f"{formatEndpoint(spec.guestAddress, spec.guestPort)}")
        return "\n".join(lines) + "\n"
