# -*- test-case-name: tests.scripts.test_plugurls -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.scripts.plugurls}: URL schemes, and two ptp ends
meeting on real datagram sockets in a temporary directory, read by hand
(no reactor runs); and C{vdetwist plug}'s options for them.
"""

import io
import os
import stat
from contextlib import redirect_stderr
from typing import Any, List

from twisted.internet.error import ConnectionDone
from twisted.internet.task import Clock
from twisted.trial.unittest import SynchronousTestCase
from zope.interface import implementer
from zope.interface.verify import verifyObject

from vdetwist.interfaces import IFrameProtocol, IFrameTransport
from vdetwist.scripts import main as dispatcher
from vdetwist.scripts import plug, plugurls
from tests.util import shortTempDir
from tests.vde.test_attach import FakeProvider
from vdetwist.vde import local
from vdetwist.vde.attach import SwitchAttachment

FRAME = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"0" * 46


class FakeReactor:
    """
    Records the readers added, for reading by hand.
    """

    def __init__(self) -> None:
        self.readers: List[Any] = []

    def addReader(self, reader: Any) -> None:
        self.readers.append(reader)

    def removeReader(self, reader: Any) -> None:
        self.readers.remove(reader)


@implementer(IFrameProtocol)
class Frames:
    """
    Collects frames and the end.
    """

    def __init__(self) -> None:
        self.frames: List[bytes] = []
        self.transport: Any = None
        self.reason: Any = None

    def makeConnection(self, transport: Any) -> None:
        self.transport = transport

    def frameReceived(self, frame: bytes) -> None:
        self.frames.append(frame)

    def connectionLost(self, reason: Any) -> None:
        self.reason = reason


class SchemeTests(SynchronousTestCase):
    """
    Which URLs are what.
    """

    def test_split(self) -> None:
        """
        A plain path (or nothing) is C{vde}; otherwise the scheme is before
        C{://}.
        """
        self.assertEqual(plugurls.splitURL("/tmp/sw"), ("vde", "/tmp/sw"))
        self.assertEqual(plugurls.splitURL(""), ("vde", ""))
        self.assertEqual(plugurls.splitURL("ptp:///tmp/x"), ("ptp", "/tmp/x"))
        self.assertEqual(plugurls.splitURL("cmd://ssh h vde_plug"), ("cmd", "ssh h vde_plug"))

    def test_unsupported(self) -> None:
        """
        Other schemes are refused with one line naming the supported ones,
        by L{connectURL} and by C{vdetwist plug} (status 1, no usage text).
        """
        for scheme in ("vde", "ptp", "cmd", "tap"):
            self.assertEqual(plugurls.checkURL(scheme + "://x"), scheme)
        e = self.assertRaises(plugurls.UnsupportedURL, plugurls.checkURL, "slirp://")
        self.assertEqual(str(e), "URL scheme 'slirp' is not supported "
                                 "(supported: vde, ptp, cmd, tap)")
        self.failureResultOf(plugurls.connectURL(None, "vxlan://239.0.0.1", Frames()),
                             plugurls.UnsupportedURL)
        for argv in (["slirp://"], ["vde:///tmp/x", "vxlan://239.0.0.1"]):
            err = io.StringIO()
            with redirect_stderr(err):
                self.assertEqual(dispatcher.main(["plug", *argv]), 1)
            scheme = argv[-1].split(":")[0]
            self.assertEqual(err.getvalue(), "vdetwist plug: URL scheme %r is not supported "
                                             "(supported: vde, ptp, cmd, tap)\n" % (scheme,))

    def test_errors(self) -> None:
        """
        A ptp URL without a path, a cmd URL without a command or with one
        that does not exist, a bad tap name: failed Deferreds.
        """
        for url in ("ptp://", "cmd://", "cmd://no-such-command-vdetwist", "tap://",
                    "tap://" + "x" * 16):
            self.failureResultOf(plugurls.connectURL(FakeReactor(), url, Frames()), OSError)


class SwitchURLTests(SynchronousTestCase):
    """
    A C{vde://} URL is attached persistently: the plug survives the
    switch's restarts.
    """

    def test_persistent(self) -> None:
        """
        L{plugurls.connectURL} gives a L{SwitchAttachment} for a switch,
        named after its directory, which the protocol got as its
        transport; C{-m} applies.
        """
        directory = "/nonexistent/vdetwist-plugurls"
        provider = FakeProvider()
        local.register(directory, provider)
        self.addCleanup(local.unregister, directory)
        protocol = Frames()
        attachment = self.successResultOf(plugurls.connectURL(
            Clock(), "vde://" + directory, protocol, mode=0o770))
        self.assertIsInstance(attachment, SwitchAttachment)
        self.assertEqual((attachment.name, attachment.url.mode), (directory, 0o770))
        self.assertIs(protocol.transport, attachment)
        self.assertEqual(len(provider.attached), 1)


class PTPTests(SynchronousTestCase):
    """
    Two ptp ends on one path, as vdeplug4's: the first binds PATH, the
    second PATH+; a third is refused.
    """

    def setUp(self) -> None:
        self.path = os.path.join(shortTempDir(self), "link")
        self.reactor = FakeReactor()

    def open(self, mode: Any = None) -> "tuple[Any, Frames]":
        frames = Frames()
        d = plugurls.connectURL(self.reactor, "ptp://" + self.path, frames, mode=mode)
        end = self.successResultOf(d)
        self.addCleanup(end.loseConnection)
        return end, frames

    def test_framesBothWays(self) -> None:
        """
        What one end sends the other reads; the first end's frames before
        the second exists are dropped and counted.
        """
        first, firstFrames = self.open()
        verifyObject(IFrameTransport, first)
        self.assertIs(firstFrames.transport, first)
        first.sendFrame(FRAME)
        self.assertEqual((first.framesOut, first.drops), (0, 1))
        second, secondFrames = self.open()
        self.assertEqual(sorted(os.listdir(os.path.dirname(self.path))), ["link", "link+"])
        first.sendFrame(FRAME)
        second.doRead()
        self.assertEqual(secondFrames.frames, [FRAME])
        second.sendFrame(FRAME[::-1])
        first.doRead()
        self.assertEqual(firstFrames.frames, [FRAME[::-1]])
        self.assertEqual((first.framesIn, first.framesOut, second.framesIn, second.framesOut),
                         (1, 1, 1, 1))
        self.assertEqual(first.name, "ptp://" + self.path)

    def test_third(self) -> None:
        """
        A third end on a path two are using gets EADDRINUSE.
        """
        self.open()
        self.open()
        failure = self.failureResultOf(plugurls.connectURL(
            self.reactor, "ptp://" + self.path, Frames()), OSError)
        self.assertEqual(failure.value.errno, 98)

    def test_closeRemoves(self) -> None:
        """
        Closing an end removes the path it bound and tells its protocol;
        a stale path left by a dead end is taken over.
        """
        first, frames = self.open(mode=0o770)
        self.assertEqual(stat.S_IMODE(os.stat(self.path).st_mode), 0o770)
        first.loseConnection()
        self.assertFalse(os.path.exists(self.path))
        frames.reason.trap(ConnectionDone)
        import socket
        stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        stale.bind(self.path)
        stale.close()
        again, _ = self.open()
        self.assertEqual(again.ownPath, self.path)

    def test_pauseResume(self) -> None:
        """
        Pausing takes the socket out of the reactor; resuming puts it back.
        """
        end, _ = self.open()
        self.assertEqual(self.reactor.readers, [end])
        end.pauseProducing()
        self.assertEqual(self.reactor.readers, [])
        end.resumeProducing()
        self.assertEqual(self.reactor.readers, [end])


class PlugOptionsTests(SynchronousTestCase):
    """
    vde_plug's options that came with the URLs.
    """

    def test_options(self) -> None:
        """
        C{-d -p PIDFILE -m MODE -g GROUP -M -G} parse as vde_plug's.
        """
        o = plug.Options()
        o.parseOptions(["-d", "-p", "/tmp/p.pid", "-m", "0770", "-g", "users",
                        "-M", "660", "-G", "0", "ptp:///tmp/a", "tap://t0"])
        self.assertEqual((o["daemon"], o["pidfile"], o["mod"], o["group"], o["mod2"],
                          o["group2"], o["url"], o["url2"]),
                         (True, "/tmp/p.pid", 0o770, "users", 0o660, "0",
                          "ptp:///tmp/a", "tap://t0"))

    def test_badMode(self) -> None:
        """
        A mode that is not octal is a usage error.
        """
        from twisted.python import usage
        self.assertRaises(usage.UsageError, plug.Options().parseOptions, ["-m", "rw", "/x"])

    def test_modePassed(self) -> None:
        """
        C{-m} and C{-g} reach the first URL's connect, C{-M} and C{-G} the
        second's; without them nothing extra is passed.
        """
        calls: List[Any] = []

        def connect(reactor: Any, url: str, end: Any, **kwargs: Any) -> Any:
            from twisted.internet.defer import Deferred
            calls.append((url, kwargs))
            return Deferred()

        o = plug.Options()
        o.parseOptions(["-m", "0770", "-G", "users", "/tmp/a", "/tmp/b"])
        p = plug.Plug(None, o, io.StringIO(), connect=connect)
        p.run()
        p._open("/tmp/b", p.cable.right)
        self.assertEqual([kwargs.get("mode") for _, kwargs in calls], [0o770, None])
        self.assertEqual([kwargs.get("group") for _, kwargs in calls], [None, "users"])
