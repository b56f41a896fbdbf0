# -*- test-case-name: tests.console.test_arguments -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.console.arguments}: C{atoi} and C{sscanf} as glibc
does them, and octal modes as vde_switch parses them.
"""

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.console.arguments import afterFirstWord, cAtoi, cScanf, parseOctalMode


class ParsingTests(SynchronousTestCase):
    """
    C{atoi} and C{sscanf} as glibc does them.
    """

    def test_atoi(self) -> None:
        """
        Decimal only, stops at the first non-digit, wraps like C.
        """
        self.assertEqual(cAtoi("12abc"), 12)
        self.assertEqual(cAtoi("  -5"), -5)
        self.assertEqual(cAtoi("0x4f"), 0)
        self.assertEqual(cAtoi("017"), 17)
        self.assertEqual(cAtoi("abc"), 0)
        self.assertEqual(cAtoi(""), 0)
        self.assertEqual(cAtoi("+7"), 7)
        # (int) strtol("99999999999") on x86-64 glibc
        self.assertEqual(cAtoi("99999999999"), 1215752191)
        self.assertEqual(cAtoi("4294967295"), -1)

    def test_scanfInteger(self) -> None:
        """
        C{%i} takes hex and octal; a space in the format matches any white
        space, none included.
        """
        self.assertEqual(cScanf("0x1 077", "%i %i"), [1, 63])
        self.assertEqual(cScanf("  5\t10 junk", "%i %i"), [5, 10])
        self.assertEqual(cScanf("08", "%i %i"), [0, 8])
        self.assertEqual(cScanf("-3 +4", "%i %i"), [-3, 4])
        self.assertEqual(cScanf("5", "%i %i"), [5])
        self.assertEqual(cScanf("5,10", "%i %i"), [5])
        self.assertEqual(cScanf("", "%i"), [])
        self.assertEqual(cScanf("x", "%i"), [])

    def test_scanfMAC(self) -> None:
        """
        C{hash/find}'s formats.
        """
        self.assertEqual(cScanf("2:0:0:0:0:1", "%x:%x:%x:%x:%x:%x %d"), [2, 0, 0, 0, 0, 1])
        self.assertEqual(cScanf("aa.BB.0xc.d.e.f 12", "%x.%x.%x.%x.%x.%x %d"),
                         [0xAA, 0xBB, 0xC, 0xD, 0xE, 0xF, 12])
        self.assertEqual(cScanf("1:2:3", "%x:%x:%x:%x:%x:%x %d"), [1, 2, 3])

    def test_afterFirstWord(self) -> None:
        """
        The text after the first space-delimited word and its spaces; tabs
        are not separators.
        """
        self.assertEqual(afterFirstWord("1 root"), "root")
        self.assertEqual(afterFirstWord("  12   nobody x"), "nobody x")
        self.assertEqual(afterFirstWord("1\troot"), "")
        self.assertEqual(afterFirstWord(""), "")

    def test_octalMode(self) -> None:
        """
        Octal modes up to 07777; anything else is a L{ValueError}.
        """
        self.assertEqual(parseOctalMode("0660"), 0o660)
        self.assertEqual(parseOctalMode("600"), 0o600)
        self.assertEqual(parseOctalMode("7777"), 0o7777)
        for bad in ("0888", "10000", "x", "", "-1"):
            self.assertRaises(ValueError, parseOctalMode, bad)
