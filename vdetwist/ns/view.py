# -*- test-case-name: tests.ns.test_view -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
The parent of C{vdetwist ns}: L{NamespaceView} attaches a L{TapRelay} to
the switch, starts the child (L{vdetwist.ns.child}) with a socket on which
the child sends the tap descriptor it opened inside the new namespace,
relays the tap while COMMAND runs, passes signals on to it, and when it
ends gives the port back, closes the tap and removes the view's name (and
a named view's lease files), so that nothing is left behind.  Its exit status is COMMAND's (128 + N when
COMMAND died of signal N).

The relay is attached through L{vdetwist.vde.attach.attachPersistently}:
if the switch goes away while COMMAND runs, the view says so in one line
and keeps its interface (the attachment drops and counts its frames), and
the attachment joins the switch again, with backoff, when it comes back.
If the switch itself closes the port (C{port/remove}), the view says so
and COMMAND runs on without a switch.

    view = NamespaceView(reactor, "/tmp/sw", ViewConfig(), ["sh"])
    view.start().addCallback(lambda status: ...)
"""

import os
import socket
import sys
from typing import Any, Dict, List, Optional

from twisted.internet.defer import CancelledError, Deferred
from twisted.internet.error import ProcessExitedAlready
from twisted.internet.interfaces import IReadDescriptor
from twisted.internet.protocol import ProcessProtocol
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.ns.child import CHANNEL_FD, ERR, OK
from vdetwist.ns.dhcp import removeLeaseFiles
from vdetwist.ns.prepare import ViewConfig, removeName
from vdetwist.ns.relay import TapRelay
from vdetwist.vde.attach import SwitchAttachment, attachPersistently

__all__ = ["NamespaceView", "exitStatus"]


def exitStatus(reason: Failure) -> int:
    """
    A process's end as a shell's exit status.

    @param reason: the L{ProcessDone} or L{ProcessTerminated} failure.
    @return: the exit code, or 128 + the signal.
    """
    value = reason.value
    signal = getattr(value, "signal", None)
    if signal:
        return 128 + signal
    code = getattr(value, "exitCode", 0)
    return code if code is not None else 1


class _CommandProtocol(ProcessProtocol):
    """
    The child process, as the view sees it.
    """

    def __init__(self, view: "NamespaceView") -> None:
        """
        @param view: the view.
        """
        self.view = view

    def processEnded(self, reason: Failure) -> None:
        """
        COMMAND (or the child before it) ended.

        @param reason: how.
        """
        self.view._commandEnded(exitStatus(reason))


@implementer(IReadDescriptor)
class _Channel:
    """
    The parent's end of the socket the child sends the tap on.
    """

    def __init__(self, view: "NamespaceView", sock: socket.socket) -> None:
        """
        @param view: the view.
        @param sock: the nonblocking SOCK_SEQPACKET socket.
        """
        self.view = view
        self.sock = sock

    def fileno(self) -> int:
        """
        @return: the descriptor.
        """
        return self.sock.fileno()

    def doRead(self) -> None:
        """
        The child wrote (or closed its end).
        """
        self.view._readChannel()

    def connectionLost(self, reason: Failure) -> None:
        """
        The reactor dropped us.

        @param reason: why.
        """

    def logPrefix(self) -> str:
        """
        @return: the log prefix.
        """
        return "vdetwist ns"


class NamespaceView:
    """
    One C{vdetwist ns} run: switch attachment, child, relay, lifetime.

    @ivar relay: the L{TapRelay}.
    @ivar process: the child's process transport once spawned.
    @ivar ready: whether the view was made (the tap arrived).
    @ivar startError: the child's message when the view could not be made.
    @ivar attachment: the L{SwitchAttachment} once attached.
    """

    #: Seconds to wait for the switch to acknowledge the port's release.
    detachTimeout = 5.0

    def __init__(self, reactor: Any, switch: str, config: ViewConfig, command: List[str],
                 description: str = "vdetwist ns", system: Any = None, nsSystem: Any = None,
                 err: Any = None, executable: str = sys.executable,
                 env: Optional[Dict[str, str]] = None,
                 childModule: str = "vdetwist.ns.child") -> None:
        """
        @param reactor: the reactor (processes, descriptors, time).
        @param switch: the switch to attach to (anything
            L{vdetwist.vde.attach.attachPersistently} takes).
        @param config: the view's L{ViewConfig}.
        @param command: COMMAND and its arguments.
        @param description: what the switch shows for the port.
        @param system: the L{vdetwist.vde.system.ISystem} for the tap and
            the plug; the real one by default.
        @param nsSystem: the L{vdetwist.ns.system.INamespaceSystem} for
            removing the view's name; the real one by default.
        @param err: binary standard error, for the one-line reports.
        @param executable: the Python that runs the child.
        @param env: the environment of COMMAND (ours by default).
        @param childModule: the child program's module (tests use a fake
            that needs no root).
        """
        self.reactor = reactor
        self.switch = switch
        self.config = config
        self.command = command
        self.description = description
        self.system = system
        self._nsSystem = nsSystem
        self.err = err if err is not None else sys.stderr.buffer
        self.executable = executable
        self.env = dict(os.environ) if env is None else env
        self.childModule = childModule
        self.relay = TapRelay(reactor, system)
        self.relay.onSwitchLost = self._switchLost
        self.relay.onTapLost = self._tapLost
        self.process: Any = None
        self.ready = False
        self.startError: Optional[str] = None
        self._done: Deferred[int] = Deferred()
        self.attachment: Optional[SwitchAttachment] = None
        self._attaching: Optional[Deferred[Any]] = None
        self._channel: Optional[_Channel] = None
        self._signalled: Optional[int] = None
        self._ended = False
        self._dropsAtLoss = 0

    def _report(self, message: str) -> None:
        """
        Write one line on standard error.

        @param message: the line, without C{vdetwist ns: } and newline.
        """
        self.err.write(("vdetwist ns: %s\n" % (message,)).encode("utf-8", "replace"))
        self.err.flush()

    @property
    def nsSystem(self) -> Any:
        """
        @return: the L{INamespaceSystem} (made when first needed).
        """
        if self._nsSystem is None:
            from vdetwist.ns.system import RealNamespaceSystem
            self._nsSystem = RealNamespaceSystem()
        return self._nsSystem

    # Start

    def start(self) -> "Deferred[int]":
        """
        Attach to the switch, then start COMMAND in the new view.

        @return: a Deferred firing with the exit status once COMMAND ended
            and everything is cleaned up (1 when the view could not be made).
        """
        self._attaching = attachPersistently(self.reactor, self.switch, self.relay,
                                             self.description, system=self.system)
        self._attaching.addCallbacks(self._attached, self._attachFailed)
        return self._done

    def _attachFailed(self, reason: Failure) -> None:
        """
        No switch: nothing was made; end.

        @param reason: why.
        """
        self._attaching = None
        if self._signalled is not None and reason.check(CancelledError):
            self._finish(128 + self._signalled)
            return
        self._report("cannot attach to the switch %s: %s" % (self.switch, reason.getErrorMessage()))
        self._finish(1)

    def _attached(self, attachment: SwitchAttachment) -> None:
        """
        The port is ours: watch the switch come and go, start the child.

        @param attachment: the lasting attachment.
        """
        self._attaching = None
        self.attachment = attachment
        attachment.addWentAwayObserver(self._switchWentAway)
        attachment.addReattachObserver(self._switchBack)
        parentEnd, childEnd = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        parentEnd.setblocking(False)
        argv = [self.executable, "-m", self.childModule, self.config.toJSON()] + self.command
        try:
            self.process = self.reactor.spawnProcess(
                _CommandProtocol(self), self.executable, argv, env=self.env,
                childFDs={0: 0, 1: 1, 2: 2, CHANNEL_FD: childEnd.fileno()})
        except OSError as e:
            parentEnd.close()
            self._report("cannot start %s: %s" % (self.executable, e.strerror or e))
            self._cleanUp(1)
            return
        finally:
            childEnd.close()
        self._channel = _Channel(self, parentEnd)
        self.reactor.addReader(self._channel)

    def _readChannel(self) -> None:
        """
        Take the child's message: the tap, or why there is none.
        """
        channel = self._channel
        if channel is None:
            return
        try:
            message, fds, _, _ = socket.recv_fds(channel.sock, 4096, 1)
        except BlockingIOError:
            return
        except OSError:
            message, fds = b"", []
        self._channel = None
        self.reactor.removeReader(channel)
        channel.sock.close()
        if message == OK and fds:
            for extra in fds[1:]:
                os.close(extra)
            self.ready = True
            self.relay.startTap(fds[0])
            return
        for fd in fds:
            os.close(fd)
        if message.startswith(ERR):
            self.startError = message[len(ERR):].decode("utf-8", "replace")
            self._report(self.startError)

    # Running

    def signal(self, signum: int) -> None:
        """
        Pass a signal on to COMMAND; before it runs, give up starting.

        @param signum: the signal number.
        """
        if self._ended:
            return
        if self.process is not None:
            try:
                self.process.signalProcess(signum)
            except (ProcessExitedAlready, OSError):
                pass
            return
        self._signalled = signum
        if self._attaching is not None:
            self._attaching.cancel()

    def _switchWentAway(self) -> None:
        """
        The switch went away: say so; the interface stays, the attachment
        drops and counts its frames and tries to join the switch again.
        """
        if self._ended or self.attachment is None:
            return
        self._dropsAtLoss = self.attachment.detachedDrops
        self._report("lost the switch %s; %s stays, its frames are dropped until "
                     "the switch is back" % (self.switch, self.config.ifname))

    def _switchBack(self) -> None:
        """
        The switch is back: say so, with the frames dropped meanwhile.
        """
        if self._ended or self.attachment is None:
            return
        self._report("attached again to the switch %s (%d frames dropped meanwhile)"
                     % (self.switch, self.attachment.detachedDrops - self._dropsAtLoss))

    def _switchLost(self, reason: Failure) -> None:
        """
        The switch closed our port (an operator's C{port/remove}): say
        so; COMMAND runs on, the interface's frames are dropped.

        @param reason: why.
        """
        if self._ended:
            return
        self._report("the switch %s closed the port (%s); %s stays, its frames are dropped"
                     % (self.switch, reason.getErrorMessage(), self.config.ifname))

    def _tapLost(self, error: OSError) -> None:
        """
        The tap failed (it should not): say so; COMMAND keeps running.

        @param error: the error.
        """
        self._report("the tap %s failed: %s" % (self.config.ifname, error))

    # Ending

    def _commandEnded(self, status: int) -> None:
        """
        COMMAND ended: take a last message from the child, then clean up.

        @param status: its exit status.
        """
        self._readChannel()
        if self._channel is not None:
            channel, self._channel = self._channel, None
            self.reactor.removeReader(channel)
            channel.sock.close()
        if self.startError is not None and status == 0:
            status = 1
        self._cleanUp(status)

    def _cleanUp(self, status: int) -> None:
        """
        Close the tap, remove the name, give the port back, then finish.

        @param status: the exit status to finish with.
        """
        self._ended = True
        self.process = None
        if self._attaching is not None:
            attaching, self._attaching = self._attaching, None
            attaching.cancel()
        self.relay.stopTap()
        if self.ready and self.config.name is not None:
            removeName(self.config.name, self.nsSystem)
            removeLeaseFiles(self.config, self.nsSystem)
        if self.relay.transport is None:
            self._finish(status)
            return
        timer = self.reactor.callLater(self.detachTimeout, self._finish, status)

        def detached() -> None:
            if timer.active():
                timer.cancel()
            self._finish(status)
        self.relay.onDetached = detached
        self.relay.detach()

    def _finish(self, status: int) -> None:
        """
        Fire the result, once.

        @param status: the exit status.
        """
        self._ended = True
        if not self._done.called:
            self._done.callback(status)
