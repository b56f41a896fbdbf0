# -*- test-case-name: tests.scripts.test_switch -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.scripts.switch}: C{vdetwist switch} takes
vde_switch's command line, and in the foreground reads console commands
on standard input as vde_switch does (the byte-for-byte comparison with
Debian's vde_switch is tests.interop.test_stdin_console; here the
expected texts are r586's, captured from it).

The processes are waited for with a generous guard (a hang fails the
test); no duration is asserted.
"""

import io
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from typing import Any, Callable

from twisted.internet.testing import MemoryReactorClock
from twisted.python import usage
from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT
from tests.util import shortTempDir
from vdetwist.console.stdio import StdioConsoleService
from vdetwist.scripts import switch
from vdetwist.version import version
from vdetwist.service import FaceService

VDETWIST_SWITCH = [sys.executable, "-m", "vdetwist", "switch"]
#: A hang guard, not a timing assertion.
GUARD = 30
#: What the end of stdin writes on standard error (r586's words).
EOF_LINE = b"vdetwist switch: EOF on stdin, cleaning up and exiting\n"


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

    def test_stdinConsoleInTheForeground(self) -> None:
        """
        In the foreground, the last service is the console on stdin and
        stdout, on the switch's console (so it starts once the rest has);
        with C{-d}, nothing reads stdin.
        """
        face = switch._build(parse("-s", "/tmp/x"), MemoryReactorClock())
        last = list(face)[-1]
        self.assertIsInstance(last, StdioConsoleService)
        self.assertIs(last.factory, face.console)
        self.assertEqual((last.stdin, last.stdout), (0, 1))
        face = switch._build(parse("-d", "-s", "/tmp/x"), MemoryReactorClock())
        self.assertFalse([s for s in face if isinstance(s, StdioConsoleService)])


def waitFor(predicate: Callable[[], bool], what: str) -> None:
    """
    Poll until C{predicate()} holds; fail after L{GUARD} seconds.
    """
    deadline = time.monotonic() + GUARD
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % (what,))
        time.sleep(0.02)


def mgmtCommand(path: str, line: bytes) -> bytes:
    """
    One command on a management socket: its reply, without the prompt.
    """
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(GUARD)
        s.connect(path)
        data = b""
        while not data.endswith(b"vde$ "):
            data += s.recv(4096)
        s.sendall(line + b"\n")
        data = b""
        while not data.endswith(b"\nvde$ "):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        return data[:-len(b"\nvde$ ")]


class StdinConsoleTests(SynchronousTestCase):
    """
    C{vdetwist switch} in the foreground, run as a process, its console on
    stdin and stdout.
    """

    def setUp(self) -> None:
        self.dir = shortTempDir(self)
        self.sock = os.path.join(self.dir, "sw")

    def runSwitch(self, *args: str, **kwargs: Any) -> "subprocess.CompletedProcess[bytes]":
        """
        Run C{vdetwist switch -s DIR ARGS} to its end.
        """
        kwargs.setdefault("stdout", subprocess.PIPE)
        kwargs.setdefault("stderr", subprocess.PIPE)
        return subprocess.run(VDETWIST_SWITCH + ["-s", self.sock] + list(args),
                              env=dict(os.environ, PYTHONPATH=ROOT), cwd=self.dir,
                              timeout=GUARD, **kwargs)

    def test_commands(self) -> None:
        """
        Each line is a command; its reply goes to stdout, without prompts
        (stdin is not a terminal); blank lines, comments and C{logout}
        print nothing; the last line runs without its newline; at EOF the
        switch says so on standard error and exits 0, its sockets gone.
        """
        result = self.runSwitch(input=b"vlan/create 10\nport/create 3\nport/setvlan 3 10\n"
                          b"\n# comment\nlogout\nbogus\nport/allprint 3\nport/print 3\n"
                          b"load /nonexistent/vdetwist-test\nvlan/print 10")
        self.assertEqual(result.stdout,
                         b"1000 Success\n1000 Success\n1000 Success\n"
                         b"1038 Function not implemented\n"
                         b"0000 DATA END WITH '.'\n"
                         b"Port 0003 untagged_vlan=0010 INACTIVE - NOT Unnamed Allocatable\n"
                         b" Current User: NONE Access Control: (User: NONE - Group: NONE)\n"
                         b" IN:  pkts          0          bytes                    0\n"
                         b" OUT: pkts          0          bytes                    0\n"
                         b".\n1000 Success\n"
                         b"0000 DATA END WITH '.'\n.\n1006 No such device or address\n"
                         b"1002 No such file or directory\n"
                         b"0000 DATA END WITH '.'\nVLAN 0010\n.\n1000 Success\n")
        self.assertEqual((result.stderr, result.returncode), (EOF_LINE, 0))
        self.assertFalse(os.path.exists(self.sock))

    def test_shutdown(self) -> None:
        """
        C{shutdown} on stdin stops the switch (status 0) after the replies
        before it; the lines after it are not run.
        """
        result = self.runSwitch(input=b"vlan/create 10\nshutdown\nbogus\n")
        self.assertEqual((result.stdout, result.stderr, result.returncode),
                         (b"1000 Success\n",
                          b"vdetwist switch: Shutdown from mgmt command\n", 0))

    def test_endOfStdin(self) -> None:
        """
        Stdin from /dev/null (what a script's C{vdetwist switch ... &}
        gets) ends the switch at once, status 0, as vde_switch's: such a
        script must use C{-d}.
        """
        result = self.runSwitch(stdin=subprocess.DEVNULL)
        self.assertEqual((result.stdout, result.stderr, result.returncode),
                         (b"", EOF_LINE, 0))
        self.assertFalse(os.path.exists(self.sock))

    def test_closedDescriptors(self) -> None:
        """
        A closed stdin is an immediate EOF; a closed stdout loses the
        replies; a closed stderr loses the EOF line: each exits 0, without
        a traceback.
        """
        result = self.runSwitch(stdin=None, preexec_fn=lambda: os.close(0))
        self.assertEqual((result.stdout, result.stderr, result.returncode),
                         (b"", EOF_LINE, 0))
        result = self.runSwitch(input=b"bogus\n", stdout=None,
                                preexec_fn=lambda: os.close(1))
        self.assertEqual((result.stderr, result.returncode), (EOF_LINE, 0))
        result = self.runSwitch(input=b"bogus\n", stderr=None,
                                preexec_fn=lambda: os.close(2))
        self.assertEqual((result.stdout, result.returncode),
                         (b"1038 Function not implemented\n", 0))

    def test_longAndMalformedLines(self) -> None:
        """
        A line too long is answered C{1007 Argument list too long}, binary
        junk C{1038}; the switch keeps serving, on stdin and on its
        management socket.
        """
        mgmt = os.path.join(self.dir, "mgmt")
        process = subprocess.Popen(VDETWIST_SWITCH + ["-s", self.sock, "-M", mgmt],
                                   env=dict(os.environ, PYTHONPATH=ROOT), cwd=self.dir,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE)
        self.addCleanup(lambda: process.poll() is None and process.kill())
        process.stdin.write(b"vlan/create 11 " + b"x" * 100000 + b"\n"
                            b"\xff\xfe\x00\x01junk\x7f\n")
        process.stdin.flush()
        waitFor(lambda: os.path.exists(mgmt), "the management socket")
        self.assertEqual(mgmtCommand(mgmt, b"vlan/create 10"), b"1000 Success\n")
        out, err = process.communicate(b"vlan/print\n", timeout=GUARD)
        self.assertEqual(out, b"1007 Argument list too long\n"
                              b"1038 Function not implemented\n"
                              b"0000 DATA END WITH '.'\nVLAN 0000\nVLAN 0010\n.\n1000 Success\n")
        self.assertEqual((err, process.returncode), (EOF_LINE, 0))

    def test_daemonDoesNotReadStdin(self) -> None:
        """
        With C{-d}, the end of stdin is not the end of the switch: it
        serves until killed.
        """
        mgmt, pidfile = os.path.join(self.dir, "mgmt"), os.path.join(self.dir, "pid")
        result = self.runSwitch("-d", "-M", mgmt, "-p", pidfile, stdin=subprocess.DEVNULL)
        self.assertEqual((result.stdout, result.stderr, result.returncode), (b"", b"", 0))
        with open(pidfile) as f:
            pid = int(f.read())

        def alive() -> bool:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                return False
            return True

        def stop() -> None:
            if alive():
                os.kill(pid, signal.SIGTERM)
                waitFor(lambda: not alive(), "the daemon to stop")
        self.addCleanup(stop)
        self.assertEqual(mgmtCommand(mgmt, b"vlan/create 10"), b"1000 Success\n")
        self.assertTrue(alive())
