# -*- test-case-name: tests.scripts.test_term -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.scripts.term} (its reply codec,
L{vdetwist.console.client}, is tested in tests/console/test_client.py, on
the same captured bytes): the one-shot and pipe modes against a scripted
console on a real UNIX socket, the interactive terminal on an in-memory
terminal, and, as interop tests, C{vdetwist term} against Debian's C{unixterm} on Debian's
switch and on ours.
"""

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from typing import Dict, List, Optional

from twisted.conch.insults.insults import ServerProtocol
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from tests.console.test_client import (
    BOGUS, GREETING, HASH_SHOWINFO, PORT_PRINT_99, PORT_PRINT_EMPTY, WF_GREETING)
from tests.util import shortTempDir
from vdetwist.scripts import main as dispatcher
from vdetwist.scripts.term import (
    END,
    LINE,
    PROMPT,
    ConsoleParser,
    InteractiveTerm,
    Options,
    commandsFrom,
    runOneShot,
    runPipe,
)


class ScriptedConsole:
    """
    A console on a real UNIX socket, in a thread: the greeting, then a
    scripted reply for each command line (unknown ones get C{BOGUS});
    C{logout} ends the session.

    @ivar received: the command lines received.
    """

    def __init__(self, testCase: SynchronousTestCase, replies: Dict[bytes, bytes],
                 greeting: bytes = GREETING) -> None:
        """
        Set up the fake.
        """
        self.path = os.path.join(shortTempDir(testCase), "mgmt")
        self.replies = replies
        self.greeting = greeting
        self.received: List[bytes] = []
        self.listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.listener.bind(self.path)
        self.listener.listen(1)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()
        testCase.addCleanup(self.close)

    def _serve(self) -> None:
        """
        Serve one session: greeting, then a reply per command line.
        """
        try:
            connection, _ = self.listener.accept()
        except OSError:
            return
        with connection:
            connection.sendall(self.greeting)
            buffer = b""
            while True:
                data = connection.recv(4096)
                if not data:
                    return
                buffer += data
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    self.received.append(line)
                    if line == b"logout":
                        connection.sendall(b"9999 END OF SESSION")
                        return
                    if line == b"hangup":
                        return
                    connection.sendall(self.replies.get(line, BOGUS))

    def close(self) -> None:
        """
        Stop listening and wait for the thread.
        """
        self.listener.close()
        self.thread.join(5)


class _Output:
    """
    A binary file that records.
    """

    def __init__(self) -> None:
        """
        Set up the fake.
        """
        self.data = b""

    def write(self, data: bytes) -> None:
        """
        Record bytes.
        """
        self.data += data

    def flush(self) -> None:
        """
        Nothing to flush.
        """
        pass


class OneShotTests(SynchronousTestCase):
    """
    L{runOneShot}: data blocks to standard output, the status from the
    result code.
    """

    def oneShot(self, console: ScriptedConsole, commands: List[str]):
        """
        Run L{runOneShot} on the scripted console.

        @return: the status, standard output and standard error.
        """
        out, err = _Output(), _Output()
        status = runOneShot(console.path, commands, 5.0, out, err)
        return status, out.data, err.data

    def test_success(self) -> None:
        """
        The data lines, status 0.
        """
        console = ScriptedConsole(self, {b"hash/showinfo": HASH_SHOWINFO})
        self.assertEqual(self.oneShot(console, ["hash/showinfo"]), (
            0, b"Hash size 128\nGC interval 2 secs\nGC expire 100 secs\n"
               b"Min persistence 3 secs\n", b""))

    def test_failure(self) -> None:
        """
        C{port/print 99}: nothing on standard output, the result line on
        standard error, status 22; later commands are not sent.
        """
        console = ScriptedConsole(self, {b"port/print 99": PORT_PRINT_99,
                                         b"hash/showinfo": HASH_SHOWINFO})
        self.assertEqual(self.oneShot(console, ["port/print 99", "hash/showinfo"]),
                         (22, b"", b"1022 Invalid argument\n"))
        self.assertEqual(console.received, [b"port/print 99"])

    def test_several(self) -> None:
        """
        Several commands run in order, their outputs one after another.
        """
        console = ScriptedConsole(self, {b"a": PORT_PRINT_EMPTY, b"b": HASH_SHOWINFO})
        status, out, _ = self.oneShot(console, ["a", "b"])
        self.assertEqual((status, out.count(b"\n")), (0, 4))
        self.assertEqual(console.received, [b"a", b"b"])

    def test_asyncToStderr(self) -> None:
        """
        Debug notifications go to standard error with C{** }.
        """
        console = ScriptedConsole(self, {b"a": b"3021 port/+ 01\n" + PORT_PRINT_EMPTY})
        self.assertEqual(self.oneShot(console, ["a"]), (0, b"", b"** 3021 port/+ 01\n"))

    def test_logout(self) -> None:
        """
        A command that ends the session succeeds.
        """
        console = ScriptedConsole(self, {})
        self.assertEqual(self.oneShot(console, ["logout"])[0], 0)

    def test_hangup(self) -> None:
        """
        A console that closes without answering: status 255 and a message.
        """
        console = ScriptedConsole(self, {})
        status, _, err = self.oneShot(console, ["hangup"])
        self.assertEqual(status, 255)
        self.assertIn(b"closed the connection", err)

    def test_noConsole(self) -> None:
        """
        No socket: status 255 and the reason.
        """
        out, err = _Output(), _Output()
        path = os.path.join(shortTempDir(self), "none")
        self.assertEqual(runOneShot(path, ["x"], 1.0, out, err), 255)
        self.assertIn(b"No such file or directory", err.data)


class StdinCommandsTests(SynchronousTestCase):
    """
    C{-i}: the commands from standard input, one per line, each answered
    as in one-shot mode (the seed's C{echo port/print | unixterm -i -s
    MGMT}).
    """

    def test_commandsFrom(self) -> None:
        """
        One command per line, line ends removed, empty lines skipped.
        """
        self.assertEqual(list(commandsFrom([b"port/print\n", b"\n", b"  \n", b"a b\r\n", b"c"])),
                         ["port/print", "a b", "c"])

    def test_lazy(self) -> None:
        """
        Each line is read only once the previous command was answered.
        """
        console = ScriptedConsole(self, {b"a": PORT_PRINT_EMPTY, b"b": HASH_SHOWINFO})
        seen: List[List[bytes]] = []

        def lines():
            """
            Record what the console had received when each line is read.
            """
            for line in [b"a\n", b"b\n"]:
                seen.append(list(console.received))
                yield line
        out, err = _Output(), _Output()
        self.assertEqual(runOneShot(console.path, commandsFrom(lines()), 5.0, out, err), 0)
        self.assertEqual(seen, [[], [b"a"]])
        self.assertIn(b"Min persistence 3 secs\n", out.data)

    def test_seedLine(self) -> None:
        """
        C{echo port/print | vdetwist term -i -s MGMT} prints the data of
        the reply and exits 0; a failing command's result line goes to
        standard error with its errno as the status.
        """
        console = ScriptedConsole(self, {b"hash/showinfo": HASH_SHOWINFO})
        result = subprocess.run(
            [sys.executable, "-m", "vdetwist", "term", "-i", "-s", console.path],
            input=b"hash/showinfo\n", capture_output=True, timeout=30,
            env=dict(os.environ, PYTHONPATH=ROOT))
        self.assertEqual((result.returncode, result.stdout, result.stderr), (
            0, b"Hash size 128\nGC interval 2 secs\nGC expire 100 secs\n"
               b"Min persistence 3 secs\n", b""))
        console = ScriptedConsole(self, {b"port/print 99": PORT_PRINT_99})
        result = subprocess.run(
            [sys.executable, "-m", "vdetwist", "term", "-i", "-s", console.path],
            input=b"port/print 99\nhash/showinfo\n", capture_output=True, timeout=30,
            env=dict(os.environ, PYTHONPATH=ROOT))
        self.assertEqual((result.returncode, result.stdout, result.stderr),
                         (22, b"", b"1022 Invalid argument\n"))
        self.assertEqual(console.received, [b"port/print 99"])


class PipeTests(SynchronousTestCase):
    """
    L{runPipe}: commands from a pipe, one at a time, and everything the
    console writes on standard output.
    """

    def pipe(self, console: ScriptedConsole, script: bytes) -> bytes:
        """
        Run with the given command lines piped to standard input.

        @return: standard output.
        """
        readEnd, writeEnd = os.pipe()
        os.write(writeEnd, script)
        os.close(writeEnd)
        out, err = _Output(), _Output()
        try:
            self.assertEqual(runPipe(console.path, 5.0, readEnd, out, err), 0)
        finally:
            os.close(readEnd)
        self.assertEqual(err.data, b"")
        return out.data

    def test_verbatim(self) -> None:
        """
        The greeting and every reply with its prompt, byte for byte, for
        commands given all at once (each sent after the previous prompt).
        """
        console = ScriptedConsole(self, {b"port/print": PORT_PRINT_EMPTY,
                                         b"hash/showinfo": HASH_SHOWINFO})
        self.assertEqual(self.pipe(console, b"port/print\nbogus\nhash/showinfo\n"),
                         GREETING + PORT_PRINT_EMPTY + BOGUS + HASH_SHOWINFO)
        self.assertEqual(console.received, [b"port/print", b"bogus", b"hash/showinfo"])

    def test_lastLineWithoutNewline(self) -> None:
        """
        A last command without a newline is sent too.
        """
        console = ScriptedConsole(self, {b"port/print": PORT_PRINT_EMPTY})
        self.assertEqual(self.pipe(console, b"port/print"), GREETING + PORT_PRINT_EMPTY)

    def test_logout(self) -> None:
        """
        The end of session is shown and ends the run.
        """
        console = ScriptedConsole(self, {})
        self.assertEqual(self.pipe(console, b"logout\nbogus\n"),
                         GREETING + b"9999 END OF SESSION")

    def test_wirefilter(self) -> None:
        """
        wirefilter's prompt is learnt from its greeting.
        """
        console = ScriptedConsole(self, {b"x": b"1000 Success\n\nVDEwf$ "}, WF_GREETING)
        self.assertEqual(self.pipe(console, b"x\nx\n"),
                         WF_GREETING + b"1000 Success\n\nVDEwf$ " * 2)


class FakeLink:
    """
    A L{term.ConsoleLink} stand-in: records commands.
    """

    def __init__(self) -> None:
        """
        Set up the fake.
        """
        self.sent: List[bytes] = []
        self.term = None

    def attach(self, t: InteractiveTerm) -> None:
        """
        Record the terminal.
        """
        self.term = t

    def sendCommand(self, line: bytes) -> None:
        """
        Record a command.
        """
        self.sent.append(line)


class InteractiveTermTests(SynchronousTestCase):
    """
    L{InteractiveTerm} on an in-memory terminal.
    """

    def setUp(self) -> None:
        """
        Build the objects under test.
        """
        self.link = FakeLink()
        self.exits: List[bool] = []
        self.server = ServerProtocol(InteractiveTerm, self.link, lambda: self.exits.append(True))
        self.transport = StringTransport()
        self.server.makeConnection(self.transport)
        self.term = self.link.term
        for kind, value in ConsoleParser().feed(GREETING):
            self.term.consoleEvent(kind, value)
        self.transport.clear()

    def test_greetingAndPrompt(self) -> None:
        """
        The banner is shown and the console's prompt becomes ours.
        """
        self.assertEqual(self.term.ps, (b"vde$ ",))
        self.assertFalse(self.term.awaiting)

    def test_commandSent(self) -> None:
        """
        A typed line is sent; the next waits for the prompt.
        """
        self.server.dataReceived(b"port/print\rhash/print\r")
        self.assertEqual(self.link.sent, [b"port/print"])
        self.term.consoleEvent(PROMPT, b"vde$ ")
        self.assertEqual(self.link.sent, [b"port/print", b"hash/print"])

    def test_emptyLineNotSent(self) -> None:
        """
        Enter on an empty line sends nothing.
        """
        self.server.dataReceived(b"\r")
        self.assertEqual(self.link.sent, [])

    def test_asyncLineApart(self) -> None:
        """
        A debug line is shown with C{** } above the input line, which is
        redrawn with what was typed.
        """
        self.server.dataReceived(b"hash/pr")
        self.transport.clear()
        self.term.consoleEvent(LINE, b"3021 port/+ 01")
        self.assertEqual(self.transport.value(),
                         b"\r\x1b[K** 3021 port/+ 01\r\nvde$ hash/pr")

    def test_dataLinesNotAsync(self) -> None:
        """
        Inside a data block a line starting with a 3-code is shown as is.
        """
        for line in (b"0000 DATA END WITH '.'", b"3000 x", b"."):
            self.term.consoleEvent(LINE, line)
        self.assertNotIn(b"**", self.transport.value())

    def test_history(self) -> None:
        """
        The up arrow brings back the previous command.
        """
        self.server.dataReceived(b"port/print\r")
        self.term.consoleEvent(PROMPT, b"vde$ ")
        self.server.dataReceived(b"\x1b[A\r")
        self.assertEqual(self.link.sent, [b"port/print", b"port/print"])

    def test_ctrlDLogsOut(self) -> None:
        """
        Ctrl-D on an empty line sends C{logout}; the end of session and the
        close end the program without a complaint.
        """
        self.server.dataReceived(b"\x04")
        self.assertEqual(self.link.sent, [b"logout"])
        self.term.consoleEvent(END, b"9999 END OF SESSION")
        self.term.consoleClosed()
        self.assertEqual(self.exits, [True])
        self.assertNotIn(b"closed the connection", self.transport.value())

    def test_ctrlCClears(self) -> None:
        """
        Ctrl-C abandons the typed line.
        """
        self.server.dataReceived(b"bogus\x03port/print\r")
        self.assertEqual(self.link.sent, [b"port/print"])

    def test_closedUnexpectedly(self) -> None:
        """
        A console that closes without a logout is reported.
        """
        self.term.consoleClosed()
        self.assertIn(b"closed the connection", self.transport.value())
        self.assertEqual(self.exits, [True])


class InteractivePTYTests(SynchronousTestCase):
    """
    C{vdetwist term SOCK} on a real pseudo-terminal: raw mode while it runs,
    a command typed and answered, Ctrl-D logs out, and the terminal's
    settings are restored at the end.
    """

    def readUntil(self, master: int, marker: bytes, buffer: bytes = b"") -> bytes:
        """
        Read the terminal until C{marker} shows.

        @return: everything read.
        """
        import select
        deadline = time.monotonic() + 15
        while marker not in buffer:
            ready, _, _ = select.select([master], [], [], max(deadline - time.monotonic(), 0))
            self.assertTrue(ready, "no %r in %r" % (marker, buffer))
            buffer += os.read(master, 4096)
        return buffer

    def test_session(self) -> None:
        """
        The banner and prompt show, a typed command's reply shows, Ctrl-D
        sends C{logout}, the program exits 0 and the terminal is as before.
        """
        import termios
        console = ScriptedConsole(self, {b"hash/showinfo": HASH_SHOWINFO})
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        self.addCleanup(os.close, slave)
        before = termios.tcgetattr(slave)
        process = subprocess.Popen(
            [sys.executable, "-m", "vdetwist", "term", console.path],
            stdin=slave, stdout=slave, stderr=slave, start_new_session=True,
            env=dict(os.environ, PYTHONPATH=ROOT))
        self.addCleanup(lambda: process.poll() is None and process.kill())
        screen = self.readUntil(master, b"vde$ ")
        self.assertIn(b"VDE switch V.2.3.2", screen)
        os.write(master, b"hash/showinfo\r")
        screen = self.readUntil(master, b"Min persistence 3 secs", screen)
        os.write(master, b"\x04")
        screen = self.readUntil(master, b"9999 END OF SESSION", screen)
        self.assertEqual(process.wait(15), 0)
        self.assertEqual(console.received, [b"hash/showinfo", b"logout"])
        self.assertEqual(termios.tcgetattr(slave), before)


class OptionsTests(SynchronousTestCase):
    """
    The command line.
    """

    def parse(self, *argv: str) -> Options:
        """
        Parse a command line.
        """
        options = Options()
        options.parseOptions(list(argv))
        return options

    def test_wordsAreOneCommand(self) -> None:
        """
        The words after SOCK are one command.
        """
        self.assertEqual(self.parse("/tmp/m", "port/print", "3")["commands"], ["port/print 3"])

    def test_repeatedC(self) -> None:
        """
        C{-c} may be repeated; the commands run in order.
        """
        o = self.parse("-c", "a", "-c", "b c", "/tmp/m")
        self.assertEqual((o["sock"], o["commands"]), ("/tmp/m", ["a", "b c"]))

    def test_noSock(self) -> None:
        """
        SOCK is required.
        """
        self.assertRaises(Exception, self.parse)

    def test_sockOption(self) -> None:
        """
        C{-s SOCK} names the socket; then every argument is command words.
        """
        o = self.parse("-i", "-s", "/tmp/m")
        self.assertEqual((o["sock"], o["stdin"], o["commands"]), ("/tmp/m", True, []))
        o = self.parse("-s", "/tmp/m", "port/print", "3")
        self.assertEqual((o["sock"], o["stdin"], o["commands"]),
                         ("/tmp/m", False, ["port/print 3"]))

    def test_stdinWithCommands(self) -> None:
        """
        C{-i} with commands on the command line is a usage error.
        """
        from twisted.python.usage import UsageError
        self.assertRaises(UsageError, self.parse, "-i", "-s", "/tmp/m", "port/print")
        self.assertRaises(UsageError, self.parse, "-i", "-c", "a", "/tmp/m")

    def test_dispatcher(self) -> None:
        """
        C{vdetwist term} is a subcommand.
        """
        self.assertEqual(dispatcher.SUBCOMMANDS["term"][0], "vdetwist.scripts.term")


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
UNIXTERM = shutil.which("unixterm")


class _UnixtermComparisonMixin:
    """
    C{vdetwist term} and Debian's C{unixterm} against the same switch, fed
    the same script: the same bytes.  Subclasses set C{switchClass}.
    """

    switchClass: type

    def setUp(self) -> None:
        """
        Build the objects under test.
        """
        self.switch = self.switchClass(shortTempDir(self))
        self.switch.start()
        self.addCleanup(self.switch.stop)
        if shutil.which("vde_plug"):
            # A client, so that port/print has an endpoint to show.
            plug = subprocess.Popen(["vde_plug", "-D", "client", "vde://" + self.switch.ctlDir],
                                    stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
            self.addCleanup(plug.wait, 10)
            self.addCleanup(plug.stdin.close)
            for _ in range(200):
                if self.switch.endpoints():
                    break
                time.sleep(0.02)

    def pipe(self, command: List[str], lines: List[str]) -> bytes:
        """
        Run C{(echo LINE; sleep 0.3; ...) | COMMAND}.
        """
        script = "; ".join("echo %s; sleep 0.3" % (_quote(line),) for line in lines)
        return subprocess.run(["sh", "-c", "(%s) | %s" % (script, " ".join(map(_quote, command)))],
                              capture_output=True, timeout=20, env=dict(os.environ, PYTHONPATH=ROOT),
                              check=True).stdout

    def ours(self) -> List[str]:
        """
        C{vdetwist term} on this switch's console.
        """
        return [sys.executable, "-m", "vdetwist", "term", self.switch.mgmtPath]

    def test_sameAsUnixterm(self) -> None:
        """
        A session of several commands (data blocks, an error inside a block,
        an unknown command, an empty line) prints the same bytes.
        """
        lines = ["port/print", "vlan/print", "port/print 99", "bogus", "", "hash/showinfo"]
        theirs = self.pipe([UNIXTERM, self.switch.mgmtPath], lines)
        self.assertEqual(self.pipe(self.ours(), lines), theirs)
        self.assertIn(b"1022 Invalid argument", theirs)

    def test_debugLines(self) -> None:
        """
        Two sessions at once, ours and unixterm, both subscribed with
        C{debug/add port}, see a plug come and go: the same bytes,
        notifications included.
        """
        if shutil.which("vde_plug") is None:
            raise self.skipTest("vde_plug is not installed (apt-get install vdeplug)")
        script = "(echo debug/add port; sleep 3)"
        env = dict(os.environ, PYTHONPATH=ROOT)
        sessions = [subprocess.Popen(["sh", "-c", "%s | %s" % (script, " ".join(map(_quote, c)))],
                                     stdout=subprocess.PIPE, env=env)
                    for c in ([UNIXTERM, self.switch.mgmtPath], self.ours())]
        # Wait until both sessions are subscribed.
        started = []
        for session in sessions:
            buffer = b""
            while b"1000 Success\n\nvde$ " not in buffer:
                data = os.read(session.stdout.fileno(), 4096)
                self.assertTrue(data, buffer)
                buffer += data
            started.append(buffer)
        subprocess.run(["vde_plug", "-D", "visitor", "vde://" + self.switch.ctlDir],
                       stdin=subprocess.DEVNULL, timeout=10)
        theirs, ours = [b + s.communicate(timeout=20)[0] for b, s in zip(started, sessions)]
        self.assertIn(b'-> "visitor user=', theirs)
        self.assertEqual(ours, theirs)

    def test_help(self) -> None:
        """
        The long C{help} reply prints the same bytes.
        """
        theirs = self.pipe([UNIXTERM, self.switch.mgmtPath], ["help"])
        self.assertEqual(self.pipe(self.ours(), ["help"]), theirs)

    def test_oneShot(self) -> None:
        """
        One-shot mode prints the lines of unixterm's data block and exits
        with the errno: C{port/print 99} gives 22, an unknown command 38.
        """
        theirs = self.pipe([UNIXTERM, self.switch.mgmtPath], ["port/print"])
        header = b"0000 DATA END WITH '.'\n"
        lines = theirs[theirs.index(header) + len(header):].split(b"\n")
        block = b"".join(line + b"\n" for line in lines[:lines.index(b".")])
        result = subprocess.run(self.ours() + ["port/print"], capture_output=True, timeout=20,
                                env=dict(os.environ, PYTHONPATH=ROOT))
        self.assertEqual((result.returncode, result.stdout), (0, block))
        if shutil.which("vde_plug"):
            self.assertIn(b"client user=", block)
        result = subprocess.run(self.ours() + ["port/print", "99"], capture_output=True,
                                timeout=20, env=dict(os.environ, PYTHONPATH=ROOT))
        self.assertEqual((result.returncode, result.stdout, result.stderr),
                         (22, b"", b"1022 Invalid argument\n"))
        result = subprocess.run(self.ours() + ["bogus"], capture_output=True, timeout=20,
                                env=dict(os.environ, PYTHONPATH=ROOT))
        self.assertEqual(result.returncode, 38)


def _quote(text: str) -> str:
    """
    Shell-quote.
    """
    import shlex
    return shlex.quote(text)


def _skip() -> Optional[str]:
    """
    Why the comparison cannot run, or L{None}.
    """
    from tests.vde.realswitch import SKIP_REASON
    if SKIP_REASON:
        return SKIP_REASON
    if UNIXTERM is None:
        return "unixterm is not installed (apt-get install vde2)"
    return None


class DebianSwitchUnixtermTests(_UnixtermComparisonMixin, SynchronousTestCase):
    """
    The comparison on Debian's vde_switch.
    """

    skip = _skip()

    @property
    def switchClass(self):  # type: ignore[override]
        """
        The switch to run.
        """
        from tests.vde.realswitch import RealVDESwitch
        return RealVDESwitch


class VdetwistSwitchUnixtermTests(_UnixtermComparisonMixin, SynchronousTestCase):
    """
    The comparison on vdetwist's switch (C{twistd vdeswitch}).
    """

    skip = _skip()

    @property
    def switchClass(self):  # type: ignore[override]
        """
        The switch to run.
        """
        from tests.interop.netns import VdetwistSwitch
        return VdetwistSwitch


class WirefilterUnixtermTests(SynchronousTestCase):
    """
    C{vdetwist term} and C{unixterm} on Debian's wirefilter console
    (prompt C{VDEwf$ }): the same bytes; one-shot prints the data block.
    """

    skip = _skip() or (None if shutil.which("wirefilter")
                       else "wirefilter is not installed (apt-get install vde-wirefilter)")

    def setUp(self) -> None:
        """
        Build the objects under test.
        """
        from tests.vde.realswitch import RealVDESwitch, _alive
        directory = shortTempDir(self)
        switch = RealVDESwitch(directory)
        switch.start()
        self.addCleanup(switch.stop)
        self.mgmt = os.path.join(directory, "wf.mgmt")
        pidfile = os.path.join(directory, "wf.pid")
        subprocess.run(["wirefilter", "-v", "%s:%s" % (switch.ctlDir, switch.ctlDir),
                        "-M", self.mgmt, "--daemon", "--pidfile", pidfile],
                       stdin=subprocess.DEVNULL, check=True, timeout=10)

        def stop() -> None:
            """
            Stop the reactor if it runs.
            """
            with open(pidfile) as f:
                pid = int(f.read().strip())
            os.kill(pid, 15)
            for _ in range(100):
                if not _alive(pid):
                    break
                time.sleep(0.02)
        self.addCleanup(stop)
        for _ in range(250):
            if os.path.exists(self.mgmt):
                break
            time.sleep(0.02)

    def test_sameAsUnixterm(self) -> None:
        """
        C{showinfo}, an unknown command and C{help}: the same bytes.
        """
        lines = ["showinfo", "bogus", "help"]
        pipe = _UnixtermComparisonMixin.pipe
        theirs = pipe(self, [UNIXTERM, self.mgmt], lines)  # type: ignore[arg-type]
        ours = pipe(self, [sys.executable, "-m", "vdetwist", "term", self.mgmt],  # type: ignore[arg-type]
                    lines)
        self.assertIn(b"\nVDEwf$ ", theirs)
        self.assertEqual(ours, theirs)

    def test_oneShot(self) -> None:
        """
        One-shot C{showinfo} prints the block.
        """
        result = subprocess.run([sys.executable, "-m", "vdetwist", "term", self.mgmt, "showinfo"],
                                capture_output=True, timeout=20,
                                env=dict(os.environ, PYTHONPATH=ROOT))
        self.assertEqual(result.returncode, 0)
        self.assertTrue(result.stdout.startswith(b"WireFilter: "), result.stdout)
