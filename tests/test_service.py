# -*- test-case-name: tests.test_service -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Tests for L{vdetwist.service}: a failed start is one line, a status,
and only what started is stopped.
"""

import errno
import io
from typing import Any, List

from twisted.application.service import MultiService, Service
from twisted.internet.defer import Deferred
from twisted.internet.error import CannotListenError
from twisted.internet.testing import MemoryReactorClock
from twisted.trial.unittest import SynchronousTestCase

from vdetwist.service import (
    FaceService,
    StartupError,
    addStartupStep,
    describeError,
    reportStartupFailure,
)


class Recorder(Service):
    """
    A child that records its start and stop in a shared list, and raises
    C{error} on start when given one.
    """

    def __init__(self, name: str, events: List[str], error: Any = None) -> None:
        self.setName(name)
        self.events = events
        self.error = error

    def startService(self) -> None:
        if self.error is not None:
            self.events.append("fail " + self.name)
            raise self.error
        Service.startService(self)
        self.events.append("start " + self.name)

    def stopService(self) -> None:
        Service.stopService(self)
        self.events.append("stop " + self.name)


class RunningReactor(MemoryReactorClock):
    """
    A memory reactor that says it runs and records C{stop}.
    """

    stopped = 0

    def __init__(self) -> None:
        MemoryReactorClock.__init__(self)
        self.running = True

    def stop(self) -> None:
        self.stopped += 1


class DescribeErrorTests(SynchronousTestCase):
    """
    Tests for L{describeError}.
    """

    def test_osErrorWithPath(self) -> None:
        """
        An OSError with a file name: the name and the system's words.
        """
        error = FileNotFoundError(errno.ENOENT, "No such file or directory", "/no/dir")
        self.assertEqual(describeError(error), "/no/dir: No such file or directory")

    def test_osErrorMessage(self) -> None:
        """
        An OSError carrying its own message (claimSocketPath's) gives it.
        """
        error = OSError(errno.EADDRINUSE, "Could not bind to socket '/x': Address already in use")
        self.assertEqual(describeError(error), "Could not bind to socket '/x': Address already in use")

    def test_cannotListen(self) -> None:
        """
        CannotListenError: the address, the port and why.
        """
        error = CannotListenError("", 30000, OSError(errno.EADDRINUSE, "Address already in use"))
        self.assertEqual(describeError(error),
                         "cannot listen on 0.0.0.0 port 30000: Address already in use")

    def test_cannotListenUNIX(self) -> None:
        """
        CannotListenError for a UNIX socket: its path and why.
        """
        error = CannotListenError(None, b"/f/ctl", OSError(errno.ENOTDIR, "Not a directory"))
        self.assertEqual(describeError(error), "cannot listen on /f/ctl: Not a directory")

    def test_startupError(self) -> None:
        """
        StartupError: its text.
        """
        self.assertEqual(describeError(StartupError("no switch at /x")), "no switch at /x")


class FaceServiceTests(SynchronousTestCase):
    """
    Tests for L{FaceService}.
    """

    def setUp(self) -> None:
        self.events: List[str] = []
        self.err = io.StringIO()
        self.reactor = RunningReactor()
        self.face = FaceService("vdetwist test", self.reactor, err=self.err)

    def add(self, name: str, error: Any = None, context: str = "") -> Recorder:
        child = Recorder(name, self.events, error)
        child.setServiceParent(self.face)
        if context:
            self.face.setStartupContext(child, context)
        return child

    def test_allStart(self) -> None:
        """
        Without errors the children start in order, the face is ready, and
        stopping stops them in reverse order.
        """
        self.add("a")
        self.add("b")
        ready = self.face.whenReady()
        self.face.startService()
        self.assertIsNone(self.successResultOf(ready))
        self.assertIsNone(self.face.exitStatus)
        self.face.stopService()
        self.assertEqual(self.events, ["start a", "start b", "stop b", "stop a"])
        self.assertEqual(self.err.getvalue(), "")

    def test_knownErrorStopsStarted(self) -> None:
        """
        A child raising a known error: one line with the context, the
        children that started stopped in reverse order, the failing one
        and those after it never touched, status 1, the reactor stopped.
        """
        self.add("a")
        self.add("b")
        self.add("c", FileNotFoundError(errno.ENOENT, "No such file or directory", "/x"),
                 context="cannot open c")
        self.add("d")
        ready = self.face.whenReady()
        self.face.startService()
        self.assertEqual(self.events, ["start a", "start b", "fail c", "stop b", "stop a"])
        self.assertEqual(self.err.getvalue(),
                         "vdetwist test: cannot open c: /x: No such file or directory\n")
        self.assertEqual(self.face.exitStatus, 1)
        self.assertEqual(self.reactor.stopped, 1)
        self.assertNoResult(ready)
        self.face.stopService()
        self.assertEqual(len(self.events), 5)

    def test_bugPropagates(self) -> None:
        """
        Any other exception is a bug: it propagates, nothing is printed.
        """
        self.add("a", ZeroDivisionError())
        self.assertRaises(ZeroDivisionError, self.face.startService)
        self.assertEqual(self.err.getvalue(), "")
        self.assertIsNone(self.face.exitStatus)

    def test_reactorNotRunning(self) -> None:
        """
        A failure before the reactor runs stops it once it runs.
        """
        self.reactor.running = False
        self.add("a", StartupError("no"))
        self.face.startService()
        self.assertEqual(self.reactor.stopped, 0)
        self.reactor.running = True
        for when in self.reactor.whenRunningHooks:
            when[0](*when[1], **when[2])
        self.assertEqual(self.reactor.stopped, 1)

    def test_asynchronousFailure(self) -> None:
        """
        A child's start step failing later: reportStartupFailure fails the
        face once (one line), whenReady never fires.
        """
        a = self.add("a")
        step: Deferred[None] = Deferred()
        addStartupStep(a, step)
        ready = self.face.whenReady()
        self.face.startService()
        self.assertNoResult(ready)
        self.assertTrue(reportStartupFailure(a, "cannot attach"))
        self.assertTrue(reportStartupFailure(a, "again"))
        step.callback(None)
        self.assertNoResult(ready)
        self.assertEqual(self.err.getvalue(), "vdetwist test: cannot attach\n")
        self.assertEqual(self.events, ["start a", "stop a"])
        self.assertEqual(self.face.exitStatus, 1)

    def test_readyAfterSteps(self) -> None:
        """
        whenReady waits for every start step.
        """
        a = self.add("a")
        step: Deferred[None] = Deferred()
        addStartupStep(a, step)
        self.face.startService()
        ready = self.face.whenReady()
        self.assertNoResult(ready)
        step.callback(None)
        self.successResultOf(ready)

    def test_nestedFaces(self) -> None:
        """
        A face inside a face (the tutorial's switch and slirp): the outer
        one prints, with its name, and stops everything that started.
        """
        self.add("a")
        inner = FaceService("inner", self.reactor, err=self.err)
        inner.setServiceParent(self.face)
        Recorder("b", self.events).setServiceParent(inner)
        Recorder("c", self.events, StartupError("broken")).setServiceParent(inner)
        self.add("d")
        self.face.startService()
        self.assertEqual(self.err.getvalue(), "vdetwist test: broken\n")
        self.assertEqual(self.events, ["start a", "start b", "fail c", "stop b", "stop a"])

    def test_withoutFace(self) -> None:
        """
        A service under no face: reportStartupFailure says so (the caller
        does what it always did) and addStartupStep does nothing.
        """
        top = MultiService()
        child = Recorder("a", self.events)
        child.setServiceParent(top)
        self.assertFalse(reportStartupFailure(child, "x"))
        addStartupStep(child, Deferred())

    def test_exitProcess(self) -> None:
        """
        Under twistd the face registers an exit with the status for the
        interpreter's end (here a fake registry).
        """
        registered: List[Any] = []
        self.patch(__import__("vdetwist.service", fromlist=["atexit"]).atexit, "register",
                   registered.append)
        self.face.exitProcess = True
        self.add("a", StartupError("no"))
        self.face.startService()
        self.assertEqual(len(registered), 1)

    def test_failedStepNeverReady(self) -> None:
        """
        A step that fails keeps the face from being ready, even before its
        owner reports the failure (a daemon must not detach then).
        """
        a = self.add("a")
        step: Deferred[None] = Deferred()
        addStartupStep(a, step)
        step.addErrback(lambda _: None)
        ready = self.face.whenReady()
        self.face.startService()
        step.errback(StartupError("no"))
        self.assertNoResult(ready)
