# -*- test-case-name: tests.stack.test_fuzz6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A fuzz run of 100,000 IPv6 frames into a dual-stack virtual host and into
the slirp gateway: router advertisement floods (random routers, prefixes,
MTUs, DNS servers), neighbor solicitation and advertisement floods with
random targets, chains of 100 extension headers, overlapping and tiny
fragments, ICMPv6 errors quoting random packets, packets to unknown next
headers, echo requests, and mutations of all of these and of a real
exchange (ND, TCP over IPv6, UDP, fragments).  Each frame is counted and
dropped or answered; no exception may escape (trial fails a test on a
logged error); every table stays within its bound; and a live TCP
connection over IPv6 still carries data both ways afterwards.

The frames are built with C{struct} (scapy is too slow for 100,000), with
valid checksums where the point is to reach the layer behind them.
"""

import random
import struct
from typing import Any, Callable, List

from twisted.internet import protocol, task
from twisted.trial.unittest import SynchronousTestCase

from tests.slirp.test_nat import FakeICMPSocket, HostReactor
from tests.stack.test_fuzz import Collect
from vdetwist.slirp.gateway import Gateway
from vdetwist.stack.host import VirtualHost
from vdetwist.testing import MemoryWire
from vdetwist.wire.addr6 import multicastMAC, parseIPv6, solicitedNode
from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.ipv6 import HEADER, pseudoHeaderSum

FRAMES = 100_000

_ALL_NODES = parseIPv6("ff02::1")
#: Next headers no layer takes (not extension headers, not ICMPv6, TCP,
#: UDP or "no next header").
_UNKNOWN = [n for n in range(256) if n not in (0, 6, 17, 43, 44, 50, 51, 58, 59, 60, 135,
                                               139, 140, 253, 254)]


def ipv6Frame(destinationMAC: bytes, sourceMAC: bytes, nextHeader: int, source: bytes,
              destination: bytes, payload: bytes, hopLimit: int = 64) -> bytes:
    """
    An Ethernet frame with one IPv6 packet.
    """
    return (destinationMAC + sourceMAC + b"\x86\xdd"
            + HEADER.pack(0x60000000, len(payload), nextHeader, hopLimit, source, destination)
            + payload)


def icmpv6(source: bytes, destination: bytes, kind: int, code: int, body: bytes) -> bytes:
    """
    An ICMPv6 message with its checksum right.
    """
    message = bytearray(bytes([kind, code, 0, 0]) + body)
    struct.pack_into("!H", message, 2, internetChecksum(
        message, pseudoHeaderSum(source, destination, 58, len(message))))
    return bytes(message)


class Generator:
    """
    The hostile frames for one target.

    @ivar rnd: the random source.
    @ivar mac: the target's MAC.
    @ivar address: the target's global address.
    @ivar prefix: the target's /64, 8 bytes.
    """

    def __init__(self, rnd: random.Random, mac: bytes, address: bytes) -> None:
        self.rnd = rnd
        self.mac = mac
        self.address = address
        self.prefix = address[:8]
        self.kinds: List[Callable[[], bytes]] = [
            self.routerAdvertisement, self.neighborSolicitation, self.neighborAdvertisement,
            self.extensionChain, self.fragment, self.fragment, self.icmpError,
            self.unknownNextHeader, self.echo, self.outside]

    def randomMAC(self) -> bytes:
        """
        A unicast MAC.
        """
        return bytes([self.rnd.randrange(256) & 0xFE | 0x02]) + self.rnd.randbytes(5)

    def inPrefix(self) -> bytes:
        """
        A random address in the target's /64.
        """
        return self.prefix + self.rnd.randbytes(8)

    def linkLocal(self) -> bytes:
        """
        A random link-local address.
        """
        return b"\xfe\x80" + b"\0" * 6 + self.rnd.randbytes(8)

    def frame(self) -> bytes:
        """
        One hostile frame.
        """
        return self.rnd.choice(self.kinds)()

    def routerAdvertisement(self) -> bytes:
        """
        An RA from a random router: random prefixes (autonomous and
        on-link), MTU and DNS servers.
        """
        rnd = self.rnd
        source, routerMAC = self.linkLocal(), self.randomMAC()
        options = b"\x01\x01" + routerMAC
        for _ in range(rnd.randint(0, 4)):
            prefix = (self.prefix if rnd.random() < 0.2
                      else bytes([rnd.choice([0x20, 0xfd, 0x30])]) + rnd.randbytes(7))
            options += struct.pack("!BBBBIII16s", 3, 4, rnd.choice([64, 64, 48, 0, 128]),
                                   rnd.choice([0xC0, 0x80, 0x40, 0]),
                                   rnd.randrange(1 << 32), rnd.randrange(1 << 32), 0,
                                   prefix + b"\0" * 8)
        if rnd.random() < 0.5:
            options += struct.pack("!BBHI", 5, 1, 0, rnd.choice([0, 1279, 1280, 1400, 9000]))
        if rnd.random() < 0.5:
            servers = [rnd.randbytes(16) for _ in range(rnd.randint(1, 3))]
            options += struct.pack("!BBHI", 25, 1 + 2 * len(servers), 0,
                                   rnd.randrange(1 << 32)) + b"".join(servers)
        body = struct.pack("!BBHII", rnd.randrange(256), rnd.randrange(256),
                           rnd.randrange(1 << 16), rnd.randrange(1 << 32),
                           rnd.randrange(1 << 32)) + options
        return ipv6Frame(multicastMAC(_ALL_NODES), routerMAC, 58, source, _ALL_NODES,
                         icmpv6(source, _ALL_NODES, 134, 0, body), hopLimit=255)

    def neighborSolicitation(self) -> bytes:
        """
        An NS for a random target (in the prefix or not, the target's
        own now and then), from a random neighbor or the unspecified
        address (DAD).
        """
        rnd = self.rnd
        target = self.address if rnd.random() < 0.3 else (
            self.inPrefix() if rnd.random() < 0.7 else rnd.randbytes(16))
        sourceMAC = self.randomMAC()
        if rnd.random() < 0.2:
            source, options = b"\0" * 16, b""
        else:
            source = self.inPrefix() if rnd.random() < 0.7 else self.linkLocal()
            options = b"\x01\x01" + sourceMAC
        destination = solicitedNode(target) if rnd.random() < 0.7 else self.address
        return ipv6Frame(multicastMAC(destination) if destination[0] == 0xFF else self.mac,
                         sourceMAC, 58, source, destination,
                         icmpv6(source, destination, 135, 0, b"\0" * 4 + target + options),
                         hopLimit=255)

    def neighborAdvertisement(self) -> bytes:
        """
        An unsolicited NA for a random target, random flags.
        """
        rnd = self.rnd
        sourceMAC = self.randomMAC()
        target = self.inPrefix()
        flags = rnd.choice([0, 0x20000000, 0x40000000, 0xE0000000, 0x80000000])
        return ipv6Frame(multicastMAC(_ALL_NODES), sourceMAC, 58, target, _ALL_NODES,
                         icmpv6(target, _ALL_NODES, 136, 0, struct.pack("!I", flags) + target
                                + b"\x02\x01" + sourceMAC), hopLimit=255)

    def extensionChain(self) -> bytes:
        """
        A hop-by-hop header then 99 destination options headers (PadN),
        then UDP, ICMPv6, TCP, "no next header" or an unknown one.
        """
        rnd = self.rnd
        last = rnd.choice([17, 58, 6, 59, rnd.choice(_UNKNOWN)])
        count = rnd.choice([100, 100, rnd.randint(2, 120)])
        chain = b"".join(bytes([60 if i < count - 1 else last, 0, 1, 4, 0, 0, 0, 0])
                         for i in range(count))
        return ipv6Frame(self.mac, self.randomMAC(), 0, self.inPrefix(), self.address,
                         chain + rnd.randbytes(rnd.randint(0, 32)))

    def fragment(self) -> bytes:
        """
        A fragment of one of a few packets: tiny, overlapping, at random
        offsets, the last or not; now and then a fresh identification.
        """
        rnd = self.rnd
        identification = rnd.randrange(8) if rnd.random() < 0.8 else rnd.randrange(1 << 32)
        offset = rnd.choice([0, 0, 1, 2, 8, rnd.randrange(8192)])
        more = rnd.random() < 0.7
        size = rnd.choice([0, 1, 7, 8, 16, 24, 64, rnd.randrange(1200)])
        if more:
            size -= size % 8
        header = struct.pack("!BBHI", rnd.choice([17, 58, 6, 44, 0, 60]), 0,
                             offset << 3 | more, identification)
        source = self.prefix + bytes(7) + bytes([rnd.randrange(3)])
        return ipv6Frame(self.mac, self.randomMAC(), 44, source, self.address,
                         header + rnd.randbytes(size))

    def icmpError(self) -> bytes:
        """
        An ICMPv6 error (unreachable, too big, time exceeded, parameter
        problem) quoting a random packet "from" the target.
        """
        rnd = self.rnd
        kind = rnd.randint(1, 4)
        quotedPayload = rnd.randbytes(rnd.randint(0, 64))
        quoted = HEADER.pack(0x60000000, len(quotedPayload), rnd.choice([6, 17, 58, 44, 0, 99]),
                             64, self.address, rnd.randbytes(16)) + quotedPayload
        if rnd.random() < 0.3:
            quoted = rnd.randbytes(rnd.randint(0, 100))
        source = rnd.randbytes(16)
        rest = struct.pack("!I", rnd.choice([0, 1279, 1280, 1400, rnd.randrange(1 << 32)]))
        return ipv6Frame(self.mac, self.randomMAC(), 58, source, self.address,
                         icmpv6(source, self.address, kind, rnd.randrange(8), rest + quoted))

    def unknownNextHeader(self) -> bytes:
        """
        A packet to a next header nobody takes.
        """
        rnd = self.rnd
        return ipv6Frame(self.mac, self.randomMAC(), rnd.choice(_UNKNOWN), self.inPrefix(),
                         self.address, rnd.randbytes(rnd.randint(0, 64)))

    def echo(self) -> bytes:
        """
        An echo request from a random neighbor (answered: ND for it).
        """
        rnd = self.rnd
        source = self.inPrefix()
        return ipv6Frame(self.mac, self.randomMAC(), 58, source, self.address,
                         icmpv6(source, self.address, 128, 0, rnd.randbytes(
                             rnd.randint(4, 100))))

    def outside(self) -> bytes:
        """
        UDP, TCP SYN or echo to a random outside address (a router or
        NAT forwards these; a host drops them).
        """
        rnd = self.rnd
        source, destination = self.inPrefix(), b"\x20\x01\x0d\xb8" + rnd.randbytes(12)
        kind = rnd.randrange(3)
        if kind == 0:
            payload = struct.pack("!HHHH", rnd.randrange(1, 65536), rnd.randrange(1, 65536),
                                  12, 0) + b"data"
            nextHeader = 17
        elif kind == 1:
            payload = struct.pack("!HHIIBBHHH", rnd.randrange(1, 65536), 80,
                                  rnd.randrange(1 << 32), 0, 0x50, 0x02, 65535, 0, 0)
            nextHeader = 6
        else:
            return ipv6Frame(self.mac, self.randomMAC(), 58, source, destination, icmpv6(
                source, destination, 128, 0, rnd.randbytes(8)))
        message = bytearray(payload)
        offset = 6 if nextHeader == 17 else 16
        struct.pack_into("!H", message, offset, internetChecksum(
            message, pseudoHeaderSum(source, destination, nextHeader, len(message))) or 0xFFFF)
        return ipv6Frame(self.mac, self.randomMAC(), nextHeader, source, destination,
                         bytes(message))


def mutate(rnd: random.Random, frame: bytes) -> bytes:
    """
    One mutation of an IPv6 frame: flipped bits, a truncation, an
    extension, a rewritten header field (payload length, next header, hop
    limit, addresses) or a spliced tail.
    """
    data = bytearray(frame)
    kind = rnd.randrange(5)
    if kind == 0:
        for _ in range(rnd.randint(1, 4)):
            data[rnd.randrange(len(data))] ^= 1 << rnd.randrange(8)
    elif kind == 1:
        del data[rnd.randrange(len(data)):]
    elif kind == 2:
        data += rnd.randbytes(rnd.randint(1, 64))
    elif kind == 3 and len(data) > 56:
        offset = rnd.choice([14, 18, 19, 20, 21, 22, 37, 53, 54, 55, 56])
        data[offset] = rnd.randrange(256)
    else:
        cut = rnd.randrange(len(data))
        data[cut:] = rnd.randbytes(rnd.randint(0, 40))
    return bytes(data)


def storm(rnd: random.Random, receive: Callable[[bytes], None], generator: Generator,
          corpus: List[bytes], clock: task.Clock, drain: Callable[[], None]) -> None:
    """
    Throw L{FRAMES} frames: fresh hostile ones, and mutations of hostile
    ones and of the corpus; time moves on (timers run: ND, reassembly
    expiry, RAs) and the target's output is discarded as it goes.
    """
    for i in range(FRAMES):
        choice = rnd.random()
        if choice < 0.5:
            frame = generator.frame()
        elif choice < 0.75:
            frame = mutate(rnd, generator.frame())
        else:
            frame = mutate(rnd, rnd.choice(corpus))
        receive(frame)
        if i % 500 == 0:
            clock.advance(0.5)
            drain()


def assertBounded(testCase: SynchronousTestCase, nd: Any, ip: Any, tcp: Any) -> None:
    """
    Every ND, IPv6 and TCP table within its bound.
    """
    cache = nd.cache
    testCase.assertLessEqual(len(cache), cache.maxEntries)
    testCase.assertLessEqual(cache.queuedTotal, cache.maxQueuedTotal)
    testCase.assertLessEqual(len(nd.routers), nd.maxRouters)
    testCase.assertLessEqual(len(nd.prefixes), nd.maxPrefixes)
    testCase.assertLessEqual(len(nd.addresses), nd.maxAddresses)
    testCase.assertLessEqual(len(nd.dnsServers), nd.maxDNSServers)
    testCase.assertLessEqual(len(ip.reassembler), ip.reassembler.maxPackets)
    testCase.assertLessEqual(ip.reassembler.bytesHeld, ip.reassembler.maxBytes)
    testCase.assertLessEqual(len(ip._pathMTU), ip.maxPathMTUs)
    testCase.assertLessEqual(len(tcp.connections), tcp.maxConnections)
    testCase.assertLessEqual(tcp.synQueue, tcp.maxSynQueue)
    testCase.assertLessEqual(len(tcp._pendingForwards), tcp.maxPendingForwards)


def assertCounted(testCase: SynchronousTestCase, nd: Any, ip: Any, icmp: Any) -> None:
    """
    Each kind of hostile input reached its layer and was counted.
    """
    ipCounters = ip.allCounters()
    testCase.assertGreater(nd.counters["raReceived"] + nd.counters["invalid"], 1000, nd.counters)
    testCase.assertGreater(nd.counters["nsReceived"], 1000, nd.counters)
    testCase.assertGreater(ipCounters.get("unknownNextHeader", 0), 100, ipCounters)
    testCase.assertGreater(sum(v for k, v in ipCounters.items() if k.startswith(
        ("reassembly.", "overlapping", "duplicates", "tooMany", "inconsistent"))
        or k in ("overlapping", "reassembled")), 100, ipCounters)
    dropped = sum(v for k, v in ipCounters.items()
                  if any(w in k.lower() for w in ("bad", "malformed", "unknown", "martian",
                                                  "overlapping", "toomany", "inconsistent",
                                                  "oversized", "notforus")))
    testCase.assertGreater(dropped, FRAMES // 10, ipCounters)
    testCase.assertGreater(icmp.counters["received"], 1000, icmp.counters)


class IPv6FuzzTests(SynchronousTestCase):
    """
    The fuzz runs.
    """

    def test_virtualHost(self) -> None:
        """
        100,000 hostile and mutated IPv6 frames into a dual-stack virtual
        host with live TCP connections over IPv6: nothing raises, every
        table stays bounded, the input was counted, and a connection
        whose segments were not in the corpus still works both ways.
        """
        clock = task.Clock()
        wire = MemoryWire()
        macs = (bytes.fromhex("020000000901"), bytes.fromhex("020000000902"))
        server = VirtualHost(clock, address="10.9.0.1/24", mac=macs[0],
                             addresses6=["fd00:9::1/64"], dadTransmits=0)
        client = VirtualHost(clock, address="10.9.0.2/24", mac=macs[1],
                             addresses6=["fd00:9::2/64"], dadTransmits=0)
        for host in (server, client):
            wire.attach(host.interface)
        assert server.tcp6 is not None and client.tcp6 is not None
        assert server.nd is not None and server.ip6 is not None and server.icmp6 is not None
        assert client.ip6 is not None

        def settle() -> None:
            for _ in range(50):
                wire.pump()
                clock.advance(0.01)

        settle()
        serverAddress = parseIPv6("fd00:9::1")
        echo = Collect(echo=True)
        server.tcp6.listen(7, protocol.Factory.forProtocol(lambda: echo))
        d = client.tcp6.connect(serverAddress, 7, protocol.Factory.forProtocol(Collect))
        settle()
        proto = self.successResultOf(d)
        proto.transport.write(b"before the storm " * 200)
        clientAddress = parseIPv6("fd00:9::2")
        client.ip6.sendPacket(17, clientAddress, serverAddress,
                              b"\x30\x39\x00\x35\x00\x0c\x00\x00abcd")
        client.ip6.sendPacket(17, clientAddress, serverAddress,
                              b"\x30\x39\x00\x35" + b"z" * 3000)
        settle()
        self.assertEqual(proto.data, b"before the storm " * 200)
        corpus = [frame for _, frame in wire.frames if frame[12:14] == b"\x86\xdd"]
        self.assertGreater(len(corpus), 10)
        other = Collect(echo=True)
        server.tcp6.listen(9, protocol.Factory.forProtocol(lambda: other))
        d = client.tcp6.connect(serverAddress, 9, protocol.Factory.forProtocol(Collect))
        settle()
        bystander = self.successResultOf(d)

        rnd = random.Random(20261204)
        storm(rnd, server.interface.frameReceived, Generator(rnd, macs[0], serverAddress),
              corpus, clock, wire.queue.clear)
        assertBounded(self, server.nd, server.ip6, server.tcp6)
        assertCounted(self, server.nd, server.ip6, server.icmp6)
        # The bounds were reached, not merely respected: the storm's RAs
        # filled the router, prefix, address and DNS tables, the NS flood
        # the neighbor cache, the fragments the reassembly table.
        for full in ("routersFull", "prefixesFull", "addressesFull", "dnsServersFull"):
            self.assertGreater(server.nd.counters[full], 0, full)
        self.assertGreater(server.nd.cache.counters["evicted"], 0)
        self.assertGreater(server.ip6.reassembler.counters["tooMany"], 0)
        # The static address stays.
        self.assertIn(serverAddress, server.nd.assigned)
        settle()
        bystander.transport.write(b"after the storm")
        for _ in range(300):
            wire.pump()
            clock.advance(0.05)
        self.assertEqual(other.data, b"after the storm")
        self.assertEqual(bystander.data, b"after the storm")

    def test_slirpGateway(self) -> None:
        """
        100,000 hostile and mutated IPv6 frames into the slirp gateway
        (its NAT's host side on a memory reactor): nothing raises, the
        gateway's ND, IPv6 and TCP tables and the NAT's relays, flows and
        echo sockets stay bounded, and the input was counted.
        """
        clock = task.Clock()
        wire = MemoryWire()
        gateway = Gateway(clock, "10.0.2.0/24", prefix6="fd00:77::/64", dns=False,
                          maxTCP=64, maxUDPFlows=64,
                          icmpSocketFactory=lambda: FakeICMPSocket())
        self.addCleanup(gateway.stop)
        ipv6 = gateway.ipv6
        assert ipv6 is not None
        hostReactor = HostReactor()
        ipv6.nat.reactor = hostReactor
        wire.attach(gateway.host.interface)
        guest = VirtualHost(clock, address="10.0.2.15/24", mac=bytes.fromhex("020000000915"),
                            addresses6=["fd00:77::15/64"], gateway6="fd00:77::2",
                            dadTransmits=0)
        wire.attach(guest.interface)
        assert guest.tcp6 is not None and guest.ip6 is not None
        for _ in range(50):
            wire.pump()
            clock.advance(0.01)
        guestAddress = parseIPv6("fd00:77::15")
        # (Its host-side connect never completes: the guest gives up.)
        guest.tcp6.connect(parseIPv6("2001:db8::1"), 80, protocol.Factory.forProtocol(Collect)
                           ).addErrback(lambda reason: None)
        guest.ip6.sendPacket(17, guestAddress, parseIPv6("2001:db8::1"),
                             b"\x30\x39\x00\x35" + b"z" * 3000)
        for _ in range(50):
            wire.pump()
            clock.advance(0.01)
        corpus = [frame for _, frame in wire.frames if frame[12:14] == b"\x86\xdd"]
        self.assertGreater(len(corpus), 3)
        gatewayMAC = gateway.host.interface.mac
        rnd = random.Random(20261205)
        storm(rnd, gateway.host.interface.frameReceived,
              Generator(rnd, gatewayMAC, ipv6.address), corpus, clock, wire.queue.clear)
        assertBounded(self, ipv6.nd, ipv6.ip, ipv6.tcp)
        assertCounted(self, ipv6.nd, ipv6.ip, ipv6.icmp)
        nat = ipv6.nat
        self.assertLessEqual(len(nat.relays), nat.maxTCP)
        self.assertLessEqual(len(nat.udpFlows), nat.maxUDPFlows)
        self.assertLessEqual(len(nat.icmp.sockets), nat.maxICMPSockets)
        self.assertGreater(len(hostReactor.tcpClients), 0)
        self.assertGreater(ipv6.nd.cache.counters["evicted"], 0)
        self.assertGreater(ipv6.ip.reassembler.counters["tooMany"], 0)
        # The gateway's addresses are untouched by the storm (it takes no
        # RAs).
        self.assertEqual(ipv6.nd.routers, {})
        self.assertIn(ipv6.address, ipv6.nd.assigned)
