# -*- test-case-name: tests.console.test_mgmt -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The management socket (C{-M SOCK}): a UNIX stream socket serving a
console, created with its final mode (no window between bind and chmod)
and removed when the service stops.  The switch and slirp both serve
their consoles with it.
"""

import os
from typing import Any, Optional

from twisted.application.service import Service

from vdetwist.vde.system import RealSystem, claimSocketPath


class ManagementService(Service):
    """
    Listen on a UNIX socket with a console factory.

    @ivar path: the socket path.
    @ivar mode: its mode.
    @ivar group: its group id, or -1.
    """

    def __init__(self, reactor: Any, factory: Any, path: str, mode: int = 0o600,
                 group: int = -1, system: Optional[Any] = None) -> None:
        """
        @param reactor: the reactor.
        @param factory: the protocol factory (a console factory).
        @param path: the socket path.
        @param mode: the socket mode.
        @param group: the socket's group, or -1.
        @param system: the OS calls (C{socket}, C{unlink}, C{umask},
            C{chown}), the real ones by default.
        """
        self.reactor = reactor
        self.factory = factory
        self.path = os.path.abspath(path)
        self.mode = mode
        self.group = group
        self.system = system if system is not None else RealSystem()
        self._port: Any = None

    def startService(self) -> None:
        """
        Claim the path (replacing a stale socket) and listen.

        @raise OSError: when a live process holds the path.
        """
        claimSocketPath(self.path, self.system)
        old = self.system.umask(0o777 & ~self.mode)
        try:
            self._port = self.reactor.listenUNIX(self.path, self.factory, backlog=15,
                                                 mode=self.mode, wantPID=False)
        finally:
            self.system.umask(old)
        if self.group != -1:
            self.system.chown(self.path, -1, self.group)
        Service.startService(self)

    def stopService(self) -> Any:
        """
        Stop listening; Twisted removes the socket file.

        @return: a Deferred, or None.
        """
        Service.stopService(self)
        port, self._port = self._port, None
        if port is not None:
            return port.stopListening()
        return None
