# -*- test-case-name: tests.vde.test_plug -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.vde.plug}.

L{HandshakeTests} and friends run the handshake on a L{MemoryReactorClock}
with a fake OS layer, and compare what the plug sends with the requests
Debian's vde_plug sent in the captures of L{tests.vde.test_control}.
L{RealSwitchTests} connect to Debian's C{vde_switch} over real sockets.
"""

import errno
import os
import shutil
import tempfile
from typing import TYPE_CHECKING, Any

from twisted.internet import reactor as globalReactor
from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ConnectError, ConnectionDone, ConnectionLost
from twisted.internet.interfaces import IReadDescriptor
from twisted.internet.testing import MemoryReactorClock, StringTransport
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase, TestCase
from zope.interface.verify import verifyObject

from tests.vde.realswitch import SKIP_REASON, RealVDESwitch
from tests.vde.test_control import (
    REPLY,
    REQUEST_ANY,
    REQUEST_PORT0,
    REQUEST_PORT5,
)
from tests.vde.test_stream import (
    R4_FRAME,
    RecordingFrameProtocol,
    RecordingFrameReceiver,
    WaitingReceiver,
)
from vdetwist.interfaces import IFrameProtocol, IFrameTransport
from vdetwist.testing import FakeDatagramSocket, FakeStat, FakeSystem
from vdetwist.vde.plug import (
    HandshakeRefused,
    HandshakeTimeout,
    VDEPlug,
    VDEPlugError,
    connectPlug,
    formatDescription,
)
from vdetwist.vde.system import RealSystem
from vdetwist.wire.frames import MAX_FRAME


if TYPE_CHECKING:
    _SynchronousBase = SynchronousTestCase
    _AsynchronousBase = TestCase
else:
    _SynchronousBase = _AsynchronousBase = object


class FakeHandshakeMixin(_SynchronousBase):
    """
    Drive a handshake on a memory reactor.
    """

    def setUpFake(self, pid: int = 4377) -> None:
        """
        Make a fresh reactor, system and protocol.

        @param pid: the fake pid.
        """
        self.reactor = MemoryReactorClock()
        self.system = FakeSystem(pid=pid)
        self.protocol = RecordingFrameProtocol()

    def begin(self, url: str = "vde:///tmp/cap/sw", **kwargs: Any) -> Deferred[VDEPlug]:
        """
        Start connecting with the C{vdeplug:} tag, as vde_plug does.

        @param url: the URL.
        @param kwargs: more arguments for L{connectPlug}.
        @return: its Deferred.
        """
        kwargs.setdefault("description", "vdeplug:")
        return connectPlug(self.reactor, url, self.protocol, system=self.system, **kwargs)

    def acceptCtl(self, index: int = 0) -> tuple[Any, StringTransport]:
        """
        Complete the index-th control connection attempt.

        @param index: which C{connectUNIX} call.
        @return: the protocol and its transport.
        """
        factory = self.reactor.unixClients[index][1]
        protocol = factory.buildProtocol(None)
        transport = StringTransport()
        protocol.makeConnection(transport)
        return protocol, transport

    def connectFully(self, url: str = "vde:///tmp/cap/sw") -> tuple[
            VDEPlug, Any, StringTransport, FakeDatagramSocket]:
        """
        Run a whole successful handshake.

        @param url: the URL.
        @return: the plug, the ctl protocol and transport, the data socket.
        """
        d = self.begin(url)
        ctl, transport = self.acceptCtl()
        ctl.dataReceived(REPLY)
        plug = self.successResultOf(d)
        return plug, ctl, transport, self.system.sockets[0]


class HandshakeTests(FakeHandshakeMixin, SynchronousTestCase):
    """
    The handshake, step by step, on a fake OS and a memory reactor.
    """

    def setUp(self) -> None:
        """
        Fresh fakes.
        """
        self.setUpFake()

    def test_connectsCtl(self) -> None:
        """
        The control stream goes to C{DIR/ctl}.
        """
        self.begin()
        self.assertEqual(self.reactor.unixClients[0][0], "/tmp/cap/sw/ctl")

    def test_requestAnyPort(self) -> None:
        """
        The request is byte for byte what vde_plug sent for the same URL,
        pid and user.
        """
        self.begin()
        _, transport = self.acceptCtl()
        self.assertEqual(transport.value(), REQUEST_ANY)

    def test_requestPort5(self) -> None:
        """
        C{[5]} sends what vde_plug sent for C{[5]}.
        """
        self.setUpFake(pid=4370)
        self.begin("vde:///tmp/cap/sw[5]")
        _, transport = self.acceptCtl()
        self.assertEqual(transport.value(), REQUEST_PORT5)

    def test_requestPort0(self) -> None:
        """
        C{[0]} sends a REQ_NEW_PORT0 request, as vde_plug did.
        """
        self.setUpFake(pid=4384)
        self.begin("vde:///tmp/cap/sw[0]")
        _, transport = self.acceptCtl()
        self.assertEqual(transport.value(), REQUEST_PORT0)

    def test_bindCreatesPrivateSocket(self) -> None:
        """
        Our socket is bound under a 077 umask (so it is born 0700), the
        umask is restored, and the socket is chmodded to the URL's mode.
        """
        self.begin("vde:///tmp/cap/sw[mode=0750]")
        self.acceptCtl()
        path = "/tmp/cap/sw/.04377-00000"
        self.assertIn(("bind", path, 0o077), self.system.calls)
        self.assertEqual(self.system.currentUmask, 0o022)
        self.assertIn(("chmod", path, 0o750), self.system.calls)

    def test_bindRetriesOnAddressInUse(self) -> None:
        """
        EADDRINUSE moves on to the next sequence number.
        """
        self.system.bindErrors = {
            "/tmp/cap/sw/.04377-00000": errno.EADDRINUSE,
            "/tmp/cap/sw/.04377-00001": errno.EADDRINUSE,
        }
        self.begin()
        _, transport = self.acceptCtl()
        self.assertEqual(self.system.sockets[0].bound, "/tmp/cap/sw/.04377-00002")
        self.assertIn(b"/tmp/cap/sw/.04377-00002\x00", transport.value())

    def test_bindFallsBack(self) -> None:
        """
        When DIR refuses the bind (EACCES), C{/var/run/vde.PPPPP-NNNNN} is
        tried, as vdeplug4 does.
        """
        self.system.bindErrors = {"/tmp/cap/sw/.04377-00000": errno.EACCES}
        self.begin()
        self.acceptCtl()
        self.assertEqual(self.system.sockets[0].bound, "/var/run/vde.04377-00000")

    def test_bindFailsEverywhere(self) -> None:
        """
        When no directory takes the socket, the Deferred fails clearly and
        the control stream is aborted.
        """
        self.system.bindErrors = {
            "/tmp/cap/sw/.04377-00000": errno.EACCES,
            "/var/run/vde.04377-00000": errno.EACCES,
            "/var/tmp/vde.04377-00000": errno.EACCES,
            "/tmp/vde.04377-00000": errno.EACCES,
        }
        d = self.begin()
        _, transport = self.acceptCtl()
        failure = self.failureResultOf(d, VDEPlugError)
        self.assertIn("Permission denied", failure.getErrorMessage())
        self.assertTrue(self.system.sockets[0].closed)
        self.assertTrue(transport.disconnecting)

    def test_group(self) -> None:
        """
        C{group=} chowns our socket to that group.
        """
        self.begin("vde:///tmp/cap/sw[group=kvm]")
        self.acceptCtl()
        self.assertIn(("chown", "/tmp/cap/sw/.04377-00000", -1, 100), self.system.calls)

    def test_unknownGroup(self) -> None:
        """
        An unknown group fails the handshake.
        """
        d = self.begin("vde:///tmp/cap/sw[group=nosuchgroup]")
        self.acceptCtl()
        self.failureResultOf(d, VDEPlugError)

    def test_switchOfAnotherUser(self) -> None:
        """
        For a switch owned by another non-root user, our socket gets the
        switch's group and mode 0770, as vdeplug4 does.
        """
        self.system.euid = 1000
        self.system.ctlStat = FakeStat(1001, 55)
        self.begin()
        self.acceptCtl()
        path = "/tmp/cap/sw/.04377-00000"
        self.assertIn(("chown", path, -1, 55), self.system.calls)
        self.assertIn(("chmod", path, 0o770), self.system.calls)

    def test_switchOfAnotherUserChownFails(self) -> None:
        """
        When that chown fails, the socket is opened to everyone (0777).
        """
        self.system.euid = 1000
        self.system.ctlStat = FakeStat(1001, 55)
        self.system.chownError = errno.EPERM
        self.begin()
        self.acceptCtl()
        self.assertIn(("chmod", "/tmp/cap/sw/.04377-00000", 0o777), self.system.calls)

    def test_reply(self) -> None:
        """
        On the reply, the data socket is connected to the replied path,
        made nonblocking, the switch's socket chmodded, our name unlinked,
        the protocol connected and the Deferred fired.
        """
        d = self.begin()
        ctl, _ = self.acceptCtl()
        self.assertNoResult(d)
        ctl.dataReceived(REPLY[:50])
        self.assertNoResult(d)
        ctl.dataReceived(REPLY[50:])
        plug = self.successResultOf(d)
        sock = self.system.sockets[0]
        self.assertEqual(sock.peer, "/tmp/cap/sw/001.6")
        self.assertFalse(sock.blocking)
        self.assertIn(("chmod", "/tmp/cap/sw/001.6", 0o700), self.system.calls)
        self.assertIn(("unlink", "/tmp/cap/sw/.04377-00000"), self.system.calls)
        self.assertNotIn("/tmp/cap/sw/.04377-00000", self.system.files)
        self.assertIs(self.protocol.transport, plug)
        self.assertEqual(plug.dataPath, "/tmp/cap/sw/001.6")
        self.assertEqual(plug.description, "vdeplug: user=root pid=4377")
        self.assertIn(plug._reader, self.reactor.getReaders())
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_timeout(self) -> None:
        """
        With no reply, the Deferred fails with L{HandshakeTimeout} after the
        timeout, and everything is cleaned up.
        """
        d = self.begin(timeout=2.0)
        _, transport = self.acceptCtl()
        self.reactor.advance(1.9)
        self.assertNoResult(d)
        self.reactor.advance(0.2)
        failure = self.failureResultOf(d, HandshakeTimeout)
        self.assertIn("did not reply within 2 s", failure.getErrorMessage())
        self.assertTrue(self.system.sockets[0].closed)
        self.assertIn(("unlink", "/tmp/cap/sw/.04377-00000"), self.system.calls)
        self.assertTrue(transport.disconnecting)

    def test_timeoutWhileConnecting(self) -> None:
        """
        The timeout also covers a control connection that never completes.
        """
        d = self.begin(timeout=1.0)
        self.reactor.advance(1.0)
        self.failureResultOf(d, HandshakeTimeout)

    def test_refusedByClose(self) -> None:
        """
        The switch closing the control stream without a reply fails the
        Deferred with L{HandshakeRefused}.
        """
        d = self.begin()
        ctl, _ = self.acceptCtl()
        ctl.connectionLost(Failure(ConnectionDone()))
        failure = self.failureResultOf(d, HandshakeRefused)
        self.assertIn("without replying", failure.getErrorMessage())
        self.assertIn(("unlink", "/tmp/cap/sw/.04377-00000"), self.system.calls)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_shortReplyThenClose(self) -> None:
        """
        A short reply followed by a close is a refusal too.
        """
        d = self.begin()
        ctl, _ = self.acceptCtl()
        ctl.dataReceived(REPLY[:20])
        ctl.connectionLost(Failure(ConnectionDone()))
        failure = self.failureResultOf(d, HandshakeRefused)
        self.assertIn("short 20-byte reply", failure.getErrorMessage())

    def test_unusableReply(self) -> None:
        """
        A reply with the wrong address family is refused.
        """
        d = self.begin()
        ctl, transport = self.acceptCtl()
        ctl.dataReceived(b"\x02\x00" + REPLY[2:])
        self.failureResultOf(d, HandshakeRefused)
        self.assertTrue(transport.disconnecting)

    def test_dataConnectFails(self) -> None:
        """
        A replied path that cannot be connected to fails the handshake.
        """
        self.system.connectError = errno.ENOENT
        d = self.begin()
        ctl, _ = self.acceptCtl()
        ctl.dataReceived(REPLY)
        failure = self.failureResultOf(d, VDEPlugError)
        self.assertIn("/tmp/cap/sw/001.6", failure.getErrorMessage())

    def test_missingSwitch(self) -> None:
        """
        A switch directory that does not exist fails at once.
        """
        self.system.missing.add("/nonexistent")
        d = self.begin("vde:///nonexistent")
        failure = self.failureResultOf(d, VDEPlugError)
        self.assertIn("No such file or directory", failure.getErrorMessage())
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_ctlConnectFails(self) -> None:
        """
        A control socket that refuses the connection fails the Deferred.
        """
        d = self.begin()
        factory = self.reactor.unixClients[0][1]
        factory.clientConnectionFailed(None, Failure(ConnectError(string="refused")))
        failure = self.failureResultOf(d, VDEPlugError)
        self.assertIn("/tmp/cap/sw/ctl", failure.getErrorMessage())

    def test_portGroupFallsBackToCtl(self) -> None:
        """
        C{[name]} tries C{DIR/name} first, then C{DIR/ctl}.
        """
        self.begin("vde:///tmp/cap/sw[lan]")
        self.assertEqual(self.reactor.unixClients[0][0], "/tmp/cap/sw/lan")
        factory = self.reactor.unixClients[0][1]
        factory.clientConnectionFailed(None, Failure(ConnectError(string="ENOENT")))
        self.assertEqual(self.reactor.unixClients[1][0], "/tmp/cap/sw/ctl")
        _, transport = self.acceptCtl(1)
        self.assertEqual(transport.value()[8:12], b"\x00\x00\x00\x00")

    def test_defaultSwitch(self) -> None:
        """
        An empty path tries C{/var/run/vde.ctl/ctl} first.
        """
        self.begin("vde://")
        self.assertEqual(self.reactor.unixClients[0][0], "/var/run/vde.ctl/ctl")

    def test_badURL(self) -> None:
        """
        A bad URL fails the Deferred with L{ValueError}.
        """
        self.failureResultOf(self.begin("tap://tap0"), ValueError)

    def test_cancel(self) -> None:
        """
        Cancelling the Deferred aborts and cleans up.
        """
        d = self.begin()
        _, transport = self.acceptCtl()
        d.cancel()
        self.failureResultOf(d, CancelledError)
        self.assertTrue(self.system.sockets[0].closed)
        self.assertTrue(transport.disconnecting)
        self.assertIn(("unlink", "/tmp/cap/sw/.04377-00000"), self.system.calls)
        self.assertEqual(self.reactor.getDelayedCalls(), [])

    def test_makeConnectionRaises(self) -> None:
        """
        A protocol whose C{makeConnection} raises fails the Deferred with
        that error, and the plug is closed.
        """
        def explode(transport: object) -> None:
            """
            Fail to start.
            """
            raise ZeroDivisionError()
        self.protocol.makeConnection = explode  # type: ignore[method-assign]
        d = self.begin()
        ctl, transport = self.acceptCtl()
        ctl.dataReceived(REPLY)
        self.failureResultOf(d, ZeroDivisionError)
        self.assertTrue(self.system.sockets[0].closed)
        self.assertTrue(transport.disconnecting)

    def test_plainReceiver(self) -> None:
        """
        A plain L{IFrameReceiver} can be plugged in too.
        """
        self.protocol = RecordingFrameReceiver()  # type: ignore[assignment]
        plug, ctl, _, _ = self.connectFully()
        ctl.connectionLost(Failure(ConnectionDone()))
        self.assertTrue(plug.disconnected)


class DescriptionTests(SynchronousTestCase):
    """
    L{formatDescription}.
    """

    def test_format(self) -> None:
        """
        The C library's format: tag, user, pid.
        """
        self.assertEqual(formatDescription("myplug", FakeSystem(pid=12661)),
                         "myplug user=root pid=12661")

    def test_ssh(self) -> None:
        """
        C{SSH_CLIENT}'s first word is appended.
        """
        system = FakeSystem(pid=7)
        system.env["SSH_CLIENT"] = "192.0.2.1 51234 22"
        self.assertEqual(formatDescription("x", system), "x user=root pid=7 SSH=192.0.2.1")

    def test_capped(self) -> None:
        """
        The description is capped at 127 characters.
        """
        self.assertEqual(len(formatDescription("d" * 200, FakeSystem())), 127)


class PlugTests(FakeHandshakeMixin, SynchronousTestCase):
    """
    A connected L{VDEPlug} on a fake socket.
    """

    def setUp(self) -> None:
        """
        Connect a plug.
        """
        self.setUpFake()
        self.plug, self.ctl, self.ctlTransport, self.sock = self.connectFully()

    def test_interfaces(self) -> None:
        """
        The plug is an L{IFrameTransport}; its reader an L{IReadDescriptor}.
        """
        self.assertTrue(verifyObject(IFrameTransport, self.plug))
        self.assertTrue(verifyObject(IReadDescriptor, self.plug._reader))
        self.assertTrue(verifyObject(IFrameProtocol, self.protocol))

    def test_sendFrame(self) -> None:
        """
        A frame is one datagram, counted.
        """
        self.plug.sendFrame(R4_FRAME)
        self.assertEqual(self.sock.sent, [R4_FRAME])
        self.assertEqual((self.plug.framesOut, self.plug.bytesOut), (1, 60))

    def test_sendErrorsDropped(self) -> None:
        """
        EAGAIN, ENOBUFS, ECONNREFUSED and EMSGSIZE drop the frame and count
        it; nothing is raised.
        """
        for error in (errno.EAGAIN, errno.ENOBUFS, errno.ECONNREFUSED, errno.EMSGSIZE):
            self.sock.sendError = error
            self.plug.sendFrame(R4_FRAME)
        self.assertEqual((self.plug.drops, self.plug.framesOut), (4, 0))

    def test_receive(self) -> None:
        """
        One wakeup drains the socket until EAGAIN, delivering frames of 14
        to 9234 bytes and dropping the rest.
        """
        self.sock.incoming = [
            b"", b"\x01" * 13, b"\x02" * 14, R4_FRAME, b"\x03" * MAX_FRAME,
            b"\x04" * (MAX_FRAME + 1)]
        self.plug._reader.doRead()
        self.assertEqual(self.protocol.frames,
                         [b"\x02" * 14, R4_FRAME, b"\x03" * MAX_FRAME])
        self.assertEqual((self.plug.framesIn, self.plug.bytesIn),
                         (3, 14 + 60 + MAX_FRAME))
        self.assertEqual((self.plug.inputDrops, self.plug.drops), (3, 3))
        self.assertEqual(self.sock.recvCalls, 7)

    def test_receiveBounded(self) -> None:
        """
        At most C{maxDatagramsPerRead} datagrams are read per wakeup.
        """
        limit = self.plug.maxDatagramsPerRead
        self.sock.incoming = [R4_FRAME] * (limit + 36)
        self.plug._reader.doRead()
        self.assertEqual(len(self.protocol.frames), limit)
        self.assertEqual(len(self.sock.incoming), 36)
        self.plug._reader.doRead()
        self.assertEqual(len(self.protocol.frames), limit + 36)

    def test_drainsBeforeDelivering(self) -> None:
        """
        A wakeup reads every datagram it will deliver before delivering the
        first, so the socket's queue is empty while the frames are
        processed (a burst then finds room in it).
        """
        left: list[int] = []

        def frameReceived(frame: bytes) -> None:
            """
            Record how many datagrams the socket still holds.
            """
            left.append(len(self.sock.incoming))
        self.protocol.frameReceived = frameReceived  # type: ignore[method-assign]
        self.sock.incoming = [R4_FRAME] * 5
        self.plug._reader.doRead()
        self.assertEqual(left, [0] * 5)

    def test_corksAroundABatch(self) -> None:
        """
        A protocol with C{cork} and C{uncork} is corked around each batch
        of frames delivered (so what it sends in answer leaves back to
        back), and uncorked even when its C{frameReceived} raises.
        """
        events: list[object] = []
        self.protocol.cork = lambda: events.append("cork")  # type: ignore[attr-defined]
        self.protocol.uncork = lambda: events.append("uncork")  # type: ignore[attr-defined]
        self.protocol.frameReceived = events.append  # type: ignore[method-assign]
        self.sock.incoming = [b"\x01" * 60, b"\x02" * 60]
        self.plug._reader.doRead()
        self.assertEqual(events, ["cork", b"\x01" * 60, b"\x02" * 60, "uncork"])

        def broken(frame: bytes) -> None:
            raise ValueError("bug")
        self.protocol.frameReceived = broken  # type: ignore[method-assign]
        self.sock.incoming = [b"\x03" * 60]
        self.assertRaises(ValueError, self.plug._reader.doRead)
        self.assertEqual(events[-2:], ["cork", "uncork"])

    def test_pauseFromFrameReceived(self) -> None:
        """
        A protocol that pauses the plug in C{frameReceived} gets no more
        frames in that wakeup; the frames already drained are delivered in
        order after C{resumeProducing}, even if no datagram arrives.
        """
        frames: list[bytes] = []

        def frameReceived(frame: bytes) -> None:
            """
            Record the frame and pause.
            """
            frames.append(frame)
            self.plug.pauseProducing()
        self.protocol.frameReceived = frameReceived  # type: ignore[method-assign]
        self.sock.incoming = [b"\x01" * 60, b"\x02" * 60, b"\x03" * 60]
        self.plug._reader.doRead()
        self.assertEqual(frames, [b"\x01" * 60])
        self.assertFalse(self.plug._reading)
        self.reactor.advance(0)
        self.assertEqual(len(frames), 1)
        self.plug.resumeProducing()
        self.reactor.advance(0)
        self.assertEqual(frames, [b"\x01" * 60, b"\x02" * 60])
        self.plug.resumeProducing()
        self.reactor.advance(0)
        self.assertEqual(frames, [b"\x01" * 60, b"\x02" * 60, b"\x03" * 60])

    def test_closeFromFrameReceived(self) -> None:
        """
        A protocol that closes the plug in C{frameReceived} stops the
        wakeup without counting a receive error, and gets no more frames.
        """
        frames: list[bytes] = []

        def frameReceived(frame: bytes) -> None:
            """
            Record the frame and close.
            """
            frames.append(frame)
            self.plug.loseConnection()
        self.protocol.frameReceived = frameReceived  # type: ignore[method-assign]
        self.sock.incoming = [R4_FRAME] * 3
        self.plug._reader.doRead()
        self.assertEqual((len(frames), self.plug.receiveErrors), (1, 0))
        self.assertTrue(self.sock.closed)
        self.plug.resumeProducing()
        self.reactor.advance(0)
        self.assertEqual(len(frames), 1)

    def test_receiveError(self) -> None:
        """
        A receive error ends the wakeup and is counted.
        """
        self.sock.incoming = [OSError(errno.ECONNREFUSED, "refused"), R4_FRAME]
        self.plug._reader.doRead()
        self.assertEqual((self.plug.receiveErrors, self.protocol.frames), (1, []))
        self.plug._reader.doRead()
        self.assertEqual(self.protocol.frames, [R4_FRAME])

    def test_kicked(self) -> None:
        """
        EOF on the control stream closes the plug and tells the protocol
        with L{ConnectionLost}.
        """
        self.ctl.connectionLost(Failure(ConnectionDone()))
        self.assertTrue(self.plug.disconnected)
        self.assertTrue(self.sock.closed)
        self.assertNotIn(self.plug._reader, self.reactor.getReaders())
        [reason] = self.protocol.lost
        reason.trap(ConnectionLost)
        self.plug.sendFrame(R4_FRAME)
        self.assertEqual(self.plug.drops, 1)

    def test_loseConnection(self) -> None:
        """
        C{loseConnection} closes the data socket and the control stream;
        the protocol hears L{ConnectionDone} once the stream is closed, once.
        """
        self.plug.loseConnection()
        self.assertTrue(self.sock.closed)
        self.assertTrue(self.ctlTransport.disconnecting)
        self.assertEqual(self.protocol.lost, [])
        self.plug.loseConnection()
        self.ctl.connectionLost(Failure(ConnectionDone()))
        [reason] = self.protocol.lost
        reason.trap(ConnectionDone)
        self.assertTrue(self.plug.disconnected)

    def test_readerLost(self) -> None:
        """
        The reactor dropping the reader (shutdown) ends the plug once.
        """
        self.plug._reader.connectionLost(Failure(ConnectionLost()))
        self.ctl.connectionLost(Failure(ConnectionDone()))
        self.assertEqual(len(self.protocol.lost), 1)
        self.assertTrue(self.sock.closed)
        self.assertTrue(self.ctlTransport.disconnecting)

    def test_strayCtlData(self) -> None:
        """
        Bytes on the control stream after the handshake are ignored.
        """
        self.ctl.dataReceived(b"junk")
        self.assertEqual(self.plug.ctlBytesIgnored, 4)
        self.assertFalse(self.plug.disconnected)

    def test_pauseResume(self) -> None:
        """
        Pausing removes the reader; resuming adds it back.
        """
        self.plug.pauseProducing()
        self.assertNotIn(self.plug._reader, self.reactor.getReaders())
        self.plug.resumeProducing()
        self.assertIn(self.plug._reader, self.reactor.getReaders())


def broadcast(source: int, payload: bytes = b"0" * 46) -> bytes:
    """
    A broadcast frame from a locally administered MAC.

    @param source: the last byte of the source MAC.
    @param payload: the payload.
    @return: the frame.
    """
    return b"\xff" * 6 + b"\x02\x00\x00\x00\x00" + bytes([source]) + b"\x88\xb5" + payload


class SwitchBehaviourMixin(_AsynchronousBase):
    """
    The behaviour of L{connectPlug} against a running switch, over real
    sockets; subclasses start a particular switch.

    @ivar url: the switch's URL.
    @ivar ctlDir: the switch directory.
    @ivar directory: a private directory holding it (and no C{ctl}).
    @ivar refusal: the error a refused request gives.
    """

    timeout = 10
    refusal: type[Exception] = VDEPlugError
    url: str
    ctlDir: str
    directory: str

    def endpoints(self) -> list[tuple[int, int, str]]:
        """
        @return: C{(port, endpointID, description)} of each endpoint.
        """
        raise NotImplementedError()

    def kick(self, port: int, endpointID: int) -> None:
        """
        Close an endpoint from the switch's side.

        @param port: its port.
        @param endpointID: its ID.
        """
        raise NotImplementedError()

    def stopSwitch(self) -> None:
        """
        Make the switch exit.
        """
        raise NotImplementedError()

    async def plug(self, suffix: str = "", description: str = "vt-test",
                   timeout: float = 2.0) -> tuple[VDEPlug, WaitingReceiver]:
        """
        Connect a plug and arrange for it to be closed.

        @param suffix: appended to the URL, e.g. C{"[5]"}.
        @param description: the tag.
        @param timeout: the handshake timeout.
        @return: the plug and its protocol.
        """
        protocol = WaitingReceiver()
        plug = await connectPlug(globalReactor, self.url + suffix, protocol,
                                 description, timeout=timeout)
        self.addCleanup(plug.loseConnection)
        return plug, protocol

    def test_exchangeFrames(self) -> Deferred[None]:
        """
        Two plugs exchange broadcast frames through the switch.
        """
        async def run() -> None:
            """
            The test body.
            """
            a, aProtocol = await self.plug(description="plug-a")
            b, bProtocol = await self.plug(description="plug-b")
            waiting = bProtocol.nextFrame()
            a.sendFrame(broadcast(1))
            self.assertEqual(await waiting, broadcast(1))
            waiting = aProtocol.nextFrame()
            b.sendFrame(broadcast(2, b"x" * 1000))
            self.assertEqual(await waiting, broadcast(2, b"x" * 1000))
            self.assertEqual((a.framesOut, b.framesIn), (1, 1))
        return Deferred.fromCoroutine(run())

    def test_description(self) -> None:
        """
        C{port/print} shows our description, with user and pid, on port 1.
        """
        async def run() -> None:
            """
            The test body.
            """
            await self.plug(description="vt-describe")
            [(port, _, description)] = self.endpoints()
            self.assertEqual(port, 1)
            self.assertEqual(description, "vt-describe user=%s pid=%d" % (
                RealSystem.getLogin(), os.getpid()))
        return Deferred.fromCoroutine(run())  # type: ignore[return-value]

    def test_ownSocketUnlinked(self) -> None:
        """
        After the handshake our C{.PPPPP-NNNNN} name is gone from DIR.
        """
        async def run() -> None:
            """
            The test body.
            """
            await self.plug()
            names = os.listdir(self.ctlDir)
            self.assertEqual([n for n in names if n.startswith(".")], [])
        return Deferred.fromCoroutine(run())  # type: ignore[return-value]

    def test_port5(self) -> None:
        """
        C{[5]} lands on port 5.
        """
        async def run() -> None:
            """
            The test body.
            """
            await self.plug("[5]")
            self.assertEqual([e[0] for e in self.endpoints()], [5])
        return Deferred.fromCoroutine(run())  # type: ignore[return-value]

    def test_port0(self) -> None:
        """
        C{[0]} lands on the special port 0.
        """
        async def run() -> None:
            """
            The test body.
            """
            await self.plug("[0]")
            self.assertEqual([e[0] for e in self.endpoints()], [0])
        return Deferred.fromCoroutine(run())  # type: ignore[return-value]

    def test_kick(self) -> None:
        """
        C{port/epclose} makes the plug end with L{ConnectionLost}.
        """
        async def run() -> None:
            """
            The test body.
            """
            plug, protocol = await self.plug()
            [(port, endpointID, _)] = self.endpoints()
            self.kick(port, endpointID)
            reason = await protocol.whenLost()
            reason.trap(ConnectionLost)
            self.assertTrue(plug.disconnected)
        return Deferred.fromCoroutine(run())  # type: ignore[return-value]

    def test_switchExits(self) -> None:
        """
        The switch exiting ends every plug with L{ConnectionLost}.
        """
        async def run() -> None:
            """
            The test body.
            """
            _, aProtocol = await self.plug()
            _, bProtocol = await self.plug()
            self.stopSwitch()
            (await aProtocol.whenLost()).trap(ConnectionLost)
            (await bProtocol.whenLost()).trap(ConnectionLost)
        return Deferred.fromCoroutine(run())  # type: ignore[return-value]

    def test_loseConnection(self) -> None:
        """
        C{loseConnection} ends the plug with L{ConnectionDone}, and the
        switch drops the endpoint.
        """
        async def run() -> None:
            """
            The test body.
            """
            plug, protocol = await self.plug()
            plug.loseConnection()
            reason = await protocol.whenLost()
            reason.trap(ConnectionDone)
            self.assertEqual(len(protocol.lost), 1)
            for _ in range(100):
                if not self.endpoints():
                    break
                await _sleep(0.01)
            self.assertEqual(self.endpoints(), [])
        return Deferred.fromCoroutine(run())  # type: ignore[return-value]

    def test_refusedPort(self) -> None:
        """
        A request for port 40 of 32 fails the Deferred with L{refusal}
        (r586 never answers it, so there it is a L{HandshakeTimeout})
        instead of hanging, and leaves no socket file behind.
        """
        async def run() -> None:
            """
            The test body.
            """
            try:
                await self.plug("[40]", timeout=0.3)
            except self.refusal:
                pass
            else:
                self.fail("the handshake succeeded")
            self.assertEqual(
                [n for n in os.listdir(self.ctlDir) if n.startswith(".")], [])
        return Deferred.fromCoroutine(run())  # type: ignore[return-value]

    def test_noSwitch(self) -> None:
        """
        A directory without a switch fails with L{VDEPlugError}.
        """
        async def run() -> None:
            """
            The test body.
            """
            self.url = "vde://" + self.directory
            try:
                await self.plug()
            except VDEPlugError as e:
                self.assertIn("/ctl", str(e))
            else:
                self.fail("the handshake succeeded")
        return Deferred.fromCoroutine(run())  # type: ignore[return-value]


class RealSwitchTests(SwitchBehaviourMixin, TestCase):
    """
    L{connectPlug} against Debian's C{vde_switch} (r586).
    """

    skip = SKIP_REASON
    refusal = HandshakeTimeout

    def setUp(self) -> None:
        """
        Start a switch in a short private directory.
        """
        self.directory = tempfile.mkdtemp(prefix="vt-plug-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.switch = RealVDESwitch(self.directory)
        self.switch.start(["-n", "32"])
        self.addCleanup(self.switch.stop)
        self.ctlDir = self.switch.ctlDir
        self.url = "vde://" + self.ctlDir

    def endpoints(self) -> list[tuple[int, int, str]]:
        """
        @return: the endpoints C{port/print} lists.
        """
        return self.switch.endpoints()

    def kick(self, port: int, endpointID: int) -> None:
        """
        C{port/epclose PORT ID} on the console.

        @param port: the port.
        @param endpointID: the endpoint ID.
        """
        self.assertIn("1000 Success",
                      self.switch.console("port/epclose %d %d" % (port, endpointID)))

    def stopSwitch(self) -> None:
        """
        Stop the switch process.
        """
        self.switch.stop()

    def test_truncatesLongFrames(self) -> Deferred[None]:
        """
        r586 truncates frames over 1518 bytes; the plug delivers what
        arrives (docs section 2).
        """
        async def run() -> None:
            """
            The test body.
            """
            a, _ = await self.plug()
            _, bProtocol = await self.plug()
            waiting = bProtocol.nextFrame()
            a.sendFrame(broadcast(1, b"z" * 1986))
            self.assertEqual(await waiting, broadcast(1, b"z" * 1504))
        return Deferred.fromCoroutine(run())


class VDETwistSwitchTests(SwitchBehaviourMixin, TestCase):
    """
    L{connectPlug} against vdetwist's own switch and control server, in
    this process.
    """

    refusal = HandshakeRefused

    def setUp(self) -> None:
        """
        Start a switch with 32 ports in a short private directory.
        """
        from vdetwist.switch.server import ControlServer
        from vdetwist.switch.switch import Switch

        self.directory = tempfile.mkdtemp(prefix="vt-plug-")
        self.addCleanup(shutil.rmtree, self.directory, True)
        self.ctlDir = os.path.join(self.directory, "sw")
        self.server = ControlServer(globalReactor, Switch(numports=32), self.ctlDir)
        self.server.startService()
        self.addCleanup(self.server.stopService)
        self.url = "vde://" + self.ctlDir

    def endpoints(self) -> list[tuple[int, int, str]]:
        """
        @return: the server's endpoints.
        """
        return sorted(
            (endpoint.port.number, endpoint.endpointID, endpoint.description)
            for endpoint in self.server.endpoints.values())

    def kick(self, port: int, endpointID: int) -> None:
        """
        Close the endpoint from the switch's side.

        @param port: the port.
        @param endpointID: the endpoint ID.
        """
        self.server.endpoints[endpointID].close()

    def stopSwitch(self) -> None:
        """
        Stop the control server, which closes every endpoint.
        """
        self.server.stopService()


async def _sleep(seconds: float) -> None:
    """
    Wait on the global reactor.

    @param seconds: how long.
    """
    from twisted.internet.task import deferLater
    await deferLater(globalReactor, seconds, lambda: None)
