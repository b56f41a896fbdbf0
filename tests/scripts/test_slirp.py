# -*- test-case-name: tests.scripts.test_slirp -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.scripts.slirp}: C{vdetwist slirp} takes slirpvde's
command line.
"""

import io
from contextlib import redirect_stderr, redirect_stdout

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.scripts import slirp
from vdetwist.version import version


def parse(*argv: str) -> slirp.Options:
    options = slirp.Options()
    options.parseOptions(list(argv))
    return options


class OptionsTests(SynchronousTestCase):
    """
    slirpvde's options, as C{slirpvde --help} and its getopt take them.
    """

    def test_tutorial(self) -> None:
        """
        The tutorial's command with -d and -p.
        """
        options = parse("-d", "-p", "/tmp/slirp.pid", "-s", "/tmp/vde", "-n",
                        "192.168.77.0", "-L30000:192.168.77.100:10000")
        self.assertTrue(options["daemon"])
        self.assertEqual(options["pidfile"], "/tmp/slirp.pid")
        self.assertEqual(options["sock"], "/tmp/vde")
        self.assertEqual([str(spec) for _, spec in options["forwards"]],
                         ["30000:192.168.77.100:10000"])

    def test_oneDashLongOptions(self) -> None:
        """
        slirpvde's usage line: -socket, -dhcp, -daemon, -network (and
        -pidfile) are long options, not clusters of short ones; the switch
        is not "given twice".
        """
        options = parse("-socket", "/tmp/vde", "-dhcp", "-daemon", "-network",
                        "10.1.0.0", "-pidfile", "/tmp/s.pid")
        self.assertEqual((options["sock"], options["dhcp"], options["daemon"],
                          options["network"], options["pidfile"]),
                         ("/tmp/vde", True, True, "10.1.0.0", "/tmp/s.pid"))

    def test_dhcpStart(self) -> None:
        """
        slirpvde's --dhcp=START (and -dhcp=START) gives the pool's start.
        """
        for arg in ("--dhcp=10.0.2.40", "-dhcp=10.0.2.40"):
            options = parse("-s", "/tmp/vde", arg)
            self.assertEqual((options["dhcp"], options["dhcp-start"]), (True, "10.0.2.40"))

    def test_port(self) -> None:
        """
        -P N asks the switch for port N.
        """
        self.assertEqual(parse("-s", "/tmp/vde", "-P", "5")["sock"], "vde:///tmp/vde[5]")
        self.assertRaises(usage.UsageError, parse, "-s", "vde:///tmp/vde[3]", "-P", "5")

    def test_modeAndGroupAccepted(self) -> None:
        """
        -m and -g (vde_open's) are accepted.
        """
        options = parse("-s", "/tmp/vde", "-m", "0666", "-g", "users")
        self.assertEqual((options["mod"], options["group"]), ("0666", "users"))

    def test_versionAndHelp(self) -> None:
        """
        --version prints vdetwist's version, -h the help.
        """
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertRaises(SystemExit, parse, "--version")
        self.assertEqual(out.getvalue(), "vdetwist slirp (vdetwist) %s\n" % (version(),))
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertRaises(SystemExit, parse, "-h")
        self.assertIn("--pidfile", out.getvalue())

    def test_badUsage(self) -> None:
        """
        Bad usage: one line, status 1.
        """
        err = io.StringIO()
        with redirect_stderr(err):
            self.assertEqual(slirp.main(["-s", "/tmp/vde", "-L", "nonsense"]), 1)
        self.assertEqual(len(err.getvalue().splitlines()), 1)
