# -*- test-case-name: tests.wire.test_icmp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.icmp}.
"""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.icmp import (
    CODE_FRAGMENTATION_NEEDED,
    CODE_PORT_UNREACHABLE,
    TYPE_DESTINATION_UNREACHABLE,
    TYPE_ECHO_REQUEST,
    ICMPRepr,
    ICMPView,
    quoteDatagram,
)

#: An echo request as Linux ping sends it, shortened (RFC 792 layout).
#: Checksum computed word by word: 0800 + 1234 + 0001 + 6162 + 6364 =
#: 0xdefb (no carry), complemented 0x2104.
ECHO = bytes.fromhex(
    "08"    # type 8: echo request
    "00"    # code 0
    "2104"  # checksum
    "1234"  # identifier
    "0001"  # sequence 1
) + b"abcd"
ECHO_REPR = dict(type=TYPE_ECHO_REQUEST, code=0, restOfHeader=0x12340001, data=b"abcd")

#: An IPv4 header (20 bytes) plus 8 bytes of UDP, to be quoted.
OFFENDING = bytes.fromhex(
    "4500001c00000000401100000a0000010a000002"  # IPv4, UDP, 28 bytes
    "d4310035000800ff"                          # UDP header
)


class ICMPTests(SynchronousTestCase):
    """
    Tests for L{ICMPView} and L{ICMPRepr}.
    """

    def test_decodeEcho(self) -> None:
        """
        The echo fixture parses; identifier and sequence read back.
        """
        parsed = ICMPRepr.fromBytes(ECHO)
        self.assertEqual(parsed, ICMPRepr(**ECHO_REPR))
        self.assertEqual((parsed.identifier, parsed.sequence), (0x1234, 1))
        self.assertFalse(parsed.isError)

    def test_encodeEcho(self) -> None:
        """
        The echo repr emits the fixture over a sentinel buffer.
        """
        buffer = bytearray(b"\xa5" * len(ECHO))
        ICMPRepr.echoRequest(0x1234, 1, b"abcd").emitInto(buffer)
        self.assertEqual(bytes(buffer), ECHO)

    def test_unreachable(self) -> None:
        """
        A port unreachable quotes the offending datagram and round-trips.
        """
        message = ICMPRepr.destinationUnreachable(CODE_PORT_UNREACHABLE, OFFENDING)
        data = message.emit()
        self.assertEqual(data[:2], b"\x03\x03")
        self.assertEqual(data[4:8], b"\0\0\0\0")
        self.assertEqual(data[8:], OFFENDING)
        self.assertEqual(ICMPRepr.fromBytes(data), message)
        self.assertTrue(message.isError)

    def test_fragmentationNeeded(self) -> None:
        """
        "Fragmentation needed" carries the next-hop MTU in the low half of
        the rest of the header (RFC 1191).
        """
        message = ICMPRepr.destinationUnreachable(CODE_FRAGMENTATION_NEEDED, OFFENDING, 1400)
        data = message.emit()
        self.assertEqual(data[4:8], b"\x00\x00\x05\x78")
        self.assertEqual(ICMPView.checked(data).nextHopMTU, 1400)

    def test_quoteLimit(self) -> None:
        """
        Long datagrams are quoted up to 548 bytes; short limits still quote
        the header and 8 bytes.
        """
        big = OFFENDING + bytes(2000)
        self.assertEqual(len(quoteDatagram(big)), 548)
        self.assertEqual(quoteDatagram(big, 10), big[:28])

    def test_errorQuotesTooLittle(self) -> None:
        """
        An error quoting less than an IPv4 header is refused.
        """
        data = ICMPRepr(TYPE_DESTINATION_UNREACHABLE, 3, 0, OFFENDING[:12]).emit()
        self.assertRaises(MalformedPacket, ICMPRepr.fromBytes, data)

    def test_badChecksum(self) -> None:
        """
        A wrong checksum is refused; truncated headers are refused.
        """
        self.assertRaises(MalformedPacket, ICMPRepr.fromBytes, ECHO[:2] + b"\x21\x05" + ECHO[4:])
        for n in range(8):
            self.assertRaises(MalformedPacket, ICMPView.checked, ECHO[:n])

    @given(st.binary(max_size=60))
    def test_arbitraryBytes(self, data: bytes) -> None:
        """
        Arbitrary bytes either parse or raise L{MalformedPacket}.
        """
        try:
            ICMPRepr.fromBytes(data)
        except MalformedPacket:
            pass


class ICMPOracleTests(SynchronousTestCase):
    """
    L{ICMPRepr} against scapy.
    """

    if scapy is None:
        skip = SKIP_REASON

    @given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(max_size=100))
    def test_echoBothWays(self, ident: int, seq: int, payload: bytes) -> None:
        """
        Our echo reply equals scapy's, and scapy's parses back.
        """
        theirs = bytes(scapy.ICMP(type=0, id=ident, seq=seq) / payload)
        self.assertEqual(ICMPRepr.echoReply(ident, seq, payload).emit(), theirs)
        self.assertEqual(ICMPRepr.fromBytes(theirs), ICMPRepr.echoReply(ident, seq, payload))

    def test_unreachableToScapy(self) -> None:
        """
        scapy reads our port unreachable and its quoted datagram.
        """
        pkt = scapy.ICMP(ICMPRepr.destinationUnreachable(3, OFFENDING).emit())
        self.assertEqual((pkt.type, pkt.code), (3, 3))
        self.assertEqual(pkt[scapy.IPerror].dst, "10.0.0.2")
        self.assertEqual(pkt[scapy.UDPerror].dport, 53)
