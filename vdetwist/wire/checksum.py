# -*- test-case-name: tests.wire.test_checksum -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The Internet checksum (RFC 1071) and the TCP/UDP pseudo-header sum.

The sum is computed with the folding trick: because M{2**16 = 1 (mod
0xffff)}, the one's-complement sum of the 16-bit big-endian words of some
data is congruent to the whole data read as one big-endian integer, modulo
C{0xffff}.  C{int.from_bytes} does that in C, about twenty times faster
than a loop over words.  The only care needed is the representation of
zero: a one's-complement sum is C{0} only when every word is zero, and
C{0xffff} ("negative zero") whenever the sum of non-zero words is a
multiple of C{0xffff}.

The modulo costs more than the conversion (CPython divides digit by digit
and allocates the quotient): above L{SPLIT} bytes the data is read as four
integers of even-length quarters, each congruent to its words' sum, whose
sum is a quarter as long to divide (about 25% less time per 1460-byte
segment, 38% per 8960-byte one).

Usage::

    # Computing: fill the checksum field with zeros, then
    csum = internetChecksum(header)
    # Verifying: a correct packet (checksum in place) gives 0
    ok = internetChecksum(header) == 0
    # TCP/UDP: chain the pseudo-header sum in through C{initial}
    csum = internetChecksum(segment, pseudoHeaderSum(src, dst, 6, len(segment)))

There are three implementations of the sum, with identical results, and
the module picks the fastest one for the running interpreter at import
(L{implementationFor}):

  - C{vdetwist.wire._checksum}, an optional C helper built on CPython by
    the install (setup.py; L{onesComplementSumC}, L{internetChecksumC}):
    about 0.15 us per 1480 bytes, a twentieth of the big-integer sum, which
    was a third of the virtual host's time sending.  C{None} when it is
    not built (no compiler or Python headers at install, or PyPy);
  - C{int.from_bytes} and one modulo (L{onesComplementSumBigInt},
    L{internetChecksumBigInt}), for CPython, whose big integers are fast
    (about 3 us per 1480 bytes; summing 16-bit words there costs 10-13 us);
  - the native-order words of an C{array.array("q")}, summed as 32-bit
    halves and folded, then byte-swapped on a little-endian machine
    (L{onesComplementSumWords}, L{internetChecksumWords}), for PyPy, whose
    JIT sums the words in a tight loop of machine integers (about 0.6 us
    per 1480 bytes, against 0.95 for 16-bit words and 4 us for
    C{int.from_bytes}, whose result is a big integer there).  The
    one's-complement sum does not depend on the byte order it is computed
    in, up to a final swap of its two bytes (RFC 1071 section 2(B)).
