# -*- test-case-name: tests.scripts.test_switch -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist switch}: vdetwist's switch with vde_switch's command line, so a
script written for vde_switch runs with C{vdetwist} in front.

    vdetwist switch -d -s /tmp/vde -M /tmp/mgmt -p /tmp/vde.pid

It takes vde_switch's options (C{vde_switch --help}): those of C{twistd
vdeswitch} (L{vdetwist.switch.tap.Options}, which builds the same
services), and C{-d/--daemon}, C{-p/--pidfile}, C{-F/--fstp},
C{--priority}, C{-D/--debugclients}, C{-h/--help}, C{-v/--version}
(vdetwist's version), C{--vdesock} and C{--unix}.  It runs in the
foreground unless C{-d}: then the command returns once the switch serves
(0), or with the one line of a failed start (1); C{-p} writes the
daemon's pid, removed at exit.  A failed start is one line on standard
error, status 1, and nothing left behind (L{vdetwist.service}).

In the foreground, as vde_switch's, standard input is a console once the
switch serves (L{vdetwist.console.stdio}): each line is a command of the
C{-M} console, its reply on standard output, the prompt after it only
when stdin is a terminal; C{logout} does nothing; C{shutdown} and the end
of stdin stop the switch with status 0 (C{EOF on stdin, cleaning up and
exiting} on standard error).  So C{vdetwist switch -s DIR < /dev/null &}
exits at once, as C{vde_switch} does: a script runs it with C{-d}.  With
C{-d} nothing reads stdin.  A closed descriptor 0, 1 or 2 gets /dev/null
first (a closed stdin is an immediate EOF, as in vde_switch).

Differences from vde_switch: C{-D} is accepted and ignored (the console's
C{debug/add} needs no reserved clients); the console's input is split on
newlines rather than run one C{read()} at a time, and the replies are
flushed before the switch stops (L{vdetwist.console.stdio}).  Without
FSTP in the switch, C{-F} and C{--priority} are accepted and a warning
says FSTP is off.
"""

import os
import sys
from typing import Any, List

from twisted.logger import Logger
from twisted.python import usage

from vdetwist.console.stdio import StdioConsoleService, openStandardDescriptors
from vdetwist.switch import tap

__all__ = ["Options", "main"]

_log = Logger()


def _tapHas(name: str) -> bool:
    """
    Whether the twistd plugin's options have C{name} (FSTP is being added
    there).
    """
    return any(row[0] == name for row in
               list(getattr(tap.Options, "optFlags", [])) +
               list(getattr(tap.Options, "optParameters", [])))


class Options(tap.Options):
    """
    vde_switch's options.
    """

    command = "vdetwist switch"
    synopsis = "Usage: vdetwist switch [OPTIONS]"
    longdesc = ("Runs a VDE switch (vde_switch's options; C{-d} runs it in the "
                "background once it serves).")

    optFlags = [
        ["daemon", "d", "Daemonize the switch once it serves."],
    ]
    optParameters = [
        ["pidfile", "p", None, "Write the daemon's pid to PIDFILE."],
        ["debugclients", "D", None, "Number of debug clients allowed (accepted, ignored)."],
    ]
    if not _tapHas("fstp"):
        optFlags = optFlags + [["fstp", "F", "Fast spanning tree (not in this vdetwist: "
                                "accepted, with a warning)."]]
    if not _tapHas("priority"):
        optParameters = optParameters + [
            ["priority", None, None, "Priority for FSTP (accepted, with a warning)."]]

    def opt_v(self) -> None:
        """
        Display vdetwist's version and exit.
        """
        self.opt_version()

    def opt_vdesock(self, value: str) -> None:
        """
        Same as --sock.
        """
        self["sock"] = value

    def opt_unix(self, value: str) -> None:
        """
        Same as --sock.
        """
        self["sock"] = value

    def postOptions(self) -> None:
        """
        The switch's checks, then absolute paths (the daemon changes
        directory to C{/}).
        """
        super().postOptions()
        for name in ("mgmt", "rcfile", "pidfile"):
            if self[name]:
                self[name] = os.path.abspath(self[name])
        if self["debugclients"] is not None:
            try:
                int(self["debugclients"])
            except ValueError:
                raise usage.UsageError("--debugclients: not a number: %r" % (
                    self["debugclients"],))


def _build(options: Options, reactor: Any) -> Any:
    """
    The switch's services, as C{twistd vdeswitch} builds them.
    """
    face = tap.makeService(options, reactor, command=Options.command)
    if not _tapHas("fstp") and (options["fstp"] or options["priority"] is not None):
        _log.warn("FSTP is off: this vdetwist's switch has no fast spanning tree "
                  "(-F and --priority are ignored)")
    if not options["daemon"]:
        # Last, so it reads only once everything else has started.
        StdioConsoleService(face.console, reactor).setServiceParent(face)
    return face


def main(argv: List[str]) -> int:
    """
    Run C{vdetwist switch}.

    @param argv: the arguments after C{switch}.
    @return: the exit status.
    """
    # Before anything opens a descriptor: a closed stdin must not become
    # a socket that the console reads.
    openStandardDescriptors()
    options = Options()
    try:
        options.parseOptions(argv)
    except usage.UsageError as e:
        print("vdetwist switch: %s (vdetwist switch --help lists the options)" % (e,),
              file=sys.stderr)
        return 1
    from vdetwist.scripts.daemon import runService
    return runService(Options.command, options, _build)
