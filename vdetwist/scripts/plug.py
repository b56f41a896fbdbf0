# -*- test-case-name: tests.scripts.test_plug -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
C{vdetwist plug}: Debian's C{vde_plug} in Python, for vdetwist's switch
and Debian's C{vde_switch} alike.

    vdetwist plug URL                     frames on standard input/output
    vdetwist plug URL = COMMAND ARGS...   frames to a child process
    vdetwist plug URL1 URL2               two switches joined (no stream)

    dpipe vdetwist plug vde:///tmp/sw1 = vde_plug vde:///tmp/sw2
    dpipe vdetwist plug /tmp/sw1 = ssh host vdetwist plug /tmp/sw2

The stream carries each Ethernet frame after its length as 2 bytes big
endian (docs/vde-protocol.md section 3, L{vdetwist.vde.stream}); a length
above 9236 discards the rest of that read, as vde_plug does.  The switch
shows the endpoint as C{vdeplug: user=NAME pid=PID} (C{-D} changes the
first word), as it shows Debian's vde_plug.

Ending, as vde_plug: exit status 0 when the input ends (end of standard
input, or the child closed its standard output or exited) and when the
switch closes the connection (C{port/epclose}, switch exit; a message says
so on standard error); 1, with C{vde_open URL: reason}, when the switch
cannot be reached; 2 for bad usage.  A child gets the end of its standard
input when the plug ends, and SIGTERM if it has not exited 2 seconds later.

