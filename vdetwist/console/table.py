# -*- test-case-name: tests.console.test_table -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Command tables: what a role contributes to a console, and their
composition.

A L{CommandTable} lists entries C{(path, syntax, help, flags)} in
registration order (C{flags} is L{None} for a menu header) and implements
each command as a method named by its path: C{port/print} is
C{cmd_port_print(session, out, arg)}, which appends output lines to C{out}
and returns 0 or an errno.  A table holds its own context (the switch, the
cable manager, the gateway), so one instance serves every session of a
console.

A table may also list a command another table of the same console
implements, to place it: the switch lists C{help}, C{load} and the
C{debug} menu where vde_switch shows them, and their handlers are the
console's own (L{vdetwist.console.builtin}) and the debug table's
(L{vdetwist.console.debug}).  The help text is always the listing table's.

L{CommandSet} composes tables: their entries concatenated in order, each
command bound to the first table that implements it, and commands looked
up as vde_switch does: the first entry, in registration order, whose path
is a prefix of the input (so C{showinfoXYZ} runs C{showinfo}).
"""

from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Type

#: One entry of a command table: C{(path, syntax, help, flags)}.
Entry = Tuple[str, str, str, Optional[int]]
#: A command handler: C{(session, out, arg) -> 0 or an errno}.
Handler = Callable[[Any, List[str], Any], int]


class CommandTable:
    """
    The commands a role contributes to a console.

    @cvar commands: the entries shown, in registration order (the default
        L{entries}).
    @cvar errors: the exception types its commands raise as answers: their
        C{errno} attribute is the command's result.
    """

    commands: Sequence[Entry] = ()
    errors: Tuple[Type[BaseException], ...] = ()

    def entries(self) -> Iterable[Entry]:
        """
        The entries this table shows, in registration order.

        @return: the entries (L{commands} unless overridden).
        """
        return self.commands

    def handler(self, path: str) -> Optional[Handler]:
        """
        This table's implementation of a command.

        @param path: the command path, e.g. C{"port/print"}.
        @return: the bound C{cmd_} method, or L{None}.
        """
        method = getattr(self, "cmd_" + path.replace("/", "_"), None)
        return method if callable(method) else None

    def sessionEnded(self, session: Any) -> None:
        """
        A session of the console ended (drop what it held).

        @param session: the session.
        """


class CommandSet:
    """
    Several tables composed into one console's commands.

    @ivar tables: the tables, in order.
    @ivar errors: the exception types any of them raises as answers.
    """

    def __init__(self, tables: Sequence[CommandTable]) -> None:
        """
        @param tables: the tables; a command is bound to the first that
            implements it.
        @raise ValueError: when a listed command has no implementation.
        """
        self.tables = list(tables)
        self._entries: List[Entry] = []
        self._handlers: Dict[str, Handler] = {}
        errors: List[Type[BaseException]] = []
        for table in self.tables:
            for error in table.errors:
                if error not in errors:
                    errors.append(error)
            for entry in table.entries():
                path, flags = entry[0], entry[3]
                if flags is not None and path not in self._handlers:
                    handler = self._find(path)
                    if handler is None:
                        raise ValueError("console command %r has no implementation" % (path,))
                    self._handlers[path] = handler
                self._entries.append(entry)
        self.errors: Tuple[Type[BaseException], ...] = tuple(errors)

    def _find(self, path: str) -> Optional[Handler]:
        """
        The first implementation of a command among the tables.

        @param path: the command path.
        @return: the handler, or L{None}.
        """
        for table in self.tables:
            handler = table.handler(path)
            if handler is not None:
                return handler
        return None

    def entries(self) -> List[Entry]:
        """
        Every entry, in registration order (what C{help} lists).

        @return: the entries.
        """
        return self._entries

    def handlerFor(self, path: str) -> Optional[Handler]:
        """
        The implementation a listed command is bound to.

        @param path: the command path.
        @return: the handler, or L{None} when the path is not listed.
        """
        return self._handlers.get(path)

    def lookup(self, text: str) -> Optional[Tuple[str, int, Handler]]:
        """
        The command an input line runs: the first entry whose path is a
        prefix of it (menu headers are not commands).

        @param text: the line, leading blanks removed.
        @return: C{(path, flags, handler)}, or L{None}.
        """
        for path, syntax, help, flags in self._entries:
            if flags is not None and text.startswith(path):
                return path, flags, self._handlers[path]
        return None

    def sessionEnded(self, session: Any) -> None:
        """
        Tell every table a session ended.

        @param session: the session.
        """
        for table in self.tables:
            table.sessionEnded(session)
