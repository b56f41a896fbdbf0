# -*- test-case-name: tests.switch.test_fdb -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.switch.fdb}: learning, moves and their persistence,
the bounds (table and per port) and eviction of the least recently seen,
removal callbacks, flushing, aging, and vde_switch's bucket order for
C{hash/print}.
"""

import random
from typing import Any, List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.switch.fdb import (
    DEFAULT_EXPIRE, DEFAULT_GC_INTERVAL, DEFAULT_HASH_SIZE, DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_PORT_ENTRIES, DEFAULT_MIN_PERSISTENCE, LAST_SEEN, PORT, ForwardingDatabase,
    bucketOf, roundUpPowerOfTwo)

MAC1 = bytes.fromhex("020000000001")
MAC2 = bytes.fromhex("020000000002")
MAC3 = bytes.fromhex("020000000003")


class BucketTests(SynchronousTestCase):
    """
    The vde_switch hash bucket, for hash/print order.
    """

    def test_knownBuckets(self) -> None:
        """
        02:00:00:00:00:01 and :02 on VLAN 0 fall in buckets 43 and 60 of
        128, as measured on vde_switch r586.
        """
        self.assertEqual(bucketOf(MAC1, 0, 128), 43)
        self.assertEqual(bucketOf(MAC2, 0, 128), 60)

    def test_smallerTable(self) -> None:
        """
        A smaller table keeps the low bits of the same hash.
        """
        self.assertEqual(bucketOf(MAC1, 0, 16), 43 % 16)
        self.assertEqual(bucketOf(MAC2, 0, 1), 0)

    def test_roundUp(self) -> None:
        """
        Sizes round up to a power of two, as C{hash/setsize} does.
        """
        self.assertEqual([roundUpPowerOfTwo(n) for n in (1, 2, 3, 100, 128, 129)],
                         [1, 2, 4, 128, 128, 256])


class ForwardingDatabaseTests(SynchronousTestCase):
    """
    The tables, with plain objects for ports.
    """

    def setUp(self) -> None:
        self.fdb = ForwardingDatabase()
        self.table = self.fdb.tables.setdefault(0, {})
        self.added: List[Tuple[bytes, int, Any]] = []
        self.removed: List[Tuple[bytes, int, Any]] = []
        self.fdb.onAdd = lambda mac, vlan, port: self.added.append((mac, vlan, port))
        self.fdb.onRemove = lambda mac, vlan, port: self.removed.append((mac, vlan, port))
        self.p1, self.p2 = object(), object()

    def test_defaults(self) -> None:
        """
        vde_switch r586's defaults.
        """
        self.assertEqual((self.fdb.size, self.fdb.gcInterval, self.fdb.expire,
                          self.fdb.minPersistence),
                         (DEFAULT_HASH_SIZE, DEFAULT_GC_INTERVAL, DEFAULT_EXPIRE,
                          DEFAULT_MIN_PERSISTENCE))
        self.assertEqual((DEFAULT_HASH_SIZE, DEFAULT_GC_INTERVAL, DEFAULT_EXPIRE,
                          DEFAULT_MIN_PERSISTENCE), (128, 2, 100, 3))
        self.assertEqual(ForwardingDatabase(100).size, 128)

    def test_learnNew(self) -> None:
        """
        A new MAC is learned with its port and time, counted and announced.
        """
        self.assertIsNone(self.fdb.learn(self.table, 0, MAC1, self.p1, 5))
        entry = self.fdb.find(MAC1, 0)
        self.assertIs(entry[PORT], self.p1)
        self.assertEqual(entry[LAST_SEEN], 5)
        self.assertEqual(self.fdb.count, 1)
        self.assertEqual(self.added, [(MAC1, 0, self.p1)])
        self.assertIsNone(self.fdb.find(MAC1, 7))

    def test_refresh(self) -> None:
        """
        The same MAC on the same port only refreshes its time.
        """
        self.fdb.learn(self.table, 0, MAC1, self.p1, 5)
        self.assertIsNone(self.fdb.learn(self.table, 0, MAC1, self.p1, 9))
        self.assertEqual(self.fdb.find(MAC1, 0)[LAST_SEEN], 9)
        self.assertEqual((self.fdb.count, len(self.added)), (1, 1))

    def test_moveAfterPersistence(self) -> None:
        """
        A MAC seen on another port moves only when its entry is older than
        the minimum persistence; the move is reported.
        """
        self.fdb.learn(self.table, 0, MAC1, self.p1, 10)
        self.assertIsNone(self.fdb.learn(self.table, 0, MAC1, self.p2, 13))
        self.assertIs(self.fdb.find(MAC1, 0)[PORT], self.p1)
        self.assertEqual(self.fdb.learn(self.table, 0, MAC1, self.p2, 14), (self.p1, self.p2))
        entry = self.fdb.find(MAC1, 0)
        self.assertEqual((entry[PORT], entry[LAST_SEEN]), (self.p2, 14))
        self.assertEqual(self.fdb.count, 1)

    def test_bound(self) -> None:
        """
        At the bound a new MAC evicts the least recently seen entry (counted
        as an eviction, announced as a removal) instead of being refused;
        known MACs still refresh.
        """
        self.fdb.maxEntries = 2
        for i, mac in enumerate((MAC1, MAC2, MAC3)):
            self.fdb.learn(self.table, 0, mac, self.p1, i)
        self.assertEqual((self.fdb.count, self.fdb.evicted, self.fdb.dropped), (2, 1, 0))
        self.assertIsNone(self.fdb.find(MAC1, 0))
        self.assertIsNotNone(self.fdb.find(MAC3, 0))
        self.assertEqual(self.removed, [(MAC1, 0, self.p1)])
        self.fdb.learn(self.table, 0, MAC2, self.p1, 50)
        self.assertEqual(self.fdb.find(MAC2, 0)[LAST_SEEN], 50)

    def test_evictionOrder(self) -> None:
        """
        Evictions take entries least recently seen first: learning order,
        except that an entry seen again (in a later second) goes to the
        back, over all VLANs and ports.
        """
        other = self.fdb.tables.setdefault(5, {})
        self.fdb.maxEntries = 3
        self.fdb.learn(self.table, 0, MAC1, self.p1, 1)
        self.fdb.learn(other, 5, MAC1, self.p2, 2)
        self.fdb.learn(self.table, 0, MAC2, self.p2, 3)
        self.fdb.learn(self.table, 0, MAC1, self.p1, 4)  # seen again: now newest
        self.fdb.learn(self.table, 0, MAC3, self.p1, 5)
        self.fdb.learn(other, 5, MAC2, self.p1, 6)
        self.fdb.touch(self.fdb.find(MAC1, 0), 7)
        self.fdb.learn(other, 5, MAC3, self.p1, 8)
        self.assertEqual(self.removed, [(MAC1, 5, self.p2), (MAC2, 0, self.p2),
                                        (MAC3, 0, self.p1)])
        self.assertEqual(self.fdb.evicted, 3)
        self.assertEqual(sorted((vlan, mac) for _, mac, vlan, _ in self.fdb.entries()),
                         [(0, MAC1), (5, MAC2), (5, MAC3)])

    def test_portBound(self) -> None:
        """
        A port at C{maxPortEntries} evicts its own least recently seen entry
        to learn a new one; other ports' entries stay; the evictions are
        counted apart from the table's.
        """
        self.fdb.maxPortEntries = 2
        self.fdb.learn(self.table, 0, MAC3, self.p2, 0)
        macs = [bytes([2, 0, 0, 0, 1, i]) for i in range(10)]
        for i, mac in enumerate(macs):
            self.fdb.learn(self.table, 0, mac, self.p1, i)
        self.assertEqual((self.fdb.portCount(self.p1), self.fdb.portCount(self.p2)), (2, 1))
        self.assertEqual([mac for mac, _, _ in self.removed], macs[:8])
        self.assertEqual((self.fdb.count, self.fdb.portEvicted, self.fdb.evicted), (3, 8, 0))
        self.assertIsNotNone(self.fdb.find(MAC3, 0))

    def test_portBoundOne(self) -> None:
        """
        With one entry per port, each new MAC replaces the last.
        """
        self.fdb.maxPortEntries = 1
        for mac in (MAC1, MAC2, MAC3):
            self.fdb.learn(self.table, 0, mac, self.p1, 0)
        self.assertEqual([mac for _, mac, _, _ in self.fdb.entries()], [MAC3])
        self.assertEqual((self.fdb.count, self.fdb.portCount(self.p1)), (1, 1))

    def test_moveRespectsPortBound(self) -> None:
        """
        A MAC moving to a port that is at its bound evicts that port's least
        recently seen entry; the table's count is unchanged by the move.
        """
        self.fdb.maxPortEntries = 1
        self.fdb.learn(self.table, 0, MAC1, self.p1, 0)
        self.fdb.learn(self.table, 0, MAC2, self.p2, 0)
        self.assertEqual(self.fdb.learn(self.table, 0, MAC1, self.p2, 10), (self.p1, self.p2))
        self.assertIsNone(self.fdb.find(MAC2, 0))
        self.assertEqual((self.fdb.count, self.fdb.portCount(self.p1),
                          self.fdb.portCount(self.p2)), (1, 0, 1))
        self.assertEqual(self.fdb.portEvicted, 1)

    def test_noLearning(self) -> None:
        """
        A bound of 0 learns nothing; the refusals are counted as drops.
        """
        self.fdb.setMaxEntries(0)
        self.fdb.learn(self.table, 0, MAC1, self.p1, 0)
        self.assertEqual((self.fdb.count, self.fdb.dropped), (0, 1))

    def test_setBounds(self) -> None:
        """
        Lowering a bound evicts the least recently seen entries beyond it at
        once; 0 for the per-port bound lifts it.
        """
        macs = [bytes([2, 0, 0, 0, 1, i]) for i in range(6)]
        for i, mac in enumerate(macs):
            self.fdb.learn(self.table, 0, mac, self.p1 if i % 2 else self.p2, i)
        self.fdb.setMaxPortEntries(2)
        self.assertEqual([mac for mac, _, _ in self.removed], macs[:2])
        self.assertEqual(self.fdb.portEvicted, 2)
        self.fdb.setMaxEntries(3)
        self.assertEqual([mac for mac, _, _ in self.removed], macs[:3])
        self.assertEqual((self.fdb.count, self.fdb.evicted), (3, 1))
        self.fdb.setMaxPortEntries(0)
        self.fdb.setMaxEntries(100)
        for i in range(10):
            self.fdb.learn(self.table, 0, bytes([2, 0, 0, 0, 2, i]), self.p1, 10)
        self.assertEqual(self.fdb.portCount(self.p1), 12)

    def test_exhaustion(self) -> None:
        """
        20,000 random source MACs from one port leave the port at its bound,
        the table consistent, and another port's host learned.
        """
        rnd = random.Random(11)
        self.fdb.learn(self.table, 0, MAC1, self.p2, 0)
        for _ in range(20000):
            self.fdb.learn(self.table, 0, bytes([2]) + rnd.randbytes(5), self.p1, 1)
        self.fdb.learn(self.table, 0, MAC2, self.p2, 2)
        self.assertEqual(self.fdb.portCount(self.p1), DEFAULT_MAX_PORT_ENTRIES)
        self.assertEqual(self.fdb.count, DEFAULT_MAX_PORT_ENTRIES + 2)
        self.assertEqual(len(list(self.fdb.entries())), self.fdb.count)
        self.assertIs(self.fdb.find(MAC2, 0)[PORT], self.p2)
        self.assertIs(self.fdb.find(MAC1, 0)[PORT], self.p2)
        self.assertEqual(self.fdb.portEvicted, 20000 - DEFAULT_MAX_PORT_ENTRIES)
        self.assertLess(DEFAULT_MAX_PORT_ENTRIES, DEFAULT_MAX_ENTRIES // 2)

    def test_remove(self) -> None:
        """
        Removing an entry uncounts and announces it; removing a missing one
        does nothing.
        """
        self.fdb.learn(self.table, 0, MAC1, self.p1, 0)
        self.fdb.remove(0, MAC1)
        self.fdb.remove(0, MAC1)
        self.fdb.remove(9, MAC1)
        self.assertEqual(self.fdb.count, 0)
        self.assertEqual(self.removed, [(MAC1, 0, self.p1)])

    def test_flushPort(self) -> None:
        """
        Flushing a port removes its entries, in one VLAN or in all.
        """
        other = self.fdb.tables.setdefault(5, {})
        self.fdb.learn(self.table, 0, MAC1, self.p1, 0)
        self.fdb.learn(self.table, 0, MAC2, self.p2, 0)
        self.fdb.learn(other, 5, MAC1, self.p1, 0)
        self.fdb.flushPort(self.p1, 5)
        self.assertEqual(self.removed, [(MAC1, 5, self.p1)])
        self.fdb.flushPort(self.p1)
        self.assertEqual(self.removed, [(MAC1, 5, self.p1), (MAC1, 0, self.p1)])
        self.assertIsNotNone(self.fdb.find(MAC2, 0))
        self.assertEqual(self.fdb.count, 1)

    def test_expireOld(self) -> None:
        """
        Entries not seen for more than C{expire} seconds go.
        """
        self.fdb.expire = 10
        self.fdb.learn(self.table, 0, MAC1, self.p1, 0)
        self.fdb.learn(self.table, 0, MAC2, self.p1, 5)
        self.fdb.expireOld(10)
        self.assertEqual(self.fdb.count, 2)
        self.fdb.expireOld(11)
        self.assertIsNone(self.fdb.find(MAC1, 0))
        self.assertIsNotNone(self.fdb.find(MAC2, 0))

    def test_expireRefreshed(self) -> None:
        """
        An entry seen again is not expired by the time it was learned.
        """
        self.fdb.expire = 10
        self.fdb.learn(self.table, 0, MAC1, self.p1, 0)
        self.fdb.learn(self.table, 0, MAC2, self.p1, 1)
        self.fdb.touch(self.fdb.find(MAC1, 0), 8)
        self.fdb.expireOld(15)
        self.assertIsNotNone(self.fdb.find(MAC1, 0))
        self.assertIsNone(self.fdb.find(MAC2, 0))
        self.assertEqual((self.fdb.count, self.fdb.portCount(self.p1)), (1, 1))

    def test_setSize(self) -> None:
        """
        C{hash/setsize} rounds up and empties the table.
        """
        self.fdb.learn(self.table, 0, MAC1, self.p1, 0)
        self.fdb.setSize(100)
        self.assertEqual(self.fdb.size, 128)
        self.assertEqual(self.fdb.count, 0)
        self.assertEqual(self.removed, [(MAC1, 0, self.p1)])

    def test_entriesOrder(self) -> None:
        """
        Entries come by bucket, newest first within a bucket (vde_switch's
        hash/print order).
        """
        self.fdb.setSize(1)
        self.fdb.learn(self.table, 0, MAC1, self.p1, 0)
        self.fdb.learn(self.table, 0, MAC2, self.p1, 0)
        self.assertEqual([mac for _, mac, _, _ in self.fdb.entries()], [MAC2, MAC1])
        self.fdb.setSize(128)
        self.fdb.learn(self.table, 0, MAC2, self.p1, 0)
        self.fdb.learn(self.table, 0, MAC1, self.p1, 0)
        self.assertEqual([(bucket, mac) for bucket, mac, _, _ in self.fdb.entries()],
                         [(43, MAC1), (60, MAC2)])
