# -*- test-case-name: tests.wire.test_frames -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.frames}: the shared frame limits and error.
"""

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.wire import arp, dhcp, ethernet, icmp, ipv4, pcap, tcp, udp
from vdetwist.wire.frames import MAX_FRAME, MIN_FRAME, MalformedPacket


class FrameLimitTests(SynchronousTestCase):
    """
    The limits are VDE's.
    """

    def test_minimum(self) -> None:
        """
        The shortest frame is an Ethernet header: two MACs and an EtherType.
        """
        self.assertEqual(MIN_FRAME, 6 + 6 + 2)
        self.assertEqual(MIN_FRAME, ethernet.HEADER_LENGTH)

    def test_maximum(self) -> None:
        """
        The longest is vdeplug4's C{VDE_ETHBUFSIZE}: 9216 bytes of payload,
        the header and an 802.1Q tag.
        """
        self.assertEqual(MAX_FRAME, 9216 + 14 + 4)


class MalformedPacketTests(SynchronousTestCase):
    """
    One error for every codec.
    """

    def test_valueError(self) -> None:
        """
        It is a L{ValueError}, so callers that catch that keep working.
        """
        self.assertTrue(issubclass(MalformedPacket, ValueError))

    def test_everyCodecRaisesIt(self) -> None:
        """
        Each codec's checked parse of empty bytes raises this very class
        (or a subclass), not a copy of its own.
        """
        for parse in [ethernet.EthernetView.checked, arp.ARPView.checked,
                      ipv4.IPv4View.checked, udp.UDPView.checked, icmp.ICMPView.checked,
                      dhcp.DHCPRepr.fromBytes, pcap.readPcap]:
            self.assertRaises(MalformedPacket, parse, b"")
        self.assertTrue(issubclass(tcp.MalformedSegment, MalformedPacket))
