# -*- test-case-name: tests.links.test_cable -*-
# Copyright (c) vdetwist authors. See LICENSE for details.
"""
Cables: switch ports that carry frames over a byte stream to another switch
(ours, or Debian's through C{vde_plug} in stream mode), with VDE's 2-byte
big-endian length framing (docs/vde-protocol.md section 3).

A cable rides on any Twisted stream endpoint:

    tcp:7000                                   listen (C{--cable-listen})
    tcp:host.example:7000                      dial (C{--cable})
    unix:/run/vde/cable                        listen, mode 0600 unless C{mode=}
    tls:7001:privateKey=k.pem:certKey=c.pem:trustRoots=CADIR
                                               listen, mutual TLS
    tls:host.example:7001:privateKey=k.pem:certificate=c.pem:trustRoots=CADIR
                                               dial, mutual TLS

TLS is mutual: a listening C{tls:} (or C{ssl:} given C{trustRoots}) asks
for a client certificate and refuses a peer without one, or with one not
issued by a CA in C{trustRoots} (a PEM file or a directory of them); a
dialing C{tls:} is Twisted's own, which checks the server's certificate
against C{trustRoots} and its name (service_identity) against the host.  A
cable is attached to the switch only once its TLS handshake has completed;
a peer refused during it is logged with the reason.

Dialled cables reconnect by themselves with backoff (L{ClientService}).
Frames that arrive on a cable are checked strictly: a length above 9236, a
frame shorter than an Ethernet header, or a peer that stops reading for
L{STALL_TIMEOUT} seconds drops that cable (with a logged reason), and
nothing else.  What we write to a peer that is not reading is bounded by
L{MAX_BACKLOG}; frames beyond it are dropped and counted.

The endpoints (mutual TLS, UNIX 0600, SSH through Conch) are in
L{vdetwist.links.cableendpoints}; the loop guard is in
L{vdetwist.links.loopguard}; VXLAN ports, entries of the same cable table,
in L{vdetwist.links.vxlan}.
"""

import os
from typing import Any, Callable, Dict, List, Optional

from twisted.application.internet import ClientService, backoffPolicy
from twisted.application.service import MultiService
from twisted.internet import defer
from twisted.internet.interfaces import (
    IHandshakeListener, IPushProducer, ISSLTransport, IStreamClientEndpoint,
    IStreamServerEndpoint)
from twisted.internet.protocol import Factory, Protocol, ServerFactory, connectionDone
from twisted.logger import Logger
from twisted.python.failure import Failure
from zope.interface import implementer

from vdetwist.interfaces import ISwitchPort
from vdetwist.switch.switch import Switch, SwitchError
from vdetwist.links.cableendpoints import CableError, _abort, clientEndpoint, serverEndpoint
from vdetwist.links.loopguard import PROBE_DESTINATION, LoopGuard
from vdetwist.vde.stream import MAX_STREAM_FRAME, StreamDecoder, StreamFramingError

log = Logger(namespace="vdetwist.links.cable")

#: The shortest frame a cable may carry: an Ethernet header.
MIN_FRAME = 14
#: Seconds a TLS handshake may take before the connection is dropped.
HANDSHAKE_TIMEOUT = 15.0
#: Seconds the peer may leave our writes blocked before the cable drops.
STALL_TIMEOUT = 10.0
#: Bytes written past the transport's own high-water mark while the peer
#: does not read; further frames are dropped until it reads again.
MAX_BACKLOG = 1 << 20
#: Connections one listening cable accepts at once.
MAX_ACCEPTED = 64
#: Cables (listening, dialled and accepted together) one manager holds.
MAX_CABLES = 1024
#: Reconnection backoff of dialled cables, in seconds.
RETRY_INITIAL = 0.5
RETRY_MAX = 5.0
#: A dialled connection that ends sooner than this many seconds after
#: attaching does not reset the reconnection backoff.
FLAP_TIME = 2.0
#: The first endpoint ID given to cable connections (port/print's "ID").
FIRST_ENDPOINT_ID = 20000


@implementer(IPushProducer)
class _WriteWatch:
    """
    Registered with a cable's transport as its streaming producer: tells the
    cable when the transport's buffer is full (the peer is not reading as
    fast as we write) and when it drains.

    @ivar cable: the L{CableProtocol}.
    """

    def __init__(self, cable: "CableProtocol") -> None:
        """
        @param cable: the cable to tell.
        """
        self.cable = cable

    def pauseProducing(self) -> None:
        """
        The transport's buffer is above its high-water mark.
        """
        self.cable._writeBlocked()

    def resumeProducing(self) -> None:
        """
        The transport's buffer drained.
        """
        self.cable._writeUnblocked()

    def stopProducing(self) -> None:
        """
        The transport is closing; nothing to do.
        """


def peerIdentity(transport: Any) -> Optional[str]:
    """
    The subject of the peer's TLS certificate, for C{cable/print}.

    @param transport: a transport after its handshake.
    @return: e.g. C{CN=switch-b}, or L{None} when there is none.
    """
    try:
        certificate = transport.getPeerCertificate()
    except Exception:
        return None
    if certificate is None:
        return None
    parts = []
    for key, value in certificate.get_subject().get_components():
        parts.append("%s=%s" % (key.decode("ascii", "replace"),
                                value.decode("utf-8", "replace")))
    return ",".join(parts) or None


