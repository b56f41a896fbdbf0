# -*- test-case-name: tests.wire.test_addr -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.addr}.
"""

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.wire import addr


class MACTests(SynchronousTestCase):
    """
    Tests for the MAC helpers.
    """

    def test_parse(self) -> None:
        """
        Colon and dash forms, upper or lower case, single digits.
        """
        self.assertEqual(addr.parseMAC("52:54:00:12:34:56"), b"RT\x00\x124V")
        self.assertEqual(addr.parseMAC("AA-bb-CC-dd-EE-ff"), bytes.fromhex("aabbccddeeff"))
        self.assertEqual(addr.parseMAC("a:b:c:d:e:f"), bytes.fromhex("0a0b0c0d0e0f"))

    def test_parseBad(self) -> None:
        """
        Wrong counts, empty or non-hex parts are refused.
        """
        for bad in ["", "1:2:3:4:5", "1:2:3:4:5:6:7", "gg:00:00:00:00:00",
                    "100:0:0:0:0:0", "::::::", "1:2:3:4:5: 6"]:
            self.assertRaises(ValueError, addr.parseMAC, bad)

    def test_format(self) -> None:
        """
        Lower-case, zero-padded, colon-separated; wrong lengths refused.
        """
        self.assertEqual(addr.formatMAC(bytes.fromhex("0a0b0c0d0e0f")), "0a:0b:0c:0d:0e:0f")
        self.assertRaises(ValueError, addr.formatMAC, b"\0" * 5)

    def test_random(self) -> None:
        """
        Random MACs are unicast and locally administered.
        """
        for _ in range(50):
            mac = addr.randomMAC()
            self.assertEqual(len(mac), 6)
            self.assertEqual(mac[0] & 3, 2)
            self.assertFalse(addr.isMulticastMAC(mac))
        self.assertTrue(addr.isMulticastMAC(addr.BROADCAST_MAC))
        self.assertTrue(addr.isMulticastMAC(bytes.fromhex("01005e000001")))


class IPv4AddressTests(SynchronousTestCase):
    """
    Tests for the IPv4 helpers.
    """

    def test_parseFormat(self) -> None:
        """
        Dotted quads round-trip through 4 network-order bytes.
        """
        self.assertEqual(addr.parseIPv4("192.168.77.100"), b"\xc0\xa8\x4d\x64")
        self.assertEqual(addr.formatIPv4(b"\x0a\x00\x02\x02"), "10.0.2.2")
        for bad in ["1.2.3", "1.2.3.256", "a.b.c.d", "", "1.2.3.4/24"]:
            self.assertRaises(ValueError, addr.parseIPv4, bad)
        self.assertRaises(ValueError, addr.formatIPv4, b"\0\0\0")

    def test_parseInterface(self) -> None:
        """
        CIDR forms give (address, prefix); no prefix means /32.
        """
        self.assertEqual(addr.parseInterface("192.168.77.100/24"),
                         (b"\xc0\xa8\x4d\x64", 24))
        self.assertEqual(addr.parseInterface("10.0.2.15"), (b"\x0a\x00\x02\x0f", 32))
        for bad in ["10.0.2.15/33", "10.0.2.15/", "10.0.2.15/x", "10.0.2/8"]:
            self.assertRaises(ValueError, addr.parseInterface, bad)

    def test_netmasks(self) -> None:
        """
        Prefix lengths and netmasks convert both ways; non-contiguous masks
        are refused.
        """
        self.assertEqual(addr.netmaskFromPrefix(24), b"\xff\xff\xff\x00")
        self.assertEqual(addr.netmaskFromPrefix(0), b"\0\0\0\0")
        self.assertEqual(addr.netmaskFromPrefix(32), b"\xff" * 4)
        for n in range(33):
            self.assertEqual(addr.prefixFromNetmask(addr.netmaskFromPrefix(n)), n)
        self.assertRaises(ValueError, addr.prefixFromNetmask, b"\xff\x00\xff\x00")
        self.assertRaises(ValueError, addr.netmaskFromPrefix, 33)

    def test_networks(self) -> None:
        """
        Network and broadcast addresses, and subnet membership.
        """
        a = addr.parseIPv4("192.168.77.100")
        self.assertEqual(addr.networkAddress(a, 24), addr.parseIPv4("192.168.77.0"))
        self.assertEqual(addr.broadcastAddress(a, 24), addr.parseIPv4("192.168.77.255"))
        self.assertTrue(addr.sameNetwork(a, addr.parseIPv4("192.168.77.1"), 24))
        self.assertFalse(addr.sameNetwork(a, addr.parseIPv4("192.168.78.1"), 24))
        self.assertTrue(addr.sameNetwork(a, addr.parseIPv4("8.8.8.8"), 0))
