# -*- test-case-name: tests.interop.test_stdin_console -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The foreground console on standard input and output, Debian's
C{vde_switch} (2.3.2+r586) against C{vdetwist switch}: the same lines on
stdin, from a pipe and from a terminal (a pty), must give the same bytes
on stdout, the same line on standard error, and the same exit status;
C{shutdown}, the end of stdin (/dev/null, a closed stdin) and a standard
output whose reader went away must do the same.

Only what must differ is masked (L{normalise}): the program's name in its
standard error lines, and in C{showinfo} the pid, the switch's random MAC
and the uptime in seconds (the two processes are not started at the same
instant).

r586 runs each C{read()} of stdin as one command; the lines are written
one at a time, each once the previous one has been read (the pipe is
empty: L{pipeConversation}), or on a terminal, which hands over a line per
C{read()} anyway.  The processes are waited for with a generous guard (a
hang fails the test); no duration is asserted.
"""

import fcntl
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import threading
import time
from typing import Callable, List, Optional, Sequence, Tuple

from twisted.trial.unittest import SynchronousTestCase

from tests.interop.netns import ROOT
from tests.util import shortTempDir
from tests.vde.realswitch import SKIP_REASON, VDE_SWITCH

VDETWIST_SWITCH = [sys.executable, "-m", "vdetwist", "switch"]
#: A hang guard, not a timing assertion.
GUARD = 30.0

#: The lines both switches get: replies with and without data blocks,
#: errors, blank lines and comments (no reply at all), C{logout} (nothing
#: on stdin), a debug subscription on the console (its C{3021 port/+}
#: line goes to stdout), C{load} of a missing file, and C{showinfo}.
LINES = [
    "vlan/create 10", "vlan/print 10", "vlan/create 10", "port/create 3",
    "port/allprint 3", "port/setvlan 3 10", "port/allprint 3", "port/print 3",
    "", "  \t", "# a comment", "bogus", "logout", "port/showinfo", "hash/print",
    "help debug", "load /nonexistent/vdetwist-test", "debug/add port",
    "port/create 4", "port/remove 4", "showinfo", "port/remove 3", "vlan/remove 10",
]


def waitFor(predicate: Callable[[], bool], what: str) -> None:
    """
    Poll until C{predicate()} holds; fail after L{GUARD} seconds.

    @param predicate: the condition.
    @param what: what was awaited, for the failure.
    """
    deadline = time.monotonic() + GUARD
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % (what,))
        time.sleep(0.01)


def executable(argv: Sequence[str]) -> str:
    """
    The program to run for C{argv}: Debian's switch is run as
    C{vde_switch}, as a user runs it from the C{PATH}, since it names
    itself in its messages by its C{argv[0]}.
    """
    return VDE_SWITCH if argv[0] == "vde_switch" else argv[0]


def unread(fd: int) -> int:
    """
    The bytes written to a pipe that its reader has not read yet.

    @param fd: either end of the pipe.
    @return: the count.
    """
    return struct.unpack("i", fcntl.ioctl(fd, termios.FIONREAD, b"\0\0\0\0"))[0]


class Collector(threading.Thread):
    """
    Read a descriptor to its end in the background (so the switch never
    blocks on a full pipe).
    """

    def __init__(self, fd: int) -> None:
        super().__init__(daemon=True)
        self.fd = fd
        self.chunks: List[bytes] = []
        self.start()

    def run(self) -> None:
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # EIO: a pty whose other side is all closed
                break
            if not chunk:
                break
            self.chunks.append(chunk)

    def value(self) -> bytes:
        return b"".join(self.chunks)


def normalise(data: bytes, program: bytes, directory: str) -> bytes:
    """
    Mask what must differ between the two switches (see the module
    docstring).

    @param data: their standard output or error.
    @param program: the prefix of their log lines (C{b"vde_switch: "}).
    @param directory: their socket directory.
    @return: the masked bytes.
    """
    data = data.replace(program, b"PROGRAM: ").replace(directory.encode(), b"DIR")
    return re.sub(rb"pid \d+ MAC [0-9a-f:]{17} uptime \d+", b"pid PID MAC MAC uptime N", data)


class Run:
    """
    One switch run: its standard output and error, and its exit status.
    """

    def __init__(self, out: bytes, err: bytes, status: Optional[int], program: bytes,
                 directory: str) -> None:
        self.out = normalise(out, program, directory)
        self.err = normalise(err, program, directory)
        self.status = status
        self.directory = directory

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Run) and (self.out, self.err, self.status) == (
            other.out, other.err, other.status)

    def __repr__(self) -> str:
        return "Run(out=%r, err=%r, status=%r)" % (self.out, self.err, self.status)


class StdinConsoleTests(SynchronousTestCase):
    """
    vde_switch and vdetwist switch, the same stdin, the same output.
    """

    if SKIP_REASON:
        skip = SKIP_REASON

    def switches(self) -> List[Tuple[List[str], bytes, str]]:
        """
        The two switches' commands (each with a socket directory of its
        own, not yet made), and their log prefixes.
        """
        top = shortTempDir(self)
        real, ours = os.path.join(top, "real"), os.path.join(top, "ours")
        return [(["vde_switch", "-s", real], b"vde_switch: ", real),
                (VDETWIST_SWITCH + ["-s", ours], b"vdetwist switch: ", ours)]

    def spawn(self, argv: Sequence[str], **kwargs: object) -> subprocess.Popen:
        """
        Start a switch; killed at the end if still running.
        """
        process = subprocess.Popen(list(argv), executable=executable(argv),
                                   env=dict(os.environ, PYTHONPATH=ROOT),
                                   cwd=ROOT, **kwargs)  # type: ignore[call-overload]

        def reap() -> None:
            if process.poll() is None:
                process.kill()
            process.wait()
        self.addCleanup(reap)
        return process

    def pipeConversation(self, argv: Sequence[str], lines: Sequence[str], program: bytes,
                         directory: str, last: str = "", close: bool = True) -> Run:
        """
        Write each line to the switch's stdin (a pipe) once the previous one
        has been read, then C{last} without a newline, then close stdin
        (unless not C{close}: the switch must end by itself) and wait for
        the end.
        """
        process = self.spawn(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE)
        out, err = Collector(process.stdout.fileno()), Collector(process.stderr.fileno())
        stdin = process.stdin.fileno()
        for line in [line + "\n" for line in lines] + ([last] if last else []):
            data = line.encode()
            self.assertLess(len(data), 128, "r586 reads 128 bytes at a time")
            os.write(stdin, data)
            waitFor(lambda: unread(stdin) == 0, "the switch to read %r" % (line,))
        if close:
            process.stdin.close()
        waitFor(lambda: process.poll() is not None, "the switch to exit")
        out.join(GUARD)
        err.join(GUARD)
        process.stdout.close()
        process.stderr.close()
        if not close:
            process.stdin.close()
        return Run(out.value(), err.value(), process.returncode, program, directory)

    def test_pipe(self) -> None:
        """
        From a pipe: the same replies (no prompts: r586 writes them to fd
        0), the last line run without its newline, then at EOF the same
        line on standard error and status 0.
        """
        runs = [self.pipeConversation(argv, LINES, program, directory, last="vlan/print")
                for argv, program, directory in self.switches()]
        self.assertEqual(runs[0], runs[1])
        self.assertIn(b"3021 port/+ 04\n", runs[1].out)
        self.assertIn(b"0000 DATA END WITH '.'\nVLAN 0010\n.\n1000 Success\n", runs[1].out)
        self.assertEqual(runs[1].err, b"PROGRAM: EOF on stdin, cleaning up and exiting\n")
        self.assertEqual(runs[1].status, 0)

    def test_terminal(self) -> None:
        """
        From a terminal (stdin and stdout a pty): the terminal's echo, each
        reply, and after it the prompt; no banner and no prompt before the
        first command; Ctrl-D ends it like the end of a pipe.
        """
        lines = [line for line in LINES if line != "logout"]
        runs = []
        for argv, program, directory in self.switches():
            master, slave = pty.openpty()
            self.addCleanup(os.close, master)
            process = self.spawn(argv, stdin=slave, stdout=slave, stderr=subprocess.PIPE,
                                 start_new_session=True)
            os.close(slave)
            out, err = Collector(master), Collector(process.stderr.fileno())
            for count, line in enumerate(lines, 1):
                os.write(master, line.encode() + b"\n")
                waitFor(lambda: out.value().count(b"vde$ ") == count,
                        "the prompt after %r" % (line,))
            os.write(master, b"\x04")
            waitFor(lambda: process.poll() is not None, "the switch to exit")
            out.join(GUARD)
            err.join(GUARD)
            process.stderr.close()
            runs.append(Run(out.value(), err.value(), process.returncode, program, directory))
        self.assertEqual(runs[0], runs[1])
        self.assertTrue(runs[1].out.startswith(b"vlan/create 10\r\n1000 Success\r\n\r\nvde$ "),
                        runs[1].out[:100])
        self.assertEqual(runs[1].status, 0)

    def test_shutdown(self) -> None:
        """
        C{shutdown} on stdin ends the switch by itself (stdin still open),
        status 0, with C{Shutdown from mgmt command} on standard error and
        nothing on stdout for it.
        """
        runs = [self.pipeConversation(argv, ["vlan/create 10", "shutdown"], program,
                                      directory, close=False)
                for argv, program, directory in self.switches()]
        self.assertEqual(runs[0], runs[1])
        self.assertEqual((runs[1].out, runs[1].err, runs[1].status),
                         (b"1000 Success\n", b"PROGRAM: Shutdown from mgmt command\n", 0))

    def endsAtOnce(self, **stdin: object) -> None:
        """
        Both switches with this stdin end at once, status 0, with the EOF
        line, and leave no socket directory.
        """
        runs = []
        for argv, program, directory in self.switches():
            result = subprocess.run(argv, executable=executable(argv),
                                    env=dict(os.environ, PYTHONPATH=ROOT),
                                    capture_output=True, timeout=GUARD,
                                    **stdin)  # type: ignore[call-overload]
            runs.append(Run(result.stdout, result.stderr, result.returncode, program,
                            directory))
            self.assertFalse(os.path.exists(directory), directory)
        self.assertEqual(runs[0], runs[1])
        self.assertEqual((runs[1].out, runs[1].err, runs[1].status),
                         (b"", b"PROGRAM: EOF on stdin, cleaning up and exiting\n", 0))

    def test_devNull(self) -> None:
        """
        Stdin from /dev/null (a script's C{vde_switch -s DIR &} gets it too)
        ends the switch at once: use C{-d} to run one in the background.
        """
        self.endsAtOnce(stdin=subprocess.DEVNULL)

    def test_closedStdin(self) -> None:
        """
        A closed stdin is an EOF too, and nothing breaks.
        """
        self.endsAtOnce(stdin=None, preexec_fn=lambda: os.close(0))

    def test_stdoutReaderGone(self) -> None:
        """
        A standard output whose reader is gone loses the replies; the
        switch goes on reading commands (the second line is read only
        after the first one's reply was written), and ends at EOF as
        usual.
        """
        for argv, program, directory in self.switches():
            readEnd, writeEnd = os.pipe()
            process = self.spawn(argv, stdin=subprocess.PIPE, stdout=writeEnd,
                                 stderr=subprocess.PIPE)
            os.close(writeEnd)
            os.close(readEnd)
            stdin = process.stdin.fileno()
            for line in [b"port/showinfo\n", b"vlan/create 10\n", b"vlan/print 10\n"]:
                os.write(stdin, line)
                waitFor(lambda: unread(stdin) == 0, "the switch to read %r" % (line,))
            self.assertIsNone(process.poll(), argv)
            process.stdin.close()
            waitFor(lambda: process.poll() is not None, "the switch to exit")
            err = process.stderr.read()
            process.stderr.close()
            self.assertEqual((process.returncode, normalise(err, program, directory)),
                             (0, b"PROGRAM: EOF on stdin, cleaning up and exiting\n"))
