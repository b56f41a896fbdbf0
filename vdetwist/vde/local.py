# -*- test-case-name: tests.vde.test_local -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The switches served by this process, by directory: a registry of
L{IPortProvider}s.

A switch server registers its directory here while it runs; anything in
the same process that would plug into that directory (a virtual host, the
slirp NAT, a namespace) attaches by call instead, with no sockets and no
copies.  L{vdetwist.vde.attach.attachToSwitch} looks here first.
"""

import os
from typing import Dict, Optional

from vdetwist.interfaces import IPortProvider

__all__ = ["register", "unregister", "lookup"]

_providers: Dict[str, IPortProvider] = {}


def register(directory: str, provider: IPortProvider) -> None:
    """
    Announce that C{provider} serves C{directory}.

    @param directory: the switch's socket directory.
    @param provider: the switch, as an L{IPortProvider}.
    """
    _providers[os.path.realpath(directory)] = provider


def unregister(directory: str) -> None:
    """
    Withdraw an announcement (nothing happens if there is none).

    @param directory: as given to L{register}.
    """
    _providers.pop(os.path.realpath(directory), None)


def lookup(directory: str) -> Optional[IPortProvider]:
    """
    The in-process switch serving C{directory}, if any.

    @param directory: a socket directory (symbolic links are resolved).
    @return: the provider, or L{None}.
    """
    return _providers.get(os.path.realpath(directory))
