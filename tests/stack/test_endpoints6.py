# -*- test-case-name: tests.stack.test_endpoints6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for the IPv6 keywords of L{vdetwist.stack.endpoints}: C{ip6=},
C{gw6=} and IPv6 C{host=} in C{vde:} strings, and endpoints over IPv6 on
an in-process switch.
"""

from twisted.internet import protocol, task
from twisted.internet.address import IPv4Address, IPv6Address
from twisted.internet.endpoints import clientFromString, serverFromString
from twisted.internet.testing import MemoryReactor
from twisted.trial.unittest import SynchronousTestCase

from tests.stack.test_endpoints import Collect, Echo
from vdetwist.stack.endpoints import (
    DualListeningPort, StackRegistry, VDEClientEndpoint, VDEServerEndpoint)
from vdetwist.switch.switch import Switch
from vdetwist.vde import local

SOCK = "/nonexistent/vde-inprocess6"


class ParserTests(SynchronousTestCase):
    """
    C{ip6=}, C{gw6=} and IPv6 literals in C{host=}, escaped as Twisted
    escapes colons.
    """

    def test_serverIPv6Only(self) -> None:
        """
        A server string with only C{ip6=} has no IPv4 address; the prefix
        defaults to /64.
        """
        endpoint = serverFromString(
            MemoryReactor(), "vde:sock=/tmp/vde:ip6=fd00\\:77\\:\\:50:gw6=fd00\\:77\\:\\:1:port=8080")
        self.assertEqual((endpoint.address, endpoint.address6, endpoint.gateway6, endpoint.port),
                         (None, "fd00:77::50/64", "fd00:77::1", 8080))

    def test_serverBoth(self) -> None:
        """
        A server string may give both families.
        """
        endpoint = serverFromString(
            MemoryReactor(), "vde:sock=/tmp/vde:ip=10.0.0.5/24:ip6=fd00\\:77\\:\\:50/64:port=80")
        self.assertEqual((endpoint.address, endpoint.address6),
                         ("10.0.0.5/24", "fd00:77::50/64"))

    def test_clientIPv6Host(self) -> None:
        """
        A client's C{host=} may be an IPv6 literal.
        """
        endpoint = clientFromString(
            MemoryReactor(), "vde:sock=/tmp/vde:ip6=fd00\\:77\\:\\:100/64:"
            "host=fd00\\:77\\:\\:101:port=10000")
        self.assertEqual((endpoint.host, endpoint.address6),
                         ("fd00:77::101", "fd00:77::100/64"))

    def test_errors(self) -> None:
        """
        Malformed IPv6 keywords raise C{ValueError}.
        """
        reactor = MemoryReactor()
        for text in ["vde:sock=/x:ip6=fd00\\:\\:\\:1/64:port=1",
                     "vde:sock=/x:ip6=fd00\\:\\:1/129:port=1",
                     "vde:sock=/x:ip6=fd00\\:\\:1/64:gw6=nope:port=1"]:
            self.assertRaises(ValueError, serverFromString, reactor, text)
        self.assertRaises(ValueError, clientFromString, reactor,
                          "vde:sock=/x:ip6=fd00\\:\\:1/64:host=fd00\\:\\:\\:2:port=1")


class InProcessTests(SynchronousTestCase):
    """
    IPv6 endpoints on an in-process switch, driven by a L{task.Clock}.
    """

    def setUp(self) -> None:
        """
        A switch serving L{SOCK} and a registry.
        """
        self.clock = task.Clock()
        self.switch = Switch()
        local.register(SOCK, self.switch)
        self.addCleanup(local.unregister, SOCK)
        self.hosts = StackRegistry()
        self.addCleanup(self.stopHosts)

    def stopHosts(self) -> None:
        """
        Stop every host the test made.
        """
        for host in self.hosts.attached():
            host.stop()

    def advance(self, seconds: float = 1.0, steps: int = 100) -> None:
        """
        Advance the clock in steps.
        """
        for _ in range(steps):
            self.clock.advance(seconds / steps)

    def test_echoOverIPv6(self) -> None:
        """
        A client endpoint with C{ip6=} reaches an IPv6-only server
        endpoint once DAD passed; both ends see C{IPv6Address}es.
        """
        server = VDEServerEndpoint(self.clock, SOCK, None, 7, hosts=self.hosts,
                                   address6="fd00:77::50/64")
        listening = server.listen(protocol.Factory.forProtocol(Echo))
        client = VDEClientEndpoint(self.clock, SOCK, None, "fd00:77::50", 7, hosts=self.hosts,
                                   address6="fd00:77::100/64")
        d = client.connect(protocol.Factory.forProtocol(Collect))
        self.advance(3)
        self.assertEqual(self.successResultOf(listening).getHost(),
                         IPv6Address("TCP", "fd00:77::50", 7))
        proto = self.successResultOf(d)
        proto.transport.write(b"hello, IPv6")
        self.advance()
        self.assertEqual(proto.data, b"hello, IPv6")
        self.assertEqual(proto.transport.getPeer(), IPv6Address("TCP", "fd00:77::50", 7))
        self.assertEqual(proto.transport.getHost().host, "fd00:77::100")

    def test_listenBoth(self) -> None:
        """
        A server endpoint with C{ip=} and C{ip6=} listens on both; its port
        stops both.
        """
        server = VDEServerEndpoint(self.clock, SOCK, "10.1.0.1/24", 7, hosts=self.hosts,
                                   address6="fd00:77::50/64")
        listening = server.listen(protocol.Factory.forProtocol(Echo))
        self.advance(3)
        port = self.successResultOf(listening)
        self.assertIsInstance(port, DualListeningPort)
        self.assertEqual(port.getHost(), IPv4Address("TCP", "10.1.0.1", 7))
        results = []
        for address in ["10.1.0.1", "fd00:77::50"]:
            client = VDEClientEndpoint(self.clock, SOCK, "10.1.0.2/24", address, 7,
                                       hosts=self.hosts, address6="fd00:77::100/64")
            d = client.connect(protocol.Factory.forProtocol(Collect))
            self.advance(3)
            proto = self.successResultOf(d)
            proto.transport.write(address.encode())
            self.advance()
            results.append(proto.data)
        self.assertEqual(results, [b"10.1.0.1", b"fd00:77::50"])
        self.successResultOf(port.stopListening())
        [host] = [h for h in self.hosts.attached() if h.address6 is not None and h.hasIPv4
                  and h.host.address == bytes([10, 1, 0, 1])]
        self.assertEqual(host.tcp.listeners, {})
        self.assertEqual(host.host.tcp6.listeners, {})

    def test_duplicateAddress(self) -> None:
        """
        A second host claiming an IPv6 address in use fails DAD: its
        endpoint fails.
        """
        first = VDEServerEndpoint(self.clock, SOCK, None, 7, hosts=self.hosts,
                                  address6="fd00:77::50/64")
        listening = first.listen(protocol.Factory.forProtocol(Echo))
        self.advance(3)
        self.successResultOf(listening)
        second = VDEServerEndpoint(self.clock, SOCK, "10.9.0.1/24", 7, hosts=self.hosts,
                                   address6="fd00:77::50/64")
        d = second.listen(protocol.Factory.forProtocol(Echo))
        self.advance(3)
        self.failureResultOf(d, ValueError)
