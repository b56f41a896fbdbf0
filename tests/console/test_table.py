# -*- test-case-name: tests.console.test_table -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.console.table}: command tables and their
composition, on fake tables.
"""

import errno
from typing import Any, List

from twisted.trial.unittest import SynchronousTestCase

from vdetwist.console.framing import INTARG, MENU, NOARG, STRARG
from vdetwist.console.table import CommandSet, CommandTable


class FakeError(Exception):
    """
    An error whose C{errno} is the answer.
    """

    def __init__(self, code: int) -> None:
        Exception.__init__(self, code)
        self.errno = code


class First(CommandTable):
    """
    Lists its own commands and places C{b/run}, which L{Second}
    implements.
    """

    commands = [
        ("a", MENU, "A MENU", None),
        ("a/long", "", "the longer one", NOARG),
        ("a/lo", "", "a prefix of it, listed later", NOARG),
        ("b/run", "N", "placed here, implemented by Second", INTARG),
    ]
    errors = (FakeError,)

    def __init__(self) -> None:
        self.ended: List[Any] = []

    def cmd_a_long(self, session: Any, out: List[str], arg: None) -> int:
        return 0

    def cmd_a_lo(self, session: Any, out: List[str], arg: None) -> int:
        return 0

    def sessionEnded(self, session: Any) -> None:
        self.ended.append(session)


class Second(CommandTable):
    """
    Implements C{b/run}; lists C{c/x}.
    """

    commands = [("c/x", "", "second's own", STRARG)]
    errors = (FakeError, KeyError)

    def cmd_b_run(self, session: Any, out: List[str], arg: int) -> int:
        return arg

    def cmd_c_x(self, session: Any, out: List[str], arg: str) -> int:
        return errno.ENOENT


class CommandSetTests(SynchronousTestCase):
    """
    L{CommandSet}.
    """

    def setUp(self) -> None:
        self.first = First()
        self.second = Second()
        self.commands = CommandSet([self.first, self.second])

    def test_entries(self) -> None:
        """
        The entries are the tables' in order, menu headers included.
        """
        self.assertEqual([path for path, _, _, _ in self.commands.entries()],
                         ["a", "a/long", "a/lo", "b/run", "c/x"])

    def test_placedCommand(self) -> None:
        """
        A command a table lists but does not implement is bound to the
        first table that does.
        """
        self.assertEqual(self.commands.handlerFor("b/run"), self.second.cmd_b_run)
        self.assertEqual(self.commands.handlerFor("a/long"), self.first.cmd_a_long)
        self.assertIsNone(self.commands.handlerFor("a"))
        self.assertIsNone(self.commands.handlerFor("nosuch"))

    def test_lookupByPrefixInOrder(self) -> None:
        """
        The first entry whose path is a prefix of the input wins, so
        C{a/longer} runs C{a/long} and C{a/lox} runs C{a/lo}; menu headers
        are not commands.
        """
        self.assertEqual(self.commands.lookup("a/longer")[0], "a/long")
        self.assertEqual(self.commands.lookup("a/lox"), ("a/lo", NOARG, self.first.cmd_a_lo))
        self.assertEqual(self.commands.lookup("c/x y")[1], STRARG)
        self.assertIsNone(self.commands.lookup("a"))
        self.assertIsNone(self.commands.lookup("b"))

    def test_errors(self) -> None:
        """
        The error types of all the tables, each once.
        """
        self.assertEqual(self.commands.errors, (FakeError, KeyError))

    def test_sessionEnded(self) -> None:
        """
        Every table hears that a session ended.
        """
        session = object()
        self.commands.sessionEnded(session)
        self.assertEqual(self.first.ended, [session])

    def test_unimplemented(self) -> None:
        """
        A listed command nobody implements is refused when composing.
        """
        error = self.assertRaises(ValueError, CommandSet, [self.first])
        self.assertIn("b/run", str(error))


class CommandTableTests(SynchronousTestCase):
    """
    L{CommandTable}'s defaults.
    """

    def test_defaults(self) -> None:
        """
        No entries, no errors; C{handler} finds C{cmd_} methods by path.
        """
        table = CommandTable()
        self.assertEqual(list(table.entries()), [])
        self.assertEqual(table.errors, ())
        self.assertIsNone(table.handler("help"))
        self.assertEqual(Second().handler("b/run").__name__, "cmd_b_run")
        table.sessionEnded(object())
