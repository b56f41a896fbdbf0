# -*- test-case-name: tests.stack.tcp.test_seq -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Sequence number arithmetic modulo 2**32 (RFC 9293 section 3.4, RFC 1982)
and the initial sequence number generator of RFC 6528.

Two sequence numbers compare by the sign of their 32-bit difference, so
comparisons stay right across wraparound as long as the numbers are less
than 2**31 apart, which TCP's window limits guarantee.
"""

import hashlib
import struct

__all__ = [
    "SEQ_MASK",
    "seqAdd",
    "seqSub",
    "seqLT",
    "seqLE",
    "seqGT",
    "seqGE",
    "seqMax",
    "seqInWindow",
    "initialSequenceNumber",
]

SEQ_MASK = 0xFFFFFFFF
_HALF = 0x80000000


def seqAdd(a: int, n: int) -> int:
    """
    C{a + n} modulo 2**32.

    @param a: a sequence number.
    @param n: an offset, possibly negative.
    @return: a sequence number.
    """
    return (a + n) & SEQ_MASK


def seqSub(a: int, b: int) -> int:
    """
    The signed distance from C{b} to C{a}: C{a - b} as a value in
    M{[-2**31, 2**31)}.

    @param a: a sequence number.
    @param b: a sequence number.
    @return: the difference.
    """
    return ((a - b + _HALF) & SEQ_MASK) - _HALF


def seqLT(a: int, b: int) -> bool:
    """
    Whether C{a} comes before C{b}.

    @param a: a sequence number.
    @param b: a sequence number.
    @return: C{a < b} in sequence space.
    """
    return 0 < ((b - a) & SEQ_MASK) < _HALF


def seqLE(a: int, b: int) -> bool:
    """
    Whether C{a} is C{b} or comes before it.

    @param a: a sequence number.
    @param b: a sequence number.
    @return: C{a <= b} in sequence space.
    """
    return ((b - a) & SEQ_MASK) < _HALF


def seqGT(a: int, b: int) -> bool:
    """
    Whether C{a} comes after C{b}.

    @param a: a sequence number.
    @param b: a sequence number.
    @return: C{a > b} in sequence space.
    """
    return 0 < ((a - b) & SEQ_MASK) < _HALF


def seqGE(a: int, b: int) -> bool:
    """
    Whether C{a} is C{b} or comes after it.

    @param a: a sequence number.
    @param b: a sequence number.
    @return: C{a >= b} in sequence space.
    """
    return ((a - b) & SEQ_MASK) < _HALF


def seqMax(a: int, b: int) -> int:
    """
    The later of two sequence numbers.

    @param a: a sequence number.
    @param b: a sequence number.
    @return: C{a} or C{b}.
    """
    return a if seqGE(a, b) else b


def seqInWindow(s: int, start: int, size: int) -> bool:
    """
    Whether C{start <= s < start + size} in sequence space.

    @param s: the sequence number tested.
    @param start: the window's left edge.
    @param size: the window's size, C{0 <= size < 2**31}.
    @return: whether C{s} is inside.
    """
    return ((s - start) & SEQ_MASK) < size


_ISN = struct.Struct("!4sH4sH")
#: The same for IPv6 (16-byte addresses).
_ISN6 = struct.Struct("!16sH16sH")


def initialSequenceNumber(
    key: bytes,
    localAddress: bytes,
    localPort: int,
    remoteAddress: bytes,
    remotePort: int,
    now: float,
) -> int:
    """
    An initial sequence number as RFC 6528 recommends: M{ISN = M + F(4-tuple,
    secret)} where M is a clock ticking every 4 microseconds and F a keyed
    hash (BLAKE2s with a secret key) of the connection's addresses and ports.

    @param key: the secret, up to 32 bytes (C{os.urandom(16)} at start-up).
    @param localAddress: our address, 4 bytes (16 for IPv6).
    @param localPort: our port.
    @param remoteAddress: the peer's address, 4 bytes (16 for IPv6).
    @param remotePort: the peer's port.
    @param now: the current time in seconds.
    @return: a 32-bit sequence number.
    """
    digest = hashlib.blake2s(
        (_ISN if len(localAddress) == 4 else _ISN6).pack(
            localAddress, localPort, remoteAddress, remotePort),
        digest_size=4,
        key=key,
    ).digest()
    return (int(now * 250000) + int.from_bytes(digest, "big")) & SEQ_MASK
