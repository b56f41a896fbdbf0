# -*- test-case-name: tests.ns.test_view -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.ns.view.NamespaceView} without root: a fake child
(tests/ns/fakechild.py) hands over a socket pair in place of a tap, and
the switch is a fake in-process port provider; the real reactor runs
the child.
"""

import io
import os
import signal
import sys
from typing import Any, List

from twisted.internet import reactor
from twisted.internet.defer import Deferred
from twisted.internet.error import ConnectionLost
from twisted.python.failure import Failure
from twisted.trial.unittest import TestCase
from zope.interface import implementer

from tests.util import shortTempDir
from vdetwist.interfaces import IFrameProtocol, IPortAttachment, IPortProvider
from vdetwist.ns.prepare import ViewConfig
from vdetwist.ns.view import NamespaceView
from vdetwist.vde import local

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FRAME = b"\xff" * 6 + b"\x02" * 6 + b"\x08\x00" + b"hello from inside"


@implementer(IPortAttachment)
class FakeAttachment:
    """
    A port of L{FakeProvider}.
    """

    portNumber = 1
    endpointID = 1

    def __init__(self, provider: "FakeProvider", receiver: Any) -> None:
        self.provider, self.receiver = provider, receiver

    def sendFrame(self, frame: bytes) -> None:
        self.provider.frames.append(frame)
        # Fired from the reactor, not from within the relay's read loop.
        waiters, self.provider.waiters = self.provider.waiters, []
        for waiter in waiters:
            reactor.callLater(0, waiter.callback, frame)

    def loseConnection(self) -> None:
        self.provider.detached += 1
        self.provider.attachments.remove(self)
        self.receiver.connectionLost(Failure(ConnectionLost("detached")))


@implementer(IPortProvider)
class FakeProvider:
    """
    An in-process switch that records frames and attachments.
    """

    mac = b"\x02\0\0\0\0\x99"

    def __init__(self) -> None:
        self.frames: List[bytes] = []
        self.attachments: List[FakeAttachment] = []
        self.waiters: List[Deferred] = []
        self.attachWaiters: List[Deferred] = []
        self.detached = 0

    def attach(self, receiver: Any, description: str = "in-process",
               port: int = 0) -> FakeAttachment:
        attachment = FakeAttachment(self, receiver)
        self.attachments.append(attachment)
        if IFrameProtocol.providedBy(receiver):
            receiver.makeConnection(attachment)
        waiters, self.attachWaiters = self.attachWaiters, []
        for waiter in waiters:
            reactor.callLater(0, waiter.callback, attachment)
        return attachment

    def nextAttach(self) -> Deferred:
        d: Deferred = Deferred()
        self.attachWaiters.append(d)
        return d

    def nextFrame(self) -> Deferred:
        d: Deferred = Deferred()
        self.waiters.append(d)
        return d

    def kick(self) -> None:
        """
        Close every port, as a switch going away does.
        """
        for attachment in list(self.attachments):
            self.attachments.remove(attachment)
            attachment.receiver.connectionLost(Failure(ConnectionLost("switch gone")))


class NamespaceViewTests(TestCase):
    """
    The parent's lifetime rules on a fake child.
    """

    timeout = 60

    def setUp(self) -> None:
        self.directory = shortTempDir(self)
        self.provider = FakeProvider()
        local.register(self.directory, self.provider)
        self.addCleanup(local.unregister, self.directory)
        self.err = io.BytesIO()

    def view(self, command: List[str], config: Any = None) -> NamespaceView:
        view = NamespaceView(reactor, self.directory, config or ViewConfig(), command,
                             err=self.err, childModule="tests.ns.fakechild",
                             env=dict(os.environ, PYTHONPATH=ROOT))
        return view

    def python(self, code: str) -> List[str]:
        return [sys.executable, "-c", code]

    async def test_relayAndStatus(self) -> None:
        """
        A frame COMMAND writes on its tap reaches the switch, a frame from
        the switch reaches COMMAND; COMMAND's exit status is the view's;
        the port is given back.
        """
        code = ("import os, select; os.write(4, %r); select.select([4], [], []);"
                " os._exit(0 if os.read(4, 9999) == b'reply' else 3)" % (FRAME,))
        view = self.view(self.python(code))
        done = view.start()
        frame = await self.provider.nextFrame()
        self.assertEqual(frame, FRAME)
        self.provider.attachments[0].receiver.frameReceived(b"reply")
        self.assertEqual(await done, 0)
        self.assertEqual(self.provider.detached, 1)
        self.assertTrue(view.relay.tapClosed)

    async def test_exitStatus(self) -> None:
        """
        COMMAND's exit code is passed through.
        """
        self.assertEqual(await self.view(["sh", "-c", "exit 7"]).start(), 7)

    async def test_missingCommand(self) -> None:
        """
        A COMMAND that does not exist: 127 and one line.
        """
        self.assertEqual(await self.view(["/nonexistent/cmd"]).start(), 127)

    async def test_signalPassedOn(self) -> None:
        """
        A signal is passed on to COMMAND; dying of it gives 128 + N.
        """
        view = self.view(self.python(
            "import os; os.write(4, %r); import time; time.sleep(60)" % (FRAME,)))
        done = view.start()
        await self.provider.nextFrame()
        view.signal(signal.SIGTERM)
        self.assertEqual(await done, 128 + signal.SIGTERM)
        self.assertEqual(self.provider.attachments, [])

    async def test_startError(self) -> None:
        """
        The child's start error: one line, status 1, the port given back.
        """
        status = await self.view(["true"], ViewConfig(name="fail")).start()
        self.assertEqual(status, 1)
        self.assertEqual(self.err.getvalue(), b"vdetwist ns: made to fail\n")
        self.assertEqual(self.provider.attachments, [])

    async def test_noSwitch(self) -> None:
        """
        No switch: one line, status 1, no child started.
        """
        view = NamespaceView(reactor, os.path.join(self.directory, "none"), ViewConfig(),
                             ["true"], err=self.err, childModule="tests.ns.fakechild")
        self.assertEqual(await view.start(), 1)
        self.assertIn(b"vdetwist ns: cannot attach to the switch", self.err.getvalue())
        self.assertIsNone(view.process)

    async def test_switchLostAndBack(self) -> None:
        """
        The switch going away is reported, the view keeps running with its
        frames dropped and counted, and the relay attaches again when it
        is back.
        """
        code = ("import os, select\n"
                "os.write(4, %r)\n"
                "while True:\n"
                "    select.select([4], [], [])\n"
                "    data = os.read(4, 9999)\n"
                "    if data == b'send':\n"
                "        os.write(4, %r)\n"
                "    if data == b'quit':\n"
                "        os._exit(5)\n" % (FRAME, FRAME))
        view = self.view(self.python(code))
        done = view.start()
        await self.provider.nextFrame()
        local.unregister(self.directory)
        self.provider.kick()
        self.assertIn(b"vdetwist ns: lost the switch", self.err.getvalue())
        self.assertIn(b"vd0 stays", self.err.getvalue())
        # While away, a frame COMMAND sends is dropped and counted.
        view.relay.frameReceived(b"send")
        await self.until(lambda: view.attachment.detachedDrops == 1)
        self.assertEqual(self.provider.frames, [FRAME])
        back = self.provider.nextAttach()
        local.register(self.directory, self.provider)
        await back
        self.assertIn(b"attached again to the switch %s (1 frames dropped meanwhile)"
                      % (self.directory.encode(),), self.err.getvalue())
        self.provider.attachments[0].receiver.frameReceived(b"send")
        self.assertEqual(await self.provider.nextFrame(), FRAME)
        self.provider.attachments[0].receiver.frameReceived(b"quit")
        self.assertEqual(await done, 5)
        self.assertEqual(self.provider.attachments, [])

    async def test_portClosed(self) -> None:
        """
        The switch closing the port (it is still there): reported in one
        line; COMMAND runs on, its frames dropped; no reattachment.
        """
        code = ("import os, select\n"
                "os.write(4, %r)\n"
                "while True:\n"
                "    select.select([4], [], [])\n"
                "    data = os.read(4, 9999)\n"
                "    if data == b'send':\n"
                "        os.write(4, %r)\n"
                "    if data == b'quit':\n"
                "        os._exit(6)\n" % (FRAME, FRAME))
        view = self.view(self.python(code))
        done = view.start()
        await self.provider.nextFrame()
        self.provider.kick()
        self.assertIn(b"vdetwist ns: the switch %s closed the port" % (self.directory.encode(),),
                      self.err.getvalue())
        view.relay.frameReceived(b"send")
        await self.until(lambda: view.relay.drops == 1)
        self.assertEqual(self.provider.attachments, [])
        self.assertEqual(self.err.getvalue().count(b"\n"), 1, self.err.getvalue())
        view.relay.frameReceived(b"quit")
        self.assertEqual(await done, 6)

    def until(self, condition: Any) -> Deferred:
        """
        @param condition: a check.
        @return: a Deferred firing once C{condition()} holds (checked
            each reactor turn; the test's timeout bounds it).
        """
        d: Deferred = Deferred()

        def check() -> None:
            if condition():
                d.callback(None)
            else:
                reactor.callLater(0.01, check)
        check()
        return d
