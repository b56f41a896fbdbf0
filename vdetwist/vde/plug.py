# -*- test-case-name: tests.vde.test_plug -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The datagram client of a VDE switch: the equivalent of vdeplug4's
C{libvdeplug_vde}, for Debian's C{vde_switch} or ours.

L{connectPlug} performs the handshake of docs/vde-protocol.md section 1.2
without blocking the reactor:

  1. resolve the switch directory (C{realpath});
  2. connect the control stream to C{DIR/ctl} (or C{DIR/<portgroup>} first);
  3. bind our C{SOCK_DGRAM} socket to C{DIR/.PPPPP-NNNNN} (retrying on
     EADDRINUSE; C{/var/run}, C{/var/tmp}, C{/tmp} as fallbacks), created
     0700 and then set to the requested mode;
  4. send the v3 request with the description
     C{"<descr> user=<login> pid=<pid>"};
  5. read the 110-byte reply (with a timeout: an r586 switch that refuses
     a request never answers);
  6. connect the datagram socket to the replied path and unlink our own.

The resulting L{VDEPlug} is an L{IFrameTransport}: one datagram per frame,
no header.  The control stream stays open and silent; its end (the switch
kicked us with C{port/epclose}, or exited) ends the plug.

OS calls go through a system object (L{vdetwist.vde.system.ISystem}, the
real one by default) so tests can inject failures; the reactor is passed in.

Usage::

    from twisted.internet import reactor
    from vdetwist.vde.plug import connectPlug

    d = connectPlug(reactor, "vde:///tmp/sw[5]", frameProtocol, "myapp")
    d.addCallback(lambda plug: plug.sendFrame(frame))