@implementer(ISwitchPort, IHandshakeListener)
class CableProtocol(Protocol):
    """
    One cable connection: a switch port whose frames travel over a byte
    stream with VDE's length framing.

    The switch sees it as an L{ISwitchPort}.  It takes a port when the
    stream is up (after the TLS handshake, for TLS) and gives it back when
    the stream ends.

    @ivar cable: the L{Cable} entry this connection belongs to.
    @ivar cableID: the ID C{cable/print} and C{cable/del} use.
    @ivar endpointID: the endpoint ID C{port/print} shows.
    @ivar description: shown by C{port/print}.
    @ivar port: the switch port while attached, else L{None}.
    @ivar peer: the peer's address, as text.
    @ivar identity: the peer's TLS certificate subject, if any.
    @ivar framesIn: frames received and forwarded.
    @ivar bytesIn: their bytes.
    @ivar framesOut: frames written.
    @ivar bytesOut: their bytes.
    @ivar drops: frames not written (too long, or the peer not reading).
    @ivar dropReason: why this cable was dropped by us, if it was.
    """

    module = "cable"

    def __init__(self, cable: "Cable", cableID: int) -> None:
        """
        @param cable: the entry (listening or dialled) this belongs to.
        @param cableID: this connection's ID.
        """
        self.cable = cable
        self.cableID = cableID
        self.endpointID = FIRST_ENDPOINT_ID + cableID
        self.switch: Switch = cable.manager.switch
        self.reactor = cable.manager.reactor
        self.description = "cable %d %s" % (cableID, cable.description)
        self.port: Any = None
        self.peer = "?"
        self.identity: Optional[str] = None
        self.framesIn = self.bytesIn = 0
        self.framesOut = self.bytesOut = 0
        self.drops = 0
        self.dropReason: Optional[str] = None
        self.state = "CONNECTING"
        self.blocked = False
        self.blockedDrops = 0
        self.decoder = StreamDecoder(MAX_STREAM_FRAME, strict=True)
        self.link: Any = None
        self._timer: Any = None
        self._blocked = False
        self._backlog = 0
        self._tls = False
        self._closed = False
        self._write: Callable[[bytes], None] = self._notConnected
        self._forward: Callable[[bytes], None] = self._notConnected
        self.sendFrame = self._notConnected

    def __repr__(self) -> str:
        """
        The connection, for logs.
        """
        return "<CableProtocol %d %s %s>" % (self.cableID, self.state, self.peer)

    def _notConnected(self, frame: bytes) -> None:
        """
        The send function before the cable is attached: drop.

        @param frame: dropped.
        """
        self.drops += 1

    # -- connection life ------------------------------------------------

    def connectionMade(self) -> None:
        """
        The stream is up: attach now, or after the TLS handshake.
        """
        transport: Any = self.transport
        try:
            self.peer = _formatAddress(transport.getPeer())
        except Exception:
            self.peer = "?"
        self._write = transport.write
        # Frames are latency-sensitive and Twisted already writes a whole
        # reactor iteration's frames at once: no Nagle delay.
        try:
            transport.setTcpNoDelay(True)
        except Exception:
            pass
        watch = _WriteWatch(self)
        if hasattr(transport, "registerProducer"):
            transport.registerProducer(watch, True)
        elif hasattr(transport, "stopWriting") and hasattr(transport, "startWriting"):
            # An SSH channel: these are its "remote window full/open" hooks.
            transport.stopWriting = watch.pauseProducing
            transport.startWriting = watch.resumeProducing
        if ISSLTransport.providedBy(transport):
            self._tls = True
            self.state = "HANDSHAKE"
            self._timer = self.reactor.callLater(
                HANDSHAKE_TIMEOUT, self.drop,
                "no TLS handshake within %d seconds" % (HANDSHAKE_TIMEOUT,))
        else:
            self._attach()

    def handshakeCompleted(self) -> None:
        """
        The TLS handshake succeeded (the peer's certificate was verified):
        attach.
        """
        self._cancelTimer()
        self.identity = peerIdentity(self.transport)
        self._attach()

    def _attach(self) -> None:
        """
        Take a free switch port.
        """
        if self._closed:
            return
        try:
            port = self.switch.choosePort(0, False)
        except SwitchError as e:
            self.drop("no switch port for the cable: %s" % (e.reason,))
            return
        self.state = "CONNECTED"
        self._forward = self._forwardToSwitch
        self._applyLink()
        self.switch.addEndpoint(port, self, os.getuid())
        log.info("cable {id} ({descr}) up on port {port}: peer {peer}{identity}",
                 id=self.cableID, descr=self.cable.description, port=port.number,
                 peer=self.peer,
                 identity=" identity %s" % (self.identity,) if self.identity else "")
        self.cable.connectionUp(self)
        guard = self.cable.manager.loopGuard
        if guard is not None:
            guard.connectionUp(self)

    def _forwardToSwitch(self, frame: bytes) -> None:
        """
        Put one received frame into the switch.

        @param frame: the frame.
        """
        port = self.port
        if port is not None:
            self.switch.frameFromPort(port, frame)

    def dataReceived(self, data: bytes) -> None:
        """
        Decode frames and forward them; bad framing drops the cable.

        @param data: bytes from the peer.
        """
        if self._closed:
            return
        try:
            frames = self.decoder.feed(data)
        except StreamFramingError as e:
            self._deliver(e.frames)
            self.drop("bad frame length %d (the maximum is %d): "
                      "garbage or a desynchronised stream" % (e.length, MAX_STREAM_FRAME))
            return
        if frames:
            self._deliver(frames)

    def _deliver(self, frames: List[bytes]) -> None:
        """
        Forward decoded frames, checking each is at least a header.

        @param frames: the frames.
        """
        forward = self._forward
        guard = self.cable.manager.loopGuard
        for frame in frames:
            n = len(frame)
            if n < MIN_FRAME:
                self.drop("runt frame of %d bytes: not a VDE stream" % (n,))
                return
            self.framesIn += 1
            self.bytesIn += n
            if frame[0] == 3 and guard is not None and frame[:6] == PROBE_DESTINATION:
                if guard.probeReceived(self, frame) or self.blocked:
                    continue
                forward = self._forward
            forward(frame)
            if self._closed:
                return

    def drop(self, reason: str) -> None:
        """
        Drop this cable now, with a logged reason (a dialled cable then
        reconnects).

        @param reason: why.
        """
        if self._closed:
            return
        self.dropReason = reason
        log.warn("cable {id} ({descr}) from {peer} dropped: {reason}",
                 id=self.cableID, descr=self.cable.description, peer=self.peer,
                 reason=reason)
        self._detach()
        if self.transport is not None:
            _abort(self.transport)

    def close(self) -> None:
        """
        Close from the switch's side (C{port/epclose}, shutdown).
        """
        if self._closed:
            return
        self.dropReason = self.dropReason or "closed by the switch"
        self._detach()
        if self.transport is not None:
            self.transport.loseConnection()

    def _detach(self) -> None:
        """
        Leave the switch port and stop all timers.
        """
        self._closed = True
        self._cancelTimer()
        if self.link is not None:
            self.link.stop()
        self.sendFrame = self._notConnected
        self._forward = self._notConnected
        if self.port is not None:
            self.switch.removeEndpoint(self)
            self.port = None

    def connectionLost(self, reason: Failure = connectionDone) -> None:
        """
        The stream ended: leave the switch and tell the entry.

        @param reason: why.
        """
        wasUp = self.state == "CONNECTED"
        if not self._closed:
            self._detach()
        self.state = "CLOSED"
        why = self.dropReason or _describeFailure(reason)
        if wasUp:
            log.info("cable {id} ({descr}) down: {reason}", id=self.cableID,
                     descr=self.cable.description, reason=why)
        elif self._tls and self.dropReason is None:
            log.warn("cable {id} ({descr}) from {peer} refused: TLS handshake failed: "
                     "{reason}", id=self.cableID, descr=self.cable.description,
                     peer=self.peer, reason=why)
        self.cable.connectionDown(self, why)

    def _cancelTimer(self) -> None:
        """
        Cancel the handshake or stall timer.
        """
        if self._timer is not None and self._timer.active():
            self._timer.cancel()
        self._timer = None

    # -- writing --------------------------------------------------------

    def _sendDirect(self, frame: bytes) -> None:
        """
        Write one frame with its length header; bounded while the peer is
        not reading.

        @param frame: the frame.
        """
        n = len(frame)
        if n > MAX_STREAM_FRAME:
            self.drops += 1
            return
        if self._blocked:
            if self._backlog >= MAX_BACKLOG:
                self.drops += 1
                return
            self._backlog += n + 2
        self.framesOut += 1
        self.bytesOut += n
        self._write(n.to_bytes(2, "big") + frame)

    def _writeBlocked(self) -> None:
        """
        The transport buffer is full: bound what we add, and start the
        stall timer.
        """
        if self._blocked or self._closed:
            return
        self._blocked = True
        self._backlog = 0
        self._cancelTimer()
        self._timer = self.reactor.callLater(
            STALL_TIMEOUT, self.drop,
            "peer stopped reading for %d seconds" % (STALL_TIMEOUT,))

    def _writeUnblocked(self) -> None:
        """
        The transport buffer drained.
        """
        self._blocked = False
        self._backlog = 0
        self._cancelTimer()

    # -- link emulation -------------------------------------------------

    def _dropBlocked(self, frame: bytes) -> None:
        """
        The send and forward function of a cable the loop guard blocked.

        @param frame: dropped and counted.
        """
        self.blockedDrops += 1

    def setBlocked(self, blocked: bool) -> None:
        """
        Block (or unblock) data frames in both directions, for the loop
        guard; loop probes still pass.

        @param blocked: the new state.
        """
        if self._closed or blocked == self.blocked:
            return
        self.blocked = blocked
        if self.state == "CONNECTED":
            self._applyLink()

    def _applyLink(self) -> None:
        """
        Route frames through the entry's link emulation, or directly when
        there is none (or drop them while blocked); rebinding the port's
        send function.
        """
        from vdetwist.links.linkemu import routeThroughLink
        if not self.blocked:
            routeThroughLink(self, self.cable.linkParameters)
            return
        if self.link is not None:
            self.link.stop()
            self.link = None
        self.sendFrame = self._dropBlocked
        self._forward = self._dropBlocked
        if self.port is not None:
            self.port.rebind()

    def linkChanged(self) -> None:
        """
        The entry's link parameters changed.
        """
        if self.state == "CONNECTED" and not self._closed:
            self._applyLink()


