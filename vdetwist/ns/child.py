# -*- test-case-name: tests.ns.test_child -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The child of C{vdetwist ns}: C{python -m vdetwist.ns.child CONFIG COMMAND
[ARGS...]}, started by L{vdetwist.ns.view.NamespaceView} with a UNIX
socket on descriptor L{CHANNEL_FD}.  It makes the view
(L{vdetwist.ns.prepare.prepareView}), sends the tap descriptor to the
parent over the socket (C{OK}, SCM_RIGHTS) or says why it could not
(C{ERR message}), runs the DHCP client when asked (L{vdetwist.ns.dhcp};
after the handover, since the parent relays its frames), then becomes
COMMAND.  Imports nothing of Twisted, to start fast.
"""

import os
import socket
import sys
from typing import Any, List, Optional

from vdetwist.ns.prepare import ViewConfig, ViewError, execCommand, prepareView

__all__ = ["CHANNEL_FD", "OK", "ERR", "main"]

#: The descriptor of the socket to the parent.
CHANNEL_FD = 3
#: The message sent with the tap descriptor.
OK = b"OK"
#: The prefix of the message saying why the view could not be made.
ERR = b"ERR "


def main(argv: List[str], system: Optional[Any] = None, err: Optional[Any] = None,
         channel: Optional[Any] = None) -> int:
    """
    Make the view, hand the tap over, become COMMAND.

    @param argv: the configuration (JSON), then COMMAND and its arguments.
    @param system: the L{vdetwist.ns.system.INamespaceSystem}; the real one
        by default.
    @param err: binary standard error.
    @param channel: the socket to the parent; descriptor L{CHANNEL_FD} by default.
    @return: the exit status when COMMAND could not be run (1: no view or
        no DHCP lease, 126/127: COMMAND cannot be run / does not exist).
    """
    if system is None:
        from vdetwist.ns.system import RealNamespaceSystem
        system = RealNamespaceSystem()
    if err is None:
        err = sys.stderr.buffer
    if channel is None:
        channel = socket.socket(fileno=CHANNEL_FD)
    config = ViewConfig.fromJSON(argv[0])
    command = argv[1:]
    try:
        try:
            fd = prepareView(config, system)
        except ViewError as e:
            system.sendDescriptor(channel, ERR + str(e).encode("utf-8", "replace"), None)
            return 1
        try:
            system.sendDescriptor(channel, OK, fd)
        finally:
            system.close(fd)
    finally:
        channel.close()
    if config.dhcp:
        from vdetwist.ns.dhcp import runDHCP
        try:
            runDHCP(config, system)
        except ViewError as e:
            err.write(("vdetwist ns: %s\n" % (e,)).encode("utf-8", "replace"))
            err.flush()
            return 1
    return execCommand(command, system, err)


if __name__ == "__main__":
    status = main(sys.argv[1:])
    sys.stderr.flush()
    os._exit(status)
