# -*- test-case-name: tests.console.test_session -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Console sessions and the factory that composes a console from command
tables (L{vdetwist.console.table}).

Each command line gets one reply, then the prompt
(L{vdetwist.console.framing}).  The rest of the line after the command's
path, after spaces and tabs, is its argument: C{atoi} of it for
C{INTARG} commands, the text for C{STRARG} ones
(L{vdetwist.console.arguments} parses the rest as C does).

Deliberate differences from vde_switch r586: input is split on newlines,
and one trailing C{\\r} is removed (r586 treats each C{read()} of up to
128 bytes as one command); a line longer than L{MAX_LINE} bytes is
answered with C{1007 Argument list too long} and discarded up to its
newline, and the session goes on.

As in r586, C{logout} and C{shutdown} inside a script do nothing, and
commands that need a session (C{WITHFD}: C{load}, C{debug/*}) fail with
1009 in the start-up rc file (L{ConsoleFactory.runRCFile}).

The stdin/stdout console (L{ConsoleFactory.buildStdioProtocol}, run by
L{vdetwist.console.stdio}) is r586's foreground console: no banner and no
first prompt, a prompt after each reply only when stdin is a terminal,
C{logout} does nothing (not even a prompt), C{shutdown} and the end of
stdin (C{EOF on stdin, cleaning up and exiting}, a last line without its
newline run first) stop the process once the replies are written, and a
standard output that goes away (its reader closed) does not stop it.
"""

import collections
import errno
import os
from typing import Any, Callable, Deque, List, Optional, Sequence, Set, Tuple

from twisted.internet import protocol
from twisted.internet.interfaces import IHalfCloseableProtocol, IPushProducer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import alsoProvides, implementer

from vdetwist.console import scripts
from vdetwist.console.arguments import cAtoi
from vdetwist.console.builtin import ConsoleCommands
from vdetwist.console.framing import (
    DATA_END,
    DATA_START,
    END_OF_SESSION,
    INTARG,
    KIND,
    MAX_LINE,
    PROMPT,
    SHUTDOWN,
    STRARG,
    WITHFD,
    WITHFILE,
    decode,
    encode,
    formatReply,
    resultLine,
)
from vdetwist.console.table import CommandSet, CommandTable

log = Logger(namespace="vdetwist.console")


@implementer(IPushProducer)
class ConsoleProtocol(protocol.Protocol):
    """
    One console session: on the management socket, on stdin/stdout, or
    (without a transport) the start-up rc file.

    The session is its transport's streaming producer: when the client
    stops reading and the transport's buffer fills, the session stops
    reading commands (and drops debug lines, as r586's non-blocking
    C{writev} does) until the buffer drains, so nothing grows without
    bound.

    @ivar factory: the L{ConsoleFactory}.
    @ivar stdio: this session is the stdin/stdout console: no banner, and
        C{logout} does nothing, as in r586.
    @ivar prompt: the prompt written after each reply.
    @ivar promptWriter: where the prompt goes instead of the transport, or
        L{None} (the stdin console's prompt goes to the terminal on stdin
        when standard output is elsewhere, as r586 writes it to fd 0).
    @ivar subscriptions: the debug categories this session gets
        (L{vdetwist.console.debug}).
    @ivar droppedEvents: debug lines dropped while the client was not
        reading.
    @ivar outputLost: the stdin console's standard output went away (its
        replies are lost from then on).
    """

    factory: "ConsoleFactory"
    stdio = False
    prompt = PROMPT
    promptWriter: Optional[Callable[[bytes], None]] = None

    def __init__(self) -> None:
        """
        A session with no input yet.
        """
        self._buffer = b""
        self._pending: Deque[Optional[bytes]] = collections.deque()
        self._discarding = False
        self._closing = False
        self._paused = False
        self._shutdownRequested = False
        self.outputLost = False
        self._detached = False
        self._eof = False
        self._loadDepth = 0
        self._scriptBudget = 0
        self.subscriptions: Set[str] = set()
        self.droppedEvents = 0

    # -- the transport side -------------------------------------------

    def connectionMade(self) -> None:
        """
        Greet: the banner, then the prompt, in two writes as r586 does (the
        stdin console gets neither: r586 prompts there only after a reply).
        """
        self.factory.sessions.add(self)
        if self.transport is not None and hasattr(self.transport, "registerProducer"):
            self.transport.registerProducer(self, True)
        if not self.stdio:
            self._write(encode(self.factory.banner))
            self._write(self.prompt)

    def dataReceived(self, data: bytes) -> None:
        """
        Split the input into lines and run each one.  Never raises.

        @param data: bytes from the client.
        """
        if self._closing:
            return
        lines: List[Optional[bytes]] = list((self._buffer + data).split(b"\n"))
        tail = lines.pop()
        assert tail is not None
        self._buffer = tail
        if self._discarding and lines:
            # The end of a line that was too long (already answered).
            del lines[0]
            self._discarding = False
        self._pending.extend(lines)
        if len(self._buffer) > MAX_LINE:
            self._buffer = b""
            if not self._discarding:
                self._discarding = True
                self._pending.append(None)
        self._runPending()

    def _runPending(self) -> None:
        """
        Run the complete lines received, until there are none, the session
        ends, or the client stops reading.
        """
        while self._pending and not self._paused and not self._closing:
            line = self._pending.popleft()
            if line is None or len(line) > MAX_LINE:
                self._tooLong()
            else:
                self.lineReceived(line)
        if self._eof and not self._pending and not self._closing and not self._detached:
            log.warn("EOF on stdin, cleaning up and exiting")
            self._endStdio()

    def pauseProducing(self) -> None:
        """
        The client is not reading: stop reading its commands.
        """
        self._paused = True
        if self.transport is not None:
            self.transport.pauseProducing()  # type: ignore[attr-defined]

    def resumeProducing(self) -> None:
        """
        The client reads again: run what is pending, read again.
        """
        self._paused = False
        if self.transport is not None and not self._closing:
            self.transport.resumeProducing()  # type: ignore[attr-defined]
        self._runPending()

    def stopProducing(self) -> None:
        """
        The transport is going away (for the stdin console: its standard
        output is, and L{writeConnectionLost} follows; stdin is still read).
        """
        if not self.stdio:
            self._closing = True

    # -- the stdin console's halves (IHalfCloseableProtocol, stdio only) --

    def readConnectionLost(self) -> None:
        """
        The end of stdin: run a last line left without its newline (r586
        runs whatever its last C{read} got), then stop the process once the
        replies are out, as r586's C{EOF on stdin, cleaning up and exiting}.
        """
        if self._closing or self._detached:
            return
        if self._buffer and not self._discarding:
            self._pending.append(self._buffer)
        self._buffer = b""
        self._eof = True
        self._runPending()

    def writeConnectionLost(self) -> None:
        """
        Standard output went away (its reader closed it): r586 ignores
        C{SIGPIPE} and goes on running the commands it reads, replies lost;
        so does this session.
        """
        self.outputLost = True
        if self._paused and not self._closing:
            self.resumeProducing()

    def _endStdio(self) -> None:
        """
        Stop reading stdin and stop the process once the replies written so
        far are out (L{connectionLost}); in 2 seconds at the latest, for a
        standard output that is never read.
        """
        self._closing = True
        self.factory.sessionEnded(self)
        if self.outputLost:
            self.factory.shutdownNow()
            return
        self.factory.shutdownSoon()
        if self.transport is not None:
            if hasattr(self.transport, "unregisterProducer"):
                self.transport.unregisterProducer()
            self.transport.loseConnection()

    def detach(self) -> None:
        """
        The process is stopping for another reason: the end of this
        session's transport is no longer the end of the process (nor an
        EOF to report).
        """
        self._detached = True

    def _tooLong(self) -> None:
        """
        Answer a line over L{MAX_LINE} bytes.
        """
        self._write(encode(resultLine(errno.E2BIG)))
        self._writePrompt()

    def _writePrompt(self) -> None:
        """
        Write the prompt, to the transport or to L{promptWriter}.
        """
        if self.promptWriter is None:
            self._write(self.prompt)
        elif self.prompt:
            self.promptWriter(self.prompt)

    def lineReceived(self, line: bytes) -> None:
        """
        Run one command line and write its reply and the prompt (or end
        the session for C{logout} and C{shutdown}).

        @param line: the line, without its newline.
        """
        if line.endswith(b"\r"):
            line = line[:-1]
        line = line.split(b"\0", 1)[0]
        rv, reply = self.runCommand(decode(line))
        self._write(encode(reply))
        if rv >= 0:
            self._writePrompt()
        elif self.stdio:
            # r586: logout does nothing on stdin; shutdown exits (here once
            # the replies before it are out).
            if rv == SHUTDOWN:
                self._shutdownRequested = True
                self._endStdio()
        else:
            self._write(END_OF_SESSION)
            self._closing = True
            self.factory.sessionEnded(self)
            if rv == SHUTDOWN:
                self._shutdownRequested = True
                self.factory.shutdownSoon()
            if self.transport is not None:
                # Unregistered, a transport closes once flushed (a paused
                # producer would be resumed instead).
                if hasattr(self.transport, "unregisterProducer"):
                    self.transport.unregisterProducer()
                self.transport.loseConnection()

    def connectionLost(self, reason: Failure = protocol.connectionDone) -> None:
        """
        The session ended: the tables drop what it held (its debug
        subscriptions); finish a C{shutdown} it asked for, now that its
        last reply is out.  The end of the stdin console stops the
        process, as in r586 (unless the process is stopping anyway:
        L{detach}).

        @param reason: why.
        """
        self._closing = True
        self.factory.sessionEnded(self)
        self.factory.sessions.discard(self)
        if self._detached:
            return
        if self.stdio or self._shutdownRequested:
            self.factory.shutdownNow()

    def _write(self, data: bytes) -> None:
        """
        Write to the session, if it has a transport (the rc file has none).

        @param data: the bytes.
        """
        if data and self.transport is not None:
            self.transport.write(data)

    def debugEvent(self, line: bytes) -> None:
        """
        Write one asynchronous debug line.

        @param line: the C{3NNN ...\\n} line.
        """
        if self._paused:
            self.droppedEvents += 1
        elif not self._closing:
            self._write(line)

    # -- the interpreter ----------------------------------------------

    def runCommand(self, line: str, session: bool = True) -> Tuple[int, str]:
        """
        Run one command as r586's C{handle_cmd} does.

        @param line: the command line (no newline).
        @param session: whether there is a session (commands flagged
            C{WITHFD} fail with C{EBADF} without one).
        @return: the result (an errno, 0, C{LOGOUT} or C{SHUTDOWN}) and the
            reply text (empty for blank lines and comments, which get only
            a prompt).
        """
        text = line.lstrip(" \t")
        if not text or text.startswith("#"):
            return errno.ENOSYS, ""
        out: List[str] = []
        rv = errno.ENOSYS
        commands = self.factory.commands
        command = commands.lookup(text)
        if command is not None:
            path, flags, handler = command
            arg = text[len(path):].lstrip(" \t")
            if flags & WITHFD and not session:
                rv = errno.EBADF
            else:
                kind = flags & KIND
                argument: Any = None
                if kind == INTARG:
                    argument = cAtoi(arg)
                elif kind == STRARG:
                    argument = arg
                if flags & WITHFILE:
                    out.append(DATA_START)
                try:
                    rv = handler(self, out, argument)
                except commands.errors as e:
                    rv = e.errno  # type: ignore[attr-defined]
                except Exception:
                    log.failure("console command {line!r} failed", line=line)
                    rv = errno.EIO
                if flags & WITHFILE:
                    out.append(DATA_END)
        return rv, formatReply(rv, out)

    def runScript(self, path: str, echo: bool, session: bool) -> int:
        """
        Run the commands of a file, as C{load} and C{-f} do
        (L{vdetwist.console.scripts}).

        @param path: the file.
        @param echo: write C{vde[PATH]: <line>} and each reply to the
            session.
        @param session: whether the commands have a session.
        @return: 0, or the errno of opening or reading the file.
        """
        if self._loadDepth >= scripts.MAX_LOAD_DEPTH:
            return errno.ELOOP
        try:
            data = scripts.readScript(path)
        except OSError as e:
            return e.errno or errno.EIO
        if self._loadDepth == 0:
            self._scriptBudget = scripts.MAX_SCRIPT_COMMANDS
        prefix = b"vde[" + encode(path) + b"]: "
        self._loadDepth += 1
        try:
            for line in scripts.scriptLines(data):
                if self._scriptBudget <= 0:
                    return errno.EFBIG
                self._scriptBudget -= 1
                # A client that does not read loses the script's output, as
                # r586's non-blocking writes lose it; the commands still run.
                if echo and not self._paused:
                    self._write(prefix + line + b"\n")
                rv, reply = self.runCommand(decode(line), session)
                if echo and not self._paused:
                    self._write(encode(reply))
        finally:
            self._loadDepth -= 1
        return 0


class ConsoleFactory(protocol.ServerFactory[ConsoleProtocol]):
    """
    A console composed of command tables: makes sessions, runs rc files,
    and calls the shutdown callback after a C{shutdown}.

    @ivar commands: the L{CommandSet}: the tables given, then the
        console's own commands (L{ConsoleCommands}).
    @ivar banner: what a session is greeted with before the first prompt.
    @ivar sessions: the connected sessions.
    """

    protocol = ConsoleProtocol

    def __init__(self, tables: Sequence[CommandTable], banner: str = "",
                 shutdown: Optional[Callable[[], None]] = None, reactor: Any = None) -> None:
        """
        @param tables: the command tables, in order (their entries are
            listed in this order; a command is bound to the first table
            implementing it).
        @param banner: the greeting.
        @param shutdown: called (once) after a C{shutdown} command's
            session has ended.
        @param reactor: the reactor (for the shutdown fallback timer).
        """
        if reactor is None:
            from twisted.internet import reactor as globalReactor
            reactor = globalReactor
        self.commands = CommandSet(list(tables) + [ConsoleCommands()])
        self.banner = banner
        self.reactor = reactor
        self.sessions: Set[ConsoleProtocol] = set()
        self._shutdown = shutdown
        self._shutdownDone = False
        self._shutdownTimer: Any = None

    def buildProtocol(self, addr: Any) -> ConsoleProtocol:
        """
        A session for a management socket connection.

        @param addr: the peer address.
        @return: the session.
        """
        session = self.protocol()
        session.factory = self
        return session

    def buildStdioProtocol(self, prompt: Optional[bool] = None,
                           promptWriter: Optional[Callable[[bytes], None]] = None
                           ) -> ConsoleProtocol:
        """
        The session for the process's stdin/stdout (give it to
        L{twisted.internet.stdio.StandardIO}; L{vdetwist.console.stdio}
        does): no banner, C{logout} does nothing, and EOF on stdin calls
        the shutdown callback once the replies are out, as in r586.  It
        provides L{IHalfCloseableProtocol}, so that the end of stdin and the
        end of stdout are told apart.

        @param prompt: whether to write prompts; by default only when stdin
            is a terminal (r586 writes them to fd 0, so a pipe never sees
            them).
        @param promptWriter: where prompts go, if not to the transport.
        @return: the session.
        """
        session = self.buildProtocol(None)
        session.stdio = True
        alsoProvides(session, IHalfCloseableProtocol)
        if prompt is None:
            prompt = os.isatty(0)
        if not prompt:
            session.prompt = b""
        session.promptWriter = promptWriter
        return session

    def runRCFile(self, path: str) -> int:
        """
        Run a file of commands silently, as C{vde_switch -f} does at start.

        @param path: the file.
        @return: 0, or the errno of opening it.
        """
        session = self.buildProtocol(None)
        session.transport = None
        rv = session.runScript(path, echo=False, session=False)
        if rv:
            log.warn("rc file {path}: {error}", path=path, error=os.strerror(rv))
        return rv

    def sessionEnded(self, session: ConsoleProtocol) -> None:
        """
        A session ended (or is ending): every table drops what it held for
        it.

        @param session: the session.
        """
        self.commands.sessionEnded(session)

    # -- shutdown -------------------------------------------------------

    def shutdownSoon(self) -> None:
        """
        A session asked for C{shutdown}: it will call L{shutdownNow} once
        its C{9999 END OF SESSION} is out; this timer makes sure it happens
        even if the client never reads.
        """
        if self._shutdownTimer is None and not self._shutdownDone:
            self._shutdownTimer = self.reactor.callLater(2.0, self.shutdownNow)

    def shutdownNow(self) -> None:
        """
        Call the shutdown callback (once).
        """
        if self._shutdownDone:
            return
        self._shutdownDone = True
        if self._shutdownTimer is not None and self._shutdownTimer.active():
            self._shutdownTimer.cancel()
        self._shutdownTimer = None
        if self._shutdown is not None:
            self._shutdown()
