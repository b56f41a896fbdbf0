# -*- test-case-name: tests.stack.test_arp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.arp}.
"""

from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.stack.arp import ARPCache, ARPLayer
from vdetwist.stack.interface import NetworkInterface
from vdetwist.testing import (
    FakeFrameTransport,
    arp,
    arpFrame,
    arpOperation,
    arpSender,
    arpTarget,
    checkFrame,
    dstMAC,
    ethernet,
    etherType,
    payload,
)
from vdetwist.wire.addr import parseIPv4

MAC = bytes.fromhex("020000000001")
PEER = bytes.fromhex("020000000002")
US = parseIPv4("192.168.77.100")
THEM = parseIPv4("192.168.77.1")
PROXY = parseIPv4("192.168.77.3")


class ARPCacheTests(SynchronousTestCase):
    """
    Tests for L{ARPCache}.
    """

    def test_lifetime(self) -> None:
        """
        Entries are found until their lifetime ends; updating refreshes.
        """
        cache = ARPCache(lifetime=10)
        cache.update(THEM, PEER, 0)
        self.assertEqual(cache.lookup(THEM, 9.9), PEER)
        cache.update(THEM, PEER, 5)
        self.assertEqual(cache.lookup(THEM, 14.9), PEER)
        self.assertIsNone(cache.lookup(THEM, 15))
        self.assertEqual(len(cache), 0)

    def test_bound(self) -> None:
        """
        The cache never exceeds its bound: the least recently updated entry
        goes.
        """
        cache = ARPCache(maxEntries=3)
        for i in range(3):
            cache.update(bytes([10, 0, 0, i]), PEER, 0)
        cache.update(bytes([10, 0, 0, 0]), MAC, 1)
        cache.update(bytes([10, 0, 0, 9]), PEER, 2)
        self.assertEqual(len(cache), 3)
        self.assertIsNone(cache.lookup(bytes([10, 0, 0, 1]), 2))
        self.assertEqual(cache.lookup(bytes([10, 0, 0, 0]), 2), MAC)

    def test_expire(self) -> None:
        """
        C{expire} drops stale entries and says how many.
        """
        cache = ARPCache(lifetime=1)
        cache.update(THEM, PEER, 0)
        cache.update(US, MAC, 5)
        self.assertEqual(cache.expire(2), 1)
        self.assertEqual([(a, m) for a, m, _ in cache.entries(2)], [(US, MAC)])

    def test_entry(self) -> None:
        """
        C{entry} gives the raw C{(mac, expires)} pair, expired or not, and
        C{None} for an unknown address; it follows updates and removals.
        """
        cache = ARPCache(lifetime=10)
        self.assertIsNone(cache.entry(THEM))
        cache.update(THEM, PEER, 0)
        self.assertEqual(cache.entry(THEM), (PEER, 10))
        cache.update(THEM, MAC, 20)
        self.assertEqual(cache.entry(THEM), (MAC, 30))
        cache.remove(THEM)
        self.assertIsNone(cache.entry(THEM))


class ARPLayerTests(SynchronousTestCase):
    """
    Tests for L{ARPLayer} against hand-built frames.
    """

    def setUp(self) -> None:
        """
        An ARP layer for 192.168.77.100 (proxy for .3) on an attached
        interface.
        """
        self.clock = Clock()
        self.interface = NetworkInterface(MAC)
        self.layer = ARPLayer(self.clock, self.interface, [US], [PROXY],
                              maxQueuedPerAddress=2, maxPendingAddresses=2,
                              maxQueuedTotal=3)
        self.transport = FakeFrameTransport()
        self.interface.makeConnection(self.transport)

    def test_announce(self) -> None:
        """
        Attaching sends a gratuitous ARP: a broadcast request whose sender
        and target are our address.
        """
        [frame] = self.transport.clear()
        checkFrame(frame, ethernet(dstMAC(b"\xff" * 6), etherType(0x0806)),
                   arp(arpOperation(1), arpSender((MAC, US)), arpTarget(US)))

    def test_reply(self) -> None:
        """
        A request for our address is answered, unicast, and the asker is
        learned.
        """
        self.transport.clear()
        self.interface.frameReceived(arpFrame(1, PEER, THEM, US))
        [frame] = self.transport.clear()
        checkFrame(frame, ethernet(dstMAC(PEER)),
                   arp(arpOperation(2), arpSender((MAC, US)), arpTarget(THEM)))
        self.assertEqual(self.layer.lookup(THEM), PEER)

    def test_proxyReply(self) -> None:
        """
        Requests for proxy addresses are answered with our MAC.
        """
        self.transport.clear()
        self.interface.frameReceived(arpFrame(1, PEER, THEM, PROXY))
        [frame] = self.transport.clear()
        checkFrame(frame, ethernet(), arp(arpOperation(2), arpSender((MAC, PROXY))))

    def test_notForUs(self) -> None:
        """
        Requests for other addresses are not answered, and their sender is
        not learned (RFC 826: only merge or learn when we are the target).
        """
        self.transport.clear()
        self.interface.frameReceived(arpFrame(1, PEER, THEM, parseIPv4("192.168.77.50")))
        self.assertEqual(self.transport.frames, [])
        self.assertIsNone(self.layer.lookup(THEM))

    def test_resolve(self) -> None:
        """
        A datagram for an unknown next hop waits while a request goes out;
        the reply releases it to the replied MAC.
        """
        self.transport.clear()
        self.layer.sendIPv4(THEM, b"datagram")
        [request] = self.transport.clear()
        checkFrame(request, ethernet(dstMAC(b"\xff" * 6)),
                   arp(arpOperation(1), arpSender((MAC, US)), arpTarget(THEM)))
        self.interface.frameReceived(arpFrame(2, PEER, THEM, US, MAC))
        [frame] = self.transport.clear()
        checkFrame(frame, ethernet(dstMAC(PEER), etherType(0x0800), payload(b"datagram")))
        self.layer.sendIPv4(THEM, b"again")
        self.assertEqual(len(self.transport.clear()), 1)

    def test_refreshBeforeExpiry(self) -> None:
        """
        An entry in use is confirmed by a unicast request shortly before it
        expires (once per retry interval), and the reply extends it, so
        traffic never waits for a new resolution.
        """
        self.transport.clear()
        self.interface.frameReceived(arpFrame(1, PEER, THEM, US))
        self.transport.clear()
        self.clock.advance(50)
        self.layer.sendIPv4(THEM, b"a")
        self.assertEqual(len(self.transport.clear()), 1)
        self.clock.advance(5.5)
        self.layer.sendIPv4(THEM, b"b")
        self.layer.sendIPv4(THEM, b"c")
        data, poll, _ = self.transport.clear()
        checkFrame(data, ethernet(dstMAC(PEER), etherType(0x0800), payload(b"b")))
        checkFrame(poll, ethernet(dstMAC(PEER), etherType(0x0806)),
                   arp(arpOperation(1), arpTarget(THEM)))
        self.interface.frameReceived(arpFrame(2, PEER, THEM, US, MAC))
        self.clock.advance(30)
        self.layer.sendIPv4(THEM, b"d")
        self.assertEqual(len(self.transport.clear()), 1)
        self.assertEqual(self.layer.counters["refreshes"], 1)

    def test_retriesAndGiveUp(self) -> None:
        """
        Requests are retried each interval; after the retries the queued
        datagrams are dropped, counted and reported.
        """
        failed = []
        self.layer.resolutionFailed = lambda a, p: failed.append((a, p))
        self.transport.clear()
        self.layer.sendIPv4(THEM, b"one")
        self.layer.sendIPv4(THEM, b"two")
        self.clock.advance(1)
        self.clock.advance(1)
        self.assertEqual(len(self.transport.clear()), 3)
        self.clock.advance(1)
        self.assertEqual(self.transport.frames, [])
        self.assertEqual(failed, [(THEM, [b"one", b"two"])])
        self.assertEqual(self.layer.counters["resolutionFailed"], 2)
        self.assertEqual(self.clock.getDelayedCalls(), [])

    def test_queueBounds(self) -> None:
        """
        The per-address, per-table and total queue bounds hold.
        """
        for i in range(4):
            self.layer.sendIPv4(THEM, b"%d" % i)
        other = parseIPv4("192.168.77.2")
        self.layer.sendIPv4(other, b"x")
        self.layer.sendIPv4(other, b"y")
        self.layer.sendIPv4(parseIPv4("192.168.77.4"), b"z")
        self.assertEqual(self.layer.counters["queued"], 3)
        self.assertEqual(self.layer.counters["queueFull"], 4)

    def test_conflictAndEcho(self) -> None:
        """
        Packets claiming our address from another MAC are counted as
        conflicts; our own echoes and group sender MACs are ignored.
        """
        self.transport.clear()
        self.interface.frameReceived(arpFrame(1, PEER, US, THEM))
        self.interface.frameReceived(arpFrame(1, MAC, US, US))
        self.interface.frameReceived(arpFrame(1, b"\x01" + PEER[1:], THEM, US))
        self.assertEqual(self.layer.counters["conflicts"], 1)
        self.assertEqual(self.layer.counters["ignored"], 2)
        self.assertEqual(self.transport.frames, [])

    def test_malformed(self) -> None:
        """
        Short and non-Ethernet/IPv4 packets are counted and dropped.
        """
        self.layer.packetReceived(PEER, b"\x00\x01\x08\x00")
        bad = bytearray(arpFrame(1, PEER, THEM, US)[14:])
        bad[4] = 8
        self.layer.packetReceived(PEER, bytes(bad))
        self.assertEqual(self.layer.counters["malformed"], 2)

    def test_stop(self) -> None:
        """
        C{stop} cancels the retry timers.
        """
        self.layer.sendIPv4(THEM, b"x")
        self.layer.stop()
        self.assertEqual(self.clock.getDelayedCalls(), [])


class SynchronousReplyTests(SynchronousTestCase):
    """
    A reply that arrives while the request is still being sent (an
    in-process switch delivers frames by call).
    """

    def test_replyDuringRequest(self) -> None:
        """
        The first datagram to a new neighbour is not lost when the ARP reply
        comes back inside the request's send, and no retry stays scheduled.
        """
        clock = Clock()
        interface = NetworkInterface(MAC)
        layer = ARPLayer(clock, interface, [US], [])
        sent = []

        class Answering(FakeFrameTransport):
            def sendFrame(self, frame: bytes) -> None:
                sent.append(frame)
                if frame[12:14] == b"\x08\x06" and frame[20:22] == b"\x00\x01" \
                        and frame[38:42] == THEM:
                    interface.frameReceived(arpFrame(2, PEER, THEM, US, targetMAC=MAC))

        interface.makeConnection(Answering())
        layer.sendIPv4(THEM, b"first datagram")
        data = [f for f in sent if f[12:14] == b"\x08\x00"]
        self.assertEqual(len(data), 1)
        self.assertEqual(data[0][:6], PEER)
        self.assertEqual(data[0][14:], b"first datagram")
        self.assertEqual(clock.getDelayedCalls(), [])
