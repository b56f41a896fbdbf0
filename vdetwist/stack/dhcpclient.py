# -*- test-case-name: tests.stack.test_dhcpclient -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A DHCP client (RFC 2131) for a L{VirtualHost}, as lwipv6 has one: it
takes the host's address, prefix, default gateway and DNS servers from a
DHCP server on the virtual LAN (slirp's, Debian's slirpvde, dnsmasq).

The client runs RFC 2131's state machine (section 4.4, figure 5):

    INIT --DISCOVER--> SELECTING --OFFER/REQUEST--> REQUESTING --ACK--> BOUND
    BOUND --T1--> RENEWING (REQUEST unicast to the server)
    RENEWING --T2--> REBINDING (REQUEST broadcast)
    RENEWING/REBINDING --ACK--> BOUND;  --lease expires--> INIT (address removed)
    REQUESTING/RENEWING/REBINDING --NAK--> INIT (address removed)

DISCOVERs and SELECTING REQUESTs are retransmitted after 4, 8, 16, 32
and then every 64 seconds, each delay randomized by up to a second either
way; in RENEWING and REBINDING a REQUEST is sent again after half the time
left to T2 (or to the lease's end), at least 60 seconds later.  A REQUEST
that stays unanswered L{DHCPClient.maxRequests} times sends the client back
to INIT.  L{DHCPClient.stop} releases the lease (a DHCPRELEASE to the
server) and removes the address.

It talks through the host's UDP layer: port 68 bound to every address,
from 0.0.0.0 to 255.255.255.255 port 67 while the host is unconfigured
(L{VirtualHost.configure} and L{VirtualHost.unconfigure} are its hooks);
replies come to the limited broadcast, which an unconfigured host still
receives.  Every timer goes through the reactor given, so
L{twisted.internet.task.Clock} drives it in tests.

    >>> client = DHCPClient(reactor, host)
    >>> client.start()
    >>> client.whenBound().addCallback(lambda lease: print(lease.describe()))
    10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3
"""

import random
from collections import Counter
from dataclasses import dataclass
from typing import Any, Callable, List, Optional, Tuple

from twisted.internet import defer
from twisted.internet.protocol import DatagramProtocol
from twisted.logger import Logger

from vdetwist.wire.addr import ANY_IPV4, BROADCAST_IPV4, formatIPv4, prefixFromNetmask
from vdetwist.wire.dhcp import (
    CLIENT_PORT,
    DHCPACK,
    DHCPDISCOVER,
    DHCPNAK,
    DHCPOFFER,
    DHCPRELEASE,
    DHCPREQUEST,
    OP_REPLY,
    OP_REQUEST,
    OPTION_DNS,
    OPTION_LEASE_TIME,
    OPTION_REBINDING_TIME,
    OPTION_RENEWAL_TIME,
    OPTION_ROUTER,
    OPTION_SERVER_IDENTIFIER,
    OPTION_SUBNET_MASK,
    SERVER_PORT,
    DHCPRepr,
)
from vdetwist.wire.frames import MalformedPacket

__all__ = ["DHCPClient", "DHCPLease", "DHCPTimeout", "INFINITE_LEASE"]

_log = Logger()

#: The lease time that never ends (RFC 2131 section 3.3).
INFINITE_LEASE = 0xFFFFFFFF

#: The options we ask for (option 55).
PARAMETERS = (OPTION_SUBNET_MASK, OPTION_ROUTER, OPTION_DNS, OPTION_LEASE_TIME,
              OPTION_SERVER_IDENTIFIER, OPTION_RENEWAL_TIME, OPTION_REBINDING_TIME)

# The states of RFC 2131's figure 5.
STOPPED = "stopped"
INIT = "init"
SELECTING = "selecting"
REQUESTING = "requesting"
BOUND = "bound"
RENEWING = "renewing"
REBINDING = "rebinding"

#: The states in which the host holds the lease's address.
_HOLDING = (BOUND, RENEWING, REBINDING)


class DHCPTimeout(Exception):
    """
    No DHCP server gave a lease in time.
    """


@dataclass(frozen=True)
class DHCPLease:
    """
    A lease as the server acknowledged it.

    @ivar address: our address, 4 bytes.
    @ivar prefixLength: the subnet's prefix length (option 1).
    @ivar routers: the routers (option 3), the first one the default
        gateway.
    @ivar dnsServers: the DNS servers (option 6).
    @ivar serverIdentifier: the server (option 54).
    @ivar leaseTime: the lease time in seconds (option 51), or C{None}
        when infinite.
    @ivar renewalTime: T1, seconds after L{obtained}.
    @ivar rebindingTime: T2, seconds after L{obtained}.
    @ivar obtained: when the lease started (when its REQUEST was sent).
    """

    address: bytes
    prefixLength: int
    routers: Tuple[bytes, ...]
    dnsServers: Tuple[bytes, ...]
    serverIdentifier: bytes
    leaseTime: Optional[int]
    renewalTime: float
    rebindingTime: float
    obtained: float

    @property
    def router(self) -> Optional[bytes]:
        """
        The default gateway: the first router, or C{None}.
        """
        return self.routers[0] if self.routers else None

    def describe(self) -> str:
        """
        The lease in one line: C{10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3}
        (C{router -} or C{dns -} when the server gave none).
        """
        router = formatIPv4(self.routers[0]) if self.routers else "-"
        dns = " ".join(formatIPv4(a) for a in self.dnsServers) or "-"
        return f"{formatIPv4(self.address)}/{self.prefixLength} router {router} dns {dns}"


def _prefixLength(mask: Optional[bytes], address: bytes) -> int:
    """
    The prefix length from option 1, or the address's class when the
    server sent no (or a non-contiguous) mask.

    @param mask: option 1, or C{None}.
    @param address: the leased address.
    @return: 0 to 32.
    """
    if mask is not None:
        try:
            return prefixFromNetmask(mask)
        except ValueError:
            pass
    first = address[0]
    return 8 if first < 128 else 16 if first < 192 else 24


class _ClientProtocol(DatagramProtocol):
    """
    The client's socket on UDP port 68.
    """

    def __init__(self, client: "DHCPClient") -> None:
        """
        @param client: the client to hand messages to.
        """
        self.client = client

    def datagramReceived(self, datagram: bytes, addr: Tuple[str, int]) -> None:
        """
        A message for port 68.

        @param datagram: the DHCP message.
        @param addr: the sender.
        """
        self.client.messageReceived(datagram, addr)


class DHCPClient:
    """
    The DHCP client of one L{VirtualHost}.

    @ivar host: the host it configures.
    @ivar state: the RFC 2131 state: C{"stopped"}, C{"init"},
        C{"selecting"}, C{"requesting"}, C{"bound"}, C{"renewing"} or
        C{"rebinding"}.
    @ivar lease: the current lease (while bound, renewing or rebinding),
        else C{None}.
    @ivar hostName: sent as option 12, or C{None}.
    @ivar broadcastFlag: ask servers to broadcast their replies (for
        servers that would otherwise unicast to the offered address).
    @ivar initialInterval: the first retransmission delay (4 s).
    @ivar maxInterval: the longest retransmission delay (64 s).
    @ivar jitter: each retransmission delay is moved by a random amount
        up to this many seconds either way (1 s; 0 in tests).
    @ivar maxRequests: REQUESTs sent in REQUESTING before starting over.
    @ivar counters: C{discoversSent}, C{requestsSent}, C{releasesSent},
        C{retransmissions}, C{offersReceived}, C{acksReceived},
        C{naksReceived}, C{malformed}, C{ignored} (not a reply to us, or
        not expected in this state), C{bound}, C{renewed}, C{rebound},
        C{expired}, C{requestTimeouts}.
    """

    def __init__(self, reactor: Any, host: Any, hostName: Optional[bytes] = None,
                 broadcastFlag: bool = False, initialInterval: float = 4.0,
                 maxInterval: float = 64.0, jitter: float = 1.0, maxRequests: int = 4,
                 randomSource: Optional[random.Random] = None) -> None:
        """
        @param reactor: an C{IReactorTime}.
        @param host: the L{VirtualHost} (its C{udp}, C{mac}, C{configure},
            C{unconfigure}).
        @param hostName: option 12, or C{None}.
        @param broadcastFlag: set the BOOTP broadcast flag.
        @param initialInterval: the first retransmission delay.
        @param maxInterval: the longest retransmission delay.
        @param jitter: the randomization of each delay, in seconds.
        @param maxRequests: unanswered REQUESTs before starting over.
        @param randomSource: where transaction IDs and jitter come from.
        """
        self.reactor = reactor
        self.host = host
        self.hostName = hostName
        self.broadcastFlag = broadcastFlag
        self.initialInterval = initialInterval
        self.maxInterval = maxInterval
        self.jitter = jitter
        self.maxRequests = maxRequests
        self.state = STOPPED
        self.lease: Optional[DHCPLease] = None
        self.counters: Counter[str] = Counter()
        self._random = randomSource if randomSource is not None else random.Random()
        self._port: Any = None
        self._xid = 0
        self._started = 0.0
        self._requestTime = 0.0
        self._interval = initialInterval
        self._tries = 0
        self._offer: Optional[DHCPRepr] = None
        self._previous: Optional[bytes] = None
        self._retransmit: Any = None
        self._leaseTimers: List[Any] = []
        self._observers: List[Callable[[Optional[DHCPLease]], None]] = []
        self._waiting: List["defer.Deferred[DHCPLease]"] = []

    # -- public ------------------------------------------------------------------

    def start(self) -> None:
        """
        Bind UDP port 68 and start discovering (the host should be attached
        and unconfigured).
        """
        if self.state != STOPPED:
            return
        self._port = self.host.udp.listenUDP(CLIENT_PORT, _ClientProtocol(self))
        self._port.setBroadcastAllowed(True)
        self._init()

    def stop(self) -> None:
        """
        Stop: release the lease (a DHCPRELEASE unicast to the server, or
        broadcast when its MAC is not known),
        remove the address, close the socket and cancel every timer.
        Callers still waiting in L{whenBound} get a
        L{defer.CancelledError}.
        """
        if self.state == STOPPED:
            return
        lease = self.lease
        if lease is not None and self.state in _HOLDING:
            self._xid = self._newXID()
            # Unicast when the server's MAC is known; else broadcast, as
            # the host may stop (and drop what waits for ARP) right after.
            server = lease.serverIdentifier
            lookup = getattr(getattr(self.host, "arp", None), "lookup", None)
            if lookup is not None and lookup(server) is None:
                server = BROADCAST_IPV4
            self._send(DHCPRepr(
                op=OP_REQUEST, transactionID=self._xid,
                clientHardwareAddress=self.host.mac, messageType=DHCPRELEASE,
                clientAddress=lease.address, serverIdentifier=lease.serverIdentifier,
                clientIdentifier=self._clientIdentifier()), server)
            self.counters["releasesSent"] += 1
        self._cancelRetransmit()
        self._cancelLeaseTimers()
        self.state = STOPPED
        if lease is not None:
            self.lease = None
            self.host.unconfigure()
            self._notify(None)
        if self._port is not None:
            port, self._port = self._port, None
            port.stopListening()
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.cancel()

    def whenBound(self, timeout: Optional[float] = None) -> "defer.Deferred[DHCPLease]":
        """
        Wait for a lease.

        @param timeout: seconds to wait, or C{None} for ever.
        @return: a Deferred firing with the L{DHCPLease} at once when the
            client holds one, else when it gets one; failing with
            L{DHCPTimeout} when C{timeout} passes first.
        """
        if self.lease is not None and self.state in _HOLDING:
            return defer.succeed(self.lease)
        d: defer.Deferred[DHCPLease] = defer.Deferred(
            lambda d: self._waiting.remove(d) if d in self._waiting else None)
        self._waiting.append(d)
        if timeout is not None:
            d.addTimeout(timeout, self.reactor)
            d.addErrback(_translateTimeout, timeout)
        return d

    def addObserver(self, observer: Callable[[Optional[DHCPLease]], None]) -> None:
        """
        Call C{observer(lease)} each time a lease is bound or changes
        (address, prefix, routers or DNS servers), and C{observer(None)}
        when the address is lost (expiry, NAK, L{stop}).

        @param observer: the callable.
        """
        self._observers.append(observer)

    # -- sending -----------------------------------------------------------------

    def _newXID(self) -> int:
        """
        A fresh transaction ID.
        """
        return self._random.getrandbits(32)

    def _clientIdentifier(self) -> bytes:
        """
        Option 61: hardware type 1 and our MAC, as most clients send.
        """
        return b"\x01" + bytes(self.host.mac)

    def _secs(self) -> int:
        """
        The secs field: seconds since this acquisition or renewal began.
        """
        return min(0xFFFF, max(0, int(self.reactor.seconds() - self._started)))

    def _message(self, messageType: int, **fields: Any) -> DHCPRepr:
        """
        A client message of our transaction, with our identification and
        parameter request list.

        @param messageType: the DHCP message type.
        @param fields: further L{DHCPRepr} fields.
        @return: the message.
        """
        return DHCPRepr(
            op=OP_REQUEST, transactionID=self._xid, clientHardwareAddress=self.host.mac,
            messageType=messageType, secs=self._secs(), broadcast=self.broadcastFlag,
            hostName=self.hostName, parameterRequestList=PARAMETERS,
            clientIdentifier=self._clientIdentifier(), **fields)

    def _send(self, message: DHCPRepr, destination: bytes = BROADCAST_IPV4) -> None:
        """
        Send a message to the server port.

        @param message: the message.
        @param destination: the limited broadcast, or the server's address.
        """
        if self._port is None:
            return
        try:
            self._port.write(message.emit(), (formatIPv4(destination), SERVER_PORT))
        except (OSError, ValueError) as e:
            _log.warn("DHCP: cannot send: {error}", error=e)

    def _delay(self) -> float:
        """
        The next SELECTING/REQUESTING retransmission delay (doubled each
        time up to L{maxInterval}), randomized by L{jitter}.
        """
        interval = self._interval
        self._interval = min(self.maxInterval, interval * 2)
        if self.jitter:
            interval += self._random.uniform(-self.jitter, self.jitter)
        return max(0.0, interval)

    def _schedule(self, delay: float, call: Callable[[], None]) -> None:
        """
        (Re)arm the retransmission timer.

        @param delay: seconds.
        @param call: what to do then.
        """
        self._cancelRetransmit()
        self._retransmit = self.reactor.callLater(delay, call)

    def _cancelRetransmit(self) -> None:
        """
        Disarm the retransmission timer.
        """
        if self._retransmit is not None and self._retransmit.active():
            self._retransmit.cancel()
        self._retransmit = None

    def _cancelLeaseTimers(self) -> None:
        """
        Disarm T1, T2 and the expiry.
        """
        for timer in self._leaseTimers:
            if timer.active():
                timer.cancel()
        self._leaseTimers = []

    # -- INIT, SELECTING, REQUESTING ------------------------------------------------

    def _init(self) -> None:
        """
        Enter INIT and send the first DISCOVER (at once: the host was just
        attached, RFC 2131's random start delay only spreads boot storms).
        """
        self.state = SELECTING
        self._xid = self._newXID()
        self._started = self.reactor.seconds()
        self._interval = self.initialInterval
        self._tries = 0
        self._offer = None
        self._discover()

    def _discover(self) -> None:
        """
        Send (or resend) a DISCOVER and arm its retransmission.
        """
        if self._tries:
            self.counters["retransmissions"] += 1
        self._tries += 1
        self.counters["discoversSent"] += 1
        self._send(self._message(DHCPDISCOVER, requestedAddress=self._previous))
        self._schedule(self._delay(), self._discover)

    def _select(self, offer: DHCPRepr) -> None:
        """
        Take the first offer: REQUEST it, broadcast, naming its server.

        @param offer: the OFFER.
        """
        self.state = REQUESTING
        self._offer = offer
        self._tries = 0
        self._interval = self.initialInterval
        self._request()

    def _request(self) -> None:
        """
        Send (or resend) the SELECTING REQUEST; after L{maxRequests}
        unanswered ones start over.
        """
        offer = self._offer
        assert offer is not None
        if self._tries >= self.maxRequests:
            self.counters["requestTimeouts"] += 1
            self._init()
            return
        if self._tries:
            self.counters["retransmissions"] += 1
        self._tries += 1
        self._requestTime = self.reactor.seconds()
        self.counters["requestsSent"] += 1
        self._send(self._message(DHCPREQUEST, requestedAddress=offer.yourAddress,
                                 serverIdentifier=offer.serverIdentifier))
        self._schedule(self._delay(), self._request)

    # -- BOUND, RENEWING, REBINDING -------------------------------------------------

    def _bind(self, ack: DHCPRepr) -> None:
        """
        An ACK: configure the host and arm T1, T2 and the expiry.

        @param ack: the ACK.
        """
        previousState = self.state
        old = self.lease
        self._cancelRetransmit()
        self._cancelLeaseTimers()
        address = ack.yourAddress
        leaseTime = ack.leaseTime
        if leaseTime == INFINITE_LEASE:
            leaseTime = None
        if leaseTime is None:
            t1 = t2 = float("inf")
        else:
            t1 = float(ack.renewalTime) if ack.renewalTime is not None else leaseTime * 0.5
            t2 = (float(ack.rebindingTime) if ack.rebindingTime is not None
                  else leaseTime * 0.875)
            t2 = min(t2, float(leaseTime))
            t1 = min(t1, t2)
        server = ack.serverIdentifier
        if server is None:
            server = old.serverIdentifier if old is not None else ack.serverAddress
        lease = DHCPLease(
            address=address, prefixLength=_prefixLength(ack.subnetMask, address),
            routers=ack.routers, dnsServers=ack.dnsServers, serverIdentifier=server,
            leaseTime=leaseTime, renewalTime=t1, rebindingTime=t2,
            obtained=self._requestTime)
        self.lease = lease
        self.state = BOUND
        self._previous = address
        self.host.configure(address, lease.prefixLength, lease.router)
        if previousState == RENEWING:
            self.counters["renewed"] += 1
        elif previousState == REBINDING:
            self.counters["rebound"] += 1
        else:
            self.counters["bound"] += 1
        if leaseTime is not None:
            now = self.reactor.seconds()
            start = self._requestTime
            for at, call in [(start + t1, self._renew), (start + t2, self._rebind),
                             (start + leaseTime, self._expire)]:
                self._leaseTimers.append(self.reactor.callLater(max(0.0, at - now), call))
        changed = old is None or (old.address, old.prefixLength, old.routers,
                                  old.dnsServers) != (lease.address, lease.prefixLength,
                                                      lease.routers, lease.dnsServers)
        if changed:
            _log.info("DHCP: bound {lease}", lease=lease.describe())
            self._notify(lease)
        waiting, self._waiting = self._waiting, []
        for d in waiting:
            d.callback(lease)

    def _renew(self) -> None:
        """
        T1: enter RENEWING and ask the server, unicast, to extend the
        lease.
        """
        self.state = RENEWING
        self._xid = self._newXID()
        self._started = self.reactor.seconds()
        self._renewRequest()

    def _rebind(self) -> None:
        """
        T2: enter REBINDING and ask any server, broadcast, to extend it.
        """
        self.state = REBINDING
        self._xid = self._newXID()
        self._cancelRetransmit()
        self._renewRequest()

    def _renewRequest(self) -> None:
        """
        Send the RENEWING or REBINDING REQUEST (C{ciaddr} set, no server
        identifier or requested address) and arm its retransmission: half
        the time to T2 (or to the end of the lease), at least 60 s.
        """
        lease = self.lease
        assert lease is not None
        now = self.reactor.seconds()
        self._requestTime = now
        if self.state == RENEWING:
            destination, until = lease.serverIdentifier, lease.obtained + lease.rebindingTime
        else:
            destination = BROADCAST_IPV4
            until = lease.obtained + (lease.leaseTime or 0)
        if self._retransmit is not None:
            self.counters["retransmissions"] += 1
        self.counters["requestsSent"] += 1
        self._send(self._message(DHCPREQUEST, clientAddress=lease.address), destination)
        self._schedule(max(60.0, (until - now) / 2), self._renewRequest)

    def _expire(self) -> None:
        """
        The lease ended unrenewed: remove the address and start over.
        """
        self.counters["expired"] += 1
        self._lose()

    def _lose(self) -> None:
        """
        Remove the address (told to the observers) and go back to INIT.
        """
        self._cancelRetransmit()
        self._cancelLeaseTimers()
        if self.lease is not None:
            self.lease = None
            self.host.unconfigure()
            self._notify(None)
        self._init()

    def _notify(self, lease: Optional[DHCPLease]) -> None:
        """
        Tell the observers.

        @param lease: the new lease, or C{None} when the address is gone.
        """
        for observer in list(self._observers):
            try:
                observer(lease)
            except Exception:
                _log.failure("DHCP lease observer failed")

    # -- receiving ---------------------------------------------------------------

    def messageReceived(self, datagram: bytes, addr: Tuple[str, int]) -> None:
        """
        A message on port 68.  Never raises: bad or unexpected messages are
        counted and dropped.

        @param datagram: the UDP payload.
        @param addr: the sender.
        """
        counters = self.counters
        try:
            message = DHCPRepr.fromBytes(datagram)
        except MalformedPacket:
            counters["malformed"] += 1
            return
        if (message.op != OP_REPLY or message.transactionID != self._xid
                or message.clientHardwareAddress != self.host.mac or addr[1] != SERVER_PORT):
            counters["ignored"] += 1
            return
        kind, state = message.messageType, self.state
        if kind == DHCPOFFER and state == SELECTING:
            if message.yourAddress == ANY_IPV4 or message.serverIdentifier is None:
                counters["ignored"] += 1
                return
            counters["offersReceived"] += 1
            self._select(message)
        elif kind == DHCPACK and state in (REQUESTING, RENEWING, REBINDING):
            if message.yourAddress == ANY_IPV4 or (
                    state != REQUESTING and self.lease is not None
                    and message.yourAddress != self.lease.address):
                counters["ignored"] += 1
                return
            if state == REQUESTING and self._offer is not None and \
                    message.serverIdentifier not in (None, self._offer.serverIdentifier):
                counters["ignored"] += 1
                return
            counters["acksReceived"] += 1
            self._bind(message)
        elif kind == DHCPNAK and state in (REQUESTING, RENEWING, REBINDING):
            counters["naksReceived"] += 1
            _log.info("DHCP: the server refused the lease (NAK)")
            self._previous = None
            self._lose()
        else:
            counters["ignored"] += 1


def _translateTimeout(failure: Any, timeout: Optional[float]) -> Any:
    """
    Turn L{whenBound}'s timeout into a L{DHCPTimeout}.

    @param failure: the failure.
    @param timeout: the timeout, seconds.
    @return: the failure, translated when it is a timeout.
    """
    if failure.check(defer.TimeoutError):
        raise DHCPTimeout(f"no DHCP answer within {timeout:g} s")
    return failure