def _formatAddress(address: Any) -> str:
    """
    An address as C{cable/print} shows it.

    @param address: a Twisted address.
    @return: C{host:port}, a path, or the repr.
    """
    inner = getattr(address, "address", None)
    if inner is not None:
        return _formatAddress(inner)
    host = getattr(address, "host", None)
    port = getattr(address, "port", None)
    if host is not None and port is not None:
        return "%s:%d" % (host, port)
    name = getattr(address, "name", None)
    if name is not None:
        return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)
    return repr(address)


def _describeFailure(reason: Any) -> str:
    """
    A short text for why a connection ended or failed.

    @param reason: a L{Failure}, an exception, or L{None}.
    @return: the text.
    """
    if reason is None:
        return "unknown"
    value = getattr(reason, "value", reason)
    text = str(value) or value.__class__.__name__
    return text.replace("\n", " ")[:300]


class Cable:
    """
    One entry of the cable table: a listening endpoint, a dialled one, or
    a connection a listener accepted.

    @ivar manager: the L{CableManager}.
    @ivar cableID: the ID.
    @ivar kind: C{listen}, C{dial} or C{accepted}.
    @ivar description: the endpoint description.
    @ivar linkParameters: the link emulation of its connections, or
        L{None}.
    @ivar lastError: the last failure, as text.
    """

    kind = ""

    def __init__(self, manager: "CableManager", cableID: int, description: str,
                 linkParameters: Any = None) -> None:
        """
        @param manager: the manager.
        @param cableID: the ID.
        @param description: the endpoint description.
        @param linkParameters: a L{vdetwist.links.linkemu.LinkParameters}.
        """
        self.manager = manager
        self.cableID = cableID
        self.description = description
        self.linkParameters = linkParameters
        self.lastError: Optional[str] = None

    def connections(self) -> List[CableProtocol]:
        """
        The live connections of this entry.

        @return: a list.
        """
        return []

    def state(self) -> str:
        """
        The state C{cable/print} shows.

        @return: the text.
        """
        return ""

    def start(self) -> None:
        """
        Start listening or dialling.
        """

    def stop(self) -> Any:
        """
        Stop, dropping connections.

        @return: a Deferred or L{None}.
        """
        return None

    def connectionUp(self, connection: CableProtocol) -> None:
        """
        A connection attached to the switch.

        @param connection: it.
        """

    def connectionDown(self, connection: CableProtocol, reason: str) -> None:
        """
        A connection ended.

        @param connection: it.
        @param reason: why.
        """
        self.lastError = reason

    def setLink(self, params: Any) -> None:
        """
        Change the link emulation of this entry and its live connections.

        @param params: a L{vdetwist.links.linkemu.LinkParameters} or
            L{None}.
        """
        self.linkParameters = params
        for connection in self.connections():
            connection.linkChanged()


