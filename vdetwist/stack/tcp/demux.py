# -*- test-case-name: tests.stack.tcp.test_demux -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
L{TCPLayer}: TCP over an IPv4 or an IPv6 layer (one instance per family,
C{TCPLayer(reactor, ip6, ipv6=True)} for IPv6: 16-byte addresses in its
keys, C{IPv6Address} from C{getHost}/C{getPeer}, the MSS from the IPv6
MTU).  It verifies checksums, parses
segments, finds their connection by 4-tuple (one dict lookup), accepts
connections for listeners (with a SYN queue bounded by the backlog and by
a bound of the whole layer, and SYN cookies when it is full: see
L{vdetwist.stack.tcp.syncookies}), opens outgoing connections, answers segments for no connection with RST (RFC
9293 section 3.10.7.1), and offers a forwarding hook for SYNs to
addresses nobody listens on (the slirp gateway's NAT).

Usage, once registered with the IPv4 layer for protocol 6::

    tcp = TCPLayer(reactor, host.ip)
    host.registerProtocol(6, tcp)
    host.icmp.registerErrorHandler(6, tcp.errorReceived)  # fail connects early
    port = tcp.listen(10000, factory)                 # IListeningPort
    d = tcp.connect(parseIPv4("10.0.2.2"), 80, factory)  # Deferred[Protocol]
    ...
    tcp.stop()                                        # when the host goes away

Transports are L{TCPConnection}s (C{ITCPTransport}, C{IPushProducer},
C{IConsumer}); tunables are a L{TCPConfig} (C{TCPLayer(..., config=)}),
counters L{TCPLayer.stats} (also as the C{counters} dict), among them
C{synCookiesSent}, C{synCookiesValidated} and C{synCookiesFailed}.
"""

import copy
import os
import random
import socket
import struct
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from twisted.internet import defer, error
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.interfaces import IListeningPort, IProtocol, IProtocolFactory
from twisted.python import failure, log
from zope.interface import implementer

from vdetwist.interfaces import IIPv4Protocol, IIPv4Sender
from vdetwist.stack.icmpv6 import quotedUpperLayer
from vdetwist.stack.tcp.connection import TCPConnection, socketAddress
from vdetwist.stack.tcp.machine import (
    TIME_WAIT,
    REASON_REFUSED,
    REASON_UNREACHABLE,
    TCPConfig,
    TCPMachine,
    TCPStatistics,
)
from vdetwist.stack.tcp.config import windowShiftFor
from vdetwist.stack.tcp.offload import ReceiveOffload
from vdetwist.stack.tcp.seq import SEQ_MASK, initialSequenceNumber, seqGT
from vdetwist.stack.tcp.syncookies import PERIOD, SYNCookies, cookieTimestamp, decodeTimestamp
from vdetwist.wire.tcp import (
    ACK,
    FIN,
    PROTOCOL_TCP,
    RST,
    SYN,
    MalformedSegment,
    TCPSegment,
    encodeSegment,
    encodeSegments,
    parseSegment,
)
from vdetwist.wire.checksum import internetChecksum

__all__ = ["TCPLayer", "TCPListeningPort", "ANY_ADDRESS", "ANY_ADDRESS6", "SOMAXCONN"]

#: The wildcard address for listeners.
ANY_ADDRESS = b"\x00\x00\x00\x00"
#: The wildcard address for listeners of an IPv6 layer.
ANY_ADDRESS6 = b"\x00" * 16

EPHEMERAL_LOW = 49152
EPHEMERAL_HIGH = 65535

ConnectionKey = Tuple[bytes, int, bytes, int]

#: A segment's source and destination ports.
_PORTS = struct.Struct("!HH")
Forwarder = Callable[[bytes, int, bytes, int], Optional["defer.Deferred[Any]"]]


#: The default listen backlog, as generous as Linux's (C{net.core.somaxconn}
#: is 4096 since Linux 5.4).
SOMAXCONN = 4096

#: The default bound of the half-open connections of a whole layer (Linux's
#: C{tcp_max_syn_backlog} on a small machine): a SYN flood holds at most
#: this many; SYN cookies answer the rest.
MAX_SYN_QUEUE = 1024

#: How many of the oldest connections L{TCPLayer._makeRoom} looks at for one
#: in TIME_WAIT when the table is full.
RECYCLE_SCAN = 64


@implementer(IListeningPort)
class TCPListeningPort:
    """
    A listener of a L{TCPLayer}.

    @ivar factory: the protocol factory.
    @ivar address: the address listened on, 4 bytes (16 for IPv6; zeros:
        any).
    @ivar port: the port.
    @ivar backlog: the most connections in the handshake at once.
    @ivar embryonic: connections in the handshake now.
    """

    def __init__(self, layer: "TCPLayer", factory: IProtocolFactory,
                 address: bytes, port: int, backlog: int) -> None:
        """
        @param layer: the TCP layer.
        @param factory: the protocol factory.
        @param address: 4 or 16 bytes.
        @param port: the port.
        @param backlog: see L{backlog}.
        """
        self.layer = layer
        self.factory = factory
        self.address = address
        self.port = port
        self.backlog = backlog
        self.embryonic = 0
        self.listening = False

    def startListening(self) -> None:
        """
        Start accepting connections (done by L{TCPLayer.listen}).
        """
        if not self.listening:
            self.listening = True
            self.layer.listeners[(self.address, self.port)] = self
            self.factory.doStart()

    def stopListening(self) -> "defer.Deferred[None]":
        """
        Stop accepting connections; established ones are not affected.

        @return: a Deferred that has fired.
        """
        if self.listening:
            self.listening = False
            if self.layer.listeners.get((self.address, self.port)) is self:
                del self.layer.listeners[(self.address, self.port)]
            self.factory.doStop()
        return defer.succeed(None)

    loseConnection = stopListening

    def getHost(self) -> Union[IPv4Address, IPv6Address]:
        """
        @return: C{IPv4Address("TCP", address, port)} (an C{IPv6Address}
            on IPv6).
        """
        return socketAddress(self.address, self.port)


@implementer(IIPv4Protocol)
class TCPLayer:
    """
    The TCP protocol of one IPv4 or IPv6 layer.

    @ivar reactor: the reactor (time and timers).
    @ivar ip: the IP layer.
    @ivar ipv6: whether it is an IPv6 layer (16-byte addresses).
    @ivar anyAddress: the wildcard address of the family.
    @ivar config: the tunables given to new connections.
    @ivar stats: the counters.
    @ivar connections: connections by C{(localAddress, localPort,
        remoteAddress, remotePort)}.
    @ivar listeners: listeners by C{(address, port)}.
    @ivar maxConnections: the bound of L{connections}.
    @ivar maxPendingForwards: the bound of SYNs waiting for the forwarder.
    @ivar maxSynQueue: the bound of half-open connections of all the
        listeners together (each listener's backlog bounds its own).
    @ivar synQueue: half-open connections of listeners now.
    @ivar synCookies: answer SYNs with SYN cookies when the SYN queue is
        full (as Linux's C{tcp_syncookies=1}); when C{False} they are
        dropped (counted in C{synFloodDrops}).
    @ivar cookies: the L{SYNCookies} with this layer's secret.
    """

    def __init__(
        self,
        reactor: Any,
        ip: IIPv4Sender,
        config: Optional[TCPConfig] = None,
        maxConnections: int = 4096,
        maxPendingForwards: int = 256,
        seed: Optional[int] = None,
        maxSynQueue: int = MAX_SYN_QUEUE,
        synCookies: bool = True,
        ipv6: bool = False,
    ) -> None:
        """
        @param reactor: an C{IReactorTime}.
        @param ip: the IP layer to send through (its C{mtu} sets the MSS).
        @param config: tunables; by default L{TCPConfig} with the MSS from
            the MTU (on IPv6 a copy whose MSS is at most the MTU less 60).
        @param maxConnections: see L{maxConnections}.
        @param maxPendingForwards: see L{maxPendingForwards}.
        @param seed: seed the port/ISN randomness and the cookie secret
            (tests); by default from C{os.urandom}.
        @param maxSynQueue: see L{maxSynQueue}.
        @param synCookies: see L{synCookies}.
        @param ipv6: C{ip} is an IPv6 layer (C{sendPacket}, C{sourceFor}
            and C{mtu} as on IPv4, with 16-byte addresses).
        """
        self.reactor = reactor
        self.ip = ip
        self.ipv6 = ipv6
        # The IP layer's cork (its interface's), if it has one: the
        # segments of one wakeup go out back to back (NetworkInterface).
        self._cork: Optional[Callable[[], None]] = getattr(ip, "cork", None)
        self._uncork: Optional[Callable[[], None]] = getattr(ip, "uncork", None)
        if self._cork is None or self._uncork is None:
            self._cork = self._uncork = None
        # The IP layer's burst sender, if it has one (IPv4Layer.sendPackets).
        self._sendPackets: Optional[Callable[[int, bytes, bytes, List[bytes]], None]] = (
            getattr(ip, "sendPackets", None))
        # The receive offload, where the interface tells when a batch of
        # frames ends: segments that arrive while it is corked are held and
        # merged (vdetwist.stack.tcp.offload).
        interface = getattr(ip, "interface", None)
        self._interface = interface if hasattr(interface, "addUncorkObserver") else None
        self.anyAddress = ANY_ADDRESS6 if ipv6 else ANY_ADDRESS
        #: The first byte of multicast (and, on IPv4, reserved) addresses.
        self._multicastFloor = 0xFF if ipv6 else 224
        headers = 60 if ipv6 else 40
        mss = max(536, int(getattr(ip, "mtu", 1500)) - headers)
        if config is None:
            config = TCPConfig(mss=mss)
        elif ipv6 and config.mss > mss:
            config = copy.copy(config)
            config.mss = mss
        self.config = config
        self.stats = TCPStatistics()
        self.offload = ReceiveOffload(self._deliverHeld, self.stats)
        if self._interface is not None:
            self._interface.addUncorkObserver(self.offload.release)
        self.connections: Dict[ConnectionKey, TCPConnection] = {}
        self.listeners: Dict[Tuple[bytes, int], TCPListeningPort] = {}
        self.maxConnections = maxConnections
        self.maxPendingForwards = maxPendingForwards
        self._forwarder: Optional[Forwarder] = None
        self._pendingForwards: Dict[ConnectionKey, TCPSegment] = {}
        self.maxSynQueue = maxSynQueue
        self.synQueue = 0
        self.synCookies = synCookies
        #: When the last cookie was sent: ACKs for no connection are checked
        #: as cookies only for two periods after (as Linux does).
        self._cookieSentAt = float("-inf")
        if seed is None:
            self._isnKey = os.urandom(16)
            self._random = random.Random(os.urandom(16))
            cookieSecret = os.urandom(32)
        else:
            self._random = random.Random(seed)
            self._isnKey = self._random.randbytes(16)
            cookieSecret = self._random.randbytes(32)
        self.cookies = SYNCookies(cookieSecret)

    # -- IIPv4Protocol ------------------------------------------------------

    def packetReceived(self, source: bytes, destination: bytes,
                       payload: bytes, datagram: bytes) -> None:
        """
        A TCP segment arrived.  Never raises: bad segments are counted and
        dropped.

        @param source: the sender, 4 bytes.
        @param destination: our address, 4 bytes.
        @param payload: the segment.
        @param datagram: the whole IP datagram (unused).
        """
        try:
            self._segmentIn(source, destination, payload)
        except Exception:
            log.err(None, "TCP segment processing failed")  # type: ignore[no-untyped-call]

    def _segmentIn(self, source: bytes, destination: bytes, payload: bytes) -> None:
        """
        The body of L{packetReceived}.

        @param source: the sender.
        @param destination: our address.
        @param payload: the segment.
        """
        stats = self.stats
        size = len(payload)
        if size < 20:
            stats.malformedSegments += 1
            return
        # The connection first (the ports are the segment's first four
        # bytes), for the addresses' part of the checksum it keeps; then
        # tcpChecksumValid, inlined.
        srcPort, dstPort = _PORTS.unpack_from(payload)
        key = (destination, dstPort, source, srcPort)
        connection = self.connections.get(key)
        if internetChecksum(payload, size + (
                connection.addressSum if connection is not None else
                int.from_bytes(source, "big") + int.from_bytes(destination, "big")
                + PROTOCOL_TCP)):
            stats.badChecksums += 1
            return
        try:
            segment = parseSegment(payload)
        except MalformedSegment:
            stats.malformedSegments += 1
            return
        stats.segmentsReceived += 1
        if connection is not None:
            machine = connection.machine
            if not (
                machine.state == TIME_WAIT
                and segment.flags & (SYN | ACK | RST) == SYN
                and seqGT(segment.seq, machine.rcvNxt)
            ):
                interface = self._interface
                if interface is not None and interface.corkDepth:
                    # In a batch of frames: held, maybe merged with the
                    # next, delivered at its end at the latest.
                    self.offload.hold(connection, segment)
                else:
                    connection.segmentReceived(segment)
                return
            # A new incarnation of a connection in TIME_WAIT, with a higher
            # sequence number (RFC 9293 3.6.1, RFC 6191): end the old one
            # and treat the SYN as new.
            self.offload.release()
            connection.shutdown()
            self.connections.pop(key, None)
        else:
            # What is held goes first, as it came first.
            self.offload.release()
        floor = self._multicastFloor
        if destination[0] >= floor or source[0] >= floor or segment.dstPort == 0:
            return
        flags = segment.flags
        if flags & SYN and not flags & (ACK | RST):
            listener = self.listeners.get((destination, segment.dstPort))
            if listener is None:
                listener = self.listeners.get((self.anyAddress, segment.dstPort))
            if listener is not None:
                self._accept(listener, key, segment)
                return
            if key in self._pendingForwards:
                self._pendingForwards[key] = segment
                return
            if self._forwarder is not None:
                self._forward(key, segment)
                return
        elif (flags & (SYN | ACK | RST) == ACK
              and self.reactor.seconds() - self._cookieSentAt < 2 * PERIOD):
            listener = self.listeners.get((destination, segment.dstPort))
            if listener is None:
                listener = self.listeners.get((self.anyAddress, segment.dstPort))
            if listener is not None and self._cookieAck(listener, key, segment):
                return
        stats.noConnection += 1
        self._resetFor(destination, source, segment)

    def _deliverHeld(self, connection: TCPConnection, segment: TCPSegment) -> None:
        """
        Hand a segment the receive offload held (maybe merged) to its
        connection, if that is still this layer's.  Never raises.

        @param connection: the connection.
        @param segment: the segment.
        """
        if self.connections.get((connection.localAddress, connection.localPort,
                                 connection.remoteAddress, connection.remotePort)) is connection:
            try:
                connection.segmentReceived(segment)
            except Exception:
                log.err(None, "TCP segment processing failed")  # type: ignore[no-untyped-call]

    def errorReceived(self, reporter: bytes, icmpType: int, code: int, rest: int,
                      quoted: bytes) -> None:
        """
        An ICMP error quoting one of our segments (register with
        C{host.icmp.registerErrorHandler(6, tcp.errorReceived)}).  A
        destination unreachable fails a connection attempt: port and
        protocol unreachable as refused, the others (including ARP failing
        to resolve the next hop) as no route.  Errors about established
        connections are soft and ignored.

        @param reporter: who sent the error.
        @param icmpType: the ICMP type.
        @param code: the ICMP code.
        @param rest: the rest-of-header word.
        @param quoted: the quoted datagram, IPv4 header on (at least 8
            bytes of TCP header); on IPv6 the quoted packet, where a
            destination unreachable (type 1) with code 4 (port unreachable)
            or 1 (administratively prohibited) refuses.
        """
        if self.ipv6:
            self._errorReceived6(icmpType, code, quoted)
            return
        if icmpType != 3 or len(quoted) < 20:
            return
        headerLength = (quoted[0] & 0x0F) * 4
        if len(quoted) < headerLength + 8:
            return
        sourcePort, destinationPort, seq = struct.unpack_from("!HHI", quoted, headerLength)
        key = (bytes(quoted[12:16]), sourcePort, bytes(quoted[16:20]), destinationPort)
        connection = self.connections.get(key)
        if connection is None:
            return
        self.stats.icmpErrors += 1
        reason = REASON_REFUSED if code in (2, 3) else REASON_UNREACHABLE
        connection.errorReceived(reason, seq)

    def _errorReceived6(self, icmpType: int, code: int, quoted: bytes) -> None:
        """
        The IPv6 part of L{errorReceived}.

        @param icmpType: the ICMPv6 type.
        @param code: the ICMPv6 code.
        @param quoted: the quoted packet, IPv6 header on.
        """
        if icmpType != 1 or len(quoted) < 48:
            return
        nextHeader, offset = quotedUpperLayer(quoted)
        if nextHeader != PROTOCOL_TCP or len(quoted) < offset + 8:
            return
        sourcePort, destinationPort, seq = struct.unpack_from("!HHI", quoted, offset)
        key = (bytes(quoted[8:24]), sourcePort, bytes(quoted[24:40]), destinationPort)
        connection = self.connections.get(key)
        if connection is None:
            return
        self.stats.icmpErrors += 1
        reason = REASON_REFUSED if code in (1, 4) else REASON_UNREACHABLE
        connection.errorReceived(reason, seq)

    def stop(self) -> None:
        """
        Tear everything down: stop every listener, reset every connection
        (including those in TIME_WAIT, whose timers are cancelled), forget
        pending forwards.  For shutting a host down; the layer stays usable.
        """
        self.offload.drop()
        for listener in list(self.listeners.values()):
            listener.stopListening()
        for connection in list(self.connections.values()):
            connection.shutdown()
        self.connections.clear()
        self._pendingForwards.clear()
        self.synQueue = 0

    @property
    def counters(self) -> Dict[str, int]:
        """
        The counters as a dict (what C{VirtualHost.counters} collects).
        """
        return self.stats.asDict()

    # -- helpers ------------------------------------------------------------

    def sendSegment(self, connection: TCPConnection, segment: TCPSegment) -> None:
        """
        Send a segment of one of this layer's connections.

        @param connection: the connection.
        @param segment: the segment.
        """
        self.sendSegments(connection, [segment])

    def sendSegments(self, connection: TCPConnection, segments: List[TCPSegment]) -> None:
        """
        Send the segments one of this layer's connections emits in a
        wakeup (called by the connection), in order; more than one are
        built first and sent back to back (the IP layer's cork).

        @param connection: the connection.
        @param segments: the segments.
        """
        stats = self.stats
        local = connection.localAddress
        remote = connection.remoteAddress
        pseudo = connection.addressSum
        # A segment carrying more than the MSS is a run of full segments
        # (the machine's segmentation offload): cut here.
        size = connection.machine.mss
        if len(segments) > 1 or len(segments[0][6]) > size:
            payloads = []
            append = payloads.append
            for segment in segments:
                if len(segment[6]) > size:
                    payloads.extend(encodeSegments(segment, pseudo, size))
                else:
                    append(encodeSegment(segment, pseudo))
        else:
            payloads = [encodeSegment(segments[0], pseudo)]
        stats.segmentsSent += len(payloads)
        sendPackets = self._sendPackets
        if sendPackets is not None and len(payloads) > 1:
            # The IP layer builds the frames of the burst together.
            sendPackets(PROTOCOL_TCP, local, remote, payloads)
            return
        sendPacket = self.ip.sendPacket
        uncork = self._uncork if len(payloads) > 1 else None
        if uncork is not None:
            self._cork()  # type: ignore[misc]
        try:
            for payload in payloads:
                sendPacket(PROTOCOL_TCP, local, remote, payload)
        finally:
            if uncork is not None:
                uncork()

    def _resetFor(self, local: bytes, remote: bytes, segment: TCPSegment) -> None:
        """
        Answer a segment that belongs to no connection with a RST (RFC
        9293 section 3.10.7.1); a RST is never answered.

        @param local: our address (the segment's destination).
        @param remote: the segment's source.
        @param segment: the segment.
        """
        if segment.flags & RST:
            return
        if segment.flags & ACK:
            reset = TCPSegment(segment.dstPort, segment.srcPort, segment.ack, 0, RST, 0)
        else:
            reset = TCPSegment(
                segment.dstPort, segment.srcPort, 0,
                (segment.seq + segment.sequenceLength()) & SEQ_MASK, RST | ACK, 0,
            )
        self.stats.resetsSent += 1
        self.stats.segmentsSent += 1
        self.ip.sendPacket(PROTOCOL_TCP, local, remote, reset.encode(local, remote))

    def _newConnection(
        self,
        key: ConnectionKey,
        buildProtocol: Callable[[TCPConnection], Optional[IProtocol]],
        onFailure: Optional[Callable[[failure.Failure], None]] = None,
        onConnected: Optional[Callable[[IProtocol], None]] = None,
        iss: Optional[int] = None,
        timestampOffset: Optional[int] = None,
    ) -> TCPConnection:
        """
        Create and register a connection with a fresh machine.

        @param key: its 4-tuple.
        @param buildProtocol: see L{TCPConnection}.
        @param onFailure: see L{TCPConnection}.
        @param onConnected: see L{TCPConnection}.
        @param iss: our ISN; by default RFC 6528's.
        @param timestampOffset: our timestamp clock's offset; by default
            random.
        @return: the connection.
        """
        local, localPort, remote, remotePort = key
        if iss is None:
            iss = initialSequenceNumber(self._isnKey, local, localPort, remote, remotePort,
                                        self.reactor.seconds())
        if timestampOffset is None:
            timestampOffset = self._random.getrandbits(32)
        machine = TCPMachine(localPort, remotePort, iss, self.config, self.stats,
                             timestampOffset)
        machine.segmentOffload = self.config.segmentOffload
        connection = TCPConnection(self.reactor, self, machine, local, remote,
                                   buildProtocol, onFailure, onConnected)
        self.connections[key] = connection
        return connection

    def _listenerProtocol(self, factory: IProtocolFactory,
                          ) -> Callable[[TCPConnection], Optional[IProtocol]]:
        """
        @param factory: a listener's factory.
        @return: the C{buildProtocol} of a connection it accepts: leave the
            SYN queue, count, build the protocol.
        """

        def buildProtocol(connection: TCPConnection) -> Optional[IProtocol]:
            """
            The handshake completed: leave the SYN queue, build the protocol.

            @param connection: the new connection.
            @return: the listener factory's protocol.
            """
            self._leaveSynQueue(connection)
            self.stats.connectionsAccepted += 1
            return factory.buildProtocol(connection.getPeer())

        return buildProtocol

    def _leaveSynQueue(self, connection: TCPConnection) -> None:
        """
        A connection of a listener is no longer half-open.

        @param connection: the connection.
        """
        if connection.listener is not None:
            connection.listener.embryonic -= 1
            connection.listener = None
            self.synQueue -= 1

    def _accept(self, listener: TCPListeningPort, key: ConnectionKey,
                segment: TCPSegment) -> None:
        """
        A SYN for a listener: start a passive open, unless the SYN queue
        (the listener's backlog, the layer's L{maxSynQueue}) or the
        connection table is full: then answer with a SYN cookie (or drop
        the SYN when L{synCookies} is off).

        @param listener: the listener.
        @param key: the new connection's 4-tuple.
        @param segment: the SYN.
        """
        if (listener.embryonic >= listener.backlog or self.synQueue >= self.maxSynQueue
                or not self._makeRoom()):
            if self.synCookies:
                self._sendCookie(key, segment)
            else:
                self.stats.synFloodDrops += 1
            return
        connection = self._newConnection(key, self._listenerProtocol(listener.factory))
        connection.listener = listener
        listener.embryonic += 1
        self.synQueue += 1
        connection.machine.listen()
        connection.segmentReceived(segment)

    def _sendCookie(self, key: ConnectionKey, syn: TCPSegment) -> None:
        """
        Answer a SYN with a SYN cookie, keeping no state: the ISN encodes
        the peer's MSS and, with timestamps, our TSval its window scale
        and SACK-permitted (see L{vdetwist.stack.tcp.syncookies}).

        @param key: the would-be connection's 4-tuple.
        @param syn: the SYN.
        """
        local, localPort, remote, remotePort = key
        config = self.config
        now = self.reactor.seconds()
        cookie, _ = self.cookies.make(remote, local, remotePort, localPort, syn.seq,
                                      syn.mss or 536, now)
        timestamp = None
        windowScale = None
        sackPermitted = False
        if config.timestamps and syn.timestamp is not None:
            if config.windowScaling and syn.windowScale is not None:
                windowScale = min(syn.windowScale, 14)
            sackPermitted = bool(config.sack and syn.sackPermitted)
            offset = self.cookies.timestampOffset(remote, local, remotePort, localPort)
            tsNow = (int(now * 1000) + offset) & SEQ_MASK
            timestamp = (cookieTimestamp(tsNow, windowScale, sackPermitted), syn.timestamp[0])
        synAck = TCPSegment(
            localPort, remotePort, cookie, (syn.seq + 1) & SEQ_MASK, SYN | ACK,
            min(config.receiveBufferSize, 65535), b"", config.mss,
            windowShiftFor(config.receiveBufferSize) if windowScale is not None else None,
            sackPermitted, (), timestamp)
        self._cookieSentAt = now
        self.stats.synCookiesSent += 1
        self.stats.segmentsSent += 1
        self.ip.sendPacket(PROTOCOL_TCP, local, remote, synAck.encode(local, remote))

    def _cookieAck(self, listener: TCPListeningPort, key: ConnectionKey,
                   segment: TCPSegment) -> bool:
        """
        An ACK for no connection, on a listener's port, while cookies are
        in use: if it acknowledges a valid cookie, create the connection
        (in ESTABLISHED once the ACK is processed) and accept it as the
        listener accepts any other.

        @param listener: the listener.
        @param key: the 4-tuple.
        @param segment: the ACK.
        @return: whether the ACK was taken (a valid cookie, or a later
            segment of a cookie's connection, held back); C{False} means
            it is answered as any segment for no connection.
        """
        local, localPort, remote, remotePort = key
        now = self.reactor.seconds()
        theirISN = (segment.seq - 1) & SEQ_MASK
        iss = (segment.ack - 1) & SEQ_MASK
        mss = self.cookies.check(remote, local, remotePort, localPort, theirISN, iss, now)
        windowScale: Optional[int] = None
        sackPermitted = False
        timestamp = None
        if mss is not None and segment.timestamp is not None:
            if not self.config.timestamps:
                mss = None
            else:
                windowScale, sackPermitted, _ = decodeTimestamp(segment.timestamp[1])
                timestamp = (segment.timestamp[0], 0)
        if mss is None:
            self.stats.synCookiesFailed += 1
            if segment.payload or segment.flags & FIN:
                # The cookie covers the peer's ISN, so this check needs the
                # first segment after the SYN.  Data or a FIN failing it may
                # be a later segment of a cookie's connection whose ACK and
                # first data were lost (a flood fills queues): a RST (as
                # Linux sends) would kill that connection, while silence
                # makes the peer retransmit from its first byte, which
                # validates.  Only while cookies are in use.
                return True
            return False
        if not self._makeRoom():
            self.stats.synFloodDrops += 1
            return True
        self.stats.synCookiesValidated += 1
        connection = self._newConnection(
            key, self._listenerProtocol(listener.factory), iss=iss,
            timestampOffset=self.cookies.timestampOffset(remote, local, remotePort, localPort)
            if timestamp is not None else None)
        connection.machine.openFromCookie(TCPSegment(
            remotePort, localPort, theirISN, 0, SYN, segment.window, b"", mss,
            windowScale, sackPermitted, (), timestamp), now)
        connection.segmentReceived(segment)
        return True

    def _forward(self, key: ConnectionKey, segment: TCPSegment) -> None:
        """
        A SYN for nobody: ask the forwarder what to do.

        @param key: the would-be connection's 4-tuple.
        @param segment: the SYN.
        """
        local, localPort, remote, remotePort = key
        if len(self._pendingForwards) >= self.maxPendingForwards:
            self.stats.forwarderDrops += 1
            return
        assert self._forwarder is not None
        try:
            result = self._forwarder(local, localPort, remote, remotePort)
        except Exception:
            log.err(None, "TCP forwarder raised")  # type: ignore[no-untyped-call]
            result = None
        if result is None:
            self._resetFor(local, remote, segment)
            return
        self._pendingForwards[key] = segment
        result.addCallbacks(self._cbForward, self._ebForward,
                            callbackArgs=(key,), errbackArgs=(key,))

    def _cbForward(self, factory: Optional[IProtocolFactory], key: ConnectionKey) -> None:
        """
        The forwarder accepted: complete the handshake.

        @param factory: the factory for the connection's protocol (C{None}
            means refuse).
        @param key: the 4-tuple.
        """
        segment = self._pendingForwards.pop(key, None)
        if segment is None:
            return
        local, _, remote, _ = key
        if factory is None or key in self.connections or not self._makeRoom():
            self._resetFor(local, remote, segment)
            return

        def buildProtocol(connection: TCPConnection) -> Optional[IProtocol]:
            """
            The handshake completed: build the protocol from the forwarder's factory.

            @param connection: the new connection.
            @return: the protocol.
            """
            self.stats.connectionsAccepted += 1
            return factory.buildProtocol(connection.getPeer())

        connection = self._newConnection(key, buildProtocol)
        connection.machine.listen()
        connection.segmentReceived(segment)

    def _ebForward(self, reason: failure.Failure, key: ConnectionKey) -> None:
        """
        The forwarder refused: RST the SYN.

        @param reason: why.
        @param key: the 4-tuple.
        """
        segment = self._pendingForwards.pop(key, None)
        if segment is not None:
            self._resetFor(key[0], key[2], segment)

    def _makeRoom(self) -> bool:
        """
        Whether the table can take one more connection, recycling the
        oldest connection in TIME_WAIT when it is full (as Linux drops
        TIME_WAIT sockets past tcp_max_tw_buckets): otherwise every closed
        connection holds a slot for 2*MSL, and a busy forward runs out of
        slots with none in use.  Only the L{RECYCLE_SCAN} oldest entries
        are looked at, so a table full of live connections costs little.

        @return: C{True} when there is room now.
        """
        connections = self.connections
        if len(connections) < self.maxConnections:
            return True
        for count, (key, connection) in enumerate(connections.items()):
            if count >= RECYCLE_SCAN:
                break
            if connection.machine.state == TIME_WAIT:
                connection.shutdown()
                connections.pop(key, None)
                self.stats.timeWaitRecycled += 1
                return True
        return False

    def connectionClosed(self, connection: TCPConnection) -> None:
        """
        A connection's machine reached CLOSED: forget it (called once by
        the connection).

        @param connection: the connection.
        """
        key = (connection.localAddress, connection.localPort,
               connection.remoteAddress, connection.remotePort)
        if self.connections.get(key) is connection:
            del self.connections[key]
        self._leaveSynQueue(connection)

    def _ephemeralPort(self, local: bytes, remote: bytes, remotePort: int) -> int:
        """
        Choose a local port for an outgoing connection.

        @param local: our address.
        @param remote: the peer.
        @param remotePort: the peer's port.
        @return: a port making a new 4-tuple, not a listening port.
        @raise error.ConnectError: every ephemeral port is taken.
        """
        span = EPHEMERAL_HIGH - EPHEMERAL_LOW + 1
        start = self._random.randrange(span)
        for i in range(span):
            port = EPHEMERAL_LOW + (start + i) % span
            if ((local, port, remote, remotePort) not in self.connections
                    and (local, port) not in self.listeners
                    and (self.anyAddress, port) not in self.listeners):
                return port
        raise error.ConnectError(string="no free ephemeral port")  # type: ignore[no-untyped-call]

    # -- public API ---------------------------------------------------------

    def setForwarder(self, forwarder: Optional[Forwarder]) -> None:
        """
        Set the hook for SYNs to an (address, port) nobody listens on.

        C{forwarder(localAddress, localPort, remoteAddress, remotePort)}
        (addresses 4 bytes; "local" is the SYN's destination) returns
        C{None} to refuse at once (RST), or a Deferred that fires with a
        protocol factory (the handshake is then completed and the new
        connection's protocol built from it when established; firing with
        C{None} refuses) or fails (RST).  While it is pending, retransmitted
        SYNs are absorbed; at most L{maxPendingForwards} are pending, more
        SYNs are dropped.

        @param forwarder: the hook, or C{None} to remove it.
        """
        self._forwarder = forwarder

    def listen(self, port: int, factory: IProtocolFactory, backlog: int = SOMAXCONN,
               interface: bytes = ANY_ADDRESS) -> TCPListeningPort:
        """
        Accept connections on a port.

        @param port: the port; 0 picks a free ephemeral one.
        @param factory: builds a protocol per accepted connection, called
            with the peer's C{IPv4Address} when the handshake completes
            (returning C{None} resets the connection).
        @param backlog: the most connections in the handshake at once
            (also bounded by L{maxSynQueue} for the whole layer); further
            SYNs are answered with SYN cookies (or dropped when
            L{synCookies} is off).
        @param interface: the local address, 4 bytes (16 on IPv6); all
            zeros for any.
        @return: the listening port (C{stopListening}, C{getHost}).
        @raise error.CannotListenError: the address and port are taken.
        """
        if interface == ANY_ADDRESS:
            interface = self.anyAddress
        if port == 0:
            for _ in range(1000):
                port = self._random.randint(EPHEMERAL_LOW, EPHEMERAL_HIGH)
                if (interface, port) not in self.listeners:
                    break
        if (interface, port) in self.listeners:
            raise error.CannotListenError(socket.inet_ntop(  # type: ignore[no-untyped-call]
                socket.AF_INET6 if self.ipv6 else socket.AF_INET, interface), port,
                                          OSError("address already in use"))
        listener = TCPListeningPort(self, factory, interface, port, backlog)
        listener.startListening()
        return listener

    def connect(self, host: bytes, port: int, factory: IProtocolFactory,
                timeout: float = 30, bindAddress: Optional[Tuple[bytes, int]] = None,
                ) -> "defer.Deferred[IProtocol]":
        """
        Open a connection.

        @param host: the peer's address, 4 bytes (16 on IPv6).
        @param port: the peer's port.
        @param factory: its C{buildProtocol} is called with the peer's
            C{IPv4Address} once the handshake completes.
        @param timeout: seconds before giving up on the handshake.
        @param bindAddress: C{(localAddress, localPort)} to use; by default
            the IPv4 layer's source address for C{host} and an ephemeral
            port (a port of 0 also means ephemeral).
        @return: a Deferred firing with the connected protocol, or failing
            with C{ConnectionRefusedError} (RST), C{TCPTimedOutError},
            C{ConnectError} (no port, factory returned C{None}: then
            C{ConnectionAborted}); cancelling it aborts the attempt.
        """
        if bindAddress is not None and bindAddress[0] not in (ANY_ADDRESS, self.anyAddress):
            local = bindAddress[0]
        else:
            local = self.ip.sourceFor(host)
        try:
            if bindAddress is not None and bindAddress[1]:
                localPort = bindAddress[1]
            else:
                localPort = self._ephemeralPort(local, host, port)
        except error.ConnectError:
            return defer.fail()
        key = (local, localPort, host, port)
        if key in self.connections:
            return defer.fail(error.ConnectBindError(string="4-tuple in use"))  # type: ignore[no-untyped-call]
        if not self._makeRoom():
            return defer.fail(error.ConnectError(string="too many connections"))  # type: ignore[no-untyped-call]
        holder: Dict[str, TCPConnection] = {}

        cancelled = []

        def cancel(d: "defer.Deferred[IProtocol]") -> None:
            """
            Abandon the attempt (the Deferred fails with C{CancelledError}).

            @param d: the Deferred being cancelled.
            """
            cancelled.append(True)
            connection = holder.get("connection")
            if connection is not None:
                connection.abortConnection()

        d: "defer.Deferred[IProtocol]" = defer.Deferred(cancel)

        def onFailure(reason: failure.Failure) -> None:
            """
            The attempt failed before the handshake completed.

            @param reason: why.
            """
            if not d.called:
                d.errback(defer.CancelledError() if cancelled else reason)

        def onConnected(protocol: IProtocol) -> None:
            """
            The handshake completed and the protocol is connected.

            @param protocol: the protocol.
            """
            if not d.called:
                d.callback(protocol)

        def buildProtocol(connection: TCPConnection) -> Optional[IProtocol]:
            """
            Build the protocol from the caller's factory.

            @param connection: the new connection.
            @return: the protocol.
            """
            return factory.buildProtocol(connection.getPeer())

        connection = self._newConnection(key, buildProtocol, onFailure, onConnected)
        holder["connection"] = connection
        self.stats.connectionsOpened += 1
        connection.machine.connect(self.reactor.seconds(), timeout)
        connection.start()
        return d
