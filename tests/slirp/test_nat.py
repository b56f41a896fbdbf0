# -*- test-case-name: tests.slirp.test_nat -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.slirp.nat}: a guest on an in-memory wire behind the
gateway, with the host side played by a memory reactor, so each test
decides whether and when the host's connect succeeds.
"""

import errno
import struct
from typing import Any, List, Optional, Tuple

from twisted.internet import error
from twisted.internet.address import IPv4Address
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.testing import MemoryReactorClock
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.slirp.helpers import HostTransport, Network
from vdetwist.wire.addr import parseIPv4
from vdetwist.wire.checksum import internetChecksum

OUTSIDE = "203.0.113.5"


class FakeUDPPort:
    """
    A host UDP socket that records what it sends.
    """

    def __init__(self, protocol: Any, port: int) -> None:
        self.protocol = protocol
        self.port = port
        self.sent: List[Tuple[bytes, Tuple[str, int]]] = []
        self.closed = False
        protocol.makeConnection(self)

    def write(self, data: bytes, addr: Tuple[str, int]) -> None:
        """
        Record a datagram.
        """
        self.sent.append((data, addr))

    def stopListening(self) -> None:
        """
        Record the close.
        """
        self.closed = True

    def getHost(self) -> IPv4Address:
        """
        The bound address.
        """
        return IPv4Address("UDP", "0.0.0.0", self.port)


class HostReactor(MemoryReactorClock):
    """
    A memory reactor with UDP sockets.
    """

    def __init__(self) -> None:
        super().__init__()
        self.udpPorts: List[FakeUDPPort] = []

    def listenUDP(self, port: int, protocol: Any, interface: str = "",
                  maxPacketSize: int = 8192) -> FakeUDPPort:
        """
        A fake UDP socket.
        """
        udp = FakeUDPPort(protocol, 40000 + len(self.udpPorts))
        self.udpPorts.append(udp)
        return udp


class Recorder(Protocol):
    """
    A guest client that records what it reads.
    """

    received = b""
    lost: Optional[Failure] = None

    def dataReceived(self, data: bytes) -> None:
        self.received += data

    def connectionLost(self, reason: Failure = None) -> None:  # type: ignore[assignment]
        self.lost = reason


class FakeICMPSocket:
    """
    An unprivileged ICMP socket that records what is sent.
    """

    def __init__(self) -> None:
        self.sent: List[Tuple[bytes, Tuple[str, int]]] = []

    def setblocking(self, flag: bool) -> None:
        pass

    def fileno(self) -> int:
        return -1

    def sendto(self, data: bytes, addr: Tuple[str, int]) -> int:
        self.sent.append((data, addr))
        return len(data)

    def close(self) -> None:
        pass


class NATTests(SynchronousTestCase):
    """
    Outbound NAT through the gateway.
    """

    def setUp(self) -> None:
        """
        A guest at 10.0.2.15 behind the gateway; the NAT's host side on a
        memory reactor.
        """
        self.icmpSockets: List[FakeICMPSocket] = []

        def icmpSocket() -> FakeICMPSocket:
            sock = FakeICMPSocket()
            self.icmpSockets.append(sock)
            return sock
        self.net = Network(maxTCP=2, maxUDPFlows=2, icmpSocketFactory=icmpSocket)
        self.hostReactor = HostReactor()
        self.nat = self.net.gateway.nat
        self.nat.reactor = self.hostReactor
        self.guest = self.net.guest("10.0.2.15/24")

    def connect(self, address: str = OUTSIDE, port: int = 80) -> Tuple[List[Any], Recorder]:
        """
        Start a guest connection.

        @return: the list that will hold the result, and the protocol.
        """
        protocol = Recorder()
        results: List[Any] = []
        d = self.guest.tcp.connect(parseIPv4(address), port, Factory.forProtocol(lambda: protocol))
        d.addBoth(results.append)
        self.net.run(0.2)
        return results, protocol

    def completeHostConnect(self, index: int = -1) -> Tuple[Protocol, HostTransport]:
        """
        Let the host-side connect succeed.
        """
        host, port, factory, timeout, bind = self.hostReactor.tcpClients[index]
        protocol = factory.buildProtocol(IPv4Address("TCP", host, port))
        transport = HostTransport((host, port))
        protocol.makeConnection(transport)
        self.net.run(0.2)
        return protocol, transport

    def test_connectsHostFirst(self) -> None:
        """
        A guest SYN makes the NAT connect on the host to the same address
        and port; the guest is answered only once that succeeds; then
        bytes flow both ways.
        """
        results, protocol = self.connect()
        [(host, port, _, _, _)] = self.hostReactor.tcpClients
        self.assertEqual((host, port), (OUTSIDE, 80))
        self.assertEqual(results, [])
        hostProtocol, transport = self.completeHostConnect()
        self.assertEqual(results, [protocol])
        protocol.transport.write(b"GET /")
        self.net.run(0.2)
        self.assertEqual(transport.value(), b"GET /")
        hostProtocol.dataReceived(b"200 OK")
        self.net.run(0.2)
        self.assertEqual(protocol.received, b"200 OK")
        self.assertEqual(protocol.transport.getPeer().host, OUTSIDE)
        [flow] = self.nat.flows()
        self.assertEqual((flow.protocol, flow.guest, flow.destination, flow.bytesOut,
                          flow.bytesIn), ("tcp", ("10.0.2.15", flow.guest[1]),
                                          (OUTSIDE, 80), 5, 6))

    def test_refusedBecomesReset(self) -> None:
        """
        When the host's connect is refused, the guest's SYN gets a RST.
        """
        results, protocol = self.connect()
        connector = self.hostReactor.connectors[-1]
        _, _, factory, _, _ = self.hostReactor.tcpClients[-1]
        factory.clientConnectionFailed(connector, Failure(error.ConnectionRefusedError()))
        self.net.run(0.2)
        [result] = results
        self.assertIsInstance(result, Failure)
        result.trap(error.ConnectionRefusedError)
        self.assertEqual(self.nat.relays, {})

    def test_failureBecomesUnreachable(self) -> None:
        """
        When the host's connect fails other than by refusal (a timeout),
        the guest's SYN gets an ICMP host unreachable quoting it, and its
        connect fails at once as unreachable, not refused.
        """
        results, protocol = self.connect()
        connector = self.hostReactor.connectors[-1]
        _, _, factory, _, _ = self.hostReactor.tcpClients[-1]
        factory.clientConnectionFailed(connector, Failure(error.TCPTimedOutError()))
        self.net.run(0.2)
        [result] = results
        self.assertIsInstance(result, Failure)
        self.assertFalse(result.check(error.ConnectionRefusedError), result)
        self.assertEqual(self.nat.counters["tcpUnreachable"], 1)
        self.assertEqual(self.guest.tcp.stats.icmpErrors, 1)

    def test_hostLoopbackDenied(self) -> None:
        """
        By default the gateway address does not reach the host's loopback:
        the SYN is reset without any host connect.
        """
        results, protocol = self.connect("10.0.2.2", 22)
        self.assertEqual(self.hostReactor.tcpClients, [])
        results[0].trap(error.ConnectionRefusedError)
        self.assertEqual(self.nat.counters["tcpRefused"], 1)

    def test_hostLoopbackAllowed(self) -> None:
        """
        With C{allowHostLoopback}, the gateway address is the host's
        127.0.0.1.
        """
        self.nat.allowHostLoopback = True
        self.connect("10.0.2.2", 22)
        self.assertEqual(self.hostReactor.tcpClients[0][:2], ("127.0.0.1", 22))

    def test_specialDestinationsRefused(self) -> None:
        """
        Loopback, this network's other addresses and the DNS address are
        never reached through the NAT.
        """
        for address in ["127.0.0.1", "10.0.2.3", "10.0.2.77", "0.1.2.3", "169.254.1.1"]:
            self.assertIsNone(self.nat.toHost(parseIPv4(address)), address)
        self.assertEqual(self.nat.toHost(parseIPv4(OUTSIDE)), OUTSIDE)

    def test_tcpBound(self) -> None:
        """
        Beyond C{maxTCP} relays, new SYNs are reset and the existing
        connections keep working.
        """
        first, firstProtocol = self.connect(OUTSIDE, 1)
        _, firstTransport = self.completeHostConnect(0)
        self.connect(OUTSIDE, 2)
        third, _ = self.connect(OUTSIDE, 3)
        self.assertEqual(len(self.hostReactor.tcpClients), 2)
        third[0].trap(error.ConnectionRefusedError)
        self.assertEqual(self.nat.counters["tcpFull"], 1)
        firstProtocol.transport.write(b"alive")
        self.net.run(0.2)
        self.assertEqual(first, [firstProtocol])
        self.assertEqual(firstTransport.value(), b"alive")

    def test_guestHandshakeNeverCompletes(self) -> None:
        """
        If the guest vanishes after the host side connected, the host side
        is aborted after the connect timeout.
        """
        results, protocol = self.connect()
        self.guest.host.interface.transport.loseConnection()
        hostProtocol, transport = self.completeHostConnect()
        self.hostReactor.advance(self.nat.connectTimeout + 1)
        self.assertTrue(transport.aborted)

    def udpFromGuest(self, payload: bytes, port: int = 5000, destination: str = OUTSIDE,
                     destinationPort: int = 53) -> None:
        """
        Send a datagram from the guest.
        """
        self.guest.host.udp.sendDatagram(self.guest.host.address, port,
                                         parseIPv4(destination), destinationPort, payload)
        self.net.run(0.1)

    def test_udpFlow(self) -> None:
        """
        A guest datagram opens a host socket that sends it to the
        destination; replies come back to the guest from their real
        source.
        """
        received: List[Tuple[bytes, Tuple[str, int]]] = []

        class Client:
            def makeConnection(self, transport: Any) -> None:
                pass

            def datagramReceived(self, data: bytes, addr: Tuple[str, int]) -> None:
                received.append((data, addr))

            def doStop(self) -> None:
                pass
        self.guest.host.udp.listenUDP(5000, Client())  # type: ignore[arg-type]
        self.udpFromGuest(b"query")
        [udp] = self.hostReactor.udpPorts
        self.assertEqual(udp.sent, [(b"query", (OUTSIDE, 53))])
        udp.protocol.datagramReceived(b"answer", (OUTSIDE, 53))
        self.net.run(0.1)
        self.assertEqual(received, [(b"answer", (OUTSIDE, 53))])
        self.udpFromGuest(b"again")
        self.assertEqual(len(self.hostReactor.udpPorts), 1)

    def test_udpFlowAges(self) -> None:
        """
        An idle flow's host socket is closed after the timeout.
        """
        self.udpFromGuest(b"x")
        [udp] = self.hostReactor.udpPorts
        self.hostReactor.advance(self.nat.udpTimeout * 2)
        self.assertTrue(udp.closed)
        self.assertEqual(self.nat.udpFlows, {})

    def test_udpBound(self) -> None:
        """
        Beyond C{maxUDPFlows}, datagrams of new flows are dropped and
        counted; existing flows go on.
        """
        for port in (5001, 5002, 5003):
            self.udpFromGuest(b"x", port=port)
        self.assertEqual(len(self.hostReactor.udpPorts), 2)
        self.assertEqual(self.nat.counters["udpFull"], 1)
        self.udpFromGuest(b"y", port=5001)
        self.assertEqual(self.hostReactor.udpPorts[0].sent[-1][0], b"y")

    def test_udpToLoopbackRefused(self) -> None:
        """
        A datagram to the gateway address gets a port unreachable unless
        host loopback is allowed.
        """
        self.udpFromGuest(b"x", destination="10.0.2.2", destinationPort=9999)
        self.assertEqual(self.hostReactor.udpPorts, [])
        self.assertEqual(self.nat.counters["udpRefused"], 1)

    def test_ping(self) -> None:
        """
        A guest's echo request goes out through an ICMP socket; the reply
        (whose identifier the kernel chose) comes back with the guest's
        identifier and a valid checksum.
        """
        rtts: List[float] = []
        self.guest.host.icmp.ping(parseIPv4(OUTSIDE), b"data", identifier=0x1234).addCallback(
            rtts.append)
        self.net.run(0.1)
        [sock] = self.icmpSockets
        [(message, addr)] = sock.sent
        self.assertEqual(addr, (OUTSIDE, 0))
        self.assertEqual(message[0], 8)
        reply = bytearray(message)
        reply[0] = 0
        struct.pack_into("!HH", reply, 2, 0, 0x9999)
        struct.pack_into("!H", reply, 2, internetChecksum(reply))
        [entry] = self.nat.icmp.sockets.values()
        self.nat.icmp.replyReceived(entry, bytes(reply), OUTSIDE)
        self.net.run(0.1)
        self.assertEqual(len(rtts), 1)

    def test_pingUnavailable(self) -> None:
        """
        When the host refuses unprivileged ICMP sockets, echo requests are
        dropped, counted, and a clear message is logged once.
        """
        def refuse() -> Any:
            raise PermissionError(errno.EACCES, "Permission denied")
        self.nat.icmp.socketFactory = refuse
        messages: List[str] = []
        from twisted.logger import globalLogPublisher
        observer = lambda event: messages.append(event.get("log_format", ""))
        globalLogPublisher.addObserver(observer)
        self.addCleanup(globalLogPublisher.removeObserver, observer)
        for _ in range(2):
            self.guest.host.icmp.ping(parseIPv4(OUTSIDE), timeout=0.5).addErrback(lambda f: None)
            self.net.run(0.1)
        self.assertEqual(self.nat.counters["icmpUnavailable"], 2)
        self.assertEqual(sum("ping_group_range" in m for m in messages), 1)
        self.net.run(1.0)