C{frameProtocol} is an L{IFrameReceiver} (or L{IFrameProtocol}, which
also gets C{makeConnection(plug)} and C{connectionLost(reason)}).
"""

import errno
import socket
from typing import Any, Callable, List, Optional, Union

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.endpoints import UNIXClientEndpoint, connectProtocol
from twisted.internet.error import ConnectionDone, ConnectionLost
from twisted.internet.interfaces import (
    IDelayedCall,
    IPushProducer,
    IReadDescriptor,
    ITransport,
)
from twisted.internet.protocol import Protocol, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import IFrameProtocol, IFrameReceiver, IFrameTransport
from vdetwist.vde.control import (
    MAX_DESCRIPTION,
    REQ_NEW_CONTROL,
    REQ_NEW_PORT0,
    SOCKADDR_UN_SIZE,
    SUN_PATH_SIZE,
    ControlRequest,
    parseReply,
)
from vdetwist.vde.system import RealSystem, datagramReceiver
from vdetwist.vde.url import VDEURL, parseVDEURL
from vdetwist.wire.frames import MAX_FRAME, MIN_FRAME

#: Where to look for a switch when the URL has no path.
DEFAULT_SWITCH_DIRS = ("/var/run/vde.ctl", "/tmp/vde.ctl")
#: Fallback directories for our socket when DIR refuses it.
FALLBACK_SOCKET_DIRS = ("/var/run", "/var/tmp", "/tmp")
#: How many sequence numbers to try per directory before giving up.
MAX_BIND_ATTEMPTS = 1000
#: The default handshake timeout, in seconds.
DEFAULT_TIMEOUT = 5.0

_log = Logger()


class VDEPlugError(Exception):
    """
    Connecting to a VDE switch failed; the message says where and why.
    """


class HandshakeRefused(VDEPlugError):
    """
    The switch closed the control connection instead of replying, or sent
    an unusable reply.
    """


class HandshakeTimeout(VDEPlugError):
    """
    The switch did not reply in time.  Debian's r586 switch never replies
    to a request it cannot satisfy (port out of range, held by another
    user, access denied), so this is how such a refusal shows.
    """


def formatDescription(description: str, system: Any) -> str:
    """
    Build the description the C library sends:
    C{"<descr> user=<login> pid=<pid>"}, plus C{" SSH=<client address>"}
    when C{SSH_CLIENT} is set, capped at 127 characters.

    @param description: the program's tag, e.g. C{"vdetwist"}.
    @param system: the L{vdetwist.vde.system.ISystem}.
    @return: the description.
    """
    text = "%s user=%s pid=%d" % (description, system.getLogin(), system.getpid())
    sshClient = system.getenv("SSH_CLIENT")
    if sshClient:
        text += " SSH=%s" % (sshClient.split(" ", 1)[0],)
    return text.encode("utf-8", "replace")[:MAX_DESCRIPTION].decode("utf-8", "ignore")


@implementer(IReadDescriptor)
class _DataReader:
    """
    The reactor's handle on a plug's datagram socket: each wakeup drains
    it into the plug.

    @ivar plug: the L{VDEPlug}.
    """

    def __init__(self, plug: "VDEPlug", fileno: int) -> None:
        """
        @param plug: the plug to read for.
        @param fileno: the socket's descriptor.
        """
        self.plug = plug
        self._fileno = fileno

    def fileno(self) -> int:
        """
        @return: the datagram socket's descriptor (-1 once closed).
        """
        return self._fileno

    def doRead(self) -> None:
        """
        Drain the socket.
        """
        self.plug._readFrames()

    def connectionLost(self, reason: Failure) -> None:
        """
        The reactor dropped the descriptor (an error, or shutdown).

        @param reason: why.
        """
        self._fileno = -1
        self.plug._readerLost(reason)

    def logPrefix(self) -> str:
        """
        @return: the log prefix.
        """
        return "VDEPlug"


def _sendClosed(frame: bytes) -> int:
    """
    C{send} of a closed plug.

    @param frame: ignored.
    @raise OSError: always (EBADF).
    """
    raise OSError(errno.EBADF, "VDE plug is closed")


@implementer(IFrameTransport, IPushProducer)
class VDEPlug:
    """
    A connected VDE datagram plug: one Ethernet frame per datagram on a
    socket connected to the switch's per-endpoint data socket.

    Frames shorter than 14 bytes, longer than L{MAX_FRAME}, or empty are
    dropped and counted on input; C{sendFrame} never raises and counts
    what the kernel refuses (EAGAIN, ENOBUFS, ECONNREFUSED, ...).

    @ivar protocol: the L{IFrameReceiver} frames are delivered to.
    @ivar url: the parsed URL.
    @ivar switchPath: the switch directory (resolved).
    @ivar ctlPath: the control socket connected to.
    @ivar dataPath: the switch's data socket for this endpoint.
    @ivar description: the description sent to the switch.
    @ivar framesIn: frames delivered.
    @ivar bytesIn: their bytes.
    @ivar framesOut: frames sent.
    @ivar bytesOut: their bytes.
    @ivar drops: frames dropped: input runts/oversize plus output errors.
    @ivar inputDrops: input frames dropped (shorter than 14 or longer than
        L{MAX_FRAME}).
    @ivar receiveErrors: errors from C{recv} other than EAGAIN.
    @ivar ctlBytesIgnored: bytes the switch wrote on the control stream
        after the handshake (real switches write none).
    @ivar maxDatagramsPerRead: the most datagrams read per reactor wakeup.
    @ivar disconnected: whether the plug is closed.
    """

    maxDatagramsPerRead = 256
    receiveSize = MAX_FRAME + 1

    def __init__(
        self,
        reactor: Any,
        sock: Any,
        ctlTransport: ITransport,
        protocol: IFrameReceiver,
        url: VDEURL,
        switchPath: str,
        ctlPath: str,
        dataPath: str,
        description: str,
    ) -> None:
        """
        Wrap an already connected socket; L{connectPlug} is the way to make
        one.

        @param reactor: an L{IReactorFDSet}.
        @param sock: the connected, nonblocking datagram socket.
        @param ctlTransport: the control stream's transport.
        @param protocol: where frames go.
        @param url: the URL connected to.
        @param switchPath: the resolved switch directory.
        @param ctlPath: the control socket's path.
        @param dataPath: the switch's data socket path.
        @param description: the description sent.
        """
        self.reactor = reactor
        self.protocol = protocol
        self.url = url
        self.switchPath = switchPath
        self.ctlPath = ctlPath
        self.dataPath = dataPath
        self.description = description
        self.framesIn = 0
        self.bytesIn = 0
        self.framesOut = 0
        self.bytesOut = 0
        self.drops = 0
        self.inputDrops = 0
        self.receiveErrors = 0
        self.ctlBytesIgnored = 0
        self.disconnected = False
        self.disconnecting = False
        self._sock = sock
        self._send: Callable[[bytes], int] = sock.send
        self._recv = datagramReceiver(sock, self.receiveSize)
        self._ctlTransport = ctlTransport
        self._reader = _DataReader(self, sock.fileno())
        self._reading = False
        self._paused = False
        self._notified = False
        #: Frames drained from the socket and not yet delivered (see
        #: L{_readFrames}).
        self._held: List[bytes] = []

    def __repr__(self) -> str:
        """
        @return: a short description for logs.
        """
        return "<VDEPlug %s -> %s%s>" % (
            self.switchPath, self.dataPath, " closed" if self.disconnected else "")

    # IFrameTransport

    def sendFrame(self, frame: bytes) -> None:
        """
        Send one frame as one datagram.  Never raises: a frame the kernel
        refuses is dropped and counted.

        @param frame: the frame.
        """
        try:
            self._send(frame)
        except OSError:
            self.drops += 1
            return
        self.framesOut += 1
        self.bytesOut += len(frame)

    def loseConnection(self) -> None:
        """
        Close the data socket and the control stream; the protocol's
        C{connectionLost} follows (with L{ConnectionDone}) once the control
        stream is closed.
        """
        if self.disconnected or self.disconnecting:
            return
        self.disconnecting = True
        self._closeData()
        self._ctlTransport.loseConnection()

    # IPushProducer

    def pauseProducing(self) -> None:
        """
        Stop reading frames until L{resumeProducing}.
        """
        self._paused = True
        self._stopReading()

    def resumeProducing(self) -> None:
        """
        Read frames again.
        """
        self._paused = False
        if not self.disconnected and not self.disconnecting:
            self.startReading()
            if self._held:
                # Frames drained before the pause go first, even if the
                # socket stays quiet.
                self.reactor.callLater(0, self._deliverHeld)

    def stopProducing(self) -> None:
        """
        Close the plug.
        """
        self.loseConnection()

    # Reading

    def startReading(self) -> None:
        """
        Add the datagram socket to the reactor.
        """
        if not self._reading and not self._paused:
            self._reading = True
            self.reactor.addReader(self._reader)

    def _stopReading(self) -> None:
        """
        Remove the datagram socket from the reactor.
        """
        if self._reading:
            self._reading = False
            self.reactor.removeReader(self._reader)

    def _readFrames(self) -> None:
        """
        Drain up to L{maxDatagramsPerRead} datagrams from the socket first,
        then deliver the frames of a valid length.  Draining first empties
        the kernel's queue in microseconds, so a burst that arrives while
        the frames are processed finds room there instead of being dropped
        by the sender (a switch's non-blocking send).  Delivery stops early
        when the protocol pauses or closes the plug from C{frameReceived};
        frames already drained then wait in L{_held} (at most
        L{maxDatagramsPerRead}) for L{resumeProducing}.
        """
        held = self._held
        if not held:
            recv = self._recv
            size = self.receiveSize
            frames = octets = dropped = 0
            try:
                for _ in range(self.maxDatagramsPerRead):
                    try:
                        data = recv(size)
                    except BlockingIOError:
                        break
                    except InterruptedError:
                        continue
                    except OSError:
                        if self._reading:
                            self.receiveErrors += 1
                        break
                    length = len(data)
                    if length < MIN_FRAME or length > MAX_FRAME:
                        dropped += 1
                        continue
                    frames += 1
                    octets += length
                    held.append(data)
            finally:
                self.framesIn += frames
                self.bytesIn += octets
                self.inputDrops += dropped
                self.drops += dropped
        self._deliverHeld()

    def _deliverHeld(self) -> None:
        """
        Deliver the drained frames in order while reading goes on.  A
        protocol with C{cork()} and C{uncork()} (a L{NetworkInterface
        <vdetwist.stack.interface.NetworkInterface>}) is corked around the
        batch, so what it sends in answer (a TCP sender's segments clocked
        by the ACKs read) leaves back to back once the batch is handled:
        on CPython a virtual host sent 0.56-0.68 Gbit/s to a kernel peer
        without, 0.97-1.02 with (docs/performance.txt, 2026-12-06).
        """
        held = self._held
        if not held or not self._reading:
            return
        protocol = self.protocol
        frameReceived = protocol.frameReceived
        cork = getattr(protocol, "cork", None)
        uncork = getattr(protocol, "uncork", None)
        if cork is None or uncork is None:
            cork = uncork = None
        else:
            cork()
        i = 0
        n = len(held)
        try:
            while i < n:
                frame = held[i]
                i += 1
                frameReceived(frame)
                if not self._reading:
                    break
        finally:
            if uncork is not None:
                uncork()
            if self.disconnected or self.disconnecting:
                held.clear()
            else:
                del held[:i]

    # Closing

    def _closeData(self) -> None:
        """
        Stop reading and close the datagram socket.
        """
        self._stopReading()
        self._send = _sendClosed
        self._sock.close()

    def _ctlDataReceived(self, data: bytes) -> None:
        """
        The switch wrote on the control stream after the handshake: ignore
        it (r586 never does; vde_plug would exit).

        @param data: the bytes.
        """
        self.ctlBytesIgnored += len(data)

    def _ctlLost(self, reason: Failure) -> None:
        """
        The control stream ended: the switch kicked us or went away, or we
        closed it.

        @param reason: the control transport's reason.
        """
        if self.disconnecting:
            self._finish(Failure(ConnectionDone("VDE plug closed")))
        else:
            self._finish(Failure(ConnectionLost(
                "the VDE switch at %s closed the control connection "
                "(endpoint closed by the switch, or the switch exited)"
                % (self.switchPath,))))

    def _readerLost(self, reason: Failure) -> None:
        """
        The reactor dropped the datagram socket (reactor shutdown, or an
        error in C{doRead}).

        @param reason: why.
        """
        self._reading = False
        if not self.disconnected:
            self._ctlTransport.loseConnection()
            self._finish(reason)

    def _finish(self, reason: Failure) -> None:
        """
        Close everything and tell the protocol, once.

        @param reason: what to tell it.
        """
        if not self.disconnected:
            self.disconnected = True
            if not self.disconnecting:
                self._closeData()
            self.disconnecting = False
        if not self._notified:
            self._notified = True
            if IFrameProtocol.providedBy(self.protocol):
                self.protocol.connectionLost(reason)


class _ControlProtocol(Protocol):
    """
    The control stream: carries the request, collects the 110-byte reply,
    then watches for the end of the connection.

    @ivar connector: the L{_PlugConnector} during the handshake.
    @ivar plug: the L{VDEPlug} after it.
    """

    def __init__(self, connector: "_PlugConnector") -> None:
        """
        @param connector: the handshake in progress.
        """
        self.connector: Optional[_PlugConnector] = connector
        self.plug: Optional[VDEPlug] = None
        self.buffer = b""

    def dataReceived(self, data: bytes) -> None:
        """
        Collect the reply, or ignore stray bytes after the handshake.

        @param data: bytes from the switch.
        """
        if self.plug is not None:
            self.plug._ctlDataReceived(data)
            return
        if self.connector is None:
            return
        self.buffer += data
        if len(self.buffer) >= SOCKADDR_UN_SIZE:
            connector, self.connector = self.connector, None
            reply, extra = self.buffer[:SOCKADDR_UN_SIZE], self.buffer[SOCKADDR_UN_SIZE:]
            self.buffer = b""
            connector._replyReceived(reply)
            if extra and self.plug is not None:
                self.plug._ctlDataReceived(extra)

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        Tell whoever is in charge.

        @param reason: why the stream ended.
        """
        if self.plug is not None:
            self.plug._ctlLost(reason)
        elif self.connector is not None:
            connector, self.connector = self.connector, None
            connector._ctlLostEarly(reason, len(self.buffer))


class _PlugConnector:
    """
    One handshake in progress; see L{connectPlug}.
    """

    def __init__(
        self,
        reactor: Any,
        url: VDEURL,
        protocol: IFrameReceiver,
        description: str,
        system: Any,
        timeout: float,
    ) -> None:
        """
        @param reactor: provides L{IReactorUNIX}, L{IReactorFDSet} and
            L{IReactorTime}.
        @param url: the parsed URL.
        @param protocol: the frame receiver to attach.
        @param description: the program's tag.
        @param system: the L{vdetwist.vde.system.ISystem}.
        @param timeout: the handshake timeout in seconds.
        """
        self.reactor = reactor
        self.url = url
        self.protocol = protocol
        self.system = system
        self.timeout = timeout
        self.description = formatDescription(description, system)
        self.deferred: Deferred[VDEPlug] = Deferred(self._cancel)
        self.sock: Any = None
        self.ownPath: Optional[str] = None
        self.mode = url.mode
        self.switchPath = ""
        self.ctlPath = ""
        self.ctl: Optional[_ControlProtocol] = None
        self._connecting: Optional[Deferred[Any]] = None
        self._timer: Optional[IDelayedCall] = None
        self._done = False

    def start(self) -> "Deferred[VDEPlug]":
        """
        Begin: resolve the switch and connect the control stream.

        @return: the Deferred of L{connectPlug}.
        """
        self._timer = self.reactor.callLater(self.timeout, self._timedOut)
        candidates = []
        try:
            if self.url.path:
                switchDirs = [self.system.realpath(self.url.path)]
            else:
                switchDirs = list(DEFAULT_SWITCH_DIRS)
        except OSError as e:
            self._fail(VDEPlugError("cannot open VDE switch %r: %s" % (
                self.url.path, e.strerror or e)))
            return self.deferred
        for switchDir in switchDirs:
            if self.url.portGroup is not None:
                candidates.append((switchDir, switchDir + "/" + self.url.portGroup))
            candidates.append((switchDir, switchDir + "/ctl"))
        self._tryConnect(candidates, None)
        return self.deferred

    def _tryConnect(self, candidates: list[tuple[str, str]],
                    lastError: Optional[Failure]) -> None:
        """
        Connect the control stream to the first candidate that answers.

        @param candidates: remaining C{(switchDir, ctlPath)} pairs.
        @param lastError: why the previous candidate failed.
        """
        if self._done:
            return
        if not candidates:
            assert lastError is not None
            self._fail(VDEPlugError("cannot connect to VDE switch %s: %s" % (
                self.ctlPath or self.url.path, lastError.getErrorMessage())))
            return
        (self.switchPath, self.ctlPath), rest = candidates[0], candidates[1:]
        self.ctl = _ControlProtocol(self)
        endpoint = UNIXClientEndpoint(self.reactor, self.ctlPath, timeout=self.timeout)
        self._connecting = connectProtocol(endpoint, self.ctl)

        def connected(_: object) -> None:
            """
            The control stream is up.
            """
            self._connecting = None
            self._ctlConnected()

        def failed(reason: Failure) -> None:
            """
            Try the next candidate, unless we gave up.
            """
            self._connecting = None
            if not reason.check(CancelledError):
                self._tryConnect(rest, reason)

        self._connecting.addCallbacks(connected, failed)

    def _ctlConnected(self) -> None:
        """
        The control stream is up: bind our datagram socket and send the
        request.
        """
        if self._done:
            return
        try:
            self._bindDataSocket()
            self._setPermissions()
            request = ControlRequest(
                version=3,
                requestType=REQ_NEW_PORT0 if self.url.port0 else REQ_NEW_CONTROL,
                port=self.url.requestPort(),
                path=self.ownPath.encode("utf-8"),  # type: ignore[union-attr]
                description=self.description,
            ).encode()
        except (OSError, ValueError, KeyError) as e:
            self._fail(VDEPlugError("cannot set up VDE data socket for %s: %s"
                                    % (self.switchPath, e)))
            return
        assert self.ctl is not None and self.ctl.transport is not None
        self.ctl.transport.write(request)

    def _bindDataSocket(self) -> None:
        """
        Create our datagram socket and bind it to C{DIR/.PPPPP-NNNNN} (or a
        fallback directory), created 0700 through the umask.

        @raise OSError: when no name could be bound.
        """
        system = self.system
        self.sock = system.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        pid = system.getpid()
        attempts = [(self.switchPath, ".%05d-%05d")]
        attempts += [(d, "vde.%05d-%05d") for d in FALLBACK_SOCKET_DIRS]
        lastError: Optional[OSError] = None
        for directory, pattern in attempts:
            for sequence in range(MAX_BIND_ATTEMPTS):
                path = directory + "/" + pattern % (pid, sequence)
                if len(path.encode("utf-8")) >= SUN_PATH_SIZE:
                    lastError = OSError(errno.ENAMETOOLONG, "socket path too long", path)
                    break
                old = system.umask(0o077)
                try:
                    self.sock.bind(path)
                except OSError as e:
                    lastError = e
                    if e.errno == errno.EADDRINUSE:
                        continue
                    break
                else:
                    self.ownPath = path
                    return
                finally:
                    system.umask(old)
        assert lastError is not None
        raise lastError

    def _setPermissions(self) -> None:
        """
        Give our socket its group and mode as vdeplug4 does: C{group=} if
        given; otherwise, for a private mode and a switch run by another
        non-root user, the switch's group (mode |= 070) or everyone
        (mode |= 077).

        @raise OSError: when the requested group cannot be set.
        @raise KeyError: for an unknown group name.
        """
        system, path = self.system, self.ownPath
        if self.url.group is not None:
            system.chown(path, -1, system.groupID(self.url.group))
        elif self.mode & 0o077 == 0:
            try:
                ctlStat = system.stat(self.ctlPath)
            except OSError:
                ctlStat = None
            if ctlStat is not None and ctlStat.st_uid not in (0, system.geteuid()):
                try:
                    system.chown(path, -1, ctlStat.st_gid)
                    self.mode |= 0o070
                except OSError:
                    self.mode |= 0o077
        system.chmod(path, self.mode)

    def _replyReceived(self, reply: bytes) -> None:
        """
        The 110-byte reply arrived: connect the data socket and finish.

        @param reply: the reply bytes.
        """
        if self._done:
            return
        rawPath = parseReply(reply)
        if rawPath is None:
            self._fail(HandshakeRefused(
                "VDE switch %s sent an unusable reply %r" % (self.switchPath, reply)))
            return
        dataPath = rawPath.decode("utf-8", "surrogateescape")
        try:
            self.sock.connect(dataPath if rawPath[:1] != b"\0" else rawPath)
            self.sock.setblocking(False)
        except OSError as e:
            self._fail(VDEPlugError("cannot connect to the VDE switch's data "
                                    "socket %s: %s" % (dataPath, e)))
            return
        try:
            self.system.chmod(dataPath, self.mode)
        except OSError:
            pass
        self._unlinkOwn()
        self._stopTimer()
        self._done = True
        assert self.ctl is not None and self.ctl.transport is not None
        plug = VDEPlug(self.reactor, self.sock, self.ctl.transport, self.protocol,
                       self.url, self.switchPath, self.ctlPath, dataPath,
                       self.description)
        self.ctl.plug = plug
        plug.startReading()
        if IFrameProtocol.providedBy(self.protocol):
            try:
                self.protocol.makeConnection(plug)
            except BaseException:
                # As with a Twisted protocol whose connectionMade raises:
                # close the connection (connectionLost follows) and report.
                failure = Failure()
                plug.loseConnection()
                self.deferred.errback(failure)
                return
        self.deferred.callback(plug)

    def _ctlLostEarly(self, reason: Failure, received: int) -> None:
        """
        The control stream ended before a complete reply.

        @param reason: why.
        @param received: how many reply bytes had arrived.
        """
        self._fail(HandshakeRefused(
            "VDE switch %s closed the control connection %s: the request was "
            "refused (port out of range or busy, bad request, or permission "
            "denied)" % (self.switchPath,
                         "after a short %d-byte reply" % (received,) if received
                         else "without replying")))

    def _timedOut(self) -> None:
        """
        No reply in time.
        """
        self._timer = None
        self._fail(HandshakeTimeout(
            "VDE switch %s did not reply within %g s (a vde_switch r586 never "
            "replies to a request it refuses: port out of range, held by "
            "another user, or not permitted)" % (
                self.switchPath or self.url.path or "(default)", self.timeout)))

    def _cancel(self, _: object) -> None:
        """
        The caller cancelled the Deferred.
        """
        self._cleanup()

    def _stopTimer(self) -> None:
        """
        Cancel the timeout.
        """
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    def _unlinkOwn(self) -> None:
        """
        Remove our socket's name from the filesystem.
        """
        if self.ownPath is not None:
            try:
                self.system.unlink(self.ownPath)
            except OSError:
                pass
            self.ownPath = None

    def _cleanup(self) -> None:
        """
        Undo everything done so far.
        """
        self._done = True
        self._stopTimer()
        if self._connecting is not None:
            connecting, self._connecting = self._connecting, None
            connecting.cancel()
        self._unlinkOwn()
        if self.sock is not None:
            self.sock.close()
            self.sock = None
        if self.ctl is not None:
            ctl, self.ctl = self.ctl, None
            ctl.connector = None
            transport: Any = ctl.transport
            if transport is not None:
                transport.abortConnection()

    def _fail(self, error: Exception) -> None:
        """
        Clean up and fail the Deferred.

        @param error: the error to fail with.
        """
        if self._done:
            return
        self._cleanup()
        self.deferred.errback(Failure(error))


def connectPlug(
    reactor: Any,
    url: Union[str, VDEURL],
    protocol: IFrameReceiver,
    description: str = "vdetwist",
    system: Optional[Any] = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> "Deferred[VDEPlug]":
    """
    Connect a frame protocol to a VDE switch.

    @param reactor: the reactor (L{IReactorUNIX}, L{IReactorFDSet},
        L{IReactorTime}).
    @param url: a C{vde://} URL or bare path (see L{vdetwist.vde.url}), or
        a parsed L{VDEURL}.
    @param protocol: the L{IFrameReceiver} for incoming frames; if it
        provides L{IFrameProtocol}, it gets C{makeConnection(plug)} before
        the Deferred fires and C{connectionLost} when the plug ends.
    @param description: the program's tag; the switch shows
        C{"<description> user=<login> pid=<pid>"}.
    @param system: the OS layer (tests); the real one by default.
    @param timeout: seconds to wait for the whole handshake.
    @return: a Deferred firing with the L{VDEPlug}, or failing with
        L{ValueError} (bad URL), L{VDEPlugError} (no switch, socket setup),
        L{HandshakeRefused} or L{HandshakeTimeout}.  Cancelling it aborts
        the handshake and cleans up.
    """
    if system is None:
        system = RealSystem()
    try:
        parsed = url if isinstance(url, VDEURL) else parseVDEURL(url)
    except ValueError as e:
        d: Deferred[VDEPlug] = Deferred()
        d.errback(Failure(e))
        return d
    return _PlugConnector(reactor, parsed, protocol, description, system,
                          timeout).start()
