# -*- test-case-name: tests.wire.test_ipv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.ipv6}.
"""

import platform

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.wire.checksum import internetChecksum
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.ipv6 import (
    ACTION_DISCARD_ERROR,
    ACTION_SKIP,
    NEXT_HEADER_DESTINATION_OPTIONS,
    NEXT_HEADER_FRAGMENT,
    NEXT_HEADER_HOP_BY_HOP,
    NEXT_HEADER_NONE,
    NEXT_HEADER_ROUTING,
    NEXT_HEADER_UDP,
    FragmentRepr,
    IPv6Repr,
    IPv6View,
    optionAction,
    parseOptions,
    pseudoHeaderSum,
    pseudoHeaderSumBigInt,
    pseudoHeaderSumWords,
    walkExtensionHeaders,
)

SOURCE = bytes.fromhex("fd000077000000000000000000000001")       # fd00:77::1
DESTINATION = bytes.fromhex("fd000077000000000000000000000100")  # fd00:77::100

#: A UDP datagram in IPv6 behind a hop-by-hop and a destination options
#: header, laid out by RFC 8200 sections 3, 4.3 and 4.6.
PACKET = bytes.fromhex(
    "6"         # version 6
    "b8"        # traffic class 0xb8 (DSCP EF)
    "12345"     # flow label 0x12345
    "001a"      # payload length 26 = 8 + 8 + 10
    "00"        # next header 0: hop-by-hop options
    "40"        # hop limit 64
    "fd000077000000000000000000000001"  # source fd00:77::1
    "fd000077000000000000000000000100"  # destination fd00:77::100
    # hop-by-hop options (RFC 8200 4.3)
    "3c"        # next header 60: destination options
    "00"        # header extension length 0: 8 bytes
    "0104"      # PadN, 4 bytes of data
    "00000000"  # ... the padding
    # destination options (RFC 8200 4.6)
    "11"        # next header 17: UDP
    "00"        # 8 bytes
    "0104" "00000000"  # PadN
    # UDP (RFC 768)
    "0001"      # source port 1
    "0002"      # destination port 2
    "000a"      # length 10
    "9b7d"      # checksum (over the RFC 8200 8.1 pseudo-header)
    "6869"      # "hi"
)


class IPv6HeaderTests(SynchronousTestCase):
    """
    Tests for L{IPv6View} and L{IPv6Repr}.
    """

    REPR = IPv6Repr(source=SOURCE, destination=DESTINATION,
                    nextHeader=NEXT_HEADER_HOP_BY_HOP, payloadLength=26,
                    hopLimit=64, trafficClass=0xB8, flowLabel=0x12345)

    def test_decode(self) -> None:
        """
        The fixture's fixed header parses field by field.
        """
        view = IPv6View.checked(PACKET)
        self.assertEqual((view.version, view.trafficClass, view.flowLabel,
                          view.payloadLength, view.nextHeader, view.hopLimit),
                         (6, 0xB8, 0x12345, 26, 0, 64))
        self.assertEqual((view.source, view.destination), (SOURCE, DESTINATION))
        self.assertEqual(bytes(view.payload), PACKET[40:])
        self.assertEqual(IPv6Repr.fromBytes(PACKET), self.REPR)

    def test_encode(self) -> None:
        """
        The repr emits the fixture's header over a sentinel buffer.
        """
        buffer = bytearray(b"\xa5" * 40)
        self.REPR.emitInto(buffer)
        self.assertEqual(bytes(buffer), PACKET[:40])
        self.assertEqual(self.REPR.emit(PACKET[40:]), PACKET)

    def test_padding(self) -> None:
        """
        Link padding after the payload is ignored.
        """
        view = IPv6View.checked(PACKET + b"\0" * 10)
        self.assertEqual(bytes(view.payload), PACKET[40:])

    def test_truncated(self) -> None:
        """
        Every truncation is refused before any field is read; so is a
        memoryview of one.
        """
        for n in range(len(PACKET)):
            self.assertRaises(MalformedPacket, IPv6View.checked, PACKET[:n])
            self.assertRaises(MalformedPacket, IPv6View.checked, memoryview(PACKET)[:n])

    def test_badVersion(self) -> None:
        """
        A version other than 6 is refused by the repr.
        """
        self.assertRaises(MalformedPacket, IPv6Repr.fromBytes, b"\x45" + PACKET[1:])

    def test_emitChecks(self) -> None:
        """
        Short addresses and a payload length over 65535 are refused.
        """
        self.assertRaises(ValueError, IPv6Repr(b"\0" * 4, DESTINATION, 17, 0).emit)
        self.assertRaises(ValueError, IPv6Repr(SOURCE, DESTINATION, 17, 70000).emit)

    def test_pseudoHeader(self) -> None:
        """
        The fixture's UDP checksum verifies over the pseudo-header sum.
        """
        udp = PACKET[56:]
        self.assertEqual(internetChecksum(udp, pseudoHeaderSum(
            SOURCE, DESTINATION, NEXT_HEADER_UDP, len(udp))), 0)
        broken = udp[:-1] + b"j"
        self.assertNotEqual(internetChecksum(broken, pseudoHeaderSum(
            SOURCE, DESTINATION, NEXT_HEADER_UDP, len(broken))), 0)

    @given(st.binary(max_size=120))
    def test_arbitraryBytes(self, data: bytes) -> None:
        """
        Arbitrary bytes either parse (header, chain and options) or raise
        L{MalformedPacket}.
        """
        try:
            header = IPv6Repr.fromBytes(data)
            chain = walkExtensionHeaders(header.nextHeader, data[40:40 + header.payloadLength])
            for ext in chain.headers:
                if ext.type in (NEXT_HEADER_HOP_BY_HOP, NEXT_HEADER_DESTINATION_OPTIONS):
                    parseOptions(data[40 + ext.offset:40 + ext.offset + ext.length])
        except MalformedPacket:
            pass


class ExtensionHeaderTests(SynchronousTestCase):
    """
    Tests for L{walkExtensionHeaders}, L{FragmentRepr} and
    L{parseOptions}.
    """

    def test_walk(self) -> None:
        """
        The fixture's chain: hop-by-hop, destination options, then UDP at
        offset 16.
        """
        chain = walkExtensionHeaders(0, PACKET[40:])
        self.assertEqual(chain.nextHeader, NEXT_HEADER_UDP)
        self.assertEqual(chain.offset, 16)
        self.assertEqual([(h.type, h.offset, h.length) for h in chain.headers],
                         [(0, 0, 8), (60, 8, 8)])
        self.assertIsNone(chain.fragment)
        self.assertEqual(chain.nextHeaderOffset, 8)

    def test_noExtensions(self) -> None:
        """
        An upper-layer header right after the fixed one: an empty chain.
        """
        chain = walkExtensionHeaders(NEXT_HEADER_UDP, b"")
        self.assertEqual((chain.nextHeader, chain.offset, chain.headers),
                         (NEXT_HEADER_UDP, 0, ()))
        self.assertEqual(chain.nextHeaderOffset, -1)

    def test_hopByHopNotFirst(self) -> None:
        """
        A hop-by-hop header after another extension header is refused.
        """
        data = bytes.fromhex("00000104 00000000" "3b000104 00000000")
        self.assertRaises(MalformedPacket, walkExtensionHeaders,
                          NEXT_HEADER_DESTINATION_OPTIONS, data)

    def test_longChainRefused(self) -> None:
        """
        A chain of 100 destination options headers is refused after the
        bound, and the bound can be raised.
        """
        one = bytes.fromhex("3c000104 00000000")
        data = one * 99 + bytes.fromhex("3b000104 00000000")
        self.assertRaises(MalformedPacket, walkExtensionHeaders,
                          NEXT_HEADER_DESTINATION_OPTIONS, data)
        chain = walkExtensionHeaders(NEXT_HEADER_DESTINATION_OPTIONS, data, maxHeaders=100)
        self.assertEqual((chain.nextHeader, len(chain.headers)), (NEXT_HEADER_NONE, 100))

    def test_truncatedChain(self) -> None:
        """
        Every truncation of a two-header chain is refused.
        """
        data = bytes.fromhex("2b000104 00000000" "11020000 00000000 00000000 00000000 00000000 00000000")
        walkExtensionHeaders(NEXT_HEADER_DESTINATION_OPTIONS, data)
        for n in range(len(data)):
            self.assertRaises(MalformedPacket, walkExtensionHeaders,
                              NEXT_HEADER_DESTINATION_OPTIONS, data[:n])

    def test_routing(self) -> None:
        """
        A routing header (RFC 8200 4.4) is stepped over by its length.
        """
        data = bytes.fromhex(
            "3a"  # next header 58: ICMPv6
            "02"  # length 2: 24 bytes
            "00"  # routing type 0
            "00"  # segments left 0
            "00000000"  # reserved
        ) + bytes(16) + b"icmp"
        chain = walkExtensionHeaders(NEXT_HEADER_ROUTING, data)
        self.assertEqual((chain.nextHeader, chain.offset), (58, 24))

    def test_fragment(self) -> None:
        """
        A fragment header (RFC 8200 4.5) parses field by field; the walk
        stops at it.
        """
        header = bytes.fromhex(
            "11"        # next header 17: UDP
            "00"        # reserved
            "05a9"      # offset 181 (<< 3), res 00, M 1
            "deadbeef"  # identification
        )
        repr = FragmentRepr(NEXT_HEADER_UDP, 1448, True, 0xDEADBEEF)
        self.assertEqual(FragmentRepr.fromBytes(header), repr)
        self.assertEqual(repr.emit(), header)
        chain = walkExtensionHeaders(NEXT_HEADER_FRAGMENT, header + b"data")
        self.assertEqual((chain.nextHeader, chain.offset, chain.fragment),
                         (NEXT_HEADER_UDP, 8, repr))
        self.assertEqual(chain.nextHeaderOffset, 0)
        self.assertRaises(MalformedPacket, FragmentRepr.fromBytes, header[:7])
        self.assertRaises(ValueError, FragmentRepr(17, 3, False, 0).emit)

    def test_options(self) -> None:
        """
        Options are read with their offsets; padding is skipped; an option
        running past its header is refused.
        """
        header = bytes.fromhex(
            "3b"        # next header: none
            "00"        # 8 bytes
            "00"        # Pad1
            "0502"      # router alert, 2 bytes of data
            "0000"      # ... MLD
            "00"        # Pad1
        )
        self.assertEqual(parseOptions(header), [(3, 5, b"\0\0")])
        other = bytes.fromhex(
            "3b00"
            "c100"      # option 0xc1 (unknown, action 3), no data
            "0102"      # PadN, 2 bytes of data
            "0000"
        )
        self.assertEqual(parseOptions(other), [(2, 0xC1, b"")])
        self.assertRaises(MalformedPacket, parseOptions, header[:4])
        self.assertRaises(MalformedPacket, parseOptions, bytes.fromhex("3b000106 0000"))
        self.assertEqual(optionAction(0x05), ACTION_SKIP)
        self.assertEqual(optionAction(0x8F), ACTION_DISCARD_ERROR)


class PseudoHeaderSumTests(SynchronousTestCase):
    """
    The two ways of summing the IPv6 pseudo-header give the same checksums,
    and each interpreter gets the faster one.
    """

    @given(st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16),
           st.integers(0, 255), st.integers(0, 0xFFFFFFFF), st.binary(max_size=64))
    def test_sameChecksum(self, src: bytes, dst: bytes, nextHeader: int, length: int,
                          data: bytes) -> None:
        """
        Both sums have the same remainder modulo 0xffff and are zero only
        together, so the checksums chained from them are equal, for any
        addresses (all zeros and all ones included by hypothesis).
        """
        big = pseudoHeaderSumBigInt(src, dst, nextHeader, length)
        words = pseudoHeaderSumWords(src, dst, nextHeader, length)
        self.assertEqual((big % 0xFFFF, big == 0), (words % 0xFFFF, words == 0))
        self.assertEqual(internetChecksum(data, words), internetChecksum(data, big))

    def test_knownSum(self) -> None:
        """
        The words of fe80::1 and ff02::1 with length 32 and next header 58
        (ICMPv6): 0xfe80 + 1 + 0xff02 + 1 + 32 + 58 = 0x1fdde, folded 0xfddf.
        """
        src = bytes.fromhex("fe800000000000000000000000000001")
        dst = bytes.fromhex("ff020000000000000000000000000001")
        for summer in (pseudoHeaderSumBigInt, pseudoHeaderSumWords):
            self.assertEqual(summer(src, dst, 58, 32) % 0xFFFF, 0xFDDF)

    def test_selected(self) -> None:
        """
        L{pseudoHeaderSum} is the word sum on PyPy, the big-integer one on
        other interpreters.
        """
        expected = (pseudoHeaderSumWords if platform.python_implementation() == "PyPy"
                    else pseudoHeaderSumBigInt)
        self.assertIs(pseudoHeaderSum, expected)


class IPv6OracleTests(SynchronousTestCase):
    """
    The IPv6 codec against scapy, both ways.
    """

    if scapy is None:
        skip = SKIP_REASON

    def test_fixtureMatchesScapy(self) -> None:
        """
        scapy builds the fixture byte for byte.
        """
        theirs = bytes(
            scapy.IPv6(src="fd00:77::1", dst="fd00:77::100", hlim=64, tc=0xB8, fl=0x12345)
            / scapy.IPv6ExtHdrHopByHop() / scapy.IPv6ExtHdrDestOpt()
            / scapy.UDP(sport=1, dport=2) / b"hi")
        self.assertEqual(theirs, PACKET)

    @given(st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16),
           st.integers(0, 255), st.integers(0, 255), st.integers(0, 0xFFFFF),
           st.binary(max_size=64))
    def test_bothWays(self, src: bytes, dst: bytes, hlim: int, tc: int, fl: int,
                      data: bytes) -> None:
        """
        Our header equals scapy's; scapy's parses back.
        """
        ours = IPv6Repr(src, dst, NEXT_HEADER_NONE, len(data), hlim, tc, fl)
        theirs = scapy.IPv6(src=scapy.inet_ntop(scapy.socket.AF_INET6, src),
                            dst=scapy.inet_ntop(scapy.socket.AF_INET6, dst),
                            hlim=hlim, tc=tc, fl=fl, nh=59) / scapy.Raw(data)
        self.assertEqual(ours.emit(data), bytes(theirs))
        self.assertEqual(IPv6Repr.fromBytes(bytes(theirs)), ours)

    @given(st.integers(0, 0x1FFF), st.booleans(), st.integers(0, 0xFFFFFFFF))
    def test_fragmentBothWays(self, offset: int, more: bool, ident: int) -> None:
        """
        Our fragment header equals scapy's; scapy reads ours.
        """
        ours = FragmentRepr(NEXT_HEADER_UDP, offset * 8, more, ident)
        theirs = bytes(scapy.IPv6ExtHdrFragment(nh=17, offset=offset, m=int(more), id=ident))
        self.assertEqual(ours.emit(), theirs)
        self.assertEqual(FragmentRepr.fromBytes(theirs), ours)

    @given(st.binary(min_size=16, max_size=16), st.binary(min_size=16, max_size=16),
           st.binary(max_size=200))
    def test_pseudoHeaderMatchesScapy(self, src: bytes, dst: bytes, data: bytes) -> None:
        """
        The pseudo-header checksum of arbitrary UDP bytes equals scapy's
        C{in6_chksum}.
        """
        ip = scapy.IPv6(src=scapy.inet_ntop(scapy.socket.AF_INET6, src),
                        dst=scapy.inet_ntop(scapy.socket.AF_INET6, dst))
        self.assertEqual(
            internetChecksum(data, pseudoHeaderSum(src, dst, 17, len(data))),
            scapy.in6_chksum(17, ip, data))
