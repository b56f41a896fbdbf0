# -*- test-case-name: tests.stack.test_endpoints -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.endpoints}: the C{vde:} string parsers found the
Twisted way, and endpoints on virtual hosts sharing an in-process switch.
"""

from twisted.internet import protocol, task
from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.internet.interfaces import (
    IStreamClientEndpoint, IStreamClientEndpointStringParserWithReactor,
    IStreamServerEndpoint, IStreamServerEndpointStringParser)
from twisted.internet.testing import MemoryReactor
from twisted.plugin import getPlugins
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from typing import Optional

from tests.util import shortTempDir
from vdetwist.slirp.gateway import Gateway
from vdetwist.stack.dhcpclient import DHCPTimeout
from vdetwist.stack.endpoints import (
    DEFAULT_DHCP_WAIT, StackHost, StackRegistry, VDEClientEndpoint, VDEClientParser,
    VDEServerEndpoint, VDEServerParser)
from vdetwist.switch.switch import Switch
from vdetwist.vde import local


class ParserTests(SynchronousTestCase):
    """
    The parsers are plugins, provide the parser interfaces, and build the
    endpoints C{serverFromString}/C{clientFromString} return.
    """

    def test_discovered(self) -> None:
        """
        getPlugins finds one server and one client parser with prefix vde.
        """
        servers = [p for p in getPlugins(IStreamServerEndpointStringParser) if p.prefix == "vde"]
        clients = [p for p in getPlugins(IStreamClientEndpointStringParserWithReactor)
                   if p.prefix == "vde"]
        self.assertEqual([type(p) for p in servers], [VDEServerParser])
        self.assertEqual([type(p) for p in clients], [VDEClientParser])
        verifyObject(IStreamServerEndpointStringParser, servers[0])
        verifyObject(IStreamClientEndpointStringParserWithReactor, clients[0])

    def test_server(self) -> None:
        """
        A server string gives a L{VDEServerEndpoint} with every keyword
        converted.
        """
        reactor = MemoryReactor()
        endpoint = serverFromString(
            reactor, "vde:sock=/tmp/vde:ip=192.168.77.100/24:gw=192.168.77.2:"
            "mac=02\\:00\\:00\\:00\\:00\\:07:mtu=9000:backlog=5:port=8080")
        verifyObject(IStreamServerEndpoint, endpoint)
        self.assertIsInstance(endpoint, VDEServerEndpoint)
        self.assertEqual((endpoint.sock, endpoint.address, endpoint.gateway, endpoint.port,
                          endpoint.mtu, endpoint.backlog, endpoint.mac),
                         ("/tmp/vde", "192.168.77.100/24", "192.168.77.2", 8080, 9000, 5,
                          bytes.fromhex("020000000007")))

    def test_serverPositionalPort(self) -> None:
        """
        The port may be given positionally; the prefix defaults to /24.
        """
        endpoint = serverFromString(MemoryReactor(), "vde:8080:sock=/tmp/vde:ip=10.0.0.5")
        self.assertEqual((endpoint.port, endpoint.address), (8080, "10.0.0.5/24"))

    def test_serverDefaultBacklog(self) -> None:
        """
        The backlog defaults to Linux's somaxconn, 4096 (SYN cookies answer
        SYNs beyond it).
        """
        endpoint = serverFromString(MemoryReactor(), "vde:8080:sock=/tmp/vde:ip=10.0.0.5")
        self.assertEqual(endpoint.backlog, 4096)

    def test_client(self) -> None:
        """
        A client string gives a L{VDEClientEndpoint}.
        """
        endpoint = clientFromString(
            MemoryReactor(), "vde:sock=/tmp/vde:ip=192.168.77.101/24:host=192.168.77.100:"
            "port=10000:timeout=5")
        verifyObject(IStreamClientEndpoint, endpoint)
        self.assertEqual((endpoint.host, endpoint.port, endpoint.timeout),
                         ("192.168.77.100", 10000, 5.0))

    def test_errors(self) -> None:
        """
        Missing, malformed, unknown and conflicting keywords raise clear
        ValueErrors.
        """
        reactor = MemoryReactor()
        for text, message in [
                ("vde:ip=10.0.0.1/24:port=1", "sock="),
                ("vde:sock=/x:port=1", "ip="),
                ("vde:sock=/x:ip=10.0.0.1/24", "port="),
                ("vde:1:sock=/x:ip=10.0.0.1/24:port=2", "once"),
                ("vde:sock=/x:ip=10.0.0.1/24:port=70000", "range"),
                ("vde:sock=/x:ip=10.0.0.1/24:port=1:color=red", "color"),
                ("vde:sock=/x:ip=10.0.0.1/24:port=1:mtu=100", "mtu"),
                ("vde:sock=/x:ip=300.0.0.1/24:port=1", ""),
        ]:
            e = self.assertRaises(ValueError, serverFromString, reactor, text)
            self.assertIn(message, str(e))
        e = self.assertRaises(ValueError, clientFromString, reactor,
                              "vde:sock=/x:ip=10.0.0.1/24:port=1")
        self.assertIn("host=", str(e))

    def test_dhcp(self) -> None:
        """
        C{ip=dhcp} asks for a DHCP lease, on server and client endpoints;
        C{dhcpwait=} sets how long to wait for it.
        """
        reactor = MemoryReactor()
        server = serverFromString(reactor, "vde:sock=/tmp/vde:ip=dhcp:port=8080")
        self.assertEqual((server.address, server.gateway, server.dhcpWait),
                         ("dhcp", None, DEFAULT_DHCP_WAIT))
        client = clientFromString(
            reactor, "vde:sock=/tmp/vde:ip=DHCP:dhcpwait=5:host=10.0.2.2:port=80")
        self.assertEqual((client.address, client.dhcpWait), ("dhcp", 5.0))
        for text, message in [
                ("vde:sock=/x:ip=10.0.0.1/24:dhcpwait=5:port=1", "dhcpwait"),
                ("vde:sock=/x:ip=dhcp:dhcpwait=0:port=1", "dhcpwait"),
        ]:
            e = self.assertRaises(ValueError, serverFromString, reactor, text)
            self.assertIn(message, str(e))


class Echo(protocol.Protocol):
    """
    Echo everything back.
    """

    def dataReceived(self, data: bytes) -> None:
        self.transport.write(data)


class Collect(protocol.Protocol):
    """
    Collect what arrives.
    """

    def __init__(self) -> None:
        self.data = b""

    def dataReceived(self, data: bytes) -> None:
        self.data += data


class InProcessTests(SynchronousTestCase):
    """
    Endpoints whose hosts attach by call to a vdetwist switch in the same
    process, driven by a L{task.Clock}.
    """

    def setUp(self) -> None:
        self.clock = task.Clock()
        self.switch = Switch()
        local.register("/nonexistent/vde-inprocess", self.switch)
        self.addCleanup(local.unregister, "/nonexistent/vde-inprocess")
        self.hosts = StackRegistry()

    def advance(self, seconds: float = 1.0, steps: int = 100) -> None:
        for _ in range(steps):
            self.clock.advance(seconds / steps)

    def test_echoOverInProcessSwitch(self) -> None:
        """
        A client endpoint on one virtual host reaches a server endpoint on
        another through the switch; each host took one port; endpoints
        naming the same address share one host.
        """
        sock = "/nonexistent/vde-inprocess"
        server = VDEServerEndpoint(self.clock, sock, "10.1.0.1/24", 7, hosts=self.hosts)
        listening = self.successResultOf(server.listen(protocol.Factory.forProtocol(Echo)))
        self.assertIsNotNone(listening)
        again = VDEServerEndpoint(self.clock, sock, "10.1.0.1/24", 8, hosts=self.hosts)
        self.successResultOf(again.listen(protocol.Factory.forProtocol(Echo)))
        client = VDEClientEndpoint(self.clock, sock, "10.1.0.2/24", "10.1.0.1", 7,
                                   hosts=self.hosts)
        d = client.connect(protocol.Factory.forProtocol(Collect))
        self.advance()
        proto = self.successResultOf(d)
        proto.transport.write(b"hello, switch")
        self.advance()
        self.assertEqual(proto.data, b"hello, switch")
        active = [p.number for p in self.switch.ports if p is not None and p.active]
        self.assertEqual(active, [1, 2])
        self.assertEqual(proto.transport.getPeer().host, "10.1.0.1")

    def test_connectionSurvivesSwitchRestart(self) -> None:
        """
        When the in-process switch goes away and a new one serves the same
        directory, both hosts reattach with their MACs (the new switch
        learns the same addresses) and a TCP connection that was open
        carries on: what was written during the outage arrives by
        retransmission.  Frames sent while detached are counted drops.
        """
        sock = "/nonexistent/vde-inprocess"
        server = VDEServerEndpoint(self.clock, sock, "10.1.0.1/24", 7, hosts=self.hosts)
        self.successResultOf(server.listen(protocol.Factory.forProtocol(Echo)))
        client = VDEClientEndpoint(self.clock, sock, "10.1.0.2/24", "10.1.0.1", 7,
                                   hosts=self.hosts)
        d = client.connect(protocol.Factory.forProtocol(Collect))
        self.advance()
        proto = self.successResultOf(d)
        hosts = self.hosts.attached()
        macs = sorted(h.host.mac for h in hosts)
        proto.transport.write(b"before ")
        self.advance()
        # The switch exits: it no longer serves the directory, its ports end.
        local.unregister(sock)
        self.switch.closeAll()
        proto.transport.write(b"during ")
        self.advance(0.05, 5)
        self.assertTrue(all(not h.attachment.attached for h in hosts))
        self.assertGreater(sum(h.attachment.detachedDrops for h in hosts), 0)
        newSwitch = Switch()
        local.register(sock, newSwitch)
        self.advance(5)
        self.assertTrue(all(h.attachment.attached for h in hosts))
        self.assertEqual(sorted(h.host.mac for h in hosts), macs)
        learned = sorted(mac for table in newSwitch.fdb.tables.values() for mac in table)
        self.assertEqual(learned, macs)
        proto.transport.write(b"after")
        self.advance(5)
        self.assertEqual(proto.data, b"before during after")
        self.assertEqual([h.attachment.reattachments for h in hosts], [1, 1])

    def test_attached(self) -> None:
        """
        The registry lists the hosts it attached, once each.
        """
        sock = "/nonexistent/vde-inprocess"
        for port in (7, 8):
            self.successResultOf(VDEServerEndpoint(
                self.clock, sock, "10.1.0.1/24", port, hosts=self.hosts).listen(
                    protocol.Factory.forProtocol(Echo)))
        [host] = self.hosts.attached()
        self.assertEqual(host.address, bytes([10, 1, 0, 1]))

    def test_dhcpHosts(self) -> None:
        """
        An C{ip=dhcp} server endpoint listens once slirp's DHCP server
        (in process, on the same switch) has leased its host an address; a
        client with a fixed address reaches it there, and endpoints naming
        C{ip=dhcp} share that host.
        """
        sock = "/nonexistent/vde-inprocess"
        gateway = Gateway(self.clock, "10.0.2.0/24", dhcp=True, dns=False)
        self.successResultOf(gateway.attach(sock))
        self.addCleanup(gateway.stop)
        server = VDEServerEndpoint(self.clock, sock, "dhcp", 7, hosts=self.hosts)
        d = server.listen(protocol.Factory.forProtocol(Echo))
        self.advance()
        self.successResultOf(d)
        [host] = self.hosts.attached()
        self.assertEqual(host.address, bytes([10, 0, 2, 15]))
        assert host.lease is not None
        self.assertEqual(host.lease.describe(), "10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3")
        self.assertEqual(host.host.gateway, bytes([10, 0, 2, 2]))
        self.successResultOf(VDEServerEndpoint(self.clock, sock, "dhcp", 8, hosts=self.hosts)
                             .listen(protocol.Factory.forProtocol(Echo)))
        self.assertEqual(len(self.hosts.attached()), 1)
        client = VDEClientEndpoint(self.clock, sock, "10.0.2.50/24", "10.0.2.15", 7,
                                   hosts=self.hosts)
        d = client.connect(protocol.Factory.forProtocol(Collect))
        self.advance()
        proto = self.successResultOf(d)
        proto.transport.write(b"leased")
        self.advance()
        self.assertEqual(proto.data, b"leased")

    def test_noDHCPAnswer(self) -> None:
        """
        Without a DHCP server, an C{ip=dhcp} endpoint fails after
        C{dhcpWait} seconds with a clear L{DHCPTimeout}, and its host
        leaves the switch.
        """
        sock = "/nonexistent/vde-inprocess"
        client = VDEClientEndpoint(self.clock, sock, "dhcp", "10.0.2.2", 7,
                                   hosts=self.hosts, dhcpWait=5)
        d = client.connect(protocol.Factory.forProtocol(Collect))
        self.advance(5.5)
        failure = self.failureResultOf(d, DHCPTimeout)
        self.assertEqual(str(failure.value), "no DHCP answer from the switch within 5 s")
        self.assertEqual(self.hosts.attached(), [])
        self.assertEqual([p for p in self.switch.ports if p is not None and p.active], [])


class SwitchMTUTests(SynchronousTestCase):
    """
    A host made without C{mtu=} takes the switch's MTU
    (L{vdetwist.vde.announce.switchMTU}); C{mtu=} overrides it.
    """

    def host(self, switchMTU: int, mtu: Optional[int] = None) -> StackHost:
        """
        A host attached in process to a switch at C{switchMTU}.
        """
        from twisted.internet.task import Clock
        directory = shortTempDir(self)
        local.register(directory, Switch(numports=4, mtu=switchMTU))
        self.addCleanup(local.unregister, directory)
        hosts = StackRegistry()
        attached = self.successResultOf(
            hosts.hostFor(Clock(), directory, "10.9.0.1/24", mtu=mtu))
        self.addCleanup(attached.stop)
        return attached

    def test_jumboSwitch(self) -> None:
        """
        On a switch at 9000 the host's IPv4 and IPv6 MTU is 9000 and TCP
        announces an MSS of 8960 (8940 over IPv6).
        """
        host = self.host(9000)
        self.assertEqual(host.host.ip.mtu, 9000)
        self.assertEqual(host.host.nd.mtu, 9000)
        self.assertEqual(host.tcp.config.mss, 8960)
        self.assertEqual(host.host.tcp6.config.mss, 8940)

    def test_defaultSwitch(self) -> None:
        """
        On a switch at 1500 (ours without --mtu, or Debian's) it is 1500.
        """
        host = self.host(1500)
        self.assertEqual(host.host.ip.mtu, 1500)
        self.assertEqual(host.tcp.config.mss, 1460)

    def test_explicitWins(self) -> None:
        """
        C{mtu=} wins over the switch's, in both directions.
        """
        self.assertEqual(self.host(9000, mtu=1500).host.ip.mtu, 1500)
        self.assertEqual(self.host(1500, mtu=4000).host.ip.mtu, 4000)

    def test_parserLeavesItToTheSwitch(self) -> None:
        """
        A C{vde:} string without C{mtu=} leaves the MTU to the switch.
        """
        from twisted.internet.endpoints import serverFromString
        endpoint = serverFromString(MemoryReactor(), "vde:sock=/x:ip=10.0.0.1/24:port=80")
        self.assertIsNone(endpoint.mtu)

    def test_switchMTUChanged(self) -> None:
        """
        When the switch comes back announcing another MTU, the host says so
        and keeps its own.
        """
        from twisted.logger import formatEvent, globalLogPublisher
        host = self.host(9000)
        self.assertEqual(host.switchMTU, 9000)
        self.assertTrue(host.checkSwitchMTU())
        events: list = []
        globalLogPublisher.addObserver(events.append)
        self.addCleanup(globalLogPublisher.removeObserver, events.append)
        assert host._sock is not None
        local.register(host._sock, Switch(numports=4))
        self.assertFalse(host.checkSwitchMTU())
        self.assertEqual(host.host.ip.mtu, 9000)
        self.assertEqual(host.switchMTU, 1500)
        [message] = [formatEvent(e) for e in events if "announces MTU" in formatEvent(e)]
        self.assertIn("now announces MTU 1500 (it was 9000", message)
        self.assertIn("keeps MTU 9000", message)