class AcceptedCable(Cable):
    """
    A connection accepted by a listening cable, as a table entry.

    @ivar listener: the L{ListeningCable}.
    @ivar protocol: the connection.
    """

    kind = "accepted"

    def __init__(self, listener: "ListeningCable", cableID: int) -> None:
        """
        @param listener: the listener.
        @param cableID: the ID.
        """
        Cable.__init__(self, listener.manager, cableID, listener.description,
                       listener.linkParameters.copy()
                       if listener.linkParameters is not None else None)
        self.listener = listener
        self.protocol = CableProtocol(self, cableID)

    def connections(self) -> List[CableProtocol]:
        """
        The connection, while it lives.

        @return: a list of it.
        """
        return [self.protocol] if self.protocol.state != "CLOSED" else []

    def state(self) -> str:
        """
        The connection's state.

        @return: the text.
        """
        return "%s by %d" % (self.protocol.state, self.listener.cableID)

    def stop(self) -> Any:
        """
        Close the connection.
        """
        self.protocol.drop("removed by cable/del")
        return None

    def connectionDown(self, connection: CableProtocol, reason: str) -> None:
        """
        Leave the table.
        """
        Cable.connectionDown(self, connection, reason)
        self.listener.accepted.pop(self.cableID, None)
        self.manager._forget(self)


