# -*- test-case-name: tests.console.test_scripts -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.console.scripts} and C{load}: script lines as r586
reads them, C{load PATH} and the start-up rc file.
"""

import errno
import os

from twisted.trial.unittest import SynchronousTestCase

from tests.console.helpers import PROMPT, SUCCESS, ConsoleTestCase, result
from vdetwist.console import scripts
from vdetwist.console.scripts import MAX_LOAD_DEPTH, MAX_SCRIPT, readScript, scriptLines


class ScriptLinesTests(SynchronousTestCase):
    """
    L{scriptLines} and L{readScript}.
    """

    def test_scriptLines(self) -> None:
        """
        Script lines as C{fgets} with a 128-byte buffer gives them: at most
        127 bytes, the newline dropped unless it is all there is, a NUL
        ends a line.
        """
        self.assertEqual(list(scriptLines(b"a\n\nb")), [b"a", b"\n", b"b"])
        self.assertEqual(list(scriptLines(b"x" * 130 + b"\n")), [b"x" * 127, b"xxx"])
        self.assertEqual(list(scriptLines(b"help\x00junk\n")), [b"help"])

    def test_readScript(self) -> None:
        """
        L{readScript} returns the file's bytes; a directory reads as empty;
        a missing file is its C{OSError}; a file over L{MAX_SCRIPT} bytes
        is C{EFBIG}.
        """
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b"help\n")
        self.assertEqual(readScript(path), b"help\n")
        directory = self.mktemp()
        os.mkdir(directory)
        self.assertEqual(readScript(directory), b"")
        e = self.assertRaises(OSError, readScript, path + ".missing")
        self.assertEqual(e.errno, errno.ENOENT)
        with open(path, "wb") as f:
            f.write(b"#" * (MAX_SCRIPT + 1))
        e = self.assertRaises(OSError, readScript, path)
        self.assertEqual(e.errno, errno.EFBIG)


class LoadTests(ConsoleTestCase):
    """
    C{load PATH} and the start-up rc file.
    """

    def script(self, text: bytes) -> str:
        """
        Write a script file.

        @return: its path.
        """
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(text)
        return path

    def test_loadEcho(self) -> None:
        """
        Each line is echoed as C{vde[PATH]: line} before its reply; empty
        lines are 1038, comments silent, C{logout} and C{shutdown} do
        nothing; the load itself ends with 1000.  (The same script gave the
        same bytes on the Debian binary.)
        """
        path = self.script(b"port/create 3\n\n# comment\nbogus\nhelp zz\nlogout\nshutdown\n"
                           b"load /nonexistent\nport/print 3\n")
        p = path.encode()
        self.assertEqual(self.command(b"load " + p),
                         b"vde[" + p + b"]: port/create 3\n1000 Success\n"
                         b"vde[" + p + b"]: \n\n1038 Function not implemented\n"
                         b"vde[" + p + b"]: # comment\n"
                         b"vde[" + p + b"]: bogus\n1038 Function not implemented\n"
                         b"vde[" + p + b"]: help zz\n0000 DATA END WITH '.'\n"
                         b"COMMAND PATH       SYNTAX          HELP\n"
                         b"------------       --------------  ------------\n.\n1000 Success\n"
                         b"vde[" + p + b"]: logout\n"
                         b"vde[" + p + b"]: shutdown\n"
                         b"vde[" + p + b"]: load /nonexistent\n1002 No such file or directory\n"
                         b"vde[" + p + b"]: port/print 3\n0000 DATA END WITH '.'\n.\n"
                         b"1006 No such device or address\n"
                         b"1000 Success\n\nvde$ ")
        self.assertFalse(self.transport.disconnecting)
        self.assertEqual(self.shutdowns, [])
        self.assertIsNotNone(self.switch.ports[3])

    def test_loadMissing(self) -> None:
        """
        A missing file is 1002.
        """
        self.assertEqual(self.command(b"load /nonexistent/x"),
                         result(b"1002 No such file or directory"))
        self.assertEqual(self.command(b"load"), result(b"1002 No such file or directory"))

    def test_loadDirectory(self) -> None:
        """
        A directory loads as an empty script (r586's C{fgets} fails at
        once).
        """
        self.assertEqual(self.command(b"load " + os.path.dirname(
            os.path.abspath(self.mktemp())).encode()), SUCCESS)

    def test_loadNesting(self) -> None:
        """
        A script that loads itself stops at the depth limit with 1040.
        """
        path = self.mktemp()
        with open(path, "w") as f:
            f.write("load %s\n" % (path,))
        reply = self.command(b"load " + path.encode())
        self.assertEqual(reply.count(b"vde["), MAX_LOAD_DEPTH)
        self.assertIn(b"1040 Too many levels of symbolic links\n", reply)
        self.assertTrue(reply.endswith(SUCCESS))

    def test_loadTooBig(self) -> None:
        """
        A script over the limit is refused with 1027, running nothing.
        """
        path = self.script(b"port/create 3\n" + b"#" * MAX_SCRIPT)
        self.assertEqual(self.command(b"load " + path.encode()),
                         result(b"1027 File too large"))
        self.assertIsNone(self.switch.ports[3])

    def test_loadCommandBudget(self) -> None:
        """
        One C{load} runs at most L{MAX_SCRIPT_COMMANDS} lines, nested
        scripts included, then stops with 1027.
        """
        self.patch(scripts, "MAX_SCRIPT_COMMANDS", 5)
        path = self.script(b"".join(b"vlan/create %d\n" % (i,) for i in range(1, 11)))
        reply = self.command(b"load " + path.encode())
        self.assertTrue(reply.endswith(result(b"1027 File too large")), reply)
        self.assertEqual(sorted(self.switch.vlans), [0, 1, 2, 3, 4, 5])

    def test_loadOutputDroppedWhilePaused(self) -> None:
        """
        When the client stops reading during a C{load}, the script's output
        is dropped (as r586's non-blocking writes drop it) but its commands
        run, and the load's own result is written.
        """
        path = self.script(b"".join(b"vlan/create %d\n" % (i,) for i in range(1, 11)))
        original = self.transport.write

        def write(data: bytes) -> None:
            """
            Write, and report the transport full after the first echo.
            """
            original(data)
            if data.startswith(b"vde["):
                self.session.pauseProducing()
        self.transport.write = write  # type: ignore[method-assign]
        reply = self.command(b"load " + path.encode())
        self.assertEqual(reply, b"vde[" + path.encode() + b"]: vlan/create 1\n"
                         + b"1000 Success\n" + PROMPT)
        self.assertEqual(len(self.switch.vlans), 11)

    def test_rcFile(self) -> None:
        """
        The rc file runs silently; commands that need a session (C{load},
        C{debug/*}) fail there, as in r586.
        """
        path = self.script(b"port/setnumports 4\nvlan/create 12\nport/create 3\n"
                           b"port/setvlan 3 12\nhash/setexpire 30\ndebug/add port\n"
                           b"shutdown\nlogout\n")
        self.assertEqual(self.factory.runRCFile(path), 0)
        self.assertEqual(self.switch.numports, 4)
        self.assertEqual(self.switch.ports[3].untagged, 12)
        self.assertEqual(self.switch.fdb.expire, 30)
        self.assertEqual(self.switch._observers, [])
        self.assertEqual(self.shutdowns, [])
        self.assertEqual(self.transport.value(), b"")
        self.assertEqual(self.factory.runRCFile("/nonexistent"), errno.ENOENT)
