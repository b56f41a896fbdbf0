# -*- test-case-name: tests.wire.test_arp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.arp}.
"""

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from tests.wire.oracle import SKIP_REASON, scapy
from vdetwist.wire.arp import OPERATION_REPLY, OPERATION_REQUEST, ARPRepr, ARPView
from vdetwist.wire.frames import MalformedPacket

#: A request "who has 10.0.2.2? tell 10.0.2.15" (RFC 826 packet format).
REQUEST = bytes.fromhex(
    "0001"          # ar$hrd: Ethernet
    "0800"          # ar$pro: IPv4
    "06"            # ar$hln: 6
    "04"            # ar$pln: 4
    "0001"          # ar$op: request
    "525400123456"  # ar$sha: 52:54:00:12:34:56
    "0a00020f"      # ar$spa: 10.0.2.15
    "000000000000"  # ar$tha: unknown
    "0a000202"      # ar$tpa: 10.0.2.2
)
REQUEST_REPR = dict(
    operation=OPERATION_REQUEST,
    senderHardwareAddress=bytes.fromhex("525400123456"),
    senderProtocolAddress=bytes.fromhex("0a00020f"),
    targetHardwareAddress=b"\0" * 6,
    targetProtocolAddress=bytes.fromhex("0a000202"),
)


class ARPTests(SynchronousTestCase):
    """
    Tests for L{ARPView} and L{ARPRepr}.
    """

    def test_decode(self) -> None:
        """
        The request fixture parses to its repr.
        """
        self.assertEqual(ARPRepr.fromBytes(REQUEST), ARPRepr(**REQUEST_REPR))

    def test_encode(self) -> None:
        """
        The repr emits the fixture, over a sentinel buffer.
        """
        buffer = bytearray(b"\xa5" * 28)
        ARPRepr(**REQUEST_REPR).emitInto(buffer)
        self.assertEqual(bytes(buffer), REQUEST)

    def test_padding(self) -> None:
        """
        Trailing Ethernet padding is ignored.
        """
        self.assertEqual(ARPRepr.fromBytes(REQUEST + b"\0" * 18), ARPRepr(**REQUEST_REPR))

    def test_truncated(self) -> None:
        """
        Every truncation of the fixture is refused.
        """
        for n in range(28):
            self.assertRaises(MalformedPacket, ARPRepr.fromBytes, REQUEST[:n])

    def test_otherSizes(self) -> None:
        """
        The view describes ARP with other address sizes (checking the
        announced length), but the repr refuses it.
        """
        packet = bytes.fromhex("0006" "0800" "08" "04" "0002") + bytes(range(24))
        view = ARPView.checked(packet)
        self.assertEqual(view.senderHardwareAddress, bytes(range(8)))
        self.assertEqual(view.senderProtocolAddress, bytes(range(8, 12)))
        self.assertEqual(view.targetHardwareAddress, bytes(range(12, 20)))
        self.assertEqual(view.targetProtocolAddress, bytes(range(20, 24)))
        self.assertRaises(MalformedPacket, ARPRepr.parse, view)
        self.assertRaises(MalformedPacket, ARPView.checked, packet[:-1])

    def test_badOperation(self) -> None:
        """
        Operations other than request and reply are refused.
        """
        self.assertRaises(MalformedPacket, ARPRepr.fromBytes,
                          REQUEST[:6] + b"\x00\x03" + REQUEST[8:])

    @given(st.binary(max_size=40))
    def test_arbitraryBytes(self, data: bytes) -> None:
        """
        Arbitrary bytes either parse or raise L{MalformedPacket}.
        """
        try:
            ARPRepr.fromBytes(data)
        except MalformedPacket:
            pass


class ARPOracleTests(SynchronousTestCase):
    """
    L{ARPRepr} against scapy.
    """

    if scapy is None:
        skip = SKIP_REASON

    def test_scapyToOurs(self) -> None:
        """
        A reply built by scapy parses to the same fields.
        """
        pkt = scapy.ARP(op=2, hwsrc="02:00:00:00:00:02", psrc="192.168.77.1",
                        hwdst="02:00:00:00:00:01", pdst="192.168.77.100")
        self.assertEqual(ARPRepr.fromBytes(bytes(pkt)), ARPRepr(
            OPERATION_REPLY, bytes.fromhex("020000000002"), bytes([192, 168, 77, 1]),
            bytes.fromhex("020000000001"), bytes([192, 168, 77, 100])))

    def test_oursToScapy(self) -> None:
        """
        scapy reads our request's fields back.
        """
        pkt = scapy.ARP(ARPRepr(**REQUEST_REPR).emit())
        self.assertEqual((pkt.op, pkt.hwsrc, pkt.psrc, pkt.pdst),
                         (1, "52:54:00:12:34:56", "10.0.2.15", "10.0.2.2"))
