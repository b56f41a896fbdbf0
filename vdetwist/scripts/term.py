# -*- test-case-name: tests.scripts.test_term -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist term}: a client for the management consoles of vdetwist's
switch, Debian's C{vde_switch} and C{wirefilter} (the console
protocol as L{vdetwist.console.framing} describes it).

    vdetwist term SOCK                      interactive (stdin a terminal)
    vdetwist term SOCK port/print           one command
    vdetwist term -c port/print -c hash/print SOCK
    (echo port/print; sleep 0.3) | vdetwist term SOCK
    echo port/print | vdetwist term -i -s SOCK   the seed's unixterm form

Three modes:

  - B{One-shot}, when a command is given: the words after C{SOCK} joined by
    spaces are one command; C{-c CMD} (before C{SOCK}, repeatable) gives
    several, run in order.  The data block of each reply (without the
    C{0000 DATA END WITH '.'}, C{.} and C{1NNN} framing) goes to standard
    output.  The exit status is 0 when every command answered C{1000
    Success}; otherwise the commands stop at the first failure, its C{1NNN}
    line goes to standard error and the exit status is NNN (the errno,
    capped to 255).  A session ended by the console (C{logout},
    C{shutdown}: C{9999 END OF SESSION}) counts as success.  Asynchronous
    debug lines (C{3NNN ...}) go to standard error prefixed with C{** }.
    With C{-i} the commands are read from standard input instead, one per
    line (empty lines skipped), each sent as soon as it is read and the
    previous one answered, with the same output and exit status: the
    seed's C{echo port/print | unixterm -i -s MGMT} (a form Debian's
    C{unixterm} no longer accepts) works with C{vdetwist term} in its
    place.  C{-s SOCK} names the socket as an option instead of the first
    argument.
  - B{Pipe}, when standard input is not a terminal and no command is given:
    what C{unixterm} does, byte for byte on standard output (the banner,
    every reply and prompt, asynchronous lines, C{9999 END OF SESSION}),
    except that commands are read line by line and each is sent only once
    the previous reply's prompt arrived, so no C{sleep} is needed between
    them; at the end of input the last reply is awaited (at most
    C{--timeout} seconds), then the session closes.  Exit status 0.
  - B{Interactive}, when standard input is a terminal: a line editor with
    history (arrows, Home/End, Ctrl-A/E/U/K, Ctrl-C clears the line,
    Ctrl-L redraws), replies shown as the console writes them, and
    asynchronous debug lines shown above the input line prefixed with
    C{** } without disturbing what is being typed.  Ctrl-D on an empty line
    (or C{logout}) ends the session.

Exit status 255 means the console could not be reached, closed the
connection before answering, or did not answer within C{--timeout}; 2 is
a usage error.