class ListeningCable(Cable, ServerFactory):
    """
    A listening endpoint; each accepted connection is a cable of its own.

    @ivar endpoint: the server endpoint.
    @ivar accepted: the live accepted entries by ID.
    @ivar refused: connections refused for being over L{MAX_ACCEPTED}.
    """

    kind = "listen"

    def __init__(self, manager: "CableManager", cableID: int, description: str,
                 endpoint: IStreamServerEndpoint, linkParameters: Any = None) -> None:
        """
        @param manager: the manager.
        @param cableID: the ID.
        @param description: the endpoint description.
        @param endpoint: the endpoint to listen on.
        @param linkParameters: the link emulation new connections start with.
        """
        Cable.__init__(self, manager, cableID, description, linkParameters)
        self.endpoint = endpoint
        self.accepted: Dict[int, AcceptedCable] = {}
        self.refused = 0
        self.listeningPort: Any = None
        self._state = "STOPPED"

    def state(self) -> str:
        """
        C{LISTENING}, C{STARTING}, C{FAILED} or C{STOPPED}.

        @return: the text.
        """
        return "%s %d connection%s" % (self._state, len(self.accepted),
                                       "" if len(self.accepted) == 1 else "s")

    def connections(self) -> List[CableProtocol]:
        """
        The accepted connections.

        @return: the list.
        """
        return [entry.protocol for entry in self.accepted.values()]

    def setLink(self, params: Any) -> None:
        """
        Change the link emulation of new connections, and of every live
        one (each keeps its own copy).

        @param params: the parameters or L{None}.
        """
        self.linkParameters = params
        for entry in list(self.accepted.values()):
            entry.setLink(params.copy() if params is not None else None)

    def start(self) -> None:
        """
        Start listening; a failure is logged and kept in L{lastError}.
        """
        self._state = "STARTING"
        d = self.endpoint.listen(self)

        def listening(port: Any) -> None:
            """
            Listening: note the port.
            """
            self.listeningPort = port
            self._state = "LISTENING"
            log.info("cable {id}: listening on {descr}", id=self.cableID,
                     descr=self.description)

        def failed(failure: Failure) -> None:
            """
            Log and remember a failure.
            """
            self._state = "FAILED"
            self.lastError = _describeFailure(failure)
            log.error("cable {id}: cannot listen on {descr}: {error}", id=self.cableID,
                      descr=self.description, error=self.lastError)
        d.addCallbacks(listening, failed)

    def stop(self) -> Any:
        """
        Stop listening and drop the accepted connections.

        @return: the Deferred of stopping to listen, or L{None}.
        """
        self._state = "STOPPED"
        for entry in list(self.accepted.values()):
            entry.stop()
        port, self.listeningPort = self.listeningPort, None
        if port is not None:
            return port.stopListening()
        return None

    def buildProtocol(self, addr: Any) -> Optional[CableProtocol]:
        """
        A new connection: a new cable, unless too many are open.

        @param addr: the peer's address.
        @return: the protocol, or L{None} to refuse.
        """
        if self._state != "LISTENING" and self._state != "STARTING":
            return None
        if len(self.accepted) >= MAX_ACCEPTED or not self.manager._hasRoom():
            self.refused += 1
            log.warn("cable {id}: refused a connection from {peer}: too many cables",
                     id=self.cableID, peer=_formatAddress(addr))
            return None
        cableID = self.manager._allocateID()
        entry = AcceptedCable(self, cableID)
        self.accepted[cableID] = entry
        self.manager._remember(entry)
        entry.protocol.factory = self
        return entry.protocol


@implementer(IStreamClientEndpoint)
class _RecordingEndpoint:
    """
    A client endpoint wrapper that remembers why the last attempt failed,
    for C{cable/print}.
    """

    def __init__(self, endpoint: IStreamClientEndpoint, cable: "DialedCable") -> None:
        """
        @param endpoint: the real endpoint.
        @param cable: the entry to tell.
        """
        self.endpoint = endpoint
        self.cable = cable

    def connect(self, factory: Any) -> Any:
        """
        Connect, noting a failure.

        @param factory: the protocol factory.
        @return: the endpoint's Deferred.
        """
        self.cable.attempts += 1

        def failed(failure: Failure) -> Failure:
            """
            Log and remember a failure.
            """
            self.cable.lastError = _describeFailure(failure)
            if self.cable.attempts <= 3 or self.cable.attempts % 20 == 0:
                log.warn("cable {id}: cannot connect to {descr}: {error} (attempt {n})",
                         id=self.cable.cableID, descr=self.cable.description,
                         error=self.cable.lastError, n=self.cable.attempts)
            return failure
        return self.endpoint.connect(factory).addErrback(failed)


