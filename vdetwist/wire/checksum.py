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
"""

from typing import Union

Buffer = Union[bytes, bytearray, memoryview]

__all__ = [
    "SPLIT",
    "onesComplementSum",
    "internetChecksum",
    "pseudoHeaderSum",
    "checksumForUDP",
]


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


def onesComplementSum(data: Buffer, initial: int = 0) -> int:
    """
    The 16-bit one's-complement sum of C{data}'s big-endian words, plus
    C{initial}, not complemented.

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


def internetChecksum(data: Buffer, initial: int = 0) -> int:
    """
    The Internet checksum of C{data} (RFC 1071): the one's complement of
    the one's-complement sum of its 16-bit words.

    To compute a checksum, call this with the checksum field zeroed and
    store the result; to verify one, call it over the data with the
    checksum in place: the result is C{0} for correct data.

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


def pseudoHeaderSum(
    source: bytes, destination: bytes, protocol: int, length: int
) -> int:
    """
    The uncomplemented sum of the IPv4 pseudo-header used by TCP and UDP
    (RFC 793 section 3.1, RFC 768): source address, destination address,
    a zero byte, the protocol number, and the TCP/UDP length.

    Pass the result as C{initial} to L{internetChecksum}.

    @param source: the IPv4 source address, 4 bytes in network order.
    @param destination: the IPv4 destination address, 4 bytes.
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


def checksumForUDP(checksum: int) -> int:
    """
    Map a computed UDP checksum to what goes on the wire: a computed C{0}
    is transmitted as C{0xffff}, because C{0} means "no checksum"
    (RFC 768).

    @param checksum: the value returned by L{internetChecksum}.
    @return: the value to store in the UDP checksum field.
    """
    return checksum or 0xFFFF
