# -*- test-case-name: tests.stack.test_host -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.host}: whole stacks talking over a
L{MemoryWire}, with a fake clock.
"""

from typing import Any, List, Tuple

from hypothesis import HealthCheck, given, settings, strategies as st
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from vdetwist.interfaces import IFrameProtocol, IIPv4Protocol, IIPv4Sender
from vdetwist.stack.host import VirtualHost
from vdetwist.testing import (
    MemoryWire,
    MemoryWirePort,
    arp,
    arpFrame,
    arpOperation,
    checkFrame,
    ethernet,
    icmp,
    icmpEchoFrame,
    icmpType,
    ipv4,
    ipv4Frame,
    udpFrame,
)
from vdetwist.wire.addr import parseIPv4
from vdetwist.wire.icmp import ICMPRepr
from vdetwist.wire.ipv4 import IPv4Repr

A = parseIPv4("192.168.77.100")
B = parseIPv4("192.168.77.1")
OUTSIDE = parseIPv4("8.8.8.8")
PEER_MAC = bytes.fromhex("02000000aaaa")


class Echo(DatagramProtocol):
    """
    A UDP echo server.
    """

    def datagramReceived(self, datagram: bytes, addr: Tuple[str, int]) -> None:
        """
        Send the datagram back.

        @param datagram: the data.
        @param addr: the sender.
        """
        self.transport.write(datagram, addr)


class Recorder(DatagramProtocol):
    """
    Records datagrams.
    """

    def __init__(self) -> None:
        """
        Nothing yet.
        """
        self.received: List[Tuple[bytes, Tuple[str, int]]] = []

    def datagramReceived(self, datagram: bytes, addr: Tuple[str, int]) -> None:
        """
        Record one datagram.

        @param datagram: the data.
        @param addr: the sender.
        """
        self.received.append((datagram, addr))


class TwoHostsMixin:
    """
    Two hosts, A (192.168.77.100, gateway .1) and B (192.168.77.1), on a
    pumped L{MemoryWire} with one fake clock.
    """

    router = False

    def setUp(self) -> None:
        """
        Build and attach the hosts.
        """
        self.clock = Clock()
        self.wire = MemoryWire()
        self.a = VirtualHost(self.clock, "192.168.77.100/24", gateway="192.168.77.1",
                             mac="02:00:00:00:00:0a", ipv6=False)
        self.b = VirtualHost(self.clock, "192.168.77.1/24", mac="02:00:00:00:00:0b",
                             router=self.router, proxyAddresses=["192.168.77.3"], ipv6=False)
        self.wire.attach(self.a.interface)
        self.wire.attach(self.b.interface)
        self.wire.pump()


class VirtualHostTests(TwoHostsMixin, SynchronousTestCase):
    """
    Two L{VirtualHost}s talking.
    """

    def test_interfaces(self) -> None:
        """
        The host's interface is an L{IFrameProtocol} and its C{ip} an
        L{IIPv4Sender}.
        """
        self.assertTrue(verifyObject(IFrameProtocol, self.a.interface))
        self.assertTrue(verifyObject(IIPv4Sender, self.a.ip))
        self.assertEqual(self.a.mac, bytes.fromhex("02000000000a"))

    def test_gratuitousARP(self) -> None:
        """
        Each host announced itself when attached.
        """
        for host in (self.a, self.b):
            [frame] = self.wire.sentBy(host.interface)
            checkFrame(frame, ethernet(), arp(arpOperation(1)))

    def test_arpResolution(self) -> None:
        """
        The first datagram costs one request and one reply; afterwards both
        caches know each other and no more ARP is sent.
        """
        self.a.ip.sendPacket(17, A, B, b"")
        self.wire.pump()
        self.assertEqual(self.a.arp.lookup(B), self.b.mac)
        self.assertEqual(self.b.arp.lookup(A), self.a.mac)
        self.assertEqual(self.a.counters()["arp.requestsSent"], 1)
        self.assertEqual(self.b.counters()["arp.repliesSent"], 1)
        self.b.ip.sendPacket(17, B, A, b"")
        self.wire.pump()
        self.assertEqual(self.b.counters().get("arp.requestsSent", 0), 0)

    def test_arpLossRetried(self) -> None:
        """
        When the first request is lost, the retry a second later resolves.
        """
        dropped = []

        def dropFirstRequest(sender: MemoryWirePort, frame: bytes) -> List[bytes]:
            if frame[12:14] == b"\x08\x06" and frame[20:22] == b"\x00\x01" and not dropped:
                if frame[38:42] == B:
                    dropped.append(frame)
                    return []
            return [frame]

        self.wire.filter = dropFirstRequest
        results: List[object] = []
        self.a.icmp.ping(B).addCallback(results.append)
        self.wire.pump()
        self.assertEqual(results, [])
        self.clock.advance(1)
        self.wire.pump()
        self.assertEqual(results, [1.0])
        self.assertEqual(len(dropped), 1)

    def test_ping(self) -> None:
        """
        A pings B and gets the reply.
        """
        results: List[object] = []
        self.a.icmp.ping(B, b"x" * 56).addCallback(results.append)
        self.wire.pump()
        self.assertEqual(results, [0.0])
        self.assertEqual(self.b.counters()["icmp.echoRequests"], 1)

    def test_pingUnknownHost(self) -> None:
        """
        Pinging an address nobody has times out after ARP gives up.
        """
        d = self.a.icmp.ping(parseIPv4("192.168.77.77"), timeout=5)
        self.wire.pump()
        for _ in range(5):
            self.clock.advance(1)
            self.wire.pump()
        self.failureResultOf(d)
        self.assertEqual(self.a.counters()["arp.resolutionFailed"], 1)

    def test_udpEcho(self) -> None:
        """
        A UDP datagram to B's echo port comes back, small or fragmented.
        """
        self.b.udp.listenUDP(7, Echo())
        client = Recorder()
        port = self.a.udp.listenUDP(0, client)
        port.write(b"hello", ("192.168.77.1", 7))
        port.write(bytes(range(256)) * 30, ("192.168.77.1", 7))
        self.wire.pump()
        self.assertEqual(client.received, [(b"hello", ("192.168.77.1", 7)),
                                           (bytes(range(256)) * 30, ("192.168.77.1", 7))])
        self.assertEqual(self.b.counters()["ip.reassembly.reassembled"], 1)

    def test_udpClosedPort(self) -> None:
        """
        A datagram to a closed port brings an ICMP port unreachable, which a
        connected socket sees as a refusal.
        """
        refused: List[int] = []
        client = Recorder()
        client.connectionRefused = lambda: refused.append(1)  # type: ignore[method-assign]
        port = self.a.udp.listenUDP(0, client)
        port.connect("192.168.77.1", 9)
        port.write(b"anyone?")
        self.wire.pump()
        self.assertEqual(refused, [1])

    def test_fragmentsDuplicatedAndReordered(self) -> None:
        """
        Fragments that arrive reversed reassemble, and duplicates are
        ignored.  A duplicate arriving after completion starts a new
        reassembly, which times out and is freed (with an ICMP time
        exceeded, as Linux does).
        """
        self.b.udp.listenUDP(7, Recorder())
        recorder = self.b.udp.sockets()[(b"\0" * 4, 7)].protocol
        port = self.a.udp.listenUDP(0, Recorder())
        port.write(b"prime", ("192.168.77.1", 7))
        self.wire.pump()
        held: List[bytes] = []

        def reverseFragments(sender: MemoryWirePort, frame: bytes) -> List[bytes]:
            if frame[12:14] == b"\x08\x00" and frame[20:22] != b"\x00\x00":
                held.append(frame)
                if frame[20] & 0x20:
                    return []
                return [f for f in reversed(held) for _ in (0, 1)]
            return [frame]

        self.wire.filter = reverseFragments
        port.write(b"q" * 4000, ("192.168.77.1", 7))
        self.wire.pump()
        self.assertEqual([len(d) for d, _ in recorder.received], [5, 4000])
        self.assertEqual(self.b.counters()["ip.reassembly.duplicates"], 2)
        self.assertEqual(len(self.b.ip.reassembler), 1)
        self.wire.filter = None
        self.clock.advance(30)
        self.wire.pump()
        self.assertEqual((len(self.b.ip.reassembler), self.b.ip.reassembler.bytesHeld), (0, 0))
        self.assertEqual(self.a.counters()["icmp.errorsReceived"], 1)

    def test_hostUnreachable(self) -> None:
        """
        When ARP gives up on a next hop, each waiting datagram is reported
        to its protocol's error handler as a host unreachable from
        ourselves.
        """
        errors: List[tuple] = []
        self.a.icmp.registerErrorHandler(6, lambda *a: errors.append(a))
        nobody = parseIPv4("192.168.77.77")
        self.a.ip.sendPacket(6, A, nobody, b"syn")
        for _ in range(3):
            self.wire.pump()
            self.clock.advance(1)
        [(reporter, icmpType, code, rest, quoted)] = errors
        self.assertEqual((reporter, icmpType, code, rest), (A, 3, 1, 0))
        self.assertEqual((quoted[16:20], quoted[20:]), (nobody, b"syn"))

    def test_resolutionFailedHook(self) -> None:
        """
        A C{resolutionFailed} hook given to the constructor gets the next
        hop and the dropped datagrams instead of the protocols' error
        handlers.
        """
        failed: List[tuple] = []
        host = VirtualHost(self.clock, "192.168.77.50/24", mac="02:00:00:00:00:0c",
                           resolutionFailed=lambda *a: failed.append(a))
        self.wire.attach(host.interface)
        errors: List[tuple] = []
        host.icmp.registerErrorHandler(17, lambda *a: errors.append(a))
        nobody = parseIPv4("192.168.77.77")
        host.ip.sendPacket(17, host.address, nobody, b"datagram")
        for _ in range(3):
            self.wire.pump()
            self.clock.advance(1)
        [(address, [datagram])] = failed
        self.assertEqual((address, datagram[16:20], datagram[20:]),
                         (nobody, nobody, b"datagram"))
        self.assertEqual(errors, [])

    def test_tcp(self) -> None:
        """
        Each host has its TCP layer: A connects to a listener on B and the
        bytes arrive; a connect to a closed port is refused.
        """
        from twisted.internet.protocol import Factory, Protocol

        received: List[bytes] = []

        class Sink(Protocol):
            def dataReceived(self, data: bytes) -> None:
                received.append(data)

        self.b.tcp.listen(80, Factory.forProtocol(Sink))
        d = self.a.tcp.connect(B, 80, Factory.forProtocol(Protocol))
        refused = self.a.tcp.connect(B, 81, Factory.forProtocol(Protocol))
        for _ in range(5):
            self.wire.pump()
            self.clock.advance(0.1)
        client = self.successResultOf(d)
        client.transport.write(b"over tcp")
        for _ in range(5):
            self.wire.pump()
            self.clock.advance(0.1)
        self.assertEqual(b"".join(received), b"over tcp")
        self.failureResultOf(refused)
        self.assertGreater(self.b.counters()["proto6.segmentsReceived"], 0)

    def test_capture(self) -> None:
        """
        A capture records the frames sent and received, stamped with the
        reactor's clock, in a file tcpdump could read.
        """
        import io

        from vdetwist.wire.pcap import readPcap
        capture = io.BytesIO()
        self.clock.advance(1000)
        self.a.startCapture(capture)
        self.a.icmp.ping(B)
        self.wire.pump()
        self.a.stopCapture()
        self.a.icmp.ping(B)
        self.wire.pump()
        records = readPcap(capture.getvalue())
        self.assertEqual([t for t, _ in records], [1000.0] * 4)
        checkFrame(records[0][1], ethernet(), arp(arpOperation(1)))
        checkFrame(records[3][1], ethernet(), ipv4(icmp(icmpType(0))))

    def test_registerProtocol(self) -> None:
        """
        A protocol registered for 6 (as TCP will be) receives datagrams.
        """
        @implementer(IIPv4Protocol)
        class Fake:
            received: List[bytes] = []

            def packetReceived(self, source: bytes, destination: bytes, payload: bytes,
                               datagram: bytes) -> None:
                self.received.append(payload)

        fake = Fake()
        self.b.registerProtocol(6, fake)
        self.a.ip.sendPacket(6, A, B, b"segment")
        self.wire.pump()
        self.assertEqual(fake.received, [b"segment"])

    def test_noProtocol(self) -> None:
        """
        A datagram of a protocol nothing is registered for (SCTP, 132)
        brings a protocol unreachable.
        """
        errors: List[tuple] = []
        self.a.icmp.registerErrorHandler(132, lambda *a: errors.append(a))
        self.a.ip.sendPacket(132, A, B, b"chunk")
        self.wire.pump()
        self.assertEqual([(e[1], e[2]) for e in errors], [(3, 2)])

    def test_stop(self) -> None:
        """
        C{stop} cancels every timer and detaches.
        """
        self.a.icmp.ping(parseIPv4("192.168.77.77"), timeout=5).addErrback(lambda f: None)
        self.a.stop()
        self.assertIsNone(self.a.interface.transport)
        self.assertEqual(len(self.wire.ports), 1)
        self.assertTrue(all(c.func.__name__ == "expired" for c in self.clock.getDelayedCalls()))


class ConfigureTests(SynchronousTestCase):
    """
    An unconfigured host (C{address=None}), L{VirtualHost.configure} and
    L{VirtualHost.unconfigure}: the hooks of a DHCP client.
    """

    def setUp(self) -> None:
        """
        An unconfigured host C on a wire with B (192.168.77.1).
        """
        self.clock = Clock()
        self.wire = MemoryWire()
        self.b = VirtualHost(self.clock, "192.168.77.1/24", mac="02:00:00:00:00:0b", ipv6=False)
        self.c = VirtualHost(self.clock, None, mac="02:00:00:00:00:0c", ipv6=False)
        self.wire.attach(self.b.interface)
        self.wire.attach(self.c.interface)
        self.wire.pump()

    def test_unconfigured(self) -> None:
        """
        An unconfigured host announces nothing, has address 0.0.0.0,
        receives broadcasts on a wildcard socket but not datagrams for
        0.0.0.0, sends from 0.0.0.0 to the limited broadcast, and has no
        route to unicast destinations.
        """
        self.assertEqual(self.wire.sentBy(self.c.interface), [])
        self.assertEqual((self.c.address, self.c.gateway, self.c.configured),
                         (b"\0\0\0\0", None, False))
        recorder = Recorder()
        port = self.c.udp.listenUDP(68, recorder)
        port.setBroadcastAllowed(True)
        for destination in ["255.255.255.255", "0.0.0.0", "192.168.77.255"]:
            self.c.interface.frameReceived(udpFrame(
                "ff:ff:ff:ff:ff:ff", "02:00:00:00:00:0b", "192.168.77.1", 67,
                destination, 68, destination.encode()))
        self.assertEqual(recorder.received, [(b"255.255.255.255", ("192.168.77.1", 67))])
        port.write(b"discover", ("255.255.255.255", 67))
        [frame] = self.wire.sentBy(self.c.interface)
        checkFrame(frame, ethernet(), ipv4())
        self.assertEqual((frame[0:6], frame[26:30], frame[30:34]),
                         (b"\xff" * 6, b"\0" * 4, b"\xff" * 4))
        self.c.ip.sendPacket(17, b"\0" * 4, B, b"\0" * 8)
        self.assertEqual(self.c.ip.counters["noRoute"], 1)
        self.assertEqual(len(self.wire.sentBy(self.c.interface)), 1)

    def test_configure(self) -> None:
        """
        Configuring gives the host its address (announced with a
        gratuitous ARP), prefix and gateway: it then pings and is pinged.
        """
        self.c.configure("192.168.77.50", 24, "192.168.77.1")
        self.assertEqual((self.c.address, self.c.prefixLength, self.c.gateway,
                          self.c.configured),
                         (parseIPv4("192.168.77.50"), 24, B, True))
        [announcement] = self.wire.sentBy(self.c.interface)
        checkFrame(announcement, ethernet(), arp(arpOperation(1)))
        results: List[object] = []
        self.c.icmp.ping(B).addCallback(results.append)
        self.b.icmp.ping(parseIPv4("192.168.77.50")).addCallback(results.append)
        self.wire.pump()
        self.assertEqual(results, [0.0, 0.0])
        self.assertEqual(self.c.arp.addresses, {parseIPv4("192.168.77.50")})

    def test_reconfigureAndUnconfigure(self) -> None:
        """
        A new address replaces the old one (ARP answers only for the new
        one); unconfiguring removes it and the gateway.
        """
        self.c.configure(parseIPv4("192.168.77.50"), 24)
        self.c.configure(parseIPv4("10.0.0.5"), 8, parseIPv4("10.0.0.1"))
        self.assertEqual(self.c.arp.addresses, {parseIPv4("10.0.0.5")})
        self.assertEqual(self.c.ip.broadcast, parseIPv4("10.255.255.255"))
        self.c.unconfigure()
        self.assertEqual((self.c.address, self.c.gateway, self.c.arp.addresses),
                         (b"\0\0\0\0", None, set()))
        self.assertRaises(ValueError, self.c.configure, "10.0.0.5", 33)


class RouterHostTests(TwoHostsMixin, SynchronousTestCase):
    """
    B in router (NAT) mode answers as any outside address.
    """

    router = True

    def test_pingOutside(self) -> None:
        """
        A's ping to 8.8.8.8 goes to its gateway B, which answers as
        8.8.8.8.
        """
        results: List[object] = []
        self.a.icmp.ping(OUTSIDE).addCallback(results.append)
        self.wire.pump()
        self.assertEqual(results, [0.0])

    def test_proxyAddress(self) -> None:
        """
        B answers ARP for its proxy address .3, and its wildcard UDP
        sockets receive for it.
        """
        recorder = Recorder()
        self.b.udp.listenUDP(53, recorder)
        port = self.a.udp.listenUDP(0, Recorder())
        port.write(b"dns?", ("192.168.77.3", 53))
        self.wire.pump()
        self.assertEqual(self.a.arp.lookup(parseIPv4("192.168.77.3")), self.b.mac)
        self.assertEqual(recorder.received[0][0], b"dns?")

    def test_natFallback(self) -> None:
        """
        UDP to an outside address reaches B's NAT hook, which can answer
        as that address with C{sendDatagram}.
        """
        def nat(source: bytes, sport: int, destination: bytes, dport: int,
                payload: bytes, datagram: bytes) -> bool:
            self.b.udp.sendDatagram(destination, dport, source, sport, payload.upper())
            return True

        self.b.udp.setFallback(nat)
        client = Recorder()
        port = self.a.udp.listenUDP(0, client)
        port.write(b"query", ("8.8.8.8", 53))
        self.wire.pump()
        self.assertEqual(client.received, [(b"QUERY", ("8.8.8.8", 53))])


def validFrames(host: VirtualHost) -> List[bytes]:
    """
    A sample of valid frames for C{host} (at 192.168.77.1), to mutate.

    @param host: the target host.
    @return: the frames.
    """
    mac, us, them = host.mac, host.address, parseIPv4("192.168.77.50")
    quoted = IPv4Repr(us, them, 17, 8).emit(b"\x00\x07\x00\x09\x00\x08\x00\x00")
    big = udpFrame(mac, PEER_MAC, them, 5, us, 7, b"f" * 100)
    fragment = bytearray(ipv4Frame(mac, PEER_MAC, them, us, 17, bytes(16),
                                   moreFragments=True, identification=9))
    return [
        arpFrame(1, PEER_MAC, them, us),
        arpFrame(2, PEER_MAC, them, us, mac),
        icmpEchoFrame(mac, PEER_MAC, them, us, data=b"abcdefgh" * 4),
        udpFrame(mac, PEER_MAC, them, 5, us, 7, b"echo me"),
        udpFrame(mac, PEER_MAC, them, 5, us, 9, b"closed"),
        big,
        bytes(fragment),
        ipv4Frame(mac, PEER_MAC, them, us, 1,
                  ICMPRepr.destinationUnreachable(3, quoted).emit()),
        ipv4Frame(mac, PEER_MAC, them, us, 6, b"\x00" * 20),
        ipv4Frame(mac, PEER_MAC, them, us, 17, b"", options=b"\x94\x04\x00\x00"),
    ]


class RobustnessTests(SynchronousTestCase):
    """
    Hostile input never raises out of the stack, and leaves it working.
    """

    def setUp(self) -> None:
        """
        A host with an echo port, attached to a wire whose other end
        records.
        """
        self.clock = Clock()
        self.wire = MemoryWire(record=False)
        self.host = VirtualHost(self.clock, "192.168.77.1/24")
        self.host.udp.listenUDP(7, Echo())
        self.wire.attach(self.host.interface)
        self.frames = validFrames(self.host)

    def assertStillWorks(self) -> None:
        """
        After the abuse, the host still answers a fresh ping.
        """
        self.wire.pump()
        self.assertEqual(self.flushLoggedErrors(), [])
        peer = VirtualHost(self.clock, "192.168.77.200/24")
        self.wire.attach(peer.interface)
        results: List[object] = []
        peer.icmp.ping(self.host.address).addCallback(results.append)
        self.wire.pump()
        self.assertEqual(results, [0.0])

    def test_validFramesAccepted(self) -> None:
        """
        The sample frames themselves are handled without errors.
        """
        for frame in self.frames:
            self.host.interface.frameReceived(frame)
        counters = self.host.counters()
        self.assertEqual(counters["icmp.echoRequests"], 1)
        self.assertEqual(counters["udp.delivered"], 2)
        self.assertEqual(counters["icmp.errorsReceived"], 1)
        self.assertStillWorks()

    @settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
    @given(st.data())
    def test_mutatedFrames(self, data: st.DataObject) -> None:
        """
        Valid frames with bytes changed, truncated or extended never raise.
        """
        frame = bytearray(data.draw(st.sampled_from(self.frames)))
        for _ in range(data.draw(st.integers(1, 4))):
            index = data.draw(st.integers(0, len(frame) - 1))
            frame[index] = data.draw(st.integers(0, 255))
        frame = frame[:data.draw(st.integers(0, len(frame)))] + data.draw(
            st.binary(max_size=20))
        self.host.interface.frameReceived(bytes(frame))
        self.wire.pump()
        self.assertEqual(self.flushLoggedErrors(), [])

    @settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from([b"", b"\x08\x00", b"\x08\x06"]), st.binary(max_size=120))
    def test_arbitraryPayloads(self, etherType: bytes, body: bytes) -> None:
        """
        Arbitrary bytes after our MAC (and an IPv4 or ARP EtherType) never
        raise.
        """
        self.host.interface.frameReceived(self.host.mac + PEER_MAC + etherType + body)
        self.wire.pump()
        self.assertEqual(self.flushLoggedErrors(), [])

    def test_afterFuzz(self) -> None:
        """
        After a burst of mutations, the host still works.
        """
        import random
        rng = random.Random(1234)
        for _ in range(2000):
            frame = bytearray(rng.choice(self.frames))
            for _ in range(rng.randint(1, 3)):
                frame[rng.randrange(len(frame))] = rng.randrange(256)
            self.host.interface.frameReceived(bytes(frame[:rng.randint(0, len(frame))]))
        self.clock.advance(60)
        self.assertStillWorks()


class ScapyPeerTests(SynchronousTestCase):
    """
    A host driven by frames scapy builds, its answers read by scapy: an
    independent implementation on both sides of the conversation.
    """

    def setUp(self) -> None:
        """
        A host at 192.168.77.1 with an echo port, on a fake transport.
        """
        from tests.wire.oracle import SKIP_REASON, scapy
        if scapy is None:
            raise self.skipTest(SKIP_REASON)
        self.scapy = scapy
        from vdetwist.testing import FakeFrameTransport
        self.host = VirtualHost(Clock(), "192.168.77.1/24", mac="02:00:00:00:00:01")
        self.host.udp.listenUDP(7, Echo())
        self.transport = FakeFrameTransport()
        self.host.interface.makeConnection(self.transport)
        self.transport.clear()
        self.peer = "02:00:00:00:00:99"

    def exchange(self, packet: Any) -> List[Any]:
        """
        Deliver a scapy packet; return the host's frames parsed by scapy.

        @param packet: a scapy Ether packet.
        @return: scapy packets.
        """
        self.host.interface.frameReceived(bytes(packet))
        return [self.scapy.Ether(f) for f in self.transport.clear()]

    def assertChecksumsAsScapy(self, packet: Any, *layers: Any) -> None:
        """
        Recompute the given layers' checksums with scapy and compare.

        @param packet: a parsed scapy packet.
        @param layers: the layer classes whose checksum to check.
        """
        for layer in layers:
            copy = self.scapy.Ether(bytes(packet))
            theirs = copy[layer].chksum
            del copy[layer].chksum
            self.assertEqual(self.scapy.Ether(bytes(copy))[layer].chksum, theirs)

    def test_arp(self) -> None:
        """
        scapy's ARP request gets a reply scapy reads as ours.
        """
        s = self.scapy
        [reply] = self.exchange(s.Ether(src=self.peer, dst="ff:ff:ff:ff:ff:ff") / s.ARP(
            op=1, hwsrc=self.peer, psrc="192.168.77.50", pdst="192.168.77.1"))
        self.assertEqual((reply[s.ARP].op, reply[s.ARP].hwsrc, reply[s.ARP].psrc,
                          reply[s.ARP].pdst, reply.dst),
                         (2, "02:00:00:00:00:01", "192.168.77.1", "192.168.77.50",
                          self.peer))

    def test_pingAndUDP(self) -> None:
        """
        scapy's ping and UDP datagram are answered with checksums scapy
        agrees with.
        """
        s = self.scapy
        self.exchange(s.Ether(src=self.peer, dst="ff:ff:ff:ff:ff:ff") / s.ARP(
            op=1, hwsrc=self.peer, psrc="192.168.77.50", pdst="192.168.77.1"))
        base = s.Ether(src=self.peer, dst="02:00:00:00:00:01") / s.IP(
            src="192.168.77.50", dst="192.168.77.1")
        [reply] = self.exchange(base / s.ICMP(type=8, id=5, seq=6) / b"payload")
        self.assertEqual((reply[s.ICMP].type, reply[s.ICMP].id, reply[s.ICMP].seq,
                          bytes(reply[s.ICMP].payload)), (0, 5, 6, b"payload"))
        self.assertChecksumsAsScapy(reply, s.IP, s.ICMP)
        [reply] = self.exchange(base / s.UDP(sport=4444, dport=7) / b"echo")
        self.assertEqual((reply[s.UDP].sport, reply[s.UDP].dport,
                          bytes(reply[s.UDP].payload)), (7, 4444, b"echo"))
        self.assertChecksumsAsScapy(reply, s.IP, s.UDP)
        [reply] = self.exchange(base / s.UDP(sport=4444, dport=8) / b"closed")
        self.assertEqual((reply[s.ICMP].type, reply[s.ICMP].code), (3, 3))
        self.assertEqual(reply[s.UDPerror].dport, 8)
        self.assertChecksumsAsScapy(reply, s.IP, s.ICMP)
