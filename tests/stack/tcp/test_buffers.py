# -*- test-case-name: tests.stack.tcp.test_buffers -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.stack.tcp.buffers}.
"""

import random

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.stack.tcp.buffers import ReassemblyBuffer, ReceiveBuffer, SendBuffer


class SendBufferTests(SynchronousTestCase):
    """
    The send buffer.
    """

    def test_peekConsume(self) -> None:
        """
        peek reads at offsets from the first unacknowledged byte; consume
        drops from the front.
        """
        b = SendBuffer(100)
        b.write(b"hello ")
        b.write(b"world")
        self.assertEqual(len(b), 11)
        self.assertEqual(b.peek(6, 100), b"world")
        b.consume(6)
        self.assertEqual(b.peek(0, 3), b"wor")
        self.assertEqual(b.space(), 95)
        b.consume(5)
        self.assertEqual(len(b), 0)

    def test_compaction(self) -> None:
        """
        Large consumed prefixes are reclaimed without changing contents.
        """
        b = SendBuffer(1 << 20)
        payload = bytes(range(256)) * 1024
        b.write(payload)
        b.consume(200000)
        b.write(b"tail")
        self.assertEqual(b.peek(0, 1 << 20), payload[200000:] + b"tail")

    def test_peekAcrossWrites(self) -> None:
        """
        A peek spanning several writes, and one starting inside a partly
        acknowledged write, read the bytes in order; memoryviews and
        bytearrays written are held as bytes.
        """
        b = SendBuffer(100)
        b.write(b"a" * 3000)
        b.write(bytearray(b"b" * 3000))
        b.write(memoryview(b"c" * 3000))
        b.consume(2500)
        self.assertEqual(b.peek(0, 1000), b"a" * 500 + b"b" * 500)
        self.assertEqual(b.peek(400, 4000), b"a" * 100 + b"b" * 3000 + b"c" * 900)
        self.assertEqual(b.peek(6490, 100), b"c" * 10)
        self.assertEqual(b.peek(6500, 10), b"")
        self.assertIs(type(b.peek(600, 10)), bytes)

    @given(st.lists(st.tuples(st.sampled_from(["write", "peek", "consume"]),
                              st.integers(0, 5000), st.integers(0, 5000)), max_size=60))
    def test_model(self, operations: list) -> None:
        """
        Any sequence of writes (short ones are joined, long ones kept),
        peeks and consumes gives the bytes a plain C{bytes} model gives.
        """
        b = SendBuffer(1 << 16)
        model = b""
        counter = 0
        for operation, x, y in operations:
            if operation == "write":
                data = bytes((counter + i) & 0xFF for i in range(x))
                counter += x
                b.write(data)
                model += data
            elif operation == "peek":
                self.assertEqual(b.peek(x, y), model[x:x + y])
            else:
                n = min(x, len(model))
                b.consume(n)
                model = model[n:]
            self.assertEqual(len(b), len(model))
            self.assertEqual(b.space(), max(0, (1 << 16) - len(model)))


class ReceiveBufferTests(SynchronousTestCase):
    """
    The in-order receive buffer.
    """

    def test_readJoins(self) -> None:
        """
        read returns all chunks joined and empties the buffer.
        """
        b = ReceiveBuffer(10)
        b.write(b"ab")
        b.write(b"cd")
        self.assertEqual((len(b), b.space()), (4, 6))
        self.assertEqual(b.read(), b"abcd")
        self.assertEqual(b.read(), b"")


class ReassemblyBufferTests(SynchronousTestCase):
    """
    The out-of-order buffer.
    """

    def test_holeFilled(self) -> None:
        """
        Pieces after a hole come out once the hole's offset is reached.
        """
        b = ReassemblyBuffer()
        b.add(10, b"klmno")
        b.add(20, b"uvw")
        self.assertEqual(b.pop(0), [])
        self.assertEqual(b.blocks(4), [(20, 23), (10, 15)])
        self.assertEqual(b"".join(b.pop(10)), b"klmno")
        self.assertEqual(b.firstStart(), 20)

    def test_overlapsTrimmed(self) -> None:
        """
        Overlapping input is stored once.
        """
        b = ReassemblyBuffer()
        b.add(10, b"abcde")
        b.add(8, b"XXabcdefg")
        self.assertEqual(b.bytes, 9)
        self.assertEqual(b.blocks(4), [(8, 17)])
        self.assertEqual(b"".join(b.pop(8)), b"XXabcdefg")

    def test_bounded(self) -> None:
        """
        Beyond maxPieces, new pieces are refused.
        """
        b = ReassemblyBuffer(maxPieces=2)
        self.assertTrue(b.add(10, b"a"))
        self.assertTrue(b.add(20, b"b"))
        self.assertFalse(b.add(30, b"c"))
        self.assertEqual(len(b), 2)

    @settings(max_examples=200, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 50)), max_size=30),
           st.integers(0, 2**32))
    def test_reassemblesAnyOrder(self, pieces: list, seed: int) -> None:
        """
        Property: whatever the order and overlaps of the pieces of a
        stream, popping from 0 yields exactly the contiguous prefix covered,
        and the SACK blocks cover exactly what is held.
        """
        stream = bytes(random.Random(seed).randbytes(300))
        b = ReassemblyBuffer(maxPieces=10000)
        covered = set()
        for start, length in pieces:
            b.add(start, stream[start:start + length])
            covered.update(range(start, min(start + length, 300)))
        heldBlocks = b.blocks(10000)
        held = set()
        for start, end in heldBlocks:
            held.update(range(start, end))
        self.assertEqual(held, covered)
        prefix = 0
        while prefix in covered:
            prefix += 1
        self.assertEqual(b"".join(b.pop(0)), stream[:prefix])
