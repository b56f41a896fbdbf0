# -*- test-case-name: tests.switch.test_capture -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Packet capture on a switch port, to a pcap file tshark and Wireshark read
(C{port/capture PORT FILE} on the console), or streamed live over the
console connection (C{port/stream PORT}, what C{vdetwist capture} uses).
A VLAN is streamed too (C{vlan/stream N}): every frame the switch takes
into it, as it entered (L{vlanCapturingForward}).

Both directions are written: what the port sends into the switch and what
the switch sends out of it.  The file is created with mode 0600 (captures
hold other people's traffic) and has a size bound; past it, frames are
counted and not written.
"""

import os
import time
from typing import Any, Callable, Optional

from zope.interface import implementer
from twisted.internet.interfaces import IPushProducer

from vdetwist.wire.frames import MAX_FRAME
from vdetwist.wire.pcap import (
    GLOBAL_HEADER, LINKTYPE_ETHERNET, MAGIC, RECORD_HEADER, VERSION_MAJOR, VERSION_MINOR,
    PcapWriter)

#: The default bound on a capture file, in bytes.
DEFAULT_MAX_BYTES = 1 << 30


class PortCapture:
    """
    A pcap file being written.

    @ivar path: the file.
    @ivar frames: frames written.
    @ivar dropped: frames not written because the bound was reached.
    """

    def __init__(self, path: str, maxBytes: int = DEFAULT_MAX_BYTES,
                 clock: Callable[[], float] = time.time) -> None:
        """
        Create (or truncate) the file and write the pcap header.

        @param path: where to write.
        @param maxBytes: the size bound.
        @param clock: the time source for frame timestamps.
        @raise OSError: when the file cannot be created.
        """
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        self.file: Any = os.fdopen(fd, "wb", buffering=1 << 16)
        self.path = path
        self.writer = PcapWriter(self.file)
        self.clock = clock
        self.maxBytes = maxBytes
        self.written = 24
        self.frames = 0
        self.dropped = 0

    def __call__(self, frame: bytes) -> None:
        """
        Write one frame (never raises: a full disk stops the capture).

        @param frame: the frame.
        """
        size = 16 + len(frame)
        if self.file is None or self.written + size > self.maxBytes:
            self.dropped += 1
            return
        try:
            self.writer.writeFrame(frame, self.clock())
        except OSError:
            self.dropped += 1
            self.close()
            return
        self.written += size
        self.frames += 1

    def close(self) -> None:
        """
        Flush and close the file.
        """
        if self.file is not None:
            try:
                self.file.close()
            except OSError:
                pass
            self.file = None


def wrapSend(send: Callable[[bytes], None], capture: PortCapture) -> Callable[[bytes], None]:
    """
    A port send function that captures what it sends.

    @param send: the port's send function.
    @param capture: the capture.
    @return: the wrapped function.
    """
    def capturingSend(frame: bytes) -> None:
        capture(frame)
        send(frame)
    return capturingSend


#: The snap length a stream announces (frames are never longer).
STREAM_SNAPLEN = 65535
#: The bytes a stream may queue for a reader that is behind, before frames
#: are dropped (the transport's buffer bound, which pauses the stream).
STREAM_BUFFER = 4 << 20


@implementer(IPushProducer)
class StreamCapture:
    """
    A live pcap stream of a port, written to a connection (the console
    session that asked with C{port/stream}).

    The stream is its connection's producer: when the reader stops
    reading and the connection's buffer fills (L{STREAM_BUFFER}, set as
    the transport's C{bufferSize}), the transport pauses it and frames are
    counted in L{dropped} instead of queued, so a stalled reader costs a
    bounded buffer and never more memory.

    @ivar transport: the connection.
    @ivar path: what C{port/nocapture} prints for it.
    @ivar frames: frames written.
    @ivar dropped: frames not written because the reader was not reading.
    @ivar started: the pcap header has been written.
    @ivar paused: the reader is not reading.
    """

    path = "(live stream)"

    def __init__(self, transport: Any, clock: Callable[[], float] = time.time,
                 stopped: Optional[Callable[["StreamCapture"], None]] = None,
                 bufferSize: int = STREAM_BUFFER) -> None:
        """
        @param transport: the connection to write to.
        @param clock: the time source for frame timestamps.
        @param stopped: called once when the stream ends by the reader's
            side (the connection closed), to remove it from the port.
        @param bufferSize: the bytes queued at most for a slow reader.
        """
        self.transport = transport
        if hasattr(transport, "bufferSize"):
            transport.bufferSize = bufferSize
        self.clock = clock
        self.stoppedCallback = stopped
        self.frames = 0
        self.dropped = 0
        self.started = False
        self.paused = False
        self.closed = False

    def start(self) -> None:
        """
        Write the pcap header (once; the first frame writes it if this has
        not run yet).
        """
        if not self.started and not self.closed:
            self.started = True
            self.transport.write(GLOBAL_HEADER.pack(
                MAGIC, VERSION_MAJOR, VERSION_MINOR, 0, 0, STREAM_SNAPLEN, LINKTYPE_ETHERNET))

    def __call__(self, frame: bytes) -> None:
        """
        Write one frame, or count it when the reader is behind.

        @param frame: the frame.
        """
        if self.paused or self.closed:
            self.dropped += 1
            return
        if not self.started:
            self.start()
        now = self.clock()
        seconds = int(now)
        n = len(frame)
        self.transport.write(RECORD_HEADER.pack(
            seconds, int((now - seconds) * 1000000), n, n) + frame)
        self.frames += 1

    def pauseProducing(self) -> None:
        """
        The reader's buffer is full: drop until it drains.
        """
        self.paused = True

    def resumeProducing(self) -> None:
        """
        The reader reads again.
        """
        self.paused = False

    def stopProducing(self) -> None:
        """
        The connection is going away: stop capturing.
        """
        if not self.closed:
            self.closed = True
            callback, self.stoppedCallback = self.stoppedCallback, None
            if callback is not None:
                callback(self)

    def close(self) -> None:
        """
        End the stream (C{port/nocapture}, or the port's capture replaced):
        what is buffered is sent, then the connection closes.
        """
        if not self.closed:
            self.closed = True
            self.stoppedCallback = None
            try:
                self.transport.unregisterProducer()
            except RuntimeError:
                pass
            self.transport.loseConnection()


def vlanCapturingForward(switch: Any, forward: Callable[[Any, bytes], None]
                         ) -> Callable[[Any, bytes], None]:
    """
    The switch's forwarding path while VLANs are captured: each frame the
    switch admits into a captured VLAN is given to that VLAN's capture as
    it entered (tagged or not, as its port sent it), then forwarded by
    C{forward}.  The switch installs this only while
    C{switch.vlanCaptures} is not empty, so forwarding pays nothing for
    VLAN capture otherwise.  In hub mode no frame is in a VLAN.

    @param switch: the L{vdetwist.switch.switch.Switch} (its C{hub},
        C{vlans} and C{vlanCaptures} are read per frame).
    @param forward: the forwarding path to call after.
    @return: the capturing path, with the ingress port and the frame.
    """
    captures = switch.vlanCaptures

    def frameFromPortCapturing(port: Any, frame: bytes) -> None:
        n = len(frame)
        if 14 <= n <= MAX_FRAME and not switch.hub:
            if frame[12] == 0x81 and frame[13] == 0:
                vid = ((frame[14] & 0x0F) << 8) | frame[15] if n >= 18 else -1
                if vid != port.untagged and vid not in port.tagged:
                    vid = -1
            else:
                vid = port.untagged
            capture = captures.get(vid)
            if capture is not None and vid in switch.vlans:
                capture(frame)
        forward(port, frame)
    return frameFromPortCapturing

