# -*- test-case-name: tests.links.test_cable -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The console commands of the links: C{cable/print}, C{cable/add},
C{cable/del} and the C{link/*} commands of link emulation.

Each takes the L{CableManager}, the output list and the argument text, and
returns 0 or an errno, as console commands do.
"""

import errno
from typing import List, Optional

from twisted.logger import Logger

from vdetwist.links.cable import Cable, CableManager
from vdetwist.links.cableendpoints import CableError
from vdetwist.links.linkemu import LinkParameters, LinkValueError

log = Logger(namespace="vdetwist.links.cable")



def _cableIDArgument(manager: CableManager, text: str) -> "tuple[int, Optional[Cable]]":
    """
    Parse a cable ID argument.

    @param manager: the manager.
    @param text: the argument.
    @return: C{(0, entry)}, or C{(errno, None)}: EINVAL when it is not a
        number, ENXIO when there is no such cable.
    """
    try:
        cableID = int(text.strip())
    except ValueError:
        return errno.EINVAL, None
    entry = manager.cables.get(cableID)
    if entry is None:
        return errno.ENXIO, None
    return 0, entry


def consoleCablePrint(manager: CableManager, out: List[str], arg: str) -> int:
    """
    C{cable/print [ID]}.

    @param manager: the manager.
    @param out: the output lines.
    @param arg: an ID or nothing.
    @return: 0 or an errno.
    """
    if arg.strip():
        rv, entry = _cableIDArgument(manager, arg)
        if entry is None:
            return rv
        out.extend(manager.describe(entry.cableID))
    else:
        out.extend(manager.describe())
    return 0


def consoleCableAdd(manager: CableManager, out: List[str], arg: str) -> int:
    """
    C{cable/add [listen] ENDPOINT}: dial, or listen on, an endpoint;
    C{cable/add vxlan SPEC}: a VXLAN port; C{cable/add vxvde [SPEC]}: a
    vxvde segment.

    @param manager: the manager.
    @param out: the output lines (the new cable's line).
    @param arg: the argument.
    @return: 0, or EINVAL for a bad endpoint.
    """
    words = arg.strip().split(None, 1)
    try:
        if len(words) == 2 and words[0] == "listen":
            entry: Cable = manager.listen(words[1].strip())
        elif len(words) == 2 and words[0] == "vxlan":
            entry = manager.addVXLAN(words[1].strip())
        elif words and words[0] == "vxvde":
            entry = manager.addVXVDE(words[1].strip() if len(words) == 2 else "")
        elif len(words) == 1 and words[0] not in ("listen", "vxlan", "vxvde"):
            entry = manager.dial(words[0])
        else:
            return errno.EINVAL
    except CableError as e:
        log.warn("cable/add {arg!r}: {error}", arg=arg, error=str(e))
        out.append(str(e))
        return errno.EINVAL
    out.extend(manager.describe(entry.cableID)[:1])
    return 0


def consoleCableDel(manager: CableManager, out: List[str], arg: str) -> int:
    """
    C{cable/del ID}.

    @param manager: the manager.
    @param out: unused.
    @param arg: the ID.
    @return: 0 or an errno.
    """
    rv, entry = _cableIDArgument(manager, arg)
    if entry is None:
        return rv
    manager.remove(entry.cableID)
    return 0


def consoleLinkSet(manager: CableManager, name: str, arg: str) -> int:
    """
    C{link/NAME ID VALUE}: set one link emulation parameter.

    @param manager: the manager.
    @param name: the parameter (L{vdetwist.links.linkemu.NAMES}).
    @param arg: C{ID VALUE}.
    @return: 0 or an errno.
    """
    words = arg.split()
    if len(words) != 2:
        return errno.EINVAL
    rv, entry = _cableIDArgument(manager, words[0])
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


def consoleLinkPrint(manager: CableManager, out: List[str], arg: str) -> int:
    """
    C{link/print [ID]}: the emulation of one cable, or of all.

    @param manager: the manager.
    @param out: the output lines.
    @param arg: an ID or nothing.
    @return: 0 or an errno.
    """
    if arg.strip():
        rv, entry = _cableIDArgument(manager, arg)
        if entry is None:
            return rv
        entries = [entry]
    else:
        entries = [manager.cables[k] for k in sorted(manager.cables)]
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


def consoleLinkClear(manager: CableManager, out: List[str], arg: str) -> int:
    """
    C{link/clear ID}: no emulation on this cable.

    @param manager: the manager.
    @param out: unused.
    @param arg: the ID.
    @return: 0 or an errno.
    """
    rv, entry = _cableIDArgument(manager, arg)
    if entry is None:
        return rv
    entry.setLink(None)
    return 0
