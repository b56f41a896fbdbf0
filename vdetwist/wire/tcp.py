# -*- test-case-name: tests.wire.test_tcp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
TCP segments (RFC 9293) and their options: MSS (RFC 9293 3.7.1), window
scale and timestamps (RFC 7323), SACK-permitted and SACK blocks (RFC 2018).

A segment is described by L{TCPSegment}, a small immutable repr (a
C{NamedTuple}, so building one per packet is cheap and tests can compare
them with C{==}).  L{parseSegment} is the checked parse of untrusted bytes:
it verifies lengths and the data offset before reading any field and
raises L{MalformedSegment} (a L{MalformedPacket}) for anything
inconsistent, including options whose length byte is impossible.
L{TCPSegment.encode} builds the bytes, checksum included.

The fixed header is read with one C{struct.unpack_from}; the common option
layouts of data segments (none, or NOP NOP TIMESTAMP) are recognised
without the general option loop.
"""

import struct
from typing import List, NamedTuple, Optional, Tuple, Union

from vdetwist.wire.checksum import internetChecksum, pseudoHeaderSum
from vdetwist.wire.frames import MalformedPacket

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "PROTOCOL_TCP",
    "HEADER_LENGTH",
    "FIN",
    "SYN",
    "RST",
    "PSH",
    "ACK",
    "URG",
    "ECE",
    "CWR",
    "MalformedSegment",
    "TCPSegment",
    "parseSegment",
    "tcpChecksumValid",
    "addressSum",
    "encodeSegment",
    "encodeSegments",
    "formatFlags",
]

PROTOCOL_TCP = 6

#: Length of the fixed header, without options.
HEADER_LENGTH = 20
#: The largest header the data offset can describe.
MAX_HEADER_LENGTH = 60

FIN = 0x01
SYN = 0x02
RST = 0x04
PSH = 0x08
ACK = 0x10
URG = 0x20
ECE = 0x40
CWR = 0x80

OPTION_EOL = 0
OPTION_NOP = 1
OPTION_MSS = 2
OPTION_WINDOW_SCALE = 3
OPTION_SACK_PERMITTED = 4
OPTION_SACK = 5
OPTION_TIMESTAMP = 8

#: Source port, destination port, sequence number, acknowledgment number,
#: data offset / reserved / flags (16 bits), window, checksum, urgent pointer.
HEADER = struct.Struct("!HHIIHHHH")
_TIMESTAMP = struct.Struct("!II")
#: The fixed header followed by NOP NOP TIMESTAMP(TSval, TSecr).
_HEADER_TIMESTAMP = struct.Struct("!HHIIHHHHIII")
_NOP_NOP_TIMESTAMP = b"\x01\x01\x08\x0a"
#: C{tuple.__new__}: builds a L{TCPSegment} from all its fields in one C
#: call, without the frame of the generated constructor (per-segment
#: paths).
_newTuple = tuple.__new__

_FLAG_NAMES = ((FIN, "F"), (SYN, "S"), (RST, "R"), (PSH, "P"), (ACK, "."),
               (URG, "U"), (ECE, "E"), (CWR, "W"))


class MalformedSegment(MalformedPacket):
    """
    Bytes that are not a well-formed TCP segment.
    """


class TCPSegment(NamedTuple):
    """
    One TCP segment, options decoded.

    Flags are the low 8 bits of the header's flags field (L{FIN}, L{SYN},
    ...).  The window is the raw 16-bit field, not scaled.

    @ivar srcPort: the source port.
    @ivar dstPort: the destination port.
    @ivar seq: the sequence number.
    @ivar ack: the acknowledgment number (meaningful with L{ACK}).
    @ivar flags: the control bits.
    @ivar window: the window field.
    @ivar payload: the data.
    @ivar mss: the MSS option's value, or C{None}.
    @ivar windowScale: the window scale option's shift count, or C{None}.
    @ivar sackPermitted: whether the SACK-permitted option is present.
    @ivar sackBlocks: SACK blocks as C{(left, right)} sequence numbers.
    @ivar timestamp: C{(TSval, TSecr)} or C{None}.
    @ivar urgent: the urgent pointer.
    """

    srcPort: int
    dstPort: int
    seq: int
    ack: int
    flags: int
    window: int
    payload: bytes = b""
    mss: Optional[int] = None
    windowScale: Optional[int] = None
    sackPermitted: bool = False
    sackBlocks: Tuple[Tuple[int, int], ...] = ()
    timestamp: Optional[Tuple[int, int]] = None
    urgent: int = 0

    def sequenceLength(self) -> int:
        """
        The sequence space this segment occupies: its data, plus one each
        for SYN and FIN.

        @return: a non-negative integer.
        """
        return len(self.payload) + (self.flags & SYN) // SYN + (self.flags & FIN)

    def optionsBytes(self) -> bytes:
        """
        The options encoded the way Linux lays them out (MSS, SACK-permitted
        and timestamps first, then NOP + window scale, then SACK blocks),
        padded with NOPs/EOL to a multiple of four bytes.

        @return: the options field, possibly empty.
        """
        out = b""
        if self.mss is not None:
            out += struct.pack("!BBH", OPTION_MSS, 4, self.mss)
        if self.timestamp is not None:
            if self.sackPermitted:
                out += b"\x04\x02\x08\x0a"
            else:
                out += _NOP_NOP_TIMESTAMP
            out += _TIMESTAMP.pack(*self.timestamp)
        elif self.sackPermitted:
            out += b"\x01\x01\x04\x02"
        if self.windowScale is not None:
            out += struct.pack("!BBBB", OPTION_NOP, OPTION_WINDOW_SCALE, 3,
                               self.windowScale)
        if self.sackBlocks:
            out += struct.pack("!BBBB", OPTION_NOP, OPTION_NOP, OPTION_SACK,
                               2 + 8 * len(self.sackBlocks))
            for left, right in self.sackBlocks:
                out += _TIMESTAMP.pack(left, right)
        if len(out) & 3:
            out += b"\x00" * (4 - (len(out) & 3))
        if len(out) > MAX_HEADER_LENGTH - HEADER_LENGTH:
            raise ValueError("TCP options longer than 40 bytes")
        return out

    def encode(self, source: bytes, destination: bytes) -> bytes:
        """
        Build the segment's bytes, checksum included.

        @param source: the IPv4 source address, 4 bytes (for the
            pseudo-header; 16 bytes for IPv6).
        @param destination: the IPv4 destination address, 4 bytes.
        @return: header, options and payload.
        """
        return encodeSegment(self, addressSum(source, destination))


def addressSum(source: bytes, destination: bytes) -> int:
    """
    The part of a TCP pseudo-header sum that stays the same for every
    segment of a connection (its addresses and protocol number), for
    L{encodeSegment}.

    @param source: the source address, 4 bytes (16 for IPv6).
    @param destination: the destination address.
    @return: a non-negative integer, not folded.
    """
    # (pseudoHeaderSum reads the addresses without big integers on PyPy.)
    return pseudoHeaderSum(source, destination, PROTOCOL_TCP, 0)


def encodeSegment(segment: TCPSegment, pseudo: int) -> bytes:
    """
    Build a segment's bytes, checksum included: L{TCPSegment.encode} with
    the addresses' part of the pseudo-header summed beforehand (once per
    connection).

    The header's fields are summed as integers (a 32-bit word is congruent
    to the sum of its two halves modulo 0xffff, as 2**16 = 1), so the
    header of a segment with no options or only timestamps is packed
    once, with its checksum, and joined to the payload: one copy of the
    data.

    @param segment: the segment.
    @param pseudo: L{addressSum}C{(source, destination)}.
    @return: header, options and payload.
    """
    (srcPort, dstPort, seq, ack, flags, window, payload, mss, windowScale,
     sackPermitted, sackBlocks, timestamp, urgent) = segment
    if mss is None and windowScale is None and not sackPermitted and not sackBlocks:
        if timestamp is not None:
            # The usual data segment: NOP NOP TIMESTAMP.
            tsVal, tsEcr = timestamp
            offsetFlags = 0x8000 | flags
            csum = internetChecksum(payload, pseudo + 32 + len(payload) + (
                srcPort << 16 | dstPort) + seq + ack + (offsetFlags << 16 | window)
                + urgent + 0x0101080A + tsVal + tsEcr)
            return _HEADER_TIMESTAMP.pack(srcPort, dstPort, seq, ack, offsetFlags, window,
                                          csum, urgent, 0x0101080A, tsVal, tsEcr) + payload
        offsetFlags = 0x5000 | flags
        csum = internetChecksum(payload, pseudo + 20 + len(payload) + (
            srcPort << 16 | dstPort) + seq + ack + (offsetFlags << 16 | window) + urgent)
        return HEADER.pack(srcPort, dstPort, seq, ack, offsetFlags, window, csum,
                           urgent) + payload
    options = segment.optionsBytes()
    headerLength = HEADER_LENGTH + len(options)
    offsetFlags = (headerLength << 10) | flags
    csum = internetChecksum(payload, pseudo + headerLength + len(payload) + (
        srcPort << 16 | dstPort) + seq + ack + (offsetFlags << 16 | window) + urgent
        + int.from_bytes(options, "big"))
    return HEADER.pack(srcPort, dstPort, seq, ack, offsetFlags, window, csum,
                       urgent) + options + payload


def encodeSegments(segment: TCPSegment, pseudo: int, size: int) -> List[bytes]:
    """
    Segmentation offload (what a NIC's TSO does): cut a segment whose data
    runs over C{size} bytes into segments of C{size} bytes each (the last
    may be shorter), each with the same header but its own sequence
    number and checksum; PSH and FIN go on the last only.  The result is
    byte for byte what L{encodeSegment} gives for each piece.

    @param segment: the segment, data of any length.
    @param pseudo: L{addressSum}C{(source, destination)}.
    @param size: the data per segment (the connection's MSS), positive.
    @return: the encoded segments, in order.
    """
    (srcPort, dstPort, seq, ack, flags, window, payload, mss, windowScale,
     sackPermitted, sackBlocks, timestamp, urgent) = segment
    total = len(payload)
    if total <= size:
        return [encodeSegment(segment, pseudo)]
    view = memoryview(payload)
    last = total - size
    middleFlags = flags & ~(PSH | FIN)
    if (mss is None and windowScale is None and not sackPermitted and not sackBlocks
            and timestamp is not None and not urgent):
        # The bulk sender's case: every full piece's header differs from
        # the first only in its sequence number, so its checksum's sum is
        # the shared part plus that.
        tsVal, tsEcr = timestamp
        offsetFlags = 0x8000 | middleFlags
        shared = (pseudo + 32 + size + (srcPort << 16 | dstPort) + ack
                  + (offsetFlags << 16 | window) + 0x0101080A + tsVal + tsEcr)
        pack = _HEADER_TIMESTAMP.pack
        out = []
        append = out.append
        position = 0
        while position < last:
            piece = view[position:position + size]
            append(pack(srcPort, dstPort, seq, ack, offsetFlags, window,
                        internetChecksum(piece, shared + seq), 0, 0x0101080A, tsVal, tsEcr)
                   + piece)
            seq = (seq + size) & 0xFFFFFFFF
            position += size
        out.append(encodeSegment(segment._replace(seq=seq, payload=bytes(view[position:])),
                                 pseudo))
        return out
    out = []
    position = 0
    while position < last:
        out.append(encodeSegment(segment._replace(
            seq=seq, flags=middleFlags, payload=bytes(view[position:position + size])), pseudo))
        seq = (seq + size) & 0xFFFFFFFF
        position += size
    out.append(encodeSegment(segment._replace(seq=seq, payload=bytes(view[position:])), pseudo))
    return out


def tcpChecksumValid(source: bytes, destination: bytes, segment: Buffer) -> bool:
    """
    Whether a TCP segment's checksum verifies.

    @param source: the IPv4 source, 4 bytes.
    @param destination: the IPv4 destination, 4 bytes.
    @param segment: the whole segment (header and data).
    @return: C{True} when correct.
    """
    return internetChecksum(
        segment, pseudoHeaderSum(source, destination, PROTOCOL_TCP, len(segment))
    ) == 0


def _parseOptions(
    buffer: Buffer, start: int, end: int
) -> Tuple[Optional[int], Optional[int], bool, Tuple[Tuple[int, int], ...],
           Optional[Tuple[int, int]]]:
    """
    Decode an options field, checking every length byte.

    @param buffer: the segment.
    @param start: the offset of the first option byte.
    @param end: the offset just past the options (the data offset).
    @return: C{(mss, windowScale, sackPermitted, sackBlocks, timestamp)}.
    @raise MalformedSegment: an option runs past the header, or has a
        length its kind does not allow.
    """
    mss = None
    windowScale = None
    sackPermitted = False
    sackBlocks: Tuple[Tuple[int, int], ...] = ()
    timestamp = None
    i = start
    while i < end:
        kind = buffer[i]
        if kind == OPTION_EOL:
            break
        if kind == OPTION_NOP:
            i += 1
            continue
        if i + 1 >= end:
            raise MalformedSegment(f"TCP option {kind} has no length byte")
        length = buffer[i + 1]
        if length < 2 or i + length > end:
            raise MalformedSegment(f"TCP option {kind} has bad length {length}")
        if kind == OPTION_MSS:
            if length != 4:
                raise MalformedSegment(f"MSS option length {length}")
            mss = (buffer[i + 2] << 8) | buffer[i + 3]
        elif kind == OPTION_WINDOW_SCALE:
            if length != 3:
                raise MalformedSegment(f"window scale option length {length}")
            windowScale = buffer[i + 2]
        elif kind == OPTION_SACK_PERMITTED:
            if length != 2:
                raise MalformedSegment(f"SACK-permitted option length {length}")
            sackPermitted = True
        elif kind == OPTION_SACK:
            if (length - 2) % 8 or length == 2:
                raise MalformedSegment(f"SACK option length {length}")
            sackBlocks = tuple(
                _TIMESTAMP.unpack_from(buffer, j)
                for j in range(i + 2, i + length, 8)
            )
        elif kind == OPTION_TIMESTAMP:
            if length != 10:
                raise MalformedSegment(f"timestamp option length {length}")
            timestamp = _TIMESTAMP.unpack_from(buffer, i + 2)
        # Unknown options are skipped by their length.
        i += length
    return mss, windowScale, sackPermitted, sackBlocks, timestamp


def parseSegment(buffer: Buffer) -> TCPSegment:
    """
    Parse a TCP segment from untrusted bytes (checksum not verified: see
    L{tcpChecksumValid}).

    @param buffer: the IP payload, exactly the segment.
    @return: the decoded segment; its payload is C{bytes}.
    @raise MalformedSegment: the segment is shorter than its header, the
        data offset is below 5 or past the end, or an option is malformed.
    """
    size = len(buffer)
    if size >= 32 and buffer[12] >> 4 == 8:
        (srcPort, dstPort, seq, ack, offsetFlags, window, _, urgent, kinds, tsVal,
         tsEcr) = _HEADER_TIMESTAMP.unpack_from(buffer)
        if kinds == 0x0101080A:
            # NOP NOP TIMESTAMP, the options of most segments, read with the
            # header; the segment is built as the tuple it is, without the
            # generated constructor's frame.
            return _newTuple(TCPSegment, (srcPort, dstPort, seq, ack, offsetFlags & 0xFF,
                                          window, bytes(buffer[32:]), None, None, False,
                                          (), (tsVal, tsEcr), urgent))
    if size < HEADER_LENGTH:
        raise MalformedSegment(f"TCP segment too short: {size} bytes")
    srcPort, dstPort, seq, ack, offsetFlags, window, _, urgent = (
        HEADER.unpack_from(buffer)
    )
    headerLength = (offsetFlags >> 10) & 0x3C
    if headerLength < HEADER_LENGTH or headerLength > size:
        raise MalformedSegment(f"TCP data offset {headerLength} bytes in a "
                               f"{size}-byte segment")
    payload = bytes(buffer[headerLength:])
    flags = offsetFlags & 0xFF
    if headerLength == HEADER_LENGTH:
        return _newTuple(TCPSegment, (srcPort, dstPort, seq, ack, flags, window, payload,
                                      None, None, False, (), None, urgent))
    mss, windowScale, sackPermitted, sackBlocks, timestamp = _parseOptions(
        buffer, HEADER_LENGTH, headerLength
    )
    return TCPSegment(srcPort, dstPort, seq, ack, flags, window, payload, mss,
                      windowScale, sackPermitted, sackBlocks, timestamp, urgent)


def formatFlags(flags: int) -> str:
    """
    The flags as tcpdump writes them (C{"S."} for SYN+ACK).

    @param flags: the control bits.
    @return: a short string, C{"none"} when no flag is set.
    """
    return "".join(name for bit, name in _FLAG_NAMES if flags & bit) or "none"