Flow control: frames from the switch stop being read while standard output
(or the child's standard input) cannot take more, so memory stays bounded
and the switch drops what does not fit, as for any slow port.  Frames
towards the switch are datagrams, which never block: those the switch's
socket cannot take are dropped and counted (C{-v} prints the counts at the
end).
"""

import os
import shutil
import sys
from typing import Any, Callable, List, Optional

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ProcessDone, ReactorNotRunning
from twisted.internet.interfaces import IConsumer, IHalfCloseableProtocol
from twisted.internet.protocol import ProcessProtocol
from twisted.python import usage
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import IFrameProtocol, IFrameTransport
from vdetwist.vde.stream import StreamFrameProtocol

#: The description vde_plug gives the switch (vdeplug4's default).
DEFAULT_DESCRIPTION = "vdeplug:"

#: Seconds a child may take to exit after its input ended.
CHILD_GRACE = 2.0


@implementer(IFrameProtocol)
class CableEnd:
    """
    One end of a L{Cable}: receives the frames of one attachment and sends
    them out of the other.

    @ivar cable: the cable.
    @ivar name: C{"left"} or C{"right"}, for messages.
    @ivar transport: this end's L{IFrameTransport}, once connected.
    @ivar dropped: frames received while the other end was not connected.
    """

    def __init__(self, cable: "Cable", name: str) -> None:
        """
        @param cable: the cable.
        @param name: which end.
        """
        self.cable = cable
        self.name = name
        self.transport: Optional[IFrameTransport] = None
        self.dropped = 0
        self.other: Optional["CableEnd"] = None

    def makeConnection(self, transport: IFrameTransport) -> None:
        """
        This end is attached.

        @param transport: where frames for this end go.
        """
        self.transport = transport
        self.cable._connected(self)

    def frameReceived(self, frame: bytes) -> None:
        """
        Send a frame out of the other end (dropped if it is not attached).

        @param frame: the frame.
        """
        other = self.other.transport  # type: ignore[union-attr]
        if other is None:
            self.dropped += 1
        else:
            other.sendFrame(frame)

    def connectionLost(self, reason: object) -> None:
        """
        This end is gone: the cable comes down.

        @param reason: a L{Failure}.
        """
        self.transport = None
        self.cable._lost(self, reason)


class Cable:
    """
    Two frame attachments joined: what arrives at one end leaves by the
    other.  When either end is lost the other is closed, and L{done} fires
    with the reason of the first loss once both are gone.

    @ivar left: the first L{CableEnd} (the switch, for C{vdetwist plug}).
    @ivar right: the second (the stream, or the second switch).
    @ivar done: fires with the end lost first once the cable is down.
    @ivar firstLost: which end was lost first, or L{None}.
    @ivar firstReason: why (usually a L{Failure}).
    """

    def __init__(self) -> None:
        """
        Make the two ends.
        """
        self.left = CableEnd(self, "left")
        self.right = CableEnd(self, "right")
        self.left.other, self.right.other = self.right, self.left
        self.done: Deferred[Any] = Deferred()
        self.firstLost: Optional[CableEnd] = None
        self.firstReason: Any = None
        self._ended = {"left": False, "right": False}
        self._started = {"left": False, "right": False}

    def _connected(self, end: CableEnd) -> None:
        """
        An end is attached; if the other was already lost, detach it again.

        @param end: the end.
        """
        self._started[end.name] = True
        if self.firstLost is not None and end.transport is not None:
            end.transport.loseConnection()

    def _lost(self, end: CableEnd, reason: object) -> None:
        """
        An end is gone: close the other, and finish when both are.

        @param end: the end.
        @param reason: why.
        """
        if self._ended[end.name]:
            return
        self._ended[end.name] = True
        if self.firstLost is None:
            self.firstLost, self.firstReason = end, reason
        other = end.other
        assert other is not None
        if other.transport is not None:
            other.transport.loseConnection()
        if self._ended[other.name] or not self._started[other.name]:
            self._finish()

    def abandon(self, end: CableEnd) -> None:
        """
        An end will never be attached (its connection failed): count it as
        gone.

        @param end: the end.
        """
        self._started[end.name] = True
        self._lost(end, Failure(ConnectionDone("never attached")))  # type: ignore[no-untyped-call]

    def _finish(self) -> None:
        """
        Fire L{done} once.
        """
        if not self.done.called:
            self.done.callback(self.firstLost)


class ChildProcess(ProcessProtocol):
    """
    A child process speaking the stream framing on its standard input and
    output (C{vdetwist plug URL = COMMAND}); its standard error is ours.

    @ivar stream: the L{StreamFrameProtocol} on the child's pipes.
    @ivar ended: fires (with L{None}) when the child has exited.
    @ivar reason: how it exited (a L{Failure}), once it has.
    """

    def __init__(self, stream: StreamFrameProtocol, reactor: Any,
                 grace: float = CHILD_GRACE) -> None:
        """
        @param stream: the framing protocol to connect to the pipes.
        @param reactor: for the grace timer.
        @param grace: seconds between closing the child's input and
            SIGTERM.
        """
        self.stream = stream
        self.reactor = reactor
        self.grace = grace
        self.ended: Deferred[Any] = Deferred()
        self.reason: Optional[Failure] = None
        self._timer: Any = None
        self._streamLost = False

    def connectionMade(self) -> None:
        """
        The child runs: the stream is connected to its pipes.
        """
        self.stream.makeConnection(self.transport)  # type: ignore[no-untyped-call]

    def outReceived(self, data: bytes) -> None:
        """
        Frames from the child.

        @param data: bytes from its standard output.
        """
        self.stream.dataReceived(data)

    def childConnectionLost(self, childFD: int) -> None:
        """
        The child closed its standard output (the end of its frames) or its
        standard input (it will read no more): the stream ends.

        @param childFD: which pipe.
        """
        if childFD in (0, 1):
            self._loseStream(Failure(ConnectionDone("the command closed its end of the stream")))  # type: ignore[no-untyped-call]

    def processEnded(self, reason: Failure) -> None:
        """
        The child exited.

        @param reason: how.
        """
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self.reason = reason
        self._loseStream(reason)
        if not self.ended.called:
            self.ended.callback(None)

    def _loseStream(self, reason: Failure) -> None:
        """
        End the stream once, and give the child its grace period.

        @param reason: why.
        """
        if self._streamLost:
            return
        self._streamLost = True
        self.stream.connectionLost(reason)
        self.stop()

    def stop(self) -> None:
        """
        Close the child's pipes; SIGTERM after the grace period.
        """
        if self.ended.called or self._timer is not None:
            return
        transport: Any = self.transport
        if transport is not None:
            # A pipe with a producer registered never closes.
            _unregisterProducer(transport)
            transport.closeStdin()
        self._timer = self.reactor.callLater(self.grace, self._terminate)

    def _terminate(self) -> None:
        """
        The child outstayed its grace period.
        """
        try:
            self.transport.signalProcess("TERM")  # type: ignore[union-attr]
        except Exception:
            pass


def _unregisterProducer(transport: Any) -> None:
    """
    Unregister a transport's producer, if it takes one: Twisted does not
    close a descriptor while a producer is registered with it.

    @param transport: a transport.
    """
    unregister = getattr(transport, "unregisterProducer", None)
    if unregister is not None:
        try:
            unregister()
        except RuntimeError:
            # In-memory transports refuse when none is registered.
            pass


@implementer(IHalfCloseableProtocol)
class _StdioStreamFrameProtocol(StreamFrameProtocol):
    """
    The stream framing on standard input and output: the end of either
    ends the stream (with the switch's plug, registered as the producer of
    standard output, unregistered first so the descriptors can close).
    """

    def loseConnection(self) -> None:
        """
        Close standard input and output once what is buffered is written.
        """
        if self.transport is not None:
            _unregisterProducer(self.transport)
            self.transport.loseConnection()

    def readConnectionLost(self) -> None:
        """
        End of standard input: the end of the stream.
        """
        self.loseConnection()

    def writeConnectionLost(self) -> None:
        """
        Standard output was closed (its reader went away): the end of the
        stream.  StandardIO has already dropped its writer, so its
        C{loseConnection} would only stop reading and never finish: end
        the whole transport now.
        """
        transport: Any = self.transport
        if transport is not None:
            transport.connectionLost(Failure(  # type: ignore[no-untyped-call]
                ConnectionDone("standard output was closed")))


class _ChildStreamFrameProtocol(StreamFrameProtocol):
    """
    The stream framing on a child's pipes: closing it closes the child's
    standard input instead of killing the child.
    """

    child: Optional[ChildProcess] = None

    def loseConnection(self) -> None:
        """
        The plug ended: let the child finish.
        """
        if self.child is not None:
            self.child.stop()


class Options(usage.Options):
    """
    vde_plug's options and arguments.
    """

    synopsis = "[-D DESCR] [-v] URL [URL2 | = COMMAND [ARGS...]]"

    optFlags = [
        ["verbose", "v", "Print frame counts and drops on standard error at the end."],
    ]
    optParameters = [
        ["descr", "D", DEFAULT_DESCRIPTION, "The description the switch shows."],
        ["timeout", "t", 10.0, "Seconds to wait for the switch's answer.", float],
    ]

    def parseArgs(self, *args: str) -> None:
        """
        C{URL}, C{URL URL2} or C{URL = COMMAND ARGS...}.

        @raise usage.UsageError: for other shapes.
        """
        self["url"] = self["url2"] = None
        self["command"] = None
        if "=" in args:
            index = args.index("=")
            if index > 1:
                raise usage.UsageError("give one URL before '='")
            if index == len(args) - 1:
                raise usage.UsageError("'=' must be followed by a command")
            self["url"] = args[0] if index else ""
            self["command"] = list(args[index + 1:])
        elif len(args) == 1:
            self["url"] = args[0]
        elif len(args) == 2:
            self["url"], self["url2"] = args
        elif not args:
            self["url"] = ""
        else:
            raise usage.UsageError("too many arguments (URL, URL URL2, or URL = COMMAND)")
        if not self["descr"]:
            self["descr"] = DEFAULT_DESCRIPTION


class Plug:
    """
    One run of C{vdetwist plug}: connect the switch (or both), then join
    it to the stream, the child or the second switch.

    @ivar cable: the L{Cable}; its left end is the (first) switch.
    @ivar status: the exit status once L{run}'s Deferred fired.
    """

    def __init__(self, reactor: Any, options: Options, err: Any,
                 connect: Optional[Callable[..., "Deferred[Any]"]] = None,
                 makeStdio: Optional[Callable[[Any], Any]] = None) -> None:
        """
        @param reactor: the reactor.
        @param options: the parsed L{Options}.
        @param err: text standard error.
        @param connect: L{vdetwist.vde.plug.connectPlug} or a fake.
        @param makeStdio: makes the standard I/O transport for a protocol
            (L{twisted.internet.stdio.StandardIO} by default).
        """
        if connect is None:
            from vdetwist.vde.plug import connectPlug
            connect = connectPlug
        self.reactor = reactor
        self.options = options
        self.err = err
        self.connect = connect
        self.makeStdio = makeStdio
        self.cable = Cable()
        self.status = 0
        self.child: Optional[ChildProcess] = None
        self.plugs: List[Any] = []
        self.stream: Optional[StreamFrameProtocol] = None

    def _open(self, url: str, end: CableEnd) -> "Deferred[Any]":
        """
        Connect one switch to one end of the cable.

        @param url: the URL.
        @param end: the cable end.
        @return: the plug's Deferred.
        """
        return self.connect(self.reactor, url, end, description=self.options["descr"],
                            timeout=self.options["timeout"])

    def _failed(self, url: str, reason: Failure, prefix: str = "vde_open") -> None:
        """
        Say why the switch cannot be reached, as vde_plug does.

        @param url: the URL (or the command).
        @param reason: the failure.
        @param prefix: the start of the message.
        """
        self.err.write("%s %s: %s\n" % (prefix, url or "default switch", reason.getErrorMessage()))
        self.err.flush()
        self.status = 1

    def run(self) -> "Deferred[int]":
        """
        Do it.

        @return: a Deferred firing with the exit status.
        """
        result: Deferred[int] = Deferred()
        url = self.options["url"]

        def finished(_: object) -> None:
            """
            The cable is down: report, and give the exit status.
            """
            try:
                self._report()
            except OSError:
                # Standard error is gone (a closed pipe): nobody to tell.
                pass
            if not result.called:
                result.callback(self.status)

        self.cable.done.addCallback(finished)

        def plugged(plug: Any) -> None:
            """
            The (first) switch is attached: attach the other side.
            """
            self.plugs.append(plug)
            if self.options["url2"] is not None:
                url2 = self.options["url2"]
                d = self._open(url2, self.cable.right)
                d.addCallbacks(self.plugs.append, lambda f: self._giveUp(url2, f))
            elif self.options["command"] is not None:
                self._startChild(plug)
            else:
                self._startStdio(plug)

        def failed(reason: Failure) -> None:
            """
            The switch cannot be reached: say why and finish.
            """
            self._failed(url, reason)
            result.callback(self.status)

        self._open(url, self.cable.left).addCallbacks(plugged, failed)
        return result

    def _giveUp(self, url: str, reason: Failure, prefix: str = "vde_open") -> None:
        """
        The second switch or the child cannot be reached: report, and take
        the first plug down.

        @param url: what failed.
        @param reason: why.
        @param prefix: the start of the message.
        """
        self._failed(url, reason, prefix)
        self.cable.abandon(self.cable.right)

    def _startStdio(self, plug: Any) -> None:
        """
        Put the stream framing on standard input and output.

        @param plug: the switch's plug (paused while standard output is
            full).
        """
        self.stream = _StdioStreamFrameProtocol(self.cable.right)
        if self.makeStdio is None:
            from twisted.internet import stdio
            transport = stdio.StandardIO(self.stream, reactor=self.reactor)  # type: ignore[no-untyped-call]
        else:
            transport = self.makeStdio(self.stream)
        if IConsumer.providedBy(transport) or hasattr(transport, "registerProducer"):
            transport.registerProducer(plug, True)  # type: ignore[no-untyped-call]

    def _startChild(self, plug: Any) -> None:
        """
        Run the command with the stream framing on its pipes.

        @param plug: the switch's plug.
        """
        command = self.options["command"]
        executable = shutil.which(command[0])
        if executable is None:
            self._giveUp(command[0], Failure(OSError("command not found")), "vdetwist plug:")  # type: ignore[no-untyped-call]
            return
        stream = _ChildStreamFrameProtocol(self.cable.right)
        child = ChildProcess(stream, self.reactor)
        stream.child = child
        self.child = child
        self.stream = stream
        transport = self.reactor.spawnProcess(
            child, executable, command, env=os.environ.copy(),
            childFDs={0: "w", 1: "r", 2: 2})
        if hasattr(transport, "registerProducer"):
            transport.registerProducer(plug, True)

    def _report(self) -> None:
        """
        Say why the plug ended when it was the switch, and the counts with
        C{-v}.
        """
        reason = self.cable.firstReason
        if (self.cable.firstLost is self.cable.left and isinstance(reason, Failure)
                and not reason.check(ConnectionDone, ProcessDone)):  # type: ignore[no-untyped-call]
            self.err.write("vdetwist plug: %s\n" % (_describe(reason),))
        if self.options["verbose"]:
            for plug in self.plugs:
                self.err.write("vdetwist plug: %s: %d frames in, %d out, %d dropped\n" % (
                    plug.url.path or "default switch", plug.framesIn, plug.framesOut,
                    plug.drops))
            if self.stream is not None:
                self.err.write("vdetwist plug: stream: %d frames in, %d out, %d dropped, "
                               "%d framing errors\n" % (
                                   self.stream.framesIn, self.stream.framesOut,
                                   self.stream.drops, self.stream.decoder.lengthErrors))
        self.err.flush()


def _describe(reason: Failure) -> str:
    """
    A failure's own message, without the generic text Twisted's connection
    errors put before it.

    @param reason: the failure.
    @return: the message.
    """
    args = getattr(reason.value, "args", ())
    if args and all(isinstance(a, str) for a in args):
        return " ".join(args)
    return reason.getErrorMessage()


def main(argv: List[str]) -> int:
    """
    Run C{vdetwist plug}.

    @param argv: the arguments after C{plug}.
    @return: the exit status.
    """
    options = Options()  # type: ignore[no-untyped-call]
    try:
        options.parseOptions(argv)  # type: ignore[no-untyped-call]
    except usage.UsageError as e:
        print("vdetwist plug: %s\n%s" % (e, options), file=sys.stderr)
        return 2
    from twisted.internet import reactor
    status = [1]
    plug = Plug(reactor, options, sys.stderr)

    def start() -> None:
        """
        Begin once the reactor runs.
        """
        d = plug.run()

        def stop(_: object = None) -> None:
            """
            Stop the reactor, unless it is already stopping (a signal).
            """
            try:
                reactor.stop()
            except ReactorNotRunning:
                pass

        def finished(code: int) -> None:
            """
            Record the exit status and stop, once the child (if any) is gone.
            """
            status[0] = code
            child = plug.child
            if child is not None and not child.ended.called:
                child.stop()
                child.ended.addBoth(stop)
            else:
                stop()

        def failed(reason: Failure) -> None:
            """
            A bug: say so (if standard error is still there) and stop.
            """
            try:
                sys.stderr.write("vdetwist plug: %s\n" % (reason.getTraceback(),))
            except OSError:
                pass
            stop()
        d.addCallbacks(finished, failed)

    reactor.callWhenRunning(start)
    reactor.run()
    return status[0]
