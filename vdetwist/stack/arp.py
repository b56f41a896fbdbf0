# -*- test-case-name: tests.stack.test_arp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
ARP for a user-space host (RFC 826, with RFC 5227's announcements).

L{ARPCache} is the pure table: entries age out after a lifetime, and the
table never holds more than a bound (the oldest entry is evicted).
L{ARPLayer} answers requests for our addresses (and for "proxy" addresses
a router or NAT answers for), learns from what it hears, and resolves next
hops for the IPv4 layer, holding packets in bounded queues while a request
is retried.
"""

from collections import Counter, OrderedDict, deque
from typing import Any, Callable, Deque, Dict, Iterable, List, Optional, Set, Tuple

from vdetwist.stack.interface import NetworkInterface
from vdetwist.wire.addr import BROADCAST_MAC, ZERO_MAC
from vdetwist.wire.arp import (
    OPERATION_REPLY,
    OPERATION_REQUEST,
    PACKET,
    PACKET_LENGTH,
    ARPRepr,
)
from vdetwist.wire.ethernet import ETHERTYPE_ARP, ETHERTYPE_IPV4

#: The one unpack of a received Ethernet/IPv4 ARP packet's fields.
_UNPACK = PACKET.unpack_from


class ARPCache:
    """
    A bounded IPv4-to-MAC table whose entries expire.  Pure: every method
    takes the current time.

    @ivar maxEntries: the most entries held.
    @ivar lifetime: seconds an entry stays valid after it was last
        confirmed.
    @ivar entry: C{entry(address)} is the entry for C{address} as a
        C{(mac, expires)} pair, expired or not, or C{None}: the raw
        lookup for the per-datagram send path, where L{lookup} would cost a
        second call; callers compare C{expires} with the time themselves
        and L{remove} an expired entry.
    """

    def __init__(self, maxEntries: int = 1024, lifetime: float = 60.0) -> None:
        """
        @param maxEntries: the most entries held.
        @param lifetime: seconds an entry stays valid.
        """
        self.maxEntries = maxEntries
        self.lifetime = lifetime
        self._entries: "OrderedDict[bytes, Tuple[bytes, float]]" = OrderedDict()
        self.entry: Callable[[bytes], Optional[Tuple[bytes, float]]] = self._entries.get

    def __len__(self) -> int:
        """
        The number of entries, expired ones included until L{expire}.
        """
        return len(self._entries)

    def lookup(self, address: bytes, now: float) -> Optional[bytes]:
        """
        The MAC for C{address}, if known and fresh.

        @param address: an IPv4 address, 4 bytes.
        @param now: the current time.
        @return: the MAC, or C{None}.
        """
        entry = self._entries.get(address)
        if entry is None:
            return None
        mac, expires = entry
        if expires <= now:
            del self._entries[address]
            return None
        return mac

    def contains(self, address: bytes) -> bool:
        """
        Whether there is an entry (fresh or not) for C{address}: RFC 826
        updates such entries from any packet it hears.

        @param address: an IPv4 address.
        @return: the answer.
        """
        return address in self._entries

    def update(self, address: bytes, mac: bytes, now: float) -> None:
        """
        Record or refresh an entry, evicting the oldest when full.

        @param address: an IPv4 address.
        @param mac: its MAC.
        @param now: the current time.
        """
        entries = self._entries
        if address in entries:
            entries.move_to_end(address)
        elif len(entries) >= self.maxEntries:
            entries.popitem(last=False)
        entries[address] = (mac, now + self.lifetime)

    def remove(self, address: bytes) -> None:
        """
        Forget an entry, if there is one.

        @param address: an IPv4 address.
        """
        self._entries.pop(address, None)

    def expire(self, now: float) -> int:
        """
        Drop the expired entries.

        @param now: the current time.
        @return: how many were dropped.
        """
        dead = [a for a, (_, expires) in self._entries.items() if expires <= now]
        for address in dead:
            del self._entries[address]
        return len(dead)

    def entries(self, now: float) -> List[Tuple[bytes, bytes, float]]:
        """
        The fresh entries, for display.

        @param now: the current time.
        @return: (address, MAC, seconds left) triples.
        """
        return [(a, m, e - now) for a, (m, e) in self._entries.items() if e > now]


class _Pending:
    """
    A resolution in progress: the queued packets and the retry timer.

    @ivar packets: IPv4 datagrams waiting for the MAC.
    @ivar tries: requests sent so far.
    @ivar timer: the delayed call of the next retry.
    """

    __slots__ = ("packets", "tries", "timer")

    def __init__(self) -> None:
        """
        An empty resolution.
        """
        self.packets: Deque[bytes] = deque()
        self.tries = 0
        self.timer: Any = None


class ARPLayer:
    """
    ARP on one interface.

    @ivar interface: the L{NetworkInterface}.
    @ivar addresses: our own IPv4 addresses (4-byte C{bytes}).
    @ivar proxyAddresses: further addresses we answer for (a router or a
        NAT answers for its gateway and DNS addresses).
    @ivar cache: the L{ARPCache}.
    @ivar refreshBefore: seconds before an entry in use expires when a
        unicast request confirms it.
    @ivar counters: C{received}, C{malformed}, C{requestsSent},
        C{repliesSent}, C{repliesReceived}, C{queued}, C{queueFull},
        C{resolutionFailed} (packets dropped when resolution gave up),
        C{refreshes} (unicast requests confirming entries in use),
        C{conflicts} (someone else claims one of our addresses).
    """

    def __init__(
        self,
        reactor: Any,
        interface: NetworkInterface,
        addresses: Iterable[bytes] = (),
        proxyAddresses: Iterable[bytes] = (),
        maxEntries: int = 1024,
        lifetime: float = 60.0,
        retries: int = 3,
        retryInterval: float = 1.0,
        maxQueuedPerAddress: int = 16,
        maxPendingAddresses: int = 64,
        maxQueuedTotal: int = 256,
        announce: bool = True,
    ) -> None:
        """
        @param reactor: an L{IReactorTime} provider.
        @param interface: the interface to serve; this layer installs
            itself as its ARP handler.
        @param addresses: our addresses.
        @param proxyAddresses: addresses we also answer for.
        @param maxEntries: the cache bound.
        @param lifetime: the cache entry lifetime in seconds.
        @param retries: requests sent before giving up on an address.
        @param retryInterval: seconds between requests.
        @param maxQueuedPerAddress: packets held per unresolved address.
        @param maxPendingAddresses: unresolved addresses held at once.
        @param maxQueuedTotal: packets held in all.
        @param announce: send a gratuitous ARP for each address when the
            interface is attached.
        """
        self.reactor = reactor
        self.interface = interface
        self.addresses: Set[bytes] = set(addresses)
        self.proxyAddresses: Set[bytes] = set(proxyAddresses)
        self.cache = ARPCache(maxEntries, lifetime)
        self.retries = retries
        self.retryInterval = retryInterval
        self.maxQueuedPerAddress = maxQueuedPerAddress
        self.maxPendingAddresses = maxPendingAddresses
        self.maxQueuedTotal = maxQueuedTotal
        self.counters: Counter[str] = Counter()
        self._pending: Dict[bytes, _Pending] = {}
        self._refreshed: Dict[bytes, float] = {}
        self.refreshBefore = min(5.0, lifetime / 4)
        self._queuedTotal = 0
        #: Called with (address, packets) when resolution gives up.
        self.resolutionFailed: Optional[Callable[[bytes, List[bytes]], None]] = None
        interface.arpHandler = self.packetReceived
        if announce:
            interface.addConnectObserver(self.announce)

    def _answersFor(self, address: bytes) -> bool:
        """
        Whether we reply to requests for C{address}.

        @param address: an IPv4 address.
        @return: the answer.
        """
        return address in self.addresses or address in self.proxyAddresses

    def _send(self, destinationMAC: bytes, operation: int, senderAddress: bytes,
              targetMAC: bytes, targetAddress: bytes) -> None:
        """
        Send one ARP packet from our MAC.

        @param destinationMAC: the Ethernet destination.
        @param operation: request or reply.
        @param senderAddress: the sender protocol address.
        @param targetMAC: the target hardware address.
        @param targetAddress: the target protocol address.
        """
        mac = self.interface.mac
        self.interface.sendFrame(destinationMAC, ETHERTYPE_ARP, PACKET.pack(
            1, ETHERTYPE_IPV4, 6, 4, operation, mac, senderAddress, targetMAC,
            targetAddress))

    def announce(self) -> None:
        """
        Send a gratuitous ARP (an RFC 5227 announcement: a broadcast
        request whose sender and target are the address) for each of our
        addresses.
        """
        for address in sorted(self.addresses):
            self._send(BROADCAST_MAC, OPERATION_REQUEST, address, ZERO_MAC, address)

    def packetReceived(self, sourceMAC: bytes, packet: bytes) -> None:
        """
        Handle an ARP packet from the interface: learn, answer, release
        queued packets.

        @param sourceMAC: the Ethernet source (unused: ARP carries its own).
        @param packet: the Ethernet payload.
        """
        counters = self.counters
        counters["received"] += 1
        if len(packet) < PACKET_LENGTH:
            counters["malformed"] += 1
            return
        (htype, ptype, hlen, plen, operation, sha, spa, tha,
         tpa) = _UNPACK(packet)
        if (htype, ptype, hlen, plen) != (1, ETHERTYPE_IPV4, 6, 4) or operation not in (
                OPERATION_REQUEST, OPERATION_REPLY):
            counters["malformed"] += 1
            return
        if sha[0] & 1 or sha == self.interface.mac:
            # A group sender address is bogus; our own is an echo.
            counters["ignored"] += 1
            return
        if spa in self.addresses:
            counters["conflicts"] += 1
            return
        now = self.reactor.seconds()
        forUs = self._answersFor(tpa)
        if spa != b"\0\0\0\0" and (forUs or self.cache.contains(spa)
                                   or spa in self._pending):
            self.cache.update(spa, sha, now)
            self._refreshed.pop(spa, None)
            self._release(spa, sha)
        if operation == OPERATION_REPLY:
            counters["repliesReceived"] += 1
        elif forUs and tpa != spa:
            counters["repliesSent"] += 1
            self._send(sha, OPERATION_REPLY, tpa, sha, spa)

    def _release(self, address: bytes, mac: bytes) -> None:
        """
        Send the packets queued for C{address}, now resolved.

        @param address: the resolved address.
        @param mac: its MAC.
        """
        pending = self._pending.pop(address, None)
        if pending is None:
            return
        if pending.timer is not None and pending.timer.active():
            pending.timer.cancel()
        self._queuedTotal -= len(pending.packets)
        for packet in pending.packets:
            self.interface.sendFrame(mac, ETHERTYPE_IPV4, packet)

    def lookup(self, address: bytes) -> Optional[bytes]:
        """
        The cached MAC for C{address}, if fresh.

        @param address: an IPv4 address.
        @return: the MAC or C{None}.
        """
        return self.cache.lookup(address, self.reactor.seconds())

    def resolved(self, nextHop: bytes) -> Optional[bytes]:
        """
        The MAC of an on-link next hop if the cache has it fresh (confirming
        it as L{sendIPv4} does when it is about to expire), else C{None}:
        for a sender that builds whole frames itself (L{IPv4Layer.sendPackets
        <vdetwist.stack.ipv4.IPv4Layer.sendPackets>}).

        @param nextHop: the next hop's IPv4 address.
        @return: its MAC, or C{None} (then send through L{sendIPv4}).
        """
        entry = self.cache.entry(nextHop)
        if entry is None:
            return None
        mac, expires = entry
        now = self.reactor.seconds()
        if expires <= now:
            return None
        if expires - now < self.refreshBefore:
            self._refresh(nextHop, mac, now)
        return mac

    def sendIPv4(self, nextHop: bytes, packet: bytes) -> None:
        """
        Send an IPv4 datagram to an on-link next hop, resolving its MAC
        first when needed (the datagram waits, within bounds).

        @param nextHop: the next hop's IPv4 address.
        @param packet: the whole datagram.
        """
        now = self.reactor.seconds()
        # The cache's lookup and expiry in one dict access: this runs for
        # every datagram sent.
        entry = self.cache.entry(nextHop)
        if entry is not None:
            mac, expires = entry
            if expires > now:
                self.interface.sendFrame(mac, ETHERTYPE_IPV4, packet)
                if expires - now < self.refreshBefore:
                    self._refresh(nextHop, mac, now)
                return
            # Expired: forget it, as ARPCache.lookup does.
            self.cache.remove(nextHop)
        pending = self._pending.get(nextHop)
        new = pending is None
        if new:
            if len(self._pending) >= self.maxPendingAddresses:
                self.counters["queueFull"] += 1
                return
            pending = self._pending[nextHop] = _Pending()
        if (len(pending.packets) >= self.maxQueuedPerAddress
                or self._queuedTotal >= self.maxQueuedTotal):
            self.counters["queueFull"] += 1
            return
        pending.packets.append(packet)
        self._queuedTotal += 1
        self.counters["queued"] += 1
        if new:
            # Queue first: on an in-process switch the reply can arrive
            # (and flush the queue) before _request returns.
            self._request(nextHop)

    def _refresh(self, address: bytes, mac: bytes, now: float) -> None:
        """
        Confirm an entry in use before it expires, with a unicast request
        (RFC 1122 2.3.2.1's "unicast poll"), at most once per retry
        interval, so that busy flows never stall (and lose packets to the
        queue bounds) while the entry is re-resolved.

        @param address: the next hop.
        @param mac: its cached MAC.
        @param now: the current time.
        """
        last = self._refreshed.get(address)
        if last is not None and now - last < self.retryInterval:
            return
        if len(self._refreshed) >= self.cache.maxEntries:
            self._refreshed.clear()
        self._refreshed[address] = now
        self.counters["refreshes"] += 1
        source = min(self.addresses) if self.addresses else b"\0\0\0\0"
        self._send(mac, OPERATION_REQUEST, source, ZERO_MAC, address)

    def _request(self, address: bytes) -> None:
        """
        Send one request for C{address} and schedule the next try (or
        the give-up).

        @param address: the address being resolved.
        """
        pending = self._pending.get(address)
        if pending is None:
            return
        if pending.tries >= self.retries:
            del self._pending[address]
            self._queuedTotal -= len(pending.packets)
            self.counters["resolutionFailed"] += len(pending.packets)
            self.counters["unresolved"] += 1
            if self.resolutionFailed is not None:
                self.resolutionFailed(address, list(pending.packets))
            return
        pending.tries += 1
        self.counters["requestsSent"] += 1
        source = min(self.addresses) if self.addresses else b"\0\0\0\0"
        self._send(BROADCAST_MAC, OPERATION_REQUEST, source, ZERO_MAC, address)
        if self._pending.get(address) is pending:
            # Not answered during the send (an in-process switch can answer
            # by call): try again later.
            pending.timer = self.reactor.callLater(self.retryInterval, self._request, address)

    def stop(self) -> None:
        """
        Cancel every retry timer and drop the queued packets.
        """
        for pending in self._pending.values():
            if pending.timer is not None and pending.timer.active():
                pending.timer.cancel()
        self._pending.clear()
        self._queuedTotal = 0


__all__ = ["ARPCache", "ARPLayer", "ARPRepr"]
