# -*- test-case-name: tests.switch.test_fdb -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.switch.fdb}: learning, moves and their persistence,
the bound, removal callbacks, flushing, aging, and vde_switch's bucket
order for C{hash/print}.
"""

from typing import Any, List, Tuple

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.switch.fdb import (
    DEFAULT_EXPIRE, DEFAULT_GC_INTERVAL, DEFAULT_HASH_SIZE, DEFAULT_MIN_PERSISTENCE, LAST_SEEN,
    PORT, ForwardingDatabase, bucketOf, roundUpPowerOfTwo)

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
        At the bound no new MAC is learned; refusals are counted; known
        MACs still refresh.
        """
        self.fdb.maxEntries = 2
        for i, mac in enumerate((MAC1, MAC2, MAC3)):
            self.fdb.learn(self.table, 0, mac, self.p1, i)
        self.assertEqual((self.fdb.count, self.fdb.dropped), (2, 1))
        self.assertIsNone(self.fdb.find(MAC3, 0))
        self.fdb.learn(self.table, 0, MAC1, self.p1, 50)
        self.assertEqual(self.fdb.find(MAC1, 0)[LAST_SEEN], 50)

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
