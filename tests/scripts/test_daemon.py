# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.scripts.daemon}: pid files and the daemon's report to
its waiting parent (the whole C{-d} path runs in tests/interop/test_ctools.py
and tests/scripts/test_switch.py).
"""

import os
import subprocess
import sys
import textwrap

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT
from vdetwist.scripts.daemon import PidFile, ReadyNotifier


class PidFileTests(SynchronousTestCase):
    """
    L{PidFile} writes our pid and removes only what it wrote.
    """

    def test_writeAndRemove(self) -> None:
        """
        The file holds our pid and a newline; C{remove} deletes it, and a
        second C{remove} does nothing.
        """
        path = self.mktemp()
        pidFile = PidFile(path)
        pidFile.write()
        with open(path) as f:
            self.assertEqual(f.read(), "%d\n" % (os.getpid(),))
        pidFile.remove()
        self.assertFalse(os.path.exists(path))
        pidFile.remove()

    def test_absolute(self) -> None:
        """
        The path is made absolute when the object is made, before a daemon
        changes its directory.
        """
        self.assertEqual(PidFile("x.pid").path, os.path.join(os.getcwd(), "x.pid"))

    def test_notWrittenNotRemoved(self) -> None:
        """
        A file this object did not write (another process's) is left alone.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("1\n")
        PidFile(path).remove()
        self.assertTrue(os.path.exists(path))

    def test_unwritable(self) -> None:
        """
        A pid file in a directory that does not exist raises L{OSError}.
        """
        pidFile = PidFile(os.path.join(self.mktemp(), "no", "x.pid"))
        self.assertRaises(OSError, pidFile.write)


class ReadyNotifierTests(SynchronousTestCase):
    """
    L{ReadyNotifier} tells the parent, through the pipe, that the start
    succeeded.
    """

    def test_ready(self) -> None:
        """
        C{ready} writes the single NUL byte the parent waits for and closes
        the pipe; a second C{ready} does nothing.
        """
        readEnd, writeEnd = os.pipe()
        self.addCleanup(os.close, readEnd)
        saved = os.dup(2)
        self.addCleanup(os.close, saved)
        self.addCleanup(os.dup2, saved, 2)
        notifier = ReadyNotifier(writeEnd)
        notifier.ready()
        self.assertIsNone(notifier.fd)
        self.assertEqual(os.read(readEnd, 10), b"\0")
        self.assertEqual(os.read(readEnd, 10), b"")
        notifier.ready()

    def test_failedStartExitsNonZero(self) -> None:
        """
        A daemon that dies before C{ready} makes the parent exit 1 with
        what it wrote to standard error; one that is ready makes it exit 0.
        """
        script = textwrap.dedent("""
            import os, sys
            from vdetwist.scripts.daemon import detach
            notifier = detach()
            sys.stderr.write("one line: %s\\n" % (sys.argv[1],))
            if sys.argv[1] == "ok":
                notifier.ready()
            os._exit(0)
        """)
        env = dict(os.environ, PYTHONPATH=ROOT)
        for word, status in (("ok", 0), ("fail", 1)):
            result = subprocess.run([sys.executable, "-c", script, word], env=env,
                                    stdin=subprocess.DEVNULL, capture_output=True,
                                    timeout=60)
            self.assertEqual((result.returncode, result.stderr),
                             (status, b"one line: %s\n" % (word.encode(),)))
