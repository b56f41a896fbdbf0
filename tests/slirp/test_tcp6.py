# -*- test-case-name: tests.slirp.test_tcp6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for slirp's TCP over IPv6 (L{vdetwist.slirp.gateway6}): the
outbound NAT to IPv6 destinations through the stack's TCP layer, and
inbound TCP and UDP forwards to IPv6 guests, with dual-stack virtual
guests on an in-memory wire.
"""

from typing import Any, List, Tuple

from twisted.internet import error
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory, Protocol
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.slirp.helpers import GuestServer, HostTransport, Network
from tests.slirp.test_nat import HostReactor, Recorder
from vdetwist.slirp.console import SlirpCommands
from vdetwist.slirp.forward import parseForwardSpec
from vdetwist.stack.host import VirtualHost
from vdetwist.wire.addr6 import parseIPv6

PREFIX = "fd00:77::/64"
GUEST = "fd00:77::15"
OUTSIDE = "2001:db8::9"


class TCP6Network(Network):
    """
    A dual-stack gateway and dual-stack guests on one in-memory wire.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("prefix6", PREFIX)
        super().__init__("10.0.2.0/24", **kwargs)

    def guest6(self, address: str = GUEST) -> VirtualHost:
        """
        A dual-stack guest with the static C{address}/64 and C{::2} as
        its IPv6 router, its address usable at once.
        """
        host = VirtualHost(self.clock, address="10.0.2.15/24", gateway="10.0.2.2",
                           addresses6=[f"{address}/64"], gateway6="fd00:77::2",
                           dadTransmits=0)
        self.wire.attach(host.interface)
        self.run(0.1)
        return host


class NAT6TCPTests(SynchronousTestCase):
    """
    Outbound TCP to IPv6 destinations: connect on the host first, then
    answer the SYN; RST when refused; "address unreachable" when the host
    cannot reach it.
    """

    def setUp(self) -> None:
        """
        A guest at C{fd00:77::15}; the IPv6 NAT's host side on a memory
        reactor.
        """
        self.net = TCP6Network(maxTCP=2)
        self.addCleanup(self.net.gateway.stop)
        self.hostReactor = HostReactor()
        assert self.net.gateway.ipv6 is not None
        self.nat = self.net.gateway.ipv6.nat
        self.nat.reactor = self.hostReactor
        self.guest = self.net.guest6()

    def connect(self, address: str = OUTSIDE, port: int = 80) -> Tuple[List[Any], Recorder]:
        """
        Start a guest connection over IPv6.

        @return: the list that will hold the result, and the protocol.
        """
        protocol = Recorder()
        results: List[Any] = []
        assert self.guest.tcp6 is not None
        d = self.guest.tcp6.connect(parseIPv6(address), port,
                                    Factory.forProtocol(lambda: protocol))
        d.addBoth(results.append)
        self.net.run(0.2)
        return results, protocol

    def test_connectsHostFirst(self) -> None:
        """
        A guest's IPv6 SYN makes the NAT connect on the host to the same
        address and port (a TCP6 endpoint); the guest is answered only
        once that succeeds; then bytes flow both ways, and C{conn/print}
        shows the flow with bracketed addresses.
        """
        results, protocol = self.connect()
        [(host, port, factory, _, _)] = self.hostReactor.tcpClients
        self.assertEqual((host, port), (OUTSIDE, 80))
        self.assertEqual(results, [])
        hostProtocol = factory.buildProtocol(IPv4Address("TCP", "127.0.0.1", 80))
        transport = HostTransport()
        hostProtocol.makeConnection(transport)
        self.net.run(0.2)
        self.assertEqual(results, [protocol])
        protocol.transport.write(b"GET /")
        self.net.run(0.2)
        self.assertEqual(transport.value(), b"GET /")
        hostProtocol.dataReceived(b"200 OK")
        self.net.run(0.2)
        self.assertEqual(protocol.received, b"200 OK")
        self.assertEqual(protocol.transport.getPeer().host, OUTSIDE)
        out: List[str] = []
        SlirpCommands(self.net.gateway).cmd_conn_print(None, out, None)
        self.assertIn(f"tcp   [{GUEST}]:", out[1])
        self.assertIn(f"[{OUTSIDE}]:80", out[1])

    def test_refusedBecomesReset(self) -> None:
        """
        When the host's connect is refused, the guest's SYN gets a RST.
        """
        results, _ = self.connect()
        _, _, factory, _, _ = self.hostReactor.tcpClients[-1]
        factory.clientConnectionFailed(self.hostReactor.connectors[-1],
                                       Failure(error.ConnectionRefusedError()))
        self.net.run(0.2)
        [result] = results
        self.assertIsInstance(result, Failure)
        result.trap(error.ConnectionRefusedError)
        self.assertEqual(self.nat.relays, {})

    def test_failureBecomesUnreachable(self) -> None:
        """
        When the host's connect fails other than by refusal, the guest's
        SYN gets an ICMPv6 "address unreachable" quoting it, and its
        connect fails as unreachable, not refused.
        """
        results, _ = self.connect()
        _, _, factory, _, _ = self.hostReactor.tcpClients[-1]
        factory.clientConnectionFailed(self.hostReactor.connectors[-1],
                                       Failure(error.TCPTimedOutError()))
        self.net.run(0.2)
        [result] = results
        self.assertIsInstance(result, Failure)
        self.assertFalse(result.check(error.ConnectionRefusedError), result)
        self.assertEqual(self.nat.counters["tcpUnreachable"], 1)
        assert self.guest.tcp6 is not None
        self.assertEqual(self.guest.tcp6.stats.icmpErrors, 1)

    def test_hostLoopbackDenied(self) -> None:
        """
        C{::2} stands for the host's C{::1} only with
        C{allowHostLoopback}: otherwise the SYN is reset at once, with no
        host connect.
        """
        results, _ = self.connect("fd00:77::2", 22)
        [result] = results
        result.trap(error.ConnectionRefusedError)
        self.assertEqual(self.hostReactor.tcpClients, [])
        self.assertEqual(self.nat.counters["tcpRefused"], 1)

    def test_hostLoopbackAllowed(self) -> None:
        """
        With C{allowHostLoopback}, C{::2} is connected as C{::1}.
        """
        self.nat.allowHostLoopback = True
        self.connect("fd00:77::2", 22)
        [(host, port, _, _, _)] = self.hostReactor.tcpClients
        self.assertEqual((host, port), ("::1", 22))

    def test_tcpBound(self) -> None:
        """
        Beyond C{maxTCP} relays, SYNs are reset without a host connect.
        """
        self.connect(port=1)
        self.connect(port=2)
        results, _ = self.connect(port=3)
        [result] = results
        result.trap(error.ConnectionRefusedError)
        self.assertEqual(len(self.hostReactor.tcpClients), 2)
        self.assertEqual(self.nat.counters["tcpFull"], 1)


