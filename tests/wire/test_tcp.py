# -*- test-case-name: tests.wire.test_tcp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.tcp}: an annotated fixture, malformed input, and
scapy as an independent oracle in both directions.
"""

import random
import struct
from typing import Optional, Tuple

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from tests.wire.test_checksum import referenceChecksum
from vdetwist.wire.tcp import (
    ACK,
    FIN,
    PSH,
    RST,
    SYN,
    MalformedSegment,
    TCPSegment,
    addressSum,
    encodeSegment,
    encodeSegments,
    formatFlags,
    parseSegment,
    tcpChecksumValid,
)

SOURCE = bytes([10, 0, 0, 1])
DESTINATION = bytes([10, 0, 0, 2])

#: A SYN from 10.0.0.1:1234 to 10.0.0.2:80 laid out as Linux lays out its
#: SYN options; the checksum was computed by scapy 2.x.
SYN_FIXTURE = bytes.fromhex(
    "04d2"  # source port 1234
    "0050"  # destination port 80
    "00000001"  # sequence number 1
    "00000002"  # acknowledgment number 2
    "a0"  # data offset 10 words (40 bytes), reserved 0
    "02"  # flags: SYN
    "03e8"  # window 1000
    "2aee"  # checksum
    "0000"  # urgent pointer 0
    "020405b4"  # MSS (kind 2, length 4) 1460
    "0402"  # SACK permitted (kind 4, length 2)
    "080a0000000100000002"  # timestamps (kind 8, length 10) TSval 1 TSecr 2
    "01"  # NOP
    "030307"  # window scale (kind 3, length 3) shift 7
)

SYN_REPR = dict(
    srcPort=1234, dstPort=80, seq=1, ack=2, flags=SYN, window=1000,
    payload=b"", mss=1460, windowScale=7, sackPermitted=True,
    timestamp=(1, 2),
)

#: A data segment with NOP NOP TIMESTAMP, the usual layout of Linux data.
DATA_FIXTURE = bytes.fromhex(
    "0050"  # source port 80
    "04d2"  # destination port 1234
    "fffffff0"  # sequence number (near wraparound)
    "00000010"  # acknowledgment number 16
    "80"  # data offset 8 words (32 bytes)
    "18"  # flags: PSH ACK
    "ffff"  # window 65535
    "0000"  # checksum (filled below by the code under test, checked by scapy)
    "0000"  # urgent pointer
    "0101080a"  # NOP NOP timestamps kind 8 length 10
    "deadbeef"  # TSval
    "01020304"  # TSecr
) + b"hello"


class TCPSegmentFixtureTests(SynchronousTestCase):
    """
    The annotated fixtures decode and encode.
    """

    def test_parseSYN(self) -> None:
        """
        The SYN fixture decodes into its options.
        """
        self.assertEqual(parseSegment(SYN_FIXTURE), TCPSegment(**SYN_REPR))

    def test_encodeSYN(self) -> None:
        """
        Encoding the SYN repr gives the fixture's bytes, checksum included.
        """
        self.assertEqual(TCPSegment(**SYN_REPR).encode(SOURCE, DESTINATION), SYN_FIXTURE)

    def test_checksumValid(self) -> None:
        """
        The fixture's checksum verifies; flipping any byte breaks it.
        """
        self.assertTrue(tcpChecksumValid(SOURCE, DESTINATION, SYN_FIXTURE))
        for i in range(len(SYN_FIXTURE)):
            bad = bytearray(SYN_FIXTURE)
            bad[i] ^= 0x40
            self.assertFalse(tcpChecksumValid(SOURCE, DESTINATION, bytes(bad)), i)
        self.assertFalse(tcpChecksumValid(DESTINATION, SOURCE + b"", SYN_FIXTURE[:-1]))

    def test_parseDataFastPath(self) -> None:
        """
        NOP NOP TIMESTAMP data segments decode (the fast path).
        """
        segment = parseSegment(DATA_FIXTURE)
        self.assertEqual(
            segment,
            TCPSegment(80, 1234, 0xFFFFFFF0, 16, PSH | ACK, 65535, b"hello",
                       timestamp=(0xDEADBEEF, 0x01020304)),
        )

    def test_sequenceLength(self) -> None:
        """
        SYN and FIN each take one sequence number, data one per byte.
        """
        self.assertEqual(TCPSegment(1, 2, 0, 0, SYN, 0).sequenceLength(), 1)
        self.assertEqual(TCPSegment(1, 2, 0, 0, SYN | FIN, 0, b"abc").sequenceLength(), 5)
        self.assertEqual(TCPSegment(1, 2, 0, 0, ACK, 0, b"abc").sequenceLength(), 3)

    def test_formatFlags(self) -> None:
        """
        Flags print as tcpdump prints them.
        """
        self.assertEqual(formatFlags(SYN | ACK), "S.")
        self.assertEqual(formatFlags(RST), "R")
        self.assertEqual(formatFlags(0), "none")

    def test_optionsTooLong(self) -> None:
        """
        Options that cannot fit in 40 bytes are refused when encoding.
        """
        segment = TCPSegment(1, 2, 0, 0, ACK, 0, mss=1460, timestamp=(1, 2),
                             sackBlocks=((1, 2), (3, 4), (5, 6), (7, 8)))
        self.assertRaises(ValueError, segment.encode, SOURCE, DESTINATION)


class MalformedSegmentTests(SynchronousTestCase):
    """
    L{parseSegment} checks lengths before reading fields.
    """

    def assertMalformed(self, data: bytes) -> None:
        """
        Assert that parsing C{data} raises L{MalformedSegment}.

        @param data: the bytes.
        """
        self.assertRaises(MalformedSegment, parseSegment, data)

    def withOptions(self, options: bytes) -> bytes:
        """
        A SYN header carrying C{options} (padded by the caller).

        @param options: the options bytes, a multiple of 4 long.
        @return: the segment bytes (checksum not filled).
        """
        words = 5 + len(options) // 4
        return (SYN_FIXTURE[:12] + bytes([words << 4, SYN]) + SYN_FIXTURE[14:20]
                + options)

    def test_truncated(self) -> None:
        """
        Anything shorter than 20 bytes is malformed.
        """
        for n in range(20):
            self.assertMalformed(SYN_FIXTURE[:n])

    def test_dataOffsetTooSmall(self) -> None:
        """
        A data offset below 5 words is malformed.
        """
        for words in range(5):
            data = bytearray(SYN_FIXTURE)
            data[12] = words << 4
            self.assertMalformed(bytes(data))

    def test_dataOffsetPastEnd(self) -> None:
        """
        A data offset past the end of the segment is malformed.
        """
        self.assertMalformed(SYN_FIXTURE[:36])

    def test_badOptionLengths(self) -> None:
        """
        Options with impossible lengths are malformed: a length below 2,
        an option running past the header, wrong fixed lengths.
        """
        for options in [
            b"\x02\x00\x00\x00",  # MSS with length 0
            b"\x02\x01\x00\x00",  # MSS with length 1
            b"\x02\x03\x05\x01",  # MSS with length 3
            b"\x02\x08\x05\xb4",  # MSS running past the header
            b"\x03\x04\x07\x00",  # window scale with length 4
            b"\x04\x03\x00\x00",  # SACK permitted with length 3
            b"\x08\x06\x00\x00\x00\x01\x00\x00",  # timestamps with length 6
            b"\x05\x02\x00\x00",  # SACK with no block
            b"\x05\x0b" + b"\x00" * 10,  # SACK with a partial block
            b"\x01\x01\x01\x02",  # kind 2 with no length byte
            b"\x01\x01\x01\xfe",  # unknown kind with no length byte
        ]:
            self.assertMalformed(self.withOptions(options))

    def test_unknownOptionSkipped(self) -> None:
        """
        An unknown option with a sane length is skipped.
        """
        segment = parseSegment(self.withOptions(b"\xfe\x04\x00\x00\x02\x04\x02\x00"))
        self.assertEqual(segment.mss, 512)

    def test_endOfOptionList(self) -> None:
        """
        Parsing stops at EOL; what follows is padding.
        """
        segment = parseSegment(self.withOptions(b"\x00\x02\x00\x00"))
        self.assertIsNone(segment.mss)


class ScapyOracleTests(SynchronousTestCase):
    """
    scapy builds segments we parse, and parses segments we build.
    """

    if scapy is None:
        skip = SKIP_REASON

    def scapySegment(self, segment: TCPSegment) -> bytes:
        """
        Build with scapy the segment C{segment} describes.

        @param segment: the repr.
        @return: the TCP bytes with scapy's checksum.
        """
        options = []
        if segment.mss is not None:
            options.append(("MSS", segment.mss))
        # The layout vdetwist (and Linux) use: NOPs pad SACK-permitted or
        # timestamps to a 4-byte boundary unless they pair up.
        if segment.sackPermitted and segment.timestamp is not None:
            options.append(("SAckOK", b""))
            options.append(("Timestamp", segment.timestamp))
        elif segment.sackPermitted:
            options += [("NOP", None), ("NOP", None), ("SAckOK", b"")]
        elif segment.timestamp is not None:
            options += [("NOP", None), ("NOP", None), ("Timestamp", segment.timestamp)]
        if segment.windowScale is not None:
            options.append(("NOP", None))
            options.append(("WScale", segment.windowScale))
        if segment.sackBlocks:
            options.append(("NOP", None))
            options.append(("NOP", None))
            options.append(("SAck", tuple(x for block in segment.sackBlocks for x in block)))
        packet = scapy.IP(src="10.0.0.1", dst="10.0.0.2") / scapy.TCP(
            sport=segment.srcPort, dport=segment.dstPort, seq=segment.seq,
            ack=segment.ack, flags=segment.flags, window=segment.window,
            options=options,
        ) / scapy.Raw(segment.payload)
        return bytes(packet)[20:]

    def randomSegments(self, n: int) -> list:
        """
        @param n: how many.
        @return: random segment reprs with a variety of options.
        """
        rng = random.Random(7)
        out = []
        for _ in range(n):
            kind = rng.randrange(4)
            out.append(TCPSegment(
                rng.randrange(65536), rng.randrange(65536), rng.getrandbits(32),
                rng.getrandbits(32), rng.choice([SYN, SYN | ACK, ACK, ACK | PSH, FIN | ACK, RST]),
                rng.randrange(65536), rng.randbytes(rng.randrange(0, 60)),
                mss=rng.randrange(65536) if kind == 0 else None,
                windowScale=rng.randrange(15) if kind == 0 else None,
                sackPermitted=kind == 0,
                timestamp=(rng.getrandbits(32), rng.getrandbits(32)) if kind in (0, 1, 3) else None,
                sackBlocks=tuple((rng.getrandbits(32), rng.getrandbits(32))
                                 for _ in range(rng.randrange(1, 4))) if kind == 3 else (),
            ))
        return out

    def test_parseScapy(self) -> None:
        """
        Segments built by scapy parse into the reprs they were built from,
        and their checksums verify.
        """
        for segment in self.randomSegments(200):
            data = self.scapySegment(segment)
            self.assertTrue(tcpChecksumValid(SOURCE, DESTINATION, data))
            self.assertEqual(parseSegment(data), segment)

    def test_encodeMatchesScapy(self) -> None:
        """
        Our encoding equals scapy's, byte for byte (option layout and
        checksum, including odd payload lengths).
        """
        for segment in self.randomSegments(200):
            self.assertEqual(segment.encode(SOURCE, DESTINATION), self.scapySegment(segment))

    def test_scapyParsesOurs(self) -> None:
        """
        scapy decodes our data fixture with the fields we encoded and
        agrees with our checksum.
        """
        ours = parseSegment(DATA_FIXTURE).encode(SOURCE, DESTINATION)
        packet = scapy.TCP(ours)
        self.assertEqual(packet.seq, 0xFFFFFFF0)
        self.assertEqual(bytes(packet.payload), b"hello")
        self.assertIn(("Timestamp", (0xDEADBEEF, 0x01020304)), packet.options)
        rebuilt = scapy.IP(src="10.0.0.1", dst="10.0.0.2") / scapy.TCP(ours)
        del rebuilt[scapy.TCP].chksum
        self.assertEqual(bytes(rebuilt)[20:], ours)


class EncodeSegmentsTests(SynchronousTestCase):
    """
    L{encodeSegments} cuts a segment carrying a run of full segments' data
    into what L{encodeSegment} gives for each piece (segmentation offload).
    """

    pseudo = addressSum(SOURCE, DESTINATION)

    def expected(self, segment: TCPSegment, size: int):
        """
        The pieces one by one through L{encodeSegment}: the same header,
        each its own sequence number, PSH and FIN on the last only.
        """
        out = []
        payload = segment.payload
        for start in range(0, len(payload), size):
            last = start + size >= len(payload)
            out.append(encodeSegment(segment._replace(
                seq=(segment.seq + start) & 0xFFFFFFFF,
                payload=payload[start:start + size],
                flags=segment.flags if last else segment.flags & ~(PSH | FIN)), self.pseudo))
        return out

    def check(self, segment: TCPSegment, size: int) -> None:
        """
        L{encodeSegments} gives L{expected}, every piece's checksum verifies
        and the pieces' data is the segment's.
        """
        got = encodeSegments(segment, self.pseudo, size)
        self.assertEqual(got, self.expected(segment, size))
        for piece in got:
            self.assertTrue(tcpChecksumValid(SOURCE, DESTINATION, piece))
        self.assertEqual(b"".join(parseSegment(piece).payload for piece in got),
                         segment.payload)

    def test_timestamps(self) -> None:
        """
        The bulk sender's segment (timestamps, ACK|PSH) across a sequence
        number wraparound, the last piece shorter, PSH on it only.
        """
        segment = TCPSegment(80, 1234, 0xFFFFF000, 99, ACK | PSH, 502,
                             bytes(range(256)) * 40, timestamp=(0xDEADBEEF, 7))
        got = encodeSegments(segment, self.pseudo, 1448)
        self.assertEqual(len(got), 8)
        self.assertEqual([parseSegment(piece).flags for piece in got], [ACK] * 7 + [ACK | PSH])
        self.assertEqual(parseSegment(got[3]).seq, (0xFFFFF000 + 3 * 1448) & 0xFFFFFFFF)
        self.check(segment, 1448)

    def test_exactMultiple(self) -> None:
        """
        Data a whole number of pieces long: every piece full.
        """
        segment = TCPSegment(80, 1234, 5, 6, ACK, 1000, b"ab" * 1500, timestamp=(1, 2))
        self.assertEqual([len(parseSegment(piece).payload)
                          for piece in encodeSegments(segment, self.pseudo, 1000)],
                         [1000, 1000, 1000])
        self.check(segment, 1000)

    def test_otherOptions(self) -> None:
        """
        Without timestamps, or with SACK blocks, or with FIN, the general
        way gives the same as piece by piece.
        """
        self.check(TCPSegment(80, 1234, 5, 6, ACK | FIN, 1000, b"x" * 2500), 1000)
        self.check(TCPSegment(80, 1234, 5, 6, ACK, 1000, b"y" * 2500,
                              sackBlocks=((100, 200),), timestamp=(3, 4)), 1000)

    def test_short(self) -> None:
        """
        A segment within the size is encoded as it is.
        """
        segment = TCPSegment(80, 1234, 5, 6, ACK | PSH, 1000, b"z" * 1000, timestamp=(1, 2))
        self.assertEqual(encodeSegments(segment, self.pseudo, 1000),
                         [encodeSegment(segment, self.pseudo)])
        empty = TCPSegment(80, 1234, 5, 6, ACK, 1000)
        self.assertEqual(encodeSegments(empty, self.pseudo, 1000),
                         [encodeSegment(empty, self.pseudo)])

    @settings(max_examples=200, deadline=None)
    @given(st.integers(0, 0xFFFFFFFF), st.integers(1, 9000), st.integers(1, 3000),
           st.sampled_from([ACK, ACK | PSH, ACK | FIN, ACK | PSH | FIN]),
           st.booleans())
    def test_property(self, seq: int, length: int, size: int, flags: int,
                      timestamps: bool) -> None:
        """
        Property: for any data length, piece size, sequence number and
        flags, the pieces are what L{encodeSegment} gives one by one.
        """
        payload = bytes((seq + i) % 251 for i in range(length))
        segment = TCPSegment(80, 1234, seq, 77, flags, 4000, payload,
                             timestamp=(seq ^ 5, 9) if timestamps else None)
        self.check(segment, size)


class PropertyTests(SynchronousTestCase):
    """
    Properties of the codec over arbitrary input.
    """

    @settings(max_examples=500, deadline=None)
    @given(st.binary(max_size=80))
    def test_parseArbitraryBytes(self, data: bytes) -> None:
        """
        Property: any bytes either parse or raise L{MalformedSegment},
        never anything else.
        """
        try:
            parseSegment(data)
        except MalformedSegment:
            pass

    @settings(max_examples=300, deadline=None)
    @given(
        st.builds(
            TCPSegment,
            st.integers(0, 65535), st.integers(0, 65535),
            st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1),
            st.integers(0, 255), st.integers(0, 65535), st.binary(max_size=100),
            st.one_of(st.none(), st.integers(0, 65535)),
            st.one_of(st.none(), st.integers(0, 14)),
            st.booleans(),
            st.lists(st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)),
                      max_size=2).map(tuple),
            st.one_of(st.none(), st.tuples(st.integers(0, 2**32 - 1),
                                              st.integers(0, 2**32 - 1))),
            st.integers(0, 65535),
        )
    )
    def test_roundTrip(self, segment: TCPSegment) -> None:
        """
        Property: encoding then parsing gives the segment back, with a
        valid checksum.
        """
        data = segment.encode(SOURCE, DESTINATION)
        self.assertTrue(tcpChecksumValid(SOURCE, DESTINATION, data))
        self.assertEqual(parseSegment(data), segment)

    @settings(max_examples=100, deadline=None)
    @given(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 255),
           st.binary(max_size=100),
           st.one_of(st.none(), st.tuples(st.integers(0, 2**32 - 1),
                                             st.integers(0, 2**32 - 1))),
           st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16))
    def test_checksumIPv6(self, seq: int, ack: int, flags: int, payload: bytes,
                          timestamp: Optional[Tuple[int, int]], source: bytes,
                          destination: bytes) -> None:
        """
        Property: a segment encoded with 16-byte addresses carries the
        checksum of the IPv6 pseudo-header (RFC 8200 section 8.1) computed
        independently, word by word.
        """
        segment = TCPSegment(5001, 40000, seq, ack, flags, 65535, payload,
                             timestamp=timestamp)
        data = segment.encode(source, destination)
        pseudo = source + destination + struct.pack("!IxxxB", len(data), 6)
        self.assertEqual(referenceChecksum(pseudo + data), 0)
        self.assertTrue(tcpChecksumValid(source, destination, data))