class DialedCable(Cable, Factory):
    """
    A dialled cable: keeps one connection up, reconnecting with backoff.

    @ivar service: the L{ClientService}.
    @ivar connection: the current connection, or L{None}.
    @ivar attempts: connection attempts so far.
    @ivar connects: connections that attached to the switch.
    """

    kind = "dial"

    def __init__(self, manager: "CableManager", cableID: int, description: str,
                 endpoint: IStreamClientEndpoint, linkParameters: Any = None,
                 retryPolicy: Optional[Callable[[int], float]] = None) -> None:
        """
        @param manager: the manager.
        @param cableID: the ID.
        @param description: the endpoint description.
        @param endpoint: the endpoint to dial.
        @param linkParameters: the link emulation.
        @param retryPolicy: seconds to wait after N failed attempts;
            L{backoffPolicy} from L{RETRY_INITIAL} to L{RETRY_MAX} by default.
        """
        Cable.__init__(self, manager, cableID, description, linkParameters)
        self.connection: Optional[CableProtocol] = None
        self.attempts = 0
        self.connects = 0
        if retryPolicy is None:
            retryPolicy = backoffPolicy(RETRY_INITIAL, RETRY_MAX)
        self._policy = retryPolicy
        self._flaps = 0
        self._upSince: Optional[float] = None
        self.service = ClientService(_RecordingEndpoint(endpoint, self),
                                     self, retryPolicy=self._retryDelay,
                                     clock=manager.reactor)
        self._running = False

    def _retryDelay(self, attempt: int) -> float:
        """
        The delay before the next attempt.  L{ClientService} counts from 1
        again after any connection; connections that ended within
        L{FLAP_TIME} of attaching (a TLS 1.3 server refusing our
        certificate after our side of the handshake completed, a peer that
        closes at once) keep the backoff growing instead.

        @param attempt: the service's count of failed attempts.
        @return: seconds.
        """
        return self._policy(attempt + self._flaps)

    def buildProtocol(self, addr: Any) -> CableProtocol:
        """
        A new connection for this cable.

        @param addr: the peer's address.
        @return: the protocol.
        """
        protocol = CableProtocol(self, self.cableID)
        protocol.factory = self
        self.connection = protocol
        return protocol

    def connections(self) -> List[CableProtocol]:
        """
        The current connection, if any.

        @return: a list.
        """
        p = self.connection
        return [p] if p is not None and p.state != "CLOSED" else []

    def state(self) -> str:
        """
        The connection's state, or C{CONNECTING}/C{STOPPED}.

        @return: the text.
        """
        if not self._running:
            return "STOPPED"
        p = self.connection
        if p is None or p.state == "CLOSED":
            return "CONNECTING attempt %d" % (self.attempts,)
        return p.state

    def connectionUp(self, connection: CableProtocol) -> None:
        """
        Attached: count it and reset the attempt counter.
        """
        self.connects += 1
        self.attempts = 0
        self._upSince = self.manager.reactor.seconds()

    def connectionDown(self, connection: CableProtocol, reason: str) -> None:
        """
        A connection ended: note whether it flapped.
        """
        Cable.connectionDown(self, connection, reason)
        upSince, self._upSince = self._upSince, None
        if upSince is not None and self.manager.reactor.seconds() - upSince >= FLAP_TIME:
            self._flaps = 0
        else:
            self._flaps += 1

    def start(self) -> None:
        """
        Start dialling.
        """
        self._running = True
        self.service.startService()

    def stop(self) -> Any:
        """
        Stop dialling and drop the connection.

        @return: the service's Deferred.
        """
        self._running = False
        return self.service.stopService()


