# -*- test-case-name: tests.scripts.test_switch -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.scripts.switch}: C{vdetwist switch} takes
vde_switch's command line.
"""

import io
import os
from contextlib import redirect_stderr, redirect_stdout

from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.scripts import switch
from vdetwist.version import version
from vdetwist.service import FaceService


def parse(*argv: str) -> switch.Options:
    options = switch.Options()
    options.parseOptions(list(argv))
    return options


class OptionsTests(SynchronousTestCase):
    """
    vde_switch's options, as C{vde_switch --help} lists them.
    """

    def test_tutorial(self) -> None:
        """
        The tutorial's command with -p: daemon, absolute paths.
        """
        options = parse("-d", "-s", "/tmp/vde", "-M", "mgmt", "-p", "sw.pid")
        self.assertTrue(options["daemon"])
        self.assertEqual(options["sock"], "/tmp/vde")
        self.assertEqual(options["mgmt"], os.path.abspath("mgmt"))
        self.assertEqual(options["pidfile"], os.path.abspath("sw.pid"))

    def test_longForms(self) -> None:
        """
        The long forms and vde_switch's aliases of --sock.
        """
        for alias in ("--sock", "--vdesock", "--unix"):
            options = parse("--daemon", alias, "/tmp/x", "--pidfile", "/tmp/p",
                            "--numports", "8", "--hub", "--mgmtmode", "0660",
                            "--debugclients", "2")
            self.assertEqual((options["sock"], options["pidfile"], options["numports"],
                              options["hub"], options["mgmtmode"]),
                             ("/tmp/x", "/tmp/p", 8, True, 0o660))

    def test_fstpAccepted(self) -> None:
        """
        -F and --priority are accepted.
        """
        options = parse("-F", "--priority", "100", "-s", "/tmp/x")
        self.assertTrue(options["fstp"])

    def test_foregroundByDefault(self) -> None:
        """
        Foreground and no pid file unless asked, as vde_switch.
        """
        options = parse("-s", "/tmp/x")
        self.assertFalse(options["daemon"])
        self.assertIsNone(options["pidfile"])

    def test_versionAndHelp(self) -> None:
        """
        -v and --version print vdetwist's version; -h the help.
        """
        for flag in ("-v", "--version"):
            out = io.StringIO()
            with redirect_stdout(out):
                self.assertRaises(SystemExit, parse, flag)
            self.assertEqual(out.getvalue(), "vdetwist switch (vdetwist) %s\n" % (version(),))
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertRaises(SystemExit, parse, "-h")
        self.assertIn("--pidfile", out.getvalue())
        self.assertIn("--daemon", out.getvalue())

    def test_bad(self) -> None:
        """
        Bad values are usage errors; main prints one line and returns 1.
        """
        self.assertRaises(usage.UsageError, parse, "-D", "many")
        err = io.StringIO()
        with redirect_stderr(err):
            self.assertEqual(switch.main(["--numports", "0"]), 1)
        self.assertEqual(len(err.getvalue().splitlines()), 1)

    def test_build(self) -> None:
        """
        The services are twistd vdeswitch's, under a face named for the
        command.
        """
        face = switch._build(parse("-s", "/tmp/x"), MemoryReactorClock())
        self.assertIsInstance(face, FaceService)
        self.assertEqual(face.command, "vdetwist switch")
        self.assertFalse(face.exitProcess)
        self.assertIsNotNone(face.switch)
