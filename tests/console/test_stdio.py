# -*- test-case-name: tests.console.test_stdio -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.console.stdio}: the console on standard input and
output (where its prompts go, what stopping gives back), on a fake
transport and on real pipes with Twisted's C{StandardIO}; and
L{openStandardDescriptors} in a child process.
"""

import fcntl
import os
import socket
import subprocess
import sys
from typing import Any, List

from twisted.internet import defer, reactor, task
from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.console.helpers import MAC, PROMPT, SUCCESS
from tests.interop.netns import ROOT
from vdetwist.console.stdio import StdioConsoleService
from vdetwist.switch.console import SwitchConsoleFactory
from vdetwist.switch.switch import Switch


class FakeStandardIO(StringTransport):
    """
    A StandardIO stand-in: remembers its descriptors and, as Twisted's
    does, makes stdin non-blocking.
    """

    made: List["FakeStandardIO"] = []

    def __init__(self, protocol: Any, stdin: int, stdout: int, reactor: Any) -> None:
        super().__init__()
        self.stdin, self.stdout, self.reactor = stdin, stdout, reactor
        flags = fcntl.fcntl(stdin, fcntl.F_GETFL)
        fcntl.fcntl(stdin, fcntl.F_SETFL, flags | os.O_NONBLOCK)
        self.protocol = protocol
        protocol.makeConnection(self)


class ServiceTests(SynchronousTestCase):
    """
    L{StdioConsoleService} on a fake transport.
    """

    def setUp(self) -> None:
        self.shutdowns: List[bool] = []
        self.factory = SwitchConsoleFactory(
            Switch(mac=MAC), shutdown=lambda: self.shutdowns.append(True), reactor=Clock())

    def pipe(self) -> "tuple[int, int]":
        """
        A pipe, closed at the end.
        """
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        return r, w

    def service(self, stdin: int, stdout: int, tty: bool) -> StdioConsoleService:
        """
        A started service on these descriptors, stdin a terminal or not.
        """
        service = StdioConsoleService(self.factory, "the reactor", stdin=stdin, stdout=stdout,
                                      standardIO=FakeStandardIO, isatty=lambda fd: tty)
        service.startService()
        self.addCleanup(lambda: service.running and service.stopService())
        return service

    def test_transport(self) -> None:
        """
        The session runs on a StandardIO over the descriptors given, with
        the reactor given, and answers commands.
        """
        r, w = self.pipe()
        service = self.service(r, w, tty=False)
        transport = service.transport
        self.assertEqual((transport.stdin, transport.stdout, transport.reactor),
                         (r, w, "the reactor"))
        self.assertIs(transport.protocol, service.session)
        self.assertTrue(service.session.stdio)
        service.session.dataReceived(b"vlan/create 10\n")
        self.assertEqual(transport.value(), b"1000 Success\n")

    def test_noPromptWithoutTerminal(self) -> None:
        """
        Stdin not a terminal: no prompts.
        """
        r, w = self.pipe()
        service = self.service(r, w, tty=False)
        self.assertEqual(service.session.prompt, b"")

    def test_promptOnTheSameTerminal(self) -> None:
        """
        Stdin and stdout the same terminal: the prompt follows each reply
        in the output stream.
        """
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        service = self.service(a.fileno(), a.fileno(), tty=True)
        self.assertIsNone(service.session.promptWriter)
        service.session.dataReceived(b"vlan/create 10\n")
        self.assertEqual(service.transport.value(), SUCCESS)

    def test_promptToStdinTerminal(self) -> None:
        """
        Stdin a terminal and stdout elsewhere (C{vde_switch > log}): the
        replies go to stdout and the prompts to stdin, as r586 writes them
        to fd 0.
        """
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        r, w = self.pipe()
        service = self.service(a.fileno(), w, tty=True)
        service.session.dataReceived(b"vlan/create 10\n")
        self.assertEqual(service.transport.value(), b"1000 Success\n")
        b.setblocking(False)
        self.assertEqual(b.recv(100), PROMPT)

    def test_promptToStdinNotWritable(self) -> None:
        """
        A prompt that cannot be written to stdin is lost, quietly.
        """
        r, w = self.pipe()
        out, outw = self.pipe()
        service = self.service(r, outw, tty=True)
        service.session.dataReceived(b"vlan/create 10\n")
        self.assertEqual(service.transport.value(), b"1000 Success\n")

    def test_stop(self) -> None:
        """
        Stopping closes the transport, detaches the session (its end no
        longer stops the switch), and gives stdin back its blocking mode.
        """
        r, w = self.pipe()
        self.assertFalse(fcntl.fcntl(r, fcntl.F_GETFL) & os.O_NONBLOCK)
        service = self.service(r, w, tty=False)
        self.assertTrue(fcntl.fcntl(r, fcntl.F_GETFL) & os.O_NONBLOCK)
        session, transport = service.session, service.transport
        service.stopService()
        self.assertTrue(transport.disconnecting)
        self.assertFalse(fcntl.fcntl(r, fcntl.F_GETFL) & os.O_NONBLOCK)
        session.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.shutdowns, [])
        self.assertIsNone(service.session)

    def test_endOfStdinStops(self) -> None:
        """
        Before that, the end of the session is the end of the switch.
        """
        r, w = self.pipe()
        service = self.service(r, w, tty=False)
        service.session.readConnectionLost()
        self.assertTrue(service.transport.disconnecting)
        service.session.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(self.shutdowns, [True])


class RealPipesTests(TestCase):
    """
    The service with Twisted's StandardIO on real pipes, on the reactor.
    """

    def setUp(self) -> None:
        self.fds: List[int] = []
        self.addCleanup(self.closeAll)
        self.stopped: "defer.Deferred[None]" = defer.Deferred()
        self.switch = Switch(mac=MAC)
        factory = SwitchConsoleFactory(self.switch, reactor=reactor,
                                       shutdown=lambda: self.stopped.callback(None))
        self.inR, self.inW = self.pipe()
        self.outR, self.outW = self.pipe()
        self.service = StdioConsoleService(factory, reactor, stdin=self.inR, stdout=self.outW)
        self.service.startService()
        self.addCleanup(lambda: self.service.running and self.service.stopService())

    def pipe(self) -> "tuple[int, int]":
        r, w = os.pipe()
        self.fds += [r, w]
        return r, w

    def close(self, fd: int) -> None:
        """
        Close one of the pipes' ends now (only once: its number may be
        reused, by the reactor too).
        """
        self.fds.remove(fd)
        os.close(fd)

    def closeAll(self) -> None:
        for fd in list(self.fds):
            self.close(fd)

    @defer.inlineCallbacks
    def test_eofAfterCommands(self) -> Any:
        """
        Commands written then stdin closed: every reply is written (the
        last line without its newline too) before the shutdown callback
        runs.
        """
        os.write(self.inW, b"vlan/create 10\nlogout\nbogus\nvlan/print 10")
        self.close(self.inW)
        yield self.stopped
        self.service.stopService()
        self.assertEqual(os.read(self.outR, 65536),
                         b"1000 Success\n1038 Function not implemented\n"
                         b"0000 DATA END WITH '.'\nVLAN 0010\n.\n1000 Success\n")

    @defer.inlineCallbacks
    def test_stdoutGone(self) -> Any:
        """
        With stdout's reader gone, commands still run; EOF still stops.
        """
        self.close(self.outR)
        session = self.service.session
        os.write(self.inW, b"port/showinfo\n")
        for _ in range(1000):  # a hang guard, not a timing assertion
            if session.outputLost:
                break
            yield task.deferLater(reactor, 0.01, lambda: None)
        self.assertTrue(session.outputLost)
        os.write(self.inW, b"vlan/create 10\n")
        self.close(self.inW)
        yield self.stopped
        self.assertIn(10, self.switch.vlans)


class OpenStandardDescriptorsTests(SynchronousTestCase):
    """
    L{openStandardDescriptors}, in a child whose descriptors are closed.
    """

    # (3 is O_ACCMODE: PyPy's os module has no O_ACCMODE.)
    CHILD = (
        "import fcntl, os\n"
        "from vdetwist.console.stdio import openStandardDescriptors\n"
        "opened = openStandardDescriptors()\n"
        "modes = [fcntl.fcntl(fd, fcntl.F_GETFL) & 3 for fd in (0, 1)]\n"
        "os.write(2, repr((opened, os.readlink('/proc/self/fd/0'),\n"
        "                  os.readlink('/proc/self/fd/1'), modes)).encode())\n")

    def test_closed(self) -> None:
        """
        Closed stdin and stdout get /dev/null, for reading and for writing.
        """
        def close() -> None:
            os.close(0)
            os.close(1)
        result = subprocess.run([sys.executable, "-c", self.CHILD], preexec_fn=close,
                                env=dict(os.environ, PYTHONPATH=ROOT),
                                stderr=subprocess.PIPE, timeout=30)
        self.assertEqual(result.stderr.decode(), repr(
            ([0, 1], "/dev/null", "/dev/null", [os.O_RDONLY, os.O_WRONLY])))

    def test_open(self) -> None:
        """
        Open descriptors are left alone.
        """
        result = subprocess.run([sys.executable, "-c", self.CHILD],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                env=dict(os.environ, PYTHONPATH=ROOT),
                                stderr=subprocess.PIPE, timeout=30)
        self.assertTrue(result.stderr.startswith(b"([], 'pipe:"), result.stderr)
