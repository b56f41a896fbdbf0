# -*- test-case-name: tests.console.test_stdio -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The console on standard input and output of a process in the foreground,
as Debian's C{vde_switch} (2.3.2+r586) runs it without C{-d}: each line
read on stdin is a console command, its reply goes to stdout, and the
session is a L{vdetwist.console.session.ConsoleFactory}'s stdio session
(L{ConsoleFactory.buildStdioProtocol}), so it runs the very commands of
the C{-M} socket.

What r586 does, and so does L{StdioConsoleService}:

  - no banner and no prompt before the first command; after each reply
    the prompt C{"\\nvde$ "} when stdin is a terminal (r586 writes it to
    fd 0: on a terminal it shows, on a pipe or a file it is lost), never
    on a pipe;
  - C{logout} does nothing, not even a prompt; C{shutdown} stops the
    process (status 0, C{Shutdown from mgmt command} on standard error);
  - the end of stdin stops the process with status 0 after C{EOF on stdin,
    cleaning up and exiting} on standard error: C{vde_switch -s DIR <
    /dev/null &}, or C{vde_switch -s DIR &} in a script (whose background
    commands read /dev/null), exits at once; keep stdin open, or use
    C{-d};
  - a closed standard output (its reader gone) loses the replies, and the
    switch goes on.

Deliberate differences: the replies written before C{shutdown} or the end
of stdin are flushed before the process stops (r586's writes block); a
standard input that is a socket gets no prompt (r586 writes it back into
the socket); input is split on newlines (L{vdetwist.console.session}).

L{openStandardDescriptors} puts /dev/null on a closed descriptor 0, 1 or
2, before anything else is opened, so that no socket becomes "stdin" (a
closed stdin reads as an immediate EOF, as in r586).
"""

import errno
import fcntl
import os
from typing import Any, Callable, Optional

from twisted.application.service import Service
from twisted.logger import Logger

__all__ = ["StdioConsoleService", "openStandardDescriptors"]

log = Logger(namespace="vdetwist.console")


def openStandardDescriptors(devnull: str = os.devnull) -> "list[int]":
    """
    Open /dev/null on each of the descriptors 0, 1 and 2 that is closed
    (for reading on 0, for writing on 1 and 2).

    @param devnull: the file to open.
    @return: the descriptors opened.
    """
    opened = []
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError as e:
            if e.errno != errno.EBADF:
                raise
            new = os.open(devnull, os.O_RDONLY if fd == 0 else os.O_WRONLY)
            if new != fd:
                os.dup2(new, fd)
                os.close(new)
            opened.append(fd)
    return opened


def _sameFile(a: int, b: int) -> bool:
    """
    Whether two descriptors are the same file (one terminal on both).
    """
    try:
        return os.path.samestat(os.fstat(a), os.fstat(b))
    except OSError:
        return False


class StdioConsoleService(Service):
    """
    Run a console factory's stdio session on standard input and output
    while the service runs (see the module docstring).

    @ivar factory: the console factory.
    @ivar session: the session, while running.
    @ivar transport: its L{twisted.internet.stdio.StandardIO}, while
        running.
    """

    session: Any = None
    transport: Any = None

    def __init__(self, factory: Any, reactor: Any = None, stdin: int = 0, stdout: int = 1,
                 standardIO: Optional[Callable[..., Any]] = None,
                 isatty: Callable[[int], bool] = os.isatty) -> None:
        """
        @param factory: a L{vdetwist.console.session.ConsoleFactory}.
        @param reactor: the reactor (the global one by default).
        @param stdin: the descriptor commands are read from.
        @param stdout: the descriptor replies are written to.
        @param standardIO: makes the transport, as
            C{StandardIO(protocol, stdin=, stdout=, reactor=)} does (the
            default).
        @param isatty: whether a descriptor is a terminal.
        """
        self.factory = factory
        self.reactor = reactor
        self.stdin = stdin
        self.stdout = stdout
        self._standardIO = standardIO
        self._isatty = isatty
        self._stdinFlags: Optional[int] = None

    def startService(self) -> None:
        """
        Start reading commands.
        """
        Service.startService(self)
        prompt = False
        promptWriter = None
        if self._isatty(self.stdin):
            prompt = True
            if not _sameFile(self.stdin, self.stdout):
                # Replies go elsewhere; the prompt still goes to the
                # terminal, as r586's write(0, prompt).
                promptWriter = self._promptToStdin
        try:
            self._stdinFlags = fcntl.fcntl(self.stdin, fcntl.F_GETFL)
        except OSError:
            self._stdinFlags = None
        self.session = self.factory.buildStdioProtocol(prompt=prompt,
                                                       promptWriter=promptWriter)
        standardIO = self._standardIO
        if standardIO is None:
            from twisted.internet.stdio import StandardIO
            standardIO = StandardIO
        self.transport = standardIO(self.session, stdin=self.stdin, stdout=self.stdout,
                                    reactor=self.reactor)

    def _promptToStdin(self, prompt: bytes) -> None:
        """
        Write the prompt to the terminal on stdin; lost if it cannot be
        written at once.

        @param prompt: the bytes.
        """
        try:
            os.write(self.stdin, prompt)
        except OSError:
            pass

    def stopService(self) -> None:
        """
        The process is stopping: stop reading, write what is pending, and
        give stdin back its blocking mode (it is often the shell's
        terminal).
        """
        Service.stopService(self)
        session, transport = self.session, self.transport
        self.session = self.transport = None
        if session is not None:
            session.detach()
        if transport is not None:
            transport.loseConnection()
        if self._stdinFlags is not None:
            try:
                fcntl.fcntl(self.stdin, fcntl.F_SETFL, self._stdinFlags)
            except OSError:
                pass
            self._stdinFlags = None
