# -*- test-case-name: tests.slirp.test_dhcp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
slirp's DHCP server (RFC 2131): DISCOVER/OFFER, REQUEST/ACK/NAK,
DECLINE, RELEASE and INFORM, over a small pool (slirpvde's: 16 addresses
from .15) with a lease table bounded by the pool size.

L{DHCPServer} is pure: it takes the request's bytes and the time and
returns the reply (a L{DHCPReply}: the message and where to send it).
L{DHCPProtocol} is the glue: a datagram protocol bound to port 67 of the
gateway's virtual host that builds the reply frames itself, because a
client without an address must be answered at its MAC.  As slirpvde
does, replies go to IP 255.255.255.255 at the client's MAC (or at the
Ethernet broadcast when the client set the broadcast flag); NAKs are
broadcast; replies to a client that has an address (renewals, INFORM)
are unicast to it.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from vdetwist.wire.addr import (
    ANY_IPV4,
    BROADCAST_IPV4,
    BROADCAST_MAC,
    formatIPv4,
    formatMAC,
    netmaskFromPrefix,
    sameNetwork,
)
from vdetwist.wire.dhcp import (
    CLIENT_PORT,
    DHCPACK,
    DHCPDECLINE,
    DHCPDISCOVER,
    DHCPINFORM,
    DHCPNAK,
    DHCPOFFER,
    DHCPRELEASE,
    DHCPREQUEST,
    OP_REPLY,
    OP_REQUEST,
    SERVER_PORT,
    DHCPRepr,
)
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.ipv4 import PROTOCOL_UDP, IPv4Repr
from vdetwist.wire.udp import UDPRepr

__all__ = ["Lease", "DHCPReply", "DHCPServer", "DHCPProtocol", "DEFAULT_LEASE_TIME"]

_log = Logger()

#: slirpvde's lease time, one day.
DEFAULT_LEASE_TIME = 86400
#: How long an offered address stays reserved for the client it was
#: offered to.
OFFER_TIMEOUT = 60.0

_ETHERTYPE_IPV4 = 0x0800


@dataclass
class Lease:
    """
    One entry of the lease table.

    @ivar mac: the client's MAC, 6 bytes.
    @ivar address: the leased address, 4 bytes.
    @ivar expires: when the lease (or the offer) ends.
    @ivar bound: whether the client was ACKed (else only offered).
    @ivar hostName: the host name the client sent, if any.
    """

    mac: bytes
    address: bytes
    expires: float
    bound: bool = False
    hostName: Optional[bytes] = None


@dataclass(frozen=True)
class DHCPReply:
    """
    A reply and its destination.

    @ivar message: the DHCP message.
    @ivar destinationMAC: the Ethernet destination.
    @ivar destinationAddress: the IPv4 destination.
    """

    message: DHCPRepr
    destinationMAC: bytes
    destinationAddress: bytes


