# -*- test-case-name: tests.switch.test_server -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.switch.server}: the control socket and datagram
endpoints, with Debian's C{vde_plug} (vdeplug4) as the client where it is
installed and raw sockets for malformed requests.
"""

import os
import shutil
import socket
import stat
import struct

from hypothesis import given, settings
from hypothesis import strategies as st
from twisted.internet import defer, protocol, reactor, task
from twisted.internet.testing import StringTransport
from twisted.trial.unittest import SynchronousTestCase, TestCase

from tests.util import shortTempDir
from vdetwist.switch.server import REQUEST_TIMEOUT, ControlServer, dirModeFor
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


class ControlServerTests(TestCase):
    """
    The control server on the real reactor, with real sockets.
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
        names = os.listdir(self.server.directory)
        self.assertEqual(sorted(names), sorted(["ctl", os.path.basename(endpoint.path)]))

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
        a = self.plug("vde://" + self.server.directory)
        b = self.plug("vde://" + self.server.directory)
        yield self.waitFor(lambda: len(list(self.switch.endpoints())) == 2)
        data = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01\x88\xb5" + b"0" * 46
        a.transport.write(struct.pack("!H", len(data)) + data)
        yield self.waitFor(lambda: len(b.out) >= 62)
        self.assertEqual(b.out, b"\x00\x3c" + data)

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
