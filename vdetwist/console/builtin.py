# -*- test-case-name: tests.console.test_builtin -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The console's own commands, implemented once for every role: C{help},
C{logout}, C{shutdown} and C{load}.

Every console has them (L{vdetwist.console.session.ConsoleFactory} adds
L{ConsoleCommands} after the role tables); a role's table places them,
with its own help text, by listing their entries (L{HELP}, L{LOGOUT},
L{LOAD}, and a C{shutdown} entry saying what shuts down).
"""

from typing import Any, List

from twisted.logger import Logger

from vdetwist.console.framing import LOGOUT as LOGOUT_RESULT
from vdetwist.console.framing import NOARG, SHUTDOWN, STRARG, WITHFD, WITHFILE
from vdetwist.console.table import CommandTable, Entry

log = Logger(namespace="vdetwist.console")

#: C{help [prefix]}, as vde_switch lists it.
HELP: Entry = ("help", "[arg]", "Help (limited to arg when specified)", STRARG | WITHFILE)
#: C{logout}, as vde_switch lists it.
LOGOUT: Entry = ("logout", "", "logout from this mgmt terminal", NOARG)
#: C{load PATH}, as vde_switch lists it.
LOAD: Entry = ("load", "path", "load a configuration script", STRARG | WITHFD)
#: The flags of a C{shutdown} entry.
SHUTDOWN_FLAGS = NOARG


class ConsoleCommands(CommandTable):
    """
    C{help}, C{logout}, C{shutdown} and C{load}: the console's own, placed
    by the role tables (this table lists nothing itself).
    """

    def cmd_help(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{help [prefix]}: the entries whose path starts with the prefix.
        """
        fmt = "%-18s %-15s %s"
        out.append(fmt % ("COMMAND PATH", "SYNTAX", "HELP"))
        out.append(fmt % ("------------", "--------------", "------------"))
        for path, syntax, help, flags in session.factory.commands.entries():
            if path.startswith(arg):
                out.append(fmt % (path, syntax, help))
        return 0

    def cmd_logout(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{logout}: end this session.
        """
        return LOGOUT_RESULT

    def cmd_shutdown(self, session: Any, out: List[str], arg: None) -> int:
        """
        C{shutdown}: end this session and stop the process.
        """
        log.warn("Shutdown from mgmt command")
        return SHUTDOWN

    def cmd_load(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{load PATH}: run a script, echoing each line and its reply.
        """
        return session.runScript(arg, echo=True, session=True)
