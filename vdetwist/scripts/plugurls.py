# -*- test-case-name: tests.scripts.test_plugurls -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
vdeplug4's URL forms for C{vdetwist plug}: what one end of a plug can be.

    vde:///tmp/sw  or  /tmp/sw    a VDE switch (L{vdetwist.vde.plug})
    ptp:///tmp/x                   point to point: two plugs meet on a
                                   datagram socket path
    cmd://"ssh host vde_plug"      a command carrying VDE stream framing
                                   on its standard input and output
    tap://tap0                     a Linux tap interface (needs root, or a
                                   tap made for the user)

L{connectURL} opens any of them as an L{IFrameTransport} (and
L{IPushProducer}) and connects an L{IFrameProtocol} to it, as
L{vdetwist.vde.plug.connectPlug} does for switches; other schemes fail
with L{UnsupportedURL}.

C{ptp} is vdeplug4's C{libvdeplug_ptp}: the first plug binds a datagram
socket at PATH and sends to C{PATH+}; the second, finding PATH bound,
connects to it and binds C{PATH+}; a third gets C{EADDRINUSE}.  Each
removes the path it bound when it closes.  Frames are one per datagram;
there is no control connection, so a ptp plug never ends by itself.

C{cmd} is C{libvdeplug_cmd}: the command (split as a shell would, no shell
run) gets frames with their 2-byte big-endian length on its standard
input and gives frames so framed on its standard output; its end ends the
plug (C{VDE terminated: cmd://COMMAND} on standard error, as vdeplug4).

C{tap} is C{libvdeplug_tap}: C{/dev/net/tun} with C{IFF_TAP|IFF_NO_PI},
one frame per read and write.

This module holds the operating-system code of these attachments until it
finds its place below the faces.
"""

import errno
import os
import shlex
import shutil
import socket
import stat
import struct
from typing import Any, Callable, Optional, Tuple

from twisted.internet.defer import Deferred, fail, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IPushProducer, IReadDescriptor
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import IFrameProtocol, IFrameTransport
from vdetwist.vde.stream import StreamFrameProtocol
from vdetwist.wire.frames import MAX_FRAME

#: The schemes L{connectURL} opens.
SUPPORTED_SCHEMES = ("vde", "ptp", "cmd", "tap")

# The largest frame read is MAX_FRAME, vdeplug4's VDE_ETHBUFSIZE.

#: Seconds a child may take to exit after its input ended.
CHILD_GRACE = 2.0

#: Bytes of send buffer for datagram sockets (as the VDE plug's).
SEND_BUFFER = 1 << 20

# Linux's tun/tap interface (linux/if_tun.h).
TUNSETIFF = 0x400454CA
IFF_TAP = 0x0002
IFF_NO_PI = 0x1000


class UnsupportedURL(ValueError):
    """
    A URL whose scheme C{vdetwist plug} cannot attach to.
    """


def splitURL(url: str) -> Tuple[str, str]:
    """
    Split a vdeplug4 URL into its scheme and the rest; a plain path (or
    the empty default) is C{vde}.

    @param url: the URL.
    @return: C{(scheme, rest)}.
    """
    if "://" in url:
        scheme, rest = url.split("://", 1)
        return scheme, rest
    return "vde", url


def checkURL(url: str) -> str:
    """
    Check that a URL's scheme is supported.

    @param url: the URL.
    @return: its scheme.
    @raise UnsupportedURL: with the one-line reason.
    """
    scheme = splitURL(url)[0]
    if scheme not in SUPPORTED_SCHEMES:
        raise UnsupportedURL("URL scheme %r is not supported (supported: %s)" % (
            scheme, ", ".join(SUPPORTED_SCHEMES)))
    return scheme


def connectURL(reactor: Any, url: str, protocol: Any, description: str = "vdeplug:",
               timeout: float = 10.0, mode: Optional[int] = None,
               group: Optional[str] = None) -> "Deferred[Any]":
    """
    Attach a frame protocol to what a vdeplug4 URL names.

    @param reactor: the reactor.
    @param url: the URL (see the module docstring).
    @param protocol: an L{IFrameProtocol}; it gets C{makeConnection} before
        the Deferred fires, and C{connectionLost} when the attachment ends.
    @param description: for a switch, the description it shows.
    @param timeout: for a switch, seconds to wait for its answer.
    @param mode: the mode of the socket this end binds (C{vde}, C{ptp});
        L{None} for the default, 0700 (a C{vde} URL's own C{mode=} wins).
    @param group: the group to give that socket, or L{None}.
    @return: a Deferred firing with the attachment (with C{framesIn},
        C{framesOut}, C{drops} and C{name}), or failing with
        L{UnsupportedURL}, L{OSError} or the switch's errors.
    """
    try:
        scheme = checkURL(url)
    except UnsupportedURL:
        return fail()
    rest = splitURL(url)[1]
    if scheme == "vde":
        return _connectVDE(reactor, url, protocol, description, timeout, mode, group)
    try:
        if scheme == "ptp":
            attachment: Any = _openPTP(reactor, rest, protocol, mode, group)
        elif scheme == "tap":
            attachment = _openTap(reactor, rest, protocol)
        else:
            attachment = _spawnCommand(reactor, rest, protocol)
    except (OSError, ValueError):
        return fail()
    return succeed(attachment)


def _connectVDE(reactor: Any, url: str, protocol: Any, description: str, timeout: float,
                mode: Optional[int], group: Optional[str]) -> "Deferred[Any]":
    """
    A switch: L{vdetwist.vde.attach.attachPersistently} (a plug that
    reattaches when the switch restarts), with C{-m}/C{-g} applied when the
    URL does not set them.
    """
    import dataclasses

    from vdetwist.vde.attach import attachPersistently
    from vdetwist.vde.url import DEFAULT_MODE, parseVDEURL
    try:
        parsed = parseVDEURL(url)
    except ValueError:
        return fail()
    if mode is not None and parsed.mode == DEFAULT_MODE:
        parsed = dataclasses.replace(parsed, mode=mode)
    if group is not None and parsed.group is None:
        parsed = dataclasses.replace(parsed, group=group)
    return attachPersistently(reactor, parsed, protocol, description=description,
                              timeout=timeout)


@implementer(IReadDescriptor, IFrameTransport, IPushProducer)
class DescriptorPlug:
    """
    Frames on one descriptor, one frame per datagram or read: a ptp socket
    or a tap.  Sending never raises: what the kernel refuses is dropped
    and counted.

    @ivar protocol: the L{IFrameProtocol} frames go to.
    @ivar name: what messages call it (the URL).
    @ivar framesIn: frames delivered.
    @ivar framesOut: frames sent.
    @ivar drops: frames dropped (refused on send, or runts read).
    @ivar ownPath: a socket path to remove when closing, or L{None}.
    """

    maxReadsPerWakeup = 64

    def __init__(self, reactor: Any, fd: int, protocol: Any, name: str,
                 receive: Callable[[int], bytes], send: Callable[[bytes], Any],
                 close: Callable[[], None], ownPath: Optional[str] = None) -> None:
        """
        @param reactor: an L{IReactorFDSet}.
        @param fd: the descriptor (nonblocking).
        @param protocol: where frames go.
        @param name: the URL, for messages.
        @param receive: reads one frame (at most its argument bytes).
        @param send: writes one frame.
        @param close: closes the descriptor.
        @param ownPath: a path to unlink when closing.
        """
        self.reactor = reactor
        self.protocol = protocol
        self.name = name
        self.framesIn = self.framesOut = self.drops = 0
        self.ownPath = ownPath
        self.disconnected = False
        self._fd = fd
        self._receive = receive
        self._send = send
        self._close = close
        self._reading = False
        self._paused = False

    def fileno(self) -> int:
        """
        @return: the descriptor (-1 once closed).
        """
        return self._fd

    def logPrefix(self) -> str:
        """
        @return: the log prefix.
        """
        return "DescriptorPlug"

    def start(self) -> None:
        """
        Connect the protocol and start reading.
        """
        if IFrameProtocol.providedBy(self.protocol):
            self.protocol.makeConnection(self)
        self._startReading()

    def _startReading(self) -> None:
        if not self._reading and not self._paused and not self.disconnected:
            self._reading = True
            self.reactor.addReader(self)

    def _stopReading(self) -> None:
        if self._reading:
            self._reading = False
            self.reactor.removeReader(self)

    def doRead(self) -> None:
        """
        Read the frames waiting, up to L{maxReadsPerWakeup}.
        """
        frameReceived = self.protocol.frameReceived
        for _ in range(self.maxReadsPerWakeup):
            try:
                frame = self._receive(MAX_FRAME + 1)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                # A ptp peer gone away (ECONNREFUSED) and the like: go on.
                return
            if len(frame) < 14 or len(frame) > MAX_FRAME:
                self.drops += 1
                continue
            self.framesIn += 1
            frameReceived(frame)
            if not self._reading:
                return

    def sendFrame(self, frame: bytes) -> None:
        """
        Send one frame; dropped and counted when refused.

        @param frame: the frame.
        """
        if self.disconnected:
            self.drops += 1
            return
        try:
            self._send(frame)
        except OSError:
            self.drops += 1
            return
        self.framesOut += 1

    def pauseProducing(self) -> None:
        """
        Stop reading frames.
        """
        self._paused = True
        self._stopReading()

    def resumeProducing(self) -> None:
        """
        Read frames again.
        """
        self._paused = False
        self._startReading()

    def stopProducing(self) -> None:
        """
        Close.
        """
        self.loseConnection()

    def loseConnection(self) -> None:
        """
        Close the descriptor, remove our socket path, and tell the protocol.
        """
        self._lost(Failure(ConnectionDone("%s closed" % (self.name,))))  # type: ignore[no-untyped-call]

    def connectionLost(self, reason: Failure) -> None:
        """
        The reactor dropped the descriptor (shutdown, or an error).

        @param reason: why.
        """
        self._reading = False
        self._lost(reason)

    def _lost(self, reason: Failure) -> None:
        if self.disconnected:
            return
        self.disconnected = True
        self._stopReading()
        self._fd = -1
        try:
            self._close()
        except OSError:
            pass
        if self.ownPath is not None:
            try:
                os.unlink(self.ownPath)
            except OSError:
                pass
        if IFrameProtocol.providedBy(self.protocol):
            self.protocol.connectionLost(reason)


def _datagramSocket() -> socket.socket:
    """
    A nonblocking AF_UNIX datagram socket with a large send buffer.
    """
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
    except OSError:
        pass
    return sock


def _inUse(path: str) -> bool:
    """
    Whether a live datagram socket is bound at C{path}; a stale socket
    file (nobody bound) is removed, as vdeplug4 does.

    @param path: the path.
    @return: the answer.
    """
    try:
        if not stat.S_ISSOCK(os.stat(path).st_mode):
            return False
    except OSError:
        return False
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        probe.connect(path)
        return True
    except ConnectionRefusedError:
        try:
            os.unlink(path)
        except OSError:
            pass
        return False
    except OSError:
        return False
    finally:
        probe.close()


def _permissions(path: str, mode: Optional[int], group: Optional[str]) -> None:
    """
    Give our socket its group and mode (0700 by default), as vdeplug4.
    """
    if group is not None:
        import grp
        gid = int(group) if group.isdigit() else grp.getgrnam(group).gr_gid
        os.chown(path, -1, gid)
    os.chmod(path, 0o700 if mode is None else mode)


def _openPTP(reactor: Any, path: str, protocol: Any, mode: Optional[int],
             group: Optional[str]) -> DescriptorPlug:
    """
    Open a ptp end: bind PATH and send to PATH+ if PATH is free; else
    connect to PATH and bind PATH+.

    @raise OSError: neither works (C{EADDRINUSE} for a third plug).
    """
    if not path:
        raise OSError(errno.EINVAL, "a ptp URL needs a path")
    sock = _datagramSocket()
    try:
        if _inUse(path):
            raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))
        sock.bind(path)
        own, peer, first = path, path + "+", True
    except OSError:
        sock.close()
        sock = _datagramSocket()
        try:
            sock.connect(path)
            if _inUse(path + "+"):
                raise OSError(errno.EADDRINUSE, os.strerror(errno.EADDRINUSE))
            sock.bind(path + "+")
        except BaseException:
            sock.close()
            raise
        own, peer, first = path + "+", path, False
    try:
        _permissions(own, mode, group)
    except (OSError, KeyError) as e:
        sock.close()
        os.unlink(own)
        raise OSError(getattr(e, "errno", errno.EINVAL), str(e))
    sock.setblocking(False)
    if first:
        def send(frame: bytes) -> Any:
            return sock.sendto(frame, peer)
    else:
        send = sock.send
    plug = DescriptorPlug(reactor, sock.fileno(), protocol, "ptp://" + path,
                          sock.recv, send, sock.close, ownPath=own)
    plug.start()
    return plug


def _openTap(reactor: Any, name: str, protocol: Any) -> DescriptorPlug:
    """
    Open the tap interface C{name} (made if missing, as vdeplug4's).

    @raise OSError: no /dev/net/tun, not allowed, a bad name.
    """
    if not name or len(name.encode()) > 15 or "/" in name:
        raise OSError(errno.EINVAL, "bad tap interface name %r" % (name,))
    import fcntl
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", name.encode(), IFF_TAP | IFF_NO_PI))
    except OSError:
        os.close(fd)
        raise
    plug = DescriptorPlug(reactor, fd, protocol, "tap://" + name,
                          lambda size: os.read(fd, size), lambda frame: os.write(fd, frame),
                          lambda: os.close(fd))
    plug.start()
    return plug


class ChildProcess(ProcessProtocol):
    """
    A child process speaking the stream framing on its standard input and
    output (C{vdetwist plug URL = COMMAND}, C{cmd://COMMAND}); its standard
    error is ours.

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
            unregisterProducer(transport)
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


def unregisterProducer(transport: Any) -> None:
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


class ChildStreamFrameProtocol(StreamFrameProtocol):
    """
    The stream framing on a child's pipes: closing it closes the child's
    standard input instead of killing the child.

    @ivar child: the L{ChildProcess}.
    @ivar name: what messages call it.
    """

    child: Optional[ChildProcess] = None
    name = "command"
    closing = False

    def loseConnection(self) -> None:
        """
        The plug ended: let the child finish.
        """
        self.closing = True
        if self.child is not None:
            self.child.stop()


def spawnChild(reactor: Any, argv: "list[str]", protocol: Any,
               name: str) -> ChildStreamFrameProtocol:
    """
    Run a command with the stream framing on its pipes; C{protocol} is
    connected when it runs.

    @param reactor: an L{IReactorProcess}.
    @param argv: the command and its arguments (looked up in C{PATH}).
    @param protocol: the L{IFrameProtocol}.
    @param name: what messages call it.
    @return: the stream (its C{child} is the L{ChildProcess}).
    @raise OSError: the command is not found.
    """
    executable = shutil.which(argv[0]) if argv else None
    if executable is None:
        raise OSError(errno.ENOENT, "command not found: %s" % (argv[0] if argv else "",))
    stream = ChildStreamFrameProtocol(protocol)
    stream.name = name
    child = ChildProcess(stream, reactor)
    stream.child = child
    reactor.spawnProcess(child, executable, argv, env=os.environ.copy(),
                         childFDs={0: "w", 1: "r", 2: 2})
    return stream


def _spawnCommand(reactor: Any, command: str, protocol: Any) -> ChildStreamFrameProtocol:
    """
    A C{cmd://} end: the command split as a shell would.

    @raise ValueError: bad quoting.
    @raise OSError: an empty command, or one not found.
    """
    argv = shlex.split(command)
    if not argv:
        raise OSError(errno.EINVAL, "a cmd URL needs a command")
    stream = spawnChild(reactor, argv, protocol, "cmd://" + command)

    def ended(_: object) -> None:
        # vdeplug4 says so when the command ended first.
        if not stream.closing:
            import sys
            try:
                sys.stderr.write("VDE terminated: cmd://%s\n" % (command,))
                sys.stderr.flush()
            except OSError:
                pass
    assert stream.child is not None
    stream.child.ended.addCallback(ended)
    return stream


__all__ = ["connectURL", "checkURL", "splitURL", "UnsupportedURL", "SUPPORTED_SCHEMES",
           "DescriptorPlug", "ChildProcess", "ChildStreamFrameProtocol", "spawnChild",
           "unregisterProducer", "CHILD_GRACE"]
