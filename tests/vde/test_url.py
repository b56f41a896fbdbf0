# -*- test-case-name: tests.vde.test_url -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.vde.url}.

The accepted forms are those vdeplug4 4.0.1 accepts for its vde module
(docs/vde-protocol.md sections 1.3 and 9: C{vde://DIR[5]},
C{vde://DIR[port=6]}, C{vde://DIR[0]}, C{vde://DIR[mygroup]}).
"""

from dataclasses import FrozenInstanceError

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.vde.url import DEFAULT_MODE, VDEURL, parseVDEURL


class ParseTests(SynchronousTestCase):
    """
    L{parseVDEURL} on valid URLs.
    """

    def test_barePath(self) -> None:
        """
        A string without C{://} is a path for the vde module.
        """
        self.assertEqual(parseVDEURL("/tmp/sw"), VDEURL(path="/tmp/sw"))

    def test_relativePath(self) -> None:
        """
        C{vde://DIR} keeps DIR as written, relative or not.
        """
        self.assertEqual(parseVDEURL("vde://tmp/sw"), VDEURL(path="tmp/sw"))

    def test_absolutePath(self) -> None:
        """
        C{vde:///DIR} gives the absolute path.
        """
        self.assertEqual(parseVDEURL("vde:///tmp/sw"), VDEURL(path="/tmp/sw"))

    def test_defaults(self) -> None:
        """
        Without options: any port, mode 0700, no group.
        """
        url = parseVDEURL("vde:///tmp/sw")
        self.assertEqual(
            (url.port, url.port0, url.mode, url.group, url.portGroup),
            (None, False, 0o700, None, None))
        self.assertEqual(DEFAULT_MODE, 0o700)
        self.assertEqual(url.requestPort(), 0)

    def test_emptyIsDefaultSwitch(self) -> None:
        """
        C{vde://} is the default switch: an empty path.
        """
        self.assertEqual(parseVDEURL("vde://"), VDEURL(path=""))
        self.assertEqual(parseVDEURL(""), VDEURL(path=""))

    def test_port(self) -> None:
        """
        C{[5]} asks for port 5.
        """
        url = parseVDEURL("vde:///tmp/sw[5]")
        self.assertEqual(url, VDEURL(path="/tmp/sw", port=5))
        self.assertEqual(url.requestPort(), 5)

    def test_portKeyword(self) -> None:
        """
        C{[port=6]} asks for port 6.
        """
        self.assertEqual(parseVDEURL("vde:///tmp/sw[port=6]"),
                         VDEURL(path="/tmp/sw", port=6))

    def test_portAbbreviated(self) -> None:
        """
        Option names may be abbreviated: C{p=7} is C{port=7}.
        """
        self.assertEqual(parseVDEURL("/tmp/sw[p=7]"), VDEURL(path="/tmp/sw", port=7))

    def test_port0(self) -> None:
        """
        C{[0]} asks for the special port 0.
        """
        url = parseVDEURL("/tmp/sw[0]")
        self.assertEqual(url, VDEURL(path="/tmp/sw", port=0, port0=True))
        self.assertEqual(url.requestPort(), 0)

    def test_portGroup(self) -> None:
        """
        A non-numeric bracket parameter names a port group.
        """
        self.assertEqual(parseVDEURL("vde:///tmp/sw[mygroup]"),
                         VDEURL(path="/tmp/sw", portGroup="mygroup"))
        self.assertEqual(parseVDEURL("vde:///tmp/sw[portgroup=lan]"),
                         VDEURL(path="/tmp/sw", portGroup="lan"))

    def test_optionsInsideBrackets(self) -> None:
        """
        vdeplug4's own syntax: options inside the brackets after the port.
        """
        self.assertEqual(
            parseVDEURL("vde:///tmp/sw[5/mode=0770/group=kvm]"),
            VDEURL(path="/tmp/sw", port=5, mode=0o770, group="kvm"))

    def test_optionsAfterBrackets(self) -> None:
        """
        Options may also follow the brackets.
        """
        self.assertEqual(
            parseVDEURL("vde:///tmp/sw[5]/mode=0700/group=G"),
            VDEURL(path="/tmp/sw", port=5, mode=0o700, group="G"))

    def test_optionsAbbreviated(self) -> None:
        """
        C{m=} is C{mode=} and C{g=} is C{group=}.
        """
        self.assertEqual(parseVDEURL("/tmp/sw[m=0760/g=100]"),
                         VDEURL(path="/tmp/sw", mode=0o760, group="100"))

    def test_emptyBrackets(self) -> None:
        """
        Empty brackets mean no parameter.
        """
        self.assertEqual(parseVDEURL("/tmp/sw[]"), VDEURL(path="/tmp/sw"))

    def test_frozen(self) -> None:
        """
        The result is immutable.
        """
        url = parseVDEURL("/tmp/sw")
        self.assertRaises(FrozenInstanceError, setattr, url, "port", 3)


class BadURLTests(SynchronousTestCase):
    """
    L{parseVDEURL} refuses bad input with a clear L{ValueError}.
    """

    def assertBad(self, url: str, fragment: str) -> None:
        """
        Assert that C{url} is refused with a message containing C{fragment}
        and the URL itself.

        @param url: the URL.
        @param fragment: part of the expected message.
        """
        error = self.assertRaises(ValueError, parseVDEURL, url)
        self.assertIn(fragment, str(error))

    def test_otherScheme(self) -> None:
        """
        Other vdeplug4 modules are not for this parser.
        """
        self.assertBad("tap://tap0", "scheme 'tap'")

    def test_unbalancedOpen(self) -> None:
        """
        A C{[} without C{]} is refused.
        """
        self.assertBad("/tmp/sw[5", "unbalanced")

    def test_unbalancedClose(self) -> None:
        """
        A C{]} without C{[} is refused.
        """
        self.assertBad("/tmp/sw5]", "unbalanced")

    def test_twoBrackets(self) -> None:
        """
        Two bracket groups are refused.
        """
        self.assertBad("/tmp/sw[5][6]", "more than one")

    def test_junkAfterBracket(self) -> None:
        """
        Text after C{]} that is not C{/options} is refused.
        """
        self.assertBad("/tmp/sw[5]x", "after ']'")

    def test_unknownOption(self) -> None:
        """
        An unknown option name is refused.
        """
        self.assertBad("/tmp/sw[5/colour=red]", "unknown option 'colour'")

    def test_badPortKeyword(self) -> None:
        """
        C{port=} needs a number (or a port-group name).
        """
        self.assertBad("/tmp/sw[port=-1]", "bad port")

    def test_portTooBig(self) -> None:
        """
        A port that does not fit the request's type field is refused.
        """
        self.assertBad("/tmp/sw[8388608]", "out of range")

    def test_nonASCIIDigits(self) -> None:
        """
        Unicode digits are not a port.
        """
        self.assertBad("/tmp/sw[\u0665]", "bad port")

    def test_badMode(self) -> None:
        """
        A mode that is not octal is refused.
        """
        self.assertBad("/tmp/sw[mode=0799]", "bad mode")
        self.assertBad("/tmp/sw[mode=]", "bad mode")

    def test_modeTooBig(self) -> None:
        """
        Modes beyond the permission bits are refused.
        """
        self.assertBad("/tmp/sw[mode=4700]", "out of range")

    def test_badGroup(self) -> None:
        """
        A group name with odd characters is refused.
        """
        self.assertBad("/tmp/sw[group=a b]", "bad group")

    def test_quoting(self) -> None:
        """
        vdeplug4's quoting characters are refused rather than misread.
        """
        self.assertBad("/tmp/'sw'", "quoting")

    def test_nul(self) -> None:
        """
        A NUL cannot be in a socket path.
        """
        self.assertBad("/tmp/sw\0", "NUL")

    def test_notAString(self) -> None:
        """
        Bytes are refused with a clear message.
        """
        self.assertRaises(ValueError, parseVDEURL, b"/tmp/sw")
