# -*- test-case-name: tests.stack.tcp.test_demux -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.tcp.demux}: the TCP layer against a recording
IPv4 layer and a clock, segment by segment.
"""

import random
from typing import List, Optional

from twisted.internet import defer, error
from twisted.internet.interfaces import IConsumer, IListeningPort, IPushProducer, ITCPTransport
from twisted.internet.protocol import Factory, Protocol
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface.verify import verifyObject

from tests.stack.tcp.fakes import RecordingIPv4
from vdetwist.interfaces import IIPv4Protocol
from vdetwist.stack.tcp.demux import TCPLayer
from vdetwist.stack.tcp.machine import TCPConfig
from vdetwist.wire.tcp import ACK, FIN, PSH, RST, SYN, TCPSegment

US = bytes([10, 0, 0, 1])
THEM = bytes([10, 0, 0, 2])
OTHER = bytes([10, 0, 0, 3])


class Recorder(Protocol):
    """
    A protocol that records what happens to it.
    """

    def __init__(self) -> None:
        """
        Nothing received yet.
        """
        self.received: List[bytes] = []
        self.made = False
        self.lost: Optional[object] = None

    def connectionMade(self) -> None:
        """
        Note the connection.
        """
        self.made = True

    def dataReceived(self, data: bytes) -> None:
        """
        Keep the data.

        @param data: the bytes.
        """
        self.received.append(data)

    def connectionLost(self, reason: object) -> None:
        """
        Keep the reason.

        @param reason: a failure.
        """
        self.lost = reason


class RecorderFactory(Factory):
    """
    Builds L{Recorder}s and keeps them.
    """

    protocol = Recorder

    def __init__(self) -> None:
        """
        None built yet.
        """
        self.built: List[Recorder] = []
        self.addresses: List[object] = []

    def buildProtocol(self, addr: object) -> Recorder:
        """
        @param addr: the peer.
        @return: a new recorder.
        """
        protocol = Recorder()
        protocol.factory = self
        self.built.append(protocol)
        self.addresses.append(addr)
        return protocol


class LayerTestsMixin:
    """
    A layer on a recording IPv4 layer and a clock.
    """

    def setUp(self) -> None:
        """
        Build the layer with small, option-free settings.
        """
        self.clock = Clock()
        self.clock.advance(100)
        self.ip = RecordingIPv4(US)
        self.layer = TCPLayer(self.clock, self.ip, TCPConfig(
            mss=1000, receiveBufferSize=8000, timestamps=False, sack=False,
            windowScaling=False), seed=1)

    def inject(self, segment: TCPSegment, source: bytes = THEM,
               destination: bytes = US) -> None:
        """
        Deliver a segment to the layer.

        @param segment: the segment.
        @param source: its source address.
        @param destination: its destination address.
        """
        self.layer.packetReceived(source, destination,
                                  segment.encode(source, destination), b"")

    def sent(self) -> List[TCPSegment]:
        """
        @return: the segments the layer sent since last asked.
        """
        self.clock.advance(0)
        return self.ip.segments()

    def handshake(self, port: int = 80, remotePort: int = 40000, seq: int = 7000):
        """
        Complete a passive open on C{port}.

        @param port: our port.
        @param remotePort: the peer's port.
        @param seq: the peer's ISN.
        @return: our ISN.
        """
        self.inject(TCPSegment(remotePort, port, seq, 0, SYN, 8000, mss=1000))
        [synAck] = self.sent()
        self.inject(TCPSegment(remotePort, port, seq + 1, synAck.seq + 1, ACK, 8000))
        return synAck.seq


class ResetTests(LayerTestsMixin, SynchronousTestCase):
    """
    Segments for no connection (RFC 9293 3.10.7.1) and bad segments.
    """

    def test_interfaces(self) -> None:
        """
        The layer provides IIPv4Protocol; listeners IListeningPort;
        connections ITCPTransport, IPushProducer and IConsumer.
        """
        self.assertTrue(verifyObject(IIPv4Protocol, self.layer))
        factory = RecorderFactory()
        port = self.layer.listen(80, factory)
        self.assertTrue(verifyObject(IListeningPort, port))
        self.handshake()
        [connection] = self.layer.connections.values()
        for interface in (ITCPTransport, IPushProducer, IConsumer):
            self.assertTrue(verifyObject(interface, connection))

    def test_synToClosedPort(self) -> None:
        """
        A SYN to a closed port gets RST|ACK with SEQ 0 and ACK after the SYN.
        """
        self.inject(TCPSegment(40000, 81, 7000, 0, SYN, 8000))
        self.assertEqual(self.sent(), [TCPSegment(81, 40000, 0, 7001, RST | ACK, 0)])
        self.assertEqual(self.ip.sent, [])

    def test_dataToClosedPort(self) -> None:
        """
        A segment with data and FIN, no ACK: the RST acknowledges all of it.
        """
        self.inject(TCPSegment(40000, 81, 7000, 0, FIN | PSH, 8000, b"abc"))
        self.assertEqual(self.sent(), [TCPSegment(81, 40000, 0, 7004, RST | ACK, 0)])

    def test_ackToClosedPort(self) -> None:
        """
        A segment with ACK gets a RST whose SEQ is that ACK.
        """
        self.inject(TCPSegment(40000, 81, 7000, 1234, ACK, 8000, b"x"))
        self.assertEqual(self.sent(), [TCPSegment(81, 40000, 1234, 0, RST, 0)])

    def test_resetNotAnswered(self) -> None:
        """
        A RST for no connection is dropped silently.
        """
        self.inject(TCPSegment(40000, 81, 7000, 1234, RST | ACK, 0))
        self.assertEqual(self.sent(), [])

    def test_badChecksum(self) -> None:
        """
        A segment with a bad checksum is counted and dropped.
        """
        raw = bytearray(TCPSegment(40000, 81, 7000, 0, SYN, 8000).encode(THEM, US))
        raw[17] ^= 1
        self.layer.packetReceived(THEM, US, bytes(raw), b"")
        self.assertEqual(self.sent(), [])
        self.assertEqual(self.layer.stats.badChecksums, 1)

    def test_badOptionLengthDropped(self) -> None:
        """
        A segment whose option length is impossible is counted and dropped
        (even with a correct checksum).
        """
        from vdetwist.wire.checksum import internetChecksum, pseudoHeaderSum
        raw = bytearray(TCPSegment(40000, 81, 7000, 0, SYN, 8000, mss=1460).encode(THEM, US))
        raw[21] = 3  # MSS option length 3
        raw[16:18] = b"\0\0"
        raw[16:18] = internetChecksum(bytes(raw), pseudoHeaderSum(THEM, US, 6, len(raw))).to_bytes(2, "big")
        self.layer.packetReceived(THEM, US, bytes(raw), b"")
        self.assertEqual(self.sent(), [])
        self.assertEqual(self.layer.stats.malformedSegments, 1)

    def test_truncated(self) -> None:
        """
        Runts are counted and dropped.
        """
        self.layer.packetReceived(THEM, US, b"\x00" * 19, b"")
        self.assertEqual(self.layer.stats.malformedSegments, 1)


class ListenTests(LayerTestsMixin, SynchronousTestCase):
    """
    Listening and accepting.
    """

    def test_accept(self) -> None:
        """
        The handshake builds a protocol with the peer's address; data
        reaches it; getHost/getPeer give dotted addresses.
        """
        factory = RecorderFactory()
        self.layer.listen(80, factory)
        iss = self.handshake()
        [protocol] = factory.built
        self.assertTrue(protocol.made)
        self.assertEqual(factory.addresses[0].host, "10.0.0.2")
        self.assertEqual(protocol.transport.getHost().host, "10.0.0.1")
        self.assertEqual(protocol.transport.getHost().port, 80)
        self.assertEqual(protocol.transport.getPeer().port, 40000)
        self.inject(TCPSegment(40000, 80, 7001, iss + 1, ACK | PSH, 8000, b"hello"))
        self.assertEqual(protocol.received, [b"hello"])
        self.clock.advance(0.04)
        self.assertEqual(self.sent(), [TCPSegment(80, 40000, iss + 1, 7006, ACK, 7995)])

    def test_replyPiggybacksAck(self) -> None:
        """
        A protocol writing from dataReceived sends its reply with the ACK,
        in the same wakeup.
        """
        factory = RecorderFactory()
        self.layer.listen(80, factory)
        iss = self.handshake()
        [protocol] = factory.built
        protocol.dataReceived = lambda data: protocol.transport.write(data.upper())
        self.inject(TCPSegment(40000, 80, 7001, iss + 1, ACK | PSH, 8000, b"hello"))
        self.assertEqual(self.ip.segments(), [
            TCPSegment(80, 40000, iss + 1, 7006, ACK | PSH, 7995, b"HELLO")])

    def test_synFloodHeldToBacklog(self) -> None:
        """
        With SYN cookies off, SYNs beyond the backlog are dropped while the
        others are in the handshake; completing one makes room.
        """
        self.layer.synCookies = False
        factory = RecorderFactory()
        self.layer.listen(80, factory, backlog=3)
        for port in range(41000, 41010):
            self.inject(TCPSegment(port, 80, 5000, 0, SYN, 8000))
        synAcks = self.sent()
        self.assertEqual([s.dstPort for s in synAcks], [41000, 41001, 41002])
        self.assertEqual(self.layer.stats.synFloodDrops, 7)
        self.assertEqual(len(self.layer.connections), 3)
        self.inject(TCPSegment(41000, 80, 5001, synAcks[0].seq + 1, ACK, 8000))
        self.assertEqual(len(factory.built), 1)
        self.inject(TCPSegment(42000, 80, 5000, 0, SYN, 8000))
        self.assertEqual([s.dstPort for s in self.sent()], [42000])

    def test_embryonicTimeout(self) -> None:
        """
        Half-open connections give up after their SYN-ACK retries and free
        their backlog slot.
        """
        factory = RecorderFactory()
        port = self.layer.listen(80, factory, backlog=1)
        self.inject(TCPSegment(41000, 80, 5000, 0, SYN, 8000))
        self.clock.pump([1] * 300)
        self.assertEqual(self.layer.connections, {})
        self.assertEqual(port.embryonic, 0)

    def test_specificBeatsWildcard(self) -> None:
        """
        A listener on our address takes precedence over one on any address;
        the same address and port twice is refused.
        """
        anyFactory = RecorderFactory()
        specific = RecorderFactory()
        self.layer.listen(80, anyFactory)
        self.layer.listen(80, specific, interface=US)
        self.assertRaises(error.CannotListenError, self.layer.listen, 80, RecorderFactory())
        self.handshake()
        self.assertEqual((len(specific.built), len(anyFactory.built)), (1, 0))

    def test_stopListening(self) -> None:
        """
        After stopListening, SYNs are refused; the factory was started and
        stopped.
        """
        factory = RecorderFactory()
        port = self.layer.listen(80, factory)
        self.assertEqual(factory.numPorts, 1)
        self.successResultOf(port.stopListening())
        self.assertEqual(factory.numPorts, 0)
        self.inject(TCPSegment(40000, 80, 7000, 0, SYN, 8000))
        self.assertEqual([s.flags for s in self.sent()], [RST | ACK])

    def test_factoryRefuses(self) -> None:
        """
        A factory returning None resets the connection.
        """
        factory = RecorderFactory()
        factory.buildProtocol = lambda addr: None
        self.layer.listen(80, factory)
        iss = self.handshake()
        self.assertEqual(self.sent(), [TCPSegment(80, 40000, iss + 1, 7001, RST | ACK, 0)])
        self.assertEqual(self.layer.connections, {})


class ConnectTests(LayerTestsMixin, SynchronousTestCase):
    """
    Opening connections.
    """

    def test_connect(self) -> None:
        """
        connect sends a SYN from an ephemeral port and fires with the
        connected protocol after the SYN-ACK.
        """
        factory = RecorderFactory()
        d = self.layer.connect(THEM, 80, factory)
        [syn] = self.sent()
        self.assertEqual(syn.flags, SYN)
        self.assertTrue(49152 <= syn.srcPort <= 65535)
        self.assertNoResult(d)
        self.inject(TCPSegment(80, syn.srcPort, 9000, syn.seq + 1, SYN | ACK, 8000, mss=1000))
        protocol = self.successResultOf(d)
        self.assertIs(protocol, factory.built[0])
        self.assertTrue(protocol.made)
        self.assertEqual(self.sent(), [TCPSegment(syn.srcPort, 80, syn.seq + 1, 9001, ACK, 8000)])

    def test_refused(self) -> None:
        """
        A RST answering the SYN fails the Deferred with
        ConnectionRefusedError.
        """
        d = self.layer.connect(THEM, 80, RecorderFactory())
        [syn] = self.sent()
        self.inject(TCPSegment(80, syn.srcPort, 0, syn.seq + 1, RST | ACK, 0))
        self.failureResultOf(d, error.ConnectionRefusedError)
        self.assertEqual(self.layer.connections, {})

    def test_timeout(self) -> None:
        """
        No answer within the timeout fails with TCPTimedOutError.
        """
        d = self.layer.connect(THEM, 80, RecorderFactory(), timeout=5)
        self.clock.advance(5)
        self.failureResultOf(d, error.TCPTimedOutError)
        self.assertEqual(self.layer.connections, {})

    def test_cancel(self) -> None:
        """
        Cancelling the Deferred abandons the attempt.
        """
        d = self.layer.connect(THEM, 80, RecorderFactory())
        d.cancel()
        self.failureResultOf(d, defer.CancelledError)
        self.assertEqual(self.layer.connections, {})

    def test_bindAddress(self) -> None:
        """
        bindAddress chooses the local address and port.
        """
        self.layer.connect(THEM, 80, RecorderFactory(), bindAddress=(OTHER, 5555))
        self.assertEqual(self.ip.sent[0][1], OTHER)
        [syn] = self.sent()
        self.assertEqual(syn.srcPort, 5555)
        d = self.layer.connect(THEM, 80, RecorderFactory(), bindAddress=(OTHER, 5555))
        self.failureResultOf(d, error.ConnectBindError)

    def test_ephemeralPortsDistinct(self) -> None:
        """
        Many connections to one peer get distinct ports.
        """
        for _ in range(200):
            self.layer.connect(THEM, 80, RecorderFactory())
        self.assertEqual(len({s.srcPort for s in self.sent()}), 200)


class ForwarderTests(LayerTestsMixin, SynchronousTestCase):
    """
    The NAT hook for SYNs nobody listens for.
    """

    def setUp(self) -> None:
        """
        Record forwarder calls; each returns a fresh Deferred.
        """
        super().setUp()
        self.calls: list = []

        def forwarder(local, localPort, remote, remotePort):
            """
            Record the call.

            @return: a new, unfired Deferred.
            """
            d = defer.Deferred()
            self.calls.append(((local, localPort, remote, remotePort), d))
            return d

        self.layer.setForwarder(forwarder)

    def test_accepted(self) -> None:
        """
        While the forwarder decides, nothing is sent and retransmitted SYNs
        are absorbed; when it fires with a factory the handshake completes
        and the protocol comes from that factory.
        """
        self.inject(TCPSegment(40000, 8080, 7000, 0, SYN, 8000, mss=1000), destination=OTHER)
        self.inject(TCPSegment(40000, 8080, 7000, 0, SYN, 8000, mss=1000), destination=OTHER)
        self.assertEqual(self.sent(), [])
        [(args, d)] = self.calls
        self.assertEqual(args, (OTHER, 8080, THEM, 40000))
        factory = RecorderFactory()
        d.callback(factory)
        [synAck] = self.sent()
        self.assertEqual((synAck.flags, synAck.ack), (SYN | ACK, 7001))
        self.inject(TCPSegment(40000, 8080, 7001, synAck.seq + 1, ACK, 8000), destination=OTHER)
        [protocol] = factory.built
        self.assertEqual(protocol.transport.getHost().host, "10.0.0.3")

    def test_refusedByNone(self) -> None:
        """
        A forwarder returning None means RST at once.
        """
        self.layer.setForwarder(lambda *args: None)
        self.inject(TCPSegment(40000, 8080, 7000, 0, SYN, 8000))
        self.assertEqual(self.sent(), [TCPSegment(8080, 40000, 0, 7001, RST | ACK, 0)])

    def test_refusedByFailure(self) -> None:
        """
        A failing Deferred means RST.
        """
        self.inject(TCPSegment(40000, 8080, 7000, 0, SYN, 8000))
        self.calls[0][1].errback(error.ConnectionRefusedError())
        self.assertEqual(self.sent(), [TCPSegment(8080, 40000, 0, 7001, RST | ACK, 0)])

    def test_pendingBounded(self) -> None:
        """
        At most maxPendingForwards SYNs wait; more are dropped.
        """
        self.layer.maxPendingForwards = 4
        for port in range(40000, 40010):
            self.inject(TCPSegment(port, 8080, 7000, 0, SYN, 8000))
        self.assertEqual(len(self.calls), 4)
        self.assertEqual(self.layer.stats.forwarderDrops, 6)
        self.assertEqual(self.sent(), [])


class FuzzTests(LayerTestsMixin, SynchronousTestCase):
    """
    Mutated segments never raise and do not disturb other connections.
    """

    def test_mutatedSegments(self) -> None:
        """
        Thousands of mutated segments (checksums repaired for half of them)
        into the layer: no exception escapes (trial fails on logged
        errors), and an established connection still carries data.
        """
        from vdetwist.wire.checksum import internetChecksum, pseudoHeaderSum
        factory = RecorderFactory()
        self.layer.listen(80, factory)
        iss = self.handshake()
        [protocol] = factory.built
        rng = random.Random(1234)
        templates = [
            TCPSegment(40000, 80, 7001, iss + 1, ACK, 8000, b"data"),
            TCPSegment(40001, 80, 1, 0, SYN, 8000, mss=1460, windowScale=7,
                       sackPermitted=True, timestamp=(1, 0)),
            TCPSegment(40000, 80, 7001, iss + 1, ACK, 8000, timestamp=(5, 6),
                       sackBlocks=((1, 2),)),
        ]
        for i in range(3000):
            raw = bytearray(rng.choice(templates).encode(THEM, US))
            for _ in range(rng.randint(1, 6)):
                kind = rng.random()
                if not raw:
                    raw += rng.randbytes(rng.randint(1, 40))
                elif kind < 0.6:
                    raw[rng.randrange(len(raw))] = rng.randrange(256)
                elif kind < 0.8:
                    del raw[rng.randrange(len(raw)):]
                else:
                    raw += rng.randbytes(rng.randint(1, 20))
            if rng.random() < 0.5 and len(raw) >= 18:
                raw[16:18] = b"\0\0"
                raw[16:18] = internetChecksum(
                    bytes(raw), pseudoHeaderSum(THEM, US, 6, len(raw))).to_bytes(2, "big")
            self.layer.packetReceived(THEM, US, bytes(raw), b"")
            if i % 100 == 0:
                self.clock.advance(0.05)
        self.clock.advance(1)
        # Our connection may have been legitimately reset by a mutated RST
        # at exactly RCV.NXT; open a fresh one if so and check it works.
        del self.ip.sent[:]
        self.layer.listen(81, factory)
        before = len(factory.built)
        iss = self.handshake(port=81, remotePort=45000, seq=100)
        self.inject(TCPSegment(45000, 81, 101, iss + 1, ACK, 8000, b"still fine"))
        self.assertEqual(factory.built[before].received, [b"still fine"])


class ICMPErrorTests(LayerTestsMixin, SynchronousTestCase):
    """
    ICMP errors quoting our segments.
    """

    def quote(self, segment: TCPSegment) -> bytes:
        """
        @param segment: one of our segments.
        @return: an IPv4 header (20 bytes, addresses US to THEM) and its
            first 8 bytes, as ICMP quotes it.
        """
        header = bytes([0x45, 0, 0, 40, 0, 0, 0, 0, 64, 6, 0, 0]) + US + THEM
        return header + segment.encode(US, THEM)[:8]

    def test_portUnreachableRefusesConnect(self) -> None:
        """
        Port unreachable for our SYN fails the connect as refused; host
        unreachable as no route.
        """
        d = self.layer.connect(THEM, 80, RecorderFactory())
        [syn] = self.sent()
        self.layer.errorReceived(THEM, 3, 3, 0, self.quote(syn))
        self.failureResultOf(d, error.ConnectionRefusedError)
        d = self.layer.connect(THEM, 80, RecorderFactory())
        [syn] = self.sent()
        self.layer.errorReceived(US, 3, 1, 0, self.quote(syn))
        self.failureResultOf(d, error.NoRouteError)
        self.assertEqual(self.layer.counters["icmpErrors"], 2)

    def test_wrongSequenceIgnored(self) -> None:
        """
        An error quoting a sequence number we did not send is ignored
        (RFC 5927).
        """
        d = self.layer.connect(THEM, 80, RecorderFactory())
        [syn] = self.sent()
        self.layer.errorReceived(THEM, 3, 3, 0, self.quote(syn._replace(seq=syn.seq + 5)))
        self.assertNoResult(d)

    def test_establishedIgnores(self) -> None:
        """
        Errors about an established connection are soft: ignored.
        """
        factory = RecorderFactory()
        self.layer.listen(80, factory)
        iss = self.handshake()
        segment = TCPSegment(80, 40000, iss + 1, 7001, ACK, 8000)
        self.layer.errorReceived(THEM, 3, 1, 0, self.quote(segment))
        self.assertIsNone(factory.built[0].lost)


class StopTests(LayerTestsMixin, SynchronousTestCase):
    """
    L{TCPLayer.stop}.
    """

    def test_stop(self) -> None:
        """
        stop resets established connections, stops listeners and leaves no
        timer behind.
        """
        factory = RecorderFactory()
        self.layer.listen(80, factory)
        iss = self.handshake()
        d = self.layer.connect(THEM, 81, RecorderFactory())
        self.sent()
        self.layer.stop()
        self.failureResultOf(d, error.ConnectionAborted)
        self.assertEqual(self.sent(), [TCPSegment(80, 40000, iss + 1, 7001, RST | ACK, 0)])
        self.assertIsInstance(factory.built[0].lost.value, error.ConnectionAborted)
        self.assertEqual(self.layer.connections, {})
        self.assertEqual(self.layer.listeners, {})
        self.assertEqual(self.clock.getDelayedCalls(), [])


class TimeWaitTests(LayerTestsMixin, SynchronousTestCase):
    """
    A new SYN for a 4-tuple in TIME_WAIT.
    """

    def closeToTimeWait(self) -> int:
        """
        Accept a connection on port 80 and close it from our side into
        TIME_WAIT.

        @return: the peer's RCV.NXT as we know it (our sequence space is
            not needed).
        """
        factory = RecorderFactory()
        self.layer.listen(80, factory)
        iss = self.handshake()
        factory.built[0].transport.loseConnection()
        [fin] = self.sent()
        self.inject(TCPSegment(40000, 80, 7001, iss + 2, FIN | ACK, 8000))
        [connection] = self.layer.connections.values()
        self.assertEqual(connection.machine.state, "TIME_WAIT")
        self.sent()
        return 7002

    def test_newerSynReopens(self) -> None:
        """
        A SYN above RCV.NXT ends TIME_WAIT and opens a new connection.
        """
        self.closeToTimeWait()
        self.inject(TCPSegment(40000, 80, 90000, 0, SYN, 8000))
        [synAck] = self.sent()
        self.assertEqual((synAck.flags, synAck.ack), (SYN | ACK, 90001))

    def test_fullTableRecyclesTimeWait(self) -> None:
        """
        With the table full, the oldest connection in TIME_WAIT makes room
        for a new one (and is counted); a table full of live connections
        refuses.
        """
        self.closeToTimeWait()
        self.layer.maxConnections = 1
        d = self.layer.connect(THEM, 9000, RecorderFactory())
        [syn] = self.sent()
        self.assertEqual((syn.flags, syn.dstPort), (SYN, 9000))
        self.assertEqual(self.layer.stats.timeWaitRecycled, 1)
        self.assertEqual(len(self.layer.connections), 1)
        refused = self.layer.connect(THEM, 9001, RecorderFactory())
        self.failureResultOf(refused)
        self.assertNoResult(d)

    def test_olderSynChallenged(self) -> None:
        """
        A SYN at or below RCV.NXT gets the TIME_WAIT connection's ACK.
        """
        rcvNxt = self.closeToTimeWait()
        self.inject(TCPSegment(40000, 80, 100, 0, SYN, 8000))
        [ack] = self.sent()
        self.assertEqual((ack.flags, ack.ack), (ACK, rcvNxt))


class CoalescingTests(LayerTestsMixin, SynchronousTestCase):
    """
    A burst of in-order segments handled in one reactor turn gets one ACK.
    """

    def test_burstAckedOnce(self) -> None:
        """
        Six segments delivered back to back are acknowledged by a single
        ACK once the turn ends (the connection's timer at zero delay).
        """
        factory = RecorderFactory()
        self.layer.listen(80, factory)
        iss = self.handshake()
        for i in range(6):
            self.inject(TCPSegment(40000, 80, 7001 + 500 * i, iss + 1, ACK, 8000, b"x" * 500))
        self.assertEqual(self.ip.sent, [])
        [ack] = self.sent()
        self.assertEqual(ack.ack, 7001 + 3000)
        self.assertEqual(len(b"".join(factory.built[0].received)), 3000)

    def test_batchesKeepTheDelayedAckTimer(self) -> None:
        """
        The first segment of a batch arms the delayed-ACK deadline; the
        ACK the batch then needs at once comes from a wakeup on the next
        turn, and the deadline's timer is neither cancelled nor moved, for
        batch after batch (a cancel and a callLater per batch saved); when
        it fires with nothing due it sends nothing.
        """
        self.layer.listen(80, RecorderFactory())
        iss = self.handshake()
        seq = 7001
        self.inject(TCPSegment(40000, 80, seq, iss + 1, ACK, 8000, b"x" * 1000))
        seq += 1000
        [deadline] = self.clock.getDelayedCalls()
        self.assertAlmostEqual(deadline.getTime() - self.clock.seconds(), 0.04)
        for _ in range(3):
            for _ in range(2):
                self.inject(TCPSegment(40000, 80, seq, iss + 1, ACK, 8000, b"x" * 1000))
                seq += 1000
            self.assertEqual(self.ip.sent, [])
            [ack] = self.sent()
            self.assertEqual(ack.ack, seq)
            self.assertEqual(self.clock.getDelayedCalls(), [deadline])
            self.assertTrue(deadline.active())
            self.clock.advance(0.001)
        self.clock.advance(0.04)
        self.assertEqual(self.sent(), [])


class CorkingIPv4(RecordingIPv4):
    """
    A recording IPv4 layer with a cork, logging corks and packets in
    order.

    @ivar events: C{"cork"}, C{"uncork"} and C{"packet"}, as they came.
    """

    def __init__(self, address: bytes) -> None:
        """
        @param address: our only address.
        """
        RecordingIPv4.__init__(self, address)
        self.events: List[str] = []

    def cork(self) -> None:
        """
        Log a cork.
        """
        self.events.append("cork")

    def uncork(self) -> None:
        """
        Log an uncork.
        """
        self.events.append("uncork")

    def sendPacket(self, protocol: int, source: bytes, destination: bytes,
                   payload: bytes) -> None:
        """
        Log and record a packet.
        """
        self.events.append("packet")
        RecordingIPv4.sendPacket(self, protocol, source, destination, payload)


class CorkTests(LayerTestsMixin, SynchronousTestCase):
    """
    The segments of one wakeup are sent under the IP layer's cork, so
    they leave back to back.
    """

    def setUp(self) -> None:
        """
        The layer on a corking IP layer.
        """
        LayerTestsMixin.setUp(self)
        self.ip = CorkingIPv4(US)
        self.layer = TCPLayer(self.clock, self.ip, TCPConfig(
            mss=1000, receiveBufferSize=8000, timestamps=False, sack=False,
            windowScaling=False, pacing=False), seed=1)

    def test_segmentsOfAWakeupCorked(self) -> None:
        """
        Three segments written at once go out between one cork and its
        uncork; a lone segment (the handshake's, an ACK) is not corked.
        """
        factory = RecorderFactory()
        self.layer.listen(80, factory)
        iss = self.handshake()
        self.assertEqual(self.ip.events, ["packet"])
        [protocol] = factory.built
        protocol.transport.write(b"x" * 3000)
        self.assertEqual(len(self.sent()), 3)
        self.assertEqual(self.ip.events,
                         ["packet", "cork", "packet", "packet", "packet", "uncork"])
        self.inject(TCPSegment(40000, 80, 7001, iss + 3001, ACK | PSH, 8000, b"hi"))
        self.clock.advance(0.04)
        self.assertEqual(len(self.sent()), 1)
        self.assertEqual(self.ip.events[-2:], ["uncork", "packet"])

    def test_burstThroughSendPackets(self) -> None:
        """
        With an IP layer that has C{sendPackets}, the segments of a wakeup
        go to it in one call, in order; a lone segment goes through
        C{sendPacket}.
        """
        calls: List[int] = []
        ip = self.ip

        def sendPackets(protocol: int, source: bytes, destination: bytes,
                        payloads: List[bytes]) -> None:
            calls.append(len(payloads))
            for payload in payloads:
                RecordingIPv4.sendPacket(ip, protocol, source, destination, payload)
        ip.sendPackets = sendPackets  # type: ignore[attr-defined]
        layer = TCPLayer(self.clock, ip, TCPConfig(
            mss=1000, receiveBufferSize=8000, timestamps=False, sack=False,
            windowScaling=False, pacing=False), seed=1)
        self.layer = layer
        factory = RecorderFactory()
        layer.listen(80, factory)
        iss = self.handshake()
        self.assertEqual(calls, [])
        [protocol] = factory.built
        protocol.transport.write(b"x" * 3000)
        segments = self.sent()
        self.assertEqual(calls, [3])
        self.assertEqual([(s.seq - iss - 1, len(s.payload)) for s in segments],
                         [(0, 1000), (1000, 1000), (2000, 1000)])
        self.assertEqual(layer.stats.segmentsSent, 4)

    def test_runsCutAtTheMSS(self) -> None:
        """
        With segment offload (the default) the layer cuts a run the
        connection emits as one segment at the MSS: on the wire, and in
        C{segmentsSent}, the same segments as without it.
        """
        def transfer(offload: bool):
            self.clock = Clock()
            self.clock.advance(100)
            self.ip = CorkingIPv4(US)
            self.layer = TCPLayer(self.clock, self.ip, TCPConfig(
                mss=1000, receiveBufferSize=8000, timestamps=False, sack=False,
                windowScaling=False, pacing=False, segmentOffload=offload), seed=1)
            factory = RecorderFactory()
            self.layer.listen(80, factory)
            iss = self.handshake()
            [protocol] = factory.built
            self.assertEqual(protocol.transport.machine.segmentOffload, offload)
            protocol.transport.write(bytes(range(250)) * 30)
            return ([(s.seq - iss - 1, s.flags, s.payload) for s in self.sent()],
                    self.layer.stats.segmentsSent)
        # Seven full segments in one run (the short tail waits for Nagle);
        # the SYN-ACK is the eighth segment sent.
        segments, count = transfer(True)
        self.assertEqual(([len(payload) for _, _, payload in segments], count),
                         ([1000] * 7, 8))
        self.assertEqual(transfer(False), (segments, count))

    def test_layerWithoutCork(self) -> None:
        """
        An IP layer without C{cork} and C{uncork} gets the segments one by
        one.
        """
        layer = TCPLayer(self.clock, RecordingIPv4(US), seed=1)
        self.assertIsNone(layer._cork)
        self.assertIsNone(layer._uncork)
