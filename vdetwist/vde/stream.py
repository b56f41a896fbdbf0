# -*- test-case-name: tests.vde.test_stream -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
VDE stream framing (docs/vde-protocol.md section 3): Ethernet frames over a
byte stream (vde_plug's stdin/stdout, dpipe, ssh cables, C{cmd://}), each
frame preceded by its length as 2 bytes big-endian.

L{StreamDecoder} and L{encodeFrame} are pure; L{StreamFrameProtocol} puts
them on any Twisted byte-stream transport and makes it an
L{IFrameTransport}.

Compatibility with vdeplug4's C{vdestream_recv}:

  - a length of 0 is skipped;
  - a length above L{MAX_STREAM_FRAME} (9236) is an error, after which the
    rest of the current chunk of data is discarded and parsing restarts
    with the next chunk (there is no resynchronisation scan);
  - unlike vdeplug4, a chunk that ends in the middle of a length header
    keeps that byte for the next chunk instead of losing it.
"""

from typing import Any

from twisted.internet.interfaces import IPushProducer
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import IFrameProtocol, IFrameReceiver, IFrameTransport

#: The largest frame length the stream carries: vdeplug4's
#: C{VDE_ETHBUFSIZE + 2} (MAXPACKET in libvdestream.c).
MAX_STREAM_FRAME = 9236

#: The limit used by old vde2 tools and wirefilter's stream parser.
VDE2_MAX_STREAM_FRAME = 1521


class StreamFramingError(ValueError):
    """
    A length header above the maximum arrived (strict mode only).

    @ivar frames: the good frames decoded from the same chunk before the
        bad header; they are still valid and may be delivered.
    @ivar length: the bad length.
    """

    def __init__(self, length: int, maxLength: int, frames: list[bytes]) -> None:
        """
        @param length: the bad length read from the stream.
        @param maxLength: the limit it broke.
        @param frames: the frames decoded before it.
        """
        ValueError.__init__(
            self,
            "VDE stream frame length %d exceeds the maximum %d; "
            "the stream is out of sync" % (length, maxLength))
        self.length = length
        self.frames = frames


class StreamDecoder:
    """
    An incremental decoder of VDE stream framing.

    @ivar maxLength: the largest frame length accepted.
    @ivar strict: raise L{StreamFramingError} on a bad length instead of
        discarding the rest of the chunk.
    @ivar lengthErrors: the number of bad length headers seen.
    @ivar discardedBytes: the number of bytes thrown away after them.
    """

    def __init__(self, maxLength: int = MAX_STREAM_FRAME, strict: bool = False) -> None:
        """
        @param maxLength: the largest frame length accepted (at most 65535).
        @param strict: raise on a bad length instead of resynchronising at
            the next chunk.
        """
        if not 0 < maxLength <= 0xFFFF:
            raise ValueError("maxLength must be in 1..65535, not %r" % (maxLength,))
        self.maxLength = maxLength
        self.strict = strict
        self.lengthErrors = 0
        self.discardedBytes = 0
        self._pending = b""

    def pendingBytes(self) -> int:
        """
        How many bytes of an incomplete frame (or header) are buffered.

        @return: the count; never more than C{maxLength + 1}.
        """
        return len(self._pending)

    def feed(self, data: "bytes | bytearray | memoryview") -> list[bytes]:
        """
        Decode one chunk of the stream.

        @param data: the bytes just read, one chunk (one C{dataReceived}).
        @return: the complete frames, in order.
        @raise StreamFramingError: in strict mode, for a length above the
            maximum; the buffered state is cleared first.
        """
        if self._pending:
            buf = self._pending + data
        elif type(data) is bytes:
            buf = data
        else:
            buf = bytes(data)
        frames: list[bytes] = []
        size = len(buf)
        offset = 0
        maxLength = self.maxLength
        while size - offset >= 2:
            length = (buf[offset] << 8) | buf[offset + 1]
            if length == 0:
                offset += 2
                continue
            if length > maxLength:
                self.lengthErrors += 1
                self.discardedBytes += size - offset
                self._pending = b""
                if self.strict:
                    raise StreamFramingError(length, maxLength, frames)
                return frames
            end = offset + 2 + length
            if end > size:
                break
            frames.append(buf[offset + 2:end])
            offset = end
        self._pending = buf[offset:] if offset < size else b""
        return frames


def encodeFrame(frame: bytes, maxLength: int = MAX_STREAM_FRAME) -> bytes:
    """
    Frame one Ethernet frame for a VDE stream.

    @param frame: the frame.
    @param maxLength: the largest length allowed.
    @return: the 2-byte big-endian length followed by the frame.
    @raise ValueError: when the frame is longer than C{maxLength}.
    """
    length = len(frame)
    if length > maxLength:
        raise ValueError(
            "frame of %d bytes exceeds the VDE stream maximum %d" % (length, maxLength))
    return length.to_bytes(2, "big") + bytes(frame)


@implementer(IFrameTransport, IPushProducer)
class StreamFrameProtocol(Protocol):
    """
    VDE stream framing over any Twisted byte stream (a process's stdio, a
    TCP or SSH connection, a UNIX socket), as an L{IFrameTransport}.

    Frames read from the stream go to C{receiver.frameReceived}; when the
    receiver provides L{IFrameProtocol}, it is also told of the connection
    starting (C{makeConnection(self)}) and ending (C{connectionLost}).

    @ivar receiver: where decoded frames go.
    @ivar decoder: the L{StreamDecoder}; its C{lengthErrors} and
        C{discardedBytes} count framing errors.
    @ivar framesIn: frames delivered to the receiver.
    @ivar bytesIn: their total length.
    @ivar framesOut: frames written.
    @ivar bytesOut: their total length (without headers).
    @ivar drops: frames not written: longer than the maximum, empty, or
        sent while not connected.
    """

    def __init__(
        self,
        receiver: IFrameReceiver,
        maxLength: int = MAX_STREAM_FRAME,
        strict: bool = False,
    ) -> None:
        """
        @param receiver: the frame consumer.
        @param maxLength: the largest frame accepted and sent.
        @param strict: drop the connection on a bad length header instead of
            discarding the rest of the chunk (use for cables, where a
            desynchronised stream should be torn down and redialled).
        """
        self.receiver = receiver
        self.maxLength = maxLength
        self.decoder = StreamDecoder(maxLength, strict)
        self.framesIn = 0
        self.bytesIn = 0
        self.framesOut = 0
        self.bytesOut = 0
        self.drops = 0
        self._frameProtocol: Any = (
            receiver if IFrameProtocol.providedBy(receiver) else None)
        self._lost = False

    def connectionMade(self) -> None:
        """
        Tell an L{IFrameProtocol} receiver that frames may now be sent.
        """
        if self._frameProtocol is not None:
            self._frameProtocol.makeConnection(self)

    def dataReceived(self, data: bytes) -> None:
        """
        Decode frames and deliver them.  In strict mode a bad length header
        delivers the good frames before it, then closes the connection.

        @param data: bytes from the stream.
        """
        try:
            frames = self.decoder.feed(data)
        except StreamFramingError as error:
            self._deliver(error.frames)
            if self.transport is not None:
                self.transport.loseConnection()
            return
        self._deliver(frames)

    def _deliver(self, frames: list[bytes]) -> None:
        """
        Hand frames to the receiver and count them.

        @param frames: decoded frames.
        """
        if not frames:
            return
        frameReceived = self.receiver.frameReceived
        for frame in frames:
            self.framesIn += 1
            self.bytesIn += len(frame)
            frameReceived(frame)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Forward the end of the stream to an L{IFrameProtocol} receiver, once.

        @param reason: why the stream ended.
        """
        self.connected = 0
        if self._frameProtocol is not None and not self._lost:
            self._lost = True
            self._frameProtocol.connectionLost(reason)

    def sendFrame(self, frame: bytes) -> None:
        """
        Write one frame with its length header, in one write.  Frames longer
        than the maximum, empty frames, and frames sent while not connected
        are dropped and counted.

        @param frame: the frame.
        """
        length = len(frame)
        if length > self.maxLength or not length or not self.connected:
            self.drops += 1
            return
        self.framesOut += 1
        self.bytesOut += length
        self.transport.write(  # type: ignore[union-attr]
            length.to_bytes(2, "big") + bytes(frame))

    def loseConnection(self) -> None:
        """
        Close the stream; the receiver's C{connectionLost} follows when the
        transport reports the close.
        """
        if self.transport is not None:
            self.transport.loseConnection()

    # IPushProducer, passed through to the byte stream.

    def pauseProducing(self) -> None:
        """
        Stop reading from the stream (no frames are delivered meanwhile).
        """
        transport: Any = self.transport
        if transport is not None:
            transport.pauseProducing()

    def resumeProducing(self) -> None:
        """
        Read from the stream again.
        """
        transport: Any = self.transport
        if transport is not None:
            transport.resumeProducing()

    def stopProducing(self) -> None:
        """
        Close the stream.
        """
        self.loseConnection()

