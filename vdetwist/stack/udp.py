# -*- test-case-name: tests.stack.test_udp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
UDP for a user-space host: sockets for Twisted
L{DatagramProtocol<twisted.internet.protocol.DatagramProtocol>}s.

L{UDPLayer.listenUDP} binds a protocol to a port (port 0 picks an
ephemeral one) and returns a L{UDPPort}, which is both the
L{IListeningPort} and the protocol's L{IUDPTransport}, as with Twisted's
own C{reactor.listenUDP}.  Datagrams for closed ports get an ICMP port
unreachable, unless the NAT hook L{UDPLayer.fallback} takes them.

One layer serves one family: C{UDPLayer(reactor, ip6,
icmp6.sendUnreachable, ipv6=True)} is UDP over an IPv6 layer (16-byte
addresses, IPv6 text in C{(host, port)} tuples, C{IPv6Address} from
C{getHost}, datagrams without a checksum refused, a computed zero sent as
C{0xffff}).
"""

import errno
import random
import socket as _socket
import struct
from collections import Counter
from typing import Any, Callable, Dict, Iterable, Optional, Set, Tuple, Union

from twisted.internet import error
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.defer import Deferred, succeed
from twisted.internet.interfaces import IListeningPort, IUDPTransport
from twisted.internet.protocol import AbstractDatagramProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import IIPv4Protocol, IIPv4Sender
from vdetwist.wire.addr import ANY_IPV4, BROADCAST_IPV4, formatIPv4, parseIPv4
from vdetwist.wire.checksum import checksumForUDP, internetChecksum, pseudoHeaderSum
from vdetwist.wire.ipv4 import PROTOCOL_UDP
from vdetwist.wire.udp import HEADER, HEADER_LENGTH
from vdetwist.stack.icmpv6 import quotedUpperLayer

_log = Logger()

#: The largest UDP payload in one IPv4 datagram.
MAX_PAYLOAD = 65535 - 20 - HEADER_LENGTH
#: The largest UDP payload in one IPv6 packet (no jumbograms).
MAX_PAYLOAD6 = 65535 - HEADER_LENGTH
#: The IPv6 wildcard address.
ANY_IPV6 = b"\0" * 16

#: The NAT hook: C{fallback(source, sourcePort, destination,
#: destinationPort, payload, datagram)} for a datagram no socket is bound
#: to; it returns C{True} when it took the datagram (no port unreachable).
Fallback = Callable[[bytes, int, bytes, int, bytes, bytes], bool]

EPHEMERAL_LOW = 49152
EPHEMERAL_HIGH = 65535


def _toAddress(host: Union[str, bytes]) -> bytes:
    """
    Convert a host given as a dotted quad (or C{""}) or as 4 bytes.

    @param host: the host.
    @return: 4 bytes.
    @raise ValueError: not an IPv4 address (names are not resolved).
    """
    if isinstance(host, bytes):
        if len(host) != 4:
            raise ValueError(f"an IPv4 address is 4 bytes: {host!r}")
        return host
    if host == "":
        return ANY_IPV4
    return parseIPv4(host)


def _toAddress6(host: Union[str, bytes]) -> bytes:
    """
    Convert a host given as IPv6 text (or C{""}) or as 16 bytes.

    @param host: the host.
    @return: 16 bytes.
    @raise ValueError: not an IPv6 address (names are not resolved).
    """
    if isinstance(host, bytes):
        if len(host) != 16:
            raise ValueError(f"an IPv6 address is 16 bytes: {host!r}")
        return host
    if host in ("", "::"):
        return ANY_IPV6
    try:
        return _socket.inet_pton(_socket.AF_INET6, host)
    except OSError:
        raise ValueError(f"not an IPv6 address: {host!r}") from None


def _formatIPv6(address: bytes) -> str:
    """
    @param address: 16 bytes.
    @return: the address as RFC 5952 text.
    """
    return _socket.inet_ntop(_socket.AF_INET6, address)


@implementer(IListeningPort, IUDPTransport)
class UDPPort:
    """
    A bound UDP socket on a L{UDPLayer}: the listening port and the
    protocol's transport.

    @ivar layer: the UDP layer.
    @ivar protocol: the datagram protocol.
    @ivar address: the bound address (C{ANY_IPV4} for all).
    @ivar port: the bound port.
    @ivar connected: the (address, port) this socket is connected to, or
        C{None}.
    """

    def __init__(self, layer: "UDPLayer", protocol: AbstractDatagramProtocol,
                 address: bytes, port: int) -> None:
        """
        @param layer: the UDP layer.
        @param protocol: the datagram protocol.
        @param address: the bound address.
        @param port: the bound port.
        """
        self.layer = layer
        self.protocol = protocol
        self.address = address
        self.port = port
        self.connected: Optional[Tuple[bytes, int]] = None
        self.listening = False
        self._broadcastAllowed = False
        self._parse = layer._parse
        self._format = layer._format

    def startListening(self) -> None:
        """
        Bind (already done by L{UDPLayer.listenUDP}) and start the
        protocol.
        """
        self.listening = True
        self.protocol.makeConnection(self)

    def stopListening(self) -> "Deferred[None]":
        """
        Unbind and stop the protocol.

        @return: a Deferred that has already fired.
        """
        if self.listening:
            self.listening = False
            self.layer._unbind(self)
            self.protocol.doStop()  # type: ignore[no-untyped-call]
        return succeed(None)

    loseConnection = stopListening

    def getHost(self) -> Union[IPv4Address, IPv6Address]:
        """
        The bound address.

        @return: an C{IPv4Address("UDP", host, port)} (an C{IPv6Address}
            on IPv6).
        """
        if self.layer.ipv6:
            return IPv6Address("UDP", _formatIPv6(self.address), self.port)
        return IPv4Address("UDP", formatIPv4(self.address), self.port)

    def write(self, packet: bytes, addr: Optional[Tuple[str, int]] = None) -> None:
        """
        Send one datagram.

        @param packet: the payload.
        @param addr: C{(host, port)} with a dotted-quad host (IPv6 text
            on IPv6); omitted on a connected socket.
        @raise MessageLengthError: the payload does not fit an IPv4 datagram.
        @raise ValueError: the address is invalid, or given on a connected
            socket, or missing on an unconnected one.
        @raise OSError: C{EACCES} for a broadcast without
            L{setBroadcastAllowed}.
        """
        if self.connected is not None:
            if addr is not None and (self._parse(addr[0]), addr[1]) != self.connected:
                raise ValueError("this socket is connected; write without an address")
            destination, port = self.connected
        else:
            if addr is None:
                raise ValueError("an address is needed on an unconnected socket")
            destination, port = self._parse(addr[0]), int(addr[1])
        if not 0 < port < 65536:
            raise ValueError(f"bad UDP port {port}")
        if len(packet) > self.layer.maxPayload:
            raise error.MessageLengthError("message too long")
        if (destination == BROADCAST_IPV4 or self.layer._isBroadcast(destination)) \
                and not self._broadcastAllowed:
            raise OSError(errno.EACCES, "broadcast not allowed on this socket")
        source = self.address
        if source == self.layer.anyAddress:
            source = self.layer.ip.sourceFor(destination)
        self.layer.sendDatagram(source, self.port, destination, port, packet)

    def connect(self, host: str, port: int) -> None:
        """
        Connect to a peer: writes go to it and only its datagrams are
        received; an ICMP port unreachable calls the protocol's
        C{connectionRefused}.

        @param host: a dotted-quad address (IPv6 text on IPv6).
        @param port: the peer's port.
        @raise ValueError: the host is not an address of the family.
        @raise RuntimeError: already connected.
        """
        if self.connected is not None:
            raise RuntimeError("already connected; reconnecting is not supported")
        self.connected = (self._parse(host), port)

    def setBroadcastAllowed(self, enabled: bool) -> None:
        """
        Allow or forbid sending to broadcast addresses.

        @param enabled: the new setting.
        """
        self._broadcastAllowed = bool(enabled)

    def getBroadcastAllowed(self) -> bool:
        """
        Whether sending to broadcast addresses is allowed.
        """
        return self._broadcastAllowed

    def _deliver(self, data: bytes, source: bytes, sourcePort: int) -> None:
        """
        Hand a datagram to the protocol, logging (never raising) its errors.

        @param data: the payload.
        @param source: the sender's address.
        @param sourcePort: the sender's port.
        """
        if self.connected is not None and self.connected != (source, sourcePort):
            self.layer.counters["notFromPeer"] += 1
            return
        try:
            self.protocol.datagramReceived(data, (self._format(source), sourcePort))
        except Exception:
            _log.failure("Unhandled error in {protocol}.datagramReceived",
                         Failure(), protocol=self.protocol)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:
        """
        A description for logs.
        """
        return f"<UDPPort {self._format(self.address)}:{self.port}>"


@implementer(IIPv4Protocol)
class UDPLayer:
    """
    UDP (protocol 17) on one IPv4 or IPv6 layer.

    @ivar ip: the IP sender.
    @ivar ipv6: whether it is an IPv6 layer.
    @ivar anyAddress: the family's wildcard address.
    @ivar maxPayload: the largest payload of one datagram.
    @ivar localAddresses: addresses a wildcard-bound socket receives for
        (our address and the broadcasts are always included).
    @ivar fallback: the NAT hook (see L{Fallback}, set by
        L{setFallback}), or C{None}.
    @ivar unreachable: called with (code, datagram) to send an ICMP port
        unreachable, or C{None}.
    @ivar checksumOnSend: compute checksums on send (else send 0).
    @ivar maxSockets: the most bound sockets.
    @ivar counters: C{received}, C{delivered}, C{sent}, C{malformed},
        C{badChecksum}, C{noPort}, C{fallback}, C{notFromPeer},
        C{refused}.
    """

    def __init__(self, reactor: Any, ip: IIPv4Sender,
                 unreachable: Optional[Callable[[int, bytes], None]] = None,
                 localAddresses: Iterable[bytes] = (), maxSockets: int = 4096,
                 ipv6: bool = False) -> None:
        """
        @param reactor: the reactor (kept for symmetry; UDP has no timers).
        @param ip: the IPv4 layer to send through.
        @param unreachable: sends an ICMP destination unreachable (code,
            datagram), typically C{ICMPLayer.sendUnreachable}.
        @param localAddresses: further addresses wildcard sockets receive
            for.
        @param maxSockets: the most bound sockets.
        @param ipv6: C{ip} is an IPv6 layer (16-byte addresses; its
            C{unreachable} is C{ICMPv6Layer.sendUnreachable}, called with
            code 4).
        """
        self.reactor = reactor
        self.ip = ip
        self.ipv6 = ipv6
        self.anyAddress = ANY_IPV6 if ipv6 else ANY_IPV4
        self.maxPayload = MAX_PAYLOAD6 if ipv6 else MAX_PAYLOAD
        self._parse: Callable[[Union[str, bytes]], bytes] = _toAddress6 if ipv6 else _toAddress
        self._format: Callable[[bytes], str] = _formatIPv6 if ipv6 else formatIPv4
        self.unreachable = unreachable
        self.localAddresses: Set[bytes] = set(localAddresses)
        self.fallback: Optional[Fallback] = None
        self.checksumOnSend = True
        self.maxSockets = maxSockets
        self.counters: Counter[str] = Counter()
        self._sockets: Dict[Tuple[bytes, int], UDPPort] = {}
        self._ports: Counter[int] = Counter()
        self._nextEphemeral = random.randint(EPHEMERAL_LOW, EPHEMERAL_HIGH)

    def setFallback(self, fallback: Optional[Fallback]) -> None:
        """
        Offer the datagrams no socket takes to C{fallback} (the NAT) before
        answering them with a port unreachable.

        @param fallback: see L{Fallback}; L{None} removes it.
        """
        self.fallback = fallback

    def _isBroadcast(self, address: bytes) -> bool:
        """
        Whether C{address} is a broadcast for the IPv4 layer.

        @param address: 4 bytes.
        @return: the answer.
        """
        if self.ipv6:
            return False
        isBroadcast = getattr(self.ip, "isBroadcast", None)
        if isBroadcast is not None:
            return bool(isBroadcast(address))
        return address == BROADCAST_IPV4

    def _isLocal(self, address: bytes) -> bool:
        """
        Whether a wildcard socket receives datagrams for C{address}.

        @param address: 4 bytes.
        @return: the answer.
        """
        if self.ipv6:
            nd = self.ip.nd
            return (address in self.localAddresses or address in nd.assigned
                    or address in nd.groups)
        return (address in self.localAddresses
                or address == getattr(self.ip, "address", None)
                or self._isBroadcast(address))

    def _portInUse(self, port: int) -> bool:
        """
        Whether any socket is bound to C{port}.

        @param port: a port.
        @return: the answer.
        """
        return self._ports[port] > 0

    def listenUDP(self, port: int, protocol: AbstractDatagramProtocol,
                  interface: Union[str, bytes] = ANY_IPV4,
                  maxPacketSize: int = 8192) -> UDPPort:
        """
        Bind C{protocol} to C{port}, as C{reactor.listenUDP} does.

        @param port: the port, or 0 for an ephemeral one.
        @param protocol: the datagram protocol.
        @param interface: the address to bind, as 4 bytes or a dotted quad
            (C{""} or all zeros for every address; 16 bytes or IPv6 text on
            IPv6).
        @param maxPacketSize: ignored (accepted for compatibility).
        @return: the started L{UDPPort}.
        @raise CannotListenError: the port is taken, or no port is free.
        """
        if interface == ANY_IPV4:
            interface = self.anyAddress
        address = self._parse(interface)
        anyAddress = self.anyAddress
        if len(self._sockets) >= self.maxSockets:
            raise error.CannotListenError(self._format(address), port, "too many sockets")  # type: ignore[no-untyped-call]
        if port == 0:
            port = self._ephemeralPort(address)
        elif not 0 < port < 65536:
            raise error.CannotListenError(self._format(address), port, "bad port")  # type: ignore[no-untyped-call]
        elif (address, port) in self._sockets or (anyAddress, port) in self._sockets or (
                address == anyAddress and self._portInUse(port)):
            raise error.CannotListenError(self._format(address), port, "address in use")  # type: ignore[no-untyped-call]
        socket = UDPPort(self, protocol, address, port)
        self._sockets[(address, port)] = socket
        self._ports[port] += 1
        socket.startListening()
        return socket

    def _ephemeralPort(self, address: bytes) -> int:
        """
        Pick a free ephemeral port.

        @param address: the address being bound.
        @return: the port.
        @raise CannotListenError: every ephemeral port is taken.
        """
        span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
        for _ in range(span):
            port = self._nextEphemeral
            self._nextEphemeral = EPHEMERAL_LOW + (port - EPHEMERAL_LOW + 1) % span
            if not self._portInUse(port):
                return port
        raise error.CannotListenError(self._format(address), 0, "no free ephemeral port")  # type: ignore[no-untyped-call]

    def _unbind(self, socket: UDPPort) -> None:
        """
        Forget a socket.

        @param socket: the socket being closed.
        """
        if self._sockets.get((socket.address, socket.port)) is socket:
            del self._sockets[(socket.address, socket.port)]
            self._ports[socket.port] -= 1
            if not self._ports[socket.port]:
                del self._ports[socket.port]

    def sendDatagram(self, source: bytes, sourcePort: int, destination: bytes,
                     destinationPort: int, payload: bytes) -> None:
        """
        Send one UDP datagram from any address and port (a NAT answers
        as outside hosts through this).

        @param source: the source address.
        @param sourcePort: the source port.
        @param destination: the destination address.
        @param destinationPort: the destination port.
        @param payload: the payload.
        """
        length = HEADER_LENGTH + len(payload)
        datagram = HEADER.pack(sourcePort, destinationPort, length, 0) + payload
        if self.checksumOnSend or self.ipv6:
            checksum = checksumForUDP(internetChecksum(
                datagram, pseudoHeaderSum(source, destination, PROTOCOL_UDP, length)))
            datagram = datagram[:6] + checksum.to_bytes(2, "big") + datagram[8:]
        self.counters["sent"] += 1
        self.ip.sendPacket(PROTOCOL_UDP, source, destination, datagram)

    def packetReceived(self, source: bytes, destination: bytes, payload: bytes,
                       datagram: bytes) -> None:
        """
        Handle one UDP datagram from the IPv4 layer.

        @param source: the sender's address.
        @param destination: the destination address.
        @param payload: the UDP header and data.
        @param datagram: the whole IPv4 datagram.
        """
        counters = self.counters
        counters["received"] += 1
        size = len(payload)
        if size < HEADER_LENGTH:
            counters["malformed"] += 1
            return
        sourcePort, destinationPort, length, checksum = HEADER.unpack_from(payload)
        if length < HEADER_LENGTH or length > size or destinationPort == 0:
            counters["malformed"] += 1
            return
        if length < size:
            payload = payload[:length]
        if checksum:
            if internetChecksum(payload, pseudoHeaderSum(
                    source, destination, PROTOCOL_UDP, length)) != 0:
                counters["badChecksum"] += 1
                return
        elif self.ipv6:
            # A zero checksum is forbidden on IPv6 (RFC 8200 section 8.1).
            counters["badChecksum"] += 1
            return
        data = payload[HEADER_LENGTH:]
        socket = self._sockets.get((destination, destinationPort))
        if socket is None and self._isLocal(destination):
            socket = self._sockets.get((self.anyAddress, destinationPort))
        if socket is not None:
            counters["delivered"] += 1
            socket._deliver(data, source, sourcePort)
            return
        fallback = self.fallback
        if fallback is not None and fallback(source, sourcePort, destination,
                                             destinationPort, data, datagram):
            counters["fallback"] += 1
            return
        counters["noPort"] += 1
        if self.unreachable is not None:
            if self.ipv6:
                if destination[0] != 0xFF:
                    self.unreachable(4, datagram)
            elif not self._isBroadcast(destination) and destination[0] < 224:
                self.unreachable(3, datagram)

    def errorReceived(self, reporter: bytes, icmpType: int, code: int, rest: int,
                      quoted: bytes) -> None:
        """
        An ICMP error quoting one of our UDP datagrams: a port unreachable
        for a connected socket calls its protocol's C{connectionRefused}.

        @param reporter: who sent the error.
        @param icmpType: the ICMP type.
        @param code: the ICMP code.
        @param rest: the rest-of-header word.
        @param quoted: the quoted datagram (IPv4 header on; on IPv6 the
            quoted packet, and a destination unreachable with code 4).
        """
        if self.ipv6:
            if icmpType != 1 or code != 4 or len(quoted) < 48:
                return
            nextHeader, headerLength = quotedUpperLayer(quoted)
            if nextHeader != PROTOCOL_UDP or len(quoted) < headerLength + 4:
                return
            source, destination = bytes(quoted[8:24]), bytes(quoted[24:40])
        else:
            headerLength = (quoted[0] & 0x0F) * 4
            if len(quoted) < headerLength + 4 or icmpType != 3 or code != 3:
                return
            source, destination = quoted[12:16], quoted[16:20]
        sourcePort, destinationPort = struct.unpack_from("!HH", quoted, headerLength)
        socket = self._sockets.get((source, sourcePort)) or self._sockets.get(
            (self.anyAddress, sourcePort))
        if socket is None or socket.connected != (destination, destinationPort):
            return
        self.counters["refused"] += 1
        refused = getattr(socket.protocol, "connectionRefused", None)
        if refused is not None:
            try:
                refused()
            except Exception:
                _log.failure("Unhandled error in connectionRefused", Failure())  # type: ignore[no-untyped-call]

    def sockets(self) -> Dict[Tuple[bytes, int], UDPPort]:
        """
        The bound sockets, for display.

        @return: a copy of the (address, port) to socket table.
        """
        return dict(self._sockets)


__all__ = ["UDPLayer", "UDPPort", "Fallback", "MAX_PAYLOAD", "MAX_PAYLOAD6", "ANY_IPV6"]
