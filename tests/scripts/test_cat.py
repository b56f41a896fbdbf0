# -*- test-case-name: tests.scripts.test_cat -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.scripts.cat}'s command line and the C{vdetwist}
dispatcher.
"""

import io
from contextlib import redirect_stderr, redirect_stdout

from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.scripts import cat, main


class OptionsTests(SynchronousTestCase):
    """
    netcat's option shapes.
    """

    def parse(self, *argv: str) -> cat.Options:
        options = cat.Options()
        options.parseOptions(list(argv))
        return options

    def test_listen(self) -> None:
        """
        C{-l -p PORT} and C{-l PORT} both listen; C{-vv} counts.
        """
        o = self.parse("-s", "/tmp/vde", "--ip", "192.168.77.100/24", "-vv", "-l", "-p", "10000")
        self.assertEqual((o["listen"], o["port"], o["verbose"]), (True, 10000, 2))
        o = self.parse("-s", "/tmp/vde", "--ip", "192.168.77.100", "-l", "10000")
        self.assertEqual((o["port"], o["ip"]), (10000, "192.168.77.100/24"))

    def test_connect(self) -> None:
        """
        C{HOST PORT} connects; -N and -w are kept.
        """
        o = self.parse("-s", "/tmp/vde", "--ip", "10.0.0.2/24", "-N", "-w", "3", "10.0.0.1", "80")
        self.assertEqual((o["host"], o["remote"], o["shutdown"], o["wait"]),
                         ("10.0.0.1", 80, True, 3.0))

    def test_errors(self) -> None:
        """
        Missing switch or address, a listener without port, a client
        without host and port, -k without -l, bad numbers: UsageError.
        """
        for argv in [
                ("--ip", "10.0.0.1", "-l", "-p", "1"),
                ("-s", "x", "-l", "-p", "1"),
                ("-s", "x", "--ip", "10.0.0.1", "-l"),
                ("-s", "x", "--ip", "10.0.0.1", "10.0.0.2"),
                ("-s", "x", "--ip", "10.0.0.1", "-k", "10.0.0.2", "5"),
                ("-s", "x", "--ip", "10.0.0.1", "10.0.0.2", "99999"),
                ("-s", "x", "--ip", "10.0.0.1", "name.example", "80"),
                ("-s", "x", "--ip", "10.0.0.1/40", "-l", "-p", "1"),
                ("-s", "x", "--ip", "10.0.0.1", "--mac", "zz", "-l", "-p", "1"),
        ]:
            self.assertRaises(usage.UsageError, self.parse, *argv)

    def test_mainUsageError(self) -> None:
        """
        Bad usage exits 1 with the message on standard error.
        """
        err = io.StringIO()
        with redirect_stderr(err):
            self.assertEqual(cat.main(["-l"]), 1)
        self.assertIn("-s SWITCH is required", err.getvalue())


class DispatcherTests(SynchronousTestCase):
    """
    The C{vdetwist} command.
    """

    def test_unknown(self) -> None:
        """
        An unknown subcommand exits 2 and lists the commands.
        """
        err = io.StringIO()
        with redirect_stderr(err):
            self.assertEqual(main.main(["frobnicate"]), 2)
        self.assertIn("cat", err.getvalue())

    def test_help(self) -> None:
        """
        --help lists the subcommands and exits 0.
        """
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertEqual(main.main(["--help"]), 0)
        self.assertIn("netcat", out.getvalue())
