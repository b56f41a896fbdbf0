# -*- test-case-name: tests.wire.test_ethernet -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.ethernet}.
"""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.wire.ethernet import (
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    EthernetRepr,
    EthernetView,
)
from vdetwist.wire.frames import MalformedPacket

#: An untagged frame header (IEEE 802.3 clause 3.1 layout).
UNTAGGED = bytes.fromhex(
    "ffffffffffff"  # destination: broadcast
    "525400123456"  # source: 52:54:00:12:34:56 (QEMU's default OUI)
    "0806"          # EtherType: ARP
) + b"payload"
UNTAGGED_REPR = dict(destination=b"\xff" * 6, source=bytes.fromhex("525400123456"),
                     etherType=ETHERTYPE_ARP)

#: An 802.1Q-tagged header (IEEE 802.1Q clause 9.3: TPID then TCI).
TAGGED = bytes.fromhex(
    "020000000001"  # destination
    "020000000002"  # source
    "8100"          # TPID: 802.1Q
    "a00a"          # TCI: PCP 5 (101), DEI 0, VID 10
    "0800"          # inner EtherType: IPv4
) + b"xyz"
TAGGED_REPR = dict(destination=bytes.fromhex("020000000001"),
                   source=bytes.fromhex("020000000002"),
                   etherType=ETHERTYPE_IPV4, vlan=10, priority=5)


class EthernetTests(SynchronousTestCase):
    """
    Tests for L{EthernetView} and L{EthernetRepr}.
    """

    def test_decodeUntagged(self) -> None:
        """
        The untagged fixture parses to its repr; the payload follows the
        14-byte header.
        """
        view = EthernetView.checked(UNTAGGED)
        self.assertEqual(EthernetRepr.parse(view), EthernetRepr(**UNTAGGED_REPR))
        self.assertEqual(bytes(view.payload), b"payload")
        self.assertIsNone(view.vlan)

    def test_encodeUntagged(self) -> None:
        """
        The repr emits the fixture's header, over a sentinel-filled buffer.
        """
        buffer = bytearray(b"\xa5" * 14)
        EthernetRepr(**UNTAGGED_REPR).emitInto(buffer)
        self.assertEqual(bytes(buffer), UNTAGGED[:14])
        self.assertEqual(EthernetRepr(**UNTAGGED_REPR).emit(b"payload"), UNTAGGED)

    def test_decodeTagged(self) -> None:
        """
        The tagged fixture gives VLAN 10, priority 5 and the inner
        EtherType, with an 18-byte header.
        """
        view = EthernetView.checked(TAGGED)
        self.assertEqual(EthernetRepr.parse(view), EthernetRepr(**TAGGED_REPR))
        self.assertEqual(view.headerLength, 18)
        self.assertEqual(bytes(view.payload), b"xyz")

    def test_encodeTagged(self) -> None:
        """
        A repr with a VLAN emits the tagged header.
        """
        buffer = bytearray(b"\xa5" * 18)
        EthernetRepr(**TAGGED_REPR).emitInto(buffer)
        self.assertEqual(bytes(buffer), TAGGED[:18])

    def test_pad(self) -> None:
        """
        C{emit(pad=True)} pads to 60 bytes.
        """
        frame = EthernetRepr(**UNTAGGED_REPR).emit(b"x", pad=True)
        self.assertEqual(len(frame), 60)
        self.assertEqual(frame[15:], b"\0" * 45)

    def test_truncated(self) -> None:
        """
        Frames shorter than their header are refused before any field is
        read, tagged or not.
        """
        for n in range(14):
            self.assertRaises(MalformedPacket, EthernetView.checked, UNTAGGED[:n])
        for n in range(14, 18):
            self.assertRaises(MalformedPacket, EthernetView.checked, TAGGED[:n])

    def test_deiRefused(self) -> None:
        """
        A tag with the DEI bit set is described by the view but refused by
        the repr.
        """
        frame = TAGGED[:14] + b"\xb0\x0a" + TAGGED[16:]
        view = EthernetView.checked(frame)
        self.assertEqual(view.vlan, 10)
        self.assertRaises(MalformedPacket, EthernetRepr.parse, view)

    @given(st.binary(max_size=40))
    def test_arbitraryBytes(self, data: bytes) -> None:
        """
        Arbitrary bytes either parse or raise L{MalformedPacket}.
        """
        try:
            EthernetRepr.fromBytes(data)
        except MalformedPacket:
            pass


class EthernetOracleTests(SynchronousTestCase):
    """
    L{EthernetRepr} against scapy.
    """

    if scapy is None:
        skip = SKIP_REASON

    def test_scapyToOurs(self) -> None:
        """
        Frames built by scapy, tagged and not, parse to the same fields.
        """
        for vlan in (None, 1, 4094):
            pkt = scapy.Ether(dst="01:00:5e:00:00:fb", src="02:11:22:33:44:55")
            if vlan is not None:
                pkt = pkt / scapy.Dot1Q(vlan=vlan, prio=3)
            pkt = pkt / scapy.IP()
            parsed = EthernetRepr.fromBytes(bytes(pkt))
            self.assertEqual(parsed.destination, bytes.fromhex("01005e0000fb"))
            self.assertEqual(parsed.source, bytes.fromhex("021122334455"))
            self.assertEqual(parsed.etherType, ETHERTYPE_IPV4)
            self.assertEqual(parsed.vlan, vlan)
            self.assertEqual(parsed.priority, 0 if vlan is None else 3)

    def test_oursToScapy(self) -> None:
        """
        scapy reads our tagged frame's fields back.
        """
        frame = EthernetRepr(**TAGGED_REPR).emit(b"")
        pkt = scapy.Ether(frame)
        self.assertEqual(pkt.dst, "02:00:00:00:00:01")
        self.assertEqual(pkt[scapy.Dot1Q].vlan, 10)
        self.assertEqual(pkt[scapy.Dot1Q].prio, 5)
        self.assertEqual(pkt[scapy.Dot1Q].type, ETHERTYPE_IPV4)
