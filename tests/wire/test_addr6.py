# -*- test-case-name: tests.wire.test_addr6 -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.wire.addr6}.
"""

import ipaddress

from hypothesis import given, strategies as st
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.wire import addr6


class ParseFormatTests(SynchronousTestCase):
    """
    Parsing and formatting.
    """

    def test_parse(self) -> None:
        """
        Compressed, full and IPv4-mapped forms parse to 16 bytes.
        """
        self.assertEqual(addr6.parseIPv6("fd00:77::1"),
                         bytes.fromhex("fd000077000000000000000000000001"))
        self.assertEqual(addr6.parseIPv6("FE80:0:0:0:0:0:0:1"),
                         bytes.fromhex("fe800000000000000000000000000001"))
        self.assertEqual(addr6.parseIPv6("::ffff:10.0.0.1"),
                         bytes.fromhex("00000000000000000000ffff0a000001"))

    def test_parseBad(self) -> None:
        """
        Non-addresses, brackets and zones are refused with L{ValueError}.
        """
        for bad in ["", "1.2.3.4", "fd00::77::1", "[fd00::1]", "fe80::1%eth0",
                    "12345::", "g::1"]:
            self.assertRaises(ValueError, addr6.parseIPv6, bad)

    def test_format(self) -> None:
        """
        RFC 5952's canonical form; wrong lengths refused.
        """
        self.assertEqual(addr6.formatIPv6(bytes.fromhex("fd000077000000000000000000000100")),
                         "fd00:77::100")
        self.assertEqual(addr6.formatIPv6(bytes(16)), "::")
        self.assertRaises(ValueError, addr6.formatIPv6, b"\0" * 4)

    @given(st.binary(min_size=16, max_size=16))
    def test_formatMatchesIPAddress(self, raw: bytes) -> None:
        """
        Formatting agrees with the stdlib's ipaddress, and parses back.
        """
        text = addr6.formatIPv6(raw)
        self.assertEqual(text, str(ipaddress.IPv6Address(raw)))
        self.assertEqual(addr6.parseIPv6(text), raw)

    def test_interface(self) -> None:
        """
        CIDR forms; a missing prefix is /128; bad prefixes refused.
        """
        self.assertEqual(addr6.parseInterface6("fd00:77::100/64"),
                         (addr6.parseIPv6("fd00:77::100"), 64))
        self.assertEqual(addr6.parseInterface6("::1"), (addr6.LOOPBACK, 128))
        for bad in ["fd00::1/129", "fd00::1/", "fd00::1/x", "x/64"]:
            self.assertRaises(ValueError, addr6.parseInterface6, bad)


class PrefixTests(SynchronousTestCase):
    """
    Prefix arithmetic and classification.
    """

    def test_prefix(self) -> None:
        """
        Network prefixes and prefix comparison.
        """
        a = addr6.parseIPv6("fd00:77::1:2")
        self.assertEqual(addr6.networkPrefix(a, 64), addr6.parseIPv6("fd00:77::"))
        self.assertEqual(addr6.networkPrefix(a, 128), a)
        self.assertEqual(addr6.networkPrefix(a, 0), bytes(16))
        self.assertTrue(addr6.samePrefix(a, addr6.parseIPv6("fd00:77::9"), 64))
        self.assertFalse(addr6.samePrefix(a, addr6.parseIPv6("fd00:78::1:2"), 64))
        self.assertTrue(addr6.samePrefix(a, addr6.parseIPv6("1::"), 0))
        self.assertRaises(ValueError, addr6.prefixMask, 129)

    @given(st.binary(min_size=16, max_size=16), st.integers(0, 128),
           st.integers(0, 127), st.booleans())
    def test_samePrefixProperty(self, a: bytes, prefixLength: int, flip: int,
                                change: bool) -> None:
        """
        L{addr6.samePrefix} agrees with comparing the addresses' first
        C{prefixLength} bits as integers (C{ipaddress}), for an address
        and a copy with one bit flipped, before, at or after the prefix's
        end, or none.
        """
        b = bytearray(a)
        if change:
            b[flip >> 3] ^= 0x80 >> (flip & 7)
        b = bytes(b)
        shift = 128 - prefixLength
        expected = (int(ipaddress.IPv6Address(a)) >> shift
                    == int(ipaddress.IPv6Address(b)) >> shift)
        self.assertEqual(addr6.samePrefix(a, b, prefixLength), expected)
        self.assertEqual(addr6.samePrefix(a, b, prefixLength), not change or flip >= prefixLength)

    def test_classify(self) -> None:
        """
        Multicast, link-local, unspecified and solicited-node tests.
        """
        self.assertTrue(addr6.isMulticast(addr6.ALL_NODES))
        self.assertFalse(addr6.isMulticast(addr6.LOOPBACK))
        self.assertTrue(addr6.isLinkLocal(addr6.parseIPv6("fe80::1")))
        self.assertTrue(addr6.isLinkLocal(addr6.parseIPv6("febf::1")))
        self.assertFalse(addr6.isLinkLocal(addr6.parseIPv6("fec0::1")))
        self.assertTrue(addr6.isUnspecified(addr6.parseIPv6("::")))
        self.assertTrue(addr6.isSolicitedNode(addr6.parseIPv6("ff02::1:ff00:1")))
        self.assertFalse(addr6.isSolicitedNode(addr6.ALL_NODES))


class DerivedAddressTests(SynchronousTestCase):
    """
    Addresses derived from others, against the RFCs' examples.
    """

    def test_solicitedNode(self) -> None:
        """
        RFC 4291 2.7.1: the low 24 bits after ff02::1:ff.
        """
        self.assertEqual(
            addr6.solicitedNode(addr6.parseIPv6("4037::01:800:200e:8c6c")),
            addr6.parseIPv6("ff02::1:ff0e:8c6c"))

    def test_multicastMAC(self) -> None:
        """
        RFC 2464 7: 33:33 and the low 32 bits.
        """
        self.assertEqual(addr6.multicastMAC(addr6.parseIPv6("ff02::1:ff0e:8c6c")),
                         bytes.fromhex("3333ff0e8c6c"))
        self.assertEqual(addr6.multicastMAC(addr6.ALL_NODES), bytes.fromhex("333300000001"))

    def test_eui64(self) -> None:
        """
        RFC 4291 appendix A: 34-56-78-9A-BC-DE gives 3656:78ff:fe9a:bcde
        (the universal/local bit inverted); and a link-local address.
        """
        mac = bytes.fromhex("3456789abcde")
        self.assertEqual(addr6.eui64(mac), bytes.fromhex("365678fffe9abcde"))
        self.assertEqual(addr6.linkLocalFromMAC(mac),
                         addr6.parseIPv6("fe80::3656:78ff:fe9a:bcde"))
        self.assertRaises(ValueError, addr6.eui64, b"\0" * 5)

    def test_addressFromPrefix(self) -> None:
        """
        A /64 prefix and an interface identifier.
        """
        self.assertEqual(
            addr6.addressFromPrefix(addr6.parseIPv6("fd00:77::"), bytes.fromhex("0000000000000100")),
            addr6.parseIPv6("fd00:77::100"))

    def test_stable(self) -> None:
        """
        RFC 7217 identifiers: the same inputs give the same identifier;
        another prefix, interface, counter or secret another.
        """
        p1, p2 = addr6.parseIPv6("fd00:77::"), addr6.parseIPv6("fd00:78::")
        mac, key = bytes.fromhex("020000000001"), b"k" * 16
        first = addr6.stableInterfaceIdentifier(p1, mac, key)
        self.assertEqual(len(first), 8)
        self.assertEqual(first, addr6.stableInterfaceIdentifier(p1, mac, key))
        others = {addr6.stableInterfaceIdentifier(p2, mac, key),
                  addr6.stableInterfaceIdentifier(p1, b"\2" * 6, key),
                  addr6.stableInterfaceIdentifier(p1, mac, key, dadCounter=1),
                  addr6.stableInterfaceIdentifier(p1, mac, b"j" * 16)}
        self.assertNotIn(first, others)
        self.assertEqual(len(others), 4)
