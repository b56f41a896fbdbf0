# -*- test-case-name: tests.stack.tcp.test_syncookies -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
SYN cookies (RFC 4987 section 3.6), encoded as Linux encodes them
(C{net/ipv4/syncookies.c}), pure: no clock, no I/O.

When a listener's SYN queue is full, the layer answers a SYN with a
SYN-ACK whose initial sequence number is a cookie and keeps no state; a
peer's ACK that acknowledges a valid cookie recreates the connection
directly.  The cookie is::

    hash(saddr, daddr, sport, dport, 0, secret)
      + their ISN
      + (count << 24)
      + ((hash(saddr, daddr, sport, dport, count, secret) + mssIndex) mod 2**24)

where C{count} is a counter that changes each minute (L{PERIOD}): a cookie
is accepted in the period it was made and the next one (Linux's
C{MAX_SYNCOOKIE_AGE} of 2).  C{mssIndex} indexes L{MSS_TABLE}, Linux's
C{msstab}: the peer's MSS is rounded down to one of four values.  The hash
is BLAKE2b keyed with a per-host secret (Linux uses SipHash); its low 32
bits are used.

With TCP timestamps, the options a cookie cannot carry go in the low
L{TS_BITS} bits of our SYN-ACK's TSval, which the peer echoes in TSecr
(Linux's C{cookie_init_timestamp} and C{cookie_timestamp_decode}): the
peer's window scale (L{TS_WSCALE_MASK} meaning none), SACK-permitted
(L{TS_SACK}) and ECN (L{TS_ECN}, never set: this stack does not do ECN).
Without timestamps the connection has neither window scaling nor SACK.
"""

import hashlib
import struct
from typing import Optional, Tuple

__all__ = [
    "SYNCookies", "MSS_TABLE", "PERIOD", "MAX_AGE", "COOKIE_BITS",
    "TS_BITS", "TS_WSCALE_MASK", "TS_SACK", "TS_ECN",
    "cookieTimestamp", "decodeTimestamp",
]

#: The MSS values a cookie can carry (Linux's msstab for IPv4).
MSS_TABLE = (536, 1300, 1440, 1460)
#: Seconds per counter period (Linux: one minute).
PERIOD = 60.0
#: Periods a cookie stays valid: the one it was made in and the next.
MAX_AGE = 2
#: Low bits of the cookie holding the hashed data; the counter is above.
COOKIE_BITS = 24
COOKIE_MASK = (1 << COOKIE_BITS) - 1
#: Low bits of the SYN-ACK's TSval holding the options.
TS_BITS = 6
TS_MASK = (1 << TS_BITS) - 1
#: The window scale field of the TSval bits; all ones: no window scaling.
TS_WSCALE_MASK = 0x0F
#: SACK-permitted.
TS_SACK = 0x10
#: ECN (never set here).
TS_ECN = 0x20

_MASK32 = 0xFFFFFFFF
_INPUT = struct.Struct("!4s4sHHIB")
#: The same for IPv6 (16-byte addresses).
_INPUT6 = struct.Struct("!16s16sHHIB")


class SYNCookies:
    """
    Making and checking cookies with one secret.

    Addresses are 4 bytes (16 for IPv6), C{source} always being the peer (the SYN's
    source) and C{destination} us.

    @ivar secret: the key of the hash.
    """

    def __init__(self, secret: bytes) -> None:
        """
        @param secret: the per-host key (up to 64 bytes; 32 random bytes
            are plenty).
        """
        self.secret = secret

    def _hash(self, source: bytes, destination: bytes, sourcePort: int,
              destinationPort: int, count: int, which: int) -> int:
        """
        The keyed hash of a 4-tuple, a counter and which of the hashes
        (Linux's C{cookie_hash}).

        @return: 32 bits.
        """
        digest = hashlib.blake2b(
            (_INPUT if len(source) == 4 else _INPUT6).pack(source, destination, sourcePort, destinationPort,
                        count & _MASK32, which),
            key=self.secret, digest_size=4).digest()
        return int.from_bytes(digest, "big")

    @staticmethod
    def counter(now: float) -> int:
        """
        @param now: the current time, in seconds.
        @return: the period counter (Linux's C{tcp_cookie_time}).
        """
        return int(now // PERIOD) & _MASK32

    @staticmethod
    def mssIndex(mss: int) -> int:
        """
        @param mss: the peer's MSS.
        @return: the index of the largest L{MSS_TABLE} value not above it
            (0 when it is below all of them).
        """
        for index in range(len(MSS_TABLE) - 1, 0, -1):
            if mss >= MSS_TABLE[index]:
                return index
        return 0

    def make(self, source: bytes, destination: bytes, sourcePort: int,
             destinationPort: int, theirISN: int, mss: int,
             now: float) -> Tuple[int, int]:
        """
        Make the cookie for a SYN (Linux's C{__cookie_v4_init_sequence}).

        @param source: the SYN's source.
        @param destination: the SYN's destination (us).
        @param sourcePort: the SYN's source port.
        @param destinationPort: the SYN's destination port.
        @param theirISN: the SYN's sequence number.
        @param mss: the SYN's MSS option (536 when it has none).
        @param now: the current time.
        @return: C{(cookie, mss)}: our ISN, and the MSS it encodes.
        """
        index = self.mssIndex(mss)
        count = self.counter(now)
        cookie = (
            self._hash(source, destination, sourcePort, destinationPort, 0, 0)
            + theirISN + (count << COOKIE_BITS)
            + ((self._hash(source, destination, sourcePort, destinationPort, count, 1)
                + index) & COOKIE_MASK)
        ) & _MASK32
        return cookie, MSS_TABLE[index]

    def check(self, source: bytes, destination: bytes, sourcePort: int,
              destinationPort: int, theirISN: int, cookie: int,
              now: float) -> Optional[int]:
        """
        Check a cookie the peer acknowledged (Linux's
        C{__cookie_v4_check}): the ACK's sequence number minus one is
        C{theirISN}, its acknowledgment number minus one the cookie.

        @param source: the ACK's source.
        @param destination: the ACK's destination (us).
        @param sourcePort: the ACK's source port.
        @param destinationPort: the ACK's destination port.
        @param theirISN: the ACK's sequence number minus one.
        @param cookie: the ACK's acknowledgment number minus one.
        @param now: the current time.
        @return: the MSS the cookie carries, or C{None} when it is not
            one of ours or too old.
        """
        count = self.counter(now)
        value = (cookie - self._hash(source, destination, sourcePort, destinationPort, 0, 0)
                 - theirISN) & _MASK32
        age = (count - (value >> COOKIE_BITS)) & (_MASK32 >> COOKIE_BITS)
        if age >= MAX_AGE:
            return None
        index = (value - self._hash(source, destination, sourcePort, destinationPort,
                                    count - age, 1)) & COOKIE_MASK
        if index >= len(MSS_TABLE):
            return None
        return MSS_TABLE[index]

    def timestampOffset(self, source: bytes, destination: bytes, sourcePort: int,
                        destinationPort: int) -> int:
        """
        The offset of our timestamp clock for a connection made from a
        cookie: derived from the 4-tuple, so the SYN-ACK (sent with no
        state kept) and the connection made later agree (Linux derives
        its C{ts_off} from the addresses the same way).

        @return: 32 bits.
        """
        return self._hash(source, destination, sourcePort, destinationPort, 0, 2)


def cookieTimestamp(tsNow: int, windowScale: Optional[int], sackPermitted: bool) -> int:
    """
    The TSval of a cookie SYN-ACK: our clock with the options in its low
    L{TS_BITS} bits, never ahead of the clock, so the timestamps of the
    connection that follows do not go backwards.

    @param tsNow: our TSval clock now (32 bits).
    @param windowScale: the peer's window scale, or C{None}.
    @param sackPermitted: whether the peer offered SACK and we take it.
    @return: the TSval.
    """
    options = TS_WSCALE_MASK if windowScale is None else min(windowScale, 14)
    if sackPermitted:
        options |= TS_SACK
    value = (tsNow & ~TS_MASK) | options
    if value > tsNow:
        value -= 1 << TS_BITS
    return value & _MASK32


def decodeTimestamp(tsEcr: int) -> Tuple[Optional[int], bool, bool]:
    """
    The options a cookie SYN-ACK carried in its TSval, from the peer's
    echo of it.

    @param tsEcr: the ACK's TSecr.
    @return: C{(windowScale or None, sackPermitted, ecn)}.
    """
    scale = tsEcr & TS_WSCALE_MASK
    return (None if scale == TS_WSCALE_MASK else scale,
            bool(tsEcr & TS_SACK), bool(tsEcr & TS_ECN))
