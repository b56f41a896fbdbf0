# -*- test-case-name: tests.slirp.test_dns -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.slirp.dns}: queries built and answers parsed with
scapy (an independent DNS codec).
"""

from typing import Any, List, Tuple

from twisted.internet.defer import Deferred
from twisted.names import dns, error
from twisted.python.filepath import FilePath
from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.slirp.dns import DNSProxy, DNSStreamProtocol, makeHostResolver

GUEST = ("10.0.2.15", 40000)


class FakeUDPTransport:
    """
    Records what a datagram protocol writes.
    """

    def __init__(self) -> None:
        self.written: List[Tuple[bytes, Tuple[str, int]]] = []

    def write(self, data: bytes, addr: Tuple[str, int]) -> None:
        """
        Record a datagram.
        """
        self.written.append((data, addr))


class FakeResolver:
    """
    A resolver whose answers the test gives.
    """

    def __init__(self) -> None:
        self.queries: List[Tuple[dns.Query, "Deferred[Any]"]] = []

    def query(self, query: dns.Query, timeout: Any = None) -> "Deferred[Any]":
        """
        Record a query and return its pending answer.
        """
        d: Deferred[Any] = Deferred()
        self.queries.append((query, d))
        return d


def question(name: str, qtype: str = "A", ident: int = 0x4242) -> bytes:
    """
    A query built by scapy.

    @param name: the name.
    @param qtype: the type.
    @param ident: the ID.
    @return: the message.
    """
    return bytes(scapy.DNS(id=ident, rd=1, qd=scapy.DNSQR(qname=name, qtype=qtype)))


class DNSProxyTests(SynchronousTestCase):
    """
    Tests for L{DNSProxy}.
    """

    if scapy is None:
        skip = SKIP_REASON

    def setUp(self) -> None:
        """
        A proxy on a fake resolver and transport.
        """
        self.resolver = FakeResolver()
        self.proxy = DNSProxy(self.resolver, maxPending=2)
        self.transport = FakeUDPTransport()
        self.proxy.makeConnection(self.transport)

    def test_answer(self) -> None:
        """
        A query is passed to the resolver and its records are returned to
        the guest with the query's ID, the question, RD copied and RA set.
        """
        self.proxy.datagramReceived(question("example.test"), GUEST)
        [(query, d)] = self.resolver.queries
        self.assertEqual((query.name.name, query.type), (b"example.test", dns.A))
        record = dns.RRHeader(b"example.test", dns.A, payload=dns.Record_A("192.0.2.7", 300))
        d.callback(([record], [], []))
        [(data, addr)] = self.transport.written
        self.assertEqual(addr, GUEST)
        answer = scapy.DNS(data)
        self.assertEqual((answer.id, answer.qr, answer.rd, answer.ra, answer.rcode),
                         (0x4242, 1, 1, 1, 0))
        self.assertEqual(answer.qd.qname, b"example.test.")
        self.assertEqual(answer.an.rdata, "192.0.2.7")
        self.assertEqual(self.proxy.pending, 0)

    def test_nameError(self) -> None:
        """
        A name error becomes NXDOMAIN.
        """
        self.proxy.datagramReceived(question("nowhere.test"), GUEST)
        self.resolver.queries[0][1].errback(error.DNSNameError(dns.Message()))
        self.assertEqual(scapy.DNS(self.transport.written[0][0]).rcode, 3)
        self.assertEqual(self.proxy.counters["nameError"], 1)

    def test_serverFailure(self) -> None:
        """
        Any other failure (a timeout) becomes SERVFAIL.
        """
        self.proxy.datagramReceived(question("slow.test"), GUEST)
        self.resolver.queries[0][1].errback(error.DNSQueryTimeoutError(None))
        self.assertEqual(scapy.DNS(self.transport.written[0][0]).rcode, 2)

    def test_pendingBounded(self) -> None:
        """
        Queries beyond C{maxPending} waiting ones are dropped and counted;
        once one is answered, new ones are accepted.
        """
        for i in range(3):
            self.proxy.datagramReceived(question(f"n{i}.test", ident=i), GUEST)
        self.assertEqual(len(self.resolver.queries), 2)
        self.assertEqual(self.proxy.counters["tooMany"], 1)
        self.resolver.queries[0][1].callback(([], [], []))
        self.proxy.datagramReceived(question("n3.test"), GUEST)
        self.assertEqual(len(self.resolver.queries), 3)

    def test_malformed(self) -> None:
        """
        Garbage and truncated messages are dropped and counted; responses
        are ignored; nothing reaches the resolver.
        """
        good = question("example.test")
        for bad in [b"", b"\x00", good[:15], good[:-3]]:
            self.proxy.datagramReceived(bad, GUEST)
        self.assertEqual(self.proxy.counters["malformed"], 4)
        response = bytes(scapy.DNS(id=1, qr=1, qd=scapy.DNSQR(qname="x.test")))
        self.proxy.datagramReceived(response, GUEST)
        self.assertEqual(self.proxy.counters["notQuery"], 1)
        self.assertEqual(self.resolver.queries, [])
        self.assertEqual(self.transport.written, [])

    def test_truncated(self) -> None:
        """
        An answer longer than 512 bytes is sent with TC set and no
        answers.
        """
        self.proxy.datagramReceived(question("big.test", "TXT"), GUEST)
        records = [dns.RRHeader(b"big.test", dns.TXT, payload=dns.Record_TXT(b"x" * 200))
                   for _ in range(4)]
        self.resolver.queries[0][1].callback((records, [], []))
        answer = scapy.DNS(self.transport.written[0][0])
        self.assertEqual((answer.tc, answer.ancount), (1, 0))

    def test_stopCancels(self) -> None:
        """
        Stopping the protocol cancels the waiting queries and sends nothing.
        """
        self.proxy.datagramReceived(question("example.test"), GUEST)
        self.proxy.doStop()
        self.assertEqual(self.proxy.pending, 0)
        self.assertEqual(self.transport.written, [])


class DNSStreamTests(SynchronousTestCase):
    """
    Tests for L{DNSStreamProtocol}, DNS over TCP.
    """

    if scapy is None:
        skip = SKIP_REASON

    def test_lengthPrefixed(self) -> None:
        """
        Queries split across reads are answered, each response behind its
        length, with no 512-byte truncation; the idle timer closes the
        connection.
        """
        from twisted.internet.task import Clock
        from twisted.internet.testing import StringTransport
        resolver = FakeResolver()
        clock = Clock()
        protocol = DNSStreamProtocol(DNSProxy(resolver), clock)
        transport = StringTransport()
        protocol.makeConnection(transport)
        query = question("big.test", "TXT")
        framed = len(query).to_bytes(2, "big") + query
        protocol.dataReceived(framed[:5])
        self.assertEqual(resolver.queries, [])
        protocol.dataReceived(framed[5:])
        records = [dns.RRHeader(b"big.test", dns.TXT, payload=dns.Record_TXT(b"x" * 200))
                   for _ in range(4)]
        resolver.queries[0][1].callback((records, [], []))
        data = transport.value()
        length = int.from_bytes(data[:2], "big")
        self.assertEqual(len(data), 2 + length)
        answer = scapy.DNS(data[2:])
        self.assertEqual((answer.tc, answer.ancount), (0, 4))
        clock.advance(DNSStreamProtocol.IDLE_TIMEOUT)
        self.assertTrue(transport.disconnecting)


class HostResolverTests(SynchronousTestCase):
    """
    Tests for L{makeHostResolver}.
    """

    if scapy is None:
        skip = SKIP_REASON

    def test_hostsFile(self) -> None:
        """
        A name in the hosts file is answered from it, without asking a
        server.
        """
        hosts = FilePath(self.mktemp())
        hosts.setContent(b"192.0.2.99 myhost.example\n")
        resolv = FilePath(self.mktemp())
        resolv.setContent(b"nameserver 192.0.2.53\n")
        from twisted.internet.task import Clock
        clock = Clock()
        resolver = makeHostResolver(clock, resolv.path, hosts.path)
        proxy = DNSProxy(resolver)
        transport = FakeUDPTransport()
        proxy.makeConnection(transport)
        proxy.datagramReceived(question("myhost.example"), GUEST)
        answer = scapy.DNS(transport.written[0][0])
        self.assertEqual(answer.an.rdata, "192.0.2.99")
        for call in clock.getDelayedCalls():
            call.cancel()