"""

import platform
import struct
import sys
from array import array
from typing import Protocol, Tuple, Union

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "onesComplementSum",
    "internetChecksum",
    "pseudoHeaderSum",
    "checksumForUDP",
    "onesComplementSumBigInt",
    "internetChecksumBigInt",
    "onesComplementSumWords",
    "internetChecksumWords",
    "implementationFor",
    "onesComplementSumC",
    "internetChecksumC",
    "pseudoHeaderSumBigInt",
    "pseudoHeaderSumWords",
]

try:
    from vdetwist.wire import _checksum
except ImportError:  # not built: no compiler at install, or not CPython
    _checksum = None

#: The C helper's sum and checksum (same signatures and results as
#: L{onesComplementSumBigInt} and L{internetChecksumBigInt}), or C{None}
#: when it is not built.
onesComplementSumC = _checksum.onesComplementSum if _checksum is not None else None
internetChecksumC = _checksum.internetChecksum if _checksum is not None else None

#: Whether an C{array("H")} holds its words little-endian, so that their
#: folded sum is the big-endian sum byte-swapped.
_LITTLE_ENDIAN = sys.byteorder == "little"


#: Above this many bytes, data is summed in four pieces (see the module
#: docstring).
SPLIT = 512


def _sum(data: Buffer, initial: int) -> int:
    """
    A non-negative integer congruent to the sum of C{data}'s 16-bit
    big-endian words plus C{initial} modulo C{0xffff}, zero only when they
    all are.

    @param data: the bytes; an odd length is padded with a zero byte.
    @param initial: a non-negative partial sum.
    @return: the integer, not folded.
    """
    size = len(data)
    if size <= SPLIT:
        n = int.from_bytes(data, "big")
        if size & 1:
            n <<= 8
        return n + initial
    # Quarters of even length (the last takes the rest): each read as a
    # big-endian integer is congruent to the sum of its words, as
    # 2**16 = 1 (mod 0xffff); only the last can be odd and need the pad.
    q = (size >> 3) << 1
    last = int.from_bytes(data[3 * q:], "big")
    if size & 1:
        last <<= 8
    return (int.from_bytes(data[:q], "big") + int.from_bytes(data[q:q + q], "big")
            + int.from_bytes(data[q + q:3 * q], "big") + last + initial)


def onesComplementSumBigInt(data: Buffer, initial: int = 0) -> int:
    """
    The 16-bit one's-complement sum of C{data}'s big-endian words, plus
    C{initial}, not complemented.

    This is the implementation for CPython: the whole of C{data} read as
    one big-endian integer (in quarters above L{SPLIT} bytes), reduced modulo
    C{0xffff} (the folding trick).

    @param data: the bytes to sum; an odd length is padded with one zero
        byte at the end (RFC 1071), without copying.
    @param initial: a partial sum to add in (for instance
        L{pseudoHeaderSum}); any non-negative integer, folded like the data.
    @return: the folded sum, C{0} only when C{data} and C{initial} are all
        zero, otherwise in C{1..0xffff}.
    """
    n = _sum(data, initial)
    if n == 0:
        return 0
    r = n % 0xFFFF
    return r if r else 0xFFFF


def internetChecksumBigInt(data: Buffer, initial: int = 0) -> int:
    """
    The Internet checksum of C{data} (RFC 1071): the one's complement of
    the one's-complement sum of its 16-bit words.

    This is the implementation for CPython (see
    L{onesComplementSumBigInt}).

    @param data: the bytes to checksum (odd lengths are padded with a zero
        byte at the end).
    @param initial: a partial, uncomplemented sum to chain in, such as
        L{pseudoHeaderSum}C{(source, destination, protocol, length)}.
    @return: the checksum, an integer in C{0..0xffff}.
    """
    size = len(data)
    if size > SPLIT:
        # _sum, inlined: this runs for every TCP segment sent and received.
        q = (size >> 3) << 1
        last = int.from_bytes(data[3 * q:], "big")
        if size & 1:
            last <<= 8
        n = (int.from_bytes(data[:q], "big") + int.from_bytes(data[q:q + q], "big")
             + int.from_bytes(data[q + q:3 * q], "big") + last + initial)
    else:
        n = int.from_bytes(data, "big")
        if size & 1:
            n <<= 8
        n += initial
    if n == 0:
        return 0xFFFF
    r = n % 0xFFFF
    # r == 0 with n != 0 is the sum 0xffff, whose complement is 0.
    return 0xFFFF - r if r else 0


def _wordSum(data: Buffer) -> int:
    """
    The sum of C{data}'s 16-bit big-endian words, folded to at most 16
    bits but not reduced further: C{0} only when every byte is zero,
    otherwise congruent to the words' sum modulo C{0xffff} and in
    C{1..0xffff}.

    The data is read as native-order 64-bit words (an C{array("q")}), each
    added as its two 32-bit halves (machine integers on PyPy, whatever
    the sign bit; each half is congruent to the sum of its two 16-bit
    words, as C{2**16 = 1 (mod 0xffff)}): a quarter of the iterations of
    a loop over 16-bit words (PyPy, 1480 bytes: 0.6 us against 0.95).  A
    tail shorter than 8 bytes is read whole, little-endian.  The folded
    sum is byte-swapped on a little-endian machine (RFC 1071 section
    2(B)); an odd last byte is added as the high byte of a padded word.

    @param data: the bytes.
    @return: the folded sum.
    """
    size = len(data)
    body = size & ~7
    words = array("q")
    words.frombytes(data if body == size else data[:body])
    low = high = 0
    for word in words:
        low += word & 0xFFFFFFFF
        high += (word >> 32) & 0xFFFFFFFF
    total = low + high
    last = 0
    if body != size:
        end = size
        if size & 1:
            end -= 1
            last = data[end]
        if end > body:
            total += int.from_bytes(data[body:end], "little" if _LITTLE_ENDIAN else "big")
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    if _LITTLE_ENDIAN:
        total = ((total & 0xFF) << 8) | (total >> 8)
    return total + (last << 8)


def onesComplementSumWords(data: Buffer, initial: int = 0) -> int:
    """
    L{onesComplementSumBigInt}'s result, computed over the machine words of
    an C{array}: the implementation for PyPy.

    @param data: the bytes to sum; an odd length is padded with one zero
        byte at the end (RFC 1071).
    @param initial: a partial sum to add in; any non-negative integer.
    @return: the folded sum, C{0} only when C{data} and C{initial} are all
        zero, otherwise in C{1..0xffff}.
    """
    n = _wordSum(data) + initial
    if n == 0:
        return 0
    r = n % 0xFFFF
    return r if r else 0xFFFF


def internetChecksumWords(data: Buffer, initial: int = 0) -> int:
    """
    L{internetChecksumBigInt}'s result, computed over the machine words of
    an C{array}: the implementation for PyPy.

    @param data: the bytes to checksum (odd lengths are padded with a zero
        byte at the end).
    @param initial: a partial, uncomplemented sum to chain in.
    @return: the checksum, an integer in C{0..0xffff}.
    """
    n = _wordSum(data) + initial
    if n == 0:
        return 0xFFFF
    r = n % 0xFFFF
    return 0xFFFF - r if r else 0


class _Summer(Protocol):
    """
    The signature of the sum and checksum functions.
    """

    def __call__(self, data: Buffer, initial: int = 0) -> int:
        """
        @param data: the bytes.
        @param initial: a partial sum to chain in.
        @return: the sum or checksum.
        """


def implementationFor(interpreter: str, helper: bool = False) -> Tuple[_Summer, _Summer]:
    """
    The fastest pair of sum and checksum functions for an interpreter.

    @param interpreter: what L{platform.python_implementation} answers
        (C{"CPython"}, C{"PyPy"}, ...).
    @param helper: whether the C helper is built (L{onesComplementSumC}).
    @return: C{(onesComplementSum, internetChecksum)}: the word-array
        implementations on PyPy, the C helper's elsewhere when it is built,
        otherwise the big-integer ones.
    """
    if interpreter == "PyPy":
        return onesComplementSumWords, internetChecksumWords
    if helper and onesComplementSumC is not None and internetChecksumC is not None:
        return onesComplementSumC, internetChecksumC
    return onesComplementSumBigInt, internetChecksumBigInt


onesComplementSum, internetChecksum = implementationFor(platform.python_implementation(),
                                                        _checksum is not None)


def pseudoHeaderSumBigInt(
    source: bytes, destination: bytes, protocol: int, length: int
) -> int:
    """
    The uncomplemented sum of the IPv4 pseudo-header used by TCP and UDP
    (RFC 793 section 3.1, RFC 768): source address, destination address,
    a zero byte, the protocol number, and the TCP/UDP length.  Given
    16-byte addresses, the sum of the IPv6 pseudo-header (RFC 8200 section
    8.1) modulo C{0xffff}, so the same checksum.

    Pass the result as C{initial} to L{internetChecksum}.  This is the way
    for CPython; see L{pseudoHeaderSum}.

    @param source: the IPv4 source address, 4 bytes in network order (or
        an IPv6 one, 16 bytes).
    @param destination: the IPv4 destination address, 4 bytes (or 16).
    @param protocol: the IP protocol number (6 for TCP, 17 for UDP).
    @param length: the length of the TCP/UDP header plus data, in bytes.
    @return: a non-negative integer (not folded: L{internetChecksum} folds).
    """
    return (
        int.from_bytes(source, "big")
        + int.from_bytes(destination, "big")
        + protocol
        + length
    )


_IPV6_WORDS = struct.Struct("!IIII")


def pseudoHeaderSumWords(
    source: bytes, destination: bytes, protocol: int, length: int
) -> int:
    """
    L{pseudoHeaderSumBigInt}'s sum modulo C{0xffff}, without big integers:
    16-byte addresses are summed as four 32-bit words each (C{2**32} is 1
    modulo C{0xffff}), 4-byte ones read whole (a machine integer).  The way
    for PyPy, where a 16-byte address read whole is a big integer, slow
    there in every sum it enters.

    @param source: the source address, 4 or 16 bytes.
    @param destination: the destination address, as long.
    @param protocol: the IP protocol number.
    @param length: the length of the TCP/UDP header plus data, in bytes.
    @return: a non-negative integer, C{0} only when every field is zero.
    """
    if len(source) == 16:
        s0, s1, s2, s3 = _IPV6_WORDS.unpack(source)
        d0, d1, d2, d3 = _IPV6_WORDS.unpack(destination)
        return s0 + s1 + s2 + s3 + d0 + d1 + d2 + d3 + protocol + length
    return (
        int.from_bytes(source, "big")
        + int.from_bytes(destination, "big")
        + protocol
        + length
    )


#: The pseudo-header sum, computed the faster way for the running
#: interpreter: L{pseudoHeaderSumWords} on PyPy, L{pseudoHeaderSumBigInt}
#: elsewhere (equal modulo C{0xffff}, so every checksum chained from them
#: is the same).
pseudoHeaderSum = (pseudoHeaderSumWords if platform.python_implementation() == "PyPy"
                   else pseudoHeaderSumBigInt)


def checksumForUDP(checksum: int) -> int:
    """
    Map a computed UDP checksum to what goes on the wire: a computed C{0}
    is transmitted as C{0xffff}, because C{0} means "no checksum"
    (RFC 768).

    @param checksum: the value returned by L{internetChecksum}.
    @return: the value to store in the UDP checksum field.
    """
    return checksum or 0xFFFF
