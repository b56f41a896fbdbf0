# -*- test-case-name: tests.stack.test_endpoints -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The VDE switches served by this process, by directory.

A vdetwist switch registers its directory here while it runs; anything in
the same process that would plug into that directory (a virtual host, the
slirp NAT) attaches by call instead, with no sockets and no copies.
"""

import os
from typing import Any, Dict, Optional

_switches: Dict[str, Any] = {}


def register(directory: str, switch: Any) -> None:
    """
    Announce that C{switch} serves C{directory}.

    @param directory: the switch's socket directory.
    @param switch: the L{vdetwist.switch.switch.Switch}.
    """
    _switches[os.path.realpath(directory)] = switch


def unregister(directory: str) -> None:
    """
    Withdraw an announcement.

    @param directory: as given to L{register}.
    """
    _switches.pop(os.path.realpath(directory), None)


def lookup(directory: str) -> Optional[Any]:
    """
    The in-process switch serving C{directory}, if any.

    @param directory: a socket directory.
    @return: the switch, or L{None}.
    """
    return _switches.get(os.path.realpath(directory))