The reply codec is L{vdetwist.console.client}, pure and tested alone:
L{ConsoleParser} splits the console's byte stream into lines, prompts and
the end of session; L{ReplyBuilder} turns the lines of one reply into a
L{Reply}.
"""

import os
import select
import socket
import sys
from collections import deque
from typing import Any, Callable, Deque, Iterable, Iterator, List, Optional, Tuple

from twisted.conch.recvline import HistoricRecvLine
from twisted.internet.protocol import Protocol, connectionDone
from twisted.python import usage
from twisted.python.failure import Failure

from vdetwist.console.client import (
    DATA_END,
    DATA_HEADER,
    END,
    LINE,
    NO_RESULT,
    PARTIAL,
    PROMPT,
    ConsoleParser,
    Reply,
    ReplyBuilder,
    isAsyncLine,
)

__all__ = ["ConsoleParser", "Reply", "ReplyBuilder", "isAsyncLine", "LINE", "PROMPT", "END",
           "PARTIAL", "ConsoleError", "BlockingConsole", "InteractiveTerm", "Options",
           "runOneShot", "runPipe", "commandsFrom"]

#: Exit status when the console cannot be used at all.
EXIT_NO_CONSOLE = NO_RESULT
#: Exit status for bad usage.
EXIT_USAGE = 2


class ConsoleError(Exception):
    """
    The console could not be reached, closed early, or did not answer.
    """


class BlockingConsole:
    """
    A management console session on a plain blocking socket, for the
    one-shot and pipe modes.

    @ivar sock: the connected socket.
    @ivar parser: the L{ConsoleParser}.
    @ivar greeting: the banner lines.
    """

    def __init__(self, path: str, timeout: float, socketFactory: Callable[..., Any] = socket.socket) -> None:
        """
        Connect.

        @param path: the console's UNIX socket.
        @param timeout: seconds to wait for any answer.
        @param socketFactory: makes the socket (tests).
        @raise ConsoleError: when the socket cannot be connected.
        """
        self.parser = ConsoleParser()
        self.greeting: List[bytes] = []
        self.timeout = timeout
        self._events: Deque[Tuple[str, bytes]] = deque()
        self._closed = False
        self.sock = socketFactory(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        try:
            self.sock.connect(path)
        except OSError as e:
            self.sock.close()
            raise ConsoleError("cannot connect to %s: %s" % (path, e.strerror or e))

    def _nextEvent(self) -> Tuple[str, bytes]:
        """
        The next parser event, reading as needed.

        @return: the event; C{(PARTIAL, b"")} when the console closed.
        @raise ConsoleError: on a timeout or socket error.
        """
        while not self._events:
            if self._closed:
                return (PARTIAL, b"")
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                raise ConsoleError("no answer from the console in %g seconds" % (self.timeout,))
            except OSError as e:
                raise ConsoleError("console: %s" % (e.strerror or e,))
            if not data:
                self._closed = True
                self._events.extend(self.parser.finish())
            else:
                self._events.extend(self.parser.feed(data))
        return self._events.popleft()

    def readGreeting(self) -> List[bytes]:
        """
        Read the banner up to the first prompt.

        @return: the banner lines.
        @raise ConsoleError: when no prompt comes.
        """
        while True:
            kind, value = self._nextEvent()
            if kind == PROMPT:
                return self.greeting
            if kind == PARTIAL and not value and self._closed:
                raise ConsoleError("the console closed the connection before its prompt")
            self.greeting.append(value)

    def command(self, line: str) -> Reply:
        """
        Run one command.

        @param line: the command, without newline.
        @return: its L{Reply}; C{complete} is false when the console closed
            without a prompt.
        @raise ConsoleError: on a timeout or socket error.
        """
        builder = ReplyBuilder()
        try:
            self.sock.sendall(line.encode("utf-8", "surrogateescape") + b"\n")
        except OSError as e:
            raise ConsoleError("console: %s" % (e.strerror or e,))
        while True:
            kind, value = self._nextEvent()
            if kind == PARTIAL:
                if value:
                    builder.event(LINE, value)
                if self._closed and not self._events:
                    return builder.reply
                continue
            if builder.event(kind, value):
                return builder.reply

    def close(self) -> None:
        """
        Close the session (without C{logout}).
        """
        self.sock.close()


def runOneShot(path: str, commands: Iterable[str], timeout: float, out: Any, err: Any) -> int:
    """
    Run commands and print their data blocks.

    @param path: the console socket.
    @param commands: the command lines, taken one at a time (each only
        once the previous one was answered, so a lazy iterable such as
        L{commandsFrom} streams).
    @param timeout: seconds to wait for each answer.
    @param out: binary standard output.
    @param err: binary standard error.
    @return: the exit status.
    """
    try:
        console = BlockingConsole(path, timeout)
    except ConsoleError as e:
        err.write(b"vdetwist term: %s\n" % (str(e).encode(),))
        return EXIT_NO_CONSOLE
    try:
        console.readGreeting()
        for command in commands:
            reply = console.command(command)
            for line in reply.lines:
                out.write(line + b"\n")
            for line in reply.asyncLines:
                err.write(b"** " + line + b"\n")
            out.flush()
            status = reply.exitStatus()
            if reply.ended:
                return status
            if status:
                if reply.code is None:
                    err.write(b"vdetwist term: the console closed the connection "
                              b"without answering %s\n" % (command.encode(),))
                else:
                    err.write(reply.resultLine + b"\n")
                return status
        return 0
    except ConsoleError as e:
        err.write(b"vdetwist term: %s\n" % (str(e).encode(),))
        return EXIT_NO_CONSOLE
    finally:
        err.flush()
        console.close()


def commandsFrom(lines: Iterable[bytes]) -> Iterator[str]:
    """
    The commands of C{-i}: one per line, without the line end, empty lines
    skipped.

    @param lines: the lines read (standard input's binary buffer).
    @return: the commands, read lazily.
    """
    for line in lines:
        command = line.rstrip(b"\r\n").decode("utf-8", "surrogateescape")
        if command.strip():
            yield command


def runPipe(path: str, timeout: float, stdinFD: int, out: Any, err: Any) -> int:
    """
    Relay commands read from a pipe, line by line, and print everything the
    console writes, as C{unixterm} does.

    @param path: the console socket.
    @param timeout: seconds to wait for the last reply after the end of
        input (and for the greeting).
    @param stdinFD: the file descriptor commands are read from.
    @param out: binary standard output (flushed after each write).
    @param err: binary standard error.
    @return: the exit status.
    """
    try:
        console = BlockingConsole(path, timeout)
    except ConsoleError as e:
        err.write(b"vdetwist term: %s\n" % (str(e).encode(),))
        return EXIT_NO_CONSOLE
    sock = console.sock
    sock.setblocking(False)
    parser = console.parser
    waiting = True
    queue: Deque[bytes] = deque()
    partial = b""
    inputEnded = False
    try:
        while True:
            if not waiting and queue:
                sock.setblocking(True)
                sock.sendall(queue.popleft() + b"\n")
                sock.setblocking(False)
                waiting = True
            if inputEnded and not queue and not waiting:
                return 0
            readers: List[Any] = [sock]
            if not inputEnded and len(queue) < 64:
                readers.append(stdinFD)
            ready, _, _ = select.select(readers, [], [], timeout if inputEnded else None)
            if not ready:
                return 0
            if sock in ready:
                try:
                    data = sock.recv(65536)
                except BlockingIOError:
                    data = None
                if data == b"":
                    return 0
                if data:
                    out.write(data)
                    out.flush()
                    for kind, _ in parser.feed(data):
                        if kind == PROMPT:
                            waiting = False
            if stdinFD in ready:
                chunk = os.read(stdinFD, 65536)
                if not chunk:
                    inputEnded = True
                    if partial:
                        queue.append(partial)
                        partial = b""
                else:
                    lines = (partial + chunk).split(b"\n")
                    partial = lines.pop()
                    queue.extend(lines)
    except OSError as e:
        err.write(b"vdetwist term: console: %s\n" % ((e.strerror or str(e)).encode(),))
        return EXIT_NO_CONSOLE
    finally:
        console.close()


class ConsoleLink(Protocol):
    """
    The console connection of the interactive mode: parses what the console
    writes and hands the events to the L{InteractiveTerm} (keeping them
    until the terminal is attached).

    @ivar parser: the L{ConsoleParser}.
    @ivar term: the attached terminal, or L{None}.
    @ivar closed: whether the connection ended.
    """

    #: The most events kept before a terminal is attached.
    maxBacklog = 10000

    def __init__(self) -> None:
        """
        Start with no terminal attached.
        """
        self.parser = ConsoleParser()
        self.term: Optional["InteractiveTerm"] = None
        self.closed = False
        self._backlog: List[Tuple[str, bytes]] = []

    def dataReceived(self, data: bytes) -> None:
        """
        Parse and deliver.

        @param data: bytes from the console.
        """
        self._deliver(self.parser.feed(data))

    def _deliver(self, events: List[Tuple[str, bytes]]) -> None:
        """
        Give events to the terminal, or keep them (bounded) for it.

        @param events: parser events.
        """
        if self.term is None:
            room = self.maxBacklog - len(self._backlog)
            self._backlog.extend(events[:max(room, 0)])
            return
        for kind, value in events:
            self.term.consoleEvent(kind, value)

    def attach(self, term: "InteractiveTerm") -> None:
        """
        Attach the terminal and replay what arrived before it.

        @param term: the terminal protocol.
        """
        self.term = term
        backlog, self._backlog = self._backlog, []
        self._deliver(backlog)
        if self.closed:
            term.consoleClosed()

    def sendCommand(self, line: bytes) -> None:
        """
        Send one command line.

        @param line: the command, without newline.
        """
        if self.transport is not None and not self.closed:
            self.transport.write(line + b"\n")

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Deliver what is left, then tell the terminal.

        @param reason: why.
        """
        self._deliver(self.parser.finish())
        self.closed = True
        if self.term is not None:
            self.term.consoleClosed()


class InteractiveTerm(HistoricRecvLine):
    """
    The interactive console: a line editor with history on a raw terminal.

    Everything the console writes is shown above the input line, which is
    erased and redrawn around it; asynchronous C{3NNN} lines (outside data
    blocks) are prefixed with C{** }.  Commands typed while a reply is
    pending are queued and sent one at a time, each after the previous
    prompt.

    @ivar link: the L{ConsoleLink}.
    @ivar pending: commands typed but not sent yet.
    @ivar awaiting: a command was sent and its prompt has not come.
    @ivar maxHistory: the most lines kept in the history.
    """

    ps = (b"$ ",)  # type: ignore[assignment]
    maxHistory = 1000
    maxPending = 100

    def __init__(self, link: ConsoleLink, onExit: Callable[[], None]) -> None:
        """
        @param link: the console connection.
        @param onExit: called once when the session is over.
        """
        self.link = link
        self.onExit = onExit
        self.pending: Deque[bytes] = deque()
        self.awaiting = True
        self._inBlock = False
        self._shown = False
        self._ended = False
        self._exited = False

    def connectionMade(self) -> None:
        """
        Add the control keys, draw the input line, attach to the console.
        """
        HistoricRecvLine.connectionMade(self)  # type: ignore[no-untyped-call]
        self.keyHandlers.update({
            b"\x01": self.handle_HOME,
            b"\x03": self.handle_INTERRUPT,
            b"\x04": self.handle_EOF,
            b"\x05": self.handle_END,
            b"\x08": self.handle_BACKSPACE,
            b"\x0b": self.handle_KILL_END,
            b"\x0c": self.handle_REDRAW,
            b"\x15": self.handle_KILL_LINE,
        })
        self.link.attach(self)

    def initializeScreen(self) -> None:
        """
        Leave the screen alone (no reset); draw the input line.
        """
        self.setInsertMode()  # type: ignore[no-untyped-call]
        self._showInput()

    # -- drawing -----------------------------------------------------------

    def _hideInput(self) -> None:
        """
        Erase the input line (prompt and what is typed).
        """
        if self._shown:
            self._shown = False
            self.terminal.write(b"\r\x1b[K")

    def _showInput(self) -> None:
        """
        Draw the input line, with the cursor where it was.
        """
        if self._shown or self._exited:
            return
        self._shown = True
        self.terminal.write(self.ps[0] + b"".join(self.lineBuffer))
        back = len(self.lineBuffer) - self.lineBufferIndex
        if back:
            self.terminal.write(b"\x1b[%dD" % (back,))

    def output(self, line: bytes) -> None:
        """
        Show one line above the input line.

        @param line: the text, without newline.
        """
        self._hideInput()
        self.terminal.write(line + b"\n")
        self._showInput()

    # -- the console -------------------------------------------------------

    def consoleEvent(self, kind: str, value: bytes) -> None:
        """
        Show one parser event.

        @param kind: the event kind.
        @param value: its bytes.
        """
        if kind == PROMPT:
            self.awaiting = False
            self._inBlock = False
            if value != self.ps[0]:
                self._hideInput()
                self.ps = (value,)
                self._showInput()
            self._sendNext()
        elif kind == END:
            self._ended = True
            self.output(value)
        elif self._inBlock:
            if value == DATA_END:
                self._inBlock = False
            self.output(value)
        elif isAsyncLine(value):
            self.output(b"** " + value)
        else:
            if value == DATA_HEADER:
                self._inBlock = True
            self.output(value)

    def consoleClosed(self) -> None:
        """
        The console ended the session: say so unless it was a logout.
        """
        if not self._ended:
            self.output(b"vdetwist term: the console closed the connection")
        self._hideInput()
        self._exit()

    def _exit(self) -> None:
        """
        End the program, once.
        """
        if not self._exited:
            self._exited = True
            self.onExit()

    def _sendNext(self) -> None:
        """
        Send the next queued command if the console is ready.
        """
        if not self.awaiting and self.pending:
            self.awaiting = True
            self.link.sendCommand(self.pending.popleft())

    def lineReceived(self, line: bytes) -> None:
        """
        Queue a typed command (empty lines are not sent).

        @param line: the command.
        """
        if line.strip() and len(self.pending) < self.maxPending:
            self.pending.append(line)
            self._sendNext()

    # -- keys --------------------------------------------------------------

    def handle_RETURN(self) -> None:
        """
        Keep the typed line on screen, record it in the history, run it.
        """
        line = b"".join(self.lineBuffer)
        if line and (not self.historyLines or self.historyLines[-1] != line):
            self.historyLines.append(line)
            del self.historyLines[:-self.maxHistory]
        self.historyPosition = len(self.historyLines)
        self.lineBuffer = []
        self.lineBufferIndex = 0
        self.terminal.write(b"\n")
        self._shown = False
        self.lineReceived(line)
        self._showInput()

    def handle_EOF(self) -> None:
        """
        Ctrl-D: log out on an empty line, else delete a character.
        """
        if self.lineBuffer:
            self.handle_DELETE()  # type: ignore[no-untyped-call]
            return
        self._deliverBuffer(b"logout")  # type: ignore[no-untyped-call]
        self.handle_RETURN()

    def handle_INTERRUPT(self) -> None:
        """
        Ctrl-C: abandon the typed line.
        """
        self.terminal.write(b"^C\n")
        self._shown = False
        self.lineBuffer = []
        self.lineBufferIndex = 0
        self.historyPosition = len(self.historyLines)
        self._showInput()

    def handle_KILL_LINE(self) -> None:
        """
        Ctrl-U: erase the whole typed line.
        """
        self._hideInput()
        self.lineBuffer = []
        self.lineBufferIndex = 0
        self._showInput()

    def handle_KILL_END(self) -> None:
        """
        Ctrl-K: erase from the cursor to the end of the line.
        """
        del self.lineBuffer[self.lineBufferIndex:]
        self.terminal.write(b"\x1b[K")

    def handle_REDRAW(self) -> None:
        """
        Ctrl-L: clear the screen and redraw the input line.
        """
        self.terminal.write(b"\x1b[H\x1b[2J")
        self._shown = False
        self._showInput()

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        The terminal went away: end the session.

        @param reason: why.
        """
        self._exit()


def runInteractive(path: str, timeout: float, err: Any, reactor: Any = None) -> int:
    """
    Run the interactive console on the controlling terminal (standard
    input in raw mode, restored at the end).

    @param path: the console socket.
    @param timeout: seconds to wait for the connection.
    @param err: binary standard error.
    @param reactor: the reactor (the global one by default).
    @return: the exit status.
    """
    import termios
    import tty

    from twisted.conch.insults.insults import ServerProtocol
    from twisted.internet import stdio
    from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol

    if reactor is None:
        from twisted.internet import reactor as globalReactor
        reactor = globalReactor
    link = ConsoleLink()
    status = [0]
    saved: List[Any] = []

    def stop() -> None:
        """
        Stop the reactor if it runs.
        """
        if reactor.running:
            reactor.stop()

    def connected(_: object) -> None:
        """
        The console answered: put the terminal in raw mode and start the editor.
        """
        saved.append(termios.tcgetattr(0))
        tty.setraw(0)
        stdio.StandardIO(ServerProtocol(InteractiveTerm, link, stop), reactor=reactor)  # type: ignore[no-untyped-call]

    def failed(reason: Failure) -> None:
        """
        The console cannot be reached: say why.
        """
        err.write(b"vdetwist term: cannot connect to %s: %s\n" % (
            path.encode(), reason.getErrorMessage().encode()))
        err.flush()
        status[0] = EXIT_NO_CONSOLE
        stop()

    def start() -> None:
        """
        Begin once the reactor runs.
        """
        endpoint = UNIXClientEndpoint(reactor, path, timeout=timeout)  # type: ignore[no-untyped-call]
        connectProtocol(endpoint, link).addCallbacks(connected, failed)  # type: ignore[no-untyped-call]

    reactor.callWhenRunning(start)
    try:
        reactor.run()
    finally:
        if saved:
            termios.tcsetattr(0, termios.TCSANOW, saved[0])
            # Leave the terminal's insert mode (set for the line editor).
            os.write(1, b"\x1b[4l")
    return status[0]


class Options(usage.Options):
    """
    C{vdetwist term}'s options.
    """

    synopsis = ("[-c CMD]... [-t SECONDS] SOCK [COMMAND...]\n"
                "       vdetwist term [-i] [-t SECONDS] -s SOCK [COMMAND...]")

    optParameters = [
        ["timeout", "t", 10.0, "Seconds to wait for the console to answer.", float],
        ["sock", "s", None, "The console socket (instead of the first argument)."],
    ]

    optFlags = [
        ["stdin", "i", "Read the commands from standard input, one per line, "
                       "and print each reply's data."],
    ]

    def __init__(self) -> None:
        """
        Start with no commands.
        """
        usage.Options.__init__(self)  # type: ignore[no-untyped-call]
        self["commands"] = []

    def opt_command(self, command: str) -> None:
        """
        A command to run (repeatable; they run in order).
        """
        self["commands"].append(command)

    opt_c = opt_command

    def parseArgs(self, *args: str) -> None:  # type: ignore[override]
        """
        The console socket unless C{-s} gave it, then optionally one
        command as words.

        @raise usage.UsageError: when no socket is named.
        """
        command = list(args)
        if self["sock"] is None:
            if not command:
                raise usage.UsageError("the console socket is missing (SOCK or -s SOCK)")
            self["sock"] = command.pop(0)
        if command:
            self["commands"].append(" ".join(command))

    def postOptions(self) -> None:
        """
        Check the timeout and that C{-i} comes without commands.

        @raise usage.UsageError: for a non-positive timeout, or C{-i}
            with commands on the command line.
        """
        if self["timeout"] <= 0:
            raise usage.UsageError("--timeout must be positive")
        if self["stdin"] and self["commands"]:
            raise usage.UsageError("-i reads the commands from standard input: "
                                   "give none on the command line")


def main(argv: List[str]) -> int:
    """
    Run C{vdetwist term}.

    @param argv: the arguments after C{term}.
    @return: the exit status.
    """
    options = Options()
    try:
        options.parseOptions(argv)  # type: ignore[no-untyped-call]
    except usage.UsageError as e:
        print("vdetwist term: %s\n%s" % (e, options), file=sys.stderr)
        return EXIT_USAGE
    out, err = sys.stdout.buffer, sys.stderr.buffer
    try:
        if options["stdin"]:
            return runOneShot(options["sock"], commandsFrom(sys.stdin.buffer),
                              options["timeout"], out, err)
        if options["commands"]:
            return runOneShot(options["sock"], options["commands"], options["timeout"],
                              out, err)
        if not os.isatty(0):
            return runPipe(options["sock"], options["timeout"], 0, out, err)
        return runInteractive(options["sock"], options["timeout"], err)
    except BrokenPipeError:
        # The reader of our output went away (C{vdetwist term ... | head}):
        # stop quietly, as a command killed by SIGPIPE would.
        try:
            sys.stdout = sys.stderr = open(os.devnull, "w")
        except OSError:
            pass
        return 141
