# -*- test-case-name: tests.wire.test_pcap -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The classic libpcap file format, for captures readable by tcpdump and
Wireshark: a 24-byte global header, then one 16-byte record header per
frame.  Timestamps are passed in by the caller (this module reads no
clock).  Files are written in the writer's native byte order, as libpcap
does, with microsecond timestamps.
"""

import struct
from typing import BinaryIO, Iterator, List, Tuple, Union

from vdetwist.wire.frames import MalformedPacket

Buffer = Union[bytes, bytearray, memoryview]

__all__ = ["LINKTYPE_ETHERNET", "PcapWriter", "readPcap", "iterPcap"]

MAGIC = 0xA1B2C3D4
MAGIC_NANOSECONDS = 0xA1B23C4D
VERSION_MAJOR = 2
VERSION_MINOR = 4
LINKTYPE_ETHERNET = 1
DEFAULT_SNAPLEN = 262144

#: magic, major, minor, thiszone, sigfigs, snaplen, linktype.
GLOBAL_HEADER = struct.Struct("=IHHiIII")
#: ts_sec, ts_usec, incl_len, orig_len.
RECORD_HEADER = struct.Struct("=IIII")


class PcapWriter:
    """
    Write frames to a pcap file.

    @ivar file: the binary file written to.
    @ivar snaplen: the most bytes of each frame stored.
    @ivar frames: how many frames were written.
    """

    def __init__(
        self, file: BinaryIO, snaplen: int = DEFAULT_SNAPLEN,
        linktype: int = LINKTYPE_ETHERNET,
    ) -> None:
        """
        Write the global header to C{file}.

        @param file: an open binary file.
        @param snaplen: frames longer than this are truncated in the file.
        @param linktype: the link type (1 for Ethernet).
        """
        self.file = file
        self.snaplen = snaplen
        self.frames = 0
        file.write(GLOBAL_HEADER.pack(
            MAGIC, VERSION_MAJOR, VERSION_MINOR, 0, 0, snaplen, linktype))

    def writeFrame(self, frame: Buffer, timestamp: float) -> None:
        """
        Append one frame.

        @param frame: the frame bytes.
        @param timestamp: seconds since the epoch (the caller's clock).
        """
        seconds = int(timestamp)
        micros = int(round((timestamp - seconds) * 1e6))
        if micros >= 1000000:
            seconds, micros = seconds + 1, micros - 1000000
        stored = bytes(frame[:self.snaplen])
        self.file.write(RECORD_HEADER.pack(seconds, micros, len(stored), len(frame)))
        self.file.write(stored)
        self.frames += 1

    def flush(self) -> None:
        """
        Flush the file.
        """
        self.file.flush()


def iterPcap(data: Buffer) -> Iterator[Tuple[float, bytes]]:
    """
    Read the records of a classic pcap file in either byte order.

    @param data: the whole file.
    @return: an iterator of (timestamp, frame) pairs.
    @raise MalformedPacket: the magic number is unknown or a record is
        truncated.
    """
    if len(data) < GLOBAL_HEADER.size:
        raise MalformedPacket("pcap file too short")
    for order in "<>":
        magic = struct.unpack_from(order + "I", data, 0)[0]
        if magic in (MAGIC, MAGIC_NANOSECONDS):
            break
    else:
        raise MalformedPacket("not a pcap file")
    scale = 1e-9 if magic == MAGIC_NANOSECONDS else 1e-6
    record = struct.Struct(order + "IIII")
    offset = GLOBAL_HEADER.size
    while offset < len(data):
        if offset + record.size > len(data):
            raise MalformedPacket("pcap record header truncated")
        seconds, fraction, included, _ = record.unpack_from(data, offset)
        offset += record.size
        if offset + included > len(data):
            raise MalformedPacket("pcap record truncated")
        yield seconds + fraction * scale, bytes(data[offset:offset + included])
        offset += included


def readPcap(data: Buffer) -> List[Tuple[float, bytes]]:
    """
    Read all the records of a classic pcap file.

    @param data: the whole file.
    @return: (timestamp, frame) pairs.
    @raise MalformedPacket: see L{iterPcap}.
    """
    return list(iterPcap(data))
