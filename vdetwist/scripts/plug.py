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
    vdetwist plug -d -p /run/cable.pid vde:///tmp/sw1 ptp:///tmp/link

A URL is any of vdeplug4's forms the project can attach to (see
L{vdetwist.scripts.plugurls}): C{vde://DIR[PORT]} or a plain directory, a
switch; C{ptp://PATH}, point to point with another plug (vde_plug's too)
naming the same path; C{cmd://COMMAND}, a command carrying the stream
framing on its standard input and output; C{tap://IFNAME}, a Linux tap.
Other schemes (C{slirp://}, C{vxlan://}, ...) are refused with one line
and status 1.  vde_plug's C{-m}/C{-M} and C{-g}/C{-G} set the mode and
group of the socket the first/second URL binds (vde, ptp); C{-d} runs in
the background once everything is attached (the command returns 0 then,
or 1 with the reason if attaching failed) and C{-p} writes a pid file,
removed at exit.

The stream carries each Ethernet frame after its length as 2 bytes big
endian (docs/vde-protocol.md section 3, L{vdetwist.vde.stream}); a length
above 9236 discards the rest of that read, as vde_plug does.  The switch
shows the endpoint as C{vdeplug: user=NAME pid=PID} (C{-D} changes the
first word), as it shows Debian's vde_plug.

Ending, as vde_plug: exit status 0 when the input ends (end of standard
input, or the child closed its standard output or exited) and when the
switch closes our port (C{port/epclose}; a message says so on standard
error); 1, with C{vde_open URL: reason}, when the switch cannot be reached
at start; 2 for bad usage.  Unlike vde_plug, a switch that goes away (it
exits or is restarted) does not end the plug: it says so on standard error,
drops the frames meanwhile, and attaches again, with backoff, when the
switch is back (L{vdetwist.vde.attach.SwitchAttachment}).  A child gets the end of its standard
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
from twisted.python import usage
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import IFrameProtocol, IFrameTransport
from vdetwist.version import VersionOption
from vdetwist.scripts.plugurls import (
    ChildProcess,
    ChildStreamFrameProtocol,
    UnsupportedURL,
    checkURL,
    unregisterProducer,
)
from vdetwist.vde.stream import StreamFrameProtocol

#: The description vde_plug gives the switch (vdeplug4's default).
DEFAULT_DESCRIPTION = "vdeplug:"

#: The old private names, for callers of this module.
_ChildStreamFrameProtocol = ChildStreamFrameProtocol
_unregisterProducer = unregisterProducer


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


def _mode(text: str) -> int:
    """
    A socket mode in octal, as vde_plug's C{-m} takes it.

    @raise ValueError: not an octal mode.
    """
    mode = int(text, 8)
    if not 0 <= mode <= 0o7777:
        raise ValueError("mode out of range: %r" % (text,))
    return mode


class Options(VersionOption, usage.Options):
    """
    vde_plug's options and arguments.
    """

    synopsis = ("[-D DESCR] [-v] [-d] [-p PIDFILE] [-m MODE] [-g GROUP] "
                "URL [URL2 | = COMMAND [ARGS...]]\n"
                "URL: vde://DIR[PORT] or DIR, ptp://PATH, cmd://COMMAND, tap://IFNAME")
    command = "vdetwist plug"

    optFlags = [
        ["verbose", "v", "Print frame counts and drops on standard error at the end."],
        ["daemon", "d", "Run in the background (once attached; standard input and "
         "output become /dev/null)."],
    ]
    optParameters = [
        ["descr", "D", DEFAULT_DESCRIPTION, "The description the switch shows."],
        ["timeout", "t", 10.0, "Seconds to wait for the switch's answer.", float],
        ["pidfile", "p", None, "Write the process id to this file (removed at exit)."],
        ["mod", "m", None, "The mode of our socket, octal (vde:// and ptp://; default 0700).",
         _mode],
        ["mod2", "M", None, "Like -m, for the second URL.", _mode],
        ["group", "g", None, "The group of our socket (vde:// and ptp://)."],
        ["group2", "G", None, "Like -g, for the second URL."],
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

    def postOptions(self) -> None:
        """
        Check the URLs' schemes.

        @raise UnsupportedURL: a scheme C{vdetwist plug} cannot attach to.
        """
        for url in (self["url"], self["url2"]):
            if url:
                checkURL(url)


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
        @param connect: L{vdetwist.scripts.plugurls.connectURL} or a fake.
        @param makeStdio: makes the standard I/O transport for a protocol
            (L{twisted.internet.stdio.StandardIO} by default).
        """
        if connect is None:
            from vdetwist.scripts.plugurls import connectURL
            connect = connectURL
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
        self.children: List[ChildProcess] = []
        self.ready: Deferred[None] = Deferred()

    def _open(self, url: str, end: CableEnd) -> "Deferred[Any]":
        """
        Connect one switch to one end of the cable.

        @param url: the URL.
        @param end: the cable end.
        @return: the plug's Deferred.
        """
        first = end is self.cable.left
        extra = {}
        mode = self.options["mod" if first else "mod2"]
        group = self.options["group" if first else "group2"]
        if mode is not None:
            extra["mode"] = mode
        if group is not None:
            extra["group"] = group
        d = self.connect(self.reactor, url, end, description=self.options["descr"],
                         timeout=self.options["timeout"], **extra)

        def opened(plug: Any) -> Any:
            child = getattr(plug, "child", None)
            if isinstance(child, ChildProcess):
                self.children.append(child)
            if hasattr(plug, "addWentAwayObserver"):
                self._sayOutages(plug)
            return plug
        return d.addCallback(opened)

    def _sayOutages(self, attachment: Any) -> None:
        """
        Say on standard error when a switch goes away and when it is
        attached again (a L{vdetwist.vde.attach.SwitchAttachment}
        reattaches by itself).

        @param attachment: the switch's attachment.
        """
        def say(text: str) -> None:
            try:
                self.err.write("vdetwist plug: switch %s %s\n" % (attachment.name, text))
                self.err.flush()
            except OSError:
                pass
        attachment.addWentAwayObserver(lambda: say("went away; reconnecting"))
        attachment.addReattachObserver(lambda: say("is back; reattached"))

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

                def second(plug2: Any) -> None:
                    self.plugs.append(plug2)
                    self._ready()
                d.addCallbacks(second, lambda f: self._giveUp(url2, f))
            elif self.options["command"] is not None:
                self._startChild(plug)
                self._ready()
            else:
                self._startStdio(plug)
                self._ready()

        def failed(reason: Failure) -> None:
            """
            The switch cannot be reached: say why and finish.
            """
            self._failed(url, reason)
            if not result.called:
                result.callback(self.status)

        self._open(url, self.cable.left).addCallbacks(plugged, failed)
        return result

    def _ready(self) -> None:
        """
        Everything is attached: fire L{ready} (a daemon's parent exits 0).
        """
        if not self.ready.called and not self.cable.done.called:
            self.ready.callback(None)

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
                    _name(plug), plug.framesIn, plug.framesOut,
                    plug.drops))
            if self.stream is not None:
                self.err.write("vdetwist plug: stream: %d frames in, %d out, %d dropped, "
                               "%d framing errors\n" % (
                                   self.stream.framesIn, self.stream.framesOut,
                                   self.stream.drops, self.stream.decoder.lengthErrors))
        self.err.flush()


def _name(plug: Any) -> str:
    """
    What messages call an attachment.

    @param plug: a switch's plug or another attachment.
    @return: its name, or its switch directory.
    """
    name = getattr(plug, "name", None)
    if name:
        return str(name)
    return plug.url.path or "default switch"


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
    except UnsupportedURL as e:
        print("vdetwist plug: %s" % (e,), file=sys.stderr)
        return 1
    except usage.UsageError as e:
        print("vdetwist plug: %s\n%s" % (e, options), file=sys.stderr)
        return 2
    from vdetwist.scripts.daemon import PidFile, ReadyNotifier, detach
    pidfile = PidFile(options["pidfile"]) if options["pidfile"] else None
    notifier = detach() if options["daemon"] else ReadyNotifier(None)
    if pidfile is not None:
        try:
            pidfile.write()
        except OSError as e:
            print("vdetwist plug: cannot write the pid file %s: %s" % (
                pidfile.path, e.strerror), file=sys.stderr)
            return 1
    try:
        return _run(options, notifier)
    finally:
        if pidfile is not None:
            pidfile.remove()


def _run(options: Options, notifier: Any) -> int:
    """
    Run the plug in the reactor.

    @param options: the parsed options.
    @param notifier: told when everything is attached (C{-d}).
    @return: the exit status.
    """
    from twisted.internet import reactor
    status = [1]
    plug = Plug(reactor, options, sys.stderr)
    plug.ready.addCallback(lambda _: notifier.ready())

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
            from twisted.internet.defer import gatherResults
            waiting = []
            for child in [plug.child] + plug.children:
                if child is not None and not child.ended.called:
                    child.stop()
                    waiting.append(child.ended)
            if waiting:
                gatherResults(waiting).addBoth(stop)
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
