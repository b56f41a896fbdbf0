# -*- test-case-name: tests.wire.test_icmpv6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.icmpv6}.
"""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.wire.addr6 import formatIPv6, parseIPv6
from vdetwist.wire.frames import MalformedPacket
from vdetwist.wire.icmpv6 import (
    CODE_PORT_UNREACHABLE,
    CODE_UNRECOGNIZED_NEXT_HEADER,
    INFINITY,
    OPTION_SOURCE_LINK_LAYER_ADDRESS,
    OPTION_TARGET_LINK_LAYER_ADDRESS,
    TYPE_ECHO_REPLY,
    TYPE_NEIGHBOR_SOLICITATION,
    TYPE_PACKET_TOO_BIG,
    ICMPv6Repr,
    ICMPv6View,
    LinkLayerAddressOption,
    MTUOption,
    NeighborAdvertisement,
    NeighborSolicitation,
    PrefixInformation,
    RDNSSOption,
    RouterAdvertisement,
    RouterSolicitation,
    UnknownOption,
    findOption,
    parseND,
    parseNDOptions,
    quotePacket,
)
from vdetwist.wire.ipv6 import IPv6Repr

US = parseIPv6("fd00:77::100")
THEM = parseIPv6("fd00:77::1")
LINK_LOCAL = parseIPv6("fe80::1")
ROUTER = parseIPv6("fe80::2")
SOLICITED = parseIPv6("ff02::1:ff00:100")
ALL_NODES = parseIPv6("ff02::1")
MAC = bytes.fromhex("020000000001")
ROUTER_MAC = bytes.fromhex("020000000002")

#: An echo reply from US to THEM (RFC 4443 4.2); checksum as computed by
#: scapy's in6_chksum.
ECHO_REPLY = bytes.fromhex(
    "81"        # type 129: echo reply
    "00"        # code 0
    "abcc"      # checksum
    "1234"      # identifier
    "0001"      # sequence 1
) + b"abcd"

#: A neighbor solicitation from fe80::1 to ff02::1:ff00:100 (RFC 4861
#: 4.3); checksum as computed by scapy.
NS = bytes.fromhex(
    "87"        # type 135
    "00"        # code 0
    "79a4"      # checksum
    "00000000"  # reserved
    "fd000077000000000000000000000100"  # target fd00:77::100
    "01"        # option 1: source link-layer address
    "01"        # length 1 (8 bytes)
    "020000000001"  # 02:00:00:00:00:01
)

#: A router advertisement from fe80::2 to ff02::1 (RFC 4861 4.2, 4.6;
#: RFC 8106 5.1).
RA = bytes.fromhex(
    "86"        # type 134
    "00"        # code 0
    "c9d1"      # checksum
    "40"        # current hop limit 64
    "40"        # M 0, O 1, preference 0
    "0708"      # router lifetime 1800
    "00007530"  # reachable time 30000 ms
    "000003e8"  # retrans timer 1000 ms
    "0101" "020000000002"          # source link-layer address 02:00:00:00:00:02
    "0501" "0000" "000005dc"       # MTU 1500
    "0304"      # prefix information, 32 bytes
    "40"        # prefix length 64
    "c0"        # L 1, A 1
    "00015180"  # valid lifetime 86400
    "00003840"  # preferred lifetime 14400
    "00000000"  # reserved
    "fd000077000000000000000000000000"  # fd00:77::
    "1903"      # RDNSS, 24 bytes
    "0000"      # reserved
    "00000258"  # lifetime 600
    "fd000077000000000000000000000003"  # fd00:77::3
)

RA_REPR = RouterAdvertisement(
    curHopLimit=64, managed=False, other=True, routerLifetime=1800,
    reachableTime=30000, retransTimer=1000, options=(
        LinkLayerAddressOption(OPTION_SOURCE_LINK_LAYER_ADDRESS, ROUTER_MAC),
        MTUOption(1500),
        PrefixInformation(64, True, True, 86400, 14400, parseIPv6("fd00:77::")),
        RDNSSOption(600, (parseIPv6("fd00:77::3"),)),
    ))

#: An offending UDP packet to quote.
OFFENDING = IPv6Repr(THEM, US, 17, 8).emit(bytes.fromhex("d431003500080000"))


class ICMPv6Tests(SynchronousTestCase):
    """
    Tests for L{ICMPv6View} and L{ICMPv6Repr}.
    """

    def test_decodeEcho(self) -> None:
        """
        The echo fixture parses with its checksum verified.
        """
        parsed = ICMPv6Repr.fromBytes(ECHO_REPLY, US, THEM)
        self.assertEqual(parsed, ICMPv6Repr(TYPE_ECHO_REPLY, 0, 0x12340001, b"abcd"))
        self.assertEqual((parsed.identifier, parsed.sequence), (0x1234, 1))
        view = ICMPv6View.checked(ECHO_REPLY)
        self.assertEqual((view.type, view.code, view.checksum, view.identifier,
                          view.sequence), (129, 0, 0xABCC, 0x1234, 1))
        self.assertFalse(parsed.isError)

    def test_encodeEcho(self) -> None:
        """
        The echo repr emits the fixture over a sentinel buffer.
        """
        buffer = bytearray(b"\xa5" * len(ECHO_REPLY))
        ICMPv6Repr.echoReply(0x1234, 1, b"abcd").emitInto(buffer, US, THEM)
        self.assertEqual(bytes(buffer), ECHO_REPLY)

    def test_checksumCoversPseudoHeader(self) -> None:
        """
        The same bytes from another source fail the checksum; without
        addresses the checksum is not verified.
        """
        self.assertRaises(MalformedPacket, ICMPv6Repr.fromBytes, ECHO_REPLY, LINK_LOCAL, THEM)
        self.assertRaises(MalformedPacket, ICMPv6Repr.fromBytes,
                          ECHO_REPLY[:-1] + b"e", US, THEM)
        ICMPv6Repr.fromBytes(ECHO_REPLY[:-1] + b"e")

    def test_truncated(self) -> None:
        """
        Fewer than 8 bytes are refused.
        """
        for n in range(8):
            self.assertRaises(MalformedPacket, ICMPv6View.checked, ECHO_REPLY[:n])

    def test_errors(self) -> None:
        """
        The error builders quote the packet and put their word in place.
        """
        unreachable = ICMPv6Repr.destinationUnreachable(CODE_PORT_UNREACHABLE, OFFENDING)
        data = unreachable.emit(US, THEM)
        self.assertEqual(data[:2], b"\x01\x04")
        self.assertEqual(data[4:8], b"\0\0\0\0")
        self.assertEqual(data[8:], OFFENDING)
        self.assertEqual(ICMPv6Repr.fromBytes(data, US, THEM), unreachable)
        self.assertTrue(unreachable.isError)
        big = ICMPv6Repr.packetTooBig(1280, OFFENDING)
        self.assertEqual(big.emit(US, THEM)[:8:4], bytes([TYPE_PACKET_TOO_BIG, 0]))
        self.assertEqual(big.emit(US, THEM)[4:8], b"\x00\x00\x05\x00")
        self.assertEqual(big.mtu, 1280)
        problem = ICMPv6Repr.parameterProblem(CODE_UNRECOGNIZED_NEXT_HEADER, 6, OFFENDING)
        self.assertEqual(problem.emit(US, THEM)[:8],
                         bytes.fromhex("0401") + problem.emit(US, THEM)[2:4] + b"\0\0\0\x06")
        self.assertEqual(problem.pointer, 6)
        self.assertEqual(ICMPv6Repr.timeExceeded(1, OFFENDING).emit(US, THEM)[:2], b"\x03\x01")

    def test_quoteLimit(self) -> None:
        """
        Long packets are quoted so that the error fits in 1280 bytes.
        """
        self.assertEqual(len(quotePacket(OFFENDING + bytes(2000))), 1232)
        message = ICMPv6Repr.destinationUnreachable(4, OFFENDING + bytes(2000))
        self.assertEqual(40 + message.bufferLength(), 1280)

    def test_errorQuotesTooLittle(self) -> None:
        """
        An error quoting less than an IPv6 header is refused.
        """
        data = ICMPv6Repr(1, 4, 0, OFFENDING[:39]).emit(US, THEM)
        self.assertRaises(MalformedPacket, ICMPv6Repr.fromBytes, data, US, THEM)

    @given(st.binary(max_size=120))
    def test_arbitraryBytes(self, data: bytes) -> None:
        """
        Arbitrary bytes, as any message and as any ND message, either
        parse or raise L{MalformedPacket}.
        """
        try:
            message = ICMPv6Repr.fromBytes(data)
        except MalformedPacket:
            return
        for kind in (133, 134, 135, 136):
            try:
                parseND(ICMPv6Repr(kind, message.code, message.restOfHeader, message.data))
            except MalformedPacket:
                pass

    @given(st.binary(max_size=200))
    def test_arbitraryOptions(self, data: bytes) -> None:
        """
        Arbitrary option bytes either parse (and then re-emit to the same
        bytes, whatever their kind) or raise L{MalformedPacket}.
        """
        try:
            options = parseNDOptions(data)
        except MalformedPacket:
            return
        for option in options:
            if isinstance(option, (PrefixInformation, RDNSSOption, MTUOption)):
                return  # reserved fields are not kept
        self.assertEqual(b"".join(o.emit() for o in options), data)


class NDTests(SynchronousTestCase):
    """
    Tests for the Neighbor Discovery messages and options.
    """

    def test_decodeNS(self) -> None:
        """
        The NS fixture parses: target and source link-layer address.
        """
        message = ICMPv6Repr.fromBytes(NS, LINK_LOCAL, SOLICITED)
        ns = parseND(message)
        self.assertEqual(ns, NeighborSolicitation(US, (
            LinkLayerAddressOption(OPTION_SOURCE_LINK_LAYER_ADDRESS, MAC),)))
        assert isinstance(ns, NeighborSolicitation)
        self.assertEqual(ns.sourceLinkLayerAddress, MAC)

    def test_encodeNS(self) -> None:
        """
        The NS repr emits the fixture.
        """
        ns = NeighborSolicitation(US, (LinkLayerAddressOption(1, MAC),))
        self.assertEqual(ns.emit(LINK_LOCAL, SOLICITED), NS)

    def test_NSChecks(self) -> None:
        """
        Short, coded, multicast-target and zero-length-option NSes are
        refused.
        """
        good = ICMPv6Repr.fromBytes(NS)
        for bad in [ICMPv6Repr(135, 0, 0, US[:15]),
                    ICMPv6Repr(135, 1, 0, good.data),
                    ICMPv6Repr(135, 0, 0, ALL_NODES),
                    ICMPv6Repr(135, 0, 0, US + b"\x01\x00" + MAC),
                    ICMPv6Repr(135, 0, 0, US + b"\x01\x02" + MAC)]:
            self.assertRaises(MalformedPacket, parseND, bad)
        self.assertRaises(MalformedPacket, NeighborAdvertisement.fromICMPv6, good)
        self.assertRaises(MalformedPacket, parseND, ICMPv6Repr(128, 0, 0, b""))

    def test_NA(self) -> None:
        """
        The NA flags sit in the top three bits (RFC 4861 4.4) and round
        trip.
        """
        na = NeighborAdvertisement(US, router=True, solicited=True, override=False,
                                   options=(LinkLayerAddressOption(2, MAC),))
        data = na.emit(US, LINK_LOCAL)
        self.assertEqual(data[4:8], b"\xc0\0\0\0")
        self.assertEqual(data[8:24], US)
        self.assertEqual(data[24:], b"\x02\x01" + MAC)
        self.assertEqual(parseND(ICMPv6Repr.fromBytes(data, US, LINK_LOCAL)), na)
        self.assertEqual(na.targetLinkLayerAddress, MAC)
        o = NeighborAdvertisement(US, override=True).emit(US, LINK_LOCAL)
        self.assertEqual(o[4:8], b"\x20\0\0\0")

    def test_RS(self) -> None:
        """
        An RS is a reserved word and options.
        """
        rs = RouterSolicitation((LinkLayerAddressOption(1, MAC),))
        data = rs.emit(LINK_LOCAL, parseIPv6("ff02::2"))
        self.assertEqual(data[:2] + data[4:], b"\x85\0" + b"\0\0\0\0" + b"\x01\x01" + MAC)
        self.assertEqual(parseND(ICMPv6Repr.fromBytes(data)), rs)
        self.assertEqual(rs.sourceLinkLayerAddress, MAC)
        self.assertIsNone(RouterSolicitation().sourceLinkLayerAddress)

    def test_decodeRA(self) -> None:
        """
        The RA fixture parses to its repr.
        """
        ra = parseND(ICMPv6Repr.fromBytes(RA, ROUTER, ALL_NODES))
        self.assertEqual(ra, RA_REPR)
        assert isinstance(ra, RouterAdvertisement)
        self.assertEqual(ra.sourceLinkLayerAddress, ROUTER_MAC)
        self.assertEqual(findOption(ra.options, MTUOption), MTUOption(1500))
        self.assertIsNone(findOption(ra.options, LinkLayerAddressOption,
                                     OPTION_TARGET_LINK_LAYER_ADDRESS))

    def test_encodeRA(self) -> None:
        """
        The RA repr emits the fixture.
        """
        self.assertEqual(RA_REPR.emit(ROUTER, ALL_NODES), RA)

    def test_RAShort(self) -> None:
        """
        An RA shorter than 16 bytes is refused.
        """
        self.assertRaises(MalformedPacket, parseND, ICMPv6Repr(134, 0, 0, b"\0" * 7))

    def test_odd_options(self) -> None:
        """
        Known options with a wrong length, and unknown options, are kept
        as L{UnknownOption} (RFC 4861 says to ignore them); an RDNSS
        option with no address cannot be emitted; infinite lifetimes
        survive.
        """
        options = parseNDOptions(
            b"\x01\x02" + bytes(14)          # a 16-byte source link-layer option
            + b"\x05\x02" + bytes(14)        # a 16-byte MTU option
            + b"\x19\x01" + bytes(6)         # an RDNSS option without addresses
            + b"\x1f\x01" + bytes(6))        # DNSSL: not interpreted
        self.assertEqual([type(o) for o in options], [UnknownOption] * 4)
        self.assertEqual([o.type for o in options], [1, 5, 25, 31])
        self.assertRaises(ValueError, RDNSSOption(1, ()).emit)
        self.assertRaises(ValueError, UnknownOption(9, b"x").emit)
        info = PrefixInformation(64, True, True, INFINITY, INFINITY, US)
        self.assertEqual(parseNDOptions(info.emit()), [info])


def _text(address: bytes) -> str:
    """
    Format for scapy.

    @param address: 16 bytes.
    @return: text.
    """
    return formatIPv6(address)


class ICMPv6OracleTests(SynchronousTestCase):
    """
    The ICMPv6 and ND codecs against scapy, both ways.
    """

    if scapy is None:
        skip = SKIP_REASON

    def icmp(self, layer: object, source: bytes = US, destination: bytes = THEM) -> bytes:
        """
        The ICMPv6 bytes scapy builds for C{layer}, checksum included.

        @param layer: a scapy ICMPv6 layer (with options).
        @param source: the IPv6 source.
        @param destination: the IPv6 destination.
        @return: the bytes after the IPv6 header.
        """
        packet = scapy.IPv6(src=_text(source), dst=_text(destination)) / layer
        return bytes(packet)[40:]

    @given(st.integers(0, 0xFFFF), st.integers(0, 0xFFFF), st.binary(max_size=100))
    def test_echoBothWays(self, ident: int, seq: int, data: bytes) -> None:
        """
        Echo requests and replies equal scapy's; scapy's parse back.
        """
        theirs = self.icmp(scapy.ICMPv6EchoRequest(id=ident, seq=seq, data=data))
        ours = ICMPv6Repr.echoRequest(ident, seq, data)
        self.assertEqual(ours.emit(US, THEM), theirs)
        self.assertEqual(ICMPv6Repr.fromBytes(theirs, US, THEM), ours)
        theirs = self.icmp(scapy.ICMPv6EchoReply(id=ident, seq=seq, data=data))
        self.assertEqual(ICMPv6Repr.echoReply(ident, seq, data).emit(US, THEM), theirs)

    def test_fixturesMatchScapy(self) -> None:
        """
        scapy builds the NS, RA and echo fixtures byte for byte.
        """
        self.assertEqual(self.icmp(scapy.ICMPv6EchoReply(id=0x1234, seq=1, data=b"abcd")),
                         ECHO_REPLY)
        self.assertEqual(self.icmp(
            scapy.ICMPv6ND_NS(tgt="fd00:77::100")
            / scapy.ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:01"), LINK_LOCAL, SOLICITED), NS)
        self.assertEqual(self.icmp(
            scapy.ICMPv6ND_RA(chlim=64, M=0, O=1, prf=0, routerlifetime=1800,
                              reachabletime=30000, retranstimer=1000)
            / scapy.ICMPv6NDOptSrcLLAddr(lladdr="02:00:00:00:00:02")
            / scapy.ICMPv6NDOptMTU(mtu=1500)
            / scapy.ICMPv6NDOptPrefixInfo(prefixlen=64, L=1, A=1, validlifetime=86400,
                                          preferredlifetime=14400, prefix="fd00:77::")
            / scapy.ICMPv6NDOptRDNSS(lifetime=600, dns=["fd00:77::3"]),
            ROUTER, ALL_NODES), RA)

    @given(st.binary(min_size=16, max_size=16), st.booleans(), st.booleans(),
           st.booleans(), st.binary(min_size=6, max_size=6))
    def test_NABothWays(self, target: bytes, r: bool, s: bool, o: bool, mac: bytes) -> None:
        """
        Neighbor advertisements agree with scapy both ways.
        """
        target = b"\xfd" + target[1:]
        theirs = self.icmp(scapy.ICMPv6ND_NA(tgt=_text(target), R=int(r), S=int(s), O=int(o))
                           / scapy.ICMPv6NDOptDstLLAddr(lladdr=scapy.str2mac(mac)))
        ours = NeighborAdvertisement(target, r, s, o, (LinkLayerAddressOption(2, mac),))
        self.assertEqual(ours.emit(US, THEM), theirs)
        self.assertEqual(parseND(ICMPv6Repr.fromBytes(theirs, US, THEM)), ours)

    def test_RSToScapy(self) -> None:
        """
        scapy reads our RS.
        """
        data = RouterSolicitation((LinkLayerAddressOption(1, MAC),)).emit(LINK_LOCAL, ALL_NODES)
        packet = scapy.IPv6(IPv6Repr(LINK_LOCAL, ALL_NODES, 58, len(data), 255).emit(data))
        self.assertEqual(packet[scapy.ICMPv6ND_RS].type, 133)
        self.assertEqual(packet[scapy.ICMPv6NDOptSrcLLAddr].lladdr, "02:00:00:00:00:01")
        rebuilt = scapy.IPv6(bytes(packet))
        del rebuilt[scapy.ICMPv6ND_RS].cksum
        self.assertEqual(bytes(rebuilt)[40:], data)

    def test_errorsToScapy(self) -> None:
        """
        scapy reads our errors, their words and the quoted packet.
        """
        for ours, cls, field, value in [
                (ICMPv6Repr.destinationUnreachable(4, OFFENDING), "ICMPv6DestUnreach",
                 "code", 4),
                (ICMPv6Repr.packetTooBig(1400, OFFENDING), "ICMPv6PacketTooBig", "mtu", 1400),
                (ICMPv6Repr.timeExceeded(1, OFFENDING), "ICMPv6TimeExceeded", "code", 1),
                (ICMPv6Repr.parameterProblem(1, 6, OFFENDING), "ICMPv6ParamProblem", "ptr", 6)]:
            data = ours.emit(US, THEM)
            packet = scapy.IPv6(IPv6Repr(US, THEM, 58, len(data)).emit(data))
            layer = packet[getattr(scapy, cls)]
            self.assertEqual(getattr(layer, field), value)
            self.assertEqual(packet[scapy.IPerror6].dst, "fd00:77::100")
            self.assertEqual(packet[scapy.UDPerror].dport, 53)
            # scapy recomputes the checksum the same way.
            rebuilt = scapy.IPv6(bytes(packet))
            del rebuilt[getattr(scapy, cls)].cksum
            self.assertEqual(bytes(rebuilt)[40:], data)

    def test_NSFromScapyWithoutOptions(self) -> None:
        """
        A DAD probe (NS from :: without options) from scapy parses.
        """
        theirs = self.icmp(scapy.ICMPv6ND_NS(tgt="fd00:77::100"), bytes(16), SOLICITED)
        ns = parseND(ICMPv6Repr.fromBytes(theirs, bytes(16), SOLICITED))
        self.assertEqual(ns, NeighborSolicitation(US))
        self.assertEqual(ICMPv6Repr.fromBytes(theirs).type, TYPE_NEIGHBOR_SOLICITATION)
