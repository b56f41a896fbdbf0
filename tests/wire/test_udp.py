# -*- test-case-name: tests.wire.test_udp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.udp}.
"""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.udp import UDPRepr, UDPView

SOURCE = bytes([192, 168, 77, 100])
DESTINATION = bytes([192, 168, 77, 1])

#: A DNS-sized datagram (RFC 768 layout).  The checksum was computed by
#: hand over the pseudo-header c0a8 4d64 c0a8 4d01 0011 000c and the words
#: d431 0035 000c 0000 6869 2121: the sum is 0x379ce, folded 0x79d1,
#: complemented 0x862e (scapy agrees).
DATAGRAM = bytes.fromhex(
    "d431"  # source port 54321
    "0035"  # destination port 53
    "000c"  # length 12
    "862e"  # checksum
) + b"hi!!"


class UDPTests(SynchronousTestCase):
    """
    Tests for L{UDPView} and L{UDPRepr}.
    """

    def test_decode(self) -> None:
        """
        The fixture parses with its checksum verified.
        """
        view = UDPView.checked(DATAGRAM)
        self.assertEqual(UDPRepr.parse(view, SOURCE, DESTINATION), UDPRepr(54321, 53))
        self.assertEqual(bytes(view.payload), b"hi!!")

    def test_encode(self) -> None:
        """
        The repr emits the fixture, checksum included.
        """
        self.assertEqual(UDPRepr(54321, 53).emit(b"hi!!", SOURCE, DESTINATION), DATAGRAM)

    def test_noChecksum(self) -> None:
        """
        A zero checksum is accepted as "none"; emitting without a checksum
        writes zero.
        """
        bare = UDPRepr(54321, 53).emit(b"hi!!", SOURCE, DESTINATION, checksum=False)
        self.assertEqual(bare, DATAGRAM[:6] + b"\0\0" + b"hi!!")
        self.assertEqual(UDPRepr.parse(UDPView.checked(bare), SOURCE, DESTINATION),
                         UDPRepr(54321, 53))

    def test_computedZeroSentAsOnes(self) -> None:
        """
        A datagram whose checksum computes to 0 carries 0xffff, which
        verifies.
        """
        # Choose the payload word so the complemented sum is 0: the sum of
        # everything else plus the word must be 0xffff.
        header = UDPRepr(1, 2).emit(b"\0\0", SOURCE, DESTINATION, checksum=False)
        total = sum(int.from_bytes(x[i:i + 2], "big") for x in (SOURCE, DESTINATION)
                    for i in (0, 2)) + 17 + 10 + 1 + 2 + 10
        while total >> 16:
            total = (total & 0xFFFF) + (total >> 16)
        word = (0xFFFF - total).to_bytes(2, "big")
        datagram = UDPRepr(1, 2).emit(word, SOURCE, DESTINATION)
        self.assertEqual(datagram[6:8], b"\xff\xff")
        self.assertTrue(UDPView.checked(datagram).checksumValid(SOURCE, DESTINATION))
        self.assertEqual(len(header), 10)

    def test_badChecksum(self) -> None:
        """
        A wrong checksum, or the wrong addresses, is refused.
        """
        bad = DATAGRAM[:7] + b"\x2f" + DATAGRAM[8:]
        self.assertRaises(MalformedPacket, UDPRepr.parse, UDPView.checked(bad),
                          SOURCE, DESTINATION)
        self.assertRaises(MalformedPacket, UDPRepr.parse, UDPView.checked(DATAGRAM),
                          DESTINATION, DESTINATION)

    def test_lengths(self) -> None:
        """
        Truncated datagrams and length fields below 8 or past the buffer
        are refused; bytes past the length field are not payload.
        """
        for n in range(len(DATAGRAM)):
            self.assertRaises(MalformedPacket, UDPView.checked, DATAGRAM[:n])
        self.assertRaises(MalformedPacket, UDPView.checked, DATAGRAM[:4] + b"\0\x07" + DATAGRAM[6:])
        view = UDPView.checked(DATAGRAM + b"junk")
        self.assertEqual(bytes(view.payload), b"hi!!")
        self.assertTrue(view.checksumValid(SOURCE, DESTINATION))

    def test_portZero(self) -> None:
        """
        Destination port 0 is refused.
        """
        datagram = UDPRepr(5, 0).emit(b"", SOURCE, DESTINATION)
        self.assertRaises(MalformedPacket, UDPRepr.parse, UDPView.checked(datagram),
                          SOURCE, DESTINATION)

    @given(st.binary(max_size=30))
    def test_arbitraryBytes(self, data: bytes) -> None:
        """
        Arbitrary bytes either parse or raise L{MalformedPacket}.
        """
        try:
            UDPRepr.parse(UDPView.checked(data), SOURCE, DESTINATION)
        except MalformedPacket:
            pass


class UDPOracleTests(SynchronousTestCase):
    """
    L{UDPRepr} against scapy.
    """

    if scapy is None:
        skip = SKIP_REASON

    @given(st.integers(1, 65535), st.integers(1, 65535), st.binary(max_size=300))
    def test_bothWays(self, sport: int, dport: int, payload: bytes) -> None:
        """
        Our datagram equals scapy's (checksum included), and scapy's
        parses.
        """
        pkt = scapy.IP(src="192.168.77.100", dst="192.168.77.1") / scapy.UDP(
            sport=sport, dport=dport) / payload
        theirs = bytes(pkt)[20:]
        ours = UDPRepr(sport, dport).emit(payload, SOURCE, DESTINATION)
        self.assertEqual(ours, theirs)
        self.assertEqual(UDPRepr.parse(UDPView.checked(theirs), SOURCE, DESTINATION),
                         UDPRepr(sport, dport))
