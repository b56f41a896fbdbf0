# -*- test-case-name: tests.vde.test_stream -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.vde.stream}: VDE stream framing.

The byte fixtures are the ones docs/vde-protocol.md section 3 and recipe R4
record from Debian's vde_plug 4.0.1 (stdout of a plug that received a
60-byte broadcast; C{ff ff} plus junk in one write, then a good frame in the
next write).
"""

import os
import shutil
import tempfile
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import reactor as globalReactor
from twisted.internet.defer import Deferred
from twisted.internet.endpoints import ProcessEndpoint, connectProtocol
from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import connectionDone
from twisted.internet.task import deferLater
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from tests.vde.realswitch import SKIP_REASON, RealVDESwitch
from vdetwist.interfaces import IFrameProtocol, IFrameReceiver, IFrameTransport
from vdetwist.vde.stream import (
    MAX_STREAM_FRAME,
    StreamDecoder,
    StreamFrameProtocol,
    StreamFramingError,
    encodeFrame,
)
from vdetwist.vde.plug import connectPlug

#: Debian's vde_plug (vdeplug4 4.0.1).
VDE_PLUG = "/usr/bin/vde_plug"

#: The 60-byte frame of recipe R4.
R4_FRAME = (
    b"\xff\xff\xff\xff\xff\xff"  # destination: broadcast
    b"\x02\x00\x00\x00\x00\x01"  # source: a locally administered MAC
    b"\x88\xb5"  # ethertype: local experimental
    + b"0" * 46  # payload: 46 ASCII zeros (printf '%046d' 0)
)

#: What vde_plug wrote on its stdout for it: the length, then the frame.
R4_STREAM = (
    b"\x00\x3c"  # length 60, big-endian
    + R4_FRAME
)


@implementer(IFrameProtocol)
class RecordingFrameProtocol:
    """
    An L{IFrameProtocol} that records what happens to it.

    @ivar frames: frames received.
    @ivar transport: the transport given to C{makeConnection}.
    @ivar lost: reasons given to C{connectionLost}.
    """

    def __init__(self) -> None:
        """
        Start empty.
        """
        self.frames: list[bytes] = []
        self.transport: Any = None
        self.lost: list[Failure] = []

    def makeConnection(self, transport: Any) -> None:
        """
        Record the transport.

        @param transport: the frame transport.
        """
        self.transport = transport

    def frameReceived(self, frame: bytes) -> None:
        """
        Record a frame.

        @param frame: the frame.
        """
        self.frames.append(frame)

    def connectionLost(self, reason: object) -> None:
        """
        Record the reason.

        @param reason: why.
        """
        self.lost.append(reason)  # type: ignore[arg-type]


@implementer(IFrameReceiver)
class RecordingFrameReceiver:
    """
    A plain L{IFrameReceiver}.

    @ivar frames: frames received.
    """

    def __init__(self) -> None:
        """
        Start empty.
        """
        self.frames: list[bytes] = []

    def frameReceived(self, frame: bytes) -> None:
        """
        Record a frame.

        @param frame: the frame.
        """
        self.frames.append(frame)


class WriteCountingTransport(StringTransport):
    """
    A L{StringTransport} that records every write separately.

    @ivar writes: each C{write} argument.
    """

    def __init__(self) -> None:
        """
        Start with no writes.
        """
        StringTransport.__init__(self)
        self.writes: list[bytes] = []

    def write(self, data: bytes) -> None:
        """
        Record one write.

        @param data: the bytes.
        """
        self.writes.append(data)
        StringTransport.write(self, data)


class DecoderTests(SynchronousTestCase):
    """
    L{StreamDecoder} in its default (vdeplug4-compatible) mode.
    """

    def test_oneFrame(self) -> None:
        """
        The captured stream decodes to the captured frame.
        """
        self.assertEqual(StreamDecoder().feed(R4_STREAM), [R4_FRAME])

    def test_twoFramesOneChunk(self) -> None:
        """
        Several frames in one chunk all come out, in order.
        """
        second = b"\x00\x0e" + b"\x01" * 14
        self.assertEqual(StreamDecoder().feed(R4_STREAM + second),
                         [R4_FRAME, b"\x01" * 14])

    def test_splitFrame(self) -> None:
        """
        A frame split after 30 bytes comes out whole once complete.
        """
        decoder = StreamDecoder()
        self.assertEqual(decoder.feed(R4_STREAM[:30]), [])
        self.assertEqual(decoder.pendingBytes(), 30)
        self.assertEqual(decoder.feed(R4_STREAM[30:]), [R4_FRAME])
        self.assertEqual(decoder.pendingBytes(), 0)

    def test_splitHeader(self) -> None:
        """
        A chunk ending after one header byte keeps that byte (vdeplug4
        loses it; we do not).
        """
        decoder = StreamDecoder()
        self.assertEqual(decoder.feed(R4_STREAM[:1]), [])
        self.assertEqual(decoder.feed(R4_STREAM[1:]), [R4_FRAME])

    def test_zeroLengthSkipped(self) -> None:
        """
        C{00 00} headers are skipped silently.
        """
        self.assertEqual(StreamDecoder().feed(b"\x00\x00" + R4_STREAM + b"\x00\x00"),
                         [R4_FRAME])

    def test_badLengthDiscardsChunk(self) -> None:
        """
        C{ff ff} then junk in one chunk is discarded and counted, and a good
        frame in the next chunk is delivered, as vde_plug does.
        """
        decoder = StreamDecoder()
        self.assertEqual(decoder.feed(b"\xff\xffjunk" + R4_STREAM), [])
        self.assertEqual(decoder.lengthErrors, 1)
        self.assertEqual(decoder.discardedBytes, 6 + len(R4_STREAM))
        self.assertEqual(decoder.feed(R4_STREAM), [R4_FRAME])

    def test_framesBeforeBadLengthKept(self) -> None:
        """
        Frames before the bad header in the same chunk are delivered.
        """
        decoder = StreamDecoder()
        self.assertEqual(decoder.feed(R4_STREAM + b"\x24\x15" + R4_STREAM), [R4_FRAME])
        self.assertEqual(decoder.lengthErrors, 1)

    def test_maximumLength(self) -> None:
        """
        9236 bytes is the largest frame; 9237 is a length error.
        """
        frame = b"\xaa" * MAX_STREAM_FRAME
        self.assertEqual(StreamDecoder().feed(b"\x24\x14" + frame), [frame])
        decoder = StreamDecoder()
        self.assertEqual(decoder.feed(b"\x24\x15" + frame + b"\xaa"), [])
        self.assertEqual(decoder.lengthErrors, 1)

    def test_customMaximum(self) -> None:
        """
        The vde2 limit (1521) can be chosen.
        """
        decoder = StreamDecoder(maxLength=1521)
        self.assertEqual(decoder.feed(b"\x05\xf2" + b"\x00" * 1522), [])
        self.assertEqual(decoder.lengthErrors, 1)

    def test_badMaximum(self) -> None:
        """
        A maximum that a 2-byte length cannot express is refused.
        """
        self.assertRaises(ValueError, StreamDecoder, 0x10000)
        self.assertRaises(ValueError, StreamDecoder, 0)

    def test_bytearrayAndMemoryview(self) -> None:
        """
        Chunks may be any bytes-like object; frames come out as bytes.
        """
        decoder = StreamDecoder()
        frames = decoder.feed(bytearray(R4_STREAM[:10]))
        frames += decoder.feed(memoryview(R4_STREAM[10:]))
        self.assertEqual(frames, [R4_FRAME])
        self.assertIs(type(frames[0]), bytes)


class StrictDecoderTests(SynchronousTestCase):
    """
    L{StreamDecoder} with C{strict=True}.
    """

    def test_raises(self) -> None:
        """
        A bad length raises L{StreamFramingError} carrying the good frames
        before it.
        """
        decoder = StreamDecoder(strict=True)
        error = self.assertRaises(
            StreamFramingError, decoder.feed, R4_STREAM + b"\xff\xff" + b"x" * 10)
        self.assertEqual(error.frames, [R4_FRAME])
        self.assertEqual(error.length, 0xFFFF)
        self.assertIn("65535", str(error))
        self.assertEqual(decoder.lengthErrors, 1)
        self.assertEqual(decoder.pendingBytes(), 0)


class EncodeTests(SynchronousTestCase):
    """
    L{encodeFrame}.
    """

    def test_capture(self) -> None:
        """
        A 60-byte frame encodes as vde_plug wrote it.
        """
        self.assertEqual(encodeFrame(R4_FRAME), R4_STREAM)

    def test_maximum(self) -> None:
        """
        9236 bytes encode with length C{24 14}; longer frames are refused.
        """
        self.assertEqual(encodeFrame(b"\x00" * 9236)[:2], b"\x24\x14")
        self.assertRaises(ValueError, encodeFrame, b"\x00" * 9237)


#: Small random frames, and large ones (up to the maximum) whose bytes are
#: cheap to generate.
frameLists = st.lists(
    st.binary(min_size=1, max_size=300)
    | st.tuples(st.integers(9000, MAX_STREAM_FRAME), st.binary(min_size=1, max_size=8))
    .map(lambda t: (t[1] * t[0])[:t[0]]),
    max_size=8,
)


class DecoderPropertyTests(SynchronousTestCase):
    """
    Properties of the decoder over arbitrary input.
    """

    @settings(max_examples=200, deadline=None)
    @given(frames=frameLists, cuts=st.lists(st.integers(min_value=0), max_size=20))
    def test_anyChunking(self, frames: list[bytes], cuts: list[int]) -> None:
        """
        Any chunking of a valid stream gives back the same frames.
        """
        stream = b"".join(encodeFrame(f) for f in frames)
        points = sorted({c % (len(stream) + 1) for c in cuts})
        chunks = [stream[a:b] for a, b in zip([0] + points, points + [len(stream)])]
        decoder = StreamDecoder()
        out: list[bytes] = []
        for chunk in chunks:
            out += decoder.feed(chunk)
        self.assertEqual(out, frames)
        self.assertEqual(decoder.pendingBytes(), 0)

    @settings(max_examples=300, deadline=None)
    @given(chunks=st.lists(st.binary(max_size=400), max_size=20))
    def test_garbageNeverRaises(self, chunks: list[bytes]) -> None:
        """
        Arbitrary bytes never raise out of C{dataReceived} in default mode,
        and the buffered state stays bounded.
        """
        receiver = RecordingFrameReceiver()
        protocol = StreamFrameProtocol(receiver)
        protocol.makeConnection(StringTransport())
        for chunk in chunks:
            protocol.dataReceived(chunk)
            self.assertLessEqual(protocol.decoder.pendingBytes(), MAX_STREAM_FRAME + 1)
        for frame in receiver.frames:
            self.assertTrue(0 < len(frame) <= MAX_STREAM_FRAME)


class StreamFrameProtocolTests(SynchronousTestCase):
    """
    L{StreamFrameProtocol} over a L{StringTransport}.
    """

    def connect(self, receiver: Any = None, **kwargs: Any) -> tuple[
            StreamFrameProtocol, Any, WriteCountingTransport]:
        """
        Make a connected protocol.

        @param receiver: the receiver, by default a L{RecordingFrameProtocol}.
        @param kwargs: passed to L{StreamFrameProtocol}.
        @return: the protocol, the receiver and the transport.
        """
        if receiver is None:
            receiver = RecordingFrameProtocol()
        protocol = StreamFrameProtocol(receiver, **kwargs)
        transport = WriteCountingTransport()
        protocol.makeConnection(transport)
        return protocol, receiver, transport

    def test_interface(self) -> None:
        """
        The protocol provides L{IFrameTransport}.
        """
        protocol, _, _ = self.connect()
        self.assertTrue(verifyObject(IFrameTransport, protocol))

    def test_makeConnectionForwarded(self) -> None:
        """
        An L{IFrameProtocol} receiver gets the protocol as its transport.
        """
        protocol, receiver, _ = self.connect()
        self.assertIs(receiver.transport, protocol)

    def test_framesDelivered(self) -> None:
        """
        Frames read are delivered and counted.
        """
        protocol, receiver, _ = self.connect()
        protocol.dataReceived(R4_STREAM[:20])
        protocol.dataReceived(R4_STREAM[20:] + R4_STREAM)
        self.assertEqual(receiver.frames, [R4_FRAME, R4_FRAME])
        self.assertEqual((protocol.framesIn, protocol.bytesIn), (2, 120))

    def test_plainReceiver(self) -> None:
        """
        A receiver that is only an L{IFrameReceiver} works too.
        """
        receiver = RecordingFrameReceiver()
        protocol, _, _ = self.connect(receiver)
        protocol.dataReceived(R4_STREAM)
        protocol.connectionLost(Failure(Exception("gone")))
        self.assertEqual(receiver.frames, [R4_FRAME])

    def test_sendFrameOneWrite(self) -> None:
        """
        C{sendFrame} writes header and frame in a single write.
        """
        protocol, _, transport = self.connect()
        protocol.sendFrame(R4_FRAME)
        self.assertEqual(transport.writes, [R4_STREAM])
        self.assertEqual((protocol.framesOut, protocol.bytesOut), (1, 60))

    def test_sendOversizeDropped(self) -> None:
        """
        A frame over the maximum is dropped and counted, not written.
        """
        protocol, _, transport = self.connect()
        protocol.sendFrame(b"\x00" * (MAX_STREAM_FRAME + 1))
        protocol.sendFrame(b"")
        self.assertEqual(transport.writes, [])
        self.assertEqual((protocol.drops, protocol.framesOut), (2, 0))

    def test_sendAfterLostDropped(self) -> None:
        """
        Frames sent after the connection ended are dropped and counted.
        """
        protocol, _, transport = self.connect()
        protocol.connectionLost(connectionDone)
        protocol.sendFrame(R4_FRAME)
        self.assertEqual((transport.writes, protocol.drops), ([], 1))

    def test_connectionLostOnce(self) -> None:
        """
        The receiver hears of the end once, with the reason.
        """
        protocol, receiver, _ = self.connect()
        reason = Failure(Exception("gone"))
        protocol.connectionLost(reason)
        protocol.connectionLost(reason)
        self.assertEqual(receiver.lost, [reason])

    def test_loseConnection(self) -> None:
        """
        C{loseConnection} closes the transport.
        """
        protocol, _, transport = self.connect()
        protocol.loseConnection()
        self.assertTrue(transport.disconnecting)

    def test_producer(self) -> None:
        """
        Pausing and resuming pass through to the byte stream; stopping
        closes it.
        """
        protocol, _, transport = self.connect()
        self.assertTrue(verifyObject(IPushProducer, protocol))
        protocol.pauseProducing()
        self.assertEqual(transport.producerState, "paused")
        protocol.resumeProducing()
        self.assertEqual(transport.producerState, "producing")
        protocol.stopProducing()
        self.assertTrue(transport.disconnecting)

    def test_defaultBadLengthKeepsConnection(self) -> None:
        """
        By default a bad length discards the chunk but keeps the connection.
        """
        protocol, receiver, transport = self.connect()
        protocol.dataReceived(b"\xff\xffjunk")
        protocol.dataReceived(R4_STREAM)
        self.assertFalse(transport.disconnecting)
        self.assertEqual(receiver.frames, [R4_FRAME])
        self.assertEqual(protocol.decoder.lengthErrors, 1)

    def test_strictBadLengthDrops(self) -> None:
        """
        In strict mode a bad length delivers the frames before it, then
        closes the connection.
        """
        protocol, receiver, transport = self.connect(strict=True)
        protocol.dataReceived(R4_STREAM + b"\xff\xffjunk")
        self.assertTrue(transport.disconnecting)
        self.assertEqual(receiver.frames, [R4_FRAME])


class RealVDEPlugStreamTests(TestCase):
    """
    L{StreamFrameProtocol} on the stdin/stdout of Debian's C{vde_plug},
    which is plugged into Debian's C{vde_switch}; a L{VDEPlug} on the same
    switch is the other end.
    """

    skip = SKIP_REASON or (
        None if os.access(VDE_PLUG, os.X_OK) else "%s is not installed" % (VDE_PLUG,))
    timeout = 10

    def setUp(self) -> Deferred[None]:  # type: ignore[override]
        """
        Start a switch, a vde_plug child speaking the stream on its stdio,
        and a datagram plug.
        """
        directory = tempfile.mkdtemp(prefix="vt-stream-")
        self.addCleanup(shutil.rmtree, directory, True)
        self.switch = RealVDESwitch(directory)
        self.switch.start()
        self.addCleanup(self.switch.stop)
        url = "vde://" + self.switch.ctlDir
        return Deferred.fromCoroutine(self._connect(url))

    async def _connect(self, url: str) -> None:
        """
        Connect both ends and wait until the switch lists two endpoints.

        @param url: the switch URL.
        """
        self.streamReceiver = WaitingReceiver()
        endpoint = ProcessEndpoint(
            globalReactor, VDE_PLUG, [VDE_PLUG, "-D", "vt-stream", url],
            env=dict(os.environ))
        self.stream = await connectProtocol(
            endpoint, StreamFrameProtocol(self.streamReceiver))
        self.addCleanup(self._closeStream)
        self.datagramReceiver = WaitingReceiver()
        self.plug = await connectPlug(globalReactor, url, self.datagramReceiver,
                                      "vt-datagram")
        self.addCleanup(self.plug.loseConnection)
        for _ in range(200):
            if len(self.switch.endpoints()) == 2:
                return
            await deferLater(globalReactor, 0.01, lambda: None)
        self.fail("vde_plug did not connect: %r" % (self.switch.endpoints(),))

    async def _closeStreamAsync(self) -> None:
        """
        Close vde_plug's stdin and wait for it to go.
        """
        self.stream.loseConnection()
        await self.streamReceiver.whenLost()

    def _closeStream(self) -> Deferred[None]:
        """
        @return: a Deferred firing once vde_plug has exited.
        """
        return Deferred.fromCoroutine(self._closeStreamAsync())

    def test_streamToDatagram(self) -> Deferred[None]:
        """
        A frame written on vde_plug's stdin arrives at the datagram plug.
        """
        async def run() -> None:
            """
            The test body.
            """
            waiting = self.datagramReceiver.nextFrame()
            self.stream.sendFrame(R4_FRAME)
            self.assertEqual(await waiting, R4_FRAME)
        return Deferred.fromCoroutine(run())

    def test_datagramToStream(self) -> Deferred[None]:
        """
        A frame sent by the datagram plug comes out of vde_plug's stdout,
        framed, and decodes to the same frame.
        """
        async def run() -> None:
            """
            The test body.
            """
            waiting = self.streamReceiver.nextFrame()
            frame = R4_FRAME[:12] + b"\x88\xb5" + b"y" * 1486
            self.plug.sendFrame(frame)
            self.assertEqual(await waiting, frame)
            self.assertEqual(self.stream.decoder.lengthErrors, 0)
        return Deferred.fromCoroutine(run())


class WaitingReceiver(RecordingFrameProtocol):
    """
    A recording frame protocol whose events can be awaited.
    """

    def __init__(self) -> None:
        """
        Start empty.
        """
        RecordingFrameProtocol.__init__(self)
        self._frameWaiters: list[Deferred[bytes]] = []
        self._lostWaiters: list[Deferred[None]] = []

    def frameReceived(self, frame: bytes) -> None:
        """
        Record and wake frame waiters.

        @param frame: the frame.
        """
        RecordingFrameProtocol.frameReceived(self, frame)
        waiters, self._frameWaiters = self._frameWaiters, []
        for d in waiters:
            d.callback(frame)

    def connectionLost(self, reason: object) -> None:
        """
        Record and wake lost waiters.

        @param reason: why.
        """
        RecordingFrameProtocol.connectionLost(self, reason)
        waiters, self._lostWaiters = self._lostWaiters, []
        for d in waiters:
            d.callback(None)

    def nextFrame(self) -> Deferred[bytes]:
        """
        @return: a Deferred firing with the next frame.
        """
        d: Deferred[bytes] = Deferred()
        self._frameWaiters.append(d)
        return d

    async def whenLost(self) -> Failure:
        """
        Wait for C{connectionLost}.

        @return: its reason.
        """
        if not self.lost:
            d: Deferred[None] = Deferred()
            self._lostWaiters.append(d)
            await d
        return self.lost[0]
