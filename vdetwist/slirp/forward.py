# -*- test-case-name: tests.slirp.test_forward -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Relaying byte streams between a host socket and a guest connection, and
slirp's inbound port forwards (C{-L}, C{-U}).

Every proxied TCP connection is a L{Relay} of two L{ProxyEnd}s, built as
C{twisted/protocols/portforward.py} builds its proxies: the side that
exists first is paused until the other is connected (a forward's host
side reads ahead a little instead, see L{ProxyEnd.earlyLimit}), then each
transport
is the other's streaming producer (so a slow reader stops the fast
writer, with no unbounded buffering), bytes go both ways, a half-close
(FIN) on one side becomes a half-close on the other, and a reset or a
vanished peer closes (or resets) the other side.  An idle relay is
aborted.

A L{TCPForward} is one C{-L [HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT}: a
host listening socket whose connections are each relayed to a new TCP
connection over the virtual LAN, from the gateway's address; the guest
connect retransmits its SYN for as long as a kernel's connect would (about
two minutes) while the host client is still there, so a guest that is
slow to accept (a burst that overflows its SYN queue) loses nothing.  A
L{UDPForward} is one C{-U}: a host UDP socket whose clients each get a
flow (a virtual UDP socket on the gateway) that ages out when idle.
"""

from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from twisted.internet import error
from twisted.internet.defer import Deferred
from twisted.internet.interfaces import IHalfCloseableProtocol
from twisted.internet.protocol import DatagramProtocol, Factory, Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.wire.addr import formatIPv4, parseIPv4
from vdetwist.wire.addr6 import LOOPBACK, formatIPv6, parseIPv6

__all__ = [
    "ForwardSpec", "parseForwardSpec", "ForwardCounters", "ProxyEnd", "Relay",
    "TCPForward", "UDPForward",
]

_log = Logger()

#: The host listening sockets' backlog (Twisted's default of 50 drops
#: connections when hundreds arrive at once).
LISTEN_BACKLOG = 1024

#: Seconds between two log messages about a forward's failed guest
#: connections (the others in between are counted into the next one): a
#: flood of host connections the guest side refuses must not cost a log
#: line each, nor rotate the log away.
FAILURE_LOG_INTERVAL = 1.0

#: Bytes a forward's host side reads while the guest connection is being
#: made (so that a host client that goes away is noticed, and the attempt
#: given up); beyond it reading pauses until the guest is connected.
EARLY_DATA_LIMIT = 64 * 1024


@dataclass(frozen=True)
class ForwardSpec:
    """
    A forward as given on the command line.

    @ivar hostAddress: the host address to listen on (dotted; C{""} for
        all, as slirpvde's 0.0.0.0).
    @ivar hostPort: the host port (0: allocate one).
    @ivar guestAddress: the guest's address, 4 bytes (16 for an IPv6 guest).
    @ivar guestPort: the guest's port.
    """

    hostAddress: str
    hostPort: int
    guestAddress: bytes
    guestPort: int

    def __str__(self) -> str:
        """
        The spec as slirpvde prints it (C{HOSTPORT:GUESTADDR:GUESTPORT},
        with the host address first when one was given).
        """
        prefix = ""
        if self.hostAddress:
            prefix = (f"[{self.hostAddress}]:" if ":" in self.hostAddress
                      else f"{self.hostAddress}:")
        return f"{prefix}{self.hostPort}:{formatEndpoint(self.guestAddress, self.guestPort)}"


def _port(text: str, what: str, allowZero: bool) -> int:
    """
    Parse a port number.

    @param text: the text.
    @param what: its name, for the error.
    @param allowZero: whether 0 is valid.
    @return: the port.
    @raise ValueError: not a port.
    """
    if not text.isdigit():
        raise ValueError(f"bad {what} {text!r}")
    port = int(text)
    if not (0 if allowZero else 1) <= port <= 65535:
        raise ValueError(f"{what} out of range: {port}")
    return port


def _splitSpec(text: str) -> List[Tuple[str, bool]]:
    """
    Split a forward spec on colons, keeping bracketed IPv6 literals whole.

    @param text: the spec.
    @return: (part, bracketed) pairs.
    @raise ValueError: an unclosed bracket or text after one.
    """
    parts: List[Tuple[str, bool]] = []
    rest = text
    while True:
        if rest.startswith("["):
            close = rest.find("]")
            if close < 0:
                raise ValueError(f"unclosed [ in forward {text!r}")
            parts.append((rest[1:close], True))
            rest = rest[close + 1:]
            if not rest:
                return parts
            if not rest.startswith(":"):
                raise ValueError(f"a ':' must follow ']' in forward {text!r}")
            rest = rest[1:]
            continue
        part, colon, rest = rest.partition(":")
        parts.append((part, False))
        if not colon:
            return parts


def formatEndpoint(address: Union[str, bytes], port: int) -> str:
    """
    C{ADDR:PORT}, with an IPv6 address in brackets.

    @param address: dotted or IPv6 text, or 4 or 16 bytes.
    @param port: the port.
    @return: the text.
    """
    if isinstance(address, bytes):
        address = formatIPv6(address) if len(address) == 16 else formatIPv4(address)
    if ":" in address:
        return f"[{address}]:{port}"
    return f"{address}:{port}"


def parseForwardSpec(text: str) -> ForwardSpec:
    """
    Parse C{[HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT}; either address may
    be an IPv6 literal in brackets (C{[::1]:30000:[fd00::100]:10000}).

    @param text: the spec.
    @return: the parsed spec (a 16-byte C{guestAddress} for an IPv6
        guest, the host address as text without brackets).
    @raise ValueError: with a message saying what is wrong.
    """
    parts = _splitSpec(text.strip())
    if len(parts) == 3:
        hostAddress = ""
    elif len(parts) == 4:
        hostAddress, bracketed = parts.pop(0)
        if bracketed:
            parseIPv6(hostAddress)
        else:
            parseIPv4(hostAddress)
    else:
        raise ValueError(
            f"forward {text!r} is not [HOSTADDR:]HOSTPORT:GUESTADDR:GUESTPORT")
    if parts[0][1] or parts[2][1]:
        raise ValueError(f"a port in brackets in forward {text!r}")
    hostPort = _port(parts[0][0], "host port", allowZero=True)
    guestText, bracketed = parts[1]
    guestAddress = parseIPv6(guestText) if bracketed else parseIPv4(guestText)
    parts = [p for p, _ in parts]
    guestPort = _port(parts[2], "guest port", allowZero=False)
    return ForwardSpec(hostAddress, hostPort, guestAddress, guestPort)


class ForwardCounters:
    """
    Traffic counters of a forward (or of the NAT).

    @ivar connections: connections (or flows) started.
    @ivar active: connections (or flows) alive now.
    @ivar failed: connections whose other side could not be reached.
    @ivar bytesToGuest: bytes relayed from the host side to the guest.
    @ivar bytesFromGuest: bytes relayed from the guest to the host side.
    """

    __slots__ = ("connections", "active", "failed", "bytesToGuest", "bytesFromGuest")

    def __init__(self) -> None:
        """
        All zero.
        """
        self.connections = 0
        self.active = 0
        self.failed = 0
        self.bytesToGuest = 0
        self.bytesFromGuest = 0


def _close(transport: Any) -> None:
    """
    Close a transport after its buffered data, with no producer left
    registered (see L{ProxyEnd.readConnectionLost}: a paused producer would
    be resumed instead of the close being finished).

    @param transport: the transport.
    """
    _unregister(transport)
    transport.loseConnection()


def _unregister(transport: Any) -> None:
    """
    Unregister a transport's producer, if it has one (some transports,
    such as Twisted's C{StringTransport}, raise when there is none).

    @param transport: the transport.
    """
    try:
        transport.unregisterProducer()
    except RuntimeError:
        pass


@implementer(IHalfCloseableProtocol)
class ProxyEnd(Protocol):
    """
    One side of a L{Relay}: what it reads, the other side writes.

    @ivar relay: the relay.
    @ivar toGuest: whether this end's reads go to the guest (it is the
        host-side end).
    @ivar peer: the other end, once linked.
    @ivar readClosed: the peer of this transport sent its FIN.
    @ivar writeClosed: our FIN was sent (the write side is shut).
    @ivar lost: the connection is over.
    @ivar bytesRead: bytes this end read (and relayed).
    @ivar earlyLimit: bytes to read and hold before the other side is
        linked (0: read nothing until then); they are relayed first when
        it is.
    @ivar early: the bytes held so far.
    """

    transport: Any
    earlyLimit = 0

    def __init__(self, relay: "Relay", toGuest: bool) -> None:
        """
        @param relay: the relay.
        @param toGuest: whether this is the host-side end.
        """
        self.relay = relay
        self.toGuest = toGuest
        self.peer: Optional[ProxyEnd] = None
        self.readClosed = False
        self.writeClosed = False
        self.lost = False
        self.bytesRead = 0
        self.early = bytearray()
        self.connectedCallback: Optional[Callable[["ProxyEnd"], None]] = None

    def connectionMade(self) -> None:
        """
        Read nothing (or at most L{earlyLimit}) until linked; tell whoever
        waits for this end.
        """
        if self.peer is None and not self.earlyLimit:
            self.transport.pauseProducing()
        callback, self.connectedCallback = self.connectedCallback, None
        if callback is not None:
            callback(self)

    def dataReceived(self, data: bytes) -> None:
        """
        Relay data to the other side.

        @param data: the bytes.
        """
        relay = self.relay
        counters = relay.counters
        if self.toGuest:
            counters.bytesToGuest += len(data)
        else:
            counters.bytesFromGuest += len(data)
        relay.bytes += len(data)
        self.bytesRead += len(data)
        peer = self.peer
        if peer is not None:
            if not peer.lost:
                peer.transport.write(data)
        else:
            self.early += data
            if len(self.early) >= self.earlyLimit:
                self.transport.pauseProducing()

    def flushEarly(self) -> None:
        """
        Linked: relay what was read before, and the half-close if it came
        too.
        """
        peer = self.peer
        assert peer is not None
        if self.early:
            data, self.early = bytes(self.early), bytearray()
            peer.transport.write(data)
        if self.readClosed:
            _unregister(peer.transport)
            peer.transport.loseWriteConnection()

    def readConnectionLost(self) -> None:
        """
        Our peer finished sending: finish sending on the other side too.

        Nothing more will come from this side, so it stops being the other
        side's producer first: a Twisted transport whose buffer drains
        while its streaming producer is paused resumes that producer
        instead of finishing a pending half-close, which would hang the
        connection.  Reading on a virtual TCP connection is resumed, so
        that anything it still holds follows (at most one receive buffer;
        the stack delivers the FIN after the data, this is a safeguard),
        and the full close waits for the next reactor turn.
        """
        self.readClosed = True
        peer = self.peer
        if peer is not None and not peer.lost:
            _unregister(peer.transport)
            if not self.toGuest:
                self.transport.resumeProducing()
            peer.transport.loseWriteConnection()
        if self.toGuest:
            self._checkDone()
        else:
            # The resumed data is delivered when this call returns; closing
            # now would discard it.
            self.relay.reactor.callLater(0, self._checkDone)

    def writeConnectionLost(self) -> None:
        """
        Our write side is shut.
        """
        self.writeClosed = True
        self._checkDone()

    def _checkDone(self) -> None:
        """
        Close once both directions are finished (Twisted's transports keep
        a twice half-closed socket open otherwise).
        """
        if self.readClosed and self.writeClosed and not self.lost:
            _close(self.transport)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        This side is over: tell the relay.

        @param reason: why.
        """
        self.lost = True
        self.relay.endLost(self, reason)


class Relay:
    """
    Two L{ProxyEnd}s relaying to each other, with an idle timeout.

    @ivar reactor: the reactor.
    @ivar counters: the L{ForwardCounters} to count into.
    @ivar hostEnd: the host-side end.
    @ivar guestEnd: the guest-side end, once it exists.
    @ivar bytes: bytes relayed both ways (the idle check compares it).
    @ivar idleTimeout: seconds without traffic before both sides are
        aborted, or C{None}.
    @ivar description: for C{conn/print}.
    @ivar started: when the relay was made.
    @ivar finished: called once when the relay is over, or C{None}.
    """

    def __init__(self, reactor: Any, counters: ForwardCounters, idleTimeout: Optional[float],
                 description: str = "",
                 finished: Optional[Callable[["Relay"], None]] = None) -> None:
        """
        @param reactor: the reactor.
        @param counters: what to count into.
        @param idleTimeout: the idle timeout, or C{None}.
        @param description: a description.
        @param finished: called when both ends are over.
        """
        self.reactor = reactor
        self.counters = counters
        self.idleTimeout = idleTimeout
        self.description = description
        self.finished = finished
        self.started = reactor.seconds()
        self.bytes = 0
        self.hostEnd = ProxyEnd(self, toGuest=True)
        self.guestEnd: Optional[ProxyEnd] = None
        self._done = False
        self._lastBytes = -1
        self._timer: Any = None
        #: A timer to cancel once both ends are linked (or the relay ends).
        self.handshakeTimer: Any = None
        counters.connections += 1
        counters.active += 1
        if idleTimeout is not None:
            self._timer = reactor.callLater(idleTimeout, self._checkIdle)

    def makeGuestEnd(self) -> ProxyEnd:
        """
        Make the guest-side end (it links itself when connected).

        @return: the end.
        """
        end = self.guestEnd = ProxyEnd(self, toGuest=False)
        end.connectedCallback = lambda _: self.link()
        return end

    def link(self) -> None:
        """
        Both ends are connected: make each the other's producer and start
        reading on both.
        """
        host, guest = self.hostEnd, self.guestEnd
        assert guest is not None
        self._cancelHandshakeTimer()
        if host.lost or guest.lost:
            self._abortLive()
            return
        host.peer, guest.peer = guest, host
        host.transport.registerProducer(guest.transport, True)
        if not host.readClosed:
            guest.transport.registerProducer(host.transport, True)
        host.flushEarly()
        if not host.readClosed:
            host.transport.resumeProducing()
        guest.transport.resumeProducing()

    def _cancelHandshakeTimer(self) -> None:
        """
        Cancel L{handshakeTimer} if it is pending.
        """
        timer, self.handshakeTimer = self.handshakeTimer, None
        if timer is not None and timer.active():
            timer.cancel()

    def _abortLive(self) -> None:
        """
        Abort whichever ends are still connected.
        """
        for end in (self.hostEnd, self.guestEnd):
            if end is not None and not end.lost and end.transport is not None:
                end.transport.abortConnection()

    def abort(self) -> None:
        """
        Abort the relay (both sides get a reset).
        """
        self._abortLive()
        self._finish()

    def _checkIdle(self) -> None:
        """
        The idle timer: abort when nothing moved since the last check.
        """
        self._timer = None
        if self._done:
            return
        if self.bytes == self._lastBytes:
            _log.info("relay {relay} idle for {timeout}s: closing", relay=self.description,
                      timeout=self.idleTimeout)
            self.abort()
            return
        self._lastBytes = self.bytes
        self._timer = self.reactor.callLater(self.idleTimeout, self._checkIdle)

    def endLost(self, end: ProxyEnd, reason: Failure) -> None:
        """
        One end's connection is over: close the other (a reset before the
        end's FIN becomes a reset, anything else a close after the buffered
        data), and finish when both are over.

        @param end: the end that was lost.
        @param reason: why.
        """
        other = self.guestEnd if end is self.hostEnd else self.hostEnd
        if other is not None and other.transport is not None and not other.lost:
            if other.peer is None or end.readClosed or reason.check(error.ConnectionDone):
                # A reset after the end's FIN must not throw away what it
                # sent before: that is still in the other side's buffer.
                _close(other.transport)
            else:
                other.transport.abortConnection()
        if other is None or other.lost or other.transport is None:
            self._finish()

    def failed(self) -> None:
        """
        The guest side could not be reached: close the host side.
        """
        self.counters.failed += 1
        if not self.hostEnd.lost and self.hostEnd.transport is not None:
            self.hostEnd.transport.loseConnection()
        else:
            self._finish()

    def _finish(self) -> None:
        """
        Count the relay over, once.
        """
        if self._done:
            return
        self._done = True
        self._cancelHandshakeTimer()
        self.counters.active -= 1
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None
        if self.finished is not None:
            self.finished(self)


class _EndFactory(Factory):
    """
    Builds one given protocol (for an endpoint or a connect call).
    """

    def __init__(self, end: ProxyEnd) -> None:
        """
        @param end: the protocol to return.
        """
        self.end = end

    def buildProtocol(self, addr: Any) -> ProxyEnd:
        """
        @return: the end.
        """
        return self.end


class _HostListenerFactory(Factory):
    """
    The factory of a L{TCPForward}'s host listening socket.
    """

    noisy = False

    def __init__(self, forward: "TCPForward") -> None:
        """
        @param forward: the forward.
        """
        self.forward = forward

    def buildProtocol(self, addr: Any) -> Optional[ProxyEnd]:
        """
        A host client connected: start a relay.

        @param addr: the client's address.
        @return: the host end, or C{None} to refuse.
        """
        return self.forward._accepted(addr)


class TCPForward:
    """
    One inbound TCP forward: host connections to C{hostAddress:hostPort}
    are relayed to C{guestAddress:guestPort} over the virtual LAN.

    @ivar spec: the L{ForwardSpec}.
    @ivar counters: the L{ForwardCounters}.
    @ivar relays: the live relays.
    @ivar listeningPort: the host listening port while listening.
    @ivar maxConnections: the most live relays; more are refused.
    """

    def __init__(self, reactor: Any, tcp: Any, gatewayAddress: bytes, spec: ForwardSpec,
                 connectTimeout: Optional[float] = None,
                 idleTimeout: Optional[float] = 7200.0,
                 maxConnections: int = 4096, preserveSource: bool = False) -> None:
        """
        @param reactor: the reactor (C{listenTCP}, time).
        @param tcp: the gateway's L{vdetwist.stack.tcp.demux.TCPLayer}.
        @param gatewayAddress: the source address of guest connections.
        @param spec: the forward.
        @param connectTimeout: seconds to wait for the guest's handshake;
            by default as long as the TCP layer's SYN retries last (about
            two minutes, as a Linux connect), unless the host client goes
            away first.
        @param idleTimeout: idle seconds before a relay is aborted.
        @param maxConnections: the most live relays.
        @param preserveSource: connect to the guest from the host client's
            address and port instead of the gateway's.
        """
        self.reactor = reactor
        self.tcp = tcp
        self.gatewayAddress = gatewayAddress
        self.spec = spec
        self.connectTimeout = connectTimeout
        self.idleTimeout = idleTimeout
        self.maxConnections = maxConnections
        self.preserveSource = preserveSource
        self.counters = ForwardCounters()
        self.relays: Dict[Relay, Optional["Deferred[Any]"]] = {}
        self.listeningPort: Any = None
        self._failureLogAt = float("-inf")
        self._failuresUnlogged = 0

    @property
    def hostPort(self) -> int:
        """
        The host port actually listened on (the allocated one for port 0).
        """
        if self.listeningPort is not None:
            return int(self.listeningPort.getHost().port)
        return self.spec.hostPort

    def startListening(self) -> None:
        """
        Listen on the host.

        @raise CannotListenError: the port is taken.
        """
        self.listeningPort = self.reactor.listenTCP(
            self.spec.hostPort, _HostListenerFactory(self), backlog=LISTEN_BACKLOG,
            interface=self.spec.hostAddress or "0.0.0.0")

    def stopListening(self) -> Any:
        """
        Stop accepting; live connections go on.

        @return: the port's C{stopListening} result.
        """
        port, self.listeningPort = self.listeningPort, None
        if port is not None:
            return port.stopListening()
        return None

    def abortAll(self) -> None:
        """
        Abort every live relay.
        """
        for relay in list(self.relays):
            relay.abort()

    def guestUnreachable(self) -> None:
        """
        The guest did not answer ARP: fail the connections waiting for
        its handshake at once.
        """
        for relay, pending in list(self.relays.items()):
            if pending is not None:
                pending.cancel()

    def _accepted(self, addr: Any) -> Optional[ProxyEnd]:
        """
        A host client connected.

        @param addr: its address.
        @return: the host end, or C{None} when at the bound.
        """
        if len(self.relays) >= self.maxConnections:
            self.counters.failed += 1
            return None
        relay = Relay(self.reactor, self.counters, self.idleTimeout,
                      f"{formatEndpoint(addr.host, addr.port)} -> "
                      f"{formatEndpoint(self.spec.guestAddress, self.spec.guestPort)}",
                      self._relayFinished)
        self.relays[relay] = None
        relay.hostEnd.earlyLimit = EARLY_DATA_LIMIT
        relay.hostEnd.connectedCallback = lambda end: self._connectGuest(relay, addr)
        return relay.hostEnd

    def _connectGuest(self, relay: Relay, addr: Any) -> None:
        """
        The host end is connected (and paused): connect to the guest.

        @param relay: the relay.
        @param addr: the host client's address.
        """
        bind: Tuple[bytes, int] = (self.gatewayAddress, 0)
        if self.preserveSource:
            # Only a client of the guest's family can be its source (an
            # IPv4 client of a forward to an IPv6 guest comes from the
            # gateway, and the other way round).
            try:
                if len(self.gatewayAddress) == 16:
                    host = parseIPv6(addr.host.partition("%")[0])
                    if host[:12] != b"\0" * 10 + b"\xff\xff" and host != LOOPBACK:
                        bind = (host, int(addr.port))
                else:
                    bind = (parseIPv4(addr.host), int(addr.port))
            except ValueError:
                pass
        guestEnd = relay.makeGuestEnd()
        d = self.tcp.connect(self.spec.guestAddress, self.spec.guestPort,
                             _EndFactory(guestEnd), timeout=self.connectTimeout,
                             bindAddress=bind)
        if relay in self.relays:
            self.relays[relay] = d

        def connected(end: Any) -> None:
            if relay in self.relays:
                self.relays[relay] = None

        def failed(reason: Failure) -> None:
            if relay not in self.relays:
                return
            self.relays[relay] = None
            self._logFailure(reason)
            relay.failed()

        d.addCallbacks(connected, failed)

    def _logFailure(self, reason: Failure) -> None:
        """
        Log a failed guest connection, at most once per
        L{FAILURE_LOG_INTERVAL}; the failures in between are counted into
        the next message (and all of them into C{counters.failed}).

        @param reason: why it failed.
        """
        now = self.reactor.seconds()
        if now < self._failureLogAt:
            self._failuresUnlogged += 1
            return
        self._failureLogAt = now + FAILURE_LOG_INTERVAL
        more, self._failuresUnlogged = self._failuresUnlogged, 0
        _log.info("forward {spec}: guest connection failed: {reason}{more}",
                  spec=str(self.spec), reason=reason.getErrorMessage(),
                  more=f" (and {more} more since the last message)" if more else "")

    def _relayFinished(self, relay: Relay) -> None:
        """
        Forget a finished relay; cancel its guest connect if pending.

        @param relay: the relay.
        """
        pending = self.relays.pop(relay, None)
        if pending is not None and not pending.called:
            pending.cancel()


class _UDPFlowProtocol(DatagramProtocol):
    """
    The gateway-side virtual socket of one L{UDPForward} flow: datagrams
    from the guest go back to the host client.
    """

    transport: Any

    def __init__(self, forward: "UDPForward", client: Tuple[str, int]) -> None:
        """
        @param forward: the forward.
        @param client: the host client's address.
        """
        self.forward = forward
        self.client = client
        self.lastSeen = forward.reactor.seconds()

    def datagramReceived(self, data: bytes, addr: Tuple[str, int]) -> None:
        """
        A reply from the guest.

        @param data: the payload.
        @param addr: the guest's address.
        """
        forward = self.forward
        forward.counters.bytesFromGuest += len(data)
        self.lastSeen = forward.reactor.seconds()
        hostProtocol = forward.hostProtocol
        if hostProtocol.transport is not None:
            hostProtocol.transport.write(data, self.client)


class _UDPHostProtocol(DatagramProtocol):
    """
    The host socket of a L{UDPForward}.
    """

    def __init__(self, forward: "UDPForward") -> None:
        """
        @param forward: the forward.
        """
        self.forward = forward

    def datagramReceived(self, data: bytes, addr: Tuple[str, int]) -> None:
        """
        A datagram from a host client: relay it on its flow.

        @param data: the payload.
        @param addr: the client.
        """
        self.forward._fromHost(data, addr)


class UDPForward:
    """
    One inbound UDP forward (C{-U}): each host client (address, port) gets
    a flow, a virtual UDP socket on the gateway connected to the guest;
    flows idle for L{flowTimeout} seconds are closed, and there are at
    most L{maxFlows}.

    @ivar spec: the L{ForwardSpec}.
    @ivar counters: the L{ForwardCounters} (flows count as connections).
    @ivar flows: client address to flow protocol.
    """

    def __init__(self, reactor: Any, udp: Any, gatewayAddress: bytes, spec: ForwardSpec,
                 flowTimeout: float = 60.0, maxFlows: int = 256) -> None:
        """
        @param reactor: the reactor (C{listenUDP}, time).
        @param udp: the gateway's L{vdetwist.stack.udp.UDPLayer}.
        @param gatewayAddress: the flows' source address.
        @param spec: the forward.
        @param flowTimeout: idle seconds before a flow is closed.
        @param maxFlows: the most flows.
        """
        self.reactor = reactor
        self.udp = udp
        self.gatewayAddress = gatewayAddress
        self.spec = spec
        self.flowTimeout = flowTimeout
        self.maxFlows = maxFlows
        self.counters = ForwardCounters()
        self.flows: Dict[Tuple[str, int], _UDPFlowProtocol] = {}
        self.hostProtocol = _UDPHostProtocol(self)
        self.listeningPort: Any = None
        self._sweeper: Any = None
        self.dropped: Counter[str] = Counter()

    @property
    def hostPort(self) -> int:
        """
        The host port listened on.
        """
        if self.listeningPort is not None:
            return int(self.listeningPort.getHost().port)
        return self.spec.hostPort

    def startListening(self) -> None:
        """
        Bind the host socket.

        @raise CannotListenError: the port is taken.
        """
        self.listeningPort = self.reactor.listenUDP(
            self.spec.hostPort, self.hostProtocol, interface=self.spec.hostAddress or "0.0.0.0")

    def stopListening(self) -> Any:
        """
        Close the host socket and every flow.

        @return: the port's C{stopListening} result.
        """
        for client in list(self.flows):
            self._close(client)
        if self._sweeper is not None and self._sweeper.active():
            self._sweeper.cancel()
        self._sweeper = None
        port, self.listeningPort = self.listeningPort, None
        if port is not None:
            return port.stopListening()
        return None

    def _fromHost(self, data: bytes, client: Tuple[str, int]) -> None:
        """
        Relay a host client's datagram to the guest, opening its flow.

        @param data: the payload.
        @param client: the client.
        """
        flow = self.flows.get(client)
        if flow is None:
            if len(self.flows) >= self.maxFlows:
                self.dropped["tooManyFlows"] += 1
                return
            flow = _UDPFlowProtocol(self, client)
            try:
                port = self.udp.listenUDP(0, flow, interface=self.gatewayAddress)
            except error.CannotListenError:
                self.dropped["noSocket"] += 1
                return
            guest = self.spec.guestAddress
            port.connect(formatIPv6(guest) if len(guest) == 16 else formatIPv4(guest),
                         self.spec.guestPort)
            self.flows[client] = flow
            self.counters.connections += 1
            self.counters.active += 1
            self._scheduleSweep()
        flow.lastSeen = self.reactor.seconds()
        self.counters.bytesToGuest += len(data)
        try:
            flow.transport.write(data)
        except Exception:
            self.dropped["sendFailed"] += 1

    def _close(self, client: Tuple[str, int]) -> None:
        """
        Close one flow.

        @param client: its client.
        """
        flow = self.flows.pop(client, None)
        if flow is not None:
            self.counters.active -= 1
            if flow.transport is not None:
                flow.transport.stopListening()

    def _scheduleSweep(self) -> None:
        """
        Make sure the aging timer runs while there are flows.
        """
        if self._sweeper is None or not self._sweeper.active():
            self._sweeper = self.reactor.callLater(self.flowTimeout / 2, self._sweep)

    def _sweep(self) -> None:
        """
        Close the flows idle for longer than L{flowTimeout}.
        """
        self._sweeper = None
        now = self.reactor.seconds()
        for client, flow in list(self.flows.items()):
            if now - flow.lastSeen >= self.flowTimeout:
                self._close(client)
        if self.flows:
            self._scheduleSweep()
