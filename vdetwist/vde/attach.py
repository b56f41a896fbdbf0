# -*- test-case-name: tests.vde.test_attach -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Attach a frame protocol to a switch: in process when this process serves
that switch (L{vdetwist.vde.local}; frames pass by call through
L{IPortProvider.attach}), else over a VDE plug (L{vdetwist.vde.plug}), so
Debian's vde_switch works as well as ours.  The virtual hosts' endpoints,
the slirp gateway and namespaces all attach through L{attachToSwitch}.

    d = attachToSwitch(reactor, "vde:///tmp/sw[3]", interface, "myhost")
    d.addCallback(lambda transport: transport.sendFrame(frame))

L{attachPersistently} (a L{SwitchAttachment}) does the same and then keeps
the protocol attached when the switch restarts: it notices the switch going
away, logs it, counts the frames sent meanwhile as drops, and reattaches
with backoff when the switch is back.  Virtual hosts, slirp, C{vdetwist
cat} and C{vdetwist plug} attach this way.

    d = attachPersistently(reactor, "/tmp/vde", interface, "myhost")
"""

import socket
from typing import Any, Callable, Dict, List, Optional, Union

from twisted.internet.defer import CancelledError, Deferred, fail, succeed
from twisted.internet.error import ConnectionDone
from twisted.internet.interfaces import IDelayedCall, IPushProducer
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import AttachError, IFrameProtocol, IFrameReceiver, IFrameTransport
from vdetwist.vde import local
from vdetwist.vde.plug import DEFAULT_TIMEOUT, connectPlug
from vdetwist.vde.system import RealSystem
from vdetwist.vde.url import VDEURL, parseVDEURL

__all__ = ["attachToSwitch", "attachPersistently", "SwitchAttachment"]

_log = Logger()


def attachToSwitch(reactor: Any, switch: Union[str, VDEURL], protocol: IFrameReceiver,
                   description: str = "vdetwist", inProcessDescription: Optional[str] = None,
                   system: Optional[Any] = None,
                   timeout: float = DEFAULT_TIMEOUT) -> "Deferred[IFrameTransport]":
    """
    Attach C{protocol} to the switch at C{switch}.

    @param reactor: the reactor (used only for a plug).
    @param switch: the switch directory or C{vde://} URL (its port, as in
        C{[5]}, is asked for either way).
    @param protocol: gets the frames; when it provides L{IFrameProtocol},
        also C{makeConnection(transport)} before the Deferred fires and
        C{connectionLost} when the switch closes the port.
    @param description: the program's tag; over a plug the switch shows
        C{"<description> user=<login> pid=<pid>"}.
    @param inProcessDescription: what port/print shows when attached in
        process; C{description} when L{None}.
    @param system: the OS layer for a plug (tests); the real one by default.
    @param timeout: seconds the plug's handshake may take.
    @return: a Deferred firing with the L{IFrameTransport} that sends into
        the switch (its C{loseConnection} gives the port back), or failing
        with L{ValueError} (bad URL), L{vdetwist.interfaces.AttachError}
        (the in-process switch refused) or L{vdetwist.vde.plug.VDEPlugError}.
    """
    try:
        url = switch if isinstance(switch, VDEURL) else parseVDEURL(switch)
    except ValueError:
        return fail(Failure())
    provider = local.lookup(url.path)
    if provider is None:
        return connectPlug(reactor, url, protocol, description=description,
                           system=system, timeout=timeout)
    try:
        attachment = provider.attach(
            protocol, description if inProcessDescription is None else inProcessDescription,
            url.port or 0)
    except AttachError:
        return fail(Failure())
    return succeed(attachment)


#: The first reattach attempt waits this long after the switch went away (s).
INITIAL_DELAY = 0.1
#: Each failed attempt multiplies the wait by this.
BACKOFF_FACTOR = 2.0
#: The wait between attempts never exceeds this (s).
MAX_DELAY = 2.0
#: When a plug's control stream ends while the switch's control socket
#: still accepts connections, look again after this long (s) before
#: deciding the operator closed our port: an exiting switch may close its
#: endpoints' control streams a moment before its listening socket.
CONFIRM_DELAY = 0.25


@implementer(IFrameProtocol)
class _Relay:
    """
    What one underlying attachment (a plug or an in-process port) delivers
    to: frames go straight to the protocol's C{frameReceived} (an instance
    attribute, so no call is added per frame); the attachment's start and
    end go to the L{SwitchAttachment}.
    """

    def __init__(self, owner: "SwitchAttachment") -> None:
        """
        @param owner: the attachment this relay serves.
        """
        self.owner = owner
        self.frameReceived = owner.protocol.frameReceived
        # The protocol's cork, if it has one: a plug corks it around each
        # batch of frames it delivers (VDEPlug._deliverHeld).
        self.cork = getattr(owner.protocol, "cork", None)
        self.uncork = getattr(owner.protocol, "uncork", None)
        self.transport: Optional[IFrameTransport] = None

    def makeConnection(self, transport: IFrameTransport) -> None:
        """
        The underlying attachment is up.

        @param transport: it.
        """
        self.transport = transport
        self.owner._underlyingConnected(self, transport)

    def connectionLost(self, reason: object) -> None:
        """
        The underlying attachment ended.

        @param reason: why.
        """
        self.owner._underlyingLost(self, reason)


def _dropWhileDetached(owner: "SwitchAttachment") -> Callable[[bytes], None]:
    """
    The C{sendFrame} of a detached L{SwitchAttachment}: count the frame as
    dropped.

    @param owner: the attachment.
    @return: the callable.
    """
    def sendFrame(frame: bytes) -> None:
        owner.detachedDrops += 1
    return sendFrame


@implementer(IFrameTransport, IPushProducer)
class SwitchAttachment:
    """
    A protocol's lasting attachment to a switch, in the spirit of Twisted's
    C{ClientService}: the protocol is given this object once, as its
    L{IFrameTransport}, and keeps it while the switch underneath comes and
    goes.

    When the switch goes away (a plug's control stream ends and nothing
    listens on the switch's control socket any more, now or
    L{CONFIRM_DELAY} later, or an in-process switch is no longer registered
    in L{vdetwist.vde.local}), this logs
    C{"switch DIR went away; reconnecting"} once, counts the frames sent
    meanwhile as dropped (L{detachedDrops}), and attaches again with
    backoff (L{INITIAL_DELAY} doubling up to L{MAX_DELAY}, for as long as
    it is not closed), logging when it is back.  The protocol's own state
    (its MAC, its addresses, its TCP connections) is untouched, so peers
    see a short outage, which TCP's retransmissions cover.

    When the switch is still there but closed our port (C{port/epclose},
    C{port/remove}: an operator's decision, which Debian's vde_plug obeys
    by exiting) the protocol's C{connectionLost} is called as before and
    nothing is reattached.  L{loseConnection} detaches for good.

    Per frame nothing is added: C{sendFrame} is the underlying transport's
    own bound method while attached (an instance attribute swapped on
    attach and detach), and frames received go straight to the protocol.

    @ivar protocol: the L{IFrameReceiver} attached.
    @ivar url: the parsed switch URL.
    @ivar name: the switch as messages name it.
    @ivar transport: the underlying L{IFrameTransport}, while attached.
    @ivar attached: whether frames currently reach a switch.
    @ivar detachedDrops: frames sent while detached (dropped).
    @ivar detachments: times the switch went away.
    @ivar reattachments: times it was attached again.
    @ivar attempts: reattach attempts made.
    @ivar disconnected: whether the attachment ended for good.
    @ivar initialDelay: see L{INITIAL_DELAY}.
    @ivar maxDelay: see L{MAX_DELAY}.
    @ivar factor: see L{BACKOFF_FACTOR}.
    @ivar confirmDelay: see L{CONFIRM_DELAY}.
    """

    initialDelay = INITIAL_DELAY
    maxDelay = MAX_DELAY
    factor = BACKOFF_FACTOR
    confirmDelay = CONFIRM_DELAY

    def __init__(self, reactor: Any, switch: Union[str, VDEURL], protocol: IFrameReceiver,
                 description: str = "vdetwist", inProcessDescription: Optional[str] = None,
                 system: Optional[Any] = None, timeout: float = DEFAULT_TIMEOUT,
                 connect: Optional[Callable[..., "Deferred[Any]"]] = None) -> None:
        """
        @param reactor: the reactor (L{IReactorTime}, and for a plug
            L{IReactorUNIX} and L{IReactorFDSet}).
        @param switch: the switch directory or C{vde://} URL.
        @param protocol: gets the frames; when it provides
            L{IFrameProtocol}, C{makeConnection(self)} once, at the first
            attach, and C{connectionLost} once, when the attachment ends
            for good.
        @param description: as for L{attachToSwitch}.
        @param inProcessDescription: as for L{attachToSwitch}.
        @param system: the OS layer (tests); the real one by default.
        @param timeout: seconds each plug handshake may take.
        @param connect: attaches one underlying transport, with
            L{attachToSwitch}'s signature and result (that by default).
        @raise ValueError: for a malformed URL.
        """
        self.reactor = reactor
        self.url = switch if isinstance(switch, VDEURL) else parseVDEURL(switch)
        self.name = self.url.path or "default switch"
        self.protocol = protocol
        self.description = description
        self.inProcessDescription = inProcessDescription
        self.system = system if system is not None else RealSystem()
        self.timeout = timeout
        self._connect = connect if connect is not None else attachToSwitch
        self.transport: Optional[IFrameTransport] = None
        self.attached = False
        self.disconnected = False
        self.detachedDrops = 0
        self.detachments = 0
        self.reattachments = 0
        self.attempts = 0
        self.sendFrame: Callable[[bytes], None] = _dropWhileDetached(self)
        self._relay: Optional[_Relay] = None
        self._provider: Any = None
        self._started = False
        self._closing = False
        self._paused = False
        self._delay = self.initialDelay
        self._retry: Optional[IDelayedCall] = None
        self._attempt: Optional[Deferred[Any]] = None
        self._wentAwayAt = 0.0
        self._reattachObservers: List[Callable[[], None]] = []
        self._wentAwayObservers: List[Callable[[], None]] = []
        self._totals = {"framesIn": 0, "framesOut": 0, "bytesIn": 0, "bytesOut": 0,
                        "drops": 0}

    def __repr__(self) -> str:
        """
        @return: a short description for logs.
        """
        return "<SwitchAttachment %s %s>" % (
            self.name, "closed" if self.disconnected else
            "attached" if self.attached else "detached")

    # Starting

    def start(self) -> "Deferred[SwitchAttachment]":
        """
        Attach for the first time.  A failure here is reported, not
        retried: reattachment begins after a successful first attach.

        @return: a Deferred firing with this attachment once attached, or
            failing as L{attachToSwitch}'s does.
        """
        assert not self._started, "start() called twice"
        self._started = True
        d = self._attach()
        self._attempt = d

        def done(result: Any) -> Any:
            self._attempt = None
            if isinstance(result, Failure):
                self.disconnected = True
                return result
            return self
        return d.addBoth(done)

    def addReattachObserver(self, observer: Callable[[], None]) -> None:
        """
        Call C{observer()} each time the switch is attached again after
        going away (a host announces itself with a gratuitous ARP then).

        @param observer: a callable taking no arguments.
        """
        self._reattachObservers.append(observer)

    def addWentAwayObserver(self, observer: Callable[[], None]) -> None:
        """
        Call C{observer()} each time the switch goes away (before the
        first reattach attempt); commands without a log print a line then.

        @param observer: a callable taking no arguments.
        """
        self._wentAwayObservers.append(observer)

    def _notify(self, observers: List[Callable[[], None]]) -> None:
        """
        Call each observer; one that raises is logged, not propagated.

        @param observers: the callables.
        """
        for observer in list(observers):
            try:
                observer()
            except Exception:
                _log.failure("switch attachment observer failed")

    def _attach(self) -> "Deferred[Any]":
        """
        Attach one underlying transport through a fresh relay.

        @return: the connect function's Deferred.
        """
        relay = self._relay = _Relay(self)
        self._provider = local.lookup(self.url.path)
        return self._connect(self.reactor, self.url, relay, self.description,
                             inProcessDescription=self.inProcessDescription,
                             system=self.system, timeout=self.timeout)

    # Counters

    def _counter(self, name: str) -> int:
        """
        A traffic counter summed over every underlying transport so far.

        @param name: the counter.
        @return: its value.
        """
        current = getattr(self.transport, name, 0) if self.transport is not None else 0
        return self._totals[name] + (current if isinstance(current, int) else 0)

    @property
    def framesIn(self) -> int:
        """
        Frames received, over every attachment so far.
        """
        return self._counter("framesIn")

    @property
    def framesOut(self) -> int:
        """
        Frames sent, over every attachment so far.
        """
        return self._counter("framesOut")

    @property
    def bytesIn(self) -> int:
        """
        Bytes received, over every attachment so far.
        """
        return self._counter("bytesIn")

    @property
    def bytesOut(self) -> int:
        """
        Bytes sent, over every attachment so far.
        """
        return self._counter("bytesOut")

    @property
    def drops(self) -> int:
        """
        Frames dropped: the underlying transports' drops plus
        L{detachedDrops}.
        """
        return self._counter("drops") + self.detachedDrops

    def counters(self) -> Dict[str, int]:
        """
        The attachment's counters, for operators and tests.

        @return: a new dict: C{framesIn}, C{framesOut}, C{bytesIn},
            C{bytesOut}, C{drops}, C{detachedDrops}, C{detachments},
            C{reattachments}, C{attempts}, C{attached} (0 or 1).
        """
        return {
            "framesIn": self.framesIn, "framesOut": self.framesOut,
            "bytesIn": self.bytesIn, "bytesOut": self.bytesOut, "drops": self.drops,
            "detachedDrops": self.detachedDrops, "detachments": self.detachments,
            "reattachments": self.reattachments, "attempts": self.attempts,
            "attached": int(self.attached),
        }

    # IFrameTransport

    def loseConnection(self) -> None:
        """
        Detach for good: stop reattaching, give the port back; the
        protocol's C{connectionLost} follows (with L{ConnectionDone} when
        detached at the time).
        """
        if self.disconnected or self._closing:
            return
        self._closing = True
        self._stopRetrying()
        if self.transport is not None:
            self.transport.loseConnection()
        else:
            self._finish(Failure(ConnectionDone("switch attachment closed")))

    # IPushProducer

    def pauseProducing(self) -> None:
        """
        Stop delivering frames (kept across reattachments) until
        L{resumeProducing}.
        """
        self._paused = True
        self._forward("pauseProducing")

    def resumeProducing(self) -> None:
        """
        Deliver frames again.
        """
        self._paused = False
        self._forward("resumeProducing")

    def stopProducing(self) -> None:
        """
        Detach for good.
        """
        self.loseConnection()

    def _forward(self, method: str) -> None:
        """
        Call a producer method on the underlying transport, if it has it.

        @param method: the method's name.
        """
        transport = self.transport
        if transport is not None and hasattr(transport, method):
            getattr(transport, method)()

    # The underlying attachment

    def _underlyingConnected(self, relay: _Relay, transport: IFrameTransport) -> None:
        """
        An underlying transport is up: send through it, and tell the
        protocol (the first time) or the reattach observers (later).

        @param relay: the relay it delivers to.
        @param transport: it.
        """
        if relay is not self._relay:
            return
        self.transport = transport
        self.sendFrame = transport.sendFrame
        self.attached = True
        if self._paused:
            self._forward("pauseProducing")
        if self.detachments == 0:
            if IFrameProtocol.providedBy(self.protocol):
                self.protocol.makeConnection(self)  # type: ignore[attr-defined]
            return
        self.reattachments += 1
        self._delay = self.initialDelay
        _log.info("reattached to switch {switch} after {seconds:.1f} s ({attempts} attempts)",
                  switch=self.name, seconds=self.reactor.seconds() - self._wentAwayAt,
                  attempts=self.attempts)
        self._notify(self._reattachObservers)

    def _underlyingLost(self, relay: _Relay, reason: object) -> None:
        """
        An underlying transport ended: finish when we closed it or the
        operator closed our port; reattach when the switch went away.

        @param relay: the relay it delivered to.
        @param reason: why.
        """
        if relay is not self._relay:
            return
        transport = self.transport
        provider = self._provider
        self._detach()
        if self._closing or transport is None:
            self._finish(reason)
            return
        if provider is not None:
            # In process: the switch is gone when it no longer serves its
            # directory here.
            if local.lookup(self.url.path) is provider:
                self._finish(reason)
            else:
                self._wentAway()
            return
        ctlPath = getattr(transport, "ctlPath", None)
        if not ctlPath or not self._listening(ctlPath):
            self._wentAway()
            return
        # Something still listens: the operator closed our port, or the
        # switch is exiting and closed our control stream before its
        # listening socket.  Look again a moment later.
        self._retry = self.reactor.callLater(self.confirmDelay, self._confirm, ctlPath, reason)

    def _confirm(self, ctlPath: str, reason: object) -> None:
        """
        The control socket still listened when our port was closed: if it
        listens now, the switch runs and closed our port (finish); else it
        was exiting (reattach).

        @param ctlPath: the control socket.
        @param reason: why the port ended.
        """
        self._retry = None
        if self._closing or self.disconnected:
            return
        if self._listening(ctlPath):
            self._finish(reason)
        else:
            self._wentAway()

    def _wentAway(self) -> None:
        """
        The switch went away: say so once and begin reattaching.
        """
        self.detachments += 1
        self._wentAwayAt = self.reactor.seconds()
        self.attempts = 0
        self._delay = self.initialDelay
        _log.warn("switch {switch} went away; reconnecting", switch=self.name)
        self._scheduleRetry()
        self._notify(self._wentAwayObservers)

    def _detach(self) -> None:
        """
        Forget the underlying transport; frames sent from now on are
        dropped and counted.
        """
        transport = self.transport
        if transport is not None:
            for name in self._totals:
                value = getattr(transport, name, 0)
                if isinstance(value, int):
                    self._totals[name] += value
        self.transport = None
        self.attached = False
        self._relay = None
        self.sendFrame = _dropWhileDetached(self)

    def _listening(self, path: str) -> bool:
        """
        Whether something accepts connections on the control socket
        C{path} (a nonblocking connect, closed at once).

        @param path: the control socket.
        @return: C{True} when a switch listens there.
        """
        try:
            sock = self.system.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        except OSError:
            return False
        try:
            sock.setblocking(False)
            sock.connect(path)
        except BlockingIOError:
            # The backlog is full: someone listens.
            return True
        except OSError:
            return False
        finally:
            sock.close()
        return True

    # Reattaching

    def _scheduleRetry(self) -> None:
        """
        Try again after the current delay.
        """
        self._retry = self.reactor.callLater(self._delay, self._tryAgain)

    def _tryAgain(self) -> None:
        """
        One reattach attempt; on failure the delay grows (up to
        L{maxDelay}) and another is scheduled.
        """
        self._retry = None
        if self._closing or self.disconnected:
            return
        self.attempts += 1
        d = self._attempt = self._attach()

        def failed(reason: Failure) -> None:
            self._attempt = None
            if reason.check(CancelledError) or self._closing or self.disconnected:
                return
            _log.debug("reattaching to {switch} failed: {error}", switch=self.name,
                       error=reason.getErrorMessage())
            self._delay = min(self._delay * self.factor, self.maxDelay)
            self._scheduleRetry()

        def succeeded(_: object) -> None:
            self._attempt = None
        d.addCallbacks(succeeded, failed)

    def _stopRetrying(self) -> None:
        """
        Cancel a scheduled or running reattach attempt.
        """
        if self._retry is not None and self._retry.active():
            self._retry.cancel()
        self._retry = None
        if self._attempt is not None:
            attempt, self._attempt = self._attempt, None
            attempt.cancel()

    def _finish(self, reason: object) -> None:
        """
        The attachment ended for good: tell the protocol, once.

        @param reason: why.
        """
        if self.disconnected:
            return
        self.disconnected = True
        self._stopRetrying()
        self._detach()
        if IFrameProtocol.providedBy(self.protocol):
            self.protocol.connectionLost(reason)  # type: ignore[attr-defined]


def attachPersistently(reactor: Any, switch: Union[str, VDEURL], protocol: IFrameReceiver,
                       description: str = "vdetwist",
                       inProcessDescription: Optional[str] = None,
                       system: Optional[Any] = None,
                       timeout: float = DEFAULT_TIMEOUT) -> "Deferred[SwitchAttachment]":
    """
    Attach C{protocol} to the switch at C{switch} as L{attachToSwitch}
    does, and keep it attached across the switch's restarts (see
    L{SwitchAttachment}).

    @param reactor: the reactor.
    @param switch: the switch directory or C{vde://} URL.
    @param protocol: gets the frames (and, as an L{IFrameProtocol},
        C{makeConnection} once and C{connectionLost} when it ends for good).
    @param description: as for L{attachToSwitch}.
    @param inProcessDescription: as for L{attachToSwitch}.
    @param system: the OS layer (tests).
    @param timeout: seconds each plug handshake may take.
    @return: a Deferred firing with the L{SwitchAttachment} once first
        attached, or failing as L{attachToSwitch}'s does.
    """
    try:
        attachment = SwitchAttachment(reactor, switch, protocol, description,
                                      inProcessDescription, system, timeout)
    except ValueError:
        return fail(Failure())
    return attachment.start()
