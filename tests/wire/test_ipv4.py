# -*- test-case-name: tests.wire.test_ipv4 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.ipv4}.
"""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.ipv4 import PROTOCOL_UDP, IPv4Repr, IPv4View

#: The widely quoted example header (RFC 791 section 3.1 layout), with a
#: checksum independently computed as b861.
HEADER = bytes.fromhex(
    "45"        # version 4, IHL 5 (20 bytes)
    "00"        # TOS
    "0073"      # total length 115
    "0000"      # identification 0
    "4000"      # flags: DF; fragment offset 0
    "40"        # TTL 64
    "11"        # protocol 17 (UDP)
    "b861"      # header checksum
    "c0a80001"  # source 192.168.0.1
    "c0a800c7"  # destination 192.168.0.199
)
DATAGRAM = HEADER + bytes(range(95))
HEADER_REPR = dict(
    source=bytes([192, 168, 0, 1]), destination=bytes([192, 168, 0, 199]),
    protocol=PROTOCOL_UDP, payloadLength=95, ttl=64, identification=0,
    dontFragment=True, moreFragments=False, fragmentOffset=0, tos=0, options=b"",
)

#: A fragment with options: IHL 6 carrying one 4-byte option (NOP NOP NOP
#: EOL), MF set, offset 185 * 8 = 1480.
FRAGMENT_HEADER = bytes.fromhex(
    "46"        # version 4, IHL 6 (24 bytes)
    "10"        # TOS 0x10
    "0020"      # total length 32 (24 header + 8 payload)
    "abcd"      # identification
    "20b9"      # flags: MF; fragment offset 185 (1480 bytes)
    "01"        # TTL 1
    "06"        # protocol 6 (TCP)
    "0000"      # checksum (filled in below by the reference sum)
    "0a000001"  # source 10.0.0.1
    "0a000002"  # destination 10.0.0.2
    "01010100"  # options: NOP NOP NOP EOL
)


def referenceChecksum(header: bytes) -> bytes:
    """
    Compute a header checksum word by word (independent of the code under
    test).

    @param header: the header with a zero checksum field.
    @return: the header with the checksum filled in.
    """
    total = sum(int.from_bytes(header[i:i + 2], "big") for i in range(0, len(header), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    csum = ~total & 0xFFFF
    return header[:10] + csum.to_bytes(2, "big") + header[12:]


FRAGMENT = referenceChecksum(FRAGMENT_HEADER) + b"12345678"
FRAGMENT_REPR = dict(
    source=bytes([10, 0, 0, 1]), destination=bytes([10, 0, 0, 2]), protocol=6,
    payloadLength=8, ttl=1, identification=0xABCD, dontFragment=False,
    moreFragments=True, fragmentOffset=1480, tos=0x10, options=b"\x01\x01\x01\x00",
)


class IPv4Tests(SynchronousTestCase):
    """
    Tests for L{IPv4View} and L{IPv4Repr}.
    """

    def test_decode(self) -> None:
        """
        The example header parses to its repr and its payload.
        """
        view = IPv4View.checked(DATAGRAM)
        self.assertEqual(IPv4Repr.parse(view), IPv4Repr(**HEADER_REPR))
        self.assertEqual(bytes(view.payload), bytes(range(95)))

    def test_encode(self) -> None:
        """
        The repr emits the example header (checksum b861) over a sentinel
        buffer.
        """
        buffer = bytearray(b"\xa5" * 20)
        IPv4Repr(**HEADER_REPR).emitInto(buffer)
        self.assertEqual(bytes(buffer), HEADER)

    def test_fragmentWithOptions(self) -> None:
        """
        A header with options and fragment fields decodes and encodes.
        """
        self.assertEqual(IPv4Repr.fromBytes(FRAGMENT), IPv4Repr(**FRAGMENT_REPR))
        self.assertEqual(IPv4Repr(**FRAGMENT_REPR).emit(b"12345678"), FRAGMENT)

    def test_padding(self) -> None:
        """
        Bytes after the total length (Ethernet padding) are not payload.
        """
        view = IPv4View.checked(FRAGMENT + b"\0" * 20)
        self.assertEqual(bytes(view.payload), b"12345678")

    def test_truncated(self) -> None:
        """
        Any truncation below the total length is refused.
        """
        for n in range(len(DATAGRAM)):
            self.assertRaises(MalformedPacket, IPv4View.checked, DATAGRAM[:n])

    def test_badLengths(self) -> None:
        """
        IHL below 5, an IHL past the buffer, and a total length shorter than
        the header are refused by the view.
        """
        for ihl in range(5):
            bad = bytes([0x40 | ihl]) + DATAGRAM[1:]
            self.assertRaises(MalformedPacket, IPv4View.checked, bad)
        self.assertRaises(MalformedPacket, IPv4View.checked, b"\x4f" + HEADER[1:])
        short = HEADER[:2] + b"\x00\x13" + HEADER[4:]
        self.assertRaises(MalformedPacket, IPv4View.checked, short)

    def test_badChecksum(self) -> None:
        """
        A wrong checksum is refused by the repr (unless told not to check).
        """
        bad = DATAGRAM[:10] + b"\xb8\x62" + DATAGRAM[12:]
        view = IPv4View.checked(bad)
        self.assertFalse(view.checksumValid)
        self.assertRaises(MalformedPacket, IPv4Repr.parse, view)
        self.assertEqual(IPv4Repr.parse(view, verifyChecksum=False).ttl, 64)

    def test_versionAndReserved(self) -> None:
        """
        Version 6 and the reserved flag are refused by the repr.
        """
        v6 = referenceChecksum(b"\x65" + HEADER[1:10] + b"\0\0" + HEADER[12:])
        self.assertRaises(MalformedPacket, IPv4Repr.fromBytes, v6 + bytes(95))
        evil = referenceChecksum(HEADER[:6] + b"\x80\x00" + HEADER[8:10] + b"\0\0" + HEADER[12:])
        self.assertRaises(MalformedPacket, IPv4Repr.fromBytes, evil + bytes(95))

    def test_emitRefusesBadOptions(self) -> None:
        """
        Options that are not a multiple of 4 bytes cannot be emitted.
        """
        self.assertRaises(ValueError, IPv4Repr(**dict(HEADER_REPR, options=b"\x01")).emit)

    @given(st.binary(max_size=80))
    def test_arbitraryBytes(self, data: bytes) -> None:
        """
        Arbitrary bytes either parse or raise L{MalformedPacket}.
        """
        try:
            IPv4Repr.fromBytes(data)
        except MalformedPacket:
            pass


class IPv4OracleTests(SynchronousTestCase):
    """
    L{IPv4Repr} against scapy.
    """

    if scapy is None:
        skip = SKIP_REASON

    def test_scapyToOurs(self) -> None:
        """
        Datagrams built by scapy (with options and fragment fields) parse,
        checksum included, to the same fields.
        """
        pkt = scapy.IP(src="1.2.3.4", dst="5.6.7.8", ttl=7, id=999, flags="MF",
                       frag=3, tos=0xB8, proto=17,
                       options=[scapy.IPOption(b"\x94\x04\x00\x00")]) / (b"x" * 33)
        parsed = IPv4Repr.fromBytes(bytes(pkt))
        self.assertEqual(parsed, IPv4Repr(
            source=b"\1\2\3\4", destination=b"\5\6\7\x08", protocol=17,
            payloadLength=33, ttl=7, identification=999, moreFragments=True,
            fragmentOffset=24, tos=0xB8, options=b"\x94\x04\x00\x00"))

    def test_oursToScapy(self) -> None:
        """
        scapy reads our header back and agrees with our checksum.
        """
        data = IPv4Repr(**FRAGMENT_REPR).emit(b"12345678")
        pkt = scapy.IP(data)
        self.assertEqual((pkt.src, pkt.dst, pkt.ttl, pkt.id, pkt.frag, int(pkt.flags)),
                         ("10.0.0.1", "10.0.0.2", 1, 0xABCD, 185, 1))
        chk = pkt.chksum
        del pkt.chksum
        self.assertEqual(scapy.IP(bytes(pkt)).chksum, chk)
