# -*- test-case-name: tests.stack.test_nd -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.nd}.
"""

import os

from twisted.trial.unittest import SynchronousTestCase

from tests.stack.ipv6helpers import (
    MAC,
    PEER,
    PEER_LL,
    PEER_MAC,
    ROUTER_LL,
    ROUTER_MAC,
    US,
    US_LL,
    Host,
    mac,
    text,
)
from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.stack.nd import (
    DELAY,
    INCOMPLETE,
    PROBE,
    REACHABLE,
    STALE,
    NeighborCache,
)
from vdetwist.wire.addr6 import parseIPv6, solicitedNode

A = parseIPv6("fd00:77::a")
B = parseIPv6("fd00:77::b")
MAC_A = bytes.fromhex("0200000000aa")
MAC_B = bytes.fromhex("0200000000bb")


class NeighborCacheTests(SynchronousTestCase):
    """
    Tests for the pure L{NeighborCache}: RFC 4861 7.3's state machine.
    """

    def test_resolve(self) -> None:
        """
        A first send queues and solicits; a solicited NA makes the entry
        REACHABLE and releases the queue.
        """
        cache = NeighborCache()
        self.assertEqual(cache.send(A, b"p1", 0), (None, (A, None)))
        self.assertEqual(cache.send(A, b"p2", 0.1), (None, None))
        self.assertEqual(cache.state(A, 0.1), INCOMPLETE)
        self.assertEqual(cache.queuedTotal, 2)
        released = cache.advertised(A, MAC_A, solicited=True, override=False,
                                    router=False, now=0.2)
        self.assertEqual(released, (MAC_A, [b"p1", b"p2"]))
        self.assertEqual(cache.state(A, 0.2), REACHABLE)
        self.assertEqual(cache.queuedTotal, 0)
        self.assertEqual(cache.send(A, b"p3", 0.3), (MAC_A, None))

    def test_usable(self) -> None:
        """
        L{NeighborCache.usable} gives the MAC only where L{send} would give
        it without a change of state: REACHABLE and fresh, DELAY, PROBE;
        not while INCOMPLETE, once stale, or for no entry; and changes
        nothing itself.
        """
        cache = NeighborCache(reachableTime=30)
        self.assertIsNone(cache.usable(A, 0))
        cache.send(A, b"p", 0)
        self.assertIsNone(cache.usable(A, 0))
        cache.advertised(A, MAC_A, True, False, False, 0)
        self.assertEqual(cache.usable(A, 29.9), MAC_A)
        self.assertIsNone(cache.usable(A, 30))
        self.assertEqual(cache.state(A, 31), STALE)
        cache.send(A, b"q", 31)
        self.assertEqual(cache.usable(A, 32), MAC_A)
        cache.tick(36)
        self.assertEqual(cache.state(A, 36), PROBE)
        self.assertEqual(cache.usable(A, 36), MAC_A)
        self.assertEqual(cache.state(A, 36), PROBE)

    def test_resolutionFails(self) -> None:
        """
        Three multicast solicitations a second apart, then the queue is
        dropped and the entry removed.
        """
        cache = NeighborCache()
        cache.send(A, b"p", 0)
        self.assertEqual(cache.nextDeadline(), 1.0)
        self.assertEqual(cache.tick(1.0), ([(A, None)], []))
        self.assertEqual(cache.tick(2.0), ([(A, None)], []))
        self.assertEqual(cache.tick(3.0), ([], [(A, [b"p"])]))
        self.assertIsNone(cache.state(A, 3))
        self.assertEqual(cache.counters["resolutionFailed"], 1)
        self.assertIsNone(cache.nextDeadline())

    def test_nud(self) -> None:
        """
        REACHABLE turns STALE after the reachable time; a send moves it to
        DELAY, then PROBE with unicast probes; an answer makes it
        REACHABLE again, silence removes it.
        """
        cache = NeighborCache(reachableTime=30)
        cache.send(A, b"p", 0)
        cache.advertised(A, MAC_A, True, False, False, 0)
        self.assertEqual(cache.state(A, 29.9), REACHABLE)
        self.assertEqual(cache.state(A, 30), STALE)
        self.assertEqual(cache.send(A, b"q", 31), (MAC_A, None))
        self.assertEqual(cache.state(A, 31), DELAY)
        self.assertEqual(cache.nextDeadline(), 36)
        self.assertEqual(cache.tick(36), ([(A, MAC_A)], []))
        self.assertEqual(cache.state(A, 36), PROBE)
        self.assertEqual(cache.send(A, b"r", 36.5), (MAC_A, None))
        cache.advertised(A, None, True, False, False, 36.6)
        self.assertEqual(cache.state(A, 36.6), REACHABLE)
        self.assertIsNone(cache.nextDeadline())
        # Again, without an answer this time.
        cache.send(A, b"s", 70)
        cache.tick(75)
        self.assertEqual(cache.tick(76), ([(A, MAC_A)], []))
        self.assertEqual(cache.tick(77), ([(A, MAC_A)], []))
        self.assertEqual(cache.tick(78), ([], [(A, [])]))
        self.assertIsNone(cache.state(A, 78))

    def test_confirm(self) -> None:
        """
        An upper-layer confirmation makes a STALE or DELAY entry
        REACHABLE.
        """
        cache = NeighborCache()
        cache.learn(A, MAC_A, 0)
        self.assertEqual(cache.state(A, 0), STALE)
        cache.send(A, b"p", 1)
        cache.confirm(A, 2)
        self.assertEqual(cache.state(A, 2), REACHABLE)
        self.assertIsNone(cache.nextDeadline())

    def test_advertisementRules(self) -> None:
        """
        RFC 4861 7.2.5: without the override flag a different address only
        makes a REACHABLE entry STALE; with it, the address is replaced;
        an unsolicited NA for an unknown neighbor creates nothing.
        """
        cache = NeighborCache()
        cache.send(A, b"p", 0)
        cache.advertised(A, MAC_A, True, False, False, 0)
        cache.advertised(A, MAC_B, False, False, False, 1)
        self.assertEqual((cache.lookup(A), cache.state(A, 1)), (MAC_A, STALE))
        cache.advertised(A, MAC_B, False, True, False, 2)
        self.assertEqual((cache.lookup(A), cache.state(A, 2)), (MAC_B, STALE))
        cache.advertised(B, MAC_B, False, True, False, 2)
        self.assertIsNone(cache.state(B, 2))
        cache.advertised(A, MAC_B, True, True, True, 3)
        self.assertTrue(cache.isRouter(A))

    def test_learnReleases(self) -> None:
        """
        A solicitation's source link-layer address resolves an INCOMPLETE
        entry (STALE) and releases its queue.
        """
        cache = NeighborCache()
        cache.send(A, b"p", 0)
        self.assertEqual(cache.learn(A, MAC_A, 0.5), (MAC_A, [b"p"]))
        self.assertEqual(cache.state(A, 0.5), STALE)
        self.assertIsNone(cache.learn(B, MAC_B, 0.5, create=False))
        self.assertIsNone(cache.state(B, 0.5))

    def test_bounds(self) -> None:
        """
        Entries, queues per address, pending addresses and queued packets
        in all are bounded.
        """
        cache = NeighborCache(maxEntries=4, maxQueuedPerAddress=2, maxPendingAddresses=3,
                              maxQueuedTotal=5)
        for n in range(10):
            cache.learn(bytes(15) + bytes([n]), MAC_A, 0)
        self.assertEqual(len(cache), 4)
        self.assertEqual(cache.counters["evicted"], 6)
        for _ in range(3):
            cache.send(A, b"p", 0)
        self.assertEqual(cache.queuedTotal, 2)
        for n in range(5):
            cache.send(bytes([0xFD]) + bytes(14) + bytes([n]), b"p", 0)
        self.assertLessEqual(cache.queuedTotal, 5)
        self.assertGreater(cache.counters["queueFull"], 0)
        self.assertEqual(len(cache), 4)


class NDLayerTests(SynchronousTestCase):
    """
    Tests for L{NDLayer} with frames built and read by scapy.
    """

    if scapy is None:
        skip = SKIP_REASON

    def test_dad(self) -> None:
        """
        Attaching starts DAD for the link-local and the static address:
        an NS from :: with a nonce to each solicited-node group; a second
        later both are usable.
        """
        host = Host(dad=1, attach=False)
        self.assertEqual(host.nd.assigned, set())
        host.interface.makeConnection(host.transport)
        probes = host.sent()
        self.assertEqual(sorted(p[scapy.ICMPv6ND_NS].tgt for p in probes),
                         sorted([text(US), text(US_LL)]))
        for p in probes:
            self.assertEqual(p[scapy.IPv6].src, "::")
            self.assertEqual(p[scapy.IPv6].hlim, 255)
            self.assertEqual(p[scapy.IPv6].dst,
                             text(solicitedNode(scapy.inet_pton(10, p[scapy.ICMPv6ND_NS].tgt))))
            group = solicitedNode(scapy.inet_pton(10, p[scapy.ICMPv6ND_NS].tgt))
            self.assertEqual(p.dst, "33:33:" + ":".join("%02x" % b for b in group[12:]))
            self.assertNotIn(scapy.ICMPv6NDOptSrcLLAddr, p)
        host.clock.advance(1)
        self.assertEqual(host.nd.assigned, {US, US_LL})
        self.assertEqual(host.nd.counters["dadSucceeded"], 2)

    def dadHost(self) -> Host:
        """
        A host whose DAD for US is under way.

        @return: the host.
        """
        host = Host(dad=1, linkLocal=False)
        host.sent()
        return host

    def test_duplicateByAdvertisement(self) -> None:
        """
        An NA for a tentative address means someone has it: it is removed.
        """
        host = self.dadHost()
        host.receive(scapy.IPv6(src=text(PEER), dst="ff02::1", hlim=255)
                     / scapy.ICMPv6ND_NA(tgt=text(US), O=1)
                     / scapy.ICMPv6NDOptDstLLAddr(lladdr=mac(PEER_MAC)))
        host.clock.advance(1)
        self.assertEqual(host.nd.assigned, set())
        self.assertNotIn(US, host.nd.addresses)
        self.assertEqual(host.nd.counters["duplicates"], 1)

    def test_duplicateBySolicitation(self) -> None:
        """
        Another node's DAD probe for the same tentative address is a
        duplicate too; our own probe looped back is not.
        """
        host = self.dadHost()
        ours = host.nd.addresses[US].nonce
        host.receive(scapy.IPv6(src="::", dst=text(solicitedNode(US)), hlim=255)
                     / scapy.ICMPv6ND_NS(tgt=text(US)) / scapy.Raw(b"\x0e\x01" + ours))
        self.assertEqual(host.nd.counters["dadLoopedBack"], 1)
        host.receive(scapy.IPv6(src="::", dst=text(solicitedNode(US)), hlim=255)
                     / scapy.ICMPv6ND_NS(tgt=text(US)) / scapy.Raw(b"\x0e\x01" + os.urandom(6)))
        host.clock.advance(1)
        self.assertEqual(host.nd.assigned, set())

    def test_answerSolicitation(self) -> None:
        """
        An NS for our address gets a solicited, override NA with our MAC,
        sent to the solicitor's MAC; the solicitor is cached STALE.
        """
        host = Host()
        host.receive(scapy.IPv6(src=text(PEER), dst=text(solicitedNode(US)), hlim=255)
                     / scapy.ICMPv6ND_NS(tgt=text(US))
                     / scapy.ICMPv6NDOptSrcLLAddr(lladdr=mac(PEER_MAC)))
        [reply] = host.sent()
        self.assertEqual(reply.dst, mac(PEER_MAC))
        self.assertEqual((reply[scapy.IPv6].src, reply[scapy.IPv6].dst, reply[scapy.IPv6].hlim),
                         (text(US), text(PEER), 255))
        na = reply[scapy.ICMPv6ND_NA]
        self.assertEqual((na.tgt, na.S, na.O, na.R), (text(US), 1, 1, 0))
        self.assertEqual(reply[scapy.ICMPv6NDOptDstLLAddr].lladdr, mac(MAC))
        # scapy agrees with our checksum.
        checksum = na.cksum
        del na.cksum
        self.assertEqual(scapy.IPv6(bytes(reply[scapy.IPv6]))[scapy.ICMPv6ND_NA].cksum, checksum)
        self.assertEqual(host.nd.cache.state(PEER, host.clock.seconds()), STALE)

    def test_solicitationChecks(self) -> None:
        """
        NSes with a hop limit below 255, for others' addresses, or a DAD
        probe with a source link-layer option, get nothing.
        """
        host = Host()
        host.receive(scapy.IPv6(src=text(PEER), dst=text(solicitedNode(US)), hlim=254)
                     / scapy.ICMPv6ND_NS(tgt=text(US))
                     / scapy.ICMPv6NDOptSrcLLAddr(lladdr=mac(PEER_MAC)))
        host.receive(scapy.IPv6(src=text(PEER), dst=text(solicitedNode(US)), hlim=255)
                     / scapy.ICMPv6ND_NS(tgt="fd00:77::99")
                     / scapy.ICMPv6NDOptSrcLLAddr(lladdr=mac(PEER_MAC)))
        host.receive(scapy.IPv6(src="::", dst=text(solicitedNode(US)), hlim=255)
                     / scapy.ICMPv6ND_NS(tgt=text(US))
                     / scapy.ICMPv6NDOptSrcLLAddr(lladdr=mac(PEER_MAC)))
        self.assertEqual(host.sent(), [])
        self.assertEqual((host.nd.counters["badHopLimit"], host.nd.counters["notForUs"],
                          host.nd.counters["invalid"]), (1, 1, 1))
        self.assertEqual(len(host.nd.cache), 0)

    def test_otherDADForOurAddress(self) -> None:
        """
        Another node's DAD probe for an address we hold is answered to
        all-nodes.
        """
        host = Host()
        host.receive(scapy.IPv6(src="::", dst=text(solicitedNode(US)), hlim=255)
                     / scapy.ICMPv6ND_NS(tgt=text(US)))
        [reply] = host.sent()
        self.assertEqual(reply[scapy.IPv6].dst, "ff02::1")
        self.assertEqual(reply[scapy.ICMPv6ND_NA].S, 0)

    def test_solicitFlood(self) -> None:
        """
        NSes for random targets create nothing; NSes from random sources
        for our address fill the cache only to its bound.
        """
        host = Host(cache=NeighborCache(maxEntries=32))
        for _ in range(200):
            host.receive(scapy.IPv6(src=text(PEER), dst=text(solicitedNode(US)), hlim=255)
                         / scapy.ICMPv6ND_NS(tgt=text(b"\xfd" + os.urandom(15)))
                         / scapy.ICMPv6NDOptSrcLLAddr(lladdr=mac(PEER_MAC)))
        self.assertEqual(len(host.nd.cache), 0)
        for _ in range(200):
            host.receive(scapy.IPv6(src=text(b"\xfd" + os.urandom(15)),
                                    dst=text(solicitedNode(US)), hlim=255)
                         / scapy.ICMPv6ND_NS(tgt=text(US))
                         / scapy.ICMPv6NDOptSrcLLAddr(lladdr=mac(PEER_MAC)))
        self.assertEqual(len(host.nd.cache), 32)

    def test_routerSolicitation(self) -> None:
        """
        With router solicitation on, the first RS follows the link-local
        address's DAD, from it with our MAC; two more follow 4 seconds
        apart, and an RA stops them.
        """
        host = Host(dad=1, solicitRouters=True)
        host.sent()
        host.clock.advance(1)
        [rs] = host.sent()
        self.assertEqual((rs[scapy.IPv6].src, rs[scapy.IPv6].dst, rs.dst),
                         (text(US_LL), "ff02::2", "33:33:00:00:00:02"))
        self.assertEqual(rs[scapy.ICMPv6NDOptSrcLLAddr].lladdr, mac(MAC))
        host.clock.advance(4)
        self.assertEqual(len(host.sent()), 1)
        host.receive(self.advertisement())
        host.clock.advance(4)
        self.assertEqual([p for p in host.sent() if scapy.ICMPv6ND_RS in p], [])
        self.assertEqual(host.nd.counters["rsSent"], 2)

    def advertisement(self, lifetime: int = 1800, prefix: str = "fd00:99::",
                      valid: int = 86400, preferred: int = 14400, source: bytes = ROUTER_LL,
                      routerMAC: bytes = ROUTER_MAC) -> object:
        """
        A router advertisement as slirp or radvd sends it.

        @param lifetime: the router lifetime.
        @param prefix: the /64 prefix.
        @param valid: its valid lifetime.
        @param preferred: its preferred lifetime.
        @param source: the router's link-local address.
        @param routerMAC: its MAC.
        @return: a scapy packet.
        """
        return (scapy.IPv6(src=text(source), dst="ff02::1", hlim=255)
                / scapy.ICMPv6ND_RA(chlim=63, routerlifetime=lifetime, reachabletime=20000,
                                    retranstimer=500)
                / scapy.ICMPv6NDOptSrcLLAddr(lladdr=mac(routerMAC))
                / scapy.ICMPv6NDOptMTU(mtu=1400)
                / scapy.ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, validlifetime=valid,
                                              preferredlifetime=preferred, prefix=prefix)
                / scapy.ICMPv6NDOptRDNSS(lifetime=600, dns=["fd00:99::3"]))

    def test_routerAdvertisement(self) -> None:
        """
        An RA configures a SLAAC address (EUI-64, after DAD), the prefix
        on-link, the default router (cached as a router), the MTU, the hop
        limit, the timers and the DNS server.
        """
        host = Host(static=None, dad=1)
        host.clock.advance(1)
        host.sent()
        host.receive(self.advertisement(), ROUTER_MAC)
        slaac = parseIPv6("fd00:99::ff:fe00:1")
        self.assertIn(slaac, host.nd.addresses)
        self.assertNotIn(slaac, host.nd.assigned)
        [probe] = host.sent()
        self.assertEqual(probe[scapy.ICMPv6ND_NS].tgt, "fd00:99::ff:fe00:1")
        host.clock.advance(0.5)
        self.assertIn(slaac, host.nd.assigned)
        nd = host.nd
        self.assertEqual(nd.defaultRouter(), ROUTER_LL)
        self.assertTrue(nd.isOnLink(parseIPv6("fd00:99::1234")))
        self.assertFalse(nd.isOnLink(parseIPv6("fd00:98::1")))
        self.assertEqual((nd.linkMTU, nd.hopLimit), (1400, 63))
        self.assertEqual((nd.cache.reachableTime, nd.cache.retransTimer), (20.0, 0.5))
        self.assertEqual(list(nd.dnsServers), [parseIPv6("fd00:99::3")])
        self.assertEqual(nd.cache.lookup(ROUTER_LL), ROUTER_MAC)
        self.assertTrue(nd.cache.isRouter(ROUTER_LL))
        self.assertEqual(host.ip.sourceFor(parseIPv6("2001:db8::1")), slaac)
        self.assertEqual(host.ip.sourceFor(ROUTER_LL), US_LL)

    def test_lifetimes(self) -> None:
        """
        The router, the DNS server and the address expire with their
        lifetimes; the address is deprecated first.
        """
        host = Host(static=None)
        host.receive(self.advertisement(lifetime=100, valid=9000, preferred=50))
        slaac = parseIPv6("fd00:99::ff:fe00:1")
        events = []
        host.nd.addressChanged = lambda a, s: events.append((a, s))
        host.clock.advance(50)
        self.assertEqual(events, [(slaac, "deprecated")])
        self.assertIn(slaac, host.nd.assigned)
        host.clock.advance(50)
        self.assertIsNone(host.nd.defaultRouter())
        host.clock.advance(500)
        self.assertEqual(host.nd.dnsServers, {})
        # RFC 4862's two-hour rule: a short valid lifetime does not cut a
        # longer remaining one below two hours.
        host.receive(self.advertisement(valid=10, preferred=5))
        host.clock.advance(100)
        self.assertIn(slaac, host.nd.addresses)
        host.clock.advance(7200)
        self.assertNotIn(slaac, host.nd.addresses)
        self.assertEqual(events[-1], (slaac, "removed"))

    def test_advertisementChecks(self) -> None:
        """
        RAs from a global source, or with a hop limit below 255, are
        ignored; a router lifetime of 0 removes the router.
        """
        host = Host(static=None)
        host.receive(self.advertisement(source=PEER))
        bad = self.advertisement()
        bad[scapy.IPv6].hlim = 64
        host.receive(bad)
        self.assertEqual(host.nd.routers, {})
        self.assertEqual(host.nd.addresses.keys(), {US_LL})
        host.receive(self.advertisement())
        host.receive(self.advertisement(lifetime=0))
        self.assertEqual(host.nd.routers, {})

    def test_advertisementFlood(self) -> None:
        """
        RAs from many routers with many prefixes keep routers, prefixes,
        addresses and DNS servers within their bounds.
        """
        host = Host(static=None, maxRouters=4, maxPrefixes=8, maxAddresses=6,
                    maxDNSServers=3)
        for n in range(100):
            host.receive(scapy.IPv6(src="fe80::%x" % (n + 10), dst="ff02::1", hlim=255)
                         / scapy.ICMPv6ND_RA()
                         / scapy.ICMPv6NDOptSrcLLAddr(lladdr=mac(os.urandom(6)))
                         / scapy.ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1,
                                                       prefix="fd00:%x::" % n)
                         / scapy.ICMPv6NDOptRDNSS(dns=["fd00:%x::3" % n]))
        nd = host.nd
        self.assertEqual(len(nd.routers), 4)
        self.assertEqual(len(nd.prefixes), 8)
        self.assertEqual(len(nd.addresses), 6)
        self.assertEqual(len(nd.dnsServers), 3)
        self.assertGreater(nd.counters["addressesFull"], 0)

    def test_stableAddresses(self) -> None:
        """
        With a secret key, SLAAC uses RFC 7217 identifiers, not EUI-64.
        """
        host = Host(static=None, secretKey=b"s" * 16)
        host.receive(self.advertisement())
        slaac = [a for a in host.nd.addresses if a[:8] == parseIPv6("fd00:99::")[:8]]
        self.assertEqual(len(slaac), 1)
        self.assertNotEqual(slaac[0][8:], US_LL[8:])

    def test_resolveThroughLayer(self) -> None:
        """
        Sending to an unresolved neighbor queues the packet, sends a
        multicast NS with our MAC, and sends the packet when the NA comes.
        """
        host = Host()
        host.nd.sendIPv6(PEER, b"packet")
        [ns] = host.sent()
        self.assertEqual(ns[scapy.IPv6].dst, text(solicitedNode(PEER)))
        self.assertEqual(ns[scapy.IPv6].src, text(US))
        self.assertEqual(ns[scapy.ICMPv6ND_NS].tgt, text(PEER))
        self.assertEqual(ns[scapy.ICMPv6NDOptSrcLLAddr].lladdr, mac(MAC))
        host.receive(scapy.IPv6(src=text(PEER), dst=text(US), hlim=255)
                     / scapy.ICMPv6ND_NA(tgt=text(PEER), S=1, O=1)
                     / scapy.ICMPv6NDOptDstLLAddr(lladdr=mac(PEER_MAC)))
        [frame] = host.transport.clear()
        self.assertEqual(frame, PEER_MAC + MAC + b"\x86\xdd" + b"packet")
        failures = []
        host.nd.resolutionFailed = lambda a, p: failures.append((a, p))
        host.nd.sendIPv6(PEER_LL, b"lost")
        for _ in range(3):
            host.clock.advance(1)
        self.assertEqual(failures, [(PEER_LL, [b"lost"])])
        self.assertEqual(host.nd.counters["nsSent"], 4)

    def test_unicastProbe(self) -> None:
        """
        A STALE neighbor in use is probed by unicast after five seconds.
        """
        host = Host()
        host.nd.cache.learn(PEER, PEER_MAC, 0)
        host.nd.sendIPv6(PEER, b"packet")
        host.sent()
        host.clock.advance(5)
        [probe] = host.sent()
        self.assertEqual((probe.dst, probe[scapy.IPv6].dst), (mac(PEER_MAC), text(PEER)))
        self.assertEqual(host.nd.cache.state(PEER, 5), PROBE)

    def test_stop(self) -> None:
        """
        L{NDLayer.stop} leaves no delayed call behind.
        """
        host = Host(dad=1, solicitRouters=True)
        host.nd.sendIPv6(PEER, b"p")
        host.nd.stop()
        self.assertEqual([c for c in host.clock.getDelayedCalls() if c.active()], [])
        self.assertNotEqual(MAC, PEER_MAC)