class Forward6Tests(SynchronousTestCase):
    """
    Inbound TCP forwards to IPv6 guests.
    """

    def setUp(self) -> None:
        """
        A guest listening on 10000 over IPv6 only.
        """
        self.net = TCP6Network()
        self.addCleanup(self.net.gateway.stop)
        self.guest = self.net.guest6()
        self.servers: List[GuestServer] = []
        assert self.guest.tcp6 is not None
        self.guest.tcp6.listen(10000, Factory.forProtocol(
            lambda: GuestServer(b"g6", self.servers)))

    def connect(self, forward: Any) -> Tuple[Any, HostTransport]:
        """
        A host client connects to C{forward}.
        """
        end = forward._accepted(IPv4Address("TCP", "127.0.0.1", 5000))
        transport = HostTransport()
        end.makeConnection(transport)
        self.net.run()
        return end, transport

    def test_relay(self) -> None:
        """
        A host client of C{-L 2222:[fd00:77::15]:10000} reaches the
        guest's IPv6 listener from C{::2}; bytes flow both ways; the
        startup text, C{fwd/print} and C{conn/print} show the IPv6 guest
        bracketed.
        """
        gateway = self.net.gateway
        forward = gateway.addForward("tcp", parseForwardSpec(f"2222:[{GUEST}]:10000"),
                                     listen=False)
        end, transport = self.connect(forward)
        [server] = self.servers
        self.assertEqual(transport.value(), b"hello from g6\n")
        self.assertEqual(server.transport.getPeer().host, "fd00:77::2")
        end.dataReceived(b"ping")
        self.net.run()
        self.assertEqual(server.received, b"ping")
        self.assertIn(f"redir TCP   =2222:[{GUEST}]:10000", gateway.startupText())
        commands = SlirpCommands(gateway)
        out: List[str] = []
        commands.cmd_fwd_print(None, out, None)
        self.assertIn(f"[{GUEST}]:10000", out[1])
        out = []
        commands.cmd_conn_print(None, out, None)
        self.assertIn(f"127.0.0.1:5000 -> [{GUEST}]:10000", out[-1])

    def test_fwdAdd(self) -> None:
        """
        C{fwd/add} takes an IPv6 guest; guests outside the prefix and the
        gateway itself are refused clearly.
        """
        commands = SlirpCommands(self.net.gateway)
        out: List[str] = []
        self.net.gateway.reactor = _ListeningClock(self.net.clock)
        self.assertEqual(commands.cmd_fwd_add(None, out, f"tcp 0:[{GUEST}]:10000"), 0)
        self.assertIn(f"[{GUEST}]:10000", out[0])
        [forward] = self.net.gateway.forwards.values()
        self.connect(forward)
        self.assertEqual(len(self.servers), 1)
        for arg, message in (("udp 0:[fd00:99::1]:1", "not in the IPv6 prefix"),
                             ("tcp 0:[fd00:99::1]:1", "not in the IPv6 prefix"),
                             ("tcp 0:[fd00:77::2]:1", "gateway itself")):
            out = []
            self.assertNotEqual(commands.cmd_fwd_add(None, out, arg), 0)
            self.assertIn(message, out[0])

    def test_guestUnreachable(self) -> None:
        """
        A forward to an IPv6 guest that does not answer Neighbor
        Discovery fails the host client's connection promptly (well before
        the SYN retries would give up).
        """
        forward = self.net.gateway.addForward(
            "tcp", parseForwardSpec("2222:[fd00:77::99]:10000"), listen=False)
        end, transport = self.connect(forward)
        self.net.run(10.0, step=0.1)
        self.assertTrue(transport.disconnecting)
        self.assertEqual(forward.counters.failed, 1)
        self.assertEqual(list(forward.relays.values()), [None])
        self.assertEqual(self.net.gateway.counters["neighbourUnreachable"], 1)

    def test_ipv6Off(self) -> None:
        """
        Without IPv6, a forward to an IPv6 guest is refused.
        """
        net = Network(ipv6=False)
        self.addCleanup(net.gateway.stop)
        e = self.assertRaises(ValueError, net.gateway.addForward, "tcp",
                              parseForwardSpec(f"1:[{GUEST}]:2"))
        self.assertIn("IPv6 is off", str(e))


