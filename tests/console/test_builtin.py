# -*- test-case-name: tests.console.test_builtin -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.console.builtin}: C{help}, C{logout}, C{shutdown}
and C{load} in a console of a fake table (the switch's are tested with
r586's texts in tests/switch/test_console.py and tests/console).
"""

from typing import Any, List

from twisted.internet.task import Clock
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.console.builtin import HELP, LOAD, LOGOUT, SHUTDOWN_FLAGS, ConsoleCommands
from vdetwist.console.framing import LOGOUT as LOGOUT_RESULT
from vdetwist.console.framing import MENU, NOARG, SHUTDOWN, WITHFILE
from vdetwist.console.session import ConsoleFactory
from vdetwist.console.table import CommandTable


class Toy(CommandTable):
    """
    A role with one command, placing the built-ins.
    """

    commands = [
        HELP, LOGOUT, ("shutdown", "", "shutdown of the toy", SHUTDOWN_FLAGS), LOAD,
        ("toy", MENU, "TOY MENU", None),
        ("toy/ping", "", "answer", NOARG | WITHFILE),
    ]

    def cmd_toy_ping(self, session: Any, out: List[str], arg: None) -> int:
        out.append("pong")
        return 0


class BuiltinTests(SynchronousTestCase):
    """
    The built-in commands.
    """

    def setUp(self) -> None:
        self.shutdowns: List[bool] = []
        self.factory = ConsoleFactory([Toy()], banner="toy\n", reactor=Clock(),
                                      shutdown=lambda: self.shutdowns.append(True))
        self.session = self.factory.buildProtocol(None)
        self.transport = StringTransport()
        self.session.makeConnection(self.transport)

    def test_help(self) -> None:
        """
        C{help} lists the composed entries with the listing table's text;
        an argument keeps those starting with it.
        """
        rv, text = self.session.runCommand("help")
        self.assertEqual(rv, 0)
        self.assertEqual(text, (
            "0000 DATA END WITH '.'\n"
            "COMMAND PATH       SYNTAX          HELP\n"
            "------------       --------------  ------------\n"
            "help               [arg]           Help (limited to arg when specified)\n"
            "logout                             logout from this mgmt terminal\n"
            "shutdown                           shutdown of the toy\n"
            "load               path            load a configuration script\n"
            "toy                ============    TOY MENU\n"
            "toy/ping                           answer\n"
            ".\n1000 Success\n"))
        rv, text = self.session.runCommand("help toy/")
        self.assertIn("toy/ping", text)
        self.assertNotIn("toy  ", text)

    def test_logoutAndShutdown(self) -> None:
        """
        C{logout} and C{shutdown} return the pseudo results that end the
        session; only C{shutdown} asks the factory to stop.
        """
        commands = ConsoleCommands()
        self.assertEqual(commands.cmd_logout(self.session, [], None), LOGOUT_RESULT)
        self.assertEqual(commands.cmd_shutdown(self.session, [], None), SHUTDOWN)
        self.session.dataReceived(b"shutdown\n")
        self.assertTrue(self.transport.value().endswith(b"9999 END OF SESSION"))
        self.session.connectionLost(None)  # type: ignore[arg-type]
        self.assertEqual(self.shutdowns, [True])

    def test_load(self) -> None:
        """
        C{load PATH} runs the file's commands, echoing each.
        """
        path = self.mktemp()
        with open(path, "wb") as f:
            f.write(b"toy/ping\n")
        self.transport.clear()
        self.session.dataReceived(b"load " + path.encode() + b"\n")
        self.assertEqual(self.transport.value(), (
            b"vde[" + path.encode() + b"]: toy/ping\n"
            b"0000 DATA END WITH '.'\npong\n.\n1000 Success\n"
            b"1000 Success\n\nvde$ "))

    def test_banner(self) -> None:
        """
        A session is greeted with the factory's banner, then the prompt.
        """
        session = self.factory.buildProtocol(None)
        transport = StringTransport()
        session.makeConnection(transport)
        self.assertEqual(transport.value(), b"toy\n\nvde$ ")
