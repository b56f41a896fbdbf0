# -*- test-case-name: tests.scripts.test_plug -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.scripts.plug}: the command line, the L{Cable} joining
two frame attachments, L{Plug} with fake switches and an in-memory
standard I/O, and L{ChildProcess} with a fake process.  The real thing
against Debian's tools is in L{tests.interop.test_plug_interop}.
"""

import io
from typing import Any, List, Optional

from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionDone, ConnectionLost, ProcessDone
from twisted.internet.interfaces import IPushProducer
from twisted.internet.testing import StringTransport
from twisted.python import usage
from twisted.python.failure import Failure
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from vdetwist.interfaces import IFrameProtocol, IFrameTransport
from vdetwist.scripts import main as dispatcher
from vdetwist.scripts.plug import (
    DEFAULT_DESCRIPTION,
    Cable,
    ChildProcess,
    Options,
    Plug,
    _ChildStreamFrameProtocol,
)
from vdetwist.vde.url import parseVDEURL

#: A 60-byte Ethernet frame: broadcast destination, a local source MAC,
#: EtherType 0x88b5 (local experimental), 46 bytes of payload.
FRAME = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"0" * 46
#: The same frame on a VDE stream: its length, 60, as 2 bytes big endian.
STREAM_FRAME = b"\x00\x3c" + FRAME


@implementer(IFrameTransport, IPushProducer)
class FakePlug:
    """
    A switch attachment in memory: records frames, and tells its protocol
    when it is closed (or kicked).
    """

    def __init__(self, protocol: Any, url: str) -> None:
        """
        Set up the fake.
        """
        self.protocol = protocol
        self.url = parseVDEURL(url)
        self.sent: List[bytes] = []
        self.closed = False
        self.paused = False
        self.framesIn = self.framesOut = self.drops = 0

    def sendFrame(self, frame: bytes) -> None:
        """
        Record a frame.
        """
        self.sent.append(frame)
        self.framesOut += 1

    def loseConnection(self) -> None:
        """
        Close, telling the protocol.
        """
        self.kick(Failure(ConnectionDone("VDE plug closed")))

    def kick(self, reason: Failure) -> None:
        """
        The switch ends the attachment with C{reason}.
        """
        if not self.closed:
            self.closed = True
            self.protocol.connectionLost(reason)

    def pauseProducing(self) -> None:
        """
        Record the pause.
        """
        self.paused = True

    def resumeProducing(self) -> None:
        """
        Record the resume.
        """
        self.paused = False

    def stopProducing(self) -> None:
        """
        Close.
        """
        self.loseConnection()


class FakeSwitches:
    """
    L{vdetwist.vde.plug.connectPlug} for tests: each call waits until the
    test answers it with L{accept} or L{refuse}.
    """

    def __init__(self) -> None:
        """
        Set up the fake.
        """
        self.calls: List[tuple] = []

    def __call__(self, reactor: Any, url: str, protocol: Any, description: str,
                 timeout: float) -> Deferred:
        """
        Start a connection the test answers later.
        """
        d: Deferred = Deferred()
        self.calls.append((url, protocol, description, d))
        return d

    def accept(self, index: int = -1) -> FakePlug:
        """
        Answer a connection: attach a L{FakePlug}.
        """
        url, protocol, _, d = self.calls[index]
        plug = FakePlug(protocol, url or "/tmp/default")
        protocol.makeConnection(plug)
        d.callback(plug)
        return plug

    def refuse(self, index: int = -1, message: str = "No such file or directory") -> None:
        """
        Answer a connection with an error.
        """
        self.calls[index][3].errback(Failure(OSError(message)))


class _Stdio(StringTransport):
    """
    Standard input and output in memory.
    """

    def __init__(self, protocol: Any) -> None:
        """
        Set up the fake.
        """
        StringTransport.__init__(self)
        self.protocol = protocol
        self.lost = False
        protocol.makeConnection(self)

    def loseConnection(self) -> None:
        """
        Close, telling the protocol.
        """
        StringTransport.loseConnection(self)
        self.connectionLost(Failure(ConnectionDone()))

    def connectionLost(self, reason: Failure) -> None:
        """
        Both halves are gone: tell the protocol, once.
        """
        if not self.lost:
            self.lost = True
            self.protocol.connectionLost(reason)


def parse(*argv: str) -> Options:
    """
    Parse a command line.
    """
    options = Options()
    options.parseOptions(list(argv))
    return options


class OptionsTests(SynchronousTestCase):
    """
    vde_plug's argument shapes.
    """

    def test_stream(self) -> None:
        """
        One URL: the stream mode, with vde_plug's description.
        """
        o = parse("vde:///tmp/sw")
        self.assertEqual((o["url"], o["url2"], o["command"], o["descr"]),
                         ("vde:///tmp/sw", None, None, DEFAULT_DESCRIPTION))

    def test_twoURLs(self) -> None:
        """
        Two URLs: two plugs joined.
        """
        o = parse("/tmp/a", "/tmp/b")
        self.assertEqual((o["url"], o["url2"]), ("/tmp/a", "/tmp/b"))

    def test_command(self) -> None:
        """
        C{URL = COMMAND ARGS}: the child's argv; options of the command are
        its own.
        """
        o = parse("-D", "x", "/tmp/a", "=", "ssh", "-T", "host", "vde_plug")
        self.assertEqual((o["url"], o["command"], o["descr"]),
                         ("/tmp/a", ["ssh", "-T", "host", "vde_plug"], "x"))

    def test_commandDefaultSwitch(self) -> None:
        """
        C{= COMMAND}: the default switch.
        """
        self.assertEqual(parse("=", "cat")["url"], "")

    def test_bad(self) -> None:
        """
        Three URLs, two URLs before C{=}, or C{=} with no command are usage
        errors.
        """
        for argv in (["a", "b", "c"], ["a", "b", "=", "c"], ["a", "="]):
            self.assertRaises(usage.UsageError, parse, *argv)

    def test_dispatcher(self) -> None:
        """
        C{vdetwist plug} is a subcommand.
        """
        self.assertEqual(dispatcher.SUBCOMMANDS["plug"][0], "vdetwist.scripts.plug")


class CableTests(SynchronousTestCase):
    """
    L{Cable} joins two attachments.
    """

    def setUp(self) -> None:
        """
        Build the objects under test.
        """
        self.cable = Cable()
        self.left = FakePlug(self.cable.left, "/tmp/a")
        self.right = FakePlug(self.cable.right, "/tmp/b")

    def test_interface(self) -> None:
        """
        Both ends are L{IFrameProtocol}s.
        """
        verifyObject(IFrameProtocol, self.cable.left)
        verifyObject(IFrameProtocol, self.cable.right)

    def test_framesCross(self) -> None:
        """
        A frame received at one end leaves by the other.
        """
        self.cable.left.makeConnection(self.left)
        self.cable.right.makeConnection(self.right)
        self.cable.left.frameReceived(b"a" * 60)
        self.cable.right.frameReceived(b"b" * 60)
        self.assertEqual((self.left.sent, self.right.sent), ([b"b" * 60], [b"a" * 60]))

    def test_dropWhileUnattached(self) -> None:
        """
        Frames for an end not attached yet are dropped and counted.
        """
        self.cable.left.makeConnection(self.left)
        self.cable.left.frameReceived(FRAME)
        self.assertEqual(self.cable.left.dropped, 1)

    def test_lossClosesTheOther(self) -> None:
        """
        When one end is lost the other is closed, and C{done} fires with
        the end lost first.
        """
        self.cable.left.makeConnection(self.left)
        self.cable.right.makeConnection(self.right)
        self.left.kick(Failure(ConnectionLost("kicked")))
        self.assertTrue(self.right.closed)
        self.assertIs(self.successResultOf(self.cable.done), self.cable.left)
        self.assertTrue(self.cable.firstReason.check(ConnectionLost))

    def test_abandon(self) -> None:
        """
        An end that will never attach brings the cable down.
        """
        self.cable.left.makeConnection(self.left)
        self.cable.abandon(self.cable.right)
        self.assertTrue(self.left.closed)
        self.successResultOf(self.cable.done)

    def test_lateAttachAfterLoss(self) -> None:
        """
        An end attached after the other was lost is closed at once.
        """
        self.cable.left.makeConnection(self.left)
        self.left.kick(Failure(ConnectionLost()))
        self.cable.right.makeConnection(self.right)
        self.assertTrue(self.right.closed)
        self.successResultOf(self.cable.done)


class PlugTests(SynchronousTestCase):
    """
    L{Plug} with fake switches and in-memory standard I/O.
    """

    def start(self, *argv: str) -> Deferred:
        """
        Run L{Plug} with fake switches and in-memory standard I/O.

        @return: L{Plug.run}'s Deferred.
        """
        self.switches = FakeSwitches()
        self.err = io.StringIO()
        self.stdio: Optional[_Stdio] = None

        def makeStdio(protocol: Any) -> _Stdio:
            """
            Standard I/O in memory.
            """
            self.stdio = _Stdio(protocol)
            return self.stdio

        self.plug = Plug(None, parse(*argv), self.err, connect=self.switches,
                         makeStdio=makeStdio)
        return self.plug.run()

    def test_stream(self) -> None:
        """
        Framed bytes from standard input become frames to the switch, and
        frames from the switch go to standard output with their header;
        the plug produces for standard output.
        """
        d = self.start("vde:///tmp/sw")
        [(url, _, description, _)] = self.switches.calls
        self.assertEqual((url, description), ("vde:///tmp/sw", "vdeplug:"))
        switch = self.switches.accept()
        assert self.stdio is not None
        self.assertIs(self.stdio.producer, switch)
        self.stdio.protocol.dataReceived(STREAM_FRAME + STREAM_FRAME[:30])
        self.stdio.protocol.dataReceived(STREAM_FRAME[30:])
        self.assertEqual(switch.sent, [FRAME, FRAME])
        self.plug.cable.left.frameReceived(FRAME)
        self.assertEqual(self.stdio.value(), STREAM_FRAME)
        self.assertNoResult(d)

    def test_switchRestarts(self) -> None:
        """
        A switch attachment that reattaches by itself (a
        L{vdetwist.vde.attach.SwitchAttachment}) keeps the plug running
        while the switch is away; standard error says when it went and
        when it is back.
        """
        d = self.start("vde:///tmp/sw")
        switch = self.switches.accept()
        wentAway: List[Any] = []
        back: List[Any] = []
        switch.name = "/tmp/sw"  # type: ignore[attr-defined]
        switch.addWentAwayObserver = wentAway.append  # type: ignore[attr-defined]
        switch.addReattachObserver = back.append  # type: ignore[attr-defined]
        self.plug._sayOutages(switch)
        [say] = wentAway
        say()
        [say] = back
        say()
        self.assertEqual(self.err.getvalue(),
                         "vdetwist plug: switch /tmp/sw went away; reconnecting\n"
                         "vdetwist plug: switch /tmp/sw is back; reattached\n")
        self.assertNoResult(d)

    def test_endOfInput(self) -> None:
        """
        The end of standard input closes the switch's plug (after
        unregistering it as producer, or the descriptor would never close)
        and the exit status is 0.
        """
        d = self.start("vde:///tmp/sw")
        switch = self.switches.accept()
        assert self.stdio is not None
        self.stdio.protocol.readConnectionLost()
        self.assertIsNone(self.stdio.producer)
        self.assertTrue(switch.closed)
        self.assertEqual(self.successResultOf(d), 0)
        self.assertEqual(self.err.getvalue(), "")

    def test_outputClosed(self) -> None:
        """
        Standard output closed by its reader ends the stream (the transport
        as a whole, since StandardIO's own C{loseConnection} would never
        finish without its writer) and closes the switch's plug: status 0.
        """
        d = self.start("vde:///tmp/sw")
        switch = self.switches.accept()
        assert self.stdio is not None
        self.stdio.protocol.writeConnectionLost()
        self.assertTrue(self.stdio.lost)
        self.assertTrue(switch.closed)
        self.assertEqual(self.successResultOf(d), 0)

    def test_kicked(self) -> None:
        """
        The switch closing the plug ends the stream, with a message and
        status 0 (as vde_plug).
        """
        d = self.start("vde:///tmp/sw")
        switch = self.switches.accept()
        switch.kick(Failure(ConnectionLost("the VDE switch at /tmp/sw closed the control connection")))
        assert self.stdio is not None
        self.assertTrue(self.stdio.disconnecting)
        self.assertEqual(self.successResultOf(d), 0)
        self.assertIn("closed the control connection", self.err.getvalue())

    def test_stderrClosed(self) -> None:
        """
        A closed standard error (its reader went away) does not keep the
        plug from finishing when the switch closes it.
        """
        d = self.start("vde:///tmp/sw")
        switch = self.switches.accept()

        def brokenPipe(text: str) -> None:
            """
            Standard error's reader is gone.
            """
            raise BrokenPipeError(32, "Broken pipe")
        self.plug.err.write = brokenPipe  # type: ignore[method-assign]
        switch.kick(Failure(ConnectionLost("the switch closed the control connection")))
        self.assertEqual(self.successResultOf(d), 0)

    def test_noSwitch(self) -> None:
        """
        An unreachable switch: vde_plug's message and status 1; standard
        input is never touched.
        """
        d = self.start("vde:///tmp/none")
        self.switches.refuse(message="No such file or directory")
        self.assertEqual(self.successResultOf(d), 1)
        self.assertEqual(self.err.getvalue(), "vde_open vde:///tmp/none: No such file or directory\n")
        self.assertIsNone(self.stdio)

    def test_description(self) -> None:
        """
        C{-D} sets the description.
        """
        self.start("-D", "cable", "/tmp/sw")
        self.assertEqual(self.switches.calls[0][2], "cable")

    def test_twoSwitches(self) -> None:
        """
        C{URL1 URL2}: frames cross between the two plugs; when one goes the
        other is closed.
        """
        d = self.start("/tmp/a", "/tmp/b")
        a = self.switches.accept(0)
        self.assertEqual(self.switches.calls[1][0], "/tmp/b")
        b = self.switches.accept(1)
        self.plug.cable.left.frameReceived(FRAME)
        self.assertEqual(b.sent, [FRAME])
        b.kick(Failure(ConnectionLost()))
        self.assertTrue(a.closed)
        self.assertEqual(self.successResultOf(d), 0)

    def test_secondSwitchMissing(self) -> None:
        """
        When the second switch cannot be reached, the first plug is closed
        and the status is 1.
        """
        d = self.start("/tmp/a", "/tmp/b")
        a = self.switches.accept(0)
        self.switches.refuse(1)
        self.assertTrue(a.closed)
        self.assertEqual(self.successResultOf(d), 1)
        self.assertIn("vde_open /tmp/b: ", self.err.getvalue())

    def test_verbose(self) -> None:
        """
        C{-v} reports the counts at the end.
        """
        d = self.start("-v", "/tmp/sw")
        switch = self.switches.accept()
        assert self.stdio is not None
        self.stdio.protocol.dataReceived(STREAM_FRAME)
        self.stdio.protocol.readConnectionLost()
        self.successResultOf(d)
        self.assertIn("stream: 1 frames in", self.err.getvalue())
        self.assertIn("/tmp/sw: 0 frames in, 1 out, 0 dropped", self.err.getvalue())
        self.assertEqual(switch.sent, [FRAME])


class _FakeProcessTransport(StringTransport):
    """
    A process transport in memory.
    """

    def __init__(self) -> None:
        """
        Set up the fake.
        """
        StringTransport.__init__(self)
        self.stdinClosed = False
        self.signals: List[str] = []

    def closeStdin(self) -> None:
        """
        Record the close.
        """
        self.stdinClosed = True

    def signalProcess(self, signal: str) -> None:
        """
        Record the signal.
        """
        self.signals.append(signal)


class ChildProcessTests(SynchronousTestCase):
    """
    L{ChildProcess}: the stream on a child's pipes.
    """

    def setUp(self) -> None:
        """
        Build the objects under test.
        """
        from twisted.internet.task import Clock
        self.clock = Clock()
        self.cable = Cable()
        self.stream = _ChildStreamFrameProtocol(self.cable.right)
        self.child = ChildProcess(self.stream, self.clock, grace=2.0)
        self.stream.child = self.child
        self.transport = _FakeProcessTransport()
        self.child.makeConnection(self.transport)
        self.switch = FakePlug(self.cable.left, "/tmp/sw")
        self.cable.left.makeConnection(self.switch)
        self.transport.registerProducer(self.switch, True)

    def test_frames(self) -> None:
        """
        Frames from the child's output go to the switch; frames from the
        switch are written to its input.
        """
        self.child.outReceived(STREAM_FRAME)
        self.assertEqual(self.switch.sent, [FRAME])
        self.cable.left.frameReceived(FRAME)
        self.assertEqual(self.transport.value(), STREAM_FRAME)

    def test_childEndsOutput(self) -> None:
        """
        The child closing its output ends the cable, closes its input, and
        SIGTERM follows only if it outstays the grace period.
        """
        self.child.childConnectionLost(1)
        self.assertTrue(self.switch.closed)
        self.assertTrue(self.transport.stdinClosed)
        self.assertIsNone(self.transport.producer)
        self.successResultOf(self.cable.done)
        self.clock.advance(2.0)
        self.assertEqual(self.transport.signals, ["TERM"])

    def test_switchGoes(self) -> None:
        """
        The switch going closes the child's input; its exit in time cancels
        the SIGTERM and fires C{ended}.
        """
        self.switch.kick(Failure(ConnectionLost()))
        self.assertTrue(self.transport.stdinClosed)
        self.child.processEnded(Failure(ProcessDone(0)))
        self.clock.advance(5)
        self.assertEqual(self.transport.signals, [])
        self.successResultOf(self.child.ended)
        self.successResultOf(self.cable.done)