class UDPForward6Tests(SynchronousTestCase):
    """
    UDP forwards to IPv6 guests (C{-U HOSTPORT:[GUEST6]:PORT}).
    """

    def test_relayBothWays(self) -> None:
        """
        A host client's datagram reaches the guest's IPv6 socket from
        C{::2}, and the answer goes back to that client.
        """
        net = TCP6Network()
        self.addCleanup(net.gateway.stop)
        guest = net.guest6()
        received: List[Tuple[bytes, Tuple[str, int]]] = []

        class Echo:
            def makeConnection(self, transport: Any) -> None:
                self.transport = transport

            def datagramReceived(self, data: bytes, addr: Tuple[str, int]) -> None:
                received.append((data, addr))
                self.transport.write(b"echo " + data, addr)

            def doStop(self) -> None:
                pass
        assert guest.udp6 is not None
        guest.udp6.listenUDP(53, Echo())  # type: ignore[arg-type]
        hostReactor = HostReactor()
        net.gateway.reactor = hostReactor
        forward = net.gateway.addForward("udp", parseForwardSpec(f"5353:[{GUEST}]:53"))
        [hostPort] = hostReactor.udpPorts
        hostPort.protocol.datagramReceived(b"q", ("127.0.0.1", 6000))
        net.run(0.1)
        [(data, (source, _))] = received
        self.assertEqual((data, source), (b"q", "fd00:77::2"))
        self.assertEqual(hostPort.sent, [(b"echo q", ("127.0.0.1", 6000))])
        self.assertEqual((forward.counters.bytesToGuest, forward.counters.bytesFromGuest),
                         (1, 6))
        self.assertIn(f"redir UDP   ={forward.hostPort}:[{GUEST}]:53",
                      net.gateway.startupText())


class _Port:
    """
    A listening port that is not.
    """

    def getHost(self) -> IPv4Address:
        return IPv4Address("TCP", "0.0.0.0", 40404)

    def stopListening(self) -> None:
        pass


class _ListeningClock:
    """
    The gateway's clock with a C{listenTCP} that pretends.
    """

    def __init__(self, clock: Any) -> None:
        self.clock = clock

    def __getattr__(self, name: str) -> Any:
        return getattr(self.clock, name)

    def listenTCP(self, port: int, factory: Any, backlog: int = 50,
                  interface: str = "") -> _Port:
        return _Port()


class DNSOverTCP6Tests(SynchronousTestCase):
    """
    DNS over TCP on C{::3}.
    """

    def test_listener(self) -> None:
        """
        With DNS on, the IPv6 TCP layer listens on C{::3} port 53; a guest
        connects to it without the NAT.
        """
        from twisted.names.resolve import ResolverChain
        net = TCP6Network(dns=True, resolver=ResolverChain([]))
        self.addCleanup(net.gateway.stop)
        guest = net.guest6()
        assert guest.tcp6 is not None and net.gateway.ipv6 is not None
        results: List[Any] = []
        guest.tcp6.connect(parseIPv6("fd00:77::3"), 53, Factory.forProtocol(Protocol)
                           ).addBoth(results.append)
        net.run(0.2)
        [protocol] = results
        self.assertIsInstance(protocol, Protocol)
        self.assertEqual(net.gateway.ipv6.nat.relays, {})
