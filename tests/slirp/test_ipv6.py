# -*- test-case-name: tests.slirp.test_ipv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for the slirp gateway's IPv6 side (L{vdetwist.slirp.gateway6},
L{vdetwist.slirp.ra}, L{vdetwist.slirp.nat6}): the guest's frames are
built and the gateway's decoded with scapy, an independent codec.
"""

from typing import Any, List

from twisted.internet import reactor as globalReactor
from twisted.internet.defer import inlineCallbacks
from twisted.internet.protocol import DatagramProtocol
from twisted.internet.task import Clock, deferLater
from twisted.python.filepath import FilePath
from twisted.python.usage import UsageError
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.slirp.test_nat import FakeICMPSocket
from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.slirp.console import SlirpCommands
from vdetwist.slirp.dns import makeHostResolver
from vdetwist.slirp.forward import formatEndpoint, parseForwardSpec
from vdetwist.slirp.gateway import Gateway
from vdetwist.slirp.gateway6 import DEFAULT_PREFIX6, parsePrefix6
from vdetwist.slirp.nat6 import NAT6
from vdetwist.slirp.tap import Options
from vdetwist.wire.addr6 import parseIPv6

GUEST_MAC = "02:00:00:00:00:15"
GUEST = "fd00:77::15"
PREFIX = "fd00:77::/64"


class FrameRecorder:
    """
    The switch side of the gateway: records the frames it sends.
    """

    def __init__(self) -> None:
        self.frames: List[bytes] = []

    def sendFrame(self, frame: bytes) -> None:
        """
        Record one frame.
        """
        self.frames.append(bytes(frame))

    def loseConnection(self) -> None:
        """
        Nothing to close.
        """

    def ipv6(self) -> List[Any]:
        """
        The IPv6 frames sent, decoded by scapy.
        """
        return [scapy.Ether(f) for f in self.frames if f[12:14] == b"\x86\xdd"]


def makeGateway(testCase: Any, reactor: Any, **kwargs: Any) -> "tuple[Gateway, FrameRecorder]":
    """
    A gateway on C{192.168.77.0} and C{fd00:77::/64}, attached to a
    recorder, stopped at the end of the test.
    """
    kwargs.setdefault("dns", False)
    gateway = Gateway(reactor, "192.168.77.0", prefix6=PREFIX, **kwargs)
    recorder = FrameRecorder()
    gateway.host.interface.makeConnection(recorder)
    testCase.addCleanup(gateway.stop)
    return gateway, recorder


def guestFrame(payload: Any, source: str = GUEST, destination: str = "fd00:77::2",
               hlim: int = 64, dst: str = "") -> bytes:
    """
    A guest frame built by scapy.
    """
    gatewayMAC = "52:55:c0:a8:4d:02"
    return bytes(scapy.Ether(src=GUEST_MAC, dst=dst or gatewayMAC)
                 / scapy.IPv6(src=source, dst=destination, hlim=hlim) / payload)


def introduce(gateway: Gateway) -> None:
    """
    The guest solicits C{::2} (with its MAC): the gateway learns it.
    """
    gateway.host.interface.frameReceived(guestFrame(
        scapy.ICMPv6ND_NS(tgt="fd00:77::2") / scapy.ICMPv6NDOptSrcLLAddr(lladdr=GUEST_MAC),
        destination="ff02::1:ff00:2", hlim=255, dst="33:33:ff:00:00:02"))


def checksumOK(packet: Any, layer: Any) -> bool:
    """
    Whether scapy computes the same checksum as was received.
    """
    field = "chksum" if layer is scapy.UDP else "cksum"
    received = getattr(packet[layer], field)
    copy = scapy.Ether(bytes(packet))
    delattr(copy[layer], field)
    return getattr(scapy.Ether(bytes(copy))[layer], field) == received


class PrefixTests(SynchronousTestCase):
    """
    L{parsePrefix6}.
    """

    def test_default(self) -> None:
        """
        The default prefix is a ULA /64.
        """
        self.assertEqual(parsePrefix6(DEFAULT_PREFIX6)[0], 0xFD)

    def test_bad(self) -> None:
        """
        Not a /64, multicast or link-local: refused.
        """
        for text in ("fd00::/48", "ff02::/64", "fe80::/64", "nonsense/64"):
            self.assertRaises(ValueError, parsePrefix6, text)


class RouterAdvertisementTests(SynchronousTestCase):
    """
    Router advertisements and solicitations.
    """

    skip = SKIP_REASON if scapy is None else None

    def test_advertisement(self) -> None:
        """
        Attaching sends an RA from the link-local address to all-nodes,
        hop limit 255, with the prefix (A and L), the MTU, RDNSS C{::3}
        and the source link-layer address, its checksum right.
        """
        clock = Clock()
        gateway, recorder = makeGateway(self, clock, dns=True,
                                        resolver=object())
        ras = [p for p in recorder.ipv6() if p.haslayer(scapy.ICMPv6ND_RA)]
        self.assertEqual(len(ras), 1)
        ra = ras[0]
        self.assertEqual(ra.dst, "33:33:00:00:00:01")
        self.assertEqual(ra[scapy.IPv6].dst, "ff02::1")
        self.assertEqual(ra[scapy.IPv6].src, "fe80::5055:c0ff:fea8:4d02")
        self.assertEqual(ra[scapy.IPv6].hlim, 255)
        self.assertTrue(checksumOK(ra, scapy.ICMPv6ND_RA))
        self.assertEqual(ra[scapy.ICMPv6ND_RA].routerlifetime, 1800)
        info = ra[scapy.ICMPv6NDOptPrefixInfo]
        self.assertEqual((info.prefix, info.prefixlen, info.L, info.A),
                         ("fd00:77::", 64, 1, 1))
        self.assertEqual(ra[scapy.ICMPv6NDOptMTU].mtu, 1500)
        self.assertEqual(ra[scapy.ICMPv6NDOptRDNSS].dns, ["fd00:77::3"])
        self.assertEqual(ra[scapy.ICMPv6NDOptSrcLLAddr].lladdr, "52:55:c0:a8:4d:02")
        # Periodic: another within the interval.
        del recorder.frames[:]
        clock.advance(60)
        self.assertEqual(len([p for p in recorder.ipv6()
                              if p.haslayer(scapy.ICMPv6ND_RA)]), 1)

    def test_noDNS(self) -> None:
        """
        Without the DNS proxy there is no RDNSS option.
        """
        gateway, recorder = makeGateway(self, Clock())
        ra = recorder.ipv6()[0]
        self.assertFalse(ra.haslayer(scapy.ICMPv6NDOptRDNSS))

    def test_solicitation(self) -> None:
        """
        A router solicitation is answered with an RA; solicitations within
        three seconds of an RA are answered once, when they end.
        """
        clock = Clock()
        gateway, recorder = makeGateway(self, clock)
        clock.advance(5)
        del recorder.frames[:]
        rs = guestFrame(scapy.ICMPv6ND_RS(), source="::", destination="ff02::2", hlim=255,
                        dst="33:33:00:00:00:02")
        gateway.host.interface.frameReceived(rs)
        self.assertEqual(len(recorder.ipv6()), 1)
        self.assertTrue(recorder.ipv6()[0].haslayer(scapy.ICMPv6ND_RA))
        gateway.host.interface.frameReceived(rs)
        gateway.host.interface.frameReceived(rs)
        self.assertEqual(len(recorder.ipv6()), 1)
        clock.advance(3)
        self.assertEqual(len(recorder.ipv6()), 2)
        self.assertEqual(gateway.ipv6.advertiser.counters["solicitationsMerged"], 1)

    def test_solicitationBadHopLimit(self) -> None:
        """
        A solicitation that did not come from the link is ignored.
        """
        clock = Clock()
        gateway, recorder = makeGateway(self, clock)
        clock.advance(5)
        del recorder.frames[:]
        gateway.host.interface.frameReceived(guestFrame(
            scapy.ICMPv6ND_RS(), destination="ff02::2", hlim=64, dst="33:33:00:00:00:02"))
        self.assertEqual(recorder.ipv6(), [])


class NeighborTests(SynchronousTestCase):
    """
    Neighbor solicitations and echo on the gateway's addresses.
    """

    skip = SKIP_REASON if scapy is None else None

    def test_solicitations(self) -> None:
        """
        Solicitations for C{::2} and C{::3} are answered with the
        gateway's MAC, the router and solicited flags.
        """
        gateway, recorder = makeGateway(self, Clock())
        for target in ("fd00:77::2", "fd00:77::3"):
            del recorder.frames[:]
            gateway.host.interface.frameReceived(guestFrame(
                scapy.ICMPv6ND_NS(tgt=target) / scapy.ICMPv6NDOptSrcLLAddr(lladdr=GUEST_MAC),
                destination="ff02::1:ff00:" + target[-1], hlim=255,
                dst="33:33:ff:00:00:0" + target[-1]))
            [na] = recorder.ipv6()
            self.assertEqual(na.dst, GUEST_MAC)
            advert = na[scapy.ICMPv6ND_NA]
            self.assertEqual((advert.tgt, advert.R, advert.S), (target, 1, 1))
            self.assertEqual(na[scapy.ICMPv6NDOptDstLLAddr].lladdr, "52:55:c0:a8:4d:02")
            self.assertTrue(checksumOK(na, scapy.ICMPv6ND_NA))

    def test_ping(self) -> None:
        """
        An echo request to C{::2} is answered.
        """
        gateway, recorder = makeGateway(self, Clock())
        introduce(gateway)
        del recorder.frames[:]
        gateway.host.interface.frameReceived(guestFrame(
            scapy.ICMPv6EchoRequest(id=7, seq=1, data=b"abc")))
        [reply] = recorder.ipv6()
        echo = reply[scapy.ICMPv6EchoReply]
        self.assertEqual((reply[scapy.IPv6].src, reply[scapy.IPv6].dst), ("fd00:77::2", GUEST))
        self.assertEqual((echo.id, echo.seq, echo.data), (7, 1, b"abc"))
        self.assertTrue(checksumOK(reply, scapy.ICMPv6EchoReply))

    def test_noIPv6(self) -> None:
        """
        C{ipv6=False}: no RA, no IPv6 side.
        """
        gateway, recorder = makeGateway(self, Clock(), ipv6=False)
        self.assertIsNone(gateway.ipv6)
        self.assertEqual(recorder.ipv6(), [])


class DNSTests(SynchronousTestCase):
    """
    DNS on C{::3}.
    """

    skip = SKIP_REASON if scapy is None else None

    def test_aaaa(self) -> None:
        """
        An AAAA query to C{::3} is answered from the host's hosts file.
        """
        hosts = FilePath(self.mktemp())
        hosts.setContent(b"fd00:99::5 myhost6\n192.0.2.5 myhost6\n")
        clock = Clock()
        gateway, recorder = makeGateway(self, clock, dns=True, resolver=makeHostResolver(
            clock, resolvConf=self.mktemp(), hosts=hosts.path))
        introduce(gateway)
        del recorder.frames[:]
        gateway.host.interface.frameReceived(guestFrame(
            scapy.UDP(sport=40000, dport=53)
            / scapy.DNS(id=9, rd=1, qd=scapy.DNSQR(qname="myhost6", qtype="AAAA")),
            destination="fd00:77::3"))
        clock.advance(0)
        [answer] = recorder.ipv6()
        self.assertEqual(answer[scapy.IPv6].src, "fd00:77::3")
        self.assertEqual(answer[scapy.UDP].sport, 53)
        self.assertTrue(checksumOK(answer, scapy.UDP))
        response = answer[scapy.DNS]
        self.assertEqual(response.id, 9)
        self.assertEqual(response.ancount, 1)
        self.assertEqual(response.an[0].rdata, "fd00:99::5")


class NATPolicyTests(SynchronousTestCase):
    """
    L{NAT6.toHost} and L{NAT6.fromHost}.
    """

    def nat(self, allow: bool) -> NAT6:
        return NAT6(Clock(), None, parseIPv6("fd00:77::2"), parseIPv6("fd00:77::3"), 64,
                    allowHostLoopback=allow)

    def test_hidden(self) -> None:
        """
        Loopback, mapped, link-local, multicast and the virtual prefix are
        never reached; C{::2} reaches C{::1} only when allowed.
        """
        nat = self.nat(False)
        for text in ("::1", "::ffff:127.0.0.1", "fe80::1", "ff02::1", "fd00:77::9",
                     "fd00:77::3", "fd00:77::2", "::"):
            self.assertIsNone(nat.toHost(parseIPv6(text)), text)
        self.assertEqual(nat.toHost(parseIPv6("2001:db8::1")), "2001:db8::1")
        self.assertIsNone(nat.fromHost("::1"))
        self.assertEqual(self.nat(True).toHost(parseIPv6("fd00:77::2")), "::1")
        self.assertEqual(self.nat(True).fromHost("::1"), parseIPv6("fd00:77::2"))


class UDPNATTests(TestCase):
    """
    UDP from a guest to the host's C{::1} through C{::2}, on the real
    reactor.
    """

    skip = SKIP_REASON if scapy is None else None

    @inlineCallbacks
    def test_roundTrip(self) -> Any:
        """
        A guest datagram to C{::2} reaches a host socket on C{::1}; its
        reply comes back from C{::2}; the flow is bounded.
        """
        class Echo(DatagramProtocol):
            def datagramReceived(self, data: bytes, addr: Any) -> None:
                self.transport.write(b"echo " + data, addr)
        try:
            port = globalReactor.listenUDP(0, Echo(), interface="::1")
        except Exception as e:
            self.skipTest(f"no IPv6 loopback: {e}")
        self.addCleanup(port.stopListening)
        gateway, recorder = makeGateway(self, globalReactor, allowHostLoopback=True,
                                        maxUDPFlows=1)
        introduce(gateway)
        del recorder.frames[:]
        gateway.host.interface.frameReceived(guestFrame(
            scapy.UDP(sport=40000, dport=port.getHost().port) / b"hi"))
        for _ in range(500):
            if recorder.ipv6():
                break
            yield deferLater(globalReactor, 0.01, lambda: None)
        [reply] = recorder.ipv6()
        self.assertEqual(reply[scapy.IPv6].src, "fd00:77::2")
        self.assertEqual(reply[scapy.UDP].dport, 40000)
        self.assertEqual(bytes(reply[scapy.UDP].payload), b"echo hi")
        self.assertTrue(checksumOK(reply, scapy.UDP))
        flows = gateway.ipv6.nat.flows()
        self.assertEqual([(f.protocol, f.guest) for f in flows], [("udp", (GUEST, 40000))])
        # The table is bounded: a second flow is refused.
        gateway.host.interface.frameReceived(guestFrame(
            scapy.UDP(sport=40001, dport=port.getHost().port) / b"hi"))
        self.assertEqual(gateway.ipv6.nat.counters["udpFull"], 1)
        self.assertEqual(len(gateway.ipv6.nat.udpFlows), 1)

    def test_loopbackHidden(self) -> None:
        """
        Without C{allowHostLoopback}, a datagram to C{::2} is refused.
        """
        gateway, recorder = makeGateway(self, globalReactor)
        introduce(gateway)
        gateway.host.interface.frameReceived(guestFrame(
            scapy.UDP(sport=40000, dport=9) / b"hi"))
        self.assertEqual(gateway.ipv6.nat.udpFlows, {})
        self.assertEqual(gateway.ipv6.nat.counters["udpRefused"], 1)



class ForwardSpecTests(SynchronousTestCase):
    """
    C{-L}/C{fwd/add} with bracketed IPv6 literals.
    """

    def test_parse(self) -> None:
        """
        Either address may be a bracketed IPv6 literal; the spec prints
        back as given.
        """
        spec = parseForwardSpec("[::1]:30000:[fd00:77::100]:10000")
        self.assertEqual((spec.hostAddress, spec.hostPort, spec.guestAddress, spec.guestPort),
                         ("::1", 30000, parseIPv6("fd00:77::100"), 10000))
        self.assertEqual(str(spec), "[::1]:30000:[fd00:77::100]:10000")
        spec = parseForwardSpec("30001:[fd00:77::101]:10000")
        self.assertEqual((spec.hostAddress, spec.guestAddress), ("", parseIPv6("fd00:77::101")))
        spec = parseForwardSpec("127.0.0.1:30002:10.0.2.15:22")
        self.assertEqual(str(spec), "127.0.0.1:30002:10.0.2.15:22")

    def test_bad(self) -> None:
        """
        Unclosed brackets, bracketed ports, bad literals: refused.
        """
        for text in ("30000:[fd00::1:10000", "30000:[fd00::1]x:1", "[30000]:10.0.2.15:1",
                     "30000:[nonsense]:1", "[1.2.3.4]:1:10.0.2.15:1", "30000:fd00::1:1"):
            self.assertRaises(ValueError, parseForwardSpec, text)

    def test_formatEndpoint(self) -> None:
        """
        IPv6 endpoints are bracketed, IPv4 ones not.
        """
        self.assertEqual(formatEndpoint(parseIPv6("fd00::1"), 5), "[fd00::1]:5")
        self.assertEqual(formatEndpoint("10.0.2.15", 5), "10.0.2.15:5")

    def test_options(self) -> None:
        """
        C{--prefix6} and C{--no-ipv6} are parsed; a bad prefix and IPv6
        guests outside it are refused; TCP and UDP forwards to IPv6 guests
        in the prefix are taken.
        """
        options = Options()
        options.parseOptions(["-s", "/tmp/sw", "--prefix6", PREFIX])
        self.assertEqual((options["prefix6"], options["no-ipv6"]), (PREFIX, 0))
        for argv, message in (
                (["--prefix6", "fd00::/48"], "/64"),
                (["--prefix6", PREFIX, "-L", "1:[fd00:99::1]:2"], "not in the IPv6 prefix"),
                (["--no-ipv6", "-L", "1:[fd00:0:0:2::5]:2"], "not in the IPv6 prefix"),
                (["--prefix6", PREFIX, "-U", "1:[fd00:99::5]:2"], "not in the IPv6 prefix")):
            e = self.assertRaises(UsageError, Options().parseOptions, ["-s", "/tmp/sw"] + argv)
            self.assertIn(message, str(e))
        options = Options()
        options.parseOptions(["-s", "/tmp/sw", "--prefix6", PREFIX, "-L", "1:[fd00:77::5]:2",
                              "-U", "3:[fd00:77::5]:4"])
        self.assertEqual([(protocol, spec.guestAddress) for protocol, spec in options["forwards"]],
                         [("tcp", parseIPv6("fd00:77::5")), ("udp", parseIPv6("fd00:77::5"))])

    def test_gatewayTakesForwards(self) -> None:
        """
        The gateway takes TCP and UDP forwards to IPv6 guests, through its
        IPv6 layers (L{tests.slirp.test_tcp6} has the forwards at work).
        """
        gateway, _ = makeGateway(self, Clock())
        forward = gateway.addForward("tcp", parseForwardSpec("30000:[fd00:77::100]:10000"),
                                     listen=False)
        self.assertIs(forward.tcp, gateway.ipv6.tcp)
        forward = gateway.addForward("udp", parseForwardSpec("30000:[fd00:77::100]:10000"),
                                     listen=False)
        self.assertIs(forward.udp, gateway.ipv6.udp)


class ConnPrintTests(TestCase):
    """
    C{conn/print} shows IPv6 flows with bracketed addresses.
    """

    def test_flows(self) -> None:
        """
        An IPv6 UDP flow is listed with bracketed endpoints.
        """
        gateway, _ = makeGateway(self, globalReactor)
        introduce(gateway)
        gateway.host.interface.frameReceived(guestFrame(
            scapy.UDP(sport=40000, dport=9) / b"hi", destination="2001:db8::9"))
        out: List[str] = []
        SlirpCommands(gateway).cmd_conn_print(None, out, None)
        self.assertIn("udp   [fd00:77::15]:40000", out[1])
        self.assertIn("[2001:db8::9]:9", out[1])

    if scapy is None:
        skip = SKIP_REASON


class ReaderClock(Clock):
    """
    A clock that accepts readers (the fake ICMP sockets), unread.
    """

    def addReader(self, reader: Any) -> None:
        pass

    def removeReader(self, reader: Any) -> None:
        pass


class EchoNATTests(SynchronousTestCase):
    """
    ICMPv6 echo to outside addresses through (fake) unprivileged ICMPv6
    sockets, as the IPv4 echo is tested.
    """

    skip = SKIP_REASON if scapy is None else None

    def test_ping(self) -> None:
        """
        The request goes out through an ICMPv6 socket with the guest's
        message; the reply (its identifier the kernel's) reaches the guest
        with the guest's identifier and a valid checksum; the sockets are
        bounded.
        """
        sockets: List[FakeICMPSocket] = []

        def factory() -> FakeICMPSocket:
            sockets.append(FakeICMPSocket())
            return sockets[-1]
        gateway, recorder = makeGateway(self, ReaderClock(), icmpSocketFactory=factory)
        gateway.ipv6.nat.icmp.maxSockets = 1
        introduce(gateway)
        del recorder.frames[:]
        gateway.host.interface.frameReceived(guestFrame(
            scapy.ICMPv6EchoRequest(id=0x1234, seq=3, data=b"data"),
            destination="2001:db8::9"))
        [sock] = sockets
        [(message, addr)] = sock.sent
        self.assertEqual(addr, ("2001:db8::9", 0))
        self.assertEqual((message[0], message[4:6], message[8:]), (128, b"\x12\x34", b"data"))
        reply = bytearray(message)
        reply[0] = 129
        reply[4:6] = b"\x99\x99"
        [entry] = gateway.ipv6.nat.icmp.sockets.values()
        gateway.ipv6.nat.icmp.replyReceived(entry, bytes(reply), "2001:db8::9")
        [answer] = recorder.ipv6()
        echo = answer[scapy.ICMPv6EchoReply]
        self.assertEqual((answer[scapy.IPv6].src, echo.id, echo.seq, echo.data),
                         ("2001:db8::9", 0x1234, 3, b"data"))
        self.assertTrue(checksumOK(answer, scapy.ICMPv6EchoReply))
        gateway.host.interface.frameReceived(guestFrame(
            scapy.ICMPv6EchoRequest(id=0x1235, seq=1), destination="2001:db8::9"))
        self.assertEqual(gateway.ipv6.nat.counters["icmpFull"], 1)

    def test_pingVirtualPrefix(self) -> None:
        """
        A ping to another address of the virtual prefix is not relayed to
        the host.
        """
        sockets: List[FakeICMPSocket] = []
        gateway, recorder = makeGateway(self, ReaderClock(),
                                        icmpSocketFactory=lambda: sockets.append(
                                            FakeICMPSocket()) or sockets[-1])
        introduce(gateway)
        gateway.host.interface.frameReceived(guestFrame(
            scapy.ICMPv6EchoRequest(id=1, seq=1), destination="fd00:77::99"))
        self.assertEqual(sockets, [])
        self.assertEqual(gateway.ipv6.nat.counters["icmpRefused"], 1)


class TCPNATTests(SynchronousTestCase):
    """
    TCP over IPv6 to outside addresses goes to the NAT, which connects on
    the host first (L{tests.slirp.test_tcp6} has the whole exchange).
    """

    skip = SKIP_REASON if scapy is None else None

    def test_synToNAT(self) -> None:
        """
        A guest SYN to an outside address is held (no answer yet) while
        the NAT connects on the host; a stray RST gets no answer.
        """
        from tests.slirp.test_nat import HostReactor
        gateway, recorder = makeGateway(self, Clock())
        hostReactor = HostReactor()
        gateway.ipv6.nat.reactor = hostReactor
        introduce(gateway)
        del recorder.frames[:]
        gateway.host.interface.frameReceived(guestFrame(
            scapy.TCP(sport=40000, dport=80, flags="S"), destination="2001:db8::9"))
        self.assertEqual(recorder.ipv6(), [])
        [(host, port, _, _, _)] = hostReactor.tcpClients
        self.assertEqual((host, port), ("2001:db8::9", 80))
        gateway.host.interface.frameReceived(guestFrame(
            scapy.TCP(sport=40001, dport=80, flags="R"), destination="2001:db8::9"))
        self.assertEqual(recorder.ipv6(), [])
        self.assertEqual(gateway.ipv6.tcp.stats.segmentsReceived, 2)
