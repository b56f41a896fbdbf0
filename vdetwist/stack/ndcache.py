# -*- test-case-name: tests.stack.test_nd -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The IPv6 neighbor cache (RFC 4861 section 7.3), pure: neighbor
unreachability detection with the states INCOMPLETE, REACHABLE, STALE,
DELAY and PROBE, a bounded number of entries (the least recently used is
evicted) and bounded queues of packets awaiting resolution.  Time is an
argument; the methods return what to send.  L{vdetwist.stack.nd.NDLayer}
runs it.
"""

from collections import Counter, OrderedDict, deque
from typing import Deque, Dict, List, Optional, Tuple

INCOMPLETE = "INCOMPLETE"
REACHABLE = "REACHABLE"
STALE = "STALE"
DELAY = "DELAY"
PROBE = "PROBE"

#: An action of L{NeighborCache}: send a solicitation for the address,
#: to the MAC (unicast probe) or to its solicited-node group (C{None}).
Solicit = Tuple[bytes, Optional[bytes]]
#: Packets released by a resolution: (MAC, packets).
Release = Tuple[bytes, List[bytes]]


class _Neighbor:
    """
    One neighbor cache entry.

    @ivar state: the NUD state.
    @ivar mac: the link-layer address (C{None} while INCOMPLETE).
    @ivar router: the IsRouter flag.
    @ivar reachableUntil: when REACHABLE turns STALE.
    @ivar deadline: the next timer event (INCOMPLETE, DELAY, PROBE).
    @ivar probes: solicitations sent in this state.
    @ivar queue: packets awaiting resolution.
    """

    __slots__ = ("state", "mac", "router", "reachableUntil", "deadline", "probes", "queue")

    def __init__(self, state: str, mac: Optional[bytes]) -> None:
        """
        @param state: the initial state.
        @param mac: the link-layer address, if known.
        """
        self.state = state
        self.mac = mac
        self.router = False
        self.reachableUntil = 0.0
        self.deadline = 0.0
        self.probes = 0
        self.queue: Deque[bytes] = deque()


class NeighborCache:
    """
    A bounded neighbor cache with neighbor unreachability detection
    (RFC 4861 section 7.3).  Pure: every method takes the current time and
    returns what must be sent.

    REACHABLE entries turn STALE lazily, when next used after their
    reachable time.  Only entries in INCOMPLETE, DELAY and PROBE have
    deadlines (L{nextDeadline}, L{tick}).

    @ivar maxEntries: the most entries held (the least recently used is
        evicted, INCOMPLETE entries with their queues).
    @ivar reachableTime: seconds an entry stays REACHABLE after a
        confirmation.
    @ivar retransTimer: seconds between solicitations.
    @ivar delayFirstProbeTime: seconds in DELAY before probing.
    @ivar maxMulticastSolicit: solicitations before resolution fails.
    @ivar maxUnicastSolicit: probes before a neighbor is unreachable.
    @ivar counters: C{queued}, C{queueFull}, C{resolutionFailed} (packets
        dropped), C{unreachable} (neighbors given up), C{evicted}.
    """

    def __init__(self, maxEntries: int = 1024, maxQueuedPerAddress: int = 16,
                 maxPendingAddresses: int = 64, maxQueuedTotal: int = 256,
                 reachableTime: float = 30.0, retransTimer: float = 1.0,
                 delayFirstProbeTime: float = 5.0, maxMulticastSolicit: int = 3,
                 maxUnicastSolicit: int = 3) -> None:
        """
        @param maxEntries: the most entries.
        @param maxQueuedPerAddress: packets held per unresolved address.
        @param maxPendingAddresses: INCOMPLETE entries at once.
        @param maxQueuedTotal: packets held in all.
        @param reachableTime: RFC 4861's ReachableTime, seconds.
        @param retransTimer: RFC 4861's RetransTimer, seconds.
        @param delayFirstProbeTime: RFC 4861's DELAY_FIRST_PROBE_TIME.
        @param maxMulticastSolicit: RFC 4861's MAX_MULTICAST_SOLICIT.
        @param maxUnicastSolicit: RFC 4861's MAX_UNICAST_SOLICIT.
        """
        self.maxEntries = maxEntries
        self.maxQueuedPerAddress = maxQueuedPerAddress
        self.maxPendingAddresses = maxPendingAddresses
        self.maxQueuedTotal = maxQueuedTotal
        self.reachableTime = reachableTime
        self.retransTimer = retransTimer
        self.delayFirstProbeTime = delayFirstProbeTime
        self.maxMulticastSolicit = maxMulticastSolicit
        self.maxUnicastSolicit = maxUnicastSolicit
        self.counters: Counter[str] = Counter()
        self._entries: "OrderedDict[bytes, _Neighbor]" = OrderedDict()
        self._active: Dict[bytes, _Neighbor] = {}
        self._pending = 0
        self._queuedTotal = 0

    def __len__(self) -> int:
        """
        The number of entries.
        """
        return len(self._entries)

    @property
    def queuedTotal(self) -> int:
        """
        The packets held awaiting resolution.
        """
        return self._queuedTotal

    def state(self, address: bytes, now: float) -> Optional[str]:
        """
        The NUD state of an entry.

        @param address: the neighbor.
        @param now: the current time.
        @return: the state, or C{None} when there is no entry.
        """
        entry = self._entries.get(address)
        if entry is None:
            return None
        if entry.state is REACHABLE and now >= entry.reachableUntil:
            entry.state = STALE
        return entry.state

    def lookup(self, address: bytes) -> Optional[bytes]:
        """
        The link-layer address of a neighbor, in any state but INCOMPLETE.

        @param address: the neighbor.
        @return: the MAC or C{None}.
        """
        entry = self._entries.get(address)
        return None if entry is None else entry.mac

    def isRouter(self, address: bytes) -> bool:
        """
        The IsRouter flag of an entry.

        @param address: the neighbor.
        @return: the flag (C{False} without an entry).
        """
        entry = self._entries.get(address)
        return entry is not None and entry.router

    def markRouter(self, address: bytes) -> None:
        """
        Set the IsRouter flag of an entry (a router advertisement came
        from it).

        @param address: the neighbor.
        """
        entry = self._entries.get(address)
        if entry is not None:
            entry.router = True

    def entries(self, now: float) -> List[Tuple[bytes, Optional[bytes], str]]:
        """
        Every entry, for display.

        @param now: the current time.
        @return: (address, MAC, state) triples.
        """
        return [(a, e.mac, self.state(a, now) or "") for a, e in list(self._entries.items())]

    def _insert(self, address: bytes, entry: _Neighbor) -> List[Tuple[bytes, List[bytes]]]:
        """
        Add an entry, evicting the least recently used ones when full.

        @param address: the neighbor.
        @param entry: the entry.
        @return: (address, packets) of evicted INCOMPLETE entries.
        """
        evicted = []
        entries = self._entries
        while len(entries) >= self.maxEntries:
            old, dead = entries.popitem(last=False)
            self.counters["evicted"] += 1
            evicted.append((old, self._forget(old, dead)))
        entries[address] = entry
        return evicted

    def _forget(self, address: bytes, entry: _Neighbor) -> List[bytes]:
        """
        Drop an entry's timer and queue (the entry is already out of the
        table).

        @param address: the neighbor.
        @param entry: the entry.
        @return: its queued packets.
        """
        self._active.pop(address, None)
        if entry.state is INCOMPLETE:
            self._pending -= 1
        packets = list(entry.queue)
        self._queuedTotal -= len(packets)
        entry.queue.clear()
        return packets

    def remove(self, address: bytes) -> List[bytes]:
        """
        Forget a neighbor.

        @param address: the neighbor.
        @return: the packets it had queued.
        """
        entry = self._entries.pop(address, None)
        return [] if entry is None else self._forget(address, entry)

    def usable(self, address: bytes, now: float) -> Optional[bytes]:
        """
        The MAC that L{send} would return for C{address} without changing
        anything (a REACHABLE entry still fresh, or one in DELAY or PROBE),
        else C{None}: for the packets of a burst after the first went
        through L{send}.

        @param address: the next hop.
        @param now: the current time.
        @return: the MAC, or C{None}.
        """
        entry = self._entries.get(address)
        if entry is None:
            return None
        state = entry.state
        if state is REACHABLE:
            return entry.mac if now < entry.reachableUntil else None
        if state is DELAY or state is PROBE:
            return entry.mac
        return None

    def send(self, address: bytes, packet: bytes, now: float
             ) -> Tuple[Optional[bytes], Optional[Solicit]]:
        """
        A packet is to be sent to an on-link neighbor.

        @param address: the next hop.
        @param packet: the IPv6 packet.
        @param now: the current time.
        @return: C{(mac, solicit)}: the MAC to send the packet to now
            (C{None} when it was queued or dropped), and a solicitation to
            send, if any.
        """
        entry = self._entries.get(address)
        if entry is not None:
            state = entry.state
            if state is REACHABLE:
                if now < entry.reachableUntil:
                    return entry.mac, None
                state = STALE
            if state is STALE:
                # RFC 4861 7.3.3: the first use of a STALE entry starts
                # the DELAY state.
                entry.state = DELAY
                entry.deadline = now + self.delayFirstProbeTime
                self._active[address] = entry
                return entry.mac, None
            if state is not INCOMPLETE:
                return entry.mac, None
            if (len(entry.queue) >= self.maxQueuedPerAddress
                    or self._queuedTotal >= self.maxQueuedTotal):
                self.counters["queueFull"] += 1
                return None, None
            entry.queue.append(packet)
            self._queuedTotal += 1
            self.counters["queued"] += 1
            return None, None
        if (self._pending >= self.maxPendingAddresses
                or self._queuedTotal >= self.maxQueuedTotal):
            self.counters["queueFull"] += 1
            return None, None
        entry = _Neighbor(INCOMPLETE, None)
        for old, packets in self._insert(address, entry):
            self.counters["resolutionFailed"] += len(packets)
        self._pending += 1
        entry.queue.append(packet)
        self._queuedTotal += 1
        self.counters["queued"] += 1
        entry.probes = 1
        entry.deadline = now + self.retransTimer
        self._active[address] = entry
        return None, (address, None)

    def _release(self, address: bytes, entry: _Neighbor) -> Optional[Release]:
        """
        Leave INCOMPLETE: release the queue.

        @param address: the neighbor.
        @param entry: its entry, with a MAC now.
        @return: the packets to send, or C{None}.
        """
        self._pending -= 1
        packets = list(entry.queue)
        entry.queue.clear()
        self._queuedTotal -= len(packets)
        assert entry.mac is not None
        return (entry.mac, packets) if packets else None

    def learn(self, address: bytes, mac: bytes, now: float,
              create: bool = True) -> Optional[Release]:
        """
        A link-layer address heard from a solicitation or a router
        advertisement (RFC 4861 7.2.3, 6.3.4): create a STALE entry, or
        move an entry whose address changed to STALE.

        @param address: the sender.
        @param mac: its link-layer address.
        @param now: the current time.
        @param create: create an entry if there is none.
        @return: packets released by it, if it was INCOMPLETE.
        """
        entry = self._entries.get(address)
        if entry is None:
            if not create:
                return None
            entry = _Neighbor(STALE, mac)
            for old, packets in self._insert(address, entry):
                self.counters["resolutionFailed"] += len(packets)
            return None
        self._entries.move_to_end(address)
        if entry.state is INCOMPLETE:
            entry.mac = mac
            entry.state = STALE
            self._active.pop(address, None)
            return self._release(address, entry)
        if entry.mac != mac:
            entry.mac = mac
            entry.state = STALE
            self._active.pop(address, None)
        return None

    def advertised(self, address: bytes, mac: Optional[bytes], solicited: bool,
                   override: bool, router: bool, now: float) -> Optional[Release]:
        """
        A neighbor advertisement for C{address} arrived (RFC 4861 7.2.5).

        @param address: the target.
        @param mac: the target link-layer address option, if any.
        @param solicited: the S flag.
        @param override: the O flag.
        @param router: the R flag.
        @param now: the current time.
        @return: packets released by it, if the entry was INCOMPLETE.
        """
        entry = self._entries.get(address)
        if entry is None:
            return None
        self._entries.move_to_end(address)
        if entry.state is INCOMPLETE:
            if mac is None:
                return None
            entry.mac = mac
            entry.router = router
            self._active.pop(address, None)
            if solicited:
                entry.state = REACHABLE
                entry.reachableUntil = now + self.reachableTime
            else:
                entry.state = STALE
            return self._release(address, entry)
        changed = mac is not None and mac != entry.mac
        if not override and changed:
            if entry.state is REACHABLE:
                entry.state = STALE
            return None
        if mac is not None:
            entry.mac = mac
        if solicited:
            entry.state = REACHABLE
            entry.reachableUntil = now + self.reachableTime
            self._active.pop(address, None)
        elif changed:
            entry.state = STALE
            self._active.pop(address, None)
        entry.router = router
        return None

    def confirm(self, address: bytes, now: float) -> None:
        """
        Forward progress was seen with a neighbor (an upper-layer hint,
        RFC 4861 7.3.1): it is REACHABLE.

        @param address: the neighbor.
        @param now: the current time.
        """
        entry = self._entries.get(address)
        if entry is not None and entry.state is not INCOMPLETE:
            entry.state = REACHABLE
            entry.reachableUntil = now + self.reachableTime
            self._active.pop(address, None)

    def nextDeadline(self) -> Optional[float]:
        """
        The earliest timer event, or C{None}.
        """
        if not self._active:
            return None
        return min(e.deadline for e in self._active.values())

    def tick(self, now: float) -> Tuple[List[Solicit], List[Tuple[bytes, List[bytes]]]]:
        """
        Run the timer events due.

        @param now: the current time.
        @return: C{(solicitations, failures)}: the solicitations to send,
            and the neighbors given up with their dropped packets.
        """
        solicit: List[Solicit] = []
        failed: List[Tuple[bytes, List[bytes]]] = []
        for address, entry in [(a, e) for a, e in self._active.items() if e.deadline <= now]:
            if entry.state is INCOMPLETE:
                if entry.probes >= self.maxMulticastSolicit:
                    del self._entries[address]
                    packets = self._forget(address, entry)
                    self.counters["resolutionFailed"] += len(packets)
                    self.counters["unreachable"] += 1
                    failed.append((address, packets))
                    continue
                entry.probes += 1
                entry.deadline = now + self.retransTimer
                solicit.append((address, None))
            elif entry.state is DELAY:
                entry.state = PROBE
                entry.probes = 1
                entry.deadline = now + self.retransTimer
                solicit.append((address, entry.mac))
            elif entry.state is PROBE:
                if entry.probes >= self.maxUnicastSolicit:
                    del self._entries[address]
                    self._forget(address, entry)
                    self.counters["unreachable"] += 1
                    failed.append((address, []))
                    continue
                entry.probes += 1
                entry.deadline = now + self.retransTimer
                solicit.append((address, entry.mac))
            else:
                self._active.pop(address, None)
        return solicit, failed


__all__ = [
    "NeighborCache",
    "Solicit",
    "Release",
    "INCOMPLETE",
    "REACHABLE",
    "STALE",
    "DELAY",
    "PROBE",
]
