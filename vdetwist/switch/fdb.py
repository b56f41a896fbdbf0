# -*- test-case-name: tests.switch.test_fdb -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The forwarding database: which port each (MAC, VLAN) was last seen on.

The switch keeps one plain C{dict} per VLAN, keyed by the 6-byte MAC, whose
values are small lists C{[port, lastSeen, serial]}: the forwarding path does
one dict lookup per frame and touches no other object.  The vde_switch hash
bucket (a 64-bit mixer over MAC and VLAN) is computed only when the table is
printed, so C{hash/print} lists entries in the same order as vde_switch.

Time is the switch's integer second tick (C{now}), passed in: this module
reads no clock.
"""

from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

#: Defaults of vde_switch r586 (docs/vde-protocol.md section 5).
DEFAULT_HASH_SIZE = 128
DEFAULT_GC_INTERVAL = 2
DEFAULT_EXPIRE = 100
DEFAULT_MIN_PERSISTENCE = 3
#: The most entries the table holds, over all VLANs: guests can send frames
#: from any number of source MACs, so learning stops (and is counted) here.
DEFAULT_MAX_ENTRIES = 16384

_MASK64 = (1 << 64) - 1

#: Entry layout: [port, lastSeen, serial]
PORT, LAST_SEEN, SERIAL = 0, 1, 2


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
    MAC learning tables, one per VLAN, with aging and a bound.

    @ivar tables: VLAN id to C{{mac: [port, lastSeen, serial]}}; the switch
        reads these directly on its forwarding path.
    @ivar size: the bucket count shown by C{hash/showinfo} (a power of two).
    @ivar gcInterval: seconds between aging sweeps.
    @ivar expire: seconds after which an unseen entry is removed.
    @ivar minPersistence: an entry seen less than this many seconds ago does
        not move to another port.
    @ivar maxEntries: the bound on the number of entries.
    @ivar dropped: frames whose source could not be learned (table full).
    """

    def __init__(self, size: int = DEFAULT_HASH_SIZE,
                 maxEntries: int = DEFAULT_MAX_ENTRIES) -> None:
        """
        @param size: the bucket count (rounded up to a power of two).
        @param maxEntries: the bound on entries.
        """
        self.tables: Dict[int, Dict[bytes, List[Any]]] = {}
        self.size = roundUpPowerOfTwo(max(1, size))
        self.gcInterval = DEFAULT_GC_INTERVAL
        self.expire = DEFAULT_EXPIRE
        self.minPersistence = DEFAULT_MIN_PERSISTENCE
        self.maxEntries = maxEntries
        self.count = 0
        self.dropped = 0
        self._serial = 0
        self.onAdd: Optional[Callable[[bytes, int, Any], None]] = None
        self.onRemove: Optional[Callable[[bytes, int, Any], None]] = None

    def learn(self, table: Dict[bytes, List[Any]], vlan: int, mac: bytes,
              port: Any, now: int) -> Optional[Tuple[Any, Any]]:
        """
        Learn a source MAC that is new, or seen on another port (the slow
        part of learning; the switch refreshes a known entry itself).

        @param table: the VLAN's table (C{tables[vlan]}).
        @param vlan: the VLAN id.
        @param mac: the source MAC, 6 bytes.
        @param port: the ingress port.
        @param now: the switch tick.
        @return: C{(oldPort, newPort)} when a MAC moved, else L{None}.
        """
        entry = table.get(mac)
        if entry is None:
            if self.count >= self.maxEntries:
                self.dropped += 1
                return None
            self._serial += 1
            table[mac] = [port, now, self._serial]
            self.count += 1
            if self.onAdd is not None:
                self.onAdd(mac, vlan, port)
            return None
        if entry[PORT] is port:
            entry[LAST_SEEN] = now
            return None
        old = entry[PORT]
        if now - entry[LAST_SEEN] > self.minPersistence:
            entry[PORT] = port
            entry[LAST_SEEN] = now
            return (old, port)
        return None

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
        Remove the entries that point at C{port} (in one VLAN, or all).

        @param port: the port.
        @param vlan: restrict to this VLAN, or L{None} for all.
        """
        self.flush(lambda v, mac, entry: entry[PORT] is port
                   and (vlan is None or v == vlan))

    def expireOld(self, now: int) -> None:
        """
        Remove entries not seen for more than C{expire} seconds.

        @param now: the switch tick.
        """
        limit = now - self.expire
        self.flush(lambda vlan, mac, entry: entry[LAST_SEEN] < limit)

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