class DHCPServer:
    """
    The DHCP server's state: the pool and the lease table.  Pure: every
    method takes the time.

    @ivar serverAddress: our address (option 54, router, siaddr).
    @ivar prefixLength: the subnet's prefix length (option 1).
    @ivar dnsAddress: the DNS server offered (option 6), or C{None}.
    @ivar poolStart: the pool's first address.
    @ivar poolSize: the number of addresses in the pool (and the most
        leases held).
    @ivar leaseTime: the lease time in seconds (option 51).
    @ivar counters: C{received}, C{malformed}, C{ignored} (not a client
        request, or plain BOOTP), C{discover}, C{request}, C{decline},
        C{release}, C{inform}, C{offer}, C{ack}, C{nak},
        C{poolExhausted}, C{otherServer} (a REQUEST for another server).
    """

    def __init__(self, serverAddress: bytes, prefixLength: int,
                 dnsAddress: Optional[bytes], poolStart: bytes, poolSize: int = 16,
                 leaseTime: int = DEFAULT_LEASE_TIME,
                 offerTimeout: float = OFFER_TIMEOUT) -> None:
        """
        @param serverAddress: our address, 4 bytes.
        @param prefixLength: the subnet prefix length.
        @param dnsAddress: the DNS address to offer, or C{None}.
        @param poolStart: the pool's first address, 4 bytes.
        @param poolSize: the pool's size.
        @param leaseTime: the lease time in seconds.
        @param offerTimeout: seconds an offered address stays reserved.
        @raise ValueError: the pool leaves the subnet or holds the server.
        """
        self.serverAddress = serverAddress
        self.prefixLength = prefixLength
        self.dnsAddress = dnsAddress
        self.poolStart = poolStart
        self.poolSize = poolSize
        self.leaseTime = leaseTime
        self.offerTimeout = offerTimeout
        self.counters: Counter[str] = Counter()
        start = int.from_bytes(poolStart, "big")
        self._pool = [(start + i).to_bytes(4, "big") for i in range(poolSize)]
        for address in self._pool:
            if not sameNetwork(address, serverAddress, prefixLength):
                raise ValueError(
                    f"DHCP pool address {formatIPv4(address)} is outside the network")
        if serverAddress in self._pool or (dnsAddress is not None and dnsAddress in self._pool):
            raise ValueError("the DHCP pool overlaps the gateway or DNS address")
        self._poolSet = frozenset(self._pool)
        self._byMAC: Dict[bytes, Lease] = {}
        self._byAddress: Dict[bytes, Lease] = {}
        self._declined: Dict[bytes, float] = {}

    # -- the table -------------------------------------------------------------

    def leases(self, now: float) -> List[Lease]:
        """
        The live leases and offers, by address.

        @param now: the current time.
        @return: a new list.
        """
        self._expire(now)
        return sorted(self._byMAC.values(), key=lambda lease: lease.address)

    def _expire(self, now: float) -> None:
        """
        Forget expired leases and declines.

        @param now: the current time.
        """
        for lease in [lease for lease in self._byMAC.values() if lease.expires <= now]:
            self._forget(lease)
        for address in [a for a, until in self._declined.items() if until <= now]:
            del self._declined[address]

    def _forget(self, lease: Lease) -> None:
        """
        Remove a lease.

        @param lease: the lease.
        """
        if self._byMAC.get(lease.mac) is lease:
            del self._byMAC[lease.mac]
        if self._byAddress.get(lease.address) is lease:
            del self._byAddress[lease.address]

    def _isFree(self, address: bytes) -> bool:
        """
        Whether a pool address can be given to a new client.

        @param address: 4 bytes.
        @return: the answer.
        """
        return (address in self._poolSet and address not in self._byAddress
                and address not in self._declined)

    def _allocate(self, mac: bytes, requested: Optional[bytes], now: float) -> Optional[bytes]:
        """
        Choose an address for C{mac}: its current one, else the one it asks
        for if free, else the first free one.

        @param mac: the client's MAC.
        @param requested: the address the client asked for, or C{None}.
        @param now: the current time.
        @return: the address, or C{None} when the pool is exhausted.
        """
        self._expire(now)
        lease = self._byMAC.get(mac)
        if lease is not None:
            return lease.address
        if requested is not None and self._isFree(requested):
            return requested
        for address in self._pool:
            if self._isFree(address):
                return address
        return None

    def _hold(self, mac: bytes, address: bytes, expires: float, bound: bool,
              hostName: Optional[bytes]) -> Lease:
        """
        Record (or refresh) C{mac}'s lease of C{address}.

        @param mac: the client's MAC.
        @param address: the address.
        @param expires: when it ends.
        @param bound: whether it is an acknowledged lease.
        @param hostName: the client's host name, if it sent one.
        @return: the lease.
        """
        lease = self._byMAC.get(mac)
        if lease is not None and lease.address != address:
            self._forget(lease)
            lease = None
        if lease is None:
            lease = Lease(mac, address, expires, bound, hostName)
            self._byMAC[mac] = lease
            self._byAddress[address] = lease
        else:
            lease.expires = max(lease.expires, expires) if not bound else expires
            lease.bound = lease.bound or bound
            if hostName is not None:
                lease.hostName = hostName
        return lease

    # -- messages --------------------------------------------------------------

    def handle(self, payload: bytes, now: float) -> Optional[DHCPReply]:
        """
        Handle one message sent to the server port.  Never raises for bad
        input: it is counted and dropped.

        @param payload: the UDP payload.
        @param now: the current time.
        @return: the reply to send, or C{None}.
        """
        counters = self.counters
        counters["received"] += 1
        try:
            request = DHCPRepr.fromBytes(payload)
        except MalformedPacket:
            counters["malformed"] += 1
            return None
        if request.op != OP_REQUEST or request.messageType is None:
            counters["ignored"] += 1
            return None
        kind = request.messageType
        if kind == DHCPDISCOVER:
            counters["discover"] += 1
            return self._discover(request, now)
        if kind == DHCPREQUEST:
            counters["request"] += 1
            return self._request(request, now)
        if kind == DHCPDECLINE:
            counters["decline"] += 1
            self._decline(request, now)
            return None
        if kind == DHCPRELEASE:
            counters["release"] += 1
            self._release(request)
            return None
        if kind == DHCPINFORM:
            counters["inform"] += 1
            return self._inform(request)
        counters["ignored"] += 1
        return None

    def _reply(self, request: DHCPRepr, messageType: int, yourAddress: bytes = ANY_IPV4,
               leaseTime: Optional[int] = None) -> DHCPRepr:
        """
        Build a reply carrying our options (slirpvde's order: 53, 54, 1,
        3, 6, 51).

        @param request: the client's message.
        @param messageType: the reply's type.
        @param yourAddress: yiaddr.
        @param leaseTime: option 51, or C{None}.
        @return: the reply.
        """
        if messageType == DHCPNAK:
            return DHCPRepr(
                op=OP_REPLY, transactionID=request.transactionID,
                clientHardwareAddress=request.clientHardwareAddress,
                messageType=DHCPNAK, broadcast=request.broadcast,
                relayAgentAddress=request.relayAgentAddress,
                serverIdentifier=self.serverAddress)
        return DHCPRepr(
            op=OP_REPLY, transactionID=request.transactionID,
            clientHardwareAddress=request.clientHardwareAddress,
            messageType=messageType, broadcast=request.broadcast,
            clientAddress=request.clientAddress if messageType == DHCPACK else ANY_IPV4,
            yourAddress=yourAddress, serverAddress=self.serverAddress,
            relayAgentAddress=request.relayAgentAddress,
            serverIdentifier=self.serverAddress,
            subnetMask=netmaskFromPrefix(self.prefixLength),
            routers=(self.serverAddress,),
            dnsServers=() if self.dnsAddress is None else (self.dnsAddress,),
            leaseTime=leaseTime)

    def _destination(self, request: DHCPRepr, reply: DHCPRepr) -> DHCPReply:
        """
        Address a reply: unicast to a client that has an address, else to
        255.255.255.255 at the client's MAC (slirpvde's choice), or at the
        Ethernet broadcast when the client asked for broadcasts; NAKs are
        always broadcast.

        @param request: the client's message.
        @param reply: the reply.
        @return: the addressed reply.
        """
        mac = request.clientHardwareAddress
        if reply.messageType == DHCPNAK:
            return DHCPReply(reply, BROADCAST_MAC, BROADCAST_IPV4)
        if request.clientAddress != ANY_IPV4:
            return DHCPReply(reply, mac, request.clientAddress)
        if request.broadcast:
            return DHCPReply(reply, BROADCAST_MAC, BROADCAST_IPV4)
        return DHCPReply(reply, mac, BROADCAST_IPV4)

    def _discover(self, request: DHCPRepr, now: float) -> Optional[DHCPReply]:
        """
        Offer an address.

        @param request: the DISCOVER.
        @param now: the current time.
        @return: the OFFER, or C{None} when the pool is exhausted.
        """
        mac = request.clientHardwareAddress
        address = self._allocate(mac, request.requestedAddress, now)
        if address is None:
            self.counters["poolExhausted"] += 1
            return None
        self._hold(mac, address, now + self.offerTimeout, False, request.hostName)
        self.counters["offer"] += 1
        return self._destination(
            request, self._reply(request, DHCPOFFER, address, self.leaseTime))

    def _request(self, request: DHCPRepr, now: float) -> Optional[DHCPReply]:
        """
        Acknowledge (or refuse) a SELECTING, INIT-REBOOT, RENEWING or
        REBINDING request.

        @param request: the REQUEST.
        @param now: the current time.
        @return: the ACK or NAK, or C{None} when the client chose another
            server or asked for nothing.
        """
        mac = request.clientHardwareAddress
        if request.serverIdentifier is not None and request.serverIdentifier != self.serverAddress:
            # The client took another server's offer: release ours.
            self.counters["otherServer"] += 1
            lease = self._byMAC.get(mac)
            if lease is not None and not lease.bound:
                self._forget(lease)
            return None
        wanted = request.requestedAddress
        if wanted is None and request.clientAddress != ANY_IPV4:
            wanted = request.clientAddress
        if wanted is None:
            self.counters["ignored"] += 1
            return None
        self._expire(now)
        lease = self._byMAC.get(mac)
        if (lease is not None and lease.address == wanted) or (
                lease is None and self._isFree(wanted)):
            self._hold(mac, wanted, now + self.leaseTime, True, request.hostName)
            self.counters["ack"] += 1
            return self._destination(
                request, self._reply(request, DHCPACK, wanted, self.leaseTime))
        if request.serverIdentifier is None and not sameNetwork(
                wanted, self.serverAddress, self.prefixLength) and request.clientAddress != ANY_IPV4:
            # RENEWING/REBINDING an address we know nothing of: stay silent.
            self.counters["ignored"] += 1
            return None
        self.counters["nak"] += 1
        return self._destination(request, self._reply(request, DHCPNAK))

    def _decline(self, request: DHCPRepr, now: float) -> None:
        """
        The client found its address in use: take it out of the pool for
        a lease time.

        @param request: the DECLINE.
        @param now: the current time.
        """
        if request.serverIdentifier not in (None, self.serverAddress):
            return
        lease = self._byMAC.get(request.clientHardwareAddress)
        address = request.requestedAddress
        if lease is not None and address == lease.address:
            self._forget(lease)
            self._declined[address] = now + self.leaseTime

    def _release(self, request: DHCPRepr) -> None:
        """
        The client gives its address back.

        @param request: the RELEASE.
        """
        if request.serverIdentifier not in (None, self.serverAddress):
            return
        lease = self._byMAC.get(request.clientHardwareAddress)
        if lease is not None and lease.address == request.clientAddress:
            self._forget(lease)

    def _inform(self, request: DHCPRepr) -> Optional[DHCPReply]:
        """
        A client with an address asks for the other parameters: ACK
        without an address or lease time, unicast to it.

        @param request: the INFORM.
        @return: the ACK, or C{None} when the client gave no address.
        """
        if request.clientAddress == ANY_IPV4:
            self.counters["ignored"] += 1
            return None
        self.counters["ack"] += 1
        return self._destination(request, self._reply(request, DHCPACK))


