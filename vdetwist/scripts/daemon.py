# -*- test-case-name: tests.scripts.test_daemon -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Running a command in the background as the C tools' C{-d} does, but
honestly: the process the user started waits until the daemon is ready,
passes on what it wrote to standard error until then, and exits 0 only if
it got that far (1 otherwise); and C{-p PIDFILE} files that are written
once and removed at exit.

    notifier = detach()              # in the daemon from here on
    pidfile = PidFile(path); pidfile.write()
    ...                              # attach
    notifier.ready()                 # the user's command returns 0
    ...
    pidfile.remove()

L{detach} must run before the reactor starts (it forks).
"""

import os
import sys
from typing import Optional


class ReadyNotifier:
    """
    The daemon's end of the pipe to the waiting parent: standard error
    goes into it until L{ready}.

    @ivar fd: the pipe's write end, or L{None} once ready.
    """

    def __init__(self, fd: Optional[int]) -> None:
        self.fd = fd

    def ready(self) -> None:
        """
        Tell the parent all went well (it exits 0), and send standard
        error to /dev/null from now on.
        """
        if self.fd is None:
            return
        sys.stderr.flush()
        os.write(self.fd, b"\0")
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 2)
        os.close(null)
        os.close(self.fd)
        self.fd = None


def detach() -> ReadyNotifier:
    """
    Become a daemon: fork twice, a new session, C{chdir("/")}, standard
    input and output on /dev/null, standard error into the pipe to the
    parent, which waits for L{ReadyNotifier.ready} (exit 0, after copying
    what the daemon wrote to standard error) or the pipe's end without it
    (exit 1).  Only the daemon returns.

    @return: the notifier.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    readEnd, writeEnd = os.pipe()
    if os.fork() > 0:
        os.close(writeEnd)
        chunks = []
        while True:
            chunk = os.read(readEnd, 65536)
            if not chunk:
                break
            chunks.append(chunk)
        data = b"".join(chunks)
        ok = data.endswith(b"\0")
        if ok:
            data = data[:-1]
        if data:
            os.write(2, data)
        os._exit(0 if ok else 1)
    os.close(readEnd)
    os.setsid()
    if os.fork() > 0:
        os._exit(0)
    os.chdir("/")
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.dup2(writeEnd, 2)
    os.close(null)
    return ReadyNotifier(writeEnd)


class PidFile:
    """
    A pid file, written once and removed by whoever wrote it.

    @ivar path: its absolute path.
    """

    def __init__(self, path: str) -> None:
        """
        @param path: the path (made absolute now, before any C{chdir}).
        """
        self.path = os.path.abspath(path)
        self._written: Optional[int] = None

    def write(self) -> None:
        """
        Write our pid.

        @raise OSError: the file cannot be written.
        """
        with open(self.path, "w") as f:
            f.write("%d\n" % (os.getpid(),))
        self._written = os.getpid()

    def remove(self) -> None:
        """
        Remove the file, if this process wrote it.
        """
        if self._written == os.getpid():
            self._written = None
            try:
                os.unlink(self.path)
            except OSError:
                pass
