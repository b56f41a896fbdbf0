# -*- test-case-name: tests.wire.test_checksum -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.checksum}.
"""

import platform
import struct
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.wire import checksum
from vdetwist.wire.checksum import (
    SPLIT,
    checksumForUDP,
    implementationFor,
    internetChecksum,
    internetChecksumBigInt,
    internetChecksumC,
    internetChecksumWords,
    onesComplementSum,
    onesComplementSumBigInt,
    onesComplementSumC,
    onesComplementSumWords,
    pseudoHeaderSum,
    pseudoHeaderSumBigInt,
    pseudoHeaderSumWords,
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


class InternetChecksumTestsMixin:
    """
    Tests for a pair of sum and checksum functions: L{onesComplementSum}
    and L{internetChecksum}, whichever implementation this interpreter
    uses, and each implementation explicitly, so both are tested on every
    interpreter.

    @ivar onesComplementSum: the sum function under test.
    @ivar internetChecksum: the checksum function under test.
    """

    onesComplementSum: Any
    internetChecksum: Any

    #: The property tests below run once per implementation, from each
    #: subclass: the same property of different functions.  A failing
    #: example hypothesis saves from one is replayed on the others, which
    #: must pass it too, so the health check against this is not needed.
    _perImplementation = settings(suppress_health_check=[HealthCheck.differing_executors],
                                  deadline=None)

    def test_rfc1071Example(self) -> None:
        """
        RFC 1071 section 3's example: the words 0001 f203 f4f5 f6f7 sum to
        ddf2 (with carries folded), so the checksum is 220d.
        """
        data = bytes.fromhex("0001f203f4f5f6f7")
        self.assertEqual(self.onesComplementSum(data), 0xDDF2)
        self.assertEqual(self.internetChecksum(data), 0x220D)

    def test_ipv4HeaderExample(self) -> None:
        """
        The widely quoted IPv4 header 4500 0073 0000 4000 4011 ____ c0a8
        0001 c0a8 00c7 has checksum b861, and verifies to 0 with it in
        place.
        """
        header = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
        self.assertEqual(self.internetChecksum(header), 0xB861)
        filled = header[:10] + b"\xb8\x61" + header[12:]
        self.assertEqual(self.internetChecksum(filled), 0)

    def test_allZeros(self) -> None:
        """
        The sum of zeros is +0, so the checksum is 0xffff.
        """
        self.assertEqual(self.onesComplementSum(b"\0" * 10), 0)
        self.assertEqual(self.internetChecksum(b"\0" * 10), 0xFFFF)
        self.assertEqual(self.internetChecksum(b""), 0xFFFF)

    def test_negativeZero(self) -> None:
        """
        Words summing to a multiple of 0xffff give the sum 0xffff ("negative
        zero") and the checksum 0, not 0xffff.
        """
        self.assertEqual(self.onesComplementSum(b"\xff\xff"), 0xFFFF)
        self.assertEqual(self.internetChecksum(b"\x00\x01\xff\xfe"), 0)
        self.assertEqual(self.internetChecksum(b"\xff\xff\xff\xff"), 0)

    def test_oddLength(self) -> None:
        """
        An odd length is padded with a zero byte at the end.
        """
        self.assertEqual(self.internetChecksum(b"\x12"), ~0x1200 & 0xFFFF)
        self.assertEqual(self.internetChecksum(b"\x12\x34\x56"),
                         self.internetChecksum(b"\x12\x34\x56\x00"))

    def test_memoryview(self) -> None:
        """
        Memoryviews and bytearrays are summed like bytes.
        """
        data = bytes(range(37))
        self.assertEqual(self.internetChecksum(memoryview(data)[3:]),
                         self.internetChecksum(data[3:]))
        self.assertEqual(self.internetChecksum(bytearray(data)), self.internetChecksum(data))

    @_perImplementation
    @given(st.binary(max_size=3000), st.lists(st.integers(0, 0xFFFF), max_size=6))
    def test_matchesReference(self, data: bytes, words: list) -> None:
        """
        The folding trick agrees with the word-by-word reference for any
        data and any chained initial words.
        """
        self.assertEqual(self.onesComplementSum(data, sum(words)),
                         referenceSum(data, tuple(words)))
        self.assertEqual(self.internetChecksum(data, sum(words)),
                         referenceChecksum(data, tuple(words)))

    def test_longData(self) -> None:
        """
        Data longer than L{SPLIT}, summed in pieces, gives the reference
        sum at even and odd lengths, from bytes, bytearrays and
        memoryviews, and all zeros still sum to +0.
        """
        for size in (SPLIT + 1, SPLIT + 2, 1460, 1461, 1480, 8960, 65535):
            data = bytes((i * 7 + 3) & 0xFF for i in range(size))
            self.assertEqual(self.internetChecksum(data, 5), referenceChecksum(data, (5,)))
            self.assertEqual(self.onesComplementSum(data, 5), referenceSum(data, (5,)))
            self.assertEqual(self.internetChecksum(memoryview(data)), referenceChecksum(data))
            self.assertEqual(self.internetChecksum(bytearray(data)), referenceChecksum(data))
            self.assertEqual(self.internetChecksum(b"\0" * size), 0xFFFF)
            self.assertEqual(self.onesComplementSum(b"\0" * size), 0)
            self.assertEqual(self.internetChecksum(b"\xff" * (size & ~1)), 0)

    @_perImplementation
    @given(st.binary(min_size=2, max_size=1500).filter(lambda d: len(d) % 2 == 0))
    def test_verifiesToZero(self, data: bytes) -> None:
        """
        Appending the checksum of even-length data makes it verify to 0.
        """
        csum = self.internetChecksum(data)
        self.assertEqual(self.internetChecksum(data + struct.pack("!H", csum)), 0)


class SelectedImplementationTests(InternetChecksumTestsMixin, SynchronousTestCase):
    """
    L{InternetChecksumTestsMixin} for the functions this interpreter uses.
    """

    onesComplementSum = staticmethod(onesComplementSum)
    internetChecksum = staticmethod(internetChecksum)


class BigIntImplementationTests(InternetChecksumTestsMixin, SynchronousTestCase):
    """
    L{InternetChecksumTestsMixin} for the C{int.from_bytes} implementation.
    """

    onesComplementSum = staticmethod(onesComplementSumBigInt)
    internetChecksum = staticmethod(internetChecksumBigInt)


class WordsImplementationTests(InternetChecksumTestsMixin, SynchronousTestCase):
    """
    L{InternetChecksumTestsMixin} for the word-array implementation.
    """

    onesComplementSum = staticmethod(onesComplementSumWords)
    internetChecksum = staticmethod(internetChecksumWords)


def requireHelper(case: SynchronousTestCase) -> None:
    """
    Skip a test of the C helper where it is not built: on PyPy (never
    built there).  On CPython the install builds it (setup.py), so a
    missing helper fails the test, naming what the build needs.

    @param case: the running test.
    """
    if platform.python_implementation() != "CPython":
        case.skipTest("the C checksum helper is built for CPython only")
    if onesComplementSumC is None:
        case.fail("vdetwist.wire._checksum is not built: the install needs gcc and "
                  "Python's headers (Debian: python3-dev); re-run bin/setup")


class CImplementationTests(InternetChecksumTestsMixin, SynchronousTestCase):
    """
    The C helper's functions (CPython).
    """

    onesComplementSum = staticmethod(onesComplementSumC or onesComplementSumBigInt)
    internetChecksum = staticmethod(internetChecksumC or internetChecksumBigInt)

    def setUp(self) -> None:
        requireHelper(self)

    def test_badArguments(self) -> None:
        """
        Wrong arguments are a C{TypeError} or C{ValueError}, as for any
        Python function: no data, too many, an initial sum that is not an
        integer or is negative, data that is not a buffer.
        """
        for function in (onesComplementSumC, internetChecksumC):
            self.assertRaises(TypeError, function)
            self.assertRaises(TypeError, function, b"ab", 1, 2)
            self.assertRaises(TypeError, function, b"ab", 1.5)
            self.assertRaises(TypeError, function, "text")
            self.assertRaises(ValueError, function, b"ab", -1)
            self.assertRaises(ValueError, function, b"ab", -(2 ** 70))

    def test_bigInitial(self) -> None:
        """
        An initial sum above 64 bits (an IPv6 pseudo-header read whole) is
        reduced like any other: a non-zero multiple of 0xffff is negative
        zero, not zero.
        """
        self.assertEqual(onesComplementSumC(b"", 0xFFFF * 2 ** 80), 0xFFFF)
        self.assertEqual(internetChecksumC(b"", 0xFFFF * 2 ** 80), 0)
        self.assertEqual(onesComplementSumC(b"\x00\x01", 2 ** 128 + 5),
                         onesComplementSumBigInt(b"\x00\x01", 2 ** 128 + 5))


class ImplementationTests(SynchronousTestCase):
    """
    The two implementations agree, and each interpreter gets its own.
    """

    @settings(deadline=None)
    @given(st.binary(max_size=3000), st.integers(0, 2 ** 140))
    def test_sameSums(self, data: bytes, initial: int) -> None:
        """
        Both sums agree on any data (odd lengths, zeros, words summing to a
        multiple of 0xffff) with any initial value, including big ones like
        an IPv6 pseudo-header sum.
        """
        self.assertEqual(onesComplementSumWords(data, initial),
                         onesComplementSumBigInt(data, initial))
        self.assertEqual(internetChecksumWords(data, initial),
                         internetChecksumBigInt(data, initial))
        if onesComplementSumC is not None:
            self.assertEqual(onesComplementSumC(data, initial),
                             onesComplementSumBigInt(data, initial))
            self.assertEqual(internetChecksumC(data, initial),
                             internetChecksumBigInt(data, initial))

    @settings(deadline=None)
    @given(st.binary(max_size=3000), st.integers(0, 3000), st.integers(0, 3000),
           st.integers(0, 0xFFFFF))
    def test_sameSumsOfViews(self, data: bytes, start: int, stop: int,
                             initial: int) -> None:
        """
        Both sums agree on memoryview slices (what the IP layers pass) and
        bytearrays, and agree with the same bytes as C{bytes}.
        """
        view = memoryview(data)[start:stop]
        expected = internetChecksumBigInt(bytes(view), initial)
        self.assertEqual(internetChecksumWords(view, initial), expected)
        self.assertEqual(internetChecksumBigInt(view, initial), expected)
        self.assertEqual(internetChecksumWords(bytearray(view), initial), expected)
        self.assertEqual(onesComplementSumWords(view, initial),
                         onesComplementSumBigInt(bytes(view), initial))
        if internetChecksumC is not None:
            self.assertEqual(internetChecksumC(view, initial), expected)
            self.assertEqual(internetChecksumC(bytearray(view), initial), expected)

    def test_largeData(self) -> None:
        """
        Data whose word sum needs more than two folds (over 2**17 bytes of
        0xff) sums to 0xffff, like the reference.
        """
        data = b"\xff" * (1 << 18) + b"\x00\x01"
        self.assertEqual(onesComplementSumWords(data), referenceSum(data))
        self.assertEqual(onesComplementSumBigInt(data), referenceSum(data))
        if onesComplementSumC is not None:
            self.assertEqual(onesComplementSumC(data), referenceSum(data))

    def test_wordTails(self) -> None:
        """
        The word-array sum reads 8-byte words (their sign bit set here) and
        a shorter tail: every tail length, odd or even, sums as the
        reference does.
        """
        for pattern in (b"\xff", b"\x80\x01\xfe", b"\x01\x00\x00\x80"):
            for length in range(0, 40):
                data = (pattern * 40)[:length]
                self.assertEqual(onesComplementSumWords(data), referenceSum(data),
                                 (pattern, length))
                self.assertEqual(internetChecksumWords(data), referenceChecksum(data),
                                 (pattern, length))

    def test_cTails(self) -> None:
        """
        The C helper reads 4-byte words and a 2- or 1-byte tail: every
        tail length, odd or even, at every alignment of a view, sums as
        the reference does.
        """
        requireHelper(self)
        for pattern in (b"\xff", b"\x80\x01\xfe", b"\x01\x00\x00\x80"):
            for length in range(0, 40):
                for offset in range(4):
                    data = memoryview(pattern * 41)[offset:offset + length]
                    self.assertEqual(onesComplementSumC(data), referenceSum(bytes(data)),
                                     (pattern, length, offset))
                    self.assertEqual(internetChecksumC(data), referenceChecksum(bytes(data)),
                                     (pattern, length, offset))

    def test_implementationFor(self) -> None:
        """
        PyPy gets the word-array functions; CPython (and anything else)
        the C helper's when it is built, otherwise the big-integer ones.
        """
        self.assertEqual(implementationFor("PyPy"),
                         (onesComplementSumWords, internetChecksumWords))
        self.assertEqual(implementationFor("PyPy", True),
                         (onesComplementSumWords, internetChecksumWords))
        self.assertEqual(implementationFor("CPython"),
                         (onesComplementSumBigInt, internetChecksumBigInt))
        self.assertEqual(implementationFor("GraalVM"),
                         (onesComplementSumBigInt, internetChecksumBigInt))

    def test_implementationForHelper(self) -> None:
        """
        With the helper built, CPython gets its functions.
        """
        requireHelper(self)
        self.assertEqual(implementationFor("CPython", True),
                         (onesComplementSumC, internetChecksumC))

    def test_selected(self) -> None:
        """
        The module's C{onesComplementSum} and C{internetChecksum} are the
        running interpreter's pair: on CPython, the C helper's (the install
        builds it; see L{requireHelper}).
        """
        self.assertEqual(
            (checksum.onesComplementSum, checksum.internetChecksum),
            implementationFor(platform.python_implementation(),
                              onesComplementSumC is not None))
        if platform.python_implementation() == "CPython":
            requireHelper(self)
            self.assertIs(checksum.internetChecksum, internetChecksumC)


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

    @given(st.sampled_from([4, 16]).flatmap(
               lambda n: st.tuples(st.binary(min_size=n, max_size=n),
                                   st.binary(min_size=n, max_size=n))),
           st.integers(0, 255), st.integers(0, 0xFFFFFFFF), st.binary(max_size=64))
    def test_bothPseudoHeaderSums(self, addresses: tuple, proto: int, length: int,
                                  data: bytes) -> None:
        """
        The word and big-integer pseudo-header sums, for 4- and 16-byte
        addresses, have the same remainder modulo 0xffff and are zero only
        together, so they chain into the same checksum.
        """
        src, dst = addresses
        big = pseudoHeaderSumBigInt(src, dst, proto, length)
        words = pseudoHeaderSumWords(src, dst, proto, length)
        self.assertEqual((big % 0xFFFF, big == 0), (words % 0xFFFF, words == 0))
        self.assertEqual(internetChecksum(data, words), internetChecksum(data, big))

    def test_pseudoHeaderSelected(self) -> None:
        """
        L{pseudoHeaderSum} is the word sum on PyPy, the big-integer one
        elsewhere.
        """
        expected = (pseudoHeaderSumWords if platform.python_implementation() == "PyPy"
                    else pseudoHeaderSumBigInt)
        self.assertIs(pseudoHeaderSum, expected)

    def test_udpZero(self) -> None:
        """
        A computed UDP checksum of 0 is sent as 0xffff; others unchanged.
        """
        self.assertEqual(checksumForUDP(0), 0xFFFF)
        self.assertEqual(checksumForUDP(0x1234), 0x1234)
