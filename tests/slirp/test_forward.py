# -*- test-case-name: tests.slirp.test_forward -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.slirp.forward}: forward specs, the relay's idle
timeout and backpressure, its flow control towards a guest (how much it
reads from the host while the guest connection's send buffer fills and
drains), a guest slow to accept, and UDP forwards with flow aging.
"""

from typing import Any, List, Tuple

from twisted.internet import error
from twisted.internet.address import IPv4Address
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase

from tests.slirp.helpers import HostTransport, Network
from tests.slirp.test_nat import HostReactor
from vdetwist.slirp.forward import EARLY_DATA_LIMIT, ForwardSpec, parseForwardSpec
from vdetwist.slirp.gateway import GUEST_SEND_BUFFER
from vdetwist.stack.tcp.machine import SYN_SENT
from vdetwist.wire.addr import parseIPv4


class ParseForwardSpecTests(SynchronousTestCase):
    """
    Tests for L{parseForwardSpec}.
    """

    def test_slirpvdeForm(self) -> None:
        """
        C{HOSTPORT:GUESTADDR:GUESTPORT} listens on every host address.
        """
        self.assertEqual(parseForwardSpec("30000:192.168.77.100:10000"),
                         ForwardSpec("", 30000, parseIPv4("192.168.77.100"), 10000))

    def test_hostAddress(self) -> None:
        """
        A leading host address is kept, and printed back.
        """
        spec = parseForwardSpec("127.0.0.1:0:10.0.2.15:22")
        self.assertEqual(spec, ForwardSpec("127.0.0.1", 0, parseIPv4("10.0.2.15"), 22))
        self.assertEqual(str(spec), "127.0.0.1:0:10.0.2.15:22")

    def test_bad(self) -> None:
        """
        Malformed specs raise L{ValueError}.
        """
        for text in ["", "1:2", "x:10.0.2.15:22", "1:10.0.2.15:0", "70000:10.0.2.15:1",
                     "1:10.0.2:22", "a.b.c.d:1:10.0.2.15:22", "1:2:3:4:5"]:
            self.assertRaises(ValueError, parseForwardSpec, text)


class RelayTests(SynchronousTestCase):
    """
    Tests for the relay, through a TCP forward.
    """

    def setUp(self) -> None:
        """
        A guest listening on 10000 and a forward to it.
        """
        self.net = Network()
        self.guest = self.net.guest("10.0.2.15/24")
        self.guest.listen(10000, b"g")
        self.forward = self.net.gateway.addForward(
            "tcp", parseForwardSpec("2222:10.0.2.15:10000"), listen=False)

    def connect(self) -> Tuple[Any, HostTransport]:
        """
        A host client connects.
        """
        end = self.forward._accepted(IPv4Address("TCP", "127.0.0.1", 5000))
        transport = HostTransport()
        end.makeConnection(transport)
        self.net.run()
        return end, transport

    def test_idleTimeout(self) -> None:
        """
        A relay with no traffic for the idle timeout is aborted on both
        sides; traffic keeps it alive.
        """
        self.forward.idleTimeout = 10.0
        end, transport = self.connect()
        for _ in range(3):
            self.net.run(6.0)
            end.dataReceived(b"tick")
        self.assertFalse(transport.aborted)
        self.net.run(21.0)
        self.assertTrue(transport.aborted)
        self.assertEqual(self.forward.relays, {})
        self.assertEqual(self.forward.counters.active, 0)

    def test_backpressureToGuest(self) -> None:
        """
        When the host side's buffer is full (the transport pauses its
        producer), the guest connection stops reading, and resumes after.
        """
        end, transport = self.connect()
        [relay] = self.forward.relays
        guestSide = relay.guestEnd.transport
        transport.producer.pauseProducing()
        self.assertTrue(guestSide._readPaused)
        transport.producer.resumeProducing()
        self.assertFalse(guestSide._readPaused)

    def test_maxConnections(self) -> None:
        """
        Host clients beyond the forward's bound are refused.
        """
        self.forward.maxConnections = 1
        self.connect()
        self.assertIsNone(self.forward._accepted(IPv4Address("TCP", "127.0.0.1", 5001)))
        self.assertEqual(self.forward.counters.failed, 1)


class FlowControlTests(SynchronousTestCase):
    """
    The host-to-guest flow control of a forwarded connection: the relay
    reads the host socket while the guest connection's send buffer holds
    at most L{GUEST_SEND_BUFFER} bytes, pauses above it, and resumes at
    half of it, before the buffer empties; so what a relay holds for a slow
    guest, and what it has in flight to it, stay bounded.
    """

    #: Bytes per host read.
    chunk = GUEST_SEND_BUFFER // 8

    def setUp(self) -> None:
        """
        A guest listening on 10000 with a receive window of a host read, a
        forward to it, a host client connected, and the guest application
        not reading (its window closes once its receive buffer is full).
        """
        self.net = Network()
        self.guest = self.net.guest("10.0.2.15/24")
        self.guest.tcp.config.receiveBufferSize = self.chunk
        self.guest.listen(10000, b"g")
        self.forward = self.net.gateway.addForward(
            "tcp", parseForwardSpec("2222:10.0.2.15:10000"), listen=False)
        self.end = self.forward._accepted(IPv4Address("TCP", "127.0.0.1", 5000))
        self.host = HostTransport()
        self.resumedAt: List[int] = []
        resume = self.host.resumeProducing

        def resumed() -> None:
            if self.host.paused:
                self.resumedAt.append(self.buffered())
            resume()
        self.host.resumeProducing = resumed  # type: ignore[method-assign]
        self.end.makeConnection(self.host)
        self.net.run()
        [self.server] = self.guest.servers
        # What the guest application read (a list: joining bytes as they
        # come would cost more than the transfer).
        self.received: List[bytes] = []
        self.server.dataReceived = self.received.append  # type: ignore[method-assign]
        self.guestSide = self.server.transport
        self.guestSide.pauseProducing()
        self.sent = 0
        self.highest = 0

    def buffered(self) -> int:
        """
        @return: the bytes in the send buffer of the gateway's connection
            to the guest (not yet acknowledged by the guest).
        """
        [relay] = self.forward.relays
        return len(relay.guestEnd.transport.machine.sendBuffer)

    def hostSends(self, limit: int = 1 << 30) -> None:
        """
        The host client sends a chunk per host read for as long as the
        relay reads (at most C{limit} bytes), the network running in
        between.

        @param limit: the most bytes to send.
        """
        while not self.host.paused and self.sent < limit:
            self.end.dataReceived(b"%08d" % (self.sent,) * (self.chunk // 8))
            self.sent += self.chunk
            self.highest = max(self.highest, self.buffered())
            self.net.run(0.02)

    def guestReads(self) -> None:
        """
        The guest application reads what it holds (a window's worth), then
        stops again; the network runs.
        """
        self.guestSide.resumeProducing()
        self.net.wire.pump()
        self.guestSide.pauseProducing()
        self.net.run(0.02)

    def test_readsUpToHighWater(self) -> None:
        """
        The relay reads from the host while at most L{GUEST_SEND_BUFFER}
        is buffered for the guest, and pauses once more is: then the
        buffer holds at most one host read more.
        """
        self.hostSends()
        self.assertTrue(self.host.paused)
        self.assertGreater(self.buffered(), GUEST_SEND_BUFFER)
        self.assertLessEqual(self.buffered(), GUEST_SEND_BUFFER + self.chunk)
        # The guest's receive buffer (its window) took the rest.
        self.assertEqual(self.sent - self.buffered(),
                         len(self.guestSide.machine.receiveBuffer))

    def test_resumesAtLowWater(self) -> None:
        """
        A paused relay resumes reading the host once the guest took enough
        for the buffer to fall to half of L{GUEST_SEND_BUFFER}, not
        before, and not only once it is empty.
        """
        self.hostSends()
        self.assertTrue(self.host.paused)
        while self.host.paused:
            self.guestReads()
            if self.host.paused:
                self.assertGreater(self.buffered(), GUEST_SEND_BUFFER // 2)
        [level] = self.resumedAt
        self.assertLessEqual(level, GUEST_SEND_BUFFER // 2)
        self.assertGreater(level, 0)

    def test_boundedWithSlowGuest(self) -> None:
        """
        A host client sending far more than a slow guest reads: the relay
        never buffers more than L{GUEST_SEND_BUFFER} and one host read for
        it, and everything arrives, in order.
        """
        total = 16 * GUEST_SEND_BUFFER
        while sum(map(len, self.received)) < total:
            self.hostSends(total)
            self.guestReads()
        self.assertEqual(self.sent, total)
        self.assertGreater(len(self.resumedAt), 3)
        self.assertLessEqual(self.highest, GUEST_SEND_BUFFER + self.chunk)
        self.assertEqual(b"".join(self.received), b"".join(
            b"%08d" % (offset,) * (self.chunk // 8) for offset in range(0, total, self.chunk)))


class SlowGuestTests(SynchronousTestCase):
    """
    A guest that does not answer SYNs for a while (its SYN queue full, say):
    the forward's connect retransmits for as long as the host client
    waits.
    """

    def setUp(self) -> None:
        """
        A guest listening on 10000 that drops every segment until
        L{deafUntil} (fake time), and a forward to it.
        """
        self.net = Network()
        self.guest = self.net.guest("10.0.2.15/24")
        self.guest.listen(10000, b"g")
        self.deafUntil = 30.0
        segmentIn = self.guest.tcp._segmentIn
        clock = self.net.clock

        def deaf(source: bytes, destination: bytes, payload: bytes) -> None:
            if clock.seconds() >= self.deafUntil:
                segmentIn(source, destination, payload)
        self.guest.tcp._segmentIn = deaf
        self.forward = self.net.gateway.addForward(
            "tcp", parseForwardSpec("2222:10.0.2.15:10000"), listen=False)

    def connect(self) -> Tuple[Any, HostTransport]:
        """
        A host client connects.
        """
        end = self.forward._accepted(IPv4Address("TCP", "127.0.0.1", 5000))
        transport = HostTransport()
        end.makeConnection(transport)
        return end, transport

    def pendingConnects(self) -> int:
        """
        @return: the gateway's connections still in SYN_SENT.
        """
        return sum(c.machine.state == SYN_SENT
                   for c in self.net.gateway.tcp.connections.values())

    def test_connectsLate(self) -> None:
        """
        The guest answers after 30 s (past the 10 s after which the forward
        used to give up): the relay is made, what the host client sent
        meanwhile and its half-close reach the guest, the guest's greeting
        the client; nothing failed.
        """
        end, transport = self.connect()
        end.dataReceived(b"sent early")
        end.readConnectionLost()
        self.net.run(29.0)
        self.assertEqual(self.guest.servers, [])
        self.assertEqual(self.pendingConnects(), 1)
        self.net.run(40.0)
        [server] = self.guest.servers
        self.assertEqual(server.received, b"sent early")
        self.assertTrue(server.eof)
        self.assertEqual(transport.value(), b"hello from g\n")
        self.assertEqual(self.forward.counters.failed, 0)

    def test_hostClientLeaves(self) -> None:
        """
        A host client that goes away while the guest is being connected
        ends the attempt at once (its reads are not paused, so its close is
        seen).
        """
        end, transport = self.connect()
        self.assertFalse(transport.paused)
        self.net.run(5.0)
        self.assertEqual(self.pendingConnects(), 1)
        end.connectionLost(Failure(error.ConnectionDone()))
        self.net.run(0.1)
        self.assertEqual(self.pendingConnects(), 0)
        self.assertEqual(self.forward.relays, {})
        self.assertEqual(self.forward.counters.active, 0)

    def test_earlyDataBounded(self) -> None:
        """
        While the guest is being connected the host side reads at most
        L{EARLY_DATA_LIMIT} bytes, then pauses; all of it reaches the guest
        once connected.
        """
        end, transport = self.connect()
        chunk = b"x" * 16384
        sent = 0
        while not transport.paused:
            end.dataReceived(chunk)
            sent += len(chunk)
        self.assertEqual(sent, EARLY_DATA_LIMIT)
        self.net.run(40.0)
        self.assertFalse(transport.paused)
        [server] = self.guest.servers
        self.assertEqual(len(server.received), EARLY_DATA_LIMIT)

    def test_givesUpEventually(self) -> None:
        """
        A guest that never answers: the attempt ends when the SYN retries
        are exhausted (about two minutes, as a Linux connect), and the host
        client is closed.
        """
        self.deafUntil = float("inf")
        end, transport = self.connect()
        self.net.run(100.0, step=0.5)
        self.assertEqual(self.pendingConnects(), 1)
        self.net.run(60.0, step=0.5)
        self.assertEqual(self.pendingConnects(), 0)
        self.assertEqual(self.forward.counters.failed, 1)
        self.assertTrue(transport.disconnecting)


class UDPForwardTests(SynchronousTestCase):
    """
    Tests for L{UDPForward}.
    """

    def setUp(self) -> None:
        """
        A guest UDP echo server on 53 and a forward to it.
        """
        self.net = Network()
        self.guest = self.net.guest("10.0.2.15/24")
        self.received: List[Tuple[bytes, Tuple[str, int]]] = []
        received = self.received

        class Echo:
            def makeConnection(self, transport: Any) -> None:
                self.transport = transport

            def datagramReceived(self, data: bytes, addr: Tuple[str, int]) -> None:
                received.append((data, addr))
                self.transport.write(b"echo " + data, addr)

            def doStop(self) -> None:
                pass
        self.guest.host.udp.listenUDP(53, Echo())  # type: ignore[arg-type]
        self.hostReactor = HostReactor()
        self.net.gateway.reactor = self.hostReactor
        self.forward = self.net.gateway.addForward("udp", parseForwardSpec("5353:10.0.2.15:53"))
        [self.hostPort] = self.hostReactor.udpPorts

    def test_relayBothWays(self) -> None:
        """
        A host client's datagram reaches the guest from the gateway, and
        the answer goes back to that client.
        """
        self.hostPort.protocol.datagramReceived(b"q", ("127.0.0.1", 6000))
        self.net.run(0.1)
        [(data, (source, _))] = self.received
        self.assertEqual((data, source), (b"q", "10.0.2.2"))
        self.assertEqual(self.hostPort.sent, [(b"echo q", ("127.0.0.1", 6000))])
        self.assertEqual((self.forward.counters.bytesToGuest,
                          self.forward.counters.bytesFromGuest), (1, 6))

    def test_clientsGetTheirOwnFlows(self) -> None:
        """
        Two host clients get two flows and their own answers.
        """
        self.hostPort.protocol.datagramReceived(b"a", ("127.0.0.1", 6000))
        self.hostPort.protocol.datagramReceived(b"b", ("127.0.0.1", 6001))
        self.net.run(0.1)
        self.assertEqual(sorted(self.hostPort.sent), [
            (b"echo a", ("127.0.0.1", 6000)), (b"echo b", ("127.0.0.1", 6001))])
        self.assertEqual(len(self.forward.flows), 2)

    def test_flowsAge(self) -> None:
        """
        Idle flows are closed after the flow timeout.
        """
        self.hostPort.protocol.datagramReceived(b"a", ("127.0.0.1", 6000))
        self.net.run(0.1)
        self.hostReactor.advance(self.forward.flowTimeout * 2)
        self.assertEqual(self.forward.flows, {})
        self.assertEqual(self.forward.counters.active, 0)

    def test_flowsBounded(self) -> None:
        """
        Beyond C{maxFlows}, new clients' datagrams are dropped.
        """
        self.forward.maxFlows = 1
        self.hostPort.protocol.datagramReceived(b"a", ("127.0.0.1", 6000))
        self.hostPort.protocol.datagramReceived(b"b", ("127.0.0.1", 6001))
        self.assertEqual(len(self.forward.flows), 1)
        self.assertEqual(self.forward.dropped["tooManyFlows"], 1)

