# -*- test-case-name: tests.stack.tcp.test_seq -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.tcp.seq}.
"""

from hypothesis import given
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.stack.tcp.seq import (
    initialSequenceNumber,
    seqAdd,
    seqGE,
    seqGT,
    seqInWindow,
    seqLE,
    seqLT,
    seqMax,
    seqSub,
)

seqs = st.integers(0, 0xFFFFFFFF)
offsets = st.integers(1, 0x7FFFFFFF)


class SequenceArithmeticTests(SynchronousTestCase):
    """
    Comparisons modulo 2**32.
    """

    def test_wraparound(self) -> None:
        """
        0xffffffff comes just before 0.
        """
        self.assertTrue(seqLT(0xFFFFFFFF, 0))
        self.assertTrue(seqGT(0, 0xFFFFFFFF))
        self.assertEqual(seqSub(0, 0xFFFFFFFF), 1)
        self.assertEqual(seqSub(0xFFFFFFFF, 0), -1)
        self.assertEqual(seqAdd(0xFFFFFFFF, 2), 1)
        self.assertEqual(seqMax(0xFFFFFFF0, 5), 5)

    def test_window(self) -> None:
        """
        seqInWindow covers [start, start + size) across the wrap.
        """
        self.assertTrue(seqInWindow(0xFFFFFFFF, 0xFFFFFFF0, 100))
        self.assertTrue(seqInWindow(10, 0xFFFFFFF0, 100))
        self.assertFalse(seqInWindow(84, 0xFFFFFFF0, 100))
        self.assertFalse(seqInWindow(0xFFFFFFEF, 0xFFFFFFF0, 100))
        self.assertFalse(seqInWindow(5, 5, 0))

    @given(seqs, offsets)
    def test_orderProperties(self, a: int, n: int) -> None:
        """
        For any a and 0 < n < 2**31: a < a+n, a+n > a, and the difference
        is n.
        """
        b = seqAdd(a, n)
        self.assertTrue(seqLT(a, b) and seqLE(a, b) and seqGT(b, a) and seqGE(b, a))
        self.assertFalse(seqLT(b, a) or seqGT(a, b))
        self.assertEqual(seqSub(b, a), n)
        self.assertTrue(seqLE(a, a) and seqGE(a, a) and not seqLT(a, a))


class InitialSequenceNumberTests(SynchronousTestCase):
    """
    RFC 6528 ISNs.
    """

    def test_dependsOnTupleKeyAndClock(self) -> None:
        """
        The ISN changes with the 4-tuple, the key, and time (4 us ticks).
        """
        key = b"k" * 16
        a = initialSequenceNumber(key, b"\x01\x02\x03\x04", 80, b"\x05\x06\x07\x08", 1000, 0)
        self.assertNotEqual(
            a, initialSequenceNumber(key, b"\x01\x02\x03\x04", 80, b"\x05\x06\x07\x08", 1001, 0))
        self.assertNotEqual(
            a, initialSequenceNumber(b"j" * 16, b"\x01\x02\x03\x04", 80, b"\x05\x06\x07\x08", 1000, 0))
        self.assertEqual(
            seqSub(initialSequenceNumber(key, b"\x01\x02\x03\x04", 80, b"\x05\x06\x07\x08",
                                         1000, 1.0), a), 250000)
