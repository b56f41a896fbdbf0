# -*- test-case-name: tests.switch.test_server -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.switch.server}: the control socket and datagram
endpoints, with Debian's C{vde_plug} (vdeplug4) as the client where it is
installed and raw sockets for malformed requests.
"""

import errno
import os
import shutil
import socket
import stat
import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import defer, protocol, reactor, task
from twisted.internet.error import ConnectionDone
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.logger import Logger, formatEvent
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.util import shortTempDir
from vdetwist.switch import server
from vdetwist.switch.server import (
    LOG_BURST, LOG_INTERVAL, MAX_PENDING, PARTIAL_TIMEOUT, REQUEST_TIMEOUT, ControlServer,
    dirModeFor)
from vdetwist.testing import FakeDatagramSocket, FakeSystem
from vdetwist.vde.system import claimSocketPath
from vdetwist.switch.switch import Switch
from vdetwist.vde.control import BadRequest, ControlRequest, encodeSockaddr, parseRequest

VDE_PLUG = shutil.which("vde_plug")


class DirModeTests(SynchronousTestCase):
    """
    The directory mode vde_switch derives from C{-m}.
    """

    def test_derived(self) -> None:
        """
        0600 gives 02700, 0660 gives 02770, 0666 gives 02777.
        """
        self.assertEqual(dirModeFor(0o600), 0o2700)
        self.assertEqual(dirModeFor(0o660), 0o2770)
        self.assertEqual(dirModeFor(0o666), 0o2777)


class ClaimTests(SynchronousTestCase):
    """
    L{claimSocketPath} replaces stale sockets and refuses live ones.
    """

    def test_staleReplaced(self) -> None:
        """
        A socket file nobody listens on is removed.
        """
        path = os.path.join(shortTempDir(self), "s")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.close()
        claimSocketPath(path)
        self.assertFalse(os.path.lexists(path))

    def test_liveRefused(self) -> None:
        """
        A socket someone listens on is an EADDRINUSE error naming the path.
        """
        path = os.path.join(shortTempDir(self), "s")
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        s.listen(1)
        self.addCleanup(s.close)
        e = self.assertRaises(OSError, claimSocketPath, path)
        self.assertIn("Address already in use", str(e))
        self.assertIn(path, str(e))


class _Collect(protocol.ProcessProtocol):
    """
    Collect a child's stdout and its exit.
    """

    def __init__(self) -> None:
        self.out = b""
        self.ended = defer.Deferred()
        self.started = defer.Deferred()

    def connectionMade(self) -> None:
        self.started.callback(None)

    def outReceived(self, data: bytes) -> None:
        self.out += data

    def errReceived(self, data: bytes) -> None:
        self.err = getattr(self, "err", b"") + data

    def processEnded(self, reason) -> None:
        self.ended.callback(reason.value.exitCode)


class _RealServerTestCase(TestCase):
    """
    A control server on the real reactor, with real sockets, and Debian's
    vde_plug to attach to it.
    """

    timeout = 20

    def setUp(self) -> None:
        self.dir = shortTempDir(self)
        self.switch = Switch(numports=32)
        self.server = ControlServer(reactor, self.switch, os.path.join(self.dir, "sw"))
        self.server.startService()
        self.addCleanup(self._stop)

    def _stop(self):
        if self.server.running:
            return self.server.stopService()

    def plug(self, url: str, *args: str) -> _Collect:
        """
        Start Debian's vde_plug with its stdin kept open.
        """
        if VDE_PLUG is None:
            raise self.skipTest("vde_plug is not installed (apt-get install vdeplug)")
        proto = _Collect()
        reactor.spawnProcess(proto, VDE_PLUG, [VDE_PLUG, *args, url],
                             env=dict(os.environ), childFDs={0: "w", 1: "r", 2: "r"})
        self.addCleanup(self._kill, proto)
        return proto

    def _kill(self, proto: _Collect):
        if not proto.ended.called:
            proto.transport.signalProcess("KILL")
            return proto.ended

    @defer.inlineCallbacks
    def waitFor(self, condition, timeout: float = 5.0):
        """
        Let the reactor run until C{condition()} holds.
        """
        for _ in range(int(timeout / 0.02)):
            if condition():
                return
            yield task.deferLater(reactor, 0.02, lambda: None)
        self.fail("condition not reached")

    @defer.inlineCallbacks
    def framesBetweenPlugs(self, already: int = 0):
        """
        Two vde_plugs attach (to a switch with C{already} endpoints) and a
        frame written (stream framing) into one comes out of the other,
        byte for byte.
        """
        a = self.plug("vde://" + self.server.directory)
        b = self.plug("vde://" + self.server.directory)
        yield self.waitFor(lambda: len(list(self.switch.endpoints())) == already + 2)
        data = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01\x88\xb5" + b"0" * 46
        a.transport.write(struct.pack("!H", len(data)) + data)
        yield self.waitFor(lambda: len(b.out) >= 62)
        self.assertEqual(b.out, b"\x00\x3c" + data)


class ControlServerTests(_RealServerTestCase):
    """
    The control server on the real reactor, with real sockets.
    """

    def test_modes(self) -> None:
        """
        The directory is 02700 and the control socket 0600 by default.
        """
        st = os.stat(self.server.directory)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o2700)
        st = os.stat(self.server.ctlPath)
        self.assertEqual(stat.S_IMODE(st.st_mode), 0o600)

    @defer.inlineCallbacks
    def test_vdePlugAttaches(self):
        """
        vde_plug gets port 1 with its own description and a data socket
        only its owner can use (vdeplug4 chmods it to its own mode, 0700),
        and the client's own socket path is gone from the directory.
        """
        self.plug("vde://" + self.server.directory, "-D", "probe")
        yield self.waitFor(lambda: self.switch.ports[1] is not None
                           and self.switch.ports[1].endpoints)
        endpoint = self.switch.ports[1].endpoints[0]
        self.assertRegex(endpoint.description, r"^probe user=\w+ pid=\d+$")
        info = os.stat(endpoint.path)
        self.assertEqual(stat.S_IMODE(info.st_mode) & 0o077, 0)
        self.assertEqual(info.st_uid, os.getuid())
        # vde_plug unlinks its own socket after the switch's reply reaches
        # it, which can be just after the switch has registered the port.
        expected = sorted(["ctl", os.path.basename(endpoint.path)])
        yield self.waitFor(
            lambda: sorted(os.listdir(self.server.directory)) == expected)
        self.assertEqual(sorted(os.listdir(self.server.directory)), expected)

    @defer.inlineCallbacks
    def test_explicitPortAndPort0(self):
        """
        C{[5]} lands on port 5 and C{[0]} on the special port 0.
        """
        self.plug("vde://%s[5]" % (self.server.directory,))
        self.plug("vde://%s[0]" % (self.server.directory,))
        yield self.waitFor(lambda: all(
            self.switch.ports[n] is not None and self.switch.ports[n].endpoints for n in (0, 5)))

    @defer.inlineCallbacks
    def test_framesBetweenPlugs(self):
        """
        A frame written (stream framing) into one vde_plug comes out of the
        other, byte for byte.
        """
        yield self.framesBetweenPlugs()

    @defer.inlineCallbacks
    def test_refusedPortClosesPromptly(self):
        """
        A request for a port out of range closes the control stream: the
        client exits with an error instead of hanging as with r586.
        """
        proto = self.plug("vde://%s[40]" % (self.server.directory,))
        code = yield proto.ended
        self.assertNotEqual(code, 0)
        self.assertEqual(self.server.refused, 1)

    @defer.inlineCallbacks
    def test_kick(self):
        """
        Closing the endpoint from the switch makes vde_plug exit.
        """
        proto = self.plug("vde://" + self.server.directory)
        yield self.waitFor(lambda: len(list(self.switch.endpoints())) == 1)
        port, endpoint = next(self.switch.endpoints())
        self.switch.closeEndpoint(port.number, endpoint.endpointID)
        yield proto.ended
        self.assertFalse(os.path.exists(endpoint.path))

    @defer.inlineCallbacks
    def test_clientExitRemovesEndpoint(self):
        """
        When the client goes away its endpoint, data socket and port
        activity go too.
        """
        proto = self.plug("vde://" + self.server.directory)
        yield self.waitFor(lambda: len(list(self.switch.endpoints())) == 1)
        port, endpoint = next(self.switch.endpoints())
        proto.transport.closeStdin()
        yield proto.ended
        yield self.waitFor(lambda: not port.active)
        self.assertFalse(os.path.exists(endpoint.path))

    @defer.inlineCallbacks
    def test_badRequestsClosed(self):
        """
        Wrong magic, version, type, and short, oversize or empty-path
        requests each get the control stream closed, and a good client
        still works afterwards.
        """
        path = encodeSockaddr(b"/nonexistent/x")
        good = ControlRequest(3, 0, 0, b"/nonexistent/x", "d").encode()
        bad = [
            b"\x78\x56\x34\x12" + good[4:],
            good[:4] + b"\x02\x00\x00\x00" + good[8:],
            good[:4] + b"\x04\x00\x00\x00" + good[8:],
            good[:8] + b"\x07\x00\x00\x00" + good[12:],
            good[:8] + b"\x00\x28\x00\x00" + good[12:],
            b"\xce\xfa\xed\xfe\x03\x00\x00\x00" + b"\0" * 114,
            good + b"z" * 300,
            good[:8] + b"\x00\x00\x00\x00" + b"\x01\x00" + b"\0" * 108,
            good,
        ]
        self.assertEqual(len(path), 110)
        for request in bad:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.connect(self.server.ctlPath)
            s.sendall(request)
            s.setblocking(False)
            closed = []

            def check(s=s):
                try:
                    data = s.recv(200)
                except BlockingIOError:
                    return False
                closed.append(data)
                return True
            yield self.waitFor(check)
            self.assertEqual(closed, [b""], request[:16])
            s.close()
        self.assertEqual(self.server.refused, len(bad))
        yield self.test_framesBetweenPlugs()

    @defer.inlineCallbacks
    def test_stopRemovesEverything(self):
        """
        Stopping the server closes endpoints and removes the sockets and
        the directory.
        """
        proto = self.plug("vde://" + self.server.directory)
        yield self.waitFor(lambda: len(list(self.switch.endpoints())) == 1)
        yield self.server.stopService()
        yield proto.ended
        self.assertFalse(os.path.exists(self.server.directory))


class HostileHandshakeTests(_RealServerTestCase):
    """
    Hostile and broken handshakes on a real L{ControlServer} on the real
    reactor, with real sockets: after each refusal DIR holds only C{ctl}
    and the live endpoints' sockets, Debian's vde_plug still attaches, and
    stopping removes DIR.
    """

    def assertDirectoryClean(self) -> None:
        """
        DIR holds C{ctl} and the live endpoints' sockets, nothing else.
        """
        live = [os.path.basename(e.path) for e in self.server.endpoints.values()]
        self.assertEqual(sorted(os.listdir(self.server.directory)), sorted(["ctl"] + live))

    def clientSocket(self) -> str:
        """
        A bound client datagram socket, as vdeplug4 makes one.

        @return: its path.
        """
        path = os.path.join(self.dir, ".%05d-%05d" % (os.getpid(), len(os.listdir(self.dir))))
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(path)
        self.addCleanup(sock.close)
        return path

    def send(self, data: bytes) -> socket.socket:
        """
        Connect to C{DIR/ctl} and send C{data} (nothing when empty).

        @return: the connected, nonblocking socket; closed at cleanup.
        """
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.addCleanup(s.close)
        s.connect(self.server.ctlPath)
        if data:
            s.sendall(data)
        s.setblocking(False)
        return s

    @staticmethod
    def closedBySwitch(s: socket.socket) -> bool:
        """
        Whether the switch closed the stream without a reply.
        """
        try:
            data = s.recv(200)
        except BlockingIOError:
            return False
        assert data == b"", data
        return True

    @defer.inlineCallbacks
    def test_hostileHandshakes(self):
        """
        Truncated requests (1, 12, 61 and 121 bytes), a client path that
        does not exist, bad magic, a bad version, an oversize request, a
        refused port, connecting and closing at once and sending a request
        and closing at once: each is refused (or gone), counted, and DIR
        holds only C{ctl} and a live client's socket; then two vde_plugs
        attach and carry frames.
        """
        clientPath = self.clientSocket().encode()
        live = self.send(_request(clientPath))
        yield self.waitFor(lambda: len(self.server.endpoints) == 1)
        reply = yield self.waitForValue(lambda: self.recvOrNone(live))
        self.assertEqual(reply, encodeSockaddr(next(iter(self.server.endpoints.values())).path.encode()))
        good = _request(self.clientSocket().encode())
        refused = [self.send(good[:n]) for n in (1, 12, 61, 121)]
        refused += [
            self.send(_request(b"/nonexistent/.%05d-00000" % (os.getpid(),))),
            self.send(b"\x78\x56\x34\x12" + good[4:]),
            self.send(good[:4] + b"\x02\x00\x00\x00" + good[8:]),
            self.send(good + b"z" * 300),
            self.send(_request(self.clientSocket().encode(), port=40)),
        ]
        self.send(b"").close()
        self.send(_request(self.clientSocket().encode())).close()
        yield self.waitFor(lambda: all(self.closedBySwitch(s) for s in refused))
        yield self.waitFor(lambda: not self.server.pending and len(self.server.endpoints) == 1)
        self.assertEqual(self.server.refusals,
                         {"partial": 4, "socket": 1, "request": 3, "port": 1})
        self.assertDirectoryClean()
        yield self.framesBetweenPlugs(already=1)
        self.assertEqual(len(self.server.endpoints), 3)
        self.assertDirectoryClean()

    def recvOrNone(self, s: socket.socket):
        """
        What a nonblocking socket has, or L{None}.
        """
        try:
            return s.recv(200)
        except BlockingIOError:
            return None

    @defer.inlineCallbacks
    def waitForValue(self, function, timeout: float = 5.0):
        """
        Let the reactor run until C{function()} returns something.
        """
        result = []
        yield self.waitFor(lambda: result.append(function()) or result[-1] is not None, timeout)
        return result[-1]

    @defer.inlineCallbacks
    def test_flood(self):
        """
        200 concurrent half-open connections (half of them with a partial
        request): at most L{MAX_PENDING} are held, the rest closed at once
        and counted as C{busy}; none makes a file; once the flood is gone a
        vde_plug attaches.
        """
        flood = []
        for n in range(200):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.setblocking(False)
            self.addCleanup(s.close)
            flood.append(s)
        connecting = list(flood)
        most = []

        def connectSome() -> bool:
            for s in list(connecting):
                try:
                    s.connect(self.server.ctlPath)
                except BlockingIOError:
                    break
                connecting.remove(s)
                if flood.index(s) % 2:
                    s.send(b"\xce\xfa\xed")
            most.append(len(self.server.pending))
            return not connecting
        yield self.waitFor(connectSome, 20)
        yield self.waitFor(lambda: sum(self.server.refusals.values())
                           + len(self.server.pending) == 200)
        self.assertTrue(self.server.refusals["busy"] >= 1, self.server.refusals)
        self.assertTrue(max(most) <= MAX_PENDING, max(most))
        self.assertDirectoryClean()
        for s in flood:
            s.close()
        yield self.waitFor(lambda: not self.server.pending)
        self.assertDirectoryClean()
        yield self.framesBetweenPlugs()
        self.assertDirectoryClean()

    @defer.inlineCallbacks
    def test_stopAfterNonexistentClientPaths(self):
        """
        37 requests naming client paths that do not exist are refused and
        leave DIR as it was; stopping then removes DIR.
        """
        for n in range(37):
            s = self.send(_request(b"/nonexistent/.%05d-%05d" % (os.getpid(), n)))
            yield self.waitFor(lambda: self.closedBySwitch(s))
        self.assertEqual(self.server.refusals, {"socket": 37})
        self.assertDirectoryClean()
        yield self.server.stopService()
        self.assertFalse(os.path.lexists(self.server.directory))


class ControlParserPropertyTests(SynchronousTestCase):
    """
    Arbitrary bytes at the control request parser and protocol.
    """

    @settings(max_examples=1000, deadline=None)
    @given(st.binary(max_size=400))
    def test_parseRequest(self, data: bytes) -> None:
        """
        parseRequest returns a request or raises L{BadRequest}, nothing
        else, for any bytes.
        """
        try:
            request = parseRequest(data)
        except BadRequest:
            return
        self.assertIn(request.version, (1, 3))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.binary(min_size=1, max_size=300), max_size=5))
    def test_controlProtocol(self, chunks) -> None:
        """
        Any chunks of bytes on a control connection either make an
        endpoint or close the connection with a counted refusal; no
        exception escapes dataReceived.
        """
        clock = task.Clock()
        server = ControlServer(clock, Switch(), "/nonexistent/vt-prop")
        server.newEndpoint = lambda control, request: object()
        proto = server.buildProtocol(None)
        transport = StringTransport()
        proto.makeConnection(transport)
        for chunk in chunks:
            proto.dataReceived(chunk)
        clock.advance(REQUEST_TIMEOUT + 1)
        self.assertTrue(proto.endpoint is not None or transport.disconnecting)
        if proto.endpoint is None:
            self.assertEqual(server.refused, 1)


class _DataSocket(FakeDatagramSocket):
    """
    L{FakeDatagramSocket} with the buffer-size options the server sets.
    """

    def setsockopt(self, level: int, option: int, value: int) -> None:
        self.system.calls.append(("setsockopt", level, option, value))


class _System(FakeSystem):
    """
    L{FakeSystem} whose sockets are L{_DataSocket}s.
    """

    def socket(self, family: int, type: int) -> _DataSocket:
        sock = _DataSocket(self)
        self.sockets.append(sock)
        return sock


class _FakeHandle:
    """
    What L{ControlServer.newEndpoint} reads from a control connection's
    socket: the peer's credentials (C{SO_PEERCRED}) and a descriptor.
    """

    def __init__(self, fd: int, pid: int = 4377, uid: int = 0, gid: int = 0) -> None:
        self.fd, self.credentials = fd, struct.pack("3i", pid, uid, gid)

    def getsockopt(self, level: int, option: int, size: int) -> bytes:
        assert (level, option, size) == (socket.SOL_SOCKET, server.SO_PEERCRED, 12)
        return self.credentials

    def fileno(self) -> int:
        return self.fd


class _ControlTransport(StringTransport):
    """
    A control connection's transport in memory, with a socket handle.
    """

    def __init__(self, fd: int) -> None:
        StringTransport.__init__(self)
        self.handle = _FakeHandle(fd)

    def getHandle(self) -> _FakeHandle:
        return self.handle


def _request(path: bytes = b"/vt/client/.04377-00000", port: int = 0,
             description: str = "vdeplug: user=root pid=4377") -> bytes:
    """
    A request as vdeplug4 sends it (v3).
    """
    return ControlRequest(3, 0, port, path, description).encode()


class HostileHandshakeFakeTests(SynchronousTestCase):
    """
    Hostile and broken handshakes on a L{ControlServer} with a fake clock,
    reactor and OS (L{FakeSystem}): each refusal is counted, leaves no file
    in DIR, and no timer behind; DIR is removed at stop.
    """

    def setUp(self) -> None:
        self.reactor = MemoryReactorClock()
        self.system = _System()
        self.switch = Switch(numports=8)
        self.directory = "/nonexistent/vt-fake/sw"
        self.server = ControlServer(self.reactor, self.switch, self.directory,
                                    system=self.system)
        self.server.startService()
        self.nextFD = 10
        self.events: list = []
        self.patch(server, "log", Logger(observer=self.events.append))

    def connect(self):
        """
        A new control connection, as the reactor makes one.

        @return: C{(protocol, transport)}, or C{(None, None)} when the
            server closed it at once.
        """
        proto = self.server.buildProtocol(None)
        if proto is None:
            return None, None
        self.nextFD += 1
        transport = _ControlTransport(self.nextFD)
        proto.makeConnection(transport)
        return proto, transport

    def lose(self, proto) -> None:
        """
        The connection ends (as the reactor reports it).
        """
        proto.connectionLost(Failure(ConnectionDone()))

    def filesInDirectory(self):
        """
        The files in DIR, as the fake OS has them.
        """
        return sorted(os.path.basename(path) for path in self.system.files
                      if os.path.dirname(path) == self.directory)

    def liveFiles(self):
        """
        The files the live endpoints own.
        """
        return sorted(os.path.basename(e.path) for e in self.server.endpoints.values())

    def assertClean(self) -> None:
        """
        Only the live endpoints' sockets are in DIR (the fake reactor makes
        no file for C{ctl}), no handshake is unfinished and no handshake
        timer is left.
        """
        self.assertEqual(self.filesInDirectory(), self.liveFiles())
        self.assertEqual(self.server.pending, set())
        pendingCalls = [c for c in self.reactor.getDelayedCalls()
                        if c is not self.server._logFlush]
        self.assertEqual(pendingCalls, [])

    def assertRefused(self, transport, kind: str, count: int = 1) -> None:
        """
        The connection was closed with a refusal of C{kind}, no reply sent.
        """
        self.assertTrue(transport.disconnecting)
        self.assertEqual(transport.value(), b"")
        self.assertEqual(self.server.refusals.get(kind), count, self.server.refusals)

    def test_goodRequest(self) -> None:
        """
        The fake set-up works: a whole request makes an endpoint, its
        socket connected to the client's path and bound in DIR, and the
        reply names it.
        """
        proto, transport = self.connect()
        proto.dataReceived(_request())
        self.assertIsNotNone(proto.endpoint)
        self.assertEqual(transport.value(), encodeSockaddr(proto.endpoint.path.encode()))
        self.assertEqual(self.filesInDirectory(), ["001.11"])
        self.assertEqual(self.system.sockets[-1].peer, b"/vt/client/.04377-00000")
        self.assertClean()

    def test_truncatedRefusedWithinPartialTimeout(self) -> None:
        """
        The first 1 to 121 bytes of a valid request (and of a legacy v1
        one, 123) are refused L{PARTIAL_TIMEOUT} (1 s) after the first
        byte, counted as C{partial}, with no file made.
        """
        self.assertEqual(PARTIAL_TIMEOUT, 1.0)
        v1 = ControlRequest(1, 0, 0, b"/vt/c", "d").encode()
        cases = [_request()[:n] for n in (1, 4, 8, 12, 13, 60, 100, 121)] + [v1[:123]]
        for number, data in enumerate(cases, 1):
            proto, transport = self.connect()
            proto.dataReceived(data)
            self.assertFalse(transport.disconnecting, len(data))
            self.reactor.advance(PARTIAL_TIMEOUT)
            self.assertRefused(transport, "partial", number)
            self.lose(proto)
            self.assertClean()
        self.assertEqual(self.system.sockets, [])
        self.assertEqual(self.server.refused, len(cases))

    def test_partialTimerStartsAtFirstByte(self) -> None:
        """
        Bytes dribbled in do not restart the partial timer: 1 s after the
        first byte the request is refused.
        """
        proto, transport = self.connect()
        data = _request()
        proto.dataReceived(data[:10])
        for n in range(10, 60, 10):
            self.reactor.advance(PARTIAL_TIMEOUT / 5)
            if n < 50:
                self.assertFalse(transport.disconnecting)
            proto.dataReceived(data[n:n + 10])
        self.assertRefused(transport, "partial")
        self.assertClean()

    def test_splitRequestCompletedInTime(self) -> None:
        """
        A request in two pieces that completes within the partial timeout
        is served, and no timer is left.
        """
        proto, transport = self.connect()
        data = _request()
        proto.dataReceived(data[:50])
        self.reactor.advance(PARTIAL_TIMEOUT / 2)
        proto.dataReceived(data[50:])
        self.assertIsNotNone(proto.endpoint)
        self.assertEqual(self.server.refused, 0)
        self.assertClean()

    def test_nothingSentRefusedAtRequestTimeout(self) -> None:
        """
        A connection that sends nothing is refused after
        L{REQUEST_TIMEOUT}, counted as C{timeout}.
        """
        proto, transport = self.connect()
        self.reactor.advance(REQUEST_TIMEOUT - PARTIAL_TIMEOUT)
        self.assertFalse(transport.disconnecting)
        self.reactor.advance(PARTIAL_TIMEOUT)
        self.assertRefused(transport, "timeout")
        self.assertClean()

    def test_overallBoundKept(self) -> None:
        """
        A first byte late in the request timeout does not extend it.
        """
        proto, transport = self.connect()
        self.reactor.advance(REQUEST_TIMEOUT - PARTIAL_TIMEOUT / 2)
        proto.dataReceived(b"\xce")
        self.reactor.advance(PARTIAL_TIMEOUT / 2)
        self.assertRefused(transport, "timeout")
        self.assertClean()

    def test_nonexistentClientPath(self) -> None:
        """
        A client path that does not exist is refused (C{socket}) and makes
        no file; 37 of them leave DIR as it was, and a good client is
        served afterwards.
        """
        self.system.connectError = errno.ENOENT
        for number in range(1, 38):
            proto, transport = self.connect()
            proto.dataReceived(_request(b"/nonexistent/.%05d" % (number,)))
            self.assertRefused(transport, "socket", number)
            self.lose(proto)
            self.assertClean()
        self.assertTrue(all(s.closed for s in self.system.sockets))
        self.system.connectError = None
        proto, transport = self.connect()
        proto.dataReceived(_request())
        self.assertIsNotNone(proto.endpoint)
        self.assertClean()

    def test_permissionRefusedAfterBind(self) -> None:
        """
        When giving the data socket to the client's uid fails after the
        bind, the socket file is removed and the socket closed.
        """
        self.system.chownError = errno.EPERM
        proto, transport = self.connect()
        proto.dataReceived(_request())
        self.assertRefused(transport, "socket")
        self.assertIn(("unlink", self.directory + "/001.11"), self.system.calls)
        self.assertTrue(self.system.sockets[-1].closed)
        self.assertClean()

    def test_bindFails(self) -> None:
        """
        A bind that fails is refused, with no file left.
        """
        self.system.bindErrors[self.directory + "/001.11"] = errno.EACCES
        proto, transport = self.connect()
        proto.dataReceived(_request())
        self.assertRefused(transport, "socket")
        self.assertTrue(self.system.sockets[-1].closed)
        self.assertClean()

    def test_failureAfterEndpointMade(self) -> None:
        """
        A failure once the endpoint exists (here, joining the reactor)
        closes the endpoint: its file is removed, it leaves the switch.
        """
        def addReader(reader):
            raise OSError(errno.EBADF, "bad descriptor")
        self.patch(self.reactor, "addReader", addReader)
        proto, transport = self.connect()
        proto.dataReceived(_request())
        self.assertRefused(transport, "socket")
        self.assertEqual(list(self.switch.endpoints()), [])
        self.assertEqual(self.server.endpoints, {})
        self.assertClean()

    def test_badRequests(self) -> None:
        """
        Bad magic (refused at its first byte), bad version, bad type, an
        empty path and an oversize request are refused at once, counted
        as C{request}, and make no socket.
        """
        good = _request()
        cases = [
            b"\x78",
            b"\x78\x56\x34\x12" + good[4:],
            good[:4] + b"\x02\x00\x00\x00" + good[8:],
            good[:4] + b"\x04\x00\x00\x00" + good[8:],
            good[:8] + b"\x07\x00\x00\x00" + good[12:],
            good[:12] + b"\x01\x00" + b"\0" * 108,
            good + b"z" * 300,
        ]
        for number, data in enumerate(cases, 1):
            proto, transport = self.connect()
            proto.dataReceived(data)
            self.assertRefused(transport, "request", number)
            self.lose(proto)
            self.assertClean()
        self.assertEqual(self.system.sockets, [])

    def test_portRefused(self) -> None:
        """
        A port out of range, and any port when all are busy, are refused
        (C{port}) before any socket is made.
        """
        proto, transport = self.connect()
        proto.dataReceived(_request(port=40))
        self.assertRefused(transport, "port")
        for number in range(1, 8):
            live, _ = self.connect()
            live.dataReceived(_request())
            self.assertIsNotNone(live.endpoint)
        sockets = len(self.system.sockets)
        proto, transport = self.connect()
        proto.dataReceived(_request())
        self.assertRefused(transport, "port", 2)
        self.assertEqual(len(self.system.sockets), sockets)
        self.assertEqual(len(self.liveFiles()), 7)
        self.assertClean()

    def test_tooManyEndpoints(self) -> None:
        """
        Past L{MAX_ENDPOINTS} a request is refused with no file made.
        """
        self.patch(server, "MAX_ENDPOINTS", 1)
        live, _ = self.connect()
        live.dataReceived(_request())
        proto, transport = self.connect()
        proto.dataReceived(_request())
        self.assertRefused(transport, "port")
        self.assertEqual(len(self.liveFiles()), 1)
        self.assertClean()

    def test_peerGoneMidHandshake(self) -> None:
        """
        A client gone after a partial request, after a whole one (the
        endpoint made for it goes, and its file), or right after
        connecting, leaves nothing behind and counts no refusal.
        """
        proto, transport = self.connect()
        proto.dataReceived(_request()[:30])
        self.lose(proto)
        self.assertClean()
        proto, transport = self.connect()
        proto.dataReceived(_request())
        self.assertEqual(len(self.filesInDirectory()), 1)
        self.lose(proto)
        self.assertEqual(self.filesInDirectory(), [])
        self.assertEqual(list(self.switch.endpoints()), [])
        proto, transport = self.connect()
        self.lose(proto)
        self.assertClean()
        self.assertEqual(self.server.refused, 0)

    def test_unfinishedHandshakesBounded(self) -> None:
        """
        At most L{MAX_PENDING} handshakes are unfinished: past that a new
        connection is closed at once, counted as C{busy}; when one
        finishes, a new one is taken again.
        """
        flood = [self.connect()[0] for _ in range(MAX_PENDING)]
        self.assertNotIn(None, flood)
        for _ in range(200 - MAX_PENDING):
            self.assertEqual(self.connect(), (None, None))
        self.assertEqual(self.server.refusals, {"busy": 200 - MAX_PENDING})
        self.assertEqual(len(self.server.pending), MAX_PENDING)
        self.lose(flood.pop())
        proto, transport = self.connect()
        proto.dataReceived(_request())
        self.assertIsNotNone(proto.endpoint)
        self.assertEqual(len(self.server.pending), MAX_PENDING - 1)
        self.reactor.advance(REQUEST_TIMEOUT)
        self.assertEqual(self.server.refusals["timeout"], MAX_PENDING - 1)
        for proto in flood:
            self.lose(proto)
        self.assertClean()

    def test_refusalLogRateLimited(self) -> None:
        """
        A flood of refusals logs L{LOG_BURST} lines one by one, then one
        line with the count of the rest when L{LOG_INTERVAL} ends.
        """
        for _ in range(LOG_BURST + 40):
            proto, transport = self.connect()
            proto.dataReceived(b"junk")
        self.assertEqual(self.server.refusals, {"request": LOG_BURST + 40})
        texts = [formatEvent(e) for e in self.events]
        self.assertEqual(len(texts), LOG_BURST)
        self.assertTrue(all(t.startswith("control connection refused: bad magic")
                            for t in texts), texts)
        self.reactor.advance(LOG_INTERVAL)
        texts = [formatEvent(e) for e in self.events]
        self.assertEqual(texts[LOG_BURST:], [
            "40 more control connections refused (not logged one by one)"])
        proto, transport = self.connect()
        proto.dataReceived(b"junk")
        self.assertEqual(len(self.events), LOG_BURST + 2)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_stopRemovesDirectory(self) -> None:
        """
        Stopping after hostile handshakes, with handshakes unfinished and
        endpoints live, removes every file the server made and DIR, and
        leaves no timer.
        """
        self.system.connectError = errno.ENOENT
        for _ in range(5):
            self.connect()[0].dataReceived(_request())
        self.system.connectError = None
        self.connect()[0].dataReceived(_request())
        self.connect()[0].dataReceived(_request()[:20])
        _, idle = self.connect()
        for _ in range(LOG_BURST):
            self.connect()[0].dataReceived(b"junk")
        self.assertIn(self.directory, self.system.directories)
        self.server.stopService()
        self.assertTrue(idle.disconnecting)
        self.assertEqual(self.system.files, {})
        self.assertNotIn(self.directory, self.system.directories)
        self.assertEqual(self.server.pending, set())
        self.assertEqual(self.reactor.getDelayedCalls(), [])
        self.assertEqual(formatEvent(self.events[-1]),
                         "5 more control connections refused (not logged one by one)")
