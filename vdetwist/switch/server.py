# -*- test-case-name: tests.switch.test_server,tests.switch.test_endpoint -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The switch's control socket (C{DIR/ctl}) and per-endpoint datagram sockets:
the server side of docs/vde-protocol.md sections 1 and 2.

A client connects to C{DIR/ctl}, sends one request naming its own datagram
socket, and gets back the path of a datagram socket the switch made for it
alone; frames then flow as one datagram each.  The control stream stays
open: when either side closes it, the endpoint is gone.

Who the client is comes from the kernel (C{SO_PEERCRED} on the control
connection), not from the owner of a path the client names.
"""

import errno
import os
import platform
import socket
import struct
from typing import Any, Dict, List, Optional, Set, Tuple

from twisted.application.service import Service
from twisted.internet import protocol
from twisted.internet.interfaces import IReadDescriptor
from twisted.logger import Logger
from zope.interface import implementer

from vdetwist.interfaces import ISwitchPort
from vdetwist.vde import local, mmsg
from vdetwist.vde.announce import DEFAULT_MTU, removeAnnouncement, writeAnnouncement
from vdetwist.vde.system import RealSystem, claimSocketPath, datagramReceiver
from vdetwist.switch.switch import Switch, SwitchError
from vdetwist.vde.control import (
    REQ_NEW_PORT0, BadRequest, ControlRequest, encodeReply, parseRequest, plausiblePrefix,
    requestSize)
from vdetwist.wire.frames import MAX_FRAME

log = Logger(namespace="vdetwist.switch")

#: Frames drained from one endpoint per reactor wakeup, so one busy client
#: cannot starve the others.
READ_BATCH = 64
#: Seconds a client may take to send its request, from connecting.
REQUEST_TIMEOUT = 10.0
#: Seconds from a request's first byte to its last: the C clients send it in
#: one C{send()}, so a request still partial after this is broken or hostile.
PARTIAL_TIMEOUT = 1.0
#: The most endpoints served at once (each costs two descriptors).
MAX_ENDPOINTS = 1024
#: The most handshakes unfinished at once (each costs a descriptor and two
#: timers); connections past it are closed at once, counted as C{busy}.
MAX_PENDING = 64
#: Refusals logged one by one per L{LOG_INTERVAL}; the rest are counted and
#: summed up in one line when the interval ends.
LOG_BURST = 10
#: Seconds of the refusal log's rate limit.
LOG_INTERVAL = 10.0

#: Whether datagram endpoints move their batches with C{recvmmsg} and
#: C{sendmmsg} (L{vdetwist.vde.mmsg}): on PyPy, where the cffi calls are
#: cheap and save one system call per frame read and per frame sent but
#: the first of each client's batch (and the C{recv} that found the queue
#: empty).  On CPython the plain socket calls cost less
#: (docs/performance.txt, "PyPy").
MULTI_MESSAGE = platform.python_implementation() == "PyPy" and mmsg.available()

#: How our own clients' descriptions start (C{vdetwist cat}'s, slirp's,
#: the C{vde:} endpoints', C{vdetwist ns}'s); an endpoint whose description
#: does not, on a switch announcing an MTU above 1500, gets a warning: it
#: may be a C tool that cannot take jumbo frames.
OUR_DESCRIPTIONS = "vdetwist"

#: The kernel's C{struct ucred}: pid, uid, gid.
_PEERCRED = struct.Struct("3i")
#: C{SO_PEERCRED}; PyPy's socket module lacks the name, Linux's value is 17.
SO_PEERCRED: int = getattr(socket, "SO_PEERCRED", 17)


def dirModeFor(mode: int) -> int:
    """
    The directory mode vde_switch derives from the socket mode C{-m}:
    setgid, plus for each class with any permission its r/w bits and x.

    @param mode: the socket mode.
    @return: the directory mode.
    """
    result = 0o2000
    for shift in (6, 3, 0):
        bits = (mode >> shift) & 0o7
        if bits:
            result |= (bits | 0o1) << shift
    return result


def peerCredentials(sock: socket.socket) -> Tuple[int, int, int]:
    """
    The pid, uid and gid of the process at the other end of a UNIX stream.

    @param sock: a connected AF_UNIX socket.
    @return: C{(pid, uid, gid)}.
    """
    data = sock.getsockopt(socket.SOL_SOCKET, SO_PEERCRED, _PEERCRED.size)
    pid, uid, gid = _PEERCRED.unpack(data)
    return pid, uid, gid


def groupsOf(uid: int, gid: int) -> Tuple[int, ...]:
    """
    The groups of a user, for port access control.

    @param uid: the user id.
    @param gid: its primary group.
    @return: the group ids.
    """
    import pwd
    try:
        name = pwd.getpwuid(uid).pw_name
        return tuple(os.getgrouplist(name, gid))
    except (KeyError, OSError):
        return (gid,)


@implementer(ISwitchPort, IReadDescriptor)
class DatagramEndpoint:
    """
    One client's datagram socket on the switch side: frames from it go into
    the switch, frames for it are C{send()} on the connected socket.

    @ivar endpointID: the fd of the control connection (as vde_switch).
    @ivar path: where the socket is bound.
    @ivar drops: frames not delivered because the client's buffer was full.
    @ivar errors: frames not delivered because of another socket error.
    """

    module = "unix prog"

    def __init__(self, server: "ControlServer", sock: socket.socket, path: str,
                 endpointID: int, description: str, control: "ControlProtocol") -> None:
        """
        @param server: the server.
        @param sock: the bound, connected, nonblocking datagram socket.
        @param path: its path.
        @param endpointID: the endpoint ID.
        @param description: the client's description.
        @param control: the control connection.
        """
        self.server = server
        self.sock = sock
        self.path = path
        self.endpointID = endpointID
        self.description = description
        self.control = control
        self.port: Any = None
        self.drops = 0
        self.errors = 0
        self.oversize = 0
        self._send = sock.send
        self._recv = datagramReceiver(sock, MAX_FRAME + 1)
        self._fileno = sock.fileno()
        self._closed = False
        self._multi: Optional[Tuple[mmsg.MultiMessage, mmsg.MultiMessage]] = None
        if MULTI_MESSAGE and isinstance(sock, socket.socket):
            self._multi = multiMessageBuffers()

    def sendFrame(self, frame: bytes) -> None:
        """
        Send one frame to the client; a full or dead client drops it.

        While an endpoint's L{doRead} forwards its batch, the frame is only
        queued, and sent before that L{doRead} returns.

        @param frame: the frame.
        """
        outgoing = self._outgoing
        if outgoing is not None:
            outgoing.append((self, frame))
            return
        try:
            self._send(frame)
        except BlockingIOError:
            self.drops += 1
        except OSError:
            self.errors += 1

    def doRead(self) -> None:
        """
        Drain up to L{READ_BATCH} datagrams, then forward them into the
        switch, in order.

        The work goes in three phases: read the whole batch, forward it
        (the switch's logic; frames for datagram endpoints are queued by
        L{sendFrame}), then send the queued frames.  Each phase keeps its
        own code hot (the kernel's receive path, the interpreter, the
        kernel's send path) and the receivers' wakeups batch up: with
        64-byte frames the switch forwards about half as many frames again
        per CPU-second as when it read, forwarded and sent each frame in
        turn (docs/performance.txt, "Switch").  Each endpoint gets its
        frames in the order forwarded.  Frames already read when this
        endpoint closes are dropped, as its socket would have dropped them;
        queued frames for an endpoint that closed meanwhile are dropped too.
        On PyPy the batch is read and sent with C{recvmmsg}/C{sendmmsg}
        (L{_doReadMulti}, L{MULTI_MESSAGE}).
        """
        if self._multi is not None:
            self._doReadMulti(self._multi)
            return
        recv = self._recv
        size = MAX_FRAME + 1
        frames: List[bytes] = []
        append = frames.append
        for _ in range(READ_BATCH):
            try:
                frame = recv(size)
            except OSError:
                break
            if len(frame) > MAX_FRAME:
                self.oversize += 1
            elif frame:
                append(frame)
        if not frames:
            return
        self._forward(frames, None)

    def _forward(self, frames: List[bytes],
                 sender: Optional[mmsg.MultiMessage]) -> None:
        """
        The last two phases of L{doRead}: forward a batch into the switch,
        with L{sendFrame} queueing what goes to datagram endpoints, then
        send the queued frames in the order forwarded (also when
        forwarding raised).

        @param frames: the frames read, in order.
        @param sender: the send buffer of C{sendmmsg} (L{_sendBatches}),
            or L{None} for one C{send} per frame.
        """
        forward = self.server.switch.frameFromPort
        port = self.port
        outgoing: List[Tuple[DatagramEndpoint, bytes]] = []
        previous, DatagramEndpoint._outgoing = DatagramEndpoint._outgoing, outgoing
        try:
            for frame in frames:
                if self._closed:
                    break
                forward(port, frame)
        finally:
            DatagramEndpoint._outgoing = previous
            if sender is not None:
                _sendBatches(outgoing, sender)
            else:
                # sendFrame's sending, for the queued frames, in order.
                for endpoint, frame in outgoing:
                    if endpoint._closed:
                        continue
                    try:
                        endpoint._send(frame)
                    except BlockingIOError:
                        endpoint.drops += 1
                    except OSError:
                        endpoint.errors += 1

    def _doReadMulti(self, multi: Tuple[mmsg.MultiMessage, mmsg.MultiMessage]) -> None:
        """
        L{doRead} with C{recvmmsg} and C{sendmmsg} (see L{MULTI_MESSAGE}):
        the batch is read in one call, forwarded the same way, and the
        frames queued for each datagram endpoint go out in one call per
        endpoint, in the order forwarded.

        @param multi: the process's receive and send buffers
            (L{multiMessageBuffers}).
        """
        receiver, sender = multi
        try:
            received = receiver.receive(self._fileno, READ_BATCH)
        except OSError:
            return
        frames: List[bytes] = []
        for frame in received:
            if len(frame) > MAX_FRAME:
                self.oversize += 1
            elif frame:
                frames.append(frame)
        if not frames:
            return
        self._forward(frames, sender)

    #: While a L{doRead} forwards its batch: the frames it sends to datagram
    #: endpoints, as C{(endpoint, frame)}, sent when the batch is done;
    #: L{None} at other times (L{sendFrame} then sends at once).  One list
    #: for the process: the reactor runs one L{doRead} at a time.
    _outgoing: Optional[List[Tuple["DatagramEndpoint", bytes]]] = None

    def fileno(self) -> int:
        """
        The socket's descriptor, for the reactor.

        @return: the fd.
        """
        return self._fileno

    def logPrefix(self) -> str:
        """
        The log prefix.

        @return: a string.
        """
        return "VDEEndpoint"

    def connectionLost(self, reason: object) -> None:
        """
        The reactor dropped us (at shutdown).

        @param reason: why.
        """
        self.close()

    def close(self) -> None:
        """
        Close the endpoint: unlink and close the data socket, close the
        control stream (so the client sees EOF and exits), leave the port.
        """
        if self._closed:
            return
        self._closed = True
        self.server.endpointClosed(self)
        self.server._unlinkQuietly(self.path)
        self.sock.close()
        if self.control.transport is not None:
            self.control.transport.loseConnection()


_buffers: Optional[Tuple[mmsg.MultiMessage, mmsg.MultiMessage]] = None


def multiMessageBuffers() -> Tuple[mmsg.MultiMessage, mmsg.MultiMessage]:
    """
    The process's buffers for L{DatagramEndpoint._doReadMulti}: one for
    receiving a batch and one for sending, made on first use and shared by
    every endpoint (the reactor runs one C{doRead} at a time, and frames
    are copied out of them at once).

    @return: C{(receiver, sender)}, each for L{READ_BATCH} frames.
    """
    global _buffers
    if _buffers is None:
        _buffers = (mmsg.MultiMessage(READ_BATCH, MAX_FRAME + 1),
                    mmsg.MultiMessage(READ_BATCH, MAX_FRAME + 1))
    return _buffers


def _sendBatches(outgoing: List[Tuple[DatagramEndpoint, bytes]],
                 sender: mmsg.MultiMessage) -> None:
    """
    Send the frames one batch queued, grouped by endpoint: one C{send} for
    an endpoint with one frame, one C{sendmmsg} per L{READ_BATCH} frames
    otherwise.  Each endpoint gets its frames in the order queued; an
    endpoint closed meanwhile gets none; a frame that cannot go counts as
    a drop (the client's queue was full) or an error, as in
    L{DatagramEndpoint.sendFrame}.

    @param outgoing: C{(endpoint, frame)} in the order forwarded.
    @param sender: the buffers to send from.
    """
    groups: Dict[DatagramEndpoint, List[bytes]] = {}
    for endpoint, frame in outgoing:
        group = groups.get(endpoint)
        if group is None:
            groups[endpoint] = [frame]
        else:
            group.append(frame)
    for endpoint, group in groups.items():
        if endpoint._closed:
            continue
        if len(group) == 1:
            try:
                endpoint._send(group[0])
            except BlockingIOError:
                endpoint.drops += 1
            except OSError:
                endpoint.errors += 1
            continue
        for start in range(0, len(group), READ_BATCH):
            _, failures = sender.send(endpoint._fileno, group[start:start + READ_BATCH])
            for code in failures:
                if code == errno.EAGAIN or code == errno.EWOULDBLOCK:
                    endpoint.drops += 1
                else:
                    endpoint.errors += 1


class ControlProtocol(protocol.Protocol):
    """
    One connection on C{DIR/ctl}: the handshake, then silence until either
    side closes.

    While the handshake is unfinished the connection is in its factory's
    C{pending} set, with two timers: L{REQUEST_TIMEOUT} from the connection
    and, once a first byte came, L{PARTIAL_TIMEOUT} for the rest of the
    request.  Either ends it with a counted refusal.
    """

    endpoint: Optional[DatagramEndpoint] = None

    def __init__(self) -> None:
        self._buffer = b""
        self._timeout: Any = None
        self._partial: Any = None
        self._pending = False

    def connectionMade(self) -> None:
        """
        Join the unfinished handshakes and start the request timer.
        """
        self._pending = True
        self.factory.pending.add(self)
        self._timeout = self.factory.reactor.callLater(
            REQUEST_TIMEOUT, self._refuse, "timeout",
            "no request within %g s" % (REQUEST_TIMEOUT,))

    def _finish(self) -> None:
        """
        The handshake is over (done, refused or abandoned): stop its timers
        and leave the unfinished handshakes.
        """
        self._pending = False
        self.factory.pending.discard(self)
        for call in (self._timeout, self._partial):
            if call is not None and call.active():
                call.cancel()
        self._timeout = self._partial = None
        self._buffer = b""

    def _refuse(self, kind: str, reason: str) -> None:
        """
        Close the control stream with a counted refusal and a (rate-limited)
        log line.

        @param kind: the refusal's counter in the factory's C{refusals}.
        @param reason: why, for the log.
        """
        if not self._pending:
            return
        self._finish()
        self._refused(kind, reason)

    def _refused(self, kind: str, reason: str) -> None:
        """
        Count and log a refusal and close the control stream.

        @param kind: the refusal's counter in the factory's C{refusals}.
        @param reason: why, for the log.
        """
        self.factory.countRefusal(kind, reason)
        self.transport.loseConnection()

    def _partialExpired(self) -> None:
        """
        The rest of a partial request did not come in time.
        """
        self._partial = None
        self._refuse("partial", "partial request (%d bytes) not completed within %g s"
                     % (len(self._buffer), PARTIAL_TIMEOUT))

    def abandon(self) -> None:
        """
        Drop an unfinished handshake without counting it (the server is
        stopping).
        """
        if self._pending:
            self._finish()
            self.transport.loseConnection()

    def dataReceived(self, data: bytes) -> None:
        """
        The request (the C clients send it in one C{send()}, so it comes
        whole; a partial one gets L{PARTIAL_TIMEOUT} to complete); anything
        after the handshake is ignored.

        @param data: bytes from the client.
        """
        if not self._pending:
            return
        self._buffer += data
        request = self._buffer
        if not plausiblePrefix(request):
            self._refuse("request", "bad magic (V0 request not supported)")
            return
        if len(request) < requestSize(request):
            if self._partial is None:
                self._partial = self.factory.reactor.callLater(
                    PARTIAL_TIMEOUT, self._partialExpired)
            return
        self._finish()
        try:
            parsed = parseRequest(request)
            self.endpoint = self.factory.newEndpoint(self, parsed)
        except BadRequest as e:
            self._refused("request", str(e))
        except SwitchError as e:
            self._refused("port", str(e.args[-1]))
        except OSError as e:
            self._refused("socket", str(e))

    def connectionLost(self, reason: object) -> None:
        """
        The client went away, or we closed: the endpoint goes too.

        @param reason: why.
        """
        self._finish()
        if self.endpoint is not None:
            self.endpoint.close()


class ControlServer(protocol.ServerFactory, Service):
    """
    The control socket of a switch: a service that creates C{DIR} and
    C{DIR/ctl}, makes a datagram endpoint per request, and removes it all
    when stopped.

    @ivar directory: the absolute socket directory.
    @ivar mode: the mode of the control and data sockets.
    @ivar dirMode: the directory's mode.
    @ivar group: the group id given to the sockets, or -1.
    @ivar refused: control connections refused so far.
    @ivar refusals: the refusals by kind: C{"request"} (a malformed
        request), C{"partial"} (not completed within L{PARTIAL_TIMEOUT}),
        C{"timeout"} (no request within L{REQUEST_TIMEOUT}), C{"busy"}
        (L{MAX_PENDING} handshakes unfinished), C{"port"} (the switch gave
        no port), C{"socket"} (the data socket could not be made, e.g. the
        client's socket path does not exist).
    @ivar pending: the control connections whose handshake is unfinished.
    """

    protocol = ControlProtocol

    def __init__(self, reactor: Any, switch: Switch, directory: str,
                 mode: int = 0o600, dirMode: Optional[int] = None,
                 group: int = -1, system: Any = None) -> None:
        """
        @param reactor: the reactor.
        @param switch: the switch.
        @param directory: C{-s DIR}.
        @param mode: C{-m MODE}.
        @param dirMode: C{--dirmode}, derived from C{mode} by default.
        @param group: C{-g} as a gid, or -1.
        @param system: the OS calls, L{RealSystem} by default.
        """
        self.reactor = reactor
        self.switch = switch
        self.directory = os.path.abspath(directory)
        self.mode = mode
        self.dirMode = dirMode if dirMode is not None else dirModeFor(mode)
        self.group = group
        self.system = system if system is not None else RealSystem()
        self.refused = 0
        self.refusals: Dict[str, int] = {}
        self.pending: Set[ControlProtocol] = set()
        self.endpoints: Dict[int, DatagramEndpoint] = {}
        self._logWindowStart: Optional[float] = None
        self._logged = 0
        self._suppressed = 0
        self._logFlush: Any = None
        self._listening: Any = None
        self._createdDirectory = False
        self._announced = False

    def buildProtocol(self, addr: Any) -> Optional[ControlProtocol]:
        """
        A protocol for a new control connection, or L{None} (the connection
        is closed at once, a counted C{busy} refusal) when L{MAX_PENDING}
        handshakes are unfinished.

        @param addr: the peer's address.
        @return: the protocol, or L{None}.
        """
        if len(self.pending) >= MAX_PENDING:
            self.countRefusal("busy", "%d handshakes unfinished" % (len(self.pending),))
            return None
        return protocol.ServerFactory.buildProtocol(self, addr)

    def countRefusal(self, kind: str, reason: str) -> None:
        """
        Count a refused control connection and log it; past L{LOG_BURST}
        lines in one L{LOG_INTERVAL}, the rest are summed up in one line
        when the interval ends.

        @param kind: the counter in C{refusals}.
        @param reason: why, for the log.
        """
        self.refused += 1
        self.refusals[kind] = self.refusals.get(kind, 0) + 1
        now = self.reactor.seconds()
        if self._logWindowStart is None or now - self._logWindowStart >= LOG_INTERVAL:
            self._flushRefusalLog()
            self._logWindowStart = now
            self._logged = 0
        if self._logged < LOG_BURST:
            self._logged += 1
            log.warn("control connection refused: {reason}", reason=reason)
            return
        self._suppressed += 1
        if self._logFlush is None:
            self._logFlush = self.reactor.callLater(
                self._logWindowStart + LOG_INTERVAL - now, self._flushRefusalLog)

    def _flushRefusalLog(self) -> None:
        """
        Log how many refusals were not logged one by one, if any.
        """
        if self._logFlush is not None and self._logFlush.active():
            self._logFlush.cancel()
        self._logFlush = None
        if self._suppressed:
            log.warn("{count} more control connections refused (not logged one by one)",
                     count=self._suppressed)
            self._suppressed = 0

    @property
    def ctlPath(self) -> str:
        """
        The control socket's path.
        """
        return os.path.join(self.directory, "ctl")

    def _claimPath(self) -> None:
        """
        Remove a stale control socket, or refuse to start when a live
        switch owns it.

        @raise OSError: EADDRINUSE with vde_switch's message.
        """
        claimSocketPath(self.ctlPath, self.system)

    def startService(self) -> None:
        """
        Create the directory and start listening on C{DIR/ctl}.

        @raise OSError: when the socket is held by a live switch.
        """
        try:
            self.system.mkdir(self.directory, 0o700)
            self._createdDirectory = True
        except FileExistsError:
            pass
        self.system.chmod(self.directory, self.dirMode)
        if self.group != -1:
            self.system.chown(self.directory, -1, self.group)
        self._claimPath()
        old = self.system.umask(0o777 & ~self.mode)
        try:
            self._listening = self.reactor.listenUNIX(
                self.ctlPath, self, backlog=15, mode=self.mode, wantPID=False)
        finally:
            self.system.umask(old)
        if self.group != -1:
            self.system.chown(self.ctlPath, -1, self.group)
        self._announce()
        local.register(self.directory, self.switch)
        Service.startService(self)

    def _announce(self) -> None:
        """
        Tell our clients the switch's MTU (L{vdetwist.vde.announce}) when
        it is not the default: a file beside C{ctl}, which the C tools
        never read.  Without one (or when it cannot be written, which is
        logged) every client stays at 1500.
        """
        mtu = getattr(self.switch, "mtu", DEFAULT_MTU)
        self._announced = False
        if mtu == DEFAULT_MTU:
            # A file left by a killed switch that announced another MTU is
            # stale anyway (its ctl= names the old socket); remove it.
            removeAnnouncement(self.directory, self.system)
            return
        try:
            writeAnnouncement(self.directory, mtu, self.mode, self.group, self.system)
        except OSError as e:
            log.warn("cannot announce the MTU {mtu} in {dir}: {error}; clients "
                     "default to 1500", mtu=mtu, dir=self.directory, error=e)
            return
        self._announced = True
        log.info("announcing MTU {mtu} to vdetwist clients", mtu=mtu)

    def stopService(self) -> Any:
        """
        Close every endpoint, stop listening, and remove the sockets and
        the directory (left in place, with a log line, when not empty).

        @return: a Deferred when listening stops.
        """
        Service.stopService(self)
        local.unregister(self.directory)
        for control in list(self.pending):
            control.abandon()
        for endpoint in list(self.endpoints.values()):
            endpoint.close()
        # What is attached in process (hosts, slirp, cables) goes too.
        self.switch.closeAll()
        self._flushRefusalLog()
        if self._announced:
            self._announced = False
            removeAnnouncement(self.directory, self.system)
        listening, self._listening = self._listening, None
        if listening is None:
            self._removeDirectory()
            return None
        d = listening.stopListening()
        if d is None:
            self._removeDirectory()
            return None
        return d.addCallback(lambda _: self._removeDirectory())

    def _removeDirectory(self) -> None:
        """
        Remove the socket directory; leave it, with a log line, when it is
        not empty (another program's files are in it).
        """
        try:
            self.system.rmdir(self.directory)
        except OSError as e:
            if e.errno != errno.ENOENT:
                log.warn("not removing {dir}: {error}", dir=self.directory, error=e)

    def newEndpoint(self, control: ControlProtocol, request: ControlRequest) -> DatagramEndpoint:
        """
        Make the datagram endpoint a request asks for.

        @param control: the control connection.
        @param request: the parsed request.
        @return: the endpoint, attached to its port.
        @raise SwitchError: when the switch refuses the port.
        @raise OSError: when the sockets cannot be made.
        """
        if len(self.endpoints) >= MAX_ENDPOINTS:
            raise SwitchError(errno.ENOSPC, "too many endpoints (%d)" % (MAX_ENDPOINTS,))
        handle = control.transport.getHandle()
        pid, uid, gid = peerCredentials(handle)
        port = self.switch.choosePort(request.port, request.requestType == REQ_NEW_PORT0,
                                      uid, groupsOf(uid, gid))
        endpointID = handle.fileno()
        path = os.path.join(self.directory, "%03d.%d" % (port.number, endpointID))
        sock = self.system.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        bound = False
        try:
            sock.setblocking(False)
            # Connect before binding (as vde_switch does): a client path
            # that does not exist, or refuses, never makes a file in DIR.
            sock.connect(request.path)
            try:
                self.system.unlink(path)
            except FileNotFoundError:
                pass
            dataMode = self.mode & 0o700 if self.system.geteuid() == 0 else self.mode
            old = self.system.umask(0o777 & ~dataMode)
            try:
                sock.bind(path)
                bound = True
            finally:
                self.system.umask(old)
            self.system.chmod(path, dataMode)
            if self.system.geteuid() == 0:
                self.system.chown(path, uid, self.group)
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
            except OSError:
                pass
        except BaseException:
            sock.close()
            if bound:
                self._unlinkQuietly(path)
            raise
        endpoint = DatagramEndpoint(self, sock, path, endpointID, request.description, control)
        try:
            self.endpoints[endpointID] = endpoint
            self.switch.addEndpoint(port, endpoint, uid)
            self.reactor.addReader(endpoint)
        except BaseException:
            endpoint.close()
            raise
        control.transport.write(encodeReply(path.encode()))
        log.info("port {port} up: endpoint {id} {descr!r}", port=port.number,
                 id=endpointID, descr=request.description)
        mtu = getattr(self.switch, "mtu", DEFAULT_MTU)
        if mtu > DEFAULT_MTU and not request.description.startswith(OUR_DESCRIPTIONS):
            log.warn("port {port}: endpoint {id} {descr!r} may not be vdetwist's: this "
                     "switch's clients default to MTU {mtu}, and frames over 1518 "
                     "bytes may not reach it (TCP adapts; UDP and ICMP do not)",
                     port=port.number, id=endpointID, descr=request.description, mtu=mtu)
        return endpoint

    def _unlinkQuietly(self, path: str) -> None:
        """
        Remove a socket file the server made, logging a failure other than
        its being gone already.

        @param path: the file.
        """
        try:
            self.system.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            log.warn("cannot remove {path}: {error}", path=path, error=e)

    def endpointClosed(self, endpoint: DatagramEndpoint) -> None:
        """
        Forget a closed endpoint.

        @param endpoint: the endpoint.
        """
        self.reactor.removeReader(endpoint)
        self.endpoints.pop(endpoint.endpointID, None)
        if endpoint.port is not None:
            log.info("port {port} endpoint {id} down", port=endpoint.port.number,
                     id=endpoint.endpointID)
        self.switch.removeEndpoint(endpoint)