def buildUDPFrame(source: bytes, destination: bytes, sourcePort: int,
                  destinationPort: int, payload: bytes, identification: int = 0) -> bytes:
    """
    Build an IPv4 datagram holding one UDP datagram (checksummed).

    @param source: the IPv4 source.
    @param destination: the IPv4 destination.
    @param sourcePort: the UDP source port.
    @param destinationPort: the UDP destination port.
    @param payload: the UDP payload.
    @param identification: the IPv4 identification.
    @return: the IPv4 datagram.
    """
    udp = UDPRepr(sourcePort, destinationPort).emit(payload, source, destination)
    header = IPv4Repr(source=source, destination=destination, protocol=PROTOCOL_UDP,
                      payloadLength=len(udp), ttl=64, identification=identification)
    return header.emit(udp)


class DHCPProtocol(DatagramProtocol):
    """
    The DHCP server on the gateway's UDP port 67.

    @ivar server: the L{DHCPServer}.
    @ivar sendFrame: C{sendFrame(destinationMAC, etherType, payload)}, the
        gateway interface's sender.
    @ivar bound: called with (address, mac) when a lease is acknowledged
        (the gateway primes its neighbour table), or C{None}.
    """

    def __init__(self, reactor: Any, server: DHCPServer,
                 sendFrame: Callable[[bytes, int, bytes], None],
                 bound: Optional[Callable[[bytes, bytes], None]] = None) -> None:
        """
        @param reactor: an C{IReactorTime}.
        @param server: the server state.
        @param sendFrame: the frame sender.
        @param bound: the lease observer, or C{None}.
        """
        self.reactor = reactor
        self.server = server
        self.sendFrame = sendFrame
        self.bound = bound
        self._identification = 0

    def datagramReceived(self, datagram: bytes, addr: Tuple[str, int]) -> None:
        """
        Answer one client message.

        @param datagram: the DHCP message.
        @param addr: the sender (usually C{("0.0.0.0", 68)}).
        """
        reply = self.server.handle(datagram, self.reactor.seconds())
        if reply is None:
            return
        message = reply.message
        if message.messageType == DHCPACK and message.yourAddress != ANY_IPV4 \
                and self.bound is not None:
            self.bound(message.yourAddress, message.clientHardwareAddress)
        self._identification = (self._identification + 1) & 0xFFFF
        frame = buildUDPFrame(self.server.serverAddress, reply.destinationAddress,
                              SERVER_PORT, CLIENT_PORT, message.emit(), self._identification)
        _log.debug("DHCP {kind} {address} to {mac}", kind=message.messageType,
                   address=formatIPv4(message.yourAddress),
                   mac=formatMAC(message.clientHardwareAddress))
        self.sendFrame(reply.destinationMAC, _ETHERTYPE_IPV4, frame)
