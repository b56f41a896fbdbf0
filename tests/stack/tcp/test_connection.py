# -*- test-case-name: tests.stack.tcp.test_connection -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.tcp.connection}: two TCP layers joined back to
back through a simulated link (L{FakeNetwork}), with Twisted protocols on
top: transfers under loss, duplication and reordering, half-close,
backpressure in both directions.
"""

import random
from typing import List, Optional

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import error
from twisted.internet.interfaces import IHalfCloseableProtocol, IPushProducer
from twisted.internet.protocol import Factory, Protocol
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer

from vdetwist.stack.tcp.machine import TCPConfig
from vdetwist.testing import FakeNetwork
from vdetwist.wire.tcp import RST

A = bytes([10, 0, 0, 1])
B = bytes([10, 0, 0, 2])


class Sink(Protocol):
    """
    Collects data; records the end.
    """

    def __init__(self) -> None:
        """
        Nothing yet.
        """
        self.chunks: List[bytes] = []
        self.lost: Optional[object] = None
        self.made = False

    def connectionMade(self) -> None:
        """
        Note it.
        """
        self.made = True

    def dataReceived(self, data: bytes) -> None:
        """
        @param data: kept.
        """
        self.chunks.append(data)

    def connectionLost(self, reason: object) -> None:
        """
        @param reason: kept.
        """
        self.lost = reason

    def data(self) -> bytes:
        """
        @return: everything received.
        """
        return b"".join(self.chunks)


class Source(Sink):
    """
    Writes C{payload} when connected, then closes if asked.
    """

    payload = b""
    close = True

    def connectionMade(self) -> None:
        """
        Send and close.
        """
        super().connectionMade()
        self.transport.write(self.payload)
        if self.close:
            self.transport.loseConnection()


@implementer(IHalfCloseableProtocol)
class HalfCloser(Sink):
    """
    A half-closeable protocol that answers EOF with a last message.
    """

    readLost = False
    writeLost = False

    def readConnectionLost(self) -> None:
        """
        The peer is done: reply, then close our side.
        """
        self.readLost = True
        self.transport.write(b"reply after EOF")
        self.transport.loseWriteConnection()

    def writeConnectionLost(self) -> None:
        """
        Note it.
        """
        self.writeLost = True


@implementer(IHalfCloseableProtocol)
class BothWays(Sink):
    """
    Sends C{payload} and half-closes, reading until the peer's EOF.
    """

    payload = b""

    def connectionMade(self) -> None:
        """
        Send and half-close.
        """
        self.transport.write(self.payload)
        self.transport.loseWriteConnection()

    def readConnectionLost(self) -> None:
        """
        Nothing to do: the connection ends when both FINs are through.
        """

    def writeConnectionLost(self) -> None:
        """
        Nothing to do.
        """


def factoryFor(protocol: Protocol) -> Factory:
    """
    @param protocol: the single protocol instance to hand out.
    @return: a factory returning it.
    """
    factory = Factory()
    factory.buildProtocol = lambda addr: protocol  # type: ignore[method-assign]
    return factory


def pattern(n: int, seed: int = 0) -> bytes:
    """
    @param n: the length.
    @param seed: the seed.
    @return: C{n} pseudo-random bytes.
    """
    return random.Random(seed).randbytes(n)


class TransferTests(SynchronousTestCase):
    """
    Data moves intact between two layers.
    """

    def transfer(self, size: int, **network: object) -> FakeNetwork:
        """
        Send C{size} bytes from A to B and close.

        @param size: how many bytes.
        @param network: L{FakeNetwork} parameters.
        @return: the network, after the run.
        """
        net = FakeNetwork(**network)  # type: ignore[arg-type]
        a = net.addHost(A)
        b = net.addHost(B)
        sink = Sink()
        b.listen(5000, factoryFor(sink))
        source = Source()
        source.payload = pattern(size, 1)
        d = a.connect(B, 5000, factoryFor(source))
        net.run()
        self.assertIs(self.successResultOf(d), source)
        self.assertEqual(len(sink.data()), size)
        self.assertTrue(sink.data() == source.payload, "data corrupted")
        self.assertIsInstance(sink.lost.value, error.ConnectionDone)
        self.assertIsInstance(source.lost.value, error.ConnectionDone)
        # TIME_WAIT has run out: both tables are empty.
        self.assertEqual(a.connections, {})
        self.assertEqual(b.connections, {})
        self.a, self.b = a, b
        return net

    def test_clean(self) -> None:
        """
        1 MB over a clean link, without a single retransmission.
        """
        self.transfer(1 << 20)
        self.assertEqual(self.a.stats.retransmissions, 0)

    def test_loss(self) -> None:
        """
        1 MB intact over a link losing 5% of packets each way.
        """
        net = self.transfer(1 << 20, seed=5, loss=0.05)
        self.assertTrue(net.dropped > 20)
        self.assertTrue(self.a.stats.fastRetransmits > 0)

    def test_lossDuplicationReordering(self) -> None:
        """
        256 KB intact over a link that loses, duplicates and reorders.
        """
        self.transfer(256 * 1024, seed=9, loss=0.03, duplicate=0.05, reorder=0.1)
        self.assertTrue(self.b.stats.outOfOrderSegments > 0)

    def test_bottleneck(self) -> None:
        """
        Through a slow link (1 MB/s) the transfer completes.
        """
        self.transfer(512 * 1024, seed=2, bandwidth=1e6)

    @settings(max_examples=12, deadline=None)
    @given(seed=st.integers(0, 10000), loss=st.floats(0, 0.15),
           duplicate=st.floats(0, 0.1), reorder=st.floats(0, 0.3),
           size=st.integers(0, 60000))
    def test_property(self, seed: int, loss: float, duplicate: float,
                      reorder: float, size: int) -> None:
        """
        Property: whatever the seed and the loss, duplication and reordering
        rates, the data arrives intact and both sides close cleanly.
        """
        self.transfer(size, seed=seed, loss=loss, duplicate=duplicate, reorder=reorder)

    @settings(max_examples=12, deadline=None)
    @given(seed=st.integers(0, 10000), loss=st.floats(0, 0.15),
           reorder=st.floats(0, 0.2), sizes=st.tuples(st.integers(0, 80000),
                                                      st.integers(0, 80000)))
    def test_propertyBothWays(self, seed: int, loss: float, reorder: float,
                              sizes: tuple) -> None:
        """
        Property: both sides sending at once over a lossy, reordering link
        each get the other's data intact and close cleanly (retransmissions
        in both directions at once).
        """
        net = FakeNetwork(seed=seed, loss=loss, reorder=reorder)
        a = net.addHost(A)
        b = net.addHost(B)
        server = BothWays()
        server.payload = pattern(sizes[0], seed)
        b.listen(5000, factoryFor(server))
        client = BothWays()
        client.payload = pattern(sizes[1], seed + 1)
        a.connect(B, 5000, factoryFor(client))
        net.run()
        self.assertTrue(server.data() == client.payload)
        self.assertTrue(client.data() == server.payload)
        self.assertIsInstance(server.lost.value, error.ConnectionDone)
        self.assertIsInstance(client.lost.value, error.ConnectionDone)

    def test_bothWays(self) -> None:
        """
        Both sides send at once, each closing after its data.
        """
        net = FakeNetwork(seed=3, loss=0.02)
        a = net.addHost(A)
        b = net.addHost(B)
        server = BothWays()
        server.payload = pattern(300000, 2)
        b.listen(5000, factoryFor(server))
        client = BothWays()
        client.payload = pattern(200000, 3)
        a.connect(B, 5000, factoryFor(client))
        net.run()
        self.assertTrue(server.data() == client.payload)
        self.assertTrue(client.data() == server.payload)
        self.assertIsInstance(server.lost.value, error.ConnectionDone)
        self.assertIsInstance(client.lost.value, error.ConnectionDone)

    def test_options(self) -> None:
        """
        Window scaling, timestamps and SACK are negotiated between two
        vdetwist layers by default.
        """
        net = FakeNetwork()
        a = net.addHost(A)
        b = net.addHost(B)
        sink = Sink()
        b.listen(5000, factoryFor(sink))
        source = Source()
        source.close = False
        a.connect(B, 5000, factoryFor(source))
        net.run(until=1)
        machine = source.transport.machine
        self.assertTrue(machine.tsEnabled and machine.sackEnabled and machine.wsEnabled)
        self.assertEqual(machine.mss, 1448)
        self.assertEqual(source.transport.getPeer().host, "10.0.0.2")
        self.assertEqual(sink.transport.getPeer().host, "10.0.0.1")


class CloseTests(SynchronousTestCase):
    """
    Closing: half-close, abort, refusal.
    """

    def setUp(self) -> None:
        """
        Two layers.
        """
        self.net = FakeNetwork()
        self.a = self.net.addHost(A)
        self.b = self.net.addHost(B)

    def test_halfClose(self) -> None:
        """
        A half-closeable protocol is told of the peer's EOF, can still
        reply, and its loseWriteConnection finishes the connection.
        """
        server = HalfCloser()
        self.b.listen(5000, factoryFor(server))
        client = Source()
        client.payload = b"request"
        client.close = False
        self.a.connect(B, 5000, factoryFor(client))
        self.net.run(until=1)
        client.transport.loseWriteConnection()
        self.net.run()
        self.assertEqual(server.data(), b"request")
        self.assertTrue(server.readLost and server.writeLost)
        self.assertEqual(client.data(), b"reply after EOF")
        self.assertIsInstance(server.lost.value, error.ConnectionDone)
        self.assertIsInstance(client.lost.value, error.ConnectionDone)

    def test_eofWithoutHalfClose(self) -> None:
        """
        A protocol that is not half-closeable loses the connection on EOF.
        """
        server = Sink()
        self.b.listen(5000, factoryFor(server))
        client = Source()
        client.payload = b"x"
        self.a.connect(B, 5000, factoryFor(client))
        self.net.run()
        self.assertIsInstance(server.lost.value, error.ConnectionDone)
        self.assertEqual(self.b.connections, {})

    def test_abort(self) -> None:
        """
        abortConnection resets: the peer sees ConnectionLost, we see
        ConnectionAborted.
        """
        server = Sink()
        self.b.listen(5000, factoryFor(server))
        client = Source()
        client.close = False
        self.a.connect(B, 5000, factoryFor(client))
        self.net.run(until=1)
        client.transport.abortConnection()
        self.net.run()
        self.assertIsInstance(client.lost.value, error.ConnectionAborted)
        self.assertIsInstance(server.lost.value, error.ConnectionLost)
        self.assertEqual(self.a.connections, {})
        self.assertEqual(self.b.connections, {})

    def test_refused(self) -> None:
        """
        Connecting to a port nobody listens on fails with
        ConnectionRefusedError.
        """
        d = self.a.connect(B, 5001, factoryFor(Sink()))
        self.net.run()
        self.failureResultOf(d, error.ConnectionRefusedError)

    def test_writeAfterLoseConnection(self) -> None:
        """
        A write right after loseConnection (same reactor turn) still goes
        out, as with Twisted's TCP.
        """
        server = Sink()
        self.b.listen(5000, factoryFor(server))

        class CloseThenWrite(Sink):
            """
            Closes and then writes when connected.
            """

            def connectionMade(self) -> None:
                """
                Close, then write.
                """
                self.transport.loseConnection()
                self.transport.write(b"after close")

        self.a.connect(B, 5000, factoryFor(CloseThenWrite()))
        self.net.run()
        self.assertEqual(server.data(), b"after close")

    def test_writeAfterCloseIgnored(self) -> None:
        """
        Writes once our FIN is out are dropped, as Twisted does once the
        socket is shut down.
        """
        server = Sink()
        self.b.listen(5000, factoryFor(server))
        client = Source()
        client.payload = b"before"
        self.a.connect(B, 5000, factoryFor(client))
        self.net.run(until=0.012)
        client.transport.write(b"after")
        self.net.run()
        self.assertEqual(server.data(), b"before")

    def test_dataAfterFullCloseDiscarded(self) -> None:
        """
        After loseConnection, data still arriving is acknowledged but not
        delivered, and the connection still finishes.
        """
        server = Source()
        server.close = False
        server.payload = b""
        self.b.listen(5000, factoryFor(server))
        client = Sink()
        self.a.connect(B, 5000, factoryFor(client))
        self.net.run(until=1)
        client.transport.loseConnection()
        server.transport.write(b"too late")
        self.net.run()
        self.assertEqual(client.data(), b"")
        self.assertEqual(self.a.connections, {})
        self.assertEqual(self.b.connections, {})

    def test_options(self) -> None:
        """
        TCP_NODELAY and keepalive are settable on the transport.
        """
        server = Sink()
        self.b.listen(5000, factoryFor(server))
        client = Source()
        client.close = False
        self.a.connect(B, 5000, factoryFor(client))
        self.net.run(until=1)
        transport = client.transport
        self.assertFalse(transport.getTcpNoDelay())
        transport.setTcpNoDelay(True)
        self.assertTrue(transport.getTcpNoDelay())
        self.assertFalse(transport.getTcpKeepAlive())
        transport.setTcpKeepAlive(True)
        self.assertTrue(transport.getTcpKeepAlive())


@implementer(IPushProducer)
class FastProducer:
    """
    A streaming producer writing a chunk per clock tick, as fast as it is
    allowed to.
    """

    def __init__(self, transport, clock, total: int, chunk: int = 65536) -> None:  # type: ignore[no-untyped-def]
        """
        @param transport: where to write.
        @param clock: the clock.
        @param total: how much to write.
        @param chunk: per tick.
        """
        self.transport = transport
        self.clock = clock
        self.remaining = total
        self.chunk = chunk
        self.paused = False
        self.pauses = 0
        self.maxBuffered = 0
        self.sent = b""
        self._call = None
        self._schedule()

    def _schedule(self) -> None:
        """
        Write the next chunk soon.
        """
        if self._call is None and not self.paused and self.remaining > 0:
            self._call = self.clock.callLater(0.001, self._tick)

    def _tick(self) -> None:
        """
        Write one chunk.
        """
        self._call = None
        n = min(self.chunk, self.remaining)
        data = pattern(n, self.remaining)
        self.sent += data
        self.remaining -= n
        self.transport.write(data)
        self.maxBuffered = max(self.maxBuffered, len(self.transport.machine.sendBuffer))
        if self.remaining == 0:
            self.transport.unregisterProducer()
            self.transport.loseConnection()
        else:
            self._schedule()

    def pauseProducing(self) -> None:
        """
        Stop writing.
        """
        self.paused = True
        self.pauses += 1
        if self._call is not None:
            self._call.cancel()
            self._call = None

    def resumeProducing(self) -> None:
        """
        Write again.
        """
        self.paused = False
        self._schedule()

    def stopProducing(self) -> None:
        """
        Stop for good.
        """
        self.remaining = 0


class BackpressureTests(SynchronousTestCase):
    """
    Flow control reaches the applications.
    """

    def test_producerPaused(self) -> None:
        """
        A streaming producer faster than a slow link is paused when the
        send buffer passes its size and resumed later; the buffer stays
        within the size plus one chunk, and everything arrives.
        """
        self.assertTrue(self.streamThroughSlowLink(0) <= 128 * 1024 + 65536)

    def test_inFlightDataNotCounted(self) -> None:
        """
        Data in flight (up to L{TCPConfig.sendFlightAllowance}) does not
        count against the send buffer's size: the buffer holds the size of
        unsent data besides it, so a flight held up by a loss does not
        starve the sender.
        """
        buffered = self.streamThroughSlowLink(4 << 20)
        self.assertTrue(128 * 1024 + 65536 < buffered <= 2 * 128 * 1024 + 65536, buffered)

    def streamThroughSlowLink(self, allowance: int) -> int:
        """
        Stream 2 MiB from a fast producer over a 2 MB/s link, with a
        128 KiB send buffer and receive window.

        @param allowance: the sender's L{TCPConfig.sendFlightAllowance}.
        @return: the most the send buffer held.
        """
        net = FakeNetwork(bandwidth=2e6)
        a = net.addHost(A, config=TCPConfig(sendBufferSize=128 * 1024,
                                            sendFlightAllowance=allowance))
        b = net.addHost(B)
        sink = Sink()
        b.listen(5000, factoryFor(sink))
        client = Sink()
        a.connect(B, 5000, factoryFor(client))
        net.run(until=0.1)
        producer = FastProducer(client.transport, net.clock, 2 << 20)
        client.transport.registerProducer(producer, True)
        net.run()
        self.assertTrue(producer.pauses > 0)
        self.assertTrue(sink.data() == producer.sent)
        return producer.maxBuffered

    def test_receiverNeverReads(self) -> None:
        """
        A receiver that pauses reading closes its window: the sender stops
        with the data in its own buffer, the receiver holds no more than
        its buffer, and the sender's producer is paused.  Resuming moves
        everything.
        """
        net = FakeNetwork()
        a = net.addHost(A, config=TCPConfig(sendBufferSize=64 * 1024))
        b = net.addHost(B, config=TCPConfig(receiveBufferSize=32 * 1024))
        sink = Sink()
        b.listen(5000, factoryFor(sink))
        client = Sink()
        a.connect(B, 5000, factoryFor(client))
        net.run(until=0.1)
        sink.transport.pauseProducing()
        producer = FastProducer(client.transport, net.clock, 1 << 20, chunk=16384)
        client.transport.registerProducer(producer, True)
        net.run(until=30)
        receiverMachine = sink.transport.machine
        self.assertEqual(sink.data(), b"")
        self.assertTrue(len(receiverMachine.receiveBuffer) <= 32 * 1024)
        self.assertTrue(producer.paused)
        self.assertTrue(len(client.transport.machine.sendBuffer) <= 64 * 1024 + 16384)
        self.assertTrue(a.stats.zeroWindowProbes > 0)
        sink.transport.resumeProducing()
        net.run()
        self.assertTrue(sink.data() == producer.sent)
        self.assertEqual(len(sink.data()), 1 << 20)

    def test_pullProducer(self) -> None:
        """
        A pull producer is asked for more while the buffer is low.
        """
        net = FakeNetwork()
        a = net.addHost(A)
        b = net.addHost(B)
        sink = Sink()
        b.listen(5000, factoryFor(sink))
        client = Sink()
        a.connect(B, 5000, factoryFor(client))
        net.run(until=0.1)
        chunks = [pattern(50000, i) for i in range(20)]

        class Pull:
            """
            A pull producer writing one chunk per call.
            """
            def resumeProducing(self) -> None:
                """
                Write the next chunk, or finish.
                """
                if chunks:
                    client.transport.write(chunks.pop(0))
                else:
                    client.transport.unregisterProducer()
                    client.transport.loseConnection()

            def stopProducing(self) -> None:
                """
                Nothing to stop.
                """
                pass

        expected = b"".join(chunks)
        client.transport.registerProducer(Pull(), False)
        net.run()
        self.assertTrue(sink.data() == expected)


class TapTests(SynchronousTestCase):
    """
    What goes on the wire.
    """

    def test_resetAfterPeerGone(self) -> None:
        """
        Data to a layer that forgot the connection is answered by RST, and
        the sender's protocol learns the connection was lost.
        """
        net = FakeNetwork()
        a = net.addHost(A)
        b = net.addHost(B)
        server = Sink()
        b.listen(5000, factoryFor(server))
        client = Source()
        client.close = False
        a.connect(B, 5000, factoryFor(client))
        net.run(until=1)
        b.connections.clear()
        net.tap = []
        client.transport.write(b"anyone?")
        net.run()
        self.assertIn(RST, [segment.flags & RST for _, _, _, segment in net.tap])
        self.assertIsInstance(client.lost.value, error.ConnectionLost)


class PausedEOFTests(SynchronousTestCase):
    """
    The end of the stream waits behind unread data.
    """

    def test_eofAfterData(self) -> None:
        """
        A paused reader gets neither data nor connectionLost while paused,
        even when the peer has closed; resuming delivers the data, then
        connectionLost.
        """
        net = FakeNetwork()
        a = net.addHost(A)
        b = net.addHost(B)

        class PausedSink(Sink):
            """
            A sink that pauses reading at once.
            """
            def connectionMade(self) -> None:
                """
                Pause reading.
                """
                self.transport.pauseProducing()

        sink = PausedSink()
        b.listen(5000, factoryFor(sink))
        source = Source()
        source.payload = b"last words"
        a.connect(B, 5000, factoryFor(source))
        net.run(until=1)
        self.assertEqual(sink.data(), b"")
        self.assertIsNone(sink.lost)
        sink.transport.resumeProducing()
        self.assertEqual(sink.data(), b"last words")
        self.assertIsInstance(sink.lost.value, error.ConnectionDone)
