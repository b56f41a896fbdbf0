# -*- test-case-name: tests.slirp.test_nat -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
slirp's outbound NAT: guests' TCP connections, UDP flows and ICMP echo
requests to outside addresses are carried by ordinary host sockets.

  - TCP: the gateway's TCP layer calls L{NAT.forwardTCP} for a SYN to an
    address nobody listens on.  The NAT connects on the host first
    (C{TCP4ClientEndpoint}); only when that succeeds does the guest get
    its SYN-ACK, and a refusal (or any failure) becomes a RST.  Bytes are
    relayed by a L{vdetwist.slirp.forward.Relay}.
  - UDP: the gateway's UDP layer hands datagrams no virtual socket takes
    to L{NAT.datagramReceived}; each guest (address, port) gets a host UDP
    socket, closed after L{NAT.udpTimeout} idle seconds.
  - ICMP echo: through unprivileged ICMP sockets
    (C{socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)}), where the host's
    C{net.ipv4.ping_group_range} allows them; otherwise echo requests to
    outside addresses are dropped and a clear message is logged once.

The gateway's own address stands for the host's loopback only when
C{allowHostLoopback} is set; addresses on the virtual network, loopback,
multicast and other special addresses are never reached.  Every table
(TCP relays, UDP flows, ICMP sockets) has a bound.
"""

import errno
import socket
import struct
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Tuple

from twisted.internet import error
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import TCP4ClientEndpoint
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger
from twisted.python.failure import Failure

from vdetwist.slirp.forward import ForwardCounters, Relay, _EndFactory
from vdetwist.wire.addr import formatIPv4, sameNetwork
from vdetwist.wire.checksum import internetChecksum

__all__ = ["NAT", "Flow"]

_log = Logger()

_LOOPBACK = "127.0.0.1"


class Flow:
    """
    A row of C{conn/print}.

    @ivar protocol: C{"tcp"}, C{"udp"} or C{"icmp"}.
    @ivar guest: the guest's (address, port), address dotted.
    @ivar destination: the destination (address, port) as the guest sees it.
    @ivar bytesOut: bytes from the guest.
    @ivar bytesIn: bytes to the guest.
    @ivar age: seconds since it started.
    """

    def __init__(self, protocol: str, guest: Tuple[str, int], destination: Tuple[str, int],
                 bytesOut: int, bytesIn: int, age: float) -> None:
        self.protocol = protocol
        self.guest = guest
        self.destination = destination
        self.bytesOut = bytesOut
        self.bytesIn = bytesIn
        self.age = age

    def __repr__(self) -> str:
        """
        One line.
        """
        return (f"{self.protocol} {self.guest[0]}:{self.guest[1]} -> "
                f"{self.destination[0]}:{self.destination[1]} "
                f"out {self.bytesOut} in {self.bytesIn} age {int(self.age)}")


class _UDPFlow(DatagramProtocol):
    """
    The host socket of one guest (address, port): replies are sent to the
    guest as from their real source.
    """

    transport: Any

    def __init__(self, nat: "NAT", guest: bytes, guestPort: int) -> None:
        """
        @param nat: the NAT.
        @param guest: the guest's address.
        @param guestPort: the guest's port.
        """
        self.nat = nat
        self.guest = guest
        self.guestPort = guestPort
        self.started = self.lastSeen = nat.reactor.seconds()
        self.bytesOut = 0
        self.bytesIn = 0
        self.lastDestination: Tuple[str, int] = ("", 0)

    def datagramReceived(self, data: bytes, addr: Tuple[str, int]) -> None:
        """
        A reply from outside.

        @param data: the payload.
        @param addr: its (address, port).
        """
        nat = self.nat
        source = nat.fromHost(addr[0])
        if source is None:
            nat.counters["udpDroppedSource"] += 1
            return
        self.lastSeen = nat.reactor.seconds()
        self.bytesIn += len(data)
        nat.udpCounters.bytesToGuest += len(data)
        nat.udp.sendDatagram(source, addr[1], self.guest, self.guestPort, data)


class NAT:
    """
    The outbound NAT of a slirp gateway.

    @ivar gatewayAddress: the gateway's address.
    @ivar dnsAddress: the DNS address (handled by the DNS proxy).
    @ivar prefixLength: the virtual network's prefix length.
    @ivar allowHostLoopback: whether the gateway address reaches the
        host's 127.0.0.1.
    @ivar maxTCP: the most TCP relays (pending included).
    @ivar maxUDPFlows: the most UDP flows.
    @ivar udpTimeout: idle seconds before a UDP flow is closed.
    @ivar tcpCounters: L{ForwardCounters} of TCP relays.
    @ivar udpCounters: L{ForwardCounters} of UDP flows.
    @ivar counters: refusals and drops: C{tcpRefused} (forbidden
        destination), C{tcpFull}, C{udpRefused}, C{udpFull},
        C{udpSendFailed}, C{icmpUnavailable}, C{icmpFull}, ...
    @cvar clientEndpoint: the host-side TCP client endpoint class.
    @cvar udpInterface: the host address UDP flows' sockets bind.
    @cvar formatAddress: formats a guest-side address.
    """

    clientEndpoint: Any = TCP4ClientEndpoint
    udpInterface = "0.0.0.0"
    formatAddress = staticmethod(formatIPv4)

    def __init__(self, reactor: Any, udp: Any, gatewayAddress: bytes,
                 dnsAddress: Optional[bytes], prefixLength: int,
                 allowHostLoopback: bool = False, maxTCP: int = 1024,
                 maxUDPFlows: int = 1024, udpTimeout: float = 60.0,
                 tcpIdleTimeout: float = 7200.0, connectTimeout: float = 20.0,
                 maxICMPSockets: int = 64,
                 icmpSocketFactory: Optional[Callable[[], socket.socket]] = None,
                 unreachable: Optional[Callable[[bytes, int, bytes, int], None]] = None,
                 icmpToGuest: Optional[Callable[[bytes, bytes, bytes], None]] = None) -> None:
        """
        @param reactor: the reactor.
        @param udp: the gateway's UDP layer (C{sendDatagram}).
        @param gatewayAddress: the gateway's address, 4 bytes.
        @param dnsAddress: the DNS address, 4 bytes, or C{None}.
        @param prefixLength: the virtual network's prefix length.
        @param allowHostLoopback: see L{allowHostLoopback}.
        @param maxTCP: see L{maxTCP}.
        @param maxUDPFlows: see L{maxUDPFlows}.
        @param udpTimeout: see L{udpTimeout}.
        @param tcpIdleTimeout: idle seconds before a TCP relay is aborted.
        @param connectTimeout: seconds for the host-side connect.
        @param maxICMPSockets: the most ICMP echo sockets (one per guest
            echo identifier).
        @param icmpSocketFactory: makes an unprivileged ICMP socket (tests);
            the real one by default.
        @param unreachable: called with (destination, destinationPort,
            guest, guestPort) when a host-side connect fails other than by
            refusal: the gateway answers the guest's SYN with an ICMP host
            unreachable.
        @param icmpToGuest: sends an ICMP message from outside to a guest:
            called with (outside address, guest, message).
        """
        self.reactor = reactor
        self.udp = udp
        self.gatewayAddress = gatewayAddress
        self.dnsAddress = dnsAddress
        self.prefixLength = prefixLength
        self.allowHostLoopback = allowHostLoopback
        self.maxTCP = maxTCP
        self.maxUDPFlows = maxUDPFlows
        self.udpTimeout = udpTimeout
        self.tcpIdleTimeout = tcpIdleTimeout
        self.connectTimeout = connectTimeout
        self.maxICMPSockets = maxICMPSockets
        self.tcpCounters = ForwardCounters()
        self.udpCounters = ForwardCounters()
        self.counters: Counter[str] = Counter()
        self.relays: Dict[Relay, Tuple[bytes, int, bytes, int]] = {}
        self.udpFlows: Dict[Tuple[bytes, int], _UDPFlow] = {}
        self._udpPorts: Dict[Tuple[bytes, int], Any] = {}
        self._sweeper: Any = None
        self.icmp = self._makeICMPRelay(self, maxICMPSockets, icmpSocketFactory, icmpToGuest)
        #: See the constructor's C{unreachable}.
        self.unreachable = unreachable

    def _makeICMPRelay(self, *args: Any) -> "_ICMPRelay":
        """
        The echo relay (an IPv6 NAT makes an ICMPv6 one).

        @param args: L{_ICMPRelay}'s arguments.
        @return: the relay.
        """
        return _ICMPRelay(*args)

    # -- policy ----------------------------------------------------------------

    def toHost(self, destination: bytes) -> Optional[str]:
        """
        Where a guest's destination is reached on the host.

        @param destination: the address the guest sent to, 4 bytes.
        @return: a dotted host address, or C{None} when it may not be
            reached.
        """
        if destination == self.gatewayAddress:
            return _LOOPBACK if self.allowHostLoopback else None
        first = destination[0]
        if (first in (0, 127) or first >= 224 or destination == self.dnsAddress
                or sameNetwork(destination, self.gatewayAddress, self.prefixLength)
                or (first == 169 and destination[1] == 254)):
            return None
        return formatIPv4(destination)

    def fromHost(self, address: str) -> Optional[bytes]:
        """
        The source address a host-side peer appears as to the guest.

        @param address: the peer's dotted address.
        @return: 4 bytes, or C{None} when it should not be shown.
        """
        packed = socket.inet_aton(address)
        if packed[0] == 127:
            return self.gatewayAddress if self.allowHostLoopback else None
        return packed

    # -- TCP -------------------------------------------------------------------

    def forwardTCP(self, local: bytes, localPort: int, remote: bytes,
                   remotePort: int) -> "Optional[Deferred[Any]]":
        """
        The TCP layer's forwarder hook: a guest's SYN to C{local:localPort}.

        @param local: the destination the guest wants, 4 bytes.
        @param localPort: its port.
        @param remote: the guest's address.
        @param remotePort: the guest's port.
        @return: C{None} to refuse at once, or a Deferred firing with the
            factory of the guest side once the host side is connected (or
            failing, which resets the guest).
        """
        target = self.toHost(local)
        if target is None:
            self.counters["tcpRefused"] += 1
            return None
        if len(self.relays) >= self.maxTCP:
            self.counters["tcpFull"] += 1
            return None
        relay = Relay(self.reactor, self.tcpCounters, self.tcpIdleTimeout,
                      f"{self.formatAddress(remote)}:{remotePort} -> {target}:{localPort}",
                      self._relayFinished)
        self.relays[relay] = (remote, remotePort, local, localPort)
        endpoint = self.clientEndpoint(self.reactor, target, localPort,
                                      timeout=self.connectTimeout)
        d = endpoint.connect(_EndFactory(relay.hostEnd))

        def connected(hostEnd: Any) -> Any:
            if relay not in self.relays:
                raise error.ConnectionAborted()
            guestEnd = relay.makeGuestEnd()

            def handshakeDone() -> None:
                if guestEnd.transport is None and relay in self.relays:
                    # The guest never completed its handshake.
                    relay.abort()
            relay.handshakeTimer = self.reactor.callLater(self.connectTimeout, handshakeDone)
            return _EndFactory(guestEnd)

        def failed(reason: Failure) -> Failure:
            self.counters["tcpConnectFailed"] += 1
            _log.debug("NAT {relay}: {reason}", relay=relay.description,
                       reason=reason.getErrorMessage())
            relay.failed()
            if not reason.check(error.ConnectionRefusedError, error.ConnectionAborted) \
                    and self.unreachable is not None:
                # No answer, no route: tell the guest as a router would
                # (host unreachable) before the layer's RST.
                self.counters["tcpUnreachable"] += 1
                self.unreachable(local, localPort, remote, remotePort)
            return reason

        return d.addCallbacks(connected, failed)

    def _relayFinished(self, relay: Relay) -> None:
        """
        Forget a finished relay.

        @param relay: the relay.
        """
        self.relays.pop(relay, None)

    # -- UDP -------------------------------------------------------------------

    def datagramReceived(self, source: bytes, sourcePort: int, destination: bytes,
                         destinationPort: int, payload: bytes, datagram: bytes) -> bool:
        """
        The UDP layer's fallback hook: a guest datagram no virtual socket
        took.

        @param source: the guest's address.
        @param sourcePort: its port.
        @param destination: where it is going.
        @param destinationPort: the destination port.
        @param payload: the data.
        @param datagram: the whole IPv4 datagram.
        @return: C{True} when the NAT took it (else the layer answers port
            unreachable).
        """
        target = self.toHost(destination)
        if target is None:
            self.counters["udpRefused"] += 1
            return self._silentlyRefused(destination)
        key = (source, sourcePort)
        flow = self.udpFlows.get(key)
        if flow is None:
            if len(self.udpFlows) >= self.maxUDPFlows:
                self.counters["udpFull"] += 1
                return True
            flow = _UDPFlow(self, source, sourcePort)
            try:
                port = self.reactor.listenUDP(0, flow, interface=self.udpInterface)
            except error.CannotListenError:
                self.counters["udpNoSocket"] += 1
                return True
            self.udpFlows[key] = flow
            self._udpPorts[key] = port
            self.udpCounters.connections += 1
            self.udpCounters.active += 1
            self._scheduleSweep()
        flow.lastSeen = self.reactor.seconds()
        flow.bytesOut += len(payload)
        flow.lastDestination = (target, destinationPort)
        self.udpCounters.bytesFromGuest += len(payload)
        try:
            flow.transport.write(payload, (target, destinationPort))
        except Exception:
            self.counters["udpSendFailed"] += 1
        return True

    def _silentlyRefused(self, destination: bytes) -> bool:
        """
        Whether a refused datagram is dropped without an error (multicast
        and broadcast ones).

        @param destination: its destination.
        @return: C{True} to drop it silently.
        """
        return destination[0] >= 224 or destination[3] == 255

    def _scheduleSweep(self) -> None:
        """
        Keep the UDP aging timer running while there are flows.
        """
        if self._sweeper is None or not self._sweeper.active():
            self._sweeper = self.reactor.callLater(max(1.0, self.udpTimeout / 2), self._sweep)

    def _sweep(self) -> None:
        """
        Close idle UDP flows.
        """
        self._sweeper = None
        now = self.reactor.seconds()
        for key, flow in list(self.udpFlows.items()):
            if now - flow.lastSeen >= self.udpTimeout:
                self._closeFlow(key)
        if self.udpFlows:
            self._scheduleSweep()

    def _closeFlow(self, key: Tuple[bytes, int]) -> None:
        """
        Close one UDP flow.

        @param key: the guest's (address, port).
        """
        self.udpFlows.pop(key, None)
        port = self._udpPorts.pop(key, None)
        self.udpCounters.active -= 1
        if port is not None:
            port.stopListening()

    # -- everything --------------------------------------------------------------

    def flows(self) -> List[Flow]:
        """
        The live flows, for C{conn/print}.

        @return: a new list.
        """
        now = self.reactor.seconds()
        formatIPv4 = self.formatAddress
        out = []
        for relay, (guest, guestPort, dest, destPort) in self.relays.items():
            out.append(Flow("tcp", (formatIPv4(guest), guestPort), (formatIPv4(dest), destPort),
                            _bytes(relay, False), _bytes(relay, True), now - relay.started))
        for (guest, guestPort), flow in self.udpFlows.items():
            out.append(Flow("udp", (formatIPv4(guest), guestPort), flow.lastDestination,
                            flow.bytesOut, flow.bytesIn, now - flow.started))
        for (guest, ident), entry in self.icmp.sockets.items():
            out.append(Flow("icmp", (formatIPv4(guest), ident), (entry.lastDestination, 0),
                            entry.bytesOut, entry.bytesIn, now - entry.started))
        return out

    def stop(self) -> None:
        """
        Abort every relay and close every flow.
        """
        for relay in list(self.relays):
            relay.abort()
        for key in list(self.udpFlows):
            self._closeFlow(key)
        if self._sweeper is not None and self._sweeper.active():
            self._sweeper.cancel()
        self._sweeper = None
        self.icmp.stop()


def _bytes(relay: Relay, toGuest: bool) -> int:
    """
    The bytes one relay moved in one direction.

    @param relay: the relay.
    @param toGuest: which direction.
    @return: the count.
    """
    end = relay.hostEnd if toGuest else relay.guestEnd
    return 0 if end is None else end.bytesRead


class _ICMPSocket:
    """
    One unprivileged ICMP echo socket, for one guest echo identifier.
    """

    def __init__(self, relay: "_ICMPRelay", sock: socket.socket, guest: bytes,
                 identifier: int) -> None:
        """
        @param relay: the ICMP relay.
        @param sock: the socket.
        @param guest: the guest.
        @param identifier: the guest's echo identifier.
        """
        self.relay = relay
        self.socket = sock
        self.guest = guest
        self.identifier = identifier
        self.started = self.lastSeen = relay.nat.reactor.seconds()
        self.bytesOut = 0
        self.bytesIn = 0
        self.lastDestination = ""

    def fileno(self) -> int:
        """
        @return: the socket's descriptor.
        """
        return self.socket.fileno()

    def logPrefix(self) -> str:
        """
        @return: a log prefix.
        """
        return "slirp-icmp"

    def doRead(self) -> None:
        """
        Read echo replies and send them to the guest with its identifier.
        """
        for _ in range(64):
            try:
                data, addr = self.socket.recvfrom(65535)
            except OSError as e:
                if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                    return
                self.relay.nat.counters["icmpReadError"] += 1
                return
            self.relay.replyReceived(self, data, addr[0])

    def connectionLost(self, reason: Any) -> None:
        """
        Removed from the reactor.
        """
        self.socket.close()


class _ICMPRelay:
    """
    ICMP echo through unprivileged ICMP sockets.
    """

    def __init__(self, nat: NAT, maxSockets: int,
                 socketFactory: Optional[Callable[[], socket.socket]],
                 sendToGuest: Optional[Callable[[bytes, bytes, bytes], None]] = None) -> None:
        """
        @param nat: the NAT.
        @param maxSockets: the most sockets.
        @param socketFactory: makes a socket; the real one by default.
        @param sendToGuest: sends (outside address, guest, ICMP message) to
            a guest; replies are dropped without it.
        """
        self.nat = nat
        self.maxSockets = maxSockets
        self.socketFactory = socketFactory or (
            lambda: socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_ICMP))
        self.sockets: Dict[Tuple[bytes, int], _ICMPSocket] = {}
        self.available: Optional[bool] = None
        self._sweeper: Any = None
        self.sendToGuest = sendToGuest

    def echoRequest(self, guest: bytes, destination: bytes, message: bytes) -> bool:
        """
        Send a guest's echo request out.

        @param guest: the guest.
        @param destination: where it pings.
        @param message: the ICMP message (type 8), checksum verified.
        @return: whether it was sent.
        """
        nat = self.nat
        target = nat.toHost(destination)
        if target is None or len(message) < 8:
            nat.counters["icmpRefused"] += 1
            return False
        identifier = struct.unpack_from("!H", message, 4)[0]
        key = (guest, identifier)
        entry = self.sockets.get(key)
        if entry is None:
            if self.available is False:
                nat.counters["icmpUnavailable"] += 1
                return False
            if len(self.sockets) >= self.maxSockets:
                nat.counters["icmpFull"] += 1
                return False
            try:
                sock = self.socketFactory()
                sock.setblocking(False)
            except OSError as e:
                self.available = False
                nat.counters["icmpUnavailable"] += 1
                _log.warn(
                    "slirp: guests' pings cannot be relayed: unprivileged ICMP sockets "
                    "are not allowed here ({error}); allow them with "
                    "sysctl -w net.ipv4.ping_group_range='0 2147483647'",
                    error=e.strerror or str(e))
                return False
            self.available = True
            entry = self.sockets[key] = _ICMPSocket(self, sock, guest, identifier)
            nat.reactor.addReader(entry)
            self._scheduleSweep()
        entry.lastSeen = nat.reactor.seconds()
        entry.bytesOut += len(message)
        entry.lastDestination = target
        try:
            entry.socket.sendto(message, (target, 0))
        except OSError:
            nat.counters["icmpSendFailed"] += 1
            return False
        nat.counters["icmpSent"] += 1
        return True

    def replyReceived(self, entry: _ICMPSocket, data: bytes, source: str) -> None:
        """
        An echo reply (the kernel rewrote its identifier): restore the
        guest's identifier and checksum, and send it to the guest.

        @param entry: the socket.
        @param data: the ICMP message.
        @param source: who replied.
        """
        nat = self.nat
        if len(data) < 8 or data[0] != 0:
            return
        address = nat.fromHost(source)
        if address is None or self.sendToGuest is None:
            return
        message = bytearray(data)
        struct.pack_into("!HH", message, 2, 0, entry.identifier)
        struct.pack_into("!H", message, 2, internetChecksum(message))
        entry.lastSeen = nat.reactor.seconds()
        entry.bytesIn += len(message)
        nat.counters["icmpReceived"] += 1
        self.sendToGuest(address, entry.guest, bytes(message))

    def _scheduleSweep(self) -> None:
        """
        Keep the aging timer running while there are sockets.
        """
        if self._sweeper is None or not self._sweeper.active():
            self._sweeper = self.nat.reactor.callLater(30.0, self._sweep)

    def _sweep(self) -> None:
        """
        Close sockets idle for a minute.
        """
        self._sweeper = None
        now = self.nat.reactor.seconds()
        for key, entry in list(self.sockets.items()):
            if now - entry.lastSeen >= 60.0:
                self._close(key)
        if self.sockets:
            self._scheduleSweep()

    def _close(self, key: Tuple[bytes, int]) -> None:
        """
        Close one socket.

        @param key: (guest, identifier).
        """
        entry = self.sockets.pop(key, None)
        if entry is not None:
            self.nat.reactor.removeReader(entry)
            entry.socket.close()

    def stop(self) -> None:
        """
        Close every socket.
        """
        for key in list(self.sockets):
            self._close(key)
        if self._sweeper is not None and self._sweeper.active():
            self._sweeper.cancel()
        self._sweeper = None