class CableManager(MultiService):
    """
    The cables of one switch: what C{--cable-listen}, C{--cable} and the
    console's C{cable/*} commands make.

    @ivar reactor: the reactor.
    @ivar switch: the switch.
    @ivar cables: every entry by ID.
    """

    def __init__(self, reactor: Any, switch: Switch, loopGuard: bool = True) -> None:
        """
        @param reactor: the reactor.
        @param switch: the switch.
        @param loopGuard: run a L{LoopGuard} on the cables.
        """
        MultiService.__init__(self)  # type: ignore[no-untyped-call]
        self.reactor = reactor
        self.switch = switch
        self.cables: Dict[int, Cable] = {}
        self._nextID = 1
        self.loopGuard: Optional[LoopGuard] = LoopGuard(self) if loopGuard else None

    def _allocateID(self) -> int:
        """
        A new cable ID.

        @return: the lowest unused ID.
        """
        cableID = self._nextID
        while cableID in self.cables:
            cableID += 1
        self._nextID = cableID + 1
        return cableID

    def _hasRoom(self) -> bool:
        """
        Whether one more entry fits.

        @return: the answer.
        """
        return len(self.cables) < MAX_CABLES

    def _remember(self, entry: Cable) -> None:
        """
        Put an entry in the table.

        @param entry: it.
        """
        self.cables[entry.cableID] = entry

    def _forget(self, entry: Cable) -> None:
        """
        Take an entry out of the table.

        @param entry: it.
        """
        if self.cables.get(entry.cableID) is entry:
            del self.cables[entry.cableID]

    def listen(self, description: str, linkParameters: Any = None) -> ListeningCable:
        """
        Accept cables on an endpoint.

        @param description: a server endpoint description (L{serverEndpoint}).
        @param linkParameters: link emulation for its connections.
        @return: the entry (listening now if the manager is running).
        @raise CableError: for a bad description or a full table.
        """
        if not self._hasRoom():
            raise CableError("too many cables (%d)" % (MAX_CABLES,))
        endpoint = serverEndpoint(self.reactor, description)
        entry = ListeningCable(self, self._allocateID(), description, endpoint,
                               linkParameters)
        self._remember(entry)
        if self.running:
            entry.start()
        return entry

    def dial(self, description: str, linkParameters: Any = None,
             retryPolicy: Optional[Callable[[int], float]] = None) -> DialedCable:
        """
        Keep a cable to an endpoint up.

        @param description: a client endpoint description (L{clientEndpoint}).
        @param linkParameters: link emulation.
        @param retryPolicy: reconnection delays (see L{DialedCable}).
        @return: the entry (dialling now if the manager is running).
        @raise CableError: for a bad description or a full table.
        """
        if not self._hasRoom():
            raise CableError("too many cables (%d)" % (MAX_CABLES,))
        endpoint = clientEndpoint(self.reactor, description)
        entry = DialedCable(self, self._allocateID(), description, endpoint,
                            linkParameters, retryPolicy)
        self._remember(entry)
        if self.running:
            entry.start()
        return entry

    def addVXLAN(self, description: str, linkParameters: Any = None) -> Cable:
        """
        Add a VXLAN port (L{vdetwist.links.vxlan}).

        @param description: C{LOCAL:PORT,VNI[,REMOTE[:PORT]...]}.
        @param linkParameters: link emulation.
        @return: the entry (bound now if the manager is running).
        @raise CableError: for a bad description or a full table.
        """
        from vdetwist.links.vxlan import addVXLAN
        if not self._hasRoom():
            raise CableError("too many cables (%d)" % (MAX_CABLES,))
        return addVXLAN(self, description, linkParameters)

    def addVXVDE(self, description: str, linkParameters: Any = None) -> Cable:
        """
        Add a vdeplug4 C{vxvde://} segment (L{vdetwist.links.vxlan}).

        @param description: C{[GROUP[:PORT]][,VNI[,TTL]]}.
        @param linkParameters: link emulation.
        @return: the entry (bound now if the manager is running).
        @raise CableError: for a bad description or a full table.
        """
        from vdetwist.links.vxlan import addVXVDE
        if not self._hasRoom():
            raise CableError("too many cables (%d)" % (MAX_CABLES,))
        return addVXVDE(self, description, linkParameters)

    def remove(self, cableID: int) -> Any:
        """
        Stop and forget a cable (C{cable/del}).

        @param cableID: its ID.
        @return: a Deferred or L{None}.
        @raise KeyError: when there is no such cable.
        """
        entry = self.cables[cableID]
        result = entry.stop()
        self._forget(entry)
        return result

    def startService(self) -> None:
        """
        Start every listening and dialled cable.
        """
        MultiService.startService(self)  # type: ignore[no-untyped-call]
        if self.loopGuard is not None:
            self.loopGuard.start()
        for entry in list(self.cables.values()):
            if entry.kind != "accepted":
                entry.start()

    def stopService(self) -> Any:
        """
        Stop every cable.

        @return: a Deferred that fires when all have stopped.
        """
        MultiService.stopService(self)  # type: ignore[no-untyped-call]
        if self.loopGuard is not None:
            self.loopGuard.stop()
        waits = []
        for entry in list(self.cables.values()):
            if entry.kind != "accepted":
                result = entry.stop()
                if isinstance(result, defer.Deferred):
                    waits.append(result)
        return defer.DeferredList(waits)

    def describe(self, cableID: Optional[int] = None) -> List[str]:
        """
        The lines of C{cable/print}.

        @param cableID: one cable, or all when L{None}.
        @return: the lines.
        @raise KeyError: for an unknown ID.
        """
        if cableID is not None:
            entries = [self.cables[cableID]]
        else:
            entries = [self.cables[k] for k in sorted(self.cables)]
        lines: List[str] = []
        for entry in entries:
            lines.append("Cable %04d %-8s %s %s" % (
                entry.cableID, entry.kind, entry.state(), entry.description))
            for connection in entry.connections():
                if entry.kind == "listen":
                    continue
                lines.append(" peer %s port %s%s" % (
                    connection.peer,
                    "%04d" % (connection.port.number,) if connection.port is not None
                    else "none",
                    " TLS identity %s" % (connection.identity,)
                    if connection.identity else (" TLS" if connection._tls else "")))
                lines.append(" IN:  pkts %10d          bytes %20d" % (
                    connection.framesIn, connection.bytesIn))
                lines.append(" OUT: pkts %10d          bytes %20d drops %d" % (
                    connection.framesOut, connection.bytesOut, connection.drops))
                if getattr(connection, "blocked", False):
                    lines.append(" BLOCKED by the loop guard (%d frames dropped)" % (
                        connection.blockedDrops,))
            if entry.linkParameters is not None and not entry.linkParameters.isIdentity():
                lines.append(" link %s" % (entry.linkParameters.describe(),))
            if entry.lastError and not entry.connections():
                lines.append(" last error: %s" % (entry.lastError,))
        return lines


# -- twistd vdeswitch options (mixed into vdetwist.switch.tap.Options) -------

