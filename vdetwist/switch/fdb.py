# -*- test-case-name: tests.switch.test_fdb -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The forwarding database: which port each (MAC, VLAN) was last seen on.

The switch keeps one plain C{dict} per VLAN, keyed by the 6-byte MAC, whose
values are small lists C{[port, lastSeen, serial, key]}: the forwarding path
does one dict lookup per frame and touches no other object unless the
entry's second changed.  The vde_switch hash bucket (a 64-bit mixer over MAC
and VLAN) is computed only when the table is printed, so C{hash/print} lists
entries in the same order as vde_switch.

The table stays correct when guests send from more source MACs than it
holds (issue 10 item 11): a port learns at most L{maxPortEntries} MACs and
the table at most L{maxEntries}; past either bound the least recently seen
entry (of that port, or of the whole table) is evicted, so a host that joins
later is always learned.  Recency is kept in two C{OrderedDict}s (all
entries, and each port's), least recently seen first; an entry moves to
their ends only when its second changes, so a frame from a known source
costs one comparison more than a plain dict lookup, and learning or evicting
costs O(1).

Time is the switch's integer second tick (C{now}), passed in: this module
reads no clock.
"""

from collections import OrderedDict
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

#: Defaults of vde_switch r586 (docs/vde-protocol.md section 5).
DEFAULT_HASH_SIZE = 128
DEFAULT_GC_INTERVAL = 2
DEFAULT_EXPIRE = 100
DEFAULT_MIN_PERSISTENCE = 3
#: The most entries the table holds, over all VLANs: guests can send frames
#: from any number of source MACs, so past this the least recently seen
#: entry is evicted.
DEFAULT_MAX_ENTRIES = 16384
#: The most entries one port learns (port security): a quarter of the
#: table, so one port flooding source MACs cannot take the table from the
#: others, while an uplink to a big network still learns thousands.
DEFAULT_MAX_PORT_ENTRIES = 4096

_MASK64 = (1 << 64) - 1

#: Entry layout: [port, lastSeen, serial, (vlan, mac)]
PORT, LAST_SEEN, SERIAL, KEY = 0, 1, 2, 3


def bucketOf(mac: bytes, vlan: int, size: int) -> int:
    """
    The vde_switch hash bucket of an entry: the 8 bytes MAC + VLAN (low byte
    first) as a little-endian u64 through MurmurHash3's 64-bit finaliser.

    @param mac: 6 bytes.
    @param vlan: the VLAN id.
    @param size: the number of buckets, a power of two.
    @return: the bucket number.
    """
    x = int.from_bytes(mac + vlan.to_bytes(2, "little"), "little")
    x ^= x >> 33
    x = (x * 0xFF51AFD7ED558CCD) & _MASK64
    x ^= x >> 33
    x = (x * 0xC4CEB9FE1A85EC53) & _MASK64
    return x & (size - 1)


def roundUpPowerOfTwo(n: int) -> int:
    """
    The smallest power of two at least C{n} (as C{hash/setsize} rounds).

    @param n: a positive integer.
    @return: the power of two.
    """
    size = 1
    while size < n:
        size <<= 1
    return size


class ForwardingDatabase:
    """
    MAC learning tables, one per VLAN, with aging, bounds and eviction of the
    least recently seen entries.

    @ivar tables: VLAN id to C{{mac: [port, lastSeen, serial, key]}}; the
        switch reads these directly on its forwarding path.
    @ivar size: the bucket count shown by C{hash/showinfo} (a power of two).
    @ivar gcInterval: seconds between aging sweeps.
    @ivar expire: seconds after which an unseen entry is removed.
    @ivar minPersistence: an entry seen less than this many seconds ago does
        not move to another port.
    @ivar maxEntries: the bound on the number of entries (0: learn nothing).
    @ivar maxPortEntries: the bound on the entries of one port (0: only
        L{maxEntries} bounds a port).
    @ivar count: the number of entries.
    @ivar evicted: entries evicted because the table was full.
    @ivar portEvicted: entries evicted because their port was at
        L{maxPortEntries}.
    @ivar dropped: frames whose source could not be learned (only when
        L{maxEntries} is 0).
    """

    def __init__(self, size: int = DEFAULT_HASH_SIZE,
                 maxEntries: int = DEFAULT_MAX_ENTRIES,
                 maxPortEntries: int = DEFAULT_MAX_PORT_ENTRIES) -> None:
        """
        @param size: the bucket count (rounded up to a power of two).
        @param maxEntries: the bound on entries.
        @param maxPortEntries: the bound on one port's entries, 0 for none.
        """
        self.tables: Dict[int, Dict[bytes, List[Any]]] = {}
        self.size = roundUpPowerOfTwo(max(1, size))
        self.gcInterval = DEFAULT_GC_INTERVAL
        self.expire = DEFAULT_EXPIRE
        self.minPersistence = DEFAULT_MIN_PERSISTENCE
        self.maxEntries = maxEntries
        self.maxPortEntries = maxPortEntries
        self.count = 0
        self.evicted = 0
        self.portEvicted = 0
        self.dropped = 0
        self._serial = 0
        # Least recently seen first: every entry, and each port's.
        self._recency: "OrderedDict[Tuple[int, bytes], List[Any]]" = OrderedDict()
        self._byPort: Dict[Any, "OrderedDict[Tuple[int, bytes], List[Any]]"] = {}
        self.onAdd: Optional[Callable[[bytes, int, Any], None]] = None
        self.onRemove: Optional[Callable[[bytes, int, Any], None]] = None

    def touch(self, entry: List[Any], now: int) -> None:
        """
        Mark a known entry seen at C{now} (the switch calls this only when
        the entry's second changed, so it runs at most once a second per
        entry).

        @param entry: an entry of L{tables}.
        @param now: the switch tick.
        """
        entry[LAST_SEEN] = now
        key = entry[KEY]
        self._recency.move_to_end(key)
        self._byPort[entry[PORT]].move_to_end(key)

    def learn(self, table: Dict[bytes, List[Any]], vlan: int, mac: bytes,
              port: Any, now: int) -> Optional[Tuple[Any, Any]]:
        """
        Learn a source MAC that is new, or seen on another port (the slow
        part of learning; the switch refreshes a known entry itself, with
        L{touch}).  A new entry first evicts the least recently seen entry
        of its port when the port is at L{maxPortEntries}, else that of the
        whole table when the table is at L{maxEntries}.

        @param table: the VLAN's table (C{tables[vlan]}).
        @param vlan: the VLAN id.
        @param mac: the source MAC, 6 bytes.
        @param port: the ingress port.
        @param now: the switch tick.
        @return: C{(oldPort, newPort)} when a MAC moved, else L{None}.
        """
        entry = table.get(mac)
        if entry is None:
            owned = self._byPort.get(port)
            if self.count >= self.maxEntries or (
                    owned is not None and 0 < self.maxPortEntries <= len(owned)):
                if self.maxEntries <= 0:
                    self.dropped += 1
                    return None
                self._makeRoom(port, True)
                owned = self._byPort.get(port)
            if owned is None:
                owned = self._byPort[port] = OrderedDict()
            key = (vlan, mac)
            self._serial += 1
            entry = [port, now, self._serial, key]
            table[mac] = entry
            self._recency[key] = entry
            owned[key] = entry
            self.count += 1
            if self.onAdd is not None:
                self.onAdd(mac, vlan, port)
            return None
        if entry[PORT] is port:
            if entry[LAST_SEEN] != now:
                self.touch(entry, now)
            return None
        old = entry[PORT]
        if now - entry[LAST_SEEN] > self.minPersistence:
            key = entry[KEY]
            self._disown(old, key)
            self._makeRoom(port, False)
            owned = self._ownedBy(port)
            entry[PORT] = port
            entry[LAST_SEEN] = now
            owned[key] = entry
            self._recency.move_to_end(key)
            return (old, port)
        return None

    def _ownedBy(self, port: Any) -> "OrderedDict[Tuple[int, bytes], List[Any]]":
        """
        The recency order of a port's entries, made when it learns its
        first.

        @param port: the port.
        @return: its C{OrderedDict}.
        """
        owned = self._byPort.get(port)
        if owned is None:
            owned = self._byPort[port] = OrderedDict()
        return owned

    def _disown(self, port: Any, key: Tuple[int, bytes]) -> None:
        """
        Take an entry out of its port's order (dropping an emptied order, so
        removed ports leave nothing behind).

        @param port: the entry's port.
        @param key: the entry's key.
        """
        owned = self._byPort[port]
        del owned[key]
        if not owned:
            del self._byPort[port]

    def _makeRoom(self, port: Any, adding: bool) -> None:
        """
        Evict until one more entry fits in C{port} and, when C{adding}, in
        the table; each eviction is counted.

        @param port: the learning port.
        @param adding: whether the entry is new (not one moving between
            ports).
        """
        if self.maxPortEntries > 0:
            owned = self._byPort.get(port)
            while owned and len(owned) >= self.maxPortEntries:
                self.portEvicted += 1
                self._evictFirst(owned)
        if adding:
            while self.count >= self.maxEntries and self._recency:
                self.evicted += 1
                self._evictFirst(self._recency)

    def _evictFirst(self, order: "OrderedDict[Tuple[int, bytes], List[Any]]") -> None:
        """
        Remove the least recently seen entry of an order.

        @param order: L{_recency} or a port's order, not empty.
        """
        vlan, mac = next(iter(order))
        self.remove(vlan, mac)

    def remove(self, vlan: int, mac: bytes) -> None:
        """
        Remove one entry, if present.

        @param vlan: the VLAN id.
        @param mac: the MAC.
        """
        table = self.tables.get(vlan)
        if table is not None:
            entry = table.pop(mac, None)
            if entry is not None:
                self.count -= 1
                key = entry[KEY]
                del self._recency[key]
                self._disown(entry[PORT], key)
                if self.onRemove is not None:
                    self.onRemove(mac, vlan, entry[PORT])

    def flush(self, predicate: Callable[[int, bytes, List[Any]], bool]
              = lambda vlan, mac, entry: True) -> None:
        """
        Remove every entry for which C{predicate(vlan, mac, entry)} is true.

        @param predicate: which entries go; all of them by default.
        """
        for vlan, table in list(self.tables.items()):
            for mac, entry in list(table.items()):
                if predicate(vlan, mac, entry):
                    self.remove(vlan, mac)

    def flushPort(self, port: Any, vlan: Optional[int] = None) -> None:
        """
        Remove the entries that point at C{port} (in one VLAN, or all), in
        the order they were learned or last seen.

        @param port: the port.
        @param vlan: restrict to this VLAN, or L{None} for all.
        """
        owned = self._byPort.get(port)
        if owned is None:
            return
        for v, mac in list(owned):
            if vlan is None or v == vlan:
                self.remove(v, mac)

    def portCount(self, port: Any) -> int:
        """
        How many entries point at C{port}.

        @param port: the port.
        @return: the count.
        """
        owned = self._byPort.get(port)
        return 0 if owned is None else len(owned)

    def expireOld(self, now: int) -> None:
        """
        Remove entries not seen for more than C{expire} seconds: the front
        of the recency order, so the sweep costs what it removes.

        @param now: the switch tick.
        """
        limit = now - self.expire
        recency = self._recency
        while recency:
            entry = recency[next(iter(recency))]
            if entry[LAST_SEEN] >= limit:
                break
            vlan, mac = entry[KEY]
            self.remove(vlan, mac)

    def setMaxEntries(self, maxEntries: int) -> None:
        """
        Change L{maxEntries}, evicting the least recently seen entries
        beyond it (counted as evictions).

        @param maxEntries: the new bound, 0 or more.
        """
        self.maxEntries = maxEntries
        while self.count > maxEntries:
            self.evicted += 1
            self._evictFirst(self._recency)

    def setMaxPortEntries(self, maxPortEntries: int) -> None:
        """
        Change L{maxPortEntries}, evicting each port's least recently seen
        entries beyond it (counted as port evictions).

        @param maxPortEntries: the new bound, 0 for none.
        """
        self.maxPortEntries = maxPortEntries
        if maxPortEntries <= 0:
            return
        for owned in list(self._byPort.values()):
            while len(owned) > maxPortEntries:
                self.portEvicted += 1
                self._evictFirst(owned)

    def setSize(self, size: int) -> None:
        """
        Change the bucket count (rounded up to a power of two) and flush the
        table, as C{hash/setsize} does.

        @param size: the requested size, positive.
        """
        self.size = roundUpPowerOfTwo(size)
        self.flush()

    def find(self, mac: bytes, vlan: int) -> Optional[List[Any]]:
        """
        Look one entry up.

        @param mac: the MAC, 6 bytes.
        @param vlan: the VLAN id.
        @return: the entry, or L{None}.
        """
        table = self.tables.get(vlan)
        return None if table is None else table.get(mac)

    def entries(self) -> Iterator[Tuple[int, bytes, int, List[Any]]]:
        """
        Every entry in vde_switch's C{hash/print} order: by bucket, newest
        first within a bucket.

        @return: an iterator of C{(bucket, mac, vlan, entry)}.
        """
        rows = []
        for vlan, table in self.tables.items():
            for mac, entry in table.items():
                rows.append((bucketOf(mac, vlan, self.size), -entry[SERIAL],
                             mac, vlan, entry))
        rows.sort(key=lambda row: (row[0], row[1]))
        for bucket, _, mac, vlan, entry in rows:
            yield bucket, mac, vlan, entry
