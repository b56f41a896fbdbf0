# -*- test-case-name: tests.console.test_debug -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Debug notifications: the C{debug/list}, C{debug/add} and C{debug/del}
commands, and the fan-out of a role's debug events to the sessions that
asked for them, as asynchronous C{3NNN category message} lines.

The role gives its event source (an object with C{addObserver} and
C{removeObserver} taking a C{callable(category, message)}, such as the
switch) and its categories; the source is observed only while a session
subscribes.  A role's table places the commands by listing L{DEBUG_MENU}.
"""

import errno
from typing import Any, Dict, List, Sequence, Tuple

from vdetwist.console.framing import MENU, STRARG, WITHFD, WITHFILE, debugLine
from vdetwist.console.table import CommandTable, Entry

#: The C{debug} menu as vde_switch lists it.
DEBUG_MENU: List[Entry] = [
    ("debug", MENU, "DEBUG MENU", None),
    ("debug/list", "", "list debug categories", STRARG | WITHFILE | WITHFD),
    ("debug/add", "dbgpath", "enable debug info for a given category", STRARG | WITHFD),
    ("debug/del", "dbgpath", "disable debug info for a given category", STRARG | WITHFD),
]


class DebugCommands(CommandTable):
    """
    The debug commands and the fan-out of one console.

    @ivar source: the event source.
    @ivar categories: C{(path, tag, help)} of the categories a session can
        subscribe to, in listing order.
    @ivar hidden: event-only categories: never listed or subscribable, but
        C{debug/del} matches them.
    """

    def __init__(self, source: Any, categories: Sequence[Tuple[str, int, str]],
                 hidden: Sequence[str] = ()) -> None:
        """
        @param source: what emits the events.
        @param categories: C{(path, tag, help)} for each category.
        @param hidden: the event-only category paths.
        """
        self.source = source
        self.categories = list(categories)
        self.hidden = list(hidden)
        self._tags: Dict[str, int] = {path: tag for path, tag, _ in self.categories}
        self._subscribers: Dict[str, List[Any]] = {}
        self._observing = False

    # -- the fan-out ------------------------------------------------------

    def subscribe(self, session: Any, category: str) -> None:
        """
        Send C{category}'s events to C{session}.

        @param session: the session (its C{subscriptions} set and
            C{debugEvent(line)}).
        @param category: a debug category path.
        """
        self._subscribers.setdefault(category, []).append(session)
        session.subscriptions.add(category)
        if not self._observing:
            self.source.addObserver(self.debugEvent)
            self._observing = True

    def unsubscribe(self, session: Any, category: str) -> None:
        """
        Stop sending C{category}'s events to C{session}; the source is not
        observed at all while nobody subscribes.

        @param session: the session.
        @param category: a debug category path.
        """
        sessions = self._subscribers.get(category, [])
        if session in sessions:
            sessions.remove(session)
        if not sessions:
            self._subscribers.pop(category, None)
        session.subscriptions.discard(category)
        if not self._subscribers and self._observing:
            self.source.removeObserver(self.debugEvent)
            self._observing = False

    def sessionEnded(self, session: Any) -> None:
        """
        Drop every subscription of a session that ended.

        @param session: the session.
        """
        for path in list(session.subscriptions):
            self.unsubscribe(session, path)

    def debugEvent(self, category: str, message: str) -> None:
        """
        An event from the source: one C{3NNN} line to each subscribed
        session.

        @param category: the category path.
        @param message: the text.
        """
        sessions = self._subscribers.get(category)
        if not sessions:
            return
        line = debugLine(self._tags.get(category, 0), category, message)
        for session in list(sessions):
            session.debugEvent(line)

    # -- the commands -----------------------------------------------------

    def cmd_debug_list(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{debug/list [prefix]}: the debug categories and this session's
        subscriptions.
        """
        out.append("%-22s %-3s %-6s %s" % ("CATEGORY", "TAG", "STATUS", "HELP"))
        out.append("%-22s %-3s %-6s %s" % ("------------", "---", "------", "----"))
        rv = errno.ENOENT
        for path, tag, help in self.categories:
            if path.startswith(arg):
                rv = 0
                out.append("%-22s %03o %-6s %s" % (
                    path, tag & 0o777, "ON" if path in session.subscriptions else "OFF", help))
        return rv

    def cmd_debug_add(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{debug/add prefix}: subscribe to matching categories.
        """
        rv = errno.EINVAL
        for path, tag, help in self.categories:
            if path.startswith(arg):
                if rv == errno.EINVAL:
                    rv = errno.EEXIST
                if path not in session.subscriptions:
                    self.subscribe(session, path)
                    rv = 0
        return rv

    def cmd_debug_del(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{debug/del prefix}: unsubscribe from matching categories.
        """
        rv = errno.EINVAL
        for path in [p for p, _, _ in self.categories] + self.hidden:
            if path.startswith(arg):
                if rv == errno.EINVAL:
                    rv = errno.ENOENT
                if path in session.subscriptions:
                    self.unsubscribe(session, path)
                    rv = 0
        return rv
