# Copyright (c) vdetwist authors. See LICENSE for details.
"""
A stand-in for L{vdetwist.ns.child} that needs no root, for
tests/ns/test_view.py: instead of a tap it sends one end of a
SOCK_SEQPACKET socket pair (one frame per message, as a tap gives) and
leaves the other end to COMMAND on descriptor 4.  A configuration named
C{fail} makes it report a start error instead.
"""

import os
import socket
import sys

from vdetwist.ns.child import CHANNEL_FD, ERR, OK
from vdetwist.ns.prepare import ViewConfig, execCommand
from vdetwist.ns.system import RealNamespaceSystem


def main() -> int:
    """
    Send the fake tap (or an error), then become COMMAND.
    """
    config = ViewConfig.fromJSON(sys.argv[1])
    channel = socket.socket(fileno=CHANNEL_FD)
    if config.name == "fail":
        socket.send_fds(channel, [ERR + b"made to fail"], [])
        return 1
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    theirs.setblocking(False)
    socket.send_fds(channel, [OK], [theirs.fileno()])
    theirs.close()
    channel.close()
    fd = ours.detach()
    if fd == 4:
        os.set_inheritable(4, True)
    else:
        os.dup2(fd, 4)
        os.close(fd)
    return execCommand(sys.argv[2:], RealNamespaceSystem(), sys.stderr.buffer)


if __name__ == "__main__":
    status = main()
    sys.stderr.flush()
    os._exit(status)