class CableOptions:
    """
    The cable options of C{twistd vdeswitch}, a mixin for its
    L{twisted.python.usage.Options}.  C{--cable}, C{--cable-listen} and
    C{--vxlan} repeat; C{--link} sets the link emulation of the one given
    just before it.  The parsed list is C{options["cableSpecs"]}: C{(kind,
    description, linkSpec)} tuples.
    """

    optFlags = [
        ["cables", None, "Offer the cable/* and link/* console commands even "
         "without --cable, --cable-listen or --vxlan."],
        ["no-loop-guard", None, "Do not probe cables for loops (see docs/cables.txt)."],
    ]

    def _addCableSpec(self, kind: str, description: str) -> None:
        """
        Record one cable option.

        @param kind: C{dial}, C{listen} or C{vxlan}.
        @param description: its argument.
        """
        specs = self.setdefault("cableSpecs", [])  # type: ignore[attr-defined]
        specs.append([kind, description, None])

    def opt_cable(self, description: str) -> None:
        """
        Dial a cable to a client endpoint, reconnecting when it drops (repeatable): tcp:HOST:PORT, unix:PATH, tls:HOST:PORT:certificate=C:privateKey=K:trustRoots=CADIR, ssh:USER@HOST[:PORT]:identity=KEY:command=vde_plug\ DIR.
        """
        self._addCableSpec("dial", description)

    def opt_cable_listen(self, description: str) -> None:
        """
        Accept cables on a server endpoint (repeatable): tcp:PORT, unix:PATH (mode 0600), tls:PORT:privateKey=K:certKey=C:trustRoots=CA (mutual TLS).
        """
        self._addCableSpec("listen", description)

    def opt_vxlan(self, description: str) -> None:
        """
        A VXLAN port as Linux's vxlan device (repeatable): LOCAL:PORT,VNI[,REMOTE[:PORT]...], e.g. 0.0.0.0:4789,42,192.0.2.7.
        """
        self._addCableSpec("vxlan", description)

    def opt_vxvde(self, description: str) -> None:
        """
        A vdeplug4 vxvde:// segment (repeatable): [GROUP[:PORT]][,VNI[,TTL]], defaults 239.0.0.1:14789,1,1; "" for all defaults.
        """
        self._addCableSpec("vxvde", description)

    def opt_link(self, spec: str) -> None:
        """
        Link emulation on the --cable, --cable-listen or --vxlan just before: name=value,... with loss, dup (%), delay (ms[+jitter]), bandwidth (bytes/s), mtu, capacity (bytes), values as wirefilter's [LR|RL]v[+j][K|M|G][U|N].
        """
        from twisted.python.usage import UsageError
        specs = self.get("cableSpecs")  # type: ignore[attr-defined]
        if not specs:
            raise UsageError("--link applies to a --cable, --cable-listen or "
                             "--vxlan given before it")
        specs[-1][2] = spec


def checkCableOptions(options: Any) -> None:
    """
    Validate the cable options without side effects (endpoints are built
    on a memory reactor, certificate files are read).

    @param options: the parsed options.
    @raise twisted.python.usage.UsageError: with a clear message.
    """
    from twisted.internet.testing import MemoryReactor
    from twisted.python.usage import UsageError
    from vdetwist.links.linkemu import LinkParameters, LinkValueError
    reactor = MemoryReactor()  # type: ignore[no-untyped-call]
    for kind, description, linkSpec in options.get("cableSpecs", []):
        try:
            if kind == "dial":
                clientEndpoint(reactor, description)
            elif kind == "listen":
                serverEndpoint(reactor, description)
            elif kind == "vxvde":
                from vdetwist.links.vxlan import parseVXVDESpec
                parseVXVDESpec(description)
            else:
                from vdetwist.links.vxlan import parseVXLANSpec
                parseVXLANSpec(description)
            if linkSpec is not None:
                LinkParameters().setMany(linkSpec)
        except (CableError, LinkValueError, ValueError) as e:
            option = {"dial": "--cable", "listen": "--cable-listen",
                      "vxlan": "--vxlan", "vxvde": "--vxvde"}[kind]
            raise UsageError("%s %s: %s" % (option, description, e))


def makeCableManager(reactor: Any, switch: Switch, options: Any,
                     parent: Any) -> Optional[CableManager]:
    """
    The cable manager C{twistd vdeswitch} runs, when any cable option (or
    C{--cables}) was given.

    @param reactor: the reactor.
    @param switch: the switch.
    @param options: the parsed options.
    @param parent: the service it joins.
    @return: the manager, or L{None}.
    """
    from vdetwist.links.linkemu import LinkParameters
    specs = options.get("cableSpecs", [])
    if not specs and not options.get("cables"):
        return None
    manager = CableManager(reactor, switch, loopGuard=not options.get("no-loop-guard"))
    for kind, description, linkSpec in specs:
        params = None
        if linkSpec is not None:
            params = LinkParameters()
            params.setMany(linkSpec)
        if kind == "dial":
            manager.dial(description, params)
        elif kind == "listen":
            manager.listen(description, params)
        elif kind == "vxvde":
            manager.addVXVDE(description, params)
        else:
            manager.addVXLAN(description, params)
    manager.setName("cables")  # type: ignore[no-untyped-call]
    manager.setServiceParent(parent)  # type: ignore[no-untyped-call]
    return manager
