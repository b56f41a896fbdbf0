# -*- test-case-name: tests.wire.test_checksum -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.checksum}.
"""

import struct

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.wire.checksum import (
    SPLIT,
    checksumForUDP,
    internetChecksum,
    onesComplementSum,
    pseudoHeaderSum,
)


def referenceSum(data: bytes, initialWords: tuple = ()) -> int:
    """
    The one's-complement sum the slow way of RFC 1071 section 4.1: add
    16-bit words, fold carries back in.

    @param data: the bytes.
    @param initialWords: extra 16-bit words to add.
    @return: the folded sum.
    """
    if len(data) % 2:
        data += b"\0"
    total = sum(initialWords)
    for (word,) in struct.iter_unpack("!H", data):
        total += word
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def referenceChecksum(data: bytes, initialWords: tuple = ()) -> int:
    """
    The Internet checksum the slow way.

    @param data: the bytes.
    @param initialWords: extra 16-bit words to add.
    @return: the complemented folded sum.
    """
    return ~referenceSum(data, initialWords) & 0xFFFF


class InternetChecksumTests(SynchronousTestCase):
    """
    Tests for L{internetChecksum} and L{onesComplementSum}.
    """

    def test_rfc1071Example(self) -> None:
        """
        RFC 1071 section 3's example: the words 0001 f203 f4f5 f6f7 sum to
        ddf2 (with carries folded), so the checksum is 220d.
        """
        data = bytes.fromhex("0001f203f4f5f6f7")
        self.assertEqual(onesComplementSum(data), 0xDDF2)
        self.assertEqual(internetChecksum(data), 0x220D)

    def test_ipv4HeaderExample(self) -> None:
        """
        The widely quoted IPv4 header 4500 0073 0000 4000 4011 ____ c0a8
        0001 c0a8 00c7 has checksum b861, and verifies to 0 with it in
        place.
        """
        header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
        self.assertEqual(internetChecksum(header), 0xB861)
        filled = header[:10] + b"\xb8\x61" + header[12:]
        self.assertEqual(internetChecksum(filled), 0)

    def test_allZeros(self) -> None:
        """
        The sum of zeros is +0, so the checksum is 0xffff.
        """
        self.assertEqual(onesComplementSum(b"\0" * 10), 0)
        self.assertEqual(internetChecksum(b"\0" * 10), 0xFFFF)
        self.assertEqual(internetChecksum(b""), 0xFFFF)

    def test_negativeZero(self) -> None:
        """
        Words summing to a multiple of 0xffff give the sum 0xffff ("negative
        zero") and the checksum 0, not 0xffff.
        """
        self.assertEqual(onesComplementSum(b"\xff\xff"), 0xFFFF)
        self.assertEqual(internetChecksum(b"\x00\x01\xff\xfe"), 0)
        self.assertEqual(internetChecksum(b"\xff\xff\xff\xff"), 0)

    def test_oddLength(self) -> None:
        """
        An odd length is padded with a zero byte at the end.
        """
        self.assertEqual(internetChecksum(b"\x12"), ~0x1200 & 0xFFFF)
        self.assertEqual(internetChecksum(b"\x12\x34\x56"),
                         internetChecksum(b"\x12\x34\x56\x00"))

    def test_memoryview(self) -> None:
        """
        Memoryviews and bytearrays are summed like bytes.
        """
        data = bytes(range(37))
        self.assertEqual(internetChecksum(memoryview(data)[3:]),
                         internetChecksum(data[3:]))
        self.assertEqual(internetChecksum(bytearray(data)), internetChecksum(data))

    @given(st.binary(max_size=3000), st.lists(st.integers(0, 0xFFFF), max_size=6))
    def test_matchesReference(self, data: bytes, words: list) -> None:
        """
        The folding trick agrees with the word-by-word reference for any
        data and any chained initial words.
        """
        self.assertEqual(onesComplementSum(data, sum(words)),
                         referenceSum(data, tuple(words)))
        self.assertEqual(internetChecksum(data, sum(words)),
                         referenceChecksum(data, tuple(words)))

    def test_longData(self) -> None:
        """
        Data longer than L{SPLIT}, summed in pieces, gives the reference
        sum at even and odd lengths, from bytes, bytearrays and
        memoryviews, and all zeros still sum to +0.
        """
        for size in (SPLIT + 1, SPLIT + 2, 1460, 1461, 1480, 8960, 65535):
            data = bytes((i * 7 + 3) & 0xFF for i in range(size))
            self.assertEqual(internetChecksum(data, 5), referenceChecksum(data, (5,)))
            self.assertEqual(onesComplementSum(data, 5), referenceSum(data, (5,)))
            self.assertEqual(internetChecksum(memoryview(data)), referenceChecksum(data))
            self.assertEqual(internetChecksum(bytearray(data)), referenceChecksum(data))
            self.assertEqual(internetChecksum(b"\0" * size), 0xFFFF)
            self.assertEqual(onesComplementSum(b"\0" * size), 0)
            self.assertEqual(internetChecksum(b"\xff" * (size & ~1)), 0)

    @given(st.binary(min_size=2, max_size=1500).filter(lambda d: len(d) % 2 == 0))
    def test_verifiesToZero(self, data: bytes) -> None:
        """
        Appending the checksum of even-length data makes it verify to 0.
        """
        csum = internetChecksum(data)
        self.assertEqual(internetChecksum(data + struct.pack("!H", csum)), 0)


class PseudoHeaderTests(SynchronousTestCase):
    """
    Tests for L{pseudoHeaderSum} and L{checksumForUDP}.
    """

    @given(st.binary(min_size=4, max_size=4), st.binary(min_size=4, max_size=4),
           st.integers(0, 255), st.integers(0, 0xFFFF), st.binary(max_size=200))
    def test_pseudoHeaderEquivalent(self, src: bytes, dst: bytes, proto: int,
                                    length: int, data: bytes) -> None:
        """
        Chaining L{pseudoHeaderSum} gives the checksum of the explicit
        12-byte pseudo-header followed by the data.
        """
        explicit = src + dst + struct.pack("!BBH", 0, proto, length) + data
        self.assertEqual(
            internetChecksum(data, pseudoHeaderSum(src, dst, proto, length)),
            referenceChecksum(explicit),
        )

    def test_udpZero(self) -> None:
        """
        A computed UDP checksum of 0 is sent as 0xffff; others unchanged.
        """
        self.assertEqual(checksumForUDP(0), 0xFFFF)
        self.assertEqual(checksumForUDP(0x1234), 0x1234)
