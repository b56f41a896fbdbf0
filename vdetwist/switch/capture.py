# -*- test-case-name: tests.switch.test_capture -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Packet capture on a switch port, to a pcap file tshark and Wireshark read
(C{port/capture PORT FILE} on the console).

Both directions are written: what the port sends into the switch and what
the switch sends out of it.  The file is created with mode 0600 (captures
hold other people's traffic) and has a size bound; past it, frames are
counted and not written.
"""

import os
import time
from typing import Any, Callable

from vdetwist.wire.pcap import PcapWriter

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
