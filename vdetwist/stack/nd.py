# -*- test-case-name: tests.stack.test_nd -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
IPv6 Neighbor Discovery for a user-space host (RFC 4861) and stateless
address autoconfiguration (RFC 4862), with RFC 8106's DNS servers.

L{NeighborCache} (in L{vdetwist.stack.ndcache}) is the pure table:
neighbor unreachability detection with bounded entries and queues.

L{NDLayer} runs it on one interface and keeps the host's IPv6
configuration: our addresses (tentative until duplicate address detection
passes), the multicast groups we listen to, on-link prefixes, default
routers, the link MTU, the hop limit and the DNS servers learnt from
router advertisements; it answers neighbor solicitations for our
addresses, solicits routers when attached, and resolves next hops for the
IPv6 layer.  ND messages reach it from the ICMPv6 layer
(L{NDLayer.messageReceived}); it sends its own messages as whole frames,
so it needs no IPv6 layer below it.  Every table it keeps is bounded.
"""

import os
from collections import Counter, OrderedDict
from typing import Any, Callable, Dict, List, Optional, Set, Tuple

from vdetwist.stack.interface import NetworkInterface
from vdetwist.stack.ndcache import (
    DELAY,
    INCOMPLETE,
    PROBE,
    REACHABLE,
    STALE,
    NeighborCache,
    Release,
)
from vdetwist.wire.addr6 import (
    ALL_NODES,
    ALL_ROUTERS,
    LINK_LOCAL_PREFIX,
    UNSPECIFIED,
    addressFromPrefix,
    eui64,
    isLinkLocal,
    isMulticast,
    multicastMAC,
    networkPrefix,
    samePrefix,
    solicitedNode,
    stableInterfaceIdentifier,
)
from vdetwist.wire.ethernet import ETHERTYPE_IPV6
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.icmpv6 import (
    INFINITY,
    OPTION_SOURCE_LINK_LAYER_ADDRESS,
    OPTION_TARGET_LINK_LAYER_ADDRESS,
    ICMPv6Repr,
    LinkLayerAddressOption,
    MTUOption,
    NeighborAdvertisement,
    NeighborSolicitation,
    PrefixInformation,
    RDNSSOption,
    RouterAdvertisement,
    RouterSolicitation,
    UnknownOption,
    parseND,
)
from vdetwist.wire.ipv6 import HEADER, MIN_MTU, NEXT_HEADER_ICMPV6

#: Address states (RFC 4862).
TENTATIVE = "tentative"
PREFERRED = "preferred"
DEPRECATED = "deprecated"

#: The nonce option of RFC 3971, used as RFC 7527 does to recognise our
#: own DAD probes looped back to us.
OPTION_NONCE = 14

#: RFC 4862 5.5.3 (e): the valid lifetime of an autoconfigured address is
#: not cut below two hours by an unauthenticated advertisement.
TWO_HOURS = 7200.0


class AddressInfo:
    """
    One of our IPv6 addresses.

    @ivar address: 16 bytes.
    @ivar prefixLength: its prefix length.
    @ivar origin: C{"static"}, C{"link-local"} or C{"slaac"}.
    @ivar state: L{TENTATIVE}, L{PREFERRED} or L{DEPRECATED}.
    @ivar validUntil: when it is removed (C{None} for ever).
    @ivar preferredUntil: when it turns deprecated (C{None} for ever).
    @ivar nonce: the nonce of our DAD probes.
    @ivar probesSent: DAD probes sent.
    @ivar timer: the DAD timer.
    """

    __slots__ = ("address", "prefixLength", "origin", "state", "validUntil",
                 "preferredUntil", "nonce", "probesSent", "timer")

    def __init__(self, address: bytes, prefixLength: int, origin: str) -> None:
        """
        @param address: the address.
        @param prefixLength: its prefix length.
        @param origin: where it came from.
        """
        self.address = address
        self.prefixLength = prefixLength
        self.origin = origin
        self.state = TENTATIVE
        self.validUntil: Optional[float] = None
        self.preferredUntil: Optional[float] = None
        self.nonce = os.urandom(6)
        self.probesSent = 0
        self.timer: Any = None


def _until(now: float, lifetime: int) -> Optional[float]:
    """
    The end of an ND lifetime.

    @param now: the current time.
    @param lifetime: seconds, L{INFINITY} for ever.
    @return: the deadline, or C{None} for ever.
    """
    return None if lifetime == INFINITY else now + lifetime


class NDLayer:
    """
    Neighbor Discovery and address configuration on one interface.

    @ivar interface: the L{NetworkInterface}.
    @ivar cache: the L{NeighborCache}.
    @ivar addresses: our addresses, address to L{AddressInfo}.
    @ivar assigned: the addresses usable (not tentative): the IPv6 layer
        accepts packets for these and sends from them.
    @ivar groups: the multicast groups we listen to (all-nodes and the
        solicited-node group of each address, tentative ones included).
    @ivar prefixes: on-link prefixes, C{(prefix, length)} to the time
        they expire (C{None}: never).
    @ivar routers: default routers, address to expiry, in the order heard.
    @ivar dnsServers: RDNSS servers, address to expiry.
    @ivar linkMTU: the link MTU (from an RA's MTU option, within bounds).
    @ivar hopLimit: the hop limit to use (from RAs).
    @ivar isRouter: our advertisements carry the R flag (a router or
        NAT: a host that saw R set and then clear would drop us as its
        default router, RFC 4861 7.2.5).
    @ivar proxyAddresses: further addresses we answer solicitations for
        (a router or NAT answering for its gateway and DNS addresses).
    @ivar resolutionFailed: called with (address, packets) when a
        neighbor cannot be resolved, or C{None}.
    @ivar addressChanged: called with (address, state) when one of our
        addresses becomes usable (C{"preferred"}), deprecated, or is
        removed (C{"removed"}, C{"duplicate"}); or C{None}.
    @ivar counters: C{received}, C{malformed}, C{badHopLimit},
        C{invalid}, C{nsReceived}, C{naReceived}, C{rsReceived},
        C{raReceived}, C{nsSent}, C{naSent}, C{rsSent}, C{dadProbes},
        C{dadSucceeded}, C{duplicates}, C{dadLoopedBack},
        C{routersFull}, C{prefixesFull}, C{addressesFull},
        C{dnsServersFull}, C{noRoute}.
    """

    def __init__(
        self,
        reactor: Any,
        interface: NetworkInterface,
        mtu: int = 1500,
        linkLocal: bool = True,
        dadTransmits: int = 1,
        acceptRA: bool = True,
        solicitRouters: bool = True,
        secretKey: Optional[bytes] = None,
        maxRouters: int = 8,
        maxPrefixes: int = 16,
        maxAddresses: int = 16,
        maxDNSServers: int = 8,
        cache: Optional[NeighborCache] = None,
        maxRouterSolicitations: int = 3,
        routerSolicitationInterval: float = 4.0,
    ) -> None:
        """
        @param reactor: an L{IReactorTime} provider.
        @param interface: the interface; this layer sends ND frames on it.
        @param mtu: the interface MTU (at least 1280).
        @param linkLocal: configure a link-local address from the MAC.
        @param dadTransmits: DAD probes per address (0: no DAD, addresses
            are usable at once).
        @param acceptRA: process router advertisements.
        @param solicitRouters: send router solicitations when attached.
        @param secretKey: when given, autoconfigured interface identifiers
            are RFC 7217's stable ones; otherwise modified EUI-64.
        @param maxRouters: the most default routers kept.
        @param maxPrefixes: the most on-link prefixes kept.
        @param maxAddresses: the most addresses (SLAAC ones beyond are
            refused).
        @param maxDNSServers: the most RDNSS servers kept.
        @param cache: the neighbor cache (a default-bounded one when
            C{None}).
        @param maxRouterSolicitations: RS sent before giving up.
        @param routerSolicitationInterval: seconds between them.
        """
        if mtu < MIN_MTU:
            raise ValueError("the IPv6 MTU is at least 1280")
        self.reactor = reactor
        self.interface = interface
        self.mtu = mtu
        self.linkMTU = mtu
        self.hopLimit = 64
        self.dadTransmits = dadTransmits
        self.acceptRA = acceptRA
        self.solicitRouters = solicitRouters
        self.secretKey = secretKey
        self.maxRouters = maxRouters
        self.maxPrefixes = maxPrefixes
        self.maxAddresses = maxAddresses
        self.maxDNSServers = maxDNSServers
        self.maxRouterSolicitations = maxRouterSolicitations
        self.routerSolicitationInterval = routerSolicitationInterval
        self.cache = cache if cache is not None else NeighborCache()
        self.counters: Counter[str] = Counter()
        self.addresses: Dict[bytes, AddressInfo] = {}
        self.assigned: Set[bytes] = set()
        self.groups: Set[bytes] = {ALL_NODES}
        self.prefixes: Dict[Tuple[bytes, int], Optional[float]] = {}
        self.routers: "OrderedDict[bytes, float]" = OrderedDict()
        self.dnsServers: "OrderedDict[bytes, Optional[float]]" = OrderedDict()
        self.proxyAddresses: Set[bytes] = set()
        self.isRouter = False
        self.resolutionFailed: Optional[Callable[[bytes, List[bytes]], None]] = None
        self.addressChanged: Optional[Callable[[bytes, str], None]] = None
        self._timer: Any = None
        self._timerAt: Optional[float] = None
        self._rsTimer: Any = None
        self._rsSent = 0
        self._routerHeard = False
        self.linkLocal: Optional[bytes] = None
        if linkLocal:
            self.linkLocal = addressFromPrefix(LINK_LOCAL_PREFIX, self._interfaceID(
                LINK_LOCAL_PREFIX))
            self.addAddress(self.linkLocal, 64, origin="link-local")
        interface.addConnectObserver(self._attached)

    # Configuration

    def _interfaceID(self, prefix: bytes, dadCounter: int = 0) -> bytes:
        """
        Our interface identifier for a prefix.

        @param prefix: the /64 prefix.
        @param dadCounter: RFC 7217's counter.
        @return: 8 bytes.
        """
        if self.secretKey is not None:
            return stableInterfaceIdentifier(prefix, self.interface.mac, self.secretKey,
                                             dadCounter)
        return eui64(self.interface.mac)

    def addAddress(self, address: bytes, prefixLength: int = 64, origin: str = "static",
                   validLifetime: int = INFINITY, preferredLifetime: int = INFINITY) -> None:
        """
        Add one of our addresses: tentative until DAD passes (at once when
        DAD is off).  A static address's prefix becomes on-link.

        @param address: 16 bytes, unicast.
        @param prefixLength: its prefix length.
        @param origin: C{"static"}, C{"link-local"} or C{"slaac"}.
        @param validLifetime: seconds, or L{INFINITY}.
        @param preferredLifetime: seconds, or L{INFINITY}.
        @raise ValueError: the address is multicast or unspecified.
        """
        if isMulticast(address) or address == UNSPECIFIED or len(address) != 16:
            raise ValueError("not a unicast IPv6 address")
        if address in self.addresses:
            return
        now = self.reactor.seconds()
        info = AddressInfo(address, prefixLength, origin)
        info.validUntil = _until(now, validLifetime)
        info.preferredUntil = _until(now, preferredLifetime)
        self.addresses[address] = info
        self.groups.add(solicitedNode(address))
        if origin == "static" and prefixLength < 128 and not isLinkLocal(address):
            self.prefixes[(networkPrefix(address, prefixLength), prefixLength)] = None
        if self.dadTransmits <= 0:
            self._assign(info)
        elif self.interface.transport is not None:
            self._startDAD(info)
        self._reschedule()

    def removeAddress(self, address: bytes, why: str = "removed") -> None:
        """
        Forget one of our addresses.

        @param address: the address.
        @param why: told to L{addressChanged}.
        """
        info = self.addresses.pop(address, None)
        if info is None:
            return
        if info.timer is not None and info.timer.active():
            info.timer.cancel()
        self.assigned.discard(address)
        group = solicitedNode(address)
        if not any(solicitedNode(a) == group for a in self.addresses):
            self.groups.discard(group)
        if address == self.linkLocal:
            self.linkLocal = None
        if self.addressChanged is not None:
            self.addressChanged(address, why)

    def _assign(self, info: AddressInfo) -> None:
        """
        An address passed DAD: it is usable.

        @param info: the address.
        """
        info.state = PREFERRED
        self.assigned.add(info.address)
        if self.addressChanged is not None:
            self.addressChanged(info.address, PREFERRED)
        if info.address == self.linkLocal and self.interface.transport is not None:
            self._maybeSolicitRouters()

    def isOnLink(self, address: bytes) -> bool:
        """
        Whether C{address} is on-link: link-local, or in an on-link prefix.

        @param address: 16 bytes.
        @return: the answer.
        """
        if address[0] == 0xFE and address[1] & 0xC0 == 0x80:
            # Link-local (isLinkLocal, inlined: this runs for every packet
            # sent).
            return True
        if self.prefixes:
            # samePrefix, with the address converted once.
            value = int.from_bytes(address, "big")
            for prefix, length in self.prefixes:
                shift = 128 - length
                if value >> shift == int.from_bytes(prefix, "big") >> shift:
                    return True
        return False

    def defaultRouter(self) -> Optional[bytes]:
        """
        The default router to use: the first one heard that has not been
        found unreachable (RFC 4861 6.3.6), else the first one.

        @return: its link-local address, or C{None}.
        """
        first = None
        for router in self.routers:
            if first is None:
                first = router
            state = self.cache.state(router, self.reactor.seconds())
            if state is not None and state is not INCOMPLETE:
                return router
        return first

    def setDefaultRouter(self, address: bytes) -> None:
        """
        Configure a default router by hand (C{gw6=}): it never expires.

        @param address: its address (link-local or on-link).
        """
        self.routers[address] = float("inf")
        self.routers.move_to_end(address, last=False)

    # Attachment, DAD and router solicitation

    def _attached(self) -> None:
        """
        The interface was attached: start DAD for tentative addresses and
        solicit routers.
        """
        for info in list(self.addresses.values()):
            if info.state is TENTATIVE and info.timer is None:
                self._startDAD(info)
        if self.linkLocal is None or self.linkLocal in self.assigned:
            self._maybeSolicitRouters()

    def _startDAD(self, info: AddressInfo) -> None:
        """
        Send the first DAD probe for a tentative address.

        @param info: the address.
        """
        info.probesSent = 0
        self._probeDAD(info.address)

    def _probeDAD(self, address: bytes) -> None:
        """
        Send one DAD probe (an NS from :: to the solicited-node group,
        RFC 4862 5.4.2) or, after the last one's wait, declare the address
        usable.

        @param address: the tentative address.
        """
        info = self.addresses.get(address)
        if info is None or info.state is not TENTATIVE:
            return
        info.timer = None
        if info.probesSent >= self.dadTransmits:
            self.counters["dadSucceeded"] += 1
            self._assign(info)
            return
        info.probesSent += 1
        self.counters["dadProbes"] += 1
        ns = NeighborSolicitation(address, (UnknownOption(OPTION_NONCE, info.nonce),))
        self._sendND(UNSPECIFIED, solicitedNode(address), ns.toICMPv6())
        if self.addresses.get(address) is info and info.state is TENTATIVE:
            info.timer = self.reactor.callLater(self.cache.retransTimer, self._probeDAD,
                                                address)

    def _duplicate(self, address: bytes) -> None:
        """
        DAD failed: someone else uses C{address} (RFC 4862 5.4.5).

        @param address: our tentative address.
        """
        self.counters["duplicates"] += 1
        self.removeAddress(address, "duplicate")

    def _maybeSolicitRouters(self) -> None:
        """
        Start soliciting routers, once per attachment.
        """
        if not (self.acceptRA and self.solicitRouters) or self._routerHeard:
            return
        if self._rsTimer is not None and self._rsTimer.active():
            return
        self._rsSent = 0
        self._solicitRouter()

    def _solicitRouter(self) -> None:
        """
        Send one router solicitation (RFC 4861 6.3.7) and schedule the next.
        """
        self._rsTimer = None
        if self._routerHeard or self._rsSent >= self.maxRouterSolicitations:
            return
        self._rsSent += 1
        self.counters["rsSent"] += 1
        source = self.linkLocal if self.linkLocal in self.assigned else UNSPECIFIED
        options: Tuple[LinkLayerAddressOption, ...] = () if source == UNSPECIFIED else (
            LinkLayerAddressOption(OPTION_SOURCE_LINK_LAYER_ADDRESS, self.interface.mac),)
        assert source is not None
        self._sendND(source, ALL_ROUTERS, RouterSolicitation(options).toICMPv6())
        if self._rsSent < self.maxRouterSolicitations:
            self._rsTimer = self.reactor.callLater(self.routerSolicitationInterval,
                                                   self._solicitRouter)

    # Sending

    def _sendND(self, source: bytes, destination: bytes, message: ICMPv6Repr,
                mac: Optional[bytes] = None) -> None:
        """
        Send an ND message with hop limit 255 as a whole frame.

        @param source: the IPv6 source.
        @param destination: the IPv6 destination.
        @param message: the ICMPv6 message.
        @param mac: the link-layer destination for a unicast destination
            (resolved through the cache when C{None}).
        """
        body = message.emit(source, destination)
        packet = HEADER.pack(0x60000000, len(body), NEXT_HEADER_ICMPV6, 255, source,
                             destination) + body
        if isMulticast(destination):
            self.interface.sendFrame(multicastMAC(destination), ETHERTYPE_IPV6, packet)
        elif mac is not None:
            self.interface.sendFrame(mac, ETHERTYPE_IPV6, packet)
        else:
            self.sendIPv6(destination, packet)

    def _sourceFor(self, destination: bytes) -> bytes:
        """
        Our source address for an ND message to C{destination}: an
        address of the same prefix, else the link-local one.

        @param destination: the neighbor.
        @return: an assigned address, or :: when there is none.
        """
        for address in self.assigned:
            if samePrefix(address, destination, 64):
                return address
        if self.linkLocal in self.assigned:
            return self.linkLocal  # type: ignore[return-value]
        return next(iter(sorted(self.assigned)), UNSPECIFIED)

    def sendIPv6(self, nextHop: bytes, packet: bytes) -> None:
        """
        Send an IPv6 packet to an on-link neighbor, resolving its MAC
        first when needed (the packet waits, within bounds).

        @param nextHop: the neighbor's address.
        @param packet: the whole packet.
        """
        now = self.reactor.seconds()
        cache = self.cache
        mac, solicit = cache.send(nextHop, packet, now)
        if mac is not None:
            self.interface.sendFrame(mac, ETHERTYPE_IPV6, packet)
            # A STALE entry may have entered DELAY: make sure the timer
            # fires for it.
            if cache._active and (self._timerAt is None
                                  or self._timerAt > now + cache.delayFirstProbeTime):
                self._reschedule()
            return
        if solicit is not None:
            self._solicit(*solicit)
            self._reschedule()

    def _solicit(self, target: bytes, mac: Optional[bytes]) -> None:
        """
        Send a neighbor solicitation for C{target}.

        @param target: the address resolved or probed.
        @param mac: the MAC of a unicast probe, or C{None} for multicast.
        """
        self.counters["nsSent"] += 1
        source = self._sourceFor(target)
        options: Tuple[LinkLayerAddressOption, ...] = () if source == UNSPECIFIED else (
            LinkLayerAddressOption(OPTION_SOURCE_LINK_LAYER_ADDRESS, self.interface.mac),)
        message = NeighborSolicitation(target, options).toICMPv6()
        if mac is None:
            self._sendND(source, solicitedNode(target), message)
        else:
            self._sendND(source, target, message, mac)

    def confirmReachable(self, address: bytes) -> None:
        """
        An upper layer saw forward progress with C{address} (RFC 4861
        7.3.1): no need to probe it.

        @param address: the neighbor.
        """
        self.cache.confirm(address, self.reactor.seconds())

    def _release(self, release: Optional[Release]) -> None:
        """
        Send packets released by a resolution.

        @param release: (MAC, packets), or C{None}.
        """
        if release is None:
            return
        mac, packets = release
        for packet in packets:
            self.interface.sendFrame(mac, ETHERTYPE_IPV6, packet)

    # Timers

    def _reschedule(self) -> None:
        """
        Make sure the timer fires at the next deadline: the cache's, or an
        expiry of an address, prefix, router or DNS server.
        """
        deadlines = [d for d in (self.cache.nextDeadline(), self._configDeadline())
                     if d is not None]
        if not deadlines:
            return
        deadline = min(deadlines)
        if self._timer is not None and self._timer.active():
            if self._timerAt is not None and self._timerAt <= deadline:
                return
            self._timer.cancel()
        self._timerAt = deadline
        self._timer = self.reactor.callLater(max(0.0, deadline - self.reactor.seconds()),
                                             self._timeout)

    def _configDeadline(self) -> Optional[float]:
        """
        The earliest expiry among addresses, prefixes, routers and DNS
        servers.

        @return: the time, or C{None}.
        """
        times: List[float] = []
        for info in self.addresses.values():
            if info.validUntil is not None:
                times.append(info.validUntil)
            if info.preferredUntil is not None and info.state is PREFERRED:
                times.append(info.preferredUntil)
        times.extend(t for t in self.prefixes.values() if t is not None)
        times.extend(t for t in self.routers.values() if t != float("inf"))
        times.extend(t for t in self.dnsServers.values() if t is not None)
        return min(times) if times else None

    def _timeout(self) -> None:
        """
        The timer fired: run the cache's events and expire configuration.
        """
        self._timer = None
        self._timerAt = None
        now = self.reactor.seconds()
        solicit, failed = self.cache.tick(now)
        for target, mac in solicit:
            self._solicit(target, mac)
        for address, packets in failed:
            if packets and self.resolutionFailed is not None:
                self.resolutionFailed(address, packets)
        self._expire(now)
        self._reschedule()

    def _expire(self, now: float) -> None:
        """
        Remove what outlived its lifetime; deprecate addresses past their
        preferred lifetime.

        @param now: the current time.
        """
        for address, info in list(self.addresses.items()):
            if info.validUntil is not None and info.validUntil <= now:
                self.removeAddress(address)
            elif (info.preferredUntil is not None and info.preferredUntil <= now
                  and info.state is PREFERRED):
                info.state = DEPRECATED
                if self.addressChanged is not None:
                    self.addressChanged(address, DEPRECATED)
        for key in [k for k, t in self.prefixes.items() if t is not None and t <= now]:
            del self.prefixes[key]
        for router in [r for r, t in self.routers.items() if t <= now]:
            del self.routers[router]
        for server in [s for s, t in self.dnsServers.items() if t is not None and t <= now]:
            del self.dnsServers[server]

    def stop(self) -> None:
        """
        Cancel every timer.
        """
        for timer in [self._timer, self._rsTimer] + [i.timer for i in self.addresses.values()]:
            if timer is not None and timer.active():
                timer.cancel()
        self._timer = self._rsTimer = None
        for info in self.addresses.values():
            info.timer = None

    # Receiving

    def messageReceived(self, source: bytes, destination: bytes, hopLimit: int,
                        message: ICMPv6Repr) -> None:
        """
        Handle an ND message (checksum verified by the ICMPv6 layer).
        Never raises for bad input.

        @param source: the IPv6 source.
        @param destination: the IPv6 destination.
        @param hopLimit: the IPv6 hop limit (255, or the message is
            dropped: RFC 4861 checks it came from the link).
        @param message: the ICMPv6 message.
        """
        counters = self.counters
        counters["received"] += 1
        if hopLimit != 255:
            counters["badHopLimit"] += 1
            return
        try:
            nd = parseND(message)
        except MalformedPacket:
            counters["malformed"] += 1
            return
        if isinstance(nd, NeighborSolicitation):
            self._neighborSolicitation(source, destination, nd)
        elif isinstance(nd, NeighborAdvertisement):
            self._neighborAdvertisement(source, destination, nd)
        elif isinstance(nd, RouterAdvertisement):
            self._routerAdvertisement(source, nd)
        else:
            counters["rsReceived"] += 1

    def _neighborSolicitation(self, source: bytes, destination: bytes,
                              ns: NeighborSolicitation) -> None:
        """
        RFC 4861 7.2.3 and RFC 4862 5.4.3.

        @param source: the IPv6 source.
        @param destination: the IPv6 destination.
        @param ns: the solicitation.
        """
        counters = self.counters
        counters["nsReceived"] += 1
        mac = ns.sourceLinkLayerAddress
        dad = source == UNSPECIFIED
        if dad and (mac is not None or not destination.startswith(b"\xff\x02")
                    or destination[11:13] != b"\x01\xff"):
            counters["invalid"] += 1
            return
        target = ns.target
        info = self.addresses.get(target)
        if info is None and target not in self.proxyAddresses:
            counters["notForUs"] += 1
            return
        if info is not None and info.state is TENTATIVE:
            if not dad:
                # RFC 4862 5.4.3: a resolution for a tentative address is
                # not answered.
                return
            nonce = next((o.data for o in ns.options
                          if isinstance(o, UnknownOption) and o.type == OPTION_NONCE), None)
            if nonce == info.nonce:
                counters["dadLoopedBack"] += 1
                return
            self._duplicate(target)
            return
        if dad:
            # Someone else's DAD for our address: tell them it is taken.
            self._advertise(target, ALL_NODES, solicited=False)
            return
        if mac is not None:
            self._release(self.cache.learn(source, mac, self.reactor.seconds()))
            self._reschedule()
        self._advertise(target, source, solicited=True, mac=mac)

    def _advertise(self, target: bytes, destination: bytes, solicited: bool,
                   mac: Optional[bytes] = None) -> None:
        """
        Send a neighbor advertisement for one of our addresses.

        @param target: our address.
        @param destination: where to.
        @param solicited: the S flag.
        @param mac: the link-layer destination, when known.
        """
        self.counters["naSent"] += 1
        na = NeighborAdvertisement(target, router=self.isRouter, solicited=solicited,
                                   override=target not in self.proxyAddresses, options=(
                                       LinkLayerAddressOption(OPTION_TARGET_LINK_LAYER_ADDRESS,
                                                              self.interface.mac),))
        source = target if target in self.addresses else self._sourceFor(destination)
        self._sendND(source, destination, na.toICMPv6(), mac)

    def _neighborAdvertisement(self, source: bytes, destination: bytes,
                               na: NeighborAdvertisement) -> None:
        """
        RFC 4861 7.2.5 and RFC 4862 5.4.4.

        @param source: the IPv6 source.
        @param destination: the IPv6 destination.
        @param na: the advertisement.
        """
        counters = self.counters
        counters["naReceived"] += 1
        if na.solicited and isMulticast(destination):
            counters["invalid"] += 1
            return
        info = self.addresses.get(na.target)
        if info is not None:
            if info.state is TENTATIVE:
                self._duplicate(na.target)
            else:
                counters["conflicts"] += 1
            return
        now = self.reactor.seconds()
        wasRouter = self.cache.isRouter(na.target)
        self._release(self.cache.advertised(na.target, na.targetLinkLayerAddress,
                                            na.solicited, na.override, na.router, now))
        if wasRouter and not na.router:
            # RFC 4861 7.2.5: it stopped being a router.
            self.routers.pop(na.target, None)
        self._reschedule()

    def _routerAdvertisement(self, source: bytes, ra: RouterAdvertisement) -> None:
        """
        RFC 4861 6.3.4 and RFC 4862 5.5.3, with RFC 8106's RDNSS.

        @param source: the router's link-local address.
        @param ra: the advertisement.
        """
        counters = self.counters
        counters["raReceived"] += 1
        if not self.acceptRA:
            counters["ignored"] += 1
            return
        if not isLinkLocal(source):
            counters["invalid"] += 1
            return
        self._routerHeard = True
        if self._rsTimer is not None and self._rsTimer.active():
            self._rsTimer.cancel()
        self._rsTimer = None
        now = self.reactor.seconds()
        if ra.curHopLimit:
            self.hopLimit = ra.curHopLimit
        if ra.reachableTime and ra.reachableTime <= 3600000:
            self.cache.reachableTime = ra.reachableTime / 1000.0
        if ra.retransTimer and ra.retransTimer <= 60000:
            self.cache.retransTimer = ra.retransTimer / 1000.0
        if ra.routerLifetime == 0:
            self.routers.pop(source, None)
        elif source in self.routers:
            if self.routers[source] != float("inf"):
                self.routers[source] = now + ra.routerLifetime
        elif len(self.routers) >= self.maxRouters:
            counters["routersFull"] += 1
        else:
            self.routers[source] = now + ra.routerLifetime
        mac = ra.sourceLinkLayerAddress
        if mac is not None:
            self._release(self.cache.learn(source, mac, now))
            self.cache.markRouter(source)
        for option in ra.options:
            if isinstance(option, PrefixInformation):
                self._prefixInformation(option, now)
            elif isinstance(option, MTUOption):
                if MIN_MTU <= option.mtu <= self.mtu:
                    self.linkMTU = option.mtu
                else:
                    counters["badMTU"] += 1
            elif isinstance(option, RDNSSOption):
                self._rdnss(option, now)
        self._reschedule()

    def _prefixInformation(self, info: PrefixInformation, now: float) -> None:
        """
        RFC 4861 6.3.4 (on-link) and RFC 4862 5.5.3 (autonomous).

        @param info: the option.
        @param now: the current time.
        """
        counters = self.counters
        if isLinkLocal(info.prefix) or isMulticast(info.prefix):
            counters["badPrefix"] += 1
            return
        if info.preferredLifetime > info.validLifetime:
            counters["badPrefix"] += 1
            return
        prefix = networkPrefix(info.prefix, info.prefixLength)
        key = (prefix, info.prefixLength)
        if info.onLink:
            if info.validLifetime == 0:
                if self.prefixes.get(key, 0) is not None:
                    self.prefixes.pop(key, None)
            elif key in self.prefixes:
                if self.prefixes[key] is not None:
                    self.prefixes[key] = _until(now, info.validLifetime)
            elif len(self.prefixes) >= self.maxPrefixes:
                counters["prefixesFull"] += 1
            else:
                self.prefixes[key] = _until(now, info.validLifetime)
        if not info.autonomous or info.validLifetime == 0:
            return
        if info.prefixLength != 64:
            counters["badPrefixLength"] += 1
            return
        for address, existing in self.addresses.items():
            if existing.origin == "slaac" and samePrefix(address, prefix, 64):
                self._refreshLifetimes(existing, info, now)
                return
        if len(self.addresses) >= self.maxAddresses:
            counters["addressesFull"] += 1
            return
        address = addressFromPrefix(prefix, self._interfaceID(prefix))
        if address in self.addresses:
            return
        self.addAddress(address, 64, "slaac", info.validLifetime, info.preferredLifetime)

    def _refreshLifetimes(self, existing: AddressInfo, info: PrefixInformation,
                          now: float) -> None:
        """
        Update an autoconfigured address's lifetimes (RFC 4862 5.5.3 e,
        with its two-hour rule against spoofed short lifetimes).

        @param existing: the address.
        @param info: the prefix information.
        @param now: the current time.
        """
        existing.preferredUntil = _until(now, info.preferredLifetime)
        if existing.state is DEPRECATED and info.preferredLifetime:
            existing.state = PREFERRED
        remaining = None if existing.validUntil is None else existing.validUntil - now
        valid = info.validLifetime
        if valid == INFINITY or valid > TWO_HOURS or (
                remaining is not None and valid > remaining):
            existing.validUntil = _until(now, valid)
        elif remaining is None or remaining > TWO_HOURS:
            existing.validUntil = now + TWO_HOURS

    def _rdnss(self, option: RDNSSOption, now: float) -> None:
        """
        RFC 8106 5.3.1: add, refresh or (lifetime 0) remove DNS servers.

        @param option: the option.
        @param now: the current time.
        """
        for server in option.addresses:
            if option.lifetime == 0:
                self.dnsServers.pop(server, None)
            elif server in self.dnsServers:
                self.dnsServers[server] = _until(now, option.lifetime)
            elif len(self.dnsServers) >= self.maxDNSServers:
                self.counters["dnsServersFull"] += 1
            else:
                self.dnsServers[server] = _until(now, option.lifetime)


__all__ = [
    "NeighborCache",
    "NDLayer",
    "AddressInfo",
    "INCOMPLETE",
    "REACHABLE",
    "STALE",
    "DELAY",
    "PROBE",
    "TENTATIVE",
    "PREFERRED",
    "DEPRECATED",
]
