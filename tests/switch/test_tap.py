# -*- test-case-name: tests.switch.test_tap -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.switch.tap}: C{twistd vdeswitch}'s options, and a
failed start that says why in one line and leaves nothing behind.
"""

import io
import os
import socket
from contextlib import redirect_stdout

from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from tests.util import shortTempDir
from vdetwist.version import version
from vdetwist.service import FaceService
from vdetwist.switch import tap


def parse(*argv: str) -> tap.Options:
    options = tap.Options()
    options.parseOptions(list(argv))
    return options


class OptionsTests(SynchronousTestCase):
    """
    vde_switch's -h and --version.
    """

    def test_version(self) -> None:
        """
        --version prints vdetwist's version, not Twisted's.
        """
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertRaises(SystemExit, parse, "--version")
        self.assertEqual(out.getvalue(), "twistd vdeswitch (vdetwist) %s\n" % (version(),))

    def test_h(self) -> None:
        """
        -h is --help.
        """
        out = io.StringIO()
        with redirect_stdout(out):
            self.assertRaises(SystemExit, parse, "-h")
        self.assertIn("--numports", out.getvalue())


    def test_sockNotADirectory(self) -> None:
        """
        -s naming a file that is not a directory is refused (its mode is
        left alone).
        """
        path = os.path.join(shortTempDir(self), "file")
        with open(path, "w"):
            pass
        os.chmod(path, 0o644)
        from twisted.python import usage
        self.assertRaises(usage.UsageError, parse, "-s", path)
        self.assertEqual(os.stat(path).st_mode & 0o7777, 0o644)


class StartFailureTests(SynchronousTestCase):
    """
    L{tap.makeService}'s face on a start that fails.
    """

    def setUp(self) -> None:
        self.dir = shortTempDir(self)
        self.reactor = MemoryReactorClock()

    def build(self, *argv: str) -> FaceService:
        top = tap.makeService(parse(*argv), self.reactor)
        top.err = io.StringIO()
        return top

    def test_face(self) -> None:
        """
        The switch's services are under a face named C{vdeswitch} that
        does not end the process (a reactor was given).
        """
        top = self.build("-s", os.path.join(self.dir, "sw"))
        self.assertIsInstance(top, FaceService)
        self.assertEqual(top.command, "vdeswitch")
        self.assertFalse(top.exitProcess)

    def test_noParentDirectory(self) -> None:
        """
        -s under a directory that does not exist: one line, status 1.
        """
        bad = os.path.join(self.dir, "no", "a")
        top = self.build("-s", bad)
        top.startService()
        self.assertEqual(top.err.getvalue(), "vdeswitch: cannot start the switch: "
                         "%s: No such file or directory\n" % (bad,))
        self.assertEqual(top.exitStatus, 1)

    def test_busyConsole(self) -> None:
        """
        -M on a live console: one line, and the switch directory made a
        moment before is removed again; the live socket stays.
        """
        mgmt = os.path.join(self.dir, "mgmt")
        held = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        held.bind(mgmt)
        held.listen()
        self.addCleanup(held.close)
        sock = os.path.join(self.dir, "sw")
        top = self.build("-s", sock, "-M", mgmt)
        top.startService()
        self.assertIn("vdeswitch: cannot open the management console: ",
                      top.err.getvalue())
        self.assertIn("Address already in use", top.err.getvalue())
        self.assertFalse(os.path.exists(sock))
        self.assertTrue(os.path.exists(mgmt))
        self.assertEqual(top.exitStatus, 1)
