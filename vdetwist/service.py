# -*- test-case-name: tests.test_service -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Start-up failures as a user expects them: one line naming the cause, a
non-zero exit status at once, and nothing left behind.

Every face (the twistd plugins' C{makeService}, C{vdetwist switch},
C{vdetwist slirp}) puts its services under one L{FaceService}.  When a
child's C{startService} raises one of L{KNOWN_ERRORS} (a user's mistake: a
path that does not exist, a socket a live process holds, a port that is
taken), or a child reports an asynchronous failure with
L{reportStartupFailure} (slirp cannot join its switch), the face:

  1. writes C{COMMAND: CAUSE} as one line to the real standard error
     (twistd's log gets it too, at info level, so a log file says why);
  2. stops the children that had started, in reverse order, so their
     sockets and directories go; a child that failed cleans up after
     itself before raising;
  3. stops the reactor, once the children have stopped;
  4. records the exit status (L{FaceService.exitStatus}), which the
     C{vdetwist} commands return; under twistd (C{exitProcess=True})
     the process exits with it after twistd has removed its pid file.

Any other exception is a bug and propagates with its traceback, as before.

A child with an asynchronous start (slirp's attach) gives the face its
Deferred with L{addStartupStep}; L{FaceService.whenReady} fires once every
child has started and every step has succeeded: C{vdetwist switch -d}
detaches then.

This module imports nothing from vdetwist's roles, so every face may use it.
"""

import atexit
import os
import sys
from typing import Any, Dict, List, Optional, Tuple, Type

from twisted.application import service
from twisted.internet import defer
from twisted.internet.error import CannotListenError
from twisted.logger import Logger

__all__ = ["StartupError", "KNOWN_ERRORS", "describeError", "FaceService",
           "reportStartupFailure", "addStartupStep"]

_log = Logger()


class StartupError(Exception):
    """
    A user's mistake found at start-up; C{str()} is the one line to print.
    """


#: What a face reports in one line; anything else is a bug (a traceback).
KNOWN_ERRORS: Tuple[Type[BaseException], ...] = (StartupError, OSError, CannotListenError)


def describeError(error: BaseException) -> str:
    """
    One line for a known start-up error.

    @param error: an instance of one of L{KNOWN_ERRORS}.
    @return: the cause, e.g. C{"/no/such/dir: No such file or directory"}.
    """
    if isinstance(error, CannotListenError):
        cause = error.socketError
        reason = getattr(cause, "strerror", None) or str(cause)
        if isinstance(error.port, (bytes, str)):
            path = error.port.decode("utf-8", "replace") if isinstance(
                error.port, bytes) else error.port
            return "cannot listen on %s: %s" % (path, reason)
        return "cannot listen on %s port %s: %s" % (
            error.interface or "0.0.0.0", error.port, reason)
    if isinstance(error, OSError) and error.strerror:
        if error.filename is not None:
            return "%s: %s" % (error.filename, error.strerror)
        return error.strerror
    return str(error) or error.__class__.__name__


class FaceService(service.MultiService):
    """
    The top service of a command or twistd plugin: see the module
    docstring.  Only the children that started are stopped, so a child
    that failed is never asked to remove what another process holds.

    @ivar command: what the line starts with (C{"vdetwist switch"}).
    @ivar reactor: the reactor to stop.
    @ivar err: where the line goes (the real standard error by default).
    @ivar exitProcess: under twistd: exit the process with the status
        once twistd is done (twistd itself would exit 0).
    @ivar exitStatus: L{None} while all is well, else the status.
    @ivar failure: the line's cause, once failed.
    """

    exitStatus: Optional[int] = None
    failure: Optional[str] = None

    def __init__(self, command: str, reactor: Any = None, err: Any = None,
                 exitProcess: bool = False) -> None:
        """
        @param command: the command's name.
        @param reactor: the reactor (the global one by default).
        @param err: where the line goes.
        @param exitProcess: exit the process with the status (twistd).
        """
        service.MultiService.__init__(self)
        if reactor is None:
            from twisted.internet import reactor as _reactor
            reactor = _reactor
        self.command = command
        self.reactor = reactor
        self.err = err
        self.exitProcess = exitProcess
        self._started: List[service.IService] = []
        self._contexts: Dict[int, str] = {}
        self._pendingSteps = 0
        self._stepFailed = False
        self._readyWaiters: List["defer.Deferred[None]"] = []
        self._ready = False

    # -- the tree -------------------------------------------------------

    def _top(self) -> "FaceService":
        """
        The outermost face above us (or us): the one that acts.
        """
        top: FaceService = self
        node = self.parent
        while node is not None:
            if isinstance(node, FaceService):
                top = node
            node = getattr(node, "parent", None)
        return top

    def setStartupContext(self, child: service.IService, context: str) -> None:
        """
        Put C{context} before the cause when C{child} fails to start
        (C{"cannot open the console"}).

        @param child: a child service.
        @param context: the words.
        """
        self._contexts[id(child)] = context

    def addService(self, child: service.IService) -> None:
        """
        Add a child; one added while running is started now, and stopped
        with the others.
        """
        service.MultiService.addService(self, child)
        if self.running:
            self._started.append(child)

    # -- starting -------------------------------------------------------

    def privilegedStartService(self) -> None:
        """
        Each child's privileged start; a known error fails the start.
        """
        service.Service.privilegedStartService(self)
        for child in list(self):
            try:
                child.privilegedStartService()
            except KNOWN_ERRORS as e:
                self._childFailed(child, e)
                return
            if self._top().failure is not None:
                return

    def startService(self) -> None:
        """
        Start the children in order; a known error stops those started.
        """
        if self._top().failure is not None:
            return
        service.Service.startService(self)
        for child in list(self):
            if isinstance(child, FaceService):
                # It tracks its own children.
                self._started.append(child)
                child.startService()
            else:
                try:
                    child.startService()
                except KNOWN_ERRORS as e:
                    self._childFailed(child, e)
                    return
                self._started.append(child)
            if self._top().failure is not None:
                return
        if self._top() is self:
            self._checkReady()

    def _childFailed(self, child: service.IService, error: BaseException) -> None:
        """
        A child's start raised a known error: fail with its line.
        """
        cause = describeError(error)
        context = self._contexts.get(id(child))
        self.fail("%s: %s" % (context, cause) if context else cause)

    def stopService(self) -> "defer.Deferred[Any]":
        """
        Stop the children that started, in reverse order.

        @return: a Deferred firing when all have stopped.
        """
        if not self.running:
            return defer.succeed(None)
        service.Service.stopService(self)
        started, self._started = self._started, []
        ds = [defer.maybeDeferred(child.stopService) for child in reversed(started)]
        return defer.DeferredList(ds, consumeErrors=True)

    # -- readiness ------------------------------------------------------

    def addStartupStep(self, d: "defer.Deferred[Any]") -> None:
        """
        Count C{d} as part of the start: L{whenReady} waits for it.  Its
        failure is its owner's to report (L{reportStartupFailure}).

        @param d: a Deferred.
        """
        top = self._top()
        if top is not self:
            top.addStartupStep(d)
            return
        self._pendingSteps += 1

        def succeeded(result: Any) -> Any:
            self._pendingSteps -= 1
            self._checkReady()
            return result

        def failed(reason: Any) -> Any:
            # Never ready: the step's owner reports why.
            self._stepFailed = True
            return reason
        d.addCallbacks(succeeded, failed)

    def _checkReady(self) -> None:
        """
        Fire the waiters if started and every step succeeded.
        """
        if self._ready or self.failure is not None or not self.running:
            return
        if self._pendingSteps or self._stepFailed:
            return
        self._ready = True
        waiters, self._readyWaiters = self._readyWaiters, []
        for waiter in waiters:
            waiter.callback(None)

    def whenReady(self) -> "defer.Deferred[None]":
        """
        A Deferred firing once everything has started, or never when the
        start failed (the process then ends with L{exitStatus}).

        @return: the Deferred.
        """
        top = self._top()
        if top is not self:
            return top.whenReady()
        if self._ready:
            return defer.succeed(None)
        d: "defer.Deferred[None]" = defer.Deferred()
        self._readyWaiters.append(d)
        return d

    # -- failing --------------------------------------------------------

    def fail(self, cause: str, status: int = 1) -> None:
        """
        The start failed: say why in one line, stop what started, stop
        the reactor, and end with C{status}.  Only the first call acts.

        @param cause: the cause, without the command's name.
        @param status: the exit status.
        """
        top = self._top()
        if top is not self:
            top.fail(cause, status)
            return
        if self.failure is not None:
            return
        self.failure = cause
        self.exitStatus = status
        line = "%s: %s\n" % (self.command, cause)
        err = self.err if self.err is not None else sys.__stderr__
        try:
            err.write(line)
            err.flush()
        except (OSError, ValueError):
            pass
        _log.info("{command}: start-up failed: {cause}", command=self.command, cause=cause)
        if self.exitProcess:
            _exitAtEnd(status)
        stopped = self.stopService()

        def stopReactor(_: object) -> None:
            if getattr(self.reactor, "running", False):
                try:
                    self.reactor.stop()
                except Exception:
                    pass

        if getattr(self.reactor, "running", False):
            stopped.addBoth(stopReactor)
        else:
            self.reactor.callWhenRunning(lambda: stopped.addBoth(stopReactor))


def _exitAtEnd(status: int) -> None:
    """
    Make the process exit with C{status} when the interpreter ends (after
    twistd has stopped the reactor and removed its pid file).
    """
    def exit() -> None:
        for stream in (sys.stdout, sys.stderr, sys.__stdout__, sys.__stderr__):
            try:
                if stream is not None:
                    stream.flush()
            except Exception:
                pass
        os._exit(status)
    atexit.register(exit)


def _face(child: Any) -> Optional[FaceService]:
    """
    The nearest face above C{child}, or L{None}.
    """
    node = getattr(child, "parent", None)
    while node is not None:
        if isinstance(node, FaceService):
            return node
        node = getattr(node, "parent", None)
    return None


def reportStartupFailure(child: Any, cause: str, status: int = 1) -> bool:
    """
    A child's asynchronous start failed: its face fails with C{cause}.

    @param child: the service.
    @param cause: the one line (without the command's name).
    @param status: the exit status.
    @return: whether a face took it (else the caller logs and stops as
        it always did).
    """
    face = _face(child)
    if face is None:
        return False
    face.fail(cause, status)
    return True


def addStartupStep(child: Any, d: "defer.Deferred[Any]") -> None:
    """
    A child's start goes on until C{d} fires: its face's
    L{FaceService.whenReady} waits for it.  Nothing happens without a face.

    @param child: the service.
    @param d: the Deferred.
    """
    face = _face(child)
    if face is not None:
        face.addStartupStep(d)
