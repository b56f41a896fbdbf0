# -*- test-case-name: tests.links.test_commands -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The console commands of the links (L{CableCommands}): C{cable/print},
C{cable/add}, C{cable/del} and the C{link/*} commands of link emulation,
a command table (L{vdetwist.console.table}) holding the L{CableManager}.
A face adds it to a switch's console after the switch's own table, so a
switch without cables lists none of them.
"""

import errno
from typing import Any, List, Optional, Tuple

from twisted.logger import Logger

from vdetwist.console.framing import MENU, STRARG, WITHFILE
from vdetwist.console.table import CommandTable, Entry, Handler
from vdetwist.links.cable import Cable, CableManager
from vdetwist.links.cableendpoints import CableError
from vdetwist.links.linkemu import LinkParameters, LinkValueError

log = Logger(namespace="vdetwist.links.cable")

#: The link emulation parameters (L{vdetwist.links.linkemu.NAMES}) and their
#: help, in listing order: C{link/NAME ID VALUE} sets one (L{CableCommands}).
LINK_PARAMETERS: List[Tuple[str, str]] = [
    ("loss", "loss % ([LR|RL]P)"),
    ("dup", "duplication % ([LR|RL]P)"),
    ("delay", "delay ms ([LR|RL]D[+jitter][U|N])"),
    ("bandwidth", "bandwidth bytes/s ([LR|RL]B[K|M|G], 0=unlimited)"),
    ("mtu", "drop frames longer than VALUE bytes (0=no limit)"),
    ("capacity", "bytes queued at most per direction"),
]

#: The cable and link emulation menus, in listing order.
COMMANDS: List[Entry] = [
    ("cable", MENU, "CABLE MENU", None),
    ("cable/print", "[ID]", "print the cables", STRARG | WITHFILE),
    ("cable/add", "[listen|vxlan] X", "dial (listen on) an endpoint; add a VXLAN port",
     STRARG | WITHFILE),
    ("cable/del", "ID", "remove a cable", STRARG),
    ("link", MENU, "LINK EMULATION MENU", None),
    ("link/print", "[ID]", "print the link emulation of the cables", STRARG | WITHFILE),
    *[("link/" + name, "ID VALUE", help, STRARG) for name, help in LINK_PARAMETERS],
    ("link/clear", "ID", "remove the link emulation", STRARG),
]

_LINK_PARAMETER_NAMES = frozenset(name for name, _ in LINK_PARAMETERS)


class CableCommands(CommandTable):
    """
    The C{cable/*} and C{link/*} commands of one cable manager: a
    C{cmd_} method each, except the C{link/NAME ID VALUE} commands of
    L{LINK_PARAMETERS}, which L{handler} binds to L{_setLink}.

    @ivar manager: the L{CableManager}.
    """

    commands = COMMANDS

    def __init__(self, manager: CableManager) -> None:
        """
        @param manager: the cable manager the commands act on.
        """
        self.manager = manager

    def handler(self, path: str) -> Optional[Handler]:
        """
        This table's implementation of a command: for C{link/NAME} with
        NAME one of L{LINK_PARAMETERS}, L{_setLink} of that parameter;
        else the C{cmd_} method.

        @param path: the command path, e.g. C{"link/loss"}.
        @return: the handler, or L{None}.
        """
        menu, _, name = path.partition("/")
        if menu == "link" and name in _LINK_PARAMETER_NAMES:
            return lambda session, out, arg: self._setLink(name, arg)
        return CommandTable.handler(self, path)

    def _cableIDArgument(self, text: str) -> "tuple[int, Optional[Cable]]":
        """
        Parse a cable ID argument.

        @param text: the argument.
        @return: C{(0, entry)}, or C{(errno, None)}: EINVAL when it is not a
            number, ENXIO when there is no such cable.
        """
        try:
            cableID = int(text.strip())
        except ValueError:
            return errno.EINVAL, None
        entry = self.manager.cables.get(cableID)
        if entry is None:
            return errno.ENXIO, None
        return 0, entry

    def cmd_cable_print(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{cable/print [ID]}.

        @param out: the output lines.
        @param arg: an ID or nothing.
        @return: 0 or an errno.
        """
        if arg.strip():
            rv, entry = self._cableIDArgument(arg)
            if entry is None:
                return rv
            out.extend(self.manager.describe(entry.cableID))
        else:
            out.extend(self.manager.describe())
        return 0

    def cmd_cable_add(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{cable/add [listen] ENDPOINT}: dial, or listen on, an endpoint;
        C{cable/add vxlan SPEC}: a VXLAN port; C{cable/add vxvde [SPEC]}: a
        vxvde segment.

        @param out: the output lines (the new cable's line).
        @param arg: the argument.
        @return: 0, or EINVAL for a bad endpoint.
        """
        words = arg.strip().split(None, 1)
        try:
            if len(words) == 2 and words[0] == "listen":
                entry: Cable = self.manager.listen(words[1].strip())
            elif len(words) == 2 and words[0] == "vxlan":
                entry = self.manager.addVXLAN(words[1].strip())
            elif words and words[0] == "vxvde":
                entry = self.manager.addVXVDE(words[1].strip() if len(words) == 2 else "")
            elif len(words) == 1 and words[0] not in ("listen", "vxlan", "vxvde"):
                entry = self.manager.dial(words[0])
            else:
                return errno.EINVAL
        except CableError as e:
            log.warn("cable/add {arg!r}: {error}", arg=arg, error=str(e))
            out.append(str(e))
            return errno.EINVAL
        out.extend(self.manager.describe(entry.cableID)[:1])
        return 0

    def cmd_cable_del(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{cable/del ID}.

        @param out: unused.
        @param arg: the ID.
        @return: 0 or an errno.
        """
        rv, entry = self._cableIDArgument(arg)
        if entry is None:
            return rv
        self.manager.remove(entry.cableID)
        return 0

    def _setLink(self, name: str, arg: str) -> int:
        """
        C{link/NAME ID VALUE}: set one link emulation parameter.

        @param name: the parameter (L{vdetwist.links.linkemu.NAMES}).
        @param arg: C{ID VALUE}.
        @return: 0 or an errno.
        """
        words = arg.split()
        if len(words) != 2:
            return errno.EINVAL
        rv, entry = self._cableIDArgument(words[0])
        if entry is None:
            return rv
        params = entry.linkParameters.copy() if entry.linkParameters is not None \
            else LinkParameters()
        try:
            params.set(name, words[1])
        except LinkValueError as e:
            log.warn("link/{name} {arg!r}: {error}", name=name, arg=arg, error=str(e))
            return errno.EINVAL
        entry.setLink(params)
        return 0

    def cmd_link_print(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{link/print [ID]}: the emulation of one cable, or of all.

        @param out: the output lines.
        @param arg: an ID or nothing.
        @return: 0 or an errno.
        """
        if arg.strip():
            rv, entry = self._cableIDArgument(arg)
            if entry is None:
                return rv
            entries = [entry]
        else:
            entries = [self.manager.cables[k] for k in sorted(self.manager.cables)]
        for entry in entries:
            params = entry.linkParameters
            out.append("Cable %04d link %s" % (
                entry.cableID, params.describe() if params is not None else "none"))
            for connection in entry.connections():
                link = getattr(connection, "link", None)
                if link is not None:
                    counters = link.counters()
                    out.append(" " + " ".join("%s LR %d RL %d" % (name, values[0], values[1])
                                              for name, values in counters.items()))
        return 0

    def cmd_link_clear(self, session: Any, out: List[str], arg: str) -> int:
        """
        C{link/clear ID}: no emulation on this cable.

        @param out: unused.
        @param arg: the ID.
        @return: 0 or an errno.
        """
        rv, entry = self._cableIDArgument(arg)
        if entry is None:
            return rv
        entry.setLink(None)
        return 0
